"""Launch machinery shared by every kernel family.

Everything CUDA-related is imported lazily: the package must import (and the
CPU kernels must run) on an install without numba-cuda or a GPU.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import overload

from . import _vmath

# Numba checks a cached kernel against the kernel's own source file only. The shared code every CPU
# kernel inlines (this file and _vmath.py) goes into each cache entry's name, so that editing it
# recompiles the kernels instead of loading stale machine code.
_SHARED_SOURCE_TAG = hashlib.sha1(
    Path(__file__).read_bytes() + Path(_vmath.__file__).read_bytes()
).hexdigest()[:10]

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
    build only when ``work`` (elements touched) reaches PARALLEL_MIN_WORK.

    Both builds call the CPU twins of the scalar helpers (see scalar_fn), made when the kernel is first
    called, once its module has finished importing."""

    def __init__(self, fn: Callable[..., Any], fastmath: Any) -> None:
        self.fn = fn
        self.options = dict(fastmath=fastmath, error_model="numpy", cache=True)
        self.parallel: Any = None
        self.serial: Any = None
        self.__doc__ = fn.__doc__

    def _build(self) -> None:
        from numba import njit

        fn, glob = self.fn, _cpu_globals(self.fn.__globals__)
        parallel = type(fn)(fn.__code__, glob, fn.__name__, fn.__defaults__, fn.__closure__)
        parallel.__qualname__ = f"{fn.__qualname__}_{_SHARED_SOURCE_TAG}"
        # A renamed copy: Numba's on-disk cache is keyed by the function's name and code, not by the
        # parallel flag, so the serial build must not share the parallel build's cache entry.
        serial = type(fn)(fn.__code__, glob, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
        serial.__qualname__ = f"{fn.__qualname__}_serial_{_SHARED_SOURCE_TAG}"
        self.serial = njit(**self.options)(serial)
        self.parallel = njit(parallel=True, **self.options)(parallel)

    def __call__(self, work: int, *args: Any) -> Any:
        if self.serial is None:
            self._build()
        return (self.parallel if work >= PARALLEL_MIN_WORK else self.serial)(*args)


def cpu_kernel(fastmath: Any = True) -> Callable[[Callable[..., Any]], CpuKernel]:
    """Decorator for the Numba CPU kernels: parallel for large work, serial for small (see CpuKernel)."""
    return lambda fn: CpuKernel(fn, fastmath)


class CpuKernelPerCode:
    """CPU kernels specialised per activation code: ``kernel(work, code, *args)`` runs the CpuKernel made
    by ``make(code)``, a kernel with `code` as a constant, compiled on first use of that code.

    With the code a runtime value, the loop carries the whole eight-way activation switch and LLVM
    neither folds nor vectorises it: relu ran at 3-6 ns per element (branch misses on mixed signs); as
    a constant, the loop is relu's alone, a vectorised select (~0.2 ns)."""

    def __init__(self, make: Callable[[int], Callable[..., Any]], names: Sequence[str], fastmath: Any) -> None:
        self.make, self.names, self.fastmath = make, names, fastmath
        self.kernels: dict[int, CpuKernel] = {}
        self.__doc__ = make.__doc__

    def __call__(self, work: int, code: int, *args: Any) -> Any:
        kernel = self.kernels.get(code)
        if kernel is None:
            fn = self.make(code)
            # One on-disk cache entry per code: Numba names cache files by qualified name.
            fn.__qualname__ = f"{self.make.__qualname__}_{self.names[code]}"
            kernel = self.kernels[code] = CpuKernel(fn, self.fastmath)
        return kernel(work, *args)


def cpu_kernel_per_code(names: Sequence[str], fastmath: Any = True) -> Callable[[Callable[[int], Callable[..., Any]]], CpuKernelPerCode]:
    """Decorator for a factory ``make(code)`` returning a CPU kernel with `code` fixed (see CpuKernelPerCode)."""
    return lambda make: CpuKernelPerCode(make, names, fastmath)


_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
# The compiled kernels' dtypes. float16 arrays are accepted by launchers that call float_dtype_and_impl
# and run the reference there: no kernel is compiled for them, and none upcasts them silently.
KERNEL_DTYPES = (_F32, _F64)
_REFERENCE_ONLY_DTYPES = (_F16,)


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


def float_dtype_and_impl(op: str, xp: Any, impl: str | None, **arrays: Any) -> tuple[np.dtype, str]:
    """The arrays' shared float dtype (float16, float32 or float64) and the implementation to run for
    it: resolve_impl's choice for the kernel dtypes, the reference for float16 whatever was asked."""
    impl = resolve_impl(xp, impl, op)
    dtype = _shared_dtype(op, KERNEL_DTYPES + _REFERENCE_ONLY_DTYPES, arrays,
                          "float32 and float64 (and float16, which runs the reference)")
    return dtype, (impl if dtype in KERNEL_DTYPES else "reference")


def is_numpy(xp: Any) -> bool:
    return xp is np


def is_cupy(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "cupy"


# ---------------------------------------------------------------- input checks

def check_float(op: str, **arrays: Any) -> np.dtype:
    """All given arrays share one dtype, float32 or float64; returns it."""
    return _shared_dtype(op, KERNEL_DTYPES, arrays, "float32 and float64")


def _shared_dtype(op: str, allowed: tuple, arrays: dict, allowed_names: str) -> np.dtype:
    # Plain loops: this runs on every launch, and on a GPU its host time adds to each kernel's.
    dtype = None
    for k, v in arrays.items():
        if v is None:
            continue
        dt = v.dtype
        if dt not in allowed:
            raise TypeError(f"{op}: only {allowed_names} are supported, got {k}.dtype={np.dtype(dt)}")
        if dtype is None:
            dtype = dt
        elif dt != dtype:
            desc = ", ".join(f"{k}.dtype={np.dtype(v.dtype)}" for k, v in arrays.items() if v is not None)
            raise TypeError(f"{op}: dtypes must match: {desc}")
    return np.dtype(dtype)


def check_same_shape(op: str, **arrays: Any) -> tuple[int, ...]:
    shape = None
    for v in arrays.values():
        if v is None:
            continue
        if shape is None:
            shape = v.shape
        elif v.shape != shape:
            desc = ", ".join(f"{k}.shape={tuple(v.shape)}" for k, v in arrays.items() if v is not None)
            raise ValueError(f"{op}: shapes must match: {desc}")
    return tuple(shape)


def check_arrays_for(op: str, xp: Any, impl: str, **arrays: Any) -> None:
    """The arrays live where `impl` can read them: NumPy for "cpu", device
    arrays (or NumPy under the CUDA simulator) for "cuda"."""
    for k, a in arrays.items():
        if a is None:
            continue
        if impl == "cpu" and not isinstance(a, np.ndarray):
            raise TypeError(f"{op}: impl='cpu' needs NumPy arrays, got {k} of {type(a).__name__}")
        if impl == "cuda":
            if xp is not np and isinstance(a, xp.ndarray):
                continue  # CuPy: building __cuda_array_interface__ (a dict, per access) costs host time
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


def scalar_fn(fn: Callable[..., Any] | None = None, *, inline_on_cpu: bool = True) -> Any:
    """Register `fn` as a scalar helper for the CPU and CUDA targets (``@scalar_fn`` or
    ``@scalar_fn(inline_on_cpu=False)``; see _cpu_twin for what the flag changes)."""
    if fn is None:
        return lambda f: scalar_fn(f, inline_on_cpu=inline_on_cpu)
    # Not inlined at Numba IR level here: numba-cuda mis-types CUDA kernels once a CPU kernel has
    # compiled an IR-inlined overload of the same function. The CPU kernels call twins instead.
    overload(fn, inline="never", target="cpu")(_typer(fn))
    _SCALAR_FNS.append(fn)
    _INLINE_ON_CPU[fn] = inline_on_cpu
    # Numba's SSA pass reports the inlined twins' branch variables as "not in scope" (an internal,
    # pedantic check; the compiled code is right, and the kernel tests compare it with the references).
    # Silenced for these helpers' variables only.
    warnings.filterwarnings("ignore", message=rf"variable '{fn.__name__}_v\d+", category=NumbaIRAssumptionWarning)
    return fn


_INLINE_ON_CPU: dict[Callable[..., Any], bool] = {}
_CPU_TWINS: dict[Callable[..., Any], Any] = {}


def _cpu_twin(fn: Callable[..., Any]) -> Any:
    """`fn` as an njit function for the CPU kernels, inlined at Numba IR level unless registered with
    inline_on_cpu=False. Left to LLVM, a helper past its inlining threshold (adam_scalar with its
    tuple) stayed a call per element and kept the loop from vectorising: Adam 3.1-3.9 -> 0.5-0.7 ns per
    element (float32, one thread). The activation helpers opt out: their kernels are specialised per
    activation (CpuKernelPerCode), LLVM then inlines the one branch the constant code leaves, and
    IR-inlining all eight branches into every specialisation only doubled compile time. A separate
    function object, so that the CUDA overloads of `fn` never see an inlined CPU version."""
    twin = _CPU_TWINS.get(fn)
    if twin is None:
        from numba import njit

        glob = dict(fn.__globals__)
        py = type(fn)(fn.__code__, glob, fn.__name__, fn.__defaults__, fn.__closure__)
        twin = _CPU_TWINS[fn] = njit(inline="always" if _INLINE_ON_CPU[fn] else "never")(py)
        _swap_helpers(glob)  # after registering: a module's globals hold the helper itself too
    return twin


def _cpu_globals(glob: dict[str, Any]) -> dict[str, Any]:
    """A copy of a module's globals in which each scalar helper is its CPU twin."""
    out = dict(glob)
    _swap_helpers(out)
    return out


def _swap_helpers(glob: dict[str, Any]) -> None:
    for fn in _SCALAR_FNS:
        if glob.get(fn.__name__) is fn:
            glob[fn.__name__] = _cpu_twin(fn)


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
        cuda_overload(_vmath.exp)(_vmath.exp_on_cuda)
        cuda_overload(_vmath.erfc)(_vmath.erfc_on_cuda)
        cuda_overload(_vmath.log1p_of_unit)(_vmath.log1p_of_unit_on_cuda)
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

# Elements each thread of a memory-bound CUDA kernel loads per grid-stride trip, all before it stores any:
# the kernels write their loops out for exactly this many. A thread whose loop body stores before the
# next load keeps one load per input in flight (outputs may alias inputs, so the compiler cannot hoist
# the next trip's loads), too few bytes in flight to cover DRAM latency: on the H200 that measured 57%
# of copy bandwidth for one input, 69% for two, 80-84% for the optimizers' four.
UNROLL = 4

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

_EXTERNAL_STREAMS: dict[tuple[int, int], Any] = {}


def cuda_stream(xp: Any, stream: Any = None) -> Any:
    """The stream to launch on: the caller's, else CuPy's current stream (one numba stream object per
    device and CuPy stream, so cached launch configurations never cross devices)."""
    if stream is not None:
        return stream
    if simulator_enabled() or not is_cupy(xp):
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
        buf = xp.zeros(size, dtype=dtype)
        if not isinstance(buf, np.ndarray):
            xp.cuda.Device().synchronize()  # zeroed (on CuPy's stream) before any kernel on `stream` runs
        held = _ZEROED[(name, id(stream))] = (buf, stream)  # holding the stream keeps its id unique
    return held[0]


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


# ---------------------------------------------------------------- launching

# numba-cuda's own call path spends ~100 us of host time per launch (measured on an H200 host,
# bench/results/2026-11-28-h200): typing every argument, wrapping each CuPy array in a DeviceNDArray,
# building ctypes values. PyTorch and CuPy spend ~8 us. The direct path keeps numba's compiled kernel
# and its launch call (cuda.core's launch) but packs the arguments itself, as numba's
# _Kernel._prepare_args lays them out (tests/kernels/test_direct_launch.py compares the two for every
# kernel signature). GPUGRAD_CUDA_LAUNCH=numba keeps numba's own path (for comparison, or as a fallback).
DIRECT_LAUNCH = os.environ.get("GPUGRAD_CUDA_LAUNCH", "direct").strip().lower() != "numba"
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
    return "direct"


def _array_packer(ty: Any, where: str) -> Callable[[Any, list], None]:
    """Appends one array argument as numba lays it out: meminfo, parent, nitems, itemsize, data pointer,
    shape..., strides... (bytes). Checks what numba's typing would have checked: dtype, rank, layout."""
    dtype = np.dtype(str(ty.dtype))
    ndim = ty.ndim
    need_c = ty.layout == "C"

    def pack(a: Any, params: list) -> None:
        if a.dtype != dtype or a.ndim != ndim or (need_c and not a.flags.c_contiguous):
            raise TypeError(
                f"{where}: expected a {ndim}-d {dtype} array{' (C-contiguous)' if need_c else ''}, got "
                f"{type(a).__name__} of shape {tuple(a.shape)}, dtype {a.dtype}"
            )
        data = getattr(a, "data", None)
        ptr = getattr(data, "ptr", None)
        if ptr is None:  # not CuPy: any __cuda_array_interface__ object
            try:
                ptr = a.__cuda_array_interface__["data"][0]
            except AttributeError:
                raise TypeError(
                    f"{where}: expected a device array (__cuda_array_interface__), got {type(a).__name__}"
                ) from None
        params += (0, 0, a.size, a.itemsize, ptr, *a.shape, *a.strides)

    return pack


def _scalar_packer(ty: Any, where: str) -> Callable[[Any, list], None]:
    import ctypes

    from numba.cuda import types  # the type objects numba-cuda's own argument preparation tests against

    if ty == types.boolean:
        return lambda v, params: params.append(bool(v))
    if isinstance(ty, types.Integer):
        ctype = getattr(ctypes, f"c_{ty}")
    elif ty == types.float32:
        ctype = ctypes.c_float
    elif ty == types.float64:
        ctype = ctypes.c_double
    else:
        raise NotImplementedError(f"{where}: no direct launch for a {ty} argument")
    return lambda v, params: params.append(ctype(v))


def argument_packers(argtypes: Sequence[Any], where: str = "kernel") -> list[Callable[[Any, list], None]]:
    """One packer per kernel argument type (numba types of the compiled signature)."""
    from numba.cuda import types

    return [
        _array_packer(t, f"{where} argument {i}") if isinstance(t, types.Array) else _scalar_packer(t, f"{where} argument {i}")
        for i, t in enumerate(argtypes)
    ]


def pack_arguments(packers: Sequence[Callable[[Any, list], None]], args: Sequence[Any]) -> list:
    params: list = []
    for pack, a in zip(packers, args):
        pack(a, params)
    return params


def _direct_launcher(kernel: Any, grid: tuple[int, ...], block: tuple[int, ...], stream: Any) -> Callable[[tuple], None]:
    from cuda.core import LaunchConfig
    from cuda.core import launch as core_launch
    from numba.cuda.cudadrv.driver import _to_core_stream

    (compiled,) = kernel.overloads.values()  # our kernels are compiled for exactly one signature
    if getattr(compiled, "debug", False) or getattr(compiled, "cooperative", False):
        raise NotImplementedError("debug or cooperative kernel")
    # What numba's _Kernel.launch hands to cuda.core's launch, resolved once instead of per call.
    function = compiled._codelibrary.get_cufunc().kernel  # loaded for the current device
    core_stream = _to_core_stream(stream)
    config = LaunchConfig(grid=grid, block=block, shmem_size=0)
    name = getattr(kernel, "__name__", "kernel")
    packers = argument_packers(compiled.argument_types, name)

    def run(args: tuple) -> None:
        if len(args) != len(packers):
            raise TypeError(f"{name}: expected {len(packers)} arguments, got {len(args)}")
        core_launch(core_stream, config, function, *pack_arguments(packers, args))

    return run


def _numba_launcher(kernel: Any, g: Any, b: Any, stream: Any) -> Callable[[tuple], None]:
    # Small tensors get small grids on purpose; numba-cuda would warn about occupancy for each of them.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*under-utilization.*")
        configured = kernel[g, b, stream]
    return lambda args: configured(*[device_view(a) if hasattr(a, "__cuda_array_interface__") else a for a in args])


def _configure(kernel: Any, grid: tuple[int, ...], blk: tuple[int, ...], g: Any, b: Any, stream: Any) -> Callable[[tuple], None]:
    global _direct_unavailable
    if DIRECT_LAUNCH and _direct_unavailable is None:
        try:
            return _direct_launcher(kernel, grid, blk, stream)
        except (ImportError, AttributeError, NotImplementedError, ValueError) as exc:
            # A numba-cuda or cuda.core without the pieces this path uses: numba's own path still works.
            _direct_unavailable = f"direct launch unavailable: {type(exc).__name__}: {exc}"
            warnings.warn(f"gpugrad: {_direct_unavailable}; using numba-cuda's launch path", RuntimeWarning, stacklevel=3)
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
