"""A C-contiguous copy of a large array over Numba's threads: a clone, ``contiguous()`` of a view whose
last axis runs in order (a slice, a row repeated), and a leaf's gradient that arrived expanded along its
last axis (a row reduction's: each row one value, written as a fill).

NumPy copies on one core. gpugrad's own pool (``threads.copy``) shared such copies out, but on a 2-core VM
handing a chunk to its sleeping thread cost ~0.1 ms, where Numba's OpenMP workers, which spin briefly after
each loop, start sooner: a 16 MiB float32 copy took 0.40 ms against the pool's 0.57 and one core's 0.76, an
expanded 2048 x 2048 column 0.18 against 0.32 and 0.36 (bench/NOTES.md, thirty-seventh session). A copy
moves bits: the result is NumPy's, whatever the dtype.

CPU only: on a GPU the backend calls CuPy's own copy. A view transposed in its last two axes goes to
``transpose`` (tiles), which reads it in cache-sized blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._launch import cpu_kernel
from .transpose import _DTYPES  # the dtypes Numba compiles copies for

# Below this many bytes one core copies as fast as two start (threads.PARALLEL_MIN_ELEMENTS of float32; by bytes,
# so that an int64 index or a float64 array of half as many elements is copied on the threads too).
MIN_BYTES = 1 << 23


# ============================================================== reference

def reference_copy(xp: Any, x: Any) -> Any:
    """A C-contiguous copy of ``x``."""
    return xp.array(x, copy=True, order="C")


# ============================================================== CPU kernels

@cpu_kernel(fastmath=False)
def _copy_flat_cpu(src, dst):
    for i in prange(src.size):
        dst[i] = src[i]


@cpu_kernel(fastmath=False)
def _copy_rows_cpu(src, dst):
    rows, cols = src.shape
    for i in prange(rows):
        for j in range(cols):
            dst[i, j] = src[i, j]


@cpu_kernel(fastmath=False)
def _fill_rows_cpu(values, dst):
    rows, cols = dst.shape
    for i in prange(rows):
        v = values[i]
        for j in range(cols):
            dst[i, j] = v


# ============================================================== launcher

def copy(x: np.ndarray) -> np.ndarray | None:
    """A C-contiguous copy of ``x``, a NumPy array; None where it is small, of a dtype Numba does not
    compile, or laid out so that its leading axes do not merge into one without a copy (the caller
    copies as usual)."""
    if x.nbytes < MIN_BYTES or x.dtype not in _DTYPES:
        return None
    out = np.empty(x.shape, x.dtype)
    work = x.nbytes // 2  # a float32 copy's two units per element (a read and a write), by bytes
    if x.flags.c_contiguous:
        _copy_flat_cpu(work, x.reshape(-1), out.reshape(-1))
        return out
    try:
        src = np.reshape(x, (-1, x.shape[-1]), copy=False)
    except ValueError:
        return None
    dst = out.reshape(src.shape)
    if src.strides[1] == 0:  # each row one value
        _fill_rows_cpu(work, src[:, 0], dst)
    else:
        _copy_rows_cpu(work, src, dst)
    return out
