"""Unfold and Fold: sliding local blocks to columns and back (torch.nn.Unfold, torch.nn.Fold)."""
from __future__ import annotations

__all__: list[str] = []
