"""Freed model memory goes back to the operating system (glibc).

glibc's malloc serves a block below its mmap threshold from the heap and keeps it there once freed; the threshold
also rises, up to 32 MB, each time an mmapped block is freed. A local model's KV caches and prefill scores are
blocks of 1-300 MB allocated and freed many times in a run, so after a while they are all heap blocks and the
process keeps its largest footprint for good (the main job's peak RSS was ~200 MB higher for it, measured by
bench/bench_main_job_memory.py). A fixed 1 MB threshold gives such blocks their own mappings, returned on free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20


def return_large_frees_to_os() -> bool:
    """Set glibc's mmap threshold to 1 MB, unless the user set MALLOC_MMAP_THRESHOLD_; True when set."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)  # absent on musl
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1)
