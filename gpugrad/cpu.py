"""torch.cpu: the CPU as a device module (``is_available``, ``device_count``, ``synchronize``, ...) and the
older ``torch.cpu.amp.autocast`` spelling of ``gg.autocast("cpu")``."""
from __future__ import annotations

import types

from .amp import autocast as _autocast

__all__ = ["is_available", "device_count", "current_device", "synchronize", "amp"]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU work is done when its call returns."""


class _CpuAutocast(_autocast):
    """``torch.cpu.amp.autocast(enabled=True, dtype=...)``: ``gg.autocast("cpu", ...)``."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


amp = types.ModuleType("gpugrad.cpu.amp", "torch.cpu.amp: autocast for the CPU.")
amp.autocast = _CpuAutocast
