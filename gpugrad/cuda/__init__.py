"""``gg.cuda``: whether a CUDA device can be used, which one, seeding and synchronisation; streams and
events (``streams.py``), CUDA graphs (``graphs.py``) and the GEMMs a graph capture may hold (``blas.py``).

Every function is meaningful without a GPU: ``device_count()`` is 0, seeding is a no-op, and choosing a
device, making a stream or capturing a graph raises DeviceError saying none is available.
"""
from __future__ import annotations

import threading

from .. import backend as _backend
from ..errors import ArgumentError, DeviceError
from . import memory, nvtx, sparse
from .graphs import CUDAGraph, graph, graph_pool_handle, make_graphed_callables
from .memory import *  # noqa: F401,F403  (memory_allocated, empty_cache, get_device_name ...)
from .streams import Event, Stream, StreamContext, current_stream, default_stream, set_stream, stream
from ..legacy import CUDA_TYPES as _CUDA_TYPES
from ..errors import OutOfMemoryError
from .random import get_rng_state, get_rng_state_all, initial_seed, seed, seed_all, set_rng_state, set_rng_state_all

globals().update(_CUDA_TYPES)  # FloatTensor, LongTensor ...: the legacy types of CUDA tensors

__all__ = [
    "is_available", "is_bf16_supported", "device_count", "current_device", "set_device", "manual_seed",
    "manual_seed_all", "synchronize", "Stream", "Event", "StreamContext", "stream", "current_stream", "default_stream",
    "set_stream",
    "CUDAGraph", "graph", "graph_pool_handle", "make_graphed_callables", "memory", *memory.__all__, *_CUDA_TYPES,
    "nvtx", "sparse", "OutOfMemoryError", "get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all",
    "initial_seed", "seed", "seed_all", "is_current_stream_capturing",
]

_current = threading.local()  # the device index chosen by set_device, per thread as in PyTorch


def is_available() -> bool:
    """True when CuPy imports, a driver answers and a device is present (never raises)."""
    return _backend.cuda_unavailable_reason() is None


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: gpugrad's bfloat16 tensors live on the CPU only (scripts then choose float16 or float32)."""
    return False


def is_current_stream_capturing() -> bool:
    """Whether the current stream is being captured into a CUDA graph (False without a GPU)."""
    if not is_available():
        return False
    import cupy  # pragma: no cover - needs a GPU

    return bool(cupy.cuda.get_current_stream().is_capturing())  # pragma: no cover


def device_count() -> int:
    """How many CUDA devices there are; 0 when CUDA is unavailable."""
    if not is_available():
        return 0
    import cupy

    return cupy.cuda.runtime.getDeviceCount()


def _require(op: str) -> None:
    reason = _backend.cuda_unavailable_reason()
    if reason is not None:
        raise DeviceError(f"{op}: no CUDA device is available ({reason})")


def current_device() -> int:
    """The index of the CUDA device in use."""
    _require("cuda.current_device")
    return getattr(_current, "index", 0)


def _index(op: str, device) -> int:
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    dev = _backend.Device(device)
    if dev.type != "cuda":
        raise ArgumentError(f"{op}: expected a cuda device, got '{dev}'")
    return dev.index or 0


def set_device(device) -> None:
    """Choose the CUDA device by index or ``'cuda:N'``; raises DeviceError without CUDA."""
    index = _index("cuda.set_device", device)
    _require("cuda.set_device")
    if index < 0:  # PyTorch ignores a negative index
        return
    count = device_count()
    if index >= count:
        raise DeviceError(f"cuda.set_device: device index {index} is out of range; {count} CUDA device(s) present")
    if index != 0:
        raise DeviceError(f"cuda.set_device: gpugrad drives CUDA device 0 only, got index {index}")
    _current.index = index


def manual_seed(seed: int) -> None:
    """Seed the CUDA random stream. gpugrad draws random numbers from one generator for every device,
    seeded by ``gg.manual_seed`` (which also reseeds the device-side stream that dropout draws from inside
    a CUDA graph); this exists so PyTorch code runs, and changes nothing."""
    _check_seed("cuda.manual_seed", seed)


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA device's random stream (see manual_seed: gpugrad has one generator)."""
    _check_seed("cuda.manual_seed_all", seed)


def _check_seed(op: str, seed) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        try:
            int(seed)
        except (TypeError, ValueError):
            raise ArgumentError(f"{op}: seed must be an integer, got {seed!r}") from None


def synchronize(device=None) -> None:
    """Wait for all queued work on the device (a no-op when none is in use)."""
    if is_available() or _backend.simulating_cuda():
        _backend.get(device or "cuda").synchronize()
