"""Boundary layers: the real Bradford and national layers, column detection, CRS and errors."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from assetmap import AssetmapError, LayerSpec, load_boundary_set, load_layer
from assetmap.boundaries import merge_by_code
from assetmap.errors import AssetmapWarning


@pytest.mark.parametrize("name, rows, repaired", [
    ("ward", 30, 0), ("constituency", 5, 0), ("lsoa", 310, 2), ("msoa", 61, 0), ("oa", 1528, 3)])
def test_bradford_layers_load_valid_in_british_national_grid(layers, name, rows, repaired):
    layer = layers[name]
    assert len(layer) == rows and layer.attrs["repaired"] == repaired
    assert layer.crs.to_epsg() == 27700
    assert shapely.is_valid(layer.geometry.array).all()
    assert list(layer.columns) == ["code", "name", "geometry"] and layer["code"].is_unique


def test_bradford_boundary_set_names_its_layers_and_postcodes(bradford, data):
    assert list(bradford.layers) == ["ward", "constituency", "lsoa", "msoa", "oa"]
    assert bradford.study_area == "ward"
    assert bradford.postcodes == data / "national" / "postcodes_gb.csv.gz"
    assert bradford.spec("ward").file == data / "bradford" / "wards.geojson"


def test_ons_code_and_name_columns_are_found_when_none_are_given(data, layers):
    wards = load_layer(data / "bradford" / "wards.geojson")  # also has WD13CDO and WD13NMW
    raw = gpd.read_file(data / "bradford" / "wards.geojson")
    assert wards["code"].tolist() == raw["WD13CD"].tolist()
    assert wards["name"].tolist() == raw["WD13NM"].tolist()
    assert wards["code"].tolist() == layers["ward"]["code"].tolist()
    assert wards.loc[0, "name"] == "Baildon"


def test_ons_columns_are_told_from_old_code_welsh_name_and_other_area_columns_in_any_order(
        data, tmp_path):
    path = tmp_path / "wards.geojson"
    raw = gpd.read_file(data / "bradford" / "wards.geojson").head(3).assign(LAD13NM="Bradford")
    raw[["WD13CDO", "WD13NMW", "LAD13NM", "WD13NM", "WD13CD", "geometry"]].to_file(path)
    wards = load_layer(path)
    assert wards["code"].tolist() == raw["WD13CD"].tolist()
    assert wards["name"].tolist() == raw["WD13NM"].tolist()


def test_lowercase_ons_columns_of_the_national_lsoa_layer_are_found(data):
    lsoa = load_layer(data / "national" / "lsoa11_ew.gpkg")
    assert len(lsoa) == 34753 and lsoa.crs.to_epsg() == 27700
    assert lsoa["code"].str.match(r"^[EW]01\d{6}$").all()
    assert lsoa.loc[0, ["code", "name"]].tolist() == ["E01000001", "City of London 001A"]


def test_fiona_engine_reads_the_same_ward_codes_as_pyogrio(layers, bradford):
    wards = load_layer(bradford.spec("ward"), engine="fiona")
    assert wards["code"].tolist() == layers["ward"]["code"].tolist()


@pytest.fixture()
def wards_without_crs(data, tmp_path):
    path = tmp_path / "wards.shp"
    raw = gpd.read_file(data / "bradford" / "wards.geojson").to_crs(27700)
    raw[["WD13CD", "WD13NM", "geometry"]].head(3).to_file(path)
    path.with_suffix(".prj").unlink()
    return path


def test_a_boundary_file_without_a_crs_is_a_one_line_error(wards_without_crs):
    with pytest.raises(AssetmapError) as error:
        load_layer(wards_without_crs)
    message = str(error.value)
    assert message.startswith(f"{wards_without_crs}: ") and "no CRS" in message
    assert "\n" not in message


def test_a_boundary_file_without_a_crs_loads_with_the_crs_its_definition_gives(
        wards_without_crs, layers):
    wards = load_layer(LayerSpec("ward", wards_without_crs, crs="EPSG:27700"))
    assert wards.crs.to_epsg() == 27700
    assert wards["name"].tolist() == ["Baildon", "Bingley", "Bingley Rural"]
    assert wards.geometry.geom_equals_exact(layers["ward"].geometry[:3], 0.001).all()


def test_a_wrong_code_column_is_an_error_naming_the_column(data):
    path = data / "bradford" / "wards.geojson"
    with pytest.raises(AssetmapError) as error:
        load_layer(path, code="WARD_CODE")
    message = str(error.value)
    assert message.startswith(f"{path}, column 'WARD_CODE': no such code column")
    assert "WD13CD" in message


def test_an_unknown_boundary_set_is_an_error_listing_the_known_sets(data):
    with pytest.raises(AssetmapError, match="known sets are bradford, england, gb"):
        load_boundary_set("leeds", data)


def test_a_layer_not_in_the_set_is_an_error_listing_its_layers(bradford):
    with pytest.raises(AssetmapError) as error:
        bradford.spec("parish")
    assert str(error.value) == ("no layer 'parish' in boundary set 'Bradford district'; "
                                "layers are ward, constituency, lsoa, msoa, oa")


def test_features_sharing_a_code_are_merged_into_one_area(layers, tmp_path):
    split = layers["ward"].explode(index_parts=False)  # a ward stored as two features
    split = split.iloc[[0, 0, *range(1, len(split))]].copy()
    split.iloc[0, split.columns.get_loc("geometry")] = layers["ward"].geometry.iloc[0].buffer(
        -200)
    path = tmp_path / "wards.gpkg"
    split.to_file(path)
    with pytest.warns(AssetmapWarning, match=r"wards.gpkg: features sharing a code are merged "
                      r"into one area \(1 codes, 1 features merged\): E05001341$"):
        merged = load_layer(path)
    assert len(merged) == 30 and merged.attrs["merged"] == 1
    assert merged.set_index("code").geometry.area.sum() == pytest.approx(
        layers["ward"].geometry.area.sum())


@pytest.mark.parametrize("content", ["code,name\nA,B\n", None])
def test_a_file_without_geometry_or_features_is_a_one_line_error(tmp_path, layers, content):
    if content is None:
        path = tmp_path / "empty.gpkg"
        layers["ward"].iloc[:0].to_file(path)
    else:
        path = tmp_path / "table.csv"
        path.write_text(content, encoding="utf-8")
    with pytest.raises(AssetmapError, match="not a boundary layer: no areas with a geometry"):
        load_layer(path)


@pytest.fixture(scope="module")
def wards(data) -> gpd.GeoDataFrame:
    return gpd.read_file(data / "bradford" / "wards.geojson")[["WD13CD", "WD13NM", "geometry"]]


@pytest.mark.parametrize("make, found", [
    (lambda w: w.set_geometry(w.representative_point()), "found 30 Point (of 30 features)"),
    (lambda w: w.set_geometry(w.boundary), "found 30 LineString (of 30 features)"),
    (lambda w: w.set_geometry(w.geometry.where(w.index > 0, w.boundary)),
     "found 1 LineString (of 30 features)"),
])
def test_a_layer_of_points_or_lines_is_a_one_line_error_naming_the_type(
        wards, tmp_path, make, found):
    path = tmp_path / "bad.gpkg"
    make(wards.copy()).to_file(path)
    with pytest.raises(AssetmapError) as error:
        load_layer(path)
    assert str(error.value) == f"{path}: not a boundary layer: areas must be polygons, {found}"


@pytest.mark.parametrize("declared, looks", [
    ("EPSG:27700", "look like longitude/latitude degrees (EPSG:4326)"),
    ("EPSG:4326", "look like British National Grid metres (EPSG:27700)"),
])
def test_coordinates_that_do_not_fit_the_declared_crs_are_a_one_line_error(
        wards, tmp_path, declared, looks):
    actual = "EPSG:4326" if declared == "EPSG:27700" else "EPSG:27700"
    path = tmp_path / "mislabelled.gpkg"
    wards.to_crs(actual).set_crs(declared, allow_override=True).to_file(path)
    with pytest.raises(AssetmapError) as error:
        load_layer(path)
    message = str(error.value)
    assert message.startswith(f"{path}: the layer declares {declared}") and looks in message
    assert "\n" not in message


def test_a_file_without_a_crs_whose_definition_gives_the_wrong_one_is_an_error(
        wards_without_crs):
    with pytest.raises(AssetmapError, match=r"declares EPSG:4326 .* look like British National"):
        load_layer(LayerSpec("ward", wards_without_crs, crs="EPSG:4326"))


def test_features_without_geometry_are_left_out_with_a_warning_naming_their_codes(
        wards, layers, tmp_path):
    path = tmp_path / "holes.gpkg"
    broken = wards.copy()
    broken.loc[[3, 7], "geometry"] = None
    broken.to_file(path)
    codes = wards["WD13CD"].iloc[[3, 7]]
    with pytest.warns(AssetmapWarning) as caught:
        layer = load_layer(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: features with no geometry are left out (2): {', '.join(codes)}"]
    assert len(layer) == 28 and layer.attrs["dropped"] == 2
    assert set(layers["ward"]["code"]) - set(layer["code"]) == set(codes)


@pytest.mark.parametrize("blank", [None, " "])
def test_an_area_without_a_code_is_a_one_line_error(wards, tmp_path, blank):
    """A missing code was an internal error in join (NaN among the codes it sorts)."""
    path = tmp_path / "nocode.gpkg"
    broken = wards.copy()
    broken.loc[[3, 7], "WD13CD"] = blank
    broken.to_file(path)
    with pytest.raises(AssetmapError) as error:
        load_layer(path)
    assert str(error.value) == (f"{path}, column 'WD13CD': 2 of 30 areas have no code: "
                                "every area needs one")


def test_a_layer_of_empty_geometries_only_is_an_error(wards, tmp_path):
    path = tmp_path / "empty.gpkg"
    wards.set_geometry(shapely.polygons([None] * len(wards)), crs=wards.crs).to_file(path)
    with pytest.raises(AssetmapError, match="not a boundary layer: no areas with a geometry"):
        load_layer(path)


def test_a_layer_away_from_the_study_area_gives_a_warning(wards, study_area, tmp_path):
    path = tmp_path / "elsewhere.gpkg"
    wards.to_crs(27700).translate(xoff=100_000).to_frame("geometry").assign(
        code=wards["WD13CD"], name=wards["WD13NM"]).to_file(path)
    with pytest.warns(AssetmapWarning, match="no area of the layer overlaps the study area"):
        load_layer(path, study_area=study_area)
    nearby = tmp_path / "nearby.gpkg"
    wards.to_crs(27700).translate(xoff=5_000).to_frame("geometry").assign(
        code=wards["WD13CD"], name=wards["WD13NM"]).to_file(nearby)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_layer(nearby, study_area=study_area)) == 30


@pytest.mark.parametrize("text", ['[layers.ward]\ncode = "WD13CD"\n', "layers = {ward = 3}\n"])
def test_a_boundary_set_layer_without_a_file_is_a_one_line_error(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AssetmapError) as error:
        load_boundary_set(path)
    assert str(error.value) == f"{path}: layer 'ward' needs a file: [layers.ward] file = \"...\""


def test_a_folder_named_like_a_boundary_set_is_a_one_line_error(tmp_path):
    (tmp_path / "set.toml").mkdir()
    with pytest.raises(AssetmapError, match=r"set\.toml: cannot read the boundary set"):
        load_boundary_set(tmp_path / "set.toml")


def test_districts_are_dissolved_from_lsoas_by_the_imd_table(data):
    """England's local authority districts: its 32,844 LSOAs (the Welsh ones filtered out
    by the layer's `where`) dissolved by the district code of the IMD 2019 table."""
    england = load_boundary_set("england", data)
    lsoa = load_layer(england.spec("lsoa"))
    lad = load_layer(england.spec("lad"))
    assert len(lsoa) == 32_844 and lsoa["code"].str.startswith("E").all()
    table = pd.read_csv(data / "national" / "imd2019_lsoa_england.csv.gz", dtype=str)
    assert sorted(lad["code"]) == sorted(table["Local Authority District code (2019)"].unique())
    assert len(lad) == 317 and lad.geometry.is_valid.all()
    bradford = lad[lad["code"] == "E08000032"].iloc[0]
    assert bradford["name"] == "Bradford"
    inside = lsoa[lsoa["code"].isin(table.loc[table["Local Authority District code (2019)"]
                                              == "E08000032", "LSOA code (2011)"])]
    assert bradford.geometry.area == pytest.approx(inside.geometry.area.sum(), rel=1e-6)


def test_an_area_table_missing_a_column_is_one_line(data, tmp_path):
    table = tmp_path / "areas.csv"
    table.write_text("lsoa,district\nE01000001,E09000001\n", encoding="utf-8")
    path = tmp_path / "mine.toml"
    path.write_text(f'[layers.lad]\nfile = "{data / "bradford" / "lsoa.geojson"}"\n'
                    f'[layers.lad.areas]\ntable = "{table}"\nkey = "lsoa"\n'
                    'code = "district"\nname = "district_name"\n', encoding="utf-8")
    with pytest.raises(AssetmapError) as error:
        load_layer(load_boundary_set(path).spec("lad"))
    assert "cannot read the area table" in str(error.value) and "\n" not in str(error.value)


def test_areas_merged_by_code_as_dissolve_merges_them():
    """Features sharing a code become one area, in code order, named by the first: the
    same frame as geopandas' dissolve gives, with the unions run in threads."""
    squares = [shapely.box(x, y, x + 1, y + 1) for x in range(4) for y in range(3)]
    layer = gpd.GeoDataFrame({"code": list("cabcabcabcab"), "name": [f"n{i}" for i in range(12)]},
                             geometry=squares, crs=27700)
    merged = merge_by_code(layer)
    expected = layer.dissolve("code", as_index=False, aggfunc={"name": "first"})[
        ["code", "name", "geometry"]]
    pd.testing.assert_frame_equal(merged.drop(columns="geometry"),
                                  expected.drop(columns="geometry"))
    assert shapely.equals(merged.geometry.array, expected.geometry.array).all()
    assert merged.crs == layer.crs
