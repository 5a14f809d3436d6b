"""erf, erfc and erfinv on NumPy and CuPy arrays, with no SciPy (not a dependency).

NumPy has no erf: on the CPU, erf and erfc are ``math.erf``/``math.erfc`` vectorised by Numba (exact to
float rounding, compiled once and cached on disk); on the GPU they come from ``cupyx.scipy.special``.
erfinv is written in array operations (``xp``), so the same code runs on both.
"""
import math

import numba
import numpy


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erf(x):
    return math.erf(x)


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erfc(x):
    return math.erfc(x)


def functions(xp):
    """(erf, erfc) for arrays of the array module ``xp``."""
    if xp is numpy:
        return erf, erfc
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.erf, cupyx.scipy.special.erfc  # pragma: no cover


def erf_array(xp, x):
    """erf(x) in x's own dtype (the CPU loops exist for float32 and float64; narrower floats go through float32)."""
    return functions(xp)[0](x).astype(x.dtype, copy=False)


def erfc_array(xp, x):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is close to 1, in x's own dtype."""
    return functions(xp)[1](x).astype(x.dtype, copy=False)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erfinv_start(xp, a):
    """erfinv(a) for 0 <= a < 1 to about 4e-7 relative error: M. Giles' single-precision approximation
    ("Approximating the erfinv function", GPU Computing Gems, 2010), one polynomial in w = -log(1 - a^2)
    for the centre and one in sqrt(w) for the tails. The result is a * p(w), so tiny a keep full relative
    accuracy."""
    w = -xp.log1p(-a * a)
    central = w - 2.5
    p = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p = c + p * central
    tail = xp.sqrt(w) - 3.0
    q = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        q = c + q * tail
    return xp.where(w < 5.0, p, q) * a


def erfinv(xp, y):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside and for NaN), in y's dtype, to float64
    rounding. Computed in float64 from a starting approximation and four Newton-type steps:

    - |y| < 0.5: Halley steps on erf(x) = |y| (the start is good to 4e-7, so they converge at once);
    - |y| >= 0.5: Newton steps on log erfc(x) = log(1 - |y|). 1 - |y| is exact there, and log erfc is
      nearly quadratic in x, so the steps converge even from the start's 10% error near |y| = 1 - 2^-53,
      beyond the range its float32 polynomial was fitted for.
    """
    erf_, erfc_ = functions(xp)
    a = xp.abs(y).astype(numpy.float64)
    inside = a < 1.0
    a_in = xp.where(inside, a, 0.0)  # keep the iteration clear of inf and NaN (and of warnings)
    tail = a_in >= 0.5
    log_q = xp.log(xp.where(tail, 1.0 - a_in, 0.5))
    x = _erfinv_start(xp, a_in)
    for _ in range(4):
        slope = _TWO_OVER_SQRT_PI * xp.exp(-x * x)  # erf'(x)
        q = erfc_(x)
        halley = (erf_(x) - a_in) / slope
        halley = halley / (1.0 + x * halley)  # erf'' = -2x erf'
        newton_log = (xp.log(q) - log_q) * q / slope
        x = x - xp.where(tail, -newton_log, halley)
    x = xp.where(inside, x, xp.where(a == 1.0, numpy.inf, numpy.nan))
    return xp.copysign(x, y.astype(numpy.float64)).astype(y.dtype, copy=False)
