"""Shared by the benchmarks: wall-clock times of whole commands, and how they are printed."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


def wall_times(command: list[str], repeats: int) -> list[float]:
    """Seconds from start to exit of each of ``repeats`` runs, after a warm-up run."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def summary(label: str, times: list[float], width: int = 48) -> str:
    """``label  best  median  worst`` in seconds."""
    return (f"{label:<{width}} {min(times):6.2f} {statistics.median(times):7.2f} "
            f"{max(times):6.2f}")


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds from start to exit, and its peak resident memory."""

    seconds: float
    peak_mb: float


class ChildFailed(RuntimeError):
    """A timed command exited non-zero; the message is the last line it wrote to stderr."""


# Runs the command as its own child and reports that child's wall time and peak RSS. A child
# forked from this (large) process would count this process's resident set in its peak
# (Linux keeps ru_maxrss across fork and exec), so a small interpreter does the forking.
_LAUNCH = """import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{time.perf_counter() - start} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(command: list, env: Mapping[str, str] | None = None,
              cwd: str | os.PathLike | None = None) -> Run:
    """Run ``command`` to exit: its wall time and peak resident memory (``os.wait4``: the
    largest of it and the descendants it waited for)."""
    with tempfile.TemporaryDirectory() as folder:
        report, errors = os.path.join(folder, "report"), os.path.join(folder, "errors")
        with open(errors, "wb") as stderr:
            done = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCH, report,
                                   *map(str, command)], stdout=subprocess.DEVNULL,
                                  stderr=stderr, env=env, cwd=cwd, check=False)
        if done.returncode:
            with open(errors, encoding="utf-8", errors="replace") as stderr:
                lines = stderr.read().strip().splitlines() or ["(no message)"]
            raise ChildFailed(f"exit {done.returncode}: {lines[-1].strip()}")
        with open(report) as figures:
            seconds, kilobytes = figures.read().split()
    return Run(float(seconds), int(kilobytes) / 1024)  # Linux: ru_maxrss in kilobytes


def interleaved(commands: Mapping[str, list[str]], repeats: int, warmup: int = 1,
                **child) -> dict[str, list[Run]]:
    """Each command ``warmup`` times untimed, then ``repeats`` rounds of all of them in turn
    (A B A B ...), so slow drift in the machine's load hits every command alike."""
    for _ in range(warmup):
        for command in commands.values():
            run_child(command, **child)
    runs: dict[str, list[Run]] = {label: [] for label in commands}
    for _ in range(repeats):
        for label, command in commands.items():
            runs[label].append(run_child(command, **child))
    return runs


def interleaved_calls(calls: Mapping[str, Callable[[], object]], repeats: int,
                      warmup: int = 1) -> dict[str, list[float]]:
    """The same as ``interleaved`` for functions in this process: seconds per call."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(repeats):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    return times


def median_run(runs: list[Run]) -> Run:
    """Median seconds and median peak memory of several runs."""
    return Run(statistics.median(r.seconds for r in runs),
               statistics.median(r.peak_mb for r in runs))
