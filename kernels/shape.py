"""Copies the shape ops make on the CPU: a flip along one axis, and tril/triu's triangle.

    flip_copy(x, axis)         x reversed along axis, C-contiguous
    triangle(x, k, lower)      x where j - i <= k (lower) or j - i >= k (upper) in the last two dims, else 0

NumPy copies a flipped view with its generic strided loop: 2.8 ms at 2048 x 2048 float32 for flip(1)
(twice a plain copy) and 9.6 ms for flip(0), whose rows are whole. Here a flip of the last axis writes each
row reversed (a vectorised loop), and a flip of another axis copies whole contiguous blocks. tril/triu
were a boolean mask (np.tri, one pass) and np.where over it (another, reading three arrays); here each
row is its kept part copied and the rest zeroed, one pass. Both move bits: the result is NumPy's exactly,
whatever the dtype (NaN payloads, -0.0).

CPU only: on a GPU the ops call CuPy's own flip-and-copy and where.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange, uint64

from ._launch import cpu_kernel, resolve_impl

# The dtypes Numba compiles the kernels for (not float16, nor bfloat16 and the other ml_dtypes).
DTYPES = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                         np.int64, np.uint64, np.float32, np.float64, np.complex64, np.complex128))
MIN_ELEMENTS = 1 << 14  # below this, NumPy's own call costs less than a kernel's


# ============================================================== references

def reference_flip_copy(xp: Any, x: Any, axis: int) -> Any:
    return xp.flip(x, axis=axis).copy()


def reference_triangle(xp: Any, x: Any, k: int, lower: bool) -> Any:
    rows, cols = x.shape[-2:]
    keep = xp.tri(rows, cols, k, dtype=bool) if lower else ~xp.tri(rows, cols, k - 1, dtype=bool)
    return xp.where(keep, x, xp.zeros((), dtype=x.dtype))


# ============================================================== CPU kernels

@cpu_kernel(fastmath=False)
def _flip_rows_cpu(x, out):
    rows, n = x.shape
    for p in prange(rows):
        src = x[p]
        dst = out[p]
        last = uint64(n - 1)  # an unsigned index: no negative-index wrap to test, so the loop vectorises
        for j in range(n):
            dst[j] = src[last - uint64(j)]


@cpu_kernel(fastmath=False)
def _flip_blocks_cpu(x, out):
    pre, n, post = x.shape
    for t in prange(pre * n):
        p = t // n
        i = t % n
        src = x[p, n - 1 - i]
        dst = out[p, i]
        for q in range(post):
            dst[q] = src[q]


@cpu_kernel(fastmath=False)
def _triangle_cpu(x, k, lower, zero, out):
    batch, rows, cols = x.shape
    for t in prange(batch * rows):
        b = t // rows
        i = t % rows
        src = x[b, i]
        dst = out[b, i]
        # lower keeps the columns j <= i + k, upper the columns j >= i + k
        edge = min(max(i + k + 1 if lower else i + k, 0), cols)
        lo = 0 if lower else edge
        hi = edge if lower else cols
        # Slices indexed from 0: LLVM vectorises those loops, not range(lo, hi) with a signed lo.
        head = dst[:lo]
        for j in range(head.shape[0]):
            head[j] = zero
        kept, part = dst[lo:hi], src[lo:hi]
        for j in range(kept.shape[0]):
            kept[j] = part[j]
        tail = dst[hi:]
        for j in range(tail.shape[0]):
            tail[j] = zero


# ============================================================== launchers

def _runs(xp: Any, x: Any) -> bool:
    return xp is np and x.dtype in DTYPES and x.size >= MIN_ELEMENTS and x.flags.c_contiguous


def flip_copy(xp: Any, x: Any, axis: int, *, impl: str | None = None) -> Any:
    """x reversed along one axis, a C-contiguous copy (NumPy's flip(x, axis).copy())."""
    if impl == "reference" or not _runs(xp, x) or not _fused():
        return reference_flip_copy(xp, x, axis)
    out = np.empty(x.shape, x.dtype)
    pre, n, post = math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:])
    if post == 1:
        _flip_rows_cpu(x.size, x.reshape(pre, n), out.reshape(pre, n))
    else:
        _flip_blocks_cpu(x.size, x.reshape(pre, n, post), out.reshape(pre, n, post))
    return out


def triangle(xp: Any, x: Any, k: int, lower: bool, *, impl: str | None = None) -> Any:
    """tril (lower) or triu of the last two dims of x (ndim >= 2): x where the column j and row i have
    j - i <= k (lower) or j - i >= k (upper), zeros elsewhere; C-contiguous."""
    if impl == "reference" or not _runs(xp, x) or not _fused():
        return reference_triangle(xp, x, k, lower)
    rows, cols = x.shape[-2:]
    out = np.empty(x.shape, x.dtype)
    k = max(min(int(k), cols), -rows - 1)  # beyond these every row keeps all or nothing: no overflow
    _triangle_cpu(x.size, x.reshape(-1, rows, cols), k, bool(lower), np.zeros((), x.dtype)[()],
                  out.reshape(-1, rows, cols))
    return out


def _fused() -> bool:
    return resolve_impl(np, None, "shape") == "cpu"
