"""lgamma, digamma, polygamma, the Hurwitz zeta and the regularised incomplete gamma functions on NumPy
and CuPy arrays, with no SciPy (not a dependency).

On the CPU each is scalar float64 math in a loop compiled by Numba (once, cached on disk), large arrays of
lgamma and digamma split over the threads, float32 digamma and trigamma (polygamma(1, x)) by
kernels/_vmath's vectorisable ones (within 0.5 ulp and a hair of these); on the GPU they come from
``cupyx.scipy.special``. lgamma is ``math.lgamma``. digamma shifts x up by its recurrence,
psi(x) = psi(x + 1) - 1/x, to x >= 10 and sums the asymptotic series there; polygamma(n, x) for n >= 1 is
(-1)^(n+1) n! zeta(n + 1, x), the Hurwitz zeta by Euler-Maclaurin summation (Cephes' method). Negative
x goes through the reflection formulas, so neither loop runs long. Poles (0 and the negative integers):
digamma gives -inf at +0 and +inf at -0 and NaN at the negative integers, polygamma +inf for odd n and
-inf for even n, as PyTorch at 0; at +inf polygamma is 0 (PyTorch 2.13 gives NaN for n >= 2).
The loops are compiled with NumPy's error model (as in _erf.py and _bessel.py): a division by zero gives
inf or NaN, as PyTorch's kernels do, never Python's ZeroDivisionError.
"""
from __future__ import annotations

import math

import numba
import numpy

_MACHEP = 1.11022302462515654042e-16
# Euler-Maclaurin's coefficients (2k)! / B_2k for the Hurwitz zeta's tail (Cephes zeta.c).
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)


@numba.njit(cache=True, error_model="numpy")
def _digamma_positive(x):
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    # -sum B_2k / (2k x^2k) for k = 1..7 (Bernoulli numbers): the next term is under 5e-17 at x >= 10
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (
        1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760 - inv2 * (1.0 / 12)))))))
    return result + math.log(x) - 0.5 / x - series


@numba.njit(cache=True, error_model="numpy")
def digamma_scalar(x):
    """psi(x) = d/dx ln Gamma(x) in float64."""
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return math.inf
    if x == 0.0:
        return math.copysign(math.inf, -x)  # -inf at +0, +inf at -0
    if x < 0.0:
        frac = x - math.floor(x)
        if frac == 0.0:
            return math.nan
        # psi(x) = psi(1 - x) - pi cot(pi x), with the cotangent of the fractional part (exact reduction)
        return _digamma_positive(1.0 - x) - math.pi / math.tan(math.pi * frac)
    return _digamma_positive(x)


@numba.njit(cache=True, error_model="numpy")
def _hurwitz_zeta(s, q):
    """zeta(s, q) = sum over k >= 0 of (k + q)^-s, for s > 1 and q > 0."""
    total = q ** -s
    a = q
    b = 0.0
    i = 0
    while i < 9 or a <= 9.0:
        i += 1
        a += 1.0
        b = a ** -s
        total += b
        if abs(b / total) < _MACHEP:
            return total
    w = a
    total += b * w / (s - 1.0)
    total -= 0.5 * b
    a = 1.0
    k = 0.0
    for j in range(12):
        a *= s + k
        b /= w
        t = a * b / _ZETA_A[j]
        total += t
        if abs(t / total) < _MACHEP:
            return total
        k += 1.0
        a *= s + k
        b /= w
        k += 1.0
    return total


@numba.njit(cache=True, error_model="numpy")
def zeta_scalar(s, q):
    """The Hurwitz zeta function zeta(s, q) in float64, with Cephes' domain: inf at s = 1 and at the
    non-positive integers q, NaN for s < 1 and for negative q with a fractional s."""
    if math.isnan(s) or math.isnan(q):
        return math.nan
    if s == 1.0:
        return math.inf
    if s < 1.0:
        return math.nan
    if q <= 0.0:
        if q == math.floor(q):
            return math.inf
        if s != math.floor(s):
            return math.nan  # q^-s is not real
    return _hurwitz_zeta(s, q)


# The regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 - P(a, x): P's series where
# x < a + 1, Q's continued fraction (modified Lentz) elsewhere, each giving the other as 1 minus it.
_GAMMAINC_ITERATIONS = 100000  # the series needs about sqrt(a) terms near x = a


@numba.njit(cache=True, error_model="numpy")
def _gamma_prefix(a, x):
    """x^a e^-x / Gamma(a)."""
    return math.exp(a * math.log(x) - x - math.lgamma(a))


@numba.njit(cache=True, error_model="numpy")
def _gammainc_series(a, x):
    term = 1.0 / a
    total = term
    ap = a
    for _ in range(_GAMMAINC_ITERATIONS):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _MACHEP:
            break
    return total * _gamma_prefix(a, x)


@numba.njit(cache=True, error_model="numpy")
def _gammaincc_fraction(a, x):
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _GAMMAINC_ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < _MACHEP:
            break
    return h * _gamma_prefix(a, x)


@numba.njit(cache=True, error_model="numpy")
def gammainc_scalar(a, x, upper):
    """P(a, x), or Q(a, x) for ``upper``, in float64, with PyTorch's values at the ends of the domain."""
    if math.isnan(a) or math.isnan(x) or a < 0.0 or x < 0.0:
        return math.nan
    if a == 0.0:
        if x > 0.0:
            return 0.0 if upper else 1.0
        return math.nan
    if x == 0.0:
        return 1.0 if upper else 0.0
    if math.isinf(a):
        if math.isinf(x):
            return math.nan
        return 1.0 if upper else 0.0
    if math.isinf(x):
        return 0.0 if upper else 1.0
    if x < a + 1.0:
        p = _gammainc_series(a, x)
        return 1.0 - p if upper else p
    q = _gammaincc_fraction(a, x)
    return q if upper else 1.0 - q


@numba.njit(cache=True, error_model="numpy")
def _polygamma_positive(n, x):
    return (-1.0 if n % 2 == 0 else 1.0) * math.gamma(n + 1.0) * _hurwitz_zeta(n + 1.0, x)


@numba.njit(cache=True, error_model="numpy")
def _cot_derivative(n, c):
    """d^n/dy^n cot(y) at cot(y) = c: the polynomial P_n(c), P_0 = c, P_k+1 = -(1 + c^2) P_k'(c)."""
    coef = numpy.zeros(n + 2)
    coef[1] = 1.0
    for _ in range(n):
        new = numpy.zeros(n + 2)
        for j in range(1, n + 2):  # -(1 + c^2) * j coef[j] c^(j-1)
            d = -j * coef[j]
            new[j - 1] += d
            if j + 1 < n + 2:
                new[j + 1] += d
        coef = new
    value = 0.0
    for j in range(n + 1, -1, -1):
        value = value * c + coef[j]
    return value


@numba.njit(cache=True, error_model="numpy")
def polygamma_scalar(n, x):
    """The n-th derivative of digamma (n >= 0) in float64."""
    if n == 0:
        return digamma_scalar(x)
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return 0.0
    if x <= 0.0:
        frac = x - math.floor(x)
        if frac == 0.0:  # a pole: the sign PyTorch gives at 0
            return math.inf if n % 2 == 1 else -math.inf
        # psi_n(1 - x) + (-1)^(n+1) psi_n(x) = (-1)^n pi d^n/dx^n cot(pi x)
        c = 0.0 if frac == 0.5 else 1.0 / math.tan(math.pi * frac)  # exactly 0 at the half-integers
        sign_n = -1.0 if n % 2 == 1 else 1.0
        rhs = sign_n * math.pi ** (n + 1) * _cot_derivative(n, c)
        return -sign_n * (rhs - _polygamma_positive(n, 1.0 - x))
    return _polygamma_positive(n, x)


# Loops compiled with njit rather than ufuncs made by numba.vectorize: a ufunc's result at a pole (lgamma
# at 0 is inf) raises NumPy's floating-point warning from inside Numba, where no filter of gpugrad's
# reaches; a compiled loop sets no flag that NumPy reads.
@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lgamma_loop(x, out):
    for i in range(x.size):
        out[i] = math.lgamma(x[i])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _digamma_loop(x, out):
    for i in range(x.size):
        out[i] = digamma_scalar(x[i])


@numba.njit(cache=True, error_model="numpy")
def _polygamma_loop(n, x, out):
    for i in range(x.size):
        out[i] = polygamma_scalar(n, x[i])


@numba.njit(cache=True, error_model="numpy")
def _zeta_loop(s, q, out):
    for i in range(out.size):
        out[i] = zeta_scalar(s[i], q[i])


@numba.njit(cache=True, error_model="numpy")
def _gammainc_loop(upper, a, x, out):
    for i in range(out.size):
        out[i] = gammainc_scalar(a[i], x[i], upper)


@numba.njit(cache=True, error_model="numpy")
def standard_gamma_grad_scalar(a, x):
    """d x / d a for a Gamma(a, 1) draw x held at its CDF level (implicit reparameterisation):
    -(d P(a, x) / d a) / density(x; a), the a-derivative by central differences of P (of Q = 1 - P in the
    upper half, where P's difference would lose its digits)."""
    if not x > 0.0:
        return 0.0
    h = 1e-5 * min(a, 1.0)
    upper = gammainc_scalar(a, x, False) > 0.5
    dp = (gammainc_scalar(a + h, x, upper) - gammainc_scalar(a - h, x, upper)) / (2.0 * h)
    if upper:
        dp = -dp
    density = math.exp((a - 1.0) * math.log(x) - x - math.lgamma(a))
    return -dp / density


@numba.njit(cache=True, error_model="numpy")
def _standard_gamma_grad_loop(a, x, out):
    for i in range(out.size):
        out[i] = standard_gamma_grad_scalar(a[i], x[i])


def standard_gamma_grad(xp, a, x):
    """d x / d a for Gamma(a, 1) draws x (see standard_gamma_grad_scalar), in x's dtype; computed on the
    host."""
    host = numpy if xp is numpy else None
    if host is None:  # pragma: no cover - needs a GPU
        return xp.asarray(_run_cpu_pair(_standard_gamma_grad_loop, xp.asnumpy(a), xp.asnumpy(x)))
    return _run_cpu_pair(_standard_gamma_grad_loop, a, x)


def run_cpu(loop, x, *first):
    """``loop(*first, x, out)`` over x's elements, in float64 (the scalar math's precision: float32
    arithmetic would overflow inside it, e^(x^2) in erfcx), into a new array of x's shape and dtype: the
    CPU form of the special functions."""
    flat = numpy.ascontiguousarray(x, dtype=numpy.float64).reshape(-1)
    out = numpy.empty_like(flat)
    loop(*first, flat, out)
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def _run_cpu_pair(loop, a, b, *first):
    """``loop(*first, a, b, out)`` over the broadcast elements of two arrays of one float dtype, as run_cpu."""
    shape = numpy.broadcast_shapes(a.shape, b.shape)
    flat_a = numpy.ascontiguousarray(numpy.broadcast_to(a, shape), dtype=numpy.float64).reshape(-1)
    flat_b = numpy.ascontiguousarray(numpy.broadcast_to(b, shape), dtype=numpy.float64).reshape(-1)
    out = numpy.empty_like(flat_a)
    loop(*first, flat_a, flat_b, out)
    return out.reshape(shape).astype(a.dtype, copy=False)


class _OnArrays:
    """``run_cpu(loop, x)`` as a ufunc-like callable, ``f(x, out=None)``, which ``Backend.ufunc`` splits
    over the threads (the loops release the GIL): the same bits at any thread count."""

    def __init__(self, loop):
        self.loop = loop

    def __call__(self, x, out=None):
        y = run_cpu(self.loop, x)
        if out is None:
            return y
        out[...] = y
        return out


def _float32_loop(name):
    from ._vmath_ufuncs import math_ufunc

    return math_ufunc(numpy, name, numpy.dtype(numpy.float32))


def _call(fn, x):
    return fn(x)


def lgamma(xp, x, run=None):
    """ln |Gamma(x)| in x's float dtype (math.lgamma's in float64, rounded). ``run(fn, x)`` applies the
    array function ``fn`` (a backend's ``ufunc``, which splits large arrays over the threads)."""
    if xp is numpy:
        return (run or _call)(_OnArrays(_lgamma_loop), x)
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.gammaln(x).astype(x.dtype, copy=False)  # pragma: no cover


def digamma(xp, x, run=None):
    """psi(x) in x's float dtype; on the CPU float32 is kernels/_vmath's vectorisable digamma (within 0.5
    ulp and a hair of this float64 one's). ``run`` as in lgamma."""
    if xp is numpy:
        fn = _float32_loop("digamma") if x.dtype == numpy.float32 else _OnArrays(_digamma_loop)
        return (run or _call)(fn, x)
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.digamma(x).astype(x.dtype, copy=False)  # pragma: no cover


def polygamma(xp, n: int, x, run=None):
    """psi^(n)(x) in x's float dtype; on the CPU float32 trigamma (n = 1, digamma's derivative) is
    kernels/_vmath's vectorisable one. ``run`` as in lgamma."""
    if xp is numpy and n == 1 and x.dtype == numpy.float32:
        return (run or _call)(_float32_loop("trigamma"), x)
    if xp is numpy:
        return run_cpu(_polygamma_loop, x, n)
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.polygamma(n, x).astype(x.dtype, copy=False)  # pragma: no cover


def zeta(xp, s, q):
    """The Hurwitz zeta function of two arrays of one float dtype (broadcast)."""
    if xp is numpy:
        return _run_cpu_pair(_zeta_loop, s, q)
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    return cupyx.scipy.special.zeta(s, q).astype(s.dtype, copy=False)  # pragma: no cover


def gammainc(xp, a, x, upper: bool = False):
    """The regularised lower incomplete gamma function P(a, x) (Q(a, x) for ``upper``), broadcast."""
    if xp is numpy:
        return _run_cpu_pair(_gammainc_loop, a, x, upper)
    import cupyx.scipy.special  # pragma: no cover - needs a GPU

    fn = cupyx.scipy.special.gammaincc if upper else cupyx.scipy.special.gammainc  # pragma: no cover
    return fn(a, x).astype(a.dtype, copy=False)  # pragma: no cover
