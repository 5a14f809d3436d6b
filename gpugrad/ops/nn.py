"""Neural-network building blocks that are ops in their own right: softmax and log_softmax."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from ._operands import normalize_dims, require_float


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        xp = ctx.xp
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return y * (gy - (gy * y).sum(dim=ctx.axis, keepdim=True))


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably. J = diag(y) - y y^T."""
    require_float("softmax", x)
    (axis,) = normalize_dims("softmax", dim, x.ndim)
    return Softmax.apply(x, axis=axis)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        xp = ctx.xp
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy - y.exp() * gy.sum(dim=ctx.axis, keepdim=True)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable at logits of +-1e4. d/dx = I - softmax."""
    require_float("log_softmax", x)
    (axis,) = normalize_dims("log_softmax", dim, x.ndim)
    return LogSoftmax.apply(x, axis=axis)
