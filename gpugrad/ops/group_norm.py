"""Group normalisation as one fused op (``gpugrad.kernels.group_norm``): F.group_norm's fast path.

An (N, C, ...) input is normalised per sample over each group of C / G channels (all their positions),
then scaled and shifted per channel. With xhat = (x - mean) * rstd per (sample, group) and g = gy * weight:

    gx = rstd * (g - mean(g) - xhat * mean(g * xhat))     (means over the group's values)
    gweight = sum over samples and positions of gy * xhat,  gbias = sum of gy

A plain backward is the kernel; under ``create_graph=True`` the same formulas run in differentiable
Tensor ops, mean and rstd recomputed from x, so that every order differentiates.
"""
from __future__ import annotations

import math

from ..autograd.reduced_float import float32_of
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import group_norm as kgroup_norm
from ..tensor import Tensor


def _as3(shape: tuple) -> tuple[int, int, int]:
    return shape[0], shape[1], math.prod(shape[2:])


class GroupNorm(Op):
    """Normalise x (N, C, ...) in ``groups`` groups of channels, then weight and bias (C,) or None."""

    name = "group_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, groups=1, eps=1e-5):
        y, mean, rstd = kgroup_norm.group_norm_forward(ctx.xp, x.reshape(_as3(x.shape)), groups, weight, bias, eps,
                                                       impl=ctx.backend.kernel_impl)
        ctx.groups, ctx.eps, ctx.stats = groups, eps, (mean, rstd)
        ctx.save_for_backward(x, weight)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if is_grad_enabled():  # create_graph: differentiable ops
            gx, gw, gb = _backward_ops(gy, x, weight, ctx.groups, ctx.eps)
        else:
            shape3 = _as3(tuple(x.shape))
            mean, rstd = ctx.stats
            gx, gw, gb = kgroup_norm.group_norm_backward(
                ctx.xp, float32_of(gy._array).reshape(shape3), float32_of(x._array).reshape(shape3), ctx.groups, mean,
                rstd, None if weight is None else float32_of(weight._array), need_param_grads=need_w or need_b,
                impl=ctx.backend.kernel_impl)
            wrap = lambda a: None if a is None else Tensor._make(a, ctx.backend)  # noqa: E731
            gx, gw, gb = Tensor._make(gx.reshape(x.shape), ctx.backend), wrap(gw), wrap(gb)
        return gx if need_x else None, gw if need_w and weight is not None else None, gb if need_b else None


def _backward_ops(gy: Tensor, x: Tensor, weight, groups: int, eps: float):
    """The kernel's backward (module docstring) in Tensor ops."""
    n, c, s = _as3(tuple(x.shape))
    rows = x.reshape(n, groups, -1)
    mean = rows.mean(dim=2, keepdim=True)
    rstd = (rows.var(dim=2, keepdim=True, correction=0) + eps).rsqrt()
    xhat_rows = (rows - mean) * rstd
    gy3 = gy.reshape(n, c, s)
    g = gy3 * weight.reshape(1, c, 1) if weight is not None else gy3
    g_rows = g.reshape(n, groups, -1)
    gx = rstd * (g_rows - g_rows.mean(dim=2, keepdim=True)
                 - xhat_rows * (g_rows * xhat_rows).mean(dim=2, keepdim=True))
    gw = (gy3 * xhat_rows.reshape(n, c, s)).sum(dim=(0, 2))
    return gx.reshape(tuple(x.shape)), gw, gy3.sum(dim=(0, 2))


def group_norm(x: Tensor, groups: int, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """Group normalisation of a float32/float64 (N, C, ...) x (checked by the caller), one fused op."""
    return GroupNorm.apply(x, weight, bias, groups=groups, eps=eps)
