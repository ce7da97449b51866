"""Demand: small-area tables read by code, people spread over demand points, and moved to
planning areas by best fit, apportionment and area, reconciled with the district totals."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import assetmap
from assetmap.demand import _same_features as same_features
from assetmap.demand import sum_by_area

TOTAL, CHILDREN = 529_879, 125_172  # Bradford, mid-2015 (data README)


@pytest.fixture(scope="module")
def tables(data):
    return data / "bradford" / "population_lsoa.csv", data / "bradford" / "imd2019_lsoa.csv"


@pytest.fixture(scope="module")
def demand(tables, layers):
    return assetmap.read_demand(tables[0], layers["lsoa"], deprivation=tables[1])


@pytest.fixture(scope="module")
def postcode_demand(demand, data):
    located = assetmap.postcode_points(data / "bradford" / "postcodes_bd.csv", demand.areas)
    return assetmap.demand_points(demand, located, kind="postcodes")


def test_the_mhclg_long_headers_are_read_and_joined_by_code(demand, tables, layers):
    assert demand.columns == {
        "population": "Total population: mid 2015 (excluding prisoners)",
        "children": "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
        "imd_rank": "Index of Multiple Deprivation (IMD) Rank",
        "imd_decile": "Index of Multiple Deprivation (IMD) Decile"}
    assert demand.counts[:2] == ["population", "children"] and len(demand.counts) == 5
    assert demand.warnings == []
    areas = demand.areas
    assert list(areas["code"]) == list(layers["lsoa"]["code"])  # the layer's order
    assert areas["population"].sum() == TOTAL and areas["children"].sum() == CHILDREN
    raw = pd.read_csv(tables[1]).set_index("LSOA code (2011)")
    assert (areas.set_index("code")["imd_rank"]
            == raw["Index of Multiple Deprivation (IMD) Rank"].reindex(areas["code"])).all()
    assert "Income Decile (where 1 is most deprived 10% of LSOAs)" in areas  # domains kept


def test_people_are_spread_evenly_over_the_postcodes_of_their_lsoa(postcode_demand, data):
    points = postcode_demand
    assert points["population"].sum() == pytest.approx(TOTAL)
    assert points["children"].sum() == pytest.approx(CHILDREN)
    per = points.groupby("code")["population"].agg(["nunique", "size", "sum"])
    assert len(per) == 310 and (per["nunique"] == 1).all()  # equal shares within an LSOA
    # nearly every Bradford postcode is a demand point (201 new ones have no ONS LSOA, but
    # do lie in an LSOA polygon)
    codepoint = pd.read_csv(data / "bradford" / "postcodes_bd.csv")
    assert len(codepoint) - 5 <= len(points) <= len(codepoint)
    assert points.attrs["kind"] == "postcodes"


def test_a_small_area_with_no_point_keeps_one_at_its_representative_point(demand, layers):
    oa_points = assetmap.area_points(layers["oa"])
    lsoa = np.asarray(demand.areas.geometry.array)
    outside_first = ~shapely.contains(lsoa[0], oa_points)
    points = assetmap.demand_points(demand, oa_points[outside_first])
    first = points[points["small"] == 0]
    assert len(first) == 1 and first["population"].iloc[0] == demand.areas["population"][0]
    assert shapely.contains(lsoa[0], first.geometry.iloc[0])
    assert points["population"].sum() == pytest.approx(TOTAL)


@pytest.mark.parametrize("name", ["ward", "constituency"])
def test_best_fit_reconciles_exactly_with_whole_lsoas(demand, postcode_demand, layers, name):
    layer = layers[name]
    placement = assetmap.place_demand(postcode_demand, layer, "best_fit")
    table = assetmap.aggregate_demand(demand, postcode_demand, layer, placement)
    assert table["population"].sum() == pytest.approx(TOTAL, abs=1e-6)
    assert table["children"].sum() == pytest.approx(CHILDREN, abs=1e-6)
    assert np.allclose(table["population"], table["population"].round(), rtol=0,
                       atol=1e-6)
    # independently: each LSOA to the area holding most of its postcodes (geopandas sjoin)
    pts = gpd.GeoDataFrame({"lsoa": postcode_demand["code"]},
                           geometry=postcode_demand.geometry, crs=layer.crs)
    within = gpd.sjoin(pts, layer[["code", "geometry"]], predicate="intersects")
    within = within[~within.index.duplicated(keep="first")]
    best = within.groupby(["lsoa", "code"]).size().rename("n").reset_index().sort_values(
        ["lsoa", "n", "code"], ascending=[True, False, True]).drop_duplicates("lsoa")
    people = demand.areas.set_index("code")["population"]
    expected = best.assign(people=people.reindex(best["lsoa"]).to_numpy()).groupby(
        "code")["people"].sum()
    got = table.set_index("code")["population"]
    assert set(expected.index) == set(got.index)
    assert np.allclose(got.reindex(expected.index), expected, rtol=0, atol=1e-6)
    assert (table["aggregation"] == "best fit by postcodes").all()


@pytest.mark.parametrize("method", ["apportion", "area"])
@pytest.mark.parametrize("name", ["ward", "constituency"])
def test_apportioned_totals_reconcile_within_half_a_percent(demand, postcode_demand, layers,
                                                             name, method):
    layer = layers[name]
    placement = assetmap.place_demand(postcode_demand, layer, method)
    table = assetmap.aggregate_demand(demand, postcode_demand, layer, placement)
    assert table["population"].sum() == pytest.approx(TOTAL, rel=0.005)
    assert table["children"].sum() == pytest.approx(CHILDREN, rel=0.005)
    # an area's population is a whole number exactly when no LSOA is split into it:
    # independently, LSOAs split by their postcodes (apportion) or their polygons (area)
    if method == "apportion":
        pieces = gpd.sjoin(gpd.GeoDataFrame({"lsoa": postcode_demand["code"]},
                                            geometry=postcode_demand.geometry, crs=layer.crs),
                           layer[["code", "geometry"]], predicate="intersects")
    else:
        lsoa = demand.areas[["code", "geometry"]].rename(columns={"code": "lsoa"})
        pieces = gpd.overlay(lsoa, layer[["code", "geometry"]], how="intersection")
    pairs = pieces[["lsoa", "code"]].drop_duplicates()
    split = set(pairs.loc[pairs["lsoa"].duplicated(keep=False), "code"])
    fractional = ~np.isclose(table["population"], table["population"].round(), rtol=0,
                             atol=1e-6)
    assert split and set(table.loc[fractional, "code"]) == split


def test_auto_takes_best_fit_where_lsoas_nest_and_apportions_elsewhere(postcode_demand,
                                                                       layers):
    msoa = assetmap.place_demand(postcode_demand, layers["msoa"])
    ward = assetmap.place_demand(postcode_demand, layers["ward"])
    assert msoa.method == "best_fit" and msoa.misplaced < 0.001
    assert ward.method == "apportion" and 0.03 < ward.misplaced < 0.10
    assert "5.6% of residents" in assetmap.place_demand(
        postcode_demand, layers["ward"], "best_fit").describe("ward", "LSOA")


def test_need_is_population_weighted(demand, postcode_demand, layers):
    placement = assetmap.place_demand(postcode_demand, layers["lsoa"], "best_fit")
    table = assetmap.aggregate_demand(demand, postcode_demand, layers["lsoa"], placement)
    merged = table.merge(demand.areas[["code", "imd_rank", "imd_decile"]], on="code")
    assert np.allclose(merged["imd_rank_mean"], merged["imd_rank"])
    assert (np.isclose(merged["decile1_pct"], 100) == (merged["imd_decile"] == 1)).all()
    district = assetmap.place_demand(postcode_demand, layers["constituency"], "best_fit")
    five = assetmap.aggregate_demand(demand, postcode_demand, layers["constituency"],
                                     district)
    areas = demand.areas
    expected = 100 * areas.loc[areas["imd_decile"] <= 2, "population"].sum() / TOTAL
    assert (five["decile1_2_pct"] * five["population"]).sum() / TOTAL == pytest.approx(
        expected)


def test_apportioning_by_area_matches_an_independent_overlay(demand, postcode_demand, layers):
    layer = layers["constituency"]
    placement = assetmap.place_demand(postcode_demand, layer, "area")
    sums = sum_by_area(postcode_demand[["population"]], placement, layer, demand.areas)
    lsoa = demand.areas[["code", "population", "geometry"]].rename(columns={"code": "lsoa"})
    pieces = gpd.overlay(lsoa, layer[["code", "geometry"]], how="intersection")
    share = pieces.area / pieces.area.groupby(pieces["lsoa"]).transform("sum")
    expected = (pieces["population"] * share).groupby(pieces["code"]).sum()
    got = pd.Series(sums["population"].to_numpy(), index=layer["code"])
    assert np.allclose(got.reindex(expected.index), expected, rtol=1e-6)


@pytest.mark.parametrize("text, columns, message", [
    ("code,people\nE01010568,12\nE01010568,3\n", None, "area 'E01010568' is listed twice"),
    ("code,people\nE01010568,12\nE01010569,lots\n", {"population": "people"},
     "row 3, column 'people': 'lots' is not a number"),
    ("code,people\nX1,12\n", None,
     "no column holds codes of the small-area layer (such as 'E01010568'); name its column"),
    ("code,headcount\nE01010568,12\n", None,
     "cannot tell which column holds the total population; name its column"),
    ("code,Population aged 16-59: mid 2015\nE01010568,12\n", None,  # not the total
     "cannot tell which column holds the total"),
    ("code,Total population\nE01010568,12\nE01010569,n/a\n", None,
     "row 3, column 'Total population': 'n/a' is not a number"),
    ("code,people\nE01010568,12\n", {"children": "kids"}, "no column 'kids' for children"),
])
def test_bad_tables_are_one_line_errors(tmp_path, layers, text, columns, message):
    table = tmp_path / "people.csv"
    table.write_text(text, encoding="utf-8")
    with pytest.raises(assetmap.AssetmapError, match=re.escape(message)) as error:
        assetmap.read_demand(table, layers["lsoa"], columns=columns)
    assert "--" not in str(error.value)  # no command's option: the commands' differ
    assert "\n" not in str(error.value)


def test_a_deprivation_table_without_an_imd_decile_is_an_error(tmp_path, layers):
    people, imd = tmp_path / "people.csv", tmp_path / "imd.csv"
    people.write_text("code,Total population\nE01010568,1200\n", encoding="utf-8")
    imd.write_text("code,Income Rank,IMD Rank\nE01010568,5,7\n", encoding="utf-8")
    with pytest.raises(assetmap.AssetmapError) as error:
        assetmap.read_demand(people, layers["lsoa"], deprivation=imd)
    assert str(error.value) == (f"{imd}: cannot tell which column holds the IMD decile; "
                                "name its column")


def test_blank_people_cells_count_as_zero_with_a_warning(tmp_path, layers):
    table = tmp_path / "people.csv"
    table.write_text("code,Total population,Children aged 0-15\nE01010568,,300\n"
                     "E01010569,1500,\nE01010570,1400, \n", encoding="utf-8")
    demand = assetmap.read_demand(table, layers["lsoa"])
    areas = demand.areas.set_index("code")
    assert areas.loc["E01010568", "population"] == 0 and areas.loc["E01010570", "children"] == 0
    assert demand.warnings[:2] == [
        "people.csv, column 'Total population': blank, counted as 0, in row 2 (E01010568)",
        "people.csv, column 'Children aged 0-15': blank, counted as 0, in 2 rows: "
        "3 (E01010569), 4 (E01010570)"]


def test_other_headers_and_missing_areas(tmp_path, layers):
    table = tmp_path / "people.csv"
    table.write_text("area,All ages,Aged 0 to 15\nE01010568,\"1,200\",300\nE99999999,5,1\n",
                     encoding="utf-8")
    demand = assetmap.read_demand(table, layers["lsoa"])
    assert demand.columns == {"population": "All ages", "children": "Aged 0 to 15"}
    assert demand.areas["population"].sum() == 1200 and demand.areas["children"].sum() == 300
    assert any("1 areas are not in the small-area layer" in w for w in demand.warnings)
    assert any("309 small areas are not in the table, counted as 0" in w
               for w in demand.warnings)


def test_the_age_bands_adding_up_to_the_total_are_found(demand):
    bands = ["children", "Population aged 16-59: mid 2015 (excluding prisoners)",
             "Older population aged 60 and over: mid 2015 (excluding prisoners)"]
    assert demand.parts == [bands]  # not the working-age column, which overlaps them
    areas = demand.areas
    assert (areas[bands].sum(axis=1) == areas["population"]).all()
    other = areas.assign(children=areas["children"] + 1)  # one person off: no longer parts
    assert assetmap.demand.additive_parts(other, demand.counts) == []


@pytest.mark.parametrize("method", ["best_fit", "apportion", "area"])
def test_areas_of_two_layers_holding_the_same_people_are_grouped(demand, postcode_demand,
                                                                 layers, method):
    chosen = {name: layers[name] for name in ("lsoa", "ward", "constituency")}
    placements = {name: assetmap.place_demand(postcode_demand, layer, method)
                  for name, layer in chosen.items()}
    shared = assetmap.demand.shared_people(placements, chosen, demand.areas)
    for identity, rows in shared.groupby("identity"):
        assert rows["layer"].nunique() == 2, identity
    # each set's counts add up alike in both layers (to a person: points outside a layer)
    sums = {name: assetmap.aggregate_demand(demand, postcode_demand, layer, placements[name]
                                            ).set_index("code")["population"]
            for name, layer in chosen.items()}
    totals = shared.assign(people=[sums[layer][code] for layer, code in
                                   zip(shared["layer"], shared["code"], strict=True)])
    per_side = totals.groupby(["identity", "layer"])["people"].sum().unstack()
    difference = (per_side.max(axis=1) - per_side.min(axis=1)).abs()
    assert difference.max() < (1.0 if method != "area" else 0.01 * TOTAL)
    # best fit puts whole LSOAs in one ward: each ward is a set with its own LSOAs
    wards = shared[shared["identity"].isin(shared.loc[shared["layer"] == "lsoa", "identity"])
                   & (shared["layer"] == "ward")]
    if method == "best_fit":
        assert wards["code"].nunique() == len(wards) == 30


def test_people_placed_in_their_own_small_areas_are_not_tested_again(demand, postcode_demand,
                                                                     layers):
    """Placing the demand points in the demand's own small-area layer takes the small area
    each point was spread from: the same as the point-in-polygon test gives."""
    lsoa = demand.areas
    assert same_features(lsoa, demand.areas) and not same_features(layers["ward"], lsoa)
    fast = assetmap.place_demand(postcode_demand, lsoa, small_areas=demand.areas)
    tested = assetmap.place_demand(postcode_demand, lsoa)
    np.testing.assert_array_equal(fast.area, tested.area)
    assert (fast.method, fast.misplaced) == (tested.method, tested.misplaced)
    ward = assetmap.place_demand(postcode_demand, layers["ward"], small_areas=demand.areas)
    np.testing.assert_array_equal(ward.area, assetmap.place_demand(postcode_demand,
                                                                   layers["ward"]).area)


def test_people_in_a_layer_dissolved_from_their_small_areas_follow_them(
        demand, postcode_demand, layers, data, tmp_path):
    """MSOAs dissolved from Bradford's LSOAs (by the ONS lookup in the postcode file): each
    point counts in the MSOA its LSOA is part of, the same areas as the point-in-polygon
    test puts it in; a layer read from another file is tested point by point."""
    lookup = pd.read_csv(data / "bradford" / "postcodes_bd.csv", dtype=str,
                         usecols=["lsoa11cd", "msoa11cd"]).drop_duplicates("lsoa11cd")
    lookup["msoa_name"] = "MSOA " + lookup["msoa11cd"]
    lookup.to_csv(tmp_path / "lookup.csv", index=False)
    bset = tmp_path / "set.toml"
    bset.write_text(f'[layers.msoa]\nfile = "{data / "bradford" / "lsoa.geojson"}"\n'
                    'code = "LSOA11CD"\nname = "LSOA11NM"\n'
                    f'[layers.msoa.areas]\ntable = "{tmp_path / "lookup.csv"}"\n'
                    'key = "lsoa11cd"\ncode = "msoa11cd"\nname = "msoa_name"\n',
                    encoding="utf-8")
    msoa = assetmap.load_layer(assetmap.load_boundary_set(bset).spec("msoa"))
    assert len(msoa) == len(layers["msoa"]) and msoa.attrs["parts"].of(demand.areas) is not None
    followed = assetmap.place_demand(postcode_demand, msoa, small_areas=demand.areas)
    tested = assetmap.place_demand(postcode_demand, msoa)
    np.testing.assert_array_equal(followed.area, tested.area)
    assert followed.method == tested.method == "best_fit" and followed.misplaced == 0
    elsewhere = demand.areas.copy()
    elsewhere.attrs["source"] = "another file"  # the same codes read from another file
    assert msoa.attrs["parts"].of(elsewhere) is None
    assert msoa.attrs["parts"].of(demand.areas.iloc[1:]) is None  # not every part
