"""Shape and movement ops: reshape and views, splitting and joining, repeating, flipping and rolling,
triangles and diagonals, windows, broadcasting (indexing is ops/indexing.py).

View ops (reshape where strides allow, permute and its aliases, expand, squeeze, unsqueeze, narrow,
split and chunk pieces, unbind, diagonal, unfold) share memory and the version counter with their
input, so an in-place change through a view is seen by every graph that saved the base. The others
(flip, roll, repeat, tril, diag, ...) copy, as in PyTorch.
"""
from __future__ import annotations

import itertools
import operator

import numpy

from .. import dtypes
from .._warn_once import warn_once
from ..amp.policy import PROMOTE, autocast_policy
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..dtypes import FLOAT_KINDS, INEXACT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..kernels import shape as kshape
from ..size import Size
from ..storage import _block
from ..tensor import Tensor, _address
from ._operands import distinct_dims, normalize_dims, write_out


# Argument parsing ---------------------------------------------------------------------------------
def _ints(op: str, what: str, values) -> tuple:
    """``values`` as a tuple of Python ints (0-d integer tensors count); floats and bools are refused."""
    for v in values:  # the common case, kept cheap (a plain loop): reshape and friends are hot
        if v.__class__ is not int:
            break
    else:
        return values if values.__class__ is tuple else tuple(values)
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"{op}: {what} must be a tuple of ints, but found element of type {type(v).__name__} at pos {i}")
        out.append(operator.index(v))
    return tuple(out)


def _int(op: str, what: str, value) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{op}: argument '{what}' must be int, not {type(value).__name__}")
    return operator.index(value)


def _shape_arg(op: str, shape: tuple, keyword=None, name: str = "size") -> tuple:
    """Sizes given as varargs (``x.view(2, 3)``), as one sequence (``x.view((2, 3))``, a gg.Size), or by
    PyTorch's keyword (``x.view(size=(2, 3))``, passed here as ``keyword``)."""
    if keyword is not None:
        if shape:
            raise TypeError(f"{op}(): got the sizes both as positional arguments and as '{name}='")
        shape = (keyword,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return _ints(op, "size", shape)


def _dims_arg(dims: tuple) -> tuple:
    """Dims given as varargs (``x.flip(0, 1)``) or as one sequence (``x.flip((0, 1))``)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)


def _need_dims(op: str, x: Tensor, n: int) -> None:
    if x.ndim < n:
        raise ShapeError(f"{op}: expected a tensor with at least {n} dimension(s), got shape {tuple(x.shape)}")


def _infer_shape(op: str, shape: tuple, numel: int, old_shape: tuple) -> tuple:
    """``shape`` with its one -1 resolved so that it holds ``numel`` elements."""
    known = 1
    inferred = 0
    lowest = 0
    for s in shape:
        if s == -1:
            inferred += 1
        else:
            known *= s
            if s < lowest:
                lowest = s
    if inferred > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {list(shape)}")
    if lowest < 0:
        raise ShapeError(f"{op}: invalid shape dimension {lowest} in {list(shape)}")
    if inferred and known == 0 and numel == 0:
        raise ShapeError(f"{op}: cannot reshape a tensor of 0 elements (shape {old_shape}) into shape {list(shape)} "
                         "because the unspecified dimension size -1 can be any value and is ambiguous")
    if (known != numel) if not inferred else (known == 0 or numel % known):
        raise ShapeError(f"{op}: shape {list(shape)} is invalid for input of shape {old_shape} ({numel} elements)")
    return tuple(numel // known if s == -1 else s for s in shape) if inferred else shape


def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


# Reshape and views of the same elements -----------------------------------------------------------
def _view_strides(shape: tuple, strides: tuple, new_shape: tuple):
    """The strides of ``new_shape`` over the memory of an array of (``shape``, ``strides``), or None when
    no such view exists (some new dim would span two non-contiguous blocks): PyTorch's rule for view."""
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_stride = strides[-1] if strides else 1
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * chunk_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_stride = strides[d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


class Reshape(Op):
    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, shape=(), strides=None):
        ctx.shape = x.shape
        # A contiguous array reshapes to a view; otherwise the strides were worked out by _view_strides.
        return x.reshape(shape) if strides is None else _as_strided(ctx.xp, x, shape, strides)

    @staticmethod
    def backward(ctx, gy):
        return reshape(gy, ctx.shape)


class ReshapeCopy(Op):
    """A reshape that no strides over the input's memory can express: a copy, as PyTorch's reshape."""

    complex_ok = True
    name = "reshape"

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        return ctx.backend.copy(x).reshape(shape)  # a large one over the threads (Backend.copy), then a view

    @staticmethod
    def backward(ctx, gy):
        return reshape(gy, ctx.shape)


def _records(x: Tensor) -> bool:
    """Whether autograd records an op on ``x``: a view that changes nothing is then a new view with a
    grad_fn, as PyTorch's ``x.view(x.shape)`` (not ``x`` itself: hooks, ``retain_grad`` and ``is_leaf``
    tell them apart). Otherwise returning ``x`` saves the op's cost and shows no difference to autograd."""
    return (x._node is not None or x._requires_grad) and is_grad_enabled()


def _reshape_to(op: str, x: Tensor, shape: tuple, allow_copy: bool) -> Tensor:
    a = x._array
    shape = _infer_shape(op, shape, a.size, tuple(a.shape))
    if shape == a.shape:
        return Reshape.apply(x, shape=shape) if _records(x) else x
    if a.flags.c_contiguous or a.size == 0:
        return Reshape.apply_one(x, shape=shape)
    strides = _view_strides(a.shape, a.strides, shape)
    if strides is not None:
        return Reshape.apply(x, shape=shape, strides=strides)
    if not allow_copy:
        raise ShapeError(f"{op}: view size is not compatible with input tensor's size and stride (at least one "
                         f"dimension spans across two contiguous subspaces): shape {tuple(a.shape)} with strides "
                         f"{tuple(a.strides)} to {shape}. Use .reshape(...) instead.")
    return ReshapeCopy.apply(x, shape=shape)


def reshape(input: Tensor, *sizes, shape=None) -> Tensor:
    """The same elements in a new shape (one dim may be -1): a view when strides allow, else a copy.
    The gradient is reshaped back."""
    return _reshape_to("reshape", input, _shape_arg("reshape", sizes, shape, "shape"), allow_copy=True)


def view(x: Tensor, *sizes, size=None, dtype=None) -> Tensor:
    """``x.view(shape)``: as reshape, but always a view; raises when the strides do not allow one.
    ``x.view(dtype)`` (or ``view(dtype=...)``) reinterprets the same bytes as another dtype (see
    ``_view_as_dtype``)."""
    if dtype is not None:
        if sizes or size is not None:
            raise TypeError("view: give either a shape or dtype=, not both")
        return _view_as_dtype(x, dtypes.to_dtype(dtype))
    if len(sizes) == 1 and isinstance(sizes[0], (dtypes.DType, type)):
        return _view_as_dtype(x, dtypes.to_dtype(sizes[0]))
    return _reshape_to("view", x, _shape_arg("view", sizes, size), allow_copy=False)


def _view_as_dtype(x: Tensor, dtype: dtypes.DType) -> Tensor:
    """The same memory read as ``dtype`` (a bit cast, as PyTorch's ``view(dtype)``): the last dim scales by
    the ratio of element sizes, which needs it contiguous. Outside the graph, as in PyTorch."""
    if dtype.itemsize != x._array.dtype.itemsize:
        if x.ndim == 0 or (x.shape[-1] > 1 and x._array.strides[-1] != x._array.dtype.itemsize):
            raise ShapeError(f"view: the last dim must be contiguous to view {x.dtype} as {dtype} (different element "
                             f"sizes), got shape {tuple(x.shape)} with strides {x._array.strides}")
        if (x.shape[-1] * x._array.dtype.itemsize) % dtype.itemsize:
            raise ShapeError(f"view: the last dim of shape {tuple(x.shape)} ({x.dtype}) does not hold a whole number "
                             f"of {dtype} elements")
    out = Tensor._make(x._array.view(dtype.np), x._backend)
    out._version_ref = x._version_ref
    out._base = x._base if x._base is not None else x
    out._view_version = x._version_ref[0]
    return out


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one (a 0-d tensor becomes 1-d)."""
    start, end = normalize_dims("flatten", (start_dim, end_dim), input.ndim)
    if input.ndim == 0:
        return reshape(input, 1)
    if start > end:
        raise ArgumentError(f"flatten: invalid args: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) "
                            f"for shape {tuple(input.shape)}")
    if start == end:  # nothing to merge: PyTorch returns the input itself
        return input
    shape = tuple(input.shape)
    merged = 1
    for s in shape[start : end + 1]:
        merged *= s
    return reshape(input, shape[:start] + (merged,) + shape[end + 1 :])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1): the inverse of flatten."""
    (axis,) = normalize_dims("unflatten", dim, input.ndim)
    sizes = _ints("unflatten", "sizes", sizes)
    if not sizes:
        raise ArgumentError("unflatten: sizes must be non-empty")
    n = input.shape[axis] if input.ndim else 1
    try:
        sizes = _infer_shape("unflatten", sizes, n, (n,))
    except ShapeError as exc:
        raise ShapeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) "
                         f"in the input tensor of shape {tuple(input.shape)}") from exc
    shape = tuple(input.shape)
    return reshape(input, shape[:axis] + sizes + shape[axis + 1 :])


def _restride_in_place(name: str, self: Tensor, view_op, *args) -> Tensor:
    """PyTorch's in-place view ops (``squeeze_``, ``t_``, ...): self takes the view's shape over the same
    memory, recorded as the out-of-place view when gradients are on; the version counter is bumped."""
    recording = is_grad_enabled() and self.requires_grad
    if recording and self._node is None:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation")
    if recording:
        result = view_op(self, *args)
        self._node, self._output_index = result._node, result._output_index
    else:
        with no_grad():
            result = view_op(self, *args)
    self._array = result._array
    self._version_ref[0] += 1
    return self


class Permute(Op):
    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, dims=()):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, gy):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return gy.permute(inverse)


def permute(input: Tensor, *args, dims=None) -> Tensor:
    """Reorder the dims: ``x.permute(2, 0, 1)`` or ``gg.permute(x, dims=(2, 0, 1))``. The gradient is
    permuted back."""
    dims = tuple(dims) if dims is not None else _dims_arg(args)
    if len(dims) != input.ndim:
        raise ShapeError(f"permute: {len(dims)} dims {tuple(dims)} given for a tensor of {input.ndim} dims, "
                         f"shape {tuple(input.shape)}")
    dims = normalize_dims("permute", dims, input.ndim)
    if sorted(dims) != list(range(input.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {input.ndim} dims of shape "
                         f"{tuple(input.shape)}")
    return Permute.apply_one(input, dims=dims)


def _swap(op: str, x: Tensor, dim0: int, dim1: int) -> Tensor:
    n = x._array.ndim
    d0, d1 = normalize_dims(op, (dim0, dim1), n)
    if n < 2 or d0 == d1:
        return x if n == 0 else Permute.apply_one(x, dims=tuple(range(n)))
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply_one(x, dims=tuple(dims))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    return _swap("transpose", input, dim0, dim1)


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """NumPy's name for transpose."""
    return _swap("swapaxes", input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Another name for transpose."""
    return _swap("swapdims", input, dim0, dim1)


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    n = input._array.ndim
    if n > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got shape {tuple(input.shape)}")
    return transpose(input, 0, 1) if n == 2 else input


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` (int or tuple) to positions ``destination``; the others keep their order."""
    return _move("movedim", input, source, destination)


def moveaxis(input: Tensor, source, destination) -> Tensor:
    """NumPy's name for movedim."""
    return _move("moveaxis", input, source, destination)


def _move(op: str, x: Tensor, source, destination) -> Tensor:
    src = normalize_dims(op, source, x.ndim)
    dst = normalize_dims(op, destination, x.ndim)
    if len(src) != len(dst):
        raise ArgumentError(f"{op}: invalid source or destination dims: source ({list(src)} dims) should contain the "
                            f"same number of dims as destination ({list(dst)} dims)")
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise ArgumentError(f"{op}: repeated dim in `{name}` ({list(dims)})")
    if x.ndim == 0:
        return x
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    order = tuple(o if o is not None else next(rest) for o in order)
    return Permute.apply_one(x, dims=order)


# Broadcasting views -------------------------------------------------------------------------------
class Expand(Op):
    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        lead = len(shape) - x.ndim
        if all(n == 1 for n in shape[:lead]) and shape[lead:] == x.shape:
            # Only new dims of size 1: no element repeats, so the view is writable, as PyTorch's is
            # (transformers fills ``arange(n).expand((1, -1))`` buffers in place).
            return x[(None,) * lead + (Ellipsis,)]  # x[...] for no new dims: a view of a 0-d array too
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.sum_to_size(ctx.shape)


def _expanded_shape(op: str, shape: tuple, sizes: tuple) -> tuple:
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ShapeError(f"{op}: the number of sizes provided ({len(sizes)}) must be greater or equal to the number "
                         f"of dimensions in the tensor ({len(shape)}), shape {shape}")
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise ShapeError(f"{op}: the expanded size of the tensor ({s}) isn't allowed in a leading, "
                                 f"non-existing dimension {i}: cannot expand shape {shape} to {sizes}")
            out.append(s)
            continue
        have = shape[i - lead]
        if s == -1:
            s = have
        if have != s and have != 1:
            raise ShapeError(f"{op}: the expanded size of the tensor ({s}) must match the existing size ({have}) at "
                             f"non-singleton dimension {i}: cannot expand shape {shape} to {sizes}")
        if s < 0:
            raise ShapeError(f"{op}: invalid size {s} at dimension {i}: cannot expand shape {shape} to {sizes}")
        out.append(s)
    return tuple(out)


def expand(x: Tensor, *sizes, size=None) -> Tensor:
    """A broadcast view of ``x`` with the given sizes (-1 keeps a dim; new dims go in front). No memory is
    copied; the gradient is summed back over the broadcast dims."""
    shape = _expanded_shape("expand", tuple(x.shape), _shape_arg("expand", sizes, size))
    if shape == tuple(x.shape) and not _records(x):
        return x
    return Expand.apply_one(x, shape=shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, tuple(other.shape))


def broadcast_to(input: Tensor, *size) -> Tensor:
    """``input`` expanded to ``size`` (a view; -1 keeps a dim)."""
    shape = _expanded_shape("broadcast_to", tuple(input.shape), _shape_arg("broadcast_to", size))
    if shape == tuple(input.shape) and not _records(input):
        return input
    return Expand.apply_one(input, shape=shape)


def _broadcast(op: str, shapes: list) -> Size:
    out = [1] * max((len(shape) for shape in shapes), default=0)
    seen = 0  # the longest shape before this one (PyTorch folds the shapes pairwise)
    for index, shape in enumerate(shapes):
        for k in range(1, len(shape) + 1):
            s = shape[-k]
            if s < 0:
                raise ArgumentError(f"{op}: attempting to broadcast a dimension with negative length, shape {shape}")
            if out[-k] == 1:
                out[-k] = s
            elif s != 1 and s != out[-k]:  # PyTorch's sentences, which callers match
                if op == "broadcast_shapes":
                    raise ShapeError(f"{op}: Attempting to broadcast a dimension of length {s} at {-k}! Mismatching "
                                     f"argument at index {index} had {shape}; but expected shape should be "
                                     f"broadcastable to {out}")
                raise ShapeError(f"{op}: The size of tensor a ({out[-k]}) must match the size of tensor b ({s}) at "
                                 f"non-singleton dimension {max(seen, len(shape)) - k}")
        seen = max(seen, len(shape))
    return Size(out)


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` (each a sequence of ints, or an int) broadcast to."""
    return _broadcast("broadcast_shapes", [(s,) if hasattr(s, "__index__") else _ints("broadcast_shapes", "shape", s)
                                           for s in shapes])


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape."""
    tensors = _tensor_list("broadcast_tensors", tensors, allow_empty=True)
    shape = _broadcast("broadcast_tensors", [tuple(t.shape) for t in tensors])
    return tuple(t if tuple(t.shape) == shape else Expand.apply(t, shape=tuple(shape)) for t in tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids of 0-d or 1-d tensors: with ``indexing='ij'`` output i varies along dim i; with
    ``'xy'`` the first two dims are swapped (Cartesian). Each output is an expanded view of its input."""
    tensors = _tensor_list("meshgrid", tensors)
    if indexing is None:
        warn_once("meshgrid", "meshgrid: in an upcoming release, it will be required to pass the indexing "
                              "argument ('ij' is the default)")
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f'meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expected 0D or 1D tensors, got shape {tuple(t.shape)}")
        if t.dtype != tensors[0].dtype:
            raise DTypeError(f"meshgrid: expects all tensors to have the same dtype, got {tensors[0].dtype} and {t.dtype}")
        if t._backend is not tensors[0]._backend:
            raise DeviceError(f"meshgrid: expects all tensors to be on the same device, got {tensors[0].device} and {t.device}")
    positions = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        positions[0], positions[1] = 1, 0
    shape = [0] * len(tensors)
    for t, p in zip(tensors, positions):
        shape[p] = t.numel()
    grids = []
    for t, p in zip(tensors, positions):
        column = reshape(t, tuple(shape[p] if i == p else 1 for i in range(len(shape))))
        grids.append(expand(column, tuple(shape)))
    return tuple(grids)


# Squeeze and unsqueeze ----------------------------------------------------------------------------
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dims of size 1: all of them, or those of ``dim`` (an int or a tuple) that have size 1."""
    if dim is None:
        shape = tuple(s for s in input._array.shape if s != 1)
    else:
        axes = distinct_dims("squeeze", dim, input.ndim)
        shape = tuple(s for i, s in enumerate(input._array.shape) if not (i in axes and s == 1))
    return _reshape_to("squeeze", input, shape, allow_copy=False)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (from -ndim-1 to ndim)."""
    dim = _int("unsqueeze", "dim", dim)
    shape = input._array.shape
    n = len(shape)
    if not -n - 1 <= dim <= n:
        raise IndexError(f"unsqueeze: dimension out of range (expected to be in range of [{-n - 1}, {n}], "
                         f"but got {dim})")
    dim = dim % (n + 1)
    return _reshape_to("unsqueeze", input, shape[:dim] + (1,) + shape[dim:], allow_copy=False)


def squeeze_(self: Tensor, dim=None) -> Tensor:
    """In-place squeeze: self loses the size-1 dims."""
    return _restride_in_place("squeeze_", self, squeeze, dim)


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """In-place unsqueeze: self gains a size-1 dim at ``dim``."""
    return _restride_in_place("unsqueeze_", self, unsqueeze, dim)


def t_(self: Tensor) -> Tensor:
    """In-place t."""
    return _restride_in_place("t_", self, t)


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place transpose."""
    return _restride_in_place("transpose_", self, transpose, dim0, dim1)


def swapaxes_(self: Tensor, axis0: int, axis1: int) -> Tensor:
    """In-place swapaxes."""
    return _restride_in_place("swapaxes_", self, swapaxes, axis0, axis1)


def swapdims_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place swapdims."""
    return _restride_in_place("swapdims_", self, swapdims, dim0, dim1)


# Joining ------------------------------------------------------------------------------------------
class Cat(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.shapes = [a.shape for a in arrays]
        # C-contiguous, as PyTorch's cat and stack, whose result .view then takes (pyro's samplers)
        return ctx.backend.concatenate(arrays, axis)

    @staticmethod
    def backward(ctx, gy):
        grads, start = [], 0
        lead = (slice(None),) * ctx.axis
        for shape, need in zip(ctx.shapes, ctx.needs_input_grad):
            size = shape[ctx.axis]
            grads.append(gy[lead + (slice(start, start + size),)] if need else None)
            start += size
        return tuple(grads)


def _tensor_list(op: str, tensors: tuple, allow_empty: bool = False) -> list:
    """Tensors given as varargs or as one sequence."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tensors[0]
    return _all_tensors(op, list(tensors), allow_empty)


def _sequence_of_tensors(op: str, tensors) -> list:
    """The ``tensors`` argument of cat, stack, hstack, ...: a sequence (not a Tensor) of Tensors."""
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: argument 'tensors' must be a sequence of Tensors, not {type(tensors).__name__}")
    return _all_tensors(op, list(tensors), False)


def _all_tensors(op: str, tensors: list, allow_empty: bool) -> list:
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, got an element of type {type(t).__name__}")
    if not tensors and not allow_empty:
        raise ShapeError(f"{op}: expects a non-empty sequence of tensors")
    return tensors


def _promoted(tensors: list) -> list:
    first = tensors[0]._array.dtype
    for t in tensors:
        if t._array.dtype is not first:
            break
    else:  # the common case: nothing to promote
        return tensors
    from .. import dtypes

    target = tensors[0].dtype
    for t in tensors[1:]:
        target = dtypes.promote(target, t.dtype)
    return [t if t.dtype is target else t.to(target) for t in tensors]


def _cat(op: str, tensors: list, dim: int) -> Tensor:
    tensors = _promoted(tensors)
    if len(tensors) > 1:
        # As PyTorch: 1-d empty tensors, shape (0,), are skipped (``out = torch.empty(0)`` before a loop
        # of cats); they take part in the dtype's promotion only.
        kept = [t for t in tensors if t._array.shape != (0,)]
        tensors = kept or tensors[:1]
    first = tensors[0]
    if first.ndim == 0:
        raise ShapeError(f"{op}: zero-dimensional tensor (at position 0) cannot be concatenated")
    (axis,) = normalize_dims(op, dim, first.ndim)
    shape = first._array.shape
    for t in tensors[1:]:
        other = t._array.shape
        if len(other) != len(shape) or other[:axis] != shape[:axis] or other[axis + 1:] != shape[axis + 1:]:
            raise ShapeError(f"{op}: sizes must match except in dim {dim}, got {[tuple(x.shape) for x in tensors]}")
    return Cat.apply(*tensors, axis=axis)


@autocast_policy(PROMOTE)
def cat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join tensors (promoted to a common dtype) along an existing dim; each gets its slice of the gradient."""
    return write_out("cat", _cat("cat", _sequence_of_tensors("cat", tensors), dim), out)


@autocast_policy(PROMOTE)
def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join equally shaped tensors along a new dim."""
    tensors = _sequence_of_tensors("stack", tensors)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: expects each tensor to be equal size, got {[tuple(t.shape) for t in tensors]}")
    (axis,) = normalize_dims("stack", dim, tensors[0].ndim + 1)
    return write_out("stack", _cat("stack", [unsqueeze(t, axis) for t in tensors], axis), out)


def hstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 1 (dim 0 when the inputs are 1-d; 0-d ones count as 1-d)."""
    tensors = _at_least(1, _sequence_of_tensors("hstack", tensors))
    return write_out("hstack", _cat("hstack", tensors, 0 if tensors[0].ndim == 1 else 1), out)


def vstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 0 after making each input at least 2-d (a 1-d input is a row)."""
    tensors = _at_least(2, _sequence_of_tensors("vstack", tensors))
    return write_out("vstack", _cat("vstack", tensors, 0), out)


def row_stack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Another name for vstack."""
    tensors = _at_least(2, _sequence_of_tensors("row_stack", tensors))
    return write_out("row_stack", _cat("row_stack", tensors, 0), out)


def dstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 2 after making each input at least 3-d."""
    tensors = _at_least(3, _sequence_of_tensors("dstack", tensors))
    return write_out("dstack", _cat("dstack", tensors, 2), out)


def column_stack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 1, 0-d and 1-d inputs becoming columns."""
    tensors = _sequence_of_tensors("column_stack", tensors)
    columns = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors]
    return write_out("column_stack", _cat("column_stack", columns, 1), out)


_AT_LEAST_SHAPES = {
    1: lambda s: s if len(s) >= 1 else (1,),
    2: lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s,
    3: lambda s: s if len(s) >= 3 else {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)],
}


def _at_least(n: int, tensors: list) -> list:
    """Each tensor viewed with at least n dims, as NumPy's atleast_nd places the new ones."""
    return [reshape(t, _AT_LEAST_SHAPES[n](tuple(t.shape))) for t in tensors]


def _atleast(op: str, n: int, tensors: tuple):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return _at_least(n, [tensors[0]])[0]
    return tuple(_at_least(n, _tensor_list(op, tensors, allow_empty=True)))


def atleast_1d(*tensors):
    """A tensor (or a tuple, given several or a sequence) viewed as at least 1-d."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors):
    """At least 2-d: a 1-d tensor becomes a row (1, n)."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors):
    """At least 3-d: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1)."""
    return _atleast("atleast_3d", 3, tensors)


# Splitting ----------------------------------------------------------------------------------------
class Split(Op):
    """Slices of x along ``axis`` as separate outputs, each a view of x. Backward joins the pieces'
    gradients in one cat (or, for overlapping pieces, scatters each into zeros and sums)."""

    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, axis=0, bounds=()):
        ctx.axis, ctx.bounds, ctx.shape = axis, bounds, x.shape
        lead = (slice(None),) * axis
        return tuple(x[lead + (slice(a, b),)] for a, b in bounds)

    @staticmethod
    def backward(ctx, *grads):
        if _is_partition(ctx.bounds, ctx.shape[ctx.axis]):
            return cat(list(grads), dim=ctx.axis)
        total = None
        for g, (a, b) in zip(grads, ctx.bounds):
            part = SliceScatter.apply(g, shape=ctx.shape, axis=ctx.axis, start=a)
            total = part if total is None else total + part
        return total


class SliceScatter(Op):
    """Zeros of ``shape`` with g written at ``start`` along ``axis``: the gradient of a slice."""

    complex_ok = True

    @staticmethod
    def forward(ctx, g, shape=(), axis=0, start=0):
        ctx.axis, ctx.start, ctx.length = axis, start, g.shape[axis]
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        out[(slice(None),) * axis + (slice(start, start + g.shape[axis]),)] = g
        return out

    @staticmethod
    def backward(ctx, ggx):
        return narrow(ggx, ctx.axis, ctx.start, ctx.length)


def _is_partition(bounds, n: int) -> bool:
    return bounds[0][0] == 0 and bounds[-1][1] == n and all(b[1] == c[0] for b, c in zip(bounds, bounds[1:]))


def _pieces(x: Tensor, axis: int, bounds: list) -> tuple:
    if not bounds:
        return ()
    return Split.apply(x, axis=axis, bounds=tuple(bounds))


def _split_axis(op: str, x: Tensor, dim: int) -> int:
    if x.ndim == 0:
        raise ShapeError(f"{op}: expects at least a 1-dimensional tensor")
    return normalize_dims(op, dim, x.ndim)[0]


def split(x: Tensor, split_size_or_sections=None, dim: int = 0, *, split_size=None) -> tuple:
    """Views of ``x`` along ``dim``: pieces of ``split_size`` (the last may be smaller), or of the listed
    sizes (which must sum to the dim's size). ``split_size=`` is Tensor.split's keyword for the same."""
    if split_size is not None:
        if split_size_or_sections is not None:
            raise TypeError("split(): got split_size_or_sections and split_size both")
        split_size_or_sections = split_size
    if split_size_or_sections is None:
        raise TypeError("split(): missing the split size (split_size_or_sections)")
    axis = _split_axis("split", x, dim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = _ints("split", "split_sizes", split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise ArgumentError(f"split: split_sizes must be non-negative, got {list(sizes)}")
        if sum(sizes) != n:
            raise ShapeError(f"split: split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                             f"at dimension {dim}, shape {tuple(x.shape)}), but got split_sizes={list(sizes)}")
    else:
        size = _int("split", "split_size", split_size_or_sections)
        if size < 0:
            raise ArgumentError(f"split: expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n != 0:
            raise ArgumentError(f"split: split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = (size,) * (n // size) + ((n % size,) if n % size else ()) if n else (0,)
    bounds, start = [], 0
    for s in sizes:
        bounds.append((start, start + s))
        start += s
    return _pieces(x, axis, bounds)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of ``input`` along ``dim``, each of ceil(size / chunks) (the last smaller)."""
    chunks = _int("chunk", "chunks", chunks)
    if chunks <= 0:
        raise ArgumentError(f"chunk: expects `chunks` to be greater than 0, got: {chunks}")
    axis = _split_axis("chunk", input, dim)
    n = input.shape[axis]
    if n == 0:
        return _pieces(input, axis, [(0, 0)] * chunks)
    return split(input, -(-n // chunks), axis)


def tensor_split(input: Tensor, indices_or_sections=None, dim: int = 0, *, sections=None, indices=None) -> tuple:
    """Views of ``input`` along ``dim``: ``sections`` near-equal pieces (the first size % sections one longer),
    or the pieces between the given ``indices`` (clamped to the dim; an int tensor may hold either)."""
    given = [a for a in (indices_or_sections, sections, indices) if a is not None]
    if len(given) != 1:
        raise TypeError("tensor_split: expects exactly one of indices_or_sections, sections or indices")
    spec = given[0]
    if input.ndim == 0:
        raise ShapeError("tensor_split: expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    if isinstance(spec, Tensor):
        if spec._array.dtype.kind not in "iu":
            raise DTypeError(f"tensor_split: expected tensor_indices_or_sections to have dtype of long, but got {spec.dtype}")
        if spec.ndim > 1:
            raise ShapeError(f"tensor_split: expected tensor_indices_or_sections to be a zero-dimensional or "
                             f"one-dimensional tensor, but got a tensor with {spec.ndim} dims")
        spec = spec.item() if spec.ndim == 0 else spec.tolist()
    (axis,) = normalize_dims("tensor_split", dim, input.ndim)
    n = input.shape[axis]
    if isinstance(spec, (tuple, list)) or indices is not None:
        points = [_clamp_index(i, n) for i in _ints("tensor_split", "indices", spec)]
        bounds = list(zip([0] + points, points + [n]))
    else:
        count = _int("tensor_split", "sections", spec)
        if count <= 0:
            raise ArgumentError(f"tensor_split: number of sections must be larger than 0, got {count}")
        size, extra = divmod(n, count)
        bounds, start = [], 0
        for k in range(count):
            stop = start + size + (k < extra)
            bounds.append((start, stop))
            start = stop
    # A later index below an earlier one gives an empty piece, as a slice would.
    return _pieces(input, axis, [(a, max(a, b)) for a, b in bounds])


def _clamp_index(i: int, n: int) -> int:
    """Where slicing puts index ``i`` of a dim of size n (negative ones count from the end)."""
    return min(max(i + n if i < 0 else i, 0), n)


class Unbind(Op):
    """The slices of x along ``axis`` as separate outputs (views). Indexing each step separately would
    scatter a full-size gradient per step (quadratic in sequence length); here backward is one stack."""

    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        lead = (slice(None),) * axis
        return tuple(x[lead + (i, Ellipsis)] for i in range(x.shape[axis]))  # Ellipsis keeps 0-d results arrays

    @staticmethod
    def backward(ctx, *grads):
        return stack(list(grads), dim=ctx.axis)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """``x.unbind(dim)``: the tuple of slices along ``dim`` (views), differentiable."""
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    (axis,) = normalize_dims("unbind", dim, input.ndim)
    if input.shape[axis] == 0:
        return ()
    return Unbind.apply(input, axis=axis)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view ``x[..., start:start + length, ...]`` along ``dim`` (a negative start counts from the end)."""
    if input.ndim == 0:
        raise ShapeError("narrow: cannot be applied to a 0-dim tensor")
    (axis,) = normalize_dims("narrow", dim, input.ndim)
    start, length = _int("narrow", "start", start), _int("narrow", "length", length)
    n = input.shape[axis]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if length < 0:
        raise ArgumentError(f"narrow: length must be non-negative, got {length}")
    start = start + n if start < 0 else start
    if start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) of shape "
                         f"{tuple(input.shape)}")
    return input[(slice(None),) * axis + (slice(start, start + length),)]


def narrow_copy(input: Tensor, dim: int, start, length: int) -> Tensor:
    """``narrow``'s slice as a tensor of its own memory."""
    return narrow(input, dim, start, length).clone()


class AsStrided(Op):
    """A view of the storage ``x`` lives in (the memory block behind it, row-major) with the given sizes,
    strides and offset, in elements. Backward adds the view's gradient into a storage-sized buffer at
    the positions each view element reads (overlapping windows add up) and reads x's own positions."""

    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, storage=None, size=(), stride=(), offset=0, x_positions=None):
        xp = ctx.xp
        ctx.storage_size, ctx.x_positions = storage.size, x_positions
        ctx.positions = xp.lib.stride_tricks.as_strided(xp.arange(storage.size, dtype=xp.int64)[offset:], size,
                                                        tuple(s * 8 for s in stride))  # 8: an int64's bytes
        flat = storage.reshape(-1)[offset:]
        return xp.lib.stride_tricks.as_strided(flat, size, tuple(s * storage.itemsize for s in stride))

    @staticmethod
    def backward(ctx, gy):
        positions = Tensor._make(ctx.positions.reshape(-1), ctx.backend)
        storage = gy.new_zeros(ctx.storage_size).index_add(0, positions, gy.reshape(-1))
        return storage[Tensor._make(ctx.x_positions, ctx.backend)]


def _storage(x: Tensor):
    """The memory block behind ``x`` (the one ``x.storage_offset()`` counts in), read as a flat array of x's
    dtype, and where x starts in it, in elements."""
    block, item = _block(x._array), x._array.itemsize
    start = _address(x._array) - _address(block)
    if not block.flags.c_contiguous or start % item or block.nbytes % item:
        raise NotImplementedError(f"as_strided: the memory behind this tensor (shape {tuple(block.shape)}, "
                                  f"{block.dtype}) is not a contiguous run of {x.dtype} elements; call it on a copy")
    return block.reshape(-1).view(x._array.dtype), start // item


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """The view of ``input``'s storage with ``size``, ``stride`` and ``storage_offset`` (in elements; the
    default offset is x's own), as PyTorch's: windows may overlap, and writes through the view reach x. The
    storage is the memory block x lives in, as PyTorch's, also when x is a detached strided slice."""
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride):
        raise ShapeError(f"as_strided: mismatch in length of strides and shape ({len(stride)} and {len(size)})")
    if any(n < 0 for n in size) or any(n < 0 for n in stride):
        raise ShapeError(f"as_strided: sizes and strides must be non-negative, got {size} and {stride}")
    storage, x_offset = _storage(input)
    offset = x_offset if storage_offset is None else int(storage_offset)
    reach = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
    if offset < 0 or reach > storage.size:
        raise RuntimeError(f"as_strided: sizes {list(size)}, strides {list(stride)} and storage offset {offset} need a "
                           f"storage of {reach} elements; x's storage has {storage.size}")
    xp = input._backend.xp
    x_positions = xp.lib.stride_tricks.as_strided(
        xp.arange(storage.size, dtype=xp.int64)[x_offset:], input._array.shape,
        tuple(s // input._array.itemsize * 8 for s in input._array.strides)).copy()  # 8: an int64 position's bytes
    return AsStrided.apply(input, storage=storage, size=size, stride=stride, offset=offset, x_positions=x_positions)


def concat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``cat``."""
    return cat(tensors, dim, out=out)


def concatenate(tensors, axis: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``cat`` (NumPy's name, ``axis``)."""
    return cat(tensors, axis, out=out)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for a 1-d tensor)."""
    if input.ndim == 0:
        raise ShapeError("hsplit: requires a tensor with at least 1 dimension")
    return _even_split("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of a tensor of at least 2 dims."""
    if input.ndim < 2:
        raise ShapeError(f"vsplit: requires a tensor with at least 2 dimensions, got shape {tuple(input.shape)}")
    return _even_split("vsplit", input, indices_or_sections, 0)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of a tensor of at least 3 dims."""
    if input.ndim < 3:
        raise ShapeError(f"dsplit: requires a tensor with at least 3 dimensions, got shape {tuple(input.shape)}")
    return _even_split("dsplit", input, indices_or_sections, 2)


def _even_split(op: str, x: Tensor, indices_or_sections, dim: int) -> tuple:
    """As NumPy's h/v/dsplit: a number of sections must divide the dim evenly; indices split anywhere."""
    if isinstance(indices_or_sections, int) and (indices_or_sections <= 0 or x.shape[dim] % indices_or_sections):
        raise ShapeError(f"{op}: dimension {dim} of size {x.shape[dim]} does not divide into "
                         f"{indices_or_sections} equal sections")
    return tensor_split(x, indices_or_sections, dim)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view ``x[..., index, ...]`` along ``dim``, which it removes (a negative index counts from the end)."""
    if input.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-dim tensor")
    (axis,) = normalize_dims("select", dim, input.ndim)
    index = _int("select", "index", index)
    n = input._array.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} out of range for tensor of size {tuple(input.shape)} "
                         f"at dimension {axis}")
    return input[(slice(None),) * axis + (index,)]


def ravel(input: Tensor) -> Tensor:
    """``input`` as one dimension: a view when its memory allows, else a copy (as ``reshape(-1)``)."""
    return reshape(input, (-1,))


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The n-th forward difference along ``dim``, ``x[1:] - x[:-1]`` applied n times, after joining
    ``prepend`` and ``append`` to x along it. Bool tensors give the logical xor, as PyTorch."""
    if input.ndim == 0:
        raise ShapeError("diff: expects input to be at least one-dimensional")
    n = _int("diff", "n", n)
    if n < 0:
        raise ArgumentError(f"diff: order must be non-negative but got {n}")
    (axis,) = normalize_dims("diff", dim, input.ndim)
    if n == 0:  # PyTorch returns the input itself, prepend and append left out
        return input
    parts = [t for t in (prepend, input, append) if t is not None]
    y = cat(parts, axis) if len(parts) > 1 else input
    lead = (slice(None),) * axis
    for _ in range(n):
        later, earlier = y[lead + (slice(1, None),)], y[lead + (slice(None, -1),)]
        y = later ^ earlier if y._array.dtype.kind == "b" else later - earlier
    return y


# Repeating ----------------------------------------------------------------------------------------
class Repeat(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, repeats=()):
        ctx.shape = x.shape
        lead = len(repeats) - x.ndim
        return ctx.backend.tile(x.reshape((1,) * lead + x.shape), repeats)

    @staticmethod
    def backward(ctx, gy):
        # gy is blocks of the input's shape: view it as (r0, s0, r1, s1, ...) and sum over the r axes (those
        # of one copy left out: repeat(2, 1)'s gradient is then a sum over leading rows).
        sizes = (1,) * (gy.ndim - len(ctx.shape)) + tuple(ctx.shape)
        dims, axes = [], []
        for g, s in zip(gy.shape, sizes):
            if g != s:
                axes.append(len(dims))
                dims.append(g // s if s else 0)
            dims.append(s)
        return gy.reshape(dims).sum(dim=tuple(axes)).reshape(ctx.shape) if axes else gy.reshape(ctx.shape)


def repeat(x: Tensor, *sizes, repeats=None) -> Tensor:
    """``x`` tiled ``repeats[i]`` times along dim i (extra repeats add leading dims). The gradient sums
    the copies."""
    repeats = _shape_arg("repeat", sizes, repeats, "repeats")
    if len(repeats) < x.ndim:
        raise ShapeError(f"repeat: number of dimensions of repeat dims ({len(repeats)}) can not be smaller than number "
                         f"of dimensions of tensor ({x.ndim}), shape {tuple(x.shape)}")
    if any(r < 0 for r in repeats):
        raise ArgumentError(f"repeat: repeats must be non-negative, got {list(repeats)} for shape {tuple(x.shape)}")
    return Repeat.apply(x, repeats=repeats)


def tile(input: Tensor, *args, dims=None) -> Tensor:
    """``input`` repeated ``dims[i]`` times along dim i; fewer dims than x has are padded with leading 1s."""
    if dims is None and not args:
        raise TypeError("tile: missing the required argument 'dims'")
    dims = _shape_arg("tile", (dims,) if dims is not None else args)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place: an int, or an int tensor
    with one count per element. ``dim=None`` flattens first. With ``input`` alone (a 1-d int tensor of counts),
    the indices 0, 1, ... each repeated that often."""
    if repeats is None:
        return _repeated_indices(input, output_size)
    if dim is None:
        input, axis = flatten(input), 0
    elif input.ndim == 0:
        raise IndexError(f"repeat_interleave: dimension {dim} specified but the tensor has no dimensions")
    else:
        (axis,) = normalize_dims("repeat_interleave", dim, input.ndim)
    n = input.shape[axis]
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        repeats = repeats.item() if repeats._array.dtype.kind in "iu" else repeats.reshape(1)
    if isinstance(repeats, Tensor):
        counts = _counts("repeat_interleave", repeats)
        if counts.shape[0] != n:
            raise ShapeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                             f"repeats.size(0) = {counts.shape[0]} and input.size({axis}) = {n}")
        if counts._backend is not input._backend:
            raise DeviceError(f"repeat_interleave: repeats on {counts.device} for a tensor on {input.device}")
        index = _repeated_indices(counts, output_size)
        return input[(slice(None),) * axis + (index,)]
    count = _int("repeat_interleave", "repeats", repeats)
    if count < 0:
        raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got {count}")
    _check_output_size(output_size, n * count)
    shape = tuple(input.shape)
    each = (1,) * (axis + 1) + (count,) + (1,) * (input.ndim - axis - 1)
    copies = Repeat.apply(unsqueeze(input, axis + 1), repeats=each)
    return reshape(copies, shape[:axis] + (n * count,) + shape[axis + 1 :])


def _counts(op: str, repeats: Tensor) -> Tensor:
    if repeats._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: repeats must be an integer tensor, got {repeats.dtype}")
    if repeats.ndim != 1:
        raise ShapeError(f"{op}: repeats must be a 0-dim or 1-dim tensor, got shape {tuple(repeats.shape)}")
    if repeats.numel() and int(repeats._array.min()) < 0:
        raise ArgumentError(f"{op}: repeats can not be negative")
    return repeats


def _check_output_size(output_size, size: int) -> None:
    if output_size is not None and output_size != size:
        raise ArgumentError(f"repeat_interleave: invalid output_size, expected {size} but got {output_size}")


def _repeated_indices(counts: Tensor, output_size) -> Tensor:
    """0, 1, ... with index i repeated counts[i] times (an int64 tensor on counts' device)."""
    counts = _counts("repeat_interleave", counts)
    xp = counts._backend.xp
    ends = xp.cumsum(counts._array.astype(xp.int64))
    total = int(ends[-1]) if ends.shape[0] else 0  # the result's size: one read of a device value
    _check_output_size(output_size, total)
    # Output position p belongs to the first i whose run ends after p.
    index = xp.searchsorted(ends, xp.arange(total, dtype=xp.int64), side="right")
    return Tensor._make(index.astype(xp.int64, copy=False), counts._backend)


# Flipping and rolling -----------------------------------------------------------------------------
class Flip(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, axes=()):
        ctx.axes = axes
        if len(axes) == 1:  # the CPU's kernel (NumPy's strided copy of the flipped view was up to 6x a copy)
            return kshape.flip_copy(ctx.xp, x, axes[0])
        return ctx.xp.flip(x, axis=axes).copy()

    @staticmethod
    def backward(ctx, gy):
        return Flip.apply(gy, axes=ctx.axes)


def flip(input: Tensor, *args, dims=None) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy). The gradient is flipped back."""
    if dims is None and not args:
        raise TypeError("flip: missing the required argument 'dims'")
    dims = dims if dims is not None else _dims_arg(args)
    axes = distinct_dims("flip", (dims,) if hasattr(dims, "__index__") else dims, input.ndim)
    return Flip.apply(input, axes=axes if input.ndim else ())


def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1 (left/right); x must be at least 2-d."""
    _need_dims("fliplr", input, 2)
    return Flip.apply(input, axes=(1,))


def flipud(input: Tensor) -> Tensor:
    """Flip dim 0 (up/down); x must be at least 1-d."""
    _need_dims("flipud", input, 1)
    return Flip.apply(input, axes=(0,))


class Roll(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, shifts=(), axes=None):
        ctx.shifts, ctx.axes = shifts, axes
        return ctx.backend.roll(x, shifts, axes)

    @staticmethod
    def backward(ctx, gy):
        return Roll.apply(gy, shifts=tuple(-s for s in ctx.shifts), axes=ctx.axes)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (ints or tuples); without dims, over the
    flattened tensor. The gradient rolls back."""
    shifts = _ints("roll", "shifts", (shifts,) if hasattr(shifts, "__index__") else shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ArgumentError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0")
        return Roll.apply(input, shifts=shifts, axes=None)
    if input.ndim == 0:
        raise IndexError(f"roll: dimension {dims} specified but the tensor has no dimensions")
    axes = normalize_dims("roll", dims, input.ndim)
    if len(shifts) != len(axes) or not shifts:
        raise ArgumentError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(axes)}")
    return Roll.apply(input, shifts=shifts, axes=axes)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards the second."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise ArgumentError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim} "
                         f"(shape {tuple(input.shape)})")
    d0, d1 = normalize_dims("rot90", dims, input.ndim)
    if d0 == d1:
        raise ArgumentError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = _int("rot90", "k", k) % 4
    if k == 1:
        return transpose(Flip.apply(input, axes=(d1,)), d0, d1)
    if k == 2:
        return Flip.apply(input, axes=(d0, d1))
    if k == 3:
        return transpose(Flip.apply(input, axes=(d0,)), d0, d1)
    return Flip.apply(input, axes=())  # a copy, as PyTorch's


# Triangles and diagonals --------------------------------------------------------------------------
class Triangle(Op):
    """Keep the lower (tril) or upper (triu) triangle of the last two dims; zero the rest."""

    complex_ok = True

    @staticmethod
    def forward(ctx, x, k=0, lower=True):
        ctx.k, ctx.lower = k, lower
        # On the CPU one pass that copies each row's kept part and zeroes the rest; a mask and where else
        return kshape.triangle(ctx.xp, x, k, lower)

    @staticmethod
    def backward(ctx, gy):
        return Triangle.apply(gy, k=ctx.k, lower=ctx.lower)


def tril(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Elements on and below the ``diagonal``-th diagonal of the last two dims; zeros above."""
    _need_dims("tril", input, 2)
    return write_out("tril", Triangle.apply(input, k=_int("tril", "diagonal", diagonal), lower=True), out)


def triu(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Elements on and above the ``diagonal``-th diagonal of the last two dims; zeros below."""
    _need_dims("triu", input, 2)
    return write_out("triu", Triangle.apply(input, k=_int("triu", "diagonal", diagonal), lower=False), out)


def _diagonal_view(xp, a, offset: int, axis1: int, axis2: int):
    """The writable view of a's diagonal in the plane (axis1, axis2), moved to the last dim."""
    n1, n2 = a.shape[axis1], a.shape[axis2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = [0] * a.ndim
    if length:
        start[axis2 if offset >= 0 else axis1] = abs(offset)
    corner = a[tuple(slice(s, None) for s in start)]
    keep = [i for i in range(a.ndim) if i not in (axis1, axis2)]
    shape = tuple(a.shape[i] for i in keep) + (length,)
    strides = tuple(a.strides[i] for i in keep) + (a.strides[axis1] + a.strides[axis2],)
    return _as_strided(xp, corner, shape, strides)


class Diagonal(Op):
    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, offset=0, axis1=0, axis2=1):
        ctx.shape, ctx.args = x.shape, (offset, axis1, axis2)
        return _diagonal_view(ctx.xp, x, offset, axis1, axis2)

    @staticmethod
    def backward(ctx, gy):
        offset, axis1, axis2 = ctx.args
        return DiagonalScatter.apply(gy, shape=ctx.shape, offset=offset, axis1=axis1, axis2=axis2)


class DiagonalCopy(Diagonal):
    """``diag`` of a matrix: the diagonal in memory of its own."""

    is_view = False
    name = "diag"

    @staticmethod
    def forward(ctx, x, offset=0, axis1=0, axis2=1):
        return Diagonal.forward(ctx, x, offset, axis1, axis2).copy()


class DiagonalScatter(Op):
    """Zeros of ``shape`` with g written on a diagonal: diag_embed, and the gradient of diagonal."""

    complex_ok = True

    @staticmethod
    def forward(ctx, g, shape=(), offset=0, axis1=0, axis2=1):
        ctx.args = (offset, axis1, axis2)
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        _diagonal_view(ctx.xp, out, offset, axis1, axis2)[...] = g
        return out

    @staticmethod
    def backward(ctx, ggy):
        offset, axis1, axis2 = ctx.args
        return Diagonal.apply(ggy, offset=offset, axis1=axis1, axis2=axis2)


def _plane(op: str, dim1: int, dim2: int, ndim: int) -> tuple:
    d1, d2 = normalize_dims(op, (dim1, dim2), ndim)
    if d1 == d2:
        raise ArgumentError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The view of the ``offset``-th diagonal in the plane (dim1, dim2), as the last dim. The gradient is
    written back on that diagonal of zeros."""
    d1, d2 = _plane("diagonal", dim1, dim2, input.ndim)
    return Diagonal.apply(input, offset=_int("diagonal", "offset", offset), axis1=d1, axis2=d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Tensors whose (dim1, dim2) planes hold x's last dim on their ``offset``-th diagonal, zeros elsewhere."""
    d1, d2 = _plane("diag_embed", dim1, dim2, input.ndim + 1)
    offset = _int("diag_embed", "offset", offset)
    n = input.shape[-1] + abs(offset)
    shape = list(input.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    return DiagonalScatter.apply(input, shape=tuple(shape), offset=offset, axis1=d1, axis2=d2)


def diag(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """A 1-d x: the square matrix with x on its ``diagonal``-th diagonal. A 2-d x: that diagonal (a copy)."""
    diagonal = _int("diag", "diagonal", diagonal)
    if input.ndim == 1:
        return write_out("diag", diag_embed(input, diagonal), out)
    if input.ndim == 2:
        return write_out("diag", DiagonalCopy.apply(input, offset=diagonal, axis1=0, axis2=1), out)
    raise ShapeError(f"diag: supports 1D or 2D tensors, got {input.ndim}D (shape {tuple(input.shape)})")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The square matrix with x's elements (flattened) on its ``offset``-th diagonal."""
    return diag_embed(reshape(input, (-1,)), _int("diagflat", "offset", offset))


def block_diag(*tensors) -> Tensor:
    """The block-diagonal matrix of the given 0-, 1- or 2-d tensors (a 1-d one is a row), zeros elsewhere,
    in their promoted dtype."""
    tensors = _all_tensors("block_diag", list(tensors), True)
    if any(t.ndim > 2 for t in tensors):
        raise ShapeError(f"block_diag: expects tensors of at most 2 dims, got shapes {[tuple(t.shape) for t in tensors]}")
    if not tensors:
        from ..factory import zeros

        return zeros(1, 0)
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.promote_types(dtype, t.dtype)
    blocks = [reshape(t, (t.shape[0] if t.ndim == 2 else 1, -1)).to(dtype) for t in tensors]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        xp, height = b._backend.xp, b.shape[0]
        before = Tensor._make(xp.zeros((height, left), b._array.dtype), b._backend)
        after = Tensor._make(xp.zeros((height, width - left - b.shape[1]), b._array.dtype), b._backend)
        rows.append(cat([before, b, after], 1))
        left += b.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of one element from each 1-d tensor, as the rows of an (n1 * n2 * ..., k) tensor
    (one tensor: itself)."""
    tensors = _all_tensors("cartesian_prod", list(tensors), False)
    if any(t.ndim != 1 for t in tensors):
        raise ShapeError(f"cartesian_prod: expects 1-d tensors, got shapes {[tuple(t.shape) for t in tensors]}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split`` with a list of sizes."""
    return split(input, list(split_sizes), dim)


def unsafe_split(input: Tensor, split_size, dim: int = 0) -> tuple:
    """``split`` (PyTorch's variant skips a view check gpugrad does not make)."""
    return split(input, split_size, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` (PyTorch's variant skips a view check gpugrad does not make)."""
    return chunk(input, chunks, dim)


def _gradient_along(f: Tensor, axis: int, step, edge_order: int) -> Tensor:
    """One dim of ``gradient``: second-order central differences inside, one-sided ones of ``edge_order``
    at the two ends; ``step`` a number (uniform spacing) or the coordinates' differences (a 1-d tensor)."""
    def part(lo, hi):
        return narrow(f, axis, lo, hi - lo)

    n = f.shape[axis]
    shape = [1] * f.ndim
    if isinstance(step, Tensor):  # non-uniform: the weights of numpy.gradient's formulas
        def along(t):  # a 1-d tensor of weights placed along axis
            shape[axis] = t.shape[0]
            return reshape(t, tuple(shape))

        d1, d2 = step[:-1], step[1:]
        inside = (along(-d2 / (d1 * (d1 + d2))) * part(0, n - 2) + along((d2 - d1) / (d1 * d2)) * part(1, n - 1)
                  + along(d1 / (d2 * (d1 + d2))) * part(2, n))
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / step[0]
            last = (part(n - 1, n) - part(n - 2, n - 1)) / step[-1]
        else:
            a, b = step[0], step[1]
            first = (-(2 * a + b) / (a * (a + b)) * part(0, 1) + (a + b) / (a * b) * part(1, 2)
                     - a / (b * (a + b)) * part(2, 3))
            a, b = step[-2], step[-1]
            last = (b / (a * (a + b)) * part(n - 3, n - 2) - (a + b) / (a * b) * part(n - 2, n - 1)
                    + (2 * b + a) / (b * (a + b)) * part(n - 1, n))
    else:
        inside = (part(2, n) - part(0, n - 2)) / (2.0 * step)
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / step
            last = (part(n - 1, n) - part(n - 2, n - 1)) / step
        else:
            first = (-1.5 * part(0, 1) + 2.0 * part(1, 2) - 0.5 * part(2, 3)) / step
            last = (0.5 * part(n - 3, n - 2) - 2.0 * part(n - 2, n - 1) + 1.5 * part(n - 1, n)) / step
    return cat([first, inside, last], axis)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """The derivative of ``input`` sampled on a grid, one tensor per dim of ``dim`` (every dim by default),
    by central differences inside and one-sided ones of ``edge_order`` (1 or 2) at the ends, as
    numpy.gradient. ``spacing``: one number for all dims, one per dim, or per dim a 1-d tensor of
    coordinates. Integer input gives float32. Differentiable."""
    if edge_order not in (1, 2):
        raise ArgumentError("gradient: only supports edge_order=1 and edge_order=2.")
    f = input if input._array.dtype.kind in INEXACT_KINDS else input.to(dtypes.float32)  # complex stays complex
    axes = list(range(f.ndim)) if dim is None else list(normalize_dims("gradient", dim, f.ndim))
    spacing = 1 if spacing is None else spacing
    steps = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(axes)
    if len(steps) != len(axes):
        raise ArgumentError(f"gradient: expected spacing to be unspecified, a scalar or a list of length "
                            f"{len(axes)} (one per dim), got a list of length {len(steps)}")
    out = []
    for axis, step in zip(axes, steps):
        if f.shape[axis] < edge_order + 1:
            raise ArgumentError("gradient: expected each dimension size to be at least edge_order+1")
        if isinstance(step, Tensor):
            if step.ndim != 1 or step.shape[0] != f.shape[axis]:
                raise ShapeError(f"gradient: the coordinates along dim {axis} must be a 1-d tensor of "
                                 f"{f.shape[axis]} values, got shape {tuple(step.shape)}")
            step = diff(step.to(f.dtype))
        out.append(_gradient_along(f, axis, step, edge_order))
    return tuple(out)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-r combinations of a 1-d tensor's elements (itertools' order), as the rows of a (C, r)
    tensor; ``with_replacement`` allows repeats. Gathered from input, so differentiable."""
    if input.ndim != 1:
        raise ShapeError(f"combinations: expect a 1D vector, but got shape {tuple(input.shape)}")
    if r < 0:
        raise ArgumentError(f"combinations: expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._make(input._backend.xp.empty((0,), input._array.dtype), input._backend)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    index = numpy.asarray(rows, dtype=numpy.int64).reshape(len(rows), r)
    return input[Tensor._make(input._backend.asarray(index), input._backend)]


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-d tensor: columns x^(N-1) ... x^0 (x^0 ... x^(N-1) when
    ``increasing``), N = len(x) by default. Made of running products, so differentiable (also at 0)."""
    if x.ndim != 1:
        raise ShapeError(f"vander: x must be a one-dimensional tensor, got shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise ArgumentError(f"vander: N must be non-negative, got {n}")
    if x._array.dtype.kind == "b":
        x = x.long()
    ones = Tensor._make(x._backend.xp.ones((x.shape[0], min(n, 1)), x._array.dtype), x._backend)
    columns = cat([ones, x.unsqueeze(-1).expand(x.shape[0], n - 1).cumprod(-1)], -1) if n > 1 else ones
    return columns if increasing else flip(columns, (-1,))


# Sliding windows ----------------------------------------------------------------------------------
class Unfold(Op):
    """All windows of ``size`` elements, ``step`` apart, along ``axis``: a view with one more dim."""

    complex_ok = True
    is_view = True

    @staticmethod
    def forward(ctx, x, axis=0, size=1, step=1):
        ctx.shape, ctx.args = x.shape, (axis, size, step)
        windows = (x.shape[axis] - size) // step + 1
        shape = x.shape[:axis] + (windows,) + x.shape[axis + 1 :] + (size,)
        strides = x.strides[:axis] + (x.strides[axis] * step,) + x.strides[axis + 1 :] + (x.strides[axis],)
        return _as_strided(ctx.xp, x, shape, strides)

    @staticmethod
    def backward(ctx, gy):
        axis, size, step = ctx.args
        return UnfoldBackward.apply(gy, shape=ctx.shape, axis=axis, size=size, step=step)


class UnfoldBackward(Op):
    """Sum each window's gradient back onto the elements it covers (overlapping windows add up)."""

    complex_ok = True

    @staticmethod
    def forward(ctx, g, shape=(), axis=0, size=1, step=1):
        ctx.args = (axis, size, step)
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        windows = g.shape[axis]
        lead = (slice(None),) * axis
        for k in range(size):  # element k of every window: positions k, k + step, ...
            out[lead + (slice(k, k + (windows - 1) * step + 1, step),)] += g[..., k]
        return out

    @staticmethod
    def backward(ctx, ggx):
        axis, size, step = ctx.args
        return Unfold.apply(ggx, axis=axis, size=size, step=step)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``x.unfold(dimension, size, step)``: a view whose ``dimension`` indexes the windows of ``size``
    elements taken every ``step``, the window's elements in a new last dim."""
    (axis,) = normalize_dims("unfold", dimension, x.ndim)
    size, step = _int("unfold", "size", size), _int("unfold", "step", step)
    n = x.shape[axis] if x.ndim else 1
    if size > n:
        raise ShapeError(f"unfold: maximum size for tensor at dimension {axis} is {n} but size is {size} "
                         f"(shape {tuple(x.shape)})")
    if size < 0:
        raise ArgumentError(f"unfold: size is {size} but must be >= 0")
    if step <= 0:
        raise ArgumentError(f"unfold: step is {step} but must be > 0")
    if x.ndim == 0:  # a 0-d tensor is one window of its one element (or of none, for size 0)
        return narrow(reshape(x, (1,)), 0, 0, size)
    return Unfold.apply(x, axis=axis, size=size, step=step)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (
    reshape, flatten, unflatten, permute, transpose, swapaxes, swapdims, t, movedim, moveaxis, expand,
    broadcast_to, broadcast_tensors, broadcast_shapes, meshgrid, squeeze, unsqueeze, cat, stack, hstack, vstack,
    row_stack, dstack, column_stack, atleast_1d, atleast_2d, atleast_3d, split, chunk, tensor_split, unbind,
    narrow, narrow_copy, as_strided, repeat_interleave, tile, flip, fliplr, flipud, roll, rot90, tril, triu, diagonal, diag_embed, diag,
    select, ravel, diff, concat, concatenate, hsplit, vsplit, dsplit, diagflat, block_diag, cartesian_prod,
    combinations, vander, gradient, split_with_sizes, unsafe_split, unsafe_chunk,
)
_METHOD_ONLY = (view, repeat, unfold)
DIFFERENTIABLE = tuple(f for f in FUNCTIONS if f is not broadcast_shapes) + _METHOD_ONLY
_NOT_METHODS = (
    cat, stack, hstack, vstack, row_stack, dstack, column_stack, atleast_1d, atleast_2d, atleast_3d, meshgrid,
    broadcast_tensors, broadcast_shapes, concat, concatenate, block_diag, cartesian_prod, vander, gradient,
)
METHODS = {f.__name__: f for f in FUNCTIONS + _METHOD_ONLY if f not in _NOT_METHODS}
METHODS.update({f.__name__: f for f in (squeeze_, unsqueeze_, t_, transpose_, swapaxes_, swapdims_)})
METHODS.update(expand_as=expand_as)
INPLACE = (tril, triu)
