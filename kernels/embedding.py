"""The embedding lookup's backward: a scatter-add of gradient rows into a (num, dim) table, deterministic.

    gweight[k] = sum over positions i with ids[i] == k of gy[i]          (k != padding_idx; that row is 0)
    scale_grad_by_freq: gweight[k] = that sum / count(k)

The positions are sorted by id (a stable sort, so equal ids keep their order); the first position of
each run of equal ids owns that id's row and adds the run's gradient rows into it, in order. No two
workers write one row and no sum depends on how work is split, so the result is the same bits on any
number of threads, and on the GPU too, where the CUDA kernel does the same (no atomics). Only the sort
depends on the data's size; the kernels take every sorted position and let non-owners return, so no
count of distinct ids is read back to the host (capture-clean). A very frequent id is one worker's
serial loop: its row costs count * dim additions in one thread (one block of lanes on the GPU).
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

    return {"scatter": (scatter_kernel, void(T[:, ::1], int64[::1], int64[::1], int64, boolean, T[:, ::1]))}


_cuda_kernel, cuda_kernel_specs = cuda_family("embedding", _cuda_sources)


# ============================================================== launcher

def embedding_backward(xp: Any, gy: Any, ids: Any, num: int, padding_idx: int = -1, scale_grad_by_freq: bool = False,
                       *, impl: str | None = None, stream: Any = None) -> Any:
    """gweight (num, dim) of the lookup weight[ids], from gy (n, dim) and ids (n,) (integers in [0, num));
    ``padding_idx`` (-1: none) gets no gradient; ``scale_grad_by_freq`` divides each row by its count."""
    op = "embedding.backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy)
    if gy.ndim != 2 or ids.ndim != 1 or ids.shape[0] != gy.shape[0]:
        raise ValueError(f"{op}: expected gy (n, dim) and ids (n,), got {tuple(gy.shape)} and {tuple(ids.shape)}")
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
    args = (gy, order, sorted_ids, int(padding_idx), bool(scale_grad_by_freq), gw)
    if impl == "cpu":
        _scatter_cpu(2 * gy.size, *args)
    else:
        launch(_cuda_kernel("scatter", dtype), (LANES, ids.shape[0]), (LANES, ROWS_PER_BLOCK), cuda_stream(xp, stream),
               *args)
    return gw
