"""Where new sites should go: location-allocation with the existing sites kept fixed.

Three problems over demand points (with weights: people, or need-weighted people),
candidate sites and fixed sites, each solved to proven optimality by HiGHS
(``scipy.optimize.milp``) on a model first made smaller by reductions that keep the
optimum (counted in :attr:`Plan.reductions`):

- :func:`max_cover`: ``k`` new sites covering the most demand within a threshold; with
  capacities, demand is served up to each site's capacity;
- :func:`p_median`: ``k`` new sites minimising the demand-weighted distance to the nearest
  site (fixed or new);
- :func:`set_cover`: the fewest new sites covering a target share of the demand.

Costs come from a :class:`assetmap.costs.Costs` backend (straight line by default).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from .costs import STRAIGHT_LINE, Costs, coordinates
from .errors import AssetmapError

#: Nearest candidates per demand point in p-median's first model (doubled where too few).
_DEPTH = 32


@dataclass
class Plan:
    """The sites a problem chose, and how it was solved."""

    problem: str  # "cover", "median", "setcover"
    chosen: np.ndarray  # candidate indices, in order of marginal gain
    gains: np.ndarray  # what each adds in that order (demand covered, or weighted distance saved)
    objective_before: float  # with the fixed sites only
    objective: float  # with the chosen sites too
    optimal: bool  # proven optimal
    gap: float  # relative MIP gap (0.0 when proven)
    seconds: float  # reductions, model build and solve
    reductions: dict[str, int]
    served: np.ndarray  # per demand point: weight served (cover) or distance to its site


def max_cover(weights, demand, candidates, fixed=None, *, k: int, threshold: float,
              capacity=None, fixed_capacity=None, costs: Costs = STRAIGHT_LINE,
              time_limit: float = 60.0, reduce: bool = True) -> Plan:
    """At most ``k`` new sites among ``candidates`` covering the most demand ``weights``
    within ``threshold`` of a site, the ``fixed`` sites kept (maximal covering location).

    Uncapacitated: demand within the threshold of a fixed site is covered already and
    dropped; demand points reached by the same candidates are merged; demand no candidate
    reaches is dropped, and so are candidates reaching no remaining demand and candidates
    whose demand is a subset of another's (swapping one for its superset never covers
    less, so some optimum avoids it).

    Capacitated (``capacity`` per candidate and/or ``fixed_capacity`` per fixed site, the
    weight each can serve; a site without one is unlimited): demand is served up to
    capacity, a point's weight split fractionally across the sites within the threshold
    (a transportation model with an assignment variable per point and site in reach).
    Demand within an unlimited fixed site is dropped and points reaching the same sites
    are merged (both exact for fractional assignment); dominated candidates are kept.

    ``chosen`` leaves out sites that would add nothing, so it may hold fewer than ``k``.
    ``reduce=False`` solves the full model (to check the reductions keep the optimum).
    """
    start = time.perf_counter()
    w, demand, candidates, fixed = _inputs(weights, demand, candidates, fixed)
    _check_k(k, len(candidates))
    _check_threshold(threshold)
    if capacity is not None or fixed_capacity is not None:
        return _capacitated(w, demand, candidates, fixed, k, threshold,
                            _capacities(capacity, len(candidates), "capacity"),
                            _capacities(fixed_capacity, len(fixed), "fixed_capacity"),
                            costs, time_limit, reduce, start)
    model = _Cover.build(w, demand, candidates, fixed, threshold, costs, reduce)
    x, optimal, gap = model.solve_max(k, time_limit)
    return model.plan("cover", x, optimal, gap, start)


def set_cover(weights, demand, candidates, fixed=None, *, threshold: float, target: float,
              costs: Costs = STRAIGHT_LINE, time_limit: float = 60.0,
              reduce: bool = True) -> Plan:
    """The fewest new sites among ``candidates`` such that, with the ``fixed`` sites, a
    ``target`` share (0-1) of the total demand ``weights`` lies within ``threshold``.

    Two solves on one reduced model (the reductions of :func:`max_cover`, uncapacitated):
    the fewest sites ``p`` reaching the target, then the ``p`` sites covering the most.
    ``objective`` is the demand covered; ``gap`` the larger of the two solves' gaps.
    """
    start = time.perf_counter()
    w, demand, candidates, fixed = _inputs(weights, demand, candidates, fixed)
    _check_threshold(threshold)
    if not 0 < target <= 1:
        raise AssetmapError(f"target must be a share above 0 and at most 1, not {target:g}")
    model = _Cover.build(w, demand, candidates, fixed, threshold, costs, reduce)
    total = w.sum()
    if target * total > model.reachable * (1 + 1e-12):
        raise AssetmapError(f"target {target:.1%} is out of reach: with every candidate "
                            f"{model.reachable / total:.1%} of the demand is covered")
    need = min(target * total, model.reachable) - model.covered_fixed
    x, optimal, gap = model.solve_fewest(need, time_limit)
    if x.any():
        x, best_optimal, best_gap = model.solve_max(int(x.sum()), time_limit)
        optimal, gap = optimal and best_optimal, max(gap, best_gap)
    return model.plan("setcover", x, optimal, gap, start)


def p_median(weights, demand, candidates, fixed=None, *, k: int,
             costs: Costs = STRAIGHT_LINE, time_limit: float = 60.0,
             reduce: bool = True) -> Plan:
    """At most ``k`` new sites among ``candidates`` minimising the demand-weighted distance
    from each demand point to its nearest site, the ``fixed`` sites kept (p-median).

    Radius formulation (Elloumi 2010; its LP bound is the classic assignment model's):
    each point's candidates nearest first, a variable per rank saying "a site is open
    this near", worth the distance to the next rank. Only candidates closer than the
    point's nearest fixed site count (a point none improves is dropped), and with ``k``
    open one of its ``m - k + 1`` nearest is open, so farther ones are dropped too. Points
    sharing their nearest candidates in the same order share those variables (a trie of
    the sequences: Bradford's 53k pairs become 12k variables). The first model holds each
    point's 32 nearest (a point beyond them costs the 33rd's distance: a lower bound); the
    points whose chosen site is farther get twice as many, until none is: then the bound
    is met and the answer proven (``reductions["rounds"]``).

    Limits: without fixed sites (or with few, far away) and small ``k`` the model may need
    most of the ``n x m`` pairs: thousands of points by hundreds of candidates take
    minutes; ``time_limit`` (per solve) stops it and ``gap`` says how far from proven the
    answer is. ``objective_before`` (and the first gain) is ``inf`` without fixed sites;
    ``chosen`` leaves out sites saving nothing. ``reduce=False`` skips the ``m - k + 1``
    cut.
    """
    start = time.perf_counter()
    w, demand, candidates, fixed = _inputs(weights, demand, candidates, fixed)
    _check_k(k, len(candidates))
    positive, m = w > 0, len(candidates)
    before = costs.nearest(demand, fixed)
    i, j, d = costs.within(demand, candidates, before[positive].max(initial=0.0))
    closer = positive[i] & (d < before[i])
    order = np.lexsort((j[closer], d[closer], i[closer]))
    i, j, d = i[closer][order], j[closer][order], d[closer][order]
    rank = np.arange(len(i)) - np.searchsorted(i, i)
    counts = {"demand_points": len(w), "demand_weightless": int((~positive).sum()),
              "candidates": m, "pairs_closer_than_fixed": len(i)}
    forced = np.isinf(before)  # served by a candidate whatever is chosen
    if reduce:  # one of each point's m - k + 1 nearest candidates is open
        forced |= np.bincount(i, minlength=len(w)) > m - k
        near = rank <= m - k
        counts["pairs_beyond_nearest_open"] = int((~near).sum())
        i, j, d, rank = i[near], j[near], d[near], rank[near]
    last = np.append(i[1:] != i[:-1], True)
    beyond = np.where(last, np.where(forced[i], d, before[i]), np.roll(d, -1))
    points, at, length = np.unique(i, return_index=True, return_counts=True)
    sites = np.unique(j)
    counts |= {"demand_unimproved": int(positive.sum()) - len(points),
               "demand_forced": int(forced[points].sum()), "candidates_unused": m - len(sites)}
    depth = np.minimum(length, _DEPTH)
    deadline = start + time_limit
    while True:  # nearest candidates first: deeper where the bound is not the distance
        kept = rank < depth[np.searchsorted(points, i)]
        x, optimal, lower = _median_model(sites, j[kept], rank[kept],
                                        w[i[kept]] * (beyond - d)[kept], k,
                                        deadline - time.perf_counter(), counts)
        nearest = np.full(len(points), len(i))
        opened = np.flatnonzero(np.isin(j, sites[x]))
        first, where = np.unique(i[opened], return_index=True)
        nearest[np.searchsorted(points, first)] = opened[where]  # nearest open pair
        bound = np.where(depth < length, np.append(d, np.inf)[at + depth],
                         np.where(forced, np.inf, before)[points])
        true = np.where(nearest < len(i), np.append(d, np.inf)[nearest], before[points])
        short = true > bound * (1 + 1e-12)
        counts |= {"pairs_in_model": int(kept.sum()), "rounds": counts.get("rounds", 0) + 1}
        if not short.any() or not optimal or time.perf_counter() > deadline:
            break
        depth[short] = np.minimum(2 * depth[short], length[short])
    chosen = sites[x]
    after = costs.within(demand, candidates[chosen], np.inf)[2].reshape(len(w), len(chosen))
    order, gains = _greedy(w, before, after)
    served = np.minimum(before, after.min(axis=1, initial=np.inf))
    objective, gap = _total(w, served), 0.0
    if short.any() or not optimal:  # the last model's bound: the cost it leaves + the rest
        left = np.where(depth < length, bound, np.where(forced[points], d[at + length - 1],
                                                        before[points]))
        lower += w[points] @ left + objective - w[points] @ served[points]
        optimal, gap = False, max(0.0, 1 - lower / objective)
    return Plan("median", chosen[order], gains, _total(w, before), objective, optimal, gap,
                time.perf_counter() - start, counts, served)


@dataclass
class _Cover:
    """Uncapacitated cover after the reductions: demand groups and the candidates reaching
    them, and what each demand point is."""

    w: np.ndarray  # per demand point
    base: np.ndarray  # per demand point: within the threshold of a fixed site
    reach: sp.csr_array  # demand points x candidates, within the threshold
    weight: np.ndarray  # per group
    matrix: sp.csr_array  # groups x model candidates
    free: np.ndarray  # per group: covered by a fixed site (only when not reduced)
    sites: np.ndarray  # model candidate -> candidate index
    covered_fixed: float  # weight covered by fixed sites and dropped from the model
    reachable: float  # weight within the threshold of a fixed site or any candidate
    reductions: dict[str, int]

    @classmethod
    def build(cls, w, demand, candidates, fixed, threshold, costs, reduce) -> _Cover:
        i, j, _ = costs.within(demand, candidates, threshold)
        reach = _csr(i, j, (len(w), len(candidates)))
        base = costs.nearest(demand, fixed) <= threshold
        reached = np.diff(reach.indptr) > 0
        counts = {"demand_points": len(w), "demand_weightless": int((w <= 0).sum()),
                  "demand_covered_by_fixed": int((base & (w > 0)).sum()),
                  "demand_unreachable": int((~base & ~reached & (w > 0)).sum()),
                  "candidates": len(candidates)}
        reachable = float(w[base | reached].sum())
        if not reduce:
            return cls(w, base, reach, w, reach, base, np.arange(len(candidates)), 0.0,
                       reachable, counts)
        keep = np.flatnonzero((w > 0) & ~base & reached)
        group, first = _merge(reach[keep])
        weight = np.bincount(group, weights=w[keep], minlength=len(first))
        matrix = reach[keep[first]]
        reaching = np.flatnonzero(np.diff(matrix.tocsc().indptr) > 0)
        dominated = _dominated(matrix[:, reaching])
        sites = np.delete(reaching, dominated)
        counts |= {"demand_groups": len(first),
                   "candidates_unreaching": len(candidates) - len(reaching),
                   "candidates_dominated": len(dominated), "model_candidates": len(sites)}
        return cls(w, base, reach, weight, matrix[:, sites], np.zeros(len(first), bool),
                   sites, float(w[base].sum()), reachable, counts)

    def _rows(self) -> tuple[sp.csr_array, np.ndarray]:
        """y_g - sum of x over the group's candidates <= 1 when a fixed site covers it."""
        groups = len(self.weight)
        return sp.hstack([-self.matrix, sp.eye_array(groups)]).tocsr(), self.free.astype(float)

    def solve_max(self, k: int, time_limit: float):
        rows, free = self._rows()
        sites = len(self.sites)
        budget = sp.hstack([sp.csr_array(np.ones((1, sites))),
                            sp.csr_array((1, len(self.weight)))])
        x, optimal, gap, _ = _solve(
            np.concatenate([np.zeros(sites), -self.weight]), sp.vstack([rows, budget]).tocsr(),
            -np.inf, np.append(free, k), sites, 1.0, time_limit, self.reductions)
        return x[:sites] > 0.5, optimal, gap

    def solve_fewest(self, need: float, time_limit: float):
        rows, free = self._rows()
        sites = len(self.sites)
        if need <= 0:  # the fixed sites cover enough
            self.reductions |= {"variables": 0, "constraints": 0, "nonzeros": 0}
            return np.zeros(sites, bool), True, 0.0
        share = sp.hstack([sp.csr_array((1, sites)), sp.csr_array(self.weight[None, :])])
        x, optimal, gap, _ = _solve(
            np.concatenate([np.ones(sites), np.zeros(len(self.weight))]),
            sp.vstack([rows, share]).tocsr(), np.append(np.full(len(free), -np.inf), need),
            np.append(free, np.inf), sites, 1.0, time_limit, self.reductions)
        return x[:sites] > 0.5, optimal, gap

    def plan(self, problem: str, x: np.ndarray, optimal: bool, gap: float, start: float
             ) -> Plan:
        chosen = self.sites[x]
        after = 1.0 - self.reach[:, chosen].toarray()  # 0 where in reach, as a distance
        order, gains = _greedy(self.w, (~self.base).astype(float), after)
        served = self.w * (self.base | (after.min(axis=1, initial=1.0) == 0))
        return Plan(problem, chosen[order], gains, float(self.w[self.base].sum()),
                    float(served.sum()), optimal, gap, time.perf_counter() - start,
                    self.reductions, served)


def _capacitated(w, demand, candidates, fixed, k, threshold, capacity, fixed_capacity,
                 costs, time_limit, reduce, start) -> Plan:
    """:func:`max_cover` with capacities: a transportation model (see there)."""
    f, m = len(fixed), len(candidates)
    fi, fj, _ = costs.within(demand, fixed, threshold)
    ci, cj, _ = costs.within(demand, candidates, threshold)
    i, s = np.concatenate([fi, ci]), np.concatenate([fj, cj + f])
    order = np.lexsort((s, i))
    reach = _csr(i[order], s[order], (len(w), f + m))
    limits = np.concatenate([fixed_capacity, capacity])
    unlimited_fixed = np.isinf(fixed_capacity)
    free = (reach[:, np.flatnonzero(unlimited_fixed)].sum(axis=1) > 0) if f else \
        np.zeros(len(w), bool)
    reached = np.diff(reach.indptr) > 0
    counts = {"demand_points": len(w), "demand_weightless": int((w <= 0).sum()),
              "demand_covered_by_fixed": int((free & (w > 0)).sum()),
              "demand_unreachable": int((~reached & (w > 0)).sum()), "candidates": m}
    if reduce:
        keep = np.flatnonzero((w > 0) & ~free & reached)
        group, first = _merge(reach[keep])
        weight = np.bincount(group, weights=w[keep], minlength=len(first))
        matrix = reach[keep[first]]
        useful = (np.diff(matrix.tocsc().indptr) > 0) & (limits > 0)
        counts |= {"demand_groups": len(first),
                   "candidates_unreaching": int(m - useful[f:].sum())}
    else:
        keep, group, weight, matrix = np.arange(len(w)), np.arange(len(w)), w, reach
        useful = np.ones(f + m, bool)
    served_free = float(w[free].sum()) if reduce else 0.0
    model = _Transport(weight, matrix[:, useful], limits[useful],
                       np.flatnonzero(useful[f:]), f - int((~useful[:f]).sum()))
    counts["model_candidates"] = len(model.sites)
    x, optimal, gap = model.solve(k, time_limit, counts)
    chosen = model.sites[x]
    order, gains, before, flow = _greedy_lp(model, chosen)
    per_group = np.bincount(model.group_of, weights=flow, minlength=len(weight))
    served = np.where(free, w, 0.0) if reduce else np.zeros(len(w))
    with np.errstate(invalid="ignore", divide="ignore"):
        served[keep] = np.nan_to_num(w[keep] * (per_group / weight)[group])
    return Plan("cover", chosen[order], gains, served_free + before, float(served.sum()),
                optimal, gap,
                time.perf_counter() - start, counts, served)


@dataclass
class _Transport:
    """Capacitated cover as a transportation model: x (model candidates, binary) then z
    (weight of a group served by a site in reach, one per pair)."""

    weight: np.ndarray  # per group
    matrix: sp.csr_array  # groups x sites (fixed first), in reach
    limits: np.ndarray  # per site: capacity (inf: unlimited)
    sites: np.ndarray  # model candidate -> candidate index
    n_fixed: int

    def __post_init__(self):
        coo = self.matrix.tocoo()
        g, s, n = coo.row, coo.col, self.n_fixed
        groups, sites, pairs = len(self.weight), len(self.sites), len(g)
        z = np.arange(pairs)
        capped = np.flatnonzero(np.isfinite(self.limits))
        new = capped >= n
        row_of = np.full(len(self.limits), -1)
        row_of[capped] = np.arange(len(capped))
        in_capped = row_of[s] >= 0
        linked = np.flatnonzero(s >= n)
        self.rows = sp.vstack([
            # per group: what it is served <= its weight
            sp.hstack([sp.csr_array((groups, sites)), _csr(g, z, (groups, pairs))]),
            # per capped site: what it serves <= capacity (x open, for a candidate)
            sp.hstack([sp.csr_array((-self.limits[capped[new]],
                                     (np.flatnonzero(new), capped[new] - n)),
                                    shape=(len(capped), sites)),
                       _csr(row_of[s[in_capped]], z[in_capped], (len(capped), pairs))]),
            # per candidate pair: z <= group weight x open (tightens; bounds unlimited sites)
            sp.hstack([sp.csr_array((-self.weight[g[linked]],
                                     (np.arange(len(linked)), s[linked] - n)),
                                    shape=(len(linked), sites)),
                       _csr(np.arange(len(linked)), linked, (len(linked), pairs))]),
            sp.hstack([sp.csr_array(np.ones((1, sites))), sp.csr_array((1, pairs))]),
        ]).tocsr()
        self.upper = np.concatenate([self.weight, np.where(new, 0.0, self.limits[capped]),
                                     np.zeros(len(linked)), [np.inf]])
        self.cost = np.concatenate([np.zeros(sites), -np.ones(pairs)])
        self.bound = np.concatenate([np.ones(sites), self.weight[g]])
        self.group_of = g

    def solve(self, k: int, time_limit: float, counts: dict):
        sites = len(self.sites)
        x, optimal, gap, _ = _solve(self.cost, self.rows, -np.inf, np.append(self.upper[:-1], k),
                                 sites, self.bound, time_limit, counts)
        return x[:sites] > 0.5, optimal, gap

    def served(self, is_open: np.ndarray) -> tuple[float, np.ndarray]:
        """Weight served with the model candidates ``is_open`` (an LP): total, per pair."""
        if not len(self.group_of):
            return 0.0, np.zeros(0)
        res = milp(self.cost, bounds=Bounds(np.append(is_open, np.zeros(len(self.group_of))),
                                            np.append(is_open, self.bound[len(is_open):])),
                   constraints=LinearConstraint(self.rows, -np.inf, self.upper))
        flow = res.x[len(is_open):]
        return float(flow.sum()), flow


def _greedy_lp(model: _Transport, chosen: np.ndarray):
    """The chosen sites (candidate indices) in greedy order of the weight each adds, by an
    LP per trial; sites adding nothing are left out. Also the weight served before them
    and the flow with them open."""
    position = {site: at for at, site in enumerate(model.sites)}
    is_open = np.zeros(len(model.sites))
    before, flow = model.served(is_open)
    current, order, gains, left = before, [], [], list(range(len(chosen)))
    while left:
        trials = []
        for c in left:
            trial = is_open.copy()
            trial[position[chosen[c]]] = 1
            trials.append(model.served(trial))
        best = int(np.argmax([value for value, _ in trials]))
        value, best_flow = trials[best]
        if value - current <= 1e-9 * max(1.0, model.weight.sum()):
            break
        order.append(left.pop(best))
        gains.append(value - current)
        is_open[position[chosen[order[-1]]]] = 1
        current, flow = value, best_flow
    return np.array(order, int), np.array(gains, float), before, flow


def _greedy(w: np.ndarray, before: np.ndarray, after: np.ndarray):
    """Columns of ``after`` (each point's cost to a site) in greedy order: each the one
    leaving the least weighted cost given ``before`` and the columns before it; columns
    saving nothing are left out. Returns the order and what each saves."""
    w, before, after = w[w > 0], before[w > 0], after[w > 0]
    current, total = before, _total(w, before)
    left, order, gains = list(range(after.shape[1])), [], []
    while left:
        totals = w @ np.minimum(current[:, None], after[:, left])
        best = int(np.argmin(totals))
        if not total - totals[best] > 0:
            break
        order.append(left.pop(best))
        gains.append(total - totals[best])
        current, total = np.minimum(current, after[:, order[-1]]), totals[best]
    return np.array(order, int), np.array(gains, float)


def _solve(cost, rows, lower, upper, binaries: int, bound, time_limit: float, counts: dict):
    """HiGHS on the model: the first ``binaries`` variables binary, the rest continuous from
    0 to ``bound``. Returns x, whether it is proven optimal, the relative gap and the dual
    bound (no objective is lower); adds the model's size to ``counts``."""
    n = len(cost)
    counts |= {"variables": n, "constraints": rows.shape[0], "nonzeros": rows.nnz}
    if n == 0 or binaries == 0:
        return np.zeros(n), True, 0.0, 0.0
    integrality = np.zeros(n)
    integrality[:binaries] = 1
    res = milp(cost, integrality=integrality,
               bounds=Bounds(0, bound),
               constraints=LinearConstraint(rows, lower, upper),
               options={"time_limit": time_limit, "mip_rel_gap": 1e-9})
    if res.x is None:
        raise AssetmapError(f"the solver found no solution ({res.message.strip()}); "
                            "allow it more time (time_limit)")
    optimal = res.status == 0
    return (res.x, optimal, 0.0 if optimal else float(res.mip_gap or np.inf),
            float(res.fun if optimal else res.mip_dual_bound))


def _median_model(sites, j, rank, saving, k, time_limit, counts):
    """Radius model of p-median over each point's nearest candidates (pairs sorted by point,
    then nearest first): x per site, v per node of the points' candidate sequences (open
    within that node's rank), saving what each node saves; exactly ``k`` sites open (of the
    ``sites``: all when fewer). Returns which sites are open, whether proven, and a lower
    bound on the objective (minus the savings)."""
    node, parent, site = _prefixes(np.searchsorted(sites, j), rank)
    saving = np.bincount(node, weights=saving, minlength=len(parent))
    n_sites, nodes = len(sites), len(parent)
    counts["pairs_merged"] = len(j) - nodes
    has = np.flatnonzero(parent >= 0)
    rows = sp.csr_array((np.concatenate([-np.ones(nodes), np.ones(nodes), -np.ones(len(has))]),
                         (np.concatenate([np.arange(nodes), np.arange(nodes), has]),
                          np.concatenate([site, n_sites + np.arange(nodes),
                                          n_sites + parent[has]]))),
                        shape=(nodes, n_sites + nodes))
    budget = sp.csr_array(np.append(np.ones(n_sites), np.zeros(nodes))[None, :])
    x, optimal, _, lower = _solve(
        np.append(np.zeros(n_sites), -saving), sp.vstack([rows, budget]).tocsr(),
        np.append(np.full(nodes, -np.inf), min(k, n_sites)),
        np.append(np.zeros(nodes), min(k, n_sites)), n_sites, 1.0, max(time_limit, 1.0),
        counts)
    return x[:n_sites] > 0.5, optimal, lower


def _prefixes(site: np.ndarray, rank: np.ndarray):
    """The trie of the points' candidate sequences: pairs (sorted by point, then nearest
    first, ``rank`` 0, 1, ...) of points whose first r candidates are the same share their
    first r nodes. Each pair's node, and each node's parent (-1 for none) and site."""
    node = np.empty(len(site), np.int64)
    width = site.max(initial=0) + 1
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max(initial=-1) + 2))
    parents, sites = [], []
    for r in range(len(bounds) - 1):
        at = by_rank[bounds[r]:bounds[r + 1]]
        parent = node[at - 1] if r else np.full(len(at), -1)
        keys, found = np.unique((parent + 1) * width + site[at], return_inverse=True)
        node[at] = sum(map(len, parents)) + found
        parents.append(keys // width - 1)
        sites.append(keys % width)
    return node, np.concatenate(parents or [[]]).astype(np.int64), \
        np.concatenate(sites or [[]]).astype(np.int64)


def _merge(reach: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``reach`` (sorted indices) with identical sets: each row's group and each
    group's first row (exact: the sets padded into one array, made unique)."""
    sizes = np.diff(reach.indptr)
    padded = np.full((reach.shape[0], sizes.max(initial=0)), -1, dtype=np.int64)
    rows = np.repeat(np.arange(reach.shape[0]), sizes)
    padded[rows, np.arange(reach.nnz) - reach.indptr[rows]] = reach.indices
    _, first, group = np.unique(padded, axis=0, return_index=True, return_inverse=True)
    return group.ravel(), first


def _dominated(matrix: sp.csr_array) -> np.ndarray:
    """Columns whose set of rows is inside another's (of two equal sets, the later)."""
    ones = matrix.astype(np.int64)
    size = np.diff(ones.tocsc().indptr)
    both = (ones.T @ ones).tocoo()
    a, b, shared = both.row, both.col, both.data
    inside = (a != b) & (shared == size[a]) & ((size[b] > size[a]) | (b < a))
    return np.unique(a[inside])


def _csr(rows, cols, shape) -> sp.csr_array:
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=shape)
    matrix.sort_indices()
    return matrix


def _total(w: np.ndarray, values: np.ndarray) -> float:
    """Total of ``values`` weighted by ``w`` over the points with weight (so an ``inf``
    value of a weightless point is no ``nan``)."""
    return float(w[w > 0] @ values[w > 0])


def _inputs(weights, demand, candidates, fixed):
    w = np.asarray(weights, dtype=float).ravel()
    demand, candidates = coordinates(demand), coordinates(candidates)
    fixed = np.empty((0, 2)) if fixed is None else coordinates(fixed)
    if len(w) != len(demand):
        raise AssetmapError(f"{len(w)} weights for {len(demand)} demand points")
    if not len(candidates):
        raise AssetmapError("no candidate sites")
    if not np.isfinite(w).all() or (w < 0).any():
        raise AssetmapError("demand weights must be finite and not negative")
    return w, demand, candidates, fixed


def _capacities(values, n: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, np.inf)
    values = np.asarray(values, dtype=float).ravel()
    if len(values) != n:
        raise AssetmapError(f"{len(values)} values of {name} for {n} sites")
    if np.isnan(values).any() or (values < 0).any():
        raise AssetmapError(f"{name} must be numbers, not negative")
    return values


def _check_k(k: int, candidates: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= candidates:
        raise AssetmapError(f"k must be from 1 to the number of candidate sites "
                            f"({candidates}), not {k}")


def _check_threshold(threshold: float) -> None:
    if not threshold > 0:
        raise AssetmapError(f"threshold must be above 0, not {threshold:g}")

