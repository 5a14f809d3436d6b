"""``F.<op>`` on jagged nested tensors: where gpugrad.nn.functional's ops go when their input is nested.

Each F function that supports nested tensors starts with ``if input.is_nested: return _nested(...)``
(gpugrad/nn/functional.py), which calls the function of the same name here. They run the dense op on the
packed values where the ragged dim is not involved, and per component (grouping components of equal
lengths into one batched call) where it is, as attention over the ragged sequence dim.
"""
from __future__ import annotations

from collections.abc import Callable

from ..errors import DTypeError, ShapeError
from ..ops import stack
from ..ops.inplace import inplace_variant
from ..tensor import Tensor
from ._tensor import NestedTensor, unsupported


def _F():
    from ..nn import (
        functional,  # imported at call time: nn.functional hands its nested inputs to this module
    )

    return functional


def pointwise(fn: Callable, input: NestedTensor, inplace: bool, *args) -> NestedTensor:
    """An activation (``fn(x, *args)``, elementwise) on the values; in place when ``inplace``."""
    if inplace:
        inplace_variant(fn)(input._values, *args)
        return input
    return input._with_values(fn(input._values, *args))


def _trailing(op: str, input: NestedTensor, count: int) -> None:
    """Refuse an op over the last ``count`` dims when they include the ragged dim or the batch dim."""
    if input.ndim - count <= input._ragged_idx:
        raise unsupported(op, f"the normalised / reduced trailing dims ({count}) include the ragged dim of a nested "
                          f"tensor of shape ({', '.join(map(str, input.shape))})")


def linear(input: NestedTensor, weight: Tensor, bias: Tensor | None, kind: str, param: float) -> NestedTensor:
    """F.linear (and nn.Sequential's Linear + activation) on the values: the features are the last dim."""
    if isinstance(weight, NestedTensor) or isinstance(bias, NestedTensor):
        raise unsupported("linear", "a nested weight or bias")
    _trailing("linear", input, 1)
    return input._with_values(_F()._linear_activation(input._values, weight, bias, kind, param))


def layer_norm(input: NestedTensor, normalized_shape, weight: Tensor | None, bias: Tensor | None,
               eps: float) -> NestedTensor:
    count = 1 if isinstance(normalized_shape, int) else len(tuple(normalized_shape))
    _trailing("layer_norm", input, count)
    return input._with_values(_F().layer_norm(input._values, normalized_shape, weight, bias, eps))


def rms_norm(input: NestedTensor, normalized_shape, weight: Tensor | None, eps: float | None) -> NestedTensor:
    count = 1 if isinstance(normalized_shape, int) else len(tuple(normalized_shape))
    _trailing("rms_norm", input, count)
    return input._with_values(_F().rms_norm(input._values, normalized_shape, weight, eps))


def normalize(input: NestedTensor, p: float, dim: int, eps: float, out) -> NestedTensor:
    d = input._dim(dim, "normalize")
    if d in (0, input._ragged_idx):
        raise unsupported("normalize", "normalising along the batch or the ragged dim")
    if out is not None:
        raise unsupported("normalize", "out= with a nested input")
    return input._with_values(_F().normalize(input._values, p, d - 1, eps))


def dropout(input: NestedTensor, p: float, training: bool, inplace: bool) -> NestedTensor:
    """Dropout on the values: each element dropped independently, as on the components."""
    out = _F().dropout(input._values, p, training, inplace)
    return input if inplace else input._with_values(out)


def softmax(input: NestedTensor, dim: int) -> NestedTensor:
    return input.softmax(dim)


def log_softmax(input: NestedTensor, dim: int) -> NestedTensor:
    return input.log_softmax(dim)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> NestedTensor:
    """Attention with nested query, key and value of shape (B, H, j, D) (after ``transpose(1, 2)``; key and
    value may have other ragged sizes than query): each component attends within itself, with the dense
    op's ``is_causal``, ``dropout_p``, ``scale`` and ``enable_gqa``. Components of equal lengths run as one
    batched call. The output has query's offsets. With the ragged dim before the sequence dim (B, j, H, L, D)
    the values go through the dense op as they are. Masks are refused, as PyTorch refuses them."""
    op = "scaled_dot_product_attention"
    tensors = (query, key, value)
    if not all(isinstance(t, NestedTensor) for t in tensors):
        raise ValueError(f"{op}: expected query, key and value to be nested tensors, got query.is_nested: "
                         f"{query.is_nested}, key.is_nested: {key.is_nested}, value.is_nested: {value.is_nested}")
    if not (query.dtype is key.dtype is value.dtype):
        raise DTypeError(f"{op}: expected query, key and value of one dtype, got {query.dtype}, {key.dtype} and "
                         f"{value.dtype}")
    if not (query.device == key.device == value.device):
        raise ValueError(f"{op}: expected query, key and value on one device, got {query.device}, {key.device} and "
                         f"{value.device}")
    if min(t.ndim for t in tensors) < 3:
        raise ShapeError(f"{op}: expected nested query, key and value of at least 3 dims")
    r = query._ragged_idx
    if key._ragged_idx != r or value._ragged_idx != r:
        raise ShapeError(f"{op}: expected query, key and value ragged on one dim, got dims {r}, {key._ragged_idx} "
                         f"and {value._ragged_idx}")
    if attn_mask is not None:
        raise ValueError(f"{op}: masks are not supported with nested tensors (as in PyTorch); padding is already "
                         "excluded, and is_causal applies within each component")
    batch = query._ragged.batch
    if key._ragged.batch != batch or value._ragged.batch != batch:
        raise ShapeError(f"{op}: query, key and value hold {batch}, {key._ragged.batch} and {value._ragged.batch} "
                         "components")
    if key._ragged.size is not value._ragged.size and not (key._ragged.host()[1] == value._ragged.host()[1]).all():
        raise ShapeError(f"{op}: each component of key and value must have one length (a value per key)")
    sdpa = _F().scaled_dot_product_attention
    n = query.ndim
    if r == n - 1:
        raise unsupported(op, "a ragged last (feature) dim")
    if r < n - 2:
        # The ragged dim is a batch-like dim: every sequence has a fixed length, so the values are a batch.
        if key._ragged.size is not query._ragged.size:
            raise ShapeError(f"{op}: with the ragged dim before the sequence dim, query, key and value must share "
                             "their offsets")
        out = sdpa(query._values, key._values, value._values, None, dropout_p, is_causal, scale, enable_gqa=enable_gqa)
        return query._with_values(out)
    qs, ks, vs = query._components(), key._components(), value._components()
    groups: dict[tuple, list] = {}
    for b in range(batch):
        groups.setdefault((qs[b].shape[r - 1], ks[b].shape[r - 1]), []).append(b)
    outs: list = [None] * batch
    for members in groups.values():
        if len(members) == 1:
            b = members[0]
            outs[b] = sdpa(qs[b], ks[b], vs[b], None, dropout_p, is_causal, scale, enable_gqa=enable_gqa)
            continue
        grouped = sdpa(stack([qs[b] for b in members]), stack([ks[b] for b in members]),
                       stack([vs[b] for b in members]), None, dropout_p, is_causal, scale, enable_gqa=enable_gqa)
        for b, o in zip(members, grouped.unbind(0)):
            outs[b] = o
    return query._with_values(query._assemble(outs))
