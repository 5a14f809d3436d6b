"""MultiheadAttention (torch.nn.MultiheadAttention), and torch.nn.attention's choice of scaled dot-product
attention backends (``SDPBackend``, ``sdpa_kernel``): kept and read back through gg.backends.cuda's
switches; gpugrad's one implementation runs whichever are enabled. ``flex_attention`` (this package's
submodule) is attention with a score and a mask written as Python functions."""
from __future__ import annotations

from ... import factory
from ...backends.cuda import SDPBackend, sdp_backends
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional_attention import _AttentionAssertion
from ..linear import Linear
from ..module import Module
from ..parameter import Parameter

__all__: list[str] = ["MultiheadAttention"]  # (SDPBackend and sdpa_kernel live here, as torch.nn.attention's, not in nn)


def sdpa_kernel(backends, set_priority: bool = False):
    """``with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):`` those backends, and only those,
    are enabled for the block (as gg.backends.cuda reads them back)."""
    chosen = list(backends) if isinstance(backends, (list, tuple, set)) else [backends]
    if not all(isinstance(b, SDPBackend) for b in chosen):
        raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
                             f"{type(backends).__name__}")
    return sdp_backends(set(chosen))


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's class of ``MultiheadAttention.out_proj``: a Linear (named so that reprs read alike)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each, with PyTorch's
    parameters: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E), or ``q_proj_weight`` / ``k_proj_weight``
    / ``v_proj_weight`` when ``kdim`` or ``vdim`` differ from ``embed_dim``; ``out_proj`` (a Linear);
    ``bias_k`` / ``bias_v`` (1, 1, E) with ``add_bias_kv``::

        mha = nn.MultiheadAttention(16, 4, batch_first=True)
        out, weights = mha(x, x, x)          # x (N, L, 16): out (N, L, 16), weights (N, L, L)

    Inputs are (L, N, E) (or (N, L, E) with ``batch_first``, or unbatched (L, E)); see
    ``F.multi_head_attention_forward`` for the masks.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise _AttentionAssertion(f"MultiheadAttention: embed_dim must be divisible by num_heads (got {embed_dim} and {num_heads})")

        def empty(*shape):
            return Parameter(factory.empty(*shape, device=device, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections, zero biases, Xavier-normal bias_k / bias_v, as PyTorch."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Returns ``(output, weights)``; weights are None unless ``need_weights`` (averaged over heads when
        ``average_attn_weights``). ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N*H, L, S): bool
        True marks what may not be attended to, floats are added to the scores."""
        batched = query.ndim == 3
        if self.batch_first and batched:
            # (N, L, E) -> (L, N, E), keeping the identity of query, key and value (self-attention).
            q = query.transpose(1, 0)
            k = q if key is query else key.transpose(1, 0)
            v = k if value is key else (q if value is query else value.transpose(1, 0))
            query, key, value = q, k, v
        separate = {}
        if not self._qkv_same_embed_dim:
            separate = dict(
                use_separate_proj_weight=True,
                q_proj_weight=self.q_proj_weight,
                k_proj_weight=self.k_proj_weight,
                v_proj_weight=self.v_proj_weight,
            )
        out, weights = F.multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
            **separate,
        )
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights

    def merge_masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, query: Tensor) -> tuple[Tensor | None, int | None]:
        """PyTorch's mask merge for self-attention on (N, L, E) input: ``(mask, type)`` with type 1 for the
        key padding mask (N, L) alone, 2 for a mask of shape (N, H, L, L) (the attention mask, plus the padding
        when both are given; masks are expected in additive float form), or ``(None, None)``."""
        if attn_mask is None:
            return (key_padding_mask, 1) if key_padding_mask is not None else (None, None)
        n, length = query.shape[0], query.shape[1]
        if attn_mask.ndim == 3:
            merged = attn_mask.reshape(n, -1, length, length)
        else:
            merged = attn_mask.reshape(1, 1, length, length).expand(n, self.num_heads, length, length)
        if key_padding_mask is not None:
            merged = merged + key_padding_mask.reshape(n, 1, 1, length)
        return merged, 2
