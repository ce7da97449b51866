"""Benchmark disclosure control: ``GapResult.published`` (primary, secondary and derived
suppression) on Bradford schools and GP practices by LSOA, ward and constituency published
together (apportioned by postcodes: the three layers do not nest).

For each threshold N it prints the seconds (best of R runs, ``time.perf_counter``), the
hidden cells, and the share of each layer's areas whose people counts are hidden. The gap
analysis itself is not timed.

Data: ``$ASSETMAP_DATA_DIR``, default ``assetmap.settings.data_dir()``.

Run: ``python bench/suppression_bench.py [--repeats R] [N ...]``
"""

from __future__ import annotations

import argparse
import time

import assetmap
from assetmap.gaps import SUPPRESSED
from assetmap.settings import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("thresholds", nargs="*", type=int, default=[10, 50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    folder = data_dir() / "bradford"
    result = assetmap.gap_analysis(
        [folder / "schools.csv", folder / "gp_practices.csv"],
        by=["lsoa", "ward", "constituency"], threshold=400.0,
        population=folder / "population_lsoa.csv", deprivation=folder / "imd2019_lsoa.csv",
        postcodes=folder / "postcodes_bd.csv")
    counts = result.demand.counts
    print(f"{len(result.table)} rows, {len(result.shared['identity'].unique())} sets of areas "
          f"holding the same people, age bands {len(result.demand.parts)} group(s)")
    for below in options.thresholds:
        best = float("inf")
        for _ in range(options.repeats):
            start = time.perf_counter()
            shown = result.published(below)
            best = min(best, time.perf_counter() - start)
        hidden = shown == SUPPRESSED
        areas = hidden[counts].any(axis=1).groupby(shown["layer"]).mean()
        print(f"N={below:>4}: {best:6.2f} s, {int(hidden.to_numpy().sum()):>5} cells hidden; "
              "areas with a hidden count: "
              + ", ".join(f"{layer} {share:.0%}" for layer, share in areas.items()))


if __name__ == "__main__":
    main()
