"""``flex_attention``: scaled dot-product attention whose scores and mask are Python functions of the
indices, as PyTorch's ``torch.nn.attention.flex_attention``.

``score_mod(score, b, h, q_idx, kv_idx)`` and ``mask_mod(b, h, q_idx, kv_idx)`` are written for one
element; PyTorch maps them over every (b, h, q, kv) with vmap. Here they are called once, with index
tensors shaped (B, 1, 1, 1), (1, H, 1, 1), (1, 1, Q, 1) and (1, 1, 1, KV) that broadcast to the scores'
shape: the same values for the elementwise functions these are. The scores are materialised (B, H, Q, KV),
as PyTorch's own eager path does; a ``BlockMask`` keeps its ``mask_mod`` and shape, and ``to_dense()``
gives its block layout. Rows with every key masked give zeros and a log-sum-exp of -inf, as PyTorch's.
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

from ... import factory
from ...errors import ShapeError
from ...tensor import Tensor

__all__ = ["BlockMask", "AuxRequest", "AuxOutput", "flex_attention", "create_block_mask", "create_mask",
           "noop_mask", "and_masks", "or_masks"]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


class AuxRequest(NamedTuple):
    """Which extra outputs ``flex_attention(..., return_aux=AuxRequest(lse=True))`` returns."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The extra outputs asked for: the rows' log-sum-exp and maximum score (None when not asked)."""

    lse: Tensor | None = None
    max_scores: Tensor | None = None


def noop_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
    """Masks nothing."""
    return factory.ones((), dtype="bool", device=b.device)


def and_masks(*mask_mods: Callable) -> Callable:
    """A mask keeping what every one of ``mask_mods`` keeps."""
    def mask(b, h, q_idx, kv_idx):
        out = noop_mask(b, h, q_idx, kv_idx)
        for mod in mask_mods:
            out = out & mod(b, h, q_idx, kv_idx)
        return out

    return mask


def or_masks(*mask_mods: Callable) -> Callable:
    """A mask keeping what any one of ``mask_mods`` keeps."""
    def mask(b, h, q_idx, kv_idx):
        out = ~noop_mask(b, h, q_idx, kv_idx)
        for mod in mask_mods:
            out = out | mod(b, h, q_idx, kv_idx)
        return out

    return mask


def _indices(B: int, H: int, Q: int, KV: int, device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return (factory.arange(B, device=device).view(B, 1, 1, 1), factory.arange(H, device=device).view(1, H, 1, 1),
            factory.arange(Q, device=device).view(1, 1, Q, 1), factory.arange(KV, device=device).view(1, 1, 1, KV))


def create_mask(mod_fn: Callable, B: int | None, H: int | None, Q_LEN: int, KV_LEN: int, device=None) -> Tensor:
    """The boolean mask (B, H, Q_LEN, KV_LEN) of a ``mask_mod`` (B or H None: 1)."""
    B, H = B or 1, H or 1
    mask = mod_fn(*_indices(B, H, Q_LEN, KV_LEN, device))
    return mask.to("bool").expand(B, H, Q_LEN, KV_LEN).contiguous()


class BlockMask:
    """Which keys each query may see, as a ``mask_mod`` over a (B, H, Q_LEN, KV_LEN) shape, in blocks of
    ``BLOCK_SIZE``: what ``create_block_mask`` returns and ``flex_attention(block_mask=...)`` applies."""

    def __init__(self, mask_mod: Callable, shape: tuple[int, int, int, int], BLOCK_SIZE: tuple[int, int],
                 device) -> None:
        self.mask_mod = mask_mod
        self.shape = shape
        self.seq_lengths = shape[2:]
        self.BLOCK_SIZE = BLOCK_SIZE
        self.device = device

    def to_dense(self) -> Tensor:
        """Which (query block, key block) pairs hold any kept element: int32 (B, H, Q blocks, KV blocks)."""
        B, H, Q, KV = self.shape
        (qb, kb) = self.BLOCK_SIZE
        mask = create_mask(self.mask_mod, B, H, Q, KV, self.device)
        nq, nk = -(-Q // qb), -(-KV // kb)
        padded = factory.zeros((B, H, nq * qb, nk * kb), dtype="bool", device=self.device)
        padded[:, :, :Q, :KV] = mask
        return padded.view(B, H, nq, qb, nk, kb).any(dim=5).any(dim=3).to("int32")

    def __repr__(self) -> str:
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return f"BlockMask(shape={self.shape}, BLOCK_SIZE={self.BLOCK_SIZE}, mask_mod={name})"


def create_block_mask(mask_mod: Callable, B: int | None, H: int | None, Q_LEN: int, KV_LEN: int, device=None,
                      BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE, _compile: bool = False,
                      **_options: Any) -> BlockMask:
    """The ``BlockMask`` of ``mask_mod`` for these sizes (B or H None: one, broadcast over all)."""
    blocks = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else tuple(BLOCK_SIZE)
    return BlockMask(mask_mod, (B or 1, H or 1, Q_LEN, KV_LEN), blocks, device)


def flex_attention(query: Tensor, key: Tensor, value: Tensor, score_mod: Callable | None = None,
                   block_mask: BlockMask | None = None, scale: float | None = None, enable_gqa: bool = False,
                   return_lse: bool = False, kernel_options: dict | None = None, *,
                   return_aux: AuxRequest | None = None):
    """softmax(score_mod(q k^T * scale) masked by ``block_mask``) v over (B, H, L, E) inputs; with
    ``return_lse`` also the rows' log-sum-exp, with ``return_aux`` an ``AuxOutput``. Differentiable."""
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ShapeError(f"flex_attention: query, key and value must be 4-d (B, H, L, E), got {tuple(query.shape)}, "
                         f"{tuple(key.shape)} and {tuple(value.shape)}")
    B, Hq, L, E = query.shape
    Hkv, S = key.shape[1], key.shape[2]
    if Hq != Hkv:
        if not enable_gqa or Hq % Hkv:
            raise ShapeError(f"flex_attention: query has {Hq} heads and key/value {Hkv}; with different counts "
                             "enable_gqa=True is needed, and the query's must be a multiple of the key's")
        key, value = key.repeat_interleave(Hq // Hkv, dim=1), value.repeat_interleave(Hq // Hkv, dim=1)
    scores = (query @ key.transpose(-2, -1)) * (1.0 / math.sqrt(E) if scale is None else scale)
    idx = _indices(B, Hq, L, S, query.device)
    if score_mod is not None:
        scores = score_mod(scores, *idx)
    if block_mask is not None:
        if tuple(block_mask.seq_lengths) != (L, S):
            raise ShapeError(f"flex_attention: the block mask is for sequence lengths {tuple(block_mask.seq_lengths)}, "
                             f"the inputs have ({L}, {S})")
        keep = block_mask.mask_mod(*idx)
        scores = scores.masked_fill(~keep.to("bool"), float("-inf"))
    max_scores = scores.amax(dim=-1)
    lse = scores.logsumexp(dim=-1)
    empty = lse == float("-inf")  # every key masked: zeros out, as PyTorch's
    probs = (scores - lse.masked_fill(empty, 0.0).unsqueeze(-1)).exp()
    out = probs @ value
    if return_aux is not None:
        return out, AuxOutput(lse if return_aux.lse else None, max_scores if return_aux.max_scores else None)
    return (out, lse) if return_lse else out
