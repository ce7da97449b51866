"""Boundary layers: the real Bradford and national layers, column detection, CRS and errors."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from assetmap import AssetmapError, LayerSpec, load_boundary_set, load_layer


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
    with pytest.raises(AssetmapError, match="known sets are bradford, gb"):
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
