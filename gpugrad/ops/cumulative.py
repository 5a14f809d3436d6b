"""Cumulative ops along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

Each keeps the input's shape; element j summarises elements 0..j of its slice along ``dim``. A 0-d tensor
takes dim 0 and -1 and is its own result, as in PyTorch.
"""
from __future__ import annotations

import numpy

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..dtypes import FLOAT_KINDS
from ..kernels import scan as kernel_scan
from ..tensor import Tensor
from ._operands import c_order, require_float, write_out
from .complex_numbers import refuse_complex
from .reduce import GatherAlong, ValuesIndices, accumulation_dtype, one_axis, reduction_input, write_pair


def _const(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._backend)


def running(xp, op, a, axis: int):
    """op (maximum, minimum, logaddexp) accumulated along axis. NumPy has ufunc.accumulate; CuPy has it
    only for add and multiply, so there a log-step scan: log2(n) passes over the whole array."""
    if xp is numpy:
        return op.accumulate(c_order(a), axis=axis)  # contiguous out, as PyTorch's
    out = xp.moveaxis(a, axis, -1).copy()
    n, step = out.shape[-1], 1
    while step < n:
        out[..., step:] = op(out[..., step:], out[..., :-step])  # the right side is built before the write
        step *= 2
    return xp.moveaxis(out, -1, axis)


_F32, _F64 = numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)


def _scan_array(ctx, op: str, x, axis: int, reverse: bool = False):
    """The running sum or product of x along axis, contiguous whatever x's layout, as PyTorch's. float32
    and float64 on the CPU: the scan kernels, whose float64 accumulator gives PyTorch's bits (NumPy's
    float32 running sum does not); others in NumPy's or CuPy's scan, in accumulation_dtype."""
    xp = ctx.xp
    if xp is numpy and (x.dtype is _F32 or x.dtype is _F64):
        return kernel_scan.scan(xp, op, x, axis, reverse, impl=ctx.backend.kernel_impl)
    fn = xp.cumsum if op == "sum" else xp.cumprod
    if reverse:
        x = xp.flip(x, axis)
    y = fn(x, axis=axis, dtype=accumulation_dtype(x)).astype(x.dtype, copy=False)
    return c_order(xp.flip(y, axis) if reverse else y)


class ReverseCumSum(Op):
    """sum_{j >= i} g_j along axis: cumsum's derivative, whose own derivative is cumsum."""

    complex_ok = True

    @staticmethod
    def forward(ctx, g, axis=0):
        ctx.axis = axis
        return _scan_array(ctx, "sum", g, axis, reverse=True)

    @staticmethod
    def backward(ctx, gg):
        return CumSum.apply(gg, axis=ctx.axis)


class CumSum(Op):
    complex_ok = True
    derivative = ReverseCumSum

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.derivative_kwargs = {"axis": axis}
        return _scan_array(ctx, "sum", x, axis)


def _scan(op: str, fn, x: Tensor, dim, **params) -> Tensor:
    """Run a cumulative Function along dim; a 0-d tensor runs as the 1-element vector it holds."""
    axis = one_axis(op, dim, x)
    if x.ndim == 0:
        return fn.apply(x.reshape(1), axis=0, **params).reshape(())
    return fn.apply(x, axis=axis, **params)


def cumsum(input: Tensor, dim: int, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """y_j = sum_{i <= j} x_i along ``dim``. dL/dx_i = sum_{j >= i} dL/dy_j. Integers and bool sum as int64."""
    return write_out("cumsum", _scan("cumsum", CumSum, reduction_input("cumsum", input, dtype), dim), out)


class CumProd(Op):
    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        y = _scan_array(ctx, "prod", x, axis)  # (x itself is saved: double backward goes through it)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return _cumprod_grad(x, y, gy, ctx.axis)


def _cumprod_grad(x: Tensor, y: Tensor, gy: Tensor, axis: int) -> Tensor:
    """dL/dx_i = sum_{j >= i} gy_j prod_{m <= j, m != i} x_m for y = cumprod(x), also where x has zeros."""
    if not bool((x._array == 0).any()):
        return ReverseCumSum.apply(gy * y, axis=axis) / x
    # With k a slice's first zero and z = x with x_k replaced by 1, each term holds x_k unless i = k or
    # j < k; those are the terms of z's gradient g_z. Before k, the terms with j < k are a = sum gy_j y_j / x_i.
    xp = x._backend.xp
    zeros_so_far = xp.cumsum(x._array == 0, axis=axis)
    before = _const(x, zeros_so_far == 0)
    first_zero = _const(x, (x._array == 0) & (zeros_so_far == 1))
    a = ReverseCumSum.apply(where(before, gy * y, 0.0), axis=axis) / where(before, x, 1.0)
    z = where(first_zero, 1.0, x)
    zy = cumprod(z, axis)
    if not is_grad_enabled():
        # First order: the terms holding x_k are 0 and left out (as PyTorch does: no inf * 0 there).
        return where(before, a, where(first_zero, ReverseCumSum.apply(gy * zy, axis=axis), 0.0))
    # Building a graph for a second derivative: keep x_k in, as a factor (z has one zero fewer per slice).
    x_k = where(first_zero, x, 0.0).sum(dim=axis, keepdim=True)
    g_z = _cumprod_grad(z, zy, gy, axis)
    return where(before, a + x_k * (g_z - a), where(first_zero, 1.0, x_k) * g_z)


def cumprod(input: Tensor, dim: int, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """y_j = prod_{i <= j} x_i along ``dim``. dL/dx_i = sum_{j >= i} dL/dy_j prod_{m <= j, m != i} x_m,
    exact where x has zeros. Integers and bool multiply as int64."""
    return write_out("cumprod", _scan("cumprod", CumProd, reduction_input("cumprod", input, dtype), dim), out)


def _running_extreme(op: str, x: Tensor, dim, largest: bool, out) -> ValuesIndices:
    """(values, indices) of the running max or min. Ties take the later index and a NaN, once seen, is the
    running value with the latest NaN's index, as in PyTorch; the gradient goes to the indexed elements."""
    axis = one_axis(op, dim, x)
    if x.ndim == 0:
        values, indices = _running_extreme(op, x.reshape(1), 0, largest, None)
        return ValuesIndices(values.reshape(()), indices.reshape(()))
    xp = x._backend.xp
    a = x._array
    if xp is numpy and (a.dtype is _F32 or a.dtype is _F64):  # one pass over the threads
        index = kernel_scan.running_extreme(xp, a, axis, largest, impl=x._backend.kernel_impl)
    else:
        extreme = running(xp, xp.maximum if largest else xp.minimum, a, axis)
        hit = a == extreme
        if a.dtype.kind in FLOAT_KINDS:
            hit |= xp.isnan(a)
        pos = xp.arange(a.shape[axis]).reshape([-1 if i == axis else 1 for i in range(a.ndim)])
        index = running(xp, xp.maximum, xp.where(hit, pos, 0), axis).astype(xp.int64)
    result = ValuesIndices(GatherAlong.apply(x, index=index, axis=axis), _const(x, index))
    return write_pair(op, result, out)


def cummax(input: Tensor, dim: int, *, out=None) -> ValuesIndices:
    """(values, indices) of the running maximum along ``dim``; each value's gradient goes to its index."""
    refuse_complex("cummax", input)
    return _running_extreme("cummax", input, dim, True, out)


def cummin(input: Tensor, dim: int, *, out=None) -> ValuesIndices:
    """(values, indices) of the running minimum along ``dim``; each value's gradient goes to its index."""
    refuse_complex("cummin", input)
    return _running_extreme("cummin", input, dim, False, out)


class LogCumSumExp(Op):
    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        # logaddexp's running form is exact and stable (no shift by one maximum for the whole slice, which
        # would underflow early elements far below it).
        wide = x.astype(accumulation_dtype(x), copy=False)
        y = running(ctx.xp, ctx.xp.logaddexp, wide, axis).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        axis = ctx.axis
        # dL/dx_i = sum_{j >= i} g_j exp(x_i - y_j), summed in log space for the positive and the negative
        # parts of g separately (as PyTorch does), so that nothing overflows.
        lowest = float(ctx.xp.finfo(x._array.dtype).min)
        magnitude = where(gy != 0, gy.abs(), 1.0).log()

        def part(mask):
            log_g = where(mask, magnitude, lowest)
            return (logcumsumexp((log_g - y).flip(axis), axis).flip(axis) + x).exp()

        return part(gy > 0) - part(gy < 0)


def logcumsumexp(input: Tensor, dim: int, *, out: Tensor | None = None) -> Tensor:
    """y_j = log sum_{i <= j} exp(x_i) along ``dim``, stably. dL/dx_i = sum_{j >= i} dL/dy_j exp(x_i - y_j).
    Floating point input only, as in PyTorch."""
    require_float("logcumsumexp", input)
    return write_out("logcumsumexp", _scan("logcumsumexp", LogCumSumExp, input, dim), out)


from .elementwise import where  # noqa: E402  (placed last for reading order)

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (cumsum, cumprod, cummax, cummin, logcumsumexp)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS}
INPLACE = (cumsum, cumprod)
