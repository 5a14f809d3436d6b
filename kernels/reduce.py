"""Sums over the rows of a 2-D (rows, n) array: what ``sum`` and ``mean`` over a tensor's last dims do; sums
over its axis 0, what they do over leading dims (a broadcast's gradient too); sums of every element; and
products along the rows (``prod`` over the last dim: NumPy's order, eight rows' chains at once).

NumPy sums a row pairwise in scalar code (a 2048 x 2048 float32 array took 0.69 ms on one core of the CI
machine, against 0.21 ms for a vectorised loop). The CPU kernel sums each row in blocks of BLOCK elements,
each block in the array's dtype across vector lanes (reassociated, so that LLVM vectorises it), and the
blocks' sums in float64: the rounding stays that of one block however long the row. A row is one thread's,
always in the same order, so the bits do not depend on the thread count.

Over axis 0 (``sum_leading``) NumPy adds whole rows one after another on one core, in the array's dtype:
2048 float32 rows came out 4022 ulp off at the 99.9th percentile (PyTorch's cascade 550). The CPU kernel
adds the rows in float64 and rounds once (0.5 ulp), columns being the vector lanes; tiles of columns (and,
for float32, of ROW_BLOCK rows, whose float64 partials are then added in block order) go over the threads.
The tiles' rows are fixed, so the bits do not depend on the thread count. float64 keeps NumPy's bits, and so
does float32 over fewer than LEADING_MIN_ROWS rows (a short chain of float32 adds): all the rows added in
order from 0.0 in the array's dtype, as NumPy's loop does (for two columns or more: a single column is a
contiguous vector, which NumPy sums pairwise, and the launcher leaves that to NumPy).

On a GPU the launchers call CuPy's own reduction, as GEMMs go to cuBLAS: there is no kernel of ours to gain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import get_num_threads, njit, prange

from ._launch import (
    PARALLEL_MIN_WORK,
    check_arrays_for,
    contiguous,
    cpu_kernel,
    float_dtype_and_impl,
    like,
    plain_cpu_call,
)

BLOCK = 4096  # elements a block sums in the array's dtype (a float32 lane adds up to 64 of them)
ROW_BLOCK = 512  # float32 rows a tile of sum_leading adds in float64: fixed, so the bits never depend on the tiling
COLUMNS = 2048  # at most this many columns a tile (its float64 partials: 16 KiB, in L1 beside the rows read)
# Fewer rows are added in float32 (NumPy's bits: its chain is short there); Backend.sum leaves small such
# sums to NumPy, whose call is 4-8 us cheaper than this launcher's on a (16, 1024) or (128, 128) array.
LEADING_MIN_ROWS = 64


# ============================================================== reference

def reference_sum_rows(xp: Any, x: Any, squares: bool = False) -> Any:
    """(rows,) sums of x (rows, n) (of its squares with ``squares``), in x's dtype."""
    return (x * x if squares else x).sum(axis=1)


def reference_sum_leading(xp: Any, x: Any) -> Any:
    """(n,) sums of x (rows, n) over its rows, in x's dtype."""
    return x.sum(axis=0)


def reference_prod_rows(xp: Any, x: Any) -> Any:
    """(rows,) products of x (rows, n) along its rows, in x's dtype."""
    return xp.multiply.reduce(x, axis=1)


def reference_sum_all(xp: Any, x: Any, shift: float = 0.0, squares: bool = False) -> Any:
    """The float64 sum of all of x's elements; with ``squares``, of (x - shift)**2, the difference rounded in
    x's dtype and squared in float64 (exactly, for float32)."""
    if squares:
        d = x - x.dtype.type(shift)
        return xp.multiply(d, d, dtype=xp.float64).sum()
    return x.sum(dtype=xp.float64)


# ============================================================== CPU kernel

# reassoc lets the sums vectorise; nothing else (nnan/ninf would change NaN and inf results).
FASTMATH = {"reassoc", "nsz"}


@cpu_kernel(FASTMATH)
def _sum_rows_cpu(x, squares, out):
    # squares: each element's square (rounded in the array's dtype: no contract) in place of the element
    rows, n = x.shape
    for i in prange(rows):
        row = x[i]
        total = 0.0
        for lo in range(0, n, BLOCK):
            part = row[lo:lo + BLOCK]  # a slice indexed from 0: LLVM vectorises that loop, not range(lo, hi)
            s = like(out[i], 0.0)  # zero in the array's dtype
            if squares:
                for j in range(part.shape[0]):
                    s += part[j] * part[j]
            else:
                for j in range(part.shape[0]):
                    s += part[j]
            total += s
        out[i] = total


# No fast math: the adds stay in row order, which is what keeps float64's bits NumPy's (reassoc would reorder
# them; nsz would fold 0.0 + -0.0 to -0.0, where NumPy's sum gives +0.0). Columns are independent, so the
# loops vectorise without it.
@njit(cache=True, inline="always")
def _add_rows_into(x, r, end, lo, hi, acc):
    """acc += rows r to end of x's columns lo to hi, row after row, in acc's dtype."""
    # Eight rows a pass, added left to right: the same order as one at a time, an eighth the stores.
    while r + 8 <= end:
        x0, x1, x2, x3 = x[r, lo:hi], x[r + 1, lo:hi], x[r + 2, lo:hi], x[r + 3, lo:hi]
        x4, x5, x6, x7 = x[r + 4, lo:hi], x[r + 5, lo:hi], x[r + 6, lo:hi], x[r + 7, lo:hi]
        for j in range(acc.shape[0]):
            acc[j] = acc[j] + x0[j] + x1[j] + x2[j] + x3[j] + x4[j] + x5[j] + x6[j] + x7[j]
        r += 8
    while r < end:
        x0 = x[r, lo:hi]
        for j in range(acc.shape[0]):
            acc[j] = acc[j] + x0[j]
        r += 1


@cpu_kernel(False)
def _sum_leading_cpu(x, rows_per_block, columns, partial, out):
    rows, n = x.shape
    blocks = partial.shape[0]
    tiles = (n + columns - 1) // columns
    for t in prange(blocks * tiles):
        b = t // tiles
        lo = (t - b * tiles) * columns
        hi = min(n, lo + columns)
        r = b * rows_per_block
        _add_rows_into(x, r, min(rows, r + rows_per_block), lo, hi, partial[b, lo:hi])  # partial: zeros
    # The blocks' partials in block order, rounded once (one thread: blocks x n adds, a second parallel
    # region would cost more than they do).
    total = partial[0]
    for b in range(1, blocks):
        more = partial[b]
        for j in range(n):
            total[j] += more[j]
    for j in range(n):
        out[j] = total[j]


@cpu_kernel(False)
def _sum_in_order_cpu(x, columns, out):
    # The rows added in order from 0.0 in out's dtype, each tile of columns into its part of out (NumPy's
    # loop, and its bits): float64, and float32 over few rows.
    rows, n = x.shape
    for t in prange((n + columns - 1) // columns):
        lo = t * columns
        hi = min(n, lo + columns)
        acc = out[lo:hi]
        for j in range(hi - lo):
            acc[j] = 0.0
        _add_rows_into(x, 0, rows, lo, hi, acc)


@cpu_kernel(False)
def _prod_rows_cpu(x, out):
    # Each row's product in order from its first element, as NumPy's multiply.reduce (its bits); eight rows
    # at a time, so that eight independent chains of multiplies overlap where one row's waits on each one.
    rows, n = x.shape
    for g in prange((rows + 7) // 8):
        r = g * 8
        if r + 8 <= rows:
            p0, p1, p2, p3 = x[r, 0], x[r + 1, 0], x[r + 2, 0], x[r + 3, 0]
            p4, p5, p6, p7 = x[r + 4, 0], x[r + 5, 0], x[r + 6, 0], x[r + 7, 0]
            for j in range(1, n):
                p0 *= x[r, j]
                p1 *= x[r + 1, j]
                p2 *= x[r + 2, j]
                p3 *= x[r + 3, j]
                p4 *= x[r + 4, j]
                p5 *= x[r + 5, j]
                p6 *= x[r + 6, j]
                p7 *= x[r + 7, j]
            out[r], out[r + 1], out[r + 2], out[r + 3] = p0, p1, p2, p3
            out[r + 4], out[r + 5], out[r + 6], out[r + 7] = p4, p5, p6, p7
        else:
            for i in range(r, rows):
                p = x[i, 0]
                for j in range(1, n):
                    p *= x[i, j]
                out[i] = p


CHUNK = 1 << 16  # elements a task of sum_all adds: fixed, so that the bits never depend on the thread count


@cpu_kernel(FASTMATH)
def _sum_all_cpu(x, shift, squares, partial):
    # Task k adds x[k CHUNK:(k + 1) CHUNK] into partial[k] (float64): in BLOCKs in x's dtype, as sum_rows'
    # rows; with squares, (x - shift)**2 in float64 lanes (the difference in x's dtype, as the variance's).
    n = x.shape[0]
    for k in prange(partial.shape[0]):
        part = x[k * CHUNK:min(n, (k + 1) * CHUNK)]
        total = 0.0
        if squares:
            for j in range(part.shape[0]):
                d = np.float64(part[j] - shift)
                total += d * d
        else:
            for lo in range(0, part.shape[0], BLOCK):
                block = part[lo:lo + BLOCK]
                s = like(part[0], 0.0)
                for j in range(block.shape[0]):
                    s += block[j]
                total += s
        partial[k] = total


# ============================================================== launcher

def sum_rows(xp: Any, x: Any, *, squares: bool = False, impl: str | None = None) -> Any:
    """(rows,) sums of x (rows, n), or of its squares (a 2-norm's, in one pass), in x's dtype: the
    reference's result up to rounding."""
    op = "reduce.sum_rows"
    _, impl = float_dtype_and_impl(op, xp, impl, x=x)
    if x.ndim != 2:
        raise ValueError(f"{op}: expected a 2-D (rows, n) array, got shape {tuple(x.shape)}")
    if impl != "cpu" or x.shape[1] == 0:
        return reference_sum_rows(xp, x, squares)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    out = np.zeros(x.shape[0], dtype=x.dtype)
    _sum_rows_cpu(x.size, x, bool(squares), out)
    return out


def sum_leading(xp: Any, x: Any, *, impl: str | None = None) -> Any:
    """(n,) sums of x (rows, n) over its rows, in x's dtype: float32 over LEADING_MIN_ROWS rows or more within
    0.5 ulp of the exact sum (added in float64, rounded once); float64, and float32 over fewer rows, the
    reference's bits (for n >= 2: a single column is left to the reference, which sums it pairwise)."""
    if not (x.ndim == 2 and x.shape[0] and x.shape[1] > 1 and plain_cpu_call(xp, impl, x)):
        op = "reduce.sum_leading"
        _, impl = float_dtype_and_impl(op, xp, impl, x=x)
        if x.ndim != 2:
            raise ValueError(f"{op}: expected a 2-D (rows, n) array, got shape {tuple(x.shape)}")
        if impl != "cpu" or x.shape[0] == 0 or x.shape[1] < 2:
            return reference_sum_leading(xp, x)
        check_arrays_for(op, xp, impl, x=x)
        x = contiguous(xp, x)
    rows, n = x.shape
    in_order = x.dtype == np.float64 or rows < LEADING_MIN_ROWS
    blocks = 1 if in_order else -(-rows // ROW_BLOCK)
    columns = COLUMNS
    if x.size >= PARALLEL_MIN_WORK:
        # The column tiles change no bits (each column's adds are the same in any tile): as wide as
        # COLUMNS allows, narrower when that would leave a thread without a tile.
        columns = min(COLUMNS, max(64, -(-n * blocks // (16 * 2 * get_num_threads())) * 16))
    out = np.empty(n, x.dtype)
    if in_order:
        _sum_in_order_cpu(x.size, x, columns, out)
    else:
        _sum_leading_cpu(x.size, x, ROW_BLOCK, columns, np.zeros((blocks, n), np.float64), out)
    return out


def sum_all(xp: Any, x: Any, *, shift: float = 0.0, squares: bool = False, impl: str | None = None) -> float:
    """The sum of all of x's elements as a float64 number (a full sum, a mean, a variance's two passes); with
    ``squares``, of (x - shift)**2, the difference rounded in x's dtype (``shift`` converted to it) and
    squared and added in float64. Tasks of CHUNK elements over the threads, their float64 partials added
    by NumPy's pairwise sum: the same bits at any thread count, the reference's up to rounding."""
    op = "reduce.sum_all"
    _, impl = float_dtype_and_impl(op, xp, impl, x=x)
    if impl != "cpu" or x.size == 0:
        return float(reference_sum_all(xp, x, shift, squares))
    check_arrays_for(op, xp, impl, x=x)
    flat = contiguous(xp, x).reshape(-1)
    partial = np.empty(-(-flat.size // CHUNK), np.float64)
    _sum_all_cpu(flat.size, flat, flat.dtype.type(shift), bool(squares), partial)
    return float(partial.sum())


def prod_rows(xp: Any, x: Any, *, impl: str | None = None) -> Any:
    """(rows,) products of x (rows, n) along its rows in x's dtype: the reference's bits (its order)."""
    op = "reduce.prod_rows"
    _, impl = float_dtype_and_impl(op, xp, impl, x=x)
    if x.ndim != 2:
        raise ValueError(f"{op}: expected a 2-D (rows, n) array, got shape {tuple(x.shape)}")
    if impl != "cpu" or x.shape[1] == 0:
        return reference_prod_rows(xp, x)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    out = np.empty(x.shape[0], dtype=x.dtype)
    _prod_rows_cpu(x.size, x, out)
    return out
