"""Points to areas, for many layers at once, and counts of assets per area and category.

Each point gets exactly one area per layer, with a match flag:

``inside``
    strictly inside one area (one ``STRtree`` query of all points per layer);
``border``
    on the boundary of an area (between neighbours, or on the outer edge): among the
    areas it touches, the one with the lowest code, so the answer never depends on file
    order;
``nearest``
    outside every area but within the tolerance (generalised outlines cut corners): the
    nearest area, ties to the lowest code;
``outside``
    further than the tolerance from every area: no area.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from .errors import AssetmapError
from .registers import TEXT
from .settings import EDGE_TOLERANCE_M

#: Fewer polygons than this per thread are queried in one.
_POLYGONS_PER_THREAD = 2_000
MATCHES = np.array(["inside", "border", "nearest", "outside"], dtype=object)
INSIDE, BORDER, NEAREST, OUTSIDE = range(4)
_MATCH_TEXT = pa.array(MATCHES.tolist())  # as Arrow text, taken by code


def assign_areas(
    points: np.ndarray,
    polygons: np.ndarray,
    *,
    rank: np.ndarray | None = None,
    tolerance: float = EDGE_TOLERANCE_M,
    points_tree: shapely.STRtree | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which polygon each point lies in.

    Parameters
    ----------
    points, polygons
        Shapely geometry arrays in the same projected CRS.
    rank
        Tie-break order of the polygons (lowest wins); default: their position.
    tolerance
        Largest distance (CRS units) at which a point outside all polygons takes the nearest.
    points_tree
        An ``STRtree`` of ``points``, to share between layers.

    Returns
    -------
    area, match
        Position of each point's polygon (-1 for none) and its match code
        (index into :data:`MATCHES`).
    """
    rank = np.arange(len(polygons)) if rank is None else np.asarray(rank)
    tree = points_tree if points_tree is not None else shapely.STRtree(points)
    polygon_i, point_i = _contained(tree, polygons)
    area = np.full(len(points), -1, dtype=np.int64)
    area[point_i] = polygon_i
    resolve_ties(area, point_i, polygon_i, np.zeros(len(point_i)), rank)
    match = np.where(area >= 0, INSIDE, OUTSIDE).astype(np.int8)

    rest = np.flatnonzero(area < 0)
    if len(rest) and len(polygons):
        near_i, polygon_j = shapely.STRtree(polygons).query(
            points[rest], predicate="dwithin", distance=tolerance)
        point_j = rest[near_i]
        distance = shapely.distance(points[point_j], polygons[polygon_j])
        area[point_j] = polygon_j
        resolve_ties(area, point_j, polygon_j, distance, rank)
        touched = np.unique(point_j)
        on_border = shapely.intersects(points[touched], polygons[area[touched]])
        match[touched] = np.where(on_border, BORDER, NEAREST)
    return area, match


def _contained(tree: shapely.STRtree, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(polygons, predicate="contains")``, the polygons split over every core
    (GEOS releases the GIL): the same pairs in the same order."""
    parts = min(os.cpu_count() or 1, -(-len(polygons) // _POLYGONS_PER_THREAD))
    if parts <= 1:
        return tree.query(polygons, predicate="contains")
    starts = np.linspace(0, len(polygons), parts + 1).astype(int)
    with ThreadPoolExecutor(parts) as pool:
        found = list(pool.map(lambda a, b: tree.query(polygons[a:b], predicate="contains"),
                              starts[:-1], starts[1:]))
    offsets = zip(found, starts[:-1], strict=True)
    return (np.concatenate([polygon_i + a for (polygon_i, _), a in offsets]),
            np.concatenate([point_i for _, point_i in found]))


def resolve_ties(area, point_i, polygon_i, distance, rank) -> None:
    """Where a point has several candidate polygons, keep the closest, then the lowest rank.

    ``area`` (one entry per point) is updated in place from the candidate pairs
    ``(point_i, polygon_i)`` and their ``distance``.
    """
    counts = np.bincount(point_i, minlength=len(area))
    tied = counts[point_i] > 1
    if not tied.any():
        return
    p, q, d = point_i[tied], polygon_i[tied], distance[tied]
    order = np.lexsort((rank[q], d, p))
    first = np.r_[True, p[order][1:] != p[order][:-1]]
    area[p[order][first]] = q[order][first]


def code_rank(codes: np.ndarray) -> np.ndarray:
    """Each code's position in sorted order: the tie-break rank (lowest code wins)."""
    return np.argsort(np.argsort(codes, kind="stable"), kind="stable")


def join(
    assets: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tolerance: float = EDGE_TOLERANCE_M,
) -> gpd.GeoDataFrame:
    """Tag each asset with ``<layer>_code``, ``<layer>_name`` and ``<layer>_match`` per layer.

    ``layers`` maps a layer name to a boundary layer (``code``, ``name``, geometry) in the
    assets' CRS. Points are indexed once and queried with every layer's polygons. A register
    column with one of those names is kept as ``<column> (register)``.
    """
    points = np.asarray(assets.geometry.array)
    tree = shapely.STRtree(points)
    columns = {}
    for name, layer in layers.items():
        check_layer(name, layer, assets.crs)
        codes = layer["code"].to_numpy()
        area, match = assign_areas(points, np.asarray(layer.geometry.array),
                                   rank=code_rank(codes), tolerance=tolerance,
                                   points_tree=tree)
        for field in ("code", "name"):  # taken as text, missing where no area
            columns[f"{name}_{field}"] = pd.array(layer[field].to_numpy(), dtype=TEXT).take(
                area, allow_fill=True)
        columns[f"{name}_match"] = pd.array(_MATCH_TEXT.take(match), dtype=TEXT)
    extra = pd.DataFrame(columns, index=assets.index)
    kept = assets.drop(columns=assets.geometry.name)
    taken = {column.casefold() for column in extra.columns}
    kept.columns = [f"{c} (register)" if str(c).casefold() in taken else c for c in kept.columns]
    return gpd.GeoDataFrame(pd.concat([kept, extra], axis=1), geometry=assets.geometry,
                            crs=assets.crs)


def check_layer(name: str, layer: gpd.GeoDataFrame, crs) -> None:
    """A one-line error unless ``layer`` is a boundary layer with areas, in ``crs``."""
    missing = [c for c in ("code", "name") if c not in layer.columns]
    if not isinstance(layer, gpd.GeoDataFrame) or missing:
        raise AssetmapError(f"layer {name!r} is not a boundary layer (no "
                            f"{' or '.join(missing) or 'geometry'} column; read it with "
                            "load_layer)")
    if layer.crs != crs:
        raise AssetmapError(f"layer {name!r} is in {layer.crs}, the assets in {crs}: "
                            "load both in one CRS")
    if layer.empty:
        raise AssetmapError(f"layer {name!r} has no areas")


def count_by_area(
    joined: pd.DataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    categories: list[str] | None = None,
) -> pd.DataFrame:
    """Assets per area and category, for every area of every layer (zeros included).

    Returns one row per area: ``layer``, ``code``, ``name``, a column per category
    (``categories`` order, default: those present) and ``total``.
    """
    category = joined["category"].fillna("(no category)") if "category" in joined else \
        pd.Series("(no category)", index=joined.index)
    columns = list(categories or []) + sorted(set(category.unique()) - set(categories or []))
    tables = []
    for name, layer in layers.items():
        if f"{name}_code" not in joined:
            raise AssetmapError(f"the assets are not joined to layer {name!r} (no column "
                                f"{name}_code): join them first")
        counts = category.groupby([joined[f"{name}_code"], category]).size().unstack(
            fill_value=0).reindex(index=layer["code"], columns=columns, fill_value=0)
        counts["total"] = counts.sum(axis=1)
        table = layer[["code", "name"]].reset_index(drop=True).join(
            counts.reset_index(drop=True))
        tables.append(table.assign(layer=name))
    table = pd.concat(tables, ignore_index=True)
    return table[["layer", "code", "name", *columns, "total"]]
