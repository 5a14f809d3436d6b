"""``gg.accelerator``: the device-agnostic view of the accelerator (CUDA is the only one gpugrad drives)."""
from __future__ import annotations

from . import cuda as _cuda
from .backend import Device


def is_available() -> bool:
    """True when a CUDA device can be used (never raises)."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """``device('cuda')`` when CUDA is usable, else None (as PyTorch on a machine without one)."""
    return Device("cuda") if _cuda.is_available() else None


def device_count() -> int:
    """How many accelerator devices there are; 0 without one."""
    return _cuda.device_count()


def synchronize(device=None) -> None:
    """Wait for all queued accelerator work; without an accelerator there is none to wait for."""
    _cuda.synchronize(device)
