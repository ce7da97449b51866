"""Writing results: formula-safe CSVs, atomic replacement, and the geographic formats."""

from __future__ import annotations

import codecs

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from assetmap import AssetmapError, outputs, write_geo, write_table
from assetmap.outputs import atomic_path


@pytest.fixture()
def points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Café Central", "=HYPERLINK(\"x\")"], "count": [3, 4]},
        geometry=[shapely.Point(415660, 432832), shapely.Point(416546.04, 433216.06)],
        crs=27700)


def test_write_table_defuses_formulas_but_leaves_numbers_alone(tmp_path):
    frame = pd.DataFrame({
        "text": ["=1+2", "+44 1274", "-SUM(A1)", "@cmd", "-1.75", "Café", "a=b"],
        "number": [-1, 2, -3, 4, 5, 6, 7],
        "decimal": [-1.5, 0.25, 3.0, -4.5, 5.0, 6.0, 7.0],
    })
    path = write_table(frame, tmp_path / "out.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["text"].tolist() == [
        "'=1+2", "'+44 1274", "'-SUM(A1)", "'@cmd", "-1.75", "Café", "a=b"]
    assert back["number"].tolist() == ["-1", "2", "-3", "4", "5", "6", "7"]
    assert back["decimal"].tolist() == ["-1.5", "0.25", "3", "-4.5", "5", "6", "7"]
    assert frame.loc[0, "text"] == "=1+2"  # the caller's frame is not changed


def test_invisible_characters_before_a_formula_do_not_hide_it(tmp_path):
    """Zero-width and direction marks show nothing: "\u200e=cmd" reads as "=cmd"."""
    marks = ["\u200e", "\u200f", "\u200c", "\u200d", "\u202e", "\u2066", "\u2061",
             "\u180e", "\xad", "\u061c"]
    frame = pd.DataFrame({"text": [f"{mark}=cmd|' /C calc'!A0" for mark in marks]})
    back = pd.read_csv(write_table(frame, tmp_path / "out.csv"), encoding="utf-8-sig",
                       dtype=str)
    assert back["text"].tolist() == [f"'{text}" for text in frame["text"]]


def test_write_table_writes_a_plain_utf8_csv_with_a_bom_for_excel(tmp_path):
    path = write_table(pd.DataFrame({"name": ["Café"]}), tmp_path / "out.csv")
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)  # a text file, not a zipped workbook
    assert raw.decode("utf-8-sig") == '"name"\r\n"Café"\r\n'  # CRLF rows, text quoted


def test_atomic_path_keeps_the_old_file_when_the_block_fails(tmp_path):
    target = tmp_path / "result.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half-written", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left


def test_atomic_path_replaces_the_file_when_the_block_succeeds(tmp_path):
    target = tmp_path / "result.csv"
    target.write_text("old", encoding="utf-8")
    with atomic_path(target) as temp:
        assert temp != target and temp.parent == target.parent
        temp.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_write_geo_writes_a_geopackage_in_british_national_grid(tmp_path, points):
    path = write_geo(points, tmp_path / "assets.gpkg")
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 27700
    assert back["name"].tolist() == points["name"].tolist()
    assert back.geometry.geom_equals(points.geometry).all()


def test_write_geo_writes_geojson_in_wgs84(tmp_path, points):
    back = gpd.read_file(write_geo(points, tmp_path / "assets.geojson"))
    assert back.crs.to_epsg() == 4326 and back["count"].tolist() == [3, 4]
    assert back.to_crs(27700).geometry.distance(points.geometry).max() < 0.01


def test_write_geo_writes_a_csv_with_easting_and_northing(tmp_path, points):
    path = write_geo(points, tmp_path / "assets.csv")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back.columns) == ["name", "count", "easting", "northing"]
    assert back["name"].tolist() == ["Café Central", "'=HYPERLINK(\"x\")"]
    assert back[["easting", "northing"]].values.tolist() == [[415660, 432832],
                                                             [416546.0, 433216.1]]


def test_write_geo_rejects_an_unknown_format(tmp_path, points):
    with pytest.raises(AssetmapError, match="unknown output format"):
        write_geo(points, tmp_path / "assets.txt")
    assert not (tmp_path / "assets.txt").exists()


def test_column_headers_are_defused_like_cells(tmp_path):
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": ["a"], "-2": ["b"], "@sum": ["c"], "name": ["d"]})
    back = pd.read_csv(write_table(frame, tmp_path / "out.csv"), encoding="utf-8-sig", dtype=str)
    assert list(back.columns) == ["'=cmd|' /C calc'!A0", "-2", "'@sum", "name"]
    assert frame.columns[0] == "=cmd|' /C calc'!A0"  # the caller's frame is not changed


def test_risky_cells_found_in_sliced_and_chunked_arrow_text():
    """The byte scan for formula signs tells the right cells, whatever the Arrow layout:
    a slice (offsets not from 0), several chunks, missing values, non-ASCII text."""
    cells = ["Café", "=1", "a-b", None, "", "naïve\t", "plain", "@x", "ü+"] * 3
    text = pd.Series(cells, dtype="str")
    expected = [c is not None and any(ch in c for ch in "=+-@\x00\t\r") for c in cells]
    assert outputs._risky(text).tolist() == expected
    assert outputs._risky(text.iloc[4:]).tolist() == expected[4:]
    chunked = pd.concat([text.iloc[:5], text.iloc[5:]], ignore_index=True)
    assert outputs._risky(chunked).tolist() == expected
