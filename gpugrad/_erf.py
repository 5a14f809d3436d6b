"""erf, erfc and erfinv on NumPy and CuPy arrays, with no SciPy (not a dependency).

NumPy has no erf: on the CPU, erf and erfc are ``math.erf``/``math.erfc`` vectorised by Numba (exact to
float rounding, compiled once and cached on disk) for float64, and kernels/_vmath's vectorisable erf and
erfc for float32 (computed in float64, within 0.5 ulp and a hair); on the GPU they come from
``cupyx.scipy.special``.
erfinv has two implementations of one method (a starting approximation refined by Halley steps): in
array operations (``erfinv_reference``: any ``xp``, the CuPy path and the test oracle) and per element
with branches, compiled by Numba for the CPU, where it is about five times faster. Both are within 2 ulps
of the exact float64 result (PyTorch's is within 1).
"""
import math

import numba
import numpy

from ._lazy_ufunc import lazy_ufunc

_FLOATS = ["float32(float32)", "float64(float64)"]


@lazy_ufunc(_FLOATS)
def erf(x):
    return math.erf(x)


@lazy_ufunc(_FLOATS)
def erfc(x):
    return math.erfc(x)


def functions(xp):
    """(erf, erfc) for arrays of the array module ``xp``."""
    if xp is numpy:
        return erf.ufunc(), erfc.ufunc()
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.erf, cupyx.scipy.special.erfc  # pragma: no cover


def _apply(which, xp, x, run):
    if xp is numpy and x.dtype == numpy.float32:
        from ._vmath_ufuncs import math_ufunc

        return run(math_ufunc(xp, ("erf", "erfc")[which], x.dtype), x)  # vectorised, within 0.5 ulp and a hair
    fn = functions(xp)[which]
    if x.dtype == numpy.float64:
        return run(fn, x)
    return fn(x).astype(x.dtype, copy=False)


def erf_array(xp, x, run=None):
    """erf(x) in x's own dtype (the CPU loops exist for float32 and float64; narrower floats go through
    float32). On the CPU, float32 is kernels/_vmath's, float64 math.erf's. ``run(ufunc, x)`` applies the
    ufunc (a backend's ``ufunc``, which splits large arrays over the threads)."""
    return _apply(0, xp, x, run or _call)


def erfc_array(xp, x, run=None):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is close to 1, in x's own dtype (as erf_array)."""
    return _apply(1, xp, x, run or _call)


def _call(fn, x):
    return fn(x)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# M. Giles' single-precision erfinv ("Approximating the erfinv function", GPU Computing Gems, 2010):
# erfinv(a) = a * p(w) with w = -log(1 - a^2), p a polynomial in w - 2.5 for w < 5 and in sqrt(w) - 3
# beyond, good to about 4e-7 relative error up to 1 - a = 1e-7. Leading coefficient first (Horner).
_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
            -0.00417768164, 0.246640727, 1.50140941)
_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
         0.00943887047, 1.00167406, 2.83297682)

# Refinement. Where a = |y| < 0.5: Halley steps on erf(x) = a (erf'' = -2x erf'). Where a >= 0.5: Halley
# steps on g(x) = log erfc(x) - log(1 - a) = 0, for which g'' = -2x g' - g'^2: 1 - a is exact there, and
# log erfc is nearly quadratic in x, so they converge from the start's 10% error at a = 1 - 2^-53, far
# beyond the range the polynomial was fitted for. Three steps reach float64 accuracy everywhere; one is
# enough where the start is good.
_STEPS = 3
_SMALL_STEP = 1e-7


def _erfinv_start(xp, a):
    """Giles' approximation for arrays 0 <= a < 1."""
    w = -xp.log1p(-a * a)
    central = w - 2.5
    tail = xp.sqrt(w) - 3.0
    p, q = _CENTRAL[0], _TAIL[0]
    for i in range(1, len(_CENTRAL)):
        p = _CENTRAL[i] + p * central
        q = _TAIL[i] + q * tail
    return xp.where(w < 5.0, p, q) * a


def erfinv_reference(xp, y):
    """erfinv in array operations of ``xp`` (NumPy or CuPy), in y's dtype, computed in float64."""
    erf_, erfc_ = functions(xp)
    a = xp.abs(y).astype(numpy.float64)
    inside = a < 1.0
    a_in = xp.where(inside, a, 0.0)  # keep the iteration clear of inf and NaN (and of warnings)
    tail = a_in >= 0.5
    log_1ma = xp.log(xp.where(tail, 1.0 - a_in, 0.5))
    x = _erfinv_start(xp, a_in)
    for _ in range(_STEPS):
        slope = _TWO_OVER_SQRT_PI * xp.exp(-x * x)  # erf'(x)
        newton = (erf_(x) - a_in) / slope
        halley = newton / (1.0 + x * newton)
        q = erfc_(x)
        g = xp.log(q) - log_1ma
        newton_g = -g * q / slope
        halley_g = newton_g / (1.0 + x * newton_g + 0.5 * g)
        x = x - xp.where(tail, halley_g, halley)
    x = xp.where(inside, x, xp.where(a == 1.0, numpy.inf, numpy.nan))
    return xp.copysign(x, y.astype(numpy.float64)).astype(y.dtype, copy=False)


@numba.njit(cache=True, error_model="numpy")
def _erfinv_start_scalar(a):
    w = -math.log1p(-a * a)
    if w < 5.0:
        t, coefficients = w - 2.5, _CENTRAL
    else:
        t, coefficients = math.sqrt(w) - 3.0, _TAIL
    p = coefficients[0]
    for i in range(1, len(coefficients)):
        p = coefficients[i] + p * t
    return p * a


@lazy_ufunc(["float64(float64)"])
def _erfinv_cpu(y):
    a = abs(y)
    if not a < 1.0:  # also NaN
        return math.copysign(math.inf, y) if a == 1.0 else math.nan
    x = _erfinv_start_scalar(a)
    log_1ma = math.log(1.0 - a) if a >= 0.5 else 0.0
    for _ in range(_STEPS):
        slope = _TWO_OVER_SQRT_PI * math.exp(-x * x)
        if a < 0.5:
            newton = (math.erf(x) - a) / slope
            step = newton / (1.0 + x * newton)
        else:
            q = math.erfc(x)
            g = math.log(q) - log_1ma
            newton = -g * q / slope
            step = newton / (1.0 + x * newton + 0.5 * g)
        x -= step
        if abs(step) <= _SMALL_STEP * x:  # the next step would change nothing: Halley's error goes as step^3
            break
    return math.copysign(x, y)


def erfinv(xp, y, run=None):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside and for NaN), in y's dtype, computed in
    float64: on the CPU, float32 by kernels/_vmath's vectorisable erfinv (within 0.5 + 1e-4 ulp),
    float64 by the loop above. ``run(ufunc, y)`` applies the ufunc, as in erf_array."""
    run = run or _call
    if xp is numpy and y.dtype == numpy.float32:
        from ._vmath_ufuncs import math_ufunc

        return run(math_ufunc(xp, "erfinv", y.dtype), y)
    if xp is numpy and y.dtype == numpy.float64:
        return run(_erfinv_cpu.ufunc(), y)
    if xp is numpy:
        return _erfinv_cpu.ufunc()(y.astype(numpy.float64)).astype(y.dtype, copy=False)
    return erfinv_reference(xp, y)  # pragma: no cover - needs a GPU


# erfcx(x) = e^(x^2) erfc(x), the scaled complementary error function: the product where erfc has not
# underflowed (x < 25, relative error a few ulps of the exponent), the asymptotic series beyond.
@numba.njit(cache=True, error_model="numpy")
def erfcx_scalar(x):
    if math.isnan(x):
        return math.nan
    if x < 25.0:
        return math.exp(x * x) * math.erfc(x)  # inf for x below about -26.6, as it should be
    inv2 = 1.0 / (2.0 * x * x)
    # 1/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(2x^2)^2 - 15/(2x^2)^3 + 105/(2x^2)^4): the next term is below 1e-17
    return (1.0 - inv2 * (1.0 - inv2 * (3.0 - inv2 * (15.0 - inv2 * 105.0)))) / (x * math.sqrt(math.pi))


@numba.njit(cache=True, error_model="numpy")
def _erfcx_loop(x, out):
    for i in range(x.size):
        out[i] = erfcx_scalar(x[i])


def erfcx(xp, x):
    """e^(x^2) erfc(x) in x's dtype."""
    if xp is numpy:
        from ._gamma import run_cpu

        return run_cpu(_erfcx_loop, x)
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.erfcx(x).astype(x.dtype, copy=False)  # pragma: no cover
