"""A function of one argument over a large array on Numba's threads: kernels/_vmath's float32 functions (the
forward of exp, log, tanh, erf and the other ops that take gpugrad/_vmath_ufuncs.py's float32 functions
computed per element: its ufuncs and plain loops), and NumPy's ufuncs of one IEEE operation per element
(negative, absolute, sqrt, reciprocal, floor, ceil, trunc, rint) and the short chains of them that PyTorch's
pow, rsqrt, frac and sign compute (square, cube, inverse_square, rsqrt, frac, sign: each operation rounded as
NumPy's calls round it, in one pass where NumPy's took two or more) in float32 and float64. The backend's
``ufunc``, pow, rsqrt, frac and sign send those of 2**21 elements and more here.

gpugrad's own pool (``threads.ufunc``) split those calls in chunks, but on a 2-core VM its sleeping thread
took its first chunk ~0.14 ms after the call, where Numba's OpenMP workers, which spin briefly after each
loop, start sooner: 4M float32 elements, exp 1.53 ms against the pool's 1.90, tanh 2.60 against 2.95, log
1.95 against 2.35 (bench/NOTES.md, forty-first session). Each element is the same scalar function as the
function replaced (compiled without fast-math flags as there), or the same IEEE operation as NumPy's: the
same bits, at any thread count. Those functions are the references (tests/kernels/test_math_map.py).

Softplus with a beta or threshold of its own and its gradient, and nan_to_num (``apply_with_numbers``: an
array, maybe a second, and up to three numbers), whose ufuncs Numba's loop left scalar where NumPy passed the
numbers with stride 0 (and NumPy's nan_to_num made a copy and three masked passes on one core).

Two float32 functions of two arguments, fmod and remainder (PyTorch's %: fmod moved into the divisor's
sign), run here from 2**12 elements (``apply_pair``): NumPy's fmod calls libm per element on one core (19 ns
per element), where C's fmod of float32 values is exact in float64 by one division and one fma wherever the
quotient fits float64's integers, libm's elsewhere; NumPy's bits either way.

CPU only: on a GPU the backend calls CuPy's own functions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange, types
from numba.extending import overload, register_jitable

from . import _vmath
from ._launch import cpu_kernel_per_code
from .activation import sigmoid_scalar

# The functions of kernels/_vmath this maps, by their names there (gpugrad/_vmath_ufuncs.py's float32 ones)
VMATH = ("exp", "log", "expm1", "log1p", "tanh", "exp2", "log2", "log10", "sinh", "cosh", "asinh", "atanh", "atan",
         "asin", "acos", "erf_slope", "erfc_slope", "asin_slope", "acos_slope", "asinh_slope", "atan_slope",
         "atanh_slope", "erfinv_slope", "tan_slope", "erf", "erfc", "erfinv", "digamma", "trigamma")


def _one(x):
    """1 in x's float type (the reciprocal's numerator: a float64 1.0 would make a float32 division float64's)."""
    return 1.0


@overload(_one, target="cpu")
def _one_cpu(x):
    if x == types.float32:
        return lambda x: np.float32(1.0)
    if x == types.float64:
        return lambda x: 1.0
    return None


@register_jitable(inline="always")
def _negative(x):
    return -x  # the sign bit flipped, NaN's too, as NumPy's


@register_jitable(inline="always")
def _absolute(x):
    return abs(x)  # the sign bit cleared


@register_jitable(inline="always")
def _sqrt(x):
    return math.sqrt(x)


@register_jitable(inline="always")
def _reciprocal(x):
    return _vmath._div(_one(x), x)


@register_jitable(inline="always")
def _square(x):
    return x * x


@register_jitable(inline="always")
def _cube(x):
    return (x * x) * x


@register_jitable(inline="always")
def _inverse_square(x):
    return _vmath._div(_one(x), x * x)


@register_jitable(inline="always")
def _rsqrt(x):
    return _vmath._div(_one(x), math.sqrt(x))


@register_jitable(inline="always")
def _floor(x):
    return np.floor(x)  # (math.floor gives an int in Numba)


@register_jitable(inline="always")
def _ceil(x):
    return np.ceil(x)


@register_jitable(inline="always")
def _trunc(x):
    return np.trunc(x)


@register_jitable(inline="always")
def _rint(x):
    return np.rint(x)  # halves to even


@register_jitable(inline="always")
def _frac(x):
    return x - np.trunc(x)  # PyTorch's frac: x's sign, NaN at the infinities


@register_jitable
def _sign(x):
    # PyTorch's (0 < x) - (x < 0): 0 (not -0) at -0 and at NaN
    one = _one(x)
    zero = one - one
    return one if x > zero else (-one if x < zero else zero)


# NumPy's ufuncs of one IEEE operation per element (float32 and float64): the same bits computed anywhere
NUMPY_UFUNCS = {np.negative: "negative", np.absolute: "absolute", np.sqrt: "sqrt", np.reciprocal: "reciprocal",
                np.floor: "floor", np.ceil: "ceil", np.trunc: "trunc", np.rint: "rint"}
_SCALARS = {name: getattr(_vmath, name) for name in VMATH}
_SCALARS.update(negative=_negative, absolute=_absolute, sqrt=_sqrt, reciprocal=_reciprocal, square=_square, cube=_cube,
                inverse_square=_inverse_square, rsqrt=_rsqrt, floor=_floor, ceil=_ceil, trunc=_trunc, rint=_rint,
                frac=_frac, sign=_sign)
NAMES = tuple(_SCALARS)
_CODES = {name: code for code, name in enumerate(NAMES)}
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)

# Below this many elements one core is about as fast as two that must start (threads.PARALLEL_MIN_ELEMENTS).
MIN_ELEMENTS = 1 << 21


# ============================================================== CPU kernel

@cpu_kernel_per_code(NAMES, fastmath=False)
def _map_cpu(code):
    fn = _SCALARS[NAMES[code]]

    def kernel(x, out):
        for i in prange(x.size):
            out[i] = fn(x[i])
    return kernel


# ============================================================== launcher

def apply(name: str, x: np.ndarray) -> np.ndarray | None:
    """The function ``name`` of NAMES (_vmath's, for float32; the others for float32 and float64) of the
    NumPy array ``x``, over the threads; None where ``x`` is small, of another dtype or not
    C-contiguous (the caller runs its ufunc)."""
    dtype = x.dtype
    if (x.size < MIN_ELEMENTS or not (dtype == _F32 or dtype == _F64 and name not in VMATH)
            or not x.flags.c_contiguous):
        return None
    out = np.empty(x.shape, dtype)
    _map_cpu(2 * x.size, _CODES[name], x.reshape(-1), out.reshape(-1))
    return out


# ============================================================== two arguments: fmod and remainder

PAIRS = ("fmod", "remainder")
PAIR_MIN_ELEMENTS = 1 << 12  # below, NumPy's call costs less than the launcher's checks save
_BLOCK = 1024  # elements a block computes, then fixes up while they are in cache


@register_jitable
def _fmod_of_float32(a, b):
    # C's fmod of float32 a and b: a - n b with n = trunc(a / b) in float64, exact by one fma (n b has at most
    # 53 bits) and n one too large at most (where the division rounds up to an integer: the difference then
    # has the wrong sign, and b is added back); a zero keeps a's sign. NaN where |a / b| >= 2**52, whose
    # truncation float64 cannot hold, and where fmod is NaN itself: the caller gives those libm's fmod.
    x = np.float64(a)
    y = np.float64(b)
    r = _vmath.fma(-np.trunc(_vmath._div(x, y)), y, x)
    back = r != 0.0 and (r < 0.0) != (x < 0.0)
    r = math.copysign(r + math.copysign(y, x) if back else r, x)
    exact = math.fabs(x) < 4503599627370496.0 * math.fabs(y)  # 2**52; False at NaN, a zero b, an infinite a
    return np.float32(x if math.fabs(y) == math.inf and math.fabs(x) < math.inf else (r if exact else math.nan))


@register_jitable
def _into_sign_of(m, b):
    return m + b if m != 0 and (b < 0) != (m < 0) else m


@cpu_kernel_per_code(PAIRS, fastmath=False)
def _pair_cpu(code):
    remainder = PAIRS[code] == "remainder"

    def kernel(a, b, out):
        # b: a's size, or one value for all
        one = b.size == 1
        for t in prange((a.size + _BLOCK - 1) // _BLOCK):
            lo = t * _BLOCK
            x = a[lo:lo + _BLOCK]
            y = out[lo:lo + _BLOCK]
            z = b if one else b[lo:lo + _BLOCK]
            v = b[0]
            if one:
                for i in range(x.size):
                    y[i] = _fmod_of_float32(x[i], v)
            else:
                for i in range(x.size):
                    y[i] = _fmod_of_float32(x[i], z[i])
            for i in range(x.size):  # left NaN: libm's fmod (a huge quotient, or NaN itself)
                if y[i] != y[i]:
                    y[i] = np.float32(np.fmod(np.float64(x[i]), np.float64(z[0 if one else i])))
            if remainder and one:  # PyTorch's rule: into the divisor's sign by adding it (in float32)
                for i in range(x.size):
                    y[i] = _into_sign_of(y[i], v)
            elif remainder:
                for i in range(x.size):
                    y[i] = _into_sign_of(y[i], z[i])
    return kernel


def apply_pair(name: str, a: np.ndarray, b) -> np.ndarray | None:
    """``name`` (fmod or remainder) of the float32 array ``a`` and ``b``, a float32 array of a's shape or one
    value (a Python number, or an array of one element), over the threads; None for other operands."""
    if not (a.__class__ is np.ndarray and a.dtype == _F32 and a.size >= PAIR_MIN_ELEMENTS and a.flags.c_contiguous):
        return None
    if b.__class__ is float or b.__class__ is int:
        b = np.array([b], _F32)  # NEP 50: a Python number beside float32 is float32
    elif not (b.__class__ is np.ndarray and b.dtype == _F32 and (b.size == 1 or b.shape == a.shape)
              and b.flags.c_contiguous):
        return None
    out = np.empty(a.shape, _F32)
    _pair_cpu(3 * a.size, PAIRS.index(name), a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out


# ============================================================== an array and numbers: softplus with a beta, nan_to_num

# float32 functions of an array (and a second one of its shape) and up to three numbers, whose ufuncs (a number
# beside an array: NumPy passes it with stride 0) Numba's loops did not vectorise: softplus with a beta or
# threshold of its own, forward and backward, and nan_to_num, each one pass over the threads.
WITH_NUMBERS = ("softplus_beta", "softplus_beta_grad", "nan_to_num")


@register_jitable
def _nan_to_num(x, unused, nan, posinf, neginf):
    # NaN, +inf and -inf replaced, everything else as it is (NumPy's nan_to_num)
    y = posinf if x == math.inf else (neginf if x == -math.inf else x)
    return nan if math.isnan(x) else y


@register_jitable
def _softplus_beta(x, gy, beta, threshold, unused):
    # the composite's float32 steps: z = x beta, the softplus kernel's formula of z, over beta (gy unused)
    z = x * beta
    y = (max(z, np.float32(0.0)) + _vmath.log1p_of_unit(_vmath.exp(-abs(z)))) / beta
    return x if z > threshold else y


@register_jitable
def _softplus_beta_grad(x, gy, beta, threshold, unused):
    # d/dx = sigmoid(x beta), 1 past the threshold (PyTorch's), times gy
    z = x * beta
    return gy if z > threshold else gy * sigmoid_scalar(z)


_WITH_NUMBERS = {"softplus_beta": _softplus_beta, "softplus_beta_grad": _softplus_beta_grad, "nan_to_num": _nan_to_num}


@cpu_kernel_per_code(WITH_NUMBERS, fastmath=False)
def _with_numbers_cpu(code):
    fn = _WITH_NUMBERS[WITH_NUMBERS[code]]

    def kernel(x, y, a, b, c, out):
        for i in prange(x.size):
            out[i] = fn(x[i], y[i], a, b, c)
    return kernel


def apply_with_numbers(name: str, x: np.ndarray, a: float, b: float, y: np.ndarray | None = None,
                       c: float = 0.0) -> np.ndarray | None:
    """``name`` (WITH_NUMBERS) of the float32 array ``x`` (and ``y`` of its shape, for a gradient) and the
    numbers ``a``, ``b`` and ``c`` (in float32), over the threads; None for other operands (the caller's
    composite)."""
    if not (x.__class__ is np.ndarray and x.dtype == _F32 and x.flags.c_contiguous and (y is None or (
            y.__class__ is np.ndarray and y.dtype == _F32 and y.shape == x.shape and y.flags.c_contiguous))):
        return None
    out = np.empty(x.shape, _F32)
    flat = x.reshape(-1)
    _with_numbers_cpu(2 * x.size, WITH_NUMBERS.index(name), flat, flat if y is None else y.reshape(-1),
                      np.float32(a), np.float32(b), np.float32(c), out.reshape(-1))
    return out
