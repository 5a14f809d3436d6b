"""NumPy ufuncs of ``kernels/_vmath``'s vectorisable math (branch-free range reduction and a polynomial,
which LLVM vectorises), compiled by Numba: the CPU's ``exp``, ``log``, ``expm1`` and ``log1p`` in float32
(``math_ufunc`` picks).

- exp, float32 within 1 ulp: NumPy's own float32 exp is its SIMD loop, 2.4 ulp off on AVX-512 machines
  where PyTorch's is 0.55 (bench/NOTES.md, twenty-second session); this one measured 0.98 ulp and ran as
  fast. Its float64 exp (0.69 ulp) stays NumPy's.
- log, float32 within 1 ulp (measured 0.83): NumPy's ran 2.4x slower per thread on an AVX2 machine (none
  of its AVX-512 loops), 3.8 ulp off. Its float64 log stays NumPy's: correctly rounded there, as PyTorch's,
  where ours (0.84 ulp) would differ from PyTorch's in the last bit of some values.
- expm1 and log1p, float32 within 0.5 ulp (computed in float64, rounded once): NumPy's call libm per
  element, 4-5x slower per thread. float64 stays NumPy's.

Each ufunc is called itself, not through Numba's wrapper, so that its floating-point warnings (NaN and
overflow, as NumPy's own loops raise them) come from gpugrad's frame, where gpugrad's warnings filter
ignores them (gpugrad/numpy_warnings.py)."""
import numpy

from ._lazy_ufunc import lazy_ufunc
from .kernels import _vmath

_F32 = numpy.dtype(numpy.float32)


@lazy_ufunc(["float32(float32)"])
def exp32(x):
    return _vmath.exp(x)


@lazy_ufunc(["float32(float32)"])
def log32(x):
    return _vmath.log(x)


@lazy_ufunc(["float32(float32)"])
def expm1_32(x):
    return _vmath.expm1(x)


@lazy_ufunc(["float32(float32)"])
def log1p_32(x):
    return _vmath.log1p(x)


def math_ufunc(xp, name: str, dtype):
    """The ufunc ``name`` ("exp", "log", "expm1" or "log1p") for arrays of ``dtype`` on the backend whose
    array module is ``xp``: this module's float32 one on the CPU, ``xp``'s own otherwise."""
    if xp is numpy and dtype is _F32:
        return _FLOAT32[name].ufunc()
    return getattr(xp, name)


_FLOAT32 = {"exp": exp32, "log": log32, "expm1": expm1_32, "log1p": log1p_32}
