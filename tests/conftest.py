"""Shared fixtures: the open-data bundle (required, never copied) and loaded layers."""

from __future__ import annotations

from pathlib import Path

import pytest

import assetmap


@pytest.fixture(scope="session")
def data() -> Path:
    folder = assetmap.data_dir()
    assert (folder / "bradford" / "wards.geojson").exists(), (
        f"open-data bundle not found at {folder}; set ASSETMAP_DATA_DIR")
    return folder


@pytest.fixture(scope="session")
def bradford(data) -> assetmap.BoundarySet:
    return assetmap.load_boundary_set("bradford", data)


@pytest.fixture(scope="session")
def layers(bradford) -> dict:
    return {name: assetmap.load_layer(bradford.spec(name)) for name in bradford.layers}


@pytest.fixture(scope="session")
def study_area(layers):
    return assetmap.outline(layers["ward"])


@pytest.fixture(scope="session")
def gb_postcodes(bradford) -> assetmap.PostcodeIndex:
    return assetmap.PostcodeIndex.from_file(bradford.postcodes)


@pytest.fixture(scope="session")
def bd_postcodes(data) -> assetmap.PostcodeIndex:
    return assetmap.PostcodeIndex.from_file(data / "bradford" / "postcodes_bd.csv", cache=False)
