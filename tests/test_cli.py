"""The command line: the README's job on real data, exit codes, and one-line errors."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from assetmap.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def registers(data):
    return [data / "bradford" / "gp_practices.csv", data / "bradford" / "schools.csv"]


def test_join_writes_assets_counts_and_audit(registers, tmp_path):
    out = tmp_path / "bradford.gpkg"
    result = run("join", *registers, "--layers", "ward,constituency,lsoa", "-o", out)
    assert result.exit_code == 0, result.output
    joined = gpd.read_file(out, layer="assets")
    assert len(joined) == 274 and joined.crs.to_epsg() == 27700
    assert joined[["ward_code", "constituency_code", "lsoa_code"]].notna().all().all()
    counts = pd.read_csv(tmp_path / "bradford_counts.csv", encoding="utf-8-sig")
    assert set(counts["layer"]) == {"ward", "constituency", "lsoa"}
    assert len(counts) == 30 + 5 + 310
    assert counts.groupby("layer")["total"].sum().eq(274).all()
    audit = pd.read_csv(tmp_path / "bradford_audit.csv", encoding="utf-8-sig")
    assert len(audit) == 274 and (audit["status"] == "located").all()
    assert "ward: 30 areas; 274 assets inside" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bradford.gpkg", "bradford_audit.csv", "bradford_counts.csv"]  # no temporary files


def test_join_to_csv_with_a_boundary_file_as_a_layer(registers, data, tmp_path):
    out = tmp_path / "assets.csv"
    result = run("join", registers[0], "--layers", data / "bradford" / "msoa.geojson",
                 "-o", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["msoa_code"].str.startswith("E02").all()
    assert {"easting", "northing"} <= set(table.columns)


def test_names_with_brackets_are_printed_as_typed_not_as_markup(registers, data, tmp_path):
    """A layer or file named ``w[/]`` was an internal error (rich took it for markup), and
    ``[bold]`` vanished from what was printed."""
    out = tmp_path / "a[bold]b[/].csv"
    wards = data / "bradford" / "wards.geojson"
    result = run("join", registers[0], "--layers", f"w[/]={wards}", "-o", out)
    assert result.exit_code == 0, result.output
    assert "w[/]: 30 areas; 59 assets inside" in result.stderr
    assert f"Wrote {out}," in result.stderr


@pytest.mark.data  # the default boundary set's postcode file
def test_terminal_escapes_in_names_are_shown_not_obeyed(tmp_path):
    """A header or value holding ``ESC [8m`` (conceal) hid everything printed after it."""
    register = tmp_path / "esc\x1b[8m.csv"
    register.write_text("\x1b[8mName,Postcode\nHub,BD7 1DP\nGhost\x1b[2J,BD7 9ZZ\n",
                        encoding="utf-8")
    result = run("validate", register, "--report", tmp_path / "report.csv")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stderr
    assert "\\x1b[8mName" in result.stderr and "esc\\x1b[8m.csv" in result.stderr
    result = run("validate", tmp_path / "missing\x1b[8m.csv")
    assert result.exit_code == 2 and "\x1b" not in result.stderr
    assert "missing\\x1b[8m.csv" in result.stderr


@pytest.mark.data  # the default boundary set's postcode file
def test_validate_reports_rejections_and_strict_exits_1(tmp_path):
    register = tmp_path / "venues.csv"
    register.write_text("Name,Postcode\nHub,BD7 1DP\nGhost,BD7 9ZZ\n,\nHall,BD1 1AF\n",
                        encoding="utf-8")
    report = tmp_path / "report.csv"
    result = run("validate", register, "--report", report)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(report, encoding="utf-8-sig", keep_default_na=False)
    assert list(table["row"]) == [2, 3, 4, 5]
    assert list(table["status"]) == ["located", "rejected", "rejected", "located"]
    assert list(table["reason"]) == ["", "unknown postcode 'BD7 9ZZ'", "blank row", ""]
    assert "unknown postcode" in result.stderr and "blank row" in result.stderr
    assert run("validate", register, "--report", report, "--strict").exit_code == 1


@pytest.mark.data  # the default boundary set's postcode file
def test_column_roles_can_be_named(tmp_path):
    register = tmp_path / "groups.csv"
    register.write_text("Group,Where\nKnit & Natter,BD1 1AF\n", encoding="utf-8")
    report = tmp_path / "r.csv"
    assert run("validate", register, "-r", report).exit_code == 2  # nothing says "postcode"
    result = run("validate", register, "-r", report, "-c", "postcode=Where", "-c", "name=Group")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(report, encoding="utf-8-sig")["name"][0] == "Knit & Natter"


@pytest.mark.data  # the default boundary set's postcode file
@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing.csv", "missing.csv: file not found"),
    (lambda d: _write(d / "notes.docx", b"PK\x03\x04 not really"), "notes.docx: cannot read"),
    (lambda d: _write(d / "names.csv", b"Name,Type\nHub,school\n"),
     "names.csv: no usable location column"),
])
def test_bad_registers_are_one_line_errors_with_exit_2(tmp_path, make, expected):
    result = run("validate", make(tmp_path), "-r", tmp_path / "r.csv")
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output


def test_a_boundary_file_with_no_crs_is_a_one_line_error(registers, layers, tmp_path):
    shapefile = tmp_path / "wards.shp"
    layers["ward"].to_file(shapefile)
    shapefile.with_suffix(".prj").unlink()
    result = run("join", registers[0], "--layers", shapefile, "-o", tmp_path / "j.gpkg")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"assetmap: error: {shapefile}: boundary layer has no "
                                     "CRS; give one with 'crs' in its layer definition")


def test_unknown_layer_names_the_known_ones(registers, tmp_path):
    result = run("join", registers[0], "--layers", "ward,parish", "-o", tmp_path / "j.gpkg")
    assert result.exit_code == 2
    assert "no layer 'parish' in boundary set 'Bradford district'; layers are ward," \
        in result.stderr


@pytest.mark.parametrize("command, teaches", [
    ([], "Typical session"), (["validate"], "Examples:"), (["join"], "Examples:")])
def test_help_teaches_with_examples(command, teaches):
    result = run(*command, "--help")
    assert result.exit_code == 0 and teaches in result.output


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("command, option", [("validate", "-r"), ("join", "-o"),
                                             ("map", "-o")])
def test_an_output_never_replaces_an_input(tmp_path, command, option):
    register = _write(tmp_path / "venues.csv", b"Name,Postcode\nHub,BD7 1DP\n")
    result = run(command, register, option, register)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"assetmap: error: {register}: is an input, and this "
                                     "command would write it (as an output or beside one): "
                                     "choose another output name")
    assert register.read_bytes() == b"Name,Postcode\nHub,BD7 1DP\n"


@pytest.mark.data  # the default boundary set's postcode file
def test_validate_says_which_columns_it_used(tmp_path):
    register = _write(tmp_path / "venues.csv",
                      b"Site Name,Post Code,Contact name\nHub,BD7 1DP,Jo\n")
    result = run("validate", register, "-r", tmp_path / "r.csv")
    assert result.exit_code == 0
    assert "venues.csv columns: name: Site Name, postcode: Post Code" in result.stderr


@pytest.mark.data  # the default boundary set's postcode file
def test_no_study_area_keeps_rows_from_elsewhere_and_join_flags_them(tmp_path):
    register = _write(tmp_path / "venues.csv", b"Name,Postcode\nHub,BD7 1DP\nPalace,SW1A 1AA\n")
    out = tmp_path / "j.csv"
    assert run("join", register, "--layers", "ward", "-o", out).exit_code == 0
    assert list(pd.read_csv(out, encoding="utf-8-sig")["name"]) == ["Hub"]
    assert run("join", register, "--layers", "ward", "-o", out, "--no-study-area").exit_code == 0
    joined = pd.read_csv(out, encoding="utf-8-sig")
    assert list(joined["ward_match"]) == ["inside", "outside"]


@pytest.fixture()
def narrow_console(monkeypatch):
    """The commands' console as an 80-column terminal."""
    from assetmap.cli.options import console

    monkeypatch.setattr(console, "width", 80)
    return console


def test_register_counts_are_never_cut_in_80_columns(narrow_console):
    from assetmap.cli.options import print_audit_summary

    source = "/home/analyst/Shared drives/Community assets/" + "registers_2025_" * 4 + ".xlsx"
    audit = pd.DataFrame({"source": source, "status": ["located"] * 1234567 + ["rejected"],
                          "reason": "", "notes": ""})
    with narrow_console.capture() as capture:
        print_audit_summary(audit)
    shown = capture.get()
    assert max(map(len, shown.splitlines())) <= 80
    assert "1,234,568" in shown and "1,234,567" in shown and "…" not in shown


def test_gap_tables_never_cut_numbers_in_80_columns(narrow_console):
    from assetmap.cli.gaps import _print_top

    rows = pd.DataFrame({
        "layer": "ward", "category": "Family hub site", "group": "residents",
        "threshold_m": 1600.0, "rank": [1, 2], "code": ["E1", "E2"],
        "name": ["Bradford Moor, Little Horton and Great Horton with Heaton and Manningham",
                 "Wharfedale"],
        "population": [1234567, 98765], "assets": [1234, 0],
        "coverage_residents_pct": [12.5, 100.0], "distance_median_m": [12345.0, 678.0],
        "decile1_2_pct": [62.3, 0.0], "gap_score": [99.9, 0.0], "priority": [True, False]})
    with narrow_console.capture() as capture:
        _print_top(rows, "ward", "Family hub site", top=10)
    shown = capture.get()
    assert max(map(len, shown.splitlines())) <= 80
    for number in ("1,234,567", "98,765", "1,234", "12,345", "62.3", "99.9", "12.5"):
        assert number in shown
    assert "…" not in shown
