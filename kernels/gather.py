"""Gathers and scatter-adds along one axis, and the selection of topk, on the CPU.

Every array is seen as (pre, n, post) around the axis the op works along (a reshape, no copy, for the
C-contiguous arrays the ops hold):

    gather_along       out[p, i, q] = x[p, idx[p, i, q], q]                  (gather, sort's and topk's values)
    scatter_add_along  out[p, idx[p, i, q], q] += src[p, i, q]               (their backward, scatter_add)
    index_add          out[p, idx[i], q] += src[p, i, q]                     (index_select's and x[ids]'s backward)
    topk_indices       the k best positions of each line x[p, :, q], best first
    index_bounds       an index's smallest and largest entries (the ops' range check), in one pass

The scatter-adds were NumPy's ``np.add.at``, which costs ~30 ns per element (an index_select backward of
4096 rows of 2048 float32: 125 ms). Here each output element takes its additions in the order of i, as
np.add.at does (it walks the index in C order, and for one output element that is increasing i), and
no two threads share an output element (a thread owns whole (p, column block) tasks, or for index_add
of rows of ROW_MIN elements and more, whole (p, range of output rows) tasks): the result is np.add.at's
bits on any thread count. A negative index counts from the end, as the ops allow it. index_add by
column blocks of 512 read 2 KiB of each source row at a time: that index_select backward took 7-11 ms
on 2 threads, by ranges of output rows (whole 8 KiB rows) 3.3-3.8.

topk_indices keeps the k best elements of a line in a heap (worst at the root) under a total order:
the larger value first (largest) or the smaller (not largest), NaN beyond every number, and between
equal values (NaNs included, and -0.0 == 0.0) the lower position first. That is exactly the order of the
stable sort the ops used before, cut at k, so values, indices and tie orders are the same; an element
that does not beat the root costs one comparison (tested a block of SCAN at a time, vectorised), so a
line costs ~n comparisons for k << n: topk(8) of 1024 lines of 2048 float32 took 4 ms, where sorting
the lines took ~130 ms with NumPy's stable argsort and ~21 ms with the packed keys below. A larger k
means more heap work (k = 64: 25 ms), so the ops select this way for small k only.

sort_keys_f32 turns float32 rows into uint64 keys whose plain order is the stable sort's: the value's
bits mapped to an unsigned integer of the same order (-0.0 as 0.0, every NaN as one value beyond +inf;
complemented for a descending sort) above the element's position. The keys are distinct, so any sort of
them, as NumPy's vectorised quicksort of uint64, gives the stable order: 512 x 2048 float32 sorted in
~8 ms where NumPy's stable argsort took ~65.

CPU only: on a GPU the ops call CuPy's own take_along_axis, scatter_add and sort.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from . import _dispatch
from ._launch import contiguous, cpu_kernel, resolve_impl

ROW_MIN = 64  # index_add adds whole rows of at least this many elements (_index_add_rows_cpu)
SCAN = 32  # elements topk tests against the root at once (a vectorised test; most blocks hold no winner)
COLS = 512  # columns (post) a task takes: enough tasks for the threads when pre is 1
# What a random read or read-and-add of a gather or scatter counts as in the serial-or-parallel choice (the
# launchers' work, in elements streamed): counted as one, a gather of 512 of each 8 KiB row of 2048 x 2048
# float32 stayed on one thread (2.1 ms, 0.95 on two).
RANDOM_ACCESS_WORK = 4
# The dtypes each kernel is compiled for; the ops run NumPy's own calls for the others.
GATHER_DTYPES = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32,
                                                np.uint32, np.int64, np.uint64, np.float32, np.float64,
                                                np.complex64, np.complex128))
ADD_DTYPES = frozenset(np.dtype(t) for t in (np.int32, np.int64, np.float32, np.float64, np.complex64,
                                             np.complex128))
# index_bounds from this many entries (below, NumPy's min and max are as fast as the threads start)
BOUNDS_MIN_ELEMENTS = 1 << 18
BOUNDS_CHUNKS = 16  # fixed: the chunks' bounds do not depend on the thread count (nor could they change them)
TOPK_DTYPES = frozenset(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32,
                                              np.float64))


# ============================================================== references

def _along(xp: Any, idx: Any, axis: int) -> tuple:
    """The index tuple that addresses a[i_0, ..., idx[i], ..., i_n] for every position i of idx."""
    return tuple(idx if d == axis else xp.arange(n).reshape([-1 if e == d else 1 for e in range(idx.ndim)])
                 for d, n in enumerate(idx.shape))


def reference_gather_along(xp: Any, x: Any, idx: Any, axis: int) -> Any:
    return x[_along(xp, idx, axis)]


def reference_scatter_add_along(xp: Any, out: Any, idx: Any, src: Any, axis: int) -> None:
    xp.add.at(out, _along(xp, idx, axis), src)


def reference_index_add(xp: Any, out: Any, idx: Any, src: Any, axis: int) -> None:
    xp.add.at(out, (slice(None),) * axis + (idx,), src)


def reference_topk_indices(xp: Any, x: Any, k: int, largest: bool, axis: int) -> Any:
    if largest:  # the stable descending order: the ascending stable sort of the reversed line, reversed
        n = x.shape[axis]
        order = (n - 1) - xp.flip(xp.argsort(xp.flip(x, axis=axis), axis=axis, kind="stable"), axis=axis)
    else:
        order = xp.argsort(x, axis=axis, kind="stable")
    return xp.ascontiguousarray(order[(slice(None),) * axis + (slice(0, k),)])


# ============================================================== CPU kernels

@cpu_kernel(fastmath=False)
def _gather_cpu(x, idx, out):
    pre, n, post = x.shape
    m = idx.shape[1]
    blocks = (post + COLS - 1) // COLS
    for t in prange(pre * blocks):
        p = t // blocks
        lo = (t % blocks) * COLS
        hi = min(lo + COLS, post)
        for i in range(m):
            for q in range(lo, hi):
                k = idx[p, i, q]
                out[p, i, q] = x[p, k + n if k < 0 else k, q]


@cpu_kernel(fastmath=False)
def _scatter_add_cpu(out, idx, src):
    pre, n, post = out.shape
    m = idx.shape[1]
    blocks = (post + COLS - 1) // COLS
    for t in prange(pre * blocks):
        p = t // blocks
        lo = (t % blocks) * COLS
        hi = min(lo + COLS, post)
        for i in range(m):  # i outermost: each element's additions in the order of i
            for q in range(lo, hi):
                k = idx[p, i, q]
                out[p, k + n if k < 0 else k, q] += src[p, i, q]


@njit(inline="always", cache=True)
def _touch(line_bytes):
    """Read one byte of every cache line of a row, in order: the hardware prefetcher then streams the
    row into the cache, where the random accesses that follow find it (a gather of 512 random elements
    from each 8 KiB row of 2048 x 2048 float32 took 3.7 ms, 1.8 ms after this pass)."""
    t = 0
    for j in range(0, line_bytes.shape[0], 64):
        t += line_bytes[j]
    return t


@cpu_kernel(fastmath=False)
def _gather_rows_cpu(x, idx, out, touch, x_bytes, sink):
    lines, n = x.shape
    for p in prange(lines):
        if touch:
            sink[p] = _touch(x_bytes[p])
        row = x[p]
        ids = idx[p]
        got = out[p]
        for i in range(ids.shape[0]):
            k = ids[i]
            got[i] = row[k + n if k < 0 else k]


@cpu_kernel(fastmath=False)
def _scatter_add_rows_cpu(out, idx, src, touch, out_bytes, sink):
    lines, n = out.shape
    for p in prange(lines):
        if touch:
            sink[p] = _touch(out_bytes[p])
        row = out[p]
        ids = idx[p]
        part = src[p]
        for i in range(ids.shape[0]):  # in the order of i
            k = ids[i]
            row[k + n if k < 0 else k] += part[i]


@cpu_kernel(fastmath=False)
def _sort_keys_cpu(bits, descending, out):
    rows, n = bits.shape
    for p in prange(rows):
        src = bits[p]
        dst = out[p]
        for j in range(n):
            b = np.uint64(src[j])
            if (b & 0x7FFFFFFF) > 0x7F800000:
                key = np.uint64(0xFFFFFFFF)  # NaN, any sign and payload: beyond +inf
            elif b == 0x80000000:
                key = np.uint64(0x80000000)  # -0.0 as 0.0: equal values keep their positions' order
            elif b & 0x80000000:
                key = np.uint64(0xFFFFFFFF) - b  # negative: the larger the magnitude, the smaller
            else:
                key = b | np.uint64(0x80000000)
            if descending:
                key = np.uint64(0xFFFFFFFF) - key
            dst[j] = (key << np.uint64(32)) | np.uint64(j)


@cpu_kernel(fastmath=False)
def _index_add_rows_cpu(out, idx, src, ranges):
    # Tasks own ranges of output rows (of one p): each walks the whole index, in the order of i, and adds
    # the rows that land in its range, whole rows of post elements at a time
    pre, n, post = out.shape
    m = idx.shape[0]
    per = (n + ranges - 1) // ranges
    for t in prange(pre * ranges):
        p = t // ranges
        r0 = (t - p * ranges) * per
        r1 = min(r0 + per, n)
        for i in range(m):
            k = idx[i]
            k = k + n if k < 0 else k
            if r0 <= k < r1:
                row = out[p, k]
                part = src[p, i]
                for q in range(post):
                    row[q] += part[q]


@cpu_kernel(fastmath=False)
def _index_add_cpu(out, idx, src):
    pre, n, post = out.shape
    m = idx.shape[0]
    blocks = (post + COLS - 1) // COLS
    for t in prange(pre * blocks):
        p = t // blocks
        lo = (t % blocks) * COLS
        hi = min(lo + COLS, post)
        for i in range(m):
            k = idx[i]
            row = out[p, k + n if k < 0 else k]
            part = src[p, i]
            for q in range(lo, hi):
                row[q] += part[q]


@njit(inline="always", cache=True)
def _nan(v):
    return v != v  # noqa: PLR0124 - NaN is the value unequal to itself (and Numba compiles this for ints too)


@njit(inline="always", cache=True)
def _before(va, a, vb, b, largest):
    """Whether (value va, position a) comes before (vb, b): the larger (largest) or smaller value, NaN
    beyond every number, and between equals the lower position."""
    if _nan(va):
        return a < b if _nan(vb) else largest
    if _nan(vb):
        return not largest
    if va == vb:
        return a < b
    return va > vb if largest else va < vb


@njit(inline="always", cache=True)
def _sift_down(line, heap, size, j, largest):
    """Put position j at the root of heap[:size] and sift it down below every child that comes after it
    (the root is the worst kept)."""
    v = line[j]
    at = 0
    while True:
        c = 2 * at + 1
        if c >= size:
            break
        if c + 1 < size and _before(line[heap[c]], heap[c], line[heap[c + 1]], heap[c + 1], largest):
            c += 1  # the later of the two children
        a = heap[c]
        if not _before(v, j, line[a], a, largest):
            break
        heap[at] = a
        at = c
    heap[at] = j


@cpu_kernel(fastmath=False)
def _topk_cpu(x, k, largest, out):
    lines, n = x.shape
    for p in prange(lines):
        line = x[p]
        heap = np.empty(k, np.int64)  # positions, the worst kept at heap[0]
        size = 0
        for j in range(min(k, n)):  # the first k, each sifted up above every parent it comes after
            at = size
            size += 1
            v = line[j]
            while at > 0:
                up = (at - 1) // 2
                a = heap[up]
                if not _before(line[a], a, v, j, largest):
                    break
                heap[at] = a
                at = up
            heap[at] = j
        if size:
            w = line[heap[0]]  # the root's value, kept at hand: most elements are only compared with it
            for lo in range(k, n, SCAN):
                hi = min(lo + SCAN, n)
                # Does any of the block beat the root? _before(v, j, w, root) spelt out for j > root (a
                # tie keeps the root), branch-free over the block so that it vectorises.
                if largest and _nan(w):
                    break  # a NaN root: every kept element is NaN, and nothing later beats them
                block = line[lo:hi]
                hit = False
                for i in range(block.shape[0]):
                    v = block[i]
                    hit |= ((v > w) | _nan(v)) if largest else ((v < w) | (_nan(w) & (v == v)))  # noqa: PLR0124
                if not hit:
                    continue
                for j in range(lo, hi):
                    v = line[j]
                    if largest:
                        if not (v > w or _nan(v)):
                            continue
                    elif not (v < w or (_nan(w) and not _nan(v))):
                        continue
                    _sift_down(line, heap, size, j, largest)
                    w = line[heap[0]]
                    if largest and _nan(w):
                        break
        row = out[p]
        for end in range(size - 1, -1, -1):  # pop the worst to the back: row best first
            row[end] = heap[0]
            if end:
                _sift_down(line, heap, end, heap[end], largest)


@cpu_kernel(fastmath=False)
def _bounds_cpu(flat, lows, highs):
    n = flat.size
    chunks = lows.shape[0]
    for c in prange(chunks):
        part = flat[c * n // chunks:(c + 1) * n // chunks]
        lo = hi = part[0]
        for i in range(1, part.size):  # integer minimum and maximum: vectorised
            lo = min(lo, part[i])
            hi = max(hi, part[i])
        lows[c] = lo
        highs[c] = hi


# ============================================================== launchers

def _three(shape: tuple, axis: int) -> tuple:
    """shape as (pre, n, post) around axis."""
    return (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:]))


def _on_cpu(xp: Any, impl: str | None, dtypes: frozenset, dtype: Any) -> bool:
    return resolve_impl(xp, impl, "gather") == "cpu" and dtype in dtypes


def _same_but_axis(a: tuple, b: tuple, axis: int) -> bool:
    return len(a) == len(b) and all(m == n for d, (m, n) in enumerate(zip(a, b)) if d != axis)


def _work(accesses: int, rows: Any, touching: tuple) -> int:
    """The row kernels' work for the serial-or-parallel choice: their random accesses, and the rows their
    touching pass streams."""
    return RANDOM_ACCESS_WORK * accesses + (rows.size if touching[0] else 0)


def _touching(rows: Any, m: int) -> tuple:
    """The row kernels' (touch, row bytes, sink) arguments: touch each row first when m random accesses
    reach most of its cache lines (one in 16 elements or more)."""
    touch = m * 16 >= rows.shape[1] and rows.shape[1] * rows.itemsize >= 1024
    return touch, rows.view(np.uint8), np.empty(rows.shape[0], np.int64)


def gather_along(xp: Any, x: Any, idx: Any, axis: int, *, impl: str | None = None) -> Any:
    """``take_along_axis(x, idx, axis)`` (C-contiguous), for an int index of x's shape apart from axis,
    in [-n, n)."""
    if not (_on_cpu(xp, impl, GATHER_DTYPES, x.dtype) and _same_but_axis(x.shape, idx.shape, axis)):
        return reference_gather_along(xp, x, idx, axis)
    out = np.empty(idx.shape, dtype=x.dtype)
    if out.size:
        i3 = contiguous(xp, idx.astype(np.int64, copy=False)).reshape(_three(idx.shape, axis))
        if i3.shape[2] == 1:  # along the last dim: rows
            x2 = contiguous(xp, x).reshape(i3.shape[0], -1)
            touching = _touching(x2, i3.shape[1])
            _gather_rows_cpu(_work(out.size, x2, touching), x2, i3[:, :, 0], out.reshape(i3.shape[:2]), *touching)
        else:
            _gather_cpu(RANDOM_ACCESS_WORK * out.size, x.reshape(_three(x.shape, axis)), i3, out.reshape(i3.shape))
    return out


def scatter_add_along(xp: Any, out: Any, idx: Any, src: Any, axis: int, *, impl: str | None = None) -> None:
    """``out[..., idx[..., i, ...], ...] += src[..., i, ...]`` along axis, in place, repeated indices
    accumulating in the order of i (np.add.at's bits); idx and src of out's shape apart from axis."""
    if not (_on_cpu(xp, impl, ADD_DTYPES, out.dtype) and out.flags.c_contiguous and src.dtype == out.dtype
            and _same_but_axis(out.shape, idx.shape, axis) and src.shape == idx.shape):
        return reference_scatter_add_along(xp, out, idx, src, axis)
    if idx.size:
        i3 = contiguous(xp, idx.astype(np.int64, copy=False)).reshape(_three(idx.shape, axis))
        src3 = contiguous(xp, src).reshape(i3.shape)
        if i3.shape[2] == 1:  # along the last dim: rows
            o2 = out.reshape(i3.shape[0], -1)
            touching = _touching(o2, i3.shape[1])
            _scatter_add_rows_cpu(_work(idx.size, o2, touching), o2, i3[:, :, 0], src3[:, :, 0], *touching)
        else:
            _scatter_add_cpu(RANDOM_ACCESS_WORK * idx.size, out.reshape(_three(out.shape, axis)), i3, src3)
    return None


def index_add(xp: Any, out: Any, idx: Any, src: Any, axis: int, *, impl: str | None = None) -> None:
    """``out[(:,) * axis + (idx[i],)] += src[(:,) * axis + (i,)]`` in place for a 1-D int index,
    repeated indices accumulating in the order of i (np.add.at's bits); src of out's shape apart from
    axis, where it has idx's length."""
    if not (_on_cpu(xp, impl, ADD_DTYPES, out.dtype) and out.flags.c_contiguous and src.dtype == out.dtype
            and idx.ndim == 1 and _same_but_axis(out.shape, src.shape, axis) and src.shape[axis] == idx.shape[0]):
        return reference_index_add(xp, out, idx, src, axis)
    if src.size:
        o3 = out.reshape(_three(out.shape, axis))
        i1 = contiguous(xp, idx.astype(np.int64, copy=False))
        s3 = contiguous(xp, src).reshape(_three(src.shape, axis))
        pre, n, post = o3.shape
        if post >= ROW_MIN:
            # as many row ranges as keep both threads busy (4 tasks a thread), each a scan of the index: no
            # more than post / ROW_MIN, so that the scans stay small beside the rows' additions. The
            # result is the same whatever the count (each row is one task's).
            ranges = 1
            if src.size >= _dispatch.PARALLEL_MIN_WORK:
                ranges = max(1, min(n, post // ROW_MIN, -(-4 * numba.get_num_threads() // pre)))
            _index_add_rows_cpu(src.size, o3, i1, s3, ranges)
        else:
            _index_add_cpu(src.size, o3, i1, s3)
    return None


def topk_indices(xp: Any, x: Any, k: int, largest: bool, axis: int, *, impl: str | None = None) -> Any:
    """The positions of the k best elements along axis, best first (int64, C-contiguous): the larger
    (largest) or smaller values, NaN beyond every number, equal values in the order of their positions.
    The stable sort's order cut at k."""
    if not (_on_cpu(xp, impl, TOPK_DTYPES, x.dtype) and 0 <= k <= x.shape[axis]):
        return reference_topk_indices(xp, x, k, largest, axis)
    pre, n, post = _three(x.shape, axis)
    if post == 1:  # lines are rows already
        rows = contiguous(xp, x).reshape(pre, n)
    else:  # each line made a row: the kernel walks rows, which vectorises and caches well
        rows = np.ascontiguousarray(np.swapaxes(x.reshape(pre, n, post), 1, 2)).reshape(pre * post, n)
    out = np.empty((pre * post, k), dtype=np.int64)
    if out.size:
        _topk_cpu(x.size, rows, k, bool(largest), out)
    shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
    if post == 1:
        return out.reshape(shape)
    return np.ascontiguousarray(np.swapaxes(out.reshape(pre, post, k), 1, 2)).reshape(shape)


def sort_keys_f32(xp: Any, x: Any, descending: bool) -> Any:
    """(rows, n) uint64 keys of float32 rows x (rows, n), n < 2**32: sorted, each row is in the stable
    sort's order of its values (NaN largest, -0.0 equal to 0.0; descending: larger first, equal values
    still by position), and a key's low 32 bits are the element's position."""
    rows = contiguous(xp, x).view(np.uint32)
    out = np.empty(rows.shape, np.uint64)
    if out.size:
        _sort_keys_cpu(out.size, rows, bool(descending), out)
    return out


def index_bounds(idx: Any) -> tuple[int, int] | None:
    """(min, max) of a large C-contiguous int32 or int64 NumPy index in one pass over the threads; None
    otherwise (the caller takes NumPy's ``min()`` and ``max()``, two passes on one core)."""
    if (idx.__class__ is not np.ndarray or idx.size < BOUNDS_MIN_ELEMENTS or idx.dtype.kind != "i"
            or idx.itemsize < 4 or not idx.flags.c_contiguous):
        return None
    chunks = min(BOUNDS_CHUNKS, idx.size)  # none empty
    lows = np.empty(chunks, idx.dtype)
    highs = np.empty(chunks, idx.dtype)
    _bounds_cpu(idx.nbytes // 2, idx.reshape(-1), lows, highs)
    return int(lows.min()), int(highs.max())
