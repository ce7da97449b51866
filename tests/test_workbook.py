"""The planners' workbook (assetmap.workbook) and deterministic XLSX (outputs.write_xlsx)."""

from __future__ import annotations

import time

import openpyxl
import pandas as pd
import pytest

import assetmap
from assetmap.fields import FIELDS, human_names
from assetmap.gaps import SUPPRESSED
from assetmap.outputs import write_xlsx
from assetmap.workbook import write_people_workbook

LABELS = {"ward": "Wards", "constituency": "Constituencies"}
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "-2+3", "\t=1", " =cmd|' /C calc'!A0"]


@pytest.fixture(scope="module")
def result(data):
    folder = data / "bradford"
    return assetmap.gap_analysis(
        [folder / "schools.csv", folder / "gp_practices.csv"], by=["ward", "constituency"],
        population=folder / "population_lsoa.csv", deprivation=folder / "imd2019_lsoa.csv",
        postcodes=folder / "postcodes_bd.csv")


@pytest.fixture(scope="module")
def book(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("pack") / "gaps.xlsx"
    write_people_workbook(result.published(10), path, title="Gaps in Bradford",
                          layer_labels=LABELS, method=result.method, audit=result.audit)
    return openpyxl.load_workbook(path)


def _table(sheet, header_row: int = 1) -> pd.DataFrame:
    rows = list(sheet.iter_rows(min_row=header_row, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_sheets_come_in_order_with_human_headers(book):
    assert book.sheetnames == ["Summary", "Wards", "Constituencies", "Field guide", "Method",
                               "Audit"]
    assert book["Summary"]["A1"].value == "Gaps in Bradford"
    wards = _table(book["Wards"])
    assert list(wards.columns[:5]) == ["Area", "Area code", "Category", "Residents",
                                       "Children (0-15)"]
    assert {"Gap score (0-100, higher is worse)", "Rank (1 = largest gap)",
            "Priority area"} <= set(wards.columns)
    assert not set(wards.columns) & set(FIELDS)  # no column codes in the layer sheets
    guide = _table(book["Field guide"])
    assert list(guide["Header"]) [:len(wards.columns)] == list(wards.columns)
    assert guide.set_index("Column").loc["gap_score", "Definition"] == FIELDS["gap_score"][1]


def test_layer_rows_run_by_category_then_rank(book, result):
    wards = _table(book["Wards"])
    assert len(wards) == (result.table["layer"] == "ward").sum()
    assert wards["Category"].nunique() == 2
    order = wards.sort_values(["Category", "Rank (1 = largest gap)"], ignore_index=True)
    assert wards.equals(order)
    assert set(wards["Priority area"]) <= {"Yes", "No"}


def test_summary_counts_areas_priorities_and_names_the_largest_gaps(book, result):
    summary = _table(book["Summary"], header_row=3).set_index(["Layer", "Category"])
    table = result.table.set_index("layer")
    for (layer, category), row in summary.iterrows():
        rows = table.loc[{v: k for k, v in LABELS.items()}[layer]]
        rows = rows[rows["category"] == category]
        assert row["Areas"] == len(rows)
        assert row["Priority areas"] == rows["priority"].sum()
        top = rows[rows["gap_score"] > 0].nsmallest(3, "rank")["name"]
        assert row["Largest gaps (rank 1-3)"] == "; ".join(top)
        beyond = row["Residents beyond reach"]
        exact = (rows["population"] * (100 - rows["coverage_residents_pct"]) / 100).sum()
        assert beyond == SUPPRESSED or abs(beyond - exact) <= 0.001 * rows["population"].sum()


def test_counts_are_whole_people_and_suppressed_marks_stay_text(book):
    marks = 0
    for name in ("Wards", "Constituencies"):
        sheet = book[name]
        headers = [c.value for c in sheet[1]]
        for column in ("Residents", "Children (0-15)", "People beyond reach in deprived areas"):
            for cell in sheet[openpyxl.utils.get_column_letter(headers.index(column) + 1)][1:]:
                if cell.value == SUPPRESSED:
                    marks += 1
                    assert cell.data_type == "s"
                else:
                    assert float(cell.value).is_integer() and cell.number_format == "#,##0"
        score = headers.index("Gap score (0-100, higher is worse)") + 1
        assert {c.number_format for c in sheet[openpyxl.utils.get_column_letter(score)][1:]
                if c.value != SUPPRESSED} == {"0.0"}
    summary = _table(book["Summary"], header_row=3)
    assert all(v == SUPPRESSED or float(v).is_integer()
               for v in summary["Residents beyond reach"])
    assert marks > 0


def test_every_sheet_prints_landscape_one_page_wide_with_its_header(book):
    for sheet in book:
        header = 3 if sheet.title == "Summary" else 1
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        width = sheet.page_setup.fitToWidth  # not written when 1, the default (ECMA-376)
        assert (1 if width is None else width, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.print_title_rows == f"${header}:${header}"
        assert sheet.freeze_panes == f"A{header + 1}"
        assert sheet.auto_filter.ref.startswith(f"A{header}:")
        assert all(5 < d.width <= 62 for d in sheet.column_dimensions.values())


def test_hostile_names_stay_text(result, tmp_path):
    published = result.published()
    published["name"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(published))]
    audit = result.audit.assign(name=[HOSTILE[i % len(HOSTILE)]
                                      for i in range(len(result.audit))])
    path = write_people_workbook(published, tmp_path / "g.xlsx", title="=1+1",
                                 layer_labels={"ward": "=Wards"}, method=result.method,
                                 audit=audit)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[1:3] == ["=Wards", "constituency"]
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert book["Summary"]["A1"].value == "=1+1"
    names = {c.value for c in book["=Wards"]["A"][1:]}
    assert names == set(HOSTILE)
    assert all(c.quotePrefix for c in book["=Wards"]["A"][1:])  # a column with formulas
    summary = _table(book["Summary"], header_row=3)
    assert set("; ".join(summary["Largest gaps (rank 1-3)"]).split("; ")) <= set(HOSTILE)


def test_two_writes_are_byte_identical(result, tmp_path):
    shown = result.published(10)
    paths = [tmp_path / "a.xlsx", tmp_path / "b.xlsx"]
    write_people_workbook(shown, paths[0], title="t", layer_labels=LABELS,
                          method=result.method)
    time.sleep(1.1)  # the clock moves on: only fixed dates keep the bytes the same
    write_people_workbook(shown, paths[1], title="t", layer_labels=LABELS,
                          method=result.method)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert openpyxl.load_workbook(paths[0]).sheetnames[-1] == "Method"  # no audit given


def test_write_xlsx_is_deterministic_and_keeps_its_analyst_layout(tmp_path):
    frame = pd.DataFrame({"name": ["=1+1", "x"], "population": [1234.5, 6.0]})
    paths = [tmp_path / "a.xlsx", tmp_path / "b.xlsx"]
    write_xlsx({"ward": frame}, paths[0], formats={"population": "#,##0"})
    time.sleep(2.1)  # zip entry times have a two-second resolution
    write_xlsx({"ward": frame}, paths[1], formats={"population": "#,##0"})
    assert paths[0].read_bytes() == paths[1].read_bytes()
    sheet = openpyxl.load_workbook(paths[0])["ward"]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:B3")
    assert sheet.page_setup.orientation is None and not sheet.print_title_rows


def test_human_names_keep_unknown_columns():
    assert human_names(["population", "Age 16-59", "gap_score"]) == {
        "population": "Residents", "Age 16-59": "Age 16-59",
        "gap_score": "Gap score (0-100, higher is worse)"}


def test_columns_sharing_a_name_are_both_written(tmp_path):
    frame = pd.DataFrame([[1, "a"], [2, "b"]], columns=["x", "x"])
    path = write_xlsx({"s": frame}, tmp_path / "t.xlsx")
    rows = list(openpyxl.load_workbook(path)["s"].iter_rows(values_only=True))
    assert rows == [("x", "x (2)"), (1, "a"), (2, "b")]

