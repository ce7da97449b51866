"""Locating register rows: a messy hand-typed register, precedence, duplicates, categories."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

import assetmap
from assetmap import write_geo

# A register as people type them: a title row and a blank row above the header, mixed
# postcode spellings, swapped lat/long, blank rows, duplicates, an invalid postcode, a
# London postcode, accented names, saved by Excel as Windows-1252.
MESSY = [
    "Community venues register – Bradford 2025,,,,,",
    ",,,,,",
    "Site Name,Type,Post Code,Lat,Long,ID",
    "Café Central,Community centre,bd71dp,,,V001",                      # row 4
    "Keighley Family Hub,Family hub, bd21  3ru ,,,V002",                # row 5
    ",,,,,",                                                            # row 6
    "Swapped Hall,community hall,,-1.75940,53.79600,V003",              # row 7
    "CAFE CENTRAL,Community centre,BD7 1DP,,,V004",                     # row 8
    "Shipley Youth Club,Youth club,BD18 3QA,,,V002",                    # row 9
    "Nowhere Group,VCS group,XX1 ZZZ,,,V006",                           # row 10
    "Ghost Library,Library,BD7 9ZZ,,,V007",                             # row 11
    "London Centre,Community centre,SW1A 1AA,,,V008",                   # row 12
    "No Place Group,Community group,,,,V009",                           # row 13
    "Knit & Natter,Knitting circle,BD1 1AF,,,V010",                     # row 14
    "Comunity Hub Girlington,Comunity centre,BD1 1AG,,,V011",           # row 15
    "St Mary’s Church,Church,BD3 9HD,53.7965,-1.7350,V012",             # row 16
    "Knit & Natter,Knitting circle,BD1 1AF,,,V010",                     # row 17
    ",,,,,",                                                            # trailing
]
EXPECTED = {  # row: (status, reason or method)
    4: ("located", "postcode"),
    5: ("located", "postcode"),
    6: ("rejected", "blank row"),
    7: ("located", "latitude/longitude"),
    8: ("rejected", "same name and location as row 4"),
    9: ("rejected", "same ID as row 5"),
    10: ("rejected", "malformed postcode 'XX1 ZZZ'"),
    11: ("rejected", "unknown postcode 'BD7 9ZZ'"),
    13: ("rejected", "no location: no coordinates or postcode"),
    14: ("located", "postcode"),
    15: ("located", "postcode"),
    16: ("located", "latitude/longitude"),
    17: ("rejected", "exact duplicate of row 14"),
}


@pytest.fixture()
def messy_csv(tmp_path):
    path = tmp_path / "community_venues.csv"
    path.write_bytes(("\r\n".join(MESSY) + "\r\n").encode("cp1252"))
    return path


@pytest.fixture()
def messy(messy_csv, gb_postcodes, study_area):
    before = messy_csv.read_bytes()
    assets, audit = assetmap.load_assets([messy_csv], postcodes=gb_postcodes,
                                         study_area=study_area)
    assert messy_csv.read_bytes() == before  # inputs are never modified
    return assets, audit.set_index("row")


def test_every_row_of_a_messy_register_is_accounted_for_with_the_right_reason(messy):
    assets, audit = messy
    assert list(audit.index) == list(range(4, 18))  # header on row 3, trailing blank dropped
    for row, (status, detail) in EXPECTED.items():
        assert audit.loc[row, "status"] == status, row
        column = "method" if status == "located" else "reason"
        assert audit.loc[row, column] == detail, row
    assert audit.loc[12, "status"] == "rejected"
    assert audit.loc[12, "reason"].startswith("outside the study area (")
    assert sorted(assets["row"]) == [r for r, (s, _) in EXPECTED.items() if s == "located"]


def test_the_messy_register_is_decoded_and_its_postcodes_normalised(messy):
    assets, _ = messy
    assets = assets.set_index("row")
    assert assets.loc[4, "name"] == "Café Central"
    assert assets.loc[16, "name"] == "St Mary’s Church"
    assert assets.loc[4, "postcode"] == "BD7 1DP" and assets.loc[5, "postcode"] == "BD21 3RU"
    # postcode centroids from Code-Point Open
    assert (assets.loc[4].geometry.x, assets.loc[4].geometry.y) == (415660, 432832)


def test_swapped_latitude_and_longitude_are_fixed_and_noted(messy):
    assets, audit = messy
    assert "latitude and longitude were the wrong way round" in audit.loc[7, "notes"]
    point = assets.set_index("row").loc[7].geometry
    expected = pyproj.Transformer.from_crs(
        4326, 27700, always_xy=True).transform(-1.7594, 53.796)
    assert point.distance(shapely.Point(expected)) < 0.01


def test_coordinates_take_precedence_over_the_postcode(messy):
    assets, _ = messy
    row16 = assets.set_index("row").loc[16]
    assert row16["method"] == "latitude/longitude" and row16["postcode"] == "BD3 9HD"


def test_types_map_to_categories_and_unknown_types_are_reported(messy):
    assets, audit = messy
    category = assets.set_index("row")["category"]
    assert category[4] == "Community centre" and category[5] == "Family hub site"
    assert category[7] == "Community centre"  # synonym "community hall"
    assert category[16] == "Place of worship"
    assert category[15] == "Community centre"
    assert "read as 'Community centre'" in audit.loc[15, "notes"]
    assert pd.isna(category[14])
    assert "'Knitting circle' is not in the taxonomy" in audit.loc[14, "notes"]


def test_precedence_geometry_then_grid_then_degrees_then_postcode(tmp_path, gb_postcodes):
    path = tmp_path / "sites.csv"
    path.write_text(
        "name,easting,northing,latitude,longitude,postcode\n"
        "grid wins,415000,433000,53.80,-1.70,BD1 1AF\n"
        "bad grid,abc,,53.80,-1.70,BD1 1AF\n"
        "bad degrees,,,95,200,BD1 1AF\n"
        "nothing usable,0,0,,,\n", encoding="utf-8")
    register = assetmap.read_register(path)
    assets, audit = assetmap.locate(register, postcodes=gb_postcodes)
    assert list(audit["method"]) == ["easting/northing", "latitude/longitude", "postcode", ""]
    assert "easting/northing not usable ('abc', '')" in audit["notes"][1]
    assert "latitude/longitude not in Great Britain" in audit["notes"][2]
    assert audit["reason"][3] == "easting/northing not usable ('0', '0')"
    assert (assets.geometry.x[0], assets.geometry.y[0]) == (415000, 433000)


def test_a_register_with_geometry_is_located_by_it(tmp_path, gb_postcodes):
    frame = gpd.GeoDataFrame({"Name": ["Hub", "No shape"], "Postcode": ["BD7 1DP", "BD1 1AF"]},
                             geometry=[shapely.Point(-1.76, 53.79), None], crs=4326)
    path = tmp_path / "hubs.gpkg"
    frame.to_file(path)
    assets, audit = assetmap.locate(assetmap.read_register(path), postcodes=gb_postcodes)
    assert list(audit["method"]) == ["geometry", "postcode"]
    assert assets.crs.to_epsg() == 27700


def test_a_category_for_a_register_without_types(tmp_path, gb_postcodes):
    path = tmp_path / "list.csv"
    path.write_text("name,postcode\nA,BD7 1DP\n", encoding="utf-8")
    assets, audit = assetmap.load_assets([path], postcodes=gb_postcodes, category="gp surgery")
    assert list(assets["category"]) == ["GP practice"] and audit["notes"][0] == ""
    assets, audit = assetmap.load_assets([path], postcodes=gb_postcodes)
    assert assets["category"].isna().all() and audit["notes"][0] == "no type column: no category"
    with pytest.raises(assetmap.AssetmapError, match="'bakery' is not in the taxonomy"):
        assetmap.load_assets([path], postcodes=gb_postcodes, category="bakery")


def test_a_register_with_no_location_column_is_a_one_line_error(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name,type\nA,school\n", encoding="utf-8")
    with pytest.raises(assetmap.AssetmapError) as error:
        assetmap.locate(assetmap.read_register(path))
    message = str(error.value)
    assert message.startswith(f"{path}: no usable location column") and "\n" not in message


def test_the_register_template_validates(gb_postcodes):
    template = assetmap.settings.resource_dir("assets") / "register_template.csv"
    assets, audit = assetmap.load_assets([template], postcodes=gb_postcodes)
    assert list(audit["status"]) == ["located"]
    assert list(assets["category"]) == ["Community centre"]


def _located(tmp_path, text: str, postcodes=None, name: str = "sites.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return assetmap.locate(assetmap.read_register(path), postcodes=postcodes)


def test_blank_and_malformed_postcodes_are_not_found_even_in_an_index_that_holds_them(
        tmp_path):
    old = assetmap.PostcodeIndex(np.array([b"", b"BD7 1DP"], dtype="S8"),
                                 np.array([415000.0, 415660.0]), np.array([433000.0, 432832.0]))
    _, audit = _located(tmp_path, "name,postcode\nA,\nB,XX1 ZZZ\nC,BD7 1DP\n", old)
    assert list(audit["method"]) == ["", "", "postcode"]
    assert list(audit["reason"]) == ["no location: no coordinates or postcode",
                                     "malformed postcode 'XX1 ZZZ'", ""]


def test_features_with_a_geometry_but_no_attributes_are_located_not_blank(tmp_path):
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame({"Name": [None, None, "Hub", None]},
                     geometry=[shapely.Point(-1.76, 53.79), shapely.Point(-1.75, 53.80), None,
                               None], crs=4326).to_file(path)
    assets, audit = assetmap.locate(assetmap.read_register(path))
    assert list(audit["status"]) == ["located", "located", "rejected", "rejected"]
    assert list(audit["reason"])[2:] == ["no location: no coordinates or postcode", "blank row"]
    assert len(assets) == 2


def test_decimal_commas_in_a_semicolon_file_are_decimal_points(tmp_path):
    assets, audit = _located(tmp_path, "Name;Lat;Long\nHall;53,795;-1,759\n")
    assert list(audit["method"]) == ["latitude/longitude"]
    expected = pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(-1.759, 53.795)
    assert assets.geometry[0].distance(shapely.Point(expected)) < 0.01
    assets, _ = _located(tmp_path, "Name;Easting;Northing\nHall;415,660;432,832\n")
    assert (assets.geometry[0].x, assets.geometry[0].y) == (415660, 432832)  # thousands


def test_register_columns_named_fid_or_geometry_are_kept_and_written(tmp_path, gb_postcodes):
    path = tmp_path / "sites.csv"
    path.write_text("name,postcode,FID,geometry\nHall,BD7 1DP,17,POINT (1 2)\n",
                    encoding="utf-8")
    assets, _ = assetmap.load_assets([path], postcodes=gb_postcodes)
    back = gpd.read_file(write_geo(assets, tmp_path / "assets.gpkg"))
    assert back.loc[0, "FID (register)"] == "17"
    assert back.loc[0, "geometry (register)"] == "POINT (1 2)"
    assert (back.geometry[0].x, back.geometry[0].y) == (415660, 432832)


def test_placeholder_ids_are_not_ids_when_looking_for_duplicates(tmp_path):
    rows = [f"{name},53.79,{-1.70 - i / 100},{id_}" for i, (name, id_) in enumerate([
        ("A", "n/a"), ("B", "N/A"), ("C", "-"), ("D", "--"), ("E", "unknown"), ("F", "TBC"),
        ("G", "null"), ("H", ""), ("I", "X1"), ("J", "x1")])]
    _, audit = _located(tmp_path, "name,lat,long,id\n" + "\n".join(rows) + "\n")
    assert list(audit["reason"]) == [""] * 9 + ["same ID as row 10"]


def test_group_codes_are_dense_equal_for_equal_text_and_apart_for_missing_values():
    from importlib import import_module

    locate = import_module("assetmap.locate")
    codes = locate.group_codes(pd.Series(["b", "a", "b", None, None, "c", "a"], dtype="str"))
    assert codes[0] == codes[2] and codes[1] == codes[6] and codes[3] != codes[4]
    assert sorted(set(codes)) == list(range(5))
    assert list(locate._repeated(codes)) == [True, True, True, False, False, False, True]
    assert len(locate.group_codes(pd.Series([], dtype="str"))) == 0


@pytest.mark.parametrize("column, partner", [("latitude", "longitude"), ("Easting", "northing")])
def test_a_coordinate_without_its_partner_column_is_the_reason_a_row_is_not_located(
        tmp_path, gb_postcodes, column, partner):
    _, audit = _located(tmp_path, f"name,{column},postcode\nA,53.79,\nB,53.79,BD7 1DP\nC,,\n",
                        gb_postcodes)
    role = column.lower()
    assert list(audit["reason"]) == [f"{role} given but no {partner} column", "",
                                     "no location: no coordinates or postcode"]
    assert audit["method"][1] == "postcode"


def test_x_and_y_columns_holding_degrees_are_read_as_longitude_and_latitude(tmp_path):
    assets, audit = _located(tmp_path, "name,X,Y\nA,-1.7594,53.796\nB,53.7965,-1.7350\n")
    assert list(audit["method"]) == ["latitude/longitude"] * 2
    assert all("X/Y read as longitude/latitude" in notes for notes in audit["notes"])
    expected = pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(-1.7594, 53.796)
    assert assets.geometry[0].distance(shapely.Point(expected)) < 0.01


def test_only_repeated_names_are_searched_for_duplicates_at_the_same_place(
        tmp_path, monkeypatch):
    sizes = []
    tree = shapely.STRtree
    monkeypatch.setattr(shapely, "STRtree",
                        lambda geoms, **options: sizes.append(len(geoms)) or tree(geoms, **options))
    _, audit = _located(tmp_path, "name,lat,long\nA,53.79,-1.76\nB,53.79,-1.76\n"
                                  "a.,53.79,-1.76\nC,53.80,-1.70\n")
    assert list(audit["reason"]) == ["", "", "same name and location as row 2", ""]
    assert sizes == [2]


def test_load_assets_records_the_column_roles_of_each_register(tmp_path, gb_postcodes):
    path = tmp_path / "list.csv"
    path.write_text("Site,Post Code\nA,BD7 1DP\n", encoding="utf-8")
    _, audit = assetmap.load_assets([path], postcodes=gb_postcodes, category="gp surgery")
    assert audit.attrs["roles"] == {"list.csv": "name: Site, postcode: Post Code"}


def test_an_unknown_category_fails_before_any_register_is_read(tmp_path, gb_postcodes):
    typed = tmp_path / "typed.csv"
    typed.write_text("name,type,postcode\nA,school,BD7 1DP\n", encoding="utf-8")
    with pytest.raises(assetmap.AssetmapError, match="'bakery' is not in the taxonomy"):
        assetmap.load_assets([typed], postcodes=gb_postcodes, category="bakery")


# A register as the issue found it: 35 sites of four kinds, the type column headed
# "Type of Provision", the ID "Site Ref"; 10 are family hubs.
KINDS = ["Family Hub"] * 10 + ["Community Centre"] * 10 + ["Library"] * 8 + ["Youth club"] * 7


def _sites(tmp_path, data, type_header: str) -> tuple:
    postcodes = pd.read_csv(data / "bradford" / "postcodes_bd.csv")
    postcodes = postcodes[postcodes["district_code"] == "E08000032"]["postcode"]
    lines = [f"Site Ref,Venue,{type_header},Address Postcode"] + [
        f"S{i:02d},Venue {i},{kind},{postcodes.iloc[i * 97]}" for i, kind in enumerate(KINDS)]
    path = tmp_path / "hubs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_category_is_not_given_to_every_row_of_a_register_with_types_under_another_header(
        tmp_path, data, bd_postcodes):
    path = _sites(tmp_path, data, "Type of Provision")
    assets, audit = assetmap.load_assets([path], postcodes=bd_postcodes,
                                         category="family hub site")
    assert (audit["status"] == "located").all()
    assert (assets["category"] == "Family hub site").sum() == KINDS.count("Family Hub")
    assert audit.attrs["roles"]["hubs.csv"] == (
        "id: Site Ref, name: Venue, type: Type of Provision, postcode: Address Postcode")


def test_a_category_for_every_row_is_refused_when_a_column_looks_like_types(
        tmp_path, data, bd_postcodes):
    path = _sites(tmp_path, data, "Offer")
    with pytest.raises(assetmap.AssetmapError) as error:
        assetmap.load_assets([path], postcodes=bd_postcodes, category="family hub site")
    message = str(error.value)
    assert message.startswith(f"{path}, column 'Offer': ") and "\n" not in message
    assert '--column type="Offer"' in message and '--all-rows "family hub site"' in message
    assets, _ = assetmap.load_assets([path], postcodes=bd_postcodes, all_rows="family hub site")
    assert (assets["category"] == "Family hub site").all() and len(assets) == len(KINDS)
    assets, _ = assetmap.load_assets([path], postcodes=bd_postcodes, category="family hub site",
                                     roles={"type": "Offer"})
    assert (assets["category"] == "Family hub site").sum() == KINDS.count("Family Hub")
    with pytest.warns(assetmap.errors.AssetmapWarning, match="column 'Offer': no type column"):
        assetmap.load_assets([path], postcodes=bd_postcodes)


def test_a_column_looking_more_like_types_than_the_type_column_is_warned_about(
        tmp_path, bd_postcodes):
    path = tmp_path / "venues.csv"
    path.write_text("Name,Type,Service,Postcode\nA,Indoor,Library,BD7 1DP\n"
                    "B,Outdoor,Family hub,BD1 1AF\n", encoding="utf-8")
    with pytest.warns(assetmap.errors.AssetmapWarning,
                      match="column 'Service': looks more like types than the type column"):
        assets, _ = assetmap.load_assets([path], postcodes=bd_postcodes)
    assert assets["category"].isna().all()  # the type column chosen is still the one used


def test_ambiguous_and_unknown_types_are_noted_with_suggestions(tmp_path, bd_postcodes):
    path = tmp_path / "venues.csv"
    path.write_text("Name,Type,Postcode\nA,Childrens Centre / Family Hub,BD7 1DP\n"
                    "B,Youth clubhouse,BD1 1AF\nC,Comm Centre,BD21 3RU\n", encoding="utf-8")
    assets, audit = assetmap.load_assets([path], postcodes=bd_postcodes)
    assert audit["notes"].tolist() == [
        "type 'Childrens Centre / Family Hub' names several categories (Children's centre, "
        "Family hub site): no category",
        "type 'Youth clubhouse' is not in the taxonomy: no category (closest: Youth provision)",
        "type 'Comm Centre' read as 'Community centre'"]
    assert assets["category"].tolist()[2] == "Community centre"


def test_a_postcode_one_look_alike_character_off_is_suggested_and_taken_on_request(
        tmp_path, data, bd_postcodes):
    real = pd.read_csv(data / "bradford" / "postcodes_bd.csv", index_col="postcode")
    bd10 = next(p for p in real.index if p.startswith("BD10 "))
    typed = bd10.replace("BD10", "BD1O")  # well formed, but unknown
    path = tmp_path / "hubs.csv"
    path.write_text(f"Name,Type,Postcode\nHub,Family hub,BD5 OPH\nCentre,Family hub,{typed}\n",
                    encoding="utf-8")
    _, audit = assetmap.load_assets([path], postcodes=bd_postcodes)
    assert audit["reason"].tolist() == [
        "malformed postcode 'BD5 OPH' (did you mean BD5 0PH?)",
        f"unknown postcode '{typed}' (did you mean {bd10}?)"]
    assets, audit = assetmap.load_assets([path], postcodes=bd_postcodes, fix_postcodes=True)
    assert (audit["status"] == "located").all()
    assert audit["notes"][0] == "postcode 'BD5 OPH' read as BD5 0PH"
    assert assets["postcode"].tolist() == ["BD5 0PH", bd10]
    expected = real.loc[["BD5 0PH", bd10], ["easting", "northing"]].to_numpy(float)
    np.testing.assert_array_equal(shapely.get_coordinates(assets.geometry), expected)


def test_a_register_with_yes_no_flag_columns_is_located(tmp_path, bd_postcodes):
    path = tmp_path / "venues.csv"
    path.write_text("Name,Postcode,Step free,Parking,Toilets,Cafe,Hearing loop\n"
                    "Hall,BD7 1DP,Y,Y,Y,Y,Y\nLibrary,BD1 1AF,Y,N,Y,N,Y\n", encoding="utf-8")
    _, audit = assetmap.load_assets([path], postcodes=bd_postcodes)
    assert audit["method"].tolist() == ["postcode", "postcode"]


def test_the_cli_takes_all_rows_and_fix_postcodes(tmp_path, data):
    from click.testing import CliRunner

    from assetmap.cli.main import cli

    path = _sites(tmp_path, data, "Offer")
    report = tmp_path / "report.csv"
    args = ["validate", str(path), "--postcodes", str(data / "bradford" / "postcodes_bd.csv"),
            "-r", str(report), "--category", "family hub site"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "--all-rows" in refused.output
    assert CliRunner().invoke(cli, [*args[:-2], "--all-rows", "family hub site"]).exit_code == 0
    assert (pd.read_csv(report)["category"] == "Family hub site").all()
    path.write_text("Name,Type,Postcode\nHub,Family hub,BD5 OPH\n", encoding="utf-8")
    assert CliRunner().invoke(cli, [*args[:-2], "--fix-postcodes"]).exit_code == 0
    assert pd.read_csv(report)["status"].tolist() == ["located"]
