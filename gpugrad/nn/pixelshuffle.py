"""PixelShuffle and PixelUnshuffle (torch.nn.PixelShuffle)."""
from __future__ import annotations

__all__: list[str] = []
