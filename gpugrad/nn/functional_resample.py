"""Pooling beyond 2-d max/avg (1-d, adaptive, unpooling), F.interpolate and F.pixel_shuffle.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``).
"""
from __future__ import annotations

__all__: list[str] = []
