"""The dask engine equals the in-memory one row for row, on a small local cluster (two
worker processes, one thread each)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import LocalCluster
from geopandas.testing import assert_geodataframe_equal
from scipy.spatial import cKDTree

import assetmap
from assetmap import distributed as engine
from assetmap.costs import STRAIGHT_LINE
from assetmap.distributed import (
    POSITION,
    DistributedCosts,
    client_for,
    covered_distributed,
    join_distributed,
    join_parquet,
    nearest_distributed,
    partition_points,
)
from assetmap.errors import AssetmapError
from assetmap.gaps import reach_by_decile
from assetmap.join import join


@pytest.fixture(scope="module")
def client():
    with client_for(workers=2, memory_limit="2GiB") as client:
        yield client


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["easting"],
                                                               frame["northing"]),
                            crs="EPSG:27700")


@pytest.fixture(scope="module")
def bradford_points(data) -> gpd.GeoDataFrame:
    """Bradford's postcodes shuffled (not in spatial order) under a non-default index."""
    table = pd.read_csv(data / "bradford" / "postcodes_bd.csv")
    return _points(table.sample(frac=1, random_state=3).set_index("postcode", drop=False))


def test_join_equals_in_memory_on_bradford(client, bradford_points, layers):
    got = join_distributed(bradford_points, layers, client=client, npartitions=5)
    assert_geodataframe_equal(got, join(bradford_points, layers))
    assert set(got["ward_match"]) == {"inside", "nearest"}  # edge rules at work


def test_partitions_with_no_area_found_type_as_in_memory(client, bradford_points, layers):
    far = gpd.GeoDataFrame({"postcode": ["far"] * 21 + ["none"]},
                           geometry=[shapely.Point(100_000, 100_000)] * 21 + [None],
                           crs=bradford_points.crs)
    points = pd.concat([bradford_points.head(20)[["postcode", "geometry"]], far])
    got = join_distributed(points, layers, client=client, npartitions=2)
    assert_geodataframe_equal(got, join(points, layers))
    assert got["ward_match"].iloc[20:].eq("outside").all()


def test_join_equals_in_memory_on_national_sample(client, data):
    table = pd.read_csv(data / "national" / "postcodes_gb.csv.gz",
                        usecols=["postcode", "easting", "northing"]).dropna()
    points = _points(table.sample(200_000, random_state=5))
    lsoa = {"lsoa": assetmap.load_layer(data / "national" / "lsoa11_ew.gpkg")}
    got = join_distributed(points, lsoa, client=client)
    assert_geodataframe_equal(got, join(points, lsoa))
    assert got["lsoa_code"].notna().mean() > 0.8  # England and Wales of GB


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # dask's parquet reader
def test_parquet_join_equals_in_memory(client, bradford_points, layers, tmp_path):
    folder = partition_points(bradford_points.reset_index(drop=True), tmp_path / "points",
                              npartitions=6, client=client)
    parts = [gpd.read_parquet(part) for part in sorted(folder.glob("*.parquet"))]
    assert len(parts) == 6
    # spatial partitions barely overlap: their boxes add up to about the whole box
    box = shapely.box(*bradford_points.total_bounds).area
    assert sum(shapely.box(*part.total_bounds).area for part in parts) < 2 * box
    joined = join_parquet(folder, layers, tmp_path / "joined", client=client)
    back = gpd.read_parquet(joined).sort_values(POSITION)
    assert (back[POSITION].to_numpy() == np.arange(len(bradford_points))).all()
    expected = join(bradford_points, layers)
    for column in expected.columns.drop("geometry"):  # text comes back as str (NA)
        assert _values(back[column]) == _values(expected[column]), column
    assert back.geometry.geom_equals_exact(expected.geometry.set_axis(back.index), 0).all()


def _values(column: pd.Series) -> list:
    return column.astype(object).where(column.notna(), None).tolist()


def test_nearest_and_coverage_equal_ckdtree(client, bradford_points, layers):
    sites = layers["ward"].geometry.representative_point().array
    origins = bradford_points.geometry.array
    got = nearest_distributed(origins, sites, client=client, npartitions=4)
    xy = shapely.get_coordinates(origins)
    expected = cKDTree(shapely.get_coordinates(sites)).query(xy)[0]
    np.testing.assert_array_equal(got, expected)
    covered = covered_distributed(xy, sites, 1000.0, client=client)
    np.testing.assert_array_equal(covered, expected <= 1000.0)
    assert 0 < covered.mean() < 1
    assert np.isinf(nearest_distributed(xy[:10], np.empty((0, 2)), client=client)).all()


def test_gap_distance_and_coverage_through_distributed_costs(client, bradford_points,
                                                             layers):
    points = bradford_points.assign(population=1.0, imd_decile=np.arange(
        len(bradford_points)) % 10 + 1)
    sites = layers["ward"].geometry.representative_point().array
    engine_costs = DistributedCosts(client)
    got = reach_by_decile(points, sites, "population", 1000.0, costs=engine_costs)
    pd.testing.assert_frame_equal(got, reach_by_decile(points, sites, "population", 1000.0))
    assert 0 < got["within_pct"].iloc[-1] < 100
    pairs, expected = engine_costs.within(sites, sites, 5000.0), \
        STRAIGHT_LINE.within(sites, sites, 5000.0)
    for got_part, expected_part in zip(pairs, expected, strict=True):
        np.testing.assert_array_equal(got_part, expected_part)


def test_connects_to_a_scheduler_by_address(bradford_points, layers):
    points = bradford_points.head(2000)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"}
                      ) as cluster, \
            client_for(cluster.scheduler_address) as client:
        assert client.scheduler.address == cluster.scheduler_address
        got = join_distributed(points, layers, client=client)
    assert_geodataframe_equal(got, join(points, layers))


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "no-port-here"])
def test_bad_address_is_one_line(address, monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(AssetmapError, match="cannot reach the dask scheduler") as error, \
            client_for(address):
        pass
    assert "\n" not in str(error.value) and address in str(error.value)


def test_layer_in_another_crs_fails_before_any_work(bradford_points, layers):
    wgs84 = {"ward": layers["ward"].to_crs("EPSG:4326")}
    with pytest.raises(AssetmapError, match="load both in one CRS"):
        join_distributed(bradford_points, wgs84, client=object())


def test_the_join_command_gives_the_same_files_on_the_dask_engine(data, tmp_path):
    """``assetmap join --engine dask`` on a local cluster writes what the in-memory engine
    writes."""
    from click.testing import CliRunner

    from assetmap.cli.main import cli

    registers = [str(data / "bradford" / "gp_practices.csv"),
                 str(data / "bradford" / "schools.csv")]
    for name in ("memory", "dask"):
        result = CliRunner().invoke(cli, ["join", *registers, "--layers", "ward,lsoa",
                                          "--engine", name, "-o",
                                          str(tmp_path / f"{name}.csv")])
        assert result.exit_code == 0, result.output
    for suffix in (".csv", "_counts.csv", "_audit.csv"):
        assert (tmp_path / f"memory{suffix}").read_bytes() == \
            (tmp_path / f"dask{suffix}").read_bytes()
