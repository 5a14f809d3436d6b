"""numba.cuda, imported lazily: compiling kernels, streams, small device buffers, host copies.

The package must import (and the CPU kernels must run) on an install without numba-cuda or a GPU, so
nothing here imports numba.cuda at module level. Only numba-cuda's public API is used here; what
reaches into its internals lives in _numba_cuda_internals.py.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np


def simulator_enabled() -> bool:
    # Read from numba's config when numba is imported (the env var is only
    # honoured if set before that import), else from the environment.
    try:
        from numba import config

        return bool(getattr(config, "ENABLE_CUDASIM", 0))
    except Exception:  # pragma: no cover - numba always imports here
        return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


@functools.cache
def get_cuda() -> Any:
    """numba.cuda, imported on first use, with the scalar helpers registered
    for the CUDA target."""
    from numba import cuda as _cuda

    if not simulator_enabled():
        from ._scalar import register_cuda_overloads

        register_cuda_overloads()
    return _cuda


def cuda_available() -> bool:
    """True when CUDA kernels can run (real GPU or simulator). Never raises."""
    try:
        return bool(get_cuda().is_available())
    except Exception:
        return False


def numba_type(dtype: Any) -> Any:
    from numba import float32, float64

    return float32 if np.dtype(dtype) == np.float32 else float64


def cuda_family(family: str, sources: Callable[[Any], dict]) -> tuple[Callable[[str, Any], Any], Callable[[], list]]:
    """For a family whose ``sources(dtype)`` maps each kernel kind to (python function, signature): the
    cached compiled-kernel getter ``kernel(kind, dtype)`` (compiled on first use, never at import) and
    ``specs()``, the (label, function, signature, dtype) list the PTX test compiles for sm_90."""

    @functools.cache
    def kernel(kind: str, dtype: Any) -> Any:
        return cuda_jit(*sources(dtype)[kind])

    def specs() -> list[tuple[str, Any, Any, np.dtype]]:
        return [
            (f"{family}.{kind}[{np.dtype(dt).name}]", fn, sig, np.dtype(dt))
            for dt in (np.float32, np.float64)
            for kind, (fn, sig) in sources(dt).items()
        ]

    return kernel, specs


def cuda_jit(pyfunc: Callable[..., Any], sig: Any) -> Any:
    """Compile a kernel eagerly for one signature (the PTX test compiles the
    same (pyfunc, sig) pairs)."""
    return get_cuda().jit(sig)(pyfunc)


# ---------------------------------------------------------------- streams and buffers

def _is_cupy(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "cupy"


_EXTERNAL_STREAMS: dict[tuple[int, int], Any] = {}


def cuda_stream(xp: Any, stream: Any = None) -> Any:
    """The stream to launch on: the caller's, else CuPy's current stream (one numba stream object per
    device and CuPy stream, so cached launch configurations never cross devices)."""
    if stream is not None:
        return stream
    if simulator_enabled() or not _is_cupy(xp):
        return 0
    ptr = int(xp.cuda.get_current_stream().ptr)
    key = (xp.cuda.runtime.getDevice(), ptr)
    s = _EXTERNAL_STREAMS.get(key)
    if s is None:
        s = get_cuda().default_stream() if ptr == 0 else get_cuda().external_stream(ptr)
        _EXTERNAL_STREAMS[key] = s
    return s


# Small device buffers that kernels leave zeroed after every launch (atomic ticket counters that wrap
# back to 0, error flags that the launcher clears), one per name and stream: kernels on one stream run in
# order, kernels on two streams could interleave their tickets.
_ZEROED: dict[tuple[str, int], tuple[Any, Any]] = {}


def zeroed_buffer(xp: Any, stream: Any, name: str, size: int, dtype: Any) -> Any:
    """The zeroed buffer ``name`` for ``stream`` (at least ``size`` elements), allocated on first use."""
    held = _ZEROED.get((name, id(stream)))
    if held is None or held[0].size < size:
        buf = xp.zeros(size, dtype=dtype)  # zeroed on CuPy's current stream
        if not isinstance(buf, np.ndarray) and not _is_current(xp, stream):
            # Zeroed before any kernel on another stream runs. On the current stream it is in order already,
            # and a CUDA graph capture (which forbids waiting) captures the zeroing with the kernels.
            xp.cuda.Device().synchronize()
        held = _ZEROED[(name, id(stream))] = (buf, stream)  # holding the stream keeps its id unique
    return held[0]


def _is_current(xp: Any, stream: Any) -> bool:
    """Whether ``stream`` is the numba stream for CuPy's current stream (see cuda_stream)."""
    key = (xp.cuda.runtime.getDevice(), int(xp.cuda.get_current_stream().ptr))
    return _EXTERNAL_STREAMS.get(key) is stream


def ticket_counters(xp: Any, stream: Any, name: str, n: int) -> Any:
    """``n`` or more uint32 counters for a last-block reduction (see linear.bias_act_backward)."""
    return zeroed_buffer(xp, stream, f"{name}.tickets", max(n, 1024), np.uint32)


def device_view(a: Any) -> Any:
    """What a kernel is given: NumPy under the simulator; otherwise a numba
    view of the CuPy array, made without the implicit stream sync numba does
    for __cuda_array_interface__ arguments (we launch on the array's stream)."""
    if a is None or isinstance(a, np.ndarray):
        return a
    return get_cuda().as_cuda_array(a, sync=False)


def to_host(a: Any, stream: Any = None) -> np.ndarray:
    """A small device result on the host (waits for the stream)."""
    if isinstance(a, np.ndarray):
        return a
    dev = device_view(a)
    if stream is not None and stream != 0:
        out = dev.copy_to_host(stream=stream)
        stream.synchronize()
        return out
    return dev.copy_to_host()
