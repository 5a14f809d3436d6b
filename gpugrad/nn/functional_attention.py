"""F.scaled_dot_product_attention and F.multi_head_attention_forward.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``).
"""
from __future__ import annotations

__all__: list[str] = []
