"""NumPy ufuncs that Numba builds from a scalar function the first time they are used, not at import.

``numba.vectorize`` with signatures compiles (or loads from its disk cache) when it decorates, and the
first such build starts Numba's compiler: a few tenths of a second at ``import gpugrad`` for erf, erfc,
erfinv and float32 exp, which a program that calls none of them need not pay.
"""
from __future__ import annotations

from collections.abc import Callable

import numba


class lazy_ufunc:
    """``@lazy_ufunc(signatures)`` on a scalar function: ``f.ufunc()`` is the NumPy ufunc, built once."""

    def __init__(self, signatures: list[str]) -> None:
        self.signatures = signatures
        self.scalar: Callable | None = None
        self._ufunc = None

    def __call__(self, scalar: Callable) -> lazy_ufunc:
        self.scalar = scalar
        return self

    def ufunc(self):
        if self._ufunc is None:
            self._ufunc = numba.vectorize(self.signatures, cache=True)(self.scalar).ufunc
        return self._ufunc
