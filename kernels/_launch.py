"""Launch machinery shared by every kernel family.

Everything CUDA-related is imported lazily: the package must import (and the
CPU kernels must run) on an install without numba-cuda or a GPU.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numba.extending import overload

IMPLS = ("reference", "cpu", "cuda")

# Below this many elements of work a CPU kernel runs serially. Right after a GEMM, OpenBLAS's threads
# spin on the cores a parallel kernel needs, and waking Numba's pool costs more than a small loop
# (measured on 2 cores: a 32x256 relu between two small GEMMs took 60 ms in parallel, 0.5 ms serially;
# the 784-1024-1024-10 MLP step, batch 256, went from 78 ms to 43 ms with its 256x1024 bias+activation
# kernels serial). Memory-bound passes over millions of elements, as the optimizer step over all
# parameters, still gain from both cores.
PARALLEL_MIN_WORK = 1 << 22


class CpuKernel:
    """A prange kernel compiled twice, parallel and serial; ``kernel(work, *args)`` runs the parallel
    build only when ``work`` (elements touched) reaches PARALLEL_MIN_WORK."""

    def __init__(self, fn: Callable[..., Any], fastmath: Any) -> None:
        from numba import njit

        options = dict(fastmath=fastmath, error_model="numpy", cache=True)
        self.parallel = njit(parallel=True, **options)(fn)
        # A renamed copy: Numba's on-disk cache is keyed by the function's name and code, not by the
        # parallel flag, so the serial build must not share the parallel build's cache entry.
        serial = type(fn)(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
        serial.__qualname__ = fn.__qualname__ + "_serial"
        self.serial = njit(**options)(serial)
        self.__doc__ = fn.__doc__

    def __call__(self, work: int, *args: Any) -> Any:
        return (self.parallel if work >= PARALLEL_MIN_WORK else self.serial)(*args)


def cpu_kernel(fastmath: Any = True) -> Callable[[Callable[..., Any]], CpuKernel]:
    """Decorator for the Numba CPU kernels: parallel for large work, serial for small (see CpuKernel)."""
    return lambda fn: CpuKernel(fn, fastmath)
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------- impl choice

def resolve_impl(xp: Any, impl: str | None, op: str = "kernel") -> str:
    """The implementation a launcher runs: an explicit `impl`, else
    "reference" when GPUGRAD_FUSED=0, else "cpu" for NumPy and "cuda" for
    anything else (CuPy)."""
    if impl is None:
        if os.environ.get("GPUGRAD_FUSED", "1").strip() == "0":
            return "reference"
        return "cpu" if xp is np else "cuda"
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be one of {IMPLS} or None, got {impl!r}")
    return impl


def is_numpy(xp: Any) -> bool:
    return xp is np


def is_cupy(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "cupy"


# ---------------------------------------------------------------- input checks

def check_float(op: str, **arrays: Any) -> np.dtype:
    """All given arrays share one dtype, float32 or float64; returns it."""
    named = {k: v for k, v in arrays.items() if v is not None}
    dtypes = {k: np.dtype(v.dtype) for k, v in named.items()}
    for k, dt in dtypes.items():
        if dt not in FLOAT_DTYPES:
            raise TypeError(
                f"{op}: only float32 and float64 are supported, got {k}.dtype={dt}"
            )
    if len(set(dtypes.values())) > 1:
        desc = ", ".join(f"{k}.dtype={dt}" for k, dt in dtypes.items())
        raise TypeError(f"{op}: dtypes must match: {desc}")
    return next(iter(dtypes.values()))


def check_same_shape(op: str, **arrays: Any) -> tuple[int, ...]:
    named = {k: v for k, v in arrays.items() if v is not None}
    shapes = {k: tuple(v.shape) for k, v in named.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k}.shape={s}" for k, s in shapes.items())
        raise ValueError(f"{op}: shapes must match: {desc}")
    return next(iter(shapes.values()))


def check_arrays_for(op: str, xp: Any, impl: str, **arrays: Any) -> None:
    """The arrays live where `impl` can read them: NumPy for "cpu", device
    arrays (or NumPy under the CUDA simulator) for "cuda"."""
    for k, a in arrays.items():
        if a is None:
            continue
        if impl == "cpu" and not isinstance(a, np.ndarray):
            raise TypeError(f"{op}: impl='cpu' needs NumPy arrays, got {k} of {type(a).__name__}")
        if impl == "cuda":
            on_device = hasattr(a, "__cuda_array_interface__")
            if not on_device and not (simulator_enabled() and isinstance(a, np.ndarray)):
                raise TypeError(
                    f"{op}: impl='cuda' needs device arrays with __cuda_array_interface__ "
                    f"(NumPy only under NUMBA_ENABLE_CUDASIM=1), got {k} of {type(a).__name__}"
                )


def contiguous(xp: Any, a: Any) -> Any:
    """C-contiguous view or copy; the kernels index flat memory."""
    if a is None or a.flags.c_contiguous:
        return a
    return xp.ascontiguousarray(a)


# ---------------------------------------------------------------- scalar math

# Scalar helpers are plain Python functions registered as Numba overloads. One definition then serves the CPU kernels, the CUDA
# kernels and the CUDA simulator (which runs kernels as Python). Plain
# @njit helpers would not do: numba-cuda compiles a called dispatcher for
# the *current device*, which breaks compile_ptx on machines without a GPU.
_SCALAR_FNS: list[Callable[..., Any]] = []


def like(x: Any, v: float) -> Any:
    """`v` as a constant of x's type: keeps float32 kernels free of float64
    arithmetic (a bare Python float literal would promote to float64)."""
    return type(x)(v)


def _like_typer(x, v):  # unannotated: numba compares it with impl's signature
    nbtype = x

    def impl(x, v):  # noqa: ARG001 - the value comes from x's type
        return nbtype(v)

    return impl


overload(like, target="cpu")(_like_typer)


def _typer(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An overload typer answering `fn` itself, with fn's exact signature
    (numba compares the two; a looser one mis-folds arguments)."""

    def typer(*args: Any) -> Callable[..., Any]:
        return fn

    typer.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return typer


def scalar_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register `fn` as a scalar helper for the CPU and CUDA targets."""
    # Not inlined at Numba IR level (inline="always"): LLVM inlines these
    # anyway (same speed, measured), compiling is much faster, and numba-cuda
    # mis-types CUDA kernels once a CPU kernel has used an IR-inlined overload.
    overload(fn, inline="never", target="cpu")(_typer(fn))
    _SCALAR_FNS.append(fn)
    return fn


# ---------------------------------------------------------------- CUDA access

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
        from numba.cuda.extending import overload as cuda_overload

        # Not IR-inlined either: that multiplied typing work (several seconds
        # per kernel); NVVM inlines them (the PTX has no calls).
        cuda_overload(like)(_like_typer)
        for fn in _SCALAR_FNS:
            cuda_overload(fn, inline="never")(_typer(fn))
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


# ---------------------------------------------------------------- grid/block

@functools.cache
def _max_blocks() -> int:
    if simulator_enabled():
        # The simulator runs every thread as a Python thread.
        return 2
    try:
        sms = int(get_cuda().get_current_device().MULTIPROCESSOR_COUNT)
    except Exception:
        sms = 132
    return 32 * sms


def launch_dims(
    work: int | Sequence[int],
    block: int | Sequence[int],
    *,
    grid_stride: bool = True,
    per_thread: int = 1,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(grid, block) covering `work` items per dimension (x first), each
    thread taking `per_thread` items per dimension.

    Grid-stride kernels get at most enough blocks to fill the device: the
    excess comes off the last dimension, whose loop strides over the rest.
    Tiled kernels (grid_stride=False) get one block per tile.
    """
    work_t = (work,) if isinstance(work, int) else tuple(work)
    block_t = (block,) if isinstance(block, int) else tuple(block)
    if simulator_enabled() and grid_stride and len(block_t) == 1:
        block_t = (min(block_t[0], 32),)
    grid = [max(1, -(-w // (b * per_thread))) for w, b in zip(work_t, block_t)]
    if grid_stride:
        others = math.prod(grid[:-1])
        grid[-1] = max(1, min(grid[-1], _max_blocks() // max(1, others)))
    return tuple(grid), block_t


# ---------------------------------------------------------------- streams

_EXTERNAL_STREAMS: dict[int, Any] = {}
_CONFIGURED: dict[tuple[int, tuple[int, ...], tuple[int, ...], int], tuple[Any, Any, Any]] = {}


def cuda_stream(xp: Any, stream: Any = None) -> Any:
    """The stream to launch on: the caller's, else CuPy's current stream."""
    if stream is not None:
        return stream
    if simulator_enabled() or not is_cupy(xp):
        return 0
    ptr = int(xp.cuda.get_current_stream().ptr)
    s = _EXTERNAL_STREAMS.get(ptr)
    if s is None:
        s = get_cuda().default_stream() if ptr == 0 else get_cuda().external_stream(ptr)
        _EXTERNAL_STREAMS[ptr] = s
    return s


def device_view(a: Any) -> Any:
    """What a kernel is given: NumPy under the simulator; otherwise a numba
    view of the CuPy array, made without the implicit stream sync numba does
    for __cuda_array_interface__ arguments (we launch on the array's stream)."""
    if a is None or isinstance(a, np.ndarray):
        return a
    return get_cuda().as_cuda_array(a, sync=False)


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
    key = (id(kernel), grid, blk, id(stream))
    entry = _CONFIGURED.get(key)
    if entry is None:
        if len(_CONFIGURED) > 512:
            _CONFIGURED.clear()
        # Small tensors get small grids on purpose; numba-cuda would warn
        # about occupancy for each of them.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*under-utilization.*")
            configured = kernel[g, b, stream]
        # Holding kernel and stream keeps their ids unique while cached.
        entry = (configured, kernel, stream)
        _CONFIGURED[key] = entry
    entry[0](*[device_view(a) if hasattr(a, "__cuda_array_interface__") else a for a in args])


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
