"""Benchmark location-allocation: ``assetmap.planning`` against stock spopt with PuLP's CBC
(target: ``max_cover`` at least 100x faster than stock ``spopt.MCLP`` with the same optimum).

The instance is Bradford as the gap analysis places it: children at the postcode demand
points of ``gap_analysis`` (schools, by ward), the GP practices as fixed (pre-sited)
facilities, the schools as candidates, K new sites, coverage within 800 m (straight line).

spopt has no separate "fixed" set: its facilities are the cost-matrix columns, the
``predefined_facilities_arr`` ones are fixed open and count toward ``p_facilities``. So
stock spopt gets the columns ``[fixed, candidates]``, the fixed ones predefined and
``p = K + len(fixed)``: K new sites plus the fixed ones, the problem ``planning`` solves.

Times, wall clock (``time.perf_counter``), after the data are loaded:

- the cost matrix for spopt (``scipy.spatial.distance.cdist``), shown separately;
- stock ``MCLP.from_cost_matrix`` (model build) and ``.solve(PULP_CBC_CMD(msg=False))``;
- ``planning.max_cover`` on the same coordinate arrays (its distance work included), and
  with ``reduce=False`` (the full model, HiGHS) for information;
- ``assetmap plan cover`` from process start to files written (``timing.wall_times``: one
  warm-up run, then N), its objective read back from the ``.json`` it writes;
- p-median, K new sites: ``planning.p_median`` against stock ``PMedian``, which gets at
  most ``--cap-seconds`` and ``--cap-gb`` of memory in a child process (a printed note when
  it runs out); then both on every ``--sample``-th demand point, where stock spopt finishes.

It prints best/median/worst seconds, the ratio stock/ours, both objectives (covered
children; weighted metres) and whether they agree to 1e-6 relative; it stops with an error
when they do not.

Needs the Bradford bundle (``ASSETMAP_DATA_DIR``, default ``../shared/data``) and the
``bench`` extra (``pip install -e .[bench]``: spopt, PuLP with its bundled CBC).

Run: ``python bench/plan_bench.py [--repeats N] [--stock-repeats N] [--cap-seconds S]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pulp
import shapely
from scipy.spatial.distance import cdist
from spopt.locate import MCLP, PMedian
from timing import summary, wall_times  # beside this file

import assetmap
from assetmap import planning

K, THRESHOLD = 3, 800.0
_CLI = "from assetmap.cli.main import cli; cli()"


def _xy(frame) -> np.ndarray:
    return shapely.get_coordinates(frame.geometry.to_numpy())


def instance(data: Path) -> dict[str, np.ndarray]:
    """Children at the gap analysis's demand points, GP practices (fixed), schools."""
    folder = data / "bradford"
    gaps = assetmap.gap_analysis(
        [folder / "schools.csv"], population=folder / "population_lsoa.csv",
        deprivation=folder / "imd2019_lsoa.csv", category="school", by=["ward"])
    practices, _ = assetmap.validate_registers([folder / "gp_practices.csv"])
    return {"weights": gaps.points["children"].to_numpy(dtype=float),
            "demand": _xy(gaps.points), "candidates": _xy(gaps.assets),
            "fixed": _xy(practices)}


def call_times(function: Callable, repeats: int) -> tuple[list[float], object]:
    """Seconds of each of ``repeats`` calls, and the last call's result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def stock(kind: str, case: dict[str, np.ndarray], cost: np.ndarray) -> dict:
    """Stock spopt (``"mclp"`` or ``"pmedian"``) over ``cost`` to ``[fixed, candidates]``:
    build and solve seconds, objective, chosen candidates."""
    fixed = len(case["fixed"])
    predefined = np.r_[np.ones(fixed), np.zeros(len(case["candidates"]))].astype(int)
    start = time.perf_counter()
    if kind == "mclp":
        model = MCLP.from_cost_matrix(cost, case["weights"], THRESHOLD, K + fixed,
                                      predefined_facilities_arr=predefined)
    else:
        model = PMedian.from_cost_matrix(cost, case["weights"], K + fixed,
                                         predefined_facilities_arr=predefined)
    built = time.perf_counter()
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    opened = np.array([v.value() for v in model.fac_vars]) > 0.5
    return {"build": built - start, "solve": time.perf_counter() - built,
            "objective": pulp.value(model.problem.objective),
            "chosen": np.flatnonzero(opened[fixed:]).tolist()}


def _capped(send, gigabytes: float, function: Callable, *args) -> None:
    os.setpgrp()  # CBC runs in this group, so the parent can stop both
    limit = int(gigabytes * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        send.send(function(*args))
    except Exception as error:  # out of memory (MemoryError, or CBC failing): a note
        send.send(f"stopped: {type(error).__name__} within {gigabytes:g} GB")


def capped(seconds: float, gigabytes: float, function: Callable, *args) -> dict | str:
    """``function(*args)`` in a child process with a time and memory cap; a note instead of
    the result when it runs out."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_capped, args=(send, gigabytes, function, *args))
    start = time.perf_counter()
    child.start()
    try:
        result = (receive.recv() if receive.poll(seconds)
                  else f"not done in {seconds:g} s (stopped)")
    except EOFError:
        result = "the child process ended without a result"
    with contextlib.suppress(ProcessLookupError):  # the group is gone once the child ends
        os.killpg(child.pid, signal.SIGKILL)
    child.join()
    return result if isinstance(result, dict) else \
        f"{result}, after {time.perf_counter() - start:.0f} s"


def agree(label: str, theirs: float, ours: float) -> None:
    """Print both objectives; stop when they differ by more than 1e-6 relative."""
    same = abs(theirs - ours) <= 1e-6 * max(abs(theirs), abs(ours), 1.0)
    print(f"  {label}: stock {theirs:,.4f}  ours {ours:,.4f}  "
          f"{'agree' if same else 'DIFFER'} (1e-6 relative)")
    if not same:
        raise SystemExit(f"{label}: objectives differ")


def compare(kind: str, label: str, ours: Callable, stock_runs: list[dict], repeats: int,
            ) -> None:
    """Print stock and ours (``label``) side by side: times, ratio, objectives."""
    plan_times, plan = call_times(ours, repeats)
    totals = [run["build"] + run["solve"] for run in stock_runs]
    print(summary(f"stock spopt {kind}: model build", [r["build"] for r in stock_runs]))
    print(summary(f"stock spopt {kind}: CBC solve", [r["solve"] for r in stock_runs]))
    print(summary(f"stock spopt {kind}: build + solve", totals))
    print(summary(label, plan_times))
    print(f"  ratio stock / ours (best of each): {min(totals) / min(plan_times):,.0f}x"
          f"   ours: optimal={plan.optimal} gap={plan.gap} reductions={plan.reductions}")
    print(f"  chosen candidates: stock {stock_runs[-1]['chosen']}  "
          f"ours {sorted(int(j) for j in plan.chosen)} (ties may differ)")
    agree("objective", stock_runs[-1]["objective"], plan.objective)


def plan_command(data: Path, output: Path) -> list[str]:
    """``assetmap plan cover`` on the benchmark instance, writing ``output`` (XLSX + ...)."""
    folder = data / "bradford"
    script = shutil.which("assetmap")
    return [*([script] if script else [sys.executable, "-c", _CLI]), "plan", "cover",
            str(folder / "gp_practices.csv"), "--category", "GP practice",
            "--candidates", str(folder / "schools.csv"), "-k", str(K), "-t", f"{THRESHOLD:g}",
            "--demand", "children", "-p", str(folder / "population_lsoa.csv"),
            "-d", str(folder / "imd2019_lsoa.csv"), "--by", "ward", "-o", str(output)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours (default 3)")
    parser.add_argument("--stock-repeats", type=int, default=1,
                        help="runs of stock spopt (default 1: it is slow)")
    parser.add_argument("--cap-seconds", type=float, default=180.0,
                        help="time for stock p-median on the whole instance (default 180)")
    parser.add_argument("--cap-gb", type=float, default=6.0,
                        help="memory for stock p-median on the whole instance (default 6)")
    parser.add_argument("--sample", type=int, default=15,
                        help="p-median also on every N-th demand point (default 15)")
    args = parser.parse_args()
    case = instance(assetmap.data_dir())
    print(f"demand points {len(case['demand']):,} (children {case['weights'].sum():,.0f}), "
          f"fixed {len(case['fixed'])}, candidates {len(case['candidates'])}, "
          f"K = {K}, threshold {THRESHOLD:g} m")
    print(f"{'what':<48} {'best':>6} {'median':>7} {'worst':>6}  (s)")
    facilities = np.vstack([case["fixed"], case["candidates"]])
    matrix_times, cost = call_times(lambda: cdist(case["demand"], facilities), args.repeats)
    print(summary("cost matrix for spopt (cdist, not in ratio)", matrix_times))

    def max_cover(reduce=True):
        return planning.max_cover(case["weights"], case["demand"], case["candidates"],
                                  case["fixed"], k=K, threshold=THRESHOLD, reduce=reduce)

    runs = [stock("mclp", case, cost) for _ in range(args.stock_repeats)]
    compare("MCLP", "planning.max_cover", max_cover, runs, args.repeats)
    print(f"  covered by the fixed sites alone: {max_cover().objective_before:,.4f}")
    full_times, full = call_times(lambda: max_cover(reduce=False), args.repeats)
    print(summary("planning.max_cover(reduce=False) (information)", full_times))
    agree("objective without reductions", runs[-1]["objective"], full.objective)
    with tempfile.TemporaryDirectory() as temp:
        output = Path(temp) / "plan.xlsx"
        command = wall_times(plan_command(assetmap.data_dir(), output), args.repeats)
        print(summary("assetmap plan cover (process start to files)", command))
        print(f"  stock build + solve alone / whole command: "
              f"{min(r['build'] + r['solve'] for r in runs) / min(command):,.1f}x")
        written = json.loads(output.with_suffix(".json").read_text())["objective_after"]
    agree("objective of the command", runs[-1]["objective"], written)

    parts = {"whole instance": slice(None),
             f"every {args.sample}th demand point": slice(None, None, args.sample)}
    for label, part in parts.items():
        sub = {**case, "weights": case["weights"][part], "demand": case["demand"][part]}

        def p_median(sub=sub):
            return planning.p_median(sub["weights"], sub["demand"], sub["candidates"],
                                     sub["fixed"], k=K)

        print(f"p-median, {label} ({len(sub['demand']):,} demand points):")
        runs = []
        while len(runs) < args.stock_repeats and not (runs and isinstance(runs[-1], str)):
            runs.append(capped(args.cap_seconds, args.cap_gb, stock, "pmedian", sub,
                               cost[part]))
        if isinstance(runs[-1], str):
            print(f"  stock spopt PMedian skipped: {runs[-1]}")
            print(summary("planning.p_median", call_times(p_median, args.repeats)[0]))
        else:
            compare("PMedian", "planning.p_median", p_median, runs, args.repeats)


if __name__ == "__main__":
    main()
