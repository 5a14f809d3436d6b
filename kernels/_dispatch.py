"""Which implementation runs, and how a CPU kernel runs.

- The implementation (resolve_impl): "reference", "cpu" or "cuda". GPUGRAD_FUSED=0 in the environment
  when this module is imported, or set_fused(False) / ``with fused(False):`` at run time, makes every
  launcher called with impl=None run its reference. The switch is a module variable read per call, not
  the environment: os.environ.get on every launch cost ~3 us, the largest avoidable host cost of a
  small op.
- Serial or parallel (CpuKernel): every prange kernel is compiled twice and runs in parallel only for
  large work.
- A parallel build loaded from Numba's disk cache runs the code its fresh compile ran (cache_consistent,
  in _numba_internals.py).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._clone import clone
from ._numba_internals import cache_consistent
from ._scalar import cpu_globals

IMPLS = ("reference", "cpu", "cuda")

_fused = os.environ.get("GPUGRAD_FUSED", "1").strip() != "0"


def fused_enabled() -> bool:
    """Whether launchers called with impl=None run the fused kernels (False: their references)."""
    return _fused


def set_fused(enabled: bool) -> bool:
    """Switch every launcher called with impl=None to the fused kernels (True) or to their references
    (False), as GPUGRAD_FUSED=1/0 does at import; returns the previous setting."""
    global _fused
    previous, _fused = _fused, bool(enabled)
    return previous


@contextlib.contextmanager
def fused(enabled: bool) -> Iterator[None]:
    """``with fused(False): ...`` runs the block on the references, then restores the setting."""
    previous = set_fused(enabled)
    try:
        yield
    finally:
        set_fused(previous)


def resolve_impl(xp: Any, impl: str | None, op: str = "kernel") -> str:
    """The implementation a launcher runs: an explicit `impl`, else "reference" when fused kernels are
    off (see set_fused), else "cpu" for NumPy and "cuda" for anything else (CuPy)."""
    if impl is None:
        if not _fused:
            return "reference"
        return "cpu" if xp is np else "cuda"
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be one of {IMPLS} or None, got {impl!r}")
    return impl


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

    Both builds call the CPU twins of the scalar helpers (see _scalar), made when the kernel is first
    called, once its module has finished importing."""

    def __init__(self, fn: Callable[..., Any], fastmath: Any) -> None:
        self.fn = fn
        self.options = dict(fastmath=fastmath, error_model="numpy", cache=True)
        self.parallel: Any = None
        self.serial: Any = None
        self.__doc__ = fn.__doc__

    def _build(self) -> None:
        from numba import njit

        glob = cpu_globals(self.fn.__globals__)
        # Two renamed copies: Numba's on-disk cache is keyed by the function's name and code, not by the
        # parallel flag, so the serial build must not share the parallel build's cache entry.
        self.serial = njit(**self.options)(clone(self.fn, glob, "_serial"))
        self.parallel = cache_consistent(njit(parallel=True, **self.options)(clone(self.fn, glob)))

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
            kernel._build()
        # CpuKernel's choice, made here: small activations pay for every Python call on their way.
        return (kernel.parallel if work >= PARALLEL_MIN_WORK else kernel.serial)(*args)


def cpu_kernel_per_code(names: Sequence[str], fastmath: Any = True) -> Callable[[Callable[[int], Callable[..., Any]]], CpuKernelPerCode]:
    """Decorator for a factory ``make(code)`` returning a CPU kernel with `code` fixed (see CpuKernelPerCode)."""
    return lambda make: CpuKernelPerCode(make, names, fastmath)
