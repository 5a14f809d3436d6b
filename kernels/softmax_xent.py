"""Fused softmax + cross-entropy: per-sample loss and d loss / d logits in one
kernel (max, sum-exp and gradient passes over a row that stays in cache).

Semantics are PyTorch's F.cross_entropy(reduction="none") with class-index
targets, ignore_index, label_smoothing and per-class weight:

    loss_i = (1-eps) * w[t_i] * (lse_i - x_i[t_i]) + eps/C * sum_c w_c * (lse_i - x_ic)

(0 for ignored rows) and dlogits_i = d loss_i / d x_i, which is
softmax * ((1-eps) w[t] + eps/C * sum(w)) - (1-eps) w[t] onehot(t) - eps/C * w.

The kernels also range-check the targets (an out-of-range one is flagged in a small device buffer that
the launcher reads once: one host sync, no separate check on the device), skip the gradient when it is
not wanted, and reduce: "sum" and PyTorch's weighted "mean" (over sum of w[t_i] of the rows not ignored)
finish inside the CUDA kernel (last-block reduction), so a reduced loss costs one launch.
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
    launch_dims,
    like,
    numba_type,
    scalar_fn,
    ticket_counters,
    to_host,
    zeroed_buffer,
)
from ._vmath import exp as vector_exp
from ._vmath import row_max

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
    """(loss per row, d loss_i / d logits_i) with reduction "none"."""
    loss, dlogits, _ = _reference_rows(xp, logits, target, ignore_index, label_smoothing, weight)
    return loss, dlogits


def reference_reduce(xp: Any, loss: Any, w_rows: Any, reduction: str) -> tuple[Any, Any]:
    """(reduced loss, denominator) as 0-d arrays: "sum" divides by 1, "mean" by the summed w[t_i] of the
    rows not ignored (PyTorch's weighted mean; 0/0 = nan when every row is ignored, and then the
    denominator is 1 so that the gradient is zeros, as PyTorch's)."""
    dt = loss.dtype
    total = xp.asarray(loss.sum())  # NumPy's sum is a scalar, not a 0-d array
    if reduction == "sum":
        return total, xp.ones((), dtype=dt)
    wsum = w_rows.sum()
    if xp is np:  # host values: decided in Python (each xp.where on a 0-d array costs microseconds)
        if wsum == 0:
            return np.asarray(np.nan, dtype=dt), np.ones((), dtype=dt)
        denominator = np.asarray(wsum, dtype=dt)
        return np.asarray(total / denominator, dtype=dt), denominator
    none_kept = wsum == 0  # on a device: no host read, so that a graph capture can hold it
    denominator = xp.where(none_kept, 1, wsum).astype(dt)
    return xp.where(none_kept, np.nan, total / denominator).astype(dt), denominator


def _reference_rows(xp, logits, target, ignore_index, label_smoothing, weight):
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
    return loss, dlogits, w_t


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

# Fast math without "nsz", which with reassoc lets LLVM expand w*(lse - (x - m)) into terms that cancel
# at large logits; reassoc itself is what lets the row sums vectorise.
FASTMATH = {"nnan", "ninf", "arcp", "contract", "afn", "reassoc"}


@cpu_kernel(fastmath=FASTMATH)
def _softmax_xent_cpu(x, target, weight, has_weight, ignore_index, keep, eps_c, loss, dx, write_dx, w_rows, err,
                      code, out):
    # Three passes over a row while it is in cache: max; exp(x - max) summed and parked in dx; the
    # gradient from the parked exps (one exp per element, the vectorisable _vmath.exp). Row views and
    # loops without branches inside, so that LLVM vectorises each. The smoothing sum only when eps > 0.
    # Then, for "sum" and "mean" (code 1, 2), the reduced loss and its denominator into out, as
    # reference_reduce gives them, the rows summed in float64 on the calling thread.
    n, c = x.shape
    zero = like(keep, 0.0)
    one = like(keep, 1.0)
    wsum = zero
    for j in range(c):
        wsum += weight[j] if has_weight else one
    for i in prange(n):
        t = target[i]
        xi = x[i]
        di = dx[i]  # the logits themselves when not write_dx: never written then
        if t == ignore_index or t < 0 or t >= c:
            if t != ignore_index:
                err[0] = 1  # any one bad target is reported; concurrent writers all write a bad one
                err[1] = t
            loss[i] = zero
            w_rows[i] = zero
            if write_dx:
                for j in range(c):
                    di[j] = zero
        else:
            m = row_max(xi)
            s = zero
            if write_dx:
                for j in range(c):
                    e = vector_exp(xi[j] - m)
                    di[j] = e
                    s += e
            else:
                for j in range(c):
                    s += vector_exp(xi[j] - m)
            lse = math.log(s)  # relative to the row max: keeps x_t - lse exact at 1e4
            w_t = weight[t] if has_weight else one
            w_rows[i] = w_t
            keep_wt = keep * w_t
            if write_dx:
                coef = keep_wt + eps_c * wsum
                inv_s = one / s
                if has_weight:
                    for j in range(c):
                        di[j] = xent_grad(di[j], inv_s, coef, eps_c, weight[j], False, keep_wt)
                else:
                    for j in range(c):
                        di[j] = xent_grad(di[j], inv_s, coef, eps_c, one, False, keep_wt)
                di[t] -= keep_wt
            smooth = zero
            if eps_c != zero:
                for j in range(c):
                    w_j = weight[j] if has_weight else one
                    smooth += w_j * (lse - (xi[j] - m))
            loss[i] = xent_loss(lse, xi[t] - m, keep_wt, eps_c, smooth)
    if code != 0:
        total = 0.0
        weights = 0.0
        for i in range(n):
            total += loss[i]
            weights += w_rows[i]
        if code == 1:
            out[0], out[1] = total, one
        else:  # every row ignored: 0 / 0, which the launcher turns into PyTorch's nan (no NaN under nnan here)
            out[0], out[1] = (total / weights if weights != 0.0 else 0.0), weights


# ============================================================== CUDA kernel

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, int64, uint32, void

    T = numba_type(dtype)
    L, R = LANES, ROWS_PER_BLOCK
    HALF_L = LANES // 2

    def softmax_xent_kernel(x, target, weight, has_weight, ignore_index, keep, eps_c, loss, dx, write_dx,
                            err, partial, out, tickets, reduction):
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
        row_loss = zero  # this block's rows, summed by lane 0 of each row slot (for "sum" / "mean")
        row_w = zero
        for base in range(cuda.blockIdx.y * R, n, cuda.gridDim.y * R):
            i = base + ty
            active = i < n
            t = target[i] if active else ignore_index
            valid = active and t != ignore_index and t >= 0 and t < c
            if active and not valid and t != ignore_index and tx == 0:
                err[0] = 1  # any one bad target is reported; concurrent writers all write a bad one
                err[1] = t

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
            w_t = zero
            keep_wt = zero
            lse = zero
            if valid:
                lse = math.log(s)  # relative to the row max: keeps x_t - lse exact at 1e4
                w_t = weight[t] if has_weight else one
                keep_wt = keep * w_t
                coef = keep_wt + eps_c * wsum
                inv_s = one / s
                for j in range(tx, c, L):
                    w_j = weight[j] if has_weight else one
                    xj = x[i, j]
                    if write_dx:
                        dx[i, j] = xent_grad(math.exp(xj - m), inv_s, coef, eps_c, w_j, j == t, keep_wt)
                    smooth += w_j * (lse - (xj - m))
            elif active and write_dx:
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
                li = xent_loss(lse, x[i, t] - m, keep_wt, eps_c, red[ty, 0]) if valid else zero
                loss[i] = li
                row_loss += li
                row_w += w_t
            cuda.syncthreads()

        if reduction != 0:
            # Last-block reduction (as in linear.bias_act_backward): one partial (loss, weight) pair per
            # block, threadfence, an atomic ticket; the block that takes the last ticket adds the
            # partials in block order (the same sums every run) and writes the result.
            if tx == 0:
                red[ty, 0] = row_loss
                red2[ty, 0] = row_w
            cuda.syncthreads()
            if tx == 0 and ty == 0:
                bl = red[0, 0]
                bw = red2[0, 0]
                for r in range(1, R):
                    bl += red[r, 0]
                    bw += red2[r, 0]
                partial[cuda.blockIdx.y, 0] = bl
                partial[cuda.blockIdx.y, 1] = bw
                cuda.threadfence()
                # Counts 0, 1, ..., gridDim.y - 1 and wraps to 0 on the last: ready for the next launch.
                ticket = cuda.atomic.inc(tickets, 0, uint32(cuda.gridDim.y - 1))
                if ticket == cuda.gridDim.y - 1:
                    cuda.threadfence()
                    total = cuda.atomic.add(partial, (0, 0), zero)
                    wtot = cuda.atomic.add(partial, (0, 1), zero)
                    for r in range(1, cuda.gridDim.y):
                        total += cuda.atomic.add(partial, (r, 0), zero)
                        wtot += cuda.atomic.add(partial, (r, 1), zero)
                    if reduction == 1:
                        out[0] = total
                        out[1] = one
                    else:
                        out[0] = total / wtot  # 0/0 = nan when every row is ignored, as PyTorch's
                        out[1] = wtot if wtot != zero else one

    sig = void(T[:, ::1], int64[::1], T[::1], boolean, int64, T, T, T[::1], T[:, ::1], boolean,
               int64[::1], T[:, ::1], T[::1], uint32[::1], int64)
    return {"softmax_cross_entropy": (softmax_xent_kernel, sig)}


_cuda_kernel, cuda_kernel_specs = cuda_family("softmax_xent", _cuda_sources)


# ============================================================== launcher

REDUCTIONS = {"none": 0, "sum": 1, "mean": 2}


def _out_of_range(op: str, value: int, c: int, ignore_index: int) -> IndexError:
    kind = "negative class index" if value < 0 else "class index"
    return IndexError(f"{op}: target contains {kind} {value}, out of range for {c} classes "
                      f"(valid 0..{c - 1}, or ignore_index={ignore_index})")


def check_target_range(target: Any, c: int, ignore_index: int, op: str = OP) -> None:
    """IndexError naming the first target outside 0..c-1 that is not ``ignore_index``: the host-side
    check (a device pass and a sync on a GPU) for paths without the kernel's own flag."""
    if not target.size:
        return
    bad = (target != ignore_index) & ((target < 0) | (target >= c))
    if bool(bad.any()):
        raise _out_of_range(op, int(target[bad][0]), c, ignore_index)


def _validate(xp: Any, impl: str | None, logits: Any, target: Any, label_smoothing: float, weight: Any,
              reduction: str) -> tuple[np.dtype, str]:
    dtype, impl = float_dtype_and_impl(OP, xp, impl, logits=logits, weight=weight)
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
    if reduction not in REDUCTIONS:
        raise ValueError(f"{OP}: reduction must be one of {tuple(REDUCTIONS)}, got {reduction!r}")
    return dtype, impl


def softmax_cross_entropy(
    xp: Any,
    logits: Any,
    target: Any,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    weight: Any = None,
    reduction: str = "none",
    need_grad: bool = True,
    impl: str | None = None,
    stream: Any = None,
    op: str = OP,
    defer_check: Any = None,
) -> tuple[Any, Any, Any]:
    """(loss, dlogits, denominator) for logits (N, C) and integer targets (N,).

    ``reduction="none"``: loss per row (N,), dlogits = d loss_i / d logits_i, denominator None.
    ``"sum"`` / ``"mean"``: loss and denominator are 0-d arrays, dlogits is still per row, so that the
    gradient of the reduced loss is dlogits / denominator (1 for "sum"; for "mean" the summed w[t_i]
    of the rows not ignored, or 1 if there are none, when the loss is nan and the gradient zeros, as
    PyTorch's). dlogits is None when ``need_grad`` is false (the kernel then writes no gradient).
    An out-of-range target raises IndexError (named after ``op``) once the kernel has run: the kernel
    flags it, and reading the flag is the one host sync on a GPU. With ``defer_check`` (a CUDA graph
    capture: no host read may happen) the CUDA path hands it the flag's check, a callable, instead.
    """
    dtype, impl = _validate(xp, impl, logits, target, label_smoothing, weight, reduction)
    n, c = logits.shape
    if impl == "reference":
        check_target_range(target, c, ignore_index, op)
        loss, dlogits, w_rows = _reference_rows(xp, logits, target, ignore_index, label_smoothing, weight)
        return _finish(xp, loss, dlogits if need_grad else None, w_rows, reduction)
    check_arrays_for(OP, xp, impl, logits=logits, target=target, weight=weight)
    logits = contiguous(xp, logits)
    target = contiguous(xp, target.astype(np.int64, copy=False))
    weight = contiguous(xp, weight)
    loss = xp.empty(n, dtype=dtype)
    dlogits = xp.empty_like(logits) if need_grad else logits  # never written without need_grad
    keep = dtype.type(1.0 - label_smoothing)
    eps_c = dtype.type(label_smoothing / c)
    w = logits.reshape(-1)[:1] if weight is None else weight  # never read without a weight
    if impl == "cpu":
        w_rows = np.empty(n, dtype=dtype)
        err = np.zeros(2, dtype=np.int64)
        code = REDUCTIONS[reduction]
        out = np.empty(2, dtype=dtype)
        _softmax_xent_cpu(logits.size, logits, target, w, weight is not None, int(ignore_index),
                          keep, eps_c, loss, dlogits, need_grad, w_rows, err, code, out)
        _raise_flagged(err, err, op, c, ignore_index)
        dlogits = dlogits if need_grad else None
        if code == 0:
            return loss, dlogits, None
        if out[1] == 0:  # "mean" with every row ignored: nan, and a denominator of 1 so that the gradient is 0
            out[0], out[1] = np.nan, 1
        return out[0:1].reshape(()), dlogits, out[1:2].reshape(())
    given_stream = stream
    stream = cuda_stream(xp, stream)
    err = zeroed_buffer(xp, stream, f"{OP}.error", 2, np.int64)  # [flag, a bad target]
    code = REDUCTIONS[reduction]
    grid, _ = launch_dims((LANES, n), (LANES, ROWS_PER_BLOCK))
    partial = xp.empty((grid[1], 2) if code else (1, 2), dtype=dtype)
    out = xp.empty(2, dtype=dtype)
    launch(_cuda_kernel("softmax_cross_entropy", dtype), (LANES, n), (LANES, ROWS_PER_BLOCK), stream,
           logits, target, w, weight is not None, int(ignore_index), keep, eps_c, loss, dlogits, need_grad,
           err, partial, out, ticket_counters(xp, stream, OP, 1), code)
    if defer_check is not None:
        defer_check(lambda: _raise_flagged(err, to_host(err, stream), op, c, ignore_index))
    else:  # CuPy's get() waits for CuPy's current stream, where the kernel ran unless a stream was given.
        _raise_flagged(err, err.get() if given_stream is None and hasattr(err, "get") else to_host(err, given_stream),
                       op, c, ignore_index)
    dlogits = dlogits if need_grad else None
    if code == 0:
        return loss, dlogits, None
    if n == 0:  # no block ran
        out[0] = 0 if code == 1 else np.nan
        out[1] = 1
    return out[0:1].reshape(()), dlogits, out[1:2].reshape(())


def _finish(xp: Any, loss: Any, dlogits: Any, w_rows: Any, reduction: str) -> tuple[Any, Any, Any]:
    if reduction == "none":
        return loss, dlogits, None
    total, denominator = reference_reduce(xp, loss, w_rows, reduction)
    return total, dlogits, denominator


def _raise_flagged(err: Any, flag: np.ndarray, op: str, c: int, ignore_index: int) -> None:
    if flag[0]:
        value = int(flag[1])
        err[...] = 0  # ready for the next call
        raise _out_of_range(op, value, c, ignore_index)
