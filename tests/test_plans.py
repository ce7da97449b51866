"""``assetmap plan`` on the Bradford bundle: new sites among candidates, and what a closure
does, per ward and per PCN, checked against an independent recomputation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial import cKDTree

import assetmap
from assetmap.cli.main import cli
from assetmap.plans import plan_sites, what_if


@pytest.fixture(scope="module")
def bundle(data) -> Path:
    return data / "bradford"


@pytest.fixture(scope="module")
def demand(bundle) -> dict:
    return dict(population=bundle / "population_lsoa.csv",
                deprivation=bundle / "imd2019_lsoa.csv")


@pytest.fixture(scope="module")
def pcn(bundle, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pcn") / "pcn.gpkg"
    clusters = assetmap.build_clusters([bundle / "gp_practices.csv"], cluster="pcn_code",
                                       cluster_name="pcn_name")
    assetmap.write_geo(clusters.clusters, path)
    return path


@pytest.fixture(scope="module")
def closure(bundle, demand, pcn):
    """Close Ilkley & Wharfedale Medical Practice (by ID)."""
    return what_if([bundle / "gp_practices.csv"], category="GP practice", close=["B83002"],
                   by=["ward", f"pcn={pcn}"], **demand)


def test_closing_a_practice_reports_the_change_per_ward_and_pcn(closure):
    changes = closure.changes
    assert set(changes["layer"]) == {"ward", "pcn"}
    assert list(closure.sites["id"]) == ["B83002"] and closure.sites["change"].eq("closed").all()
    for layer in ("ward", "pcn"):
        rows = changes[changes["layer"] == layer]
        assert rows["assets_change"].sum() == -1
        hit = rows[rows["assets_change"] == -1].iloc[0]
        assert hit["distance_median_m_after"] >= hit["distance_median_m_before"]
        untouched = rows[rows["distance_median_m_change"] == 0]
        assert (untouched["gap_score_change"] == 0).all()


def test_people_losing_their_last_practice_match_a_direct_count(closure, bundle):
    """Residents within 1,600 m of the closed practice and of no other one, counted from
    the demand points with a k-d tree of our own."""
    sites, _ = assetmap.validate_registers([bundle / "gp_practices.csv"],
                                           category="GP practice")
    gp = sites.geometry.get_coordinates().to_numpy()
    closed = (sites["id"] == "B83002").to_numpy()
    points = assetmap.gap_analysis(
        [bundle / "gp_practices.csv"], category="GP practice",
        population=bundle / "population_lsoa.csv", by=["ward"]).points
    xy = points.geometry.get_coordinates().to_numpy()
    near_before = cKDTree(gp).query(xy)[0] <= 1600
    near_after = cKDTree(gp[~closed]).query(xy)[0] <= 1600
    expected = points["population"].to_numpy()[near_before & ~near_after].sum()
    assert closure.summary["people"]["residents_losing"] == round(expected)
    assert expected > 0
    wards = closure.changes[closure.changes["layer"] == "ward"]
    assert wards["residents_losing"].sum() == pytest.approx(expected, abs=len(wards))


def test_unknown_site_is_one_line_with_the_closest_names(bundle, demand, tmp_path):
    result = CliRunner().invoke(cli, [
        "plan", "whatif", str(bundle / "gp_practices.csv"), "--category", "GP practice",
        "--close", "Ilkley and Wharfdale Medical Practise", "-p", str(demand["population"]),
        "-o", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "ILKLEY & WHARFEDALE MEDICAL PRACTICE" in result.output
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def three_schools(bundle, demand, pcn, tmp_path_factory):
    """K = 3 schools added to the GP practices for children weighted by deprivation
    (the issue's instance: 800 m), through the command line."""
    folder = tmp_path_factory.mktemp("plan")
    result = CliRunner().invoke(cli, [
        "plan", "cover", str(bundle / "gp_practices.csv"), "--category", "GP practice",
        "--candidates", str(bundle / "schools.csv"), "-k", "3", "-t", "800",
        "--demand", "deprived-children", "-p", str(demand["population"]),
        "-d", str(demand["deprivation"]), "--by", f"ward,pcn={pcn}", "--tiles", "none",
        "-o", str(folder / "plan.xlsx")])
    assert result.exit_code == 0, result.output
    return folder


def test_three_new_sites_raise_weighted_coverage_per_ward_and_pcn(three_schools):
    summary = json.loads((three_schools / "plan.json").read_text())
    assert summary["optimal"] is True and summary["gap"] <= 1e-6
    assert summary["objective_after"] > summary["objective_before"]
    assert "3 in IMD decile 1" in summary["weights"]
    sites = pd.read_excel(three_schools / "plan.xlsx", sheet_name="sites")
    assert list(sites["order"]) == [1, 2, 3]
    assert sites["gain"].is_monotonic_decreasing and (sites["gain"] > 0).all()
    assert sites["gain"].sum() == pytest.approx(
        summary["objective_after"] - summary["objective_before"], rel=1e-6)
    changes = pd.read_csv(three_schools / "plan.csv")
    for layer in ("ward", "pcn"):
        rows = changes[changes["layer"] == layer]
        assert rows["children_gaining"].sum() > 0
        assert (rows["coverage_children_pct_change"] >= 0).all()
        assert rows["assets_change"].sum() == 3


def test_plan_map_shows_proposed_sites_apart(three_schools, browser):
    from conftest import recorded_page

    page = recorded_page(browser, (three_schools / "plan.html").as_uri())
    page.wait_for_selector(".leaflet-control-layers")
    layers = page.locator(".leaflet-control-layers").inner_text()
    assert "GP practice (proposed) (3)" in layers and "GP practice (59)" in layers
    assert page.errors == []
    page.close()


@pytest.mark.parametrize(("args", "message"), [
    (["cover", "-k", "300"], "k"),
    (["cover", "-k", "2", "-t", "0"], "threshold"),
    (["setcover", "--target", "1", "-t", "50"], "target"),
])
def test_bad_plans_are_one_line(bundle, demand, tmp_path, args, message):
    result = CliRunner().invoke(cli, [
        "plan", args[0], str(bundle / "gp_practices.csv"), "--category", "GP practice",
        "--candidates", str(bundle / "schools.csv"), *args[1:],
        "-p", str(demand["population"]), "-o", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and message in result.output.lower()


def test_plan_from_python_matches_the_command(three_schools, bundle, demand, pcn):
    result = plan_sites([bundle / "gp_practices.csv"], category="GP practice",
                        candidates=[bundle / "schools.csv"], k=3, threshold=800,
                        demand="deprived-children", by=["ward", f"pcn={pcn}"], **demand)
    summary = json.loads((three_schools / "plan.json").read_text())
    assert result.summary["objective_after"] == pytest.approx(summary["objective_after"])
    assert np.array_equal(result.sites["order"], [1, 2, 3])


def test_a_plan_on_a_gap_analysis_already_run_matches_one_from_files(three_schools, bundle,
                                                                      demand, pcn):
    """The report plans on its own gap analysis: the same sites and figures as from files."""
    gaps = assetmap.gap_analysis([bundle / "gp_practices.csv"], category="GP practice",
                                 by=["ward", f"pcn={pcn}"], **demand)
    result = plan_sites(gaps, category="GP practice", candidates=[bundle / "schools.csv"],
                        k=3, threshold=800, demand="deprived-children")
    summary = json.loads((three_schools / "plan.json").read_text())
    assert result.summary["objective_after"] == pytest.approx(summary["objective_after"])
    changes = pd.read_csv(three_schools / "plan.csv")
    pd.testing.assert_series_equal(result.changes["children_gaining"].reset_index(drop=True),
                                   changes["children_gaining"], check_dtype=False)
