"""Softmax and log-softmax over the rows of a 2-D (rows, n) array, or over axis 1 of a 3-D (outer, m, inner)
one (a dim other than the last, as softmax over the channels of an image), forward and backward.

    softmax:      y = exp(x - max) / sum(exp(x - max))           gx = y * (gy - sum(gy * y))
    log_softmax:  y = x - max - log(sum(exp(x - max)))           gx = gy - exp(y) * sum(gy)

The CPU kernels make three passes over a row while it is in cache (max; exp(x - max) parked in y and summed;
the scaling), every loop free of branches and calls so that LLVM vectorises it, with the exponentials from
the vectorisable _vmath.exp. Over axis 1 of (outer, m, inner) the same three passes run over a tile of
COLUMN_TILE neighbouring columns at once, the columns being the vector lanes (a column's elements are inner
apart in memory); each column's sums add in the order of its m elements. The CUDA kernels give each row 32
lanes and reduce in shared memory, as softmax_xent does, and each column a thread. A row of -inf only (a
fully masked attention row) gives NaN, as PyTorch's softmax does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange

from ._launch import (
    check_arrays_for,
    check_same_shape,
    contiguous,
    cpu_kernel,
    cuda_family,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    like,
    numba_type,
    plain_cpu_call,
)
from ._vmath import exp as vector_exp
from ._vmath import row_max

LANES, ROWS_PER_BLOCK = 32, 4  # CUDA: 32 threads share a row, 4 rows per block
COLUMN_TILE = 128  # CPU: columns a tile of the axis-1 kernels takes (their partials stay in L1)
COLUMN_BLOCK = 128  # CUDA: threads per block of the axis-1 kernels, a column each


# ============================================================== reference

def reference_forward(xp: Any, x: Any, log: bool = False) -> Any:
    """softmax (or log_softmax) of each row of x (rows, n), or along axis 1 of x (outer, m, inner)."""
    shifted = x - x.max(axis=1, keepdims=True)
    total = xp.exp(shifted).sum(axis=1, keepdims=True)
    y = shifted - xp.log(total) if log else xp.exp(shifted) / total
    return y.astype(x.dtype, copy=False)


def reference_backward(xp: Any, gy: Any, y: Any, log: bool = False) -> Any:
    """d loss / d x from gy = d loss / d y and the forward's output y."""
    if log:
        gx = gy - xp.exp(y) * gy.sum(axis=1, keepdims=True)
    else:
        gx = y * (gy - (gy * y).sum(axis=1, keepdims=True))
    return gx.astype(gy.dtype, copy=False)


# ============================================================== CPU kernels

# Fast math with reassoc (the row sums vectorise) but without nnan and ninf (a masked row holds -inf, and
# NaN must stay NaN) and without nsz (with it, _vmath.exp loses the top of its float64 range).
FASTMATH = {"arcp", "contract", "afn", "reassoc"}


@cpu_kernel(FASTMATH)
def _forward_cpu(x, y, log):
    n, c = x.shape
    for i in prange(n):
        xi = x[i]
        yi = y[i]
        m = row_max(xi)
        s = like(m, 0.0)
        if log:
            # x - m parked in y, then minus log(sum): never x - (m + log(sum)), whose rounding at large
            # logits is an ulp of m (a store and a load apart, so reassociation cannot fold them back).
            for j in range(c):
                t = xi[j] - m
                yi[j] = t
                s += vector_exp(t)
            lse = math.log(s)
            for j in range(c):
                yi[j] = yi[j] - lse
        else:
            for j in range(c):
                e = vector_exp(xi[j] - m)
                yi[j] = e
                s += e
            inv = like(m, 1.0) / s
            for j in range(c):
                yi[j] = yi[j] * inv


@cpu_kernel(FASTMATH)
def _backward_cpu(gy, y, gx, log):
    n, c = gy.shape
    for i in prange(n):
        gi = gy[i]
        yi = y[i]
        oi = gx[i]
        s = like(gi[0], 0.0)
        if log:
            for j in range(c):
                s += gi[j]
            for j in range(c):
                oi[j] = gi[j] - vector_exp(yi[j]) * s
        else:
            for j in range(c):
                s += gi[j] * yi[j]
            for j in range(c):
                oi[j] = yi[j] * (gi[j] - s)


@cpu_kernel(FASTMATH)
def _forward_columns_cpu(x, y, log):
    outer, m, inner = x.shape
    tiles = (inner + COLUMN_TILE - 1) // COLUMN_TILE
    for t in prange(outer * tiles):
        o = t // tiles
        lo = (t - o * tiles) * COLUMN_TILE
        hi = min(inner, lo + COLUMN_TILE)
        xo, yo = x[o], y[o]
        top = xo[0, lo:hi].copy()  # the columns' running maxima
        for r in range(1, m):
            row = xo[r, lo:hi]
            for j in range(hi - lo):
                top[j] = max(top[j], row[j])
        total = np.zeros_like(top)
        for r in range(m):
            row, out = xo[r, lo:hi], yo[r, lo:hi]
            for j in range(hi - lo):
                t = row[j] - top[j]
                e = vector_exp(t)
                out[j] = t if log else e  # log: x - max parked in y (see _forward_cpu)
                total[j] += e
        for j in range(hi - lo):
            total[j] = math.log(total[j]) if log else like(top[j], 1.0) / total[j]
        for r in range(m):
            out = yo[r, lo:hi]
            for j in range(hi - lo):
                out[j] = out[j] - total[j] if log else out[j] * total[j]


@cpu_kernel(FASTMATH)
def _backward_columns_cpu(gy, y, gx, log):
    outer, m, inner = gy.shape
    tiles = (inner + COLUMN_TILE - 1) // COLUMN_TILE
    for t in prange(outer * tiles):
        o = t // tiles
        lo = (t - o * tiles) * COLUMN_TILE
        hi = min(inner, lo + COLUMN_TILE)
        go, yo, xo = gy[o], y[o], gx[o]
        total = np.zeros_like(go[0, lo:hi])
        for r in range(m):
            g, v = go[r, lo:hi], yo[r, lo:hi]
            for j in range(hi - lo):
                total[j] += g[j] if log else g[j] * v[j]
        for r in range(m):
            g, v, out = go[r, lo:hi], yo[r, lo:hi], xo[r, lo:hi]
            for j in range(hi - lo):
                out[j] = g[j] - vector_exp(v[j]) * total[j] if log else v[j] * (g[j] - total[j])


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, void

    T = numba_type(dtype)
    L, R = LANES, ROWS_PER_BLOCK
    HALF_L = LANES // 2

    # 32 lanes per row, tree reductions in shared memory (the simulator has no warp shuffles). The row
    # loop is uniform per block, so every thread reaches every barrier.
    def forward_kernel(x, y, log):
        red = cuda.shared.array((R, L), T)
        n, c = x.shape
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, n, cuda.gridDim.y * R):
            i = base + ty
            active = i < n
            m = like(x[0, 0], -math.inf)
            if active:
                for j in range(tx, c, L):
                    m = max(m, x[i, j])
            red[ty, tx] = m
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] = max(red[ty, tx], red[ty, tx + off])
                cuda.syncthreads()
                off //= 2
            m = red[ty, 0]
            cuda.syncthreads()
            s = like(m, 0.0)
            if active:
                for j in range(tx, c, L):
                    s += math.exp(x[i, j] - m)
            red[ty, tx] = s
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            s = red[ty, 0]
            cuda.syncthreads()
            if active:
                if log:
                    lse = math.log(s)
                    for j in range(tx, c, L):
                        y[i, j] = (x[i, j] - m) - lse
                else:
                    inv = like(m, 1.0) / s
                    for j in range(tx, c, L):
                        y[i, j] = math.exp(x[i, j] - m) * inv

    def backward_kernel(gy, y, gx, log):
        red = cuda.shared.array((R, L), T)
        n, c = gy.shape
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, n, cuda.gridDim.y * R):
            i = base + ty
            active = i < n
            s = like(gy[0, 0], 0.0)
            if active:
                for j in range(tx, c, L):
                    s += gy[i, j] if log else gy[i, j] * y[i, j]
            red[ty, tx] = s
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            s = red[ty, 0]
            cuda.syncthreads()
            if active:
                for j in range(tx, c, L):
                    if log:
                        gx[i, j] = gy[i, j] - math.exp(y[i, j]) * s
                    else:
                        gx[i, j] = y[i, j] * (gy[i, j] - s)

    def forward_columns_kernel(x, y, log):
        # A thread per column of (outer, m, inner): neighbouring threads read neighbouring addresses
        outer, m, inner = x.shape
        step = cuda.gridsize(1)
        p = cuda.grid(1)
        while p < outer * inner:
            o = p // inner
            j = p - o * inner
            top = x[o, 0, j]
            for r in range(1, m):
                top = max(top, x[o, r, j])
            s = like(top, 0.0)
            for r in range(m):
                s += math.exp(x[o, r, j] - top)
            if log:
                lse = math.log(s)
                for r in range(m):
                    y[o, r, j] = (x[o, r, j] - top) - lse
            else:
                inv = like(top, 1.0) / s
                for r in range(m):
                    y[o, r, j] = math.exp(x[o, r, j] - top) * inv
            p += step

    def backward_columns_kernel(gy, y, gx, log):
        outer, m, inner = gy.shape
        step = cuda.gridsize(1)
        p = cuda.grid(1)
        while p < outer * inner:
            o = p // inner
            j = p - o * inner
            s = like(gy[0, 0, 0], 0.0)
            for r in range(m):
                s += gy[o, r, j] if log else gy[o, r, j] * y[o, r, j]
            for r in range(m):
                if log:
                    gx[o, r, j] = gy[o, r, j] - math.exp(y[o, r, j]) * s
                else:
                    gx[o, r, j] = y[o, r, j] * (gy[o, r, j] - s)
            p += step

    T3 = T[:, :, ::1]
    return {
        "forward": (forward_kernel, void(T[:, ::1], T[:, ::1], boolean)),
        "backward": (backward_kernel, void(T[:, ::1], T[:, ::1], T[:, ::1], boolean)),
        "forward_columns": (forward_columns_kernel, void(T3, T3, boolean)),
        "backward_columns": (backward_columns_kernel, void(T3, T3, T3, boolean)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("softmax", _cuda_sources)


# ============================================================== launchers

def _rows(op: str, a: Any) -> None:
    if a.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 2-D (rows, n) or 3-D (outer, m, inner) array, got shape {tuple(a.shape)}")


def softmax_forward(xp: Any, x: Any, *, log: bool = False, impl: str | None = None, stream: Any = None) -> Any:
    """softmax (``log=True``: log_softmax) of each row of x (rows, n), or along axis 1 of x (outer, m, inner)."""
    if x.ndim == 2 and x.size and plain_cpu_call(xp, impl, x):  # every check below would pass
        y = np.empty(x.shape, x.dtype)
        _forward_cpu(3 * x.size, x, y, bool(log))
        return y
    op = "softmax.forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    _rows(op, x)
    if impl == "reference" or x.size == 0:
        return reference_forward(xp, x, log)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    y = xp.empty_like(x)
    if impl == "cpu":
        (_forward_cpu if x.ndim == 2 else _forward_columns_cpu)(3 * x.size, x, y, bool(log))
    elif x.ndim == 2:
        launch(_cuda_kernel("forward", dtype), (LANES, x.shape[0]), (LANES, ROWS_PER_BLOCK),
               cuda_stream(xp, stream), x, y, bool(log))
    else:
        launch(_cuda_kernel("forward_columns", dtype), x.shape[0] * x.shape[2], COLUMN_BLOCK,
               cuda_stream(xp, stream), x, y, bool(log))
    return y


def softmax_backward(xp: Any, gy: Any, y: Any, *, log: bool = False, impl: str | None = None,
                     stream: Any = None) -> Any:
    """d loss / d x of each row (or along axis 1), from gy and the forward's output y, both (rows, n) or
    (outer, m, inner)."""
    if gy.ndim == 2 and gy.size and plain_cpu_call(xp, impl, gy, y):  # every check below would pass
        gx = np.empty(gy.shape, gy.dtype)
        _backward_cpu(3 * gy.size, gy, y, gx, bool(log))
        return gx
    op = "softmax.backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, y=y)
    _rows(op, gy)
    check_same_shape(op, gy=gy, y=y)
    if impl == "reference" or gy.size == 0:
        return reference_backward(xp, gy, y, log)
    check_arrays_for(op, xp, impl, gy=gy, y=y)
    gy, y = contiguous(xp, gy), contiguous(xp, y)
    gx = xp.empty_like(gy)
    if impl == "cpu":
        (_backward_cpu if gy.ndim == 2 else _backward_columns_cpu)(3 * gy.size, gy, y, gx, bool(log))
    elif gy.ndim == 2:
        launch(_cuda_kernel("backward", dtype), (LANES, gy.shape[0]), (LANES, ROWS_PER_BLOCK),
               cuda_stream(xp, stream), gy, y, gx, bool(log))
    else:
        launch(_cuda_kernel("backward_columns", dtype), gy.shape[0] * gy.shape[2], COLUMN_BLOCK,
               cuda_stream(xp, stream), gy, y, gx, bool(log))
    return gx
