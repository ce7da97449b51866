"""Gap analysis: a synthetic case with known answers, the building blocks against brute force,
and Bradford schools and GP practices end to end (library and command line)."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import scipy.linalg
import shapely
from click.testing import CliRunner
from scipy.spatial.distance import cdist

import assetmap
from assetmap.cli.main import cli
from assetmap.gaps import SUPPRESSED, publish, two_step_fca, weighted_quantiles

HUB = "Family hub site"


# --- building blocks -------------------------------------------------------------------

def test_nearest_distance_is_the_brute_force_minimum():
    rng = np.random.default_rng(1)
    origins, targets = rng.uniform(0, 10_000, (2_000, 2)), rng.uniform(0, 10_000, (300, 2))
    expected = cdist(origins, targets).min(axis=1)
    assert np.allclose(assetmap.nearest_distance(origins, targets), expected)
    assert np.allclose(assetmap.nearest_distance(shapely.points(origins),
                                                 shapely.points(targets)), expected)
    assert np.isinf(assetmap.nearest_distance(origins, np.empty((0, 2)))).all()


def test_weighted_quantiles_per_group():
    values = np.array([5.0, 1.0, 3.0, 10.0, 20.0, 7.0, 8.0])
    weights = np.array([1.0, 1.0, 2.0, 1.0, 3.0, 0.0, 1.0])
    groups = np.array([0, 0, 0, 1, 1, 1, -1])
    out = weighted_quantiles(values, weights, groups, 3, (0.5, 0.9))
    assert out[0].tolist() == [3.0, 5.0]  # 1 (w1), 3 (w2), 5 (w1): half is reached at 3
    assert out[1].tolist() == [20.0, 20.0]  # 7 weighs nothing; 20 holds 3/4
    assert np.isnan(out[2]).all()  # no weight at all
    rng = np.random.default_rng(2)
    draws = rng.exponential(500, 999)
    unweighted = weighted_quantiles(draws, np.ones(999), np.zeros(999, int), 1, (0.5, 0.9))
    assert unweighted[0].tolist() == list(np.quantile(draws, [0.5, 0.9],
                                                      method="inverted_cdf"))


def test_two_step_floating_catchment_known_answer():
    origins = np.array([[0.0, 0.0], [400.0, 0.0], [900.0, 0.0]])
    sites = np.array([[100.0, 0.0], [1000.0, 0.0]])
    # site 0 reaches origins 0 and 1 (demand 300): 30/300; site 1 reaches 1 and 2: 60/500
    access = two_step_fca(origins, np.array([100.0, 200.0, 300.0]), sites,
                          np.array([30.0, 60.0]), catchment=700.0)
    assert np.allclose(access, [0.1, 0.1 + 0.12, 0.12])


def test_xlsx_text_is_never_a_formula(tmp_path):
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+44 1274", "-1 Hall", "@sum",
                                   "Plain"], "n": [1, 2, 3, None, 5]})
    path = assetmap.write_xlsx({"areas/with:bad*name": frame}, tmp_path / "t.xlsx",
                               formats={"n": "#,##0"})
    sheet = openpyxl.load_workbook(path)["areas_with_bad_name"]
    cells = [sheet.cell(i, 1) for i in range(2, 7)]
    assert [c.value for c in cells] == list(frame["name"])
    assert {c.data_type for c in cells} == {"s"}
    assert sheet.cell(4, 2).number_format == "#,##0" and sheet.cell(5, 2).value is None
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:B6"
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


# --- a synthetic case with a known answer ------------------------------------------------
#
# Three 1 km square areas in a row, R [0, 1000], Q [1000, 2000], P [2000, 3000], each made of
# two small areas (its west and east halves) with one demand point at the half's centre, at
# x = 250, 750, 1250, 1750, 2250, 2750. One family hub at x = 10. Children per half: R 100 +
# 100, Q 50 + 150, P 100 + 100. R is in IMD decile 1, Q decile 2, P decile 9.
# With a 1,500 m threshold: R is covered, Q half-covered (its 150 children beyond), P not
# at all. Gap scores (access 1, need 1): R 0; Q 100 x 150 x 2 / (2 x 200) = 75; P 100 x 200
# x 1 / (2 x 200) = 50. Ranking Q, P, R.

def _square(x0, x1):
    return shapely.box(x0, 0, x1, 1000)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    halves = [f"S{i}" for i in range(6)]
    small = gpd.GeoDataFrame({"code": halves, "name": halves},
                             geometry=[_square(500 * i, 500 * (i + 1)) for i in range(6)],
                             crs="EPSG:27700")
    children = [100, 100, 50, 150, 100, 100]
    pd.DataFrame({"Small area": halves, "Total population": [4 * c for c in children],
                  "Children aged 0-15": children}).to_csv(folder / "people.csv", index=False)
    pd.DataFrame({"Small area": halves, "IMD Rank": [100, 200, 5000, 5000, 29000, 29000],
                  "IMD Decile": [1, 1, 2, 2, 9, 9]}).to_csv(folder / "imd.csv", index=False)
    demand = assetmap.read_demand(folder / "people.csv", small, deprivation=folder / "imd.csv")
    points = assetmap.demand_points(demand, shapely.points(np.arange(250, 3000, 500),
                                                           np.full(6, 500.0)))
    layer = gpd.GeoDataFrame({"code": ["E1", "E2", "E3"], "name": ["R", "Q", "P"]},
                             geometry=[_square(0, 1000), _square(1000, 2000),
                                       _square(2000, 3000)], crs="EPSG:27700")
    assets = gpd.GeoDataFrame({"name": ["Hub"], "category": [HUB], "places": ["100"]},
                              geometry=shapely.points([[10.0, 500.0]]), crs="EPSG:27700")
    placements = {"area": assetmap.place_demand(points, layer)}
    return assetmap.join(assets, {"area": layer}), {"area": layer}, demand, points, placements


def _gaps(synthetic, **options):
    table, _ = assetmap.gap_table(*synthetic, **{"threshold": 1500.0, **options})
    return table.set_index("name")


def test_the_synthetic_case_ranks_as_expected(synthetic):
    table = _gaps(synthetic)
    assert list(table.sort_values("rank").index) == ["Q", "P", "R"]
    assert table["gap_score"].to_dict() == pytest.approx({"R": 0, "Q": 75, "P": 50})
    assert table["coverage_children_pct"].to_dict() == pytest.approx({"R": 100, "Q": 25,
                                                                      "P": 0})
    assert table["unmet_need"].to_dict() == pytest.approx({"R": 0, "Q": 150, "P": 0})
    assert table.loc["Q", ["distance_median_m", "distance_p90_m"]].tolist() == [1740, 1740]
    assert table.loc["P", ["distance_median_m", "distance_p90_m"]].tolist() == [2240, 2740]
    assert table["priority"].to_dict() == {"R": False, "Q": True, "P": True}
    assert table.loc["R", "assets"] == 1
    assert table.loc["R", "assets_per_10k_children"] == pytest.approx(50)  # 1 per 200
    assert table.loc["R", "assets_per_10k_residents"] == pytest.approx(12.5)
    assert (table["group"] == "children").all() and (table["aggregation"] == "best fit by "
                                                                         "points").all()
    assert table.loc["R", "decile1_pct"] == 100 and table.loc["Q", "decile1_2_pct"] == 100
    assert "beyond 1,500 m" in table["formula"].iloc[0]


@pytest.mark.parametrize("options, ranking", [
    ({"formula": assetmap.GapFormula(access=1, need=0)}, ["P", "Q", "R"]),  # 100 vs 75
    ({"formula": assetmap.GapFormula(access=0, need=1)}, ["Q", "R", "P"]),  # 75; 0s by code
    ({"formula": assetmap.GapFormula(deciles=1)}, ["P", "Q", "R"]),  # Q no longer deprived
    ({"threshold": 2000.0}, ["P", "R", "Q"]),  # Q covered; R and Q tie at 0: by code
    ({"threshold": 3000.0}, ["R", "Q", "P"]),  # everyone covered: by code
])
def test_weights_and_threshold_change_the_ranking_the_expected_way(synthetic, options,
                                                                   ranking):
    assert list(_gaps(synthetic, **options).sort_values("rank").index) == ranking


def test_taxonomy_thresholds_and_the_accessibility_index(synthetic):
    table = _gaps(synthetic, threshold=None, capacity="places")
    assert (table["threshold_m"] == 1600).all()  # family hub site's coverage_m
    # within 1,600 m of the hub: R's 200 children and Q's west 50 -> 100 places / 250
    assert table["places_per_1000"].to_dict() == pytest.approx(
        {"R": 400, "Q": 1000 * 50 * 0.4 / 200, "P": 0})


def test_suppression_hides_small_numbers_in_published_tables_only(synthetic):
    table, _ = assetmap.gap_table(*synthetic, threshold=1500.0, capacity="places")
    shown = publish(table, suppress_below=160).set_index("name")
    assert shown.loc["Q", "unmet_need"] == "[c]" and shown.loc["R", "unmet_need"] == 0
    assert shown.loc["Q", "coverage_children_pct"] == "[c]"  # 50 covered would show
    # the score adds up Q's 150 beyond reach and its 150 deprived beyond reach; the places
    # are shared among its 50 within reach
    assert (shown.loc["Q", ["gap_score", "places_per_1000"]] == "[c]").all()
    assert shown.loc["P", "gap_score"] == 50 and shown.loc["R", "places_per_1000"] == 400
    assert shown.loc["P", "coverage_children_pct"] == 0  # 0 of 200: nobody disclosed
    assert shown.loc["R", "population"] == 800
    assert table["unmet_need"].max() == 150  # the analysis is untouched


def test_assets_count_in_the_areas_their_join_gave_them(synthetic):
    assets, layers, *rest = synthetic
    west = assets.set_geometry(shapely.points([[-100.0, 500.0]]))  # 100 m outside R
    joined = assetmap.join(west.drop(columns=["area_code", "area_name", "area_match"]),
                           layers, tolerance=200.0)
    assert joined["area_match"].iloc[0] == "nearest"
    table, _ = assetmap.gap_table(joined, layers, *rest, threshold=1500.0)
    assert table.set_index("name")["assets"].to_dict() == {"R": 1, "Q": 0, "P": 0}
    with pytest.raises(assetmap.AssetmapError, match="not joined to layer 'area'"):
        assetmap.gap_table(west[["category", "geometry"]], layers, *rest)


def test_no_suppressed_count_can_be_worked_out_from_the_published_figures(lsoa_gaps):
    table = lsoa_gaps.table
    shown = publish(table, counts=lsoa_gaps.demand.counts, suppress_below=10)
    hidden = shown == "[c]"
    figures = shown.drop(columns="priority").apply(pd.to_numeric, errors="coerce")
    children = table["group"] == "children"
    group = figures["population"].where(~children, figures["children"])
    coverage = figures["coverage_residents_pct"].where(~children,
                                                       figures["coverage_children_pct"])
    beyond = group * (1 - coverage / 100)  # and within reach: group - beyond
    hidden_beyond = hidden["coverage_residents_pct"].where(~children,
                                                           hidden["coverage_children_pct"])
    unmet, score = figures["unmet_need"], figures["gap_score"]
    deprived = figures["decile1_2_pct"] == 100  # unmet_need is everyone beyond reach
    attempts = {  # what a reader could work out (access 1, need 1, deciles 1-2)
        "unmet_need from the score and coverage": (hidden["unmet_need"],
                                                   2 * score * group / 100 - beyond),
        "unmet_need from the score where all are deprived": (
            hidden["unmet_need"] & deprived, score * group / 100),
        "beyond reach from the score and unmet_need": (hidden_beyond,
                                                       2 * score * group / 100 - unmet),
        "beyond reach from unmet_need where all are deprived": (hidden_beyond & deprived,
                                                                unmet),
    }
    assert hidden["unmet_need"].sum() >= 5 and hidden_beyond.sum() >= 5
    for attempt, (secret, worked_out) in attempts.items():
        assert worked_out[secret].isna().all(), attempt
    if lsoa_gaps.table["threshold_m"].iloc[0] == 800:  # the reviewer's case: 8.2 children
        case = shown[(shown["code"] == "E01010713") & children].iloc[0]
        assert (case[["unmet_need", "gap_score", "coverage_children_pct"]] == "[c]").all()


def test_fractional_counts_below_the_threshold_are_suppressed(synthetic):
    table, _ = assetmap.gap_table(*synthetic, threshold=1500.0)
    table.loc[table["name"] == "P", "unmet_need"] = 0.3  # as --aggregate area gives them
    table.loc[table["name"] == "R", "unmet_need"] = 0.04  # 0.0 once rounded: shown
    shown = publish(table, suppress_below=10).set_index("name")
    assert shown.loc["P", "unmet_need"] == "[c]" and shown.loc["P", "gap_score"] == "[c]"
    assert shown.loc["R", "unmet_need"] == 0


def test_unknown_category_is_a_one_line_error(synthetic):
    with pytest.raises(assetmap.AssetmapError, match="category 'swimming pool' is not in"):
        assetmap.gap_table(*synthetic, categories="swimming pool")


# --- Bradford ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bradford_files(data):
    folder = data / "bradford"
    return {"population": folder / "population_lsoa.csv",
            "deprivation": folder / "imd2019_lsoa.csv",
            "postcodes": folder / "postcodes_bd.csv"}


@pytest.fixture(scope="module", params=[400.0, 800.0])
def lsoa_gaps(request, data, bradford_files):
    """Schools and GP practices by LSOA: many small numbers to suppress."""
    registers = [data / "bradford" / "schools.csv", data / "bradford" / "gp_practices.csv"]
    return assetmap.gap_analysis(registers, by=["lsoa"], threshold=request.param,
                                 **bradford_files)


@pytest.fixture(scope="module")
def both(data, bradford_files):
    """Schools and GP practices by ward, from postcode points and from OA points."""
    registers = [data / "bradford" / "schools.csv", data / "bradford" / "gp_practices.csv"]
    return {points: assetmap.gap_analysis(registers, by=["ward", "constituency"],
                                          points=points, **bradford_files)
            for points in ("postcodes", "oa")}


def test_bradford_wards_and_constituencies_add_up_to_the_district(both):
    table = both["postcodes"].table
    totals = table.groupby(["layer", "category"])[["population", "children"]].sum()
    assert np.allclose(totals["population"], 529_879) and np.allclose(totals["children"],
                                                                       125_172)
    assert set(table["aggregation"]) == {"apportioned by postcodes"}
    method = both["postcodes"].method.set_index("item")["value"]
    assert "apportioned by postcodes" in method["aggregation: ward"]


def test_coverage_from_postcodes_and_from_output_areas_agrees(both):
    keys = ["layer", "category", "code"]
    merged = both["postcodes"].table.merge(both["oa"].table, on=keys, suffixes=("", "_oa"))
    for column in ("coverage_residents_pct", "coverage_children_pct"):
        difference = merged[column] - merged[f"{column}_oa"]
        ward = difference[merged["layer"] == "ward"]
        assert ward.abs().mean() < 2.0, column  # measured: 0.3 (schools), 1.5 (GPs)
        assert ward.abs().max() < 10.0, column
        for _, rows in merged.groupby(["layer", "category"]):
            district = [np.average(rows[c], weights=rows["population"]) for c in
                        (column, f"{column}_oa")]
            assert abs(district[0] - district[1]) < 1.0, column
    assert len(merged) == 2 * (30 + 5)


def _independent_school_coverage(data, threshold=1600.0):
    """Children within ``threshold`` of a school per ward, by geopandas and brute force."""
    folder = data / "bradford"
    people = pd.read_csv(folder / "population_lsoa.csv").set_index("LSOA code (2011)")[
        "Dependent Children aged 0-15: mid 2015 (excluding prisoners)"]
    codepoint = pd.read_csv(folder / "postcodes_bd.csv")
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(codepoint["easting"],
                                                          codepoint["northing"]),
                              crs="EPSG:27700")
    lsoa = gpd.read_file(folder / "lsoa.geojson").to_crs(27700)
    lsoa["geometry"] = lsoa.make_valid()
    wards = gpd.read_file(folder / "wards.geojson").to_crs(27700)
    in_lsoa = gpd.sjoin(points, lsoa[["LSOA11CD", "geometry"]], predicate="within")
    in_lsoa = in_lsoa[~in_lsoa.index.duplicated()]
    in_ward = gpd.sjoin(in_lsoa.drop(columns="index_right"), wards[["WD13NM", "geometry"]],
                        predicate="within")
    in_ward = in_ward[~in_ward.index.duplicated()]
    share = people.reindex(in_lsoa["LSOA11CD"]).to_numpy() / in_lsoa.groupby(
        "LSOA11CD")["LSOA11CD"].transform("size").to_numpy()
    children = pd.Series(share, index=in_lsoa.index).reindex(in_ward.index)
    schools = pd.read_csv(folder / "schools.csv")[["easting", "northing"]].to_numpy(float)
    xy = np.column_stack([in_ward.geometry.x, in_ward.geometry.y])
    near = cdist(xy, schools).min(axis=1) <= threshold
    ward = in_ward["WD13NM"].to_numpy()
    return (100 * pd.Series(children.to_numpy() * near).groupby(ward).sum()
            / pd.Series(children.to_numpy()).groupby(ward).sum()).sort_values()


@pytest.fixture(scope="module")
def school_report(data, bradford_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("gaps") / "school_gaps.xlsx"
    f = bradford_files
    result = CliRunner().invoke(cli, [
        "gaps", str(data / "bradford" / "schools.csv"), "--category", "schools",
        "--by", "ward,constituency", "--aggregate", "apportion", "-p", str(f["population"]),
        "-d", str(f["deprivation"]), "--postcodes", str(f["postcodes"]), "-o", str(out),
        "--suppress-below", "10", "--top", "5"])
    return result, out


def test_bradford_schools_report_names_the_wards_with_the_lowest_coverage(data,
                                                                          school_report):
    result, out = school_report
    assert result.exit_code == 0, result.output
    expected = _independent_school_coverage(data)
    assert expected.iloc[0] < 97 and expected.index[0] == "Wharfedale"  # the real answer
    said = " ".join(result.stderr.split())
    lowest = ", ".join(f"{name} ({value:.1f}%)" for name, value in expected.head(5).items())
    assert f"Lowest coverage of children within 1,600 m: {lowest}" in said
    table = pd.read_csv(out.with_suffix(".csv"), encoding="utf-8-sig")
    wards = table[table["layer"] == "ward"].set_index("name")
    shown = pd.to_numeric(wards["coverage_children_pct"], errors="coerce").dropna()
    assert len(shown) >= 25  # a few wards with 1-9 children beyond reach are [c]
    assert np.allclose(shown, expected.reindex(shown.index), atol=0.05)  # 1 decimal


def test_the_command_writes_csv_xlsx_and_geopackage_with_the_method(school_report):
    result, out = school_report
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "school_gaps.csv", "school_gaps.gpkg", "school_gaps.xlsx"]  # no temporary files
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["ward", "constituency", "method"]
    ward = book["ward"]
    header = [c.value for c in ward[1]]
    assert ward.freeze_panes == "A2" and ward.auto_filter.ref == f"A1:{ward.dimensions[3:]}"
    assert ward.max_row == 31 and "gap_score" in header and "aggregation" in header
    assert ward.cell(2, header.index("population") + 1).number_format == "#,##0"
    assert ward.cell(2, header.index("rank") + 1).value == 1  # sorted by rank
    method = dict(row for row in book["method"].iter_rows(min_row=2, values_only=True))
    assert method["disclosure control"].startswith("primary: people counts")
    assert "apportioned by postcodes" in method["aggregation: ward"]
    assert "gap_score = 100" in method["gap score"]
    layers = dict(pyogrio.list_layers(out.with_suffix(".gpkg")))
    assert set(layers) == {"ward", "constituency"}
    polygons = gpd.read_file(out.with_suffix(".gpkg"), layer="ward")
    assert len(polygons) == 30 and polygons.crs.to_epsg() == 27700
    assert {"coverage_children_pct", "gap_score", "formula"} <= set(polygons.columns)
    csv = pd.read_csv(out.with_suffix(".csv"), encoding="utf-8-sig")
    hidden = (csv.loc[csv["layer"] == "ward", "coverage_children_pct"] == "[c]").sum()
    coverage = polygons["coverage_children_pct"]  # suppressed: empty, the field numeric
    assert hidden > 0 and coverage.dtype.kind == "f" and coverage.isna().sum() == hidden
    assert polygons["gap_score"].dtype.kind == "f" and polygons["rank"].dtype.kind == "i"
    assert "largest gaps for School" in result.stderr and "gap_score = 100" in result.stderr


def test_the_command_reports_bad_input_in_one_line(data, bradford_files, tmp_path):
    result = CliRunner().invoke(cli, [
        "gaps", str(data / "bradford" / "schools.csv"), "--category", "swimming pool",
        "-p", str(bradford_files["population"]), "-o", str(tmp_path / "g.xlsx")])
    assert result.exit_code == 2
    assert "category 'swimming pool' is not in the taxonomy" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_no_located_asset_of_a_known_category_is_a_one_line_error(data, bradford_files,
                                                                  tmp_path):
    register = tmp_path / "greens.csv"
    pd.read_csv(data / "bradford" / "gp_practices.csv", dtype=str).assign(
        type="Bowling green").to_csv(register, index=False)
    result = CliRunner().invoke(cli, ["gaps", str(register), "-p",
                                      str(bradford_files["population"]), "-o",
                                      str(tmp_path / "g.xlsx")])
    assert result.exit_code == 2, result.output
    said = result.stderr.strip()
    assert len(said.splitlines()) == 1 and "internal error" not in said
    assert "no located asset has a category" in said and "'Bowling green'" in said
    assert "--category" in said and "GP practice" in said


def test_maps_read_the_gap_workbook_as_the_csv(school_report):
    _, out = school_report
    keys = ["layer", "code"]
    from_xlsx = assetmap.read_gap_table(out).sort_values(keys, ignore_index=True)
    from_csv = assetmap.read_gap_table(out.with_suffix(".csv")).sort_values(
        keys, ignore_index=True)
    assert set(from_xlsx["layer"]) == {"ward", "constituency"} and len(from_xlsx) == 35
    pd.testing.assert_frame_equal(from_xlsx, from_csv[from_xlsx.columns], check_dtype=False)
    assert (from_xlsx["coverage_children_pct"] == SUPPRESSED).any()  # kept, to hatch
    assert set(from_xlsx["category"]) == {"School"}
    with pytest.raises(assetmap.AssetmapError, match="pass the CSV or XLSX"):
        assetmap.read_gap_table(out.with_suffix(".gpkg"))


def test_map_measure_names_the_choices_and_is_given_once(data, school_report, tmp_path):
    _, out = school_report
    base = ["map", str(data / "bradford" / "schools.csv"), "--gaps", str(out), "--layers",
            "ward", "--tiles", "none"]
    html = tmp_path / "gaps.html"
    result = CliRunner().invoke(cli, [*base, "--measure", "ward:gap_score", "-o", str(html)])
    assert result.exit_code == 0, result.output
    assert "Gap score (0-100, higher = bigger gap)" in html.read_text(encoding="utf-8")
    hidden = assetmap.read_gap_table(out).query("layer == 'ward'")["coverage_children_pct"]
    assert (hidden == SUPPRESSED).any()
    result = CliRunner().invoke(cli, [*base, "--measure", "ward:coverage_children_pct",
                                      "-o", str(html)])
    assert result.exit_code == 0, result.output
    page = html.read_text(encoding="utf-8")
    assert "Suppressed (small numbers)" in page and "Category: School" in page
    result = CliRunner().invoke(cli, [*base, "--measure", "ward:gap_scor", "-o", str(html)])
    assert result.exit_code == 2 and "no column 'gap_scor'" in result.stderr
    assert "gap_score" in result.stderr.split("it has")[1]
    result = CliRunner().invoke(cli, [*base, "-m", "ward:gap_score", "-m", "ward:rank",
                                      "-o", str(tmp_path / "two.html")])
    assert result.exit_code == 2 and "given 2 times" in result.output
    assert not (tmp_path / "two.html").exists()


def test_gaps_help_teaches_with_examples():
    result = CliRunner().invoke(cli, ["gaps", "--help"])
    assert result.exit_code == 0 and "Examples" in result.output
    assert "--suppress-below" in result.output and "--by" in result.output


# --- disclosure control: no suppressed cell can be worked out ----------------------------
#
# A reader holds every published figure of one output set (all its layers and rows). Counts
# add up within a row (total = children + 16-59 + 60+) and across layers: the areas of two
# layers holding the same people (a ward and its LSOAs; layers that do not nest, in larger
# sets up to the whole layers) have the same totals, and so have the people behind each %
# (within reach, in deprived areas) and unmet_need. The attack: differencing (an identity
# with one hidden cell) and solving all identities at once (a hidden cell taking one value
# in every solution).

SHARES = {"coverage_residents_pct": "population", "coverage_children_pct": "children",
          "decile1_pct": "population", "decile1_2_pct": "population"}
BANDS = ["children", "Population aged 16-59: mid 2015 (excluding prisoners)",
         "Older population aged 60 and over: mid 2015 (excluding prisoners)"]


def _cells(table, shown):
    """Each additive figure: its true value, and whether it is hidden."""
    frames = []
    for column in ["population", *BANDS, "unmet_need", *SHARES]:
        base = SHARES.get(column)
        value = table[column] / 100 * table[base] if base else table[column]
        hidden = (shown[column] == "[c]") | ((shown[base] == "[c]") if base else False)
        frames.append(table[["layer", "code", "category"]].assign(
            quantity=column, value=value.fillna(0.0), hidden=hidden.to_numpy()))
    return pd.concat(frames, ignore_index=True)


def _identities(cells, shared):
    """(cells, signs) of every identity: Σ sign x value = 0."""
    found = []
    layered = shared.merge(cells.reset_index(), on=["layer", "code"])
    for _, rows in layered.groupby(["identity", "category", "quantity"]):
        found.append((rows["index"].to_numpy(), np.where(rows["layer"] == rows["layer"].min(),
                                                         1.0, -1.0)))
    layers = list(cells["layer"].unique())
    for _, rows in cells.groupby(["category", "quantity"]):
        for other in layers[1:]:
            pair = rows[rows["layer"].isin([layers[0], other])]
            found.append((pair.index.to_numpy(), np.where(pair["layer"] == other, 1.0, -1.0)))
    bands = cells[cells["quantity"].isin(["population", *BANDS])]
    for _, rows in bands.groupby(["layer", "code", "category"]):
        found.append((rows.index.to_numpy(), np.where(rows["quantity"] == "population", 1.0,
                                                      -1.0)))
    return found


def _recovered(cells, identities):
    hidden = cells["hidden"].to_numpy()
    differenced = {int(where[hidden[where]][0]) for where, _ in identities
                   if hidden[where].sum() == 1}
    unknown = np.flatnonzero(hidden)
    column = pd.Series(np.arange(len(unknown)), index=unknown)
    matrix = np.zeros((len(identities), len(unknown)))
    for i, (where, sign) in enumerate(identities):
        keep = hidden[where]
        matrix[i, column[where[keep]].to_numpy()] = sign[keep]
    null = scipy.linalg.null_space(matrix)
    solved = unknown[np.abs(null).max(axis=1) < 1e-9] if null.shape[1] else unknown
    return differenced | set(solved.tolist())


@pytest.fixture(scope="module")
def layered(data, bradford_files):
    """LSOAs, wards and constituencies published together (apportioned by postcodes, the
    three do not nest: a ward's LSOAs hold people of other wards)."""
    registers = [data / "bradford" / "schools.csv", data / "bradford" / "gp_practices.csv"]
    return assetmap.gap_analysis(registers, by=["lsoa", "ward", "constituency"],
                                 threshold=400.0, **bradford_files)


@pytest.mark.parametrize("below", [10, 50])
def test_no_suppressed_cell_can_be_recovered_from_the_output_set(layered, below):
    table = layered.table
    assert layered.demand.parts == [BANDS]  # found by the sums, not by the headers
    cells = _cells(table, table.assign(**dict.fromkeys(table.columns, 0)))
    identities = _identities(cells, layered.shared)
    value = cells["value"].to_numpy()
    for where, sign in identities:  # each is a true identity (to a person, for lost points)
        assert abs(value[where] @ sign) < 1.0
    primary = publish(table, counts=layered.demand.counts, suppress_below=below)
    assert _recovered(_cells(table, primary), identities)  # the attack works without it
    shown = layered.published(below)
    attacked = _cells(table, shown)
    assert attacked["hidden"].sum() >= 20
    assert _recovered(attacked, identities) == set()
    # figures computed from a hidden count are hidden with it
    for column, base in {**SHARES, "assets_per_10k_children": "children",
                         "assets_per_10k_residents": "population"}.items():
        assert (shown.loc[shown[base] == "[c]", column] == "[c]").all(), column
    group = np.where(shown["group"] == "children", shown["children"], shown["population"])
    assert (shown.loc[group == "[c]", ["gap_score", "distance_median_m"]] == "[c]").all(axis=None)
    # and it costs little: most areas keep their counts
    hidden_areas = (shown[BANDS] == "[c]").any(axis=1).groupby(shown["layer"]).mean()
    assert hidden_areas.max() < 0.05
