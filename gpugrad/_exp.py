"""float32 ``exp`` within 1 ulp on the CPU: ``kernels/_vmath.exp`` (branch-free range reduction and a
polynomial, which LLVM vectorises) compiled by Numba as a NumPy ufunc.

NumPy's own float32 exp is its SIMD loop, 2.4 ulp off on AVX-512 machines where PyTorch's is 0.55
(bench/NOTES.md, twenty-second session); this one measured 0.98 ulp and ran as fast. Its float64 exp
(0.69 ulp) stays NumPy's. The ufunc is called itself, not through Numba's wrapper, so that its
floating-point warnings (NaN and overflow, as NumPy's own loops raise them) come from gpugrad's frame,
where gpugrad's warnings filter ignores them (gpugrad/numpy_warnings.py)."""
from ._lazy_ufunc import lazy_ufunc
from .kernels import _vmath


@lazy_ufunc(["float32(float32)"])
def exp32(x):
    return _vmath.exp(x)
