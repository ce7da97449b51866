"""The planning pack: ``assetmap demo`` and ``assetmap report`` on the Bradford bundle, opened
as a planner would (headless Chromium, openpyxl, GeoPackage readers)."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from conftest import EVALUATED, MARKUP, TEMPLATES, recorded_page

import assetmap
from assetmap.cli.main import cli
from assetmap.pack import PACK_FILES

#: The demo's planning layers and their areas in the Bradford bundle.
DEMO_AREAS = {"aan": 4, "pcn": 12, "ward": 30, "constituency": 5}
SECTIONS = ("headline", "sources", "validation", "gaps", "charts", "plans", "map", "method",
            "profiles")
HOSTILE = ["<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "{{7*7}} Hall",
           "+44 Centre", "@SUM(A1) Club"]


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(data, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "pack"
    result = run("demo", "-o", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def test_demo_writes_the_whole_package(demo):
    assert sorted(p.name for p in demo.iterdir()) == sorted([*PACK_FILES, "assetmap.toml"])
    record = json.loads((demo / "run.json").read_text())
    assert record["rows"] == {"located": 274}
    assert {Path(i["file"]).name for i in record["inputs"]} >= {
        "gp_practices.csv", "schools.csv", "population_lsoa.csv", "imd2019_lsoa.csv",
        "bradford_aan_illustrative.csv", "wards.geojson"}
    assert all(len(i["sha256"]) == 64 for i in record["inputs"])
    assert record["packages"]["geopandas"] and record["timings_s"]


def test_two_runs_write_identical_files_but_the_timings(demo, tmp_path):
    again = tmp_path / "again"
    assert run("demo", "-o", str(again)).exit_code == 0
    for path in demo.iterdir():
        if path.name == "run.json":
            first, second = (json.loads(p.read_text()) for p in (path, again / path.name))
            first.pop("timings_s"), second.pop("timings_s")
            assert first == second
        else:
            assert path.read_bytes() == (again / path.name).read_bytes(), path.name


def test_the_project_file_written_runs_the_same_report(demo, tmp_path):
    result = run("report", "-c", str(demo / "assetmap.toml"), "-o", str(tmp_path / "re"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "re" / "report.html").read_bytes() == \
        (demo / "report.html").read_bytes()


@pytest.fixture(scope="module")
def report_page(browser, demo):
    page = recorded_page(browser, (demo / "report.html").as_uri())
    page.frame_locator("iframe.map").locator(".leaflet-container").wait_for()
    yield page
    page.close()


def test_report_opens_offline_with_every_section_and_a_profile_per_area(report_page, demo):
    page = report_page
    assert page.errors == []
    assert [url for url in page.requests if not url.startswith(("about:", "data:"))] == [
        (demo / "report.html").as_uri()]
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").is_visible(), section
    profiles = page.locator("article.profile")
    assert profiles.count() == sum(DEMO_AREAS.values())
    kinds = pd.Series(profiles.evaluate_all("ps => ps.map(p => p.dataset.code)"))
    assert kinds.is_unique
    assert page.locator("#charts figure svg").count() == 6  # 3 charts x 2 categories
    assert page.locator("#gaps table.gaps").count() == 2 * len(DEMO_AREAS)
    text = page.locator("#headline").inner_text()
    assert "GP practice" in text and "School" in text
    plan = page.locator("#plans").inner_text()
    assert "proven optimal" in plan and plan.count("Primary School") >= 3


def test_map_in_the_report_shows_the_assets(report_page):
    frame = report_page.frame_locator("iframe.map")
    assert frame.locator(".leaflet-control-layers").count() == 1
    assert "Area Advisory Networks" in frame.locator(".leaflet-control-layers").inner_text()


def test_profile_figures_agree_with_the_workbook(demo):
    book = openpyxl.load_workbook(demo / "gaps.xlsx")
    sheets = book.sheetnames
    assert sheets[0] == "Summary" and sheets[-3:] == ["Field guide", "Method", "Audit"]
    assert len(sheets) == 4 + len(DEMO_AREAS)
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_geopackage_holds_every_layer_styled_for_qgis(demo):
    layers = dict(pyogrio.list_layers(demo / "assetmap.gpkg"))
    expected = {"assets", "plan_1_sites", *DEMO_AREAS, *(
        f"{name}_gaps_{category}" for name in DEMO_AREAS for category in ("gp_practice",
                                                                           "school"))}
    assert expected <= set(layers)
    with sqlite3.connect(demo / "assetmap.gpkg") as db:
        styles = dict(db.execute("select f_table_name, styleQML from layer_styles"))
    assert set(styles) == expected
    for name, qml in styles.items():
        renderer = ET.fromstring(qml).find("renderer-v2")
        kind = renderer.get("type")
        assert kind == ("categorizedSymbol" if name in ("assets", "plan_1_sites")
                        else "graduatedSymbol" if "_gaps_" in name else "singleSymbol"), name


def test_config_error_is_one_line_and_writes_nothing(tmp_path, data):
    project = tmp_path / "assetmap.toml"
    project.write_text(f'[[registers]]\npath = "{data / "bradford" / "schools.csv"}"\n'
                       'catgory = "School"\n')
    result = CliRunner().invoke(cli, ["report", "-c", str(project), "-o",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "registers[1]" in result.output and "'category'" in result.output
    assert not (tmp_path / "out").exists()


def test_output_never_replaces_an_input(tmp_path, data):
    """A package folder holding an input of the project: refused before any work."""
    register = tmp_path / "audit.csv"
    register.write_bytes((data / "bradford" / "schools.csv").read_bytes())
    project = _project(tmp_path, data, [register], 'category = "School"')
    result = run("report", "-c", str(project), "-o", str(tmp_path))
    assert result.exit_code == 2 and "audit.csv" in result.output
    assert register.read_bytes() == (data / "bradford" / "schools.csv").read_bytes()


def test_unusual_type_header_configured_once_is_used_by_every_step(tmp_path, data, demo):
    """One register of schools and GP practices whose type column is 'Flavour of site':
    named once in assetmap.toml, the report finds the same gaps as the demo's two
    registers with a category each."""
    gp = pd.read_csv(data / "bradford" / "gp_practices.csv", dtype=str)
    schools = pd.read_csv(data / "bradford" / "schools.csv", dtype=str)
    both = pd.concat([
        pd.DataFrame({"Site": gp["practice_name"], "Flavour of site": "GP practice",
                      "Post code": gp["postcode"], "pcn_code": gp["pcn_code"],
                      "pcn_name": gp["pcn_name"]}),
        pd.DataFrame({"Site": schools["EstablishmentName"], "Flavour of site": "School",
                      "Post code": schools["Postcode"]})])
    both.to_csv(tmp_path / "sites.csv", index=False)
    demo_text = (demo / "assetmap.toml").read_text()
    project = tmp_path / "assetmap.toml"
    clusters = "[clusters.pcn]" + demo_text.split("[clusters.pcn]")[1]
    clusters = re.sub(r"registers = \[.*\]", 'registers = ["sites.csv"]', clusters)
    project.write_text(demo_text.split("[[registers]]")[0] + (
        '[[registers]]\npath = "sites.csv"\ncolumns = { type = "Flavour of site" }\n\n')
        + clusters)
    result = run("report", "-c", str(project), "-o", str(tmp_path / "pack"))
    assert result.exit_code == 0, result.output
    mine = _gap_sheet(tmp_path / "pack" / "gaps.xlsx")
    theirs = _gap_sheet(demo / "gaps.xlsx")
    pd.testing.assert_frame_equal(mine, theirs)


def _gap_sheet(path: Path) -> pd.DataFrame:
    """Assets and gap score per area and category of a pack's ward sheet."""
    book = pd.read_excel(path, sheet_name=None, header=None)
    sheet = next(frame for name, frame in book.items() if "ward" in name.lower())
    header = sheet.index[sheet.iloc[:, 0].astype(str).str.contains("Area|Name", na=False)][0]
    table = sheet.iloc[header + 1:].set_axis(sheet.iloc[header], axis=1)
    columns = [c for c in table.columns if str(c).startswith(("Area", "Name", "Category",
                                                              "Assets", "Gap score"))]
    return table[columns].reset_index(drop=True)


#: The texts typed into every field the report shows: template source and markup.
PAYLOADS = [*TEMPLATES, *MARKUP]


@pytest.fixture(scope="module")
def hostile_pack(data, tmp_path_factory) -> Path:
    """A pack whose title, category, area names, register file name, asset names, planned
    and changed sites all hold template source and markup."""
    folder = tmp_path_factory.mktemp("hostile")
    postcodes = pd.read_csv(data / "bradford" / "schools.csv", dtype=str)["Postcode"]
    label = "Hub {{7*7}} <b>x</b>"
    (folder / "ours.toml").write_text(
        f'[categories.hub]\nlabel = "{label}"\ncolour = "#123456"\n', encoding="utf-8")
    names = [*PAYLOADS, *HOSTILE] * 4
    venues = folder / "venues {{7*7}}.csv"
    pd.DataFrame({"Name": names, "Type": label, "Postcode": postcodes[:len(names)].to_numpy()}
                 ).to_csv(venues, index=False)
    pd.DataFrame({"Name": [f"{n} (old)" for n in names[:5]], "Type": label,
                  "Postcode": postcodes[:5].to_numpy()}).to_csv(folder / "old.csv",
                                                                 index=False)
    pd.DataFrame({"Name": names, "Type": "school",
                  "Postcode": postcodes[40:40 + len(names)].to_numpy()}
                 ).to_csv(folder / "candidates.csv", index=False)
    wards = assetmap.load_layer(assetmap.load_boundary_set("bradford", data).spec("ward"))
    wards.assign(name=[PAYLOADS[i % len(PAYLOADS)] + f" {i}" for i in range(len(wards))]
                 ).to_file(folder / "zones.gpkg")
    bradford = data / "bradford"
    (folder / "assetmap.toml").write_text(f"""
[project]
title = "Pack {{{{7*7}}}} {{# <img src=x onerror=alert(1)>"
taxonomy = ["ours.toml"]
[boundaries]
layers = {{ zone = "zones.gpkg" }}
[[registers]]
path = "{venues.name}"
previous = "old.csv"
[[plan]]
category = "{label}"
candidates = ["candidates.csv"]
k = 1
demand = "residents"
[demand]
population = "{bradford / "population_lsoa.csv"}"
deprivation = "{bradford / "imd2019_lsoa.csv"}"
[[analyse]]
category = "{label}"
[gap]
by = ["zone"]
[map]
tiles = "none"
""", encoding="utf-8")
    result = run("report", "-c", str(folder), "-o", str(folder / "pack"))
    assert result.exit_code == 0, result.output
    return folder / "pack"


def test_hostile_names_stay_text_everywhere(hostile_pack, browser):
    """Shown as typed in the title, category, area names, register name, planned and
    changed sites, in the page and its map; nothing evaluated, no markup made, no dialog."""
    source = (hostile_pack / "report.html").read_text()
    assert "<script>alert(1)" not in source and "49 Hall" not in source
    page = recorded_page(browser, (hostile_pack / "report.html").as_uri())
    page.frame_locator("iframe.map").locator(".leaflet-container").wait_for()
    text = page.locator("body").inner_text()
    assert page.title() == "Pack {{7*7}} {# <img src=x onerror=alert(1)>"
    for typed in (*PAYLOADS, "Hub {{7*7}} <b>x</b>", "venues {{7*7}}.csv"):
        assert typed in text, typed
    for evaluated in (*EVALUATED, "Hub 49"):
        assert evaluated not in text
    assert page.locator("img, script").count() == 0
    assert page.locator("b", has_text=re.compile(r"^x$")).count() == 0  # the label's <b>x</b>
    assert "#plans" in source and "#changes" in source
    assert page.errors == [] and page.dialogs == []
    map_text = page.frame_locator("iframe.map").locator("body").inner_text()
    assert "Hub {{7*7}} <b>x</b>" in map_text and "Sum 49" not in map_text
    page.close()
    book = openpyxl.load_workbook(hostile_pack / "gaps.xlsx")
    assert all(cell.data_type != "f" for sheet in book.worksheets
               for row in sheet.iter_rows() for cell in row)


def _project(folder: Path, data: Path, registers: list[Path], reading: str,
             analyse: str = '\n[[analyse]]\ncategory = "School"\n') -> Path:
    bradford = data / "bradford"
    text = "".join(f'[[registers]]\npath = "{path}"\n{reading}\n\n' for path in registers)
    text += (f'[demand]\npopulation = "{bradford / "population_lsoa.csv"}"\n'
             f'deprivation = "{bradford / "imd2019_lsoa.csv"}"\n{analyse}\n'
             '[gap]\nby = ["ward"]\n\n[map]\ntiles = "none"\n')
    (folder / "assetmap.toml").write_text(text)
    return folder / "assetmap.toml"


def test_pdf_has_a_page_per_profile_after_the_report(demo, tmp_path, browser):
    """``--pdf``: the report on A4, each area profile on its own single page."""
    from assetmap.printing import pdf_pages, print_pdf

    result = run("demo", "--pdf", "-o", str(tmp_path / "pack"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "pack" / "report.html").read_text()
    front = tmp_path / "front.html"
    front.write_text(re.sub(r'<section id="profiles">.*?</section>', "", page, flags=re.S))
    print_pdf(front, tmp_path / "front.pdf")
    profiles = sum(DEMO_AREAS.values())
    assert pdf_pages(tmp_path / "pack" / "report.pdf") == pdf_pages(tmp_path / "front.pdf") \
        + profiles
    pdf = (tmp_path / "pack" / "report.pdf").read_bytes()
    boxes = set(re.findall(rb"/MediaBox \[([^]]*)\]", pdf))
    assert {tuple(round(float(v)) for v in box.split()) for box in boxes} == {(0, 0, 595, 842)}


def test_a_previous_snapshot_shows_what_changed(tmp_path, data):
    """GP practices against last month's list: two practices were not on it (opened), one
    listed then is gone (closed); the report and the GeoPackage say so."""
    current = data / "bradford" / "gp_practices.csv"
    old = pd.read_csv(current, dtype=str)
    gone = old.iloc[[5]].assign(practice_code="Z99999", practice_name="OLD MILL SURGERY")
    pd.concat([old.iloc[2:], gone]).to_csv(tmp_path / "gp_last_month.csv", index=False)
    previous = tmp_path / "gp_last_month.csv"
    project = _project(tmp_path, data, [current],
                       f'category = "GP practice"\nprevious = "{previous}"',
                       '\n[[analyse]]\ncategory = "GP practice"\n')
    result = run("report", "-c", str(project), "-o", str(tmp_path / "pack"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "pack" / "report.html").read_text()
    section = page[page.index('<section id="changes">'):page.index('<section id="map">')]
    assert section.count("<td>opened</td>") == 2 and section.count("<td>closed</td>") == 1
    assert "OLD MILL SURGERY" in section
    sites = pyogrio.read_dataframe(tmp_path / "pack" / "assetmap.gpkg", layer="changes_1_sites")
    assert sorted(sites["change"]) == ["closed", "opened", "opened"]
