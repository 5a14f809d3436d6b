"""A C-contiguous copy of a large array over Numba's threads: a clone, ``contiguous()`` of a view whose
last axis runs in order (a slice, a row repeated), and a leaf's gradient that arrived expanded along its
last axis (a row reduction's: each row one value, written as a fill); and a copy padded with a value in its
last two dims (F.pad of an image or a sequence), each row written whole, its border with it.

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
    # (planes, rows, cols): the rows of every plane over the threads
    planes, rows, cols = src.shape
    for t in prange(planes * rows):
        p = t // rows
        i = t - p * rows
        for j in range(cols):
            dst[p, i, j] = src[p, i, j]


@cpu_kernel(fastmath=False)
def _fill_rows_cpu(values, dst):
    rows, cols = dst.shape
    for i in prange(rows):
        v = values[i]
        for j in range(cols):
            dst[i, j] = v


@cpu_kernel(fastmath=False)
def _pad_rows_cpu(src, value, top, left, dst):
    planes, h, w = src.shape
    oh, ow = dst.shape[1], dst.shape[2]
    v = value[0]
    for t in prange(planes * oh):
        p = t // oh
        r = t - p * oh - top
        row = dst[p, t - p * oh]
        if r >= 0 and r < h:
            for j in range(left):
                row[j] = v
            inner = row[left:left + w]  # slices indexed from 0: LLVM vectorises the copy
            part = src[p, r]
            for j in range(w):
                inner[j] = part[j]
            for j in range(left + w, ow):
                row[j] = v
        else:
            for j in range(ow):
                row[j] = v


# ============================================================== launcher

def copy(x: np.ndarray) -> np.ndarray | None:
    """A C-contiguous copy of ``x``, a NumPy array; None where it is small, of a dtype Numba does not
    compile, or laid out so that its leading axes do not merge into one (or, but the last two, into one)
    without a copy (the caller copies as usual)."""
    if x.nbytes < MIN_BYTES or x.dtype not in _DTYPES:
        return None
    out = np.empty(x.shape, x.dtype)
    work = x.nbytes // 2  # a float32 copy's two units per element (a read and a write), by bytes
    if x.flags.c_contiguous:
        _copy_flat_cpu(work, x.reshape(-1), out.reshape(-1))
        return out
    rows = _view(x, (-1, x.shape[-1]))
    if rows is not None and rows.strides[1] == 0:  # each row one value
        _fill_rows_cpu(work, rows[:, 0], out.reshape(rows.shape))
        return out
    # rows, or else planes of rows (a padded array's interior: the rows do not merge, the planes do)
    planes = rows[None] if rows is not None else _view(x, (-1,) + x.shape[-2:]) if x.ndim >= 3 else None
    if planes is None:
        return None
    _copy_rows_cpu(work, planes, out.reshape(planes.shape))
    return out


def _view(x: np.ndarray, shape: tuple) -> np.ndarray | None:
    """``x`` reshaped to ``shape`` without a copy, or None where that needs one."""
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:
        return None


def pad(x: np.ndarray, widths, value) -> np.ndarray | None:
    """``np.pad(x, widths, constant_values=value)`` for a large C-contiguous NumPy array padded in its last two
    dims only (``widths`` one (before, after) pair per dim), ``value`` converted as NumPy's assignment converts
    it; None otherwise (the caller pads as usual)."""
    if x.nbytes < MIN_BYTES or x.dtype not in _DTYPES or not x.flags.c_contiguous or x.ndim == 0:
        return None
    if any(b or a for b, a in widths[:-2]):
        return None
    lead = 2 - min(x.ndim, 2)  # a 1-d x as one row
    x2 = x.reshape((1,) * lead + x.shape)
    pairs = ((0, 0),) * lead + tuple(widths)
    out = np.empty(tuple(s + b + a for s, (b, a) in zip(x2.shape, pairs)), x.dtype)
    fill = np.empty(1, x.dtype)
    fill[0] = value
    (top, _), (left, _) = pairs[-2:]
    _pad_rows_cpu(out.nbytes // 2, x2.reshape((-1,) + x2.shape[-2:]), fill, top, left,
                  out.reshape((-1,) + out.shape[-2:]))
    return out.reshape(out.shape[lead:])
