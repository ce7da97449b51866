"""Demand: people, children and deprivation per small area, the points where they live, and
their totals per planning area.

Small-area tables (population, deprivation) are joined by code to a small-area layer
(LSOAs). Each small area's people are then spread evenly over *demand points* inside it —
postcode points (a dasymetric proxy: more postcodes, more homes) or the representative
points of smaller areas (output areas) — and a small area with no point inside keeps one at
its representative point, so no one is lost. Every measure per planning area is a sum over
demand points, after one of three ways of moving them (:data:`AGGREGATIONS`):

``best_fit``
    each small area goes whole to the planning area holding most of its demand points
    (largest overlap, measured in people); totals add up exactly.
``apportion``
    each demand point counts in the planning area it lies in, so a small area's people are
    split in proportion to its demand points there (dasymetric apportionment).
``area``
    each small area's people are split in proportion to the share of its area in each
    planning area (areal interpolation with ``tobler``); distances still come from the
    demand points lying in the planning area.

``auto`` takes ``best_fit`` where the small areas nest in the planning areas (best fit
would put at most :data:`NEST_TOLERANCE` of residents in another area than the one their
demand point lies in), else ``apportion``.

Everything is measured in the working CRS (EPSG:27700).
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph
import shapely

from .boundaries import BoundarySet, layer_spec, load_layer
from .errors import AssetmapError
from .join import assign_areas, code_rank
from .postcodes import PostcodeIndex
from .registers import parse_numbers, read_register
from .settings import AGGREGATIONS, EDGE_TOLERANCE_M, WORK_CRS

#: ``auto`` takes best fit when it misplaces at most this share of residents.
NEST_TOLERANCE = 0.01
#: Column roles of small-area tables and the header patterns that find them (case-insensitive;
#: the MHCLG/ONS long headers, e.g. "Dependent Children aged 0-15: mid 2015 ...").
DEMAND_ROLES = {
    "population": r"total population|^(population|all ages|all persons|all usual residents)"
                  r"\s*($|[:(,])",
    "children": r"\bchild|\baged? 0 ?(-|to) ?15\b|\bunder 16\b",
    "imd_rank": r"(index of multiple deprivation|\bimd\b).*\brank\b",
    "imd_decile": r"(index of multiple deprivation|\bimd\b).*\bdecile\b",
}
_DESCRIBE = {
    "best_fit": "best fit: each {small} goes whole to the {layer} holding most of its "
                "{points} ({misplaced:.1%} of residents live in another {layer} than their "
                "{small}'s)",
    "apportion": "apportioned by {points} (dasymetric): each {small}'s people are split "
                 "evenly over its {points}, each counted in the {layer} it lies in",
    "area": "apportioned by area (tobler.area_interpolate): each {small}'s people are split "
            "by the share of its area in each {layer}; distances from the {points} lying "
            "in the {layer}",
}


@dataclass
class Demand:
    """People and deprivation per small area.

    ``areas`` has the small-area layer's ``code``, ``name`` and geometry, then
    ``population``, ``children`` (when the tables have them), the tables' other count
    columns, ``imd_rank``, ``imd_decile`` and the deprivation table's other columns
    (domain ranks and deciles), under their own headers. ``counts`` lists the people-count
    columns (summed when moved to planning areas), ``columns`` the source column of each
    role, ``parts`` the sets of count columns adding up to ``population`` in every small
    area (age bands: see :func:`additive_parts`).
    """

    areas: gpd.GeoDataFrame
    counts: list[str]
    columns: dict[str, str]
    sources: list[str]
    warnings: list[str] = field(default_factory=list)
    parts: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    """Where each demand point counts in one planning layer, and how it was decided.

    ``area`` is the position of each point's area in the layer (-1: none), ``small`` that
    of its small area; ``misplaced`` the share of residents best fit puts in another area
    than the one their point lies in; ``points`` names the demand points.
    """

    method: str
    area: np.ndarray
    small: np.ndarray
    misplaced: float
    points: str = "points"

    def describe(self, layer: str, small: str = "small area") -> str:
        """One sentence on the method, for the outputs."""
        return _DESCRIBE[self.method].format(small=small, layer=layer, points=self.points,
                                             misplaced=self.misplaced)

    @property
    def label(self) -> str:
        """The method in a few words (the ``aggregation`` column)."""
        return {"best_fit": f"best fit by {self.points}",
                "apportion": f"apportioned by {self.points}",
                "area": "apportioned by area"}[self.method]


def read_demand(
    population: str | Path,
    small_areas: gpd.GeoDataFrame,
    *,
    deprivation: str | Path | None = None,
    columns: Mapping[str, str] | None = None,
) -> Demand:
    """Read small-area tables (CSV or XLSX) and join them by code to their layer.

    Parameters
    ----------
    population
        People per small area: total, children 0-15, any other count columns (e.g. the
        IoD2019 population denominators, ``population_lsoa.csv``). A blank total or
        children cell counts as 0, with a warning naming its row.
    small_areas
        The layer the tables' codes refer to (``code``, ``name``, geometry), e.g. LSOAs.
    deprivation
        IMD rank and decile per small area, and any domain columns (``imd2019_lsoa.csv``);
        without a decile column, an error.
    columns
        ``{role: header}`` where detection (:data:`DEMAND_ROLES`) gets it wrong; roles are
        ``code`` (default: the column whose values match most of the layer's codes),
        ``population``, ``children``, ``imd_rank`` and ``imd_decile``.
    """
    columns = dict(columns or {})
    unknown = set(columns) - {"code", *DEMAND_ROLES}
    if unknown:
        raise AssetmapError(f"unknown demand column role {sorted(unknown)[0]!r}; roles are "
                            f"code, {', '.join(DEMAND_ROLES)}")
    codes = small_areas["code"].to_numpy()
    tables = {"population": _read_table(population, codes, columns.get("code"))}
    if deprivation is not None:
        tables["deprivation"] = _read_table(deprivation, codes, columns.get("code"))
    roles = _find_roles(tables, columns)
    if "population" not in roles:
        raise AssetmapError("cannot tell which column holds the total population; name its "
                            "column", file=tables["population"].path)
    if deprivation is not None and "imd_decile" not in roles:
        raise AssetmapError("cannot tell which column holds the IMD decile; name its column",
                            file=tables["deprivation"].path)
    areas = small_areas[["code", "name"]].copy()
    counts, warned = [], []
    for kind, table in tables.items():
        own = {column: role for role, (source, column) in roles.items() if source == kind}
        numbers = table.numbers.rename(columns=own)
        if kind == "population":
            counts += [c for c in ("population", "children") if c in numbers]
            counts += [c for c in table.numbers.columns if c not in own]
            warned += _blank_warnings(table, [column for column, role in own.items()
                                              if role in ("population", "children")])
        areas = areas.join(numbers.drop(columns=[c for c in numbers if c in areas]), on="code")
        warned += _code_warnings(table.numbers.index, codes, table.path)
    areas[counts] = areas[counts].fillna(0.0)
    areas = gpd.GeoDataFrame(areas, geometry=small_areas.geometry.to_numpy(), crs=small_areas.crs)
    areas.attrs.update(small_areas.attrs)  # its source: see boundaries.Parts.of
    return Demand(areas, counts, {role: column for role, (_, column) in roles.items()},
                  [str(table.path) for table in tables.values()], warned,
                  additive_parts(areas, counts))


def additive_parts(areas: pd.DataFrame, counts: Sequence[str], most: int = 10
                   ) -> list[list[str]]:
    """Every set of two or more count columns (among the first ``most`` besides
    ``population``) adding up to ``population`` (to 0.5) in every area: e.g. children 0-15,
    16-59 and 60+. A published total then gives away a single hidden band."""
    others = [c for c in counts if c != "population"][:most]
    if "population" not in counts or len(others) < 2 or not areas["population"].any():
        return []
    values = areas[others].to_numpy(dtype=float)
    total = areas["population"].to_numpy(dtype=float)
    return [[others[i] for i in chosen]
            for size in range(2, len(others) + 1)
            for chosen in itertools.combinations(range(len(others)), size)
            if np.allclose(values[:, chosen].sum(axis=1), total, rtol=0, atol=0.5)]


@dataclass(frozen=True)
class _Table:
    """A small-area table: its cells as text (by row number), the column of area codes, and
    its numeric columns by code."""

    path: Path
    text: pd.DataFrame
    code: str
    numbers: pd.DataFrame


def _read_table(path: str | Path, codes: np.ndarray, code: str | None) -> _Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    register = read_register(path)
    text = register.cells
    if code is None:
        known = pa.array(codes, pa.string())
        matches = pd.Series({column: pc.sum(pc.is_in(pa.array(text[column].array), known)
                                            ).as_py() or 0 for column in text.columns})
        if matches.max() == 0:
            raise AssetmapError(f"no column holds codes of the small-area layer (such as "
                                f"{codes[0]!r}); name its column", file=register.path)
        code = str(matches.idxmax())
    elif code not in text.columns:
        raise AssetmapError(f"no such column; columns are {', '.join(text.columns)}",
                            file=register.path, column=code)
    keys = text[code]
    twice = keys.duplicated() & (keys != "")
    if twice.any():
        raise AssetmapError(f"area {keys[twice].iloc[0]!r} is listed twice",
                            file=register.path, row=int(keys.index[twice][0]), column=code)
    cells = text.drop(columns=code)
    numbers = pd.DataFrame({column: parse_numbers(cells[column]) for column in cells},
                           index=cells.index)  # commas group thousands
    numeric = (numbers.notna() | (cells == "")).all() & (cells != "").any()
    numbers = numbers.loc[keys != "", numeric[numeric].index].set_axis(keys[keys != ""])
    return _Table(register.path, text, code, numbers)


def _find_roles(tables: Mapping[str, _Table],
                explicit: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{role: (table kind, column)}``: explicit choices, then header patterns.

    A column found for a role must hold numbers: the first cell that is not one is an error.
    """
    roles: dict[str, tuple[str, str]] = {}
    for role, pattern in DEMAND_ROLES.items():
        taken = {column for _, column in roles.values()}
        for kind, table in tables.items():
            if role in explicit:
                found = [c for c in table.text.columns if c == explicit[role]]
            else:
                found = [c for c in table.text.columns if c not in taken
                         and re.search(pattern, str(c), re.IGNORECASE)]
            if found:
                _require_numbers(table, found[0])
                roles[role] = (kind, found[0])
                break
        if role in explicit and role not in roles:
            raise AssetmapError(f"no column {explicit[role]!r} for {role} in "
                                f"{', '.join(str(t.path) for t in tables.values())}")
    return roles


def _require_numbers(table: _Table, column: str) -> None:
    if column in table.numbers.columns:
        return
    cells = table.text[column]
    bad = (cells != "") & np.isnan(parse_numbers(cells))
    raise AssetmapError(f"{cells[bad].iloc[0]!r} is not a number", file=table.path,
                        row=int(bad.index[bad][0]), column=column)


def _code_warnings(table_codes: pd.Index, codes: np.ndarray, path: Path) -> list[str]:
    extra = table_codes.difference(codes)
    missing = pd.Index(codes).difference(table_codes)
    notes = []
    if len(extra):
        notes.append(f"{path.name}: {len(extra)} areas are not in the small-area layer, "
                     f"not used: {_some(extra)}")
    if len(missing):
        notes.append(f"{path.name}: {len(missing)} small areas are not in the table, counted "
                     f"as 0: {_some(missing)}")
    return notes


def _blank_warnings(table: _Table, columns: Sequence[str]) -> list[str]:
    """A warning for each of ``columns`` with blank cells (counted as 0), naming their rows."""
    keys = table.text[table.code]
    notes = []
    for column in columns:
        blank = (table.text[column] == "") & (keys != "")
        if blank.any():
            rows = _some([f"{row} ({code})" for row, code in keys[blank].items()])
            where = f"row {rows}" if blank.sum() == 1 else f"{blank.sum()} rows: {rows}"
            notes.append(f"{table.path.name}, column {column!r}: blank, counted as 0, in "
                         f"{where}")
    return notes


def _some(items: Sequence[str], most: int = 5) -> str:
    """The first ``most`` items, and '...' when there are more."""
    return ", ".join(items[:most]) + (" ..." if len(items) > most else "")


def postcode_points(postcodes: str | Path | PostcodeIndex,
                    small_areas: gpd.GeoDataFrame) -> np.ndarray:
    """The positioned postcodes (Code-Point Open or any postcode CSV) in the areas' extent."""
    index = postcodes if isinstance(postcodes, PostcodeIndex) else PostcodeIndex.from_file(
        postcodes)
    west, south, east, north = small_areas.total_bounds
    inside = ((index.easting >= west) & (index.easting <= east)
              & (index.northing >= south) & (index.northing <= north))
    return shapely.points(np.column_stack([index.easting[inside],  # faster than two
                                           index.northing[inside]]))


def area_points(layer: gpd.GeoDataFrame) -> np.ndarray:
    """A representative point inside each area of a layer (e.g. output areas)."""
    return shapely.point_on_surface(np.asarray(layer.geometry.array))


def demand_points(demand: Demand, points: np.ndarray, *, kind: str = "points"
                  ) -> gpd.GeoDataFrame:
    """Spread each small area's people evenly over the points inside it.

    Points outside every small area are dropped; a small area with no point inside gets
    one at its representative point. Returns one row per point: ``small`` (position of
    its small area), ``code``, each count column (the area's count / its number of
    points), ``imd_rank``, ``imd_decile`` (when known) and geometry; ``attrs["kind"]``
    names the points (``"postcodes"``, ``"oa"``) in method descriptions.
    """
    areas = demand.areas
    polygons = np.asarray(areas.geometry.array)
    small, _ = assign_areas(points, polygons, rank=code_rank(areas["code"].to_numpy()),
                            tolerance=0.0)  # a border goes where place_demand puts it
    empty = np.setdiff1d(np.arange(len(areas)), small)
    points = np.concatenate([points[small >= 0], area_points(areas.iloc[empty])])
    small = np.concatenate([small[small >= 0], empty])
    share = 1.0 / np.bincount(small, minlength=len(areas))[small]
    frame = pd.DataFrame({"small": small, "code": areas["code"].to_numpy()[small]})
    for column in demand.counts:
        frame[column] = areas[column].to_numpy(dtype=float)[small] * share
    for column in ("imd_rank", "imd_decile"):
        if column in areas:
            frame[column] = areas[column].to_numpy(dtype=float)[small]
    spread = gpd.GeoDataFrame(frame, geometry=points, crs=areas.crs)
    spread.attrs["kind"] = kind
    return spread


def locate_demand(
    demand: Demand,
    points: str,
    boundaries: BoundarySet,
    *,
    postcodes: str | Path | PostcodeIndex | None = None,
    crs: str = WORK_CRS,
) -> gpd.GeoDataFrame:
    """:func:`demand_points` at ``"postcodes"`` (``postcodes``, default the boundary set's
    postcode file) or at the representative points of a layer's areas (``"oa"``, a file,
    ``NAME=PATH``: see :func:`assetmap.boundaries.layer_spec`)."""
    if points == "postcodes":
        source = postcodes or boundaries.postcodes
        if source is None:
            raise AssetmapError("no postcode file for demand points; give --postcodes or "
                                "--points LAYER")
        return demand_points(demand, postcode_points(source, demand.areas), kind=points)
    spec = layer_spec(boundaries, points)
    return demand_points(demand, area_points(load_layer(spec, crs=crs)),
                         kind=f"{spec.name} points")


def place_demand(
    points: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    method: str = "auto",
    *,
    tolerance: float = EDGE_TOLERANCE_M,
    small_areas: gpd.GeoDataFrame | None = None,
) -> Placement:
    """Where each demand point counts in ``layer`` under an aggregation method.

    The point-in-area rules are :func:`assetmap.assign_areas`'s (a border goes to the lowest
    code; a point up to ``tolerance`` metres outside every area to the nearest). When
    ``layer`` is ``small_areas`` (the demand's areas, the same features), each point is
    where :func:`demand_points` put it already, by the same rules: not tested again. When
    ``layer`` was dissolved from exactly those small areas (``attrs["parts"]``, as
    districts from LSOAs), each point counts in the area its small area is part of.
    """
    if method not in AGGREGATIONS:
        raise AssetmapError(f"unknown aggregation {method!r}; use {', '.join(AGGREGATIONS)}")
    codes = layer["code"].to_numpy()
    rank = code_rank(codes)
    parts = layer.attrs.get("parts")
    dissolved = None if parts is None or small_areas is None else parts.of(small_areas)
    if small_areas is not None and _same_features(layer, small_areas):
        own = points["small"].to_numpy()
    elif dissolved is not None:
        own = dissolved[points["small"].to_numpy()]
    else:
        own, _ = assign_areas(np.asarray(points.geometry.array),
                              np.asarray(layer.geometry.array), rank=rank, tolerance=tolerance)
    small = points["small"].to_numpy()
    placed = own >= 0
    pairs = pd.DataFrame({"small": small[placed], "area": own[placed],
                          "rank": rank[own[placed]], "people": points["population"][placed]})
    people = pairs.groupby(["small", "area", "rank"], as_index=False)["people"].sum()
    best = people.sort_values(["small", "people", "rank"], ascending=[True, False, True]
                              ).drop_duplicates("small")
    whole = np.full(small.max() + 1 if len(small) else 0, -1)
    whole[best["small"].to_numpy()] = best["area"].to_numpy()
    whole = whole[small]
    weights = points["population"].to_numpy()
    misplaced = weights[whole != own].sum() / weights.sum() if weights.sum() else 0.0
    if method == "auto":
        method = "best_fit" if misplaced <= NEST_TOLERANCE else "apportion"
    return Placement(method, whole if method == "best_fit" else own, small, float(misplaced),
                     points.attrs.get("kind", "points"))


def _same_features(layer: gpd.GeoDataFrame, other: gpd.GeoDataFrame) -> bool:
    """Whether two layers hold the same features in the same order: the same codes and the
    very same geometry objects (as a layer and the demand read on it do)."""
    if len(layer) != len(other) or not np.array_equal(layer["code"].to_numpy(),
                                                      other["code"].to_numpy()):
        return False
    same = map(lambda a, b: a is b, layer.geometry.array, other.geometry.array)
    return all(same)


def sum_by_area(
    values: pd.DataFrame,
    placement: Placement,
    layer: gpd.GeoDataFrame,
    small_areas: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Totals of per-point ``values`` (columns) in each area of ``layer``, one row per area.

    ``best_fit`` and ``apportion`` sum the points where ``placement`` counts them; ``area``
    sums them per small area and interpolates by area with ``tobler``.
    """
    columns = list(values.columns)
    values = values.to_numpy(dtype=float)
    if placement.method != "area":
        return _bincount(placement.area, values, len(layer), columns)
    from tobler.area_weighted import area_interpolate  # heavy (rasterio): only when asked

    per_small = _bincount(placement.small, values, len(small_areas), columns)
    source = gpd.GeoDataFrame(per_small, geometry=small_areas.geometry.to_numpy(),
                              crs=small_areas.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's FutureWarning on integer diagonals
        moved = area_interpolate(source, layer.reset_index(drop=True),
                                 extensive_variables=columns)
    return pd.DataFrame(moved[columns].to_numpy(dtype=float), columns=columns)


def _bincount(groups: np.ndarray, values: np.ndarray, size: int,
              columns: Sequence[str]) -> pd.DataFrame:
    keep = groups >= 0
    return pd.DataFrame({column: np.bincount(groups[keep], weights=values[keep, i],
                                             minlength=size)
                         for i, column in enumerate(columns)})


def aggregate_demand(
    demand: Demand,
    points: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    placement: Placement,
) -> pd.DataFrame:
    """People and need per area of ``layer``.

    One row per area: ``code``, ``name``, ``aggregation``, the count columns, and when the
    deprivation table is known ``imd_rank_mean`` (population-weighted mean IMD rank, 1 =
    most deprived in England), ``decile1_pct`` and ``decile1_2_pct`` (% of residents in
    small areas in the most deprived 10% and 20% nationally).
    """
    frame = pd.DataFrame(points[demand.counts])
    need = "imd_decile" in points
    if need:
        people, rank = points["population"], points["imd_rank"]
        frame["_ranked"] = people.where(rank.notna(), 0.0)
        frame["_rank"] = (people * rank).fillna(0.0)
        frame["_decile1"] = people.where(points["imd_decile"] <= 1, 0.0)
        frame["_decile1_2"] = people.where(points["imd_decile"] <= 2, 0.0)
    sums = sum_by_area(frame, placement, layer, demand.areas)
    table = pd.DataFrame({"code": layer["code"].to_numpy(), "name": layer["name"].to_numpy(),
                          "aggregation": placement.label})
    table[demand.counts] = sums[demand.counts].to_numpy()
    if need:
        ranked = sums["_ranked"].where(sums["_ranked"] > 0)
        table["imd_rank_mean"] = sums["_rank"] / ranked
        people = sums["population"].where(sums["population"] > 0)
        table["decile1_pct"] = 100 * sums["_decile1"] / people
        table["decile1_2_pct"] = 100 * sums["_decile1_2"] / people
    return table


def shared_people(
    placements: Mapping[str, Placement],
    layers: Mapping[str, gpd.GeoDataFrame],
    small_areas: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """The sets of areas of two layers that hold the same people: whose counts add up alike.

    For each pair of layers, areas sharing a demand point (with ``area`` aggregation: a
    small area overlapping both) are linked; each connected set holding areas of both
    layers is one identity, Σ counts of its areas in one layer = Σ in the other (a ward and
    its LSOAs; for layers that do not nest, larger sets, up to the whole layers). Returns
    ``identity``, ``layer`` and ``code``, one row per area and identity.
    """
    by_small = any(placement.method == "area" for placement in placements.values())
    held = {name: _holders(placements[name], layers[name], small_areas, by_small)
            for name in placements}
    rows, next_id = [], 0
    for first, second in itertools.combinations(held, 2):
        size = len(layers[first])
        pairs = held[first].merge(held[second], on="unit", suffixes=("_a", "_b"))
        nodes = size + len(layers[second])
        graph = scipy.sparse.coo_matrix(
            (np.ones(len(pairs)), (pairs["area_a"], size + pairs["area_b"])),
            shape=(nodes, nodes))
        _, label = scipy.sparse.csgraph.connected_components(graph, directed=False)
        kept = np.unique(np.concatenate([pairs["area_a"], size + pairs["area_b"]]))
        ids = pd.factorize(label[kept])[0] + next_id  # every link joins the two layers
        next_id = ids.max() + 1 if len(ids) else next_id
        codes = np.concatenate([layers[first]["code"].to_numpy(),
                                layers[second]["code"].to_numpy()])
        rows.append(pd.DataFrame({"identity": ids,
                                  "layer": np.where(kept < size, first, second),
                                  "code": codes[kept]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["identity", "layer", "code"])


def _holders(placement: Placement, layer: gpd.GeoDataFrame, small_areas: gpd.GeoDataFrame,
             by_small: bool) -> pd.DataFrame:
    """``unit`` (a demand point, or with ``by_small`` a small area) and each ``area`` of the
    layer holding some of its people."""
    if not by_small:
        placed = np.flatnonzero(placement.area >= 0)
        return pd.DataFrame({"unit": placed, "area": placement.area[placed]})
    if placement.method != "area":
        placed = placement.area >= 0
        return pd.DataFrame({"unit": placement.small[placed],
                             "area": placement.area[placed]}).drop_duplicates()
    small = np.asarray(small_areas.geometry.array)
    polygons = np.asarray(layer.geometry.array)
    unit, area = shapely.STRtree(polygons).query(small, predicate="intersects")
    shared = shapely.area(shapely.intersection(small[unit], polygons[area])) > 0
    return pd.DataFrame({"unit": unit[shared], "area": area[shared]})
