"""Benchmark the planning pack: how long ``assetmap demo`` keeps a person waiting (target:
under 10 s on this machine after install).

Times, wall clock (``time.perf_counter``), over N runs after one warm-up run (which builds
the postcode cache and fills the page cache, as on a second call):

- ``assetmap demo -o DIR`` from process start to files written (``subprocess.run``), and
  with ``--pdf`` (Chromium prints the report) when Chromium is here;
- the bare library formulation in this process: ``planning_pack`` (the analysis) and
  ``write_pack`` (map, report, workbook, GeoPackage), after the imports;
- the steps of one run, as ``run.json`` records them.

Needs the Bradford bundle (``ASSETMAP_DATA_DIR``, default ``../shared/data``).

Run: ``python bench/demo_bench.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from timing import summary, wall_times

_CLI = "from assetmap.cli.main import cli; cli()"


def library_times(folder: Path, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of ``planning_pack`` and of ``write_pack`` in this process."""
    from assetmap.pack import write_pack
    from assetmap.project import parse_project
    from assetmap.report import planning_pack
    from assetmap.starter import demo_project

    project = parse_project(demo_project(), Path("<demo>"))
    write_pack(planning_pack(project), folder / "warm")
    analyse, write = [], []
    for i in range(repeats):
        start = time.perf_counter()
        pack = planning_pack(project)
        middle = time.perf_counter()
        write_pack(pack, folder / f"lib{i}")
        analyse.append(middle - start)
        write.append(time.perf_counter() - middle)
    return analyse, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    script = shutil.which("assetmap")
    cli = [script] if script else [sys.executable, "-c", _CLI]
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        print(f"{'what':<48} {'best':>6} {'median':>7} {'worst':>6}  (s, {args.repeats} runs)")
        print(summary("assetmap demo (process start to files)",
                   wall_times([*cli, "demo", "-o", str(folder / "cli")], args.repeats)))
        from assetmap.printing import find_chromium

        if find_chromium():
            print(summary("assetmap demo --pdf", wall_times(
                [*cli, "demo", "--pdf", "-o", str(folder / "pdf")], args.repeats)))
        analyse, write = library_times(folder, args.repeats)
        print(summary("planning_pack (library, after imports)", analyse))
        print(summary("write_pack (library)", write))
        steps = json.loads((folder / "cli" / "run.json").read_text())["timings_s"]
        print("steps of the last command run (run.json):")
        for step, seconds in steps.items():
            print(f"  {step:<42} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
