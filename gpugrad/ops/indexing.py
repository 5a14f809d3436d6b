"""Indexing and selection: ``x[index]`` and ``x[index] = value``.

Basic indexing (ints, slices, None, Ellipsis) gives a view; integer and bool array indexing gives a copy
whose backward scatters the gradient back, accumulating over repeated indices.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor


def _index_arrays(index, backend):
    """Replace Tensors inside an index with backend arrays; report whether integer/bool arrays occur."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    advanced = False
    for p in parts:
        if isinstance(p, Tensor):
            if p.data.dtype.kind not in "iub":
                raise IndexError(f"index: tensors used as indices must be int64 or bool, got {p.dtype}")
            if p._backend is not backend:
                raise RuntimeError(f"index: indices on {p.device} for a tensor on {backend.device}")
            p = p.data
            advanced = True
        elif isinstance(p, (list,)):
            p = backend.asarray(p)
            advanced = True
        elif hasattr(p, "dtype") and hasattr(p, "shape") and getattr(p, "ndim", 0) > 0:
            advanced = True
        out.append(p)
    return (tuple(out) if isinstance(index, tuple) else out[0]), advanced


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index=None, advanced=False):
        ctx.shape, ctx.dtype, ctx.index, ctx.advanced = x.shape, x.dtype, index, advanced
        return x[index]

    @staticmethod
    def backward(ctx, gy):
        return IndexBackward.apply(gy, shape=ctx.shape, index=ctx.index, advanced=ctx.advanced)


class GetItemView(GetItem):
    is_view = True
    name = "getitem"


class IndexBackward(Function):
    """Scatter a gradient back into zeros of the indexed tensor's shape; repeated indices accumulate."""

    @staticmethod
    def forward(ctx, gy, shape=(), index=None, advanced=False):
        ctx.index, ctx.advanced = index, advanced
        out = ctx.xp.zeros(shape, dtype=gy.dtype)
        if advanced:
            ctx.backend.index_add(out, index, gy)
        else:
            out[index] = gy
        return out

    @staticmethod
    def backward(ctx, ggx):
        return ggx[ctx.index] if not ctx.advanced else GetItem.apply(ggx, index=ctx.index, advanced=True)


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: basic slicing (a view) and integer / bool array indexing (a copy)."""
    index, advanced = _index_arrays(index, x._backend)
    try:
        return (GetItem if advanced else GetItemView).apply(x, index=index, advanced=advanced)
    except IndexError as exc:
        raise IndexError(f"index: {exc} (tensor of shape {tuple(x.shape)})") from exc


class SetItem(Function):
    @staticmethod
    def forward(ctx, x, value, index=None):
        ctx.index = index
        out = x.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, gy):
        g_x = None
        if ctx.needs_input_grad[0]:
            mask = ctx.xp.ones(gy.shape, dtype=bool)
            mask[ctx.index] = False
            g_x = gy * Tensor._make(mask, gy._backend).to(gy.dtype)
        g_v = getitem(gy, ctx.index) if ctx.needs_input_grad[1] else None
        return g_x, g_v


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (getitem,)
DIFFERENTIABLE = FUNCTIONS
METHODS = {"__getitem__": getitem}
