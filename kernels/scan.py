"""Running sums and products along one axis: ``cumsum`` and ``cumprod`` of float32 and float64 arrays, and
cumsum's backward (the same sum taken from the end); and the positions of the running maximum or minimum
(``cummax``, ``cummin``).

PyTorch's CPU scans carry float32 in a float64 accumulator, rounding each output once: its float32
cumsum of 2048 x 2048 normal values differs from a float32 running sum (NumPy's) in most elements. The
kernels here carry float64 too, in PyTorch's order (one pass from the start, or from the end), so their
bits are PyTorch's. NumPy's float64 cumsum over the same order was 16 ms on one core at that size.

The array is viewed as (outer, n, inner) with the scanned axis in the middle. Where inner is 1 (the last
axis) each row is one thread's scalar chain; otherwise a block of INNER_BLOCK accumulators runs along the
axis together, which LLVM vectorises. Rows and blocks go over the threads for large arrays.

On a GPU the launcher calls CuPy's own scans.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange
from numba.extending import register_jitable

from ._launch import check_arrays_for, cpu_kernel, float_dtype_and_impl

OPS: tuple[str, ...] = ("sum", "prod")
SUM, PROD = range(2)
INNER_BLOCK = 256  # accumulators carried along the axis at once (2 KiB of float64)


# ============================================================== reference

def reference_scan(xp: Any, op: str, x: Any, axis: int, reverse: bool = False) -> Any:
    """The running sum or product of x along axis, in float64, rounded to x's dtype (from the end when
    ``reverse``)."""
    if op not in OPS:
        raise ValueError(f"scan: op must be one of {OPS}, got {op!r}")
    fn = xp.cumsum if op == "sum" else xp.cumprod
    wide = x.astype(xp.float64)
    if reverse:
        return xp.flip(fn(xp.flip(wide, axis), axis=axis), axis).astype(x.dtype)
    return fn(wide, axis=axis).astype(x.dtype)


# ============================================================== CPU kernel

@register_jitable(inline="always")
def _inner_block(t, blocks, inner):
    """(outer index, first inner index, width) of task t over (outer, blocks of INNER_BLOCK inner)."""
    o = t // blocks
    lo = (t % blocks) * INNER_BLOCK
    return o, lo, min(INNER_BLOCK, inner - lo)


# No fast-math flags: each step is one IEEE operation in PyTorch's order.
@cpu_kernel(fastmath=False)
def _scan_cpu(x, out, op, reverse):
    outer, n, inner = x.shape
    blocks = (inner + INNER_BLOCK - 1) // INNER_BLOCK
    for t in prange(outer * blocks):
        o, lo, width = _inner_block(t, blocks, inner)
        acc = np.empty(width, np.float64)
        acc[:] = 1.0 if op == PROD else 0.0
        for step in range(n):
            k = n - 1 - step if reverse else step
            for j in range(width):
                if op == PROD:
                    acc[j] *= x[o, k, lo + j]
                else:
                    acc[j] += x[o, k, lo + j]
                out[o, k, lo + j] = acc[j]


@cpu_kernel(fastmath=False)
def _scan_rows_cpu(x, out, op, reverse):
    rows, n = x.shape
    for i in prange(rows):
        acc = 1.0 if op == PROD else 0.0
        for step in range(n):
            k = n - 1 - step if reverse else step
            if op == PROD:
                acc *= x[i, k]
            else:
                acc += x[i, k]
            out[i, k] = acc


def reference_running_extreme(xp: Any, x: Any, axis: int, largest: bool) -> Any:
    """The position (int64) of the running maximum (``largest``) or minimum of x along axis, as PyTorch's:
    a tie takes the later position, and a NaN, once seen, stays the running value at the latest NaN's."""
    extreme = (xp.maximum if largest else xp.minimum).accumulate(x, axis=axis)
    hit = (x == extreme) | xp.isnan(x)
    pos = xp.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    return xp.maximum.accumulate(xp.where(hit, pos, 0), axis=axis).astype(xp.int64)


@register_jitable(inline="always")
def _takes_over(v, best, largest):
    """Whether v becomes the running extreme after best: a NaN always, nothing after a NaN, a tie too."""
    if math.isnan(v):
        return True
    if math.isnan(best):
        return False
    return v >= best if largest else v <= best


@cpu_kernel(fastmath=False)
def _running_extreme_cpu(x, index, largest):
    outer, n, inner = x.shape
    blocks = (inner + INNER_BLOCK - 1) // INNER_BLOCK
    for t in prange(outer * blocks):
        o, lo, width = _inner_block(t, blocks, inner)
        best = x[o, 0, lo:lo + width].copy()
        index[o, 0, lo:lo + width] = 0
        at = np.zeros(width, np.int64)
        for k in range(1, n):
            row = x[o, k, lo:lo + width]
            for j in range(width):
                take = _takes_over(row[j], best[j], largest)
                best[j] = row[j] if take else best[j]
                at[j] = k if take else at[j]
                index[o, k, lo + j] = at[j]


@cpu_kernel(fastmath=False)
def _running_extreme_rows_cpu(x, index, largest):
    rows, n = x.shape
    for i in prange(rows):
        best = x[i, 0]
        at = 0
        index[i, 0] = 0
        for k in range(1, n):
            v = x[i, k]
            take = _takes_over(v, best, largest)
            best = v if take else best  # selects, not branches: random data mispredicted half of them
            at = k if take else at
            index[i, k] = at


# ============================================================== launcher

def running_extreme(xp: Any, x: Any, axis: int, largest: bool, *, impl: str | None = None) -> Any:
    """The position (int64, C-contiguous) of the running maximum (``largest``) or minimum of the float32 or
    float64 array x along ``axis``: the reference's, in one pass."""
    name = "scan.running_extreme"
    _, impl = float_dtype_and_impl(name, xp, impl, x=x)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name}: axis {axis} out of range for shape {tuple(x.shape)}")
    axis %= x.ndim
    if impl != "cpu" or x.size == 0:
        return xp.ascontiguousarray(reference_running_extreme(xp, x, axis, largest))
    check_arrays_for(name, xp, impl, x=x)
    src = _as_three(x, axis)
    outer, n, inner = src.shape
    index = np.empty(x.shape, np.int64)
    if inner == 1:
        _running_extreme_rows_cpu(x.size, src.reshape(outer, n), index.reshape(outer, n), bool(largest))
    else:
        _running_extreme_cpu(x.size, src, index.reshape(outer, n, inner), bool(largest))
    return index


def _as_three(x: np.ndarray, axis: int) -> np.ndarray:
    """x as a C-contiguous (outer, n, inner) array, the scanned axis in the middle."""
    shape = x.shape
    return np.ascontiguousarray(x).reshape(int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:])))


def scan(xp: Any, op: str, x: Any, axis: int, reverse: bool = False, *, impl: str | None = None) -> Any:
    """The running sum or product (``op``) of the float32 or float64 array x along ``axis``, accumulated in
    float64 and rounded once per element, from the end when ``reverse``; C-contiguous, in x's dtype."""
    name = f"scan[{op}]"
    _, impl = float_dtype_and_impl(name, xp, impl, x=x)
    if op not in OPS:
        raise ValueError(f"{name}: op must be one of {OPS}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name}: axis {axis} out of range for shape {tuple(x.shape)}")
    axis %= x.ndim
    if impl != "cpu" or x.size == 0:
        return xp.ascontiguousarray(reference_scan(xp, op, x, axis, reverse))
    check_arrays_for(name, xp, impl, x=x)
    src = _as_three(x, axis)
    outer, n, inner = src.shape
    out = np.empty(x.shape, x.dtype)
    code = OPS.index(op)
    if inner == 1:
        _scan_rows_cpu(x.size, src.reshape(outer, n), out.reshape(outer, n), code, reverse)
    else:
        _scan_cpu(x.size, src, out.reshape(outer, n, inner), code, reverse)
    return out
