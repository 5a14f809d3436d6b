"""Indexing and selection: ``x[index]``, gather/scatter, index_* and masked_* ops, take, sort and search.

``x[index]`` follows PyTorch, which differs from NumPy in one place: integers are applied first, as basic
indexing (``select``), and only then are the index tensors placed among the dims that remain by NumPy's
rule (together where they are adjacent, else in front). So every index is split into a basic part (ints,
slices, None: a view) and an advanced part applied to that view (int arrays, and bool masks turned into
int arrays). Gradients of every selection scatter back with accumulation over repeated indices.
"""
from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy  # host-side only: lists given as indices, and shape arithmetic

from .. import threads as _threads
from .._caller import user_stacklevel
from ..amp.policy import PROMOTE, autocast_policy
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, IndexOutOfRangeError, ShapeError
from ..errors import broadcast_mismatch
from ..kernels import gather as kgather
from ..tensor import Tensor
from . import _histogram
from ._operands import normalize_dims, scalar_argument, write_out
from .complex_numbers import refuse_complex

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What sort, topk and kthvalue return, as torch.return_types."


# Parsing ``x[index]`` --------------------------------------------------------------------------------
_FLOAT_INDEX = "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"


def _is_int(p) -> bool:
    return isinstance(p, int) or (hasattr(p, "dtype") and getattr(p, "ndim", 1) == 0 and p.dtype.kind in "iu")


def _index_part(p, x: Tensor):
    """One entry of an index as (kind, value): 'int', 'slice', 'none', 'ellipsis', 'bool' (a scalar
    True/False), 'array' (int64 backend array) or 'mask' (bool backend array)."""
    backend = x._backend
    if p is None:
        return "none", None
    if p is Ellipsis:
        return "ellipsis", None
    if isinstance(p, slice):
        if p.step is not None and int(p.step) <= 0:
            raise ArgumentError(f"index: step must be greater than zero, got {p.step} (tensor of shape {tuple(x.shape)})")
        return "slice", p
    if isinstance(p, bool):
        return "bool", p
    if isinstance(p, float):
        raise IndexError(f"index: {_FLOAT_INDEX} (got float; tensor of shape {tuple(x.shape)})")
    if isinstance(p, Tensor):
        if p._backend is not backend and p.ndim > 0:
            if p.device.type != "cpu":  # PyTorch takes CPU indices for any tensor, device indices for their own
                raise DeviceError(f"index: indices should be either on cpu or on the same device as the indexed "
                                  f"tensor ({x.device}), got {p.device}")
            p = Tensor._make(backend.asarray(p._array), backend)
        kind = p._array.dtype.kind
        # PyTorch takes int8/int16 only as 0-d indices (read as the int they hold).
        if kind not in "iub" or (kind == "i" and p.ndim and p._array.dtype.itemsize < 4):
            raise IndexError(
                f"index: tensors used as indices must be long, int, byte or bool tensors, got {p.dtype} "
                f"(tensor of shape {tuple(x.shape)})"
            )
        if kind == "u":
            return _byte_mask(p._array)
        if p.ndim == 0:  # a 0-d tensor acts as the Python scalar it holds, as in PyTorch
            return ("bool", bool(p.item())) if kind == "b" else ("int", int(p.item()))
        return ("mask", p._array) if kind == "b" else ("array", p._array.astype(backend.xp.int64, copy=False))
    if isinstance(p, numpy.ndarray) and p.dtype == numpy.uint8:  # PyTorch reads it as a byte tensor
        return _byte_mask(backend.asarray(p))
    if _is_int(p):
        return "int", int(p)
    if isinstance(p, (list, tuple, range)) or hasattr(p, "shape"):
        host = numpy.asarray(p)  # a range is a sequence of ints, as PyTorch reads it
        if host.ndim == 0:  # a NumPy scalar
            if host.dtype.kind == "b":
                return "bool", bool(host)
            raise IndexError(f"index: {_FLOAT_INDEX} (got {host.dtype}; tensor of shape {tuple(x.shape)})")
        if host.dtype.kind == "b":
            return "mask", backend.asarray(host)
        if host.dtype.kind not in "iuf" and host.size:
            raise IndexError(f"index: {_FLOAT_INDEX} (got a list of {host.dtype}; tensor of shape {tuple(x.shape)})")
        # PyTorch turns a list of numbers into an integer tensor, truncating floats.
        return "array", backend.asarray(host.astype(numpy.int64))
    raise IndexError(f"index: {_FLOAT_INDEX} (got {type(p).__name__}; tensor of shape {tuple(x.shape)})")


def _byte_mask(array) -> tuple:
    """A uint8 index as PyTorch reads it (deprecated there, and here with its warning): a mask whose
    nonzero entries are True, or for a 0-d one the scalar True/False."""
    warnings.warn("indexing with dtype uint8 is now deprecated, please use a dtype bool instead.", UserWarning,
                  stacklevel=user_stacklevel())
    if array.ndim == 0:
        return "bool", bool(array)
    return "mask", array != 0


def _as_tuple_index(index) -> tuple:
    if isinstance(index, tuple):
        return index
    # Like PyTorch (and old NumPy), a short list holding slices, None, Ellipsis, tensors or sequences is
    # read as a tuple: x[[[0, 1], [1, 2]]] is x[[0, 1], [1, 2]].
    if isinstance(index, list) and len(index) < 32 and any(
        p is None or p is Ellipsis or isinstance(p, (slice, list, tuple, Tensor)) for p in index
    ):
        return tuple(index)
    return (index,)


def _check_in_range(op: str, array, shape: tuple, dim: int, exc=IndexError, allow_negative: bool = True,
                    shown_dim: int | None = None, in_self: bool = False) -> None:
    """Raise PyTorch's out-of-bounds error when an index falls outside ``[-size, size)`` (or ``[0, size)``).
    CuPy would wrap such indices silently, so the check is ours on every backend. ``shown_dim`` is the dim
    the message names where PyTorch names another than ``dim`` (see parse_index); ``in_self``: PyTorch's
    text for index_select, "index out of range in self"."""
    if array.size == 0:
        return
    size = shape[dim] if shape else 1  # a 0-d tensor counts as one dim of size 1
    bounds = kgather.index_bounds(array)  # a large one in one pass over the threads
    lo, hi = bounds if bounds is not None else (int(array.min()), int(array.max()))
    low_limit = -size if allow_negative else 0
    if lo < low_limit or hi >= size:
        bad = lo if lo < low_limit else hi
        shown = dim if shown_dim is None else shown_dim
        if in_self:
            raise exc(f"{op}: index out of range in self (index {bad}, dimension {shown} with size {size})")
        raise exc(f"{op}: index {bad} is out of bounds for dimension {shown} with size {size} (tensor of shape {tuple(shape)})")


def parse_index(x: Tensor, index):
    """Split an index into ``(basic, advanced)`` with PyTorch's meaning: ``x._array[basic][advanced]``.

    ``basic`` holds ints, slices and None (it always ends with Ellipsis, so that it gives a view even
    when every dim is selected); ``advanced`` is None or a tuple of slices and int64 arrays over the
    dims of ``x._array[basic]``.
    """
    parts = [_index_part(p, x) for p in _as_tuple_index(index)]
    consumed = sum(1 if k in ("int", "slice", "array") else (v.ndim if k == "mask" else 0) for k, v in parts)
    ellipses = sum(k == "ellipsis" for k, _ in parts)
    if ellipses > 1:
        raise IndexError(f"index: an index can only have a single ellipsis (tensor of shape {tuple(x.shape)})")
    if consumed > x.ndim:
        raise IndexError(f"index: too many indices for tensor of dimension {x.ndim} (shape {tuple(x.shape)})")
    shape = tuple(x.shape)
    basic, advanced = [], []
    dim = 0  # the dim of x the next part applies to
    advanced_count = 0  # index tensors so far: PyTorch's out-of-bounds error names an index tensor by this count
    has_advanced = False
    for kind, value in parts:
        if kind == "ellipsis":
            rest = x.ndim - consumed
            basic += [slice(None)] * rest
            advanced += [slice(None)] * rest
            dim += rest
        elif kind == "none":
            basic.append(None)
            advanced.append(slice(None))
        elif kind == "slice":
            basic.append(value)
            advanced.append(slice(None))
            dim += 1
        elif kind == "int":
            if not -shape[dim] <= value < shape[dim]:
                raise IndexError(
                    f"index: index {value} is out of bounds for dimension {dim} with size {shape[dim]} (tensor of shape {shape})"
                )
            basic.append(value)
            dim += 1
        elif kind == "bool":  # PyTorch: a new dim of size 1, indexed by [0] (True) or [] (False)
            basic.append(None)
            advanced.append(x._backend.xp.arange(1 if value else 0, dtype=x._backend.xp.int64))
            advanced_count += 1
            has_advanced = True
        elif kind == "array":
            _check_in_range("index", value, shape, dim, shown_dim=advanced_count)
            basic.append(slice(None))
            advanced.append(value)
            advanced_count += 1
            has_advanced = True
            dim += 1
        else:  # mask
            _check_mask_shape(value, shape, dim)
            basic += [slice(None)] * value.ndim
            advanced += mask_parts(x._backend.xp, value)
            advanced_count += value.ndim
            has_advanced = True
            dim += value.ndim
    basic.append(Ellipsis)
    return tuple(basic), (tuple(advanced) if has_advanced else None)


def mask_parts(xp, mask) -> list:
    """A bool mask's entries in an ``advanced`` index: on the CPU the mask itself (NumPy reads it as its
    nonzero positions, in one pass where the positions' int64 arrays took a pass of their own and a gather
    by k arrays; its positions never repeat, so a gradient lands by assignment: IndexBackward), elsewhere its
    nonzero positions, one int array per dim it covers."""
    return [mask] if xp is numpy else list(xp.nonzero(mask))


def _check_mask_shape(mask, shape: tuple, dim: int) -> None:
    for j, size in enumerate(mask.shape):
        if size != shape[dim + j]:
            raise IndexError(
                f"index: the shape of the mask {list(mask.shape)} at index {j} does not match the shape of the "
                f"indexed tensor {list(shape)} at index {dim + j}"
            )


class IndexBackward(Op):
    """Scatter a gradient back into zeros of the indexed tensor's shape; repeated indices accumulate."""

    complex_ok = True

    @staticmethod
    def forward(ctx, gy, shape=(), basic=(Ellipsis,), advanced=None):
        ctx.basic, ctx.advanced = basic, advanced
        out = ctx.xp.zeros(shape, dtype=gy.dtype)
        region = out[basic]  # a view: basic indexing never copies
        if advanced is None and ctx.xp is numpy:
            _threads.assign(region, gy)  # a large one over the threads (x[:, ::2]'s strided region)
        elif advanced is None:
            region[...] = gy
        elif _one_mask(advanced):
            region[advanced] = gy  # a mask's positions are distinct: nothing to accumulate
        elif not _index_add_one_array(ctx, region, advanced, gy):
            ctx.backend.index_add(region, advanced, gy)
        return out

    @staticmethod
    def backward(ctx, ggx):
        return GetItem.apply(ggx, basic=ctx.basic, advanced=ctx.advanced)


def _one_mask(advanced: tuple) -> bool:
    """Whether a bool mask is the index's only array (mask_parts' CPU form): each position taken once."""
    arrays = [p for p in advanced if not isinstance(p, slice)]
    return len(arrays) == 1 and arrays[0].dtype.kind == "b"


def _index_add_one_array(ctx, region, advanced: tuple, gy) -> bool:
    """``region[advanced] += gy`` as the CPU's index_add kernel (np.add.at's bits, much faster) when the
    index is one int array among full slices, as in ``x[ids]`` and ``x[:, ids]``; False (nothing done)
    for any other index, and on a GPU."""
    if ctx.xp is not numpy or not region.flags.c_contiguous:
        return False
    arrays = [d for d, p in enumerate(advanced) if not isinstance(p, slice)]
    if len(arrays) != 1 or any(p != slice(None) for p in advanced if isinstance(p, slice)):
        return False
    axis = arrays[0]
    idx = advanced[axis]
    if idx.dtype.kind not in "iu":
        return False
    # gy holds idx's dims in place of axis (one index array stays where it is): flattened to one dim.
    src = gy.reshape(region.shape[:axis] + (idx.size,) + region.shape[axis + 1:])
    kgather.index_add(numpy, region, idx.reshape(-1), src, axis)
    return True


class GetItem(Op):
    """x[basic][advanced]. Its backward is IndexBackward, once."""

    complex_ok = True
    derivative = IndexBackward

    @staticmethod
    def forward(ctx, x, basic=(Ellipsis,), advanced=None):
        ctx.derivative_kwargs = {"shape": x.shape, "basic": basic, "advanced": advanced}
        y = x[basic]
        return y if advanced is None else _row_major(y[advanced])


class GetItemView(GetItem):
    is_view = True
    name = "getitem"


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with PyTorch's meaning: ints, slices, None and Ellipsis give a view; int and bool
    tensors (and lists) give a copy whose gradient accumulates over repeated indices."""
    basic = _ints_and_slices(x, index)
    if basic is not None:
        return GetItemView.apply_one(x, basic=basic)
    basic, advanced = parse_index(x, index)
    if advanced is None:
        return GetItemView.apply_one(x, basic=basic)
    return GetItem.apply_one(x, basic=basic, advanced=advanced)


def _ints_and_slices(x: Tensor, index):
    """``basic`` for the commonest indexes, decided cheaply: Python ints within their dims and slices of
    Python ints with no step (``x[i]``, ``x[:, 0]``, ``x[1:3]``), one per dim at most; None for anything
    else, which parse_index reads (and where wrong, names the error)."""
    parts = index if index.__class__ is tuple else (index,)
    shape = x._array.shape
    if len(parts) > len(shape):
        return None
    for size, p in zip(shape, parts):
        kind = p.__class__
        if kind is int:
            if not -size <= p < size:
                return None
        elif kind is not slice or p.step is not None or not (
                p.start is None or p.start.__class__ is int) or not (p.stop is None or p.stop.__class__ is int):
            return None
    return parts + (Ellipsis,)


class SetItem(Op):
    """``x[index] = value`` out of place. The value's gradient is the indexed gradient (each copy of a
    repeated index gets it, as in PyTorch, even though only one write survives)."""

    complex_ok = True

    @staticmethod
    def forward(ctx, x, value, basic=(Ellipsis,), advanced=None):
        ctx.basic, ctx.advanced = basic, advanced
        ctx.value_ndim = value.ndim
        out = x.copy()
        assign(out, basic, advanced, value)
        return out

    @staticmethod
    def backward(ctx, gy):
        g_x = g_v = None
        if ctx.needs_input_grad[0]:
            zero = Tensor._make(ctx.xp.zeros((), dtype=gy._array.dtype), gy._backend)
            g_x = SetItem.apply(gy, zero, basic=ctx.basic, advanced=ctx.advanced)
        if ctx.needs_input_grad[1]:
            g_v = GetItem.apply(gy, basic=ctx.basic, advanced=ctx.advanced)
            if ctx.value_ndim > g_v.ndim:  # the value had extra leading dims of size 1
                g_v = g_v.reshape((1,) * (ctx.value_ndim - g_v.ndim) + tuple(g_v.shape))
        return g_x, g_v


def assign(array, basic, advanced, value) -> None:
    """``array[index] = value`` for a parsed index, raising PyTorch's message when value does not fit."""
    region = array[basic]
    try:
        if advanced is None:
            region[...] = value
        else:
            region[advanced] = value
    except ValueError as exc:
        vshape = list(getattr(value, "shape", ()))
        target = region if advanced is None else region[advanced]
        raise ShapeError(
            f"index: shape mismatch: value tensor of shape {vshape} cannot be broadcast to indexing result of "
            f"shape {list(target.shape)}"
        ) from exc


# Shared checks for the dim-wise ops -------------------------------------------------------------------
def _index_array(op: str, index, like: Tensor, wanted: str = "int32/int64"):
    """An index tensor's data as int64, after PyTorch's dtype and device checks."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: argument 'index' must be a Tensor, not {type(index).__name__}")
    if index._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected dtype {wanted} for index, got {index.dtype}")
    if index._backend is not like._backend:
        raise DeviceError(f"{op}: expected index on {like.device}, got {index.device}")
    return index._array.astype(like._backend.xp.int64, copy=False)


def _axis(op: str, dim: int, ndim: int) -> int:
    (axis,) = normalize_dims(op, dim, ndim)
    return axis


def _along(xp, idx, axis: int) -> tuple:
    """The index tuple that addresses ``a[i_0, ..., idx[i], ..., i_n]`` for every position i of idx."""
    return tuple(
        idx if d == axis else xp.arange(n).reshape([-1 if e == d else 1 for e in range(idx.ndim)])
        for d, n in enumerate(idx.shape)
    )


def _leading(shape: tuple) -> tuple:
    """Slices selecting the leading block of the given shape (src may be larger than index in scatter)."""
    return tuple(slice(0, n) for n in shape)


def _zeros(like: Tensor, shape: tuple) -> Tensor:
    return Tensor._make(like._backend.xp.zeros(shape, dtype=like._array.dtype), like._backend)


def _check_gather_shapes(op: str, x: Tensor, idx, axis: int, src: Tensor | None = None) -> None:
    if idx.size == 0:  # PyTorch checks nothing of an empty index
        return
    if idx.ndim != max(x.ndim, 1) and not (idx.ndim == 0 and x.ndim == 0):
        raise ShapeError(
            f"{op}: index tensor must have the same number of dimensions as input tensor, got index shape "
            f"{tuple(idx.shape)} and input shape {tuple(x.shape)}"
        )
    for d in range(idx.ndim):
        if x.ndim and d != axis and idx.shape[d] > x.shape[d]:
            raise ShapeError(
                f"{op}: size does not match at dimension {d}: expected index {list(idx.shape)} to be no larger "
                f"than self {list(x.shape)} apart from dimension {axis}"
            )
        if src is not None and src.ndim and idx.shape[d] > src.shape[d]:
            raise ShapeError(
                f"{op}: expected index {list(idx.shape)} to be no larger than self {list(x.shape)} apart from "
                f"dimension {axis} and to be no larger size than src {list(src.shape)}"
            )


def _flat_if_scalar(x, *others):
    """A 0-d input and its 0-d operands as 1-element arrays: the dim-wise ops treat a 0-d tensor as
    having one dim of size 1. Any other input passes through with its operands unchanged."""
    arrays = (x,) + others
    if x.ndim != 0:
        return list(arrays)
    return [a.reshape(1) if a.ndim == 0 else a for a in arrays]


# gather / scatter ----------------------------------------------------------------------------------------
class Gather(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, idx=None, axis=0):
        ctx.shape, ctx.idx, ctx.axis = x.shape, idx, axis
        if idx.size == 0:  # an empty index of any shape reads nothing, as PyTorch's
            return ctx.xp.empty(idx.shape, dtype=x.dtype)
        (x1,) = _flat_if_scalar(x)
        i1 = idx.reshape(1) if idx.ndim == 0 else idx
        if ctx.xp is numpy:  # the CPU's gather kernel (NumPy's fancy indexing otherwise: the same values)
            return kgather.gather_along(numpy, x1, i1, axis).reshape(idx.shape)
        return x1[_along(ctx.xp, i1, axis)].reshape(idx.shape)

    @staticmethod
    def backward(ctx, gy):
        if ctx.idx.size == 0:
            return _zeros(gy, ctx.shape)
        return ScatterAdd.apply(_zeros(gy, ctx.shape), gy, idx=ctx.idx, axis=ctx.axis, fresh=True)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for dim=1). The gradient scatter-adds back, so
    repeated indices accumulate; it is always dense (``sparse_grad`` is accepted for PyTorch's signature)."""
    idx = _index_array("gather", index, input)
    axis = _axis("gather", dim, input.ndim)
    _check_gather_shapes("gather", input, idx, axis)
    _check_in_range("gather", idx, tuple(input.shape), axis, ArgumentError, allow_negative=False)
    return write_out("gather", Gather.apply(input, idx=idx, axis=axis), out)


class ScatterAdd(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, src, idx=None, axis=0, fresh=False):
        # fresh: x is zeros a backward made for this op alone, which it may fill in place
        ctx.idx, ctx.axis, ctx.src_shape = idx, axis, src.shape
        out = x if fresh else x.copy()
        o1, s1, i1 = _flat_if_scalar(out, src, idx)
        if ctx.xp is numpy:  # the CPU's scatter-add kernel: np.add.at's bits (its own call where it must)
            kgather.scatter_add_along(numpy, o1, i1, s1[_leading(i1.shape)], axis)
        else:
            ctx.backend.index_add(o1, _along(ctx.xp, i1, axis), s1[_leading(i1.shape)])
        return out

    @staticmethod
    def backward(ctx, gy):
        g_src = None
        if ctx.needs_input_grad[1]:
            g_src = _pad_to(Gather.apply(gy, idx=ctx.idx, axis=ctx.axis), ctx.src_shape)
        return gy, g_src


def _pad_to(g: Tensor, shape: tuple) -> Tensor:
    """g in the leading block of zeros of ``shape`` (src may be larger than the index that used it)."""
    if tuple(g.shape) == tuple(shape):
        return g
    return IndexBackward.apply(g, shape=shape, basic=_leading(tuple(g.shape)) + (Ellipsis,))


def _scatter_operands(op: str, input: Tensor, dim: int, index: Tensor, src) -> tuple:
    idx = _index_array(op, index, input)
    axis = _axis(op, dim, input.ndim)
    if isinstance(src, Tensor):
        if src._backend is not input._backend:
            raise DeviceError(f"{op}: expected src on {input.device}, got {src.device}")
        if src.dtype is not input.dtype:
            raise DTypeError(f"{op}: expected self.dtype to be equal to src.dtype, got {input.dtype} and {src.dtype}")
        if src.ndim != input.ndim:
            raise ShapeError(
                f"{op}: index, self and src must have the same number of dimensions, got shapes "
                f"{tuple(index.shape)}, {tuple(input.shape)} and {tuple(src.shape)}"
            )
    _check_gather_shapes(op, input, idx, axis, src if isinstance(src, Tensor) else None)
    _check_in_range(op, idx, tuple(input.shape), axis, ArgumentError, allow_negative=False)
    return idx, axis


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input`` with ``src`` added at the positions ``index`` names along ``dim``; repeated indices
    accumulate. d/dinput = 1, d/dsrc = the gradient gathered at each src element's destination."""
    idx, axis = _scatter_operands("scatter_add", input, dim, index, src)
    return write_out("scatter_add", ScatterAdd.apply(input, src, idx=idx, axis=axis), out)


class Scatter(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, src, idx=None, axis=0):
        ctx.idx, ctx.axis, ctx.src_shape = idx, axis, src.shape
        out = x.copy()
        o1, s1, i1 = _flat_if_scalar(out, src, idx)
        o1[_along(ctx.xp, i1, axis)] = s1 if s1.ndim == 0 else s1[_leading(i1.shape)]  # 0-d: a scalar value
        return out

    @staticmethod
    def backward(ctx, gy):
        g_x = g_src = None
        if ctx.needs_input_grad[0]:
            g_x = Scatter.apply(gy, _zeros(gy, ()), idx=ctx.idx, axis=ctx.axis)
        if ctx.needs_input_grad[1]:
            g_src = Gather.apply(gy, idx=ctx.idx, axis=ctx.axis)
            g_src = g_src.sum() if len(ctx.src_shape) == 0 else _pad_to(g_src, ctx.src_shape)
        return g_x, g_src


class ScatterWithReduce(Op):
    """scatter's legacy ``reduce="add"|"multiply"``: computed, but (as in PyTorch) not differentiable."""

    @staticmethod
    def forward(ctx, x, src, idx=None, axis=0, reduce="add"):
        out = x.copy()
        o1, s1, i1 = _flat_if_scalar(out, src, idx)
        part = s1 if s1.ndim == 0 else s1[_leading(i1.shape)]
        pos = _along(ctx.xp, i1, axis)
        if reduce == "add":
            ctx.backend.index_add(o1, pos, part)
        else:
            ctx.backend.index_reduce(o1, pos, part, "prod")
        return out

    @staticmethod
    def backward(ctx, gy):
        raise RuntimeError("scatter: the derivative of scatter with reduce= is not implemented (as in PyTorch); "
                           "use scatter_reduce, which has one")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce: str | None = None,
            out: Tensor | None = None) -> Tensor:
    """``input`` with ``src`` (a tensor, or a scalar ``value``) written at the positions ``index`` names
    along ``dim``. d/dinput = 1 where nothing was written, else 0; d/dsrc = the gradient at each src
    element's destination: where indices repeat, only one write survives but every src element that
    aimed at that position gets its gradient, as in PyTorch."""
    if (src is None) == (value is None):
        raise ArgumentError("scatter: expected exactly one of src (a tensor) or value (a scalar)")
    src = value if src is None else src
    idx, axis = _scatter_operands("scatter", input, dim, index, src)
    if not isinstance(src, Tensor):
        src = Tensor._make(input._backend.xp.asarray(src, dtype=input._array.dtype), input._backend)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ArgumentError(f"scatter: reduce argument must be either add or multiply, got {reduce!r}")
        result = ScatterWithReduce.apply(input, src, idx=idx, axis=axis, reduce=reduce)
    else:
        result = Scatter.apply(input, src, idx=idx, axis=axis)
    return write_out("scatter", result, out)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(xp, reduce: str, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind in FLOAT_KINDS:
        return -xp.inf if reduce == "amax" else xp.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Op):
    @staticmethod
    def forward(ctx, x, src, idx=None, axis=0, reduce="sum", include_self=True):
        xp = ctx.xp
        ctx.idx, ctx.axis, ctx.reduce, ctx.include_self, ctx.src_shape = idx, axis, reduce, include_self, src.shape
        out = x.copy()
        o1, s1, i1 = _flat_if_scalar(out, src, idx)
        pos = _along(xp, i1, axis)
        part = s1[_leading(i1.shape)]
        if not include_self:
            o1[pos] = _identity(xp, reduce, x.dtype)
        if reduce in ("sum", "mean"):
            ctx.backend.index_add(o1, pos, part)
        else:
            ctx.backend.index_reduce(o1, pos, part, reduce)
        if reduce == "mean":
            count = xp.full(o1.shape, 1 if include_self else 0, dtype=xp.int64)
            ctx.backend.index_add(count, pos, 1)
            count = xp.maximum(count, 1)  # untouched positions keep self
            if x.dtype.kind in FLOAT_KINDS:
                o1[...] = o1 / count.astype(x.dtype)
            else:
                o1[...] = xp.floor_divide(o1, count)  # PyTorch rounds integer means down
            ctx.count = count.reshape(out.shape)
        saves = (x, src, out) if reduce in ("prod", "amax", "amin") else ()
        ctx.save_for_backward(*saves)
        return out

    @staticmethod
    def backward(ctx, gy):
        idx, axis, reduce = ctx.idx, ctx.axis, ctx.reduce
        if reduce == "sum":
            g_x, g_src = gy, Gather.apply(gy, idx=idx, axis=axis)
        elif reduce == "mean":
            g_x = gy / Tensor._make(ctx.count.astype(gy._array.dtype), gy._backend)
            g_src = Gather.apply(g_x, idx=idx, axis=axis)
        elif reduce == "prod":
            g_x, g_src = _prod_grads(ctx, gy)
        else:
            g_x, g_src = _extremum_grads(ctx, gy)
        if not ctx.include_self:
            g_x = Scatter.apply(g_x, _zeros(g_x, ()), idx=idx, axis=axis)
        return g_x, _pad_to(g_src, ctx.src_shape)


def _src_part(src: Tensor, idx) -> Tensor:
    return src if tuple(src.shape) == tuple(idx.shape) else src[_leading(tuple(idx.shape))]


def _prod_grads(ctx, gy):
    """PyTorch's product gradient: each factor's gradient is the product of the others, computed
    explicitly where a factor is 0 (so a single zero still passes a gradient to itself)."""
    x, src, result = ctx.saved_tensors
    idx, axis, include_self = ctx.idx, ctx.axis, ctx.include_self
    part = _src_part(src, idx)
    masked_x = masked_fill(x, x == 0, 1.0)
    masked_x_result = ScatterReduce.apply(masked_x, part, idx=idx, axis=axis, reduce="prod", include_self=include_self)
    g_x = gy * masked_x_result / masked_x
    src_zero = part == 0
    zeros_per_slot = ScatterAdd.apply(_zeros(x, tuple(x.shape)), src_zero.to(x.dtype), idx=idx, axis=axis)
    single_zero = src_zero & (Gather.apply(zeros_per_slot, idx=idx, axis=axis) == 1)
    masked_src = masked_fill(part, single_zero, 1.0)
    masked_src_result = ScatterReduce.apply(x, masked_src, idx=idx, axis=axis, reduce="prod", include_self=include_self)
    g_src = _where(
        single_zero,
        Gather.apply(gy * masked_src_result, idx=idx, axis=axis),
        Gather.apply(gy * result, idx=idx, axis=axis) / masked_fill(part, src_zero, 1.0),
    )
    return g_x, g_src


def _extremum_grads(ctx, gy):
    """amax/amin: the gradient is shared evenly among every element equal to the result, as PyTorch."""
    x, src, result = ctx.saved_tensors
    idx, axis = ctx.idx, ctx.axis
    part = _src_part(src, idx)
    value = Gather.apply(result, idx=idx, axis=axis)
    x_is = (x == result).to(gy.dtype)
    src_is = (part == value).to(gy.dtype)
    share = gy / ScatterAdd.apply(x_is, src_is, idx=idx, axis=axis)
    return x_is * share, src_is * Gather.apply(share, idx=idx, axis=axis)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True,
                   out: Tensor | None = None) -> Tensor:
    """Reduce ``src`` into ``input`` at the positions ``index`` names along ``dim``, with ``reduce`` one
    of sum, prod, mean, amax, amin; ``include_self=False`` leaves input's values out where something is
    scattered. Gradients as PyTorch: sum and mean spread the gradient, prod gives the product of the
    other factors, amax/amin share it evenly among the elements equal to the result."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce: argument 'src' must be a Tensor, not {type(src).__name__}")
    if reduce not in _REDUCTIONS:
        raise ArgumentError(f"scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    idx, axis = _scatter_operands("scatter_reduce", input, dim, index, src)
    result = ScatterReduce.apply(input, src, idx=idx, axis=axis, reduce=reduce, include_self=include_self)
    return write_out("scatter_reduce", result, out)


# index_select / index_add / index_copy / index_fill ----------------------------------------------------
def _dim_index(op: str, x: Tensor, dim: int, index: Tensor, exc=ArgumentError, allow_negative=False,
               wanted: str = "int32/int64", in_self: bool = False):
    """The 1-D index of an index_* op, checked, and the axis it applies to."""
    idx = _index_array(op, index, x, wanted)
    if idx.ndim > 1:
        raise IndexError(f"{op}: index is supposed to be a vector, got shape {tuple(index.shape)}")
    axis = _axis(op, dim, x.ndim)
    idx = idx.reshape(-1)
    _check_in_range(op, idx, tuple(x.shape), axis, exc, allow_negative, in_self=in_self)
    return idx, axis


def _row_major(out):
    """An advanced-indexing result in row-major memory, as PyTorch allocates it: NumPy puts the indexed dims
    first in memory when they are not the leading dims (``x[:, idx]``), and follows an expanded input's
    zero strides, which leaves a result ``view`` cannot reshape."""
    return out if out.flags.c_contiguous else out.copy(order="C")


def _at(axis: int, idx) -> tuple:
    return (slice(None),) * axis + (idx,)


class IndexSelect(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, idx=None, axis=0):
        ctx.shape, ctx.idx, ctx.axis = x.shape, idx, axis
        (x1,) = _flat_if_scalar(x)
        out = _row_major(x1[_at(axis, idx)])
        return out.reshape(()) if x.ndim == 0 else out

    @staticmethod
    def backward(ctx, gy):
        return IndexAdd.apply(_zeros(gy, ctx.shape), gy, idx=ctx.idx, axis=ctx.axis, fresh=True)


def index_select(input: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The slices of ``input`` at ``index`` (a vector) along ``dim``. The gradient index-adds back."""
    idx, axis = _dim_index("index_select", input, dim, index, IndexOutOfRangeError, wanted="int32 or int64",
                           in_self=True)
    if input.ndim == 0 and idx.size != 1:
        raise ArgumentError(f"index_select: index to scalar can have only 1 value, got {idx.size} value(s)")
    return write_out("index_select", IndexSelect.apply(input, idx=idx, axis=axis), out)


class IndexAdd(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, source, idx=None, axis=0, alpha=1, fresh=False):
        # fresh: x is zeros a backward made for this op alone, which it may fill in place
        ctx.idx, ctx.axis, ctx.alpha = idx, axis, alpha
        out = x if fresh else x.copy()
        o1, s1 = _flat_if_scalar(out, source)
        s1 = s1 if alpha == 1 else s1 * alpha
        if ctx.xp is numpy:  # the CPU's index_add kernel: np.add.at's bits (its own call where it must)
            kgather.index_add(numpy, o1, idx, s1, axis)
        else:
            ctx.backend.index_add(o1, _at(axis, idx), s1)
        return out

    @staticmethod
    def backward(ctx, gy):
        g_src = None
        if ctx.needs_input_grad[1]:
            g_src = IndexSelect.apply(gy, idx=ctx.idx, axis=ctx.axis)
            if ctx.alpha != 1:
                g_src = g_src * ctx.alpha
        return gy, g_src


def _check_source(op: str, x: Tensor, source: Tensor, idx, axis: int) -> None:
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}: argument 'source' must be a Tensor, not {type(source).__name__}")
    if source._backend is not x._backend:
        raise DeviceError(f"{op}: expected source on {x.device}, got {source.device}")
    if source.dtype is not x.dtype:
        raise DTypeError(f"{op}: self ({x.dtype}) and source ({source.dtype}) must have the same scalar type")
    expected = list(x.shape) if x.ndim else [1]
    expected[axis] = idx.size
    got = list(source.shape) if source.ndim else [1]
    if got != expected:
        raise ShapeError(
            f"{op}: source of shape {tuple(source.shape)} does not fit: self has shape {tuple(x.shape)} and "
            f"{idx.size} indices along dimension {axis}, so source must have shape {tuple(expected)}"
        )


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input`` with ``alpha * source`` added at ``index`` along ``dim``; repeated indices accumulate.
    d/dinput = 1, d/dsource = alpha times the gradient at each slice's destination."""
    idx, axis = _dim_index("index_add", input, dim, index)
    _check_source("index_add", input, source, idx, axis)
    alpha = scalar_argument("index_add", "alpha", alpha)
    return write_out("index_add", IndexAdd.apply(input, source, idx=idx, axis=axis, alpha=alpha), out)


class IndexCopy(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, source, idx=None, axis=0):
        ctx.idx, ctx.axis = idx, axis
        out = x.copy()
        o1, s1 = _flat_if_scalar(out, source)
        o1[_at(axis, idx)] = s1
        return out

    @staticmethod
    def backward(ctx, gy):
        g_x = g_src = None
        if ctx.needs_input_grad[0]:
            g_x = IndexFill.apply(gy, _zeros(gy, ()), idx=ctx.idx, axis=ctx.axis)
        if ctx.needs_input_grad[1]:
            g_src = IndexSelect.apply(gy, idx=ctx.idx, axis=ctx.axis)
        return g_x, g_src


@autocast_policy(cpu=PROMOTE)
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input`` with the slices of ``source`` copied to ``index`` along ``dim``. d/dinput = 0 at the
    overwritten slices, 1 elsewhere; d/dsource = the gradient at each slice's destination."""
    idx, axis = _dim_index("index_copy", input, dim, index, exc=IndexError)
    _check_source("index_copy", input, source, idx, axis)
    return write_out("index_copy", IndexCopy.apply(input, source, idx=idx, axis=axis), out)


def _scatter_slices(op: str, input: Tensor, src: Tensor, axis: int, positions) -> Tensor:
    """``input`` with ``src`` written at ``positions`` (a range) along ``axis``: index_copy's op, after the
    shape check PyTorch makes (src the size of the slice it replaces)."""
    idx = input._backend.xp.asarray(numpy.asarray(positions, dtype=numpy.int64))
    expected = tuple(input.shape[:axis]) + (len(positions),) + tuple(input.shape[axis + 1:])
    if tuple(src.shape) != expected:
        raise ShapeError(f"{op}: expected src to have a size equal to the slice of self. src size = "
                         f"{list(src.shape)}, slice size = {list(expected)}")
    if src._backend is not input._backend or src._array.dtype != input._array.dtype:
        src = src.to(input.device, input.dtype)
    return IndexCopy.apply(input, src, idx=idx, axis=axis)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src``, out of place. Differentiable in
    both (input's gradient is 0 where src went)."""
    axis = _axis("select_scatter", dim, input.ndim)
    n = input.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select_scatter: index {index} out of range for tensor of size {tuple(input.shape)} at "
                         f"dimension {axis}")
    return _scatter_slices("select_scatter", input, src.unsqueeze(axis), axis, [index % n])


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``, out of place."""
    axis = _axis("slice_scatter", dim, input.ndim)
    if step <= 0:
        raise ArgumentError(f"slice_scatter: slice step must be positive, got {step}")
    positions = range(*slice(start, end, step).indices(input.shape[axis]))
    return _scatter_slices("slice_scatter", input, src, axis, list(positions))


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """``input`` with the slices of ``source`` reduced ("prod", "mean", "amax" or "amin") into the slices
    named by ``index`` along ``dim`` (with input's own values unless ``include_self`` is False): scatter_reduce
    with the index spread over source's slices, so the gradients are scatter_reduce's."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ArgumentError(f"index_reduce: reduce argument must be either prod, mean, amax or amin, got {reduce}")
    idx, axis = _dim_index("index_reduce", input, dim, index, exc=IndexError)
    _check_source("index_reduce", input, source, idx, axis)
    shape = [1] * source.ndim
    if source.ndim:
        shape[axis] = -1
    spread = Tensor._make(input._backend.xp.broadcast_to(idx.reshape(shape), tuple(source.shape)).copy(), input._backend)
    return scatter_reduce(input, axis, spread, source, reduce, include_self=include_self)


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input`` with its diagonal ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``, out of
    place. Differentiable in both."""
    slot = input.diagonal(offset, dim1, dim2)
    if tuple(src.shape) != tuple(slot.shape):
        raise ShapeError(f"diagonal_scatter: expected src to have a size equal to the slice of self. src size = "
                         f"{list(src.shape)}, slice size = {list(slot.shape)}")
    a1, a2 = _axis("diagonal_scatter", dim1, input.ndim), _axis("diagonal_scatter", dim2, input.ndim)
    out = input.movedim((a1, a2), (-2, -1)).clone()  # the diagonal's dims last: src's layout
    n = slot.shape[-1]
    xp = input._backend.xp
    rows = xp.arange(n) + max(-offset, 0)
    cols = xp.arange(n) + max(offset, 0)
    out[..., Tensor._make(rows, input._backend), Tensor._make(cols, input._backend)] = src
    return out.movedim((-2, -1), (a1, a2))


def _diagonal_filled(input: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """``input`` with its main diagonal (every index equal) set to ``fill_value``; a tall matrix's
    diagonal restarts every n + 1 rows with ``wrap`` (NumPy's fill_diagonal rule, PyTorch's too).
    ``fill_diagonal_``'s value: its in-place form is the method."""
    if input.ndim < 2:
        raise ArgumentError("fill_diagonal_: dimensions must larger than 1")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise ArgumentError("fill_diagonal_: all dimensions of input must be of equal length")
    from .elementwise import where

    mask = numpy.zeros(tuple(input.shape), dtype=bool)
    numpy.fill_diagonal(mask, True, wrap=wrap)
    return where(Tensor._make(input._backend.asarray(mask), input._backend), fill_value, input).to(input.dtype)


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``input`` with ``values`` put at ``input[indices]`` (a tuple of index tensors, as in ``x[i, j]``),
    out of place; with ``accumulate``, repeated positions add up (and add to input) instead of the last
    write winning. Differentiable in input and values."""
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) for i in indices):
        raise TypeError("index_put: indices must be a tuple of Tensors")
    if not isinstance(values, Tensor):
        values = Tensor._make(input._backend.xp.asarray(values, dtype=input._array.dtype), input._backend)
    if values._array.dtype != input._array.dtype:
        raise DTypeError(f"index_put: requires the source and destination dtypes to match, got {input.dtype} for "
                         f"the destination and {values.dtype} for the source")
    if not accumulate:
        out = input.clone()
        out[tuple(indices)] = values
        return out
    xp = input._backend.xp
    arrays = []
    for i in indices:  # a bool mask stands for the positions of its Trues, over as many dims as it has
        a = i._array
        if a.dtype.kind == "u" and a.ndim:  # a byte tensor is a mask here too (see _byte_mask)
            a = _byte_mask(a)[1]
        arrays.extend(xp.nonzero(a) if a.dtype == bool else [a])
    k = len(arrays)
    if k > input.ndim:
        raise IndexError(f"index_put: too many indices for tensor of dimension {input.ndim} (got {k})")
    try:
        arrays = xp.broadcast_arrays(*arrays)
    except ValueError:
        raise ShapeError(f"index_put: shape mismatch: indexing tensors could not be broadcast together with shapes "
                         f"{[tuple(a.shape) for a in arrays]}") from None
    lead = tuple(input.shape[:k])
    for axis, a in enumerate(arrays):
        _check_in_range("index_put", a.reshape(-1), lead, axis, IndexError, True)
    flat = xp.ravel_multi_index(tuple(a % n for a, n in zip(arrays, lead)), lead).reshape(-1)
    rest = tuple(input.shape[k:])
    spread = values.expand(*(tuple(arrays[0].shape) + rest)).reshape((-1,) + rest)
    rows = input.reshape((math.prod(lead),) + rest)
    return IndexAdd.apply(rows, spread, idx=flat, axis=0, alpha=1).reshape(tuple(input.shape))


class IndexFill(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, value, idx=None, axis=0):
        ctx.idx, ctx.axis = idx, axis
        out = x.copy()
        (o1,) = _flat_if_scalar(out)
        o1[_at(axis, idx)] = value
        if ctx.needs_input_grad[1]:  # each filled slice counts once in value's gradient, however often named
            ctx.filled = ctx.xp.unique(idx % o1.shape[axis])
        return out

    @staticmethod
    def backward(ctx, gy):
        g_x = g_v = None
        if ctx.needs_input_grad[0]:
            g_x = IndexFill.apply(gy, _zeros(gy, ()), idx=ctx.idx, axis=ctx.axis)
        if ctx.needs_input_grad[1]:
            g_v = IndexSelect.apply(gy, idx=ctx.filled, axis=ctx.axis).sum()
        return g_x, g_v


def _scalar_value(op: str, value, x: Tensor) -> Tensor:
    """A fill value (a number or a 0-d tensor) as a 0-d tensor of x's dtype, differentiable when it is one."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"{op} only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)")
        if value._backend is not x._backend:
            value = value.to(x.device)
        return value if value.dtype is x.dtype else value.to(x.dtype)
    return Tensor._make(x._backend.xp.asarray(value).astype(x._array.dtype), x._backend)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or 0-d tensor;
    negative indices count from the end). d/dinput = 0 at the filled slices; d/dvalue = their gradients' sum."""
    idx, axis = _dim_index("index_fill", input, dim, index, exc=IndexError, allow_negative=True)
    return IndexFill.apply(input, _scalar_value("index_fill", value, input), idx=idx, axis=axis)


# masked_* ------------------------------------------------------------------------------------------------
def _mask(op: str, mask, x: Tensor) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: argument 'mask' must be a Tensor, not {type(mask).__name__}")
    if mask._array.dtype.kind != "b":
        raise DTypeError(f"{op}: expected a bool mask, got mask with dtype {mask.dtype}")
    if mask._backend is not x._backend:
        raise DeviceError(f"{op}: expected mask on {x.device}, got {mask.device}")
    return mask


def _broadcast_shape(op: str, *shapes) -> tuple:
    try:
        return tuple(numpy.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together "
                         f"({broadcast_mismatch(shapes)})") from None


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` holds, else ``input`` (broadcast; the result keeps input's dtype).
    d/dinput = 1 off the mask; d/dvalue (a 0-d tensor) = the gradient's sum over the mask."""
    from .elementwise import Where  # on use: elementwise imports the in-place ops, which import this module

    _mask("masked_fill", mask, input)
    if mask._array.shape != input._array.shape:
        _broadcast_shape("masked_fill", tuple(input.shape), tuple(mask.shape))
    # where(mask, value, input) past where()'s promotion: the value is already a 0-d tensor of input's dtype
    return Where.apply(mask, _scalar_value("masked_fill", value, input), input)


def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The elements of ``input`` where ``mask`` holds (both broadcast), as a 1-D tensor in row-major order.
    The gradient goes back to the selected elements (summed over broadcasting), 0 elsewhere."""
    _mask("masked_select", mask, input)
    shape = _broadcast_shape("masked_select", tuple(input.shape), tuple(mask.shape)) or (1,)  # 0-d: one element
    x = input if tuple(input.shape) == shape else input.expand(shape)
    m = mask._array if tuple(mask.shape) == shape else input._backend.xp.broadcast_to(mask._array, shape)
    return write_out("masked_select", GetItem.apply(x, basic=(Ellipsis,), advanced=tuple(mask_parts(input._backend.xp, m))),
                     out)


class MaskedScatter(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, source, mask=None):
        xp = ctx.xp
        ctx.mask, ctx.source_shape = mask, source.shape
        out = xp.array(xp.broadcast_to(x, mask.shape))
        n = int(mask.sum())
        out[mask] = source.reshape(-1)[:n]
        ctx.n = n
        return out

    @staticmethod
    def backward(ctx, gy):
        g_x = g_src = None
        mask = Tensor._make(ctx.mask, gy._backend)
        if ctx.needs_input_grad[0]:
            g_x = _where(mask, _zeros(gy, ()), gy)
        if ctx.needs_input_grad[1]:
            size = 1
            for s in ctx.source_shape:
                size *= s
            picked = GetItem.apply(gy, basic=(Ellipsis,), advanced=tuple(mask_parts(ctx.xp, ctx.mask)))
            g_src = _pad_to(picked, (size,)).reshape(ctx.source_shape)
        return g_x, g_src


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the first elements of ``source`` (in order) written where ``mask`` holds.
    d/dinput = 1 off the mask; d/dsource = the gradient at each used element's destination, 0 for the rest."""
    _mask("masked_scatter", mask, input)
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter: argument 'source' must be a Tensor, not {type(source).__name__}")
    if source.dtype is not input.dtype:
        raise DTypeError(f"masked_scatter: expected self and source to have same dtypes but got {input.dtype} and {source.dtype}")
    shape = _broadcast_shape("masked_scatter", tuple(input.shape), tuple(mask.shape))
    m = input._backend.xp.broadcast_to(mask._array, shape)
    needed = int(m.sum())
    if source.numel() < needed:
        raise ShapeError(f"masked_scatter: number of elements of source ({source.numel()}) < number of ones in mask ({needed})")
    return MaskedScatter.apply(input, source, mask=m)


# take / take_along_dim ------------------------------------------------------------------------------------
def take(input: Tensor, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input.flatten()[index]``, shaped like ``index`` (negative indices count from the end). The
    gradient adds back into the taken elements, accumulating over repeats."""
    if not isinstance(index, Tensor):
        raise TypeError(f"take: argument 'index' must be a Tensor, not {type(index).__name__}")
    if index._array.dtype.kind not in "iu":
        raise DTypeError(f"take: expected a long tensor for index, but got {index.dtype}")
    n = input.numel()
    idx = index._array.astype(input._backend.xp.int64, copy=False)
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
        raise IndexError(f"take: out of range: tried to access index {bad} on a tensor of {n} elements")
    return write_out("take", GetItem.apply(input.reshape(-1), basic=(Ellipsis,), advanced=(idx,)), out)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out: Tensor | None = None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` in every dim but ``dim``; with dim=None,
    over the flattened input. The gradient is gather's: scatter-added back (and summed over broadcasting)."""
    if dim is None:
        return write_out("take_along_dim", gather(input.reshape(-1), 0, indices.reshape(-1)), out)
    if indices.ndim != input.ndim:
        raise ShapeError(
            f"take_along_dim: input and indices should have the same number of dimensions, but got {input.ndim} "
            f"dimensions for input, and {indices.ndim} dimensions for indices"
        )
    axis = _axis("take_along_dim", dim, input.ndim)
    x_shape, i_shape = list(input.shape), list(indices.shape)
    x_shape[axis] = i_shape[axis] = 1
    common = list(_broadcast_shape("take_along_dim", tuple(x_shape), tuple(i_shape)))
    x_target, i_target = list(common), list(common)
    x_target[axis], i_target[axis] = input.shape[axis], indices.shape[axis]
    x = input if list(input.shape) == x_target else input.expand(x_target)
    i = indices if list(indices.shape) == i_target else indices.expand(i_target)
    if i.numel() and bool((i._array < 0).any()):  # along a dim, PyTorch counts negative indices from the end
        i = Tensor._make(input._backend.xp.where(i._array < 0, i._array + input.shape[axis], i._array), input._backend)
    return write_out("take_along_dim", gather(x, axis, i), out)


# nonzero / argwhere ------------------------------------------------------------------------------------
def nonzero(input: Tensor, *, out: Tensor | None = None, as_tuple: bool = False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-D
    tensor per dim (a 0-d input counts as 1-d there)."""
    xp = input._backend.xp
    data = input._array
    if as_tuple:
        found = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(Tensor._make(f.astype(xp.int64), input._backend) for f in found)
    if data.ndim == 0:
        result = xp.zeros((1 if bool(data) else 0, 0), dtype=xp.int64)
    else:
        result = xp.stack(xp.nonzero(data), axis=1).astype(xp.int64)
    return write_out("nonzero", Tensor._make(result, input._backend), out)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` cut or padded to exactly ``size`` rows: an (size, ndim) int64 tensor of the first
    ``size`` non-zero elements' indices in row-major order, the rows past their count filled with
    ``fill_value``. Its shape does not depend on the values, so on a GPU nothing is read back."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ArgumentError(f"nonzero_static: 'size' must be a non-negative integer, got {size!r}")
    if isinstance(fill_value, bool) or not isinstance(fill_value, int):
        raise TypeError(f"nonzero_static(): argument 'fill_value' must be int, not {type(fill_value).__name__}")
    xp = input._backend.xp
    data = input._array
    counts = xp.cumsum((data != 0).reshape(-1), dtype=xp.int64)
    # The k-th non-zero element (from 1) is where the running count first reaches k; past the last one
    # searchsorted answers the element count, which marks a row to fill.
    where = xp.searchsorted(counts, xp.arange(1, size + 1, dtype=xp.int64), side="left")
    found = where < counts.size
    safe = xp.where(found, where, 0)
    if data.size and data.ndim:
        rows = xp.stack(xp.unravel_index(safe, data.shape), axis=1)
    else:  # nothing to unravel: a 0-d input has no coordinates, an empty one no elements
        rows = xp.zeros((size, data.ndim), dtype=xp.int64)
    out = xp.where(found[:, None], rows.astype(xp.int64), fill_value).astype(xp.int64)
    return Tensor._make(out.reshape(size, data.ndim), input._backend)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an (n, ndim) int64 tensor of the indices of the non-zero elements."""
    return nonzero(input)


# sort / argsort / topk / kthvalue ------------------------------------------------------------------------
_PACKED_SORT_MIN = 256  # elements from which a float32 sort on the CPU sorts packed keys


def _argsort(xp, data, axis: int, descending: bool):
    """A stable argsort; NaN sorts as the largest value, as in PyTorch. Descending keeps equal elements
    in their original order too: it is the ascending stable sort of the reversed axis, reversed."""
    if (xp is numpy and data.dtype == numpy.float32 and data.ndim and data.size >= _PACKED_SORT_MIN
            and data.shape[axis] < 1 << 32):
        return _argsort_packed(data, axis, descending)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    n = data.shape[axis]
    flipped = xp.flip(data, axis=axis)
    return (n - 1) - xp.flip(xp.argsort(flipped, axis=axis, kind="stable"), axis=axis)


def _argsort_packed(data, axis: int, descending: bool):
    """_argsort of float32 on the CPU: each element's key (kernels/gather.py's sort_keys_f32: its value's
    order above its position) sorted as uint64, which NumPy does with its vectorised quicksort, rows split
    over the threads. The keys are distinct, so this is exactly the stable order: NumPy's stable argsort
    (a merge sort) took ~6x longer."""
    lines = numpy.moveaxis(data, axis, -1)
    n = lines.shape[-1]
    keys = kgather.sort_keys_f32(numpy, lines.reshape(-1, n), descending)

    def chunk(lo: int, hi: int) -> None:
        keys[lo:hi].sort(axis=-1)

    if not _threads.split(chunk, keys.shape[0], keys.size * 8):  # a sort costs ~log n passes: weigh it so
        keys.sort(axis=-1)
    numpy.bitwise_and(keys, numpy.uint64(0xFFFFFFFF), out=keys)  # the positions
    order = keys.view(numpy.int64).reshape(lines.shape)
    return order if axis == data.ndim - 1 else numpy.ascontiguousarray(numpy.moveaxis(order, -1, axis))


def _sort_axis(op: str, x: Tensor, dim: int | None) -> int:
    """The axis a sort-like op works along: the last when dim is None (topk's and kthvalue's default)."""
    return _axis(op, -1 if dim is None else dim, x.ndim) if x.ndim else 0


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``. Always stable (equal elements keep their order);
    NaN counts as the largest value."""
    refuse_complex("argsort", input)
    xp = input._backend.xp
    axis = _sort_axis("argsort", input, dim)
    data = input._array.reshape(1) if input.ndim == 0 else input._array
    order = _argsort(xp, data, axis, descending).astype(xp.int64)
    return Tensor._make(order.reshape(()) if input.ndim == 0 else order, input._backend)


def _write_pair(name: str, result: ValuesIndices, out) -> ValuesIndices:
    if out is None:
        return result
    values_out, indices_out = out
    return ValuesIndices(write_out(name, result.values, values_out), write_out(name, result.indices, indices_out))


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False, out=None) -> ValuesIndices:
    """(values, indices) of ``input`` sorted along ``dim``; stable always, NaN largest. The values'
    gradient goes back to the positions they came from."""
    refuse_complex("sort", input)
    indices = argsort(input, dim, descending)
    axis = _sort_axis("sort", input, dim)
    values = Gather.apply(input, idx=indices._array, axis=axis)
    return _write_pair("sort", ValuesIndices(values, indices), out)


def _select_k(op: str, input: Tensor, k: int, dim: int, descending: bool, keep: slice):
    axis = _sort_axis(op, input, dim)
    xp = input._backend.xp
    if xp is numpy and input.ndim and _selection_pays(input._array, k, input.shape[axis]):
        # The k best by the CPU's selection kernel: the stable sort's order cut at k (ties, NaN and all),
        # ~n comparisons a line where the sort costs ~n log n.
        order = kgather.topk_indices(xp, input._array, k, descending, axis)
        return axis, numpy.ascontiguousarray(order[(slice(None),) * axis + (keep,)]) if keep.start else order
    order = argsort(input, axis, descending)._array
    if order.ndim:  # a fresh array, as PyTorch's results are: callers .view() the indices
        order = input._backend.xp.ascontiguousarray(order[(slice(None),) * axis + (keep,)])
    return axis, order


def _selection_pays(data, k: int, n: int) -> bool:
    """Whether the selection kernel beats sorting the lines (topk at 1024 x 2048, measured): up to k = 32
    for float32, whose packed-key sort is fast (k = 8: 4 ms against 21; k = 64: 25 against 22), up to a
    quarter of the line for other dtypes, sorted by NumPy's stable argsort (float64 k = 512: 147 against 153)."""
    if data.dtype == numpy.float32 and data.size >= _PACKED_SORT_MIN:
        return k <= 32 and 4 * k <= n
    return 4 * k <= n


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out=None) -> ValuesIndices:
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, in sorted order
    (also with sorted=False, which leaves the order open). The gradient goes to the selected elements."""
    refuse_complex("topk", input)
    if input._array.dtype.kind == "b":
        raise DTypeError("topk: does not support bool dtypes")
    size = input.shape[_sort_axis("topk", input, dim)] if input.ndim else 1
    if not 0 <= k <= size:
        raise ArgumentError(f"topk: selected index k out of range: k={k} for dimension of size {size}")
    axis, order = _select_k("topk", input, k, dim, largest, slice(0, k))
    values = Gather.apply(input, idx=order, axis=axis)
    return _write_pair("topk", ValuesIndices(values, Tensor._make(order, input._backend)), out)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None) -> ValuesIndices:
    """The k-th smallest element along ``dim`` (k counts from 1) and its index. The gradient goes to it."""
    refuse_complex("kthvalue", input)
    if input._array.dtype.kind == "b":
        raise DTypeError("kthvalue: not implemented for bool tensors")
    axis = _sort_axis("kthvalue", input, dim)
    size = input.shape[axis] if input.ndim else 1
    if size == 0:
        raise IndexError(f"kthvalue: expected reduction dim {axis} to have non-zero size")
    if not 1 <= k <= size:
        raise ArgumentError(f"kthvalue: selected number k out of range for dimension {axis}: k={k}, size {size}")
    axis, order = _select_k("kthvalue", input, k, dim, False, slice(k - 1, k))
    values = Gather.apply(input, idx=order, axis=axis)
    indices = Tensor._make(order, input._backend)
    if not keepdim and input.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _write_pair("kthvalue", ValuesIndices(values, indices), out)


# unique / searchsorted / bucketize -------------------------------------------------------------------------
def _as_rows(op: str, input: Tensor, dim):
    """(rows, axis): input's elements as rows of one (dim None), or its slices along ``dim`` flattened
    into rows, one per index of that dim."""
    xp, a = input._backend.xp, input._array
    if dim is None:
        return a.reshape(-1, 1), None
    (axis,) = normalize_dims(op, dim, input.ndim)
    n = a.shape[axis] if a.ndim else 1
    if not a.ndim:
        return a.reshape(1, 1), axis
    if not a.size:  # empty slices, all equal
        return xp.zeros((n, 0), dtype=bool), axis
    return xp.moveaxis(a, axis, 0).reshape(n, -1), axis


def _runs(input: Tensor, rows, order, axis, return_inverse: bool, return_counts: bool):
    """unique's results from ``rows`` taken in ``order``: one value (or slice) per run of equal rows,
    the inverse indices (input's shape, or one per slice) and the run lengths. NaN != NaN, so every row
    with a NaN is a run of its own, as in PyTorch."""
    xp, backend = input._backend.xp, input._backend
    n = rows.shape[0]
    ordered = rows[order]
    starts = xp.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1) if rows.shape[1] else False
    first = order[xp.nonzero(starts)[0]]
    values = input._array.reshape(-1)[first] if axis is None else xp.take(input._array, first, axis=axis)
    results = [Tensor._make(values, backend)]
    if return_inverse:
        inverse = xp.empty(n, dtype=xp.int64)
        inverse[order] = xp.cumsum(starts) - 1
        results.append(Tensor._make(inverse.reshape(input._array.shape) if axis is None else inverse, backend))
    if return_counts:
        edges = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([n])])
        results.append(Tensor._make(xp.diff(edges).astype(xp.int64), backend))
    return results[0] if len(results) == 1 else tuple(results)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim=None):
    """The distinct values of the flattened input (with ``dim``, the distinct slices along it) in
    ascending (lexicographic) order, also with sorted=False as PyTorch's CPU build, with optionally the
    inverse indices and the counts. Each NaN is distinct, as in PyTorch. Not differentiable."""
    refuse_complex("unique", input)
    xp = input._backend.xp
    rows, axis = _as_rows("unique", input, dim)
    if rows.shape[1] == 1:
        order = xp.argsort(rows[:, 0], kind="stable") if xp is numpy else xp.argsort(rows[:, 0])
    elif rows.shape[1] == 0:
        order = xp.arange(rows.shape[0])
    else:  # lexicographic: the first column the primary key (lexsort's last)
        order = xp.lexsort(rows.T[::-1])
    return _runs(input, rows, order, axis, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """Each run of equal consecutive values (or, with ``dim``, of equal consecutive slices along dim) as
    one, with optionally the inverse indices (which run each element or slice is in) and the run lengths.
    Not differentiable."""
    rows, axis = _as_rows("unique_consecutive", input, dim)
    return _runs(input, rows, input._backend.xp.arange(rows.shape[0]), axis, return_inverse, return_counts)


def _side(right: bool, side: str | None) -> str:
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise ArgumentError(f"searchsorted: side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise ArgumentError("searchsorted: side and right can't be set to opposites, got side of left while right was True")
    return side


def _rowwise_searchsorted(xp, seq, values, side: str):
    """searchsorted of each row of ``values`` (..., m) in the same row of ``seq`` (..., n), vectorised:
    one stable sort of both together, queries placed before equal boundaries for side='left' and after
    them for 'right', so the boundaries before a query in sorted order are its answer."""
    n, m = seq.shape[-1], values.shape[-1]
    dtype = xp.result_type(seq, values)
    queries_first = side == "left"
    parts = [values, seq] if queries_first else [seq, values]
    combined = xp.concatenate([p.astype(dtype) for p in parts], axis=-1)
    order = xp.argsort(combined, axis=-1, kind="stable")
    is_query = order < m if queries_first else order >= n
    boundaries_before = xp.cumsum(~is_query, axis=-1)
    # The m query slots of each row, in sorted order (False sorts first, stably).
    slots = xp.argsort(~is_query, axis=-1, kind="stable")[..., :m]
    query = xp.take_along_axis(order, slots, axis=-1) - (0 if queries_first else n)
    answer = xp.take_along_axis(boundaries_before, slots, axis=-1)
    return xp.take_along_axis(answer, xp.argsort(query, axis=-1), axis=-1).astype(xp.int64)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, out: Tensor | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value, the index at which it would be inserted into ``sorted_sequence`` (along its last
    dim) to keep it sorted: before equal elements (side='left') or after them (side='right' or
    right=True). An N-d sequence is searched row by row, its leading dims matching the values'.
    Indices are int64, or int32 with ``out_int32=True``."""
    refuse_complex("searchsorted", sorted_sequence)
    side = _side(right, side)
    backend, xp = sorted_sequence._backend, sorted_sequence._backend.xp
    if sorted_sequence.ndim == 0:
        raise ShapeError("searchsorted: boundaries tensor should have positive dimension, but got 0 dimension")
    if sorted_sequence._array.dtype.kind == "b":
        raise DTypeError("searchsorted: not implemented for bool tensors")
    scalar = not isinstance(input, Tensor)
    values = backend.asarray(input) if scalar else input._array
    if scalar and sorted_sequence.ndim != 1:
        raise ShapeError(
            "searchsorted: input value can be a scalar only when boundaries tensor dimension is 1, but we got "
            f"boundaries tensor dim({sorted_sequence.ndim})"
        )
    seq = sorted_sequence._array
    if sorter is not None:
        seq = xp.take_along_axis(seq, _index_array("searchsorted", sorter, sorted_sequence), axis=-1)
    if seq.ndim == 1:
        result = xp.searchsorted(seq, values, side=side).astype(xp.int64)
    else:
        if values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]:
            raise ShapeError(
                "searchsorted: boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
                f"tensor and input value tensor must match, but we got boundaries tensor {list(seq.shape)} and "
                f"input value tensor {list(values.shape)}"
            )
        result = _rowwise_searchsorted(xp, seq, values, side)
    result = xp.asarray(result).astype(xp.int32 if out_int32 else xp.int64, copy=False)
    return write_out("searchsorted", Tensor._make(result, backend), out)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out: Tensor | None = None) -> Tensor:
    """The bucket of each value among the 1-D ``boundaries``: i with boundaries[i-1] < x <= boundaries[i]
    (right=False) or boundaries[i-1] <= x < boundaries[i] (right=True); int64, or int32 with ``out_int32``."""
    refuse_complex("bucketize", input)
    if boundaries.ndim != 1:
        raise ShapeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return write_out("bucketize", searchsorted(boundaries, input, out_int32=out_int32, right=right), out)


def _where(condition, a, b) -> Tensor:
    # Imported on use: elementwise imports the in-place ops, which import this module.
    from .elementwise import where

    return where(condition, a, b)


# What this family exports; gpugrad.ops gathers it.
def msort(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input`` sorted along dim 0 (the values of ``sort(input, dim=0)``)."""
    return write_out("msort", sort(input, 0).values, out)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0..max occurs in a 1-d tensor of non-negative integers (at least ``minlength``
    bins); with ``weights``, their sum per value: float32 for float32 weights, float64 for any other."""
    x = input._array
    if x.ndim != 1 or x.dtype.kind not in "iub" or (x.size and int(x.min()) < 0):
        raise ArgumentError(f"bincount: only supports 1-d non-negative integral inputs, got shape {tuple(x.shape)} "
                            f"and dtype {input.dtype}")
    if minlength < 0:
        raise ArgumentError(f"bincount: minlength should be >= 0, got {minlength}")
    xp = input._backend.xp
    if weights is None:
        counts = xp.bincount(x, minlength=minlength).astype(numpy.int64)
    else:
        if tuple(weights.shape) != tuple(x.shape):
            raise ShapeError(f"bincount: weights of shape {tuple(weights.shape)} for input of shape {tuple(x.shape)}")
        w = weights._array
        dtype = numpy.dtype(numpy.float32 if w.dtype == numpy.float32 else numpy.float64)  # PyTorch's rule
        counts = xp.bincount(x, weights=w, minlength=minlength).astype(dtype)
    return Tensor._make(counts, input._backend)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of input's values in ``bins`` equal bins over [min, max] (the data's own range when both are
    0, widened by 1 each way when it is one value), in input's float dtype; values outside are left out."""
    x = input._array
    if x.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"histc: expects a floating point tensor, got {input.dtype}")
    if bins <= 0:
        raise ArgumentError(f"histc: bins must be > 0, got {bins}")
    host = input._backend.to_numpy(x, "histc").astype(numpy.float64).reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and host.size:
        finite = host[numpy.isfinite(host)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (lo, hi)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ArgumentError(f"histc: max must be larger than min, got min {min} and max {max}")
    inside = host[(host >= lo) & (host <= hi)]
    which = numpy.minimum(((inside - lo) * bins / (hi - lo)).astype(numpy.int64), bins - 1)
    counts = numpy.bincount(which, minlength=bins).astype(x.dtype)
    return Tensor._make(input._backend.asarray(counts), input._backend)


Histogram = namedtuple("histogram", ["hist", "bin_edges"])
Histogram.__doc__ = "What histogram returns, as torch.return_types.histogram."


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None, density: bool = False) -> tuple:
    """Counts (or summed ``weight``) of input's values in ``bins``: a number of equal bins over ``range``
    (the data's own, widened by 0.5 each way when it is one value) or a 1-D tensor of increasing edges. The
    last bin holds its right edge; values outside are left out. ``density`` divides by the total times the
    bin widths. Both results in input's float dtype, as PyTorch's."""
    x = input._array
    if x.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"histogram: expects a floating point tensor, got {input.dtype}")
    to_host = input._backend.to_numpy
    host = to_host(x, "histogram").reshape(-1)
    if isinstance(bins, Tensor):
        edges = to_host(bins._array, "histogram").astype(x.dtype)
        if edges.ndim != 1 or edges.size < 2 or (numpy.diff(edges) < 0).any():
            raise ArgumentError(f"histogram: bins must be a 1-D tensor of at least 2 increasing edges, got {tuple(bins.shape)}")
    else:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
            raise ArgumentError(f"histogram: bins must be a positive int or a tensor of edges, got {bins!r}")
        if range is not None and float(range[0]) > float(range[1]):
            raise ArgumentError(f"histogram: min should not exceed max, but got min {range[0]} max {range[1]}")
        # PyTorch's edges (its linspace's rounding, not NumPy's: gpugrad/ops/_histogram.py).
        ((lo, hi),) = _histogram.outer_edges("histogram", host.reshape(-1, 1), range, 1)
        edges = _histogram.linspace_edges(lo, hi, bins + 1, x.dtype)
    weights = None
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ShapeError(f"histogram: weight of shape {tuple(weight.shape)} for input of shape {tuple(input.shape)}")
        weights = to_host(weight._array, "histogram").reshape(-1)
    hist, edges = numpy.histogram(host, edges, weights=weights, density=density)
    backend = input._backend
    return Histogram(Tensor._make(backend.asarray(hist.astype(x.dtype)), backend),
                     Tensor._make(backend.asarray(numpy.asarray(edges, dtype=x.dtype)), backend))


HistogramDD = namedtuple("histogramdd", ["hist", "bin_edges"])
HistogramDD.__doc__ = "What histogramdd returns, as torch.return_types.histogramdd: bin_edges is a tuple of tensors."


def _histogramdd_edges(input: Tensor, bins, range, dims: int, points: numpy.ndarray) -> list:
    """The edges (host arrays in input's dtype) per dim from ``bins``: an int, a sequence of ints (equal
    bins over ``range`` or the data's extent) or a sequence of 1-D tensors of edges (``range`` unused)."""
    op = "torch.histogramdd"
    if isinstance(bins, (Tensor, bool)):
        raise TypeError(f"histogramdd: bins must be an int, a sequence of ints or a sequence of tensors, got "
                        f"{type(bins).__name__}")
    counts = [bins] * dims if isinstance(bins, int) else list(bins)
    if any(isinstance(b, Tensor) for b in counts):
        if not all(isinstance(b, Tensor) for b in counts):
            raise TypeError("histogramdd: bins mixes tensors of edges and numbers of bins")
        if len(counts) != dims:
            raise ShapeError(f"{op}: expected {dims} sequences of bin edges for a {dims}-dimensional histogram but "
                             f"got {len(counts)}")
        edges = []
        for d, b in enumerate(counts):
            if b._array.dtype != input._array.dtype:
                raise DTypeError(f"{op}: input tensor and bins tensors should have the same dtype, but got input with "
                                 f"dtype {input.dtype} and bins for dimension {d} with dtype {b.dtype}")
            if b.ndim != 1:
                raise ShapeError(f"{op}: bins tensor should have one dimension, but got {b.ndim} dimensions in the bins "
                                 f"tensor for dimension {d}")
            if b.numel() == 0:
                raise ShapeError(f"{op}: bins tensor should have at least 1 element, but got 0 elements in the bins "
                                 f"tensor for dimension {d}")
            if b.numel() == 1:
                raise ArgumentError(f"torch.histogram(): bins must be > 0, but got 0 for dimension {d}")
            edges.append(b._backend.to_numpy(b._array, "histogramdd"))
        return edges
    if not all(isinstance(b, int) and not isinstance(b, bool) for b in counts):
        raise TypeError(f"histogramdd: bins must be an int, a sequence of ints or a sequence of tensors, got {bins!r}")
    if len(counts) != dims:
        raise ShapeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    for d, b in enumerate(counts):
        if b <= 0:
            raise ArgumentError(f"torch.histogram(): bins must be > 0, but got {b} for dimension {d}")
    outer = _histogram.outer_edges(op, points, range, dims)
    return [_histogram.linspace_edges(lo, hi, b + 1, input._array.dtype) for (lo, hi), b in zip(outer, counts)]


def histogramdd(input: Tensor, bins, *, range=None, weight: Tensor | None = None,
                density: bool = False) -> HistogramDD:
    """The N-dimensional histogram of the points in ``input`` (*, N): its last dim is a point's coordinates,
    the others are flattened. ``bins`` is an int (that many equal bins per dim), N ints, or N 1-D tensors of
    increasing edges; equal bins span ``range`` ([min0, max0, min1, max1, ...]) or the data's extent per
    dim (widened by 0.5 each way when it is one value). A bin holds its left edge, the last one its right
    edge too; points outside count nowhere. ``weight`` (input.shape[:-1]) sums weights instead of counting;
    ``density`` divides by the total and each bin's volume. Returns (hist, bin_edges): hist of shape
    (bins0, ..., binsN-1) and a tuple of N edge tensors, in input's dtype (float32 or float64), outside
    any graph."""
    op = "torch.histogramdd"
    x = input._array
    if x.dtype.name not in ("float32", "float64"):
        raise DTypeError(f"histogramdd: not implemented for {input.dtype} tensors (as in PyTorch: float32 and "
                         "float64)")
    if input.ndim < 2:
        raise ShapeError(f"{op}: input tensor should have at least 2 dimensions")
    dims = input.shape[-1]
    backend = input._backend
    points = backend.to_numpy(x, "histogramdd").reshape(math.prod(input.shape[:-1]), dims)
    weights = None
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise TypeError(f"histogramdd: weight must be a Tensor, got {type(weight).__name__}")
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise ShapeError(f"{op}: if weight tensor is provided it should have the same shape as the input tensor "
                             f"excluding its innermost dimension, but got input with shape {list(input.shape)} and "
                             f"weight with shape {list(weight.shape)}")
        if weight._array.dtype != x.dtype:
            raise DTypeError(f"{op}: if weight tensor is provided, input tensor and weight tensor should have the same "
                             f"dtype, but got input({input.dtype}), and weight({weight.dtype})")
        weights = backend.to_numpy(weight._array, "histogramdd").reshape(-1)
    if dims == 0:  # points in no dimension: PyTorch gives a 0-d zero and no edges
        return HistogramDD(Tensor._make(backend.asarray(numpy.zeros((), dtype=x.dtype)), backend), ())
    edges = _histogramdd_edges(input, bins, range, dims, points)
    hist = _histogram.bin_points(points, edges, weights, bool(density), x.dtype)
    return HistogramDD(Tensor._make(backend.asarray(hist), backend),
                       tuple(Tensor._make(backend.asarray(numpy.ascontiguousarray(e, dtype=x.dtype)), backend)
                             for e in edges))


def unravel_index(indices: Tensor, shape) -> tuple:
    """The coordinates in ``shape`` of flat (row-major) ``indices``: one int64 tensor per dim."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    flat = indices._array
    if flat.dtype.kind not in "iu":
        raise DTypeError(f"unravel_index: expected an integer tensor of indices, got {indices.dtype}")
    size = int(numpy.prod(shape))
    if flat.size and (int(flat.min()) < -size or int(flat.max()) >= size):
        raise IndexError(f"unravel_index: index out of bounds for shape {shape}")
    xp = indices._backend.xp
    coords = xp.unravel_index(xp.where(flat < 0, flat + size, flat), shape)
    return tuple(Tensor._make(c.astype(numpy.int64), indices._backend) for c in coords)



def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``source``'s elements written at the flat (row-major) positions ``index``, out of
    place; with ``accumulate`` repeated positions add up. Differentiable in input and source."""
    if not isinstance(index, Tensor) or index.dtype.np.kind not in "iu":
        raise TypeError(f"put: index must be an integer Tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    if index.numel() != source.numel():
        raise ShapeError(f"put: source has {source.numel()} elements and index {index.numel()}: they must match")
    flat = index_put(input.reshape(-1), (index.reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(input.shape)

FUNCTIONS = (
    getitem, gather, scatter, scatter_add, scatter_reduce, index_select, index_add, index_copy, index_fill,
    masked_fill, masked_select, masked_scatter, take, take_along_dim, nonzero, nonzero_static, argwhere, sort, argsort, topk,
    kthvalue, unique, unique_consecutive, searchsorted, bucketize, msort, bincount, unravel_index, histc, histogram,
    histogramdd, select_scatter, slice_scatter, diagonal_scatter, index_put, index_reduce, put,
)
DIFFERENTIABLE = (
    getitem, gather, scatter, scatter_add, scatter_reduce, index_select, index_add, index_copy, index_fill,
    masked_fill, masked_select, masked_scatter, take, take_along_dim, sort, topk, kthvalue, msort,
    select_scatter, slice_scatter, diagonal_scatter, index_put, index_reduce, put,
)
METHODS = {f.__name__: f for f in FUNCTIONS if f not in (getitem, searchsorted, bucketize, unravel_index, histogramdd)}
METHODS["__getitem__"] = getitem
INPLACE = (
    scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill, masked_fill, masked_scatter, index_put,
    index_reduce, put,
)
