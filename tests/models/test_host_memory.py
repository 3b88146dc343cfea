"""glibc's mmap threshold is fixed at 1 MB once asked: a 2 MB block (a KV cache layer, a prefill's scores) then
gets its own mapping, returned to the system on free, even after glibc would have raised the threshold."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = r"""
import ctypes, sys
from assay.models.host_memory import return_large_frees_to_os

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "set":
    assert return_large_frees_to_os()
# Free an mmapped 16 MB block: glibc's own rule then raises the threshold to 16 MB.
libc.free(libc.malloc(16 << 20))
mapped = libc.mallinfo2().hblks
block = libc.malloc(2 << 20)
print(libc.mallinfo2().hblks - mapped)
libc.free(block)
"""


def _new_mappings(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"})
    return int(out.stdout.strip())


def test_blocks_over_1_mb_get_their_own_mapping_once_the_threshold_is_fixed() -> None:
    assert _new_mappings("set") == 1
    assert _new_mappings("default") == 0  # glibc's own rule: served from the heap, kept there once freed
