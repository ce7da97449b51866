"""Guards against input that would hang, exhaust memory, crash a writer or give nonsense:
special files and zip bombs as registers, registers too wide for a GeoPackage, and
boundary layers that are not polygons, mislabelled, partly empty or elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import zipfile

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

import assetmap
from assetmap.cli.main import cli
from assetmap.pipeline import write_join
from assetmap.settings import GPKG_MAX_FIELDS, XLSX_RATIO_FROM_BYTES

pytestmark = pytest.mark.data  # the default boundary set


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def within(seconds: float, call, *args):
    """What ``call(*args)`` returns or raises, failing the test if it takes longer."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call(*args)
        except Exception as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{call.__name__} still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture()
def fifo(tmp_path):
    path = tmp_path / "register.csv"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_pipe_or_device_as_a_register_is_refused_not_read(request, special):
    path = request.getfixturevalue("fifo") if special == "fifo" else special
    with pytest.raises(assetmap.AssetmapError) as error:
        within(20, assetmap.read_register, path)
    assert str(error.value) == f"{path}: not a regular file (a pipe, device or socket): not read"


def test_a_pipe_as_a_boundary_layer_is_refused_not_read(fifo):
    with pytest.raises(assetmap.AssetmapError, match="not a regular file"):
        within(20, assetmap.load_layer, fifo)


@pytest.mark.parametrize("args", [
    ["validate", "{reg}", "--postcodes", "{fifo}", "-r", "{out}/r.csv"],
    ["join", "{reg}", "--taxonomy", "{fifo}", "-o", "{out}/j.gpkg"],
    ["gaps", "{reg}", "--category", "school", "-p", "{fifo}", "-o", "{out}/g.xlsx"],
    ["map", "{reg}", "--gaps", "{fifo}", "--measure", "ward:gap_score", "-o", "{out}/m.html"],
], ids=["postcodes", "taxonomy", "population", "gap-table"])
def test_a_pipe_as_any_input_of_a_command_is_refused_before_work(data, fifo, tmp_path, args):
    reg = data / "bradford" / "schools.csv"
    args = [a.format(reg=reg, fifo=fifo, out=tmp_path) for a in args]
    done = subprocess.run([sys.executable, "-c", "from assetmap.cli.main import cli; cli()",
                           *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"assetmap: error: {fifo}: not a regular file (a pipe, " \
                                  "device or socket): not read"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["register.csv"]


def test_validate_exits_2_at_once_on_a_pipe(fifo, tmp_path):
    done = subprocess.run([sys.executable, "-c", "from assetmap.cli.main import cli; cli()",
                           "validate", str(fifo),
                           "-r", str(tmp_path / "r.csv")],
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("not a regular file (a pipe, device or socket): not read")


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """A valid workbook whose sheet XML (blank rows) expands about 600-fold, past
    :data:`XLSX_RATIO_FROM_BYTES`, from a file of a few hundred kB."""
    folder = tmp_path_factory.mktemp("bomb")
    plain, bomb = folder / "plain.xlsx", folder / "bomb.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Name", "Postcode"])
    book.active.append(["Hub", "BD1 1AF"])
    book.save(plain)
    rows = b"<row/>" * (1 << 20)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                out.writestr(item, source.read(item.filename))
                continue
            with out.open(item.filename, "w", force_zip64=True) as sheet:
                sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.'
                            b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                for _ in range(XLSX_RATIO_FROM_BYTES // len(rows) + 2):
                    sheet.write(rows)
                sheet.write(b"</sheetData></worksheet>")
    return plain, bomb


def test_a_workbook_that_expands_hundreds_of_times_is_refused_before_it_is_read(zip_bomb):
    plain, bomb = zip_bomb
    assert assetmap.read_register(plain).frame["Name"].tolist() == ["Hub"]
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(assetmap.AssetmapError) as error:
        assetmap.read_register(bomb)
    message = str(error.value)
    with zipfile.ZipFile(bomb) as archive:
        expanded = sum(item.file_size for item in archive.infolist())
    ratio = expanded / bomb.stat().st_size
    assert ratio > 500
    assert message.startswith(f"{bomb}: the workbook expands to {expanded / 2**20:,.0f} MiB "
                              f"({ratio:,.0f} times its size), more than is read")
    assert message.endswith("save the sheet as CSV") and "\n" not in message


def test_validate_exits_2_on_a_zip_bomb(zip_bomb, tmp_path):
    result = run("validate", zip_bomb[1], "-r", tmp_path / "r.csv")
    assert result.exit_code == 2, result.output
    assert "the workbook expands to" in result.stderr


@pytest.fixture()
def wide(tmp_path):
    """A register with 5,000 columns."""
    path = tmp_path / "wide.csv"
    header = ["Name", "Postcode", *(f"answer {i}" for i in range(4998))]
    path.write_text(",".join(header) + "\nHub,BD1 1AF" + ",x" * 4998 + "\n", encoding="utf-8")
    return path


def test_a_register_too_wide_for_a_geopackage_is_an_error_naming_the_limit(wide, tmp_path):
    result = assetmap.join_registers([wide], layers=["ward"])
    out = tmp_path / "wide.gpkg"
    with pytest.raises(assetmap.AssetmapError) as error:
        write_join(result, out)
    # 8 standard columns, 4,998 other register columns, 3 of the ward
    assert str(error.value) == (f"{out}: the joined assets have 5,009 columns, more than a "
                                f"GeoPackage holds ({GPKG_MAX_FIELDS:,}); write .csv instead")
    assert list(tmp_path.iterdir()) == [wide]
    cli = run("join", wide, "--layers", "ward", "-o", out)
    assert cli.exit_code == 2 and "more than a GeoPackage holds" in cli.stderr
    csv = run("join", wide, "--layers", "ward", "-o", tmp_path / "wide_out.csv")
    assert csv.exit_code == 0, csv.output
    assert pd.read_csv(tmp_path / "wide_out.csv", encoding="utf-8-sig").shape == (1, 5011)


def test_the_join_geopackage_holds_the_counts_on_the_areas(data, tmp_path):
    registers = [data / "bradford" / "gp_practices.csv", data / "bradford" / "schools.csv"]
    out = tmp_path / "joined.gpkg"
    result = run("join", *registers, "--layers", "ward,lsoa", "-o", out)
    assert result.exit_code == 0, result.output
    assert [name for name, _ in pyogrio.list_layers(out)] == [
        "assets", "ward_counts", "lsoa_counts"]
    counts = pd.read_csv(tmp_path / "joined_counts.csv", encoding="utf-8-sig")
    for layer, areas in (("ward", 30), ("lsoa", 310)):
        polygons = gpd.read_file(out, layer=f"{layer}_counts")
        assert len(polygons) == areas and polygons.geom_type.isin(
            ["Polygon", "MultiPolygon"]).all()
        assert list(polygons.columns) == ["code", "name", "GP practice", "School", "total",
                                          "geometry"]
        table = counts[counts["layer"] == layer].drop(columns="layer").reset_index(drop=True)
        assert polygons.drop(columns="geometry").equals(table)
        assert polygons["total"].sum() == 274


# Bad boundary layers, through every command that reads one.

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Three assets in Bradford, located by postcode."""
    path = tmp_path_factory.mktemp("reg") / "hubs.csv"
    path.write_text("Name,Postcode\nHub,BD1 1AF\nHall,BD7 1DP\nCentre,BD1 1AG\n",
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def wards(data):
    return gpd.read_file(data / "bradford" / "wards.geojson")[["WD13CD", "WD13NM", "geometry"]]


def _commands(register, layer, data, tmp_path):
    population = data / "bradford" / "population_lsoa.csv"
    return {
        "join": ["join", register, "--layers", f"bad={layer}", "-o", tmp_path / "j.gpkg"],
        "map": ["map", register, "--layers", f"ward,bad={layer}", "-o", tmp_path / "m.html"],
        "gaps": ["gaps", register, "--category", "community centre", "--by", f"bad={layer}",
                 "-p", population, "-o", tmp_path / "g.xlsx"],
        "overlap": ["clusters", "overlap", layer, "-p", population, "-o", tmp_path / "o.csv"],
        "overlap --layers": ["clusters", "overlap", "ward", "-p", population, "--layers",
                             f"bad={layer}", "-o", tmp_path / "o.csv"],
    }


@pytest.mark.parametrize("command", ["join", "map", "gaps", "overlap", "overlap --layers"])
@pytest.mark.parametrize("make, message", [
    (lambda w: w.set_geometry(w.representative_point()),
     "not a boundary layer: areas must be polygons, found 30 Point (of 30 features)"),
    (lambda w: w.set_geometry(w.boundary),
     "not a boundary layer: areas must be polygons, found 30 LineString (of 30 features)"),
    (lambda w: w.to_crs(4326).set_crs(27700, allow_override=True),
     "the layer declares EPSG:27700 (metres) but its coordinates"),
    (lambda w: w.to_crs(27700).set_crs(4326, allow_override=True),
     "look like British National Grid metres (EPSG:27700); fix the file's CRS"),
], ids=["points", "lines", "degrees-as-grid", "grid-as-degrees"])
def test_a_bad_boundary_layer_is_a_one_line_error_in_every_command(
        small, wards, data, tmp_path, command, make, message):
    layer = tmp_path / "bad.gpkg"
    make(wards.copy()).to_file(layer)
    result = run(*_commands(small, layer, data, tmp_path)[command])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().startswith(f"assetmap: error: {layer}: ")
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["join", "map", "gaps", "overlap"])
def test_a_null_geometry_and_a_shared_code_are_warnings_in_every_command(
        small, wards, data, tmp_path, command):
    layer = tmp_path / "holes.gpkg"
    broken = wards.copy()
    broken.loc[4, "geometry"] = None
    broken.loc[9, "WD13CD"] = broken.loc[8, "WD13CD"]
    broken.to_file(layer)
    result = run(*_commands(small, layer, data, tmp_path)[command])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert f"warning: {layer}: features with no geometry are left out (1): " \
           f"{wards.loc[4, 'WD13CD']}" in lines
    assert f"warning: {layer}: features sharing a code are merged into one area (1 codes, " \
           f"1 features merged): {wards.loc[8, 'WD13CD']}" in lines


@pytest.fixture()
def elsewhere(wards, tmp_path):
    """Bradford's wards moved 200 km south."""
    layer = tmp_path / "elsewhere.gpkg"
    wards.to_crs(27700).translate(yoff=-200_000).to_frame("geometry").assign(
        code=wards["WD13CD"], name=wards["WD13NM"]).to_file(layer)
    return layer


def _elsewhere_warning(layer) -> str:
    return (f"warning: {layer}: no area of the layer overlaps the study area (the wrong file, "
            "or a wrong CRS?): nothing will be inside its areas")


def test_join_warns_when_a_layer_is_nowhere_near_the_study_area(small, elsewhere, tmp_path):
    result = run("join", small, "--layers", f"ward,far={elsewhere}", "-o", tmp_path / "j.csv")
    assert result.exit_code == 0, result.output
    assert _elsewhere_warning(elsewhere) in result.stderr.splitlines()
    joined = pd.read_csv(tmp_path / "j.csv", encoding="utf-8-sig")
    assert (joined["far_match"] == "outside").all() and (joined["ward_match"] == "inside").all()


def test_overlap_warns_when_a_layer_is_nowhere_near_the_clusters(data, elsewhere, tmp_path):
    result = run("clusters", "overlap", "ward", "-p", data / "bradford" / "population_lsoa.csv",
                 "--layers", f"ward,far={elsewhere}", "-o", tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert _elsewhere_warning(elsewhere) in result.stderr.splitlines()
