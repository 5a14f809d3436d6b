"""The Airy function Ai, vectorised over NumPy or CuPy arrays (no SciPy: not a dependency), computed in
float64 and rounded once to the input's float dtype.

Cephes' algorithm (Moshier's airy.c), which PyTorch's kernel follows: between -2.09 and 2.09 the Maclaurin
series Ai = c1 f(x) - c2 g(x); above, e^-zeta / (2 sqrt(pi) x^(1/4)) AN(1/zeta) / AD(1/zeta), zeta =
(2/3) x^(3/2); below, the oscillating asymptotic form in zeta + pi/4 with the rational corrections AFN/AFD and
AGN/AGD in 1/zeta^2. PyTorch drops the leading 1 of the monic AFD and AGD, which costs it up to ~6e-6 of the
envelope |x|^(-1/4) / sqrt(pi) just below -2.09; here it is kept. Far left the phase carries zeta's rounding
(~1e-16 zeta: 1e-8 relative at x = -3e5), as Cephes'. Ai is 0 at +-inf, its limits (PyTorch gives NaN), and
decays to e^-zeta's underflow above x = 104 or so (PyTorch cuts it to 0 from 103.892).
"""
from __future__ import annotations

import math

import numpy

from ._bessel_kinds import p1evl, piecewise, polevl

_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
# Ai(0) and -Ai'(0): the Maclaurin series' two solutions' weights.
_C1 = 0.355028053887817239260
_C2 = 0.258819403792806798405
_SPLIT = 2.09
_SERIES_TERMS = 14  # at |x| <= 2.09 the 14th term is under 1e-20 of the sum

# Above 2.09: AN / AD in 1/zeta.
_AIRY_AN = (
    3.46538101525629032477e-01, 1.20075952739645805542e+01, 7.62796053615234516538e+01, 1.68089224934630576269e+02,
    1.59756391350164413639e+02, 7.05360906840444183113e+01, 1.40264691163389668864e+01, 9.99999999999999995305e-01,
)
_AIRY_AD = (
    5.67594532638770212846e-01, 1.47562562584847203173e+01, 8.45138970141474626562e+01, 1.77318088145400459522e+02,
    1.64234692871529701831e+02, 7.14778400825575695274e+01, 1.40959135607834029598e+01, 1.00000000000000000470e+00,
)
# Below -2.09: 1 + AFN / AFD (AFD monic) times the sine, z AGN / AGD (AGD monic) the cosine, in z^2 = 1/zeta^2.
_AIRY_AFN = (
    -1.31696323418331795333e-01, -6.26456544431912369773e-01, -6.93158036036933542233e-01,
    -2.79779981545119124951e-01, -4.91900132609500318020e-02, -4.06265923594885404393e-03,
    -1.59276496239262096340e-04, -2.77649108155232920844e-06, -1.67787698489114633780e-08,
)
_AIRY_AFD = (
    1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01, 9.18707402907259625840e+00,
    1.47529146771666414581e+00, 1.15687173795188044134e-01, 4.40291641615211203805e-03, 7.54720348287414296618e-05,
    4.51850092970580378464e-07,
)
_AIRY_AGN = (
    1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00, 9.39169229816650230044e-01,
    3.51465656105547619242e-01, 6.33888919628925490927e-02, 5.85804113048388458567e-03, 2.82851600836737019778e-04,
    6.98793669997260967291e-06, 8.11789239554389293311e-08, 3.41551784765923618484e-10,
)
_AIRY_AGD = (
    9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01, 5.47686069422975497931e+00,
    9.54293611618961883998e-01, 8.64580826352392193095e-02, 4.12656523824222607191e-03, 1.01259085116509135510e-04,
    1.17166733214413521882e-06, 4.91834570062930015649e-09,
)


def _series(x):
    """c1 f(x) - c2 g(x), f = 1 + x^3/(2*3) + x^6/(2*3*5*6) + ..., g = x + x^4/(3*4) + x^7/(3*4*6*7) + ..."""
    z = x * x * x
    f, g = x * 0.0 + 1.0, x
    uf, ug = f, g
    k = 1
    for _ in range(_SERIES_TERMS):
        uf = uf * z / ((k + 1) * (k + 2))
        ug = ug * z / ((k + 2) * (k + 3))
        k += 3
        f, g = f + uf, g + ug
    return _C1 * f - _C2 * g


def _right(xp, x):
    """Ai for x >= 2.09: exponentially small, written with e^-zeta so that it underflows, not overflows."""
    zeta = 2.0 * x * xp.sqrt(x) / 3.0
    t = 1.0 / zeta
    return _INV_SQRT_PI * (polevl(t, _AIRY_AN) / polevl(t, _AIRY_AD)) * xp.exp(-zeta) / (2.0 * xp.sqrt(xp.sqrt(x)))


def _left(xp, x):
    """Ai for x < -2.09: (sin(theta) (1 + zz AFN/AFD) - cos(theta) z AGN/AGD) / (sqrt(pi) |x|^(1/4)),
    theta = zeta + pi/4, its sine and cosine from those of zeta (no rounding of zeta + pi/4)."""
    t = xp.sqrt(-x)
    zeta = -2.0 * x * t / 3.0
    z = 1.0 / zeta
    zz = z * z
    uf = 1.0 + zz * polevl(zz, _AIRY_AFN) / p1evl(zz, _AIRY_AFD)
    ug = z * polevl(zz, _AIRY_AGN) / p1evl(zz, _AIRY_AGD)
    s, c = xp.sin(zeta), xp.cos(zeta)
    # sqrt(2) sin(zeta + pi/4) = sin + cos, sqrt(2) cos(zeta + pi/4) = cos - sin
    return _INV_SQRT_PI / math.sqrt(2.0) * ((s + c) * uf - (c - s) * ug) / xp.sqrt(t)


def airy_ai(xp, x):
    """Ai(x), the Airy function of the first kind: the solution of y'' = x y that decays as x -> +inf."""
    x64 = x.astype(numpy.float64)
    return piecewise(xp, x64, x.dtype, [
        ((x64 < -_SPLIT) & (x64 > -numpy.inf), lambda v: _left(xp, v)),
        ((x64 >= -_SPLIT) & (x64 < _SPLIT), _series),
        ((x64 >= _SPLIT) & (x64 < numpy.inf), lambda v: _right(xp, v)),
        (xp.isinf(x64), 0.0),
    ])
