"""Reductions over dims: sums and means (also NaN-ignoring), products, variance and standard deviation,
max/min with their a- and arg- forms, logsumexp, all/any, counts, medians, modes, cov and corrcoef.

``dim`` is an int, a tuple or None (every dim); ``keepdim`` keeps the reduced dims as size 1. A 0-d tensor
takes dim 0 and -1 and has nothing to reduce over, as in PyTorch.
"""
from __future__ import annotations

import builtins
import math
import operator
from collections import namedtuple

import numpy

from .. import dtypes
from .._vmath_ufuncs import math_ufunc
from ..amp.policy import FLOAT32, autocast_policy
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..backend import FULL_SUM_MIN_ELEMENTS, ROW_SUM_MIN_ELEMENTS
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..kernels import gather as kgather
from ..kernels.reduce import prod_rows, sum_all
from ..tensor import Tensor
from ._operands import as_float, c_order, distinct_dims, keepdim_shape, normalize_dims, require_float, write_out
from .complex_numbers import refuse_complex

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What max/min/median/nanmedian/mode with ``dim`` return, as torch.return_types."
MinMax = namedtuple("MinMax", ["min", "max"])
MinMax.__doc__ = "What ``aminmax`` returns: the smallest and the largest values."


# Arguments -------------------------------------------------------------------------------------------
def _axes(op: str, dim, x: Tensor):
    """dim as a tuple of non-negative axes, or None for all of them. An empty list means all dims (as in
    PyTorch); a 0-d tensor's dim 0 or -1 names no axis at all."""
    if dim is None:
        return None
    axes = distinct_dims(op, dim, x.ndim)
    if x.ndim == 0:
        return ()
    return axes or None


def one_axis(op: str, dim, x: Tensor) -> int:
    """The one int dim of ops along a dim (max with dim, median, cumsum, ...) as a non-negative axis."""
    if not isinstance(dim, int):
        raise TypeError(f"{op}: expected dim to be an int, got {type(dim).__name__}")
    (axis,) = normalize_dims(op, dim, x.ndim)
    return axis


def _require_nonempty(op: str, x: Tensor, axes) -> None:
    """Reductions without an identity (max, median, ...) refuse to reduce over no elements."""
    if axes is None:
        if x._array.size == 0:
            raise ShapeError(f"{op}: expected reduction dim to be specified for an empty input of shape "
                             f"{tuple(x.shape)}; specify the reduction dim with the 'dim' argument")
        return
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{op}: expected reduction dim {a} to have non-zero size, input has shape "
                             f"{tuple(x.shape)}")


def reduction_input(op: str, x: Tensor, dtype, ints_as_long: bool = True) -> Tensor:
    """The input a sum-like reduction works on: cast to ``dtype`` first when given (as PyTorch does), else
    integer and bool inputs as int64."""
    if dtype is not None:
        try:
            target = dtypes.to_dtype(dtype)
        except DTypeError as exc:
            raise DTypeError(f"{op}: {exc}") from None
        return x.to(target)
    if ints_as_long and x._array.dtype.kind in "biu":
        return x.to(dtypes.int64)
    return x


def _count(shape: tuple, axes) -> int:
    """How many elements each output of a reduction over ``axes`` summarises."""
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


def _reduced_shape(shape: tuple, axes, keepdim: bool) -> tuple:
    if keepdim:
        return keepdim_shape(shape, axes)
    return tuple(s for i, s in enumerate(shape) if axes is not None and i not in axes)


def _expand_back(gy: Tensor, shape: tuple, axes, keepdim: bool) -> Tensor:
    """Undo a reduction's shape: gy with the reduced axes restored as size 1, then broadcast."""
    if not keepdim:
        gy = gy.reshape(keepdim_shape(shape, axes))
    return gy.expand(shape)


def accumulation_dtype(a):
    """The dtype to sum, multiply or scan ``a`` in: float32 for float16, as PyTorch does (a float16 running
    sum stalls at 2048, a sum of squares overflows at 65504), else a's own."""
    return numpy.float32 if a.dtype == numpy.float16 else a.dtype


def _mean_array(backend, x, axes, keepdims: bool, n: int | None = None):
    """NumPy's mean without its warning for empty slices: those are NaN, as in PyTorch. ``n``: how many
    elements each mean summarises, when the caller has counted them."""
    if n is None:
        n = _count(x.shape, axes)
    dtype = accumulation_dtype(x)
    total = backend.sum(x, axes, keepdims, dtype)
    if n:
        total /= n  # the sum is a fresh array (or a NumPy scalar, which /= replaces)
    else:
        total = total * math.nan
    return total if dtype is x.dtype else total.astype(x.dtype, copy=False)


# Sums and means ----------------------------------------------------------------------------------------
class Sum(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        dtype = accumulation_dtype(x)
        total = ctx.backend.sum(x, axes, keepdim, dtype)
        # float16 sums in float32 and is rounded back; astype costs 0.6 us on a full sum's NumPy scalar.
        return total if dtype is x.dtype else total.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy, ctx.shape, ctx.axes, ctx.keepdim)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Sum over ``dim`` (all dims when None). d/dx_i = 1. Bool and integer tensors sum as int64; with
    ``dtype`` the input is cast first."""
    axes = _axes("sum", dim, input)
    return write_out("sum", Sum.apply_one(reduction_input("sum", input, dtype), axes=axes, keepdim=keepdim), out)


class NanSum(Op):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.save_for_backward(x)
        return c_order(ctx.xp.nansum(x, axis=axes, keepdims=keepdim, dtype=accumulation_dtype(x)).astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        # A multiplication by the mask, as PyTorch's: an inf or NaN cotangent reaches the NaNs as NaN.
        return _expand_back(gy, tuple(x.shape), ctx.axes, ctx.keepdim) * (~isnan(x)).to(gy.dtype)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Sum over ``dim`` counting NaN as 0. d/dx_i = 1, and 0 at NaN (times the cotangent)."""
    axes = _axes("nansum", dim, input)
    return write_out("nansum", NanSum.apply(reduction_input("nansum", input, dtype), axes=axes, keepdim=keepdim), out)


class Mean(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.count = _count(x.shape, axes)
        return _mean_array(ctx.backend, x, axes, keepdim, ctx.count)

    @staticmethod
    def backward(ctx, gy):
        # Divided by the count, as PyTorch's (one rounding; times 1/count took two). Over no elements the
        # gradient is empty: NaN only has to be a number.
        return _expand_back(gy / ctx.count if ctx.count else gy * math.nan, ctx.shape, ctx.axes, ctx.keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Mean over ``dim`` (NaN over no elements). d/dx_i = 1/n. Float input, or a float ``dtype``."""
    axes = _axes("mean", dim, input)
    input = reduction_input("mean", input, dtype, ints_as_long=False)
    require_float("mean", input, complex_too=True)
    return write_out("mean", Mean.apply_one(input, axes=axes, keepdim=keepdim), out)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Mean of the non-NaN elements over ``dim``: nansum / their count (NaN when there are none)."""
    input = reduction_input("nanmean", input, dtype, ints_as_long=False)
    require_float("nanmean", input)
    counted = sum(~isnan(input), dim, keepdim)
    # 0 / 0 where all are NaN: NaN is the answer, not a mishap
    result = nansum(input, dim, keepdim) / counted
    return write_out("nanmean", result, out)


# Products ---------------------------------------------------------------------------------------------
class Prod(Op):
    @staticmethod
    def forward(ctx, x, axis=None, keepdim=False):
        ctx.axis, ctx.keepdim = axis, keepdim
        if (ctx.xp is numpy and axis is not None and axis == x.ndim - 1 and x.size >= ROW_SUM_MIN_ELEMENTS
                and (x.dtype == numpy.float32 or x.dtype == numpy.float64) and x.flags.c_contiguous):
            # over the last dim: eight rows' chains at once, over the threads (NumPy's one chain a row)
            y = prod_rows(numpy, x.reshape(-1, x.shape[-1]), impl=ctx.backend.kernel_impl)
            y = y.reshape(x.shape[:-1] + ((1,) if keepdim else ()))
        else:
            # the ufunc's own reduce, not ndarray.prod: an overflow's warning then comes from this frame,
            # which gpugrad's filter silences (numpy_warnings.py), as PyTorch is silent
            y = ctx.xp.multiply.reduce(x, axis=axis, keepdims=keepdim, dtype=accumulation_dtype(x))
            y = c_order(ctx.xp.asarray(y).astype(x.dtype, copy=False))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        shape, axes = tuple(x.shape), None if ctx.axis is None else (ctx.axis,)
        gy = _expand_back(gy, shape, axes, ctx.keepdim)
        if not bool((x._array == 0).any()):
            return gy * _expand_back(y, shape, axes, ctx.keepdim) / x
        if ctx.axis is None:
            if not is_grad_enabled() and int((x._array == 0).sum()) > 1:
                return zeros_like(gy)  # two zeros: every gradient is 0 (PyTorch's, also with an inf elsewhere)
            return gy * _product_of_the_others(x.reshape(-1), 0).reshape(shape)
        return gy * _product_of_the_others(x, ctx.axis)


def _product_of_the_others(x: Tensor, axis: int) -> Tensor:
    """prod_{j != i} x_j along ``axis`` for each i, as the product of the exclusive cumulative products
    from either end: exact with zeros (where y / x_i is 0 / 0), and differentiable again through cumprod."""
    n = x.shape[axis]
    one = ones_like(x.narrow(axis, 0, 1))
    before = cumulative.cumprod(cat([one, x.narrow(axis, 0, n - 1)], axis), axis)
    after = cumulative.cumprod(cat([x.narrow(axis, 1, n - 1), one], axis).flip(axis), axis).flip(axis)
    return before * after


@autocast_policy(cpu=FLOAT32)
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Product over ``dim`` (one dim, or all when None). d/dx_i = prod_{j != i} x_j, also where some x_j
    are 0. Bool and integer tensors multiply as int64."""
    axis = None if dim is None else one_axis("prod", dim, input)
    input = reduction_input("prod", input, dtype)
    if input.ndim == 0:
        axis = None
    return write_out("prod", Prod.apply(input, axis=axis, keepdim=keepdim), out)


# Variance and standard deviation -------------------------------------------------------------------------
def _correction(op: str, correction, unbiased) -> float:
    if unbiased is not None and correction is not None:
        raise ArgumentError(f"{op}: cannot specify both unbiased and correction")
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def _var_array(backend, x, axes, keepdim: bool, correction, root: bool = False):
    """sum((x - mean)^2) / max(0, n - correction), or its square root with ``root``: inf or NaN when no
    degrees of freedom are left, as in PyTorch, without NumPy's warnings. On the CPU float32 sums in float64
    and rounds once at the end (the root taken before), as PyTorch's CPU kernel: within 0.65 ulp (PyTorch's
    0.5: its deviations from the mean are float64 too), where float32 sums drifted to 2."""
    x, dtype = x.astype(accumulation_dtype(x), copy=False), x.dtype
    wide = numpy.float64 if backend.xp is numpy and x.dtype == numpy.float32 else x.dtype
    n = _count(x.shape, axes)
    if (backend.xp is numpy and n >= FULL_SUM_MIN_ELEMENTS and n == x.size
            and (x.dtype == numpy.float32 or x.dtype == numpy.float64)):
        # every element: the same two sums in two passes over the threads (the deviations' squares added
        # as they are made: no centred copy, no float64 array of squares)
        mean = x.dtype.type(sum_all(numpy, x, impl=backend.kernel_impl) / n)
        squares = numpy.full((1,) * x.ndim if keepdim else (), sum_all(numpy, x, shift=mean, squares=True,
                                                                         impl=backend.kernel_impl))
    else:
        mean = backend.sum(x, axes, True, wide)
        mean = (mean / n if n else mean * math.nan).astype(x.dtype, copy=False)
        centered = x - mean
        # squares of float32 values are exact in float64; a float64 copy of x ran the row 2x slower
        squares = backend.sum(backend.xp.multiply(centered, centered, dtype=wide), axes, keepdim, wide)
    dof = n - correction
    var = squares / dof if dof > 0 else squares / backend.xp.zeros((), squares.dtype)
    return (backend.xp.sqrt(var) if root else var).astype(dtype, copy=False)


def _var_backward(g: Tensor, x: Tensor, axes, correction) -> Tensor:
    """g (the input's shape, or its shape with the reduced dims kept as 1) times d var / dx = 2 (x - mean) /
    (n - correction), as PyTorch computes it at the edges too."""
    dof = _count(tuple(x.shape), axes) - correction
    mean = x.mean(dim=axes, keepdim=True)
    # No degrees of freedom left: the NaN and inf below are the answer, not a mishap to warn about.
    if (axes is None or x.ndim == 0) and dof <= 0:
        # PyTorch's whole-tensor form: 2 / dof is inf, so inf where x differs from the mean, NaN
        # (inf * 0) where it equals it; its per-dim form below multiplies with a finite 2 / dof < 0.
        return where(x == mean, g * math.nan, g * math.inf)
    return (g * (2.0 / dof if dof != 0 else math.inf)) * (x - mean)  # PyTorch's order: (2 / dof) grad first


class Var(Op):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False, correction=1):
        ctx.axes, ctx.keepdim, ctx.correction = axes, keepdim, correction
        ctx.save_for_backward(x)
        return _var_array(ctx.backend, x, axes, keepdim, correction)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        shape = tuple(x.shape)
        if is_grad_enabled():
            g = _expand_back(gy, shape, ctx.axes, ctx.keepdim)
        else:  # per reduced element, broadcast by _var_backward's product (as Std's below)
            g = gy if ctx.keepdim else gy.reshape(keepdim_shape(shape, ctx.axes))
        return _var_backward(g, x, ctx.axes, ctx.correction)


class Std(Op):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False, correction=1):
        ctx.axes, ctx.keepdim, ctx.correction = axes, keepdim, correction
        y = _var_array(ctx.backend, x, axes, keepdim, correction, root=True)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        shape = tuple(x.shape)
        if is_grad_enabled():
            gy = _expand_back(gy, shape, ctx.axes, ctx.keepdim)
            y = _expand_back(y, shape, ctx.axes, ctx.keepdim)
        elif not ctx.keepdim:
            # the factor below per reduced element, then broadcast by _var_backward's product: the same
            # values as on expanded views, where its compare, two wheres and division ran over every
            # element (10 of std(dim=1)'s 30 ms at 2048x2048 float32). A graph of the backward keeps those.
            kept = keepdim_shape(shape, ctx.axes)
            gy, y = gy.reshape(kept), y.reshape(kept)
        # d std = d var / (2 std), taken as 0 where std is 0 (a constant input), as PyTorch does; the
        # denominator there is replaced so that no 0/0 enters a second derivative.
        constant = y == 0
        g = where(constant, 0.0, gy / where(constant, 1.0, 2 * y))
        return _var_backward(g, x, ctx.axes, ctx.correction)


def _var_args(op: str, x: Tensor, dim, unbiased, correction):
    if isinstance(dim, bool):  # the legacy var(x, unbiased) form
        dim, unbiased = None, dim
    require_float(op, x)
    return _axes(op, dim, x), _correction(op, correction, unbiased)


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None,
        out: Tensor | None = None) -> Tensor:
    """Variance over ``dim``, sum((x - mean)^2) / (n - correction), correction=1 by default.
    d/dx_i = 2 (x_i - mean) / (n - correction)."""
    if input._array.dtype.kind == "c":  # E|z - mean|^2: the parts' variances summed, a real result as PyTorch's
        return write_out("var", var(input.real, dim, unbiased, keepdim, correction=correction)
                         + var(input.imag, dim, unbiased, keepdim, correction=correction), out)
    axes, correction = _var_args("var", input, dim, unbiased, correction)
    return write_out("var", Var.apply_one(input, axes=axes, keepdim=keepdim, correction=correction), out)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None,
        out: Tensor | None = None) -> Tensor:
    """Standard deviation, sqrt(var). d/dx_i = (x_i - mean) / ((n - correction) std), 0 where std is 0."""
    if input._array.dtype.kind == "c":
        return write_out("std", var(input, dim, unbiased, keepdim, correction=correction).sqrt(), out)
    axes, correction = _var_args("std", input, dim, unbiased, correction)
    return write_out("std", Std.apply_one(input, axes=axes, keepdim=keepdim, correction=correction), out)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """(var, mean) over ``dim``, as two differentiable results."""
    axes, correction = _var_args("var_mean", input, dim, unbiased, correction)
    return (Var.apply(input, axes=axes, keepdim=keepdim, correction=correction),
            Mean.apply(input, axes=axes, keepdim=keepdim))


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """(std, mean) over ``dim``, as two differentiable results."""
    axes, correction = _var_args("std_mean", input, dim, unbiased, correction)
    return (Std.apply(input, axes=axes, keepdim=keepdim, correction=correction),
            Mean.apply(input, axes=axes, keepdim=keepdim))


# Picking elements: the gradient goes to the picked ones -------------------------------------------------
class GatherAlong(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, index=None, axis=0):
        ctx.index, ctx.axis, ctx.shape = index, axis, x.shape
        # large ones as the gather kernel (take_along_axis builds index arrays first; its call is the cheaper
        # on small ones)
        if ctx.xp is numpy and x.size >= ROW_SUM_MIN_ELEMENTS:
            return kgather.gather_along(numpy, x, index, axis)
        return ctx.xp.take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        return ScatterAddAlong.apply(gy, index=ctx.index, axis=ctx.axis, shape=ctx.shape)


class ScatterAddAlong(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, g, index=None, axis=0, shape=()):
        ctx.index, ctx.axis = index, axis
        xp = ctx.xp
        out = xp.zeros(shape, dtype=g.dtype)
        if xp is numpy and out.size >= ROW_SUM_MIN_ELEMENTS:  # the CPU's scatter-add kernel: np.add.at's bits
            kgather.scatter_add_along(numpy, out, index, g, axis)
            return out
        # index says where along axis; along every other dim an element stays where it is.
        where_to = [xp.arange(n).reshape([-1 if i == d else 1 for i in range(index.ndim)])
                    for d, n in enumerate(index.shape)]
        where_to[axis] = index
        ctx.backend.index_add(out, tuple(where_to), g)
        return out

    @staticmethod
    def backward(ctx, gy):
        return GatherAlong.apply(gy, index=ctx.index, axis=ctx.axis)


def _picked(x: Tensor, index, axis: int, keepdim: bool) -> ValuesIndices:
    """Values at ``index`` (size 1 along axis) and the indices as an int64 tensor; only the picked elements
    get a gradient."""
    index = c_order(index)  # so are the values and indices, as PyTorch's
    values = GatherAlong.apply(x, index=index, axis=axis)
    indices = Tensor._make(index.astype(x._backend.xp.int64, copy=False), x._backend)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return ValuesIndices(values, indices)


def _along_one_dim(op: str, x: Tensor, dim, keepdim: bool, pick) -> ValuesIndices:
    """A values-and-indices reduction along one dim; pick(xp, array, axis) gives the index array (size 1
    along axis). A 0-d tensor is reduced as the 1-element vector it holds."""
    axis = one_axis(op, dim, x)
    if x.ndim == 0:
        values, indices = _along_one_dim(op, x.reshape(1), 0, False, pick)
        return ValuesIndices(values.reshape(()), indices.reshape(()))
    _require_nonempty(op, x, (axis,))
    return _picked(x, pick(x._backend.xp, x._array, axis), axis, keepdim)


def _share_among_equal(x: Tensor, y: Tensor, gy: Tensor, axes, share_nan: bool) -> Tensor:
    """gy (x's shape, or y's) split evenly among the elements equal to the result y (kept dims): the
    gradient PyTorch gives to amax/amin, to full max/min/median, and there (share_nan) to the NaNs when
    the result is NaN."""
    mask = x == y
    if share_nan:
        mask = mask | (isnan(x) & isnan(y))
    mask = mask.to(gy.dtype)
    # PyTorch's order, (gy / count) * mask: the same values as mask * gy / count (also 0 * inf, 0 / 0), and
    # gy may come with the reduced dims kept as 1, dividing per reduced element before one broadcast product
    return gy / mask.sum(dim=axes, keepdim=True) * mask


class AMax(Op):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False, largest=True, share_nan=False):
        y = c_order(x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdim, ctx.share_nan = axes, keepdim, share_nan
        ctx.save_for_backward(x, y)
        return y if keepdim else y.reshape(_reduced_shape(x.shape, axes, False))

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        if is_grad_enabled():  # a graph of the backward keeps the expanded form
            gy = _expand_back(gy, tuple(x.shape), ctx.axes, ctx.keepdim)
        elif not ctx.keepdim:  # kept dims of 1: divided per reduced element, then one broadcast product
            gy = gy.reshape(keepdim_shape(tuple(x.shape), ctx.axes))
        return _share_among_equal(x, y, gy, ctx.axes, ctx.share_nan)


def _extreme(op: str, x: Tensor, dim, keepdim: bool, largest: bool, share_nan: bool = False) -> Tensor:
    axes = _axes(op, dim, x)
    _require_nonempty(op, x, axes)
    return AMax.apply_one(x, axes=axes, keepdim=keepdim, largest=largest, share_nan=share_nan)


def amax(input: Tensor, dim=(), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """The largest value over ``dim`` (an int or a tuple; all dims when empty). Ties share the gradient."""
    refuse_complex("amax", input)
    return write_out("amax", _extreme("amax", input, dim, keepdim, True), out)


def amin(input: Tensor, dim=(), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """The smallest value over ``dim`` (an int or a tuple; all dims when empty). Ties share the gradient."""
    refuse_complex("amin", input)
    return write_out("amin", _extreme("amin", input, dim, keepdim, False), out)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False, out=None) -> MinMax:
    """(min, max) over one dim or all of them; each differentiable as amin / amax."""
    refuse_complex("aminmax", input)
    if dim is not None:
        one_axis("aminmax", dim, input)  # one int dim only, as in PyTorch
    result = MinMax(_extreme("aminmax", input, dim, keepdim, False), _extreme("aminmax", input, dim, keepdim, True))
    return write_pair("aminmax", result, out)


def _arg_index(largest: bool):
    def pick(xp, a, axis):
        # NumPy's first occurrence of the extreme (or of the first NaN) is PyTorch's choice too.
        found = xp.argmax(a, axis=axis) if largest else xp.argmin(a, axis=axis)
        return xp.expand_dims(found, axis)

    return pick


def _max_min(op: str, x: Tensor, dim, keepdim: bool, largest: bool):
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}: keepdim=True needs a dim")
        return _extreme(op, x, None, False, largest, share_nan=True)
    return _along_one_dim(op, x, dim, keepdim, _arg_index(largest))


def max(input: Tensor, dim=None, keepdim: bool = False, *, out=None):
    """The largest value (ties share the gradient), with ``dim`` the named tuple (values, indices) whose
    first index of the largest value gets the gradient, and with a tensor ``maximum``."""
    refuse_complex("max", input)
    if isinstance(dim, Tensor):
        return write_out("max", maximum(input, dim), out)
    return write_pair("max", _max_min("max", input, dim, keepdim, True), out)


def min(input: Tensor, dim=None, keepdim: bool = False, *, out=None):
    """The smallest value (ties share the gradient), with ``dim`` the named tuple (values, indices) whose
    first index of the smallest value gets the gradient, and with a tensor ``minimum``."""
    refuse_complex("min", input)
    if isinstance(dim, Tensor):
        return write_out("min", minimum(input, dim), out)
    return write_pair("min", _max_min("min", input, dim, keepdim, False), out)


def write_pair(op: str, result, out):
    """``out=`` for ops that return a tensor, or a pair ((values, indices), (min, max)) written into a pair
    of tensors, both checked before either is written."""
    if out is None or isinstance(result, Tensor):
        return write_out(op, result, out)
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and builtins.all(isinstance(o, Tensor) for o in out)):
        raise TypeError(f"{op}: out must be a pair of tensors (values, indices)")
    if isinstance(result, ValuesIndices) and out[1]._array.dtype != result.indices._array.dtype:
        raise DTypeError(f"{op}: expected the indices out to be int64, got {out[1].dtype}")
    return type(result)(*(write_out(op, r, o) for r, o in zip(result, out)))


def _argextreme(op: str, x: Tensor, dim, keepdim: bool, largest: bool) -> Tensor:
    if x._array.dtype.kind == "b":
        raise DTypeError(f"{op}: does not support bool input")
    xp = x._backend.xp
    find = xp.argmax if largest else xp.argmin  # NumPy's first extreme (or first NaN) is PyTorch's choice
    if dim is None:
        _require_nonempty(op, x, None)
        found = xp.asarray(find(x._array.reshape(-1)), dtype=xp.int64)
        return Tensor._make(found.reshape((1,) * x.ndim) if keepdim else found, x._backend)
    axis = one_axis(op, dim, x)
    if x.ndim == 0:  # the one element's index, whatever keepdim
        return Tensor._make(xp.zeros((), dtype=xp.int64), x._backend)
    _require_nonempty(op, x, (axis,))
    found = find(x._array, axis=axis, keepdims=keepdim)
    return Tensor._make(xp.asarray(found, dtype=xp.int64), x._backend)


def argmax(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Index of the first largest value (in the flattened tensor when dim is None). Not differentiable."""
    refuse_complex("argmax", input)
    return write_out("argmax", _argextreme("argmax", input, dim, keepdim, True), out)


def argmin(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Index of the first smallest value (in the flattened tensor when dim is None). Not differentiable."""
    refuse_complex("argmin", input)
    return write_out("argmin", _argextreme("argmin", input, dim, keepdim, False), out)


# Medians and modes ------------------------------------------------------------------------------------------
def _stable_order(xp, a, axis: int):
    """Indices that sort ``a`` along axis, equal values in their original order, NaN last (CuPy's sort is
    always stable)."""
    return xp.argsort(a, axis=axis, kind="stable") if xp is numpy else xp.argsort(a, axis=axis)


def _nan_count(xp, a, axis: int):
    if a.dtype.kind not in FLOAT_KINDS:
        return xp.zeros(keepdim_shape(a.shape, (axis,)), dtype=xp.int64)
    return xp.isnan(a).sum(axis=axis, keepdims=True)


def _median_index(ignore_nan: bool):
    def pick(xp, a, axis):
        # The lower median of the stably sorted slice: which of several equal values PyTorch's CPU build
        # returns. A NaN makes median NaN (the first NaN's index); nanmedian skips NaNs, and a slice of
        # only NaNs gives its first one.
        n, nans = a.shape[axis], _nan_count(xp, a, axis)
        if ignore_nan:
            k = xp.maximum((n - nans - 1) // 2, 0)
        else:
            k = xp.where(nans > 0, n - nans, (n - 1) // 2)
        return xp.take_along_axis(_stable_order(xp, a, axis), k, axis=axis)

    return pick


class MedianAll(Op):
    @staticmethod
    def forward(ctx, x, ignore_nan=False):
        xp, flat = ctx.xp, x.reshape(-1)
        if flat.size:
            y = xp.take_along_axis(flat, _median_index(ignore_nan)(xp, flat, 0), axis=0).reshape(())
        else:  # what PyTorch gives for no elements: NaN, or the integer type's lowest value
            y = xp.full((), math.nan if x.dtype.kind in FLOAT_KINDS else xp.iinfo(x.dtype).min, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return _share_among_equal(x, y, gy.expand(tuple(x.shape)), None, True)


def _median(op: str, x: Tensor, dim, keepdim: bool, ignore_nan: bool):
    if x._array.dtype.kind == "b":
        raise DTypeError(f"{op}: not implemented for bool tensors")
    if dim is not None:
        return _along_one_dim(op, x, dim, keepdim, _median_index(ignore_nan))
    return MedianAll.apply(x, ignore_nan=ignore_nan)


def median(input: Tensor, dim=None, keepdim: bool = False, *, out=None):
    """The lower median: of all elements (NaN if there is one), or with ``dim`` the named tuple (values,
    indices), the selected element alone getting the gradient."""
    refuse_complex("median", input)
    return write_pair("median", _median("median", input, dim, keepdim, False), out)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False, *, out=None):
    """The lower median of the non-NaN elements (NaN when there are none); as ``median`` otherwise."""
    refuse_complex("nanmedian", input)
    return write_pair("nanmedian", _median("nanmedian", input, dim, keepdim, True), out)


# Quantiles ------------------------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op: str, x: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool) -> Tensor:
    """PyTorch's quantile: sort along the dim (NaN last), read each q at rank q (n - 1) (q (valid - 1)
    ignoring NaNs), interpolate between its neighbours; a NaN in the slice (every value NaN, ignoring
    them) gives NaN. The gradient goes to the neighbours read (gather, lerp); q is a constant."""
    if x._array.dtype not in (numpy.float32, numpy.float64):
        raise DTypeError(f"{op}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                            f"got {interpolation}")
    backend, xp = x._backend, x._backend.xp
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise ArgumentError(f"{op}() q must be a scalar or 1D tensor")
        if q._array.dtype != x._array.dtype:
            raise DTypeError(f"{op}() q tensor must be same dtype as the input tensor")
        qs, scalar_q = numpy.atleast_1d(q._backend.to_numpy(q._array, op)).astype(numpy.float64), q.ndim == 0
    else:
        qs, scalar_q = numpy.asarray([float(q)]), True
    bad = qs[(qs < 0) | (qs > 1) | numpy.isnan(qs)]
    if bad.size:
        raise ArgumentError(f"{op}() q must be in the range [0, 1] but got {bad[0]:g}")
    if x.numel() == 0:
        raise ArgumentError(f"{op}() input tensor must be non-empty")
    axis = None if dim is None else one_axis(op, dim, x)
    rows = x.reshape(-1) if axis is None else x.movedim(axis, -1) if x.ndim else x.reshape(1)
    ordered = rows.sort(-1).values  # (R..., n), NaN last
    n = ordered.shape[-1]
    q_col = xp.asarray(qs.reshape((-1,) + (1,) * ordered.ndim))  # (Q, 1..., 1): ranks broadcast to (Q, R..., 1)
    nan = xp.isnan(ordered._array)
    if ignore_nan:
        ranks = xp.maximum(q_col * ((~nan).sum(-1, keepdims=True) - 1), 0)
    else:
        ranks = xp.where(nan.any(-1, keepdims=True), float(n - 1), q_col * (n - 1))
    rounding = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.round}.get(interpolation)
    if rounding is not None:
        ranks = rounding(ranks)
    wide = ordered.unsqueeze(0).expand(qs.size, *ordered.shape)
    below = xp.floor(ranks)
    result = wide.gather(-1, Tensor._make(below.astype(xp.int64), backend))
    if interpolation in ("linear", "midpoint"):
        above = wide.gather(-1, Tensor._make(xp.ceil(ranks).astype(xp.int64), backend))
        weight = xp.full(ranks.shape, 0.5) if interpolation == "midpoint" else ranks - below
        weight = Tensor._make(weight.astype(x._array.dtype), backend)
        if interpolation == "linear" and isinstance(q, Tensor) and q.requires_grad and is_grad_enabled():
            # q's gradient, as PyTorch's composite quantile gives it: through the interpolation weight
            q_col_t = q.reshape((-1,) + (1,) * ordered.ndim)
            valid = Tensor._make(((~nan).sum(-1, keepdims=True) - 1).astype(x._array.dtype), backend)
            if ignore_nan:
                ranks_t = (q_col_t * valid).clamp(min=0)
            else:  # a slice holding a NaN reads its last value whatever q is
                ranks_t = q_col_t * Tensor._make((~nan.any(-1, keepdims=True) * (n - 1)).astype(x._array.dtype), backend)
            weight = weight + (ranks_t - ranks_t.detach())  # the same values, with q's gradient
        result = result.lerp(above, weight)
    result = result.squeeze(-1)  # (Q, R...)
    if keepdim and x.ndim:  # a 0-d input keeps no dim, as PyTorch's
        kept = [1] * x.ndim if axis is None else list(x.shape[:axis]) + [1] + list(x.shape[axis + 1:])
        result = result.reshape([qs.size] + kept)
    return result.squeeze(0) if scalar_q else result


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
             out: Tensor | None = None) -> Tensor:
    """The q-th quantiles (q a number, or a 1-D tensor whose dim leads the result) of all elements or
    along ``dim``; a NaN in a slice makes its quantiles NaN. The gradient goes to the values read."""
    return write_out("quantile", _quantile("quantile", input, q, dim, keepdim, interpolation, False), out)


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
                out: Tensor | None = None) -> Tensor:
    """``quantile`` of the non-NaN values (NaN where a slice has none)."""
    return write_out("nanquantile", _quantile("nanquantile", input, q, dim, keepdim, interpolation, True), out)


def _mode_index(xp, a, axis):
    """The most frequent value, the smallest of equally frequent ones, at its last occurrence. (PyTorch's CPU
    build sorts slices of more than 16 elements unstably, and may then point at another occurrence.)"""
    a = xp.moveaxis(a, axis, -1)
    order = _stable_order(xp, a, -1)
    s = xp.take_along_axis(a, order, axis=-1)
    pos = xp.arange(a.shape[-1])
    new_run = xp.ones(s.shape, dtype=bool)
    # NaN != NaN: each NaN is a run of its own. (PyTorch's mode compares NaN inconsistently: the mode of
    # [nan, 0] is nan there, of [0, nan, 0] the 0 at index 0.)
    new_run[..., 1:] = s[..., 1:] != s[..., :-1]
    run_start = cumulative.running(xp, xp.maximum, xp.where(new_run, pos, 0), -1)
    # The first longest run holds the smallest of the most frequent values; argmax finds its end.
    end_of_longest = xp.argmax(pos - run_start, axis=-1)[..., None]
    return xp.moveaxis(xp.take_along_axis(order, end_of_longest, axis=-1), -1, axis)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out=None) -> ValuesIndices:
    """(values, indices) of the most frequent value along ``dim`` (the smallest among equally frequent
    ones, at its last occurrence); the selected element alone gets the gradient."""
    refuse_complex("mode", input)
    return write_pair("mode", _along_one_dim("mode", input, dim, keepdim, _mode_index), out)


# logsumexp, logical reductions, counts ------------------------------------------------------------------------
def _rows_of_float32(xp, x, axes) -> bool:
    """Whether a reduction of ``x`` over ``axes`` is one over the rows of a C-contiguous float32 CPU array
    (the last dims; not all of them), which _vmath_ufuncs' row loops take."""
    return (xp is numpy and x.dtype == numpy.float32 and bool(axes) and len(axes) < x.ndim and x.size > 0
            and x.flags.c_contiguous and sorted(axes) == list(range(x.ndim - len(axes), x.ndim)))


class LogSumExp(Op):
    @staticmethod
    def forward(ctx, x, axes=None, keepdim=False):
        xp = ctx.xp
        if _count(x.shape, axes):
            m = x.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or inf) slices must not give inf - inf
        else:
            m = xp.zeros(keepdim_shape(x.shape, axes), dtype=x.dtype)  # the sum of no terms: log 0 = -inf
        # float32 on the CPU: the vectorised exp; large ones on the threads (Backend.ufunc, Backend.arithmetic)
        backend = ctx.backend
        if _rows_of_float32(xp, x, axes):  # e**(x - m) in one pass, the same bits (1 * e is e)
            rows = m.size
            fn = math_ufunc(xp, "times_exp_of_shifted_rows", x.dtype)
            ones = numpy.ones((rows, 1), numpy.float32)
            shifted = backend.ufunc(fn, x.reshape(rows, -1), m.reshape(rows, 1), ones).reshape(x.shape)
        else:
            shifted = backend.ufunc(math_ufunc(xp, "exp", x.dtype), backend.arithmetic(operator.sub, x, m))
        total = shifted.sum(axis=axes, keepdims=True, dtype=accumulation_dtype(x))
        y = c_order((xp.log(total) + m).astype(x.dtype, copy=False))
        ctx.axes, ctx.keepdim = axes, keepdim
        out = y if keepdim else y.reshape(_reduced_shape(x.shape, axes, False))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        shape = tuple(x.shape)
        xa, axes = x._array, ctx.axes
        if not is_grad_enabled() and _rows_of_float32(x._backend.xp, xa, axes) and gy._array.dtype == numpy.float32:
            # over the last dims: gy e**(x - y) by rows in one pass (over the threads when large) where
            # the subtraction, exp and product took three; the same float32 operations, the same bits
            rows = math.prod(shape[:xa.ndim - len(axes)])
            fn = math_ufunc(numpy, "times_exp_of_shifted_rows", xa.dtype)
            out = ctx.backend.ufunc(fn, xa.reshape(rows, -1), y._array.reshape(rows, 1), gy._array.reshape(rows, 1))
            return Tensor._make(out.reshape(shape), x._backend)
        y = _expand_back(y, shape, ctx.axes, ctx.keepdim)
        return _expand_back(gy, shape, ctx.axes, ctx.keepdim) * (x - y).exp()


def logsumexp(input: Tensor, dim, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple), stable for large inputs. d/dx = softmax(x).
    Integer input gives the default float dtype."""
    input = as_float(input)
    return write_out("logsumexp", LogSumExp.apply_one(input, axes=_axes("logsumexp", dim, input), keepdim=keepdim), out)


def _logical(op: str, x: Tensor, dim, keepdim: bool, reducer: str) -> Tensor:
    xp = x._backend.xp
    axes = _axes(op, dim, x)
    found = getattr(xp, reducer)(x._array != 0, axis=axes, keepdims=keepdim)
    # PyTorch keeps uint8 for uint8 input (a leftover of its byte masks); everything else gives bool.
    dtype = xp.uint8 if x._array.dtype == xp.uint8 else xp.bool_
    return Tensor._make(c_order(xp.asarray(found, dtype=dtype)), x._backend)


def all(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Whether every element over ``dim`` is nonzero (True over no elements). Not differentiable."""
    return write_out("all", _logical("all", input, dim, keepdim, "all"), out)


def any(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Whether some element over ``dim`` is nonzero (False over no elements). Not differentiable."""
    return write_out("any", _logical("any", input, dim, keepdim, "any"), out)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """How many elements over ``dim`` (an int or a tuple) are nonzero, as int64. Not differentiable."""
    xp = input._backend.xp
    found = (input._array != 0).sum(axis=_axes("count_nonzero", dim, input))
    return Tensor._make(c_order(xp.asarray(found, dtype=xp.int64)), input._backend)


# Covariance --------------------------------------------------------------------------------------------------
def _observations(op: str, x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise ShapeError(f"{op}: expected a tensor of at most 2 dimensions (variables x observations), "
                         f"got shape {tuple(x.shape)}")
    return as_float(x).reshape(1, -1) if x.ndim < 2 else as_float(x)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (columns are observations): (X - mean)(X - mean)^T
    / (N - correction), with optional integer frequency and float observation weights as in PyTorch."""
    rows = _observations("cov", input)
    n = rows.shape[1]
    weights = None
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is None:
            continue
        if w.ndim > 1 or w._array.size != n:
            raise ShapeError(f"cov: expected {name} to have one element per observation ({n}), "
                             f"got shape {tuple(w.shape)}")
        if name == "fweights" and w._array.dtype.kind not in "iu":
            raise DTypeError(f"cov: expected fweights to have an integral dtype, got {w.dtype}")
        if bool((w._array < 0).any()):
            raise ArgumentError(f"cov: {name} cannot be negative")
        weights = w if weights is None else weights * w
    if weights is None:
        total = float(n)
        centered = rows - rows.mean(dim=1, keepdim=True)
        scale = total - correction
        prods = centered.matmul(centered.t().conj())  # X X^H: complex variables' covariance is Hermitian
    else:  # the weights' sums in their own dtype, as PyTorch's (float32 aweights give a float32 divisor)
        total_w = weights.sum()
        centered = rows - (rows * weights).sum(dim=1, keepdim=True) / total_w
        if correction == 0:
            scale = total_w
        elif aweights is None:
            scale = total_w - correction
        else:
            scale = total_w - correction * (weights * aweights).sum() / total_w
        prods = (centered * weights).matmul(centered.t().conj())
    # PyTorch clamps the degrees of freedom at 0 (the covariance is then inf or NaN).
    scale = scale.clamp(min=0) if isinstance(scale, Tensor) else builtins.max(scale, 0.0)
    return (prods / scale).squeeze()  # as PyTorch's: one variable (a 1-d input or one row) gives a 0-d result


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``: cov / (std_i std_j), clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    stddev = d.sqrt()
    return (c / stddev.unsqueeze(1) / stddev.unsqueeze(0)).clamp(-1.0, 1.0)


class SumTo(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        y = ctx.backend.sum(x, axes, True) if axes else x
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.expand(ctx.shape)


def sum_to_size(x: Tensor, *shape) -> Tensor:
    """Sum ``x`` down to ``shape``, undoing broadcasting: the engine's one place for it."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return SumTo.apply_one(x, shape=shape)


# Placed last for reading order; none of these modules needs anything from here at import time.
from ..factory import ones_like, zeros_like  # noqa: E402
from . import cumulative  # noqa: E402
from .elementwise import isnan, maximum, minimum, where  # noqa: E402
from .shape import cat  # noqa: E402

# What this family exports; gpugrad.ops gathers it.
def _trapezoids(op: str, y: Tensor, x: Tensor | None, dx, dim: int) -> tuple[Tensor, int]:
    """The trapezoidal rule's areas between neighbouring samples of ``y`` along ``dim``, and that axis."""
    if y.ndim == 0:
        raise ShapeError(f"{op}: expects a tensor of at least 1 dimension")
    (axis,) = normalize_dims(op, dim, y.ndim)
    lead = (slice(None),) * axis
    pairs = y[lead + (slice(1, None),)] + y[lead + (slice(None, -1),)]
    if x is None:
        return pairs * ((1.0 if dx is None else dx) / 2), axis
    if dx is not None:
        raise ArgumentError(f"{op}: give x or dx, not both")
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise ShapeError(f"{op}: x of size {x.shape[0]} for dim {axis} of y of shape {tuple(y.shape)}")
        x = x.reshape(tuple(-1 if i == axis else 1 for i in range(y.ndim)))
    widths = x[lead + (slice(1, None),)] - x[lead + (slice(None, -1),)]
    return widths * pairs / 2, axis


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule's integral of ``y`` along ``dim``, at sample points ``x`` (1-d along that dim,
    or y's shape) or ``dx`` apart (1 when neither is given)."""
    areas, axis = _trapezoids("trapezoid", y, x, dx, dim)
    return areas.sum(axis)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral of ``y`` along ``dim`` (one element shorter there)."""
    areas, axis = _trapezoids("cumulative_trapezoid", y, x, dx, dim)
    return areas.cumsum(axis)


def trapz(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """Alias of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


FUNCTIONS = (
    sum, nansum, mean, nanmean, prod, var, std, var_mean, std_mean, max, min, amax, amin, aminmax, argmax, argmin,
    median, nanmedian, mode, logsumexp, all, any, count_nonzero, cov, corrcoef, sum_to_size, trapezoid, trapz,
    cumulative_trapezoid, quantile, nanquantile,
)
DIFFERENTIABLE = (
    sum, nansum, mean, nanmean, prod, var, std, var_mean, std_mean, max, min, amax, amin, aminmax, median,
    nanmedian, mode, logsumexp, cov, corrcoef, trapezoid, trapz, cumulative_trapezoid, quantile, nanquantile,
)
METHODS = {f.__name__: f for f in FUNCTIONS if f not in (var_mean, std_mean, trapezoid, trapz, cumulative_trapezoid)}  # as torch.Tensor: no var_mean method
METHODS["_sum_to"] = sum_to_size
