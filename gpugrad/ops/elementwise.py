"""Elementwise arithmetic and math: each op's forward, then its backward, then its public function.

Backward is written in Tensor ops, so it is differentiable itself; div's is an op of its own (DivBackward,
its derivative: both gradients in one kernel pass, and its own backward written out). Broadcasting needs no
code here: the engine sums each gradient back to its input's shape. Math functions take integer and bool
tensors too, computing in the default float dtype, as PyTorch does.
"""
from __future__ import annotations

import operator

import numpy

from .. import dtypes
from .. import threads as _threads
from .._lazy_ufunc import lazy_ufunc
from .._vmath_ufuncs import math_ufunc
from ..autograd.function import Function, Op, pair_applied, scalar_applied
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.reduced_float import FLOAT16_NP
from ..autograd.watch import state as _watch
from ..backend import BROADCAST_MIN_ELEMENTS
from ..backend import cpu as _cpu
from ..dtypes import FLOAT_KINDS, INEXACT_KINDS
from ..errors import (
    ArgumentError,
    DeviceError,
    DTypeError,
    ShapeError,
    broadcast_mismatch,
)
from ..kernels import _vmath
from ..kernels import activation as _piecewise
from ..kernels import arithmetic as kernels_arithmetic
from ..kernels import math_map
from ..kernels import select as kernels_select
from ..overrides import overridable
from ..tensor import Tensor
from ._operands import (
    as_float,
    check_scalar_fits,
    foreign_operand_to_python,
    hands_back,
    promote_pair,
    reflected,
    round_scalar_to_reduced,
    scalar_argument,
    scalar_or_tensor,
    takes_operand,
    write_out,
)
from .complex_numbers import abs_complex, conj_of, isreal_complex, real, refuse_complex
from .complex_numbers import sgn as sgn_complex
from .inplace import inplace_variant

# Two arrays with fewer elements between them are NumPy's operator's, whatever their shapes; from here
# the backend chooses (Backend.arithmetic: a kernel for some broadcasts). One cheap test on the hot path.
_LARGE = BROADCAST_MIN_ELEMENTS
_F32, _F64 = numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)  # identity tests: cheaper than a set lookup


def _const(like: Tensor, array) -> Tensor:
    """A result outside the graph (comparisons, predicates, integer results)."""
    return Tensor._make(like._backend.xp.asarray(array), like._backend)


def _zero_grad(gy: Tensor) -> Tensor:
    """The gradient of a piecewise-constant op: zeros, as PyTorch gives (not None, not gy * 0, which is NaN
    where gy is infinite)."""
    return _const(gy, gy._backend.xp.zeros_like(gy._array))


def _float_pair(a, b):
    """Promoted operands as floats when they are integer or bool (true division, copysign)."""
    t = a if isinstance(a, Tensor) else b
    if t._array.dtype.kind in INEXACT_KINDS:
        return a, b
    return tuple(v.to(dtypes.default_float) if isinstance(v, Tensor) else float(v) for v in (a, b))


def check_broadcast(name: str, *shapes) -> None:
    """Raise ShapeError naming the op and the shapes when they do not broadcast (for ops that reach the
    arrays without Function.apply, whose own check would do it). Shapes only: no device work."""
    try:
        numpy.broadcast_shapes(*shapes)
    except ValueError as exc:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(f"{name}: shapes {listed} do not broadcast ({broadcast_mismatch(shapes)})") from exc


def _is_bool(value) -> bool:
    return value.__class__ is bool or isinstance(value, Tensor) and value._array.dtype.kind == "b"


def _refuse_bool(name: str, x: Tensor, what: str, hint: str = "") -> None:
    if x._array.dtype.kind == "b":
        raise DTypeError(f"{name}: {what} is not supported on bool tensors" + (f"; {hint}" if hint else ""))


class Add(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        if a.__class__ is b.__class__:
            if a.size + b.size >= _LARGE:  # two arrays: maybe a broadcast kernel
                return ctx.backend.arithmetic(operator.add, a, b)
        elif (a.__class__ is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS
              or b.__class__ is numpy.ndarray and b.size >= _threads.PARALLEL_MIN_ELEMENTS):
            return ctx.backend.arithmetic(operator.add, a, b)  # with a number: a large array's on the threads
        return a + b

    @staticmethod
    def backward(ctx, gy):
        return gy, gy


def add(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """input + alpha * other. d/dinput = 1, d/dother = alpha."""
    if alpha.__class__ is not int and alpha.__class__ is not float:
        alpha = scalar_argument("add", "alpha", alpha)
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote_pair(input, other)
    if a.__class__ is float or b.__class__ is float:
        a, b = round_scalar_to_reduced(a, b)
    result = Add.apply_pair(a, b)  # apply itself for a number or an unusual pair
    return result if out is None else write_out("add", result, out)


class Sub(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        if a.__class__ is b.__class__:
            if a.size + b.size >= _LARGE:  # two arrays: maybe a broadcast kernel
                return ctx.backend.arithmetic(operator.sub, a, b)
        elif (a.__class__ is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS
              or b.__class__ is numpy.ndarray and b.size >= _threads.PARALLEL_MIN_ELEMENTS):
            return ctx.backend.arithmetic(operator.sub, a, b)  # with a number: a large array's on the threads
        return a - b

    @staticmethod
    def backward(ctx, gy):
        # -gy only where it is asked for: x - 1.5 needs no pass over gy for the number
        return gy, (-gy if ctx.needs_input_grad[1] else None)


def sub(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """input - alpha * other. d/dinput = 1, d/dother = -alpha."""
    if _is_bool(input) or _is_bool(other):  # before promotion, which would turn bool - int into int64 - int
        raise DTypeError("sub: subtraction (the `-` operator) with a bool is not supported; use `^` or "
                         "logical_xor() instead")
    if alpha.__class__ is not int and alpha.__class__ is not float:
        alpha = scalar_argument("sub", "alpha", alpha)
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote_pair(input, other)
    if a.__class__ is float or b.__class__ is float:
        a, b = round_scalar_to_reduced(a, b)
    result = Sub.apply_pair(a, b)  # apply itself for a number or an unusual pair
    return result if out is None else write_out("sub", result, out)


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input (sub with the operands swapped)."""
    return sub(other, input, alpha=alpha)


def subtract(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """Alias of ``sub``."""
    return sub(input, other, alpha=alpha, out=out)


class Mul(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(b if need_a else None, a if need_b else None)
        if a.__class__ is b.__class__:
            if a.size + b.size >= _LARGE:  # two arrays: maybe a broadcast kernel
                return ctx.backend.arithmetic(operator.mul, a, b)
        elif (a.__class__ is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS
              or b.__class__ is numpy.ndarray and b.size >= _threads.PARALLEL_MIN_ELEMENTS):
            return ctx.backend.arithmetic(operator.mul, a, b)  # with a number: a large array's on the threads
        return a * b

    @staticmethod
    def backward(ctx, gy):
        b, a = ctx.saved_tensors
        if gy._array.dtype.kind == "c":  # complex: d(ab)/da = b, and the gradient takes conj(b)
            b, a = conj_of(b), conj_of(a)
        return (gy * b if b is not None else None), (gy * a if a is not None else None)


def mul(input, other, *, out: Tensor | None = None) -> Tensor:
    """input * other. d/dinput = other, d/dother = input."""
    a, b = promote_pair(input, other)
    result = Mul.apply_pair(a, b)  # apply itself for a number or an unusual pair
    return result if out is None else write_out("mul", result, out)


def multiply(input, other, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``mul``."""
    return mul(input, other, out=out)


def number_over(a, b):
    """``a / b`` as PyTorch computes it: for a Python number ``a`` over floating ``b`` (``Tensor.__rtruediv__``),
    ``b.reciprocal() * a``, which in float32 may be an ulp from the rounded quotient (``0.2 / x``);
    libraries compare results with PyTorch's exactly."""
    if (a.__class__ is float or a.__class__ is int) and b.dtype.kind in "fc":
        if b.__class__ is numpy.ndarray and b.size >= _threads.PARALLEL_MIN_ELEMENTS:  # each pass over the threads
            return _cpu.arithmetic(operator.mul, _cpu.arithmetic(operator.truediv, 1, b), a)
        return (1 / b) * a
    return a / b


class DivBackward(Op):
    """div's gradients ga = gy / b and gb = -((ga * a) / b) (conjugated operands for complex ones), in one
    pass where gy, a and b are arrays of one shape (gpugrad.kernels.arithmetic), else as those operations.
    ``a`` is None where b needs no gradient (div saved none), and gb is then None; a or b may be a number."""

    name = "div_backward"
    complex_ok = True

    @staticmethod
    def forward(ctx, gy, a, b):
        ctx.save_for_backward(gy, a, b)
        if gy.dtype.kind == "c":  # complex: the conjugates of the derivatives
            a = None if a is None else a.conjugate()
            b = b.conjugate()
        elif gy.size < _LARGE:  # NumPy's operators (the kernel's reference) cost less than its launcher here
            return (gy / b, None) if a is None else kernels_arithmetic.reference_div_backward(ctx.xp, gy, a, b)
        elif a.__class__ is gy.__class__ and b.__class__ is gy.__class__ and a.shape == gy.shape == b.shape:
            return kernels_arithmetic.div_backward(ctx.xp, gy, a, b, impl=ctx.backend.kernel_impl,
                                                   split=_threads.split)
        backend = ctx.backend
        ga = backend.arithmetic(operator.truediv, gy, b)  # b an array or a number
        if a is None:
            return ga, None
        return ga, backend.ufunc(ctx.xp.negative,
                                 backend.arithmetic(operator.truediv, backend.arithmetic(operator.mul, ga, a), b))

    @staticmethod
    def backward(ctx, gga, ggb):
        # The forward's outputs differentiated in its inputs (the same for complex ones, with the conjugates
        # the chain rule gives: an operand conjugated in the forward is conjugated back in its gradient).
        gy, a, b = ctx.saved_tensors
        need_gy, need_a, need_b = ctx.needs_input_grad
        cb = conj_of(b)
        g_gy = g_a = g_b = None
        if gga is not None:  # ga = gy / cb
            if need_gy:
                g_gy = gga / b
            if need_b:
                g_b = -(conj_of(gga) * gy) / (cb * cb)
        if ggb is not None and a is not None:  # gb = -gy ca / cb^2 (None without a: zeros materialized)
            if need_gy:
                term = -(ggb * a) / (b * b)
                g_gy = term if g_gy is None else g_gy + term
            if need_a:
                g_a = -(conj_of(ggb) * gy) / (cb * cb)
            if need_b:
                term = 2.0 * conj_of(ggb) * gy * conj_of(a) / (cb * cb * cb)
                g_b = term if g_b is None else g_b + term
        return g_gy, g_a, g_b


class Div(Op):
    complex_ok = True
    derivative = DivBackward

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        if a.__class__ is b.__class__ and a.size + b.size >= _LARGE:  # two arrays: maybe a broadcast kernel
            return ctx.backend.arithmetic(operator.truediv, a, b)
        if a.__class__ is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS:  # over a number: the threads
            return ctx.backend.arithmetic(operator.truediv, a, b)
        return number_over(a, b)


def _check_integer_divisor(name: str, a, b) -> None:
    """Integer division by zero is an error in PyTorch (on the CPU), not a silent 0 as in NumPy."""
    kind = (a if isinstance(a, Tensor) else b)._array.dtype.kind
    if kind == "b":
        raise DTypeError(f"{name}: integer division is not implemented for bool tensors")
    if kind in "iu":
        divisor = b._array if isinstance(b, Tensor) else b
        if bool((divisor == 0).any()) if isinstance(b, Tensor) else divisor == 0:
            raise ArgumentError(f"{name}: ZeroDivisionError: integer division by zero")


def _trunc_divide(xp, a, b):
    if xp.result_type(a, b).kind in FLOAT_KINDS:
        return xp.trunc(a / b)
    quotient = xp.floor_divide(a, b)  # floor, one too low where the exact quotient is negative and not whole
    inexact_negative = (xp.remainder(a, b) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
    return xp.where(inexact_negative, quotient + 1, quotient)


class DivRounded(Op):
    """input / other rounded toward zero ("trunc") or down ("floor"). Piecewise constant: zero gradient."""

    name = "div"

    @staticmethod
    def forward(ctx, a, b, mode="floor"):
        xp = ctx.xp
        return xp.floor_divide(a, b) if mode == "floor" else _trunc_divide(xp, a, b)

    @staticmethod
    def backward(ctx, gy):
        return tuple(_zero_grad(gy) if need else None for need in ctx.needs_input_grad)


_ROUNDING_MODES = (None, "trunc", "floor")


def _divide(name: str, input, other, rounding_mode, out):
    if rounding_mode not in _ROUNDING_MODES:
        raise ArgumentError(
            f"{name}: expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
        )
    a, b = promote_pair(input, other)
    if rounding_mode is None:
        result = Div.apply_pair(*_float_pair(a, b))  # apply itself for a number or an unusual pair
        return result if out is None else write_out(name, result, out)
    _check_integer_divisor(name, a, b)
    return write_out(name, DivRounded.apply(a, b, mode=rounding_mode), out)


def div(input, other, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """input / other: true division (integer inputs give float32), or rounded with rounding_mode "trunc"
    (toward zero) or "floor" (down), which keep integer dtypes. d/dinput = 1/other, d/dother =
    -input/other^2; zero when rounded."""
    return _divide("div", input, other, rounding_mode, out)


def divide(input, other, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """Alias of ``div``."""
    return _divide("divide", input, other, rounding_mode, out)


def true_divide(dividend, divisor, *, out: Tensor | None = None) -> Tensor:
    """dividend / divisor, always true division (``div`` without rounding)."""
    return _divide("true_divide", dividend, divisor, None, out)


def floor_divide(input, other, *, out: Tensor | None = None) -> Tensor:
    """input // other, rounded down (as Python's //). Has no derivative in PyTorch, so it refuses inputs
    that require grad; ``div(..., rounding_mode="floor")`` is the differentiable (zero-gradient) form."""
    operands = [v for v in (input, other) if isinstance(v, Tensor)]
    if is_grad_enabled() and any(v.requires_grad for v in operands):
        raise RuntimeError("floor_divide: the derivative of floor_divide is not implemented (as in PyTorch); "
                           "use div(input, other, rounding_mode='floor'), whose gradient is zero")
    return _divide("floor_divide", input, other, "floor", out)


def _remainder_composite(xp, a, b):
    mod = xp.fmod(a, b)
    # PyTorch's rule (also for floats, where NumPy's differs at -0.0): move a remainder whose sign differs from
    # the divisor's into the divisor's sign by adding the divisor.
    wrong_sign = (mod != 0) & ((xp.asarray(b) < 0) != (mod < 0))
    return xp.where(wrong_sign, mod + b, mod)


class Fmod(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        # float32 in one pass over the threads (kernels/math_map: NumPy's fmod called libm per element)
        out = math_map.apply_pair("fmod", a, b) if ctx.xp is numpy else None
        return ctx.xp.fmod(a, b) if out is None else out

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gy if ctx.needs_input_grad[0] else None
        gb = -gy * div(a, b, rounding_mode="trunc") if ctx.needs_input_grad[1] else None
        return ga, gb


def fmod(input, other, *, out: Tensor | None = None) -> Tensor:
    """C's fmod: input - trunc(input/other) * other, with the sign of input. d/dinput = 1,
    d/dother = -trunc(input/other)."""
    a, b = promote_pair(input, other)
    _check_integer_divisor("fmod", a, b)
    return write_out("fmod", Fmod.apply(a, b), out)


class Remainder(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        out = math_map.apply_pair("remainder", a, b) if ctx.xp is numpy else None  # as Fmod's
        return _remainder_composite(ctx.xp, a, b) if out is None else out

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gy if ctx.needs_input_grad[0] else None
        gb = -gy * div(a, b, rounding_mode="floor") if ctx.needs_input_grad[1] else None
        return ga, gb


def remainder(input, other, *, out: Tensor | None = None) -> Tensor:
    """Python's %: input - floor(input/other) * other, with the sign of other. d/dinput = 1,
    d/dother = -floor(input/other)."""
    a, b = promote_pair(input, other)
    _check_integer_divisor("remainder", a, b)
    return write_out("remainder", Remainder.apply(a, b), out)


def _integer_power(xp, a, b):
    """a ** b on integers as PyTorch (and C) computes it: a negative exponent gives 0, except for the bases
    1 and -1. (NumPy refuses negative integer exponents.)"""
    negative = xp.asarray(b) < 0
    if not bool(negative.any()):
        return a**b
    unit = xp.where(xp.asarray(b) % 2 == 0, 1, xp.where(a == -1, -1, 1))
    inverse = xp.where((a == 1) | (a == -1), unit, 0)
    return xp.where(negative, inverse, a ** xp.where(negative, 0, b)).astype(xp.result_type(a, b))


def _square(x, out=None):
    return x * x if out is None else numpy.multiply(x, x, out=out)


def _cube(x, out=None):
    out = x * x if out is None else numpy.multiply(x, x, out=out)
    out *= x
    return out


def _inverse_square(x, out=None):
    if out is None:
        return 1 / (x * x)
    numpy.multiply(x, x, out=out)
    return numpy.divide(1, out, out=out)


def _reciprocal(x, out=None):
    return 1 / x if out is None else numpy.divide(1, x, out=out)


def _sqrt(x, out=None):
    return x**0.5 if out is None else numpy.sqrt(x, out=out)  # NumPy's ** 0.5 is its sqrt


def _rsqrt(x, out=None):
    if out is None:
        return 1 / x**0.5
    numpy.sqrt(x, out=out)
    return numpy.divide(1, out, out=out)


# PyTorch's CPU pow with a number exponent (aten/src/ATen/native/cpu/PowKernel.cpp) computes these
# exponents as products, sqrt and divisions, each rounded in the tensor's dtype: x ** 3 is (x * x) * x,
# not the correctly rounded cube libm's pow gives (within an ulp of it, and 20x faster than NumPy's powf).
_POWERS = {2: _square, 3: _cube, -2: _inverse_square, -1: _reciprocal, 0.5: _sqrt, -0.5: _rsqrt}
_POWER_NAMES = {2: "square", 3: "cube", -2: "inverse_square", -1: "reciprocal", 0.5: "sqrt", -0.5: "rsqrt"}


def _power(a, b):
    """``a ** b`` on arrays, as PyTorch computes it: for a float32 or float64 array and a Python number
    exponent 2, 3, -2, -1, 0.5 or -0.5, PyTorch's products, sqrt and divisions (_POWERS); a large NumPy
    array's on the threads (the same bits: those in one pass, kernels/math_map.py)."""
    fn = None
    if (b.__class__ is int or b.__class__ is float) and (a.dtype is _F32 or a.dtype is _F64):
        fn = _POWERS.get(b)
    if a.__class__ is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS:
        out = None if fn is None else math_map.apply(_POWER_NAMES[b], a)
        if out is None:
            out = _threads.ufunc(fn, (a,)) if fn is not None else _threads.ufunc(numpy.power, (a, b))
        if out is not None:
            return out
    return a**b if fn is None else fn(a)


class Pow(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        if a.dtype.kind in "iub":
            y = _integer_power(xp, a, b)
        else:
            # 0 ** negative is inf, as in PyTorch (backward meets it at 0)
            y = _power(a, b)
        ctx.save_for_backward(a, b, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):
                # PyTorch's rule: a zero exponent gives a zero gradient, even at a = 0 (where b a^(b-1) is 0 * inf).
                ga = where(b == 0, 0.0, gy * conj_of(b * a ** (b - 1)))
            elif b == 0:
                ga = _zero_grad(gy)
            else:  # PyTorch's grad * (b * a^(b-1)); a^1 is a itself
                ga = gy * conj_of(b * (a if b == 2 else a ** (b - 1)))
        if ctx.needs_input_grad[1]:
            if y._array.dtype.kind == "c":  # no order on complex exponents: 0 wherever the base is 0
                gb = gy * conj_of(where(a == 0, 0.0, y * log(a)))
            else:  # PyTorch's rule: where the base is 0 and the exponent non-negative, the gradient is 0.
                gb = gy * where((a == 0) & (b >= 0), 0.0, y * log(a))
        return ga, gb


def pow(input, exponent, *, out: Tensor | None = None) -> Tensor:
    """input ** exponent. d/dinput = exponent input^(exponent-1) (0 where exponent = 0),
    d/dexponent = input^exponent log(input) (0 where input = 0 and exponent >= 0)."""
    a, b = promote_pair(input, exponent)
    if not isinstance(a, Tensor):  # a scalar base becomes a 0-d tensor so the Function has one shape
        a = Tensor._make(b._backend.xp.asarray(a, dtype=b._array.dtype), b._backend)
    if isinstance(b, Tensor) and b._array.dtype.kind == "b":
        raise DTypeError("pow: not implemented for bool tensors (base and exponent both bool)")
    if a._array.dtype.kind == "b" and type(b) is bool:  # as PyTorch: x ** True is x, x ** False all True
        return write_out("pow", _const(a, a._array | (not b)), out)
    if a._array.dtype.kind in "iu" and type(b) is int and b < 0:
        raise ArgumentError(f"pow: integers to negative integer powers are not allowed (exponent {b})")
    return write_out("pow", Pow.apply(a, b), out)


class Neg(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        if x.size >= _threads.PARALLEL_MIN_ELEMENTS:  # a large one over the threads (Backend.ufunc)
            return ctx.backend.ufunc(ctx.xp.negative, x)
        return -x

    @staticmethod
    def backward(ctx, gy):
        return -gy


def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """-input. d/dinput = -1."""
    _refuse_bool("neg", input, "negation (the `-` operator)", "use `~` or logical_not() to invert a mask")
    result = Neg.apply_one(input)
    return result if out is None else write_out("neg", result, out)


def negative(input: Tensor) -> Tensor:
    """Alias of ``neg``."""
    return neg(input)


class Abs(Op):
    """|x|, the array library's (over the threads for a large one); for float32 and float64 the backward
    (gy * sign(x)) is one kernel pass (kernels.activation's piecewise family), where sign alone took four
    NumPy passes."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(ctx.xp.abs, x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        if x._array.dtype is _F32 or x._array.dtype is _F64:
            from .activation import PiecewiseBackward

            return PiecewiseBackward.apply(gy, x, kind="abs")
        return gy * sign(x)


def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """|input|. d/dinput = sign(input) (0 at 0, as PyTorch); a complex input's modulus, d/dz = z / |z|."""
    _refuse_bool("abs", input, "abs")
    result = abs_complex(input) if input._array.dtype.kind == "c" else Abs.apply_one(input)
    return result if out is None else write_out("abs", result, out)


def absolute(input: Tensor) -> Tensor:
    """Alias of ``abs``."""
    return abs(input)


@lazy_ufunc(["float32(float32, float32, float32)", "float64(float64, float64, float64)"])
def _fused_multiply_add(a, b, c):
    return _vmath.fma(a, b, c)


class AddCMul(Op):
    """input + value * tensor1 * tensor2 as PyTorch's CPU kernel rounds it: value * tensor1 once, then one
    fused multiply-add (its vector loop's a + b * c, which the compiler fuses). Three CPU tensors of one float
    dtype; CuPy's own a + b * c elsewhere. d/dinput = 1, d/dtensor1 = value * tensor2, d/dtensor2 =
    value * tensor1, in PyTorch's order."""

    @staticmethod
    def applies(input: Tensor, tensor1: Tensor, tensor2: Tensor) -> bool:
        dtype = input._array.dtype
        return ((dtype is _F32 or dtype is _F64) and all(
            isinstance(t, Tensor) and t._array.dtype is dtype and t._backend is input._backend for t in (tensor1, tensor2)))

    @staticmethod
    def forward(ctx, x, t1, t2, value=1):
        need_t1, need_t2 = ctx.needs_input_grad[1:3]
        ctx.value = value
        ctx.save_for_backward(t1 if need_t2 else None, t2 if need_t1 else None)
        scaled = t1 if value == 1 else t1 * value  # value in the dtype (NEP 50), as PyTorch's scalar
        if ctx.xp is numpy:
            return ctx.backend.ufunc(_fused_multiply_add.ufunc(), scaled, t2, x)
        return x + scaled * t2

    @staticmethod
    def backward(ctx, gy):
        t1, t2 = ctx.saved_tensors
        need_x, need_t1, need_t2 = ctx.needs_input_grad[:3]
        value = ctx.value
        return (gy if need_x else None, gy * (t2 * value) if need_t1 else None,
                gy * (t1 * value) if need_t2 else None)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out: Tensor | None = None) -> Tensor:
    """input + value * tensor1 * tensor2 (the optimizers' idiom, as ``p.addcmul_(g, g, value=1 - beta)``)."""
    value = scalar_argument("addcmul", "value", value)
    if isinstance(value, float) and not any(_is_float(t) for t in (input, tensor1, tensor2)):
        raise DTypeError("addcmul: for integer tensors, value must not be a floating point number (as in PyTorch)")
    if isinstance(input, Tensor) and AddCMul.applies(input, tensor1, tensor2) and not isinstance(value, complex):
        return write_out("addcmul", AddCMul.apply(input, tensor1, tensor2, value=value), out)
    return write_out("addcmul", add(input, mul(mul(tensor1, tensor2), value)), out)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out: Tensor | None = None) -> Tensor:
    """input + value * tensor1 / tensor2. Two integer tensors are refused, as PyTorch (no integer division)."""
    value = scalar_argument("addcdiv", "value", value)
    if not (_is_float(tensor1) or _is_float(tensor2)):
        raise DTypeError("addcdiv: integer division with addcdiv is not supported (as in PyTorch); use "
                         "addcmul(input, tensor1, 1 / tensor2) or cast to float first")
    return write_out("addcdiv", add(input, mul(div(tensor1, tensor2), value)), out)


def _is_float(value) -> bool:
    return value._array.dtype.kind in INEXACT_KINDS if isinstance(value, Tensor) else isinstance(value, (float, complex))


def float_power(input, exponent, *, out: Tensor | None = None) -> Tensor:
    """input ** exponent computed in float64, or complex128 when either is complex (either may be a
    number), as PyTorch's float_power."""
    complex_ = any(v.dtype.is_complex if isinstance(v, Tensor) else isinstance(v, complex) for v in (input, exponent))
    wide = dtypes.complex128 if complex_ else dtypes.float64
    number = complex if complex_ else float
    base = input.to(wide) if isinstance(input, Tensor) else number(input)
    power = exponent.to(wide) if isinstance(exponent, Tensor) else number(exponent)
    if not isinstance(base, Tensor) and not isinstance(power, Tensor):
        raise TypeError("float_power: expected at least one Tensor argument")
    return write_out("float_power", pow(base, power), out)


def fmax(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise max ignoring NaN (NaN only where both are). The gradient goes to input where it is
    picked (ties included) and to other elsewhere, as PyTorch's."""
    _both_tensors("fmax", input, other)
    return write_out("fmax", where(isnan(other) | (input >= other), input, other), out)


def fmin(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise min ignoring NaN (NaN only where both are); the gradient as fmax's."""
    _both_tensors("fmin", input, other)
    return write_out("fmin", where(isnan(other) | (input <= other), input, other), out)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of ``elements`` is among ``test_elements`` (either may be a number)."""
    like = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(like, Tensor):
        raise TypeError("isin: expected at least one Tensor argument")
    xp = like._backend.xp
    values = [v._array if isinstance(v, Tensor) else xp.asarray(v) for v in (elements, test_elements)]
    return _const(like, xp.isin(values[0], values[1], assume_unique=assume_unique, invert=invert))


class Sign(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()
        # PyTorch's (0 < x) - (x < 0): NaN and -0.0 give 0 (NumPy's sign keeps NaN); a large float one in
        # one pass over the threads
        out = math_map.apply("sign", x) if ctx.xp is numpy else None
        return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype) if out is None else out

    @staticmethod
    def backward(ctx, gy):
        return _zero_grad(gy)


def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """-1, 0 or 1 (bool stays bool). d/dinput = 0: in the graph, so gradients through it are zeros."""
    refuse_complex("sign", input)  # PyTorch's sgn is sign's complex extension
    return write_out("sign", Sign.apply(input), out)


def sgn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sign, extended to complex numbers: z / |z| (0 at 0); on real tensors it is ``sign``, d/dinput = 0."""
    return write_out("sgn", sgn_complex(input) if input._array.dtype.kind == "c" else Sign.apply(input), out)


class Copysign(Op):
    @staticmethod
    def forward(ctx, a, b):
        y = ctx.xp.copysign(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[0] else None, y if ctx.needs_input_grad[0] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, y = ctx.saved_tensors
        # y / a is +-1 (PyTorch's ratio), and 0 where a is 0; sign() keeps it out of second derivatives.
        ga = gy * where(a == 0, 0.0, sign(a) * sign(y)) if ctx.needs_input_grad[0] else None
        gb = _zero_grad(gy) if ctx.needs_input_grad[1] else None
        return ga, gb


def copysign(input, other, *, out: Tensor | None = None) -> Tensor:
    """|input| with the sign of other (-0.0 counts as negative); always float. d/dinput = +-1 (0 at 0),
    d/dother = 0."""
    a, b = _float_pair(*promote_pair(input, other))
    return write_out("copysign", Copysign.apply(a, b), out)


@lazy_ufunc(["float32(float32, float32, float32)", "float64(float64, float64, float64)"])
def _lerp_from_start(start, end, weight):
    return start + weight * (end - start)


@lazy_ufunc(["float32(float32, float32, float32)", "float64(float64, float64, float64)"])
def _lerp_from_end(start, end, weight_complement):
    return end - (end - start) * weight_complement


class Lerp(Op):
    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight)
        xp = ctx.xp
        # PyTorch's two-sided formula: exact at weight 0 and at weight 1.
        if weight.__class__ is float:  # one side for all elements: only that one computed, no where
            low = -0.5 < weight < 0.5  # (abs is this module's tensor function)
            if (xp is numpy and start.shape == end.shape and start.dtype is end.dtype
                    and (start.dtype is _F32 or start.dtype is _F64)):
                # one pass (over the threads when large) where NumPy took three: each operation rounded in
                # the dtype as NumPy's (the weight as the dtype, NEP 50), so the same bits
                fn = (_lerp_from_start if low else _lerp_from_end).ufunc()
                return ctx.backend.ufunc(fn, start, end, weight if low else 1 - weight)
            diff = end - start
            if low:
                return start + weight * diff
            return end - diff * (1 - weight)
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    @staticmethod
    def backward(ctx, gy):
        start, end, weight = ctx.saved_tensors
        need_start, need_end, need_weight = ctx.needs_input_grad
        return (
            gy * (1 - weight) if need_start else None,
            gy * weight if need_end else None,
            gy * (end - start) if need_weight else None,
        )


def lerp(input: Tensor, end: Tensor, weight, *, out: Tensor | None = None) -> Tensor:
    """input + weight (end - input), weight a number or a tensor. d/dinput = 1 - weight,
    d/dend = weight, d/dweight = end - input."""
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp: argument 'end' must be a Tensor, not {type(end).__name__}")
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"lerp: expected a floating point tensor, got {input.dtype}")
    for label, value in (("end", end), ("weight", weight)):
        if isinstance(value, Tensor) and value._array.dtype != input._array.dtype:
            raise DTypeError(f"lerp: expected dtype {input.dtype.name} for `{label}` but got dtype {value.dtype.name}")
    if not isinstance(weight, Tensor):
        weight = float(weight)
    return write_out("lerp", Lerp.apply(input, end, weight), out)


@lazy_ufunc(["float32(float32, float32)", "float64(float64, float64)"])
def _squared_difference(x, t):
    d = x - t
    return d * d


@lazy_ufunc(["float32(float32, float32, float32)", "float64(float64, float64, float64)"])
def _squared_difference_grad(x, t, g):
    p = g * (x - t)
    return p + p


class SquaredDifference(Op):
    """(input - target)**2 for two CPU float32 or float64 tensors of one shape: forward and backward one pass
    each (over the threads when large) where the composite d = input - target, d * d took two and its
    backward g d + g d three; the same operations in the dtype, so the same values bit for bit. A graph of
    the backward takes Tensor ops (the same values again)."""

    @staticmethod
    def applies(input: Tensor, target: Tensor) -> bool:
        a, b = input._array, target._array
        return (input._backend.xp is numpy and type(a) is numpy.ndarray and type(b) is numpy.ndarray
                and (a.dtype is _F32 or a.dtype is _F64) and b.dtype is a.dtype and a.shape == b.shape)

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        return ctx.backend.ufunc(_squared_difference.ufunc(), x, t)

    @staticmethod
    def backward(ctx, gy):
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad
        if is_grad_enabled() or gy._array.dtype is not x._array.dtype:
            p = gy * (x - t)
            g = p + p
        else:
            g = gy._array
            if g.size and not any(g.strides):  # one value broadcast (a mean's or sum's gradient): pass it as
                g = float(g[(0,) * g.ndim])     # a number (exact in the dtype), not a stride-0 operand
            g = Tensor._make(ctx.backend.ufunc(_squared_difference_grad.ufunc(), x._array, t._array, g), x._backend)
        return (g if need_x else None), (-g if need_t else None)


def squared_difference(input: Tensor, target: Tensor) -> Tensor:
    """(input - target)**2 elementwise, one pass each way for two float tensors of one shape on the CPU
    (the composite's values); other operands take the composite. d/dinput = 2 (input - target) =
    -d/dtarget."""
    if SquaredDifference.applies(input, target):
        return SquaredDifference.apply(input, target)
    diff = input - target
    return diff * diff


class NanToNum(Op):
    name = "nan_to_num"

    @staticmethod
    def forward(ctx, x, nan=0.0, posinf=None, neginf=None):
        xp = ctx.xp
        ctx.save_for_backward(xp.isfinite(x) if ctx.needs_input_grad[0] else None)
        if xp is numpy and x.dtype == numpy.float32 and x.flags.c_contiguous and x.size >= _LARGE:
            # one pass over the threads (kernels/math_map), where NumPy's copied and made three masks
            top = numpy.finfo(numpy.float32).max
            return math_map.apply_with_numbers("nan_to_num", x, nan, top if posinf is None else posinf, None,
                                               -top if neginf is None else neginf)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, gy):
        (finite,) = ctx.saved_tensors
        return where(finite, gy, 0.0)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None,
               *, out: Tensor | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by nan, posinf and neginf (default: 0 and the dtype's largest and lowest
    finite values). d/dinput = 1 where input is finite, 0 where it was replaced."""
    if input._array.dtype.kind not in FLOAT_KINDS:  # integers and bools have nothing to replace
        return write_out("nan_to_num", _const(input, input._array.copy()), out)
    return write_out("nan_to_num", NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf), out)


def _math(name: str, fn: Function, doc: str):
    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        result = fn.apply_one(as_float(input))
        return result if out is None else write_out(name, result, out)

    op.__name__ = name
    op.__doc__ = doc
    return op


class Exp(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        # float32 on the CPU: within 1 ulp (gpugrad/_vmath_ufuncs.py), where NumPy's SIMD loop is 2.4 ulp off
        y = ctx.backend.ufunc(math_ufunc(ctx.xp, "exp", x.dtype), x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * conj_of(y)


exp = _math("exp", Exp, "e^input. d/dinput = e^input.")


class Log(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # float32 on the CPU: vectorised, within 1 ulp (gpugrad/_vmath_ufuncs.py), where NumPy's is 2.4x slower
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "log", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / conj_of(x)


log = _math("log", Log, "Natural logarithm. d/dinput = 1/input.")


class Log1p(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "log1p", x.dtype), x)  # float32 on the CPU: vectorised

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x + 1.0)


log1p = _math("log1p", Log1p, "log(1 + input), accurate near 0. d/dinput = 1/(1 + input).")


class Sqrt(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.backend.ufunc(ctx.xp.sqrt, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy / (2.0 * conj_of(y))


sqrt = _math("sqrt", Sqrt, "Square root. d/dinput = 1 / (2 sqrt(input)).")


class Sin(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # float32 on the CPU: vectorised, within 1 ulp (gpugrad/_vmath_ufuncs.py; 0.76 measured), where NumPy's
        # AVX2 loop is 1.4 ulp off and slower per thread; over the threads in every real dtype (the same bits)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "sin", x.dtype), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        if _TrigTimes.applies(x, gy):
            return _TrigTimes.apply(x, gy, shift=1)
        return gy * conj_of(cos(x))


sin = _math("sin", Sin, "sin(input). d/dinput = cos(input).")


class _TrigTimes(Op):
    """g sin(x + shift pi/2) for float32 x and g on the CPU, in one pass: sin's backward g cos x (shift 1)
    and cos's -g sin x (shift 2), the same bits as the slope and the product in two passes."""

    @staticmethod
    def applies(x: Tensor, gy: Tensor) -> bool:
        return x._backend.xp is numpy and x._array.dtype is _F32 and gy._array.dtype is _F32 and gy.shape == x.shape

    @staticmethod
    def forward(ctx, x, gy, shift=1):
        ctx.shift = shift
        ctx.save_for_backward(x, gy)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "times_cos" if shift == 1 else "times_neg_sin", x.dtype), x, gy)

    @staticmethod
    def backward(ctx, g):
        x, gy = ctx.saved_tensors
        # d/dx g sin(x + s pi/2) = g sin(x + (s + 1) pi/2): -g sin x for s = 1, -g cos x for s = 2
        slope, next_slope = (cos(x), -sin(x)) if ctx.shift == 1 else (-sin(x), -cos(x))
        need_x, need_gy = ctx.needs_input_grad
        return (g * gy * next_slope if need_x else None, g * slope if need_gy else None)


class Cos(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.ufunc(math_ufunc(ctx.xp, "cos", x.dtype), x)  # as sin's

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        if _TrigTimes.applies(x, gy):
            return _TrigTimes.apply(x, gy, shift=2)
        return -gy * conj_of(sin(x))


cos = _math("cos", Cos, "cos(input). d/dinput = -sin(input).")


class Clamp(Op):
    """x limited to [min, max] (numbers; None for no bound). For float32 and float64 forward and backward
    are one kernel pass each (kernels.activation's piecewise "clamp"), saving x; other dtypes save a mask."""

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        xp = ctx.xp
        bounds = (-numpy.inf if min is None else min, numpy.inf if max is None else max)
        if (x.dtype is _F32 or x.dtype is _F64) and bounds[0] == bounds[0] and bounds[1] == bounds[1]:  # a NaN bound: NumPy's clip
            ctx.bounds = bounds
            ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)
            return _piecewise.piecewise_forward(xp, "clamp", x, *bounds, impl=ctx.backend.kernel_impl)
        ctx.bounds = None
        mask = None
        if ctx.needs_input_grad[0]:
            mask = xp.ones(x.shape, dtype=bool)
            if min is not None:
                mask &= x >= min
            if max is not None:
                mask &= x <= max
        ctx.save_for_backward(mask)
        return xp.clip(x, min, max)

    @staticmethod
    def backward(ctx, gy):
        (saved,) = ctx.saved_tensors
        if ctx.bounds is not None:
            from .activation import PiecewiseBackward

            return PiecewiseBackward.apply(gy, saved, kind="clamp", a=ctx.bounds[0], b=ctx.bounds[1])
        return where(saved, gy, 0.0)


def _clamp_to_tensor_bounds(x: Tensor, min, max) -> Tensor:
    """max(min(x, max), min) in where() steps: at a tie x keeps the gradient, as in PyTorch; where
    min > max the result is max; a NaN bound gives NaN."""
    out = x
    if min is not None:
        out = where(logical_or(out < min, isnan(min)), min, out)
    if max is not None:
        out = where(logical_or(out > max, isnan(max)), max, out)
    return out


def _clamp(name: str, input: Tensor, min, max, out) -> Tensor:
    refuse_complex(name, input, min, max)
    if min is None and max is None:
        raise ArgumentError(f"{name}: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if not all(isinstance(v, Tensor) for v in (min, max) if v is not None):
            raise TypeError(f"{name}: min and max must be both tensors or both numbers, got "
                            f"{type(min).__name__} and {type(max).__name__}")
        return write_out(name, _clamp_to_tensor_bounds(input, min, max), out)
    x = input
    for bound in (min, max):
        if bound is not None:
            x, _ = promote_pair(x, bound)  # an integer tensor clamped to a float bound is float32
            check_scalar_fits(name, bound, x)
    return write_out(name, Clamp.apply_one(x, min=min, max=max), out)


def clamp(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:
    """input limited to [min, max] (numbers or tensors; where min > max, the result is max).
    d/dinput = 1 inside, bounds included, 0 outside; tensor bounds get the gradient where they are the result."""
    return _clamp("clamp", input, min, max, out)


def clip(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``clamp``."""
    return _clamp("clip", input, min, max, out)


def clamp_min(input: Tensor, min, *, out: Tensor | None = None) -> Tensor:
    """max(input, min), as clamp with only a lower bound."""
    return _clamp("clamp_min", input, min, None, out)


def clamp_max(input: Tensor, max, *, out: Tensor | None = None) -> Tensor:
    """min(input, max), as clamp with only an upper bound."""
    return _clamp("clamp_max", input, None, max, out)


class Maximum(Op):
    largest = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.largest = ctx.fn.largest
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b) if ctx.largest else ctx.xp.minimum(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        # PyTorch's weights: the winner gets all, ties half each, and where a comparison fails (NaN) both
        # get the whole gradient.
        a_loses, b_loses = (a < b, a > b) if ctx.largest else (a > b, a < b)
        tie = 0.5 * (a == b).to(gy.dtype)
        ga = gy * (1.0 - a_loses.to(gy.dtype) - tie) if ctx.needs_input_grad[0] else None
        gb = gy * (1.0 - b_loses.to(gy.dtype) - tie) if ctx.needs_input_grad[1] else None
        return ga, gb


class Minimum(Maximum):
    largest = False


def _both_tensors(name: str, input, other) -> None:
    for label, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: argument '{label}' must be a Tensor, not {type(value).__name__}")


def maximum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise max (NaN wins). The larger input gets the gradient; ties share it half and half."""
    _both_tensors("maximum", input, other)
    refuse_complex("maximum", input, other)
    a, b = promote_pair(input, other)
    return write_out("maximum", Maximum.apply_pair(a, b), out)


def minimum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise min (NaN wins). The smaller input gets the gradient; ties share it half and half."""
    _both_tensors("minimum", input, other)
    refuse_complex("minimum", input, other)
    a, b = promote_pair(input, other)
    return write_out("minimum", Minimum.apply_pair(a, b), out)


class Where(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        if ctx.xp is numpy and cond.size >= kernels_select.MIN_ELEMENTS:  # a select per element (NumPy's branches)
            out = kernels_select.where(cond, a, b)
            if out is not None:
                return out
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, gy):
        (cond,) = ctx.saved_tensors
        ga = where(cond, gy, 0.0) if ctx.needs_input_grad[1] else None
        gb = where(cond, 0.0, gy) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def _scalar_as_tensor(a, b, like: Tensor) -> Tensor:
    """The first of two Python-number branches as a 0-d tensor of their common dtype (where(c, 1, 0.5)
    is float32, where(c, 1, 0) int64), so that promotion has a tensor to work with."""
    kinds = {type(a), type(b)}
    dtype = dtypes.default_float if float in kinds else dtypes.int64 if int in kinds else dtypes.bool_
    return Tensor._make(like._backend.xp.asarray(a, dtype=dtype.np), like._backend)


def where(condition, input=None, other=None, *, out: Tensor | None = None):
    """input where condition holds, else other. Each branch gets the gradient only where it was chosen, so
    a NaN or inf in the branch not taken does not leak into the gradient.

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``: one int64 index tensor per dimension.
    """
    if input is None and other is None:
        return _nonzero_indices(condition)
    if input is None or other is None:
        raise ArgumentError("where: expected both input and other, or neither (where(condition) gives indices)")
    like = next((v for v in (condition, input, other) if isinstance(v, Tensor)), None)
    if like is None:
        raise TypeError("where: expected condition to be a Tensor")
    condition = scalar_or_tensor(condition, like)
    if not isinstance(condition, Tensor) or condition._array.dtype.kind != "b":
        got = condition.dtype.name if isinstance(condition, Tensor) else type(condition).__name__
        raise DTypeError(f"where: expected condition to be a boolean tensor, but got a tensor with dtype {got}")
    if not (isinstance(input, Tensor) or isinstance(other, Tensor)):
        input = _scalar_as_tensor(input, other, condition)
    for branch, tensor in ((input, other), (other, input)):
        if isinstance(tensor, Tensor):
            check_scalar_fits("where", branch, tensor)  # before promotion stores it in tensor's dtype
    a, b = promote_pair(input, other)
    return write_out("where", Where.apply(condition, a, b), out)


def _nonzero_indices(condition: Tensor) -> tuple:
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: expected condition to be a Tensor, not {type(condition).__name__}")
    xp = condition._backend.xp
    data = condition._array if condition._array.ndim else condition._array.reshape(1)  # a 0-d tensor counts as 1-d
    return tuple(_const(condition, idx.astype(xp.int64)) for idx in xp.nonzero(data))


# Non-differentiable elementwise functions: results never require grad. ---------------------------
def signbit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """True where input's sign bit is set: negative numbers, -0.0 and NaNs with the bit (never a bool)."""
    x = input._array
    xp = input._backend.xp
    bits = xp.zeros_like(x) if x.dtype.kind == "b" else xp.signbit(x)
    return write_out("signbit", _const(input, bits), out)


def positive(input: Tensor) -> Tensor:
    """input itself (unary ``+``); bool tensors are refused, as PyTorch."""
    _refuse_bool("positive", input, "the `+` operator")
    return input


def isnan(input: Tensor) -> Tensor:
    """True where input is NaN."""
    return _const(input, input._backend.xp.isnan(input._array))


def isfinite(input: Tensor) -> Tensor:
    """True where input is neither infinite nor NaN."""
    return _const(input, input._backend.xp.isfinite(input._array))


def isinf(input: Tensor) -> Tensor:
    """True where input is +inf or -inf."""
    return _const(input, input._backend.xp.isinf(input._array))


def isposinf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """True where input is +inf."""
    return write_out("isposinf", _const(input, input._array == float("inf")), out)


def isneginf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """True where input is -inf."""
    return write_out("isneginf", _const(input, input._array == float("-inf")), out)


def isreal(input: Tensor) -> Tensor:
    """True where input has no imaginary part (everywhere, for a real tensor)."""
    if input._array.dtype.kind == "c":
        return isreal_complex(input)
    return _const(input, input._backend.xp.ones(input._array.shape, dtype=bool))


def _close_operands(name: str, input, other, rtol: float, atol: float):
    _both_tensors(name, input, other)
    if input._backend is not other._backend:
        raise DeviceError(f"{name}: expected all tensors on the same device, got {input.device} and {other.device}")
    if input._array.dtype != other._array.dtype:
        raise DTypeError(f"{name}: input is {input.dtype.name} and other is {other.dtype.name}; their dtypes must match")
    for label, value in (("rtol", rtol), ("atol", atol)):
        if value < 0:
            raise ArgumentError(f"{name}: {label} must be greater than or equal to zero, but got {value}")
    check_broadcast(name, input._array.shape, other._array.shape)


def _close(xp, a, b, rtol: float, atol: float, equal_nan: bool):
    """PyTorch's test: equal, or both NaN (with equal_nan), or a finite |a - b| <= atol + rtol |b|."""
    if a.dtype.kind not in INEXACT_KINDS:  # integers and bools: exact arithmetic on the differences
        a, b = a.astype(xp.float64), b.astype(xp.float64)
    close = a == b
    if equal_nan:
        close |= xp.isnan(a) & xp.isnan(b)
    error = xp.abs(a - b)
    close |= xp.isfinite(error) & (error <= atol + rtol * xp.abs(b))
    return close


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """True where |input - other| <= atol + rtol |other| (or equal, infinities included; NaNs equal only with
    equal_nan). Both tensors must have one dtype."""
    _close_operands("isclose", input, other, rtol, atol)
    return _const(input, _close(input._backend.xp, input._array, other._array, rtol, atol, equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether ``isclose`` holds everywhere (after broadcasting), as a Python bool."""
    _close_operands("allclose", input, other, rtol, atol)
    return bool(_close(input._backend.xp, input._array, other._array, rtol, atol, equal_nan).all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether both tensors have the same shape and the same values (dtypes may differ; NaN is unequal)."""
    _both_tensors("equal", input, other)
    if input._backend is not other._backend:
        raise DeviceError(f"equal: expected all tensors on the same device, got {input.device} and {other.device}")
    return tuple(input.shape) == tuple(other.shape) and bool((input._array == other._array).all())


def _comparison(name, ufunc_name, ordered: bool = False):
    def compare(input, other, *, out=None) -> Tensor:
        if ordered:
            refuse_complex(name, input, other)
        input, other = promote_pair(input, other)
        t = input if isinstance(input, Tensor) else other
        ufunc = getattr(t._backend.xp, ufunc_name)
        av = input._array if isinstance(input, Tensor) else input
        bv = other._array if isinstance(other, Tensor) else other
        if isinstance(input, Tensor) and isinstance(other, Tensor) and input._backend is not other._backend:
            raise DeviceError(f"{name}: expected all tensors on the same device, got {input.device} and {other.device}")
        try:
            result = ufunc(av, bv)
        except ValueError as exc:
            mismatch = broadcast_mismatch([getattr(v, "shape", ()) for v in (av, bv)])
            raise ShapeError(f"{name}: {mismatch or exc}") from exc
        return write_out(name, Tensor._make(t._backend.xp.asarray(result), t._backend), out)

    compare.__name__ = name
    compare.__doc__ = f"Elementwise {ufunc_name}, as a bool tensor (not differentiable); with ``out=``, written into it."
    return compare


eq = _comparison("eq", "equal")
ne = _comparison("ne", "not_equal")
lt = _comparison("lt", "less", ordered=True)
le = _comparison("le", "less_equal", ordered=True)
gt = _comparison("gt", "greater", ordered=True)
ge = _comparison("ge", "greater_equal", ordered=True)
# PyTorch's long names for the same comparisons.
greater = _comparison("greater", "greater", ordered=True)
greater_equal = _comparison("greater_equal", "greater_equal", ordered=True)
less = _comparison("less", "less", ordered=True)
less_equal = _comparison("less_equal", "less_equal", ordered=True)
not_equal = _comparison("not_equal", "not_equal")
logical_and = _comparison("logical_and", "logical_and")
logical_or = _comparison("logical_or", "logical_or")
logical_xor = _comparison("logical_xor", "logical_xor")


def logical_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """True where input is zero (or False)."""
    return write_out("logical_not", _const(input, input._backend.xp.logical_not(input._array)), out)


class Cast(Op):
    complex_ok = True
    widens_reduced_floats = False  # to and from the reduced floats themselves

    @staticmethod
    def forward(ctx, x, np_dtype=None):
        ctx.src = x.dtype
        # NumPy's "K" order follows an expanded input's zero strides into a scrambled layout; PyTorch
        # allocates such a (self-overlapping) result row-major
        return dtypes.cast_array(x, np_dtype, order="C" if 0 in x.strides else "K")

    @staticmethod
    def backward(ctx, gy):
        # Between float and complex dtypes the gradient flows (the engine takes a complex one's real part
        # for a real input); integer and bool inputs get none.
        if gy._array.dtype.kind not in INEXACT_KINDS or ctx.src.kind not in INEXACT_KINDS:
            return None
        return (real(gy) if ctx.src.kind != "c" else gy).to(ctx.src)


class ToDevice(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x, target=None):
        ctx.source = ctx.backend
        ctx.output_backend = target
        return target.asarray(ctx.backend.to_numpy(x, f"to({target.device})"))

    @staticmethod
    def backward(ctx, gy):
        return gy.to(ctx.source.device)


# What this family exports; gpugrad.ops gathers it (gg.<name>, Tensor.<name>, the op table's coverage).
FUNCTIONS = (
    add, sub, subtract, mul, multiply, div, divide, true_divide, floor_divide, fmod, remainder, pow, neg, abs,
    sign, sgn, copysign, lerp, nan_to_num, exp, log, log1p, sqrt, sin, cos, clamp, clip, clamp_min, clamp_max,
    maximum, minimum, where, isnan, isfinite, isinf, isposinf, isneginf, isreal, isclose, allclose, equal,
    eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor, logical_not, signbit, positive,
    negative, absolute, addcmul, addcdiv, float_power, isin, fmax, fmin, greater, greater_equal, less, less_equal,
    not_equal, rsub,
)
DIFFERENTIABLE = (
    add, sub, subtract, mul, multiply, div, divide, true_divide, fmod, remainder, pow, neg, abs, sign, sgn,
    copysign, lerp, nan_to_num, exp, log, log1p, sqrt, sin, cos, clamp, clip, clamp_min, clamp_max, maximum,
    minimum, where, positive, negative, absolute, addcmul, addcdiv, float_power, fmax, fmin, rsub,
)
# In-place forms x.<name>_(...) that PyTorch has (add_, sub_, mul_ and div_ are inplace.py's own).
INPLACE = (
    subtract, multiply, divide, true_divide, floor_divide, fmod, remainder, pow, neg, abs, sign, sgn, copysign,
    lerp, nan_to_num, exp, log, log1p, sqrt, sin, cos, clamp, clip, clamp_min, clamp_max, negative, absolute,
    addcmul, addcdiv, float_power,
)


def _operator(fn, op, compute, swap: bool = False):
    """Tensor's operator for the binary op ``fn`` (``__add__`` for add; ``swap``: the reflected one,
    ``__radd__``), with short roads for the common operands, for which ``fn``'s checks and promotion
    could only pass: exactly gpugrad's Tensor, float tensors of one dtype on one device or a float tensor
    and a Python float or int (not CPU float16, which computes in float32: autograd/reduced_float.py),
    no graph capture, nothing watching (autograd/watch.py). Recorded, those go straight to ``fn``'s
    Function ``op`` (two tensors that are not views: ``pair_applied``, past apply_pair's checks, which
    these are); with nothing recorded (no input requires grad or grad mode is off), the result is what
    ``op``'s forward computes (``compute``, NumPy's operator, or for two large arrays
    ``Backend.arithmetic``), without a ctx. Everything else, and any error, goes through ``fn`` itself
    (which raises the error properly), handed to ``__torch_function__`` where it applies (a Tensor subclass
    or an object that defines it; while a mode is entered, every call: gpugrad/overrides.py)."""

    def general(self, other):
        if hands_back(other):  # Python asks the other operand: a nested tensor, a user's class
            return NotImplemented
        return fn(other, self) if swap else fn(self, other)

    # handed over as PyTorch does: ``x + y`` and ``2 * x`` as Tensor.add and Tensor.mul, ``1 - x`` as Tensor.__rsub__
    general = overridable(general, ("__rtruediv__" if fn is div else f"__r{fn.__name__}__") if swap else fn.__name__)

    def method(self, other):
        if self.__class__ is Tensor or self._plain:
            x = self._array
            dtype = x.dtype
            backend = self._backend
            kind = other.__class__
            tensor = kind is Tensor or kind is not float and kind is not int and isinstance(other, Tensor) and other._plain
            if tensor:
                y = other._array
                ok = y.dtype is dtype and other._backend is backend
            else:
                y = other
                ok = kind is float or kind is int
            if ok and (dtype is _F32 or dtype is _F64 or dtype is FLOAT16_NP and backend is not _cpu):
                if backend.capture is not None or _watch.watched:  # a TorchFunctionMode watches too
                    return general(self, other)
                if _grad_state.enabled and (
                    self._requires_grad or self._node is not None
                    or tensor and (other._requires_grad or other._node is not None)
                ):  # recorded
                    if not tensor:
                        if self._base is None:  # not a view that may be stale (apply refreshes those)
                            return scalar_applied(op, self, other, swap)
                        return op.apply(other, self) if swap else op.apply(self, other)
                    if self._base is None and other._base is None:  # no view that may be stale (apply refreshes those)
                        return pair_applied(op, other, self) if swap else pair_applied(op, self, other)
                    return op.apply_pair(other, self) if swap else op.apply_pair(self, other)
                try:
                    # the backend may run a kernel: for two arrays, or for a large one and a number
                    if (x.size + y.size >= _LARGE) if tensor else x.size >= _threads.PARALLEL_MIN_ELEMENTS:
                        out = backend.arithmetic(compute, y, x) if swap else backend.arithmetic(compute, x, y)
                    else:
                        out = compute(y, x) if swap else compute(x, y)
                except Exception:
                    out = None  # fn raises it again, naming itself
                if out.__class__ is backend.ndarray:  # not a NumPy scalar (0-d results): fn wraps those
                    result = object.__new__(Tensor)  # Tensor._make's three stores, without its call
                    result._array, result._backend, result._version_ref = out, backend, [0]
                    if _grad_state.inference:
                        result._inference = True
                    return result
        return general(self, other)

    method.__name__ = f"__{'r' if swap else ''}{fn.__name__}__"
    method._overridable = True  # its general road is (above)
    return method


METHODS = {f.__name__: f for f in FUNCTIONS if f not in (where, rsub)}


def _in_own_dtype(fn):
    """``fn(self, other)`` (a comparison or logical op) cast to self's dtype: the value its in-place form
    writes into self, as PyTorch's ``x.gt_(y)``."""
    def same_dtype(self, *args):
        return fn(self, *args).to(self.dtype)

    same_dtype.__name__ = fn.__name__
    return same_dtype


METHODS.update({f.__name__ + "_": inplace_variant(_in_own_dtype(f), f.__name__ + "_") for f in (
    eq, ne, lt, le, gt, ge, greater, greater_equal, less, less_equal, not_equal, logical_and, logical_or,
    logical_xor, logical_not)})


def _comparison_operator(fn):
    """Tensor's ``==``, ``!=``, ``<`` ...: ``fn``, or NotImplemented for an operand it does not take
    (takes_operand): ``"a" in [t]`` is False."""
    def method(self, other):
        if other.__class__ is not Tensor and not (takes_operand(other) or getattr(other, "is_nested", False)):
            return NotImplemented
        return fn(self, other)

    method.__name__ = f"__{fn.__name__}__"
    return method


METHODS.update(
    where=lambda self, condition, other: where(condition, self, other),
    # 2 + x and 2 * x as x + 2 and x * 2 (the same values: IEEE addition and multiplication commute), so
    # that the tensor is the node's first input, as in PyTorch's graph (grad_fn.next_functions).
    __add__=_operator(add, Add, operator.add), __radd__=_operator(add, Add, operator.add),
    __sub__=_operator(sub, Sub, operator.sub), __rsub__=_operator(sub, Sub, operator.sub, swap=True),
    __mul__=_operator(mul, Mul, operator.mul), __rmul__=_operator(mul, Mul, operator.mul),
    __truediv__=_operator(div, Div, operator.truediv), __rtruediv__=_operator(div, Div, number_over, swap=True),
    __floordiv__=foreign_operand_to_python(floor_divide), __rfloordiv__=foreign_operand_to_python(reflected(floor_divide)),
    __mod__=foreign_operand_to_python(remainder), __rmod__=foreign_operand_to_python(reflected(remainder)), __pow__=_operator(pow, Pow, _power), __rpow__=reflected(pow),
    __neg__=neg, __pos__=positive, __abs__=abs,
    __eq__=_comparison_operator(eq), __ne__=_comparison_operator(ne), __lt__=_comparison_operator(lt),
    __le__=_comparison_operator(le), __gt__=_comparison_operator(gt), __ge__=_comparison_operator(ge),
    __ifloordiv__=foreign_operand_to_python(inplace_variant(floor_divide, "floor_divide_")),
    __imod__=foreign_operand_to_python(inplace_variant(remainder, "remainder_")),
    __ipow__=inplace_variant(pow, "pow_"),
)
