"""F.scaled_dot_product_attention and F.multi_head_attention_forward.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``). Both are composed from differentiable
Tensor ops (matmul, softmax, where, cat), so first and second derivatives come for free.
"""
from __future__ import annotations

import math
import warnings

from .. import dtypes
from .._caller import user_stacklevel
from ..amp.policy import LOWER_PRECISION, autocast_policy
from ..errors import ArgumentError, DTypeError, ShapeError
from ..ops import shape as _shapeops
from ..tensor import Tensor

__all__: list[str] = ["multi_head_attention_forward", "scaled_dot_product_attention"]


class _AttentionAssertion(ShapeError, AssertionError):
    """Where PyTorch's attention raises AssertionError (input ranks, embed_dim and num_heads, padding masks):
    caught by ``except AssertionError`` as in PyTorch, and by ``except ValueError`` / ``RuntimeError``."""


def _F():
    # nn.functional imports this file at its end; reach it lazily rather than at import time.
    from . import functional

    return functional


def _const(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._backend)


def _check_tensor(op: str, name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without enlarging it."""
    return len(shape) <= len(target) and all(s in (1, t) for s, t in zip(reversed(shape), reversed(target)))


# Scaled dot-product attention ------------------------------------------------------------------------


@autocast_policy(LOWER_PRECISION)
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query key^T * scale + mask) value, for query (..., L, E), key (..., S, E), value (..., S, Ev).

    ``attn_mask`` broadcasts to (..., L, S): a bool mask marks with True the pairs that take part, a float mask
    (query's dtype) is added to the scores. ``is_causal`` lets query i see keys 0..i (top-left aligned); it
    cannot be combined with a mask. ``scale`` defaults to 1/sqrt(E). ``dropout_p`` drops attention weights
    (always: there is no training flag, as in PyTorch) from gpugrad's generator. With ``enable_gqa``, key and
    value may have fewer heads (dim -3) than query, a divisor of its count (grouped-query attention).
    A row whose every key is masked out gives zeros (and zero gradients), as PyTorch's does::

        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)   # (N, H, L, Ev)
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(op, name, t)
    if query.is_nested or key.is_nested or value.is_nested:  # jagged nested tensors: gpugrad/nested
        return _F()._nested(op, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ShapeError(
            f"{op}: expected query, key and value to be at least 2-D, got shapes {tuple(query.shape)}, "
            f"{tuple(key.shape)} and {tuple(value.shape)}"
        )
    if not (query.dtype is key.dtype is value.dtype):
        raise DTypeError(f"{op}: expected query, key and value of one dtype, got {query.dtype}, {key.dtype} and {value.dtype}")
    if not query.is_floating_point():
        raise DTypeError(f"{op}: expected floating point query, key and value, got {query.dtype}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {dropout_p}")
    if attn_mask is not None and is_causal:
        raise ArgumentError(f"{op}: Explicit attn_mask should not be set when is_causal=True")
    if key.shape[-1] != query.shape[-1]:
        raise ShapeError(f"{op}: query's last dim ({tuple(query.shape)}) must equal key's ({tuple(key.shape)})")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{op}: key ({tuple(key.shape)}) and value ({tuple(value.shape)}) must have one sequence length (dim -2)")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and value.ndim >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk != hv or hq % hk:
            raise ShapeError(
                f"{op}: with enable_gqa, the number of heads in key and value (dim -3: {hk}, {hv}) must be equal and "
                f"divide the number of heads in query ({hq})"
            )
        if hk != hq:
            key = key.repeat_interleave(hq // hk, dim=-3)
            value = value.repeat_interleave(hq // hk, dim=-3)

    xp = query._backend.xp
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * factor
    L, S = query.shape[-2], key.shape[-2]
    masked_rows = None
    if is_causal:
        allowed = xp.tril(xp.ones((L, S), dtype=bool))
        scores = scores + _const(scores, xp.where(allowed, 0.0, -math.inf).astype(scores._array.dtype))
    elif attn_mask is not None:
        _check_tensor(op, "attn_mask", attn_mask)
        if attn_mask.dtype is not dtypes.bool_ and attn_mask.dtype is not query.dtype:
            raise DTypeError(f"{op}: expected attn_mask of dtype bool or {query.dtype} (query's), got {attn_mask.dtype}")
        if attn_mask.ndim < 2 or not _broadcasts_to(tuple(attn_mask.shape), tuple(scores.shape)):
            raise ShapeError(
                f"{op}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the attention weights' "
                f"shape {tuple(scores.shape)} (..., L, S)"
            )
        if attn_mask.dtype is dtypes.bool_:
            additive = xp.where(attn_mask._array, 0.0, -math.inf).astype(scores._array.dtype)
            scores = scores + _const(scores, additive)
        else:
            scores = scores + attn_mask
        # Rows with no key left would be softmax(-inf, ..., -inf) = NaN: PyTorch gives them zeros. They get a
        # finite stand-in before the softmax (so no NaN reaches the gradient) and zeros after it.
        masked_rows = _const(scores, xp.all(xp.isneginf(scores._array), axis=-1, keepdims=True))
        scores = scores.masked_fill(masked_rows, 0.0)
    weights = _F().softmax(scores, dim=-1)
    if masked_rows is not None:
        weights = weights.masked_fill(masked_rows, 0.0)
    if dropout_p > 0.0:
        weights = _F().dropout(weights, dropout_p, True)
    return weights @ value


# Multi-head attention -----------------------------------------------------------------------------


def _canonical_mask(op: str, mask: Tensor | None, name: str, other: Tensor | None, other_name: str, like: Tensor) -> Tensor | None:
    """A bool mask (True = masked out) as an additive float mask in ``like``'s dtype; float masks as given."""
    if mask is None:
        return None
    _check_tensor(op, name, mask)
    if mask.dtype is not dtypes.bool_ and not mask.is_floating_point():
        raise DTypeError(f"{op}: only bool and floating types of {name} are supported, got {mask.dtype}")
    if other is not None and other.dtype is not mask.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.", stacklevel=user_stacklevel())
    if mask.dtype is dtypes.bool_:
        xp = mask._backend.xp
        return _const(mask, xp.where(mask._array, -math.inf, 0.0).astype(like._array.dtype))
    return mask


def _check_ranks(op: str, query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """PyTorch's shape rules for multi-head attention; True for batched (3-D) inputs, False for unbatched."""
    if query.ndim not in (2, 3):
        raise _AttentionAssertion(f"{op}: query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor")
    batched = query.ndim == 3
    rank = 3 if batched else 2
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != rank or value.ndim != rank:
        raise _AttentionAssertion(
            f"{op}: for {kind} `query`, expected `key` and `value` to be {rank}-D but found {key.ndim}-D and "
            f"{value.ndim}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != rank - 1:
        raise _AttentionAssertion(
            f"{op}: for {kind} `query`, expected `key_padding_mask` to be `None` or {rank - 1}-D but found "
            f"{key_padding_mask.ndim}-D tensor instead"
        )
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise _AttentionAssertion(
                f"{op}: for {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor instead"
            )
        if not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != (num_heads, query.shape[0], key.shape[0]):
            raise _AttentionAssertion(
                f"{op}: expected `attn_mask` shape to be {(num_heads, query.shape[0], key.shape[0])} but got {tuple(attn_mask.shape)}"
            )
    return batched


def _project(query, key, value, in_proj_weight, in_proj_bias, separate):
    """The input projections q, k, v (each (..., E)) from the packed or the separate weights."""
    linear = _F().linear
    if separate is not None:
        biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), separate, biases))
    if query is key and key is value:
        # Self-attention: one GEMM for the three projections.
        return linear(query, in_proj_weight, in_proj_bias).chunk(3, dim=-1)
    weights = in_proj_weight.chunk(3)
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """One more key column, that takes part (the bias_k / zero-attention key)."""
    return None if mask is None else _F().pad(mask, (0, 1))


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """The computation of ``nn.MultiheadAttention`` on sequence-first inputs: query (L, N, E) or (L, E),
    key and value (S, N, E_k / E_v) or unbatched. Returns ``(output, weights)``: weights (N, L, S) averaged
    over heads (or (N, H, L, S)) when ``need_weights``, else None. Masks: ``attn_mask`` (L, S) or (N*H, L, S)
    and ``key_padding_mask`` (N, S), where bool True means "do not attend" and floats are added to scores.
    ``is_causal`` is a hint that ``attn_mask`` is the causal mask (which must then be given), as in PyTorch.
    """
    op = "multi_head_attention_forward"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(op, name, t)
    batched = _check_ranks(op, query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = _same_unsqueeze(query, key, value)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]

    key_padding_mask = _canonical_mask(op, key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", query)
    if is_causal and attn_mask is None:
        raise ArgumentError(
            f"{op}: Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
            "`generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone drives the attention (the mask is taken to be the causal one)
    else:
        attn_mask = _canonical_mask(op, attn_mask, "attn_mask", None, "", query)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal

    if embed_dim != embed_dim_to_check:
        raise _AttentionAssertion(
            f"{op}: was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim} (query of shape {tuple(query.shape)})"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise _AttentionAssertion(f"{op}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise _AttentionAssertion(
                f"{op}: key's sequence and batch dims {tuple(key.shape[:2])} do not match value's {tuple(value.shape[:2])}"
            )
        for name, w in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight), ("v_proj_weight", v_proj_weight)):
            if w is None:
                raise ArgumentError(f"{op}: use_separate_proj_weight is True but {name} is None")
        q, k, v = _project(query, key, value, None, in_proj_bias, (q_proj_weight, k_proj_weight, v_proj_weight))
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise _AttentionAssertion(f"{op}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if in_proj_weight is None:
            raise ArgumentError(f"{op}: use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias, None)

    if attn_mask is not None:
        # Every attention mask becomes 3-D: (1, L, S) or (N*H, L, S).
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != expected:
            raise ShapeError(f"{op}: the shape of the {attn_mask.ndim}D attn_mask is {tuple(attn_mask.shape)}, but should be {expected}.")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)

    if (bias_k is None) != (bias_v is None):
        raise ArgumentError(f"{op}: bias_k and bias_v must be given together (got only {'bias_k' if bias_v is None else 'bias_v'})")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise ArgumentError(f"{op}: bias cannot be added to static key or value")
        k = _shapeops.cat([k, bias_k.repeat(1, bsz, 1)])
        v = _shapeops.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)

    # Heads become part of the batch: (N*H, L or S, head_dim).
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads_first(op, "static_k", k, static_k, bsz * num_heads, head_dim)
    v = _heads_first(op, "static_v", v, static_v, bsz * num_heads, head_dim)
    if add_zero_attn:
        k = _shapeops.cat([k, k.new_zeros(bsz * num_heads, 1, head_dim)], dim=1)
        v = _shapeops.cat([v, v.new_zeros(bsz * num_heads, 1, head_dim)], dim=1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise _AttentionAssertion(f"{op}: expected key_padding_mask of shape {(bsz, src_len)}, got {tuple(key_padding_mask.shape)}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len).reshape(bsz * num_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0

    F = _F()
    if need_weights:
        # The weights are wanted: PyTorch's plain softmax here (a row with every key masked gives NaN).
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = F.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if batched else out.squeeze(1)), None


def _same_unsqueeze(query: Tensor, key: Tensor, value: Tensor):
    """query, key, value with a batch dim of one at dim 1, keeping which of them are the same tensor (self-
    attention is recognised by identity)."""
    q = query.unsqueeze(1)
    k = q if key is query else key.unsqueeze(1)
    v = k if value is key else (q if value is query else value.unsqueeze(1))
    return q, k, v


def _heads_first(op: str, name: str, x: Tensor, static: Tensor | None, batch_heads: int, head_dim: int) -> Tensor:
    """(S, N, E) -> (N*H, S, head_dim), or the given static key/value after checking its shape."""
    if static is None:
        return x.reshape(x.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.ndim != 3 or static.shape[0] != batch_heads or static.shape[2] != head_dim:
        raise ShapeError(f"{op}: expected {name} of shape ({batch_heads}, S, {head_dim}), got {tuple(static.shape)}")
    return static
