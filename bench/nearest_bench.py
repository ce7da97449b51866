"""Benchmark nearest-asset distance: ``assetmap.costs.nearest_distance`` against a bare baseline.

All positioned GB postcodes (1.74 million, Code-Point Open) are the origins; 20,000 of them,
drawn at random with a fixed seed, stand in for assets (so the assets are spread as homes
are). It times, best of N runs (wall clock, ``time.perf_counter``), tree build included:

- baseline: ``scipy.spatial.cKDTree(assets).query(postcodes, k=1, workers=W)`` on the
  ``(n, 2)`` coordinate arrays;
- ``nearest_distance(postcodes, assets, workers=W)`` on the same coordinate arrays;
- ``nearest_distance`` on shapely point arrays (adds ``shapely.get_coordinates``), for
  information.

It prints points, assets, seconds, points per second, the ratio assetmap/baseline (target
<= 1.5) and the largest difference between the two answers (should be 0).
Loading data is not timed.

Data: ``$ASSETMAP_DATA_DIR``, default ``assetmap.settings.data_dir()``.

Run: ``python bench/nearest_bench.py [--assets N] [--repeats N] [--workers W]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import shapely
from join_bench import best_of  # beside this file
from scipy.spatial import cKDTree

import assetmap
from assetmap.costs import nearest_distance


def load(assets: int, seed: int = 2025):
    """Positioned GB postcode coordinates, and ``assets`` of them drawn at random."""
    frame = pd.read_csv(assetmap.data_dir() / "national" / "postcodes_gb.csv.gz",
                        usecols=["easting", "northing"])
    xy = frame[(frame["easting"] != 0) | (frame["northing"] != 0)].to_numpy(dtype=float)
    chosen = np.random.default_rng(seed).choice(len(xy), size=assets, replace=False)
    return xy, xy[chosen]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=20_000, help="assets (default 20,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (default 3)")
    parser.add_argument("--workers", type=int, default=-1,
                        help="query threads for both (default -1: all cores)")
    args = parser.parse_args(argv)
    points, assets = load(args.assets)
    geometries = shapely.points(points), shapely.points(assets)

    t_base, base = best_of(args.repeats, lambda: cKDTree(assets).query(
        points, k=1, workers=args.workers)[0])
    t_am, ours = best_of(args.repeats, lambda: nearest_distance(points, assets,
                                                                 workers=args.workers))
    t_geo, _ = best_of(args.repeats, lambda: nearest_distance(*geometries,
                                                               workers=args.workers))
    figures = {"points": f"{len(points):,}", "assets": f"{len(assets):,}",
               "workers": args.workers, "baseline_s": f"{t_base:.3f}",
               "assetmap_s": f"{t_am:.3f}", "assetmap_shapely_s": f"{t_geo:.3f}",
               "points/s": f"{len(points) / t_am:,.0f}", "ratio": f"{t_am / t_base:.2f}",
               "max_diff_m": f"{np.abs(ours - base).max():.3g}",
               "median_m": f"{np.median(ours):,.0f}"}
    print(pd.Series(figures).to_string())
    print("target: ratio (assetmap_s / baseline_s) <= 1.5")


if __name__ == "__main__":
    main()
