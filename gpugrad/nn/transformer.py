"""Transformer encoder and decoder layers and stacks (torch.nn.Transformer*)."""
from __future__ import annotations

__all__: list[str] = []
