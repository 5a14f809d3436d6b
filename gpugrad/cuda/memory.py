"""``gg.cuda``'s memory and device questions: the bytes gpugrad's arrays hold on the device (CuPy's
default memory pool: ``memory_allocated``, ``memory_reserved``, their peaks, ``empty_cache``) and the
device's name, capability and properties.

Without a usable CUDA device the counters are 0, ``memory_stats`` is empty and ``empty_cache`` does
nothing, as PyTorch's CPU build answers; naming or measuring a device raises DeviceError.

Peaks: CuPy's pool keeps no high-water mark, so the first call of ``max_memory_allocated``,
``max_memory_reserved`` or ``reset_peak_memory_stats`` starts one (a CuPy memory hook on the calling
thread, reading the pool after each allocation): peaks count from that call, not from the start of the
program as PyTorch's do. Call ``reset_peak_memory_stats()`` before the region to measure.
"""
from __future__ import annotations

from typing import NamedTuple

from .. import backend as _backend
from ..errors import DeviceError

__all__ = [
    "empty_cache", "memory_allocated", "memory_reserved", "memory_cached", "max_memory_allocated",
    "max_memory_reserved", "max_memory_cached", "reset_peak_memory_stats", "reset_max_memory_allocated",
    "reset_max_memory_cached", "memory_stats", "mem_get_info", "get_device_name", "get_device_capability",
    "get_device_properties", "is_initialized", "init",
]


def _cupy():
    """CuPy when a CUDA device can be used, else None."""
    if _backend.cuda_unavailable_reason() is not None:
        return None
    import cupy

    return cupy


def _require(op: str):
    reason = _backend.cuda_unavailable_reason()
    if reason is not None:
        raise DeviceError(f"{op}: no CUDA device is available ({reason})")
    import cupy

    return cupy


def empty_cache() -> None:
    """Return the device memory CuPy's pools keep cached (not held by any array) to the driver."""
    cupy = _cupy()
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes of device memory held by arrays (0 without CUDA)."""
    cupy = _cupy()
    return 0 if cupy is None else int(cupy.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes of device memory the pool holds, arrays' and cached (0 without CUDA)."""
    cupy = _cupy()
    return 0 if cupy is None else int(cupy.get_default_memory_pool().total_bytes())


memory_cached = memory_reserved  # PyTorch's old name


class _Peaks:
    """The high-water marks, kept by a CuPy memory hook once a peak is first asked for."""

    hook = None
    allocated = 0
    reserved = 0

    @classmethod
    def start(cls, cupy) -> None:
        if cls.hook is not None:
            return
        pool = cupy.get_default_memory_pool()

        class PeakHook(cupy.cuda.MemoryHook):
            name = "gpugrad_peaks"

            def malloc_postprocess(self, **kwargs) -> None:
                cls.allocated = max(cls.allocated, pool.used_bytes())
                cls.reserved = max(cls.reserved, pool.total_bytes())

        cls.hook = PeakHook()
        cls.hook.__enter__()  # registered for this thread from now on (CuPy's hooks are thread-local)
        cls.reset(cupy)

    @classmethod
    def reset(cls, cupy) -> None:
        pool = cupy.get_default_memory_pool()
        cls.allocated, cls.reserved = pool.used_bytes(), pool.total_bytes()


def max_memory_allocated(device=None) -> int:
    """The most bytes arrays held at once since peaks were started or reset (0 without CUDA)."""
    cupy = _cupy()
    if cupy is None:
        return 0
    _Peaks.start(cupy)
    return int(max(_Peaks.allocated, cupy.get_default_memory_pool().used_bytes()))


def max_memory_reserved(device=None) -> int:
    """The most bytes the pool held at once since peaks were started or reset (0 without CUDA)."""
    cupy = _cupy()
    if cupy is None:
        return 0
    _Peaks.start(cupy)
    return int(max(_Peaks.reserved, cupy.get_default_memory_pool().total_bytes()))


max_memory_cached = max_memory_reserved


def reset_peak_memory_stats(device=None) -> None:
    """Start the peaks again from the current usage (nothing to do without CUDA)."""
    cupy = _cupy()
    if cupy is not None:
        _Peaks.start(cupy)
        _Peaks.reset(cupy)


reset_max_memory_allocated = reset_max_memory_cached = reset_peak_memory_stats


def memory_stats(device=None) -> dict:
    """PyTorch's keys for the counters above (empty without CUDA, as PyTorch's CPU build answers)."""
    if _cupy() is None:
        return {}
    return {
        "allocated_bytes.all.current": memory_allocated(), "allocated_bytes.all.peak": max_memory_allocated(),
        "reserved_bytes.all.current": memory_reserved(), "reserved_bytes.all.peak": max_memory_reserved(),
    }


def mem_get_info(device=None) -> tuple[int, int]:
    """(free, total) bytes of the device, from the driver."""
    cupy = _require("cuda.mem_get_info")
    free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


class _CudaDeviceProperties(NamedTuple):
    name: str
    major: int
    minor: int
    total_memory: int
    multi_processor_count: int

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None, *, _op: str = "cuda.get_device_properties") -> _CudaDeviceProperties:
    """The device's name, compute capability, memory and multiprocessor count."""
    cupy = _require(_op)
    index = device if isinstance(device, int) else (_backend.Device(device).index or 0) if device is not None else 0
    props = cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return _CudaDeviceProperties(name, props["major"], props["minor"], props["totalGlobalMem"],
                                 props["multiProcessorCount"])


def get_device_name(device=None) -> str:
    return get_device_properties(device, _op="cuda.get_device_name").name


def get_device_capability(device=None) -> tuple[int, int]:
    props = get_device_properties(device, _op="cuda.get_device_capability")
    return props.major, props.minor


def is_initialized() -> bool:
    """Whether gpugrad has set up a CUDA device in this process."""
    return any(d.type == "cuda" for d in _backend.devices_in_use())


def init() -> None:
    """Set up CUDA now (it is otherwise set up on first use); raises DeviceError without a device."""
    _require("cuda.init")
    _backend.get("cuda")
