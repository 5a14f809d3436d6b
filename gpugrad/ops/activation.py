"""Activations: relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus.

Forward and first derivative run as fused kernels (``gpugrad.kernels.activation``; the NumPy reference
when ``GPUGRAD_FUSED=0``). A plain backward runs the derivative kernel on arrays; under
``create_graph=True`` the derivative kernel is itself a differentiable op, ``ActivationBackward``, whose
backward is composite Tensor math: fast first order, correct second order.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import activation as kernels
from ..tensor import Tensor
from ._operands import require_float


class Activation(Function):
    name = "activation"

    @staticmethod
    def forward(ctx, x, kind="relu", param=0.0):
        y = kernels.forward(ctx.xp, kind, x, param, impl=ctx.backend.kernel_impl)
        ctx.kind, ctx.param = kind, param
        ctx.save_for_backward(y if kernels.SAVES_OUTPUT[kind] else x)
        return y

    @staticmethod
    def backward(ctx, gy):
        (saved,) = ctx.saved_tensors
        if not is_grad_enabled():
            # A plain backward records nothing: the derivative kernel on arrays, no op application.
            gx = kernels.backward(ctx.xp, ctx.kind, gy.data, saved.data, ctx.param, impl=ctx.backend.kernel_impl)
            return Tensor._make(gx, ctx.backend)
        return ActivationBackward.apply(gy, saved, kind=ctx.kind, param=ctx.param)


class ActivationBackward(Function):
    """f'(x) * gy (or f' written in y = f(x) for sigmoid and tanh) in one kernel pass."""

    name = "activation_backward"

    @staticmethod
    def forward(ctx, gy, saved, kind="relu", param=0.0):
        ctx.kind, ctx.param = kind, param
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] else None, saved)
        return kernels.backward(ctx.xp, kind, gy, saved, param, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        gy, saved = ctx.saved_tensors
        g_gy = ActivationBackward.apply(ggx, saved, kind=ctx.kind, param=ctx.param) if ctx.needs_input_grad[0] else None
        g_saved = None
        if ctx.needs_input_grad[1]:
            curvature = _second_derivative(ctx.kind, saved)
            g_saved = None if curvature is None else ggx * gy * curvature
        return g_gy, g_saved


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = 0.044715


def _second_derivative(kind: str, s: Tensor):
    """d f'(s) / ds in Tensor ops, where s is what the forward saved (y for sigmoid/tanh, else x)."""
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
    raise ValueError(f"unknown activation {kind!r}")


def _activation(x: Tensor, kind: str, param: float = 0.0) -> Tensor:
    require_float(kind, x)
    return Activation.apply(x, kind=kind, param=param)


def relu(x: Tensor) -> Tensor:
    """max(x, 0). f'(x) = 1 for x > 0, else 0 (0 at 0, as PyTorch)."""
    return _activation(x, "relu")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, else negative_slope * x."""
    return _activation(x, "leaky_relu", float(negative_slope))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x). f' = f (1 - f)."""
    return _activation(x, "sigmoid")


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent. f' = 1 - f^2."""
    return _activation(x, "tanh")


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (exact, erf) or its tanh approximation with ``approximate="tanh"``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation(x, "gelu" if approximate == "none" else "gelu_tanh")


def silu(x: Tensor) -> Tensor:
    """x sigmoid(x) (also called swish). f' = s (1 + x (1 - s))."""
    return _activation(x, "silu")


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's definition)."""
    if beta == 1.0 and threshold == 20.0:
        return _activation(x, "softplus")
    from .elementwise import where

    scaled = x * beta
    return where(scaled > threshold, x, _activation(scaled, "softplus") / beta)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (relu, leaky_relu, sigmoid, tanh, gelu, silu, softplus)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS}
