"""Input checks every launcher runs before anything is launched: dtypes, shapes, where arrays live."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _dispatch
from ._cuda import simulator_enabled
from ._dispatch import resolve_impl

_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
# The compiled kernels' dtypes. float16 arrays are accepted by launchers that call float_dtype_and_impl
# and run the reference there: no kernel is compiled for them, and none upcasts them silently.
KERNEL_DTYPES = (_F32, _F64)
_REFERENCE_ONLY_DTYPES = (_F16,)


def float_dtype_and_impl(op: str, xp: Any, impl: str | None, **arrays: Any) -> tuple[np.dtype, str]:
    """The arrays' shared float dtype (float16, float32 or float64) and the implementation to run for
    it: resolve_impl's choice for the kernel dtypes, the reference for float16 whatever was asked."""
    impl = resolve_impl(xp, impl, op)
    dtype = _shared_dtype(op, KERNEL_DTYPES + _REFERENCE_ONLY_DTYPES, arrays,
                          "float32 and float64 (and float16, which runs the reference)")
    return dtype, (impl if dtype in KERNEL_DTYPES else "reference")


def number_as_value(number: Any, dtype: np.dtype) -> np.ndarray | None:
    """A Python float or int as a 0-d array of the float ``dtype``, converted as NumPy's operators convert a
    number beside an array of that dtype (NEP 50: the array's dtype); None where NumPy decides otherwise
    (another kind of number, an integer dtype, a number past the dtype's range)."""
    if dtype.kind != "f" or (number.__class__ is not float and number.__class__ is not int):
        return None
    if abs(number) > np.finfo(dtype).max and abs(number) != float("inf"):  # it overflows (NaN compares False)
        return None
    return np.full((), number, dtype)


def plain_cpu_call(xp: Any, impl: str | None, first: Any, *others: Any) -> bool:
    """Whether a launch is the common CPU call that every check would pass: impl left to the switch
    with the fused kernels on, NumPy arrays, all C-contiguous and of one kernel dtype. A launcher skips
    its checks for such a call (they cost microseconds, more than a small kernel's work); any other call
    takes the checked path, which names what is wrong."""
    if impl is not None or xp is not np or not _dispatch.fused_enabled():
        return False
    dtype = first.dtype
    if (dtype is not _F32 and dtype is not _F64) or not first.flags.c_contiguous:
        return False
    for a in others:
        if a.dtype is not dtype or not a.flags.c_contiguous or a.shape != first.shape:
            return False
    return True


def is_numpy(xp: Any) -> bool:
    return xp is np


def is_cupy(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "cupy"


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
