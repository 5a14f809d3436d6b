"""How freed CPU memory is kept: glibc's malloc is told, once at import, to keep freed blocks for reuse.

glibc serves a block above M_MMAP_THRESHOLD with fresh pages from mmap and gives the top of its heap back
to the OS once more than M_TRIM_THRESHOLD of it is free. Both thresholds start at 128 KiB and rise only
after the process frees a large mmap'ed block. A training step whose arrays come in mixed sizes then pages
its memory in anew on every step: the digits CNN step (batch 64) took 570 page faults per step, and ran
1.5x slower for it (bench/NOTES.md). ``keep_freed_memory`` sets both thresholds where glibc's own rule
puts them after a 32 MiB block is freed: arrays up to 32 MiB come from the heap, and up to 64 MiB of freed
heap is kept for the next step instead of being returned.

Left alone: a C library other than glibc, and a process whose environment sets either threshold
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or the ``GLIBC_TUNABLES`` equivalents, which glibc
read at start-up). That is also the way to opt out: set either one in the environment (glibc then stops
raising them on its own, too).
"""
from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 32 << 20  # glibc's ceiling for its own rising threshold on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # the ratio glibc's rule keeps
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_ENV_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_TUNABLES = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")


def _set_by_environment() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(os.environ.get(v) for v in _ENV_VARS) or any(t in tunables for t in _TUNABLES)


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (see the module docstring); True when they were set, False
    where this is not glibc or the environment has set either one."""
    if not sys.platform.startswith("linux") or _set_by_environment():
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        libc.gnu_get_libc_version  # only glibc has it (musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
