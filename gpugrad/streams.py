"""``gg.Stream`` and ``gg.Event``: PyTorch's device-agnostic stream and event classes. CUDA's
(``gg.cuda.Stream``, ``gg.cuda.Event``) are their subclasses and the only ones gpugrad has:
``gg.Stream("cuda")`` gives CUDA's stream, another device a DeviceError; events are made as
``gg.cuda.Event(...)``."""
from __future__ import annotations

from .backend import Device
from .errors import DeviceError

__all__ = ["Event", "Stream"]


def _cuda_device(what: str, device) -> Device:
    """``device`` (default: the accelerator), which must be a CUDA device."""
    from . import accelerator

    device = Device(device) if device is not None else accelerator.current_accelerator()
    if device is None or device.type != "cuda":
        raise DeviceError(f"gg.{what}: gpugrad has {what.lower()}s on CUDA devices only, "
                          f"got {device or 'no accelerator'}")
    return device


class Stream:
    """A queue of device work: ``gg.Stream("cuda")`` is a ``gg.cuda.Stream``."""

    def __new__(cls, device=None, *, priority: int = 0):
        if cls is Stream:  # CUDA's, which Python then initialises with these arguments
            from .cuda.streams import Stream as CudaStream

            _cuda_device("Stream", device)
            cls = CudaStream
        return super().__new__(cls)


class Event:
    """A marker in a stream; gpugrad's are CUDA's: ``gg.cuda.Event(enable_timing=...)``."""

    def __new__(cls, *args, **kwargs):
        if cls is Event:
            raise NotImplementedError("gg.Event: gpugrad's events are CUDA's; make one with gg.cuda.Event(...)")
        return super().__new__(cls)
