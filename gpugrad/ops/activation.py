"""Activations: relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, elu, selu, celu, hardswish, mish,
and the piecewise ones (hardsigmoid, hardtanh, relu6, hardshrink, softshrink, threshold), logsigmoid,
softsign, tanhshrink, glu, prelu and rrelu.

The smooth ones a network trains with run forward and first derivative as fused kernels
(``gpugrad.kernels.activation``; the NumPy reference when ``GPUGRAD_FUSED=0``), named by ``kind`` as the
kernels name them. The derivative kernel is an op of its own, ``ActivationBackward``, whose backward is
composite Tensor math: one kernel call for a plain backward, and every order differentiates.

Only what PyTorch has as ``torch.<name>`` is exported as ``gg.<name>`` (and as a method where Tensor has
one); the rest is reached through ``gpugrad.nn.functional``, as in PyTorch.
"""
from __future__ import annotations

import math
import operator

import numpy

from .. import threads as _threads
from .._vmath_ufuncs import float32_math, math_ufunc
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..kernels import activation as kernels
from ..kernels import math_map
from ..kernels._dispatch import fused_enabled
from ..random import default_generator
from ..tensor import Tensor
from ._operands import as_float, normalize_dims, require_float, write_out
from .elementwise import where
from .inplace import inplace_variant
from .shape import cat

_F32 = numpy.dtype(numpy.float32)


class ActivationBackward(Op):
    """f'(x) * gy (or f' written in y = f(x) for sigmoid and tanh) in one kernel pass."""

    name = "activation_backward"

    @staticmethod
    def forward(ctx, gy, saved, kind="relu", param=0.0):
        need_gy, need_saved = ctx.needs_input_grad[:2]
        if need_gy or need_saved:  # recorded: what its own backward reads (not on the engine's plain pass)
            ctx.kind, ctx.param = kind, param
            ctx.save_for_backward(gy if need_saved else None, saved)
        return kernels.backward(ctx.xp, kind, gy, saved, param, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        gy, saved = ctx.saved_tensors
        return activation_backward_grads(ggx, gy, saved, ctx.kind, ctx.param, *ctx.needs_input_grad[:2])


class Activation(Op):
    """y = f(x) for the activation ``kind``, a class attribute: one subclass per kind (``ACTIVATIONS``), named
    as PyTorch names the node it records (``TanhBackward``). ``param`` is leaky_relu's slope, elu's and celu's
    alpha. Its backward is ActivationBackward, once."""

    derivative = ActivationBackward
    kind = ""
    default_kwargs: dict = {}  # the derivative's keywords at param 0.0, one dict per kind (never changed)
    saves_output = False  # whether backward reads y (sigmoid, tanh), else x: kernels.SAVES_OUTPUT's

    @staticmethod
    def forward(ctx, x, param=0.0):
        cls = ctx.fn
        kind = cls.kind
        y = _tanh(ctx, x) if kind == "tanh" else kernels.forward(ctx.xp, kind, x, param, impl=ctx.backend.kernel_impl)
        ctx.derivative_kwargs = cls.default_kwargs if param == 0.0 else {"kind": kind, "param": param}
        ctx.save_for_backward(y if cls.saves_output else x)
        return y


# The node names PyTorch gives (its selu is an elu, and both gelus record a GeluBackward).
_NODE_NAMES = {
    "relu": "Relu", "leaky_relu": "LeakyRelu", "sigmoid": "Sigmoid", "tanh": "Tanh", "gelu": "Gelu",
    "gelu_tanh": "Gelu", "silu": "Silu", "softplus": "Softplus", "elu": "Elu", "selu": "Elu", "celu": "Celu",
    "hardswish": "Hardswish", "mish": "Mish",
}
ACTIVATIONS: dict[str, type[Activation]] = {
    kind: type(_NODE_NAMES[kind], (Activation,), {
        "kind": kind, "name": kind, "default_kwargs": {"kind": kind, "param": 0.0},
        "saves_output": kernels.SAVES_OUTPUT[kind], "__module__": __name__})
    for kind in kernels.KINDS
}
_Tanh, _Sigmoid = ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"]
_TANH32 = float32_math("tanh")  # the float32 tanh ufunc's lazy form, looked up once


def _tanh(ctx, x):
    """tanh of an array, as the tanh op computes it. Float32 on the CPU: kernels/_vmath's vectorised tanh
    (0.51 ulp) over the threads, where NumPy's (the launcher's) calls libm per element on AVX2 (1.4 ulp, 3x
    PyTorch's time at 2048x2048)."""
    if x.dtype is _F32 and ctx.xp is numpy and ctx.backend.kernel_impl is None and fused_enabled():
        # a small one called at once: Backend.ufunc's look for a large operand costs a third of its call
        if x.size < _threads.PARALLEL_MIN_ELEMENTS:
            return _TANH32.ufunc()(x)
        return ctx.backend.ufunc(_TANH32.ufunc(), x)
    return kernels.forward(ctx.xp, "tanh", x, impl=ctx.backend.kernel_impl)


def activation_backward_grads(ggx: Tensor, gy: Tensor, saved: Tensor, kind: str, param: float, need_gy: bool = True,
                              need_saved: bool = True) -> tuple:
    """The gradients in gy and in saved of gx = f'(saved) * gy, for gx's gradient ggx, in Tensor ops (None
    where not needed or zero): ActivationBackward's own backward, and the fused layers' (Linear, Conv2d)
    for their activation. "identity" passes ggx to gy."""
    if kind == "identity":
        return (ggx if need_gy else None), None
    g_gy = ActivationBackward.apply_pair(ggx, saved, kind=kind, param=param) if need_gy else None
    curvature = second_derivative(kind, saved, param) if need_saved else None
    return g_gy, None if curvature is None else ggx * gy * curvature


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = 0.044715


_NEEDS_PARAM = ("elu", "celu")


def _exp_of_negative_part(s: Tensor, scale: float) -> Tensor:
    """exp(scale * min(s, 0)): the ELU family's derivative on its negative side, finite for any s (the
    positive side, where it is not used, would overflow)."""
    return (s.clamp(max=0.0) * scale).exp()


def _constant(like: Tensor, array) -> Tensor:
    return Tensor._make(array.astype(like._array.dtype, copy=False), like._backend)


def second_derivative(kind: str, s: Tensor, param: float | None = None):
    """d f'(s) / ds (None where it is 0 almost everywhere) in Tensor ops, where s is what the forward saved (y for sigmoid/tanh, else x).
    ``param`` (leaky_relu's slope, elu's and celu's alpha) is needed for elu and celu."""
    if param is None and kind in _NEEDS_PARAM:
        raise ValueError(f"the second derivative of {kind} needs its alpha")
    if kind in ("relu", "leaky_relu"):
        return None  # piecewise linear: zero almost everywhere
    if kind == "sigmoid":  # f' = y (1 - y)
        return 1.0 - 2.0 * s
    if kind == "tanh":  # f' = 1 - y^2
        return -2.0 * s
    if kind == "softplus":  # f' = sigmoid(x)
        p = s.sigmoid()
        return p * (1.0 - p)
    if kind == "silu":  # f' = p (1 + x (1 - p))
        p = s.sigmoid()
        return p * (1.0 - p) * (2.0 + s * (1.0 - 2.0 * p))
    if kind == "gelu":  # f' = Phi(x) + x phi(x)
        return (s * s * -0.5).exp() * _INV_SQRT_2PI * (2.0 - s * s)
    if kind == "gelu_tanh":  # f = x (1 + tanh u) / 2, u = k (x + c x^3)
        t = ((s + _GELU_C * s**3) * _SQRT_2_OVER_PI).tanh()
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * s * s)
        d2u = 6.0 * _SQRT_2_OVER_PI * _GELU_C * s
        return (1.0 - t * t) * (du - s * t * du * du + 0.5 * s * d2u)
    if kind == "elu":  # f' = alpha e^x for x <= 0
        return where(s > 0, 0.0, _exp_of_negative_part(s, 1.0) * param)
    if kind == "selu":
        scale = kernels.SELU_SCALE * kernels.SELU_ALPHA
        return where(s > 0, 0.0, _exp_of_negative_part(s, 1.0) * scale)
    if kind == "celu":  # f' = e^(x / alpha) for x <= 0
        return where(s > 0, 0.0, _exp_of_negative_part(s, 1.0 / param) / param)
    if kind == "hardswish":  # f' = x / 3 + 1/2 on (-3, 3): f'' = 1/3 there, 0 elsewhere
        inside = (s._array > -3.0) & (s._array < 3.0)
        return _constant(s, inside / 3.0)
    if kind == "mish":  # f' = t + x p (1 - t^2), t = tanh(softplus(x)), p = sigmoid(x), t' = (1 - t^2) p
        t = _activation(s, "softplus").tanh()
        p = s.sigmoid()
        return (1.0 - t * t) * p * (2.0 + s * (1.0 - p) - 2.0 * s * t * p)
    raise ValueError(f"unknown activation {kind!r}")


def _activation(x: Tensor, kind: str, param: float | None = None) -> Tensor:
    """The activation ``kind`` of x; ``param`` for the kinds that take one."""
    require_float(kind, x)
    return ACTIVATIONS[kind].apply_one(x) if param is None else ACTIVATIONS[kind].apply_one(x, param=param)


def relu(x: Tensor) -> Tensor:
    """max(x, 0). f'(x) = 1 for x > 0, else 0 (0 at 0, as PyTorch). Integer tensors stay integer."""
    if x._array.dtype.kind in "iu":
        return _integer_result(x, x._backend.xp.maximum(x._array, 0))
    return _activation(x, "relu")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, else negative_slope * x."""
    return _activation(x, "leaky_relu", float(negative_slope))


def sigmoid(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """1 / (1 + e^-x). f' = f (1 - f). Integer and bool tensors give float32, as in PyTorch; complex
    ones compute it from exp (the kernels take real numbers)."""
    kind = input._array.dtype.kind
    if kind == "c":
        result = 1.0 / (1.0 + (-input).exp())
    else:
        result = _Sigmoid.apply_one(input if kind == "f" else as_float(input))
    return result if out is None else write_out("sigmoid", result, out)


def tanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Hyperbolic tangent. f' = 1 - f^2. Integer and bool tensors give float32, as in PyTorch; complex
    ones compute it from exp, 1 - 2 / (e^2x + 1) (the kernels take real numbers)."""
    kind = input._array.dtype.kind
    if kind == "c":
        result = 1.0 - 2.0 / ((2.0 * input).exp() + 1.0)
    else:
        result = _Tanh.apply_one(input if kind == "f" else as_float(input))
    return result if out is None else write_out("tanh", result, out)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (exact, erf) or its tanh approximation with ``approximate="tanh"``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    require_float("gelu", x)  # named as the user called it, not by its kernel ("gelu_tanh")
    return _activation(x, "gelu" if approximate == "none" else "gelu_tanh")


def silu(x: Tensor) -> Tensor:
    """x sigmoid(x) (also called swish). f' = s (1 + x (1 - s))."""
    return _activation(x, "silu")


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's definition)."""
    if beta == 1.0 and threshold == 20.0:
        return _activation(x, "softplus")
    require_float("softplus", x)
    a = x._array
    if a.__class__ is numpy.ndarray and a.dtype == numpy.float32 and a.flags.c_contiguous:
        return _SoftplusBeta.apply(x, beta=float(beta), threshold=float(threshold))
    scaled = x * beta
    return where(scaled > threshold, x, _activation(scaled, "softplus") / beta)


class _SoftplusBeta(Op):
    """softplus with a beta or threshold of its own, of a C-contiguous float32 CPU tensor: one pass each way
    over the threads (kernels.math_map), where the composite (scale, softplus, divide, compare, select) took
    five forward and more back."""

    name = "softplus"

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        return math_map.apply_with_numbers("softplus_beta", x, beta, threshold)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return _SoftplusBetaBackward.apply(x, gy, beta=ctx.beta, threshold=ctx.threshold)


class _SoftplusBetaBackward(Op):
    """gy sigmoid(beta x) (gy past the threshold), in one pass; differentiable again through Tensor ops."""

    name = "softplus_backward"

    @staticmethod
    def forward(ctx, x, gy, beta=1.0, threshold=20.0):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x, gy)
        g = numpy.ascontiguousarray(gy, dtype=numpy.float32)
        return math_map.apply_with_numbers("softplus_beta_grad", x, beta, threshold, g)

    @staticmethod
    def backward(ctx, g):
        x, gy = ctx.saved_tensors
        z = x * ctx.beta
        below = z <= ctx.threshold
        s = z.sigmoid()
        g_x = where(below, g * gy * (s * (1.0 - s)) * ctx.beta, 0.0) if ctx.needs_input_grad[0] else None
        g_gy = where(below, g * s, g) if ctx.needs_input_grad[1] else None
        return g_x, g_gy


# The ELU family and the other fused smooth activations -------------------------------------------

def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else alpha (e^x - 1). f' = 1, else alpha e^x (alpha at 0, as PyTorch)."""
    return _activation(x, "elu", float(alpha))


def selu(x: Tensor) -> Tensor:
    """scale * elu(x, alpha) with PyTorch's fixed alpha ~ 1.6733 and scale ~ 1.0507."""
    return _activation(x, "selu")


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else alpha (e^(x / alpha) - 1). f' = 1, else e^(x / alpha) (1 at 0)."""
    if alpha == 0:
        raise ArgumentError("celu: alpha cannot be 0 (it divides x)")
    if alpha == 1:
        # elu's kernels, the same bits (x / 1 and 1 * e are exact): celu's loops carry x / alpha as one
        # more vector register and spilled (forward 35% slower per thread at 2048x2048 float32)
        return _activation(x, "elu", 1.0)
    return _activation(x, "celu", float(alpha))


def hardswish(x: Tensor) -> Tensor:
    """x relu6(x + 3) / 6. f' = 0 for x <= -3, x / 3 + 1/2 between, 1 for x >= 3 (PyTorch's choice at +-3)."""
    return _activation(x, "hardswish")


def mish(x: Tensor) -> Tensor:
    """x tanh(softplus(x)). f' = t + x sigmoid(x) (1 - t^2) with t = tanh(softplus(x))."""
    return _activation(x, "mish")


# Piecewise activations: y = f(x) and its backward f'(x) gy (a constant per piece) each one kernel pass ------

def _hardtanh(xp, x, lo, hi):
    """An integer tensor's hardtanh (no gradient): NumPy's clip."""
    return xp.clip(x, lo, hi)


def _threshold(xp, x, threshold, value):
    """An integer tensor's threshold (no gradient)."""
    return xp.where(x <= threshold, value, x)


class PiecewiseBackward(Op):
    """gx = f'(x) gy for a piecewise linear f (``kind``, parameters a and b), in one kernel pass. Linear in
    gy; f' is constant on each piece, so x's gradient is zeros (as PyTorch's, not None)."""

    name = "piecewise_backward"

    @staticmethod
    def forward(ctx, gy, x, kind="hardtanh", a=0.0, b=0.0):
        ctx.kind, ctx.a, ctx.b = kind, a, b
        ctx.save_for_backward(x)
        return kernels.piecewise_backward(ctx.xp, kind, gy, x, a, b, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        (x,) = ctx.saved_tensors
        g_gy = PiecewiseBackward.apply(ggx, x, kind=ctx.kind, a=ctx.a, b=ctx.b) if ctx.needs_input_grad[0] else None
        g_x = _constant(x, x._backend.xp.zeros_like(x._array)) if ctx.needs_input_grad[1] else None
        return g_gy, g_x


class Piecewise(Op):
    """A piecewise linear function of x (``kind``, parameters a and b: ``kernels.PIECEWISE_KINDS``), in one
    kernel pass; it saves x, and its backward is PiecewiseBackward, once."""

    name = "piecewise"
    derivative = PiecewiseBackward

    @staticmethod
    def forward(ctx, x, kind="hardtanh", a=0.0, b=0.0):
        ctx.derivative_kwargs = {"kind": kind, "a": a, "b": b}
        ctx.save_for_backward(x)
        return kernels.piecewise_forward(ctx.xp, kind, x, a, b, impl=ctx.backend.kernel_impl)


def _piecewise(op: str, x: Tensor, kind: str, a: float = 0.0, b: float = 0.0) -> Tensor:
    require_float(op, x)
    return Piecewise.apply_one(x, kind=kind, a=a, b=b)


def hardsigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3) / 6. f' = 1/6 on (-3, 3), 0 elsewhere (bounds included)."""
    return _piecewise("hardsigmoid", x, "hardsigmoid")


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clamped to [min_val, max_val]. f' = 1 strictly inside, 0 elsewhere (PyTorch: unlike clamp, none
    at the bounds). Integer tensors stay integer, as in PyTorch."""
    if max_val < min_val:
        raise ArgumentError(f"hardtanh: max_val ({max_val}) cannot be lower than min_val ({min_val})")
    if x._array.dtype.kind in FLOAT_KINDS:
        return Piecewise.apply_one(x, kind="hardtanh", a=min_val, b=max_val)
    _refuse_bool("hardtanh", x)
    return _integer_result(x, _hardtanh(x._backend.xp, x._array, min_val, max_val))


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6), with no gradient at 0 and 6."""
    return hardtanh(x, 0.0, 6.0)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0. f' = 1 there, 0 elsewhere (also at +-lambd)."""
    return _piecewise("hardshrink", input, "hardshrink", lambd)


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between. f' = 1 outside [-lambd, lambd]."""
    if lambd < 0:
        raise ArgumentError(f"softshrink: lambd must be >= 0, got {lambd}")
    return _piecewise("softshrink", x, "softshrink", lambd)


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else value. f' = 1 where x > threshold, else 0. Integer tensors stay
    integer (value cast to their dtype), as in PyTorch."""
    if x._array.dtype.kind in FLOAT_KINDS:
        return Piecewise.apply_one(x, kind="threshold", a=threshold, b=value)
    _refuse_bool("threshold", x)
    return _integer_result(x, _threshold(x._backend.xp, x._array, threshold, value))


def _refuse_bool(op: str, x: Tensor) -> None:
    if x._array.dtype.kind == "b":
        raise DTypeError(f"{op}: bool inputs are not supported, got {x.dtype}")


def _integer_result(x: Tensor, array) -> Tensor:
    """An integer tensor's result: no gradient to carry, the input's dtype kept."""
    return Tensor._make(array.astype(x._array.dtype), x._backend)


# Compositions -----------------------------------------------------------------------------------------

class LogSigmoidBackward(Op):
    """gx = gy sigmoid(-x) for logsigmoid's input x and its forward's z = e^-|x|, one kernel pass (float32).
    Linear in gy; in x, d sigmoid(-x) / dx = -sigmoid(x) sigmoid(-x)."""

    name = "logsigmoid_backward"

    @staticmethod
    def forward(ctx, gy, x, z):
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] else None, x, z)
        return kernels.logsigmoid_backward(ctx.xp, gy, x, z, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        gy, x, z = ctx.saved_tensors
        g_gy = LogSigmoidBackward.apply(ggx, x, z) if ctx.needs_input_grad[0] else None
        g_x = -(ggx * gy * x.sigmoid() * (-x).sigmoid()) if ctx.needs_input_grad[1] else None
        return g_gy, g_x, None


class LogSigmoid(Op):
    """log(sigmoid(x)) in one kernel pass (float32), keeping z = e^-|x| for the backward as PyTorch does
    when x needs a gradient; its backward is LogSigmoidBackward, once."""

    name = "logsigmoid"
    derivative = LogSigmoidBackward

    @staticmethod
    def forward(ctx, x):
        impl = ctx.backend.kernel_impl
        if not ctx.needs_input_grad[0]:
            return kernels.logsigmoid_forward(ctx.xp, x, impl=impl)
        y, z = kernels.logsigmoid_forward(ctx.xp, x, keep_z=True, impl=impl)
        ctx.save_for_backward(x, z)
        return y


class LogSigmoidComposite(Op):
    """logsigmoid of other float dtypes in NumPy's (CuPy's) operations: float64 keeps the bits it had."""

    name = "logsigmoid"

    @staticmethod
    def forward(ctx, x):
        xp, ufunc = ctx.xp, ctx.backend.ufunc
        ctx.save_for_backward(x)
        e = ufunc(math_ufunc(xp, "exp", x.dtype), -xp.abs(x))
        return xp.minimum(x, 0) - ufunc(math_ufunc(xp, "log1p", x.dtype), e)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * (-x).sigmoid()


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log(1 + e^-|x|), stable for any x. f' = sigmoid(-x). float32 as one
    kernel pass each way (within 1.5 ulp, the values of the composite other dtypes run)."""
    require_float("logsigmoid", x)
    if x._array.dtype == _F32:
        return LogSigmoid.apply_one(x)
    return LogSigmoidComposite.apply_one(x)


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|). f' = 1 / (1 + |x|)^2."""
    x = as_float(x)
    return x / (x.abs() + 1.0)


class TanhshrinkBackward(Op):
    """gx = gy tanh(x)^2 for tanhshrink's input x, from its forward's t = tanh(x): one kernel pass
    (float32). Its own backward in Tensor ops, in x (t stands for tanh(x))."""

    name = "tanhshrink_backward"

    @staticmethod
    def forward(ctx, gy, x, t):
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] else None, x)
        return kernels.tanhshrink_backward(ctx.xp, gy, t, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        gy, x = ctx.saved_tensors
        g_gy = g_x = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            t = x.tanh()
            if ctx.needs_input_grad[0]:
                g_gy = ggx * (t * t)
            if ctx.needs_input_grad[1]:
                g_x = ggx * gy * 2.0 * t * (1.0 - t * t)
        return g_gy, g_x, None


class Tanhshrink(Op):
    """x - tanh(x) of float32: the composite's operations (the same bits: tanh as the tanh op computes it),
    both over the threads; it keeps t = tanh(x), as the composite did, for its backward, TanhshrinkBackward."""

    name = "tanhshrink"
    derivative = TanhshrinkBackward

    @staticmethod
    def forward(ctx, x):
        t = _tanh(ctx, x)
        ctx.save_for_backward(x, t)
        return ctx.backend.arithmetic(operator.sub, x, t)


def tanhshrink(x: Tensor) -> Tensor:
    """x - tanh(x). f' = tanh(x)^2. float32 as one op, its backward one kernel pass."""
    x = as_float(x)
    if x._array.dtype == _F32:
        return Tanhshrink.apply_one(x)
    return x - x.tanh()


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), with a and b the two halves of x along ``dim``."""
    if x.ndim == 0:
        raise ShapeError("glu: does not support scalars because halving size must be even")
    require_float("glu", x)
    (axis,) = normalize_dims("glu", dim, x.ndim)
    size = x.shape[axis]
    if size % 2:
        raise ShapeError(f"glu: halving dimension must be even, but dimension {axis} is size {size} "
                         f"(input of shape {tuple(x.shape)})")
    if x._array.dtype == _F32:
        return Glu.apply_one(x, axis=axis)
    a, b = x.chunk(2, axis)  # one op: its backward joins the halves' gradients in one pass
    return a * b.sigmoid()


class GluBackward(Op):
    """glu's gx for its input x: gy sigmoid(b) in the first half along ``axis``, gy a sigmoid'(b) in the
    second, one kernel pass (float32). Its own backward in Tensor ops (second order)."""

    name = "glu_backward"

    @staticmethod
    def forward(ctx, gy, x, axis=0):
        ctx.axis = axis
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] else None, x)
        return kernels.glu_backward(ctx.xp, gy, x, axis, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        gy, x = ctx.saved_tensors
        axis = ctx.axis
        g_gy = g_x = None
        gga, ggb = ggx.chunk(2, axis)
        a, b = x.chunk(2, axis)
        s = b.sigmoid()
        slope = s * (-b).sigmoid()  # sigmoid'(b), no cancellation
        if ctx.needs_input_grad[0]:
            g_gy = gga * s + ggb * a * slope
        if ctx.needs_input_grad[1]:
            # d/da of gy a s' is gy s'; d/db of gy s and of gy a s' are gy s' and gy a s' (1 - 2 s)
            g_a = ggb * gy * slope
            g_b = (gga + ggb * a * (1.0 - 2.0 * s)) * gy * slope
            g_x = cat((g_a, g_b), axis)
        return g_gy, g_x


class Glu(Op):
    """glu of float32 as one kernel pass over both halves each way; its backward is GluBackward, once."""

    name = "glu"
    derivative = GluBackward

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.derivative_kwargs = {"axis": axis}
        ctx.save_for_backward(x)
        return kernels.glu_forward(ctx.xp, x, axis, impl=ctx.backend.kernel_impl)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, else weight * x, with one weight for all channels or one per channel (dim 1).
    d/dx = 1, else weight; d/dweight = x where x <= 0, summed over the non-channel dims."""
    if input.ndim == 0 and weight.numel() != 1:
        raise ShapeError(f"prelu: a zero-dim input is not allowed with {weight.numel()} weights (only with one)")
    if weight._array.dtype != input._array.dtype:
        raise DTypeError(f"prelu: input ({input.dtype}) and weight ({weight.dtype}) must have the same dtype")
    require_float("prelu", input)
    count = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if count != 1:
        if weight.ndim != 1 or count != channels:
            raise ShapeError(f"prelu: weight of shape {tuple(weight.shape)} has {count} parameters, but input of "
                             f"shape {tuple(input.shape)} has {channels} channels (dim 1); expected 1 or {channels}")
        weight = weight.reshape((1, count) + (1,) * (input.ndim - 2))
    else:
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


def rrelu(x: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, training: bool = False) -> Tensor:
    """Randomised leaky relu: x for x > 0, else a x, with a drawn uniformly from [lower, upper] per element
    (gpugrad's generator) when training, and a = (lower + upper) / 2 otherwise. d/dx = 1, else a."""
    if lower > upper:
        raise ArgumentError(f"rrelu: lower bound ({lower}) should be less than or equal to the upper bound ({upper})")
    require_float("rrelu", x)
    if not training:
        return leaky_relu(x, (lower + upper) / 2.0)
    xp = x._backend.xp
    slopes = x._backend.asarray(default_generator.rng.uniform(lower, upper, tuple(x.shape))).astype(x._array.dtype)
    noise = xp.where(x._array <= 0, slopes, x._array.dtype.type(1))  # PyTorch draws a slope at x = 0 too
    return x * Tensor._make(noise, x._backend)


# torch's in-place functions (gg.relu_(x) writes relu(x) into x and returns it).
relu_, sigmoid_, tanh_, celu_, selu_, threshold_, rrelu_ = (
    inplace_variant(fn) for fn in (relu, sigmoid, tanh, celu, selu, threshold, rrelu)
)

# What this family exports; gpugrad.ops gathers it. The functions PyTorch has only in nn.functional
# (elu, hardswish, mish, ...) are not gg.<name>; nn.functional reaches them here.
DIFFERENTIABLE = (relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, celu, selu, threshold, rrelu, hardshrink,
                  prelu)
FUNCTIONS = DIFFERENTIABLE + (relu_, sigmoid_, tanh_, celu_, selu_, threshold_, rrelu_)
METHODS = {f.__name__: f for f in (relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus, hardshrink, prelu)}
INPLACE = (relu, sigmoid, tanh)
