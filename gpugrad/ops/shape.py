"""Shape ops: reshape, transpose, permute, expand, squeeze, unsqueeze, cat, stack (indexing is ops/indexing.py).

View ops share memory and the version counter with their input, so an in-place change through a view
is seen by every graph that saved the base.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._operands import normalize_dims


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.reshape(ctx.shape)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dim may be -1)."""
    shape = _shape_arg(shape)
    if shape == x.data.shape:
        return x
    size = x.data.size
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if shape.count(-1) > 1 or (shape.count(-1) == 0 and known != size) or (shape.count(-1) == 1 and (known == 0 or size % known)):
        raise ShapeError(f"reshape: shape {list(shape)} is invalid for input of shape {tuple(x.shape)} ({size} elements)")
    return Reshape.apply(x, shape=shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = normalize_dims("flatten", (start_dim, end_dim), x.ndim)
    shape = tuple(x.shape)
    merged = 1
    for s in shape[start : end + 1]:
        merged *= s
    return reshape(x, shape[:start] + (merged,) + shape[end + 1 :])


class Permute(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims=()):
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, gy):
        return gy.permute(ctx.inverse)


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder the dims: ``x.permute(2, 0, 1)``."""
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: {len(dims)} dims {tuple(dims)} given for a tensor of {x.ndim} dims, shape {tuple(x.shape)}")
    dims = normalize_dims("permute", dims, x.ndim)
    if sorted(dims) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of shape {tuple(x.shape)}")
    return Permute.apply(x, dims=dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    d0, d1 = normalize_dims("transpose", (dim0, dim1), x.ndim)
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(x, dims=tuple(dims))


def t(x: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got shape {tuple(x.shape)}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.sum_to_size(ctx.shape)


def expand(x: Tensor, *sizes) -> Tensor:
    """A broadcast view of ``x`` with the given sizes (-1 keeps a dim). No memory is copied."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's dims ({x.ndim})")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[i + lead]:
            raise ShapeError(f"expand: cannot expand shape {tuple(x.shape)} to {shape}")
    if shape == tuple(x.shape):
        return x
    return Expand.apply(x, shape=shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, tuple(other.shape))


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Remove dims of size 1 (only ``dim`` when given, which is kept if its size is not 1)."""
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = normalize_dims("squeeze", dim, x.ndim)
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim``."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dimension {dim} out of range for a tensor of {x.ndim} dimensions")
    dim = dim % (x.ndim + 1)
    shape = tuple(x.shape)
    return reshape(x, shape[:dim] + (1,) + shape[dim:])


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return ctx.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, gy):
        grads, start = [], 0
        lead = (slice(None),) * ctx.axis
        for size, need in zip(ctx.sizes, ctx.needs_input_grad):
            grads.append(gy[lead + (slice(start, start + size),)] if need else None)
            start += size
        return tuple(grads)


def _same_backend_and_dtype(op: str, tensors):
    from .. import dtypes

    if not tensors:
        raise ShapeError(f"{op}: expected a non-empty sequence of tensors")
    target = tensors[0].dtype
    for t in tensors[1:]:
        target = dtypes.promote(target, t.dtype)
    return [t if t.dtype is target else t.to(target) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    tensors = _same_backend_and_dtype("cat", list(tensors))
    (axis,) = normalize_dims("cat", dim, tensors[0].ndim)
    for t in tensors[1:]:
        if t.ndim != tensors[0].ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape)) if i != axis):
            raise ShapeError(
                f"cat: sizes must match except in dim {dim}, got {[tuple(x.shape) for x in tensors]}"
            )
    return Cat.apply(*tensors, axis=axis)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: expects each tensor to be equal size, got {[tuple(t.shape) for t in tensors]}")
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim if dim >= 0 else dim + tensors[0].ndim + 1)


class Unbind(Function):
    """The slices of x along ``axis`` as separate outputs. Indexing each step separately would scatter a
    full-size gradient per step (quadratic in sequence length); here backward is one stack."""

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        return tuple(x.take(i, axis=axis) for i in range(x.shape[axis]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, dim=ctx.axis)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """``x.unbind(dim)``: the tuple of slices along ``dim``, differentiable."""
    (axis,) = normalize_dims("unbind", dim, x.ndim)
    out = Unbind.apply(x, axis=axis)
    return out if isinstance(out, tuple) else (out,)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (reshape, flatten, permute, transpose, t, expand, squeeze, unsqueeze, cat, stack, unbind)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS if f not in (cat, stack)}
METHODS.update(view=reshape, expand_as=expand_as)
