"""``near``: the nearest assets to places, checked against a brute-force nearest on the
Bradford data (every distance from every place to every asset)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pyproj
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import cdist

import assetmap
from assetmap.cli.main import cli
from assetmap.costs import STRAIGHT_LINE
from assetmap.near import nearest_assets, parse_places
from assetmap.nearby import near_places

#: The command as the ``assetmap`` group runs it: errors are one line, exit 2.


@pytest.fixture(scope="module")
def bd_file(data):
    return data / "bradford" / "postcodes_bd.csv"


@pytest.fixture(scope="module")
def registers(data):
    return [data / "bradford" / "gp_practices.csv", data / "bradford" / "schools.csv"]


@pytest.fixture(scope="module")
def assets(registers, bd_file):
    return assetmap.validate_registers(registers, postcodes=bd_file)[0]


@pytest.fixture(scope="module")
def postcode_table(bd_file):
    return pd.read_csv(bd_file, usecols=["postcode", "easting", "northing"])


@pytest.fixture(scope="module")
def places(postcode_table):
    """300 real postcodes (some typed loosely), 30 E,N pairs and 30 lat,lon pairs, with
    their coordinates worked out here."""
    rng = np.random.default_rng(7)
    codes = postcode_table.iloc[rng.choice(len(postcode_table), 300, replace=False)]
    texts = codes["postcode"].tolist()
    texts[::3] = [t.lower().replace(" ", "") for t in texts[::3]]
    xy = codes[["easting", "northing"]].to_numpy(float)
    grid = rng.uniform([405000, 425000], [425000, 445000], size=(30, 2)).round()
    lon, lat = (np.round(v, 6) for v in pyproj.Transformer.from_crs(
        "EPSG:27700", "EPSG:4326", always_xy=True).transform(grid[:, 0] + 37, grid[:, 1] - 12))
    degrees_xy = np.column_stack(pyproj.Transformer.from_crs(
        "EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat))
    texts += [f"{e:.0f},{n:.0f}" for e, n in grid]
    texts += [f"{a:.6f}, {o:.6f}" for a, o in zip(lat, lon, strict=True)]
    return texts, np.vstack([xy, grid, degrees_xy])


def brute_force(xy, assets, n, within=None):
    """The n nearest of each category by every distance, as ``{(place, category): [(source,
    id) ...]}`` and their distances likewise; the (n+1)th is kept, to tell ties apart."""
    coords = np.column_stack([assets.geometry.x, assets.geometry.y])
    distance = cdist(xy, coords)
    names, metres = {}, {}
    for category, rows in assets.groupby("category").indices.items():
        for place in range(len(xy)):
            d = distance[place, rows]
            order = np.argsort(d, kind="stable")[:n + 1]
            order = order[d[order] <= (np.inf if within is None else within)]
            if len(order):
                chosen = assets.iloc[rows[order]]
                names[place, category] = list(zip(chosen["source"], chosen["id"], strict=True))
                metres[place, category] = d[order]
    return names, metres


def as_found(results):
    groups = results.groupby([results["row"] - 1, "category"])
    return ({k: list(zip(g["source"], g["id"], strict=True)) for k, g in groups},
            {k: g["distance_m"].to_numpy() for k, g in groups})


def same_nearest(found, expected, n):
    """The same distances, and the same assets but where several are equally far."""
    (names, metres), (want_names, want_metres) = found, expected
    assert names.keys() == want_names.keys()
    for key, want in want_metres.items():
        np.testing.assert_allclose(metres[key], want[:n], atol=1e-6)
        tied = (np.abs(want[:, None] - want[None, :]) < 1e-6).sum(axis=1) > 1
        assert [a for a, t in zip(names[key], tied, strict=False) if not t] == \
            [a for a, t in zip(want_names[key][:n], tied, strict=False) if not t]


def test_places_are_located_as_typed(places, bd_file):
    texts, xy = places
    found, audit = parse_places(texts, assetmap.PostcodeIndex.from_file(bd_file))
    assert (audit["status"] == "located").all()
    assert list(audit["kind"]) == ["postcode"] * 300 + ["grid"] * 30 + ["latlon"] * 30
    np.testing.assert_allclose(found, xy, atol=1e-3)
    assert audit["row"].tolist() == list(range(1, 361))


@pytest.mark.parametrize("within", [None, 1000.0])
def test_nearest_three_match_brute_force(places, registers, assets, bd_file, within):
    texts, xy = places
    results, audit = near_places(texts, registers, n=3, within=within, postcodes=bd_file)
    expected = brute_force(xy, assets, 3, within)
    same_nearest(as_found(results), expected, 3)
    assert results.groupby(["row", "category"])["rank"].apply(
        lambda r: list(r) == list(range(1, len(r) + 1))).all()
    np.testing.assert_allclose(results["walk_minutes"], results["distance_m"] / 80)
    assert (results["walk_speed_kmh"] == 4.8).all()
    assert audit["found"].sum() == len(results)
    if within is not None:
        assert results["distance_m"].max() <= within
        assert (audit["found"] < 6).any()  # the limit left some places short


def test_category_filter_keeps_its_assets_only(places, registers, assets, bd_file):
    texts, xy = places
    results, _ = near_places(texts[:50], registers, category="GP practices", n=2,
                             postcodes=bd_file, speed_kmh=3.0)
    assert set(results["category"]) == {"GP practice"}
    gps = assets[assets["category"] == "GP practice"]
    same_nearest(as_found(results), brute_force(xy[:50], gps, 2), 2)
    np.testing.assert_allclose(results["walk_minutes"], results["distance_m"] / 50)


def test_another_costs_backend_gives_the_same_pairs(places, assets):
    """A backend that only has ``within`` (as a network one would) is asked for pairs."""

    class WithinOnly:
        nearest = STRAIGHT_LINE.nearest
        within = STRAIGHT_LINE.within

    _, xy = places
    for within in (1500, None):
        pairs = nearest_assets(xy, assets, n=4, within=within, costs=WithinOnly())
        same_nearest(as_found(pairs.assign(row=pairs["place"] + 1)),
                     brute_force(xy, assets, 4, within), 4)


def test_a_referral_list_of_2000_postcodes_in_one_call(postcode_table, registers, assets,
                                                      bd_file, tmp_path):
    rng = np.random.default_rng(11)
    rows = postcode_table.iloc[rng.choice(len(postcode_table), 2000)]  # repeats too
    codes = rows["postcode"].tolist()
    codes[5], codes[9] = "BD7 IDP", "ZZ9 9ZZ"
    path = tmp_path / "referrals.csv"
    pd.DataFrame({"Client ref": [f"C{i:05d}" for i in range(2000)], "Post Code": codes}
                 ).to_csv(path, index=False)
    results, audit = near_places(path, registers, category="GP practice", n=1,
                                 postcodes=bd_file)
    assert audit["row"].tolist() == list(range(2, 2002))  # spreadsheet rows
    assert audit["status"].eq("located").sum() == 1998
    assert "did you mean BD7 1DP?" in audit.loc[audit["row"] == 7, "reason"].item()
    assert audit.loc[audit["row"] == 11, "reason"].item() == "unknown postcode 'ZZ9 9ZZ'"
    assert len(results) == 1998 and results["row"].is_unique
    located = audit["status"] == "located"
    xy = rows[["easting", "northing"]].to_numpy(float)[located.to_numpy()]
    gps = assets[assets["category"] == "GP practice"]
    want = cdist(xy, np.column_stack([gps.geometry.x, gps.geometry.y])).min(axis=1)
    np.testing.assert_allclose(results["distance_m"], want)


def test_typos_unknown_places_and_far_coordinates_are_audit_rows(registers, bd_file):
    texts = ["BD1O 0AB", "bd7 idp", "ZZ9 9ZZ", "not a place", "", "9000000,1",
             "40.0,-3.0", "-1.75,53.79", "BD7 1DP"]
    results, audit = near_places(texts, registers, n=1, postcodes=bd_file)
    reason = dict(zip(texts, audit["reason"], strict=True))
    assert reason["BD1O 0AB"] == "unknown postcode 'BD1O 0AB' (did you mean BD10 0AB?)"
    assert reason["bd7 idp"] == "malformed postcode 'bd7 idp' (did you mean BD7 1DP?)"
    assert reason["ZZ9 9ZZ"] == "unknown postcode 'ZZ9 9ZZ'"
    assert reason["not a place"].startswith("malformed postcode")
    assert reason[""] == "no place given"
    assert reason["9000000,1"].startswith("easting/northing not usable")
    assert reason["40.0,-3.0"].startswith("latitude/longitude not in Great Britain")
    assert audit["status"].tolist() == ["rejected"] * 7 + ["located"] * 2
    assert "wrong way round" in audit["notes"].iloc[7]
    assert sorted(set(results["place"])) == ["-1.75,53.79", "BD7 1DP"]
    assert audit["found"].tolist() == [0] * 7 + [2, 2]


def test_fix_postcodes_takes_the_one_near_miss(registers, bd_file):
    _, audit = near_places(["BD5 OHR"], registers, postcodes=bd_file, fix_postcodes=True)
    assert audit["status"].item() == "located"
    assert audit["notes"].item() == "postcode 'BD5 OHR' read as BD5 0HR"


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "libraries.csv"
    pd.DataFrame({"Name": ["=cmd|' /C calc'!A0", "[bold]Red[/] \x1b[8mhidden", "Plain"],
                  "Type": ["Library"] * 3,
                  "Postcode": ["BD7 1DP", "BD5 0HR", "BD1 1AF"]}).to_csv(path, index=False)
    return path


def test_csv_is_formula_safe_and_json_valid(hostile, bd_file, tmp_path):
    out = tmp_path / "near.csv"
    args = ["near", "BD7 1DP", str(hostile), "--postcodes", str(bd_file)]
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["name"] == "'=cmd|' /C calc'!A0" and rows[0]["distance_m"] == "0"
    assert rows[0]["place"] == "BD7 1DP" and rows[0]["walk_speed_kmh"] == "4.8"
    out = tmp_path / "near.json"
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text("utf-8"))
    assert written["nearest"][0]["name"] == "=cmd|' /C calc'!A0"
    assert [p["place"] for p in written["places"]] == ["BD7 1DP"]


def test_a_referral_list_not_located_is_in_the_csv_with_its_reason(hostile, bd_file,
                                                                   tmp_path):
    referrals = tmp_path / "referrals.csv"
    referrals.write_text("ref,postcode\nA,BD7 1DP\nB,BD7 IDP\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["near", str(referrals), str(hostile), "-n", "2",
                                      "--postcodes", str(bd_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert table["row"].tolist() == [2, 2, 3]
    assert table["reason"].iloc[2] == "malformed postcode 'BD7 IDP' (did you mean BD7 1DP?)"
    assert table["name"].iloc[2] == ""
    assert "row 3: malformed postcode" in result.stderr


def test_terminal_table_prints_names_as_typed(hostile, bd_file):
    result = CliRunner().invoke(cli, ["near", "bd5 0hr", str(hostile), "--postcodes",
                                      str(bd_file), "--within", "2000"])
    assert result.exit_code == 0, result.output
    assert "[bold]Red[/] \\x1b[8mhidden" in result.stderr
    assert "\x1b" not in result.stderr
    assert "walking times at 4.8 km/h, within 2,000 m" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["-o", "near.txt"], "near.txt: unknown output format; use .csv or .json"),
    (["--category", "nonsense"], "category 'nonsense' is not in the taxonomy"),
    (["-o", "{referrals}"], "is an input, and this command would write it"),
    (["--place-column", "nope"], "no such column for role 'postcode'"),
])
def test_bad_options_are_one_line_errors(args, message, hostile, bd_file, tmp_path,
                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    referrals = tmp_path / "referrals.csv"
    referrals.write_text("postcode\nBD7 1DP\n", encoding="utf-8")
    args = [a.format(referrals=referrals) for a in args]
    result = CliRunner().invoke(cli, ["near", str(referrals), str(hostile), "--postcodes",
                                      str(bd_file), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("assetmap: error: ")
    assert message in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["libraries.csv", "referrals.csv"]


def test_help_teaches_with_examples():
    result = CliRunner().invoke(cli, ["near", "--help"])
    assert result.exit_code == 0
    assert 'assetmap near "BD7 1DP" gp_practices.csv schools.csv' in result.output
    assert "--walk-speed" in result.output and "referral list" in result.output


def test_nearest_assets_checks_its_numbers(assets):
    with pytest.raises(assetmap.AssetmapError, match="at least 1"):
        nearest_assets(np.zeros((1, 2)), assets, n=0)
    with pytest.raises(assetmap.AssetmapError, match="above 0 km/h"):
        nearest_assets(np.zeros((1, 2)), assets, speed_kmh=0)
