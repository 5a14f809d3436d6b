"""A C-contiguous copy of a view transposed in its last two axes: ``x.t().contiguous()``,
``x.transpose(-1, -2).contiguous()``, and a leaf's gradient that arrived transposed.

NumPy copies such a view along the destination's rows, which walk the source down its columns: at 2048 x
2048 float32 (an 8 KiB stride) nearly every read is a new cache line, and the copy took 31.8 ms on one
core against 1.1 ms for a contiguous copy of the same bytes (PyTorch's transposed copy: 4.5 ms on two).
The kernel copies tiles of TILE_ROWS x TILE_COLS, writing each row's TILE_COLS elements (a cache line of
float32) in turn: the tile reads TILE_COLS source lines per 16 of its rows, which stay in the L1 cache while
the tile is written. A whole tile runs loops of constant bounds, which LLVM unrolls into straight loads and
stores; a tile cut by the array's edge the same loops with bounds read at run time, 2-3x slower per element
(16 x 256 x 512 float32 batch-transposed: 1.3-1.5 ms against 3.1-3.7 for 64 x 8 tiles of run-time bounds,
PyTorch 1.4; bench/NOTES.md, forty-second session). Tiles go over the threads for large arrays. A copy
moves bits: the result is NumPy's, whatever the dtype.

CPU only: on a GPU the backend calls CuPy's own copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._launch import cpu_kernel

TILE_ROWS, TILE_COLS = 64, 16
# Below this many elements NumPy's own copy is as fast (the source fits in the L2 cache) and costs no call.
MIN_ELEMENTS = 1 << 15
# The dtypes Numba compiles the kernel for (not float16, nor bfloat16 and the other ml_dtypes).
_DTYPES = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                          np.int64, np.uint64, np.float32, np.float64, np.complex64, np.complex128))


# ============================================================== reference

def reference_copy(xp: Any, x: Any) -> Any:
    """A C-contiguous copy of ``x``."""
    return xp.array(x, copy=True, order="C")


# ============================================================== CPU kernel

@cpu_kernel(fastmath=False)
def _tiled_copy_cpu(src, dst):
    batch, rows, cols = src.shape
    row_tiles = (rows + TILE_ROWS - 1) // TILE_ROWS
    col_tiles = (cols + TILE_COLS - 1) // TILE_COLS
    per_batch = row_tiles * col_tiles
    for t in prange(batch * per_batch):
        b = t // per_batch
        i0 = (t % per_batch) // col_tiles * TILE_ROWS
        j0 = (t % col_tiles) * TILE_COLS
        if i0 + TILE_ROWS <= rows and j0 + TILE_COLS <= cols:
            for i in range(TILE_ROWS):
                for j in range(TILE_COLS):
                    dst[b, i0 + i, j0 + j] = src[b, i0 + i, j0 + j]
        else:
            for i in range(i0, min(i0 + TILE_ROWS, rows)):
                for j in range(j0, min(j0 + TILE_COLS, cols)):
                    dst[b, i, j] = src[b, i, j]


# ============================================================== launcher

def is_transposed(x: np.ndarray) -> bool:
    """Whether ``x`` (a NumPy array) is laid out as a transpose of its last two axes, large enough for the
    kernel to pay and of a dtype it takes: its second-to-last axis is the one adjacent in memory, its
    last one is not. A column broadcast along the last axis (stride 0: a row reduction's gradient, expanded)
    is not: its rows are runs of one value, which NumPy's copy writes at memory speed and the tiles at a
    quarter of it (sum(dim=1)'s leaf gradient at 2048 x 2048 float32: 8 ms against 0.9)."""
    return (x.ndim >= 2 and x.size >= MIN_ELEMENTS and x.strides[-2] == x.itemsize and x.shape[-2] > 1
            and x.shape[-1] > 1 and x.strides[-1] != x.itemsize and x.strides[-1] != 0 and x.dtype in _DTYPES)


def copy(x: np.ndarray) -> np.ndarray | None:
    """A C-contiguous copy of ``x``, a NumPy array for which ``is_transposed`` holds, made by tiles; None
    where its leading axes do not merge into one without a copy (the caller copies as usual)."""
    rows, cols = x.shape[-2:]
    try:
        src = np.reshape(x, (-1, rows, cols), copy=False)
    except ValueError:
        return None
    out = np.empty(x.shape, x.dtype)
    _tiled_copy_cpu(2 * x.size, src, out.reshape(src.shape))
    return out
