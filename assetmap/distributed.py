"""Beyond one machine: the join and nearest-site distances on a ``dask.distributed`` cluster.

Points are split into spatially compact partitions (in Hilbert-curve order), the small side
(boundary layers, target sites) is scattered once to every worker, and the in-memory step
(:func:`assetmap.join.join`, a :class:`~assetmap.costs.Costs` backend's ``nearest``) runs on
each partition. Each point's answer depends only on that point and the broadcast side, so
the results equal the in-memory engine's row for row; they come back in the input's order.

Points too many for one process go through GeoParquet on disk: :func:`partition_points`
(Hilbert shuffle on the cluster, each row keeping its original position in
:data:`POSITION`) then :func:`join_parquet`. Needs the ``dask`` extra
(``dask-geopandas``, ``distributed``, ``pyarrow``).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .costs import STRAIGHT_LINE, Costs, coordinates
from .errors import AssetmapError
from .join import check_layer, join
from .settings import EDGE_TOLERANCE_M

#: Column carrying each point's position in the input through :func:`partition_points`.
POSITION = "_assetmap_position"
#: Points per partition when none is given (a partition's join stays well under 1 GiB).
PARTITION_ROWS = 250_000
#: Every how many points one goes into the sample that cuts the Hilbert curve into partitions.
SAMPLE_STEP = 100
#: The largest Hilbert distance (dask-geopandas' default level, 16).
HILBERT_MAX = 2**32 - 1
#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT_S = 10


def _needs(module: str):
    """``module``, or a one-line error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise AssetmapError(f"the dask engine needs {module}: pip install "
                            "'assetmap[dask]'") from None


@contextmanager
def client_for(address: str | None = None, *, workers: int = 2, memory_limit: str = "4GiB",
               processes: bool = True) -> Iterator:
    """A ``distributed.Client``, closed on exit: connected to the scheduler at ``address``,
    else to a local cluster of ``workers`` single-threaded workers capped at
    ``memory_limit`` each (processes unless ``processes=False``; no dashboard), shut down
    on exit."""
    dist = _needs("distributed")
    if address:
        try:
            client = dist.Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, ValueError) as error:
            raise AssetmapError(f"cannot reach the dask scheduler at {address!r}: "
                                f"{str(error).splitlines()[0]}") from None
        with client:
            yield client
        return
    try:
        # no dashboard; the scheduler's health endpoints on any free port, not 8787
        cluster = dist.LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                    memory_limit=memory_limit, dashboard_address=None,
                                    scheduler_kwargs={"dashboard_address": ":0"})
    except ValueError as error:
        raise AssetmapError(f"cannot start a local dask cluster: {error}") from None
    with cluster, dist.Client(cluster) as client:
        yield client


def _using(client):
    """``client`` as given, or a local cluster for the duration of one call."""
    return nullcontext(client) if client is not None else client_for()


def spatial_parts(points, npartitions: int) -> list[np.ndarray]:
    """Positions of ``points`` (shapely points or ``(n, 2)`` coordinates) in Hilbert-curve
    order, cut into ``npartitions`` runs of neighbouring points (missing and empty
    geometries last)."""
    geometry = np.asarray(points)
    if geometry.dtype != object:
        geometry = shapely.points(coordinates(geometry))
    placed = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    distance = np.full(len(geometry), np.iinfo(np.int64).max)  # the unplaced last
    if placed.any():
        distance[placed] = gpd.GeoSeries(geometry[placed]).hilbert_distance().to_numpy()
    order = np.argsort(distance, kind="stable")
    return np.array_split(order, max(1, min(npartitions, len(order))))


def _npartitions(client, rows: int, npartitions: int | None) -> int:
    if npartitions is not None:
        return npartitions
    return max(sum(client.nthreads().values()), math.ceil(rows / PARTITION_ROWS))


def _map_in_order(client, function, chunks, shared, **kwargs) -> list:
    """``function(chunk, shared, **kwargs)`` for every chunk on the cluster, ``shared``
    scattered once to every worker; results in chunk order."""
    [broadcast] = client.scatter([shared], broadcast=True, hash=False)
    scattered = client.scatter(chunks, hash=False)
    return client.gather(client.map(function, scattered, shared=broadcast, pure=False,
                                    **kwargs))


def _join_part(points: gpd.GeoDataFrame, shared, *, tolerance: float) -> gpd.GeoDataFrame:
    return join(points, shared, tolerance=tolerance)


def _join_text(points: gpd.GeoDataFrame, shared, *, tolerance: float) -> gpd.GeoDataFrame:
    """The join with its new columns as text (missing: NA), so every partition's Parquet
    schema is the same."""
    return join(points, shared, tolerance=tolerance).astype(dict.fromkeys(_added(shared),
                                                                          "str"))


def _added(layers: Mapping) -> list[str]:
    """The columns :func:`assetmap.join.join` adds for ``layers``."""
    return [f"{name}_{part}" for name in layers for part in ("code", "name", "match")]


def join_distributed(
    points: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tolerance: float = EDGE_TOLERANCE_M,
    client=None,
    npartitions: int | None = None,
) -> gpd.GeoDataFrame:
    """:func:`assetmap.join.join` on a dask cluster: the same columns and rows, in order.

    ``points`` are cut into ``npartitions`` Hilbert-ordered partitions (default: one per
    worker thread, at most :data:`PARTITION_ROWS` points each) and ``layers`` scattered
    once to every worker. ``client``: a ``distributed.Client`` (default: a local cluster
    for this call, :func:`client_for`).
    """
    for name, layer in layers.items():
        check_layer(name, layer, points.crs)
    with _using(client) as client:
        parts = spatial_parts(points.geometry.array, _npartitions(client, len(points),
                                                                   npartitions))
        joined = _map_in_order(client, _join_part, [points.iloc[p] for p in parts],
                               dict(layers), tolerance=tolerance)
    result = pd.concat(joined).iloc[np.argsort(np.concatenate(parts), kind="stable")]
    # each partition's categories are its own values: typed again as one frame, as join()
    # types it
    for column in _added(layers):
        result[column] = pd.Categorical(result[column].to_numpy(object))
    return result


def _nearest_part(origins: np.ndarray, shared, *, costs: Costs) -> np.ndarray:
    return costs.nearest(origins, shared)


def nearest_distributed(
    origins,
    targets,
    *,
    costs: Costs = STRAIGHT_LINE,
    client=None,
    npartitions: int | None = None,
) -> np.ndarray:
    """``costs.nearest(origins, targets)`` on a dask cluster: origins (shapely points or
    ``(n, 2)`` coordinates) in Hilbert-ordered partitions, targets scattered once."""
    xy, sites = coordinates(origins), coordinates(targets)
    with _using(client) as client:
        parts = spatial_parts(xy, _npartitions(client, len(xy), npartitions))
        distances = _map_in_order(client, _nearest_part, [xy[p] for p in parts],
                                  sites, costs=costs)
    result = np.empty(len(xy))
    result[np.concatenate(parts)] = np.concatenate(distances)
    return result


@dataclass(frozen=True)
class DistributedCosts:
    """A :class:`~assetmap.costs.Costs` backend whose ``nearest`` runs on a dask cluster
    (:func:`nearest_distributed`), so the gap analysis' distance and coverage do too
    (``gap_analysis(..., costs=DistributedCosts(client))``); ``within`` stays in-process."""

    client: object
    base: Costs = STRAIGHT_LINE

    def nearest(self, origins, targets) -> np.ndarray:
        return nearest_distributed(origins, targets, costs=self.base, client=self.client)

    def within(self, origins, targets, limit: float):
        return self.base.within(origins, targets, limit)


def covered_distributed(origins, targets, threshold: float, **options) -> np.ndarray:
    """Whether each origin has a target within ``threshold`` (the gap analysis' coverage),
    on a dask cluster; options as for :func:`nearest_distributed`."""
    return nearest_distributed(origins, targets, **options) <= threshold


def _numbered(points: gpd.GeoDataFrame, starts, partition_info=None) -> gpd.GeoDataFrame:
    """A partition with each row's position in the whole frame (``starts``: the first
    position of each partition)."""
    start = starts[partition_info["number"]] if partition_info else 0
    return points.assign(**{POSITION: np.arange(start, start + len(points), dtype="int64")})


def partition_points(points, folder: str | Path, *, npartitions: int, client=None) -> Path:
    """Write ``points`` to ``folder`` as GeoParquet in ``npartitions`` Hilbert-ordered
    partitions, each row keeping its position in the input in :data:`POSITION`.

    ``points``: a GeoDataFrame, a dask-geopandas GeoDataFrame or a GeoParquet file or
    folder (read in partitions: never whole in this process). The shuffle runs on the
    cluster (``client``, default: a local one for this call).
    """
    dask, dask_geopandas = _needs("dask"), _needs("dask_geopandas")

    if isinstance(points, gpd.GeoDataFrame):
        frame = dask_geopandas.from_geopandas(points, npartitions=npartitions)
    elif isinstance(points, str | Path):
        frame = dask_geopandas.read_parquet(points)
    else:
        frame = points
    with _using(client) as client, dask.config.set(scheduler=client):
        starts = np.r_[0, np.cumsum(frame.map_partitions(len).compute())[:-1]]
        frame = frame.map_partitions(_numbered, starts, meta=_numbered(frame._meta, [0]))
        distance = frame.hilbert_distance(total_bounds=frame.total_bounds.compute())
        # divisions worked out here, not inside set_index: dask computing them while
        # planning the graph deadlocks an in-process scheduler on Python 3.11
        sample = distance.map_partitions(lambda s: s.iloc[::SAMPLE_STEP]).compute()
        cuts = np.unique(np.quantile(sample, np.linspace(0, 1, npartitions + 1)[1:-1]))
        divisions = [0, *cuts.astype("int64").tolist(), HILBERT_MAX]
        frame.set_index(distance, divisions=divisions).to_parquet(folder)
    return Path(folder)


def join_parquet(
    source: str | Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    output: str | Path,
    *,
    tolerance: float = EDGE_TOLERANCE_M,
    client=None,
) -> Path:
    """:func:`assetmap.join.join` of partitioned GeoParquet points (:func:`partition_points`)
    on a dask cluster, written partition by partition to ``output`` (GeoParquet), with
    ``layers`` scattered once to every worker. Rows keep :data:`POSITION`."""
    dask, dask_geopandas = _needs("dask"), _needs("dask_geopandas")

    frame = dask_geopandas.read_parquet(source)
    for name, layer in layers.items():
        check_layer(name, layer, frame.crs)
    with _using(client) as client, dask.config.set(scheduler=client):
        [shared] = client.scatter([dict(layers)], broadcast=True)
        frame.map_partitions(_join_text, shared, tolerance=tolerance,
                             meta=_join_text(frame._meta, layers, tolerance=tolerance)
                             ).to_parquet(output)
    return Path(output)
