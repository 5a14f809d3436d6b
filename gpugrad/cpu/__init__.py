"""torch.cpu: the CPU as a device module (``is_available``, ``device_count``, ``synchronize``, ...) and
``torch.cpu.amp`` (this package's ``amp``: the older ``autocast`` and ``GradScaler`` spellings of
``gg.autocast("cpu")`` and ``gg.amp.GradScaler("cpu")``)."""
from __future__ import annotations

__all__ = ["amp", "current_device", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU work is done when its call returns."""


from . import amp  # torch.cpu.amp (last: it builds on gpugrad.amp)
