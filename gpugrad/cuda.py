"""``gg.cuda``: whether a CUDA device can be used, and synchronisation."""
from __future__ import annotations

from . import backend as _backend


def is_available() -> bool:
    """True when CuPy imports, a driver answers and a device is present (never raises)."""
    return _backend.cuda_unavailable_reason() is None


def device_count() -> int:
    if not is_available():
        return 0
    import cupy

    return cupy.cuda.runtime.getDeviceCount()


def synchronize(device=None) -> None:
    """Wait for all queued work on the device (a no-op when none is in use)."""
    if is_available():
        _backend.get(device or "cuda").synchronize()
