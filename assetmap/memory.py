"""Process-wide memory settings that let a long command give back what it frees.

Large arrays come and go step by step (text, points, trees, tables). By default glibc keeps
freed blocks below a threshold that grows with use, and Arrow's own allocator keeps its
pages, so a process holds far more than it uses: the national join peaked 1.75 GB with
1.1 GB live. :func:`return_freed_memory` fixes glibc's mmap threshold (blocks above it are
returned to the system when freed) and has Arrow allocate with jemalloc, set to return
freed pages at once: the same join peaked near 1.35 GB then, no slower
(``bench/scale_bench.py``). The command line calls it first; a long-running Python process
may call it too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

#: ``mallopt`` parameter number of ``M_MMAP_THRESHOLD`` (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
#: Blocks of this size (bytes) and more are mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 128 * 1024


def return_freed_memory() -> None:
    """Fix glibc's mmap threshold (Linux) and choose jemalloc for Arrow, returning freed
    pages at once, unless the environment chose an Arrow allocator already. Call before the
    work starts: Arrow reads its choice when it first allocates."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError):  # a build without jemalloc
        pa.jemalloc_set_decay_ms(0)  # freed pages go back at once, not after a second
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
            ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
