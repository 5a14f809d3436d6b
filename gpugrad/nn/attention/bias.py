"""``torch.nn.attention.bias``: causal attention biases for ``F.scaled_dot_product_attention``.

``causal_upper_left(L, S)`` lets query i see keys 0..i (``is_causal=True``'s mask); ``causal_lower_right(L,
S)`` aligns the triangle to the bottom-right corner, so the last query sees every key (decoding with a
cache: query i sees keys 0..i + S - L). A ``CausalBias`` is a Tensor holding its materialised boolean mask
(L, S), True where a pair takes part, so gpugrad's attention takes it as any boolean ``attn_mask`` and gives
what PyTorch's gives (PyTorch dispatches it to its causal kernels instead; its CausalBias has no data of its
own, and its shape is not the mask's). A row with no key left (lower-right with L > S) gives zeros, as
PyTorch's math path does; PyTorch's fused kernels give NaN there, hence its warning, kept here.
"""
from __future__ import annotations

import warnings
from enum import IntEnum, auto
from typing import TYPE_CHECKING

import numpy

from ..._caller import user_stacklevel
from ...backend import get as _backend
from ...overrides import _disabled_torch_function_impl
from ...tensor import Tensor

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency

__all__ = ["CausalBias", "CausalVariant", "causal_lower_right", "causal_upper_left"]


class CausalVariant(IntEnum):
    """Which corner the causal triangle is aligned to: ``UPPER_LEFT`` (tril of ones (L, S)) or
    ``LOWER_RIGHT`` (tril with diagonal S - L). The two agree when L == S."""

    UPPER_LEFT = auto()
    LOWER_RIGHT = auto()


def _mask(variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> numpy.ndarray:
    offset = 0 if variant == CausalVariant.UPPER_LEFT else seq_len_kv - seq_len_q
    return numpy.tril(numpy.ones((seq_len_q, seq_len_kv), dtype=bool), k=offset)


class CausalBias(Tensor):
    """A causal mask for queries of length ``seq_len_q`` over keys of length ``seq_len_kv``; pass it as
    ``attn_mask``::

        bias = causal_lower_right(4, 12)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)   # q (..., 4, E), k, v (..., 12, E)
    """

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)

    def __new__(cls, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> Self:
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")  # noqa: TRY004  (PyTorch's)
        bias = cls._make(_mask(variant, int(seq_len_q), int(seq_len_kv)), _backend("cpu"))
        bias.variant, bias.seq_len_q, bias.seq_len_kv = variant, int(seq_len_q), int(seq_len_kv)
        if bias.seq_len_q > bias.seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warnings.warn("Lower right causal bias will produce NaNs in the output when seq_len_q > seq_len_kv!",
                          stacklevel=user_stacklevel())
        return bias

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        pass  # everything happens in __new__

    def _materialize(self, device=None) -> Tensor:
        """The mask as a plain boolean Tensor (L, S) on ``device`` (the CPU by default)."""
        mask = Tensor._make(_mask(self.variant, self.seq_len_q, self.seq_len_kv), _backend("cpu"))
        return mask if device is None else mask.to(device)

    def __repr__(self) -> str:
        return repr(self._materialize())

    def __reduce_ex__(self, protocol):
        return (CausalBias, (self.variant, self.seq_len_q, self.seq_len_kv))


def _size(name: str, size: tuple) -> tuple[int, int]:
    if len(size) != 2:
        raise AssertionError(f"{name} only supports 2D tensors")
    return size[0], size[1]


def causal_upper_left(*size: int) -> CausalBias:
    """The upper-left causal bias (L, S): ``tril(ones(L, S))``, what ``is_causal=True`` applies."""
    return CausalBias(CausalVariant.UPPER_LEFT, *_size("causal_upper_left", size))


def causal_lower_right(*size: int) -> CausalBias:
    """The lower-right causal bias (L, S): ``tril(ones(L, S), diagonal=S - L)``."""
    return CausalBias(CausalVariant.LOWER_RIGHT, *_size("causal_lower_right", size))
