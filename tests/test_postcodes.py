"""Postcodes: normalising spellings, and the offline index built from several file shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest

import assetmap.postcodes
from assetmap import AssetmapError, PostcodeIndex, normalise_postcodes
from assetmap.postcodes import is_well_formed

# Code-Point Open rows as Ordnance Survey ships them: no header, quoted, 6-character
# postcodes padded to 7 with a double space, quality 90 rows at easting = northing = 0.
CODEPOINT_BD = ('"BD7 1DP",10,415660,432832,"E92000001","E19000003","E18000003","",'
                '"E08000032","E05001345"\n'
                '"BD1 1AF",10,416546,433216,"E92000001","E19000003","E18000003","",'
                '"E08000032","E05001347"\n')
CODEPOINT_B = ('"B1  1AA",10,406700,286500,"E92000001","E19000001","E18000005","",'
               '"E08000025","E05011151"\n'
               '"B99 9ZZ",90,0,0,"","","","","",""\n')


def _lookup(index: PostcodeIndex, *postcodes: str):
    return index.lookup(pd.Series(postcodes, dtype=object))


@pytest.mark.parametrize("typed, expected", [
    ("bd71dp", "BD7 1DP"), (" BD7  1DP", "BD7 1DP"), ("bd7 1dp", "BD7 1DP"),
    ("B11AA", "B1 1AA"), ("sw1a-1aa", "SW1A 1AA"), ("bd7", "BD7"), ("", ""),
])
def test_postcodes_are_normalised_to_upper_case_with_one_space(typed, expected):
    assert normalise_postcodes(pd.Series([typed])).tolist() == [expected]


def test_well_formed_postcodes_are_told_from_malformed_ones():
    normalised = normalise_postcodes(pd.Series(["BD7 1DP", "B1 1AA", "SW1A 1AA", "M1 1AE",
                                                "XX1 ZZZ", "BD7", "", "12345"]))
    assert is_well_formed(normalised).tolist() == [True] * 4 + [False] * 4


def test_real_bradford_postcodes_are_found_at_their_code_point_coordinates(
        data, bd_postcodes):
    raw = pd.read_csv(data / "bradford" / "postcodes_bd.csv", usecols=[0, 2, 3]).iloc[::500]
    easting, northing, found = bd_postcodes.lookup(raw["postcode"])
    assert found.all() and len(raw) == 30
    np.testing.assert_array_equal(easting, raw["easting"].to_numpy(float))
    np.testing.assert_array_equal(northing, raw["northing"].to_numpy(float))


def test_postcodes_not_in_the_index_are_not_found(bd_postcodes):
    easting, northing, found = _lookup(bd_postcodes, "SW1A 1AA", "ZZ99 9ZZ", "", "BD7 1DP")
    assert found.tolist() == [False, False, False, True]
    assert np.isnan(easting[:3]).all() and np.isnan(northing[:3]).all()


def test_headerless_code_point_open_csv_is_indexed(tmp_path):
    path = tmp_path / "bd.csv"
    path.write_text(CODEPOINT_BD + CODEPOINT_B, encoding="utf-8")
    index = PostcodeIndex.from_file(path, cache=False)
    assert len(index) == 4
    easting, northing, found = _lookup(index, "BD7 1DP", "B1 1AA")
    assert found.all()
    assert easting.tolist() == [415660, 406700] and northing.tolist() == [432832, 286500]


def test_a_folder_of_code_point_open_csvs_is_indexed_as_one(tmp_path):
    (tmp_path / "bd.csv").write_text(CODEPOINT_BD, encoding="utf-8")
    (tmp_path / "b.csv").write_text(CODEPOINT_B, encoding="utf-8")
    index = PostcodeIndex.from_file(tmp_path, cache=False)
    assert index.postcodes.tolist() == [b"B1 1AA", b"B99 9ZZ", b"BD1 1AF", b"BD7 1DP"]
    assert _lookup(index, "BD1 1AF", "B1 1AA")[0].tolist() == [416546, 406700]


def test_a_postcode_without_a_position_is_found_with_nan_coordinates(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(CODEPOINT_B, encoding="utf-8")
    easting, northing, found = _lookup(PostcodeIndex.from_file(path, cache=False), "B99 9ZZ")
    assert found.tolist() == [True]
    assert np.isnan(easting[0]) and np.isnan(northing[0])


def test_latitude_longitude_postcode_csv_is_converted_to_british_national_grid(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text("Postcode,Latitude,Longitude\nbd7 1dp,53.786,-1.776\nBD11AF,53.7945,-1.7525\n",
                    encoding="utf-8")
    easting, northing, found = _lookup(PostcodeIndex.from_file(path, cache=False),
                                       "BD7 1DP", "BD1 1AF")
    assert found.all()
    expected_x, expected_y = pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(
        [-1.776, -1.7525], [53.786, 53.7945])
    assert np.abs(easting - expected_x).max() < 1 and np.abs(northing - expected_y).max() < 1


def test_the_second_load_comes_from_the_cache_with_equal_arrays(
        data, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETMAP_CACHE_DIR", str(tmp_path))
    path = data / "bradford" / "postcodes_bd.csv"
    built = PostcodeIndex.from_file(path, cache=True)
    assert len(list(tmp_path.glob("postcodes-*.npz"))) == 1

    def no_reading(*args):
        raise AssertionError("the postcode CSV was read again")

    monkeypatch.setattr(assetmap.postcodes, "_read_postcode_csv", no_reading)
    cached = PostcodeIndex.from_file(path, cache=True)
    assert len(cached) == len(built) == 14841
    for field in ("postcodes", "easting", "northing"):
        np.testing.assert_array_equal(getattr(cached, field), getattr(built, field))


def test_a_postcode_file_without_a_postcode_column_is_an_error(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("code,easting,northing\nBD7 1DP,415660,432832\n", encoding="utf-8")
    with pytest.raises(AssetmapError, match="needs a postcode column") as error:
        PostcodeIndex.from_file(path, cache=False)
    assert str(error.value).startswith(f"{path}: ")


def test_missing_postcodes_normalise_to_blank():
    result = normalise_postcodes(pd.Series(["bd71dp", None, float("nan")], dtype=object))
    assert list(result) == ["BD7 1DP", "", ""]


def test_blank_and_malformed_postcodes_are_left_out_of_the_index(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text("Postcode,Easting,Northing\nBD7 1DP,415660,432832\n,415000,433000\n"
                    "not known,416000,434000\nBD7,417000,435000\n", encoding="utf-8")
    index = PostcodeIndex.from_file(path, cache=False)
    assert index.postcodes.tolist() == [b"BD7 1DP"]
    assert _lookup(index, "", "BD7 1DP")[2].tolist() == [False, True]


def test_the_cache_file_depends_on_the_cache_format_version(tmp_path, monkeypatch):
    path = tmp_path / "bd.csv"
    path.write_text(CODEPOINT_BD, encoding="utf-8")
    before = assetmap.postcodes._cache_file([path], None)
    monkeypatch.setattr(assetmap.postcodes, "_CACHE_VERSION",
                        assetmap.postcodes._CACHE_VERSION + 1)
    assert assetmap.postcodes._cache_file([path], None) != before


def test_a_digit_typed_as_its_look_alike_letter_is_one_near_miss_away(data, bd_postcodes):
    real = pd.read_csv(data / "bradford" / "postcodes_bd.csv", usecols=[0])["postcode"]
    letters = {"0": "O", "1": "I", "5": "S", "2": "Z", "8": "B", "6": "G"}
    real = real[real.str[-3].isin(list(letters))].iloc[::200]
    typed = real.str[:-3] + real.str[-3].map(letters) + real.str[-2:]  # "BD5 0PH" -> "BD5 OPH"
    assert len(typed) > 30 and not is_well_formed(typed).any()
    assert bd_postcodes.near_misses(typed).tolist() == [[p] for p in real]


@pytest.mark.parametrize("typed, meant", [
    ("BD5 OPH", ["BD5 0PH"]), ("BDS 0PH", ["BD5 0PH"]), ("8D5 0PH", ["BD5 0PH"]),
    ("BD5 0PH", []), ("", []), ("BD5 OP8", []), ("XX1 ZZZ", []),
])
def test_near_misses_change_one_character_where_the_format_allows_it(bd_postcodes, typed,
                                                                     meant):
    assert bd_postcodes.near_misses(pd.Series([typed], index=[7])).to_dict() == {7: meant}


def test_every_near_miss_is_given_when_there_are_several(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text("Postcode,Easting,Northing\nBS1 1AA,358900,172900\n"
                    "B5I 1AA,407000,285000\n", encoding="utf-8")
    index = PostcodeIndex.from_file(path, cache=False)
    assert sorted(index.near_misses(pd.Series(["BSI 1AA"])).iloc[0]) == ["B5I 1AA", "BS1 1AA"]
