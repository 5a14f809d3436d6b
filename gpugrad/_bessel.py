"""The modified Bessel functions I0 and I1 and their exponentially scaled forms (i0, i1, i0e, i1e) on
NumPy and CuPy arrays, with no SciPy (not a dependency).

On the CPU: scalar float64 math in Numba loops (``_gamma.run_cpu``). Up to |x| = 30 the power series
(all terms positive: no cancellation); beyond, the asymptotic series e^x / sqrt(2 pi x) sum c_k / x^k,
c_k = c_(k-1) ((2k - 1)^2 - 4 nu^2) / (8k), whose smallest term there is far below float64's epsilon.
On the GPU: ``cupyx.scipy.special``."""
from __future__ import annotations

import math

import numba
import numpy

from ._gamma import run_cpu

_SERIES_UP_TO = 30.0


@numba.njit(cache=True, error_model="numpy")
def _series(nu, x):
    """I_nu(x) for nu in {0, 1}, x >= 0, by its power series."""
    t = 0.25 * x * x
    term = 1.0 if nu == 0 else 0.5 * x
    total = term
    k = 0
    while term > total * 1e-17:
        k += 1
        term *= t / (k * (k + nu))
        total += term
    return total


@numba.njit(cache=True, error_model="numpy")
def _asymptotic_scaled(nu, x):
    """e^-x I_nu(x) for large x >= 0."""
    c = 1.0
    total = 1.0
    for k in range(1, 40):
        c *= ((2 * k - 1) ** 2 - 4 * nu * nu) / (8.0 * k * x)
        total += c
        if abs(c) < 1e-17 * abs(total):
            break
    return total / math.sqrt(2.0 * math.pi * x)


@numba.njit(cache=True, error_model="numpy")
def bessel_scalar(nu, x, scaled):
    """I_nu(x) (e^-|x| I_nu(x) when ``scaled``) for nu in {0, 1}, any float64 x."""
    if math.isnan(x):
        return math.nan
    a = abs(x)
    sign = -1.0 if (nu == 1 and x < 0) else 1.0  # I0 is even, I1 odd
    if math.isinf(a):
        return sign * (0.0 if scaled else math.inf)
    if a <= _SERIES_UP_TO:
        value = _series(nu, a)
        return sign * (value * math.exp(-a) if scaled else value)
    value = _asymptotic_scaled(nu, a)
    if scaled:
        return sign * value
    if a > 700.0:  # e^a overflows: multiply in two halves so the largest finite results stay finite
        half = math.exp(0.5 * a)
        return sign * value * half * half
    return sign * value * math.exp(a)


@numba.njit(cache=True, error_model="numpy")
def _bessel_loop(nu, scaled, x, out):
    for i in range(x.size):
        out[i] = bessel_scalar(nu, x[i], scaled)


def bessel(xp, nu: int, x, scaled: bool = False):
    """I_nu(x) for nu 0 or 1 (e^-|x| I_nu(x) with ``scaled``), in x's dtype."""
    if xp is numpy:
        return run_cpu(_bessel_loop, x, nu, scaled)
    import cupyx.scipy.special as special  # pragma: no cover - needs a GPU

    fn = {(0, False): special.i0, (1, False): special.i1, (0, True): special.i0e, (1, True): special.i1e}[(nu, scaled)]
    return fn(x).astype(x.dtype, copy=False)  # pragma: no cover
