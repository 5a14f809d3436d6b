"""Everything gpugrad takes from numba-cuda's private internals, in one file: the direct launch path.

numba-cuda's own call path (``kernel[grid, block, stream](*args)``) spends ~100 us of host time per launch
(measured on an H200 host, bench/results/2026-11-28-h200): typing every argument, wrapping each CuPy
array in a DeviceNDArray, building ctypes values. PyTorch and CuPy spend ~8 us. The direct path keeps
numba's compiled kernel and the launch call numba itself makes (cuda.core's launch) but packs the
arguments itself, laid out as numba's private ``_Kernel._prepare_args`` lays them out, and reads the
compiled kernel's private ``_codelibrary`` and the private ``driver._to_core_stream``.

None of that is numba-cuda's API, so the path is taken only on the versions in CHECKED_VERSIONS, where
tests/kernels/test_direct_launch.py compared our packing with numba's for every kernel signature.
On any other version the launcher uses numba's own path (and says so in ``gg.backend.info()``), unless
GPUGRAD_CUDA_LAUNCH=direct asks for the direct path regardless (to try a new version: run
tests/kernels/test_direct_launch.py there, then add the version below).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# numba-cuda versions whose argument layout and internals tests/kernels/test_direct_launch.py checked.
CHECKED_VERSIONS = ("0.30.4",)


@functools.cache
def installed_version() -> str | None:
    """numba-cuda's installed version, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("numba-cuda")
    except PackageNotFoundError:
        return None


def unchecked_reason() -> str | None:
    """Why the direct path must not be trusted here (an unchecked numba-cuda version), or None."""
    v = installed_version()
    if v in CHECKED_VERSIONS:
        return None
    return (f"numba-cuda {v or '(not installed)'} is not a version the direct launch was checked against "
            f"({', '.join(CHECKED_VERSIONS)})")


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


def direct_launcher(kernel: Any, grid: tuple[int, ...], block: tuple[int, ...], stream: Any) -> Callable[[tuple], None]:
    """``run(args)`` launching `kernel` (a numba-cuda dispatcher compiled for one signature) with this
    configuration through cuda.core, the arguments packed here. Raises ImportError, AttributeError,
    NotImplementedError or ValueError where this numba-cuda lacks a piece the path uses."""
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
