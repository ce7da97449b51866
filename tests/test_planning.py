"""Location planning: every problem against brute force over all subsets of candidates, the
reductions against the unreduced model, errors, and the Bradford anchor (K = 3 schools)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import shapely
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

import assetmap
from assetmap import planning
from assetmap.planning import max_cover, p_median, set_cover

THRESHOLD = 700.0


def instance(seed: int, n: int = 30, m: int = 8, f: int = 2):
    """Demand weights and points, candidates and fixed sites in a 3 km square."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 20, n).astype(float)  # some points weigh nothing
    return (weights, rng.uniform(0, 3000, (n, 2)), rng.uniform(0, 3000, (m, 2)),
            rng.uniform(0, 3000, (f, 2)))


def subsets(m: int, k: int):
    return [list(s) for s in itertools.combinations(range(m), k)]


def covered(weights, demand, sites) -> float:
    return float(weights @ (cdist(demand, sites).min(axis=1, initial=np.inf) <= THRESHOLD))


def median_cost(weights, demand, sites) -> float:
    return float(weights @ cdist(demand, sites).min(axis=1))


def transport(weights, demand, sites, limits) -> float:
    """Weight served within the threshold, each site up to its limit (an LP)."""
    reach = np.argwhere(cdist(demand, sites) <= THRESHOLD)
    if not len(reach):
        return 0.0
    rows = [np.equal.outer(np.arange(len(demand)), reach[:, 0]),
            np.equal.outer(np.arange(len(sites)), reach[:, 1])]
    res = linprog(-np.ones(len(reach)), A_ub=np.vstack(rows).astype(float),
                  b_ub=np.concatenate([weights, np.minimum(limits, weights.sum())]))
    return -res.fun


def check_gains(plan, *, median: bool = False):
    assert len(set(plan.chosen.tolist())) == len(plan.chosen) == len(plan.gains)
    assert (plan.gains > 0).all() and (np.diff(plan.gains) <= 1e-6).all()  # greedy order
    change = plan.objective_before - plan.objective if median else \
        plan.objective - plan.objective_before
    assert np.isclose(plan.gains.sum(), change)
    assert plan.optimal and plan.gap == 0.0 and plan.seconds > 0


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_max_cover_is_the_brute_force_optimum(seed, k):
    weights, demand, candidates, fixed = instance(seed)
    plan = max_cover(weights, demand, candidates, fixed, k=k, threshold=THRESHOLD)
    best = max(covered(weights, demand, np.vstack([fixed, candidates[s]]))
               for s in subsets(len(candidates), k))
    assert np.isclose(plan.objective, best)
    assert np.isclose(plan.objective_before, covered(weights, demand, fixed))
    assert np.isclose(covered(weights, demand, np.vstack([fixed, candidates[plan.chosen]])),
                      best)
    check_gains(plan)
    assert len(plan.chosen) <= k and plan.problem == "cover"
    reached = cdist(demand, np.vstack([fixed, candidates[plan.chosen]])).min(axis=1) \
        <= THRESHOLD
    assert np.array_equal(plan.served, weights * reached)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("with_fixed", [True, False])
@pytest.mark.parametrize("m", [8, 20])
def test_p_median_is_the_brute_force_optimum(seed, k, with_fixed, m, monkeypatch):
    monkeypatch.setattr(planning, "_DEPTH", 4)  # first models of each point's 4 nearest
    weights, demand, candidates, fixed = instance(seed, m=m)
    fixed = fixed if with_fixed else np.empty((0, 2))
    plan = p_median(weights, demand, candidates, fixed if with_fixed else None, k=k)
    best = min(median_cost(weights, demand, np.vstack([fixed, candidates[s]]))
               for s in subsets(len(candidates), k))
    assert np.isclose(plan.objective, best)
    sites = np.vstack([fixed, candidates[plan.chosen]])
    assert np.allclose(plan.served, cdist(demand, sites).min(axis=1))
    assert np.isclose(weights @ plan.served, best)
    if with_fixed:
        check_gains(plan, median=True)
        assert np.isclose(plan.objective_before, median_cost(weights, demand, fixed))
    else:  # the first site saves everything: an infinite distance before
        assert np.isinf(plan.objective_before) and np.isinf(plan.gains[0])
        assert len(plan.chosen) == k and np.isclose(
            plan.objective, median_cost(weights, demand, candidates[plan.chosen[:1]])
            - plan.gains[1:].sum())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("target", [0.6, 0.8, 0.9])
def test_set_cover_is_the_brute_force_optimum(seed, target):
    weights, demand, candidates, fixed = instance(seed)
    total = weights.sum()
    reachable = covered(weights, demand, np.vstack([fixed, candidates]))
    if target * total > reachable:
        with pytest.raises(assetmap.AssetmapError, match="out of reach: with every "
                           f"candidate {reachable / total:.1%}"):
            set_cover(weights, demand, candidates, fixed, threshold=THRESHOLD, target=target)
        return
    plan = set_cover(weights, demand, candidates, fixed, threshold=THRESHOLD, target=target)
    for p in range(len(candidates) + 1):
        best = max(covered(weights, demand, np.vstack([fixed, candidates[s]]))
                   for s in subsets(len(candidates), p))
        if best >= target * total - 1e-9:
            break
    assert len(plan.chosen) == p and np.isclose(plan.objective, best)
    assert plan.problem == "setcover" and plan.objective >= target * total - 1e-9
    if p:
        check_gains(plan)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("fixed_limited", [True, False])
def test_capacitated_cover_is_the_brute_force_optimum(seed, k, fixed_limited):
    weights, demand, candidates, fixed = instance(seed)
    rng = np.random.default_rng(100 + seed)
    capacity = rng.uniform(10, 60, len(candidates))
    fixed_capacity = rng.uniform(10, 60, len(fixed)) if fixed_limited else None
    limits = fixed_capacity if fixed_limited else np.full(len(fixed), np.inf)
    plan = max_cover(weights, demand, candidates, fixed, k=k, threshold=THRESHOLD,
                     capacity=capacity, fixed_capacity=fixed_capacity)
    best = max(transport(weights, demand, np.vstack([fixed, candidates[s]]),
                         np.concatenate([limits, capacity[s]]))
               for s in subsets(len(candidates), k))
    assert np.isclose(plan.objective, best)
    assert np.isclose(plan.objective_before, transport(weights, demand, fixed, limits))
    check_gains(plan)
    assert np.isclose(plan.served.sum(), plan.objective)
    assert (plan.served >= -1e-9).all() and (plan.served <= weights + 1e-9).all()
    reached = cdist(demand, np.vstack([fixed, candidates[plan.chosen]])).min(axis=1) \
        <= THRESHOLD
    assert (plan.served[~reached] == 0).all()


def test_capacity_binds_and_unlimited_sites_cover_all_in_reach():
    weights, demand, candidates, fixed = instance(3)
    unlimited = max_cover(weights, demand, candidates, fixed, k=2, threshold=THRESHOLD)
    loose = max_cover(weights, demand, candidates, fixed, k=2, threshold=THRESHOLD,
                      capacity=np.full(len(candidates), 1e6))
    assert np.isclose(loose.objective, unlimited.objective)
    tight = max_cover(weights, demand, candidates, fixed, k=2, threshold=THRESHOLD,
                      capacity=np.full(len(candidates), 5.0), fixed_capacity=[5.0, 5.0])
    assert tight.objective <= 20 + 1e-9 and tight.objective_before <= 10 + 1e-9


@pytest.mark.parametrize("seed", range(20))
def test_reductions_keep_the_optimum(seed):
    weights, demand, candidates, fixed = instance(seed, n=80, m=12, f=3)
    weights[::7] = weights[1::7][:len(weights[::7])]  # duplicates: merged groups
    demand[::7] = demand[1::7][:len(demand[::7])]
    capacity = np.random.default_rng(seed).uniform(20, 100, len(candidates))
    runs = {
        "cover": lambda reduce: max_cover(weights, demand, candidates, fixed, k=3,
                                          threshold=THRESHOLD, reduce=reduce),
        "capacitated": lambda reduce: max_cover(
            weights, demand, candidates, fixed, k=3, threshold=THRESHOLD, capacity=capacity,
            fixed_capacity=[50.0, 40.0, np.inf], reduce=reduce),
        "median": lambda reduce: p_median(weights, demand, candidates, fixed, k=3,
                                          reduce=reduce),
        "median, no fixed sites": lambda reduce: p_median(weights, demand, candidates, k=10,
                                                          reduce=reduce),
        "setcover": lambda reduce: set_cover(weights, demand, candidates, fixed,
                                             threshold=THRESHOLD, target=0.5, reduce=reduce),
    }
    for name, run in runs.items():
        reduced, full = run(True), run(False)
        assert np.isclose(reduced.objective, full.objective), name
        assert len(reduced.chosen) == len(full.chosen) or name != "setcover"
        fewer = reduced.reductions["variables"] - full.reductions["variables"]
        # seldom m - k + 1 candidates closer than a fixed site; or no model at all
        assert fewer < 0 or (fewer == 0 and (name == "median" or not full.chosen.size)), name
    cover = runs["cover"](True).reductions
    assert cover["demand_groups"] < 80 - cover["demand_covered_by_fixed"]


def test_nothing_left_to_cover():
    weights, demand, candidates, _ = instance(0)
    plan = max_cover(weights, demand, candidates, demand, k=2, threshold=THRESHOLD)
    assert plan.chosen.size == 0 and plan.objective == plan.objective_before == weights.sum()
    assert set_cover(weights, demand, candidates, demand, threshold=THRESHOLD,
                     target=1.0).chosen.size == 0


def test_shapely_points_and_a_custom_cost_backend():
    weights, demand, candidates, fixed = instance(4)
    plan = max_cover(weights, demand, candidates, fixed, k=2, threshold=THRESHOLD)
    points = max_cover(weights, shapely.points(demand), shapely.points(candidates),
                       shapely.points(fixed), k=2, threshold=THRESHOLD)
    assert np.isclose(points.objective, plan.objective)

    class Slow:  # a travel-time backend: twice the straight line
        def nearest(self, origins, targets):
            return 2 * assetmap.STRAIGHT_LINE.nearest(origins, targets)

        def within(self, origins, targets, limit):
            i, j, d = assetmap.STRAIGHT_LINE.within(origins, targets, limit / 2)
            return i, j, 2 * d

    slow = max_cover(weights, demand, candidates, fixed, k=2, threshold=2 * THRESHOLD,
                     costs=Slow())
    assert np.isclose(slow.objective, plan.objective)
    median = p_median(weights, demand, candidates, fixed, k=2)
    assert np.isclose(p_median(weights, demand, candidates, fixed, k=2,
                               costs=Slow()).objective, 2 * median.objective)


@pytest.mark.parametrize("call, message", [
    (lambda w, d, c, f: max_cover(w, d, c, f, k=0, threshold=500), "k must be from 1 to .*8"),
    (lambda w, d, c, f: max_cover(w, d, c, f, k=9, threshold=500), "not 9"),
    (lambda w, d, c, f: p_median(w, d, c, f, k=9), "not 9"),
    (lambda w, d, c, f: p_median(w, d, c, f, k=2.5), "not 2.5"),
    (lambda w, d, c, f: max_cover(w, d, c[:0], f, k=1, threshold=500), "no candidate"),
    (lambda w, d, c, f: max_cover(w, d, c, f, k=1, threshold=0), "threshold must be above"),
    (lambda w, d, c, f: set_cover(w, d, c, f, threshold=-5, target=0.5), "threshold"),
    (lambda w, d, c, f: set_cover(w, d, c, f, threshold=500, target=0), "target must be"),
    (lambda w, d, c, f: set_cover(w, d, c, f, threshold=500, target=1.5), "target must be"),
    (lambda w, d, c, f: set_cover(w, d, c, f, threshold=1, target=1.0), "out of reach"),
    (lambda w, d, c, f: max_cover(w[:-1], d, c, f, k=1, threshold=500), "29 weights for 30"),
    (lambda w, d, c, f: p_median(-w, d, c, f, k=1), "not negative"),
    (lambda w, d, c, f: max_cover(w, d, c, f, k=1, threshold=500, capacity=[1, 2]),
     "2 values of capacity for 8"),
    (lambda w, d, c, f: max_cover(w, d, c, f, k=1, threshold=500, fixed_capacity=[1, -1]),
     "not negative"),
])
def test_errors_are_one_line(call, message):
    with pytest.raises(assetmap.AssetmapError, match=message) as error:
        call(*instance(0))
    assert "\n" not in str(error.value)


def test_bradford_three_schools_beside_the_gp_practices(data):
    """The anchor: children at postcodes, 59 GP practices fixed, 215 schools, 800 m, K = 3
    (stock spopt.MCLP with CBC on the unreduced model took 26.8 s)."""
    folder = data / "bradford"
    gaps = assetmap.gap_analysis([folder / "schools.csv"],
                                 population=folder / "population_lsoa.csv",
                                 deprivation=folder / "imd2019_lsoa.csv", category="school",
                                 by=["ward"])
    practices, _ = assetmap.validate_registers([folder / "gp_practices.csv"])
    points = gaps.points
    assert (len(practices), len(gaps.assets)) == (59, 215)
    args = (points["children"].to_numpy(float), points.geometry.array,
            gaps.assets.geometry.array, practices.geometry.array)
    plans = {}
    for name, call in {
        "cover": lambda: max_cover(*args, k=3, threshold=800.0),
        "cover unreduced": lambda: max_cover(*args, k=3, threshold=800.0, reduce=False),
        "median": lambda: p_median(*args, k=3),
        "setcover 80%": lambda: set_cover(*args, threshold=800.0, target=0.8),
        "capacitated": lambda: max_cover(*args, k=3, threshold=800.0,
                                         capacity=np.full(215, 1500.0),
                                         fixed_capacity=np.full(59, 1000.0)),
    }.items():
        start = time.perf_counter()
        plans[name] = plan = call()
        print(f"{name}: {time.perf_counter() - start:.3f} s, chosen {plan.chosen.tolist()}, "
              f"{plan.objective_before:,.0f} -> {plan.objective:,.0f}, {plan.reductions}")
        assert plan.optimal and plan.gap == 0.0
    cover = plans["cover"]
    assert cover.seconds < 3 and len(cover.chosen) == 3
    assert cover.objective > cover.objective_before
    assert np.isclose(cover.objective, plans["cover unreduced"].objective)
    assert cover.reductions["demand_groups"] < cover.reductions["demand_points"] / 10
    assert plans["median"].objective < plans["median"].objective_before
    assert plans["setcover 80%"].objective >= 0.8 * points["children"].sum()


@pytest.mark.parametrize("seed", range(4))
def test_p_median_out_of_time_reports_a_true_gap(seed, monkeypatch):
    """Stopped after its first model (each point's 8 nearest of 20), the answer is not
    proven, and its gap brackets the brute-force optimum."""
    monkeypatch.setattr(planning, "_DEPTH", 8)
    weights, demand, candidates, _ = instance(seed, m=20)
    plan = p_median(weights, demand, candidates, k=1, time_limit=0.0)
    best = min(median_cost(weights, demand, candidates[s]) for s in subsets(20, 1))
    assert plan.reductions["rounds"] == 1
    assert plan.objective * (1 - plan.gap) <= best + 1e-6 <= plan.objective + 2e-6
    assert plan.optimal == (plan.gap == 0.0)
