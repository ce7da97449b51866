"""Benchmark the point-in-polygon join: ``assetmap.join.assign_areas`` against a bare baseline.

For each dataset (Bradford postcodes x 310 LSOAs; all GB postcodes x 34,753 E&W LSOAs) it
times, best of N runs (wall clock, ``time.perf_counter``):

- baseline: ``shapely.STRtree(points).query(polygons, predicate="contains")`` (tree build
  included, as ``assign_areas`` builds its own tree);
- ``assign_areas(points, polygons, rank=..., tolerance=50.0)``;
- ``assetmap.join(assets, {"lsoa": layer})`` (adds the code/name/match columns), for information.

It prints points, polygons, seconds, points/s, the ratio assetmap/baseline (target <= 1.5),
points per match kind, and the share of points with exactly one baseline polygon that
``assign_areas`` puts in that same polygon (should be 100%). Loading data is not timed.

Data: ``$ASSETMAP_DATA_DIR``, default ``assetmap.settings.data_dir()``.

Run: ``python bench/join_bench.py [--only bradford|gb] [--repeats N]``
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import assetmap
from assetmap.join import MATCHES, assign_areas

DATASETS = {  # name: (postcode CSV, boundary layer, code column, name column, default repeats)
    "bradford": ("bradford/postcodes_bd.csv", "bradford/lsoa.geojson", "LSOA11CD", "LSOA11NM", 5),
    "gb": ("national/postcodes_gb.csv.gz", "national/lsoa11_ew.gpkg", "lsoa11cd", "lsoa11nm", 3),
}


def best_of(repeats, func):
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def load(name):
    """Points (shapely array, positioned rows only) and the boundary layer of one dataset."""
    points_file, layer_file, code, label, _ = DATASETS[name]
    base = assetmap.data_dir()
    frame = pd.read_csv(base / points_file, usecols=["postcode", "easting", "northing"])
    frame = frame[(frame["easting"] != 0) | (frame["northing"] != 0)]
    points = shapely.points(frame[["easting", "northing"]].to_numpy(dtype=float))
    return frame["postcode"].to_numpy(), points, assetmap.load_layer(base / layer_file,
                                                                      code=code, name=label)


def bench(name, repeats):
    """Time one dataset; return a row of figures."""
    postcodes, points, layer = load(name)
    polygons = np.asarray(layer.geometry.array)
    codes = layer["code"].to_numpy()
    rank = np.argsort(np.argsort(codes, kind="stable"))

    t_base, (polygon_i, point_i) = best_of(
        repeats, lambda: shapely.STRtree(points).query(polygons, predicate="contains"))
    t_am, (area, match) = best_of(
        repeats, lambda: assign_areas(points, polygons, rank=rank, tolerance=50.0))
    assets = gpd.GeoDataFrame({"postcode": postcodes}, geometry=points, crs=layer.crs)
    t_join, _ = best_of(repeats, lambda: assetmap.join(assets, {"lsoa": layer}))

    single = np.bincount(point_i, minlength=len(points))[point_i] == 1
    agree = np.mean(area[point_i[single]] == polygon_i[single]) if single.any() else np.nan
    kinds = dict(zip(MATCHES, np.bincount(match, minlength=len(MATCHES)), strict=True))
    return {"data": name, "points": len(points), "polygons": len(polygons),
            "baseline_s": t_base, "assetmap_s": t_am, "join_s": t_join,
            "points/s": len(points) / t_am, "ratio": t_am / t_base, **kinds,
            "agree_%": 100 * agree}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(DATASETS), help="run one dataset only")
    parser.add_argument("--repeats", type=int, help="runs per timing (default: 5 Bradford, 3 GB)")
    args = parser.parse_args(argv)
    rows = []
    for name in [args.only] if args.only else DATASETS:
        rows.append(bench(name, args.repeats or DATASETS[name][-1]))
        print(f"{name}: done", flush=True)
    table = pd.DataFrame(rows).set_index("data")
    formats = {"baseline_s": "{:.3f}", "assetmap_s": "{:.3f}", "join_s": "{:.3f}",
               "points/s": "{:,.0f}", "ratio": "{:.2f}", "agree_%": "{:.2f}"}
    for column, fmt in formats.items():
        table[column] = table[column].map(fmt.format)
    print(table.T.to_string())
    print("target: ratio (assetmap_s / baseline_s) <= 1.5")


if __name__ == "__main__":
    main()
