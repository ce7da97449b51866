"""Benchmark the dask engine beyond one machine's comfort: N points (default 40 million)
joined to the 34,753 England and Wales LSOAs by a local cluster of capped workers.

The points are the positioned GB postcodes, each drawn with replacement and moved uniformly
within 50 m (seeded), generated on the workers in chunks and written as GeoParquet (this
process never holds them). Then, timed (wall clock) step by step:

- ``generate``: the jittered points written as GeoParquet chunks;
- ``partition``: :func:`assetmap.distributed.partition_points`, the Hilbert shuffle into
  spatially compact GeoParquet partitions (``--partition-rows`` points each);
- ``join``: :func:`assetmap.distributed.join_parquet` with the LSOAs scattered to every
  worker, written as GeoParquet; throughput is points per second of this step, and of the
  three steps together.

Peak memory is each worker process's largest resident set (``getrusage``), against its cap
(``--memory``; a worker over its cap is restarted by its nanny, which fails the run). A
check re-joins two output partitions in memory with :func:`assetmap.join.join`: the codes
must be the same.

Measured here (2 cores shared with other work, 24 GiB; 2 workers capped at 2 GiB): 40M
points in 400 s (generate 36, partition 249, join 115 s: 348,000 points/s), peak worker
memory 1,150 and 1,255 MiB; capped at 6 GiB: 450 s, join 119 s, peaks 1,122 and 1,012 MiB.

Run: ``python bench/dask_bench.py [--points N] [--workers 2] [--memory 2GiB] [--data DIR]``
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

JITTER_M = 50.0


def jittered(chunk: int, *, xy_file: str, size: int, seed: int):
    """Chunk ``chunk`` of the points: ``size`` postcodes drawn with replacement, each moved
    uniformly within :data:`JITTER_M` (a seeded generator per chunk)."""
    import geopandas as gpd

    xy = np.load(xy_file, mmap_mode="r")
    rng = np.random.default_rng([seed, chunk])
    chosen = np.sort(rng.integers(0, len(xy), size))
    radius = JITTER_M * np.sqrt(rng.random(size))
    angle = rng.random(size) * 2 * np.pi
    points = xy[chosen] + np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    return gpd.GeoDataFrame({"postcode_row": chosen.astype("int32")},
                            geometry=gpd.points_from_xy(points[:, 0], points[:, 1]),
                            crs="EPSG:27700")


def generate(folder: Path, xy_file: Path, points: int, chunk_rows: int, seed: int) -> Path:
    """The jittered points as GeoParquet chunks in ``folder`` (made on the workers)."""
    import dask.dataframe as dd
    import dask_geopandas  # noqa: F401  (GeoDataFrame partitions make a dask-geopandas frame)

    sizes = np.diff(np.linspace(0, points, math.ceil(points / chunk_rows) + 1).astype(int))
    frame = dd.from_map(lambda chunk_size: jittered(chunk_size[0], xy_file=str(xy_file),
                                                    size=chunk_size[1], seed=seed),
                        list(enumerate(sizes)),
                        meta=jittered(0, xy_file=str(xy_file), size=0, seed=seed),
                        enforce_metadata=False)
    frame.to_parquet(folder)
    return folder


def peak_worker_mib(client) -> dict[str, float]:
    """Each worker process's peak resident set so far, MiB."""
    def peak() -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    return client.run(peak)


def check_sample(joined: Path, layer) -> int:
    """Re-join two output partitions in memory: the codes must equal the engine's."""
    import geopandas as gpd

    from assetmap.join import join

    rows = 0
    parts = sorted(joined.glob("*.parquet"))
    for part in (parts[0], parts[-1]):
        engine = gpd.read_parquet(part)
        again = join(engine[["geometry"]], {"lsoa": layer})
        same = (again["lsoa_code"].fillna("") == engine["lsoa_code"].fillna("")).all()
        if not same or len(again) != len(engine):
            raise SystemExit(f"{part.name}: the dask engine's codes differ from join()")
        rows += len(engine)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=40_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory", default="2GiB", help="cap per worker (default 2GiB)")
    parser.add_argument("--partition-rows", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("ASSETMAP_DATA_DIR", "../shared/data")))
    parser.add_argument("--folder", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    import pandas as pd

    from assetmap.boundaries import load_layer
    from assetmap.distributed import client_for, join_parquet, partition_points

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # "shuffle started"
    with tempfile.TemporaryDirectory(dir=args.folder) as temp:
        folder = Path(temp)
        table = pd.read_csv(args.data / "national" / "postcodes_gb.csv.gz",
                            usecols=["easting", "northing"]).dropna()
        np.save(folder / "xy.npy", table.to_numpy(float))
        layer = load_layer(args.data / "national" / "lsoa11_ew.gpkg")
        print(f"{args.points:,} points (GB postcodes jittered within {JITTER_M:.0f} m, "
              f"seed {args.seed}) x {len(layer):,} LSOAs; {args.workers} workers capped "
              f"at {args.memory} each, one thread each; {os.cpu_count()} cores", flush=True)
        times = {}

        def timed(step: str, work) -> None:
            start = time.perf_counter()
            work()
            times[step] = time.perf_counter() - start
            print(f"  {step:<10} {times[step]:8.1f} s  {args.points / times[step]:12,.0f} "
                  "points/s", flush=True)

        with client_for(workers=args.workers, memory_limit=args.memory) as client:
            timed("generate", lambda: generate(folder / "raw", folder / "xy.npy", args.points,
                                               args.partition_rows, args.seed))
            timed("partition", lambda: partition_points(
                folder / "raw", folder / "points", client=client,
                npartitions=math.ceil(args.points / args.partition_rows)))
            timed("join", lambda: join_parquet(folder / "points", {"lsoa": layer},
                                               folder / "joined", client=client))
            peaks = peak_worker_mib(client)
        total = sum(times.values())
        print(f"  {'total':<10} {total:8.1f} s  {args.points / total:12,.0f} points/s")
        print("  peak worker memory: " + ", ".join(f"{mib:,.0f} MiB" for mib in
                                                   peaks.values()) + f" (cap {args.memory})")
        size = sum(f.stat().st_size for f in (folder / "points").glob("*.parquet")) / 2**20
        print(f"  partitioned GeoParquet: {size:,.0f} MiB")
        print(f"  check: {check_sample(folder / 'joined', layer):,} rows re-joined in memory, "
              "codes equal")


if __name__ == "__main__":
    main()
