"""``assetmap diff`` on snapshot pairs built from the Bradford registers: rows closed,
opened, moved 300 m, renamed (typo-level), recategorised, IDs dropped, and one ambiguous
case; every row's status, and the gap change equal to two gap runs subtracted."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import recorded_page

import assetmap
from assetmap.cli.diff import diff_command
from assetmap.diff import match_snapshots
from assetmap.plans import diff_snapshots

GP_ID, GP_NAME, SCHOOL_ID, SCHOOL_NAME = "practice_code", "practice_name", "URN", \
    "EstablishmentName"


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _shift(frame: pd.DataFrame, rows, metres: float) -> None:
    frame.loc[rows, "easting"] = (frame.loc[rows, "easting"].astype(int) + metres).astype(
        int).astype(str)


@pytest.fixture(scope="module")
def snapshots(data, tmp_path_factory) -> dict:
    """Old: the registers as they are. New: changed, with what each row should become
    (keyed by (register, old ID or new name))."""
    bundle = data / "bradford"
    folder = tmp_path_factory.mktemp("snapshots")
    gp, schools = _read(bundle / "gp_practices.csv"), _read(bundle / "schools.csv")
    bd = gp.index[gp["postcode"].str.startswith("BD")]
    expect = {}
    new_gp = gp.copy()
    closed, moved, renamed, no_id, fuzzy, doubt = bd[:2], bd[2:4], bd[4], bd[5:7], bd[7], bd[8]
    _shift(new_gp, moved, 300)
    new_gp.loc[renamed, GP_NAME] = new_gp.loc[renamed, GP_NAME].replace("MEDICAL", "MEDICLA")
    new_gp.loc[no_id, GP_ID] = ""
    new_gp.loc[fuzzy, [GP_ID, GP_NAME]] = ["", gp.loc[fuzzy, GP_NAME] + "S"]
    new_gp.loc[doubt, GP_ID] = ""
    twin = new_gp.loc[[doubt]].assign(easting=lambda f: (f["easting"].astype(int) + 60)
                                      .astype(str))  # same name and postcode, 60 m away
    opened = new_gp.loc[[bd[9]]].assign(**{GP_ID: "Z99001",
                                           GP_NAME: "NEW HORIZON HEALTH PRACTICE"})
    _shift(opened, opened.index, 200)
    new_gp = pd.concat([new_gp.drop(index=closed), twin, opened], ignore_index=True)
    for rows, status in ((closed, "closed"), (moved, "moved"), ([renamed], "renamed"),
                         (no_id, "unchanged"), ([fuzzy], "renamed"), ([doubt], "ambiguous")):
        expect.update({("gp", gp.loc[row, GP_ID]): status for row in rows})
    expect[("gp", "NEW HORIZON HEALTH PRACTICE")] = "opened"
    new_schools = schools.copy()
    s = schools.index[schools["Postcode"].str.startswith("BD")]
    _shift(new_schools, [s[1]], 300)
    new_schools.loc[s[2], SCHOOL_NAME] = schools.loc[s[2], SCHOOL_NAME].replace("School",
                                                                                "Shcool")
    new_schools.loc[s[3], "TypeOfEstablishment (name)"] = "Children's centre"
    new_schools = new_schools.drop(index=s[0])
    expect.update({("school", schools.loc[row, SCHOOL_ID]): status for row, status in
                   ((s[0], "closed"), (s[1], "moved"), (s[2], "renamed"),
                    (s[3], "recategorised"))})
    paths = {}
    for when, frames in (("old", (gp, schools)), ("new", (new_gp, new_schools))):
        paths[when] = [folder / f"{when}_gp_practices.csv", folder / f"{when}_schools.csv"]
        for frame, path in zip(frames, paths[when], strict=True):
            frame.to_csv(path, index=False)
    return dict(paths=paths, expect=expect, folder=folder, bundle=bundle,
                moved_gp=gp.loc[moved, GP_ID].tolist())


@pytest.fixture(scope="module")
def located(snapshots) -> dict:
    return {when: assetmap.validate_registers(paths, category="GP practice")[0]
            for when, paths in snapshots["paths"].items()}


@pytest.fixture(scope="module")
def matches(located) -> pd.DataFrame:
    return match_snapshots(located["old"], located["new"])


def test_every_row_of_both_snapshots_has_one_status(matches, located):
    for side in ("old", "new"):
        rows = matches[f"{side}_row"].dropna().astype(int)
        assert sorted(rows) == list(range(len(located[side])))


def test_each_changed_row_gets_the_right_status(matches, snapshots, located):
    old, new = located["old"], located["new"]
    got = {}
    for row in matches.itertuples():
        side, frame = ("old", old) if pd.notna(row.old_row) else ("new", new)
        asset = frame.iloc[int(getattr(row, f"{side}_row"))]
        register = "gp" if asset["category"] == "GP practice" or "gp" in asset["source"] \
            else "school"
        key = (register, asset["id"] if side == "old" or row.status != "opened"
               else asset["name"])
        got.setdefault(key, set()).add(row.status)
    for key, status in snapshots["expect"].items():
        assert got[key] == {status}, key
    rest = {k: v for k, v in got.items() if k not in snapshots["expect"]
            and k[1] != ""}  # the ambiguous twin has no ID
    assert rest and all(value == {"unchanged"} for value in rest.values())


def test_matching_reports_the_way_and_what_changed(matches, snapshots):
    moved = matches[matches["old_id"].isin(snapshots["moved_gp"])]
    assert moved["moved_m"].tolist() == [300.0, 300.0]
    assert (moved["matched_by"] == "id").all()
    renamed = matches[(matches["status"] == "renamed") & (matches["new_id"].isna()
                                                          | (matches["new_id"] == ""))]
    assert renamed["matched_by"].tolist() == ["similar name nearby"]
    unchanged_by_name = matches[(matches["matched_by"] == "name and postcode")]
    assert len(unchanged_by_name) == 2 and (unchanged_by_name["status"] == "unchanged").all()
    recat = matches[matches["status"] == "recategorised"].iloc[0]
    assert (recat["old_category"], recat["new_category"]) == ("School", "Children's centre")
    ambiguous = matches[matches["status"] == "ambiguous"]
    assert len(ambiguous) == 3  # the old row and both new candidates
    old_side = ambiguous[ambiguous["old_row"].notna()].iloc[0]
    assert old_side["notes"].startswith("could be new rows: ")
    assert old_side["notes"].count(repr(old_side["old_name"])) == 2


def test_two_ids_never_pair_by_name(located):
    old = located["old"].iloc[:3].copy()
    new = old.copy()
    new["id"] = ["X1", "X2", "X3"]
    statuses = match_snapshots(old, new)["status"].value_counts().to_dict()
    assert statuses == {"closed": 3, "opened": 3}


@pytest.fixture(scope="module")
def demand(snapshots) -> dict:
    bundle = snapshots["bundle"]
    return dict(population=bundle / "population_lsoa.csv",
                deprivation=bundle / "imd2019_lsoa.csv")


@pytest.fixture(scope="module")
def pcn(snapshots, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pcn") / "pcn.gpkg"
    clusters = assetmap.build_clusters([snapshots["bundle"] / "gp_practices.csv"],
                                       cluster="pcn_code", cluster_name="pcn_name")
    assetmap.write_geo(clusters.clusters, path)
    return path


@pytest.fixture(scope="module")
def diff(snapshots, demand, pcn):
    by = ["ward", "constituency", f"pcn={pcn}"]
    return diff_snapshots(snapshots["paths"]["old"], snapshots["paths"]["new"],
                          category="GP practice", by=by, **demand), by


def test_gap_change_equals_two_gap_runs_subtracted(diff, snapshots, demand):
    result, by = diff
    runs = {when: assetmap.gap_analysis(paths, category="GP practice", by=by, **demand).table
            for when, paths in snapshots["paths"].items()}
    keys = ["layer", "code"]
    merged = result.changes.merge(runs["old"], on=keys).merge(runs["new"], on=keys,
                                                              suffixes=("_old", "_new"))
    assert set(merged["layer"]) == {"ward", "constituency", "pcn"}
    assert len(merged) == len(result.changes)
    for column in ("gap_score", "coverage_residents_pct", "distance_median_m", "assets"):
        np.testing.assert_allclose(
            merged[f"{column}_change"],
            merged[f"{column}_new"].astype(float) - merged[f"{column}_old"].astype(float))
    assert (merged["assets_change"] != 0).any() and (merged["gap_score_change"] != 0).any()


def test_diff_sites_are_the_categorys_changes(diff):
    result, _ = diff
    counts = result.sites["change"].value_counts().to_dict()
    assert counts == {"closed": 2, "moved": 2, "renamed": 2, "ambiguous": 3, "opened": 1}
    assert result.summary["rows"]["recategorised"] == 1


@pytest.fixture(scope="module")
def written(snapshots, demand, tmp_path_factory) -> Path:
    """``assetmap diff`` on the GP registers (OLD NEW)."""
    old, new = snapshots["paths"]["old"], snapshots["paths"]["new"]
    folder = tmp_path_factory.mktemp("diff")
    result = CliRunner().invoke(diff_command, [
        str(old[0]), str(new[0]), "--category", "GP practice",
        "-p", str(demand["population"]), "--by", "ward,constituency", "--tiles", "none",
        "-o", str(folder / "changes.xlsx")])
    assert result.exit_code == 0, result.output
    assert "ambiguous" in result.output
    return folder


def test_cli_writes_the_changes(written, snapshots):
    names = {path.name for path in written.iterdir()}
    assert names == {"changes.xlsx", "changes.csv", "changes.gpkg", "changes.json",
                     "changes.html", "changes_matches.csv"}
    rows = pd.read_csv(written / "changes_matches.csv")
    changed = {"closed": 2, "moved": 2, "renamed": 2, "ambiguous": 3, "opened": 1}
    practices = len(pd.read_csv(snapshots["paths"]["old"][0]))  # ambiguous old rows: 1
    assert rows["status"].value_counts().to_dict() == {
        **changed, "unchanged": practices - 2 - 2 - 2 - 1}
    moves = gpd.read_file(written / "changes.gpkg", layer="moves")
    assert (moves.geom_type == "LineString").all() and len(moves) == 2
    assert moves.length.round().tolist() == [300.0, 300.0]
    sheets = pd.read_excel(written / "changes.xlsx", sheet_name=None)
    assert {"sites", "matches", "ward", "constituency", "summary"} <= set(sheets)
    assert json.loads((written / "changes.json").read_text())["rows"]["moved"] == 2


def test_cli_needs_two_registers(snapshots, demand, tmp_path):
    result = CliRunner().invoke(diff_command, [
        *map(str, snapshots["paths"]["old"]), str(snapshots["paths"]["new"][0]),
        "--category", "GP practice", "-p", str(demand["population"]),
        "-o", str(tmp_path / "c.xlsx")])
    assert result.exit_code != 0 and "give two registers" in str(result.exception or "") + \
        result.output
    assert not list(tmp_path.iterdir())


def test_map_shows_moved_lines_in_the_layer_control(written, browser):
    page = recorded_page(browser, (written / "changes.html").as_uri())
    assert page.errors == [] and page.dialogs == []
    control = page.locator(".leaflet-control-layers-overlays")
    assert control.get_by_text("GP practice: moved (old place to new)").count() == 1
    for word in ("opened", "closed", "moved"):
        assert control.get_by_text(f"GP practice ({word}) (").count() == 1
    assert page.locator('path[stroke="#6a3d9a"]').count() == 2
    page.close()
