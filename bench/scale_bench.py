"""What a person waits for, in one table: each row a whole command (process start to outputs
written) or a kernel, against the bare formulation of the same work.

Rows (``--only`` picks some):

- ``join-kernel``: ``assign_areas`` against ``STRtree(points).query(polygons, "contains")``
  in this process, all positioned GB postcodes x 34,753 E&W LSOAs;
- ``join``: ``assetmap join REGISTER -b gb --layers lsoa -o out.csv`` against a child that
  reads the register with pandas, makes shapely points, reads the layer, queries an STRtree
  of the points with the polygons and writes the same columns (+ lsoa_code, lsoa_name) to
  CSV. The register (id, name, type, postcode, easting, northing) is one row per positioned
  GB postcode, written to a temporary folder;
- ``nearest``: the distance from every postcode to the nearest GP practice as the gap
  analysis asks for it (``STRAIGHT_LINE.nearest`` on shapely points) against
  ``cKDTree(sites).query(xy)`` on coordinate arrays, in this process (a kernel);
- ``postcodes``: loading the postcode index in a fresh process (``PostcodeIndex.from_file``,
  cached as a second call finds it) against ``pandas.read_csv`` of the postcode file;
- ``gaps``: ``assetmap gaps`` of the England GP practices by LSOA and local authority
  district (``-b england``: districts dissolved from LSOAs; population, IMD; CSV, XLSX and
  GeoPackage written) against a child that places each LSOA's people evenly on its
  postcodes (STRtree), measures the distance to the nearest practice (cKDTree) and writes
  each LSOA's median and people to CSV;
- ``demo``: ``assetmap demo`` against ``planning_pack`` + ``write_pack`` in a child;
- ``help``: ``assetmap --help`` against ``python -c pass``.

Whole commands run in child processes, alternating with their bare formulation (A B A B,
after one untimed warm-up of each); kernels alternate in this process. Each figure is the
median of ``--repeats`` runs; peak memory is the child's largest resident set (``os.wait4``).
The ratio is assetmap / bare. A row that cannot run says why. Other work on the machine makes
the figures noisy: compare ratios, and prefer runs on an idle machine.

Data: ``--data DIR`` (default ``$ASSETMAP_DATA_DIR``) holding ``national/`` (postcodes_gb.csv.gz,
lsoa11_ew.gpkg, gp_practices_england.csv, population_lsoa_england.csv.gz,
imd2019_lsoa_england.csv.gz) and, for the demo, ``bradford/``.

Run: ``python bench/scale_bench.py [--repeats N] [--only ROW ...] [--data DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from timing import ChildFailed, interleaved, interleaved_calls, median_run

NATIONAL = {"postcodes": "postcodes_gb.csv.gz", "lsoa": "lsoa11_ew.gpkg",
            "gp": "gp_practices_england.csv", "population": "population_lsoa_england.csv.gz",
            "imd": "imd2019_lsoa_england.csv.gz"}
LSOA_COLUMNS = ["lsoa11cd", "lsoa11nm"]
TYPES = ["library", "community centre", "GP practice", "school", "family hub"]
_CLI = "from assetmap.cli.main import cli; cli()"


@dataclass
class Figure:
    """One row of the table: medians (seconds, MB; MB is None in this process)."""

    label: str
    size: str
    ours: float | None = None
    ours_mb: float | None = None
    bare: float | None = None
    bare_mb: float | None = None
    note: str = ""

    def line(self) -> str:
        """The row as printed."""
        if self.ours is None:
            return f"{self.label:<26} {self.size:>22}  {self.note}"
        return (f"{self.label:<26} {self.size:>22} {self.ours:8.2f} {_mb(self.ours_mb)} "
                f"{self.bare:8.2f} {_mb(self.bare_mb)} {self.ours / self.bare:6.2f}")


def _mb(value: float | None) -> str:
    return f"{value:8,.0f}" if value is not None else f"{'-':>8}"


HEADER = (f"{'row':<26} {'size':>22} {'assetmap':>8} {'peak MB':>8} {'bare':>8} {'peak MB':>8} "
          f"{'ratio':>6}")


def data_dir(data: str | os.PathLike | None = None) -> Path:
    """The data folder: ``data``, else ``$ASSETMAP_DATA_DIR`` (as assetmap finds it)."""
    if data is not None:
        return Path(data)
    from assetmap.settings import data_dir as default

    return Path(default())


def national_files(data: str | os.PathLike | None = None) -> dict[str, Path]:
    """The national files, by role."""
    return {role: data_dir(data) / "national" / name for role, name in NATIONAL.items()}


def cli_command() -> list[str]:
    """The ``assetmap`` console script, or the CLI through this interpreter."""
    script = shutil.which("assetmap")
    return [script] if script else [sys.executable, "-c", _CLI]


def positioned_postcodes(path: Path):
    """postcode, easting, northing of the postcodes with a position (not 0, 0)."""
    import pandas as pd

    frame = pd.read_csv(path, usecols=["postcode", "easting", "northing"])
    return frame[(frame["easting"] != 0) | (frame["northing"] != 0)].reset_index(drop=True)


def write_register(postcodes: Path, path: Path) -> int:
    """A register CSV with one asset per positioned postcode; its row count."""
    import numpy as np
    import pandas as pd

    frame = positioned_postcodes(postcodes)
    number = np.arange(len(frame)).astype(str)
    pd.DataFrame({"id": np.char.add("A", number), "name": np.char.add("Site ", number),
                  "type": np.resize(TYPES, len(frame)), **frame}).to_csv(path, index=False)
    return len(frame)


# Bare formulations, each run as a child: python scale_bench.py --bare NAME ARG...

def bare_join(register: str, layer: str, output: str) -> None:
    """pandas read, shapely points, STRtree(points).query(polygons), the same columns to CSV."""
    import numpy as np
    import pandas as pd
    import pyogrio
    import shapely

    table = pd.read_csv(register, dtype=str, keep_default_na=False)
    points = shapely.points(table[["easting", "northing"]].to_numpy(dtype=float))
    areas = pyogrio.read_dataframe(layer, columns=LSOA_COLUMNS)
    polygon_i, point_i = shapely.STRtree(points).query(areas.geometry.array, predicate="contains")
    first = np.full(len(table), -1)
    first[point_i[::-1]] = polygon_i[::-1]
    found = first >= 0
    for column, source in zip(["lsoa_code", "lsoa_name"], LSOA_COLUMNS, strict=True):
        table[column] = np.where(found, areas[source].to_numpy()[first], "")
    table.to_csv(output, index=False)


def bare_gaps(postcodes: str, layer: str, sites: str, population: str, output: str) -> None:
    """Each LSOA's people evenly on its postcodes; median distance to the nearest site."""
    import pandas as pd
    import pyogrio
    import shapely
    from scipy.spatial import cKDTree

    homes = positioned_postcodes(Path(postcodes))
    xy = homes[["easting", "northing"]].to_numpy(dtype=float)
    areas = pyogrio.read_dataframe(layer, columns=LSOA_COLUMNS)
    polygon_i, point_i = shapely.STRtree(shapely.points(xy)).query(areas.geometry.array,
                                                                   predicate="contains")
    sites_xy = pd.read_csv(sites, usecols=["easting", "northing"]).dropna().to_numpy(float)
    distance = cKDTree(sites_xy).query(xy[point_i], workers=-1)[0]
    code = areas["lsoa11cd"].to_numpy()[polygon_i]
    people = pd.read_csv(population)
    total = next(column for column in people if column.startswith("Total population"))
    people = people[[people.columns[0], total]].set_axis(["code", "people"], axis=1)
    result = (pd.DataFrame({"code": code, "distance_m": distance}).groupby("code")["distance_m"]
              .median().reset_index().merge(people, on="code", how="right"))
    result.to_csv(output, index=False)


def bare_postcodes(postcodes: str) -> None:
    """The postcode file read with pandas."""
    positioned_postcodes(Path(postcodes))


def bare_demo(output: str) -> None:
    """The demo's library calls: ``planning_pack`` then ``write_pack``."""
    from assetmap.pack import write_pack
    from assetmap.project import parse_project
    from assetmap.report import planning_pack
    from assetmap.starter import demo_project

    write_pack(planning_pack(parse_project(demo_project(), Path("<demo>"))), Path(output))


BARE = {"join": bare_join, "gaps": bare_gaps, "postcodes": bare_postcodes, "demo": bare_demo}


def bare_command(name: str, *args) -> list[str]:
    """The command line running one bare formulation in a child."""
    return [sys.executable, str(Path(__file__).resolve()), "--bare", name, *map(str, args)]


# Rows

def children(label: str, size: str, ours: list[str], bare: list[str], repeats: int,
             warmup: int, env: dict) -> Figure:
    """A whole command against its bare formulation, alternating, as child processes."""
    try:
        runs = interleaved({"ours": ours, "bare": bare}, repeats, warmup, env=env)
    except ChildFailed as failed:
        return Figure(label, size, note=f"not runnable: {failed}")
    mine, theirs = median_run(runs["ours"]), median_run(runs["bare"])
    return Figure(label, size, mine.seconds, mine.peak_mb, theirs.seconds, theirs.peak_mb)


def in_process(label: str, size: str, ours, bare, repeats: int, warmup: int) -> Figure:
    """A kernel against its bare formulation, alternating, in this process."""
    times = interleaved_calls({"ours": ours, "bare": bare}, repeats, warmup)
    return Figure(label, size, statistics.median(times["ours"]), None,
                  statistics.median(times["bare"]), None)


def row_join_kernel(files, folder, repeats, warmup, env) -> Figure:
    import numpy as np
    import shapely

    from assetmap.boundaries import load_layer
    from assetmap.join import assign_areas, code_rank

    frame = positioned_postcodes(files["postcodes"])
    points = shapely.points(frame[["easting", "northing"]].to_numpy(dtype=float))
    layer = load_layer(files["lsoa"], code=LSOA_COLUMNS[0], name=LSOA_COLUMNS[1])
    polygons = np.asarray(layer.geometry.array)
    rank = code_rank(layer["code"].to_numpy())
    return in_process(
        "national join (kernel)", f"{len(points):,} x {len(polygons):,}",
        lambda: assign_areas(points, polygons, rank=rank, tolerance=50.0),
        lambda: shapely.STRtree(points).query(polygons, predicate="contains"), repeats, warmup)


def row_join(files, folder, repeats, warmup, env) -> Figure:
    register = folder / "register.csv"
    rows = write_register(files["postcodes"], register)
    return children(
        "national join", f"{rows:,} rows",
        [*cli_command(), "join", register, "-b", "gb", "--layers", "lsoa",
         "-o", folder / "joined.csv"],
        bare_command("join", register, files["lsoa"], folder / "bare_joined.csv"),
        repeats, warmup, env)


def row_nearest(files, folder, repeats, warmup, env) -> Figure:
    import pandas as pd
    import shapely
    from scipy.spatial import cKDTree

    from assetmap.costs import STRAIGHT_LINE

    xy = positioned_postcodes(files["postcodes"])[["easting", "northing"]].to_numpy(float)
    sites_xy = pd.read_csv(files["gp"], usecols=["easting", "northing"]).dropna().to_numpy(float)
    points, sites = shapely.points(xy), shapely.points(sites_xy)
    return in_process(
        "nearest distances (kernel)", f"{len(xy):,} x {len(sites_xy):,}",
        lambda: STRAIGHT_LINE.nearest(points, sites),
        lambda: cKDTree(sites_xy).query(xy, workers=-1)[0], repeats, warmup)


def row_postcodes(files, folder, repeats, warmup, env) -> Figure:
    load = ("import sys; from assetmap.postcodes import PostcodeIndex; "
            "PostcodeIndex.from_file(sys.argv[1])")
    return children("postcode index load", "GB postcodes",
                    [sys.executable, "-c", load, files["postcodes"]],
                    bare_command("postcodes", files["postcodes"]), repeats, warmup, env)


def row_gaps(files, folder, repeats, warmup, env) -> Figure:
    return children(
        "national gaps", "GP practices, LSOA+LAD",
        [*cli_command(), "gaps", files["gp"], "--category", "GP practice", "-b", "england",
         "--by", "lsoa,lad", "--no-study-area", "-p", files["population"], "-d", files["imd"],
         "-o", folder / "gaps.xlsx"],
        bare_command("gaps", files["postcodes"], files["lsoa"], files["gp"],
                     files["population"], folder / "bare_gaps.csv"),
        repeats, warmup, env)


def row_demo(files, folder, repeats, warmup, env) -> Figure:
    if not (files["lsoa"].parent.parent / "bradford").is_dir():
        return Figure("Bradford demo", "", note="not runnable: no bradford/ in the data folder")
    return children("Bradford demo", "assetmap demo",
                    [*cli_command(), "demo", "-o", folder / "demo"],
                    bare_command("demo", folder / "bare_demo"), repeats, warmup, env)


def row_help(files, folder, repeats, warmup, env) -> Figure:
    return children("assetmap --help", "", [*cli_command(), "--help"],
                    [sys.executable, "-c", "pass"], repeats, warmup, env)


ROWS = {"join-kernel": row_join_kernel, "join": row_join, "nearest": row_nearest,
        "postcodes": row_postcodes, "gaps": row_gaps, "demo": row_demo, "help": row_help}
LEGEND = [
    "bare: join-kernel STRtree(points).query(polygons, 'contains'); join pandas + shapely "
    "STRtree + to_csv;",
    "  nearest cKDTree(sites).query(xy); postcodes pandas.read_csv; gaps STRtree + cKDTree + "
    "groupby median;",
    "  demo planning_pack + write_pack in a child; help python -c pass",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed runs of each first (default 1)")
    parser.add_argument("--only", nargs="+", choices=list(ROWS), help="rows to run")
    parser.add_argument("--data", help="data folder (default $ASSETMAP_DATA_DIR)")
    parser.add_argument("--bare", nargs="+", metavar=("NAME", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        BARE[args.bare[0]](*args.bare[1:])
        return 0
    files = national_files(args.data)
    env = {**os.environ, "ASSETMAP_DATA_DIR": str(data_dir(args.data))}
    os.environ.update(env)  # kernels load through assetmap in this process
    print(f"median of {args.repeats} runs, A B A B after {args.warmup} warm-up; seconds; "
          "ratio = assetmap / bare; CPU shared with other work: figures are noisy")
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="scale_bench_") as temp:
        for name in args.only or ROWS:
            try:
                figure = ROWS[name](files, Path(temp), args.repeats, args.warmup, env)
            except Exception as problem:  # a row that fails says why, the others still run
                reason = (str(problem).splitlines() or [""])[0][:120]
                figure = Figure(name, "", note=f"not runnable: {type(problem).__name__} {reason}")
            print(figure.line(), flush=True)
    print("\n".join(LEGEND))
    return 0


if __name__ == "__main__":
    sys.exit(main())
