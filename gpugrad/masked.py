"""``torch.masked``'s reductions and normalisations with a ``mask``: the elements where the boolean
``mask`` (broadcast to the input's shape) is False are left out. Each op replaces them with its
reduction's identity (0 for sum, 1 for prod, -inf for amax and the softmaxes, NaN for median, ...) and
runs the plain op, so values, dtypes and gradients are the plain op's. mean and var/std divide by the
count of the elements kept (a row with none kept gives NaN). ``mask=None`` keeps every element.

Strided tensors only; ``MaskedTensor`` (``masked_tensor``, ``as_masked_tensor``) is not in gpugrad."""
from __future__ import annotations

import math

from . import dtypes
from .errors import ArgumentError, DTypeError, ShapeError
from .linalg import vector_norm
from .nn import functional as F
from .ops import amax as _amax
from .ops import amin as _amin
from .ops import argmax as _argmax
from .ops import argmin as _argmin
from .ops import cumprod as _cumprod
from .ops import cumsum as _cumsum
from .ops import logaddexp as _logaddexp
from .ops import logsumexp as _logsumexp
from .ops import maximum, nanmedian, where
from .ops import sum as _sum
from .tensor import Tensor

__all__ = ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax", "logaddexp", "logsumexp", "mean",
           "median", "norm", "normalize", "prod", "softmax", "softmin", "std", "sum", "var"]

_WIDENED = (dtypes.uint8, dtypes.bool_, dtypes.int8, dtypes.int16, dtypes.int32)  # sum and prod count in int64


def _dims(op: str, dim, ndim: int) -> tuple:
    """``dim`` as a sorted tuple of non-negative dims; None or () is every dim."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    rank = max(ndim, 1)
    seen = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if d in seen:
            raise ArgumentError(f"masked.{op}: dim={d} appears multiple times in the list of dims")
        if not -rank <= d < rank:
            raise IndexError(f"masked.{op}: dim {d} is out of range for a tensor of {ndim} dims")
        seen.append(d % rank)
    return tuple(sorted(seen))


def _bool_mask(op: str, input: Tensor, mask: Tensor) -> Tensor:
    """``mask`` broadcast to input's shape, as bool."""
    if mask.ndim > input.ndim:
        raise ShapeError(f"masked.{op}: the mask (shape {tuple(mask.shape)}) has more dims than the input "
                         f"(shape {tuple(input.shape)})")
    if input.layout is not mask.layout:
        raise ArgumentError(f"masked.{op}: gpugrad's masked ops take strided tensors, got {input.layout} and {mask.layout}")
    return mask.broadcast_to(tuple(input.shape)).to(dtypes.bool_)


def _identity(op: str, input: Tensor, ord=None) -> float:
    """The value that leaves ``op``'s result unchanged, put where the mask is False."""
    floating = input.dtype.is_floating_point or input.dtype.is_complex
    if op in ("sum", "norm"):
        return math.inf if op == "norm" and ord == -math.inf else 0
    if op == "prod":
        return 1
    if op == "median":
        return math.nan
    if not floating and input.dtype is not dtypes.bool_:
        info = dtypes.iinfo(input.dtype)
        return info.min if op == "max" else info.max
    return -math.inf if op == "max" else math.inf


def _kept(op: str, input: Tensor, mask: Tensor | None, identity_of: str, ord=None) -> Tensor:
    """input with the masked-out elements replaced by ``identity_of``'s identity."""
    if mask is None:
        return input
    fill = Tensor._make(input._backend.xp.asarray(_identity(identity_of, input, ord), dtype=input._array.dtype),
                        input._backend)
    return where(_bool_mask(op, input, mask), input, fill)


def sum(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The sum of the elements kept (small integer and bool inputs sum in int64)."""
    if dtype is None:
        dtype = dtypes.int64 if input.dtype in _WIDENED else input.dtype
    return _sum(_kept("sum", input, mask, "sum"), _dims("sum", dim, input.ndim), keepdim=bool(keepdim), dtype=dtype)


def prod(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The product of the elements kept (small integer and bool inputs in int64)."""
    if dtype is None:
        dtype = dtypes.int64 if input.dtype in _WIDENED else input.dtype
    result = _kept("prod", input, mask, "prod").to(dtype)
    for d in reversed(_dims("prod", dim, input.ndim)):
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


def cumsum(input: Tensor, dim: int, *, dtype=None, mask: Tensor | None = None) -> Tensor:
    """Running sums along ``dim``, the masked-out elements counting as 0."""
    dtype = input.dtype if dtype is None else dtype
    return _cumsum(_kept("cumsum", input, mask, "sum"), _dims("cumsum", dim, input.ndim)[0], dtype=dtype).to(dtype)


def cumprod(input: Tensor, dim: int, *, dtype=None, mask: Tensor | None = None) -> Tensor:
    """Running products along ``dim``, the masked-out elements counting as 1."""
    dtype = input.dtype if dtype is None else dtype
    return _cumprod(_kept("cumprod", input, mask, "prod"), _dims("cumprod", dim, input.ndim)[0], dtype=dtype).to(dtype)


def amax(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The largest element kept (-inf, or the integer minimum, where none is)."""
    dtype = input.dtype if dtype is None else dtype
    return _amax(_kept("amax", input, mask, "max"), _dims("amax", dim, input.ndim), bool(keepdim)).to(dtype)


def amin(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The smallest element kept (inf, or the integer maximum, where none is)."""
    dtype = input.dtype if dtype is None else dtype
    return _amin(_kept("amin", input, mask, "min"), _dims("amin", dim, input.ndim), bool(keepdim)).to(dtype)


def argmax(input: Tensor, dim: int | None = None, *, keepdim: bool = False, dtype=None,
           mask: Tensor | None = None) -> Tensor:
    """The index of the largest element kept, in ``dtype`` (the input's dtype by default, as PyTorch's)."""
    dtype = input.dtype if dtype is None else dtype
    return _argmax(_kept("argmax", input, mask, "max"), dim, bool(keepdim)).to(dtype)


def argmin(input: Tensor, dim: int | None = None, *, keepdim: bool = False, dtype=None,
           mask: Tensor | None = None) -> Tensor:
    """The index of the smallest element kept, in ``dtype`` (the input's dtype by default, as PyTorch's)."""
    dtype = input.dtype if dtype is None else dtype
    return _argmin(_kept("argmin", input, mask, "min"), dim, bool(keepdim)).to(dtype)


def _count(op: str, input: Tensor, dim, keepdim: bool, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """(how many elements are kept over ``dim``, the bool mask or None)."""
    if mask is None:
        ones = Tensor._make(input._backend.xp.ones(tuple(input.shape), dtype="int64"), input._backend)
        return sum(ones, dim, keepdim=keepdim), None
    kept = _bool_mask(op, input, mask)
    return kept.sum(dim=_dims(op, dim, input.ndim), keepdim=keepdim), kept


def mean(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The mean of the elements kept (NaN where none is); a floating or complex dtype is needed."""
    if dtype is None:
        dtype, source = input.dtype, "Input"
    else:
        source = "Optional"
    if not (dtype.is_floating_point or dtype.is_complex):
        raise DTypeError(f"masked.mean: could not infer output dtype. {source} dtype must be either a floating "
                         f"point or complex dtype. Got: {dtype}")
    count, kept = _count("mean", input, dim, keepdim, mask)
    return sum(input, dim, keepdim=keepdim, dtype=dtype, mask=kept) / count


def median(input: Tensor, dim: int = -1, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The median of the elements kept along ``dim`` (nanmedian with the masked-out ones as NaN); an
    integer input needs every row to keep an element."""
    dtype = input.dtype if dtype is None else dtype
    axis = _dims("median", dim, input.ndim)[0]
    floating = input.dtype.is_floating_point
    values = _kept("median", input if floating else input.to(dtypes.float32), mask, "median")
    out = nanmedian(values, axis, keepdim).values
    if floating:
        return out
    if bool(out.isnan().any()):
        raise ArgumentError("masked.median: expects no fully masked out rows if dtype is not floating point")
    return out.to(dtype)


def logsumexp(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask: Tensor | None = None) -> Tensor:
    """log(sum(exp(x))) over the elements kept (-inf where none is)."""
    dtype = input.dtype if dtype is None else dtype
    return _logsumexp(_kept("logsumexp", input, mask, "max"), _dims("logsumexp", dim, input.ndim),
                      keepdim=keepdim).to(dtype)


def logaddexp(input: Tensor, other: Tensor, *, dtype=None, input_mask: Tensor | None = None,
              other_mask: Tensor | None = None) -> Tensor:
    """log(exp(input) + exp(other)), each side's masked-out elements counting as -inf."""
    dtype = input.dtype if dtype is None else dtype
    return _logaddexp(_kept("logaddexp", input, input_mask, "max"), _kept("logaddexp", other, other_mask, "max")).to(dtype)


def norm(input: Tensor, ord: float | None = 2.0, dim=None, *, keepdim: bool = False, dtype=None,
         mask: Tensor | None = None) -> Tensor:
    """The vector ``ord``-norm of the elements kept."""
    dtype = input.dtype if dtype is None else dtype
    kept = _kept("norm", input, mask, "norm", ord)
    return vector_norm(kept, ord, _dims("norm", dim, input.ndim), bool(keepdim), dtype=dtype)


def _std_var(op: str, input: Tensor, dim, unbiased, correction, keepdim: bool, dtype, mask, take_sqrt: bool) -> Tensor:
    if unbiased is not None and correction is not None:
        raise ArgumentError(f"masked.{op}: only one of unbiased and correction may be given")
    dof = float(correction) if correction is not None else 0.0 if unbiased is False else 1.0
    if dtype is None:
        dtype = input.dtype if input.dtype.is_floating_point or input.dtype.is_complex else dtypes.float32
    wide = dtype if dtype.is_floating_point or dtype.is_complex else dtypes.float32
    count, kept = _count(op, input, dim, True, mask)
    centred = input - sum(input, dim, keepdim=True, dtype=dtype, mask=kept) / count
    total = sum(centred * centred.conj(), dim, keepdim=keepdim, dtype=wide, mask=kept)
    if not keepdim:
        count = count.reshape(tuple(total.shape))
    if dof != 0:
        count = count.to(dtypes.real_of(wide)) - dof
        count = maximum(count, count.new_zeros([]))
    out = (total / count).to(dtype)
    return out.sqrt() if take_sqrt else out


def var(input: Tensor, dim=None, unbiased: bool | None = None, *, correction=None, keepdim: bool = False, dtype=None,
        mask: Tensor | None = None) -> Tensor:
    """The variance of the elements kept, divided by their count minus ``correction`` (1 by default)."""
    return _std_var("var", input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input: Tensor, dim=None, unbiased: bool | None = None, *, correction=None, keepdim: bool = False, dtype=None,
        mask: Tensor | None = None) -> Tensor:
    """The standard deviation of the elements kept (the square root of ``var``)."""
    return _std_var("std", input, dim, unbiased, correction, keepdim, dtype, mask, True)


def softmax(input: Tensor, dim: int, *, dtype=None, mask: Tensor | None = None) -> Tensor:
    """softmax along ``dim`` with the masked-out elements at -inf (probability 0; NaN where none is kept)."""
    dtype = input.dtype if dtype is None else dtype
    return F.softmax(_kept("softmax", input, mask, "max"), _dims("softmax", dim, input.ndim)[0], dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None, mask: Tensor | None = None) -> Tensor:
    """log_softmax along ``dim`` with the masked-out elements at -inf."""
    dtype = input.dtype if dtype is None else dtype
    return F.log_softmax(_kept("log_softmax", input, mask, "max"), _dims("log_softmax", dim, input.ndim)[0], dtype=dtype)


def softmin(input: Tensor, dim: int, *, dtype=None, mask: Tensor | None = None) -> Tensor:
    """softmin along ``dim`` with the masked-out elements at inf (weight 0)."""
    dtype = input.dtype if dtype is None else dtype
    return F.softmin(_kept("softmin", input, mask, "min"), _dims("softmin", dim, input.ndim)[0], dtype=dtype)


def normalize(input: Tensor, ord: float, dim: int, *, eps: float = 1e-12, dtype=None, mask: Tensor | None = None) -> Tensor:
    """The kept elements divided by their ``ord``-norm along ``dim`` (at least ``eps``); masked-out ones are 0."""
    dtype = input.dtype if dtype is None else dtype
    denominator = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return _kept("normalize", input, mask, "sum") / maximum(denominator, denominator.new_full([], eps))
