"""Group normalisation of a 3-D (N, C, S) array in G groups of C / G channels: forward and backward.

Callers view an (N, C, ...) input as (N, C, S). Row (n, g) is the K = (C / G) * S values of sample n's
channels g * C/G ... (g + 1) * C/G - 1 (contiguous). Per row, with xhat = (x - mean) * rstd:

    mean, rstd = mean(row), 1 / sqrt(biased var(row) + eps),  y = xhat * weight[c] + bias[c]
    g = gy * weight[c]:  gx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    gweight[c] = sum over n, positions of gy * xhat,  gbias[c] = sum of gy

The CPU kernels handle a row while it is in cache (variance by a second pass: no cancellation), and in
the backward keep per-(n, c) sums of gy and gy * (x - mean), from which both the row means and the
parameter gradients follow; the latter are summed over n by the launcher, in a fixed order. Their
statistics and sums are float64 where it matters (see "CPU kernels" below), and their bits do not depend
on the thread count. The CUDA kernels give each row a block of 128 lanes with shared-memory reductions,
the backward's (n, c) sums included.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from ._launch import (
    PARALLEL_MIN_WORK,
    cache_consistent,
    check_arrays_for,
    contiguous,
    cuda_family,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    like,
    numba_type,
)
from ._vmath import fma

# CUDA: 128 threads share a row, one row per block. A group's row is long (C / G channels of H * W), and
# there are few of them (N * G: 256 for 32 samples in 8 groups): 32 lanes and 4 rows a block left most
# of an H200's SMs idle.
LANES, ROWS_PER_BLOCK = 128, 1


# ============================================================== reference

def reference_forward(xp: Any, x: Any, groups: int, weight: Any, bias: Any, eps: float) -> tuple[Any, Any, Any]:
    """(y, mean, rstd) for x (N, C, S) in ``groups`` groups; mean and rstd (N, G); weight, bias (C,) or None."""
    n, c, s = x.shape
    rows = x.reshape(n, groups, -1)
    mean = rows.mean(axis=2)
    centred = rows - mean[:, :, None]
    rstd = 1 / xp.sqrt((centred * centred).mean(axis=2) + eps)
    y = (centred * rstd[:, :, None]).reshape(n, c, s)
    if weight is not None:
        y = y * weight[None, :, None]
    if bias is not None:
        y = y + bias[None, :, None]
    dt = x.dtype
    return y.astype(dt, copy=False), mean.astype(dt, copy=False), rstd.astype(dt, copy=False)


def reference_backward(xp: Any, gy: Any, x: Any, groups: int, mean: Any, rstd: Any, weight: Any) -> tuple[Any, Any, Any]:
    """(gx, gweight, gbias) from the upstream gradient and the forward's mean and rstd."""
    n, c, s = x.shape
    per_channel = lambda a: xp.repeat(a, c // groups, axis=1)[:, :, None]  # noqa: E731  (N, G) -> (N, C, 1)
    xhat = (x - per_channel(mean)) * per_channel(rstd)
    g = gy * weight[None, :, None] if weight is not None else gy
    g_rows, xhat_rows = g.reshape(n, groups, -1), xhat.reshape(n, groups, -1)
    gx = rstd[:, :, None] * (g_rows - g_rows.mean(axis=2, keepdims=True)
                             - xhat_rows * (g_rows * xhat_rows).mean(axis=2, keepdims=True))
    dt = gy.dtype
    gw = (gy * xhat).sum(axis=(0, 2))
    return gx.reshape(n, c, s).astype(dt, copy=False), gw.astype(dt, copy=False), gy.sum(axis=(0, 2)).astype(dt, copy=False)


# ============================================================== CPU kernels

# One build each, parallel: a prange loop over the rows ((sample, group) pairs), run on one thread for
# small inputs (see _run). Two builds (parallel and serial) gave rstd different last bits once float64
# sums came in (LLVM vectorised their loops differently); one build runs the same code for every row at
# any thread count (tested). (Numba's thread pool, not gpugrad.threads.split: faster here, bench/NOTES.md.)
# cache_consistent: a load from Numba's disk cache runs the code a fresh compile runs (_numba_internals.py).
#
# Accuracy (bench/NOTES.md has the figures). Forward: each channel's positions, in blocks of at most
# BLOCK, summed in x's dtype (reassoc lets that loop vectorise), the block sums added in float64; a second
# pass sums d = x - m and d * d about the rounded mean m, and mean = m + sum(d) / K corrects it (the
# corrected two-pass algorithm: the mean's error, far from 0, would set y's); mean and rstd in float64,
# rounded once. y = x * a + b with a = rstd * weight and b = bias - mean * a each split into float32 high
# and low parts, two fmas: neither x - m nor a nor b rounded on their own. Backward: the per-(n, c) sums
# of gy and gy * (x - mean) in float64 (the loop is memory-bound), so the row means and, summed over n by
# the launcher, the parameter gradients are float64 sums rounded once.
FASTMATH = {"reassoc", "nsz", "contract"}  # nothing that changes NaN, inf or division results
BLOCK = 4096  # positions per partial sum in x's dtype


@cache_consistent
@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _forward_cpu(x, groups, weight, bias, eps, y, mean, rstd):
    _, c, s = x.shape
    per = c // groups
    kf = np.float64(per * s)  # np.float64: Numba's float() of a float32 stays float32
    e = np.float64(eps)
    for r in prange(x.shape[0] * groups):
        i = r // groups
        g = r - i * groups
        c0 = g * per
        acc = 0.0
        for ch in range(c0, c0 + per):
            for j0 in range(0, s, BLOCK):
                xb = x[i, ch, j0:min(j0 + BLOCK, s)]  # a slice indexed from 0: that loop vectorises
                part = like(eps, 0.0)
                for j in range(xb.shape[0]):
                    part += xb[j]
                acc += part
        m = like(eps, acc / kf)
        s1 = 0.0
        s2 = 0.0
        for ch in range(c0, c0 + per):
            for j0 in range(0, s, BLOCK):
                xb = x[i, ch, j0:min(j0 + BLOCK, s)]
                p1 = like(eps, 0.0)
                p2 = like(eps, 0.0)
                for j in range(xb.shape[0]):
                    d = xb[j] - m
                    p1 += d
                    p2 += d * d
                s1 += p1
                s2 += p2
        dm = s1 / kf
        m64 = m + dm
        v = max(s2 / kf - dm * dm, 0.0)  # (NaN stays NaN)
        rs64 = 1.0 / math.sqrt(v + e)
        mean[i, g] = like(eps, m64)
        rstd[i, g] = like(eps, rs64)
        for ch in range(c0, c0 + per):
            xr = x[i, ch]
            yr = y[i, ch]
            a64 = rs64 * weight[ch]
            b64 = bias[ch] - m64 * a64
            a = like(eps, a64)
            a_lo = like(eps, a64 - a)
            b = like(eps, b64)
            b_lo = like(eps, b64 - b)
            for j in range(s):
                xv = xr[j]
                yr[j] = fma(xv, a, b) + fma(xv, a_lo, b_lo)


@cache_consistent
@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _backward_cpu(gy, x, groups, mean, rstd, weight, gx, sum_gy, sum_gyx):
    # sum_gy[i, c] = sum(gy), sum_gyx[i, c] = sum(gy * (x - mean)) over channel c's positions (float64):
    # the row's means come from them here, and the parameter gradients in the launcher.
    _, c, s = x.shape
    per = c // groups
    kf = np.float64(per * s)
    for r in prange(x.shape[0] * groups):
        i = r // groups
        g = r - i * groups
        c0 = g * per
        m = mean[i, g]
        m64 = np.float64(m)
        rs64 = np.float64(rstd[i, g])
        tg = 0.0
        tgx = 0.0
        for ch in range(c0, c0 + per):
            gr = gy[i, ch]
            xr = x[i, ch]
            sb = 0.0
            sx = 0.0
            for j in range(s):
                gv = np.float64(gr[j])
                sb += gv
                sx += gv * (np.float64(xr[j]) - m64)
            sum_gy[i, ch] = sb
            sum_gyx[i, ch] = sx
            tg += weight[ch] * sb
            tgx += weight[ch] * sx
        mg = tg / kf  # mean(g), g = gy * weight
        mgx = tgx * rs64 / kf  # mean(g * xhat)
        # gx = rstd * (g - mean(g) - (x - mean) * rstd * mean(g * xhat)), its factors rounded once
        b = like(m, rs64 * mg)
        q = like(m, rs64 * rs64 * mgx)
        for ch in range(c0, c0 + per):
            gr = gy[i, ch]
            xr = x[i, ch]
            out = gx[i, ch]
            a = like(m, rs64 * weight[ch])
            for j in range(s):
                out[j] = gr[j] * a - (xr[j] - m) * q - b


# An (N, C) input (S = 1): the same kernels on 2-D arrays, each group's channels a contiguous slice with
# nothing per channel to walk (the loops above spent most of their time on one-element channel views).
# These rows are short (C / G values) and each value has its own weight: everything in float64.

@cache_consistent
@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _forward_rows_cpu(x, groups, weight, bias, eps, y, mean, rstd):
    c = x.shape[1]
    per = c // groups
    kf = np.float64(per)
    e = np.float64(eps)
    for r in prange(x.shape[0] * groups):
        i = r // groups
        g = r - i * groups
        c0 = g * per
        xs = x[i, c0:c0 + per]
        ys = y[i, c0:c0 + per]
        ws = weight[c0:c0 + per]
        bs = bias[c0:c0 + per]
        acc = 0.0
        for q in range(per):
            acc += np.float64(xs[q])
        m64 = acc / kf
        v = 0.0
        for q in range(per):
            d = np.float64(xs[q]) - m64
            v += d * d
        v /= kf
        rs64 = 1.0 / math.sqrt(v + e)
        mean[i, g] = like(eps, m64)
        rstd[i, g] = like(eps, rs64)
        for q in range(per):
            ys[q] = like(eps, (np.float64(xs[q]) - m64) * (rs64 * ws[q]) + bs[q])


@cache_consistent
@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _backward_rows_cpu(gy, x, groups, mean, rstd, weight, gx, sum_gy, sum_gyx):
    c = x.shape[1]
    per = c // groups
    kf = np.float64(per)
    for r in prange(x.shape[0] * groups):
        i = r // groups
        g = r - i * groups
        c0 = g * per
        gs = gy[i, c0:c0 + per]
        xs = x[i, c0:c0 + per]
        os = gx[i, c0:c0 + per]
        ws = weight[c0:c0 + per]
        sb = sum_gy[i, c0:c0 + per]
        sx = sum_gyx[i, c0:c0 + per]
        m = mean[i, g]
        m64 = np.float64(m)
        rs64 = np.float64(rstd[i, g])
        tg = 0.0
        tgx = 0.0
        for q in range(per):
            gv = np.float64(gs[q])
            dx = gv * (np.float64(xs[q]) - m64)
            sb[q] = gv
            sx[q] = dx
            tg += ws[q] * gv
            tgx += ws[q] * dx
        mg = tg / kf
        mgx = tgx * rs64 / kf
        for q in range(per):
            os[q] = like(m, rs64 * (ws[q] * np.float64(gs[q]) - mg - (np.float64(xs[q]) - m64) * rs64 * mgx))


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import int64, void

    T = numba_type(dtype)
    L, R = LANES, ROWS_PER_BLOCK
    HALF_L = LANES // 2

    # LANES lanes per row (a group's K values: along each channel's positions, or for short S along the flat
    # index t -> channel c0 + t // S), tree reductions in
    # shared memory (the simulator has no warp shuffles); the row loop is uniform per block, so every
    # thread reaches every barrier.
    def forward_kernel(x, groups, weight, bias, eps, y, mean, rstd):
        red = cuda.shared.array((R, L), T)
        n, c, s = x.shape
        per = c // groups
        k = per * s
        kf = like(eps, k)
        rows = n * groups
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, rows, cuda.gridDim.y * R):
            r = base + ty
            active = r < rows
            i = r // groups
            g = r - i * groups
            c0 = g * per
            acc = like(eps, 0.0)
            if active:
                if s >= L:  # lanes along each channel's positions: no division per element
                    for ch in range(c0, c0 + per):
                        for j in range(tx, s, L):
                            acc += x[i, ch, j]
                else:
                    for t in range(tx, k, L):
                        acc += x[i, c0 + t // s, t % s]
            red[ty, tx] = acc
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            m = red[ty, 0] / kf
            cuda.syncthreads()
            v = like(eps, 0.0)
            if active:
                if s >= L:
                    for ch in range(c0, c0 + per):
                        for j in range(tx, s, L):
                            d = x[i, ch, j] - m
                            v += d * d
                else:
                    for t in range(tx, k, L):
                        d = x[i, c0 + t // s, t % s] - m
                        v += d * d
            red[ty, tx] = v
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            rs = like(eps, 1.0) / math.sqrt(red[ty, 0] / kf + eps)
            cuda.syncthreads()
            if active:
                if tx == 0:
                    mean[i, g] = m
                    rstd[i, g] = rs
                if s >= L:
                    for ch in range(c0, c0 + per):
                        a = rs * weight[ch]
                        b = bias[ch]
                        for j in range(tx, s, L):
                            y[i, ch, j] = (x[i, ch, j] - m) * a + b
                else:
                    for t in range(tx, k, L):
                        ch = c0 + t // s
                        j = t % s
                        y[i, ch, j] = (x[i, ch, j] - m) * (rs * weight[ch]) + bias[ch]

    # Rows (n, c) of S values: the per-channel sums of the backward.
    def channel_sums_kernel(gy, x, groups, mean, sum_gy, sum_gyx):
        red = cuda.shared.array((R, L), T)
        red2 = cuda.shared.array((R, L), T)
        n, c, s = x.shape
        per = c // groups
        rows = n * c
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, rows, cuda.gridDim.y * R):
            r = base + ty
            active = r < rows
            i = r // c
            ch = r - i * c
            m = mean[i, ch // per] if active else like(mean[0, 0], 0.0)
            sb = like(m, 0.0)
            sx = like(m, 0.0)
            if active:
                for j in range(tx, s, L):
                    gv = gy[i, ch, j]
                    sb += gv
                    sx += gv * (x[i, ch, j] - m)
            red[ty, tx] = sb
            red2[ty, tx] = sx
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                    red2[ty, tx] += red2[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            if active and tx == 0:
                sum_gy[i, ch] = red[ty, 0]
                sum_gyx[i, ch] = red2[ty, 0]
            cuda.syncthreads()

    # Rows (n, g): each lane adds the group's C / G channel sums itself (no reduction needed), then writes.
    def backward_kernel(gy, x, groups, mean, rstd, weight, sum_gy, sum_gyx, gx):
        n, c, s = x.shape
        per = c // groups
        k = per * s
        rows = n * groups
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        for base in range(cuda.blockIdx.y * R, rows, cuda.gridDim.y * R):
            r = base + ty
            if r < rows:
                i = r // groups
                g = r - i * groups
                c0 = g * per
                m = mean[i, g]
                rs = rstd[i, g]
                kf = like(m, k)
                tg = like(m, 0.0)
                tgx = like(m, 0.0)
                for ch in range(c0, c0 + per):
                    tg += weight[ch] * sum_gy[i, ch]
                    tgx += weight[ch] * sum_gyx[i, ch]
                mg = tg / kf
                mgx = tgx * rs / kf
                if s >= L:
                    for ch in range(c0, c0 + per):
                        w = weight[ch]
                        for j in range(tx, s, L):
                            gx[i, ch, j] = rs * (gy[i, ch, j] * w - mg - (x[i, ch, j] - m) * rs * mgx)
                else:
                    for t in range(tx, k, L):
                        ch = c0 + t // s
                        j = t % s
                        gx[i, ch, j] = rs * (gy[i, ch, j] * weight[ch] - mg - (x[i, ch, j] - m) * rs * mgx)

    A3, A2, A1 = T[:, :, ::1], T[:, ::1], T[::1]
    return {
        "forward": (forward_kernel, void(A3, int64, A1, A1, T, A3, A2, A2)),
        "channel_sums": (channel_sums_kernel, void(A3, A3, int64, A2, A2, A2)),
        "backward": (backward_kernel, void(A3, A3, int64, A2, A2, A1, A2, A2, A3)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("group_norm", _cuda_sources)


# ============================================================== launchers

def _run(kernel: Any, work: int, *args: Any) -> None:
    """kernel(*args) on Numba's threads when ``work`` (elements touched) is large, else on this thread alone:
    the same build (so the same bits) without waking the others (a parallel launch on one thread: ~1.5 us)."""
    if work >= PARALLEL_MIN_WORK:
        kernel(*args)
        return
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        kernel(*args)
    finally:
        numba.set_num_threads(threads)


def _check(op: str, x: Any, groups: int, **per_channel: Any) -> None:
    if x.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D (N, C, S) array, got shape {tuple(x.shape)}")
    if groups <= 0 or x.shape[1] % groups:
        raise ValueError(f"{op}: {x.shape[1]} channels do not split into {groups} groups")
    for name, a in per_channel.items():
        if a is not None and tuple(a.shape) != (x.shape[1],):
            raise ValueError(f"{op}: {name} must have shape ({x.shape[1]},), got {tuple(a.shape)}")


def group_norm_forward(xp: Any, x: Any, groups: int, weight: Any, bias: Any, eps: float, *, impl: str | None = None,
                       stream: Any = None) -> tuple[Any, Any, Any]:
    """(y, mean, rstd) of x (N, C, S) normalised per (sample, group); mean and rstd (N, G)."""
    op = "group_norm.forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x, weight=weight, bias=bias)
    _check(op, x, groups, weight=weight, bias=bias)
    n, c, s = x.shape
    if impl == "reference" or x.size == 0:
        return reference_forward(xp, x, groups, weight, bias, eps)
    check_arrays_for(op, xp, impl, x=x, weight=weight, bias=bias)
    x = contiguous(xp, x)
    w = xp.ones(c, dtype=dtype) if weight is None else contiguous(xp, weight)
    b = xp.zeros(c, dtype=dtype) if bias is None else contiguous(xp, bias)
    y, mean, rstd = xp.empty_like(x), xp.empty((n, groups), dtype=dtype), xp.empty((n, groups), dtype=dtype)
    args = (x, groups, w, b, dtype.type(eps), y, mean, rstd)
    if impl == "cpu":
        if s == 1:
            _run(_forward_rows_cpu, 3 * x.size, x[:, :, 0], groups, w, b, dtype.type(eps), y[:, :, 0], mean, rstd)
        else:
            _run(_forward_cpu, 3 * x.size, *args)
    else:
        launch(_cuda_kernel("forward", dtype), (LANES, n * groups), (LANES, ROWS_PER_BLOCK), cuda_stream(xp, stream),
               *args)
    return y, mean, rstd


def group_norm_backward(xp: Any, gy: Any, x: Any, groups: int, mean: Any, rstd: Any, weight: Any, *,
                        need_param_grads: bool = True, impl: str | None = None,
                        stream: Any = None) -> tuple[Any, Any, Any]:
    """(gx, gweight, gbias); the last two None without ``need_param_grads``."""
    op = "group_norm.backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, x=x, mean=mean, rstd=rstd, weight=weight)
    _check(op, x, groups, weight=weight)
    n, c, s = x.shape
    if tuple(gy.shape) != tuple(x.shape) or tuple(mean.shape) != (n, groups) or tuple(rstd.shape) != (n, groups):
        raise ValueError(f"{op}: gy {tuple(gy.shape)}, mean {tuple(mean.shape)} and rstd {tuple(rstd.shape)} do not "
                         f"fit x {tuple(x.shape)} in {groups} groups")
    if impl == "reference" or x.size == 0:
        gx, gw, gb = reference_backward(xp, gy, x, groups, mean, rstd, weight)
        return (gx, gw, gb) if need_param_grads else (gx, None, None)
    check_arrays_for(op, xp, impl, gy=gy, x=x, mean=mean, rstd=rstd, weight=weight)
    gy, x, mean, rstd = (contiguous(xp, a) for a in (gy, x, mean, rstd))
    w = xp.ones(c, dtype=dtype) if weight is None else contiguous(xp, weight)
    gx = xp.empty_like(x)
    if impl == "cpu":
        sum_gy, sum_gyx = np.empty((n, c)), np.empty((n, c))  # float64: see the CPU kernels
        if s == 1:
            _run(_backward_rows_cpu, 3 * x.size, gy[:, :, 0], x[:, :, 0], groups, mean, rstd, w, gx[:, :, 0], sum_gy,
                 sum_gyx)
        else:
            _run(_backward_cpu, 3 * x.size, gy, x, groups, mean, rstd, w, gx, sum_gy, sum_gyx)
    else:
        sum_gy, sum_gyx = xp.empty((n, c), dtype=dtype), xp.empty((n, c), dtype=dtype)
        stream = cuda_stream(xp, stream)
        launch(_cuda_kernel("channel_sums", dtype), (LANES, n * c), (LANES, ROWS_PER_BLOCK), stream,
               gy, x, groups, mean, sum_gy, sum_gyx)
        launch(_cuda_kernel("backward", dtype), (LANES, n * groups), (LANES, ROWS_PER_BLOCK), stream,
               gy, x, groups, mean, rstd, w, sum_gy, sum_gyx, gx)
    if not need_param_grads:
        return gx, None, None
    # Over n in one fixed order (NumPy's and CuPy's reductions do not depend on thread count); on the CPU
    # in float64, rounded once.
    gw = (sum_gyx * xp.repeat(rstd, c // groups, axis=1)).sum(axis=0)
    return gx, gw.astype(dtype, copy=False), sum_gy.sum(axis=0).astype(dtype, copy=False)
