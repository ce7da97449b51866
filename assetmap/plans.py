"""Where the next sites should go, and what a closure does, end to end, as ``assetmap plan``
runs it.

Each function runs :func:`assetmap.gap_analysis` on the existing sites (the "before"),
then changes the sites — the ones :mod:`assetmap.planning` chooses among candidate
register rows, or the ones named in a what-if — and runs the same gap measures again on
the same demand points, placed in the same areas (the "after"); :mod:`assetmap.whatif`
compares them. With :mod:`assetmap.pipeline`, :mod:`assetmap.analyses` and
:mod:`assetmap.report` this is the orchestration layer: step modules never import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from .analyses import gap_analysis
from .boundaries import as_boundary_set
from .diff import STATUSES, changed_sites, match_snapshots, move_lines
from .errors import AssetmapError
from .gaps import GapFormula, GapResult, gap_table, resolve_categories
from .join import join
from .pipeline import Registers, join_registers, locate_registers
from .planning import max_cover, p_median, set_cover
from .progress import Progress, no_progress
from .registers import stacked
from .settings import DEMANDS, PROBLEMS, WORK_CRS
from .taxonomy import Taxonomy, load_taxonomy
from .whatif import SiteChange, compare_tables, find_sites, reach_by_area, reach_changes

#: Weight of a child by IMD decile of their small area under ``deprived-children``
#: (deciles not listed weigh 1).
DECILE_WEIGHTS = {1: 3.0, 2: 2.0}
#: Options of :func:`assetmap.gap_analysis` that are not for reading registers.
_GAP_ONLY = ("population", "deprivation", "by", "small_areas", "points", "aggregation",
             "formula", "capacity", "demand_columns", "audit", "taxonomy")


def plan_sites(
    paths: Registers | GapResult,
    *,
    category: str,
    candidates: Registers,
    problem: str = "cover",
    k: int | None = None,
    threshold: float | None = None,
    target: float | None = None,
    demand: str = "children",
    decile_weights: Mapping[int, float] | None = None,
    capacity: str | None = None,
    candidate_audit: pd.DataFrame | None = None,
    time_limit: float = 60.0,
    progress: Progress = no_progress,
    **gap_options,
) -> SiteChange:
    """New sites of ``category`` among the ``candidates`` (register files or located
    rows, of any category), the existing sites of ``paths`` kept: registers, located
    assets, or a :func:`assetmap.gap_analysis` of them already run (its demand points and
    placements are used again, not read and placed a second time).

    ``problem``: ``cover`` (``k`` sites covering the most ``demand`` within ``threshold``,
    default the category's coverage distance; with ``capacity``, a column of both
    registers, each site serves up to its capacity), ``median`` (``k`` sites minimising
    the demand-weighted distance to the nearest site) or ``setcover`` (the fewest sites
    covering a ``target`` share of the demand). ``demand``: one of :data:`DEMANDS`
    (``deprived-children`` weighs each child by ``decile_weights``, default
    :data:`DECILE_WEIGHTS`). ``gap_options`` go to :func:`assetmap.gap_analysis`
    (population, deprivation, by, boundaries, register options ...).
    """
    if problem not in PROBLEMS:
        raise AssetmapError(f"unknown problem {problem!r}; problems are {', '.join(PROBLEMS)}")
    if demand not in DEMANDS:
        raise AssetmapError(f"unknown demand {demand!r}; choose {', '.join(DEMANDS)}")
    before, label, metres = _before(paths, category, threshold, progress, gap_options)
    progress("Locating candidate sites")
    found = _candidates(candidates, candidate_audit, gap_options)
    if found.empty:
        raise AssetmapError("no candidate site was located in the study area")
    sites = before.assets[before.assets["category"] == label]
    weights = _weights(before.points, demand, decile_weights)
    xy = before.points.geometry.get_coordinates().to_numpy()
    fixed = sites.geometry.get_coordinates().to_numpy()
    places = found.geometry.get_coordinates().to_numpy()
    progress(f"Solving ({problem})")
    if problem == "cover":
        plan = max_cover(weights, xy, places, fixed, k=_k(k), threshold=metres,
                         capacity=_capacities(found, capacity),
                         fixed_capacity=_capacities(sites, capacity), time_limit=time_limit)
    elif problem == "median":
        plan = p_median(weights, xy, places, fixed, k=_k(k), time_limit=time_limit)
    else:
        if target is None:
            raise AssetmapError("setcover needs a target share of demand to cover (0-1)")
        plan = set_cover(weights, xy, places, fixed, threshold=metres, target=target,
                         time_limit=time_limit)
    chosen = found.iloc[plan.chosen].assign(
        change="opened", order=np.arange(1, len(plan.chosen) + 1), gain=plan.gains,
        category=label)
    summary = dict(
        problem=problem, category=label, demand=demand, weights=_describe(demand,
                                                                          decile_weights),
        threshold_m=metres, k=k, target=target, candidates=len(found),
        existing_sites=len(sites), objective_before=plan.objective_before,
        objective_after=plan.objective, optimal=plan.optimal, gap=plan.gap,
        seconds=round(plan.seconds, 3), reductions=plan.reductions)
    return _after(before, label, metres, chosen, np.zeros(len(before.assets), bool),
                  summary, progress, gap_options)


def what_if(
    paths: Registers,
    *,
    category: str,
    close: Sequence[str] = (),
    open: Sequence[str] = (),
    candidates: Registers | None = None,
    threshold: float | None = None,
    progress: Progress = no_progress,
    **gap_options,
) -> SiteChange:
    """Close sites of ``category`` named in ``close`` (by ID or name) and open the rows of
    ``candidates`` named in ``open``: the change in coverage, distance and gap score per
    area of every ``by`` layer, and who loses (or gains) their last site within reach.
    ``gap_options`` as for :func:`plan_sites`."""
    if not close and not open:
        raise AssetmapError("name a site to close or to open")
    if open and candidates is None:
        raise AssetmapError("sites to open are named among candidate registers: give them")
    before, label, metres = _before(paths, category, threshold, progress, gap_options)
    sites = before.assets["category"] == label
    closing = np.zeros(len(before.assets), bool)
    if close:
        closing[np.flatnonzero(sites)[find_sites(before.assets[sites], close,
                                                 what=label)]] = True
    opened = before.assets.iloc[:0]
    if open:
        found = _candidates(candidates, None, gap_options)
        opened = found.iloc[find_sites(found, open, what="candidate site")].assign(
            change="opened", category=label)
    closed = before.assets[closing].assign(change="closed")
    summary = dict(problem="whatif", category=label, threshold_m=metres,
                   closed=closed["name"].tolist(), opened=opened["name"].tolist())
    return _after(before, label, metres, opened, closing, summary, progress, gap_options,
                  closed=closed)


def diff_snapshots(
    old: Registers,
    new: Registers,
    *,
    category: str,
    threshold: float | None = None,
    within: float = 100.0,
    similarity: float = 90,
    progress: Progress = no_progress,
    **gap_options,
) -> SiteChange:
    """What changed between two snapshots of registers (files, or located assets): every
    row matched and given a status (:func:`assetmap.diff.match_snapshots`: same ID, same
    name and postcode, or a name scoring ``similarity`` within ``within`` metres), and the
    gap measures of ``category`` per area of every ``by`` layer with the old sites and with
    the new ones, on the same demand points and placements. The result's ``matches`` hold
    every row (a line from the old place to the new one for pairs), ``sites`` the changed
    rows of the category. ``gap_options`` as for :func:`plan_sites`; the register options
    read both snapshots."""
    reading = {key: value for key, value in gap_options.items() if key not in _GAP_ONLY}
    before, label, metres = _before(old, category, threshold, progress, gap_options)
    progress("Reading the new snapshot")
    joined = join_registers(new, layers=before.layers, category=category,
                            taxonomy=gap_options["taxonomy"], progress=progress, **reading)
    olds = before.assets.reset_index(drop=True)
    news = joined.assets.reset_index(drop=True)
    progress("Matching rows")
    matches = match_snapshots(olds, news, within=within, threshold=similarity)
    counts = matches["status"].value_counts()
    sites = changed_sites(matches, olds, news, label)
    summary = dict(problem="diff", category=label, threshold_m=metres,
                   rows={status: int(counts.get(status, 0)) for status in STATUSES},
                   sites={status: int((sites["change"] == status).sum())
                          for status in STATUSES if status != "unchanged"})
    progress("Measuring the change")
    return _compare(before, label, metres, news, sites, summary, gap_options,
                    matches=move_lines(matches, olds, news))


def _candidates(candidates: Registers, audit: pd.DataFrame | None, options: dict
                ) -> gpd.GeoDataFrame:
    """Candidate sites located against the boundary set of ``options`` (or as given)."""
    found, _ = locate_registers(candidates, audit=audit,
                                boundaries=as_boundary_set(options.get("boundaries",
                                                                       "bradford")),
                                crs=options.get("crs", WORK_CRS))
    return found


def _before(paths, category: str, threshold: float | None, progress: Progress,
            options: dict) -> tuple[GapResult, str, float]:
    """The gap analysis of the existing sites, the category's label and threshold."""
    if threshold is not None and not threshold > 0:
        raise AssetmapError(f"the threshold must be above 0 metres, not {threshold:g}")
    taxonomy: Taxonomy = options.setdefault("taxonomy", None) or load_taxonomy()
    options["taxonomy"] = taxonomy
    if isinstance(paths, GapResult):  # its demand, points and placements, measured again
        table, notes = gap_table(paths.assets, paths.layers, paths.demand, paths.points,
                                 paths.placements, categories=category, taxonomy=taxonomy,
                                 threshold=threshold,
                                 formula=options.get("formula", GapFormula()))
        before = dataclasses.replace(paths, table=table, warnings=paths.warnings + notes)
    else:
        before = gap_analysis(paths, category=category, threshold=threshold,
                              progress=progress, **options)
    (label,) = resolve_categories(category, taxonomy, before.assets)
    metres = float(before.table.loc[before.table["category"] == label, "threshold_m"].iloc[0])
    return before, label, metres


def _after(before: GapResult, label: str, metres: float, opened: gpd.GeoDataFrame,
           closing: np.ndarray, summary: dict, progress: Progress, options: dict, *,
           closed: gpd.GeoDataFrame | None = None) -> SiteChange:
    """The gap measures with ``opened`` sites added and ``closing`` ones removed, compared
    with ``before``."""
    progress("Measuring the change")
    added = join(opened.drop(columns=[c for c in opened if c.endswith(
        ("_code", "_name", "_match")) and c.rsplit("_", 1)[0] in before.layers]),
        before.layers)
    assets = stacked([before.assets[~closing], added])
    sites = pd.concat([frame for frame in (closed, added) if frame is not None],
                      ignore_index=True)
    front = [c for c in ("change", "order", "gain", "id", "name", "category", "type",
                         "source", "row", "postcode") if c in sites]
    sites = sites[[*front, *(c for c in sites if c not in front)]]
    return _compare(before, label, metres, assets,
                    gpd.GeoDataFrame(sites, geometry="geometry", crs=before.assets.crs),
                    summary, options)


def _compare(before: GapResult, label: str, metres: float, assets: gpd.GeoDataFrame,
             sites: gpd.GeoDataFrame, summary: dict, options: dict, *,
             matches: gpd.GeoDataFrame | None = None) -> SiteChange:
    """The gap measures of ``assets`` on ``before``'s demand points and placements (with
    the taxonomy, formula and capacity of the gap ``options``), compared with ``before``:
    a :class:`SiteChange` of ``sites``."""
    after, notes = gap_table(assets, before.layers, before.demand, before.points,
                             before.placements, categories=label, threshold=metres,
                             taxonomy=options["taxonomy"],
                             formula=options.get("formula", GapFormula()),
                             capacity=options.get("capacity"))
    mine = before.table[before.table["category"] == label]
    of = before.assets["category"] == label
    moved = reach_changes(before.points, before.assets[of].geometry.to_numpy(),
                          assets[assets["category"] == label].geometry.to_numpy(), metres)
    per_area = reach_by_area(moved, before.placements, before.layers, before.demand.areas)
    changes = compare_tables(mine, after).merge(per_area, on=["layer", "code"], how="left")
    summary["people"] = {column: round(float(moved[column].sum())) for column in moved}
    return SiteChange(sites, changes, mine, after, before.layers, assets, summary,
                      before.warnings + notes, matches)


def _weights(points: gpd.GeoDataFrame, demand: str,
             decile_weights: Mapping[int, float] | None) -> np.ndarray:
    """Demand per point: residents, children, or children weighted by IMD decile."""
    if demand == "residents":
        return points["population"].to_numpy(float)
    if "children" not in points:
        raise AssetmapError("the population table has no children column: plan for residents")
    weights = points["children"].to_numpy(float)
    if demand == "deprived-children":
        if "imd_decile" not in points:
            raise AssetmapError("deprived-children needs the deprivation table (-d)")
        by_decile = DECILE_WEIGHTS if decile_weights is None else decile_weights
        factor = points["imd_decile"].map(by_decile).fillna(1.0).to_numpy(float)
        weights = weights * factor
    return weights


def _describe(demand: str, decile_weights: Mapping[int, float] | None) -> str:
    if demand != "deprived-children":
        return f"each of the {demand} weighs 1"
    weights = DECILE_WEIGHTS if decile_weights is None else decile_weights
    listed = ", ".join(f"{w:g} in IMD decile {d}" for d, w in sorted(weights.items()))
    return f"each child weighs {listed}; 1 elsewhere"


def _k(k: int | None) -> int:
    if k is None:
        raise AssetmapError("say how many new sites: -k N")
    return k


def _capacities(sites: pd.DataFrame, column: str | None) -> np.ndarray | None:
    """The capacity column of a register's rows as numbers (a one-line error if not)."""
    if column is None:
        return None
    if column not in sites:
        raise AssetmapError(f"no capacity column {column!r} in the sites")
    values = pd.to_numeric(sites[column], errors="coerce")
    if values.isna().any() or (values < 0).any():
        bad = sites.loc[values.isna() | (values < 0)].iloc[0]
        raise AssetmapError(f"capacity {bad[column]!r} of {bad['name']!r} is not a number of "
                            "places", file=bad.get("source"), row=bad.get("row"),
                            column=column)
    return values.to_numpy(float)
