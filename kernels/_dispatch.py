"""Which implementation runs, and how a CPU kernel runs.

- The implementation (resolve_impl): "reference", "cpu" or "cuda". GPUGRAD_FUSED=0 in the environment
  when this module is imported, or set_fused(False) / ``with fused(False):`` at run time, makes every
  launcher called with impl=None run its reference. The switch is a module variable read per call, not
  the environment: os.environ.get on every launch cost ~3 us, the largest avoidable host cost of a
  small op.
- Serial or parallel (CpuKernel): every prange kernel is compiled twice and runs in parallel only for
  large work.
- A parallel build loaded from Numba's disk cache runs the code its fresh compile ran (cache_consistent).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._clone import clone
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


# Numba compiles a prange loop's body (the parfor gufunc) into libraries of its own (the body, its gufunc
# wrapper, the launch trampoline), each optimised and loaded into the JIT, then links copies of them into
# the kernel's library and optimises them again there. A fresh compile runs the first copies (the JIT
# resolves the kernel's references to the definitions it loaded first); the disk cache stores only the
# kernel's library, so a cached load runs the copies optimised twice. With reassoc in the fast-math flags
# the second pass may associate a sum differently (x86's MachineCombiner added a vectorised loop's four
# partial sums as (a + b) + (c + d) where the first copy chained them; other passes too): a program's
# first run and its later runs differed in the last bits (float32 and float64: group_norm, layer_norm,
# batch_norm, softmax_xent, conv's sums). cache_consistent compiles a kernel with a code library that
# links those libraries only after optimising the kernel's own code: the cache then holds the copies a
# fresh compile runs, optimised once, and a parallel build gives a fresh compile's bits (the serial
# build's) either way. The cost: the trampoline is called, not inlined (once per launch). Tested by
# tests/kernels/test_cache_bits.py.
_GUFUNC = "__numba_parfor_gufunc_"  # Numba's name for a prange body (numba/parfors/parfor_lowering.py)
_late_linking_class: Any = None


def _late_linking_library() -> Any:
    """Numba's JIT code library, linking the libraries that hold a prange body after optimising its own
    code; None where this Numba's code library lacks the methods it overrides (then nothing changes)."""
    global _late_linking_class
    if _late_linking_class is None:
        from numba.core.codegen import JITCodeLibrary

        needed = ("add_linking_library", "_optimize_final_module", "_get_module_for_linking")
        if not all(hasattr(JITCodeLibrary, name) for name in needed):
            _late_linking_class = False
            return None

        class LateLinkingLibrary(JITCodeLibrary):
            def add_linking_library(self, library: Any) -> None:
                library._ensure_finalized()
                if not any(_GUFUNC in f.name for f in library._get_module_for_linking().functions):
                    super().add_linking_library(library)
                    return
                late = self.__dict__.setdefault("_gpugrad_late_libraries", [])
                if library not in late:
                    late.append(library)
                    # What finalize() does for a linked library on Numba versions that have it.
                    if getattr(library, "_reload_init", None):
                        self._reload_init.update(library._reload_init)

            def _optimize_final_module(self) -> None:
                super()._optimize_final_module()
                for library in self.__dict__.get("_gpugrad_late_libraries", ()):
                    self._final_module.link_in(library._get_module_for_linking(), preserve=True)

        _late_linking_class = LateLinkingLibrary
    return _late_linking_class or None


def cache_consistent(dispatcher: Any) -> Any:
    """`dispatcher` (a Numba ``parallel=True`` CPU function), its compiles made so that a load from
    Numba's disk cache runs the same machine code as the fresh compile (see the comment above)."""
    library = _late_linking_library()
    if library is None:
        return dispatcher
    compile_signature = dispatcher.compile

    def compile(sig: Any) -> Any:
        from numba.core.compiler_lock import global_compiler_lock

        codegen = dispatcher.targetctx.codegen()
        if not issubclass(library, codegen._library_class):  # another kind of code library: left alone
            return compile_signature(sig)
        # Numba compiles under this (reentrant) lock: no other compile sees the swapped library class.
        with global_compiler_lock:
            previous = codegen.__dict__.get("_library_class")
            codegen._library_class = library
            try:
                return compile_signature(sig)
            finally:
                if previous is None:
                    del codegen._library_class
                else:
                    codegen._library_class = previous

    dispatcher.compile = compile
    return dispatcher


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
