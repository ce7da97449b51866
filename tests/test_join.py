"""Joining points to areas: real Bradford assets cross-checked, and the edge rules."""

from __future__ import annotations

import importlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import assetmap
from assetmap.join import MATCHES, assign_areas


@pytest.fixture(scope="module")
def joined(data, bradford, layers, study_area, gb_postcodes):
    registers = [data / "bradford" / "gp_practices.csv", data / "bradford" / "schools.csv"]
    assets, audit = assetmap.load_assets(registers, postcodes=gb_postcodes,
                                         study_area=study_area)
    assert (audit["status"] == "located").all(), audit[audit["status"] != "located"]
    return assetmap.join(assets, layers)


def _independent_pip(data, csv_name: str, layer_file: str, code: str) -> pd.Series:
    """Each register row's area code by plain covers-tests on the raw files (no STRtree)."""
    raw = pd.read_csv(data / "bradford" / csv_name)
    polygons = gpd.read_file(data / "bradford" / layer_file).to_crs(27700)
    polygons["geometry"] = polygons.geometry.make_valid()
    x, y = raw["easting"].to_numpy(float), raw["northing"].to_numpy(float)
    inside = np.column_stack([shapely.intersects_xy(g, x, y) for g in polygons.geometry])
    assert (inside.sum(axis=1) == 1).all(), "a register point lies in 0 or 2+ areas"
    return pd.Series(polygons[code].to_numpy()[inside.argmax(axis=1)], index=raw.index + 2)


@pytest.mark.parametrize("csv_name, count", [("gp_practices.csv", 59), ("schools.csv", 215)])
@pytest.mark.parametrize("layer, layer_file, code, areas", [
    ("ward", "wards.geojson", "WD13CD", 30),
    ("constituency", "constituencies.geojson", "PCON13CD", 5),
])
def test_every_gp_practice_and_school_gets_the_area_it_lies_in(
        joined, data, csv_name, count, layer, layer_file, code, areas):
    mine = joined[joined["source"] == csv_name].set_index("row")
    assert len(mine) == count
    expected = _independent_pip(data, csv_name, layer_file, code)
    assert mine[f"{layer}_code"].astype(str).sort_index().equals(expected.sort_index())
    assert isinstance(mine[f"{layer}_code"].dtype, pd.CategoricalDtype)  # each code held once
    assert (mine[f"{layer}_match"] == "inside").all()
    assert mine[f"{layer}_code"].nunique() <= areas


def test_every_asset_gets_exactly_one_area_of_every_layer(joined, layers):
    for name, layer in layers.items():
        assert joined[f"{name}_code"].notna().all(), name
        assert joined[f"{name}_code"].isin(layer["code"]).all(), name
        assert (joined[f"{name}_name"] == joined[f"{name}_code"].map(
            layer.set_index("code")["name"])).all(), name


def test_counts_cover_every_area_and_add_up(joined, layers):
    counts = assetmap.count_by_area(joined, layers, categories=["GP practice", "School"])
    for name, layer in layers.items():
        table = counts[counts["layer"] == name]
        assert list(table["code"]) == list(layer["code"])
        assert table["GP practice"].sum() == 59 and table["School"].sum() == 215
        assert (table["total"] == table["GP practice"] + table["School"]).all()
    # the ward counts agree with a plain group-by of the joined assets
    ward = counts[counts["layer"] == "ward"].set_index("code")["total"]
    grouped = joined.groupby("ward_code").size()
    assert ward[grouped.index].equals(grouped.rename("total")) and ward.sum() == 274


def _squares():
    """Two unit squares side by side, codes deliberately not in file order."""
    return np.array([shapely.box(1, 0, 2, 1), shapely.box(0, 0, 1, 1)]), np.array(["B", "A"])


def test_a_point_on_a_shared_border_gets_the_lowest_code_whatever_the_order():
    polygons, codes = _squares()
    points = shapely.points([(1, 0.5), (0.5, 0.5), (1.5, 0.5)])
    for order in ([0, 1], [1, 0]):
        area, match = assign_areas(points, polygons[order],
                                   rank=np.argsort(np.argsort(codes[order])))
        assert list(codes[order][area]) == ["A", "A", "B"]
        assert list(MATCHES[match]) == ["border", "inside", "inside"]


def test_a_point_just_outside_takes_the_nearest_area_within_the_tolerance():
    polygons, codes = _squares()
    points = shapely.points([(2.3, 0.5), (-0.2, 0.5), (5, 5), (1, 1.1)])
    area, match = assign_areas(points, polygons, rank=np.argsort(np.argsort(codes)),
                               tolerance=0.5)
    assert list(MATCHES[match]) == ["nearest", "nearest", "outside", "nearest"]
    assert list(area[:2]) == [0, 1] and area[2] == -1
    assert codes[area[3]] == "A"  # equidistant from both squares: lowest code


def test_join_flags_and_names_in_a_geodataframe():
    polygons, codes = _squares()
    layer = gpd.GeoDataFrame({"code": codes, "name": ["Bee", "Ay"]}, geometry=polygons,
                             crs=27700)
    assets = gpd.GeoDataFrame({"name": ["p", "q"]}, geometry=shapely.points(
        [(0.5, 0.5), (9, 9)]), crs=27700)
    out = assetmap.join(assets, {"square": layer}, tolerance=1)
    assert out["square_code"].iloc[0] == "A" and out["square_name"].iloc[0] == "Ay"
    assert out[["square_code", "square_name"]].iloc[1].isna().all()
    assert list(out["square_match"]) == ["inside", "outside"]


def _square_layer(crs=27700):
    polygons, codes = _squares()
    return gpd.GeoDataFrame({"code": codes, "name": ["Bee", "Ay"]}, geometry=polygons,
                            crs=crs)


@pytest.mark.parametrize("layer, message", [
    (_square_layer(3857), "layer 'square' is in EPSG:3857, the assets in EPSG:27700: load "
                          "both in one CRS"),
    (_square_layer().rename(columns={"code": "WD13CD"}),
     "layer 'square' is not a boundary layer (no code column; read it with load_layer)"),
    (_square_layer().iloc[:0], "layer 'square' has no areas"),
])
def test_a_bad_layer_given_to_join_is_a_one_line_error(layer, message):
    assets = gpd.GeoDataFrame({"name": ["p"]}, geometry=shapely.points([(0.5, 0.5)]), crs=27700)
    with pytest.raises(assetmap.AssetmapError) as error:
        assetmap.join(assets, {"square": layer})
    assert str(error.value) == message


def test_counting_by_a_layer_the_assets_were_not_joined_to_is_a_one_line_error():
    assets = gpd.GeoDataFrame({"name": ["p"]}, geometry=shapely.points([(0.5, 0.5)]), crs=27700)
    joined = assetmap.join(assets, {"square": _square_layer()})
    with pytest.raises(assetmap.AssetmapError, match="not joined to layer 'other'"):
        assetmap.count_by_area(joined, {"square": _square_layer(), "other": _square_layer()})


def test_points_in_polygons_queried_in_threads_as_in_one_query():
    """The polygons split over every core give the same pairs, in the same order, as one
    STRtree query."""
    import numpy as np

    from assetmap.join import _queried

    rng = np.random.default_rng(1)
    points = shapely.points(rng.random((50_000, 2)) * 1000)
    polygons = shapely.buffer(shapely.points(rng.random((5_000, 2)) * 1000), 20)
    tree = shapely.STRtree(points)
    expected = tree.query(polygons, predicate="contains")
    found = _queried(tree, polygons)
    assert np.array_equal(found[0], expected[0]) and np.array_equal(found[1], expected[1])


def test_points_indexed_in_slices_give_the_pairs_one_tree_gives(monkeypatch):
    """A register larger than one tree's slice: every (polygon, point) pair is found once,
    with the points' own positions."""
    import numpy as np

    join_module = importlib.import_module("assetmap.join")
    rng = np.random.default_rng(2)
    points = shapely.points(rng.random((10_000, 2)) * 1000)
    polygons = shapely.buffer(shapely.points(rng.random((500, 2)) * 1000), 30)
    expected = shapely.STRtree(points).query(polygons, predicate="contains")
    monkeypatch.setattr(join_module, "_POINTS_PER_TREE", 3_000)  # four slices, the last short
    found = join_module._contained(points, polygons)
    assert len(found[0]) == len(expected[0]) > 1_000
    assert set(zip(*found, strict=True)) == set(zip(*expected, strict=True))
