"""Max pooling as an op: values and indices of each window's maximum, and its backward as an op.

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
