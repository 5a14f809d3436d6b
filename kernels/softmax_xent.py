"""Fused softmax + cross-entropy: per-sample loss and d loss / d logits in one
kernel (max, sum-exp and gradient passes over a row that stays in cache).

Semantics are PyTorch's F.cross_entropy(reduction="none") with class-index
targets, ignore_index, label_smoothing and per-class weight:

    loss_i = (1-eps) * w[t_i] * (lse_i - x_i[t_i]) + eps/C * sum_c w_c * (lse_i - x_ic)

(0 for ignored rows) and dlogits_i = d loss_i / d x_i, which is
softmax * ((1-eps) w[t] + eps/C * sum(w)) - (1-eps) w[t] onehot(t) - eps/C * w.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange

from ._launch import (
    cuda_family,
    cpu_kernel,
    check_arrays_for,
    check_float,
    contiguous,
    cuda_stream,
    get_cuda,
    launch,
    like,
    numba_type,
    resolve_impl,
    scalar_fn,
)

OP = "softmax_cross_entropy"
LANES, ROWS_PER_BLOCK = 32, 4  # CUDA: 32 threads share a row, 4 rows per block


# ============================================================== reference

def reference_softmax_cross_entropy(
    xp: Any,
    logits: Any,
    target: Any,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    weight: Any = None,
) -> tuple[Any, Any]:
    n, c = logits.shape
    dt = logits.dtype
    eps = label_smoothing
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    logp = shifted - lse
    valid = target != ignore_index
    t = xp.where(valid, target, 0)
    rows = xp.arange(n)
    w = xp.ones(c, dtype=dt) if weight is None else weight
    w_t = xp.where(valid, w[t], 0).astype(dt)
    nll = -logp[rows, t]
    smooth = -(logp * w).sum(axis=1)
    loss = xp.where(valid, (1 - eps) * w_t * nll + (eps / c) * smooth, 0).astype(dt)
    onehot = xp.zeros_like(logits)
    onehot[rows, t] = 1
    coef = (1 - eps) * w_t + (eps / c) * w.sum()
    dlogits = xp.exp(logp) * coef[:, None] - (1 - eps) * w_t[:, None] * onehot - (eps / c) * w
    dlogits = xp.where(valid[:, None], dlogits, 0).astype(dt)
    return loss, dlogits


# ============================================================== scalar math

@scalar_fn
def xent_grad(e, inv_s, coef, eps_c, w_j, is_target, keep_wt):
    """d loss / d x_j from e = exp(x_j - max)."""
    g = e * inv_s * coef - eps_c * w_j
    if is_target:
        g -= keep_wt
    return g


@scalar_fn
def xent_loss(lse, x_t, keep_wt, eps_c, smooth):
    """lse and x_t are relative to the row max; smooth = sum_c w_c * (lse -
    x_c), accumulated as non-negative terms (lse * sum(w) - sum(w x) would
    cancel catastrophically at large logits)."""
    return keep_wt * (lse - x_t) + eps_c * smooth


# ============================================================== CPU kernel

# fastmath without "reassoc": reassociation rewrites w*(lse - (x - m)) into
# w*lse - w*x + w*m, which cancels catastrophically at logits of 1e4.
_FASTMATH_NO_REASSOC = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}


@cpu_kernel(fastmath=_FASTMATH_NO_REASSOC)
def _softmax_xent_cpu(x, target, weight, has_weight, ignore_index, keep, eps_c, loss, dx):
    n, c = x.shape
    for i in prange(n):
        t = target[i]
        zero = like(keep, 0.0)
        one = like(keep, 1.0)
        if t == ignore_index:
            loss[i] = zero
            for j in range(c):
                dx[i, j] = zero
        else:
            m = x[i, 0]
            for j in range(1, c):
                m = max(m, x[i, j])
            s = zero
            wsum = zero
            for j in range(c):
                s += math.exp(x[i, j] - m)
                wsum += weight[j] if has_weight else one
            lse = math.log(s)  # relative to the row max: keeps x_t - lse exact at 1e4
            keep_wt = keep * (weight[t] if has_weight else one)
            coef = keep_wt + eps_c * wsum
            inv_s = one / s
            smooth = zero
            for j in range(c):
                w_j = weight[j] if has_weight else one
                xj = x[i, j]
                dx[i, j] = xent_grad(math.exp(xj - m), inv_s, coef, eps_c, w_j, j == t, keep_wt)
                smooth += w_j * (lse - (xj - m))
            loss[i] = xent_loss(lse, x[i, t] - m, keep_wt, eps_c, smooth)


# ============================================================== CUDA kernel

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, int64, void

    T = numba_type(dtype)
    L, R = LANES, ROWS_PER_BLOCK
    HALF_L = LANES // 2

    def softmax_xent_kernel(x, target, weight, has_weight, ignore_index, keep, eps_c, loss, dx):
        # 32 lanes per row; tree reductions in shared memory (the simulator
        # has no warp shuffles). The row loop is uniform per block, so every
        # thread reaches every barrier.
        red = cuda.shared.array((R, L), T)
        red2 = cuda.shared.array((R, L), T)
        n, c = x.shape
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        zero = like(keep, 0.0)
        one = like(keep, 1.0)
        for base in range(cuda.blockIdx.y * R, n, cuda.gridDim.y * R):
            i = base + ty
            active = i < n
            t = target[i] if active else ignore_index
            valid = active and t != ignore_index

            m = like(keep, -math.inf)
            if valid:
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

            s = zero
            wsum = zero
            if valid:
                for j in range(tx, c, L):
                    s += math.exp(x[i, j] - m)
                    wsum += weight[j] if has_weight else one
            red[ty, tx] = s
            red2[ty, tx] = wsum
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                    red2[ty, tx] += red2[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            s = red[ty, 0]
            wsum = red2[ty, 0]
            cuda.syncthreads()

            smooth = zero
            keep_wt = zero
            lse = zero
            if valid:
                lse = math.log(s)  # relative to the row max: keeps x_t - lse exact at 1e4
                keep_wt = keep * (weight[t] if has_weight else one)
                coef = keep_wt + eps_c * wsum
                inv_s = one / s
                for j in range(tx, c, L):
                    w_j = weight[j] if has_weight else one
                    xj = x[i, j]
                    dx[i, j] = xent_grad(math.exp(xj - m), inv_s, coef, eps_c, w_j, j == t, keep_wt)
                    smooth += w_j * (lse - (xj - m))
            elif active:
                for j in range(tx, c, L):
                    dx[i, j] = zero
            red[ty, tx] = smooth
            cuda.syncthreads()
            off = HALF_L
            while off > 0:
                if tx < off:
                    red[ty, tx] += red[ty, tx + off]
                cuda.syncthreads()
                off //= 2
            if tx == 0 and active:
                loss[i] = xent_loss(lse, x[i, t] - m, keep_wt, eps_c, red[ty, 0]) if valid else zero
            cuda.syncthreads()

    sig = void(T[:, ::1], int64[::1], T[::1], boolean, int64, T, T, T[::1], T[:, ::1])
    return {"softmax_cross_entropy": (softmax_xent_kernel, sig)}


_cuda_kernel, cuda_kernel_specs = cuda_family("softmax_xent", _cuda_sources)


# ============================================================== launcher

def _validate(xp: Any, logits: Any, target: Any, ignore_index: int,
              label_smoothing: float, weight: Any, check_targets: bool) -> np.dtype:
    dtype = check_float(OP, logits=logits, weight=weight)
    if logits.ndim != 2:
        raise ValueError(f"{OP}: logits must be 2-D (N, C), got shape {tuple(logits.shape)}")
    n, c = logits.shape
    if c == 0:
        raise ValueError(f"{OP}: logits need at least one class, got shape {tuple(logits.shape)}")
    if np.dtype(target.dtype).kind not in "iu":
        raise TypeError(f"{OP}: target must be an integer array (int64), got dtype {target.dtype}")
    if tuple(target.shape) != (n,):
        raise ValueError(f"{OP}: target must have shape ({n},) for logits of shape "
                         f"{tuple(logits.shape)}, got {tuple(target.shape)}")
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"{OP}: weight must have shape ({c},), got {tuple(weight.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{OP}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not check_targets:
        return dtype
    bad = (target != ignore_index) & ((target < 0) | (target >= c))
    if bool(bad.any()):  # a host sync on GPU, as PyTorch's device assert
        value = int(target[bad][0])
        raise IndexError(f"{OP}: target {value} is out of range for C={c} classes "
                         f"(ignore_index={ignore_index})")
    return dtype


def softmax_cross_entropy(
    xp: Any,
    logits: Any,
    target: Any,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    weight: Any = None,
    impl: str | None = None,
    stream: Any = None,
    check_targets: bool = True,
) -> tuple[Any, Any]:
    """(loss_rows (N,), dlogits (N, C)) for logits (N, C) and int64 target (N,). ``check_targets=False``
    skips the range check of the targets (a host sync on a GPU) for callers that made it already; an
    out-of-range target then reads out of bounds."""
    impl = resolve_impl(xp, impl, OP)
    dtype = _validate(xp, logits, target, ignore_index, label_smoothing, weight, check_targets)
    if impl == "reference":
        return reference_softmax_cross_entropy(
            xp, logits, target, ignore_index=ignore_index,
            label_smoothing=label_smoothing, weight=weight)
    check_arrays_for(OP, xp, impl, logits=logits, target=target, weight=weight)
    logits = contiguous(xp, logits)
    target = contiguous(xp, target.astype(np.int64, copy=False))
    weight = contiguous(xp, weight)
    n, c = logits.shape
    loss = xp.empty(n, dtype=dtype)
    dlogits = xp.empty_like(logits)
    keep = dtype.type(1.0 - label_smoothing)
    eps_c = dtype.type(label_smoothing / c)
    w = logits.reshape(-1)[:1] if weight is None else weight  # never read without a weight
    if impl == "cpu":
        _softmax_xent_cpu(logits.size, logits, target, w, weight is not None, int(ignore_index),
                          keep, eps_c, loss, dlogits)
    else:
        launch(_cuda_kernel("softmax_cross_entropy", dtype), (LANES, n), (LANES, ROWS_PER_BLOCK),
               cuda_stream(xp, stream), logits, target, w, weight is not None,
               int(ignore_index), keep, eps_c, loss, dlogits)
    return loss, dlogits
