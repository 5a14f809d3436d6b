"""Pooling as ops: max pooling (values and indices of each window's maximum) and average pooling, each with
its backward as an op.

The array work is ``gpugrad.kernels.pool``; the window geometry is ``kernels.conv.ConvGeometry``.
"""
from __future__ import annotations

from ..autograd.function import Op
from ..kernels import pool as kpool
from ..kernels.conv import ConvGeometry
from ..tensor import Tensor


class MaxPool2d(Op):
    """(values, indices) of each window's maximum over a (N, C, H, W) input; the gradient goes to the
    maximum (the first one, as PyTorch's). Indices are positions h * W + w within each (H, W) plane.
    Its backward is MaxPool2dBackward, whose own backward picks the same positions again (PoolPick)."""

    name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, geometry: ConvGeometry = None):
        y, index = kpool.max_pool2d(ctx.xp, x, *geometry, impl=ctx.backend.kernel_impl)
        ctx.shape, ctx.geometry = tuple(x.shape), geometry
        ctx.save_for_backward(index)  # saved, not kept on ctx: an in-place edit of the returned indices must raise
        return y, index

    @staticmethod
    def backward(ctx, gy, gindex):
        (index,) = ctx.saved_tensors
        return MaxPool2dBackward.apply(gy, index=index._array, shape=ctx.shape, geometry=ctx.geometry)


class MaxPool2dBackward(Op):
    """gx = zeros(shape) with gy added at each window's maximum: linear in gy, adjoint of PoolPick."""

    @staticmethod
    def forward(ctx, gy, index=None, shape=(), geometry: ConvGeometry = None):
        ctx.index, ctx.geometry = index, geometry
        return kpool.max_pool2d_backward(ctx.xp, gy, index, shape, *geometry, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        return PoolPick.apply(ggx, index=ctx.index, geometry=ctx.geometry)


class PoolPick(Op):
    """x (N, C, H, W) read at the pooling maxima ``index`` (N, C, oh, ow); 0 where a window had none."""

    @staticmethod
    def forward(ctx, x, index=None, geometry: ConvGeometry = None):
        xp = ctx.xp
        n, c, h, w = x.shape
        ctx.index, ctx.shape, ctx.geometry = index, tuple(x.shape), geometry
        picked = xp.take_along_axis(x.reshape(n * c, h * w), xp.maximum(index, 0).reshape(n * c, -1), axis=1)
        return xp.where(index >= 0, picked.reshape(index.shape), x.dtype.type(0))

    @staticmethod
    def backward(ctx, gy):
        return MaxPool2dBackward.apply(gy, index=ctx.index, shape=ctx.shape, geometry=ctx.geometry)


def max_pool2d(x: Tensor, geometry: ConvGeometry) -> tuple[Tensor, Tensor]:
    """(values, int64 indices) of max pooling a (N, C, H, W) float tensor; geometry already validated
    (``gpugrad.nn.functional.max_pool2d`` is the public entry)."""
    return MaxPool2d.apply(x, geometry=geometry)


class AvgPool2d(Op):
    """Each window's mean over a (N, C, H, W) input: its taps' sum over ``divisor`` (oh, ow), the count
    F.avg_pool2d chose. Linear in x: its backward is AvgPool2dBackward, whose own backward is this op."""

    name = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, divisor=None, geometry: ConvGeometry = None):
        ctx.divisor, ctx.shape, ctx.geometry = divisor, tuple(x.shape), geometry
        return kpool.avg_pool2d(ctx.xp, x, divisor, *geometry, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, gy):
        return AvgPool2dBackward.apply(gy, divisor=ctx.divisor, shape=ctx.shape, geometry=ctx.geometry)


class AvgPool2dBackward(Op):
    """gx = gy / divisor spread over each window's taps: the adjoint of AvgPool2d."""

    @staticmethod
    def forward(ctx, gy, divisor=None, shape=(), geometry: ConvGeometry = None):
        ctx.divisor, ctx.geometry = divisor, geometry
        return kpool.avg_pool2d_backward(ctx.xp, gy, divisor, shape, *geometry, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        return AvgPool2d.apply(ggx, divisor=ctx.divisor, geometry=ctx.geometry)


def avg_pool2d(x: Tensor, geometry: ConvGeometry, divisor) -> Tensor:
    """The average pooling of a (N, C, H, W) float tensor over ``divisor``, an (oh, ow) array of x's dtype
    and device; geometry already validated (``gpugrad.nn.functional.avg_pool2d`` is the public entry)."""
    return AvgPool2d.apply(x, divisor=divisor, geometry=geometry)
