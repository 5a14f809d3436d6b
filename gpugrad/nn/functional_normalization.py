"""F.group_norm, F.instance_norm, F.local_response_norm and the dropout variants.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``).
"""
from __future__ import annotations

__all__: list[str] = []
