"""The functions only ``torch.special`` has (``gpugrad.special`` gathers them with the aliases it shares
with the top level): entr, xlog1py, erfcx, ndtr, ndtri, log_ndtr, gammainc, gammaincc, zeta, i0e, i1 and
i1e. Their scalar math is in gpugrad/_erf.py, gpugrad/_gamma.py and gpugrad/_bessel.py; their derivatives are Tensor ops, so every
order differentiates."""
from __future__ import annotations

import math

from .. import _erf, _gamma
from ..autograd.function import Op
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


# What this family exports at the top level (the rest are gpugrad.special's alone, as in PyTorch).
FUNCTIONS = (igamma, igammac)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS}
INPLACE = FUNCTIONS
