"""Layer normalisation over the rows of a 2-D (rows, n) array: forward, and backward, one pass each.

    mean, rstd = mean(x), 1 / sqrt(var(x) + eps)            (biased variance, per row)
    y = (x - mean) * rstd * weight + bias                    (weight and bias of shape (n,), optional)
    xhat = (x - mean) * rstd,  g = gy * weight
    gx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  gweight = sum_rows(gy * xhat),  gbias = sum_rows(gy)

RMS normalisation is the same with ``centered=False``: mean is 0 (rstd = 1 / sqrt(mean(x^2) + eps)) and the
backward has no mean(g) term. Callers flatten the normalised dims into n (they are the last ones). The forward also returns mean and
rstd per row, which the backward reads with x instead of a saved xhat. The CPU kernels handle a row
while it is in cache (the variance by a second pass over it: exact, no E[x^2] - E[x]^2 cancellation), and
the weight and bias gradients as partial sums over row chunks; the CUDA kernels give each row 32 lanes with
shared-memory reductions, and each column one thread for the weight and bias gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
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

LANES, ROWS_PER_BLOCK = 32, 4  # CUDA: 32 threads share a row, 4 rows per block
PARTIAL_CHUNKS = 16  # CPU: the backward's row chunks (the weight and bias gradients' partial sums)
BLOCK = 128  # CUDA: threads per block for the weight and bias gradients


# ============================================================== reference

def reference_forward(xp: Any, x: Any, weight: Any, bias: Any, eps: float, centered: bool = True) -> tuple[Any, Any, Any]:
    """(y, mean, rstd) for x (rows, n); weight and bias (n,) or None; mean 0 when not ``centered``."""
    mean = x.mean(axis=1) if centered else xp.zeros(x.shape[0], dtype=x.dtype)
    centred = x - mean[:, None]
    rstd = 1 / xp.sqrt((centred * centred).mean(axis=1) + eps)
    y = centred * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    dt = x.dtype
    return y.astype(dt, copy=False), mean.astype(dt, copy=False), rstd.astype(dt, copy=False)


def reference_backward(xp: Any, gy: Any, x: Any, mean: Any, rstd: Any, weight: Any,
                       centered: bool = True) -> tuple[Any, Any, Any]:
    """(gx, gweight, gbias) from the upstream gradient and the forward's mean and rstd."""
    xhat = (x - mean[:, None]) * rstd[:, None]
    g = gy * weight if weight is not None else gy
    mg = g.mean(axis=1, keepdims=True) if centered else 0
    gx = rstd[:, None] * (g - mg - xhat * (g * xhat).mean(axis=1, keepdims=True))
    dt = gy.dtype
    return gx.astype(dt, copy=False), (gy * xhat).sum(axis=0).astype(dt, copy=False), gy.sum(axis=0).astype(dt, copy=False)


# ============================================================== CPU kernels

# reassoc lets the row sums vectorise. Nothing else: nnan/ninf would change NaN and inf results, and
# arcp/afn (approximate division) and contract (an FMA on one side of g - mean(g)) lose exact zeros.
FASTMATH = {"reassoc", "nsz"}


@cpu_kernel(FASTMATH)
def _forward_cpu(x, weight, has_weight, bias, has_bias, eps, centered, y, mean, rstd):
    n, c = x.shape
    cf = like(eps, c)  # the row length in the data's type: an int would promote float32 math to float64
    for i in prange(n):
        xi = x[i]
        yi = y[i]
        s = like(eps, 0.0)
        if centered:
            for j in range(c):
                s += xi[j]
        m = s / cf
        v = like(eps, 0.0)
        for j in range(c):
            d = xi[j] - m
            v += d * d
        r = like(eps, 1.0) / math.sqrt(v / cf + eps)
        mean[i] = m
        rstd[i] = r
        if has_weight and has_bias:
            for j in range(c):
                yi[j] = (xi[j] - m) * r * weight[j] + bias[j]
        elif has_weight:
            for j in range(c):
                yi[j] = (xi[j] - m) * r * weight[j]
        elif has_bias:
            for j in range(c):
                yi[j] = (xi[j] - m) * r + bias[j]
        else:
            for j in range(c):
                yi[j] = (xi[j] - m) * r


@cpu_kernel(FASTMATH)
def _backward_cpu(gy, x, mean, rstd, weight, has_weight, centered, gx, need_params, partial_w, partial_b):
    # A fixed number of row chunks in parallel (the rows of partial_w), each writing gx for its rows and,
    # with need_params, summing their weight and bias gradients into its own row of partials (the caller
    # adds the partials): gy and x are read from memory once for all three, and since the chunking does
    # not depend on the thread count, the sums are the same on every machine.
    n, c = gy.shape
    chunks = partial_w.shape[0]
    for k in prange(chunks):
        pw = partial_w[k]
        pb = partial_b[k]
        if need_params:
            for j in range(c):
                pw[j] = like(pw[j], 0.0)
                pb[j] = like(pb[j], 0.0)
        for i in range(k * n // chunks, (k + 1) * n // chunks):
            gi = gy[i]
            xi = x[i]
            oi = gx[i]
            m = mean[i]
            r = rstd[i]
            cf = like(r, c)
            sg = like(r, 0.0)
            sgx = like(r, 0.0)
            if has_weight:
                for j in range(c):
                    g = gi[j] * weight[j]
                    sg += g
                    sgx += g * (xi[j] - m)
            else:
                for j in range(c):
                    sg += gi[j]
                    sgx += gi[j] * (xi[j] - m)
            mg = sg / cf if centered else like(r, 0.0)
            mgx = sgx * r / cf  # mean(g * xhat)
            if has_weight:
                for j in range(c):
                    oi[j] = r * (gi[j] * weight[j] - mg - (xi[j] - m) * r * mgx)
            else:
                for j in range(c):
                    oi[j] = r * (gi[j] - mg - (xi[j] - m) * r * mgx)
            if need_params:  # the row is in cache: this second loop costs no memory traffic
                for j in range(c):
                    g = gi[j]
                    pw[j] += g * (xi[j] - m) * r
                    pb[j] += g


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, void

    T = numba_type(dtype)
    L, R = LANES, ROWS_PER_BLOCK
    HALF_L = LANES // 2

    # 32 lanes per row, tree reductions in shared memory (the simulator has no warp shuffles); the row
    # loop is uniform per block, so every thread reaches every barrier.
    def forward_kernel(x, weight, has_weight, bias, has_bias, eps, centered, y, mean, rstd):
        red = cuda.shared.array((R, L), T)
        n, c = x.shape
        cf = like(eps, c)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, n, cuda.gridDim.y * R):
            i = base + ty
            active = i < n
            s = like(eps, 0.0)
            if active and centered:
                for j in range(tx, c, L):
                    s += x[i, j]
            red[ty, tx] = s
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            m = red[ty, 0] / cf
            cuda.syncthreads()
            v = like(eps, 0.0)
            if active:
                for j in range(tx, c, L):
                    d = x[i, j] - m
                    v += d * d
            red[ty, tx] = v
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            r = like(eps, 1.0) / math.sqrt(red[ty, 0] / cf + eps)
            cuda.syncthreads()
            if active:
                if tx == 0:
                    mean[i] = m
                    rstd[i] = r
                for j in range(tx, c, L):
                    out = (x[i, j] - m) * r
                    if has_weight:
                        out *= weight[j]
                    if has_bias:
                        out += bias[j]
                    y[i, j] = out

    def backward_kernel(gy, x, mean, rstd, weight, has_weight, centered, gx):
        red = cuda.shared.array((R, L), T)
        red2 = cuda.shared.array((R, L), T)
        n, c = gy.shape
        cf = like(gy[0, 0], c)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, n, cuda.gridDim.y * R):
            i = base + ty
            active = i < n
            m = mean[i] if active else like(mean[0], 0.0)
            r = rstd[i] if active else like(mean[0], 0.0)
            sg = like(r, 0.0)
            sgx = like(r, 0.0)
            if active:
                for j in range(tx, c, L):
                    g = gy[i, j] * weight[j] if has_weight else gy[i, j]
                    sg += g
                    sgx += g * (x[i, j] - m)
            red[ty, tx] = sg
            red2[ty, tx] = sgx
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                    red2[ty, tx] += red2[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            mg = red[ty, 0] / cf if centered else like(r, 0.0)
            mgx = red2[ty, 0] * r / cf
            cuda.syncthreads()
            if active:
                for j in range(tx, c, L):
                    g = gy[i, j] * weight[j] if has_weight else gy[i, j]
                    gx[i, j] = r * (g - mg - (x[i, j] - m) * r * mgx)

    def param_grads_kernel(gy, x, mean, rstd, gweight, gbias):
        # One thread per column, rows in order: neighbouring threads read neighbouring columns.
        n, c = gy.shape
        j = cuda.grid(1)
        if j < c:
            sw = like(gy[0, 0], 0.0)
            sb = like(gy[0, 0], 0.0)
            for i in range(n):
                g = gy[i, j]
                sw += g * (x[i, j] - mean[i]) * rstd[i]
                sb += g
            gweight[j] = sw
            gbias[j] = sb

    return {
        "forward": (forward_kernel, void(T[:, ::1], T[::1], boolean, T[::1], boolean, T, boolean, T[:, ::1], T[::1],
                                         T[::1])),
        "backward": (backward_kernel, void(T[:, ::1], T[:, ::1], T[::1], T[::1], T[::1], boolean, boolean, T[:, ::1])),
        "param_grads": (param_grads_kernel, void(T[:, ::1], T[:, ::1], T[::1], T[::1], T[::1], T[::1])),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("layer_norm", _cuda_sources)


# ============================================================== launchers

def _check(op: str, x: Any, weight: Any, bias: Any) -> None:
    if x.ndim != 2:
        raise ValueError(f"{op}: expected a 2-D (rows, n) array, got shape {tuple(x.shape)}")
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and tuple(a.shape) != (x.shape[1],):
            raise ValueError(f"{op}: {name} must have shape ({x.shape[1]},), got {tuple(a.shape)}")


def layer_norm_forward(xp: Any, x: Any, weight: Any, bias: Any, eps: float, *, centered: bool = True,
                       impl: str | None = None, stream: Any = None) -> tuple[Any, Any, Any]:
    """(y, mean, rstd) of x (rows, n), each row normalised; weight and bias (n,) or None. ``centered=False``:
    RMS normalisation (mean 0)."""
    op = "layer_norm.forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x, weight=weight, bias=bias)
    _check(op, x, weight, bias)
    if impl == "reference" or x.size == 0:
        return reference_forward(xp, x, weight, bias, eps, centered)
    check_arrays_for(op, xp, impl, x=x, weight=weight, bias=bias)
    x, weight, bias = contiguous(xp, x), contiguous(xp, weight), contiguous(xp, bias)
    rows = x.shape[0]
    y, mean, rstd = xp.empty_like(x), xp.empty(rows, dtype=dtype), xp.empty(rows, dtype=dtype)
    w = x.reshape(-1)[:1] if weight is None else weight  # never read without a weight
    b = x.reshape(-1)[:1] if bias is None else bias
    args = (x, w, weight is not None, b, bias is not None, dtype.type(eps), bool(centered), y, mean, rstd)
    if impl == "cpu":
        _forward_cpu(3 * x.size, *args)
    else:
        launch(_cuda_kernel("forward", dtype), (LANES, rows), (LANES, ROWS_PER_BLOCK), cuda_stream(xp, stream), *args)
    return y, mean, rstd


def layer_norm_backward(xp: Any, gy: Any, x: Any, mean: Any, rstd: Any, weight: Any, *, need_param_grads: bool = True,
                        centered: bool = True, impl: str | None = None, stream: Any = None) -> tuple[Any, Any, Any]:
    """(gx, gweight, gbias); the last two None without ``need_param_grads``."""
    op = "layer_norm.backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, x=x, mean=mean, rstd=rstd, weight=weight)
    _check(op, x, weight, None)
    if tuple(gy.shape) != tuple(x.shape) or tuple(mean.shape) != (x.shape[0],) or tuple(rstd.shape) != (x.shape[0],):
        raise ValueError(f"{op}: gy {tuple(gy.shape)}, mean {tuple(mean.shape)} and rstd {tuple(rstd.shape)} do not "
                         f"fit x {tuple(x.shape)}")
    if impl == "reference" or x.size == 0:
        gx, gw, gb = reference_backward(xp, gy, x, mean, rstd, weight, centered)
        return (gx, gw, gb) if need_param_grads else (gx, None, None)
    check_arrays_for(op, xp, impl, gy=gy, x=x, mean=mean, rstd=rstd, weight=weight)
    gy, x, mean, rstd, weight = (contiguous(xp, a) for a in (gy, x, mean, rstd, weight))
    rows, c = x.shape
    gx = xp.empty_like(x)
    w = x.reshape(-1)[:1] if weight is None else weight
    gw = gb = None
    if impl == "cpu":
        chunks = max(1, min(PARTIAL_CHUNKS, rows))
        width = c if need_param_grads else 1
        partial_w, partial_b = np.empty((chunks, width), dtype=dtype), np.empty((chunks, width), dtype=dtype)
        _backward_cpu(3 * x.size, gy, x, mean, rstd, w, weight is not None, bool(centered), gx, need_param_grads,
                      partial_w, partial_b)
        if need_param_grads:
            gw, gb = partial_w.sum(axis=0), partial_b.sum(axis=0)
    else:
        stream = cuda_stream(xp, stream)
        launch(_cuda_kernel("backward", dtype), (LANES, rows), (LANES, ROWS_PER_BLOCK), stream,
               gy, x, mean, rstd, w, weight is not None, bool(centered), gx)
        if need_param_grads:
            gw, gb = xp.empty(c, dtype=dtype), xp.empty(c, dtype=dtype)
            launch(_cuda_kernel("param_grads", dtype), c, BLOCK, stream, gy, x, mean, rstd, gw, gb,
                   grid_stride=False)
    return gx, gw, gb
