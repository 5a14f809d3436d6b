"""``gg.cuda.Stream``, ``Event``, ``stream()``, ``current_stream()``: CuPy's streams and events under
PyTorch's names. gpugrad queues all of its work (CuPy's array ops, cuBLAS, its own kernels) on CuPy's
current stream, so making a stream current here moves everything that follows onto it."""
from __future__ import annotations

from typing import Any

from .. import backend as _backend
from .. import streams
from ..errors import DeviceError


def _cupy(op: str) -> Any:
    reason = _backend.cuda_unavailable_reason()
    if reason is not None:
        raise DeviceError(f"{op}: no CUDA device is available ({reason})")
    import cupy

    return cupy


class Stream(streams.Stream):
    """A CUDA stream, as ``torch.cuda.Stream(device=None, priority=0)``: a new non-blocking stream."""

    def __init__(self, device=None, priority: int = 0) -> None:
        cupy = _cupy("cuda.Stream")
        self._stream = cupy.cuda.Stream(non_blocking=True, priority=priority)

    @classmethod
    def _of(cls, cupy_stream) -> Stream:
        s = cls.__new__(cls)
        s._stream = cupy_stream
        return s

    @property
    def cuda_stream(self) -> int:
        """The raw ``cudaStream_t`` as an integer (0 for the legacy default stream)."""
        return int(self._stream.ptr)

    @property
    def device(self):
        return _backend.Device("cuda:0")

    def query(self) -> bool:
        """Whether all work queued on the stream has finished."""
        return bool(self._stream.done)

    def synchronize(self) -> None:
        """Wait until all work queued on the stream has finished."""
        self._stream.synchronize()

    def wait_event(self, event: Event) -> None:
        """Make work queued on this stream from now on wait for ``event``."""
        self._stream.wait_event(event._event)

    def wait_stream(self, stream: Stream) -> None:
        """Make work queued on this stream from now on wait for what ``stream`` has queued so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one when None) on this stream; returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and self.cuda_stream == other.cuda_stream

    def __hash__(self) -> int:
        return hash(self.cuda_stream)

    def __repr__(self) -> str:
        return f"<gpugrad.cuda.Stream device=cuda:0 cuda_stream={self.cuda_stream:#x}>"


class Event(streams.Event):
    """A CUDA event, as ``torch.cuda.Event(enable_timing=False, blocking=False, interprocess=False)``."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False) -> None:
        cupy = _cupy("cuda.Event")
        if interprocess:
            raise ValueError("cuda.Event: interprocess events are not supported by gpugrad")
        self._event = cupy.cuda.Event(block=blocking, disable_timing=not enable_timing)

    def record(self, stream: Stream | None = None) -> None:
        """Record the event on ``stream`` (the current stream when None)."""
        self._event.record((stream or current_stream())._stream)

    def wait(self, stream: Stream | None = None) -> None:
        """Make ``stream`` (the current stream when None) wait for this event."""
        (stream or current_stream()).wait_event(self)

    def query(self) -> bool:
        return bool(self._event.done)

    def synchronize(self) -> None:
        self._event.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, with timing enabled)."""
        import cupy

        return float(cupy.cuda.get_elapsed_time(self._event, end_event._event))


def current_stream(device=None) -> Stream:
    """The stream gpugrad queues work on now (CuPy's current stream)."""
    return Stream._of(_cupy("cuda.current_stream").cuda.get_current_stream())


def default_stream(device=None) -> Stream:
    """The device's default (legacy null) stream."""
    return Stream._of(_cupy("cuda.default_stream").cuda.Stream.null)


def stream(stream: Stream | None) -> StreamContext:
    """``with gg.cuda.stream(s):`` queue everything inside on ``s``; ``None`` changes nothing (as PyTorch)."""
    return StreamContext(stream)


class StreamContext:
    """What ``gg.cuda.stream(s)`` returns: the context that makes ``s`` current inside."""

    def __init__(self, stream: Stream | None) -> None:
        self._stream = stream

    def __enter__(self) -> Stream | None:
        if self._stream is not None:
            self._stream._stream.__enter__()
        return self._stream

    def __exit__(self, *exc) -> None:
        if self._stream is not None:
            self._stream._stream.__exit__(*exc)


def set_stream(stream: Stream) -> None:
    """Make ``stream`` the current stream (prefer the ``stream`` context)."""
    stream._stream.use()
