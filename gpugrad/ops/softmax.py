"""Softmax and log_softmax along one dim, each with its backward as an op of its own.

The forward and the backward are the kernels of ``gpugrad.kernels.softmax`` for float32/float64 (over rows
when the dim is last, over the middle axis of (outer, m, inner) otherwise; a NumPy/CuPy expression for other
dtypes); ``SoftmaxBackward`` and ``LogSoftmaxBackward`` are differentiable, so every order of derivative
runs through them.
"""
from __future__ import annotations

import math

import numpy

from .. import dtypes
from ..amp.policy import FLOAT32, autocast_policy
from ..autograd.function import Op
from ..errors import DTypeError
from ..kernels import softmax as ksoftmax
from ..tensor import Tensor
from ._operands import c_order, normalize_dims, require_float
from .reduce import accumulation_dtype


_F32, _F64 = numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)


def _fused_rows(a) -> bool:
    """Whether the row kernels (gpugrad.kernels.softmax) take ``a``: float32/float64, not empty."""
    dtype = a.dtype
    return a.ndim > 0 and a.size > 0 and (dtype is _F32 or dtype is _F64)


def _as_rows(a, axis: int):
    """``a`` as the kernels take it: (rows, n) when ``axis`` is the last, else (outer, m, inner) with the
    softmax dim in the middle."""
    shape = a.shape
    if axis == a.ndim - 1:
        return a.reshape(-1, shape[-1])
    return a.reshape(math.prod(shape[:axis]), shape[axis], -1)


def _softmax_forward(ctx, x, axis: int, log: bool):
    if _fused_rows(x):
        return ksoftmax.softmax_forward(ctx.xp, _as_rows(x, axis), log=log, impl=ctx.backend.kernel_impl).reshape(x.shape)
    xp = ctx.xp
    x = c_order(x)  # so is y, as PyTorch's, whatever x's layout
    shifted = x - _shift(x, axis)
    total = xp.exp(shifted).sum(axis=axis, keepdims=True, dtype=accumulation_dtype(x))
    y = shifted - xp.log(total) if log else xp.exp(shifted) / total
    return y.astype(x.dtype, copy=False)


def _softmax_backward(ctx, gy, y, axis: int, log: bool):
    if _fused_rows(y) and gy.dtype == y.dtype:
        return ksoftmax.softmax_backward(ctx.xp, _as_rows(gy, axis), _as_rows(y, axis), log=log,
                                         impl=ctx.backend.kernel_impl).reshape(y.shape)
    if log:
        return gy - ctx.xp.exp(y) * gy.sum(axis=axis, keepdims=True)
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True))


class SoftmaxBackward(Op):
    """gx = y * (gy - sum(gy * y)): linear in gy with a symmetric map, so its gradient in gy is itself."""

    @staticmethod
    def forward(ctx, gy, y, axis=-1):
        ctx.axis = axis
        ctx.save_for_backward(gy, y)
        return _softmax_backward(ctx, gy, y, axis, log=False)

    @staticmethod
    def backward(ctx, ggx):
        gy, y = ctx.saved_tensors
        axis = ctx.axis
        d_y = ggx * (gy - (gy * y).sum(dim=axis, keepdim=True)) - gy * (ggx * y).sum(dim=axis, keepdim=True)
        return SoftmaxBackward.apply(ggx, y, axis=axis), d_y


class Softmax(Op):
    """y = exp(x) / sum(exp(x)) along axis. Its backward is SoftmaxBackward, once."""

    derivative = SoftmaxBackward

    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _softmax_forward(ctx, x, axis, log=False)
        ctx.derivative_kwargs = {"axis": axis}
        ctx.save_for_backward(y)
        return y


def _softmax_input(op: str, x: Tensor, dim: int, dtype):
    """The input cast to ``dtype`` first when given (as PyTorch does), and dim as an axis."""
    if dtype is not None:
        try:
            x = x.to(dtypes.to_dtype(dtype))
        except DTypeError as exc:
            raise DTypeError(f"{op}: {exc}") from None
    require_float(op, x)
    (axis,) = normalize_dims(op, dim, x.ndim)
    return x, axis


def _shift(x, axis):
    """The max along axis, which keeps exp from overflowing; an empty x needs none (and NumPy's max
    refuses empty dims)."""
    return x.max(axis=axis, keepdims=True) if x.size else 0


@autocast_policy(cuda=FLOAT32)
def softmax(input: Tensor, dim: int = -1, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably. J = diag(y) - y y^T."""
    input, axis = _softmax_input("softmax", input, dim, dtype)
    return Softmax.apply_one(input, axis=axis)


class LogSoftmaxBackward(Op):
    """gx = gy - exp(y) * sum(gy)."""

    @staticmethod
    def forward(ctx, gy, y, axis=-1):
        ctx.axis = axis
        ctx.save_for_backward(gy, y)
        return _softmax_backward(ctx, gy, y, axis, log=True)

    @staticmethod
    def backward(ctx, ggx):
        gy, y = ctx.saved_tensors
        axis = ctx.axis
        p = y.exp()
        d_gy = ggx - (ggx * p).sum(dim=axis, keepdim=True)
        d_y = -ggx * p * gy.sum(dim=axis, keepdim=True)
        return d_gy, d_y


class LogSoftmax(Op):
    """y = x - logsumexp(x) along axis. Its backward is LogSoftmaxBackward, once."""

    derivative = LogSoftmaxBackward

    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _softmax_forward(ctx, x, axis, log=True)
        ctx.derivative_kwargs = {"axis": axis}
        ctx.save_for_backward(y)
        return y


@autocast_policy(cuda=FLOAT32)
def log_softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable at logits of +-1e4. d/dx = I - softmax."""
    x, axis = _softmax_input("log_softmax", x, dim, dtype)
    return LogSoftmax.apply_one(x, axis=axis)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (softmax, log_softmax)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS}
