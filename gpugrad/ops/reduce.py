"""Reductions over dims: sum, mean, var, std, max, min, logsumexp (``dim`` int, tuple or None; ``keepdim``)."""
from __future__ import annotations

from collections import namedtuple

from ..autograd.function import Function
from ..tensor import Tensor
from ._operands import keepdim_shape, normalize_dims, require_float

MaxMin = namedtuple("MaxMin", ["values", "indices"])
MaxMin.__doc__ = "What ``max(dim=...)`` and ``min(dim=...)`` return, as torch.return_types."


def _count(shape: tuple, axes) -> int:
    """How many elements each output of a reduction over ``axes`` summarises."""
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


def _expand_back(gy: Tensor, shape: tuple, axes, keepdim: bool) -> Tensor:
    """Undo a reduction's shape: gy with the reduced axes restored as size 1, then broadcast."""
    if not keepdim:
        gy = gy.reshape(keepdim_shape(shape, axes))
    return gy.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy, ctx.shape, ctx.axes, ctx.keepdim)


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dims when None). d/dx_i = 1. Bool and int tensors sum as int64."""
    axes = normalize_dims("sum", dim, x.ndim)
    if x.data.dtype.kind == "b":
        x = x.to("int64")
    out = Sum.apply(x, axes=axes, keepdim=keepdim)
    return out.to(dtype) if dtype is not None else out


class SumTo(Function):
    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.expand(ctx.shape)


def sum_to_size(x: Tensor, *shape) -> Tensor:
    """Sum ``x`` down to ``shape``, undoing broadcasting: the engine's one place for it."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return SumTo.apply(x, shape=shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.count = _count(x.shape, axes)
        return x.mean(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy * (1.0 / ctx.count), ctx.shape, ctx.axes, ctx.keepdim)


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim``. d/dx_i = 1/n."""
    require_float("mean", x)
    return Mean.apply(x, axes=normalize_dims("mean", dim, x.ndim), keepdim=keepdim)


class Var(Function):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False, correction=1):
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.denom = _count(x.shape, axes) - correction
        ctx.save_for_backward(x)
        return x.var(axis=axes, keepdims=keepdim, ddof=correction)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        centered = x - x.mean(dim=ctx.axes, keepdim=True)
        return _expand_back(gy, tuple(x.shape), ctx.axes, ctx.keepdim) * centered * (2.0 / ctx.denom)


def var(x: Tensor, dim=None, keepdim: bool = False, *, correction: int = 1, unbiased: bool | None = None) -> Tensor:
    """Variance, unbiased by default (correction=1). d/dx_i = 2 (x_i - mean) / (n - correction)."""
    require_float("var", x)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return Var.apply(x, axes=normalize_dims("var", dim, x.ndim), keepdim=keepdim, correction=correction)


def std(x: Tensor, dim=None, keepdim: bool = False, *, correction: int = 1, unbiased: bool | None = None) -> Tensor:
    """Standard deviation, sqrt(var). Unbiased by default."""
    return var(x, dim, keepdim, correction=correction, unbiased=unbiased).sqrt()


class MaxAll(Function):
    @staticmethod
    def forward(ctx, x, largest=True):
        y = x.max() if largest else x.min()
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        # Ties share the gradient evenly, as PyTorch's full max/min do.
        mask = (x == y).to(gy.dtype)
        return mask * (gy / mask.sum())


class MaxDim(Function):
    @staticmethod
    def forward(ctx, x, axis=0, keepdim=False, largest=True):
        xp = ctx.xp
        idx = xp.argmax(x, axis=axis) if largest else xp.argmin(x, axis=axis)
        idx_k = xp.expand_dims(idx, axis)
        values = xp.take_along_axis(x, idx_k, axis=axis)
        ctx.axis, ctx.keepdim, ctx.shape = axis, keepdim, x.shape
        # Only the selected element of each slice gets the gradient (PyTorch's dim-wise max/min).
        positions = xp.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
        ctx.save_for_backward(positions == idx_k)
        if not keepdim:
            values = values.squeeze(axis)
        return values, idx.astype(xp.int64) if keepdim is False else idx_k.astype(xp.int64)

    @staticmethod
    def backward(ctx, gy, gidx):
        (onehot,) = ctx.saved_tensors
        if not ctx.keepdim:
            gy = gy.unsqueeze(ctx.axis)
        return where(onehot, gy, 0.0)


def _max_min(x: Tensor, dim, keepdim: bool, largest: bool, name: str):
    if x.data.size == 0:
        raise RuntimeError(f"{name}: reduction over an empty tensor of shape {tuple(x.shape)}")
    if dim is None:
        return MaxAll.apply(x, largest=largest)
    (axis,) = normalize_dims(name, dim, x.ndim)
    values, indices = MaxDim.apply(x, axis=axis, keepdim=keepdim, largest=largest)
    return MaxMin(values, indices)


def max(x: Tensor, dim=None, keepdim: bool = False):
    """The largest value, or with ``dim`` the named tuple (values, indices)."""
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(x, dim)
    return _max_min(x, dim, keepdim, True, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):
    """The smallest value, or with ``dim`` the named tuple (values, indices)."""
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(x, dim)
    return _max_min(x, dim, keepdim, False, "min")


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return max(x, dim, keepdim).values if dim is not None else max(x)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (flattened when dim is None). Not differentiable."""
    xp = x._backend.xp
    if dim is None:
        return Tensor._make(xp.asarray(xp.argmax(x.data), dtype=xp.int64), x._backend)
    (axis,) = normalize_dims("argmax", dim, x.ndim)
    out = xp.argmax(x.data, axis=axis).astype(xp.int64)
    return Tensor._make(xp.expand_dims(out, axis) if keepdim else out, x._backend)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return argmax(-x.detach(), dim, keepdim)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        xp = ctx.xp
        m = x.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or inf) slices must not give inf - inf
        y = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        ctx.axes, ctx.keepdim = axes, keepdim
        out = y if keepdim else y.reshape([s for i, s in enumerate(y.shape) if i not in (axes or range(y.ndim))])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        shape = tuple(x.shape)
        if not ctx.keepdim:
            y = y.reshape(keepdim_shape(shape, ctx.axes))
        return _expand_back(gy, shape, ctx.axes, ctx.keepdim) * (x - y).exp()


def logsumexp(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, stable for large inputs. d/dx = softmax(x)."""
    require_float("logsumexp", x)
    return LogSumExp.apply(x, axes=normalize_dims("logsumexp", dim, x.ndim), keepdim=keepdim)


from .elementwise import where  # noqa: E402  (elementwise needs nothing from here; placed last for reading order)

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (sum, mean, var, std, max, min, amax, logsumexp, argmax, argmin, sum_to_size)
DIFFERENTIABLE = (sum, mean, var, std, max, min, amax, logsumexp)
METHODS = {f.__name__: f for f in FUNCTIONS}
METHODS["_sum_to"] = sum_to_size
