"""NumPy ufuncs of ``kernels/_vmath``'s vectorisable math (branch-free range reduction and a polynomial,
which LLVM vectorises), compiled by Numba: the CPU's ``exp``, ``log``, ``expm1``, ``log1p`` and the other transcendental functions below
in float32 (``math_ufunc`` picks).

- exp, float32 within 1 ulp: NumPy's own float32 exp is its SIMD loop, 2.4 ulp off on AVX-512 machines
  where PyTorch's is 0.55 (bench/NOTES.md, twenty-second session); this one measured 0.89 ulp (its
  polynomial in fmas). Its float64 exp (0.69 ulp) stays NumPy's.
- log, float32 within 1 ulp (measured 0.84): NumPy's ran 2.4x slower per thread on an AVX2 machine (none
  of its AVX-512 loops), 3.8 ulp off. Its float64 log stays NumPy's: correctly rounded there, as PyTorch's,
  where ours (0.84 ulp) would differ from PyTorch's in the last bit of some values.
- expm1 and log1p, float32 within 0.5 ulp (computed in float64, rounded once): NumPy's call libm per
  element, 4-5x slower per thread. float64 stays NumPy's.
- exp2, sinh, cosh, tan, arcsinh, arctanh, arctan, arcsin, arccos, erf and erfc, float32 within 0.5 ulp and a
  hair (computed in float64, rounded once; tests/kernels/test_vmath.py): NumPy's float32 loops of the first
  nine call libm per element on AVX2 (1.5-8x slower per thread, sinh 6x, arctanh 8x), and NumPy has no erf.
  float64 stays NumPy's (and math.erf's, gpugrad/_erf.py).
- log2 and log10, float32 within 0.75 ulp (measured 0.73 and 0.68): log's float32 reduction and polynomial,
  the large terms carried exactly through the product by 1 / log(b) (in float64 they cost 1.6x the time).
- tanh, float32 within 0.52 ulp (kernels/_vmath's, as the fused Linear, conv and recurrent kernels'; in
  float64 arithmetic, rounded once: 0.507 measured over every float32 in [-10, 10], PyTorch's 0.513): NumPy's
  float32 tanh calls libm per element on AVX2 (11 ms against 5.4 per thread for 4M elements; 1.35 ulp).
- sin and cos, float32 within 1 ulp (0.759 measured over every float32 up to 2**20; the reduction in
  float64, the polynomials in float32; past |x| = 2**20 libm's float64 sin/cos, rounded): NumPy's float32
  loops on AVX2 are 1.4 ulp off and 1.3x slower per thread. float64 stays NumPy's. times_cos and
  times_neg_sin, g cos x and -g sin x (their backwards), in one pass of two inputs: the same bits as the
  slope and the product in two.
- times_exp_of_shifted_rows, g e**(x - y) by rows (logsumexp's forward with g = 1 and its backward): the
  float32 operations of the composite in one pass, its bits.
- erf_slope and erfc_slope, +-2/sqrt(pi) e**(-x**2) (erf's and erfc's derivatives), and asin_slope,
  acos_slope, asinh_slope, atan_slope and atanh_slope, the inverse functions' derivatives, erfinv_slope
  and tan_slope (of the result), each in one pass, within 0.5 ulp and a hair.
- erfinv, digamma and trigamma (digamma's derivative), float32 within 0.5 ulp and a hair of the float64
  ones of gpugrad/_erf.py and _gamma.py, which ran per element in scalar loops (erfinv 20x slower than
  PyTorch's, digamma's backward 30x).

Each ufunc is called itself, not through Numba's wrapper, so that its floating-point warnings (NaN and
overflow, as NumPy's own loops raise them) come from gpugrad's frame, where gpugrad's warnings filter
ignores them (gpugrad/numpy_warnings.py)."""
import math

import numba
import numba.extending
import numpy

from ._lazy_ufunc import lazy_ufunc
from .kernels import _vmath, math_map
from .kernels._clone import SHARED_SOURCE_TAG

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


def _float32_ufunc(name):
    def scalar(x):
        return fn(x)

    fn = getattr(_vmath, name)
    scalar.__name__ = scalar.__qualname__ = f"{name}_32"  # the name of Numba's cache files
    return lazy_ufunc(["float32(float32)"])(scalar)


def math_ufunc(xp, name: str, dtype):
    """The ufunc ``name`` (NumPy's name: "exp", "log", "expm1", "log1p", "tanh", "exp2", "log2", "log10", "sinh",
    "cosh", "tan", "sin", "cos", "arcsinh", "arctanh", "arctan", "arcsin" or "arccos"; and "erf", "erfc", "erfinv",
    "digamma", "trigamma", "times_cos" and "times_neg_sin" (g cos x and -g sin x, two inputs: sin's and cos's
    backwards), "times_exp_of_shifted_rows" (g e**(x - y) by rows, three inputs) and the "<name>_slope"
    derivatives, which only the CPU's float32 has here) for arrays of ``dtype`` on the backend whose array
    module is ``xp``: this module's float32 one on the CPU, ``xp``'s own otherwise."""
    if xp is numpy and dtype is _F32:
        return _FLOAT32[name].ufunc()
    return getattr(xp, name)


def float32_math(name: str):
    """The CPU's float32 ``name`` of math_ufunc as its lazy form (``.ufunc()`` gives the ufunc): for a
    caller that looks it up once."""
    return _FLOAT32[name]



def _compiled_loop(fn):
    """``fn`` compiled by Numba, cached on disk under a name carrying kernels' SHARED_SOURCE_TAG: Numba
    checks a cache entry against its function's own file only, and these loops compile in kernels/_vmath's
    code, whose edits must not load stale machine code (as the CPU kernels' names carry it: _clone.py)."""
    fn.__qualname__ = f"{fn.__qualname__}_{SHARED_SOURCE_TAG}"
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)


class _Loop:
    """A ufunc-like callable, ``f(x, out=None)`` for a float32 array x, over a compiled loop of one of
    kernels/_vmath's larger float32 functions: a ufunc of numba.vectorize calls its scalar function per
    element, and LLVM inlines (and vectorises) only small ones; erf's ufunc ran 3x slower than this loop.
    ``.ufunc()`` gives itself (as lazy_ufunc's)."""

    def __init__(self, loop):
        self.loop = loop
        self.built = self  # what ``.ufunc()`` gives, as lazy_ufunc's

    def ufunc(self):
        return self

    def __call__(self, x, out=None):
        x = numpy.asarray(x, dtype=_F32)
        if not x.flags.c_contiguous:
            x = x.copy()
        if out is None:
            out = numpy.empty(x.shape, _F32)
        if out.flags.c_contiguous:
            self.loop(x.reshape(-1), out.reshape(-1))
        else:  # a strided target (threads.ufunc hands out row blocks of one)
            flat = numpy.empty(x.shape, _F32)
            self.loop(x.reshape(-1), flat.reshape(-1))
            out[...] = flat
        return out


@_compiled_loop
def _erf_loop(x, out):
    for i in range(x.size):
        out[i] = _vmath.erf(x[i])


@_compiled_loop
def _erfc_loop(x, out):
    for i in range(x.size):
        out[i] = _vmath.erfc(x[i])


@_compiled_loop
def _erfinv_loop(x, out):
    for i in range(x.size):
        out[i] = _vmath.erfinv(x[i])


@_compiled_loop
def _digamma_loop(x, out):
    for i in range(x.size):
        out[i] = _vmath.digamma(x[i])


@_compiled_loop
def _trigamma_loop(x, out):
    for i in range(x.size):
        out[i] = _vmath.trigamma(x[i])


_BLOCK = 1024
_TAN_REDUCED_BITS = numpy.float32(_vmath._TAN_REDUCED).view(numpy.int32)


@numba.extending.register_jitable(inline="always")
def _largest_magnitude_bits(bits):
    """The largest |x|'s bits in a block of float32 bits: an integer maximum in a loop of its own (a count in
    the main loop, an int64 or float32 compares, halved its vector width or kept it scalar, 1.8x slower)."""
    top = numpy.int32(0)
    for i in range(bits.size):
        top = max(top, bits[i] & numpy.int32(0x7FFFFFFF))
    return top


@_compiled_loop
def _tan_loop(x, out):
    # by blocks, as sin's below: the vectorised loop, and where a block holds an |x| past _vmath's reduction
    # (or inf or NaN), libm's tan of those in float64 (exact reduction), rounded
    bits = x.view(numpy.int32)
    for start in range(0, x.size, _BLOCK):
        part = x[start:start + _BLOCK]  # slices indexed from 0: LLVM vectorises those loops
        dst = out[start:start + _BLOCK]
        top = _largest_magnitude_bits(bits[start:start + _BLOCK])
        for i in range(part.size):
            dst[i] = _vmath.tan(part[i])
        if top > _TAN_REDUCED_BITS:
            for i in range(part.size):
                if not abs(part[i]) <= _vmath._TAN_REDUCED:
                    dst[i] = numpy.float32(math.tan(numpy.float64(part[i])))


@numba.extending.register_jitable(inline="always")
def _sin_shifted_blocks(x, g, out, shift, times):
    # sin(x + shift pi/2) (sin, cos, -sin; a constant shift), times g if ``times`` (a constant), by blocks:
    # where a block holds an |x| past _vmath's reduction (or inf or NaN), libm's float64 sin or cos of
    # those, rounded (as tan's). With g: the rounded value times g, as a second pass would compute it.
    bits = x.view(numpy.int32)
    for start in range(0, x.size, _BLOCK):
        part = x[start:start + _BLOCK]  # slices indexed from 0: LLVM vectorises those loops
        dst = out[start:start + _BLOCK]
        top = _largest_magnitude_bits(bits[start:start + _BLOCK])
        if not times:
            for i in range(part.size):
                dst[i] = _vmath.sin_shifted_float32(part[i], shift)
        else:
            factor = g[start:start + _BLOCK]
            for i in range(part.size):
                dst[i] = factor[i] * _vmath.sin_shifted_float32(part[i], shift)
        if top > _TAN_REDUCED_BITS:
            for i in range(part.size):
                if not abs(part[i]) <= _vmath._TAN_REDUCED:
                    d = numpy.float64(part[i])
                    v = numpy.float32(math.cos(d) if shift == 1.0 else math.sin(d))
                    v = -v if shift == 2.0 else v
                    dst[i] = g[start + i] * v if times else v


@_compiled_loop
def _sin_loop(x, out):
    _sin_shifted_blocks(x, x, out, numpy.float32(0.0), False)


@_compiled_loop
def _cos_loop(x, out):
    _sin_shifted_blocks(x, x, out, numpy.float32(1.0), False)


@_compiled_loop
def _times_cos_loop(x, g, out):
    _sin_shifted_blocks(x, g, out, numpy.float32(1.0), True)


@_compiled_loop
def _times_neg_sin_loop(x, g, out):
    _sin_shifted_blocks(x, g, out, numpy.float32(2.0), True)


class _Loop2(_Loop):
    """``f(x, g, out=None)`` for float32 arrays x and g of one shape, over a compiled loop of two inputs."""

    def __call__(self, x, g, out=None):
        x = numpy.ascontiguousarray(x, dtype=_F32)
        g = numpy.ascontiguousarray(g, dtype=_F32)
        if out is None:
            out = numpy.empty(x.shape, _F32)
        if out.flags.c_contiguous:
            self.loop(x.reshape(-1), g.reshape(-1), out.reshape(-1))
        else:  # a strided target (threads.ufunc hands out row blocks of one)
            flat = numpy.empty(x.shape, _F32)
            self.loop(x.reshape(-1), g.reshape(-1), flat.reshape(-1))
            out[...] = flat
        return out


@_compiled_loop
def _times_exp_of_shifted_rows(x, y, g, out):
    # g[i] e**(x[i, j] - y[i]) for float32 rows: each operation rounded in float32 as the Tensor ops round it
    # (the float32 exp is exp32's), so the same bits in one pass where they took three
    for i in range(x.shape[0]):
        row, target = x[i], out[i]
        shift, factor = y[i, 0], g[i, 0]
        for j in range(row.size):
            target[j] = factor * _vmath.exp(row[j] - shift)


class _Rows:
    """``f(x, y, g, out=None)`` for float32 x (rows, n) and y, g (rows, 1): the loop above (``.ufunc()``
    gives itself; ``Backend.ufunc`` splits the rows over the threads)."""

    def __init__(self, loop):
        self.loop = loop

    def ufunc(self):
        return self

    def __call__(self, x, y, g, out=None):
        if out is None:
            out = numpy.empty(x.shape, _F32)
        self.loop(x, numpy.ascontiguousarray(y), numpy.ascontiguousarray(g), out)
        return out


_FLOAT32 = {"exp": exp32, "log": log32, "expm1": expm1_32, "log1p": log1p_32}
_FLOAT32.update({name: _float32_ufunc(name) for name in ("tanh", "exp2", "log2", "log10", "sinh", "cosh", "erf_slope",
                                                           "erfc_slope", "asin_slope", "acos_slope", "asinh_slope",
                                                           "atan_slope", "atanh_slope", "erfinv_slope",
                                                           "tan_slope")})
_FLOAT32.update(erf=_Loop(_erf_loop), erfc=_Loop(_erfc_loop), erfinv=_Loop(_erfinv_loop), digamma=_Loop(_digamma_loop),
                trigamma=_Loop(_trigamma_loop), tan=_Loop(_tan_loop), sin=_Loop(_sin_loop),
                cos=_Loop(_cos_loop), times_cos=_Loop2(_times_cos_loop), times_neg_sin=_Loop2(_times_neg_sin_loop),
                times_exp_of_shifted_rows=_Rows(_times_exp_of_shifted_rows))
_FLOAT32.update({"arc" + name[1:]: _float32_ufunc(name) for name in ("asinh", "atanh", "atan", "asin", "acos")})

# The functions above of one argument that are a kernels/_vmath function per element (numba.vectorize's ufuncs
# and the plain loops; not sin, cos and tan, which take libm's road for large arguments), by that function's name
_ONE_ARGUMENT = {("a" + key[3:] if key.startswith("arc") else key): f for key, f in _FLOAT32.items()
                 if isinstance(f, lazy_ufunc) or key in ("erf", "erfc", "erfinv", "digamma", "trigamma")}


def over_threads(fn, x):
    """``fn(x)`` on Numba's threads (kernels/math_map.py, the same bits) when ``fn`` is one of this module's
    float32 functions of one argument computed per element (_ONE_ARGUMENT) and ``x`` a large C-contiguous
    float32 array; None otherwise (the caller splits the call or makes it)."""
    for name, f in _ONE_ARGUMENT.items():
        if f.built is fn:
            return math_map.apply(name, x)
    return None
