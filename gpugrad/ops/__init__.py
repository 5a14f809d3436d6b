"""Differentiable ops, by family, and the binding of operators and methods onto Tensor.

Every public op exists as a function (``gg.exp(x)``) and as a method (``x.exp()``). ``DIFFERENTIABLE``
lists the exported differentiable functions; the test table must have a row for each.
"""
from __future__ import annotations

from .. import backend as _backend_mod
from .. import dtypes as _dtypes
from ..autograd.function import Function
from ..tensor import Tensor
from . import activation, elementwise, inplace, linalg, nn, reduce, shape
from .activation import gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh
from .elementwise import (
    abs,
    add,
    clamp,
    cos,
    div,
    eq,
    exp,
    ge,
    gt,
    isfinite,
    isnan,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    sign,
    sin,
    sqrt,
    sub,
    where,
)
from .linalg import dot, matmul
from .nn import log_softmax, softmax
from .reduce import amax, argmax, argmin, logsumexp, max, mean, min, std, sum, sum_to_size, var
from .shape import cat, expand, flatten, getitem, permute, reshape, squeeze, stack, t, transpose, unsqueeze


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, gy):
        return gy


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` with its own memory, still connected to the graph."""
    return Clone.apply(x)


def parse_to_args(op: str, args: tuple, kwargs: dict):
    """The (device, dtype) named by ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``
    or keywords; either may be None. Shared by ``Tensor.to`` and ``Module.to``."""
    kwargs = dict(kwargs)
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"{op}: unexpected arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (_dtypes.DType, type)) or (hasattr(a, "kind") and hasattr(a, "itemsize")):
            dtype = a  # a gpugrad dtype, a Python type or a NumPy dtype
        elif isinstance(a, str) and a in ("float32", "float64", "int64", "bool", "float", "double", "long"):
            dtype = a
        elif a is not None:
            device = a
    return device, (_dtypes.to_dtype(dtype) if dtype is not None else None)


def to(x: Tensor, *args, **kwargs) -> Tensor:
    """``x.to(device)``, ``x.to(dtype)``, ``x.to(device, dtype)`` or ``x.to(other_tensor)``: differentiable."""
    device, dtype = parse_to_args("to", args, kwargs)
    out = x
    if device is not None:
        target = _backend_mod.get(device)
        if target is not out._backend:
            out = elementwise.ToDevice.apply(out, target=target)
    if dtype is not None and dtype.np != out.data.dtype:
        out = elementwise.Cast.apply(out, np_dtype=dtype.np)
    return out


DIFFERENTIABLE = (
    add, sub, mul, div, pow, neg, abs, exp, log, log1p, sqrt, sin, cos, clamp, maximum, minimum, where,
    relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus,
    sum, mean, var, std, max, min, amax, logsumexp, softmax, log_softmax,
    reshape, flatten, permute, transpose, t, expand, squeeze, unsqueeze, getitem, cat, stack,
    matmul, dot, clone, to,
)


__all__ = [f.__name__ for f in DIFFERENTIABLE] + [
    "sign", "isnan", "isfinite", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
    "logical_xor", "logical_not", "argmax", "argmin", "sum_to_size",
]


def _r(fn):
    """The reflected form of a binary op: ``2 - x`` calls ``x.__rsub__(2)``."""
    return lambda self, other: fn(other, self)


def _bind() -> None:
    T = Tensor
    T.__add__, T.__radd__ = add, _r(add)
    T.__sub__, T.__rsub__ = sub, _r(sub)
    T.__mul__, T.__rmul__ = mul, _r(mul)
    T.__truediv__, T.__rtruediv__ = div, _r(div)
    T.__pow__, T.__rpow__ = pow, _r(pow)
    T.__matmul__, T.__rmatmul__ = matmul, _r(matmul)
    T.__neg__, T.__abs__ = neg, abs
    T.__eq__, T.__ne__, T.__lt__, T.__le__, T.__gt__, T.__ge__ = eq, ne, lt, le, gt, ge
    T.__and__, T.__or__, T.__xor__ = logical_and, logical_or, logical_xor
    T.__invert__ = logical_not
    T.__getitem__, T.__setitem__ = getitem, inplace.setitem
    T.__iadd__ = lambda self, other: inplace.add_(self, other)
    T.__isub__ = lambda self, other: inplace.sub_(self, other)
    T.__imul__ = lambda self, other: inplace.mul_(self, other)
    T.__itruediv__ = lambda self, other: inplace.div_(self, other)

    for fn in (
        add, sub, mul, div, pow, neg, abs, exp, log, log1p, sqrt, sin, cos, clamp, maximum, minimum, sign,
        isnan, isfinite, relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, sum, mean, var, std, max,
        min, amax, argmax, argmin, logsumexp, softmax, log_softmax, reshape, flatten, permute, transpose,
        t, expand, squeeze, unsqueeze, matmul, dot, clone, to, sum_to_size, eq, ne, lt, le, gt, ge,
    ):
        setattr(T, fn.__name__, fn)
    T.view = reshape
    T.clip = clamp
    T.expand_as = shape.expand_as
    T.view_as = lambda self, other: reshape(self, tuple(other.shape))
    T.reshape_as = T.view_as
    T._sum_to = sum_to_size
    T.contiguous = lambda self: self
    T.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self)
    T.mT = property(linalg.mT)
    T.float = lambda self: to(self, _dtypes.float32)
    T.double = lambda self: to(self, _dtypes.float64)
    T.long = lambda self: to(self, _dtypes.int64)
    T.bool = lambda self: to(self, _dtypes.bool_)
    T.type_as = lambda self, other: to(self, other.dtype)
    T.cpu = lambda self: to(self, "cpu")
    T.cuda = lambda self, device=None: to(self, "cuda" if device is None else device)
    for name in ("add_", "sub_", "mul_", "div_", "fill_", "zero_", "copy_"):
        setattr(T, name, getattr(inplace, name))


_bind()
