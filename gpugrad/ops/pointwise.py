"""Elementwise math beyond arithmetic: trigonometric, hyperbolic, exponential and logarithmic functions,
rounding and special functions, each as an op (forward, then its backward, then the public function).

Integer and bool inputs of the float functions compute in float32, as PyTorch's do. On the CPU, float32
inputs take gpugrad/_vmath_ufuncs.py's vectorised functions (within half an ulp and a hair, where NumPy's
call libm per element), and large arrays run over the threads (``backend.ufunc``). Backward is written in
Tensor ops, so second derivatives come free; the derivative formulas are PyTorch's, so gradients at the
edges of a domain (inf at asin(+-1), NaN outside it) agree with it too.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy

from .. import _bessel, _erf, _gamma
from .. import threads as _threads
from .._lazy_ufunc import lazy_ufunc
from .._vmath_ufuncs import math_ufunc
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..errors import broadcast_mismatch
from ..kernels import _vmath, math_map
from ..tensor import Tensor
from ._operands import as_float, promote_pair, write_out
from .complex_numbers import angle_complex, conj_of, refuse_complex
from .elementwise import exp, log, mul, where
from .inplace import inplace_variant

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_SQRT_PI = math.sqrt(math.pi) / 2.0


def _tensor_input(name: str, value, arg: str = "input") -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(value).__name__}")
    return value


def _float_input(name: str, value) -> Tensor:
    """The argument of a float function, int and bool tensors cast to float32."""
    return as_float(_tensor_input(name, value))


def _as_tensor(value, like: Tensor) -> Tensor:
    """A (promoted) Python number as a 0-d tensor of like's dtype and device; tensors pass through."""
    if isinstance(value, Tensor):
        return value
    return Tensor._make(like._backend.xp.asarray(value, dtype=like._array.dtype), like._backend)


def _pair(name: str, input, other) -> tuple[Tensor, Tensor]:
    """Two operands of one device and PyTorch's promoted dtype, whose shapes broadcast; a Python number
    among them becomes a 0-d tensor of that dtype."""
    if not (isinstance(input, Tensor) or isinstance(other, Tensor)):
        raise TypeError(f"{name}(): expected a Tensor for 'input' or 'other', got {type(input).__name__} and "
                        f"{type(other).__name__}")
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input._backend is not other._backend:
        raise DeviceError(f"{name}: expected all tensors on the same device, got {input.device} and {other.device}")
    a, b = promote_pair(input, other)
    like = a if isinstance(a, Tensor) else b
    a, b = _as_tensor(a, like), _as_tensor(b, like)
    try:
        numpy.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together "
                         f"({broadcast_mismatch([a.shape, b.shape])})") from None
    return a, b


def _float_pair(name: str, input, other) -> tuple[Tensor, Tensor]:
    """Two tensor operands (PyTorch takes no Python numbers here), promoted; int and bool become float32."""
    a, b = _pair(name, _tensor_input(name, input), _tensor_input(name, other, "other"))
    return as_float(a), as_float(b)


def _floating_pair(name: str, input, other) -> tuple[Tensor, Tensor]:
    """Two tensor operands whose promoted dtype must be floating (PyTorch has no integer kernel)."""
    a, b = _pair(name, _tensor_input(name, input), _tensor_input(name, other, "other"))
    if a._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{name}: not implemented for {a.dtype} operands ({input.dtype} and {other.dtype})")
    return a, b


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(t._backend.xp.zeros_like(t._array), t._backend)


# Derivatives in one pass -------------------------------------------------------------------------------
class _Slope(Op):
    """A function's derivative at x for float32 on the CPU, in one vectorised pass (gpugrad/_vmath_ufuncs.py's
    "<kind>_slope": computed in float64, rounded once) where its Tensor-op formula took three to five;
    its own derivative from y: erf and erfc's slope c e^(-x^2) has -2x y, arcsin and arccos's
    +-(1 - x^2)^(-1/2) x y^3, arsinh's (1 + x^2)^(-1/2) -x y^3, arctan's 1 / (1 + x^2) -2x y^2, artanh's
    1 / (1 - x^2) 2x y^2; erfinv's and tan's are functions of their results x: sqrt(pi)/2 e^(x^2) has
    2x y, 1 + x^2 has 2x."""

    @staticmethod
    def forward(ctx, x, kind="erf"):
        ctx.kind = kind
        y = ctx.backend.ufunc(math_ufunc(ctx.xp, kind + "_slope", x.dtype), x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        kind = ctx.kind
        if kind in ("erf", "erfc"):
            return gy * (-2.0 * x * y)
        if kind in ("asin", "acos"):
            return gy * (x * (y * y * y))
        if kind == "asinh":
            return gy * (-x * (y * y * y))
        if kind == "erfinv":  # x is erfinv's result here
            return gy * (2.0 * x * y)
        if kind == "tan":  # x is tan's result
            return gy * (2.0 * x)
        return gy * ((-2.0 if kind == "atan" else 2.0) * x * (y * y))


def _fast(x: Tensor) -> bool:
    return x._backend.xp is numpy and x._array.dtype == numpy.float32


def _slope(kind: str, x: Tensor, formula):
    """The derivative ``kind`` at x: _Slope's one pass for float32 on the CPU, else ``formula(x)`` in Tensor
    ops, as before (float64's bits, first and second derivatives, unchanged)."""
    if _fast(x):
        return _Slope.apply(x, kind=kind)
    return formula(x)


# Trigonometric --------------------------------------------------------------------------------------
class Tan(Op):
    @staticmethod
    def forward(ctx, x):
        y = ctx.backend.ufunc(math_ufunc(ctx.xp, "tan", x.dtype), x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * _slope("tan", y, lambda y: 1.0 + y * y)


def tan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """tan x. d/dx = 1 + tan^2 x."""
    return write_out("tan", Tan.apply_one(_float_input("tan", input)), out)


class Asin(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "arcsin", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _slope("asin", x, lambda x: rsqrt(1.0 - x * x))


def asin(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """arcsin x, NaN outside [-1, 1]. d/dx = 1 / sqrt(1 - x^2) (inf at +-1)."""
    return write_out("asin", Asin.apply_one(_float_input("asin", input)), out)


def arcsin(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``asin``."""
    return write_out("arcsin", Asin.apply_one(_float_input("arcsin", input)), out)


class Acos(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "arccos", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _slope("acos", x, lambda x: -rsqrt(1.0 - x * x))


def acos(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """arccos x, NaN outside [-1, 1]. d/dx = -1 / sqrt(1 - x^2) (-inf at +-1)."""
    return write_out("acos", Acos.apply_one(_float_input("acos", input)), out)


def arccos(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``acos``."""
    return write_out("arccos", Acos.apply_one(_float_input("arccos", input)), out)


class Atan(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "arctan", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _Slope.apply(x, kind="atan") if _fast(x) else gy / (x * x + 1.0)


def atan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """arctan x. d/dx = 1 / (1 + x^2)."""
    return write_out("atan", Atan.apply_one(_float_input("atan", input)), out)


def arctan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``atan``."""
    return write_out("arctan", Atan.apply_one(_float_input("arctan", input)), out)


class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        # d/da = b / r^2, d/db = -a / r^2; PyTorch takes 1/r^2 as 0 where r^2 is 0, so (0, 0) gets 0, not NaN.
        r2 = a * a + b * b
        inv = where(r2 == 0, 0.0, reciprocal(r2))
        ga = gy * b * inv if ctx.needs_input_grad[0] else None
        gb = gy * -a * inv if ctx.needs_input_grad[1] else None
        return ga, gb


def atan2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The angle of the point (other, input): arctan(input / other) in the right quadrant.
    d/d input = other / (input^2 + other^2), d/d other = -input / (input^2 + other^2) (both 0 at (0, 0))."""
    return write_out("atan2", Atan2.apply(*_float_pair("atan2", input, other)), out)


def arctan2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``atan2``."""
    return write_out("arctan2", Atan2.apply(*_float_pair("arctan2", input, other)), out)


# Hyperbolic -----------------------------------------------------------------------------------------
class Sinh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "sinh", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * cosh(x)


def sinh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sinh x. d/dx = cosh x."""
    return write_out("sinh", Sinh.apply_one(_float_input("sinh", input)), out)


class Cosh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "cosh", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * sinh(x)


def cosh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """cosh x. d/dx = sinh x."""
    return write_out("cosh", Cosh.apply_one(_float_input("cosh", input)), out)


class Asinh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "arcsinh", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _slope("asinh", x, lambda x: rsqrt(x * x + 1.0))


def asinh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """arsinh x. d/dx = 1 / sqrt(x^2 + 1)."""
    return write_out("asinh", Asinh.apply_one(_float_input("asinh", input)), out)


def arcsinh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``asinh``."""
    return write_out("arcsinh", Asinh.apply_one(_float_input("arcsinh", input)), out)


class Acosh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arccosh(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * rsqrt(x * x - 1.0)


def acosh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """arcosh x, NaN below 1. d/dx = 1 / sqrt(x^2 - 1) (inf at 1)."""
    return write_out("acosh", Acosh.apply_one(_float_input("acosh", input)), out)


def arccosh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``acosh``."""
    return write_out("arccosh", Acosh.apply_one(_float_input("arccosh", input)), out)


class Atanh(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "arctanh", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _Slope.apply(x, kind="atanh") if _fast(x) else gy / (1.0 - x * x)


def atanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """artanh x, +-inf at +-1, NaN outside [-1, 1]. d/dx = 1 / (1 - x^2)."""
    return write_out("atanh", Atanh.apply_one(_float_input("atanh", input)), out)


def arctanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``atanh``."""
    return write_out("arctanh", Atanh.apply_one(_float_input("arctanh", input)), out)


# Exponential and logarithmic ------------------------------------------------------------------------
class Log2(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "log2", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x * _LN2)


def log2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Base-2 logarithm. d/dx = 1 / (x ln 2)."""
    return write_out("log2", Log2.apply(_float_input("log2", input)), out)


class Log10(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "log10", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x * _LN10)


def log10(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Base-10 logarithm. d/dx = 1 / (x ln 10)."""
    return write_out("log10", Log10.apply(_float_input("log10", input)), out)


class Exp2(Op):
    @staticmethod
    def forward(ctx, x):
        y = ctx.backend.ufunc(math_ufunc(ctx.xp, "exp2", x.dtype), x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * y * _LN2


def exp2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """2^x. d/dx = 2^x ln 2."""
    return write_out("exp2", Exp2.apply(_float_input("exp2", input)), out)


class Expm1(Op):
    @staticmethod
    def forward(ctx, x):
        y = ctx.backend.ufunc(math_ufunc(ctx.xp, "expm1", x.dtype), x)  # float32 on the CPU: vectorised
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * (y + 1.0)


def expm1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e^x - 1, accurate near 0. d/dx = e^x."""
    return write_out("expm1", Expm1.apply(_float_input("expm1", input)), out)


@lazy_ufunc(["float32(float32, float32)"])
def _logaddexp32(a, b):
    # max + log1p(e**-|a - b|), softplus's kernel form (kernels/activation.py), in one pass where NumPy's
    # called libm per element on one core; a + ln 2 where equal (infinities of one sign, whose difference is
    # NaN, too); NaN where either is
    y = (a if a > b else b) + _vmath.log1p_of_unit(_vmath.exp(-abs(a - b)))
    return a + numpy.float32(0.6931472) if a == b else y


class LogAddExp(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if ctx.xp is numpy and a.dtype == numpy.float32 and b.dtype == numpy.float32:
            return ctx.backend.ufunc(_logaddexp32.ufunc(), a, b)
        return ctx.xp.logaddexp(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        # Written with the difference, as PyTorch: infinities of one sign on both sides give NaN.
        ga = gy / (1.0 + exp(b - a)) if ctx.needs_input_grad[0] else None
        gb = gy / (1.0 + exp(a - b)) if ctx.needs_input_grad[1] else None
        return ga, gb


def logaddexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log(e^input + e^other) without overflow. d/d input = 1 / (1 + e^(other - input)), and symmetrically."""
    return write_out("logaddexp", LogAddExp.apply(*_floating_pair("logaddexp", input, other)), out)


class LogAddExp2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.logaddexp2(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gy / (1.0 + exp2(b - a)) if ctx.needs_input_grad[0] else None
        gb = gy / (1.0 + exp2(a - b)) if ctx.needs_input_grad[1] else None
        return ga, gb


def logaddexp2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log2(2^input + 2^other). d/d input = 1 / (1 + 2^(other - input)), and symmetrically."""
    return write_out("logaddexp2", LogAddExp2.apply(*_floating_pair("logaddexp2", input, other)), out)


@lazy_ufunc(["float32(float32, float32)"])
def _xlogy32(x, y):
    # one pass where NumPy's took eight; log is float32 log's (as gg.log's: kernels/_vmath), then the product
    return numpy.float32(0.0) if x == 0 and y == y else x * _vmath.log(y)


class XLogY(Op):
    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        # x log y is 0 where x is 0, even for y = 0 or inf, unless y is NaN; log(0) warns needlessly there.
        if xp is numpy and a.dtype == numpy.float32 and b.dtype == numpy.float32:
            return ctx.backend.ufunc(_xlogy32.ufunc(), a, b)
        zero = (a == 0) & ~xp.isnan(b)
        return xp.where(zero, xp.zeros((), a.dtype), a * xp.log(xp.where(zero, xp.ones((), b.dtype), b)))

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        # PyTorch's d/dx: log y, but 0 where x == 0 and y <= 0 (where log y is -inf or NaN).
        ga = gy * where((a == 0) & (b <= 0), 0.0, log(b)) if ctx.needs_input_grad[0] else None
        gb = gy * a / b if ctx.needs_input_grad[1] else None
        return ga, gb


def xlogy(input, other, *, out: Tensor | None = None) -> Tensor:
    """x log y, 0 where x == 0 (unless y is NaN); either argument may be a number.
    d/dx = log y (0 where x == 0 and y <= 0), d/dy = x / y."""
    a, b = _pair("xlogy", input, other)
    return write_out("xlogy", XLogY.apply(as_float(a), as_float(b)), out)


# Angles and log-odds: compositions, whose gradients (and their gradients) follow from their parts ---------
def deg2rad(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """input (degrees) in radians, input * pi / 180. d/dx = pi / 180. Integer and bool tensors give float32."""
    return write_out("deg2rad", mul(_float_input("deg2rad", input), math.pi / 180.0), out)


def rad2deg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """input (radians) in degrees, input * 180 / pi. d/dx = 180 / pi. Integer and bool tensors give float32."""
    return write_out("rad2deg", mul(_float_input("rad2deg", input), 180.0 / math.pi), out)


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    """log(x / (1 - x)), x being input clamped to [eps, 1 - eps] when eps is given (else input itself:
    -inf at 0, inf at 1, NaN outside). d/dx = 1 / (x (1 - x)), and 0 outside [eps, 1 - eps], as PyTorch."""
    x = _float_input("logit", input)
    if eps is not None:
        x = x.clamp(eps, 1.0 - eps)
    return write_out("logit", (x / (1.0 - x)).log(), out)


class Sinc(Op):
    """sin(pi x) / (pi x), 1 at 0. Its derivative, (cos(pi x) - sinc x) / x, is -pi^2 x / 3 near 0 (written
    so at 0, where it is 0 and its own derivative -pi^2 / 3, the true values)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        zero = x == 0
        scaled = math.pi * xp.where(zero, 1, x)
        y = xp.where(zero, 1, xp.sin(scaled) / scaled).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        zero = x == 0
        safe = where(zero, 1.0, x)
        slope = where(zero, x * (-math.pi**2 / 3) + 0.0, ((safe * math.pi).cos() - y) / safe)  # + 0.0: no -0.0
        return gy * slope


def sinc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The normalized sinc, sin(pi x) / (pi x), and 1 at 0. Integer and bool tensors give float32."""
    return write_out("sinc", Sinc.apply_one(_float_input("sinc", input)), out)


class Angle(Op):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        return xp.where(x != x, x, xp.where(x < 0, x.dtype.type(math.pi), x.dtype.type(0)))  # NaN stays NaN

    @staticmethod
    def backward(ctx, gy):
        return gy * 0.0


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The argument of a complex number, in (-pi, pi]; of a real one: pi below 0, else 0 (NaN at NaN), with
    gradient 0, as PyTorch's. Integer tensors give float32."""
    if isinstance(input, Tensor) and input._array.dtype.kind == "c":
        return write_out("angle", angle_complex(input), out)
    return write_out("angle", Angle.apply_one(_float_input("angle", input)), out)


def ldexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """input * 2^other, in float. d/dinput = 2^other, d/dother = input 2^other ln 2."""
    return write_out("ldexp", mul(_float_input("ldexp", input), exp2(as_float(_tensor_input("ldexp", other, "other")))), out)


def heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The step function: 0 below 0, 1 above, ``values`` at 0 (and 0 at NaN, as PyTorch; NumPy's gives NaN).
    Not differentiable, as in PyTorch; both tensors must share a dtype."""
    refuse_complex("heaviside", input)
    x, v = _tensor_input("heaviside", input), _tensor_input("heaviside", values, "values")
    if x._array.dtype != v._array.dtype:
        raise DTypeError(f"heaviside: input and values must have one dtype, got {x.dtype} and {v.dtype}")
    xp = x._backend.xp
    step = xp.where(x._array == 0, v._array, (x._array > 0).astype(x._array.dtype))
    return write_out("heaviside", Tensor._make(xp.asarray(step, dtype=x._array.dtype), x._backend), out)


def _integer_pair(name: str, fn, input, other, out):
    a, b = promote_pair(_tensor_input(name, input), other)
    arrays = [t._array if isinstance(t, Tensor) else t for t in (a, b)]
    if any(getattr(v, "dtype", numpy.dtype(type(v))).kind not in "iub" for v in arrays):
        raise DTypeError(f"{name}: expects integer tensors, got {a.dtype}")
    result = getattr(a._backend.xp, fn)(*arrays)
    return write_out(name, Tensor._make(a._backend.xp.asarray(result, dtype=a._array.dtype), a._backend), out)


def gcd(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """The greatest common divisor of integers, elementwise (non-negative; 0 for two zeros)."""
    return _integer_pair("gcd", "gcd", input, other, out)


def lcm(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """The least common multiple of integers, elementwise (non-negative; 0 where either is 0)."""
    return _integer_pair("lcm", "lcm", input, other, out)


# Powers ---------------------------------------------------------------------------------------------
class Rsqrt(Op):
    @staticmethod
    def forward(ctx, x):
        xp, ufunc = ctx.xp, ctx.backend.ufunc
        y = math_map.apply("rsqrt", x) if xp is numpy else None  # large arrays in one pass over the threads
        if y is None:
            y = ufunc(xp.reciprocal, ufunc(xp.sqrt, x))  # the same bits
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return -0.5 * gy * y ** 3  # PyTorch's formula; y ** 3 is (y * y) * y, one pass when large


def rsqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """1 / sqrt(x). d/dx = -x^(-3/2) / 2."""
    return write_out("rsqrt", Rsqrt.apply_one(_float_input("rsqrt", input)), out)


class Reciprocal(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "f" and x.size >= _threads.PARALLEL_MIN_ELEMENTS:  # a large one over the threads
            y = ctx.backend.ufunc(ctx.xp.reciprocal, x)
        else:
            y = 1.0 / x  # (NumPy's reciprocal of an integer is an integer)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return -gy * conj_of(y * y)


def reciprocal(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """1 / x (float32 for integer inputs). d/dx = -1 / x^2."""
    return write_out("reciprocal", Reciprocal.apply_one(_float_input("reciprocal", input)), out)


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """x * x, in x's dtype (bool squares to int64, as PyTorch's pow(x, 2)). d/dx = 2x."""
    x = _tensor_input("square", input)
    if x._array.dtype.kind == "b":
        from .. import dtypes

        x = x.to(dtypes.int64)
    return write_out("square", mul(x, x), out)


# Special functions ----------------------------------------------------------------------------------
class Erf(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf.erf_array(ctx.xp, x, ctx.backend.ufunc)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _slope("erf", x, lambda x: _TWO_OVER_SQRT_PI * exp(-(x * x)))


def erf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The error function, 2/sqrt(pi) * integral of e^(-t^2) from 0 to x. d/dx = 2/sqrt(pi) e^(-x^2)."""
    return write_out("erf", Erf.apply_one(_float_input("erf", input)), out)


class Erfc(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf.erfc_array(ctx.xp, x, ctx.backend.ufunc)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * _slope("erfc", x, lambda x: -_TWO_OVER_SQRT_PI * exp(-(x * x)))


def erfc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """1 - erf(x), accurate where erf(x) is near 1. d/dx = -2/sqrt(pi) e^(-x^2)."""
    return write_out("erfc", Erfc.apply_one(_float_input("erfc", input)), out)


class Erfinv(Op):
    @staticmethod
    def forward(ctx, x):
        y = _erf.erfinv(ctx.xp, x, ctx.backend.ufunc)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * _slope("erfinv", y, lambda y: _HALF_SQRT_PI * exp(y * y))


def erfinv(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside). d/dx = sqrt(pi)/2 e^(erfinv(x)^2)."""
    return write_out("erfinv", Erfinv.apply_one(_float_input("erfinv", input)), out)


# Modified Bessel functions (gpugrad/_bessel.py) -------------------------------------------------------
class BesselI(Op):
    """I0 or I1 (``nu``), or their scaled forms e^-|x| I (``scaled``); derivatives in the same family."""

    @staticmethod
    def forward(ctx, x, nu=0, scaled=False):
        ctx.nu, ctx.scaled = nu, scaled
        y = _bessel.bessel(ctx.xp, nu, x, scaled)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        other = BesselI.apply(x, nu=1 - ctx.nu, scaled=ctx.scaled)
        if ctx.nu == 0:  # I0' = I1; (e^-|x| I0)' = i1e - sign(x) i0e
            slope = other - x.sign() * y if ctx.scaled else other
        else:  # I1' = I0 - I1 / x (1/2 at 0); (e^-|x| I1)' = i0e - i1e (sign(x) + 1/x)
            zero = x == 0
            over_x = where(zero, 0.0, y / where(zero, 1.0, x))
            slope = where(zero, 0.5, other - over_x - (x.sign() * y if ctx.scaled else 0.0))
        return gy * slope


def i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 0. d/dx = I1(x)."""
    return write_out("i0", BesselI.apply(_float_input("i0", input), nu=0), out)


# Floating-point representation ------------------------------------------------------------------------
Frexp = namedtuple("frexp", ["mantissa", "exponent"])


class FrexpMantissa(Op):
    """frexp's mantissa; its exponent, a constant for the gradient, is kept on ctx (``.exponent``)."""

    @staticmethod
    def forward(ctx, x):
        mantissa, exponent = ctx.xp.frexp(x)
        ctx.exponent = exponent.astype(numpy.int32)
        return mantissa

    @staticmethod
    def backward(ctx, gy):
        scale = ctx.xp.ldexp(ctx.xp.ones((), gy._array.dtype), -ctx.exponent)  # 2^-exponent (inf past the range, as PyTorch's)
        return gy * Tensor._make(scale, gy._backend)


def frexp(input: Tensor, *, out=None) -> Frexp:
    """(mantissa, exponent) with input = mantissa * 2^exponent, |mantissa| in [0.5, 1) (0 for 0; inf and
    NaN keep themselves, exponent 0); exponent int32. d mantissa / d input = 2^-exponent."""
    x = _tensor_input("frexp", input)
    if x._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"frexp: only supports floating-point dtypes, got {x.dtype}")
    mantissa = FrexpMantissa.apply(x)
    _, exponent = x._backend.xp.frexp(x._array)
    exponent = Tensor._make(exponent.astype(numpy.int32), x._backend)
    if out is not None:
        return Frexp(write_out("frexp", mantissa, out[0]), write_out("frexp", exponent, out[1]))
    return Frexp(mantissa, exponent)


class NextAfter(Op):
    @staticmethod
    def forward(ctx, a, b):
        return ctx.xp.asarray(ctx.xp.nextafter(a, b))

    @staticmethod
    def backward(ctx, gy):
        # one step of the float grid: d/dinput = 1, d/dother = 0 (a zero tensor, not None), as PyTorch's
        if not ctx.needs_input_grad[1]:
            return gy, None
        return gy, Tensor._make(gy._backend.xp.zeros(gy.shape, gy._array.dtype), gy._backend)


def nextafter(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """The next float after input in the direction of other, elementwise. d/dinput = 1, d/dother = 0
    (PyTorch's derivative)."""
    a, b = _pair("nextafter", input, other)
    if a._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"nextafter: expected floating point tensors, got {a.dtype}")
    return write_out("nextafter", NextAfter.apply(a, b), out)


# The gamma family (gpugrad/_gamma.py): each derivative is the next function of the family.
class Lgamma(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _gamma.lgamma(ctx.xp, x, ctx.backend.ufunc)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * digamma(x)


def lgamma(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """ln |Gamma(x)| (inf at 0 and the negative integers). d/dx = digamma(x)."""
    return write_out("lgamma", Lgamma.apply_one(_float_input("lgamma", input)), out)


class Digamma(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _gamma.digamma(ctx.xp, x, ctx.backend.ufunc)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * polygamma(1, x)


def digamma(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """psi(x) = d/dx ln Gamma(x) (-inf at +0, NaN at the negative integers). d/dx = polygamma(1, x)."""
    return write_out("digamma", Digamma.apply_one(_float_input("digamma", input)), out)


class Polygamma(Op):
    @staticmethod
    def forward(ctx, x, n=1):
        ctx.n = n
        ctx.save_for_backward(x)
        return _gamma.polygamma(ctx.xp, n, x, ctx.backend.ufunc)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * polygamma(ctx.n + 1, x)


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The n-th derivative of digamma (polygamma(0, x) is digamma). d/dx = polygamma(n + 1, x)."""
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 0:
        raise ArgumentError(f"polygamma: n must be a non-negative integer, got {n!r}")
    if n == 0:
        return digamma(input, out=out)
    return write_out("polygamma", Polygamma.apply(_float_input("polygamma", input), n=int(n)), out)


def mvlgamma(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma of dimension p: sum over i < p of lgamma(x - i/2), plus
    p (p - 1) / 4 ln(pi). d/dx = the sum of digamma(x - i/2)."""
    if isinstance(p, bool) or not isinstance(p, (int, numpy.integer)) or p < 1:
        raise ArgumentError(f"mvlgamma: p has to be greater than or equal to 1, got {p!r}")
    x = _float_input("mvlgamma", input)
    halves = Tensor._make(x._backend.xp.arange(p, dtype=x._array.dtype) * 0.5, x._backend)
    total = lgamma(x.unsqueeze(-1) - halves).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return write_out("mvlgamma", total, out)


# Rounding -------------------------------------------------------------------------------------------
# Piecewise constant: the gradient is 0 everywhere (PyTorch's convention at the jumps too), and an
# integer tensor is already rounded, so it comes back as a copy, in its own dtype.
def _integral_copy(name: str, x: Tensor) -> Tensor:
    if x._array.dtype.kind == "b":
        raise DTypeError(f"{name}: not implemented for bool tensors")
    return Tensor._make(x._array.copy(), x._backend)


class Floor(Op):
    @staticmethod
    def forward(ctx, x):
        return ctx.backend.ufunc(ctx.xp.floor, x)  # a large one over the threads (kernels/math_map)

    @staticmethod
    def backward(ctx, gy):
        return _zeros_like(gy)


def floor(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The largest integer <= x. d/dx = 0."""
    refuse_complex("floor", input)
    x = _tensor_input("floor", input)
    return write_out("floor", Floor.apply(x) if x._array.dtype.kind in FLOAT_KINDS else _integral_copy("floor", x), out)


class Ceil(Op):
    @staticmethod
    def forward(ctx, x):
        return ctx.backend.ufunc(ctx.xp.ceil, x)  # a large one over the threads (kernels/math_map)

    @staticmethod
    def backward(ctx, gy):
        return _zeros_like(gy)


def ceil(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The smallest integer >= x. d/dx = 0."""
    refuse_complex("ceil", input)
    x = _tensor_input("ceil", input)
    return write_out("ceil", Ceil.apply(x) if x._array.dtype.kind in FLOAT_KINDS else _integral_copy("ceil", x), out)


class Trunc(Op):
    @staticmethod
    def forward(ctx, x):
        return ctx.backend.ufunc(ctx.xp.trunc, x)  # a large one over the threads (kernels/math_map)

    @staticmethod
    def backward(ctx, gy):
        return _zeros_like(gy)


def trunc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """x rounded towards 0. d/dx = 0."""
    refuse_complex("trunc", input)
    x = _tensor_input("trunc", input)
    return write_out("trunc", Trunc.apply(x) if x._array.dtype.kind in FLOAT_KINDS else _integral_copy("trunc", x), out)


def fix(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``trunc``."""
    refuse_complex("fix", input)
    x = _tensor_input("fix", input)
    return write_out("fix", Trunc.apply(x) if x._array.dtype.kind in FLOAT_KINDS else _integral_copy("fix", x), out)


class Round(Op):
    @staticmethod
    def forward(ctx, x, decimals=0):
        xp = ctx.xp
        if decimals == 0:
            return ctx.backend.ufunc(xp.rint, x)
        # As PyTorch: scale by 10^|decimals|, round half to even, scale back, in x's dtype (float16 in
        # float32). A negative decimals divides first (x / 10 rounds 25 to 20), never multiplying by an
        # inexact 0.1.
        wide = x if x.dtype.itemsize >= 4 else x.astype(xp.float32)
        scale = wide.dtype.type(10.0 ** abs(decimals))
        y = xp.rint(wide * scale) / scale if decimals > 0 else xp.rint(wide / scale) * scale
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        return _zeros_like(gy)


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    """x rounded to ``decimals`` decimal places (negative: to tens, hundreds...), halves to even. d/dx = 0."""
    refuse_complex("round", input)
    x = _tensor_input("round", input)
    if abs(decimals) > 308:  # 10^decimals would overflow float64 (PyTorch's scale turns inf)
        raise ArgumentError(f"round: decimals={decimals} is out of range (|decimals| <= 308)")
    if x._array.dtype.kind in FLOAT_KINDS:
        result = Round.apply(x, decimals=int(decimals))
    elif decimals != 0:
        raise DTypeError(f"round: decimals={decimals} is not implemented for {x.dtype} tensors")
    else:
        result = _integral_copy("round", x)
    return write_out("round", result, out)


class Frac(Op):
    @staticmethod
    def forward(ctx, x):
        out = math_map.apply("frac", x) if ctx.xp is numpy else None  # a large one in one pass over the threads
        return x - ctx.xp.trunc(x) if out is None else out

    @staticmethod
    def backward(ctx, gy):
        return gy


def frac(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The fractional part x - trunc(x), with x's sign. d/dx = 1."""
    refuse_complex("frac", input)
    x = _tensor_input("frac", input)
    if x._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"frac: not implemented for {x.dtype} tensors")
    return write_out("frac", Frac.apply(x), out)


@lazy_ufunc(["float32(float32, float32)"])
def _hypot32(a, b):
    # in float64, where the squares are exact and nothing overflows (glibc's hypotf computes it so: its bits);
    # an infinite side gives inf even beside NaN, as C's hypot
    x = numpy.float64(a)
    y = numpy.float64(b)
    r = numpy.float32(math.sqrt(x * x + y * y))
    return numpy.float32(math.inf) if math.fabs(x) == math.inf or math.fabs(y) == math.inf else r


class Hypot(Op):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.xp is numpy and a.dtype == numpy.float32 and b.dtype == numpy.float32:
            y = ctx.backend.ufunc(_hypot32.ufunc(), a, b)  # one pass over the threads: NumPy's called libm
        else:
            y = ctx.xp.hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        ga = gy * a / y if ctx.needs_input_grad[0] else None
        gb = gy * b / y if ctx.needs_input_grad[1] else None
        return ga, gb


def hypot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sqrt(input^2 + other^2) without overflow. d/d input = input / hypot (NaN at (0, 0), as PyTorch)."""
    return write_out("hypot", Hypot.apply(*_floating_pair("hypot", input, other)), out)


# What this family exports; gpugrad.ops gathers it.
_ALIASES = (arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh, fix)
DIFFERENTIABLE = (
    tan, asin, acos, atan, atan2, sinh, cosh, asinh, acosh, atanh, log2, log10, exp2, expm1,
    logaddexp, logaddexp2, xlogy, rsqrt, reciprocal, square, erf, erfc, erfinv, lgamma, digamma, polygamma,
    mvlgamma, floor, ceil, trunc, round, frac, hypot, deg2rad, rad2deg, logit, ldexp, sinc, angle, frexp, i0,
    nextafter,
) + _ALIASES
FUNCTIONS = DIFFERENTIABLE + (heaviside, gcd, lcm)
METHODS = {f.__name__: f for f in FUNCTIONS}
# x.polygamma(n): the order comes first in torch.polygamma(n, x) but after self in the method.
METHODS.update(polygamma=lambda self, n: polygamma(n, self),
               polygamma_=inplace_variant(lambda self, n: polygamma(n, self), "polygamma_"))
INPLACE = tuple(f for f in FUNCTIONS if f not in (logaddexp, logaddexp2, polygamma, frexp))
