"""Scalar helpers shared by the CPU kernels, the CUDA kernels and the CUDA simulator.

A helper is a plain Python function registered as a Numba overload (``@scalar_fn``): the simulator runs
it as Python, CUDA kernels call it through a CUDA overload, CPU kernels through an njit "twin" swapped
into the kernel's globals. Plain @njit helpers would not do: numba-cuda compiles a called dispatcher for
the *current device*, which breaks compile_ptx on machines without a GPU.
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import overload

from . import _vmath

_SCALAR_FNS: list[Callable[..., Any]] = []
_INLINE_ON_CPU: dict[Callable[..., Any], bool] = {}
_CPU_TWINS: dict[Callable[..., Any], Any] = {}


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
    ``@scalar_fn(inline_on_cpu=False)``; see cpu_twin for what the flag changes)."""
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


def cpu_twin(fn: Callable[..., Any]) -> Any:
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


def cpu_globals(glob: dict[str, Any]) -> dict[str, Any]:
    """A copy of a module's globals in which each scalar helper is its CPU twin."""
    out = dict(glob)
    _swap_helpers(out)
    return out


def _swap_helpers(glob: dict[str, Any]) -> None:
    for fn in _SCALAR_FNS:
        if glob.get(fn.__name__) is fn:
            glob[fn.__name__] = cpu_twin(fn)


def register_cuda_overloads() -> None:
    """The CUDA overloads of every helper: `like`, the vectorisable math of _vmath (CUDA's own
    functions there) and each @scalar_fn. Called once, by _cuda.get_cuda, on a real device or for a PTX
    compile (the simulator runs the helpers as Python). Not IR-inlined either: that multiplied typing
    work (several seconds per kernel); NVVM inlines them (the PTX has no calls)."""
    from numba.cuda.extending import overload as cuda_overload

    cuda_overload(like)(_like_typer)
    cuda_overload(_vmath.exp)(_vmath.exp_on_cuda)
    cuda_overload(_vmath.log)(_vmath.log_on_cuda)
    cuda_overload(_vmath.expm1)(_vmath.expm1_on_cuda)
    cuda_overload(_vmath.log1p)(_vmath.log1p_on_cuda)
    cuda_overload(_vmath.normal_cdf_pdf)(_vmath.normal_cdf_pdf_on_cuda)
    cuda_overload(_vmath.log1p_of_unit)(_vmath.log1p_of_unit_on_cuda)
    cuda_overload(_vmath.tanh)(_vmath.tanh_on_cuda)
    for name in ("exp2", "log2", "log10", "sinh", "cosh", "tan", "asinh", "atanh", "atan", "asin", "acos", "erf", "erfc",
                 "erf_slope", "erfc_slope"):
        cuda_overload(getattr(_vmath, name))(getattr(_vmath, f"{name}_on_cuda"))
    for fn in _SCALAR_FNS:
        cuda_overload(fn, inline="never")(_typer(fn))
