"""Fused optimizer steps: one pass over flat buffers, updated in place.

Formulas are torch.optim's single-tensor implementations; ``maximize`` negates the gradient first.
Scalars arrive as Python floats; anything derived from them (bias
corrections, 1 - beta, the Adagrad learning rate) is computed on the host in
float64 and cast once to the buffers' dtype. The exception is adam_capturable
(for CUDA graphs): it reads the step counts and the lr from device arrays and
computes the same float64 scalars on the device.

Every check runs before any buffer is touched, so a failing step leaves all
buffers unchanged. In-place buffers that are not C-contiguous are updated
through a contiguous copy written back afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import prange

from ._launch import (
    cuda_family,
    cpu_kernel,
    check_arrays_for,
    check_same_shape,
    contiguous,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    is_numpy,
    launch,
    launch_dims,
    like,
    numba_type,
    plain_cpu_call,
    resolve_impl,
    scalar_fn,
    simulator_enabled,
    to_host,
)

BLOCK = 256
# CPU kernels run prange over fixed chunks, so the vector-body / scalar-tail split (rounding differently
# under fastmath) and the norm's partial sums are the same on any thread count: bitwise reproducible.
# Unsigned bounds inside a chunk: a signed index keeps Numba's negative-index check, and the loop
# no longer vectorises (measured 3.4x slower Adam).
CPU_CHUNK = 4096
# The capturable CUDA kernel gives each block one chunk of one parameter (see adam_capturable_kernel).
CUDA_CHUNK = 4 * BLOCK


# ============================================================== reference

def reference_sgd(
    xp: Any, p: Any, g: Any, momentum_buf: Any, *, lr: float, momentum: float = 0.0,
    dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
    first_step: bool = False, maximize: bool = False,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        if first_step:
            momentum_buf[...] = g
        else:
            momentum_buf *= momentum
            momentum_buf += (1 - dampening) * g
        d = g + momentum * momentum_buf if nesterov else momentum_buf
    else:
        d = g
    p -= lr * d


def reference_adam(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, *,
    lr: float, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False, amsgrad: bool = False, maximize: bool = False, step: int,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    exp_avg *= beta1
    exp_avg += (1 - beta1) * g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    else:
        v = exp_avg_sq
    denom = xp.sqrt(v) / math.sqrt(bias_correction2) + eps
    p -= (lr / bias_correction1) * (exp_avg / denom)



def reference_adam_capturable(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, *,
    steps: Any, lr: Any, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False, amsgrad: bool = False, maximize: bool = False,
    bounds: tuple[int, ...] | None = None,
) -> None:
    """reference_adam with the step counts (and a Tensor lr) read on the device: per slot of `bounds`,
    the bias corrections are 0-d device arrays, computed in float64 as the host computes them."""
    ends = (p.size,) if bounds is None else bounds
    flat = [a if a is None else a.reshape(-1) for a in (p, g, exp_avg, exp_avg_sq, max_exp_avg_sq)]
    lr64 = lr if isinstance(lr, float) else lr.reshape(()).astype(np.float64)
    lo = 0
    for s, hi in enumerate(ends):
        pp, gg, m, v, vm = (a if a is None else a[lo:hi] for a in flat)
        lo = hi
        if maximize:
            gg = -gg
        step = steps[s].astype(np.float64)
        step_size, bc2_sqrt, decay = (
            x.astype(pp.dtype) if hasattr(x, "astype") else pp.dtype.type(x)
            for x in (lr64 / (1.0 - beta1 ** step), xp.sqrt(1.0 - beta2 ** step), 1.0 - lr64 * weight_decay))
        if weight_decay != 0:
            if decoupled_weight_decay:
                pp *= decay
            else:
                gg = gg + weight_decay * pp
        m *= beta1
        m += (1 - beta1) * gg
        v *= beta2
        v += (1 - beta2) * gg * gg
        if amsgrad:
            xp.maximum(vm, v, out=vm)
            v = vm
        pp -= step_size * (m / (xp.sqrt(v) / bc2_sqrt + eps))


def reference_rmsprop(
    xp: Any, p: Any, g: Any, square_avg: Any, momentum_buf: Any, grad_avg: Any, *,
    lr: float, alpha: float, eps: float, weight_decay: float = 0.0, momentum: float = 0.0,
    centered: bool = False, maximize: bool = False,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if centered:
        grad_avg *= alpha
        grad_avg += (1 - alpha) * g
        avg = xp.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = xp.sqrt(square_avg) + eps
    if momentum > 0:
        momentum_buf *= momentum
        momentum_buf += g / avg
        p -= lr * momentum_buf
    else:
        p -= lr * (g / avg)


def reference_adagrad(
    xp: Any, p: Any, g: Any, state_sum: Any, *, lr: float, lr_decay: float = 0.0,
    weight_decay: float = 0.0, eps: float = 1e-10, maximize: bool = False, step: int,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += g * g
    p -= clr * (g / (xp.sqrt(state_sum) + eps))


def reference_adamax(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_inf: Any, *, lr: float, beta1: float, beta2: float,
    eps: float, weight_decay: float = 0.0, maximize: bool = False, step: int,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    exp_avg += (1 - beta1) * (g - exp_avg)
    xp.maximum(exp_inf * beta2, xp.abs(g) + eps, out=exp_inf)
    p -= (lr / (1 - beta1 ** step)) * (exp_avg / exp_inf)


def reference_adadelta(
    xp: Any, p: Any, g: Any, square_avg: Any, acc_delta: Any, *, lr: float, rho: float, eps: float,
    weight_decay: float = 0.0, maximize: bool = False,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    square_avg *= rho
    square_avg += (1 - rho) * g * g
    delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * g
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    p -= lr * delta


def nadam_factors(*, lr: float, beta1: float, momentum_decay: float, mu_product: float,
                  step: int) -> tuple[float, float, float]:
    """NAdam's host-side scalars for step `step`: (new mu_product, gradient coefficient, momentum
    coefficient). mu_product is kept in float32, as PyTorch keeps it in a float32 tensor."""
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = float(np.float32(np.float32(mu_product) * np.float32(mu)))
    grad_coef = lr * (1.0 - mu) / (1.0 - mu_product)
    avg_coef = lr * mu_next / (1.0 - mu_product * mu_next)
    return mu_product, grad_coef, avg_coef


def reference_nadam(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, *, lr: float, beta1: float, beta2: float,
    eps: float, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False, maximize: bool = False, step: int, mu_product: float,
) -> float:
    """Returns the new mu_product (the product of the momentum schedule so far)."""
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    mu_product, grad_coef, avg_coef = nadam_factors(
        lr=lr, beta1=beta1, momentum_decay=momentum_decay, mu_product=mu_product, step=step)
    exp_avg += (1 - beta1) * (g - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    denom = xp.sqrt(exp_avg_sq / (1 - beta2 ** step)) + eps
    p -= grad_coef * (g / denom)
    p -= avg_coef * (exp_avg / denom)
    return mu_product


def radam_rectification(beta2: float, step: int) -> float | None:
    """RAdam's variance rectification term at `step`, or None while the variance is intractable
    (rho_t <= 5: the step is plain momentum SGD)."""
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2 ** step / (1 - beta2 ** step)
    if rho_t <= 5.0:
        return None
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


def reference_radam(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, *, lr: float, beta1: float, beta2: float,
    eps: float, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, maximize: bool = False,
    step: int,
) -> None:
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    exp_avg += (1 - beta1) * (g - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    corrected = exp_avg / (1 - beta1 ** step)
    rect = radam_rectification(beta2, step)
    if rect is None:
        p -= corrected * lr
    else:
        p -= corrected * lr * (math.sqrt(1 - beta2 ** step) / (xp.sqrt(exp_avg_sq) + eps)) * rect


def asgd_next(*, lr: float, lambd: float, alpha: float, t0: float, step: int) -> tuple[float, float]:
    """ASGD's (eta, mu) for the step after `step`, in float32 as PyTorch's state tensors."""
    eta = lr / (1 + lambd * lr * step) ** alpha
    mu = 1 / max(1, step - t0)
    return float(np.float32(eta)), float(np.float32(mu))


def reference_asgd(
    xp: Any, p: Any, g: Any, ax: Any, *, eta: float, mu: float, lambd: float,
    weight_decay: float = 0.0, maximize: bool = False,
) -> None:
    """One ASGD step with this step's eta and mu (see asgd_next for the following ones)."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    p *= 1 - lambd * eta
    p -= eta * g
    if mu != 1:
        ax += (p - ax) * mu
    else:
        ax[...] = p


def reference_rprop(
    xp: Any, p: Any, g: Any, prev: Any, step_size: Any, *, etaminus: float, etaplus: float,
    step_size_min: float, step_size_max: float, maximize: bool = False,
) -> None:
    if maximize:
        g = -g
    sign = xp.sign(g * prev)
    factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, xp.where(sign == 0, 1.0, sign)))
    step_size *= factor.astype(step_size.dtype)
    xp.minimum(xp.maximum(step_size, step_size_min, out=step_size), step_size_max, out=step_size)
    g = xp.where(factor == etaminus, 0, g).astype(p.dtype)  # no move after a sign change
    p -= xp.sign(g) * step_size
    prev[...] = g


def reference_sum_of_squares(xp: Any, g: Any) -> float:
    return float((g.astype(np.float64) ** 2).sum())


# ============================================================== scalar math

@scalar_fn
def sgd_scalar(p, g, buf, lr, momentum, one_minus_dampening, wd, has_wd, has_momentum,
               nesterov, first_step, maximize):
    if maximize:
        g = -g
    if has_wd:
        g = g + wd * p
    d = g
    if has_momentum:
        buf = g if first_step else momentum * buf + one_minus_dampening * g
        d = g + momentum * buf if nesterov else buf
    return p - lr * d, buf


@scalar_fn
def adam_scalar(p, g, m, v, vmax, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size,
                bc2_sqrt, eps, wd, decay, has_wd, decoupled, amsgrad, maximize):
    if maximize:
        g = -g
    if has_wd:
        if decoupled:
            p = p * decay
        else:
            g = g + wd * p
    m = beta1 * m + one_minus_beta1 * g
    v = beta2 * v + one_minus_beta2 * g * g
    if amsgrad:
        vmax = max(vmax, v)
        denom = math.sqrt(vmax) / bc2_sqrt + eps
    else:
        denom = math.sqrt(v) / bc2_sqrt + eps
    return p - step_size * (m / denom), m, v, vmax



@scalar_fn
def adam_step_scalars(step, lr, beta1, beta2, wd, t):
    # The capturable step's per-step scalars from the device step count: float64, as the host
    # computes them for the plain step, then cast to t's type (step_size, bc2_sqrt, decay).
    s = np.float64(step)  # float32 in the array; in float64 also in the simulator (NumPy scalars)
    bc1 = 1.0 - beta1 ** s
    bc2 = 1.0 - beta2 ** s
    return like(t, lr / bc1), like(t, math.sqrt(bc2)), like(t, 1.0 - lr * wd)


@scalar_fn
def rmsprop_scalar(p, g, sq, buf, gavg, lr, alpha, one_minus_alpha, eps, wd, momentum,
                   has_wd, has_momentum, centered, maximize):
    if maximize:
        g = -g
    if has_wd:
        g = g + wd * p
    sq = alpha * sq + one_minus_alpha * g * g
    if centered:
        gavg = alpha * gavg + one_minus_alpha * g
        avg = math.sqrt(sq - gavg * gavg) + eps
    else:
        avg = math.sqrt(sq) + eps
    if has_momentum:
        buf = momentum * buf + g / avg
        p = p - lr * buf
    else:
        p = p - lr * (g / avg)
    return p, sq, buf, gavg


@scalar_fn
def adagrad_scalar(p, g, state_sum, clr, eps, wd, has_wd, maximize):
    if maximize:
        g = -g
    if has_wd:
        g = g + wd * p
    state_sum = state_sum + g * g
    return p - clr * (g / (math.sqrt(state_sum) + eps)), state_sum


@scalar_fn
def adamax_scalar(p, g, m, u, one_minus_beta1, beta2, clr, eps, wd, has_wd, maximize):
    if maximize:
        g = -g
    if has_wd:
        g = g + wd * p
    m = m + one_minus_beta1 * (g - m)
    u = max(u * beta2, abs(g) + eps)
    return p - clr * (m / u), m, u


@scalar_fn
def adadelta_scalar(p, g, sq, acc, lr, rho, one_minus_rho, eps, wd, has_wd, maximize):
    if maximize:
        g = -g
    if has_wd:
        g = g + wd * p
    sq = rho * sq + one_minus_rho * g * g
    delta = math.sqrt(acc + eps) / math.sqrt(sq + eps) * g
    acc = rho * acc + one_minus_rho * delta * delta
    return p - lr * delta, sq, acc


@scalar_fn
def nadam_scalar(p, g, m, v, one_minus_beta1, beta2, one_minus_beta2, bc2, grad_coef, avg_coef, eps,
                 wd, decay, has_wd, decoupled, maximize):
    if maximize:
        g = -g
    if has_wd:
        if decoupled:
            p = p * decay
        else:
            g = g + wd * p
    m = m + one_minus_beta1 * (g - m)
    v = beta2 * v + one_minus_beta2 * g * g
    denom = math.sqrt(v / bc2) + eps
    p = p - grad_coef * (g / denom)
    return p - avg_coef * (m / denom), m, v


@scalar_fn
def radam_scalar(p, g, m, v, one_minus_beta1, beta2, one_minus_beta2, bc1, lr, bc2_sqrt, rect, eps,
                 wd, decay, has_wd, decoupled, rectified, maximize):
    if maximize:
        g = -g
    if has_wd:
        if decoupled:
            p = p * decay
        else:
            g = g + wd * p
    m = m + one_minus_beta1 * (g - m)
    v = beta2 * v + one_minus_beta2 * g * g
    if rectified:
        p = p - (m / bc1) * lr * (bc2_sqrt / (math.sqrt(v) + eps)) * rect
    else:
        p = p - (m / bc1) * lr
    return p, m, v


@scalar_fn
def asgd_scalar(p, g, ax, eta, decay, mu, wd, has_wd, average, maximize):
    if maximize:
        g = -g
    if has_wd:
        g = g + wd * p
    p = p * decay - eta * g
    if average:
        ax = ax + (p - ax) * mu
    else:
        ax = p
    return p, ax


@scalar_fn
def rprop_scalar(p, g, prev, size, etaminus, etaplus, size_min, size_max, maximize):
    if maximize:
        g = -g
    s = g * prev
    if s > 0:
        size = size * etaplus
    elif s < 0:
        size = size * etaminus
        g = like(g, 0.0)  # no move after a sign change; the next step starts afresh
    elif s != s:
        size = s  # NaN, as PyTorch's step size times sign(NaN)
    # PyTorch's clamp: the minimum first, then the maximum (which wins when they cross).
    if size < size_min:
        size = size_min
    if size > size_max:
        size = size_max
    sign = like(g, 1.0) if g > 0 else (like(g, -1.0) if g < 0 else g)  # 0 and NaN are their own sign
    return p - sign * size, g, size


# ============================================================== CPU kernels
# Optional buffers arrive as a stand-in: the read-only gradient, never
# written (an aliased in-place buffer would be clobbered under the CUDA
# simulator, which copies every argument back after the launch).

@cpu_kernel()
def _sgd_cpu(p, g, buf, lr, momentum, omd, wd, has_wd, has_momentum, nesterov, first_step, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, bi = sgd_scalar(p[i], g[i], buf[i], lr, momentum, omd, wd, has_wd, has_momentum,
                                nesterov, first_step, maximize)
            p[i] = pi
            if has_momentum:
                buf[i] = bi


@cpu_kernel()
def _adam_cpu(p, g, m, v, vmax, b1, omb1, b2, omb2, step_size, bc2_sqrt, eps, wd, decay,
              has_wd, decoupled, amsgrad, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, mi, vi, vmi = adam_scalar(p[i], g[i], m[i], v[i], vmax[i], b1, omb1, b2, omb2,
                                          step_size, bc2_sqrt, eps, wd, decay, has_wd, decoupled,
                                          amsgrad, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi
            if amsgrad:
                vmax[i] = vmi


@cpu_kernel()
def _adam_capturable_cpu(p, g, m, v, vmax, steps, ends, lr, beta1, beta2, wd64, b1, omb1, b2, omb2, eps,
                         wd, has_wd, decoupled, amsgrad, maximize):
    # Chunks restart at every slot's start, as a plain call on that slot alone splits it (the same
    # vector bodies and tails). The results still differ from the plain kernel's in the last bits now
    # and then: LLVM contracts multiply-adds differently in the two loops under fastmath (within the
    # kernel tests' tolerance). The slots' scalars are computed before the parallel loop: computed
    # inside it, the inner loop stopped vectorising (1.7x slower).
    k = steps.size
    first = np.zeros(k + 1, dtype=np.int64)  # each slot's first chunk number
    sc = np.empty((k, 3), dtype=p.dtype)
    lo = 0
    for s in range(k):
        first[s + 1] = first[s] + (ends[s] - lo + CPU_CHUNK - 1) // CPU_CHUNK
        lo = ends[s]
        sc[s, 0], sc[s, 1], sc[s, 2] = adam_step_scalars(steps[s], lr[0], beta1, beta2, wd64, b1)
    for c in prange(first[k]):
        s = np.searchsorted(first, c, side="right") - 1
        start = (ends[s - 1] if s > 0 else 0) + (c - first[s]) * CPU_CHUNK
        stop = min(ends[s], start + CPU_CHUNK)
        step_size = sc[s, 0]
        bc2_sqrt = sc[s, 1]
        decay = sc[s, 2]
        for i in range(np.uint64(start), np.uint64(stop)):
            pi, mi, vi, vmi = adam_scalar(p[i], g[i], m[i], v[i], vmax[i], b1, omb1, b2, omb2,
                                          step_size, bc2_sqrt, eps, wd, decay, has_wd, decoupled,
                                          amsgrad, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi
            if amsgrad:
                vmax[i] = vmi


@cpu_kernel()
def _rmsprop_cpu(p, g, sq, buf, gavg, lr, alpha, oma, eps, wd, momentum, has_wd,
                 has_momentum, centered, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, si, bi, gi = rmsprop_scalar(p[i], g[i], sq[i], buf[i], gavg[i], lr, alpha, oma, eps,
                                            wd, momentum, has_wd, has_momentum, centered, maximize)
            p[i] = pi
            sq[i] = si
            if has_momentum:
                buf[i] = bi
            if centered:
                gavg[i] = gi


@cpu_kernel()
def _adagrad_cpu(p, g, state_sum, clr, eps, wd, has_wd, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, si = adagrad_scalar(p[i], g[i], state_sum[i], clr, eps, wd, has_wd, maximize)
            p[i] = pi
            state_sum[i] = si


@cpu_kernel()
def _adamax_cpu(p, g, m, u, omb1, b2, clr, eps, wd, has_wd, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, mi, ui = adamax_scalar(p[i], g[i], m[i], u[i], omb1, b2, clr, eps, wd, has_wd, maximize)
            p[i] = pi
            m[i] = mi
            u[i] = ui


@cpu_kernel()
def _adadelta_cpu(p, g, sq, acc, lr, rho, omr, eps, wd, has_wd, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, si, ai = adadelta_scalar(p[i], g[i], sq[i], acc[i], lr, rho, omr, eps, wd, has_wd, maximize)
            p[i] = pi
            sq[i] = si
            acc[i] = ai


@cpu_kernel()
def _nadam_cpu(p, g, m, v, omb1, b2, omb2, bc2, gc, ac, eps, wd, decay, has_wd, decoupled, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, mi, vi = nadam_scalar(p[i], g[i], m[i], v[i], omb1, b2, omb2, bc2, gc, ac, eps, wd, decay,
                                      has_wd, decoupled, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi


@cpu_kernel()
def _radam_cpu(p, g, m, v, omb1, b2, omb2, bc1, lr, bc2_sqrt, rect, eps, wd, decay, has_wd, decoupled,
               rectified, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, mi, vi = radam_scalar(p[i], g[i], m[i], v[i], omb1, b2, omb2, bc1, lr, bc2_sqrt, rect, eps,
                                      wd, decay, has_wd, decoupled, rectified, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi


@cpu_kernel()
def _asgd_cpu(p, g, ax, eta, decay, mu, wd, has_wd, average, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, ai = asgd_scalar(p[i], g[i], ax[i], eta, decay, mu, wd, has_wd, average, maximize)
            p[i] = pi
            ax[i] = ai


@cpu_kernel()
def _rprop_cpu(p, g, prev, size, etaminus, etaplus, size_min, size_max, maximize):
    n = p.size
    for c in prange((n + CPU_CHUNK - 1) // CPU_CHUNK):
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            pi, gi, si = rprop_scalar(p[i], g[i], prev[i], size[i], etaminus, etaplus, size_min, size_max,
                                      maximize)
            p[i] = pi
            prev[i] = gi
            size[i] = si


@cpu_kernel()
def _sum_of_squares_cpu(g):
    n = g.size
    partial = np.empty((n + CPU_CHUNK - 1) // CPU_CHUNK, dtype=np.float64)
    for c in prange(partial.size):
        acc = 0.0  # float64 on purpose: the global norm of float32 grads
        for i in range(np.uint64(c * CPU_CHUNK), np.uint64(min(n, (c + 1) * CPU_CHUNK))):
            v = np.float64(g[i])
            acc += v * v
        partial[c] = acc
    total = 0.0
    for c in range(partial.size):
        total += partial[c]
    return total


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, float32, float64, int64, void

    T = numba_type(dtype)
    NPT = np.dtype(dtype).type
    A = T[::1]
    B = boolean

    def sgd_kernel(p, g, buf, lr, momentum, omd, wd, has_wd, has_momentum, nesterov,
                   first_step, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, bi = sgd_scalar(p[i], g[i], buf[i], lr, momentum, omd, wd, has_wd,
                                has_momentum, nesterov, first_step, maximize)
            p[i] = pi
            if has_momentum:
                buf[i] = bi

    def adam_kernel(p, g, m, v, vmax, b1, omb1, b2, omb2, step_size, bc2_sqrt, eps, wd, decay,
                    has_wd, decoupled, amsgrad, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, mi, vi, vmi = adam_scalar(p[i], g[i], m[i], v[i], vmax[i], b1, omb1, b2, omb2,
                                          step_size, bc2_sqrt, eps, wd, decay, has_wd,
                                          decoupled, amsgrad, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi
            if amsgrad:
                vmax[i] = vmi

    def adam_scalars_kernel(steps, lr, beta1, beta2, wd, t, out):
        # One thread per slot: its step_size, bc2_sqrt and decay, read by adam_capturable_kernel.
        s = cuda.grid(1)
        if s < steps.size:
            a, b, c = adam_step_scalars(steps[s], lr[0], beta1, beta2, wd, t)
            out[3 * s] = a
            out[3 * s + 1] = b
            out[3 * s + 2] = c

    def adam_capturable_kernel(p, g, m, v, vmax, ends, chunks, sc, b1, omb1, b2, omb2, eps, wd, has_wd,
                               decoupled, amsgrad, maximize):
        # One block per chunk of one slot (the chunk table: slot, start), so a thread reads its slot's
        # scalars once. A per-element slot lookup walked the bounds serially: 50 slots, 1M elements
        # took 32 us on an H200 against 9.7 for the plain kernel.
        c = cuda.blockIdx.x
        s = chunks[2 * c]
        start = chunks[2 * c + 1]
        stop = min(ends[s], start + CUDA_CHUNK)
        step_size, bc2_sqrt, decay = sc[3 * s], sc[3 * s + 1], sc[3 * s + 2]
        for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
            pi, mi, vi, vmi = adam_scalar(p[i], g[i], m[i], v[i], vmax[i], b1, omb1, b2, omb2,
                                          step_size, bc2_sqrt, eps, wd, decay, has_wd,
                                          decoupled, amsgrad, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi
            if amsgrad:
                vmax[i] = vmi

    def rmsprop_kernel(p, g, sq, buf, gavg, lr, alpha, oma, eps, wd, momentum, has_wd,
                       has_momentum, centered, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, si, bi, gi = rmsprop_scalar(p[i], g[i], sq[i], buf[i], gavg[i], lr, alpha, oma,
                                            eps, wd, momentum, has_wd, has_momentum, centered,
                                            maximize)
            p[i] = pi
            sq[i] = si
            if has_momentum:
                buf[i] = bi
            if centered:
                gavg[i] = gi

    def adagrad_kernel(p, g, state_sum, clr, eps, wd, has_wd, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, si = adagrad_scalar(p[i], g[i], state_sum[i], clr, eps, wd, has_wd, maximize)
            p[i] = pi
            state_sum[i] = si

    def adamax_kernel(p, g, m, u, omb1, b2, clr, eps, wd, has_wd, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, mi, ui = adamax_scalar(p[i], g[i], m[i], u[i], omb1, b2, clr, eps, wd, has_wd, maximize)
            p[i] = pi
            m[i] = mi
            u[i] = ui

    def adadelta_kernel(p, g, sq, acc, lr, rho, omr, eps, wd, has_wd, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, si, ai = adadelta_scalar(p[i], g[i], sq[i], acc[i], lr, rho, omr, eps, wd, has_wd,
                                         maximize)
            p[i] = pi
            sq[i] = si
            acc[i] = ai

    def nadam_kernel(p, g, m, v, omb1, b2, omb2, bc2, gc, ac, eps, wd, decay, has_wd, decoupled,
                     maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, mi, vi = nadam_scalar(p[i], g[i], m[i], v[i], omb1, b2, omb2, bc2, gc, ac, eps, wd,
                                      decay, has_wd, decoupled, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi

    def radam_kernel(p, g, m, v, omb1, b2, omb2, bc1, lr, bc2_sqrt, rect, eps, wd, decay, has_wd,
                     decoupled, rectified, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, mi, vi = radam_scalar(p[i], g[i], m[i], v[i], omb1, b2, omb2, bc1, lr, bc2_sqrt, rect,
                                      eps, wd, decay, has_wd, decoupled, rectified, maximize)
            p[i] = pi
            m[i] = mi
            v[i] = vi

    def asgd_kernel(p, g, ax, eta, decay, mu, wd, has_wd, average, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, ai = asgd_scalar(p[i], g[i], ax[i], eta, decay, mu, wd, has_wd, average, maximize)
            p[i] = pi
            ax[i] = ai

    def rprop_kernel(p, g, prev, size, etaminus, etaplus, size_min, size_max, maximize):
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            pi, gi, si = rprop_scalar(p[i], g[i], prev[i], size[i], etaminus, etaplus, size_min,
                                      size_max, maximize)
            p[i] = pi
            prev[i] = gi
            size[i] = si

    def sum_of_squares_kernel(g, partial):
        # Per-thread then per-block partial sums in the input dtype (no
        # float64 in float32 kernels); the host adds the partials in float64.
        sh = cuda.shared.array(BLOCK, T)
        tid = cuda.threadIdx.x
        acc = NPT(0)
        for i in range(cuda.grid(1), g.size, cuda.gridsize(1)):
            acc += g[i] * g[i]
        sh[tid] = acc
        cuda.syncthreads()
        off = cuda.blockDim.x // 2
        while off > 0:
            if tid < off:
                sh[tid] += sh[tid + off]
            cuda.syncthreads()
            off //= 2
        if tid == 0:
            partial[cuda.blockIdx.x] = sh[0]

    kernels = {
        "sgd": (sgd_kernel, void(A, A, A, T, T, T, T, B, B, B, B, B)),
        "adam": (adam_kernel, void(A, A, A, A, A, T, T, T, T, T, T, T, T, T, B, B, B, B)),
        "adam_capturable": (adam_capturable_kernel,
                            void(A, A, A, A, A, int64[::1], int64[::1], A, T, T, T, T, T, T, B, B, B, B)),
        "rmsprop": (rmsprop_kernel, void(A, A, A, A, A, T, T, T, T, T, T, B, B, B, B)),
        "adagrad": (adagrad_kernel, void(A, A, A, T, T, T, B, B)),
        "adamax": (adamax_kernel, void(A, A, A, A, T, T, T, T, T, B, B)),
        "adadelta": (adadelta_kernel, void(A, A, A, A, T, T, T, T, T, B, B)),
        "nadam": (nadam_kernel, void(A, A, A, A, T, T, T, T, T, T, T, T, T, B, B, B)),
        "radam": (radam_kernel, void(A, A, A, A, T, T, T, T, T, T, T, T, T, T, B, B, B, B)),
        "asgd": (asgd_kernel, void(A, A, A, T, T, T, T, B, B, B)),
        "rprop": (rprop_kernel, void(A, A, A, A, T, T, T, T, B)),
        "sum_of_squares": (sum_of_squares_kernel, void(A, A)),
    }
    if NPT is np.float64:
        # The capturable step's per-slot scalars, in float64 as the host computes them, for buffers of
        # either dtype (out: float32 or float64). Listed with the float64 kernels: one thread per slot,
        # so float64 costs nothing here even on GPUs slow at it, and no float32 kernel holds float64 code.
        S = float32[::1]
        kernels["adam_scalars_float32"] = (adam_scalars_kernel, void(S, float64[::1], float64, float64, float64,
                                                                     float32, float32[::1]))
        kernels["adam_scalars_float64"] = (adam_scalars_kernel, void(S, float64[::1], float64, float64, float64,
                                                                     float64, float64[::1]))
    return kernels


_cuda_kernel, cuda_kernel_specs = cuda_family("optim", _cuda_sources)


# ============================================================== launchers

def _check_buffers(op: str, xp: Any, impl: str, **arrays: Any) -> tuple[np.dtype, str]:
    """The buffers' dtype and the implementation that runs them (the reference for float16)."""
    if impl == "cpu":
        present = [a for a in arrays.values() if a is not None]
        if plain_cpu_call(xp, None, *present):  # every check below would pass (~2.5 us of a small Adam launch)
            return present[0].dtype, impl
    dtype, impl = float_dtype_and_impl(op, xp, impl, **arrays)
    check_same_shape(op, **arrays)
    if impl != "reference":
        check_arrays_for(op, xp, impl, **arrays)
    return dtype, impl


def _check_step(op: str, step: Any) -> None:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"{op}: step must be an integer >= 1 (counted after the increment), "
                         f"got {step!r}")


def _require(op: str, cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(f"{op}: {msg}")


class _InPlace:
    """Flat contiguous views of in-place buffers; copies of non-contiguous
    ones are written back by finish()."""

    def __init__(self, xp: Any, *arrays: Any) -> None:
        self.pairs = [(a, contiguous(xp, a)) for a in arrays]
        self.flat = [None if w is None else w.reshape(-1) for _, w in self.pairs]

    def finish(self) -> None:
        for orig, work in self.pairs:
            if work is not None and work is not orig:
                orig[...] = work


def _run(xp: Any, impl: str, kind: str, dtype: Any, stream: Any, size: int, args: tuple,
         kernel_cpu: Any) -> None:
    if impl == "cpu":
        kernel_cpu(size, *args)
    else:
        launch(_cuda_kernel(kind, dtype), size, BLOCK, cuda_stream(xp, stream), *args)


def sgd(
    xp: Any, p: Any, g: Any, momentum_buf: Any, *, lr: float, momentum: float = 0.0,
    dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
    first_step: bool = False, maximize: bool = False, impl: str | None = None, stream: Any = None,
) -> None:
    """In-place SGD step (torch.optim.SGD). momentum_buf may be None when
    momentum == 0; on first_step it is set to the gradient (no dampening)."""
    op = "optim.sgd"
    impl = resolve_impl(xp, impl, op)
    _require(op, momentum >= 0, f"momentum must be >= 0, got {momentum}")
    _require(op, momentum == 0 or momentum_buf is not None,
             "momentum_buf is required when momentum != 0")
    _require(op, not nesterov or (momentum > 0 and dampening == 0),
             "nesterov needs momentum > 0 and dampening == 0")
    bufs = dict(p=p, g=g, momentum_buf=momentum_buf if momentum != 0 else None)
    dtype, impl = _check_buffers(op, xp, impl, **bufs)
    if impl == "reference":
        return reference_sgd(xp, p, g, momentum_buf, lr=lr, momentum=momentum,
                             dampening=dampening, nesterov=nesterov,
                             weight_decay=weight_decay, first_step=first_step, maximize=maximize)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, bufs["momentum_buf"])
    pf, bf = work.flat
    args = (pf, g_flat, g_flat if bf is None else bf, T(lr), T(momentum), T(1.0 - dampening),
            T(weight_decay), weight_decay != 0, momentum != 0, bool(nesterov), bool(first_step),
            bool(maximize))
    _run(xp, impl, "sgd", dtype, stream, pf.size, args, _sgd_cpu)
    work.finish()


def adam(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, *,
    lr: float, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False, amsgrad: bool = False, maximize: bool = False, step: int,
    impl: str | None = None, stream: Any = None,
) -> None:
    """In-place Adam / AdamW (decoupled_weight_decay) step, torch.optim's
    formula; `step` is the step count after the increment (1 on the first
    step). max_exp_avg_sq is needed only with amsgrad. One pass: reads p, g,
    m, v and writes p, m, v (28 bytes per float32 parameter)."""
    op = "optim.adam"
    impl = resolve_impl(xp, impl, op)
    _check_step(op, step)
    _require(op, 0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0,
             f"betas must be in [0, 1), got ({beta1}, {beta2})")
    _require(op, eps >= 0, f"eps must be >= 0, got {eps}")
    _require(op, not amsgrad or max_exp_avg_sq is not None,
             "max_exp_avg_sq is required with amsgrad=True")
    vmax = max_exp_avg_sq if amsgrad else None
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                           max_exp_avg_sq=vmax)
    if impl == "reference":
        return reference_adam(xp, p, g, exp_avg, exp_avg_sq, vmax, lr=lr, beta1=beta1,
                              beta2=beta2, eps=eps, weight_decay=weight_decay,
                              decoupled_weight_decay=decoupled_weight_decay,
                              amsgrad=amsgrad, maximize=maximize, step=step)
    T = dtype.type
    bias_correction1 = 1.0 - beta1 ** step
    bias_correction2 = 1.0 - beta2 ** step
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, exp_avg, exp_avg_sq, vmax)
    pf, mf, vf, vmf = work.flat
    args = (pf, g_flat, mf, vf, g_flat if vmf is None else vmf, T(beta1), T(1.0 - beta1),
            T(beta2), T(1.0 - beta2), T(lr / bias_correction1), T(math.sqrt(bias_correction2)),
            T(eps), T(weight_decay), T(1.0 - lr * weight_decay), weight_decay != 0,
            bool(decoupled_weight_decay), bool(amsgrad), bool(maximize))
    _run(xp, impl, "adam", dtype, stream, pf.size, args, _adam_cpu)
    work.finish()



# Small device arrays the capturable step reuses on every call, so that a captured graph keeps reading
# the same memory: per stream the lr (float64) and the per-slot scalars, and the slot bounds per layout.
# Never freed or regrown (a graph may still point at them).
_CAPTURE_BUFFERS: dict[tuple, Any] = {}


def _capture_buffer(xp: Any, key: tuple, make: Any, stream: Any = None) -> Any:
    if not is_numpy(xp):  # pragma: no cover - needs a GPU
        key = (xp.cuda.runtime.getDevice(),) + key
    held = _CAPTURE_BUFFERS.get(key)
    if held is None:
        held = _CAPTURE_BUFFERS[key] = (make(), stream)  # holding the stream keeps its id unique
    return held[0]


def _chunk_table(ends: tuple[int, ...]) -> np.ndarray:
    """(slot, start) of every CUDA_CHUNK-sized piece of every slot, flattened (int64)."""
    rows, lo = [], 0
    for s, hi in enumerate(ends):
        rows.extend((s, start) for start in range(lo, hi, CUDA_CHUNK))
        lo = hi
    return np.array(rows, dtype=np.int64).reshape(-1)


def adam_capturable(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, *,
    steps: Any, lr: Any, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False, amsgrad: bool = False, maximize: bool = False,
    bounds: Sequence[int] | None = None, impl: str | None = None, stream: Any = None,
) -> None:
    """adam() for a step a CUDA graph can capture: nothing that changes between steps is a kernel
    argument. `steps` is a float32 device array of step counts (after the increment), one per slot:
    the flat buffers hold parameters [0, bounds[0]), [bounds[0], bounds[1]), ... (one slot covering
    everything when bounds is None). `lr` is a Python float (then fixed in a captured graph) or a
    one-element device array, read on the device at every call. Nothing is read back from the device.
    The results are adam()'s with the same step counts: bitwise for the reference, in the simulator and
    as measured on an H200; the CPU kernel within the kernel tests' tolerance (see _adam_capturable_cpu).
    Per call on CUDA: the lr copy (or fill) and two launches (the per-slot scalars, then the update)."""
    op = "optim.adam_capturable"
    impl = resolve_impl(xp, impl, op)
    _check_betas(op, beta1, beta2)
    _require(op, eps >= 0, f"eps must be >= 0, got {eps}")
    _require(op, not amsgrad or max_exp_avg_sq is not None,
             "max_exp_avg_sq is required with amsgrad=True")
    # Messages are built only on failure: formatting a dtype or an array costs more than the checks.
    ends = (int(p.size),) if bounds is None else tuple(int(b) for b in bounds)
    if not (ends and ends[-1] == p.size and all(a <= b for a, b in zip((0,) + ends, ends))):
        _require(op, False, f"bounds must be non-decreasing slot ends finishing at p.size={p.size}, got {ends}")
    if not (getattr(steps, "dtype", None) == np.float32 and steps.ndim == 1 and steps.size == len(ends)):
        _require(op, False, f"steps must be a 1-D float32 array with one count per slot ({len(ends)}), got "
                 f"{getattr(steps, 'dtype', type(steps).__name__)} of shape {getattr(steps, 'shape', None)}")
    lr_array = not isinstance(lr, (int, float, np.floating))
    if lr_array and not (getattr(lr, "size", 0) == 1 and getattr(lr, "dtype", np.dtype("O")).kind == "f"):
        _require(op, False, f"lr must be a float or a one-element float array, got {lr!r}")
    vmax = max_exp_avg_sq if amsgrad else None
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                                 max_exp_avg_sq=vmax)
    if impl != "reference":
        check_arrays_for(op, xp, impl, steps=steps, lr=lr if lr_array else None)
    if impl == "reference":
        return reference_adam_capturable(
            xp, p, g, exp_avg, exp_avg_sq, vmax, steps=steps, lr=lr if lr_array else float(lr), beta1=beta1,
            beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
            amsgrad=amsgrad, maximize=maximize, bounds=ends)
    T = dtype.type
    stream = None if impl == "cpu" else cuda_stream(xp, stream)
    sid = id(stream)
    lr64 = _capture_buffer(xp, ("adam.lr", sid), lambda: xp.zeros(1, dtype=np.float64), stream)
    if lr_array:
        lr64[...] = lr.reshape(1)  # a device-to-device copy (and cast)
    else:
        lr64.fill(float(lr))  # a launch with lr as its argument: fixed in a captured graph
    ends_d = _capture_buffer(xp, ("adam.bounds", ends), lambda: xp.asarray(np.array(ends, dtype=np.int64)))
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, exp_avg, exp_avg_sq, vmax)
    pf, mf, vf, vmf = work.flat
    flags = (weight_decay != 0, bool(decoupled_weight_decay), bool(amsgrad), bool(maximize))
    if impl == "cpu":
        _adam_capturable_cpu(pf.size, pf, g_flat, mf, vf, g_flat if vmf is None else vmf, steps, ends_d, lr64,
                             float(beta1), float(beta2), float(weight_decay), T(beta1), T(1.0 - beta1), T(beta2),
                             T(1.0 - beta2), T(eps), T(weight_decay), *flags)
    elif pf.size:
        k = len(ends)
        sc = _capture_buffer(xp, ("adam.scalars", sid, k, dtype), lambda: xp.zeros(3 * k, dtype=dtype), stream)
        chunks = _capture_buffer(xp, ("adam.chunks", ends), lambda: xp.asarray(_chunk_table(ends)))
        launch(_cuda_kernel(f"adam_scalars_{dtype.name}", np.float64), k, BLOCK, stream, steps, lr64, float(beta1),
               float(beta2), float(weight_decay), T(beta1), sc)
        # The simulator runs each thread as a Python thread: small blocks keep the tests fast.
        block = 32 if simulator_enabled() else BLOCK
        launch(_cuda_kernel("adam_capturable", dtype), chunks.size // 2 * block, block, stream, pf, g_flat, mf,
               vf, g_flat if vmf is None else vmf, ends_d, chunks, sc, T(beta1), T(1.0 - beta1), T(beta2),
               T(1.0 - beta2), T(eps), T(weight_decay), *flags, grid_stride=False)
    work.finish()


def rmsprop(
    xp: Any, p: Any, g: Any, square_avg: Any, momentum_buf: Any, grad_avg: Any, *,
    lr: float, alpha: float, eps: float, weight_decay: float = 0.0, momentum: float = 0.0,
    centered: bool = False, maximize: bool = False, impl: str | None = None, stream: Any = None,
) -> None:
    """In-place RMSprop step (torch.optim.RMSprop). momentum_buf (zeros at
    start, as torch) is needed when momentum > 0, grad_avg when centered."""
    op = "optim.rmsprop"
    impl = resolve_impl(xp, impl, op)
    _require(op, momentum >= 0, f"momentum must be >= 0, got {momentum}")
    _require(op, momentum == 0 or momentum_buf is not None,
             "momentum_buf is required when momentum > 0")
    _require(op, not centered or grad_avg is not None, "grad_avg is required when centered")
    buf = momentum_buf if momentum > 0 else None
    gavg = grad_avg if centered else None
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, square_avg=square_avg, momentum_buf=buf,
                           grad_avg=gavg)
    if impl == "reference":
        return reference_rmsprop(xp, p, g, square_avg, buf, gavg, lr=lr, alpha=alpha, eps=eps,
                                 weight_decay=weight_decay, momentum=momentum, centered=centered,
                                 maximize=maximize)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, square_avg, buf, gavg)
    pf, sf, bf, gf = work.flat
    args = (pf, g_flat, sf, g_flat if bf is None else bf, g_flat if gf is None else gf, T(lr),
            T(alpha), T(1.0 - alpha), T(eps), T(weight_decay), T(momentum), weight_decay != 0,
            momentum > 0, bool(centered), bool(maximize))
    _run(xp, impl, "rmsprop", dtype, stream, pf.size, args, _rmsprop_cpu)
    work.finish()


def adagrad(
    xp: Any, p: Any, g: Any, state_sum: Any, *, lr: float, lr_decay: float = 0.0,
    weight_decay: float = 0.0, eps: float = 1e-10, maximize: bool = False, step: int,
    impl: str | None = None, stream: Any = None,
) -> None:
    """In-place Adagrad step (torch.optim.Adagrad); `step` counted after the
    increment."""
    op = "optim.adagrad"
    impl = resolve_impl(xp, impl, op)
    _check_step(op, step)
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, state_sum=state_sum)
    if impl == "reference":
        return reference_adagrad(xp, p, g, state_sum, lr=lr, lr_decay=lr_decay,
                                 weight_decay=weight_decay, eps=eps, maximize=maximize, step=step)
    T = dtype.type
    clr = lr / (1.0 + (step - 1) * lr_decay)
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, state_sum)
    pf, sf = work.flat
    args = (pf, g_flat, sf, T(clr), T(eps), T(weight_decay), weight_decay != 0, bool(maximize))
    _run(xp, impl, "adagrad", dtype, stream, pf.size, args, _adagrad_cpu)
    work.finish()


def _check_betas(op: str, beta1: float, beta2: float) -> None:
    _require(op, 0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0,
             f"betas must be in [0, 1), got ({beta1}, {beta2})")


def adamax(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_inf: Any, *, lr: float, beta1: float, beta2: float,
    eps: float, weight_decay: float = 0.0, maximize: bool = False, step: int,
    impl: str | None = None, stream: Any = None,
) -> None:
    """In-place Adamax step (torch.optim.Adamax): the infinity-norm variant of Adam."""
    op = "optim.adamax"
    impl = resolve_impl(xp, impl, op)
    _check_step(op, step)
    _check_betas(op, beta1, beta2)
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, exp_avg=exp_avg, exp_inf=exp_inf)
    if impl == "reference":
        return reference_adamax(xp, p, g, exp_avg, exp_inf, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                weight_decay=weight_decay, maximize=maximize, step=step)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, exp_avg, exp_inf)
    pf, mf, uf = work.flat
    args = (pf, g_flat, mf, uf, T(1.0 - beta1), T(beta2), T(lr / (1.0 - beta1 ** step)), T(eps),
            T(weight_decay), weight_decay != 0, bool(maximize))
    _run(xp, impl, "adamax", dtype, stream, pf.size, args, _adamax_cpu)
    work.finish()


def adadelta(
    xp: Any, p: Any, g: Any, square_avg: Any, acc_delta: Any, *, lr: float, rho: float, eps: float,
    weight_decay: float = 0.0, maximize: bool = False, impl: str | None = None, stream: Any = None,
) -> None:
    """In-place Adadelta step (torch.optim.Adadelta)."""
    op = "optim.adadelta"
    impl = resolve_impl(xp, impl, op)
    _require(op, 0.0 <= rho <= 1.0, f"rho must be in [0, 1], got {rho}")
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, square_avg=square_avg, acc_delta=acc_delta)
    if impl == "reference":
        return reference_adadelta(xp, p, g, square_avg, acc_delta, lr=lr, rho=rho, eps=eps,
                                  weight_decay=weight_decay, maximize=maximize)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, square_avg, acc_delta)
    pf, sf, af = work.flat
    args = (pf, g_flat, sf, af, T(lr), T(rho), T(1.0 - rho), T(eps), T(weight_decay), weight_decay != 0,
            bool(maximize))
    _run(xp, impl, "adadelta", dtype, stream, pf.size, args, _adadelta_cpu)
    work.finish()


def nadam(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, *, lr: float, beta1: float, beta2: float,
    eps: float, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False, maximize: bool = False, step: int, mu_product: float,
    impl: str | None = None, stream: Any = None,
) -> float:
    """In-place NAdam step (torch.optim.NAdam); `mu_product` is the state's product of the momentum
    schedule before this step. Returns the new mu_product for the state."""
    op = "optim.nadam"
    impl = resolve_impl(xp, impl, op)
    _check_step(op, step)
    _check_betas(op, beta1, beta2)
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
    if impl == "reference":
        return reference_nadam(xp, p, g, exp_avg, exp_avg_sq, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                               weight_decay=weight_decay, momentum_decay=momentum_decay,
                               decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                               step=step, mu_product=mu_product)
    new_mu_product, grad_coef, avg_coef = nadam_factors(
        lr=lr, beta1=beta1, momentum_decay=momentum_decay, mu_product=mu_product, step=step)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, exp_avg, exp_avg_sq)
    pf, mf, vf = work.flat
    args = (pf, g_flat, mf, vf, T(1.0 - beta1), T(beta2), T(1.0 - beta2), T(1.0 - beta2 ** step),
            T(grad_coef), T(avg_coef), T(eps), T(weight_decay), T(1.0 - lr * weight_decay),
            weight_decay != 0, bool(decoupled_weight_decay), bool(maximize))
    _run(xp, impl, "nadam", dtype, stream, pf.size, args, _nadam_cpu)
    work.finish()
    return new_mu_product


def radam(
    xp: Any, p: Any, g: Any, exp_avg: Any, exp_avg_sq: Any, *, lr: float, beta1: float, beta2: float,
    eps: float, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, maximize: bool = False,
    step: int, impl: str | None = None, stream: Any = None,
) -> None:
    """In-place RAdam step (torch.optim.RAdam): Adam with the variance rectified, plain momentum
    while the rectification is undefined (the first few steps)."""
    op = "optim.radam"
    impl = resolve_impl(xp, impl, op)
    _check_step(op, step)
    _check_betas(op, beta1, beta2)
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
    if impl == "reference":
        return reference_radam(xp, p, g, exp_avg, exp_avg_sq, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                               weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                               maximize=maximize, step=step)
    rect = radam_rectification(beta2, step)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, exp_avg, exp_avg_sq)
    pf, mf, vf = work.flat
    args = (pf, g_flat, mf, vf, T(1.0 - beta1), T(beta2), T(1.0 - beta2), T(1.0 - beta1 ** step), T(lr),
            T(math.sqrt(1.0 - beta2 ** step)), T(0.0 if rect is None else rect), T(eps), T(weight_decay),
            T(1.0 - lr * weight_decay), weight_decay != 0, bool(decoupled_weight_decay), rect is not None,
            bool(maximize))
    _run(xp, impl, "radam", dtype, stream, pf.size, args, _radam_cpu)
    work.finish()


def asgd(
    xp: Any, p: Any, g: Any, ax: Any, *, eta: float, mu: float, lambd: float, weight_decay: float = 0.0,
    maximize: bool = False, impl: str | None = None, stream: Any = None,
) -> None:
    """In-place ASGD step (torch.optim.ASGD) with the state's current eta and mu; the caller
    advances them with asgd_next."""
    op = "optim.asgd"
    impl = resolve_impl(xp, impl, op)
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, ax=ax)
    if impl == "reference":
        return reference_asgd(xp, p, g, ax, eta=eta, mu=mu, lambd=lambd, weight_decay=weight_decay,
                              maximize=maximize)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, ax)
    pf, af = work.flat
    args = (pf, g_flat, af, T(eta), T(1.0 - lambd * eta), T(mu), T(weight_decay), weight_decay != 0,
            mu != 1, bool(maximize))
    _run(xp, impl, "asgd", dtype, stream, pf.size, args, _asgd_cpu)
    work.finish()


def rprop(
    xp: Any, p: Any, g: Any, prev: Any, step_size: Any, *, etaminus: float, etaplus: float,
    step_size_min: float, step_size_max: float, maximize: bool = False, impl: str | None = None,
    stream: Any = None,
) -> None:
    """In-place Rprop step (torch.optim.Rprop): per-element step sizes grown by etaplus while the
    gradient keeps its sign, shrunk by etaminus when it flips."""
    op = "optim.rprop"
    impl = resolve_impl(xp, impl, op)
    _require(op, 0.0 < etaminus < 1.0 < etaplus, f"etas must satisfy 0 < etaminus < 1 < etaplus, "
             f"got ({etaminus}, {etaplus})")
    dtype, impl = _check_buffers(op, xp, impl, p=p, g=g, prev=prev, step_size=step_size)
    if impl == "reference":
        return reference_rprop(xp, p, g, prev, step_size, etaminus=etaminus, etaplus=etaplus,
                               step_size_min=step_size_min, step_size_max=step_size_max, maximize=maximize)
    T = dtype.type
    g_flat = contiguous(xp, g).reshape(-1)
    work = _InPlace(xp, p, prev, step_size)
    pf, vf, sf = work.flat
    args = (pf, g_flat, vf, sf, T(etaminus), T(etaplus), T(step_size_min), T(step_size_max), bool(maximize))
    _run(xp, impl, "rprop", dtype, stream, pf.size, args, _rprop_cpu)
    work.finish()


def sum_of_squares(xp: Any, g: Any, *, impl: str | None = None, stream: Any = None) -> float:
    """sum(g**2) as a Python float (for the global gradient norm). float32
    input is accumulated in float64 on CPU; on CUDA per-block partials in the
    input dtype are added in float64 on the host."""
    op = "optim.sum_of_squares"
    impl = resolve_impl(xp, impl, op)
    dtype, impl = _check_buffers(op, xp, impl, g=g)
    if impl == "reference":
        return reference_sum_of_squares(xp, g)
    flat = contiguous(xp, g).reshape(-1)
    if impl == "cpu":
        return float(_sum_of_squares_cpu(flat.size, flat))
    if flat.size == 0:
        return 0.0
    stream = cuda_stream(xp, stream)
    grid, _ = launch_dims(flat.size, BLOCK)
    partial = xp.empty(grid[0], dtype=dtype)
    launch(_cuda_kernel("sum_of_squares", dtype), flat.size, BLOCK, stream, flat, partial)
    return float(to_host(partial, stream).sum(dtype=np.float64))
