"""The functions only ``torch.special`` has (``gpugrad.special`` gathers them with the aliases it shares
with the top level): entr, xlog1py, erfcx, ndtr, ndtri, log_ndtr, gammainc, gammaincc, zeta, i0e, i1 and
i1e. Their scalar math is in gpugrad/_erf.py, gpugrad/_gamma.py and gpugrad/_bessel.py; their derivatives are Tensor ops, so every
order differentiates."""
from __future__ import annotations

import math

import numpy

from .. import _airy, _bessel_kinds, _erf, _gamma, _orthogonal_polynomials
from ..autograd.function import Op
from ..errors import DTypeError
from ..tensor import Tensor
from ._operands import as_float, write_out
from .elementwise import exp, log, where
from .pointwise import BesselI, _float_input, _pair, erfc, erfinv, lgamma, xlogy

_SQRT_HALF = math.sqrt(0.5)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Entr(Op):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        ctx.save_for_backward(x)
        positive = x > 0
        y = -x * xp.log(xp.where(positive, x, xp.ones((), x.dtype)))  # NaN stays NaN here
        return xp.where(positive | xp.isnan(x), y, xp.where(x == 0, xp.zeros((), x.dtype), xp.asarray(-math.inf, x.dtype)))

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * -(log(x) + 1.0)  # PyTorch's: inf at 0, NaN below


def entr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """-x ln x for x > 0, 0 at 0, -inf below (NaN stays NaN). d/dx = -(ln x + 1)."""
    return write_out("entr", Entr.apply(_float_input("entr", input)), out)


class XLog1pY(Op):
    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        zero = (a == 0) & ~xp.isnan(b)  # 0 where x is 0, even at y = -1, unless y is NaN
        return xp.where(zero, xp.zeros((), a.dtype), a * xp.log1p(xp.where(zero, xp.zeros((), b.dtype), b)))

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gy * where((a == 0) & (b <= -1), 0.0, b.log1p()) if ctx.needs_input_grad[0] else None
        gb = gy * a / (b + 1.0) if ctx.needs_input_grad[1] else None
        return ga, gb


def xlog1py(input, other, *, out: Tensor | None = None) -> Tensor:
    """x log(1 + y), 0 where x == 0 (unless y is NaN); either may be a number.
    d/dx = log(1 + y) (0 where x == 0 and y <= -1), d/dy = x / (1 + y)."""
    a, b = _pair("xlog1py", input, other)
    return write_out("xlog1py", XLog1pY.apply(as_float(a), as_float(b)), out)


class Erfcx(Op):
    @staticmethod
    def forward(ctx, x):
        y = _erf.erfcx(ctx.xp, x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return gy * (2.0 * x * y - _TWO_OVER_SQRT_PI)


def erfcx(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e^(x^2) erfc(x), finite where erfc underflows. d/dx = 2x erfcx(x) - 2/sqrt(pi)."""
    return write_out("erfcx", Erfcx.apply(_float_input("erfcx", input)), out)


def ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal CDF, erfc(-x / sqrt 2) / 2. d/dx = e^(-x^2 / 2) / sqrt(2 pi)."""
    x = _float_input("ndtr", input)
    return write_out("ndtr", 0.5 * erfc(x * -_SQRT_HALF), out)


def ndtri(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal quantile, sqrt 2 erfinv(2p - 1) (-inf at 0, inf at 1, NaN outside); in the far
    tails (p under 1e-8 or so) its relative accuracy falls to that of 2p - 1. d/dp = 1 / ndtr'(ndtri p)."""
    p = _float_input("ndtri", input)
    return write_out("ndtri", erfinv(2.0 * p - 1.0) * math.sqrt(2.0), out)


def log_ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log ndtr(x), finite far into the left tail: log(erfcx(-x / sqrt 2) / 2) - x^2 / 2 for x < 0,
    log1p(-erfc(x / sqrt 2) / 2) for x >= 0. d/dx = ndtr'(x) / ndtr(x)."""
    x = _float_input("log_ndtr", input)
    left = x < 0
    t_left = where(left, x, 0.0) * -_SQRT_HALF  # each branch on inputs safe for it: no NaN gradient leaks
    t_right = where(left, 0.0, x) * _SQRT_HALF
    left_value = log(erfcx(t_left) * 0.5) - t_left * t_left
    right_value = (erfc(t_right) * -0.5).log1p()
    return write_out("log_ndtr", where(left, left_value, right_value), out)


class GammaInc(Op):
    """P(a, x) (Q(a, x) for ``upper``). Differentiable in x; in a, PyTorch has no derivative either."""

    @staticmethod
    def forward(ctx, a, x, upper=False):
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        return _gamma.gammainc(ctx.xp, a, x, upper)

    @staticmethod
    def backward(ctx, gy):
        a, x = ctx.saved_tensors
        name = "gammaincc" if ctx.upper else "gammainc"
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"{name}: the derivative with respect to the first argument (a) is not "
                                      "implemented, as in PyTorch")
        density = exp(xlogy(a - 1.0, x) - x - lgamma(a))  # x^(a-1) e^-x / Gamma(a)
        return None, gy * (-density if ctx.upper else density)


def gammainc(input, other, *, out: Tensor | None = None) -> Tensor:
    """The regularised lower incomplete gamma function P(a, x), a = input, x = other. d/dx =
    x^(a-1) e^-x / Gamma(a); no derivative in a."""
    a, x = _pair("gammainc", input, other)
    return write_out("gammainc", GammaInc.apply(as_float(a), as_float(x)), out)


def gammaincc(input, other, *, out: Tensor | None = None) -> Tensor:
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    a, x = _pair("gammaincc", input, other)
    return write_out("gammaincc", GammaInc.apply(as_float(a), as_float(x), upper=True), out)


class Zeta(Op):
    @staticmethod
    def forward(ctx, s, q):
        ctx.save_for_backward(s, q)
        return _gamma.zeta(ctx.xp, s, q)

    @staticmethod
    def backward(ctx, gy):
        s, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("zeta: the derivative with respect to the first argument is not "
                                      "implemented, as in PyTorch")
        return None, gy * -s * zeta(s + 1.0, q)


def zeta(input, other, *, out: Tensor | None = None) -> Tensor:
    """The Hurwitz zeta function, the sum over k >= 0 of (k + q)^-s, s = input, q = other.
    d/dq = -s zeta(s + 1, q); no derivative in s."""
    s, q = _pair("zeta", input, other)
    return write_out("zeta", Zeta.apply(as_float(s), as_float(q)), out)


def i0e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e^-|x| I0(x), finite where I0 overflows. d/dx = i1e(x) - sign(x) i0e(x)."""
    return write_out("i0e", BesselI.apply(_float_input("i0e", input), nu=0, scaled=True), out)


def i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 1. d/dx = I0(x) - I1(x) / x (1/2 at 0)."""
    return write_out("i1", BesselI.apply(_float_input("i1", input), nu=1), out)


def i1e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e^-|x| I1(x). d/dx = i0e(x) - i1e(x) (sign(x) + 1/x) (1/2 at 0)."""
    return write_out("i1e", BesselI.apply(_float_input("i1e", input), nu=1, scaled=True), out)


def igamma(input, other, *, out: Tensor | None = None) -> Tensor:
    """``torch.igamma``: ``special.gammainc``."""
    return gammainc(input, other, out=out)


def igammac(input, other, *, out: Tensor | None = None) -> Tensor:
    """``torch.igammac``: ``special.gammaincc``."""
    return gammaincc(input, other, out=out)


# The functions PyTorch does not differentiate --------------------------------------------------------
class NonDifferentiable(Op):
    """A torch.special function that PyTorch marks non-differentiable (derivatives.yaml): its result is a
    constant for autograd, with requires_grad False even where an input requires grad, as PyTorch's is.
    ``compute(xp, *arrays)`` gives the value."""

    @staticmethod
    def forward(ctx, *arrays, compute=None):
        out = compute(ctx.xp, *arrays)
        ctx.mark_non_differentiable(out)
        return out

    @staticmethod
    def backward(ctx, *grads):  # never reached: the result joins no graph
        raise RuntimeError(f"{ctx.op_name}: not differentiable, as in PyTorch")


_KERNEL_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def _kernel_dtype(name: str, t: Tensor) -> Tensor:
    """PyTorch has these kernels for float32 and float64 alone (integer and bool inputs come as float32)."""
    if t._array.dtype not in _KERNEL_DTYPES:
        raise DTypeError(f"{name}: not implemented for {t.dtype} tensors (as in PyTorch: float32 and float64, "
                         "integer and bool tensors as float32)")
    return t


def _unary(name: str, compute, input, out: Tensor | None) -> Tensor:
    x = _kernel_dtype(name, _float_input(name, input))
    return write_out(name, NonDifferentiable.apply(x, compute=compute), out)


def _polynomial(name: str, compute, x, n, out: Tensor | None) -> Tensor:
    if not (isinstance(x, Tensor) or isinstance(n, Tensor)):
        raise TypeError(f"{name}(): expected a Tensor for 'x' or 'n', got {type(x).__name__} and "
                        f"{type(n).__name__}")
    x, degree = _pair(name, x, n)
    x, degree = _kernel_dtype(name, as_float(x)), as_float(degree)
    return write_out(name, NonDifferentiable.apply(x, degree, compute=compute), out)


def airy_ai(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Ai(x), the Airy function of the first kind (0 at +-inf). Not differentiable, as in PyTorch."""
    return _unary("airy_ai", _airy.airy_ai, x, out)


def bessel_j0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """J0(x), the Bessel function of the first kind of order 0. Not differentiable, as in PyTorch."""
    return _unary("bessel_j0", _bessel_kinds.bessel_j0, input, out)


def bessel_j1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """J1(x), the Bessel function of the first kind of order 1. Not differentiable, as in PyTorch."""
    return _unary("bessel_j1", _bessel_kinds.bessel_j1, input, out)


def bessel_y0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Y0(x), the Bessel function of the second kind of order 0 (-inf at 0, NaN below). Not differentiable."""
    return _unary("bessel_y0", _bessel_kinds.bessel_y0, input, out)


def bessel_y1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Y1(x), the Bessel function of the second kind of order 1 (-inf at 0, NaN below). Not differentiable."""
    return _unary("bessel_y1", _bessel_kinds.bessel_y1, input, out)


def modified_bessel_i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """I0(x), the modified Bessel function of the first kind of order 0: ``i0``'s values, but not
    differentiable, as in PyTorch."""
    return _unary("modified_bessel_i0", _bessel_kinds.modified_bessel_i0, input, out)


def modified_bessel_i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """I1(x), the modified Bessel function of the first kind of order 1: ``i1``'s values, but not
    differentiable, as in PyTorch."""
    return _unary("modified_bessel_i1", _bessel_kinds.modified_bessel_i1, input, out)


def modified_bessel_k0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """K0(x), the modified Bessel function of the second kind of order 0 (inf at 0, NaN below). Not
    differentiable, as in PyTorch."""
    return _unary("modified_bessel_k0", _bessel_kinds.modified_bessel_k0, input, out)


def modified_bessel_k1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """K1(x), the modified Bessel function of the second kind of order 1 (inf at 0, NaN below). Not
    differentiable, as in PyTorch."""
    return _unary("modified_bessel_k1", _bessel_kinds.modified_bessel_k1, input, out)


def scaled_modified_bessel_k0(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e^x K0(x), finite where K0 underflows. Not differentiable, as in PyTorch."""
    return _unary("scaled_modified_bessel_k0", _bessel_kinds.scaled_modified_bessel_k0, x, out)


def scaled_modified_bessel_k1(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e^x K1(x), finite where K1 underflows. Not differentiable, as in PyTorch."""
    return _unary("scaled_modified_bessel_k1", _bessel_kinds.scaled_modified_bessel_k1, x, out)


def spherical_bessel_j0(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """j0(x) = sin(x) / x, the spherical Bessel function of the first kind of order 0 (1 at 0, 0 at +-inf).
    Not differentiable, as in PyTorch."""
    return _unary("spherical_bessel_j0", _bessel_kinds.spherical_bessel_j0, x, out)


# The polynomials take (x, n) (PyTorch's keywords), either a Python number, broadcast; n is truncated
# toward zero and a negative (or non-finite) n gives 0, as PyTorch's. See gpugrad/_orthogonal_polynomials.py.
def chebyshev_polynomial_t(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """T_n(x), the Chebyshev polynomial of the first kind. Not differentiable, as in PyTorch."""
    return _polynomial("chebyshev_polynomial_t", _orthogonal_polynomials.chebyshev_polynomial_t, x, n, out)


def chebyshev_polynomial_u(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """U_n(x), the Chebyshev polynomial of the second kind. Not differentiable, as in PyTorch."""
    return _polynomial("chebyshev_polynomial_u", _orthogonal_polynomials.chebyshev_polynomial_u, x, n, out)


def chebyshev_polynomial_v(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """V_n(x), the Chebyshev polynomial of the third kind. Not differentiable, as in PyTorch."""
    return _polynomial("chebyshev_polynomial_v", _orthogonal_polynomials.chebyshev_polynomial_v, x, n, out)


def chebyshev_polynomial_w(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """W_n(x), the Chebyshev polynomial of the fourth kind. Not differentiable, as in PyTorch."""
    return _polynomial("chebyshev_polynomial_w", _orthogonal_polynomials.chebyshev_polynomial_w, x, n, out)


def shifted_chebyshev_polynomial_t(x: Tensor | float, n: Tensor | float, *,
                                   out: Tensor | None = None) -> Tensor:
    """T*_n(x) = T_n(2x - 1), on [0, 1]. Not differentiable, as in PyTorch."""
    return _polynomial("shifted_chebyshev_polynomial_t", _orthogonal_polynomials.shifted_chebyshev_polynomial_t,
                       x, n, out)


def shifted_chebyshev_polynomial_u(x: Tensor | float, n: Tensor | float, *,
                                   out: Tensor | None = None) -> Tensor:
    """U*_n(x) = U_n(2x - 1). Not differentiable, as in PyTorch."""
    return _polynomial("shifted_chebyshev_polynomial_u", _orthogonal_polynomials.shifted_chebyshev_polynomial_u,
                       x, n, out)


def shifted_chebyshev_polynomial_v(x: Tensor | float, n: Tensor | float, *,
                                   out: Tensor | None = None) -> Tensor:
    """V*_n(x) = V_n(2x - 1). Not differentiable, as in PyTorch."""
    return _polynomial("shifted_chebyshev_polynomial_v", _orthogonal_polynomials.shifted_chebyshev_polynomial_v,
                       x, n, out)


def shifted_chebyshev_polynomial_w(x: Tensor | float, n: Tensor | float, *,
                                   out: Tensor | None = None) -> Tensor:
    """W*_n(x) = W_n(2x - 1). Not differentiable, as in PyTorch."""
    return _polynomial("shifted_chebyshev_polynomial_w", _orthogonal_polynomials.shifted_chebyshev_polynomial_w,
                       x, n, out)


def hermite_polynomial_h(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """H_n(x), the physicists' Hermite polynomial (NaN above degree 128 in float32, 512 in float64, as
    PyTorch's). Not differentiable, as in PyTorch."""
    return _polynomial("hermite_polynomial_h", _orthogonal_polynomials.hermite_polynomial_h, x, n, out)


def hermite_polynomial_he(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """He_n(x), the probabilists' Hermite polynomial (NaN above degree 128 in float32, 512 in float64).
    Not differentiable, as in PyTorch."""
    return _polynomial("hermite_polynomial_he", _orthogonal_polynomials.hermite_polynomial_he, x, n, out)


def laguerre_polynomial_l(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """L_n(x), the Laguerre polynomial. Not differentiable, as in PyTorch."""
    return _polynomial("laguerre_polynomial_l", _orthogonal_polynomials.laguerre_polynomial_l, x, n, out)


def legendre_polynomial_p(x: Tensor | float, n: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """P_n(x), the Legendre polynomial. Not differentiable, as in PyTorch."""
    return _polynomial("legendre_polynomial_p", _orthogonal_polynomials.legendre_polynomial_p, x, n, out)


# What this family exports at the top level (the rest are gpugrad.special's alone, as in PyTorch).
FUNCTIONS = (igamma, igammac)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS}
INPLACE = FUNCTIONS
