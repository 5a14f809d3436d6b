"""Upsample and its fixed-mode spellings (torch.nn.Upsample, UpsamplingNearest2d, UpsamplingBilinear2d)."""
from __future__ import annotations

__all__: list[str] = []
