"""``crs=``: every located point, however it was located, ends in the CRS asked for."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest

import assetmap
from assetmap.locate import locate

WEB_MERCATOR = "EPSG:3857"


@pytest.fixture()
def mixed(tmp_path):
    """One row located by each method, and a lat/long row in London (outside Bradford)."""
    path = tmp_path / "mixed.csv"
    path.write_text("Name,Postcode,Easting,Northing,Latitude,Longitude\n"
                    "By postcode,BD1 1AF,,,,\n"
                    "By grid,,416352,433047,,\n"
                    "By degrees,,,,53.7938,-1.7520\n"
                    "In London,,,,51.5007,-0.1246\n", encoding="utf-8")
    return path


def test_every_located_point_is_in_the_crs_asked_for_whatever_located_it(
        mixed, data, bd_postcodes, layers):
    outline = assetmap.outline(layers["ward"].to_crs(WEB_MERCATOR))
    assets, audit = locate(assetmap.read_register(mixed), postcodes=bd_postcodes,
                                    study_area=outline, crs=WEB_MERCATOR)
    assert assets.crs == WEB_MERCATOR
    assert list(assets["method"]) == ["postcode", "easting/northing", "latitude/longitude"]
    assert audit.loc[3, "reason"].startswith("outside the study area (2")  # km, not 1.6x more
    postcodes = pd.read_csv(data / "bradford" / "postcodes_bd.csv").set_index("postcode")
    grid = pyproj.Transformer.from_crs("EPSG:27700", WEB_MERCATOR, always_xy=True)
    degrees = pyproj.Transformer.from_crs("EPSG:4326", WEB_MERCATOR, always_xy=True)
    expected = np.array([grid.transform(*postcodes.loc["BD1 1AF", ["easting", "northing"]]),
                         grid.transform(416352, 433047), degrees.transform(-1.7520, 53.7938)])
    found = np.column_stack([assets.geometry.x, assets.geometry.y])
    assert np.abs(found - expected).max() < 0.01  # metres


def test_the_study_area_and_duplicates_are_measured_in_metres_on_the_ground(tmp_path, layers):
    """Two rows 20 m apart with the same name are duplicates in any output CRS (Web Mercator
    stretches 20 m to about 34 m at Bradford's latitude)."""
    path = tmp_path / "twice.csv"
    path.write_text("Name,Easting,Northing\nHall,416352,433047\nHall,416352,433067\n",
                    encoding="utf-8")
    for crs in ("EPSG:27700", WEB_MERCATOR):
        _, audit = locate(assetmap.read_register(path), crs=crs)
        assert list(audit["reason"]) == ["", "same name and location as row 2"], crs


def test_join_registers_in_another_crs_gives_the_same_areas(data, bradford, tmp_path):
    register = [tmp_path / "gp_practices.csv"]  # located by postcode
    pd.read_csv(data / "bradford" / "gp_practices.csv")[["practice_name", "postcode"]].to_csv(
        register[0], index=False)
    bng = assetmap.join_registers(register, layers=["ward"], boundaries=bradford)
    web = assetmap.join_registers(register, layers=["ward"], boundaries=bradford,
                                  crs=WEB_MERCATOR)
    assert web.assets.crs == WEB_MERCATOR and len(web.assets) == len(bng.assets) == 59
    assert web.assets["ward_code"].equals(bng.assets["ward_code"])
    back = gpd.GeoSeries(web.assets.geometry).to_crs(27700)
    assert np.abs(back.x - bng.assets.geometry.x).max() < 0.01
