"""Gap analysis: provision of each asset category against where people live, how many they
are, how many are children and how deprived their neighbourhoods are, per planning area.

For each planning area and category (see :func:`gap_table`):

- **provision**: assets in the area, per 10,000 residents and, for child-facing categories,
  per 10,000 children;
- **distance**: straight-line distance (EPSG:27700) from every demand point to the nearest
  asset of the category, wherever it is; the median and 90th percentile weighted by the
  category's *group* (children for child-facing categories, else residents);
- **coverage**: the share of residents and of children within the category's threshold
  (``coverage_m`` in the taxonomy, or given);
- **need** (:func:`assetmap.demand.aggregate_demand`): population-weighted IMD rank, the
  share of residents in the most deprived 10% and 20% of small areas in England;
- **gap score** (:class:`GapFormula`): the group beyond the threshold, deprived people
  weighing more, as 0-100; areas ranked by it, and flagged as priority gaps above a cut-off;
- **accessibility** (optional, when assets carry a capacity): two-step floating catchment
  (PySAL ``access``), capacity within the threshold per 1,000 of the group.

:func:`publish` rounds and, on request, suppresses small numbers for published outputs;
the analysis itself never uses suppressed values.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
import shapely

from .costs import STRAIGHT_LINE, Costs
from .demand import Demand, Placement, aggregate_demand, sum_by_area
from .errors import AssetmapError, first_line
from .join import count_by_area
from .locate import known_category
from .outputs import gap_outputs, write_geo_layers, write_table, write_xlsx
from .taxonomy import Taxonomy, load_taxonomy

#: Published cells withheld by :func:`publish` (the GSS convention for "confidential").
SUPPRESSED = "[c]"
#: Percentages: the count column each is a share of.
_SHARES = {"coverage_residents_pct": "population", "coverage_children_pct": "children",
           "decile1_pct": "population", "decile1_2_pct": "population"}
#: Rates per head: the count column each is per.
_RATES = {"assets_per_10k_residents": "population", "assets_per_10k_children": "children"}
#: Distances over the category's group (children or residents): hidden with its count.
_OF_GROUP = ("distance_median_m", "distance_p90_m")
_DECIMALS = {"distance_median_m": 0, "distance_p90_m": 0, "imd_rank_mean": 0,
             "assets_per_10k_residents": 2, "assets_per_10k_children": 2,
             "places_per_1000": 2}
#: Measure columns, in the order they end the table (after the people counts).
_ORDER = ("assets", "assets_per_10k_residents", "assets_per_10k_children", "threshold_m",
          "distance_median_m", "distance_p90_m", "coverage_residents_pct",
          "coverage_children_pct", "imd_rank_mean", "decile1_pct", "decile1_2_pct",
          "unmet_need", "places_per_1000", "gap_score", "rank", "priority", "formula")
_FORMATS = {"assets": "0", "threshold_m": "#,##0", "distance_median_m": "#,##0",
            "distance_p90_m": "#,##0", "imd_rank_mean": "#,##0", "gap_score": "0.0",
            "rank": "0", "assets_per_10k_residents": "0.00", "assets_per_10k_children": "0.00",
            "places_per_1000": "0.00", **dict.fromkeys(_SHARES, "0.0")}


@dataclass(frozen=True)
class GapFormula:
    """The gap score, its weights and the priority cut-off.

    Per area, with ``w`` the group's people at each demand point (children for child-facing
    categories, else residents), ``d`` its distance to the nearest asset, ``T`` the
    threshold and ``n`` = 1 where its small area is in IMD deciles 1 to ``deciles``::

        gap_score = 100 * sum(w * [d > T] * (access + need * n)) / ((access + need) * sum(w))

    0 when everyone is within reach; 100 when everyone is beyond it in a deprived area.
    ``need = 0`` gives the % beyond the threshold; ``access = 0`` the % beyond it *and*
    deprived. Areas scoring at least ``priority`` are priority gaps.
    """

    access: float = 1.0
    need: float = 1.0
    deciles: int = 2
    priority: float = 25.0

    def __post_init__(self) -> None:
        if self.access < 0 or self.need < 0 or self.access + self.need <= 0:
            raise AssetmapError("gap score weights must be >= 0, and not both 0")
        if not 1 <= self.deciles <= 10:
            raise AssetmapError("deprived deciles must be 1 to 10")

    def describe(self, group: str = "people", threshold: float | None = None) -> str:
        """The formula with its numbers, as printed in the outputs."""
        beyond = f"beyond {threshold:,.0f} m" if threshold is not None else "beyond T"
        return (f"gap_score = 100 × Σ {group} {beyond} × ({self.access:g} + {self.need:g} × "
                f"[IMD decile 1-{self.deciles}]) / ({self.access + self.need:g} × Σ {group}); "
                f"priority if ≥ {self.priority:g}")


@dataclass
class GapResult:
    """The gap table (one row per layer, area and category) and everything behind it."""

    table: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]
    assets: gpd.GeoDataFrame
    audit: pd.DataFrame
    demand: Demand
    points: gpd.GeoDataFrame
    placements: dict[str, Placement]
    method: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    shared: pd.DataFrame | None = None  # areas of two layers holding the same people

    def published(self, suppress_below: int | None = None) -> pd.DataFrame:
        """The table as published (:func:`publish`), its counts, age bands and the layers'
        shared areas known."""
        return publish(self.table, counts=self.demand.counts, suppress_below=suppress_below,
                       parts=self.demand.parts, shared=self.shared)


def weighted_quantiles(
    values: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    size: int,
    quantiles: Sequence[float] = (0.5, 0.9),
) -> np.ndarray:
    """Weighted quantiles of ``values`` per group: an array of ``size`` x ``len(quantiles)``.

    The q-quantile of a group is its smallest value at which the cumulative weight reaches
    q of the group's total; NaN for a group without weight. Groups are 0 to ``size - 1``
    (rows with a negative group are ignored).
    """
    keep = (groups >= 0) & (weights > 0)
    order = np.argsort(values[keep], kind="stable")  # by value, then stably by group, as
    by = groups[keep][order]  # np.lexsort would, faster; 16-bit groups are radix sorted
    order = order[np.argsort(by.astype(np.uint16) if size <= 1 << 16 else by, kind="stable")]
    value, weight, group = values[keep][order], weights[keep][order], groups[keep][order]
    total = np.bincount(group, weights=weight, minlength=size)
    before = np.cumsum(total) - total
    cumulative = np.minimum((np.cumsum(weight) - before[group]) / total[group], 1.0)
    key = group + cumulative
    out = np.full((size, len(quantiles)), np.nan)
    has = np.flatnonzero(total > 0)
    for j, q in enumerate(quantiles):
        at = np.searchsorted(key, has + q - 1e-9, side="left")
        out[has, j] = value[at]
    return out


def reach_by_decile(points: gpd.GeoDataFrame, sites: np.ndarray, group: str,
                    threshold: float, costs: Costs = STRAIGHT_LINE) -> pd.DataFrame:
    """How far the ``group``'s people (``population`` or ``children`` of the demand
    ``points``) live from the nearest of ``sites``, by IMD decile of their small area:
    ``decile`` (1-10, then ``"all"``), ``people``, ``distance_median_m``, ``within_pct``
    (within ``threshold`` metres)."""
    distance = costs.nearest(points.geometry.to_numpy(), sites)
    weight = points[group].to_numpy(float)
    deciles = points["imd_decile"].to_numpy(float) if "imd_decile" in points \
        else np.full(len(points), np.nan)
    known = np.nan_to_num(deciles, nan=0).astype(int)
    groups = np.concatenate([np.where(known > 0, known - 1, -1), np.full(len(points), 10)])
    weights, values = np.tile(weight, 2), np.tile(distance, 2)
    people = np.bincount(groups[groups >= 0], weights=weights[groups >= 0], minlength=11)
    within = np.bincount(groups[groups >= 0], minlength=11,
                         weights=(weights * (values <= threshold))[groups >= 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "decile": [*range(1, 11), "all"], "people": people,
            "distance_median_m": weighted_quantiles(values, weights, groups, 11, (0.5,))[:, 0],
            "within_pct": 100 * within / people})


def two_step_fca(
    origins: np.ndarray,
    demand: np.ndarray,
    sites: np.ndarray,
    capacity: np.ndarray,
    catchment: float,
    costs: Costs = STRAIGHT_LINE,
) -> np.ndarray:
    """Two-step floating catchment accessibility of each origin (PySAL ``access``).

    Each site's ratio is its capacity over the demand of the origins within ``catchment``;
    an origin's accessibility is the sum of the ratios of the sites within ``catchment``
    (capacity per person; 0 with no site in reach).
    """
    from access import Access  # only when a capacity column is given

    origin, site, metres = costs.within(origins, sites, catchment)
    cost = pd.DataFrame({"origin": origin, "site": site, "metres": metres})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its pandas deprecation warnings
        model = Access(
            demand_df=pd.DataFrame({"origin": np.arange(len(demand)), "demand": demand}),
            demand_index="origin", demand_value="demand",
            supply_df=pd.DataFrame({"site": np.arange(len(capacity)), "capacity": capacity}),
            supply_index="site", supply_value="capacity",
            cost_df=cost, cost_origin="origin", cost_dest="site", cost_name="metres")
        result = model.two_stage_fca(name="fca", max_cost=catchment)
    return result.iloc[:, 0].reindex(np.arange(len(demand))).fillna(0.0).to_numpy()


def resolve_categories(categories: str | Sequence[str] | None, taxonomy: Taxonomy,
                       assets: pd.DataFrame) -> list[str]:
    """Category labels from free text (as registers' types are read); default: those present
    (none is a one-line error naming the assets' types and the taxonomy's categories)."""
    if categories is None:
        present = set(assets["category"].dropna())
        labels = [label for label in taxonomy.labels() if label in present]
        if not labels:
            types = assets["type"].dropna().astype(str).unique() if "type" in assets else []
            found = (f"their types are {_listed(types)}" if len(types) else
                     "the registers have no type column" if len(assets) else
                     "no asset was located")
            raise AssetmapError(f"no located asset has a category of the taxonomy ({found}); "
                                f"name one with --category: {', '.join(taxonomy.labels())}")
        return labels
    asked = [categories] if isinstance(categories, str) else list(categories)
    return list(dict.fromkeys(known_category(text, taxonomy) for text in asked))


def _listed(values: Sequence[str], most: int = 5) -> str:
    quoted = [repr(str(v)) for v in values]
    return ", ".join(quoted[:most]) + (f" and {len(quoted) - most} more" if len(quoted) > most
                                       else "")


def gap_table(
    assets: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    demand: Demand,
    points: gpd.GeoDataFrame,
    placements: Mapping[str, Placement],
    *,
    categories: str | Sequence[str] | None = None,
    taxonomy: Taxonomy | None = None,
    threshold: float | Mapping[str, float] | None = None,
    formula: GapFormula = GapFormula(),
    capacity: str | None = None,
    costs: Costs = STRAIGHT_LINE,
) -> tuple[pd.DataFrame, list[str]]:
    """Provision, distance, coverage, need and gap score per area, layer and category.

    Parameters
    ----------
    assets
        Located, categorised assets (points in the working CRS) joined to ``layers``
        (``<layer>_code``), e.g. :func:`assetmap.join_registers`'s; each is counted in the
        area the join gave it.
    layers
        Planning layers (``code``, ``name``, geometry) by name.
    demand, points
        :func:`assetmap.read_demand` and :func:`assetmap.demand_points`.
    placements
        :func:`assetmap.place_demand` of ``points`` for each layer.
    categories
        Categories to analyse (any spelling the taxonomy matches); default those present.
    threshold
        Metres, for all categories or by category label; default the taxonomy's
        ``coverage_m``.
    formula
        The gap score's weights and priority cut-off.
    capacity
        Asset column holding capacity (places): adds ``places_per_1000``, the two-step
        floating catchment accessibility within the threshold.
    costs
        Travel costs between people and assets (:mod:`assetmap.costs`; straight line).

    Returns
    -------
    table, warnings
        One row per layer, area and category (see the README for the columns), ranked
        within each layer and category (1 = largest gap); and warnings.
    """
    taxonomy = taxonomy or load_taxonomy()
    labels = resolve_categories(categories, taxonomy, assets)
    info = taxonomy.categories.set_index("label")
    notes: list[str] = []
    unjoined = [name for name in layers if f"{name}_code" not in assets]
    if unjoined:
        raise AssetmapError(f"assets are not joined to layer {unjoined[0]!r}; join them first "
                            "(assetmap.join)")
    counts = count_by_area(assets, layers, categories=labels)
    xy = shapely.get_coordinates(points.geometry.array)
    deprived = (points["imd_decile"] <= formula.deciles).to_numpy() if "imd_decile" in points \
        else np.zeros(len(points), dtype=bool)
    values, plans = pd.DataFrame(index=points.index), []
    for i, label in enumerate(labels):
        child_facing = bool(info.at[label, "child_facing"])
        group = "children" if child_facing and "children" in points else "population"
        mine = assets[assets["category"] == label]
        if mine.empty:
            notes.append(f"no assets of category {label!r}: everyone is beyond reach")
        plan = _Category(str(i), label, _threshold(threshold, label, info), group,
                         child_facing, costs.nearest(xy, mine.geometry.array),
                         points[group].to_numpy())
        within = plan.distance <= plan.metres
        beyond = plan.weight * ~within
        values[f"{i}_residents"] = points["population"] * within
        values[f"{i}_children"] = points["children"] * within if "children" in points else 0
        values[f"{i}_unmet"] = beyond * deprived
        values[f"{i}_score"] = beyond * (formula.access + formula.need * deprived)
        places = _capacity(mine, capacity, label, notes)
        if places is not None:
            values[f"{i}_places"] = plan.weight * two_step_fca(
                xy, plan.weight, mine.geometry.array, places, plan.metres, costs=costs)
        plans.append(plan)
    tables = []
    for name, layer in layers.items():
        placement = placements[name]
        people = aggregate_demand(demand, points, layer, placement)
        lost = points["population"].sum() - people["population"].sum()
        if lost > 0.001 * points["population"].sum():
            notes.append(f"{name}: {lost:,.0f} residents ({lost / points['population'].sum():.1%}"
                         f") live outside every area, and are not counted")
        sums = sum_by_area(values, placement, layer, demand.areas)
        count = counts[counts["layer"] == name].set_index("code")
        for plan in plans:
            quantiles = weighted_quantiles(plan.distance, plan.weight, placement.area,
                                           len(layer))
            tables.append(_rows(plan, people.assign(layer=name), sums, count, quantiles,
                                formula))
    table = pd.concat(tables, ignore_index=True)
    return table.sort_values(["layer", "category", "rank"], key=_in_given_order(table),
                             ignore_index=True), notes


@dataclass(frozen=True)
class _Category:
    """One category under analysis, and each demand point's distance and weight for it."""

    key: str  # prefix of its columns in the per-point values
    label: str
    metres: float
    group: str  # the count column of the people it serves: children or population
    child_facing: bool
    distance: np.ndarray
    weight: np.ndarray


def _in_given_order(table: pd.DataFrame):
    """A sort key keeping layers and categories in the order they first appear."""
    def key(column: pd.Series) -> pd.Series:
        if column.name == "rank":
            return column
        return column.map({v: i for i, v in enumerate(table[column.name].unique())})
    return key


def _threshold(threshold, label: str, info: pd.DataFrame) -> float:
    if isinstance(threshold, Mapping):
        return float(threshold.get(label, info.at[label, "coverage_m"]))
    return float(info.at[label, "coverage_m"] if threshold is None else threshold)


def _capacity(sites: pd.DataFrame, column: str | None, label: str,
              notes: list[str]) -> np.ndarray | None:
    """Each site's capacity (0 where not a number), or None when the category has none."""
    if column is None:
        return None
    match = [c for c in sites.columns if str(c).casefold() == column.casefold()]
    if not match:
        raise AssetmapError(f"no capacity column {column!r} in the registers")
    places = pd.to_numeric(sites[match[0]].astype(str).str.replace(",", "").str.strip(),
                           errors="coerce")
    if places.notna().sum() == 0:
        notes.append(f"{label}: no asset has a capacity, no accessibility index")
        return None
    if places.isna().any():
        notes.append(f"{label}: {places.isna().sum()} assets have no capacity, counted as 0")
    return places.fillna(0.0).clip(lower=0).to_numpy()


def _rows(plan: _Category, people: pd.DataFrame, sums: pd.DataFrame, count: pd.DataFrame,
          quantiles: np.ndarray, formula: GapFormula) -> pd.DataFrame:
    """The table rows of one layer (``people``: its areas) and category."""
    key, group = plan.key, plan.group
    rows = people.assign(category=plan.label,
                         group="children" if group == "children" else "residents")
    population = rows["population"].where(rows["population"] > 0)
    children = rows["children"].where(rows["children"] > 0) if "children" in rows else np.nan
    assets = count[plan.label].reindex(rows["code"]).to_numpy()
    rows["assets"] = assets
    rows["assets_per_10k_residents"] = 1e4 * assets / population
    rows["assets_per_10k_children"] = 1e4 * assets / children if plan.child_facing else np.nan
    rows["threshold_m"] = plan.metres
    rows["distance_median_m"], rows["distance_p90_m"] = quantiles[:, 0], quantiles[:, 1]
    rows["coverage_residents_pct"] = 100 * sums[f"{key}_residents"] / population
    rows["coverage_children_pct"] = 100 * sums[f"{key}_children"] / children
    total = rows[group].where(rows[group] > 0)
    rows["unmet_need"] = sums[f"{key}_unmet"]
    if f"{key}_places" in sums:
        rows["places_per_1000"] = 1e3 * sums[f"{key}_places"] / total
    rows["gap_score"] = 100 * sums[f"{key}_score"] / ((formula.access + formula.need) * total)
    order = rows.sort_values(["gap_score", "unmet_need", "code"],
                             ascending=[False, False, True], na_position="last").index
    rows.loc[order, "rank"] = np.arange(1, len(rows) + 1)
    rows["rank"] = rows["rank"].astype(int)
    rows["priority"] = rows["gap_score"] >= formula.priority
    rows["formula"] = formula.describe("children" if group == "children" else "residents",
                                       plan.metres)
    first = ["layer", "code", "name", "category", "group", "aggregation"]
    last = [c for c in _ORDER if c in rows]
    return rows[first + [c for c in rows.columns if c not in first + last] + last]


def publish(
    table: pd.DataFrame,
    *,
    counts: Sequence[str] = ("population", "children"),
    suppress_below: int | None = None,
    parts: Sequence[Sequence[str]] = (),
    shared: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The table as published: rounded, and with small numbers suppressed on request.

    With ``suppress_below=N`` (the rule in full: :data:`DISCLOSURE_RULE`):

    - **primary**: people counts (``counts`` and ``unmet_need``) above 0 and below N once
      rounded to 0.1 (fractional apportioned counts too) are replaced by
      :data:`SUPPRESSED`, and so is a share whose people counted, not counted, or base
      number 0.1 to N-1;
    - **secondary**: the counts, the people behind each share and ``unmet_need`` add up
      in each row (``population`` = the sum of each of ``parts``, e.g. age bands) and in
      each set of areas of two layers holding the same people (``shared``:
      :func:`assetmap.demand.shared_people`). Wherever a sum has one hidden cell, or the
      sums together fix a hidden cell's value (its null-space component is 0), one more
      cell of such a sum is hidden, until nothing changes: no hidden cell can then be
      worked out from the published ones;
    - **derived**: every figure computed from a hidden count is hidden (its shares, rates
      per head, distances, the IMD mean, the gap score and places per 1,000 of the
      group); ``unmet_need`` and the coverage of its group are hidden together.

    Zero counts are shown; ``rank`` and ``priority`` stay (they bound a score, never give
    it). The analysis itself never sees suppressed values.
    """
    out = table.replace([np.inf, -np.inf], np.nan)
    people = [c for c in (*counts, "unmet_need") if c in out]
    decimals = {**dict.fromkeys(people, 1), **dict.fromkeys(_SHARES, 1), "gap_score": 1,
                **_DECIMALS}
    hide = pd.DataFrame(False, index=out.index, columns=out.columns)
    if suppress_below:
        _suppress(out, hide, people, suppress_below, [list(group) for group in parts
                                                      if set(group) <= set(out)],
                  shared)
    out = out.round({c: d for c, d in decimals.items() if c in out})
    return out.astype({c: object for c in hide.columns[hide.any()]}).mask(hide, SUPPRESSED)


#: How :func:`publish` suppresses, as the method sheet says it ({n}: the threshold).
DISCLOSURE_RULE = (
    "primary: people counts (population, age bands, unmet_need; apportioned fractions "
    "too) from 0.1 to below {n} once rounded to 0.1 are shown as [c], and so is a % whose "
    "people counted, not counted or base are in that range. Secondary, repeated until "
    "nothing changes: wherever published figures add up — a row's total and its age "
    "bands; the areas of two layers holding the same people (an LSOA and its ward, a ward "
    "and its constituency; for layers that do not nest, larger sets up to the whole "
    "layers) — for each count, the people behind each % (within reach, in deprived "
    "areas) and unmet_need, a sum with exactly one hidden cell, or a hidden cell that all "
    "the sums together fix to one value, gets one more of its cells hidden (the one "
    "sharing most sums with it, then the smallest non-zero): no hidden cell can be worked "
    "out from published ones. Derived: every figure computed from a hidden count (its %, "
    "rates per head, distances, IMD mean, gap score, places per 1,000) is hidden; "
    "unmet_need and the coverage of its group are hidden together. Zeros, rank and "
    "priority are shown.")
#: Columns the same in every category's row of an area.
_PER_AREA = ("decile1_pct", "decile1_2_pct", "imd_rank_mean")


def _suppress(out: pd.DataFrame, hide: pd.DataFrame, people: list[str], below: int,
              parts: list[list[str]], shared: pd.DataFrame | None) -> None:
    """Mark in ``hide`` the cells :func:`publish` suppresses (see there)."""
    def small(values: pd.Series) -> pd.Series:  # 0.1 to N-1 people, once rounded
        return (values.round(1) > 0) & (values < below)

    shares = {c: base for c, base in _SHARES.items() if c in out and base in out}
    for column in people:
        hide[column] = small(out[column])
    for column, base in shares.items():
        part = out[column] / 100 * out[base]
        hide[column] = small(part) | small(out[base] - part) | small(out[base])
    # additive cells: each count, the people behind each share, unmet_need
    cells = {column: out[column] for column in people}
    cells |= {column: out[column] / 100 * out[base] for column, base in shares.items()}
    cells = pd.DataFrame(cells).fillna(0.0)
    columns = list(cells.columns)
    value = cells.to_numpy().ravel()  # cell = row position x len(columns) + column position
    key = np.where(np.round(value, 1) > 0, value, np.inf)  # the smallest non-zero first
    area = [out["layer"], out["code"]]
    per_area = [c for c in (*people, *_PER_AREA) if c in out and c != "unmet_need"]
    equations = _equations(out, columns, per_area, parts, shared)
    exact = False  # the null-space test runs once the single-cell rule changes nothing
    while True:
        before = hide.to_numpy().copy()
        hide[per_area] = hide[per_area].groupby(area).transform("any")
        _hide_derived(out, hide, shares)
        hidden = hide[columns].to_numpy().ravel()
        count = equations[hidden[equations["cell"].to_numpy()]].groupby("equation").size()
        alone = None if exact else count.index[count == 1].to_numpy()
        found = _determined(hidden, equations) if exact else equations.loc[
            equations["equation"].isin(alone) & hidden[equations["cell"].to_numpy()],
            "cell"].to_numpy()
        # partners in rows already holding a hidden cell first: fewer rows lose figures
        touched = hidden.reshape(len(out), len(columns)).any(axis=1).repeat(len(columns))
        hidden[_partners(found, hidden, equations, np.where(touched, key, key + 1e12),
                         alone)] = True
        hide[columns] = hidden.reshape(len(out), len(columns))
        changed = not (hide.to_numpy() == before).all()
        if not changed and exact:
            return
        exact = not changed


def _equations(out: pd.DataFrame, columns: list[str], per_area: list[str],
               parts: list[list[str]], shared: pd.DataFrame | None) -> pd.DataFrame:
    """The additive identities between the cells of ``columns`` (see :func:`_suppress`), as
    ``equation``, ``cell`` and ``sign`` (Σ sign x cell = 0): for each column and category,
    each set of areas of two layers holding the same people (one layer +, the other -);
    for each row, ``population`` = the sum of each of ``parts``. Columns the same in every
    category (``per_area``) take the first category's rows."""
    width, position = len(columns), np.arange(len(out))
    first = (out["category"] == out["category"].iloc[0]).to_numpy() if len(out) else position
    frames, offset = [], 0
    if shared is not None and len(shared):
        sets = out[["layer", "code", "category"]].assign(row=position).merge(
            shared, on=["layer", "code"])
        sign = np.where(sets["layer"] == sets.groupby("identity")["layer"].transform("min"),
                        1.0, -1.0)
        ids = pd.factorize(sets["identity"].astype(str) + "|" + sets["category"])[0]
        size = ids.max() + 1 if len(ids) else 0
        for j, column in enumerate(columns):
            keep = first[sets["row"]] if column in per_area else slice(None)
            frames.append(pd.DataFrame({"equation": offset + ids, "cell": sets["row"] * width
                                        + j, "sign": sign})[keep])
            offset += size
    for group in parts:
        for j, column in enumerate(["population", *group]):
            frames.append(pd.DataFrame({"equation": offset + position[first],
                                        "cell": position[first] * width
                                        + columns.index(column),
                                        "sign": 1.0 if j == 0 else -1.0}))
        offset += len(out)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"equation": [], "cell": [], "sign": []}, dtype=int)


def _determined(hidden: np.ndarray, equations: pd.DataFrame) -> np.ndarray:
    """Hidden cells whose value the equations and the published cells fix: those every
    solution of the equations restricted to the hidden cells leaves unchanged (zero in
    every vector of the null space), found per connected set of hidden cells."""
    terms = equations[hidden[equations["cell"].to_numpy()]]
    if terms.empty:
        return np.empty(0, dtype=int)
    cells, column = np.unique(terms["cell"], return_inverse=True)
    rows, row = np.unique(terms["equation"], return_inverse=True)
    graph = scipy.sparse.coo_matrix((np.ones(len(terms)), (row, len(rows) + column)),
                                    shape=(len(rows) + len(cells),) * 2)
    _, label = scipy.sparse.csgraph.connected_components(graph, directed=False)
    found = []
    for component in np.unique(label[len(rows):]):
        mine = label[len(rows) + column] == component
        r, r_index = np.unique(row[mine], return_inverse=True)
        c, c_index = np.unique(column[mine], return_inverse=True)
        matrix = np.zeros((len(r), len(c)))
        np.add.at(matrix, (r_index, c_index), terms["sign"].to_numpy()[mine])
        null = scipy.linalg.null_space(matrix)
        fixed = np.abs(null).max(axis=1) < 1e-9 if null.shape[1] else np.ones(len(c), bool)
        found.append(cells[c[fixed]])
    return np.concatenate(found)


def _partners(determined: np.ndarray, hidden: np.ndarray, equations: pd.DataFrame,
              key: np.ndarray, within: np.ndarray | None = None) -> np.ndarray:
    """For each determined hidden cell, a published cell of an equation holding it (of
    those ``within``, when given) to hide too: the one sharing most equations with it (an
    LSOA in the same ward and the same constituency), then the smallest by ``key``."""
    mine = equations.loc[np.isin(equations["cell"], determined), ["equation", "cell"]]
    pairs = mine.merge(equations[["equation", "cell"]], on="equation", suffixes=("", "_other"))
    pairs = pairs[~hidden[pairs["cell_other"].to_numpy()]]
    pairs = pairs.assign(eligible=True if within is None else pairs["equation"].isin(within))
    pairs = pairs.groupby(["cell", "cell_other"], as_index=False).agg(
        shared=("equation", "size"), eligible=("eligible", "any"))
    pairs = pairs[pairs["eligible"]]
    pairs = pairs.assign(key=key[pairs["cell_other"].to_numpy()])
    return pairs.sort_values(["shared", "key", "cell_other"], ascending=[False, True, True],
                             kind="stable").drop_duplicates("cell")["cell_other"].unique()


def _hide_derived(out: pd.DataFrame, hide: pd.DataFrame, shares: Mapping[str, str]) -> None:
    """Hide what is computed from a hidden count (see :func:`publish`)."""
    for column, base in {**shares, **_RATES}.items():
        if column in out and base in out:
            hide[column] |= hide[base]
    residents = out["group"] == "residents"
    group = hide["population"].where(residents, hide.get("children", hide["population"]))
    tied = hide["coverage_residents_pct"].where(residents, hide["coverage_children_pct"]) \
        | hide["unmet_need"]
    hide["unmet_need"] |= tied
    hide["coverage_residents_pct"] |= tied & residents
    hide["coverage_children_pct"] |= tied & ~residents
    for column in ("gap_score", "places_per_1000"):
        if column in out:
            hide[column] |= tied | group
    for column in _OF_GROUP:
        hide[column] |= group
    if "imd_rank_mean" in out:
        hide["imd_rank_mean"] |= hide["population"]


def method_table(
    table: pd.DataFrame,
    demand: Demand,
    points: gpd.GeoDataFrame,
    placements: Mapping[str, Placement],
    *,
    paths: Sequence[str | Path] = (),
    small_areas: str = "small area",
    formula: GapFormula = GapFormula(),
    attribution: Sequence[str] = (),
) -> pd.DataFrame:
    """How every figure of a :func:`gap_table` was made, as ``item``/``value`` rows (the XLSX
    "method" sheet); the other arguments are those it was given."""
    small = small_areas.upper() if len(small_areas) <= 4 else small_areas
    kind = points.attrs.get("kind", "points")
    rows = [
        ("registers", ", ".join(Path(p).name for p in paths)),
        ("demand tables", "; ".join(demand.sources)),
        *((f"column: {role}", column) for role, column in demand.columns.items()),
        ("demand points", f"{len(points):,} {kind}: each {small}'s people split evenly "
                          f"over the {kind} inside it (a dasymetric proxy for homes); "
                          f"{small}s with none keep one point at their representative point"),
        *((f"aggregation: {name}", placement.describe(name, small))
          for name, placement in placements.items()),
        *((f"category: {row.category}", f"threshold {row.threshold_m:,.0f} m; group: "
                                         f"{row.group}")
          for row in table.drop_duplicates("category").itertuples()),
        ("distance", "straight line (EPSG:27700) from each demand point to the nearest asset "
                     "of the category anywhere in the registers; median and 90th percentile "
                     "weighted by the group's people (the smallest distance reaching that "
                     "share)"),
        ("coverage", "% of residents and of children whose demand point is within the "
                     "category's threshold"),
        ("need", "imd_rank_mean: population-weighted mean IMD rank (1 = most deprived in "
                 "England); decile1_pct and decile1_2_pct: % of residents in small areas "
                 "in the most deprived 10% and 20% nationally"),
        ("gap score", formula.describe()),
        ("unmet_need", f"people of the group beyond the threshold in IMD deciles "
                       f"1-{formula.deciles}"),
        ("rank", "within each layer and category: highest gap score first, then unmet_need"),
        ("assets per head", "assets in the area per 10,000 residents (and children, for "
                            "child-facing categories)"),
    ]
    if "places_per_1000" in table:
        rows.append(("places_per_1000", "two-step floating catchment (PySAL access): the "
                     "capacity of the assets within the threshold, each shared among the "
                     "group's people within the threshold of it, per 1,000 people"))
    rows += [("caveat", "assets outside the registers (e.g. beyond the study area) are not "
                        "counted, so distances near its edge may be overstated"),
             *(("attribution", text) for text in attribution)]
    return pd.DataFrame(rows, columns=["item", "value"])


def write_gaps(
    result: GapResult,
    output: str | Path,
    *,
    suppress_below: int | None = None,
    published: pd.DataFrame | None = None,
) -> list[Path]:
    """Write ``<output>.csv`` (all layers), ``.xlsx`` (a sheet per layer and a "method"
    sheet) and ``.gpkg`` (the measures on each layer's polygons), atomically.

    ``suppress_below`` applies disclosure control (see :func:`publish`) to these files only;
    ``published`` is ``result.published(suppress_below)`` when the caller has it already.
    """
    to_csv, to_xlsx, to_gpkg = gap_outputs(output)
    counts = result.demand.counts
    shown = result.published(suppress_below) if published is None else published
    control = DISCLOSURE_RULE.format(n=suppress_below) \
        if suppress_below else "none"
    method = pd.concat([result.method, pd.DataFrame(
        {"item": ["disclosure control"], "value": [control]})], ignore_index=True)
    csv = write_table(shown, to_csv)
    sheets = {name: rows.drop(columns="layer") for name, rows in shown.groupby("layer",
                                                                                sort=False)}
    formats = {**_FORMATS, **dict.fromkeys([*counts, "unmet_need"], "#,##0")}
    xlsx = write_xlsx({**sheets, "method": method}, to_xlsx,
                      formats=formats)
    blank = unmarked(shown, result.table)
    several = blank["category"].nunique() > 1
    geo = {}
    for (name, label), rows in blank.groupby(["layer", "category"], sort=False):
        layer = result.layers[name][["code", "geometry"]]
        key = f"{name}_{label}" if several else name
        geo[key] = layer.merge(rows.drop(columns="layer"), on="code", how="left")
    gpkg = write_geo_layers(geo, to_gpkg)
    return [csv, xlsx, gpkg]


def unmarked(published: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """A published table with its suppressed cells blank (NaN): numbers again, for layers
    and charts. ``table`` is the gap table it was published from."""
    hidden = [c for c in table.select_dtypes("number") if published[c].dtype == object]
    return published.assign(**{c: pd.to_numeric(published[c], errors="coerce")
                               for c in hidden})


def read_gap_table(path: str | Path) -> pd.DataFrame:
    """A gap table as :func:`write_gaps` writes it (the CSV, or the XLSX: a sheet per layer
    and a "method" sheet), ready to shade on a map.

    Returns ``layer``, ``code``, ``category`` and the numeric measures, suppressed cells
    kept as :data:`SUPPRESSED` (a map hatches them). The table must hold one category:
    write it with ``--category``.
    """
    path = Path(path)
    if not path.is_file():
        raise AssetmapError("gap table not found", file=path)
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            sheets = pd.read_excel(path, sheet_name=None, dtype={"code": str})
            table = pd.concat([rows.assign(layer=name) for name, rows in sheets.items()
                               if name != "method"], ignore_index=True)
        else:
            table = pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str})
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError,
            zipfile.BadZipFile) as exc:
        raise AssetmapError(f"cannot read as a gap table ({first_line(exc)}); pass the CSV "
                            "or XLSX that 'assetmap gaps' writes", file=path) from None
    missing = {"layer", "code", "category"} - set(table.columns)
    if missing:
        raise AssetmapError(f"not a gap table: no column {sorted(missing)[0]!r}; pass the "
                            "CSV or XLSX that 'assetmap gaps' writes", file=path)
    categories = table["category"].dropna().unique()
    if len(categories) > 1:
        raise AssetmapError(f"the gap table covers {len(categories)} categories "
                            f"({', '.join(map(str, categories))}); map one, written with "
                            "'assetmap gaps --category'", file=path)
    text = table.drop(columns=["layer", "code", "category"])
    suppressed = text.astype(str).eq(SUPPRESSED)
    measures = text.apply(pd.to_numeric, errors="coerce")
    measures = measures.loc[:, (measures.notna() | suppressed).any()]
    hidden = suppressed[measures.columns]
    measures = measures.astype({c: object for c in hidden.columns[hidden.any()]})
    return pd.concat([table[["layer", "code", "category"]], measures.mask(hidden, SUPPRESSED)],
                     axis=1)
