"""One of kernels/_vmath's float32 functions of one argument over a large array on Numba's threads: the
forward of exp, log, tanh, erf and the other ops that take gpugrad/_vmath_ufuncs.py's float32 functions
computed per element (its ufuncs and plain loops; the backend's ``ufunc`` sends those of 2**21 elements
and more here).

gpugrad's own pool (``threads.ufunc``) split those calls in chunks, but on a 2-core VM its sleeping thread
took its first chunk ~0.14 ms after the call, where Numba's OpenMP workers, which spin briefly after each
loop, start sooner: 4M float32 elements, exp 1.53 ms against the pool's 1.90, tanh 2.60 against 2.95, log
1.95 against 2.35 (bench/NOTES.md, forty-first session). Each element is the same scalar function, compiled
without fast-math flags as there: the same bits, at any thread count. That function of _vmath_ufuncs is
the reference (tests/kernels/test_math_map.py compares with it).

CPU only: on a GPU the backend calls CuPy's own functions.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import _vmath
from ._launch import cpu_kernel_per_code

# The functions of kernels/_vmath this maps, by their names there (gpugrad/_vmath_ufuncs.py's float32 ones)
NAMES = ("exp", "log", "expm1", "log1p", "tanh", "exp2", "log2", "log10", "sinh", "cosh", "asinh", "atanh", "atan",
         "asin", "acos", "erf_slope", "erfc_slope", "asin_slope", "acos_slope", "asinh_slope", "atan_slope",
         "atanh_slope", "erfinv_slope", "tan_slope", "erf", "erfc", "erfinv", "digamma", "trigamma")
_CODES = {name: code for code, name in enumerate(NAMES)}

# Below this many elements one core is about as fast as two that must start (threads.PARALLEL_MIN_ELEMENTS).
MIN_ELEMENTS = 1 << 21


# ============================================================== CPU kernel

@cpu_kernel_per_code(NAMES, fastmath=False)
def _map_cpu(code):
    fn = getattr(_vmath, NAMES[code])

    def kernel(x, out):
        for i in prange(x.size):
            out[i] = fn(x[i])
    return kernel


# ============================================================== launcher

def apply(name: str, x: np.ndarray) -> np.ndarray | None:
    """``_vmath.<name>`` of a float32 NumPy array ``x`` (a name of NAMES), over the threads; None where
    ``x`` is small, of another dtype or not C-contiguous (the caller runs its ufunc)."""
    if x.size < MIN_ELEMENTS or x.dtype != np.float32 or not x.flags.c_contiguous:
        return None
    out = np.empty(x.shape, np.float32)
    _map_cpu(2 * x.size, _CODES[name], x.reshape(-1), out.reshape(-1))
    return out
