"""The one launch path every kernel family uses, and the names the families import.

The launch machinery is small files by concern; this module holds only ``launch`` (grid and block from
_grid, a cached launch configuration per kernel, grid, block and stream) and re-exports what the
families import from here:

- _dispatch: which implementation runs (resolve_impl, set_fused / fused), CPU kernels serial or parallel.
- _checks: input checks every launcher runs first.
- _scalar: scalar helpers shared by the CPU and CUDA kernels, their CPU twins, their CUDA overloads.
- _clone: renamed function copies and the cache tag (SHARED_SOURCE_TAG) of the helper sources.
- _cuda: numba.cuda imported lazily, compiling, streams, small device buffers.
- _grid: launch configuration (launch_dims, the one grid/block helper).
- _numba_cuda_internals: everything that reaches into numba-cuda's private code (the direct launch
  path), used only on the numba-cuda versions it was checked against.

Everything CUDA-related is imported lazily: the package must import (and the CPU kernels must run) on an
install without numba-cuda or a GPU.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from . import _numba_cuda_internals
from ._checks import (  # noqa: F401 - imported from here by the kernel families
    KERNEL_DTYPES,
    check_arrays_for,
    check_float,
    check_same_shape,
    contiguous,
    float_dtype_and_impl,
    is_cupy,
    is_numpy,
    plain_cpu_call,
)
from ._clone import SHARED_SOURCE_TAG
from ._cuda import (  # noqa: F401
    _ZEROED,  # the tests read the ticket buffers left zeroed
    cuda_available,
    cuda_family,
    cuda_jit,
    cuda_stream,
    device_view,
    get_cuda,
    numba_type,
    simulator_enabled,
    ticket_counters,
    to_host,
    zeroed_buffer,
)
from ._dispatch import (  # noqa: F401
    IMPLS,
    PARALLEL_MIN_WORK,
    CpuKernel,
    CpuKernelPerCode,
    cpu_kernel,
    cpu_kernel_per_code,
    fused,
    fused_enabled,
    resolve_impl,
    set_fused,
)
from ._grid import UNROLL, launch_dims  # noqa: F401
from ._numba_internals import cache_consistent
from ._scalar import like, scalar_fn  # noqa: F401

_SHARED_SOURCE_TAG = SHARED_SOURCE_TAG  # the name it had before the split

# What the kernel families (and the tests) import from here, besides launch itself.
__all__ = [
    "KERNEL_DTYPES", "check_arrays_for", "check_float", "check_same_shape", "contiguous", "float_dtype_and_impl",
    "is_cupy", "is_numpy", "cuda_available", "cuda_family", "cuda_jit", "cuda_stream", "device_view", "get_cuda",
    "numba_type", "simulator_enabled", "ticket_counters", "to_host", "zeroed_buffer", "IMPLS", "PARALLEL_MIN_WORK",
    "CpuKernel", "CpuKernelPerCode", "cache_consistent", "cpu_kernel", "cpu_kernel_per_code", "fused", "fused_enabled",
    "resolve_impl", "set_fused", "UNROLL", "launch_dims", "like", "scalar_fn", "SHARED_SOURCE_TAG", "launch",
    "launch_path",
]

# GPUGRAD_CUDA_LAUNCH: unset or "auto", the direct path on the numba-cuda versions it was checked against
# (see _numba_cuda_internals), numba-cuda's own path elsewhere; "direct", the direct path on any version;
# "numba", numba-cuda's own path (for comparison, or as a fallback).
_LAUNCH_ENV = os.environ.get("GPUGRAD_CUDA_LAUNCH", "auto").strip().lower()
DIRECT_LAUNCH = _LAUNCH_ENV != "numba"
FORCE_DIRECT = _LAUNCH_ENV == "direct"
_direct_unavailable: str | None = None  # why the direct path is off, once it failed to set up
_CONFIGURED: dict[tuple[Any, ...], tuple[Callable[[tuple[Any, ...]], None], Any, Any]] = {}


def launch_path() -> str:
    """How CUDA kernels are launched in this process: "direct", "numba (<why>)" or "simulator"."""
    if simulator_enabled():
        return "simulator"
    if not DIRECT_LAUNCH:
        return "numba (GPUGRAD_CUDA_LAUNCH=numba)"
    if _direct_unavailable is not None:
        return f"numba ({_direct_unavailable})"
    if not FORCE_DIRECT and _numba_cuda_internals.unchecked_reason() is not None:
        return f"numba ({_numba_cuda_internals.unchecked_reason()})"
    return "direct"


def _numba_launcher(kernel: Any, g: Any, b: Any, stream: Any) -> Callable[[tuple], None]:
    # Small tensors get small grids on purpose; numba-cuda would warn about occupancy for each of them.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*under-utilization.*")
        configured = kernel[g, b, stream]
    return lambda args: configured(*[device_view(a) if hasattr(a, "__cuda_array_interface__") else a for a in args])


def _configure(kernel: Any, grid: tuple[int, ...], blk: tuple[int, ...], g: Any, b: Any, stream: Any) -> Callable[[tuple], None]:
    global _direct_unavailable
    if DIRECT_LAUNCH and _direct_unavailable is None:
        reason = None if FORCE_DIRECT else _numba_cuda_internals.unchecked_reason()
        if reason is None:
            try:
                return _numba_cuda_internals.direct_launcher(kernel, grid, blk, stream)
            except (ImportError, AttributeError, NotImplementedError, ValueError) as exc:
                # A numba-cuda or cuda.core without the pieces this path uses: numba's own path still works.
                reason = f"direct launch unavailable: {type(exc).__name__}: {exc}"
        _direct_unavailable = reason
        warnings.warn(f"gpugrad: {reason}; using numba-cuda's launch path", RuntimeWarning, stacklevel=3)
    return _numba_launcher(kernel, g, b, stream)


def launch(
    kernel: Any,
    work: int | Sequence[int],
    block: int | Sequence[int],
    stream: Any,
    *args: Any,
    grid_stride: bool = True,
    per_thread: int = 1,
) -> None:
    """Launch `kernel` over `work`; a no-op for empty work."""
    work_t = (work,) if isinstance(work, int) else tuple(work)
    if min(work_t) <= 0:
        return
    grid, blk = launch_dims(work_t, block, grid_stride=grid_stride, per_thread=per_thread)
    g = grid[0] if len(grid) == 1 else grid
    b = blk[0] if len(blk) == 1 else blk
    if simulator_enabled():
        # The simulator's kernel[...] reconfigures the kernel object itself,
        # so a cached configuration would be changed by the next one.
        kernel[g, b, stream](*args)
        return
    key = (id(kernel), grid, blk, id(stream), DIRECT_LAUNCH)
    entry = _CONFIGURED.get(key)
    if entry is None:
        if len(_CONFIGURED) > 512:
            _CONFIGURED.clear()
        # Holding kernel and stream keeps their ids unique while cached.
        entry = (_configure(kernel, grid, blk, g, b, stream), kernel, stream)
        _CONFIGURED[key] = entry
    entry[0](args)
