"""The classical orthogonal polynomials of torch.special (Chebyshev T, U, V, W and their shifted forms on
[0, 1], the physicists' and probabilists' Hermite H and He, Laguerre L, Legendre P), vectorised over NumPy
or CuPy arrays, with PyTorch's semantics.

Each takes x and n as arrays of one float dtype (the caller's promoted dtype) that broadcast together. The
degree is n truncated toward zero; n < 0 gives 0, and so do NaN, +-inf and |n| >= 2^63, which PyTorch's
cast to int64 sends below zero too. The algorithms are PyTorch's: exact values where x is at an end of the
interval, the trigonometric closed forms of the Chebyshev kinds inside (-1, 1) above a small degree, and
the three-term recurrence elsewhere, stopped early once a value is NaN (inf - inf after an overflow), as
PyTorch's loop is (so a loop runs as many steps as PyTorch's: the degree, for Legendre and Laguerre inside
their intervals). Hermite is refused (NaN) above degree 128 in float32, 512 in float64, PyTorch's limits.

The arithmetic is float64 whatever the dtype, rounded once at the end: float32 results are float64's
rounded, finite where PyTorch's float32 recurrence overflows in an intermediate product (its NaN or inf
where the value itself is within range) and +-inf where the value is beyond float32's range (PyTorch's is
often NaN there, from inf - inf). NaN x gives NaN (PyTorch's loop can return an uninitialised value).
"""
from __future__ import annotations

import numpy

_INT64_LIMIT = 2.0**63
_HERMITE_LIMIT = {numpy.dtype(numpy.float32): 128, numpy.dtype(numpy.float64): 512}


def _operands(xp, x, n):
    """x in float64 and the integer degree, flat over their broadcast shape, and that shape."""
    shape = numpy.broadcast_shapes(x.shape, n.shape)
    x64 = xp.broadcast_to(x, shape).astype(numpy.float64).reshape(-1)
    nf = xp.broadcast_to(n, shape).astype(numpy.float64).reshape(-1)
    castable = xp.isfinite(nf) & (xp.abs(nf) < _INT64_LIMIT)  # else PyTorch's cast gives INT64_MIN: below 0
    degree = xp.where(castable, xp.trunc(xp.where(castable, nf, 0.0)), -1.0).astype(numpy.int64)
    return shape, x64, degree


def _recurrence(xp, x, degree, q, step):
    """The member of degree ``degree`` of a family by its three-term recurrence: q_0 = 1, q_1 = ``q``,
    q_(j+1) = step(j, x, q_(j-1), q_j). Elements of degree below 2 keep ``q``. An element leaves the loop
    once at its degree or NaN (where PyTorch's loop stops too), so the loop runs only as long as the
    highest degree still live needs."""
    out = q.copy()
    live = xp.nonzero((degree >= 2) & ~xp.isnan(q))[0]
    x, degree, q = x[live], degree[live], q[live]
    p = xp.ones_like(q)
    j = 1
    while live.size:
        p, q = q, step(j, x, p, q)
        done = (degree <= j + 1) | xp.isnan(q)
        if bool(done.any()):
            out[live[done]] = q[done]
            keep = ~done
            live, x, degree, p, q = live[keep], x[keep], degree[keep], p[keep], q[keep]
        j += 1
    return out


def _finish(xp, value, shape, dtype):
    return xp.asarray(value.reshape(shape).astype(dtype))


def _parity(degree):
    """+1 for even degrees, -1 for odd."""
    return 1.0 - 2.0 * (degree % 2).astype(numpy.float64)


def _chebyshev_step(j, y, p, q):
    return (y + y) * q - p


# The closed forms in theta = acos y inside (-1, 1), PyTorch's, each with its limit where the denominator
# is 0 to rounding (sin(theta) == 0, or the half-angle test PyTorch makes: y within an ulp or so of an end).
def _t_closed(xp, n, degree, theta, y):
    return xp.cos(n * theta)


def _u_closed(xp, n, degree, theta, y):
    s = xp.sin(theta)
    return xp.where(s != 0, xp.sin((n + 1) * theta) / xp.where(s != 0, s, 1.0),
                    (n + 1) * xp.cos((n + 1) * theta) / y)


def _v_closed(xp, n, degree, theta, y):
    at_end = xp.sin(theta / 2) == 1  # y is -1 to rounding: V_n(-1)
    value = xp.cos((n + 0.5) * theta) / xp.where(at_end, 1.0, xp.cos(theta / 2))
    return xp.where(at_end, _parity(degree) * (2 * n + 1), value)


def _w_closed(xp, n, degree, theta, y):
    at_end = xp.cos(theta / 2) == 1  # y is 1 to rounding: W_n(1)
    value = xp.sin((n + 0.5) * theta) / xp.where(at_end, 1.0, xp.sin(theta / 2))
    return xp.where(at_end, 2 * n + 1, value)


# Per kind: q_1 from y; the value at y = 1; the value at y = -1 over (-1)^n; the closed form.
_KINDS = {
    "t": (lambda y: y, lambda n: 1.0, lambda n: 1.0, _t_closed),
    "u": (lambda y: y + y, lambda n: n + 1, lambda n: n + 1, _u_closed),
    "v": (lambda y: y + y - 1.0, lambda n: 1.0, lambda n: 2 * n + 1, _v_closed),
    "w": (lambda y: y + y + 1.0, lambda n: 2 * n + 1, lambda n: 1.0, _w_closed),
}


def _chebyshev(xp, x, n, kind: str, shifted: bool, closed_above: int):
    """Chebyshev polynomial of the given kind at x (at 2x - 1 when ``shifted``), PyTorch's way."""
    dtype = x.dtype
    shape, x, degree = _operands(xp, x, n)
    y = x + x - 1.0 if shifted else x
    first, at_one, at_minus_one, closed = _KINDS[kind]
    nf = degree.astype(numpy.float64)
    inside = xp.abs(y) < 1
    trig = inside & (degree > closed_above)
    # PyTorch tests the ends on x itself (x == 1 and x == 0 when shifted): the same points, exactly.
    top, bottom = (x == 1, x == 0) if shifted else (y == 1, y == -1)
    value = _recurrence(xp, y, xp.where(trig | top | bottom, 0, degree), first(y), _chebyshev_step)
    value = xp.where(degree == 0, 1.0, value)
    theta = xp.arccos(xp.where(inside, y, 0.0))
    value = xp.where(trig, closed(xp, nf, degree, theta, y), value)
    value = xp.where(bottom, _parity(degree) * at_minus_one(nf), value)
    value = xp.where(top, at_one(nf), value)
    value = xp.where(degree < 0, 0.0, value)
    return _finish(xp, value, shape, dtype)


def chebyshev_polynomial_t(xp, x, n):
    """T_n(x), the Chebyshev polynomial of the first kind: cos(n acos x) on [-1, 1]."""
    return _chebyshev(xp, x, n, "t", False, 6)


def chebyshev_polynomial_u(xp, x, n):
    """U_n(x), the second kind: sin((n + 1) theta) / sin(theta), x = cos(theta)."""
    return _chebyshev(xp, x, n, "u", False, 8)


def chebyshev_polynomial_v(xp, x, n):
    """V_n(x), the third kind: cos((n + 1/2) theta) / cos(theta / 2)."""
    return _chebyshev(xp, x, n, "v", False, 8)


def chebyshev_polynomial_w(xp, x, n):
    """W_n(x), the fourth kind: sin((n + 1/2) theta) / sin(theta / 2)."""
    return _chebyshev(xp, x, n, "w", False, 8)


def shifted_chebyshev_polynomial_t(xp, x, n):
    """T*_n(x) = T_n(2x - 1)."""
    return _chebyshev(xp, x, n, "t", True, 6)


def shifted_chebyshev_polynomial_u(xp, x, n):
    """U*_n(x) = U_n(2x - 1)."""
    return _chebyshev(xp, x, n, "u", True, 6)


def shifted_chebyshev_polynomial_v(xp, x, n):
    """V*_n(x) = V_n(2x - 1)."""
    return _chebyshev(xp, x, n, "v", True, 6)


def shifted_chebyshev_polynomial_w(xp, x, n):
    """W*_n(x) = W_n(2x - 1)."""
    return _chebyshev(xp, x, n, "w", True, 4)


def _hermite(xp, x, n, first, step):
    dtype = x.dtype
    shape, x, degree = _operands(xp, x, n)
    too_high = degree > _HERMITE_LIMIT[numpy.dtype(dtype)]
    value = _recurrence(xp, x, xp.where(too_high, 0, degree), first(x), step)
    value = xp.where(too_high, numpy.nan, value)
    value = xp.where(degree == 0, 1.0, value)
    value = xp.where(degree < 0, 0.0, value)
    return _finish(xp, value, shape, dtype)


def hermite_polynomial_h(xp, x, n):
    """H_n(x), the physicists' Hermite polynomial: H_(k+1) = 2x H_k - 2k H_(k-1)."""
    return _hermite(xp, x, n, lambda x: x + x, lambda j, x, p, q: (x + x) * q - (2 * j) * p)


def hermite_polynomial_he(xp, x, n):
    """He_n(x), the probabilists' Hermite polynomial: He_(k+1) = x He_k - k He_(k-1)."""
    return _hermite(xp, x, n, lambda x: x, lambda j, x, p, q: x * q - j * p)


def laguerre_polynomial_l(xp, x, n):
    """L_n(x), the Laguerre polynomial: (k + 1) L_(k+1) = (2k + 1 - x) L_k - k L_(k-1); 1 at x = 0."""
    dtype = x.dtype
    shape, x, degree = _operands(xp, x, n)
    at_zero = x == 0
    value = _recurrence(xp, x, xp.where(at_zero, 0, degree), 1.0 - x,
                        lambda j, x, p, q: ((2 * j + (1.0 - x)) * q - j * p) / (j + 1))
    value = xp.where((degree == 0) | at_zero, 1.0, value)
    value = xp.where(degree < 0, 0.0, value)
    return _finish(xp, value, shape, dtype)


def legendre_polynomial_p(xp, x, n):
    """P_n(x), the Legendre polynomial: (k + 1) P_(k+1) = (2k + 1) x P_k - k P_(k-1); +-1 at x = +-1."""
    dtype = x.dtype
    shape, x, degree = _operands(xp, x, n)
    end = xp.abs(x) == 1
    value = _recurrence(xp, x, xp.where(end, 0, degree), x,
                        lambda j, x, p, q: ((2 * j + 1) * x * q - j * p) / (j + 1))
    value = xp.where(degree == 0, 1.0, value)
    value = xp.where(end, xp.where(x > 0, 1.0, _parity(degree)), value)
    value = xp.where(degree < 0, 0.0, value)
    return _finish(xp, value, shape, dtype)
