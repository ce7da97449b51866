"""Cost backends: the straight line against brute force, and a custom backend plugged into
two-step floating catchment and reach by IMD decile."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial.distance import cdist

import assetmap
from assetmap import costs, gaps
from assetmap.costs import STRAIGHT_LINE, StraightLine


def points(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 5_000, (n, 2))


@pytest.mark.parametrize("limit", [0.0, 300.0, 1_500.0, np.inf])
def test_within_is_every_pair_in_reach_sorted(limit):
    origins, targets = points(1, 400), points(2, 60)
    targets[0] = origins[3]  # a zero distance is a pair
    i, j, cost = STRAIGHT_LINE.within(origins, targets, limit)
    full = cdist(origins, targets)
    expected = np.argwhere(full <= limit)  # row-major: sorted by i then j
    assert np.array_equal(np.column_stack([i, j]), expected)
    assert np.allclose(cost, full[i, j])
    assert ((i == 3) & (j == 0)).any()
    same = STRAIGHT_LINE.within(shapely.points(origins), shapely.points(targets), limit)
    assert all(np.array_equal(a, b) for a, b in zip(same, (i, j, cost), strict=True))


def test_within_and_nearest_with_nothing_there():
    origins = points(3, 5)
    assert all(len(a) == 0 for a in STRAIGHT_LINE.within(origins, np.empty((0, 2)), 100.0))
    assert all(len(a) == 0 for a in STRAIGHT_LINE.within(np.empty((0, 2)), origins, 100.0))
    assert np.isinf(STRAIGHT_LINE.nearest(origins, np.empty((0, 2)))).all()


def test_nearest_is_the_same_function_everywhere():
    origins, targets = points(4, 500), points(5, 40)
    expected = cdist(origins, targets).min(axis=1)
    assert np.allclose(StraightLine(workers=1).nearest(origins, targets), expected)
    assert assetmap.nearest_distance is costs.nearest_distance  # one implementation
    assert np.allclose(assetmap.nearest_distance(origins, targets), expected)


class Doubled:
    """A travel-cost backend twice the straight line (as a slower mode would be)."""

    def nearest(self, origins, targets):
        return 2 * STRAIGHT_LINE.nearest(origins, targets)

    def within(self, origins, targets, limit):
        i, j, cost = STRAIGHT_LINE.within(origins, targets, limit / 2)
        return i, j, 2 * cost


def test_a_backend_plugs_into_catchment_and_reach():
    origins, sites = points(6, 300), points(7, 12)
    demand = np.random.default_rng(8).uniform(0, 50, 300)
    capacity = np.random.default_rng(9).uniform(10, 100, 12)
    straight = gaps.two_step_fca(origins, demand, sites, capacity, 800.0)
    assert straight.max() > 0
    assert np.allclose(gaps.two_step_fca(origins, demand, sites, capacity, 1_600.0,
                                         costs=Doubled()), straight)
    frame = gpd.GeoDataFrame({"children": demand, "imd_decile": np.arange(300) % 10 + 1},
                             geometry=shapely.points(origins))
    reach = gaps.reach_by_decile(frame, shapely.points(sites), "children", 800.0)
    slow = gaps.reach_by_decile(frame, shapely.points(sites), "children", 800.0,
                                costs=Doubled())
    assert np.allclose(slow["distance_median_m"], 2 * reach["distance_median_m"])
    assert (slow["within_pct"] <= reach["within_pct"]).all()
    pd.testing.assert_series_equal(slow["people"], reach["people"])
