"""`assetmap join` step by step, each step beside its bare pandas/pyarrow/shapely equivalent.

The national join (every positioned GB postcode as an asset, 1.74 million rows, as
scale_bench.py writes the register) runs in this process through the command line, with
the library's own steps timed; then each step's bare equivalent runs on the same data.
Prints one table: step, assetmap seconds, bare seconds and their ratio (each the median of
``--repeats`` runs). The bar (issue 19): every step within 2x its bare equivalent.

    ASSETMAP_DATA_DIR=../shared/data python bench/stage_bench.py --repeats 3
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from scale_bench import LSOA_COLUMNS, data_dir, national_files, write_register

#: The steps timed, as (module, function or Class.method, label), in the order they run.
STEPS = [
    ("assetmap.pipeline", "load_layers", "load LSOAs"),
    ("assetmap.locate", "read_register", "read register"),
    ("assetmap.locate", "_Rows.by_grid", "locate: coordinates"),
    ("assetmap.locate", "_Rows.by_postcode", "locate: postcodes"),
    ("assetmap.locate", "_Rows.reject_duplicates", "locate: duplicates"),
    ("assetmap.locate", "_Rows.assets", "locate: assets (points)"),
    ("assetmap.locate", "_Rows.audit", "locate: audit"),
    ("assetmap.locate", "categorise", "categorise"),
    ("assetmap.pipeline", "join", "join to LSOAs"),
    ("assetmap.pipeline", "count_by_area", "count by area"),
    ("assetmap.pipeline", "write_geo", "write assets CSV"),
    ("assetmap.pipeline", "write_table", "write counts and audit CSV"),
]


def timed_join(register: Path, output: Path, repeats: int) -> dict[str, float]:
    """Median seconds of each step of ``assetmap join`` (and ``whole command``)."""
    spent: dict[str, list[float]] = defaultdict(list)
    for module, name, label in STEPS:
        owner = importlib.import_module(module)
        *path, attribute = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, attribute, _timer(getattr(owner, attribute), label, spent))
    from assetmap.cli.main import cli

    for _ in range(repeats):
        start = time.perf_counter()
        try:
            cli(["join", str(register), "-b", "gb", "--layers", "lsoa", "-o", str(output)])
        except SystemExit as done:
            if done.code:
                raise RuntimeError(f"assetmap join exited {done.code}") from None
        spent["whole command (in process)"].append(time.perf_counter() - start)
    return {label: statistics.median(_per_run(times, repeats)) for label, times in spent.items()}


def _timer(function, label: str, spent: dict[str, list[float]]):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label].append(time.perf_counter() - start)
    return timed


def _per_run(times: list[float], repeats: int) -> list[float]:
    """A step called several times a run (the CSV writer) is summed per run."""
    calls = len(times) // repeats
    return [sum(times[i * calls:(i + 1) * calls]) for i in range(repeats)]


def bare_steps(register: Path, layer: Path, output: Path, repeats: int) -> dict[str, float]:
    """Median seconds of each step's bare pandas/pyarrow/shapely equivalent."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv
    import pyogrio
    import shapely

    state: dict = {}

    def read():
        table = pyarrow.csv.read_csv(register, convert_options=pyarrow.csv.ConvertOptions(
            column_types={c: pa.string() for c in ("id", "name", "type", "postcode",
                                                   "easting", "northing")}))
        state["table"], state["frame"] = table, table.to_pandas()

    def coordinates():
        for axis, column in (("x", "easting"), ("y", "northing")):
            state[axis] = pc.cast(state["table"][column], pa.float64()).to_numpy()

    def postcodes():
        text = state["table"]["postcode"]
        state["postcode"] = pc.replace_substring(pc.utf8_upper(text), " ", "")

    def duplicates():
        frame = state["frame"]
        frame.duplicated(), frame["id"].duplicated()
        pd.DataFrame({"name": frame["name"], "x": state["x"], "y": state["y"]}).duplicated()

    def points():
        state["points"] = shapely.points(np.column_stack([state["x"], state["y"]]))

    def categorise():
        types = state["frame"]["type"]
        state["category"] = types.map(dict.fromkeys(types.unique(), "Community centre"))

    def join():
        areas = pyogrio.read_dataframe(layer, columns=LSOA_COLUMNS)
        polygon_i, point_i = shapely.STRtree(state["points"]).query(areas.geometry.array,
                                                                    predicate="contains")
        state["area"] = np.full(len(state["points"]), -1)
        state["area"][point_i] = polygon_i
        state["codes"], state["names"] = (areas[c].to_numpy() for c in LSOA_COLUMNS)

    def count():
        pd.Series(state["area"]).groupby(state["category"].to_numpy()).value_counts()

    def write():  # the columns assetmap writes: the register's, then its own
        frame = state["frame"].assign(
            source="register.csv", row=np.arange(2, 2 + len(state["frame"])),
            category=state["category"], method="grid reference",
            lsoa_code=state["codes"][state["area"]], lsoa_name=state["names"][state["area"]],
            lsoa_match="inside")
        pyarrow.csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), output)

    bare = {"read register": read, "locate: coordinates": coordinates,
            "locate: postcodes": postcodes, "locate: duplicates": duplicates,
            "locate: assets (points)": points, "categorise": categorise,
            "join to LSOAs": join, "count by area": count, "write assets CSV": write}
    spent: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for label, step in bare.items():
            start = time.perf_counter()
            step()
            spent[label].append(time.perf_counter() - start)
    return {label: statistics.median(times) for label, times in spent.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--data", help="data folder (default $ASSETMAP_DATA_DIR)")
    args = parser.parse_args(argv)
    files = national_files(args.data)
    os.environ["ASSETMAP_DATA_DIR"] = str(data_dir(args.data))  # the gb set's files
    with tempfile.TemporaryDirectory(prefix="stage_bench_") as temp:
        register = Path(temp) / "register.csv"
        rows = write_register(files["postcodes"], register)
        ours = timed_join(register, Path(temp) / "joined.csv", args.repeats)
        bare = bare_steps(register, files["lsoa"], Path(temp) / "bare.csv", args.repeats)
    print(f"assetmap join of {rows:,} rows to national LSOAs, step by step; median of "
          f"{args.repeats} runs; seconds; ratio = assetmap / bare (the bar: 2)")
    print(f"{'step':<28} {'assetmap':>8} {'bare':>8} {'ratio':>6}")
    for label, seconds in ours.items():
        other = bare.get(label)
        ratio = f"{seconds / other:6.2f}" if other else "     -"
        print(f"{label:<28} {seconds:8.2f} {other or float('nan'):8.2f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
