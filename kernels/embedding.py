"""The embedding lookup's backward: a scatter-add of gradient rows into a (num, dim) table, deterministic;
and embedding_bag's sums of bags of rows, which never gather the rows themselves.

    gweight[k] = sum over positions i with ids[i] == k of gy[i]          (k != padding_idx; that row is 0)
    scale_grad_by_freq: gweight[k] = that sum / count(k)

The positions are sorted by id (a stable sort, so equal ids keep their order); the first position of
each run of equal ids owns that id's row and adds the run's gradient rows into it, in order. No two
workers write one row and no sum depends on how work is split, so the result is the same bits on any
number of threads, and on the GPU too, where the CUDA kernel does the same (no atomics). Only the sort
depends on the data's size; the kernels take every sorted position and let non-owners return, so no
count of distinct ids is read back to the host (capture-clean). A very frequent id is one worker's
serial loop: its row costs count * dim additions in one thread (one block of lanes on the GPU).

    out[b] = sum over positions i in bounds[b]:bounds[b + 1] with ids[i] != padding_idx of weight[ids[i]]

A bag is one worker's (a thread on the CPU, a block of lanes on the GPU), adding its rows in position order:
the bits of zeros index-added by position. Its backward is the scatter above, each position reading its
bag's gradient row (``rows``).
"""

from __future__ import annotations

from typing import Any

from numba import prange

from ._launch import (
    check_arrays_for,
    contiguous,
    cpu_kernel,
    cuda_family,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    like,
    numba_type,
)

LANES, ROWS_PER_BLOCK = 32, 4  # CUDA: 32 lanes share a gradient row, 4 runs per block


# ============================================================== reference

def reference_backward(xp: Any, gy: Any, ids: Any, num: int, padding_idx: int = -1,
                       scale_grad_by_freq: bool = False) -> Any:
    """gweight (num, dim) from gy (n, dim) and the looked-up ids (n,)."""
    gw = xp.zeros((num, gy.shape[1]), dtype=gy.dtype)
    if ids.size == 0:
        return gw
    rows = gy
    if scale_grad_by_freq:
        counts = xp.bincount(ids, minlength=num)
        rows = gy / counts[ids][:, None].astype(gy.dtype)
    keep = ids != padding_idx
    if xp.__name__ == "numpy":
        xp.add.at(gw, ids[keep], rows[keep])
    else:  # CuPy
        import cupyx

        cupyx.scatter_add(gw, ids[keep], rows[keep])
    return gw


def reference_bag_sum(xp: Any, weight: Any, ids: Any, bounds: Any, padding_idx: int = -1) -> Any:
    """(bags, dim) sums of weight's rows at ids over each bag's positions bounds[b]:bounds[b + 1]."""
    bags = bounds.shape[0] - 1
    out = xp.zeros((bags, weight.shape[1]), dtype=weight.dtype)
    bag_of = xp.repeat(xp.arange(bags), xp.diff(bounds))
    taken = ids[int(bounds[0]):int(bounds[-1])] if bags else ids[:0]
    keep = taken != padding_idx
    if xp.__name__ == "numpy":
        xp.add.at(out, bag_of[keep], weight[taken[keep]])
    else:  # CuPy
        import cupyx

        cupyx.scatter_add(out, bag_of[keep], weight[taken[keep]])
    return out


# ============================================================== CPU kernels

FASTMATH = {"reassoc", "nsz"}  # lets the row additions vectorise; the order of the run is kept


@cpu_kernel(FASTMATH)
def _scatter_cpu(gy, order, sorted_ids, padding_idx, scale, gw):
    n = order.shape[0]
    d = gy.shape[1]
    for q in prange(n):
        p = like(n, q)  # prange's index is unsigned: mixed with signed ints, Numba would make floats of them
        k = sorted_ids[p]
        if (p > 0 and sorted_ids[p - 1] == k) or k == padding_idx:
            continue  # not the first of its run, or the padding row (which keeps its zeros)
        out = gw[k]
        end = p
        while end < n and sorted_ids[end] == k:
            src = gy[order[end]]
            for j in range(d):
                out[j] += src[j]
            end += 1
        if scale:
            inv = like(out[0], 1.0) / like(out[0], end - p)
            for j in range(d):
                out[j] *= inv


@cpu_kernel(FASTMATH)
def _bag_sum_cpu(weight, ids, bounds, padding_idx, out):
    d = weight.shape[1]
    for b in prange(out.shape[0]):
        row = out[b]  # zeros
        for i in range(bounds[b], bounds[b + 1]):
            k = ids[i]
            if k != padding_idx:
                src = weight[k]
                for j in range(d):
                    row[j] += src[j]


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, int64, void

    T = numba_type(dtype)
    L, R = LANES, ROWS_PER_BLOCK

    # A row of L lanes per sorted position (grid-stride); the lanes of a run's first position walk the run,
    # each lane its own columns, summing in the run's order: no atomics, the same bits on every launch.
    def scatter_kernel(gy, order, sorted_ids, padding_idx, scale, gw):
        n = order.shape[0]
        d = gy.shape[1]
        tx = cuda.threadIdx.x
        for p in range(cuda.blockIdx.y * R + cuda.threadIdx.y, n, cuda.gridDim.y * R):
            k = sorted_ids[p]
            if (p == 0 or sorted_ids[p - 1] != k) and k != padding_idx:
                end = p
                while end < n and sorted_ids[end] == k:
                    end += 1
                inv = like(gy[0, 0], 1.0) / like(gy[0, 0], end - p) if scale else like(gy[0, 0], 1.0)
                for j in range(tx, d, L):
                    acc = like(gy[0, 0], 0.0)
                    for q in range(p, end):
                        acc += gy[order[q], j]
                    gw[k, j] = acc * inv if scale else acc

    # A row of L lanes per bag (grid-stride), each lane its own columns, adding the bag's rows in order.
    def bag_sum_kernel(weight, ids, bounds, padding_idx, out):
        d = weight.shape[1]
        tx = cuda.threadIdx.x
        for b in range(cuda.blockIdx.y * R + cuda.threadIdx.y, out.shape[0], cuda.gridDim.y * R):
            for j in range(tx, d, L):
                acc = like(weight[0, 0], 0.0)
                for i in range(bounds[b], bounds[b + 1]):
                    k = ids[i]
                    if k != padding_idx:
                        acc += weight[k, j]
                out[b, j] = acc

    return {"scatter": (scatter_kernel, void(T[:, ::1], int64[::1], int64[::1], int64, boolean, T[:, ::1])),
            "bag_sum": (bag_sum_kernel, void(T[:, ::1], int64[::1], int64[::1], int64, T[:, ::1]))}


_cuda_kernel, cuda_kernel_specs = cuda_family("embedding", _cuda_sources)


# ============================================================== launcher

def embedding_backward(xp: Any, gy: Any, ids: Any, num: int, padding_idx: int = -1, scale_grad_by_freq: bool = False,
                       *, rows: Any = None, impl: str | None = None, stream: Any = None) -> Any:
    """gweight (num, dim) of the lookup weight[ids], from gy (n, dim) and ids (n,) (integers in [0, num));
    ``padding_idx`` (-1: none) gets no gradient; ``scale_grad_by_freq`` divides each row by its count.
    ``rows`` (n,): the row of gy each position's gradient is (a bag's, for embedding_bag; gy then has a row
    per bag), where by default position i's is gy[i]."""
    op = "embedding.backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy)
    if gy.ndim != 2 or ids.ndim != 1 or (ids.shape[0] != gy.shape[0] if rows is None else rows.shape != ids.shape):
        got = f"{tuple(gy.shape)} and {tuple(ids.shape)}" + ("" if rows is None else f" (rows {tuple(rows.shape)})")
        raise ValueError(f"{op}: expected gy (n, dim) and ids (n,) (or gy (bags, dim) and rows (n,)), got {got}")
    if rows is not None:
        if impl == "reference" or gy.size == 0:
            gy = gy[rows]
        rows = rows.astype(xp.int64, copy=False)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids must be integers, got {ids.dtype}")
    ids = ids.astype(xp.int64, copy=False)
    if impl == "reference" or gy.size == 0:
        return reference_backward(xp, gy, ids, num, padding_idx, scale_grad_by_freq)
    check_arrays_for(op, xp, impl, gy=gy, ids=ids)
    gy = contiguous(xp, gy)
    order = xp.argsort(ids, kind="stable") if xp.__name__ == "numpy" else xp.argsort(ids)  # CuPy's is stable
    order = contiguous(xp, order.astype(xp.int64, copy=False))
    sorted_ids = contiguous(xp, ids[order])
    gw = xp.zeros((num, gy.shape[1]), dtype=dtype)
    source = order if rows is None else contiguous(xp, rows[order])  # the gy row each sorted position adds
    args = (gy, source, sorted_ids, int(padding_idx), bool(scale_grad_by_freq), gw)
    if impl == "cpu":
        _scatter_cpu(2 * gy.size, *args)
    else:
        launch(_cuda_kernel("scatter", dtype), (LANES, ids.shape[0]), (LANES, ROWS_PER_BLOCK), cuda_stream(xp, stream),
               *args)
    return gw


def bag_sum(xp: Any, weight: Any, ids: Any, bounds: Any, padding_idx: int = -1, *, impl: str | None = None,
            stream: Any = None) -> Any:
    """(bags, dim) sums of weight's (num, dim) rows at ids (n,) over each bag's positions
    bounds[b]:bounds[b + 1] (bounds (bags + 1,), nondecreasing, within [0, n]); positions at ``padding_idx``
    (-1: none) left out, an empty bag zeros. ids must lie in [0, num) (the caller checks them)."""
    op = "embedding.bag_sum"
    dtype, impl = float_dtype_and_impl(op, xp, impl, weight=weight)
    if weight.ndim != 2 or ids.ndim != 1 or bounds.ndim != 1 or bounds.shape[0] < 1:
        raise ValueError(f"{op}: expected weight (num, dim), ids (n,) and bounds (bags + 1,), got "
                         f"{tuple(weight.shape)}, {tuple(ids.shape)} and {tuple(bounds.shape)}")
    if ids.dtype.kind not in "iu" or bounds.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids and bounds must be integers, got {ids.dtype} and {bounds.dtype}")
    ids, bounds = ids.astype(xp.int64, copy=False), bounds.astype(xp.int64, copy=False)
    bags = bounds.shape[0] - 1
    if impl == "reference" or bags == 0 or weight.shape[1] == 0:
        return reference_bag_sum(xp, weight, ids, bounds, padding_idx)
    check_arrays_for(op, xp, impl, weight=weight, ids=ids, bounds=bounds)
    weight, ids, bounds = contiguous(xp, weight), contiguous(xp, ids), contiguous(xp, bounds)
    out = xp.zeros((bags, weight.shape[1]), dtype=dtype)
    args = (weight, ids, bounds, int(padding_idx), out)
    if impl == "cpu":
        _bag_sum_cpu(2 * ids.shape[0] * weight.shape[1], *args)
    else:
        launch(_cuda_kernel("bag_sum", dtype), (LANES, bags), (LANES, ROWS_PER_BLOCK), cuda_stream(xp, stream), *args)
    return out
