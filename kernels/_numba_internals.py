"""Everything gpugrad takes from Numba's private internals (its CPU code generation), in one file: parallel
builds whose load from Numba's disk cache runs the code the fresh compile ran.

Numba compiles a prange loop's body (the parfor gufunc) into libraries of its own (the body, its gufunc
wrapper, the launch trampoline), each optimised and loaded into the JIT, then links copies of them into
the kernel's library and optimises them again there. A fresh compile runs the first copies (the JIT
resolves the kernel's references to the definitions it loaded first); the disk cache stores only the
kernel's library, so a cached load runs the copies optimised twice. With reassoc in the fast-math flags
the second pass may associate a sum differently (x86's MachineCombiner added a vectorised loop's four
partial sums as (a + b) + (c + d) where the first copy chained them; other passes too): a program's
first run and its later runs differed in the last bits (float32 and float64: group_norm, layer_norm,
batch_norm, softmax_xent, conv's sums). cache_consistent compiles a kernel with a code library that
links those libraries only after optimising the kernel's own code: the cache then holds the copies a
fresh compile runs, optimised once, and a parallel build gives a fresh compile's bits (the serial
build's) either way. The cost: the trampoline is called, not inlined (once per launch). Tested by
tests/kernels/test_cache_bits.py.

None of that is Numba's API (a subclass of its JIT code library overriding private methods, set as the
code generator's library class for our own compiles), so it is used only on the Numba versions in
CHECKED_VERSIONS, where tests/kernels/test_cache_bits.py compared fresh compiles with cached loads. On any
other version the kernels compile as Numba compiles them (a cached load may then differ from the fresh
compile in the last bits, and that test fails, naming the version: run it there, then add the version).
"""
from __future__ import annotations

import functools
from typing import Any

# Numba versions on which tests/kernels/test_cache_bits.py found cached loads equal to fresh compiles.
CHECKED_VERSIONS = ("0.68.1",)


@functools.cache
def unchecked_reason() -> str | None:
    """Why the late linking is not used here (a Numba version it was not checked against), or None."""
    import numba

    if numba.__version__ in CHECKED_VERSIONS:
        return None
    return (f"numba {numba.__version__} is not a version the cache-consistent parallel builds were checked "
            f"against ({', '.join(CHECKED_VERSIONS)})")


_GUFUNC = "__numba_parfor_gufunc_"  # Numba's name for a prange body (numba/parfors/parfor_lowering.py)


@functools.cache
def _late_linking_library() -> type:
    """Numba's JIT code library, linking the libraries that hold a prange body after optimising its own
    code."""
    from numba.core.codegen import JITCodeLibrary

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

    return LateLinkingLibrary


def cache_consistent(dispatcher: Any) -> Any:
    """`dispatcher` (a Numba ``parallel=True`` CPU function), its compiles made so that a load from
    Numba's disk cache runs the same machine code as the fresh compile (the module's docstring); as it is
    on a Numba version not in CHECKED_VERSIONS."""
    if unchecked_reason() is not None:
        return dispatcher
    library = _late_linking_library()
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
