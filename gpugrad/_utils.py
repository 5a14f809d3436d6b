"""The helpers of ``torch._utils`` that public training code imports: flattening a list of tensors into one
buffer and back (improved-diffusion's fp16 master weights)."""
from __future__ import annotations

from .ops.shape import cat
from .tensor import Tensor

__all__ = ["_flatten_dense_tensors", "_unflatten_dense_tensors"]


def _flatten_dense_tensors(tensors) -> Tensor:
    """One 1-d tensor holding every tensor's elements in turn (a copy; differentiable)."""
    return cat([t.contiguous().view(-1) for t in tensors])


def _unflatten_dense_tensors(flat: Tensor, tensors) -> tuple:
    """Views of ``flat`` shaped like each of ``tensors``, in order: the inverse of _flatten_dense_tensors."""
    out, offset = [], 0
    for t in tensors:
        n = t.numel()
        out.append(flat.narrow(0, offset, n).view_as(t))
        offset += n
    return tuple(out)
