"""NumPy ufuncs of ``kernels/_vmath``'s vectorisable math (branch-free range reduction and a polynomial,
which LLVM vectorises), compiled by Numba: the CPU's ``exp`` and ``log`` in float32.

- exp, float32 within 1 ulp: NumPy's own float32 exp is its SIMD loop, 2.4 ulp off on AVX-512 machines
  where PyTorch's is 0.55 (bench/NOTES.md, twenty-second session); this one measured 0.98 ulp and ran as
  fast. Its float64 exp (0.69 ulp) stays NumPy's.
- log, float32 within 1 ulp (measured 0.83): NumPy's ran 2.4x slower per thread on an AVX2 machine (none
  of its AVX-512 loops), 3.8 ulp off. Its float64 log stays NumPy's: correctly rounded there, as PyTorch's,
  where ours (0.84 ulp) would differ from PyTorch's in the last bit of some values.

Each ufunc is called itself, not through Numba's wrapper, so that its floating-point warnings (NaN and
overflow, as NumPy's own loops raise them) come from gpugrad's frame, where gpugrad's warnings filter
ignores them (gpugrad/numpy_warnings.py)."""
from ._lazy_ufunc import lazy_ufunc
from .kernels import _vmath


@lazy_ufunc(["float32(float32)"])
def exp32(x):
    return _vmath.exp(x)


@lazy_ufunc(["float32(float32)"])
def log32(x):
    return _vmath.log(x)
