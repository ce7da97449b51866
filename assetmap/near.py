"""The assets nearest to residents' places, with straight-line distance and walking time.

A place is a postcode (``BD7 1DP``, ``bd71dp``), an easting and northing
(``414000,433000``) or a latitude and longitude (``53.79,-1.75``). Places are located as a
register's rows are (:func:`assetmap.locate`), so they get the same audit: unknown
postcodes with a near miss say "did you mean", coordinates outside Great Britain are
rejected, latitude and longitude typed the wrong way round are swapped with a note. The
nearest assets of each category are found for every place at once, by one ``cKDTree``
query per category.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .costs import STRAIGHT_LINE, Costs, StraightLine
from .errors import AssetmapError
from .locate import locate
from .outputs import atomic_path, write_table
from .postcodes import PostcodeIndex
from .registers import Register
from .settings import WORK_CRS

#: Walking speed (km/h) of the walking times, unless another is given: 4.8 km/h, 3 mph.
WALK_KMH = 4.8
#: Columns of the places audit.
PLACE_COLUMNS = ["row", "place", "kind", "status", "reason", "notes", "easting", "northing"]
#: Two numbers: an easting and northing, or a latitude and longitude.
_PAIR = r"^\s*([+-]?\d+(?:\.\d*)?)\s*(?:[,;]\s*|\s+)([+-]?\d+(?:\.\d*)?)\s*$"
#: Register columns that say how the asset was read, not what it is.
_BOOKKEEPING = ["row", "method"]
_FORMATS = (".csv", ".json")


def parse_places(
    texts: Sequence[str],
    postcodes: PostcodeIndex | None,
    *,
    rows: Sequence[int] | None = None,
    fix_postcodes: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Places as typed to British National Grid points: ``(xy, audit)``.

    Two numbers are a latitude and longitude when they could be degrees (else an easting
    and northing); anything else is a postcode, looked up in ``postcodes``. ``xy`` is
    ``(n, 2)``, NaN for places not located; the audit has a row per place
    (:data:`PLACE_COLUMNS`; ``row`` is ``rows``, default 1 to n) with ``kind`` (postcode,
    grid, latlon), ``status`` (located or rejected) and the ``reason``, as
    :func:`assetmap.locate` words it (an unknown postcode one look-alike character from a
    known one says "did you mean"; with ``fix_postcodes`` that one is used, with a note).
    """
    text = pd.Series(list(texts), dtype=object).fillna("").astype(str)
    index = pd.RangeIndex(1, len(text) + 1) if rows is None else pd.Index(rows)
    text.index = index
    pair = text.str.extract(_PAIR)
    a, b = (pd.to_numeric(pair[i], errors="coerce").to_numpy(float) for i in (0, 1))
    numbers = np.isfinite(a) & np.isfinite(b)
    degrees = numbers & (((np.abs(a) <= 90) & (np.abs(b) <= 180))
                         | ((np.abs(a) <= 180) & (np.abs(b) <= 90)))
    grid = numbers & ~degrees
    blank = text.str.strip() == ""
    kind = np.select([blank, degrees, grid], ["", "latlon", "grid"], "postcode")
    cells = pd.DataFrame({
        "postcode": text.where(kind == "postcode", ""),
        "easting": pair[0].where(grid, ""), "northing": pair[1].where(grid, ""),
        "latitude": pair[0].where(degrees, ""), "longitude": pair[1].where(degrees, ""),
        "id": index.astype(str),  # places are never duplicates of one another
    }, index=index)
    register = Register(Path("places"), cells, {c: c for c in cells.columns})
    located, audit = locate(register, postcodes=postcodes, fix_postcodes=fix_postcodes)
    xy = np.full((len(text), 2), np.nan)
    xy[index.get_indexer(located["row"])] = shapely.get_coordinates(located.geometry)
    places = pd.DataFrame({"row": index, "place": text.to_numpy(), "kind": kind,
                           "status": audit["status"].to_numpy(),
                           "reason": np.where(blank, "no place given", audit["reason"]),
                           "notes": audit["notes"].to_numpy(),
                           "easting": xy[:, 0], "northing": xy[:, 1]})
    return xy, places


def nearest_assets(
    xy: np.ndarray,
    assets: gpd.GeoDataFrame,
    *,
    n: int = 5,
    within: float | None = None,
    categories: Sequence[str] | None = None,
    speed_kmh: float = WALK_KMH,
    costs: Costs = STRAIGHT_LINE,
) -> pd.DataFrame:
    """The ``n`` nearest assets of each category to each place, nearest first.

    ``xy`` are places in British National Grid metres (rows with NaN are skipped);
    ``assets`` located assets (:func:`assetmap.load_assets`), of ``categories`` only when
    given (labels; assets with no category are a group of their own). ``within`` (metres)
    leaves out assets further away. Straight-line distance is one ``cKDTree`` k-nearest
    query per category; another ``costs`` backend is asked for its pairs ``within``.

    One row per place and asset: ``place`` (the row of ``xy``), ``category``, ``rank``
    (1 = nearest within the category), ``name``, ``distance_m``, ``walk_minutes`` at
    ``walk_speed_kmh``, then the asset's other columns (type, id, postcode, source, the
    register's own). Equal distances are ranked in the assets' order (which of assets
    equally far makes the last of the ``n`` is the tree's choice).
    """
    if n < 1:
        raise AssetmapError(f"the number of nearest assets must be at least 1, not {n}")
    if speed_kmh <= 0:
        raise AssetmapError(f"the walking speed must be above 0 km/h, not {speed_kmh}")
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if assets.crs is not None and assets.crs != WORK_CRS:
        assets = assets.to_crs(WORK_CRS)
    if categories is not None:
        assets = assets[assets["category"].isin(list(categories))]
    limit = np.inf if within is None else float(within)
    known = np.flatnonzero(np.isfinite(xy).all(axis=1))
    groups = pd.Series(np.arange(len(assets))).groupby(
        assets["category"].to_numpy(), dropna=False, sort=True).indices
    coords = shapely.get_coordinates(assets.geometry)
    found = [(np.empty(0, dtype=np.intp),) * 3 + (np.empty(0),)]  # none: empty arrays
    for code, rows in enumerate(groups.values()):  # categories in order
        i, j, cost = _nearest_pairs(xy[known], coords[rows], n, limit, costs)
        found.append((known[i], np.full(len(i), code), rows[j], cost))
    place, code, asset, distance = (np.concatenate(part) for part in zip(*found, strict=True))
    order = np.lexsort((asset, distance, code, place))
    place, code, asset, distance = place[order], code[order], asset[order], distance[order]
    group = place * len(groups) + code
    rank = np.arange(len(group)) - np.searchsorted(group, group) + 1
    table = pd.DataFrame(assets.iloc[asset].drop(
        columns=[assets.geometry.name, *(c for c in _BOOKKEEPING if c in assets)]))
    first = ["category", "name", "type", "id", "postcode", "source"]
    table = table[[c for c in first if c in table] + [c for c in table if c not in first]]
    table.insert(0, "place", place)
    table.insert(2, "rank", rank)
    table.insert(4, "distance_m", distance)
    table.insert(5, "walk_minutes", distance / (speed_kmh * 1000 / 60))
    table.insert(6, "walk_speed_kmh", float(speed_kmh))
    return table.reset_index(drop=True)


def _nearest_pairs(origins: np.ndarray, targets: np.ndarray, n: int, limit: float,
                   costs: Costs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, cost)``: up to ``n`` targets ``j`` per origin ``i``, costing at most
    ``limit``."""
    k = min(n, len(targets))
    if not k or not len(origins):
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), np.empty(0)
    if isinstance(costs, StraightLine):
        cost, j = cKDTree(targets).query(origins, k=k, distance_upper_bound=limit,
                                         workers=costs.workers)
        cost, j = cost.reshape(len(origins), k), j.reshape(len(origins), k)
        i = np.repeat(np.arange(len(origins)), k).reshape(len(origins), k)
        found = np.isfinite(cost)
        return i[found], j[found], cost[found]
    i, j, cost = costs.within(origins, targets, limit)
    order = np.lexsort((j, cost, i))
    i, j, cost = i[order], j[order], cost[order]
    first = np.arange(len(i)) - np.searchsorted(i, i) < n
    return i[first], j[first], cost[first]


def near_output(path: str | Path) -> Path:
    """``path`` as the file :func:`write_near` writes, or a one-line error for a format it
    does not (``.csv`` and ``.json``)."""
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise AssetmapError("unknown output format; use .csv or .json", file=path)
    return path


def write_near(results: pd.DataFrame, places: pd.DataFrame, path: str | Path) -> Path:
    """Write nearest assets (``results`` and ``places`` as :func:`assetmap.near_places`
    returns them) to CSV, safe for Excel (each place, located or not, once per asset found),
    or JSON (``places`` and ``nearest``, lists of records). Distances are whole metres,
    walking times to 0.1 minute."""
    path = near_output(path)
    results = results.assign(distance_m=results["distance_m"].round().astype("Int64"),
                             walk_minutes=results["walk_minutes"].round(1))
    if path.suffix.lower() == ".csv":
        own = [c for c in results.columns if c not in ("row", "place")]
        merged = places.drop(columns=["easting", "northing"]).merge(
            results[["row", *own]], on="row", how="left")
        return write_table(merged, path)
    text = json.dumps({"distance": "straight line",
                       "places": json.loads(places.to_json(orient="records")),
                       "nearest": json.loads(results.to_json(orient="records"))},
                      ensure_ascii=False, indent=1)
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return path
