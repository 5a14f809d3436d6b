"""NumPy ufuncs that Numba builds from a scalar function the first time they are used, not at import.

``numba.vectorize`` with signatures compiles (or loads from its disk cache) when it decorates, and the
first such build starts Numba's compiler: a few tenths of a second at ``import gpugrad`` for erf, erfc,
erfinv and float32 exp, which a program that calls none of them need not pay.
"""
from __future__ import annotations

from collections.abc import Callable

import numba


class lazy_ufunc:
    """``@lazy_ufunc(signatures)`` on a scalar function: ``f.ufunc()`` is the NumPy ufunc, built once (then
    also ``f.built``; None before)."""

    def __init__(self, signatures: list[str]) -> None:
        self.signatures = signatures
        self.scalar: Callable | None = None
        self.built = None

    def __call__(self, scalar: Callable) -> lazy_ufunc:
        self.scalar = scalar
        return self

    def ufunc(self):
        if self.built is None:
            from .kernels._clone import SHARED_SOURCE_TAG

            # Numba checks a cache entry against the scalar function's own file only: the tag (a hash of the
            # kernel helpers, kernels/_vmath among them) in its name keeps edits there from loading stale code
            self.scalar.__qualname__ = f"{self.scalar.__qualname__}_{SHARED_SOURCE_TAG}"
            self.built = numba.vectorize(self.signatures, cache=True)(self.scalar).ufunc
        return self.built
