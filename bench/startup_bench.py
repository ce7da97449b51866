"""Benchmark start-up: how long a person waits for ``--help`` (target: under 1 s).

Times, wall clock from process start to exit (``subprocess.run``; ``time.perf_counter``), over
N runs after one warm-up run (so the files are in the page cache, as on a second call):

- ``assetmap --help``;
- ``assetmap join --help`` (and the other commands' ``--help``);
- ``python -c 'import assetmap'`` (the package imports its modules on first use);
- for comparison, ``python -c 'import geopandas'`` and ``python -c 'pass'``.

It prints the best, median and worst seconds of each. The ``assetmap`` command is the
installed console script (``pip install -e .``); pass ``--module`` to run
``python -m assetmap.cli.main`` instead.

Run: ``python bench/startup_bench.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import shutil
import sys

from timing import summary, wall_times

_CLI = "from assetmap.cli.main import cli; cli()"


def commands(use_module: bool) -> dict[str, list[str]]:
    """What to time: a label and the command line."""
    script = shutil.which("assetmap")
    cli = [sys.executable, "-c", _CLI] if use_module or not script else [script]
    return {
        "assetmap --help": [*cli, "--help"],
        "assetmap join --help": [*cli, "join", "--help"],
        "assetmap gaps --help": [*cli, "gaps", "--help"],
        "assetmap map --help": [*cli, "map", "--help"],
        "assetmap clusters build --help": [*cli, "clusters", "build", "--help"],
        "python -c 'import assetmap'": [sys.executable, "-c", "import assetmap"],
        "python -c 'import geopandas' (for comparison)": [sys.executable, "-c",
                                                           "import geopandas"],
        "python -c 'pass' (interpreter alone)": [sys.executable, "-c", "pass"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--module", action="store_true",
                        help="run the CLI through python -c, not the console script")
    args = parser.parse_args()
    print(f"{'command':<48} {'best':>6} {'median':>7} {'worst':>6}  (s, {args.repeats} runs)")
    for label, command in commands(args.module).items():
        print(summary(label, wall_times(command, args.repeats)))


if __name__ == "__main__":
    main()
