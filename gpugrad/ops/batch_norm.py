"""Batch normalisation as one fused op (``gpugrad.kernels.batch_norm``): F.batch_norm's body.

Per channel c of an (N, C, ...) input, over its M = N * prod(...) values, with xhat = (x - mean) * invstd:

    y = xhat * weight + bias
    gbias = sum(gy),  gweight = sum(gy * xhat)
    training (batch statistics):  gx = weight * invstd * (gy - gbias / M - xhat * gweight / M)
    eval (running statistics, constants):  gx = weight * invstd * gy

A plain backward is one kernel pair (the two channel sums, then gx); under ``create_graph=True`` the same
formulas run in differentiable Tensor ops, the batch statistics recomputed from x so that they stay
connected to it: every order differentiates.
"""
from __future__ import annotations

import math

import numpy

from ..autograd.reduced_float import float32_of, is_reduced
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..errors import ShapeError
from ..kernels import batch_norm as kbatch_norm
from ..tensor import Tensor
from ._operands import fused_norm_takes


def _as3(shape: tuple) -> tuple[int, int, int]:
    """(N, C, S) of an (N, C, ...) shape."""
    return shape[0], shape[1], math.prod(shape[2:])


class BatchNorm(Op):
    """Normalise each channel (dim 1) by batch statistics (``training``) or by the given running ones,
    then weight and bias (C,) or None. Running statistics are not touched here (see batch_norm): a
    ``stats_out`` list receives the batch (mean, biased var) arrays for their update."""

    name = "batch_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, training=True, eps=1e-5, running_mean=None, running_var=None, stats_out=None):
        x3 = x.reshape(_as3(x.shape))
        if not training:  # copies: the module may update its buffers before this backward runs
            running_mean, running_var = running_mean.copy(), running_var.copy()
        y, mean, invstd, var = kbatch_norm.batch_norm_forward(
            ctx.xp, x3, weight, bias, eps, running_mean, running_var, training=training, impl=ctx.backend.kernel_impl)
        ctx.training, ctx.eps, ctx.stats = training, eps, (mean, invstd)
        if stats_out is not None:
            stats_out[:] = (mean, var)
        ctx.save_for_backward(x, weight)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        mean, invstd = ctx.stats
        if is_grad_enabled():  # create_graph: differentiable ops
            gx, gw, gb = _backward_ops(gy, x, weight, ctx.training, ctx.eps, mean, invstd, ctx.backend)
        else:
            shape3 = _as3(tuple(x.shape))
            gx, gw, gb = kbatch_norm.batch_norm_backward(
                ctx.xp, float32_of(gy._array).reshape(shape3), float32_of(x._array).reshape(shape3), mean, invstd,
                None if weight is None else float32_of(weight._array), training=ctx.training,
                need_param_grads=need_w or need_b, impl=ctx.backend.kernel_impl)
            wrap = lambda a: None if a is None else Tensor._make(a, ctx.backend)  # noqa: E731
            gx, gw, gb = Tensor._make(gx.reshape(x.shape), ctx.backend), wrap(gw), wrap(gb)
        return (gx if need_x else None, gw if need_w and weight is not None else None, gb if need_b else None)


def _backward_ops(gy: Tensor, x: Tensor, weight, training: bool, eps: float, mean, invstd, backend):
    """The kernel's backward (module docstring) in Tensor ops."""
    n, c, s = _as3(tuple(x.shape))
    x3, gy3 = x.reshape(n, c, s), gy.reshape(n, c, s)
    if training:
        mu = x3.mean(dim=(0, 2), keepdim=True)
        r = (x3.var(dim=(0, 2), keepdim=True, correction=0) + eps).rsqrt()
    else:  # the running statistics: constants
        mu = Tensor._make(mean.reshape(1, c, 1), backend)
        r = Tensor._make(invstd.reshape(1, c, 1), backend)
    xhat = (x3 - mu) * r
    gb = gy3.sum(dim=(0, 2))
    gw = (gy3 * xhat).sum(dim=(0, 2))
    scale = r if weight is None else r * weight.reshape(1, c, 1)
    if training:
        m = n * s
        gx = scale * (gy3 - gb.reshape(1, c, 1) / m - xhat * gw.reshape(1, c, 1) / m)
    else:
        gx = scale * gy3
    return gx.reshape(tuple(x.shape)), gw, gb


def _composite(input: Tensor, mean, var, weight, bias, eps: float) -> Tensor:
    """(input - mean) / sqrt(var + eps) * weight + bias in plain ops (dtypes the kernels do not take)."""
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    out = (input - mean.reshape(shape)) / (var.reshape(shape) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _update_running(running: Tensor | None, batch, momentum: float) -> None:
    """running = (1 - momentum) running + momentum batch, in place (batch an array or a Tensor)."""
    if running is None:
        return
    arr = batch._array if isinstance(batch, Tensor) else batch
    run = running._array
    with no_grad():
        if is_reduced(run):  # in float32, rounded once, as the reduced floats' ops compute
            run[...] = run.astype(numpy.float32) * numpy.float32(1.0 - momentum) + arr.astype(numpy.float32) * momentum
        else:
            run *= run.dtype.type(1.0 - momentum)
            run += (arr * momentum).astype(run.dtype, copy=False)
        running._version_ref[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """F.batch_norm: normalise each channel (dim 1) of an (N, C, ...) input.

    Training uses the batch statistics (biased variance) and, when given, moves ``running_mean`` and
    ``running_var`` in place by ``momentum`` towards the batch mean and the unbiased batch variance, as
    PyTorch does (``momentum=None``'s cumulative average is the module's: it passes the factor). Otherwise
    the running statistics normalise. float32 and float64 run the fused kernels, and so do bfloat16 and
    CPU float16 (in float32); CUDA float16 plain ops.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of at least 2 dims (N, C, ...), got shape {tuple(input.shape)}")
    c = input.shape[1]
    extras = (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))
    for name, t in extras:
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} must have shape ({c},) for input of shape {tuple(input.shape)}, "
                             f"got {tuple(t.shape)}")
    n, _, s = _as3(tuple(input.shape))
    if training and n * s <= 1:
        raise ValueError(f"batch_norm: Expected more than 1 value per channel when training, got input size "
                         f"{input.shape!r}")  # PyTorch's words, which callers match
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    if momentum is None:
        raise TypeError("batch_norm: momentum must be a float, not None (momentum=None, a cumulative average, is "
                        "nn.BatchNorm's: it passes each step's factor)")
    if input.numel() > 0 and fused_norm_takes(input, *(t for _, t in extras)):
        rm = None if running_mean is None else float32_of(running_mean._array)
        rv = None if running_var is None else float32_of(running_var._array)
        if training:
            batch: list = []  # the forward leaves (mean, biased var) here, recorded or not
            out = BatchNorm.apply(input, weight, bias, training=True, eps=eps, stats_out=batch)
            mean_a, var = batch
            _update_running(running_mean, mean_a, momentum)
            if running_var is not None:
                _update_running(running_var, var * var.dtype.type(n * s / (n * s - 1)), momentum)
            return out
        return BatchNorm.apply(input, weight, bias, training=False, eps=eps, running_mean=rm, running_var=rv)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        mean = input.mean(dim=dims, keepdim=True)
        var = input.var(dim=dims, keepdim=True, correction=0)
        if running_mean is not None:
            _update_running(running_mean, mean.detach().reshape(c), momentum)
        if running_var is not None:
            _update_running(running_var, var.detach().reshape(c)._array * (n * s / (n * s - 1)), momentum)
        return _composite(input, mean.reshape(c), var.reshape(c), weight, bias, eps)
    return _composite(input, running_mean, running_var, weight, bias, eps)
