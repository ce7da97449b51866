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
import shapely

from .errors import AssetmapError
from .registers import categorical, categorical_take
from .settings import EDGE_TOLERANCE_M

#: Fewer polygons than this per thread are queried in one.
_POLYGONS_PER_THREAD = 2_000
#: Points indexed per tree: one tree of 1.7 million points holds 110 MB, and slices of them
#: find the same pairs as fast (each point is still tested only against the areas whose
#: bounds hold it).
_POINTS_PER_TREE = 500_000
MATCHES = np.array(["inside", "border", "nearest", "outside"], dtype=object)
INSIDE, BORDER, NEAREST, OUTSIDE = range(4)


def assign_areas(
    points: np.ndarray,
    polygons: np.ndarray,
    *,
    rank: np.ndarray | None = None,
    tolerance: float = EDGE_TOLERANCE_M,
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

    Returns
    -------
    area, match
        Position of each point's polygon (-1 for none) and its match code
        (index into :data:`MATCHES`).
    """
    rank = np.arange(len(polygons)) if rank is None else np.asarray(rank)
    polygon_i, point_i = _contained(points, polygons)
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


def _contained(points: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(polygon, point)`` where the polygon contains the point, the points
    indexed :data:`_POINTS_PER_TREE` at a time."""
    found = [(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))]
    for start in range(0, len(points), _POINTS_PER_TREE):
        polygon_i, point_i = _queried(shapely.STRtree(points[start:start + _POINTS_PER_TREE]),
                                      polygons)
        found.append((polygon_i, point_i + start))
    return (np.concatenate([polygon_i for polygon_i, _ in found]),
            np.concatenate([point_i for _, point_i in found]))


def _queried(tree: shapely.STRtree, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    assets' CRS. A register column with one of those names is kept as
    ``<column> (register)``.
    """
    points = np.asarray(assets.geometry.array)
    columns = {}
    for name, layer in layers.items():
        check_layer(name, layer, assets.crs)
        codes = layer["code"].to_numpy()
        area, match = assign_areas(points, np.asarray(layer.geometry.array),
                                   rank=code_rank(codes), tolerance=tolerance)
        for field in ("code", "name"):  # each area's text held once, missing where no area
            columns[f"{name}_{field}"] = categorical_take(layer[field].to_numpy(), area)
        columns[f"{name}_match"] = categorical(match, MATCHES)
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
    category = (joined["category"] if "category" in joined else pd.Series(
        None, index=joined.index, dtype=object)).astype("category")
    if category.hasnans:
        if "(no category)" not in category.cat.categories:
            category = category.cat.add_categories("(no category)")
        category = category.fillna("(no category)")
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
