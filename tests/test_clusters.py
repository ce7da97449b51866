"""Cluster polygons, Area Advisory Networks and overlap: Bradford's PCNs and school clusters,
checked against independent computations, plus synthetic sites for the edge and error cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

import assetmap
from assetmap import AssetmapError
from assetmap.analyses import build_clusters, cluster_overlap
from assetmap.cli.main import cli
from assetmap.clusters import voronoi_clusters

POPULATION = "Total population: mid 2015 (excluding prisoners)"
# Schools grouped by their constituency, and the constituencies into four networks.
NETWORKS = {"Bradford East": "City", "Bradford West": "City", "Bradford South": "South",
            "Keighley": "Airedale", "Shipley": "Shipley"}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def gp_file(data):
    return data / "bradford" / "gp_practices.csv"


@pytest.fixture(scope="module")
def practices(gp_file) -> gpd.GeoDataFrame:
    """The practices as the file has them, read without assetmap."""
    raw = pd.read_csv(gp_file, dtype=str)
    return gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(
        raw["easting"].astype(float), raw["northing"].astype(float)), crs=27700)


@pytest.fixture(scope="module", params=["voronoi", "nearest"])
def pcn(request, gp_file, bradford):
    return build_clusters([gp_file], cluster="pcn_code", cluster_name="pcn_name",
                          method=request.param, boundaries=bradford)


@pytest.fixture(scope="module")
def voronoi_pcn(gp_file, bradford):
    return build_clusters([gp_file], cluster="pcn_code", cluster_name="pcn_name",
                          method="voronoi", boundaries=bradford)


@pytest.fixture(scope="module")
def school_tables(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("school_clusters")
    schools = pd.read_csv(data / "bradford" / "schools.csv", dtype=str)
    members = folder / "school_clusters.csv"
    schools[["URN", "ParliamentaryConstituency (name)"]].set_axis(
        ["URN", "cluster"], axis=1).to_csv(members, index=False)
    areas = folder / "networks.csv"
    pd.DataFrame({"cluster": list(NETWORKS), "area": list(NETWORKS.values()),
                  "area_name": [f"{a} network" for a in NETWORKS.values()]}).to_csv(
        areas, index=False)
    return members, areas


@pytest.fixture(scope="module")
def school_clusters(data, bradford, school_tables):
    members, areas = school_tables
    return build_clusters([data / "bradford" / "schools.csv"], members=members,
                          method="voronoi", areas=areas, boundaries=bradford)


def _overlaps(polygons) -> np.ndarray:
    """Areas of all pairwise intersections, by a plain double loop over the polygons."""
    geometries = list(polygons)
    return np.array([a.intersection(b).area for i, a in enumerate(geometries)
                     for b in geometries[i + 1:]])


def _colocated_in_two_pcns(practices) -> set[str]:
    place = practices["easting"] + "," + practices["northing"]
    mixed = practices.groupby(place)["pcn_code"].transform("nunique") > 1
    return set(practices.loc[mixed, "practice_code"])


def test_pcn_clusters_tile_the_district(pcn, practices, study_area):
    clusters = pcn.clusters
    assert sorted(clusters["code"]) == sorted(practices["pcn_code"].unique())
    assert len(clusters) == 12 and clusters.crs.to_epsg() == 27700
    names = practices.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"]
    assert (clusters["name"] == clusters["code"].map(names)).all()
    assert (clusters["members"] == clusters["code"].map(
        practices["pcn_code"].value_counts())).all()
    district = study_area.area
    assert abs(clusters.area.sum() - district) / district < 0.001
    assert _overlaps(clusters.geometry).max() <= 1.0
    gaps = shapely.difference(study_area, shapely.union_all(clusters.geometry.array)).area
    assert gaps / district < 0.001
    assert abs(pcn.tiling[0]) < 1e-6 and pcn.tiling[1] <= 1.0  # of the outline it tiles


def test_with_voronoi_every_practice_lies_in_its_own_cluster(voronoi_pcn, practices):
    own = voronoi_pcn.clusters.set_index("code").geometry.reindex(practices["pcn_code"])
    points = practices.geometry.array
    assert shapely.covers(own.array, points).all()
    inside = shapely.contains(own.array, points)
    on_border = set(practices.loc[~inside, "practice_code"])
    # Only practices sharing a postcode with a practice of another PCN: BD8 9LB and BD7 3EG.
    assert on_border == _colocated_in_two_pcns(practices) == {
        "B83052", "B83622", "B83035", "B83621"}
    assert (voronoi_pcn.members["distance_m"] == 0).all()
    shared = [w for w in voronoi_pcn.warnings if "share a location" in w]
    assert len(shared) == 2 and "B83052 (U37316), B83622 (U38216)" in shared[0]


def test_voronoi_clusters_hold_the_points_nearest_their_practices(voronoi_pcn, practices,
                                                                  study_area):
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = study_area.bounds
    points = shapely.points(rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000))
    points = points[shapely.contains(study_area, points)]
    distance = shapely.distance(points[:, None], np.asarray(practices.geometry.array)[None])
    nearest = distance.argmin(axis=1)
    split = practices["practice_code"].isin(_colocated_in_two_pcns(practices)).to_numpy()
    clear = ~split[nearest]
    expected = practices["pcn_code"].to_numpy()[nearest[clear]]
    polygons = voronoi_pcn.clusters.set_index("code").geometry.reindex(expected).array
    assert clear.sum() > 2000
    assert shapely.covers(polygons, points[clear]).all()


def test_with_nearest_each_output_area_joins_its_nearest_practices_cluster(practices, layers,
                                                                           gp_file, bradford):
    result = build_clusters([gp_file], cluster="pcn_code", method="nearest",
                            boundaries=bradford)
    oas = layers["oa"]
    distance = shapely.distance(np.asarray(oas.geometry.array)[:, None],
                                np.asarray(practices.geometry.array)[None, :])
    nearest = np.isclose(distance, distance.min(axis=1, keepdims=True))
    inner = shapely.point_on_surface(oas.geometry.array)
    holder = shapely.STRtree(result.clusters.geometry.array).query(inner, predicate="within")
    assert len(np.unique(holder[0])) == len(oas)  # every output area in exactly one cluster
    got = result.clusters["code"].to_numpy()[holder[1][np.argsort(holder[0])]]
    candidates = practices["pcn_code"].to_numpy()
    assert all(got[i] in set(candidates[nearest[i]]) for i in range(len(oas)))
    # The two practices that lose the output area they share with another PCN are reported.
    assert set(result.members.loc[result.members["distance_m"] > 0, "id"]) == {
        "B83622", "B83035"}
    assert any("2 sites lie outside their cluster's polygon" in w for w in result.warnings)


def test_school_clusters_dissolve_into_four_area_advisory_networks(school_clusters,
                                                                   study_area):
    clusters, areas = school_clusters.clusters, school_clusters.areas
    assert sorted(clusters["code"]) == sorted(NETWORKS)
    assert clusters["members"].sum() == 215
    assert len(areas) == 4
    assert sorted(areas["code"]) == ["Airedale", "City", "Shipley", "South"]
    city = areas.set_index("code").loc["City"]
    assert city["clusters"] == "Bradford East, Bradford West"
    assert city["name"] == "City network"
    assert city["members"] == (clusters.set_index("code").loc[
        ["Bradford East", "Bradford West"], "members"].sum())
    assert abs(areas.area.sum() - study_area.area) / study_area.area < 0.001
    assert _overlaps(areas.geometry).max() <= 1.0
    both = clusters.set_index("code").geometry[["Bradford East", "Bradford West"]]
    assert shapely.symmetric_difference(city.geometry, shapely.union_all(both.array)
                                        ).area < 1.0


def test_overlap_shares_sum_to_100_and_keep_everyone(pcn, bradford, data):
    population = data / "bradford" / "population_lsoa.csv"
    table, warnings = cluster_overlap(pcn.clusters, population, boundaries=bradford)
    total = pd.read_csv(population)[POPULATION].sum()
    assert total == 529_879
    for _layer, rows in table.groupby("layer"):
        assert np.allclose(rows.groupby("cluster_code")["share_of_cluster"].sum(), 100)
        assert np.allclose(rows.groupby("code")["share_of_area"].sum(), 100)
        assert rows["population"].sum() == pytest.approx(total)
        assert rows["cluster_code"].nunique() == 12
    assert table.loc[table["layer"] == "ward", "code"].nunique() == 30
    assert table.loc[table["layer"] == "constituency", "code"].nunique() == 5
    # LSOAs up to 1.8% outside the wards at the district edge (separate generalisation)
    # count as wholly inside: nobody is lost, and there is nothing to warn about.
    assert warnings == []


def test_clusters_of_whole_lsoas_carry_their_lsoas_exact_population(gp_file, bradford,
                                                                    layers, data):
    result = build_clusters([gp_file], cluster="pcn_code", method="nearest", blocks="lsoa",
                            boundaries=bradford)
    lsoas = layers["lsoa"]
    inner = shapely.point_on_surface(lsoas.geometry.array)
    lsoa_i, cluster_i = shapely.STRtree(result.clusters.geometry.array).query(
        inner, predicate="within")
    people = pd.read_csv(data / "bradford" / "population_lsoa.csv").set_index(
        "LSOA code (2011)")[POPULATION]
    expected = people.reindex(lsoas["code"].to_numpy()[lsoa_i]).groupby(
        result.clusters["code"].to_numpy()[cluster_i]).sum()
    table, _ = cluster_overlap(result.clusters, data / "bradford" / "population_lsoa.csv",
                               layers=["constituency"], boundaries=bradford)
    got = table.groupby("cluster_code")["population"].sum()
    assert np.allclose(got.sort_index(), expected.sort_index().astype(float), atol=0.5)


def test_school_clusters_overlap_most_with_their_own_constituency(school_clusters, bradford,
                                                                  data):
    table, _ = cluster_overlap(school_clusters.clusters,
                               data / "bradford" / "population_lsoa.csv",
                               layers=["constituency"], boundaries=bradford)
    top = table.sort_values("share_of_cluster").groupby("cluster_code").last()
    assert (top["name"] == top.index).all()
    assert (top["share_of_cluster"] > 60).all()


# --- the command line -------------------------------------------------------------------


def test_cli_builds_clusters_that_join_gives_to_every_practice_and_school(
        gp_file, data, school_tables, tmp_path):
    pcn = tmp_path / "pcn.gpkg"
    result = run("clusters", "build", gp_file, "--cluster", "pcn_code", "--cluster-name",
                 "pcn_name", "--method", "voronoi", "-o", pcn)
    assert result.exit_code == 0, result.output
    assert "12 clusters of 59 sites tile" in result.stderr
    assert result.stderr.count("warning: sites") == 2
    written = gpd.read_file(pcn)
    assert list(written.columns) == ["code", "name", "members", "area_km2", "geometry"]
    members, areas = school_tables
    schools = tmp_path / "schools.gpkg"
    result = run("clusters", "build", data / "bradford" / "schools.csv", "--members", members,
                 "--member-id", "URN", "-m", "voronoi", "--areas", areas, "-o", schools)
    assert result.exit_code == 0, result.output
    assert "; 4 areas" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pcn.gpkg", "pcn_audit.csv", "pcn_members.csv", "schools.gpkg", "schools_areas.gpkg",
        "schools_audit.csv", "schools_members.csv"]

    joined = tmp_path / "joined.gpkg"
    result = run("join", gp_file, data / "bradford" / "schools.csv", "--layers",
                 f"ward,gp_cluster={pcn},school_cluster={schools},"
                 f"network={tmp_path / 'schools_areas.gpkg'}", "-o", joined)
    assert result.exit_code == 0, result.output
    assets = gpd.read_file(joined, layer="assets")
    assert len(assets) == 274
    for layer in ("gp_cluster", "school_cluster", "network"):
        assert assets[f"{layer}_code"].notna().all(), layer
    gps = assets[assets["source"] == "gp_practices.csv"]
    differs = gps[gps["gp_cluster_code"] != gps["pcn_code"]]
    # Co-located practices of two PCNs lie on the border: the lowest code wins in join.
    assert set(differs["id"]) == {"B83622", "B83035"}
    assert (differs["gp_cluster_match"] == "border").all()
    school = assets[assets["source"] == "schools.csv"]
    assert set(school["network_code"]) == {"City", "South", "Airedale", "Shipley"}


@pytest.mark.parametrize("name, says", [
    ("pcn.csv", "pcn.csv: a CSV holds points, not polygons: use .gpkg or .geojson"),
    ("pcn.txt", "pcn.txt: unknown output format; use .gpkg, .geojson or .csv"),
])
def test_cli_refuses_a_cluster_output_it_cannot_write_before_any_work(gp_file, tmp_path,
                                                                      monkeypatch, name, says):
    """``-o pcn.csv`` was an internal error once the clusters were drawn; a refusal after
    the work named the staged file (``./pcn.txt``), not the one given."""
    monkeypatch.chdir(tmp_path)
    result = run("clusters", "build", gp_file, "--cluster", "pcn_code", "-o", name)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"assetmap: error: {says}\n"
    assert list(tmp_path.iterdir()) == []


def test_cli_overlap_writes_the_table(voronoi_pcn, data, tmp_path):
    clusters = tmp_path / "pcn.gpkg"
    assetmap.write_geo(voronoi_pcn.clusters, clusters)
    out = tmp_path / "overlap.csv"
    result = run("clusters", "overlap", clusters, "-p", data / "bradford" / "population_lsoa.csv",
                 "-o", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"population": str})
    assert list(table.columns) == ["layer", "cluster_code", "cluster_name", "code", "name",
                                   "area_km2", "population", "share_of_cluster",
                                   "share_of_area"]
    # written to whole people, 0.1% and 0.001 km²; the shares still add up to 100
    assert table["population"].str.fullmatch(r"\d+").all()
    for column, decimals in {"share_of_cluster": 1, "share_of_area": 1, "area_km2": 3}.items():
        assert (table[column] == table[column].round(decimals)).all(), column
    assert np.allclose(table.groupby(["layer", "cluster_code"])["share_of_cluster"].sum(), 100,
                       atol=0.05 * 30)
    assert "ward: 12 clusters share 30 areas" in result.stderr


def test_cli_overlap_of_area_advisory_networks_names_them(school_clusters, data, tmp_path):
    clusters = tmp_path / "schools.gpkg"
    written = assetmap.write_clusters(school_clusters, clusters)
    out = tmp_path / "aan_overlap.csv"
    result = run("clusters", "overlap", written[-1], "-p",
                 data / "bradford" / "population_lsoa.csv", "--layers", "constituency",
                 "-o", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert list(table.columns[1:3]) == ["aan_code", "aan_name"]
    assert "share_of_aan" in table.columns and "cluster_code" not in table.columns
    assert set(table["aan_code"]) == {"Airedale", "City", "Shipley", "South"}
    said = " ".join(result.stderr.split())
    assert "constituency: 4 Area Advisory Networks share 5 areas" in said
    city = table[table["aan_code"] == "City"].set_index("name")["share_of_aan"]
    assert set(city.nlargest(2).index) == {"Bradford East", "Bradford West"}  # its schools'


@pytest.mark.parametrize("command", ["clusters", "clusters build", "clusters overlap"])
def test_cluster_help_teaches_with_examples(command):
    result = run(*command.split(), "--help")
    assert result.exit_code == 0 and "Examples" in result.output


def test_a_layer_named_like_a_register_column_keeps_both(gp_file, voronoi_pcn, tmp_path):
    clusters = assetmap.write_geo(voronoi_pcn.clusters, tmp_path / "clusters.gpkg")
    out = tmp_path / "j.csv"
    result = run("join", gp_file, "--layers", f"pcn={clusters}", "-o", out)
    assert result.exit_code == 0, result.output
    joined = pd.read_csv(out, encoding="utf-8-sig")
    assert {"pcn_code", "pcn_code (register)", "pcn_name (register)"} <= set(joined.columns)
    inside = joined["pcn_match"] == "inside"
    assert (joined.loc[inside, "pcn_code"] == joined.loc[inside, "pcn_code (register)"]).all()
    result = run("join", gp_file, "--layers", "ward,=x.gpkg", "-o", tmp_path / "j.gpkg")
    assert result.exit_code == 2
    assert "expected NAME=PATH in --layers, got '=x.gpkg'" in result.stderr


# --- synthetic sites: co-location, and the errors -----------------------------------------


def _sites(rows) -> gpd.GeoDataFrame:
    ids, codes, x, y = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"id": ids, "cluster_code": codes, "cluster_name": codes},
                            geometry=shapely.points(x, y), crs=27700)


def test_a_cell_shared_by_two_clusters_is_split_towards_each_clusters_other_sites():
    square = shapely.box(-100, -100, 100, 100)
    sites = _sites([("a1", "A", 0, 0), ("b1", "B", 0, 0), ("a2", "A", 60, 0),
                    ("b2", "B", -60, 0), ("c1", "C", 0, 80)])
    clusters = voronoi_clusters(sites, square).set_index("code")
    assert sum(clusters.area) == pytest.approx(square.area)
    assert _overlaps(clusters.geometry).max() < 1e-6
    origin = shapely.Point(0, 0)
    assert not clusters.geometry["C"].covers(origin)
    assert clusters.geometry[["A", "B"]].covers(origin).all()
    assert clusters.geometry["A"].covers(shapely.Point(20, -5))
    assert clusters.geometry["B"].covers(shapely.Point(-20, -5))


def test_three_clusters_at_one_place_each_get_a_wedge_holding_the_site():
    square = shapely.box(-100, -100, 100, 100)
    sites = _sites([("a", "A", 0, 0), ("b", "B", 0, 0), ("c", "C", 0, 0), ("a2", "A", 0, 70)])
    clusters = voronoi_clusters(sites, square).set_index("code")
    assert sorted(clusters.index) == ["A", "B", "C"]
    assert sum(clusters.area) == pytest.approx(square.area)
    assert clusters.geometry.covers(shapely.Point(0, 0)).all()
    assert clusters.geometry["A"].covers(shapely.Point(0, 50))
    assert clusters.area.min() > 0.2 * square.area


@pytest.fixture
def register(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("ID,Name,Easting,Northing\n"
                    "S1,North,416000,440000\nS2,South,416000,429000\n"
                    "S3,West,405000,433000\nS4,Nowhere,,\n", encoding="utf-8")
    return path


def _members(tmp_path, text: str):
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _build(register, members, bradford, **options):
    return build_clusters([register], members=members, method="voronoi",
                          boundaries=bradford, **options)


def test_unknown_and_unlocated_members_and_sites_in_no_cluster_are_warnings(
        register, tmp_path, bradford):
    members = _members(tmp_path, "ID,cluster\nS1,N\nS2,S\nS9,N\nS4,S\n,S\n")
    result = _build(register, members, bradford)
    assert sorted(result.clusters["code"]) == ["N", "S"]
    assert result.warnings[:2] == [
        f"{members}, column 'ID': 1 rows have no site id, not used: rows 6",
        f"{members}, column 'ID': 2 member sites are not used: S9 (row 4, not in the "
        "registers), S4 (row 5, not located: no location: no coordinates or postcode)"]
    assert "1 located sites are in no cluster, not used: S3" in result.warnings


@pytest.mark.parametrize("text, row, column, message", [
    ("ID,cluster\nS1,N\nS2,S\nS3,N\nS1,S\n", 5, "ID",
     "site S1 is listed in two clusters: N (row 2) and S"),
    ("ID,cluster\nS1,N\nS2,S\nS4,W\n", 4, "cluster", "cluster W has no located member site"),
    ("ID,cluster\nS1,N\nS2,S\nS9,W\n", 4, "cluster", "cluster W has no located member site"),
])
def test_membership_errors_name_file_row_and_column(register, tmp_path, bradford, text, row,
                                                    column, message):
    members = _members(tmp_path, text)
    with pytest.raises(AssetmapError) as error:
        _build(register, members, bradford)
    assert str(error.value) == f"{members}, row {row}, column {column!r}: {message}"


@pytest.mark.parametrize("text, expected", [
    ("cluster,area\nN,One\nS,Two\nW,Two\n", "row 4, column 'cluster': cluster 'W' is not one "
                                            "of the 2 clusters"),
    ("cluster,area\nN,One\nS,Two\nN,Two\n", "row 4, column 'cluster': cluster 'N' is already "
                                            "in area 'One' (row 2)"),
    ("cluster,area\nN,One\n", "column 'cluster': clusters S are in no area: each cluster must "
                              "be in exactly one"),
    ("cluster,area\nN,One\nS,\n", "row 3, column 'area': no area given"),
    ("group,area\nN,One\n", "column 'cluster': no such column; columns are group, area"),
])
def test_area_table_errors_name_file_row_and_column(register, tmp_path, bradford, text,
                                                    expected):
    members = _members(tmp_path, "ID,cluster\nS1,N\nS2,S\nS3,S\n")
    areas = tmp_path / "areas.csv"
    areas.write_text(text, encoding="utf-8")
    with pytest.raises(AssetmapError) as error:
        _build(register, members, bradford, areas=areas)
    assert str(error.value) == f"{areas}, {expected}"


@pytest.mark.data  # the default boundary set's postcode file
def test_cluster_errors_are_one_line_with_exit_2(register, tmp_path):
    members = _members(tmp_path, "ID,cluster\nS1,N\nS1,S\n")
    result = run("clusters", "build", register, "--members", members, "-o",
                 tmp_path / "c.gpkg")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"assetmap: error: {members}, row 3, column 'ID': site S1 "
                                     "is listed in two clusters: N (row 2) and S")
    assert not (tmp_path / "c.gpkg").exists()


def test_a_missing_cluster_column_in_the_registers_is_an_error(register, bradford):
    with pytest.raises(AssetmapError, match=r"sites.csv, column 'pcn_code': no such column"):
        build_clusters([register], cluster="pcn_code", boundaries=bradford)


def test_polygons_from_a_file_report_sites_outside_their_cluster(register, tmp_path,
                                                                 bradford, layers):
    members = _members(tmp_path, "ID,cluster\nS1,E14000587\nS2,E14000588\nS3,E14000589\n")
    polygons = tmp_path / "constituencies.gpkg"
    assetmap.write_geo(layers["constituency"], polygons)
    result = build_clusters([register], members=members, method="file", polygons=polygons,
                            boundaries=bradford)
    assert len(result.clusters) == 5 and result.tiling[1] <= 1.0
    away = result.members.set_index("id")["distance_m"]
    assert away["S2"] == 0 and away["S1"] > 0 and away["S3"] > 0  # S1: Shipley, S3: Keighley
    assert any(w.startswith("2 sites lie outside their cluster's polygon: S1 (E14000587, ")
               for w in result.warnings)


def test_a_population_that_is_not_a_number_is_an_error(voronoi_pcn, bradford, tmp_path, data):
    table = pd.read_csv(data / "bradford" / "population_lsoa.csv", dtype=str)
    table.loc[3, POPULATION] = "about 1500"
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    for named in (POPULATION, None):  # named, or found by its header
        with pytest.raises(AssetmapError) as error:
            cluster_overlap(voronoi_pcn.clusters, path, boundaries=bradford,
                            population_column=named)
        assert str(error.value) == (f"{path}, row 5, column {POPULATION!r}: "
                                    "'about 1500' is not a number")


def test_a_register_column_can_name_the_clusters_and_blank_cells_are_reported(tmp_path,
                                                                              bradford):
    path = tmp_path / "venues.csv"  # no ID column: sites are matched by row
    path.write_text("Name,Easting,Northing,Network\nHub,416000,440000,N\n"
                    "Hall,416000,429000,S\nYard,405000,433000,\n", encoding="utf-8")
    result = build_clusters([path], cluster="Network", method="voronoi", boundaries=bradford)
    assert list(result.clusters["code"]) == ["N", "S"]
    assert result.warnings[0] == "venues.csv, column 'Network': 1 rows have no cluster, not " \
                                 "used: rows 4"
    assert "1 located sites are in no cluster, not used: row 4" in result.warnings
    with pytest.raises(AssetmapError, match="registers have no ID column to match"):
        build_clusters([path], members=_members(tmp_path, "ID,cluster\nS1,N\n"),
                       boundaries=bradford)


def test_population_outside_a_partial_cluster_layer_is_reported_not_hidden(bradford, layers,
                                                                           data):
    keighley = layers["constituency"].query("name == 'Keighley'")
    table, warnings = cluster_overlap(keighley, data / "bradford" / "population_lsoa.csv",
                                      layers=["ward"], boundaries=bradford)
    assert table["share_of_cluster"].sum() == pytest.approx(100)
    assert len(warnings) == 1
    assert warnings[0].startswith("ward: 250 small areas lie partly or wholly outside the "
                                  "clusters; 432,369 people are not counted: E01010568, ")
    # LSOAs straddling the Keighley border give it only the people of their part in it.
    assert table["population"].sum() + 432_369 == pytest.approx(529_879, abs=1)
