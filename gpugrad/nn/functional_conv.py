"""F.conv_transpose1d/2d, F.conv3d, F.unfold and F.fold.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``).
"""
from __future__ import annotations

__all__: list[str] = []
