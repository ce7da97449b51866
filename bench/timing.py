"""Shared by the benchmarks: wall-clock times of whole commands, and how they are printed."""

from __future__ import annotations

import statistics
import subprocess
import time


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
