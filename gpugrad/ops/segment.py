"""``segment_reduce``: a reduction over consecutive segments of one dimension, as ``torch.segment_reduce``.

Each position of ``data`` along ``axis`` gets the number of its segment, and the segments are reduced by
``scatter_reduce`` (``include_self=False``) into a tensor with one slot per segment plus one that takes the
positions past the last segment (``unsafe=True`` lengths that do not cover the dimension), cut off at the
end. Gradients therefore are scatter_reduce's, which are PyTorch's segment_reduce's: sum and mean spread
the gradient, prod gives each element the product of the others (zeros handled), max and min share it
among the elements equal to the result; ``initial`` takes none. They differentiate again (PyTorch's
second derivative is not implemented).
"""
from __future__ import annotations

import math

from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from .elementwise import isnan, where
from .indexing import scatter_reduce

# torch's names -> scatter_reduce's
_REDUCE = {"sum": "sum", "mean": "mean", "prod": "prod", "max": "amax", "amax": "amax", "min": "amin",
           "amin": "amin"}
# What an empty segment holds when no ``initial`` is given: PyTorch's values.
_EMPTY = {"sum": 0.0, "mean": math.nan, "prod": 1.0, "amax": -math.inf, "amin": math.inf}


def _segment_lengths(data: Tensor, lengths: Tensor | None, offsets: Tensor | None, axis: int):
    """The lengths array, (*data.shape[:axis], S), from ``lengths`` or ``offsets``; checked."""
    op = "segment_reduce"
    given = lengths if lengths is not None else offsets
    name = "lengths" if lengths is not None else "offsets"
    if not isinstance(given, Tensor):
        raise TypeError(f"{op}(): {name} must be a Tensor, got {type(given).__name__}")
    if given._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: {name} must be an int32 or int64 tensor, got {given.dtype}")
    if given.ndim == 0:
        raise ShapeError(f"{op}: {name} must have at least one dimension, got a 0-d tensor")
    if given.ndim - 1 != axis:
        raise ArgumentError(f"{op}: expected axis to be the last dimension of {name} but got {axis}")
    if tuple(given.shape[:-1]) != tuple(data.shape[:axis]):
        raise ShapeError(f"{op}: {name} of shape {tuple(given.shape)} does not match data of shape "
                         f"{tuple(data.shape)} before axis {axis}")
    xp = data._backend.xp
    arr = given._array.astype(xp.int64)
    if lengths is None:
        if arr.shape[-1] == 0:
            raise ShapeError(f"{op}: offsets must hold at least one value (the start of the first segment)")
        arr = xp.diff(arr, axis=-1)
    return arr


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None, indices: Tensor | None = None,
                   offsets: Tensor | None = None, axis: int = 0, unsafe: bool = False,
                   initial: float | None = None) -> Tensor:
    """Reduce ``data`` along ``axis`` over consecutive segments, one result per segment.

    The segments are given by ``lengths`` (…, S), or by ``offsets`` (…, S + 1: each segment's start, then
    the end), whose leading dims are data's before ``axis`` (``axis`` is their last dim). ``reduce`` is
    ``"sum"``, ``"mean"``, ``"prod"``, ``"max"``/``"amax"`` or ``"min"``/``"amin"``; ``initial`` starts
    every segment's reduction (an empty segment gives it; without it, 0, NaN, 1, -inf, inf). Unless
    ``unsafe``, the lengths must cover the dimension exactly. Differentiable in ``data``.
    """
    op = "segment_reduce"
    if not isinstance(data, Tensor):
        raise TypeError(f"{op}(): data must be a Tensor, got {type(data).__name__}")
    if reduce not in _REDUCE:
        raise ArgumentError(f"{op}: reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if data._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point data tensor, got {data.dtype}")
    if lengths is None and offsets is None:
        if indices is not None:
            raise NotImplementedError(f"{op}: indices based reduction is not supported (as in PyTorch); give "
                                      "lengths or offsets")
        raise ArgumentError(f"{op}: either lengths or offsets must be defined")
    if data.ndim == 0:
        raise ShapeError(f"{op}: data must have at least one dimension, got a 0-d tensor")
    if not -data.ndim <= axis < data.ndim:
        raise IndexError(f"{op}: axis {axis} is out of range for data of {data.ndim} dimensions")
    axis %= data.ndim
    xp = data._backend.xp
    lens = _segment_lengths(data, lengths, offsets, axis)
    n = data.shape[axis]
    segments = lens.shape[-1]
    if lens.size and bool((lens < 0).any()):
        raise ArgumentError(f"{op}: lengths contains negative value!")
    if not unsafe and bool((lens.sum(axis=-1) != n).any()):
        raise ArgumentError(f"{op}: expected all rows of lengths along axis to sum to data.size({axis}) = {n} "
                            "when unsafe=False")
    rows = math.prod(data.shape[:axis])
    ends = xp.minimum(xp.cumsum(lens.reshape(rows, segments), axis=1), n)
    # Row r's ends, shifted by r * (n + 1), increase over the whole flattened array, so one searchsorted
    # numbers every position of every row (segments past the last end: number ``segments``, the spare slot).
    shift = xp.arange(rows, dtype=xp.int64)[:, None] * (n + 1)
    positions = xp.arange(n, dtype=xp.int64)[None, :] + shift
    seg = xp.searchsorted((ends + shift).reshape(-1), positions.reshape(-1), side="right").reshape(rows, n)
    seg = seg - xp.arange(rows, dtype=xp.int64)[:, None] * segments
    trail = data.shape[axis + 1:]
    index = xp.broadcast_to(seg.reshape(data.shape[:axis] + (n,) + (1,) * len(trail)), data.shape)
    index = Tensor._make(xp.ascontiguousarray(index), data._backend)
    how = _REDUCE[reduce]
    slots = data.shape[:axis] + (segments + 1,) + trail
    dtype = data._array.dtype

    def const(value) -> Tensor:
        return Tensor._make(xp.full(slots, value, dtype=dtype), data._backend)

    def cut(t: Tensor) -> Tensor:
        return t.narrow(axis, 0, segments)

    if how == "mean":
        total = cut(scatter_reduce(const(0.0), axis, index, data, "sum", include_self=False))
        owners = seg + xp.arange(rows, dtype=xp.int64)[:, None] * (segments + 1)  # one slot per (row, segment)
        counts = xp.bincount(owners.reshape(-1), minlength=rows * (segments + 1))
        counts = counts.reshape(data.shape[:axis] + (segments + 1,))[..., :segments]
        counts = counts.reshape(counts.shape + (1,) * len(trail))
        empty = Tensor._make(xp.broadcast_to(counts == 0, total.shape), data._backend)
        if initial is not None:
            total = total + initial
        divisor = Tensor._make(xp.maximum(counts, 1).astype(dtype), data._backend)
        fill = math.nan if initial is None else initial
        return where(empty, cut(const(fill)), total / divisor)
    out = cut(scatter_reduce(const(_EMPTY[how]), axis, index, data, how, include_self=False))
    if initial is None:
        return out
    if how == "sum":
        return out + initial
    if how == "prod":
        return out * initial
    # max / min: ``initial`` is the result where it beats every value (or is NaN); otherwise the values'
    # own result, whose gradient goes to them alone, ties with ``initial`` included (PyTorch's rule).
    init = cut(const(initial))
    wins = (init > out) if how == "amax" else (init < out)
    if math.isnan(initial):
        wins = wins | ~isnan(out)
    return where(wins, init, out)


FUNCTIONS = (segment_reduce,)
DIFFERENTIABLE = (segment_reduce,)
METHODS: dict = {}
