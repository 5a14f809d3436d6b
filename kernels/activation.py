"""Elementwise activations: forward, and backward fused with the chain rule
(gx = f'(x) * gy in one pass instead of the several temporaries the NumPy
expression needs).

Formulas follow PyTorch (gelu exact and tanh approximation, softplus with
beta=1 and threshold=20, relu'(0) = 0, elu'(0) = alpha, hardswish' 0 at -3
and 1 at 3). `param` is leaky_relu's negative_slope, elu's and celu's alpha.

An activation is named by its `kind` (a string of KINDS, everywhere in gpugrad); the compiled kernels
branch on its integer `code` (CODES[kind]).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange

from ._launch import (
    cuda_family,
    cpu_kernel_per_code,
    check_arrays_for,
    check_same_shape,
    contiguous,
    cpu_kernel,
    get_cuda,
    cuda_stream,
    float_dtype_and_impl,
    fused_enabled,
    launch,
    like,
    numba_type,
    plain_cpu_call,
    scalar_fn,
    UNROLL,
)
from ._vmath import exp as vector_exp
from ._vmath import expm1 as vector_expm1
from ._vmath import INV_SQRT_2PI, SQRT1_2, log1p_of_unit, normal_cdf_pdf
from ._vmath import tanh as vector_tanh

KINDS: tuple[str, ...] = (
    "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus",
    "elu", "selu", "celu", "hardswish", "mish",
)
# "identity" is not a public activation here but the linear epilogues use it.
CODES: dict[str, int] = {kind: i for i, kind in enumerate(KINDS + ("identity",))}
(RELU, LEAKY_RELU, SIGMOID, TANH, GELU, GELU_TANH, SILU, SOFTPLUS,
 ELU, SELU, CELU, HARDSWISH, MISH, IDENTITY) = range(14)

# Whether backward takes the output y (True) or the input x (False). relu can
# use y because y > 0 exactly where x > 0, which lets callers drop x.
SAVES_OUTPUT: dict[str, bool] = {
    "relu": True, "leaky_relu": False, "sigmoid": True, "tanh": True,
    "gelu": False, "gelu_tanh": False, "silu": False, "softplus": False,
    "elu": False, "selu": False, "celu": False, "hardswish": False, "mish": False,
}

GELU_TANH_BETA = 0.7978845608028654   # sqrt(2/pi)
GELU_TANH_KAPPA = 0.044715
SOFTPLUS_THRESHOLD = 20.0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# Above this, tanh(softplus(x)) is 1 in float32 and float64 alike (1 - tanh(20) ~ 8e-18), so mish is x.
MISH_LINEAR_ABOVE = 20.0

# The piecewise linear activations, a family of their own: each takes two parameters (a, b), and its
# derivative, a constant per piece, needs the input x (saved by forward): hardtanh (a, b) = (min_val,
# max_val), hardshrink and softshrink (a = lambd), threshold (a, b) = (threshold, value), hardsigmoid
# (none); clamp (a, b) = (min, max), which unlike hardtanh passes the gradient at its bounds, and abs (none),
# whose gradient is the product gy * sign(x), as PyTorch's. The elementwise smooth_l1 and huber losses of
# d = input - target join them (piecewise quadratic: a = beta or delta, b = 0.5 / a rounded once from
# float64, as the composite they replace computed it): 0.5 d^2 / beta inside, |d| - beta / 2 outside, and
# huber that times delta. Forward and backward are one pass each, where NumPy took up to five (the compares, the mask, a
# where over it, the slope's cast and the product): softshrink's forward + backward at 2048x2048 in
# float32 went 34 -> 2 ms.
PIECEWISE_KINDS: tuple[str, ...] = ("hardtanh", "hardsigmoid", "hardshrink", "softshrink", "threshold", "clamp",
                                    "abs", "smooth_l1", "huber")
PIECEWISE_CODES: dict[str, int] = {kind: i for i, kind in enumerate(PIECEWISE_KINDS)}
PW_HARDTANH, PW_HARDSIGMOID, PW_HARDSHRINK, PW_SOFTSHRINK, PW_THRESHOLD, PW_CLAMP, PW_ABS, PW_SMOOTH_L1, PW_HUBER = range(9)

# Two smooth activations outside KINDS (the fused layers take no epilogue of theirs), each with a kernel
# pair of its own: logsigmoid, y = min(x, 0) - log1p(e^-|x|) and gx = gy sigmoid(-x) from the saved x and
# the forward's z = e^-|x|, one pass each way where NumPy's composite took six forward (abs, neg, exp, log1p, minimum, subtract)
# and the Tensor ops three backward; and glu, y = a sigmoid(b) for the two halves a, b of x along an axis,
# both halves read in the same pass (x seen as (outer, 2, m)), and its backward writes both halves of gx
# (gy sigmoid(b) and gy a sigmoid'(b)) in one pass, where the composite took a sigmoid kernel, two
# products, a sigmoid backward and the join of the halves. Exact arithmetic (no fast-math flags).


def activation_code(op: str, kind: str, *, allow_identity: bool = False) -> int:
    """The integer code of `kind`; ValueError naming `op` for an unknown one."""
    code = CODES.get(kind)
    if code is None or (code == IDENTITY and not allow_identity):
        allowed = KINDS + (("identity",) if allow_identity else ())
        raise ValueError(f"{op}: unknown activation {kind!r}; expected one of {allowed}")
    return code


# ============================================================== reference

def _erf(xp: Any, x: Any) -> Any:
    if xp is np:
        try:
            from scipy.special import erf

            return erf(x).astype(x.dtype, copy=False)
        except ImportError:
            # NumPy has no erf; math.erf per element is slow but exact.
            return np.vectorize(math.erf, otypes=[x.dtype])(x)
    try:
        from cupyx.scipy.special import erf

        return erf(x)
    except ImportError:  # pragma: no cover - CuPy ships cupyx
        return xp.asarray(_erf(np, xp.asnumpy(x)))


def _sigmoid_ref(xp: Any, x: Any) -> Any:
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _nonpositive_part(xp: Any, x: Any) -> Any:
    """x where x <= 0 (or NaN), else 0: -0.0 stays -0.0."""
    return xp.where(x > 0, x.dtype.type(0), x)


def reference_forward(xp: Any, kind: str, x: Any, param: float = 0.0, *, out: Any = None) -> Any:
    """y = f(x) written with xp operations (the spec and the test oracle)."""
    zero = x.dtype.type(0)
    if kind == "relu":
        y = xp.where(x < 0, zero, x)  # NaN stays NaN and -0.0 stays -0.0, as PyTorch's clamp_min
    elif kind == "leaky_relu":
        y = xp.where(x > 0, x, x * x.dtype.type(param))
    elif kind == "sigmoid":
        y = _sigmoid_ref(xp, x)
    elif kind == "tanh":
        y = xp.tanh(x)
    elif kind == "gelu":
        y = 0.5 * x * (1 + _erf(xp, x * SQRT1_2))
    elif kind == "gelu_tanh":
        y = 0.5 * x * (1 + xp.tanh(GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x)))
    elif kind == "silu":
        y = x * _sigmoid_ref(xp, x)
    elif kind == "softplus":
        stable = xp.maximum(x, zero) + xp.log1p(xp.exp(-xp.abs(x)))
        y = xp.where(x > SOFTPLUS_THRESHOLD, x, stable)
    elif kind == "elu":
        # The negative branch on x where x <= 0, else 0: exp of the positive inputs could overflow, unused
        # (minimum(x, 0) would turn -0.0 into +0.0, where PyTorch's elu(-0.0) is -0.0).
        y = xp.where(x > 0, x, param * xp.expm1(_nonpositive_part(xp, x)))
    elif kind == "selu":
        y = SELU_SCALE * xp.where(x > 0, x, SELU_ALPHA * xp.expm1(_nonpositive_part(xp, x)))
    elif kind == "celu":
        y = xp.where(x > 0, x, param * xp.expm1(_nonpositive_part(xp, x) / param))
    elif kind == "hardswish":
        y = x * xp.clip(x + 3, 0, 6) / 6
    elif kind == "mish":
        softplus = xp.maximum(x, zero) + xp.log1p(xp.exp(-xp.abs(x)))
        y = x * xp.tanh(softplus)
    elif kind == "identity":
        y = x.copy()
    else:
        activation_code("activation.reference_forward", kind)
        raise AssertionError  # unreachable
    y = y.astype(x.dtype, copy=False)
    if out is not None:
        out[...] = y
        return out
    return y


def reference_backward(
    xp: Any, kind: str, gy: Any, saved: Any, param: float = 0.0, *, out: Any = None
) -> Any:
    """gx = f'(x) * gy; `saved` is y if SAVES_OUTPUT[kind] else x."""
    s = saved
    zero = gy.dtype.type(0)
    if kind == "relu":
        gx = xp.where(s <= 0, zero, gy)  # PyTorch's threshold_backward: a NaN output passes gy
    elif kind == "leaky_relu":
        gx = xp.where(s > 0, gy, gy * gy.dtype.type(param))
    elif kind == "sigmoid":
        gx = gy * (1 - s) * s
    elif kind == "tanh":
        gx = gy * (1 - s * s)
    elif kind == "gelu":
        cdf = 0.5 * (1 + _erf(xp, s * SQRT1_2))
        pdf = xp.exp(-0.5 * s * s) * INV_SQRT_2PI
        gx = gy * (cdf + s * pdf)
    elif kind == "gelu_tanh":
        inner = GELU_TANH_BETA * (s + GELU_TANH_KAPPA * s * s * s)
        t = xp.tanh(inner)
        left_derivative = 0.5 * (1 + t)
        right_derivative = (1 - t * t) * GELU_TANH_BETA * (1 + 3 * GELU_TANH_KAPPA * s * s)
        gx = gy * (left_derivative + 0.5 * s * right_derivative)
    elif kind == "silu":
        sig = _sigmoid_ref(xp, s)
        gx = gy * sig * (1 + s * (1 - sig))
    elif kind == "softplus":
        gx = xp.where(s > SOFTPLUS_THRESHOLD, gy, gy * _sigmoid_ref(xp, s))
    elif kind == "elu":
        gx = xp.where(s <= 0, gy * param * xp.exp(xp.minimum(s, zero)), gy)  # NaN takes the positive branch, as PyTorch's
    elif kind == "selu":
        gx = SELU_SCALE * xp.where(s <= 0, gy * SELU_ALPHA * xp.exp(xp.minimum(s, zero)), gy)
    elif kind == "celu":
        gx = xp.where(s <= 0, gy * xp.exp(xp.minimum(s, zero) / param), gy)
    elif kind == "hardswish":
        gx = xp.where(s <= -3, zero, xp.where(s < 3, gy * (s / 3 + 0.5), gy))
    elif kind == "mish":
        t = xp.tanh(xp.maximum(s, zero) + xp.log1p(xp.exp(-xp.abs(s))))
        gx = gy * (t + s * _sigmoid_ref(xp, s) * (1 - t * t))
    elif kind == "identity":
        gx = gy.copy()
    else:
        activation_code("activation.reference_backward", kind)
        raise AssertionError  # unreachable
    gx = gx.astype(gy.dtype, copy=False)
    if out is not None:
        out[...] = gx
        return out
    return gx


def reference_piecewise_forward(xp: Any, kind: str, x: Any, a: float = 0.0, b: float = 0.0) -> Any:
    """y = f(x) for a piecewise kind (PIECEWISE_KINDS) in xp operations, PyTorch's values: the spec and
    the test oracle. The parameters are taken in x's dtype, as PyTorch does."""
    t = x.dtype.type
    zero = t(0)
    if kind in ("hardtanh", "clamp"):
        y = xp.clip(x, t(a), t(b))  # NaN stays NaN, -0.0 at a lower bound of 0 stays -0.0
    elif kind == "hardsigmoid":
        y = xp.clip(x + t(3), zero, t(6)) / t(6)
    elif kind == "hardshrink":
        y = xp.where((x >= t(-a)) & (x <= t(a)), zero, x)  # NaN is kept
    elif kind == "softshrink":
        # +0.0 inside the band (PyTorch's, not x * 0); NaN passes through x + lambd
        y = xp.where((x >= t(-a)) & (x <= t(a)), zero, xp.where(x > t(a), x - t(a), x + t(a)))
    elif kind == "threshold":
        y = xp.where(x <= t(a), t(b), x)
    elif kind == "abs":
        y = xp.abs(x)
    elif kind in ("smooth_l1", "huber"):
        magnitude = xp.abs(x)
        y = xp.where(magnitude >= t(a), magnitude - t(0.5 * a), x * x * t(b))  # NaN: the quadratic side
        if kind == "huber":
            y = y * t(a)
    else:
        raise ValueError(f"unknown piecewise activation {kind!r}; expected one of {PIECEWISE_KINDS}")
    return y.astype(x.dtype, copy=False)


def reference_piecewise_backward(xp: Any, kind: str, gy: Any, x: Any, a: float = 0.0, b: float = 0.0) -> Any:
    """gx = f'(x) gy for a piecewise kind, a selection (not a product): +0.0 where f' is 0, even where gy
    is infinite or NaN, as PyTorch's vectorised kernels give (abs aside: gy * sign(x), a product, as
    PyTorch's). A NaN x passes gy only for threshold."""
    t = gy.dtype.type
    zero = t(0)
    if kind == "hardtanh":
        gx = xp.where((x > t(a)) & (x < t(b)), gy, zero)
    elif kind == "hardsigmoid":
        gx = xp.where((x > t(-3)) & (x < t(3)), gy * t(1.0 / 6.0), zero)
    elif kind in ("hardshrink", "softshrink"):
        gx = xp.where((x < t(-a)) | (x > t(a)), gy, zero)
    elif kind == "threshold":
        gx = xp.where(x <= t(a), zero, gy)
    elif kind == "clamp":
        gx = xp.where((x >= t(a)) & (x <= t(b)), gy, zero)
    elif kind == "abs":  # a product: -0.0, or NaN for an infinite gy, where x is 0 or NaN
        gx = gy * ((x > zero).astype(gy.dtype) - (x < zero).astype(gy.dtype))
    elif kind in ("smooth_l1", "huber"):
        g = gy * t(a) if kind == "huber" else gy
        # 2 ((g b) x) inside: the rounding of the composite's chain rule (d(x x b) = g b x + g b x)
        gx = xp.where(xp.abs(x) >= t(a), xp.where(x > zero, g, -g), g * t(b) * x * t(2))
    else:
        raise ValueError(f"unknown piecewise activation {kind!r}; expected one of {PIECEWISE_KINDS}")
    return gx.astype(gy.dtype, copy=False)


def reference_logsigmoid_forward(xp: Any, x: Any) -> Any:
    """log(sigmoid(x)) = min(x, 0) - log1p(e^-|x|), stable for any x (the spec and the test oracle)."""
    return (xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)


def reference_logsigmoid_backward(xp: Any, gy: Any, x: Any) -> Any:
    """gx = gy sigmoid(-x)."""
    return (gy * _sigmoid_ref(xp, -x)).astype(gy.dtype, copy=False)


def reference_bce_logits_forward(xp: Any, x: Any, t: Any) -> Any:
    """(1 - t) x + softplus(-x), softplus(-x) = max(-x, 0) + log1p(e^-|x|) (x itself past 20)."""
    n = -x
    softplus_n = xp.where(n > SOFTPLUS_THRESHOLD, n, xp.maximum(n, 0) + xp.log1p(xp.exp(-xp.abs(x))))
    return ((1 - t) * x + softplus_n).astype(x.dtype, copy=False)


def reference_bce_logits_backward(xp: Any, gy: Any, x: Any, t: Any) -> Any:
    """gx = gy (sigmoid(x) - t)."""
    return (gy * (_sigmoid_ref(xp, x) - t)).astype(x.dtype, copy=False)


def reference_tanhshrink_backward(xp: Any, gy: Any, t: Any) -> Any:
    """tanhshrink's gx = gy t^2 from t = tanh(x) (its forward, x - tanh(x), is NumPy's own two
    operations)."""
    return (gy * (t * t)).astype(gy.dtype, copy=False)


def _glu_halves(xp: Any, x: Any, axis: int) -> tuple[Any, Any]:
    return xp.split(x, 2, axis=axis)


def reference_glu_forward(xp: Any, x: Any, axis: int) -> Any:
    """a sigmoid(b) for the halves a, b of x along axis."""
    a, b = _glu_halves(xp, x, axis)
    return (a * _sigmoid_ref(xp, b)).astype(x.dtype, copy=False)


def reference_glu_backward(xp: Any, gy: Any, x: Any, axis: int) -> Any:
    """gx = [gy sigmoid(b), gy a sigmoid(b) (1 - sigmoid(b))] along axis, 1 - sigmoid(b) as sigmoid(-b)
    (no cancellation for b >> 0)."""
    a, b = _glu_halves(xp, x, axis)
    s, r = _sigmoid_ref(xp, b), _sigmoid_ref(xp, -b)
    return xp.concatenate([gy * s, gy * a * r * s], axis=axis).astype(gy.dtype, copy=False)


# ============================================================== scalar math

@scalar_fn
def sigmoid_scalar(x):
    # exp(-|x|) never overflows, unlike 1/(1+exp(-x)) at x << 0.
    one = like(x, 1.0)
    z = vector_exp(-abs(x))
    return (one if x >= like(x, 0.0) else z) / (one + z)


@scalar_fn
def sigmoid_pair(x):
    """(sigmoid(x), 1 - sigmoid(x)) from one exp and one division. The derivatives need the second,
    and 1 - sigmoid(x) computed as a difference cancels for x >> 0: its rounding error, times the
    s or s^3 that multiplies it in silu' and gelu_tanh', grew to O(1) once the CPU loops vectorised
    the division (a reciprocal estimate, exact to an ulp or so)."""
    z = vector_exp(-abs(x))
    r = like(x, 1.0) / (like(x, 1.0) + z)
    zr = z * r
    big = x >= like(x, 0.0)
    return (r if big else zr), (zr if big else r)


@scalar_fn
def tanh_softplus_pair(x):
    """(tanh(softplus(x)), 1 - tanh(softplus(x))^2) from one exp and no tanh: with e = exp(x) and
    n = e (e + 2), tanh(log(1 + e)) = n / (n + 2) and 1 - that^2 = 4 (n + 1) / (n + 2)^2, neither of
    which cancels (libm tanh is also several times slower in a Numba loop)."""
    one = like(x, 1.0)
    if x > like(x, MISH_LINEAR_ABOVE):
        return one, like(x, 0.0)
    e = vector_exp(x)
    n = e * (e + like(x, 2.0))
    d = n + like(x, 2.0)
    return n / d, like(x, 4.0) * (n + one) / (d * d)


@scalar_fn(inline_on_cpu=False)  # the CPU kernels fix `code` (see _launch.CpuKernelPerCode)
def act_forward_scalar(code, x, p):
    zero = like(x, 0.0)
    y = x  # identity
    if code == RELU:
        y = zero if x < zero else x  # -0.0 and NaN pass, as the reference
    elif code == LEAKY_RELU:
        y = x if x > zero else x * p
    elif code == SIGMOID:
        y = sigmoid_scalar(x)
    elif code == TANH:
        y = vector_tanh(x)
    elif code == GELU:
        # x * Phi(x), Phi from erfc (in _vmath): no cancellation in 1 + erf at x << 0
        cdf, _ = normal_cdf_pdf(x)
        y = x * cdf
    elif code == GELU_TANH:
        # 0.5 * (1 + tanh(u)) == sigmoid(2u): one exp instead of libm tanh, no cancellation at x << 0
        u = like(x, GELU_TANH_BETA) * (x + like(x, GELU_TANH_KAPPA) * x * x * x)
        y = x * sigmoid_scalar(u + u)
    elif code == SILU:
        y = x * sigmoid_scalar(x)
    elif code == SOFTPLUS:
        y = x if x > like(x, SOFTPLUS_THRESHOLD) else max(x, zero) + log1p_of_unit(vector_exp(-abs(x)))
    elif code == ELU:
        y = x if x > zero else p * vector_expm1(x)
    elif code == SELU:
        y = like(x, SELU_SCALE) * (x if x > zero else like(x, SELU_ALPHA) * vector_expm1(x))
    elif code == CELU:
        y = x if x > zero else p * vector_expm1(x / p)
    elif code == HARDSWISH:
        r = x + like(x, 3.0)
        r = r if r > zero else zero
        r = r if r < like(x, 6.0) else like(x, 6.0)
        y = x * r / like(x, 6.0)
    elif code == MISH:
        t, _ = tanh_softplus_pair(x)
        y = x * t
    return y


@scalar_fn(inline_on_cpu=False)
def act_backward_scalar(code, s, gy, p):
    zero = like(s, 0.0)
    one = like(s, 1.0)
    gx = gy  # identity
    if code == RELU:
        gx = zero if s <= zero else gy
    elif code == LEAKY_RELU:
        gx = gy if s > zero else gy * p
    elif code == SIGMOID:
        gx = gy * (one - s) * s
    elif code == TANH:
        gx = gy * (one - s * s)
    elif code == GELU:
        cdf, pdf = normal_cdf_pdf(s)
        gx = gy * (cdf + s * pdf)
    elif code == GELU_TANH:
        # PyTorch's formula with t = tanh(u) rewritten through
        # sig = sigmoid(2u): 0.5 * (1 + t) = sig, 1 - t*t = 4 sig (1 - sig).
        beta = like(s, GELU_TANH_BETA)
        kappa = like(s, GELU_TANH_KAPPA)
        u = beta * (s + kappa * s * s * s)
        sig, one_minus_sig = sigmoid_pair(u + u)
        inner_derivative = beta * (one + like(s, 3.0) * kappa * s * s)
        gx = gy * (sig + like(s, 2.0) * s * sig * one_minus_sig * inner_derivative)
    elif code == SILU:
        sig, one_minus_sig = sigmoid_pair(s)
        gx = gy * sig * (one + s * one_minus_sig)
    elif code == SOFTPLUS:
        gx = gy if s > like(s, SOFTPLUS_THRESHOLD) else gy * sigmoid_scalar(s)
    elif code == ELU:
        gx = gy * p * vector_exp(s) if s <= zero else gy  # NaN takes the positive branch, as PyTorch's
    elif code == SELU:
        scale = like(s, SELU_SCALE)
        gx = gy * scale * like(s, SELU_ALPHA) * vector_exp(s) if s <= zero else gy * scale
    elif code == CELU:
        gx = gy * vector_exp(s / p) if s <= zero else gy
    elif code == HARDSWISH:
        three = like(s, 3.0)
        if s <= -three:
            gx = zero
        elif s < three:
            # (s + 3/2) / 3 rather than PyTorch's s / 3 + 1/2: the same value, but under fast math's
            # reciprocal the latter missed its exact zero at s = -3/2 by an ulp.
            gx = gy * ((s + like(s, 1.5)) / three)
    elif code == MISH:
        t, one_minus_t2 = tanh_softplus_pair(s)
        gx = gy * (t + s * sigmoid_scalar(s) * one_minus_t2)
    return gx


@scalar_fn(inline_on_cpu=False)
def piecewise_forward_scalar(code, x, a, b):
    """The piecewise kinds' y = f(x), as reference_piecewise_forward (selections, so NaN and -0.0 come out
    as there)."""
    zero = like(x, 0.0)
    y = x
    if code == PW_HARDTANH or code == PW_CLAMP:
        y = a if x < a else x
        y = b if y > b else y
    elif code == PW_HARDSIGMOID:
        r = x + like(x, 3.0)
        r = zero if r < zero else r
        r = like(x, 6.0) if r > like(x, 6.0) else r
        y = r / like(x, 6.0)
    elif code == PW_HARDSHRINK:
        y = zero if (x >= -a and x <= a) else x
    elif code == PW_SOFTSHRINK:
        y = zero if (x >= -a and x <= a) else (x - a if x > a else x + a)
    elif code == PW_THRESHOLD:
        y = b if x <= a else x
    elif code == PW_ABS:
        y = abs(x)
    elif code == PW_SMOOTH_L1 or code == PW_HUBER:
        m = abs(x)
        y = m - like(x, 0.5) * a if m >= a else x * x * b
        if code == PW_HUBER:
            y = y * a
    return y


@scalar_fn(inline_on_cpu=False)
def piecewise_backward_scalar(code, x, gy, a, b):
    """The piecewise kinds' gx = f'(x) gy, as reference_piecewise_backward."""
    zero = like(x, 0.0)
    gx = gy
    if code == PW_HARDTANH:
        gx = gy if (x > a and x < b) else zero
    elif code == PW_HARDSIGMOID:
        gx = gy * like(x, 1.0 / 6.0) if (x > like(x, -3.0) and x < like(x, 3.0)) else zero
    elif code == PW_HARDSHRINK or code == PW_SOFTSHRINK:
        gx = gy if (x < -a or x > a) else zero
    elif code == PW_THRESHOLD:
        gx = zero if x <= a else gy
    elif code == PW_CLAMP:
        gx = gy if (x >= a and x <= b) else zero
    elif code == PW_ABS:
        one = like(x, 1.0)
        gx = gy * (one if x > zero else (-one if x < zero else zero))
    elif code == PW_SMOOTH_L1 or code == PW_HUBER:
        g = gy * a if code == PW_HUBER else gy
        gx = (g if x > zero else -g) if abs(x) >= a else g * b * x * like(x, 2.0)
    return gx


# logsigmoid's and glu's math from z = e^-|x| (of their x, or glu's b), which the CUDA kernels compute in
# place and the CPU kernels in a loop of its own, in the array's dtype; the CPU kernels then call
# sigmoid_of and sigmoid_slope_of with z and the other operands widened to float64 and round the result
# once (see _widen).
@scalar_fn
def logsigmoid_of(x, z):
    """min(x, 0) - log1p(z): no overflow, and no cancellation (both terms are <= 0)."""
    zero = like(x, 0.0)
    return (x if x < zero else zero) - log1p_of_unit(z)  # noqa: FURB136 - a select, as the kernels' others


@scalar_fn
def sigmoid_of(x, z):
    """sigmoid(x) = 1 / (1 + z) for x >= 0, z / (1 + z) below."""
    one = like(z, 1.0)
    return (one if x >= like(x, 0.0) else z) / (one + z)


@scalar_fn
def sigmoid_slope_of(z):
    """sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)) = z / (1 + z)^2, on either side and with no cancellation
    (1 - sigmoid(x) as a difference loses every digit for x >> 0)."""
    d = like(z, 1.0) + z
    return z / (d * d)


@scalar_fn
def glu_forward_scalar(a, b):
    return a * sigmoid_of(b, vector_exp(-abs(b)))


@scalar_fn
def glu_gradient_b(a, b, gy):
    """glu's gradient in b, gy a sigmoid'(b) (in a: gy sigmoid(b))."""
    return gy * a * sigmoid_slope_of(vector_exp(-abs(b)))


# binary_cross_entropy_with_logits of logits x and targets t, elementwise: (1 - t) x + softplus(-x), the
# steps of the composite it replaces (softplus as the activation's), and its gradient in x, sigmoid(x) - t,
# PyTorch's form, times gy.
@scalar_fn
def bce_logits_from(x, t, z):
    """The loss from z = e^-|x|."""
    n = -x
    softplus_n = n if n > like(x, SOFTPLUS_THRESHOLD) else max(n, like(x, 0.0)) + log1p_of_unit(z)
    return (like(x, 1.0) - t) * x + softplus_n


@scalar_fn
def bce_logits_of(x, t):
    return bce_logits_from(x, t, vector_exp(-abs(x)))


@scalar_fn
def bce_logits_gradient(x, t, gy):
    return gy * (sigmoid_of(x, vector_exp(-abs(x))) - t)


# ============================================================== CPU kernels
# Activations whose forward alone (activation.forward, nothing to fuse) is NumPy's ufunc. gpugrad's tanh op
# runs a ufunc of _vmath.tanh over the threads for float32 on the CPU instead (gpugrad/ops/activation.py):
# NumPy's float32 tanh is 1.4 ulp off, _vmath's 0.51, and on AVX2 NumPy's calls libm per element. With a
# bias to fuse (linear.py) the kernel wins: fused bias + tanh beats two passes (bench/NOTES.md).
NUMPY_FORWARD: dict[int, Any] = {TANH: np.tanh}

# One build per activation (the code a closure constant, see _launch.CpuKernelPerCode).
# Fast math without its no-NaN and no-infinity assumptions, which fold away the NaN the reference and
# PyTorch give (the loops vectorise as well without them).
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _inlined_on_cpu(fn: Any, name: str) -> Any:
    """A copy of the scalar helper ``fn`` that the CPU kernels inline at Numba IR level (a module global
    named ``name``, so that cpu_globals swaps in its CPU twin)."""
    copy = type(fn)(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    return scalar_fn(copy, inline_on_cpu=True)


# The kinds whose forward branch LLVM left a call in the serial builds (past its inlining threshold: expm1
# and log1p in float64 arithmetic): a call per element and a scalar loop, 10 ns an element where the
# parallel builds, which inline it, took 2 (elu, float32): under PARALLEL_MIN_WORK, as at 1024x1024, elu's
# forward ran 5x slower than PyTorch's. These kinds' kernels inline the whole switch at Numba IR level
# (LLVM then folds the constant code; no slower to compile), the others leave it to LLVM. mish's backward
# was the one such call among the backwards: inlined too, which also gives its serial build the parallel
# build's bits (the called function was compiled without the kernels' fast-math flags).
act_forward_inlined = _inlined_on_cpu(act_forward_scalar, "act_forward_inlined")
FORWARD_INLINED = frozenset((SOFTPLUS, ELU, SELU, CELU))
act_backward_inlined = _inlined_on_cpu(act_backward_scalar, "act_backward_inlined")
BACKWARD_INLINED = frozenset((MISH,))


@cpu_kernel_per_code(KINDS + ("identity",), FASTMATH)
def _forward_cpu(code):
    if code in FORWARD_INLINED:
        def forward(x, out, p):
            for i in prange(x.size):
                out[i] = act_forward_inlined(code, x[i], p)
        return forward

    def forward(x, out, p):
        for i in prange(x.size):
            out[i] = act_forward_scalar(code, x[i], p)
    return forward


@cpu_kernel_per_code(KINDS + ("identity",), FASTMATH)
def _backward_cpu(code):
    if code in BACKWARD_INLINED:
        def backward(gy, s, out, p):
            for i in prange(gy.size):
                out[i] = act_backward_inlined(code, s[i], gy[i], p)
        return backward

    def backward(gy, s, out, p):
        for i in prange(gy.size):
            out[i] = act_backward_scalar(code, s[i], gy[i], p)
    return backward


# Exact arithmetic (no fast-math flags): selections and one division, which vectorise as they are.
@cpu_kernel_per_code(PIECEWISE_KINDS, False)
def _piecewise_forward_cpu(code):
    def forward(x, out, a, b):
        for i in prange(x.size):
            out[i] = piecewise_forward_scalar(code, x[i], a, b)
    return forward


@cpu_kernel_per_code(PIECEWISE_KINDS, False)
def _piecewise_backward_cpu(code):
    def backward(gy, x, out, a, b):
        for i in prange(gy.size):
            out[i] = piecewise_backward_scalar(code, x[i], gy[i], a, b)
    return backward


# The piecewise kinds of a difference x - t (the smooth_l1 and huber losses of input and target): the
# subtraction in the loop, where NumPy's took a pass of its own, and a backward whose gy may be one number
# for every element (uniform: the gradient of a mean or a sum, which arrives broadcast), read once.
@cpu_kernel_per_code(PIECEWISE_KINDS, False)
def _piecewise_diff_forward_cpu(code):
    def forward(x, t, out, a, b):
        for i in prange(x.size):
            out[i] = piecewise_forward_scalar(code, x[i] - t[i], a, b)
    return forward


@cpu_kernel_per_code(PIECEWISE_KINDS, False)
def _piecewise_diff_backward_cpu(code):
    def backward(gy, x, t, out, a, b, uniform):
        g0 = gy[0]
        for i in prange(x.size):
            out[i] = piecewise_backward_scalar(code, x[i] - t[i], g0 if uniform else gy[i], a, b)
    return backward


# logsigmoid's and glu's CPU kernels by blocks of BLOCK elements: z = e^-|x| (float32 vectors) into the
# output first, then the result from it in float64 (_widen), rounded once, in a second loop over the block.
# As one loop, with float32 and float64 vectors in flight at once, logsigmoid's forward ran at 3.9 ns
# per element on one thread, as two 2.9 (float32, 2048x2048); and a loop storing to two arrays (glu's
# backward, both halves) stayed scalar (LLVM's runtime alias checks of five arrays): 9.4 ms against 4.4
# as three loops storing to one each. The blocks are also the threads' tasks: BLOCK elements of one row of
# glu's halves (outer rows, each of 2 m elements), so that glu along the first dim (one row) splits too.
BLOCK = 2048
_widen = np.float64


@cpu_kernel(False)
def _logsigmoid_forward_cpu(x, out, z):
    # z (e^-|x|, what the backward needs) may be out itself, for a forward that keeps no z
    n = x.size
    for t in prange((n + BLOCK - 1) // BLOCK):
        xs = x[t * BLOCK:(t + 1) * BLOCK]
        ys = out[t * BLOCK:(t + 1) * BLOCK]
        zs = z[t * BLOCK:(t + 1) * BLOCK]
        for i in range(xs.size):
            zs[i] = vector_exp(-abs(xs[i]))
        for i in range(xs.size):
            # not widened: float32's log1p_of_unit computes in float64 itself (float64's is libm's, a call),
            # and min(x, 0) and the log, both <= 0, add without cancellation
            ys[i] = logsigmoid_of(xs[i], zs[i])


@cpu_kernel(False)
def _logsigmoid_backward_cpu(gy, x, z, out, have_z):
    # without the forward's z (have_z False, z is out), z is computed into out first
    n = x.size
    for t in prange((n + BLOCK - 1) // BLOCK):
        xs = x[t * BLOCK:(t + 1) * BLOCK]
        gs = gy[t * BLOCK:(t + 1) * BLOCK]
        zs = z[t * BLOCK:(t + 1) * BLOCK]
        gx = out[t * BLOCK:(t + 1) * BLOCK]
        if not have_z:
            for i in range(xs.size):
                gx[i] = vector_exp(-abs(xs[i]))
        for i in range(xs.size):
            gx[i] = _widen(gs[i]) * sigmoid_of(-xs[i], _widen(zs[i]))


@cpu_kernel(False)
def _glu_forward_cpu(x, out):
    outer, _, m = x.shape
    blocks = (m + BLOCK - 1) // BLOCK
    for t in prange(outer * blocks):
        o = t // blocks
        lo = (t - o * blocks) * BLOCK
        a = x[o, 0, lo:lo + BLOCK]
        b = x[o, 1, lo:lo + BLOCK]
        y = out[o, lo:lo + BLOCK]
        for j in range(b.size):
            y[j] = vector_exp(-abs(b[j]))
        for j in range(b.size):
            y[j] = _widen(a[j]) * sigmoid_of(b[j], _widen(y[j]))


@cpu_kernel(False)
def _glu_backward_cpu(gy, x, gx):
    outer, _, m = x.shape
    blocks = (m + BLOCK - 1) // BLOCK
    for t in prange(outer * blocks):
        o = t // blocks
        lo = (t - o * blocks) * BLOCK
        a = x[o, 0, lo:lo + BLOCK]
        b = x[o, 1, lo:lo + BLOCK]
        g = gy[o, lo:lo + BLOCK]
        ga = gx[o, 0, lo:lo + BLOCK]
        gb = gx[o, 1, lo:lo + BLOCK]
        for j in range(b.size):
            gb[j] = vector_exp(-abs(b[j]))  # z, until the last loop
        for j in range(b.size):
            ga[j] = _widen(g[j]) * sigmoid_of(b[j], _widen(gb[j]))
        for j in range(b.size):
            gb[j] = _widen(g[j]) * _widen(a[j]) * sigmoid_slope_of(_widen(gb[j]))


@cpu_kernel(False)
def _bce_logits_forward_cpu(x, t, out):
    # by blocks, e^-|x| first, as logsigmoid's forward (one loop: 3.9 ns an element on one thread, two 3.1)
    n = x.size
    for k in prange((n + BLOCK - 1) // BLOCK):
        xs = x[k * BLOCK:(k + 1) * BLOCK]
        ts = t[k * BLOCK:(k + 1) * BLOCK]
        ys = out[k * BLOCK:(k + 1) * BLOCK]
        for i in range(xs.size):
            ys[i] = vector_exp(-abs(xs[i]))
        for i in range(xs.size):
            ys[i] = bce_logits_from(xs[i], ts[i], ys[i])


@cpu_kernel(False)
def _bce_logits_backward_cpu(gy, x, t, out, uniform):
    g0 = gy[0]
    for i in prange(x.size):
        out[i] = bce_logits_gradient(x[i], t[i], g0 if uniform else gy[i])


# tanhshrink's backward, gy t^2 from the forward's t = tanh(x), squared and times gy in float64, rounded
# once, in one pass where the composite took three (gy - gy (1 - t^2), PyTorch's too, which loses every
# digit near 0: 2e7 ulp). A zero is +0.0, as that difference gives.
@cpu_kernel(False)
def _tanhshrink_backward_cpu(gy, t, out):
    for i in prange(t.size):
        g = gy[i]
        w = _widen(t[i])
        out[i] = like(g, _widen(g) * (w * w)) + like(g, 0.0)


# ============================================================== CUDA kernels

# Elements each forward thread loads per grid-stride trip before it stores any: twice UNROLL, so that
# the forward, reading one array, keeps as many loads in flight per thread as the backward reading two
# (at UNROLL it stayed well under the backward's fraction of copy bandwidth: bench/NOTES.md, the H200
# runs of 2026-12-04). The launch sizes the grid for this many per thread.
FORWARD_UNROLL = 2 * UNROLL

# numba.cuda, bound on first use. A module global (not a closure variable)
# because the CUDA simulator swaps globals that are numba.cuda for its fake.
cuda: Any = None


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, int64, void

    T = numba_type(dtype)

    # The forward reads one array, so four loads per trip (the backward's eight) kept too few bytes in
    # flight (see FORWARD_UNROLL). Every trip, the last included, loads all of its elements before it
    # stores any: elements past n are guarded (their load repeats x[i], their store is skipped), so a
    # thread's last partial trip costs one memory round trip, not one per element.
    def forward_kernel(code, x, out, p):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            i1 = i + step
            i2 = i1 + step
            i3 = i2 + step
            i4 = i3 + step
            i5 = i4 + step
            i6 = i5 + step
            i7 = i6 + step
            x0 = x[i]
            x1 = x[i1] if i1 < n else x0
            x2 = x[i2] if i2 < n else x0
            x3 = x[i3] if i3 < n else x0
            x4 = x[i4] if i4 < n else x0
            x5 = x[i5] if i5 < n else x0
            x6 = x[i6] if i6 < n else x0
            x7 = x[i7] if i7 < n else x0
            out[i] = act_forward_scalar(code, x0, p)
            if i1 < n:
                out[i1] = act_forward_scalar(code, x1, p)
            if i2 < n:
                out[i2] = act_forward_scalar(code, x2, p)
            if i3 < n:
                out[i3] = act_forward_scalar(code, x3, p)
            if i4 < n:
                out[i4] = act_forward_scalar(code, x4, p)
            if i5 < n:
                out[i5] = act_forward_scalar(code, x5, p)
            if i6 < n:
                out[i6] = act_forward_scalar(code, x6, p)
            if i7 < n:
                out[i7] = act_forward_scalar(code, x7, p)
            i = i7 + step

    # Grid-stride loop taking UNROLL (4) elements per trip, all loaded before any is stored (see UNROLL).
    def backward_kernel(code, gy, s, out, p):
        n = gy.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i + 3 * step < n:
            g0 = gy[i]
            g1 = gy[i + step]
            g2 = gy[i + 2 * step]
            g3 = gy[i + 3 * step]
            s0 = s[i]
            s1 = s[i + step]
            s2 = s[i + 2 * step]
            s3 = s[i + 3 * step]
            out[i] = act_backward_scalar(code, s0, g0, p)
            out[i + step] = act_backward_scalar(code, s1, g1, p)
            out[i + 2 * step] = act_backward_scalar(code, s2, g2, p)
            out[i + 3 * step] = act_backward_scalar(code, s3, g3, p)
            i += 4 * step
        while i < n:
            out[i] = act_backward_scalar(code, s[i], gy[i], p)
            i += step

    # The piecewise kinds: a plain grid-stride loop (their arithmetic is a select or two).
    def piecewise_forward_kernel(code, x, out, a, b):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            out[i] = piecewise_forward_scalar(code, x[i], a, b)
            i += step

    def piecewise_backward_kernel(code, gy, x, out, a, b):
        n = gy.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            out[i] = piecewise_backward_scalar(code, x[i], gy[i], a, b)
            i += step

    def piecewise_diff_forward_kernel(code, x, t, out, a, b):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            out[i] = piecewise_forward_scalar(code, x[i] - t[i], a, b)
            i += step

    def piecewise_diff_backward_kernel(code, gy, x, t, out, a, b, uniform):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            out[i] = piecewise_backward_scalar(code, x[i] - t[i], gy[0] if uniform else gy[i], a, b)
            i += step

    def bce_logits_forward_kernel(x, t, out):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            out[i] = bce_logits_of(x[i], t[i])
            i += step

    def bce_logits_backward_kernel(gy, x, t, out, uniform):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            out[i] = bce_logits_gradient(x[i], t[i], gy[0] if uniform else gy[i])
            i += step

    def tanhshrink_backward_kernel(gy, t, out):
        n = t.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            g = gy[i]
            out[i] = g * (t[i] * t[i]) + like(g, 0.0)  # +0.0 for a zero, see the CPU kernel
            i += step

    # logsigmoid and glu: plain grid-stride loops. glu's element i of y (outer row o = i // m, j = i - o m)
    # reads x at o 2m + j (a) and m further (b): x[i + o m] and x[i + o m + m].
    def logsigmoid_forward_kernel(x, out, z, keep_z):
        n = x.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            v = x[i]
            e = vector_exp(-abs(v))
            if keep_z:
                z[i] = e
            out[i] = logsigmoid_of(v, e)
            i += step

    def logsigmoid_backward_kernel(gy, x, z, out, have_z):
        n = gy.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            v = x[i]
            e = z[i] if have_z else vector_exp(-abs(v))
            out[i] = gy[i] * sigmoid_of(-v, e)
            i += step

    def glu_forward_kernel(x, out, m):
        n = out.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            k = i + (i // m) * m
            out[i] = glu_forward_scalar(x[k], x[k + m])
            i += step

    def glu_backward_kernel(gy, x, gx, m):
        n = gy.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            k = i + (i // m) * m
            b = x[k + m]
            g = gy[i]
            gx[k] = g * sigmoid_of(b, vector_exp(-abs(b)))
            gx[k + m] = glu_gradient_b(x[k], b, g)
            i += step

    return {
        "forward": (forward_kernel, void(int64, T[::1], T[::1], T)),
        "backward": (backward_kernel, void(int64, T[::1], T[::1], T[::1], T)),
        "piecewise_forward": (piecewise_forward_kernel, void(int64, T[::1], T[::1], T, T)),
        "piecewise_backward": (piecewise_backward_kernel, void(int64, T[::1], T[::1], T[::1], T, T)),
        "piecewise_diff_forward": (piecewise_diff_forward_kernel, void(int64, T[::1], T[::1], T[::1], T, T)),
        "piecewise_diff_backward": (piecewise_diff_backward_kernel,
                                    void(int64, T[::1], T[::1], T[::1], T[::1], T, T, boolean)),
        "bce_logits_forward": (bce_logits_forward_kernel, void(T[::1], T[::1], T[::1])),
        "bce_logits_backward": (bce_logits_backward_kernel, void(T[::1], T[::1], T[::1], T[::1], boolean)),
        "tanhshrink_backward": (tanhshrink_backward_kernel, void(T[::1], T[::1], T[::1])),
        "logsigmoid_forward": (logsigmoid_forward_kernel, void(T[::1], T[::1], T[::1], boolean)),
        "logsigmoid_backward": (logsigmoid_backward_kernel, void(T[::1], T[::1], T[::1], T[::1], boolean)),
        "glu_forward": (glu_forward_kernel, void(T[::1], T[::1], int64)),
        "glu_backward": (glu_backward_kernel, void(T[::1], T[::1], T[::1], int64)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("activation", _cuda_sources)


# ============================================================== launchers

# The kinds whose formulas read `param`; the others get a zero made once per dtype (a NumPy scalar costs
# 0.2 us to make, as much as a small kernel's loop).
_PARAM_CODES = frozenset((LEAKY_RELU, ELU, CELU))
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_UNUSED_PARAM = {_F32: np.float32(0.0), _F64: np.float64(0.0)}


def _cpu_param(code: int, dtype: Any, param: float) -> Any:
    return dtype.type(param) if code in _PARAM_CODES else _UNUSED_PARAM[dtype]


def _check_out(op: str, ref: Any, out: Any) -> None:
    if out is None:
        return
    check_same_shape(op, input=ref, out=out)
    if not out.flags.c_contiguous:
        raise ValueError(f"{op}: out must be C-contiguous (shape {tuple(out.shape)})")


def forward(
    xp: Any,
    kind: str,
    x: Any,
    param: float = 0.0,
    *,
    out: Any = None,
    impl: str | None = None,
    stream: Any = None,
) -> Any:
    """y = f(x). `param` is leaky_relu's negative_slope, elu's and celu's alpha (ignored otherwise).
    `out` (same shape and dtype, C-contiguous, may be x) receives y."""
    code = CODES.get(kind, IDENTITY)
    ufunc = NUMPY_FORWARD.get(code)
    if ufunc is not None and out is None and impl is None and xp is np and x.dtype.kind == "f":
        return ufunc(x)  # what the CPU path and the reference run, on any layout: no checks to make
    if (out is None and impl is None and xp is np and fused_enabled() and code != IDENTITY
            and (x.dtype is _F32 or x.dtype is _F64)):  # the unchecked CPU path, as backward's below
        y = np.empty(x.shape, x.dtype)  # C-contiguous, so its ravel is a view; x's may copy
        _forward_cpu(x.size, code, x.ravel(), y.ravel(), _cpu_param(code, x.dtype, param))
        return y
    op = f"activation.forward[{kind}]"
    code = activation_code(op, kind)
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x, out=out)
    _check_out(op, x, out)
    if impl == "reference":
        return reference_forward(xp, kind, x, param, out=out)
    check_arrays_for(op, xp, impl, x=x, out=out)
    x = contiguous(xp, x)
    y = xp.empty_like(x) if out is None else out
    p = dtype.type(param)
    if impl == "cpu":
        ufunc = NUMPY_FORWARD.get(code)
        if ufunc is not None:
            ufunc(x, out=y)
        else:
            _forward_cpu(x.size, code, x.reshape(-1), y.reshape(-1), p)
    else:
        launch(_cuda_kernel("forward", dtype), x.size, 256, cuda_stream(xp, stream),
               code, x.reshape(-1), y.reshape(-1), p, per_thread=FORWARD_UNROLL)
    return y


def backward(
    xp: Any,
    kind: str,
    gy: Any,
    saved: Any,
    param: float = 0.0,
    *,
    out: Any = None,
    impl: str | None = None,
    stream: Any = None,
) -> Any:
    """gx = f'(x) * gy in one pass; `saved` is y if SAVES_OUTPUT[kind] else x.
    `out` (same shape and dtype, C-contiguous, may be gy) receives gx."""
    if out is None and impl is None and xp is np and fused_enabled():
        dtype = gy.dtype
        code = CODES.get(kind, IDENTITY)
        if (dtype is _F32 or dtype is _F64) and saved.dtype is dtype and saved.shape == gy.shape and code != IDENTITY:
            gx = np.empty(gy.shape, dtype)  # C-contiguous, so its ravel is a view; the inputs' may copy
            _backward_cpu(gy.size, code, gy.ravel(), saved.ravel(), gx.ravel(), _cpu_param(code, dtype, param))
            return gx
    op = f"activation.backward[{kind}]"
    code = activation_code(op, kind)
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, saved=saved, out=out)
    check_same_shape(op, gy=gy, saved=saved)
    _check_out(op, gy, out)
    if impl == "reference":
        return reference_backward(xp, kind, gy, saved, param, out=out)
    check_arrays_for(op, xp, impl, gy=gy, saved=saved, out=out)
    gy = contiguous(xp, gy)
    saved = contiguous(xp, saved)
    gx = xp.empty_like(gy) if out is None else out
    p = dtype.type(param)
    if impl == "cpu":
        _backward_cpu(gy.size, code, gy.reshape(-1), saved.reshape(-1), gx.reshape(-1), p)
    else:
        launch(_cuda_kernel("backward", dtype), gy.size, 256, cuda_stream(xp, stream),
               code, gy.reshape(-1), saved.reshape(-1), gx.reshape(-1), p, per_thread=UNROLL)
    return gx


def _piecewise_code(op: str, kind: str) -> int:
    code = PIECEWISE_CODES.get(kind)
    if code is None:
        raise ValueError(f"{op}: unknown piecewise activation {kind!r}; expected one of {PIECEWISE_KINDS}")
    return code


_PARAM_SCALARS: dict[tuple, tuple] = {}


def _param_scalars(dtype: Any, params: tuple) -> tuple:
    """``params`` as ``dtype``'s scalars, the kernels' parameters, remembered: NumPy makes a scalar in ~0.3 us,
    a small pass's whole work. Zeros are made each time (0.0 and -0.0 are one key, the kernels tell them apart)."""
    if not all(params):
        return tuple([dtype.type(v) for v in params])
    key = (dtype, params)
    scalars = _PARAM_SCALARS.get(key)
    if scalars is None:
        if len(_PARAM_SCALARS) >= 1024:  # a program sweeping a parameter: keep the memory bounded
            _PARAM_SCALARS.clear()
        scalars = _PARAM_SCALARS[key] = tuple([dtype.type(v) for v in params])
    return scalars


def _one_pass(op: str, kind: str, cpu: Any, xp: Any, impl: str | None, stream: Any, reference: Any,
              arrays: dict[str, Any], *, code: int | None = None, params: tuple = (), uniform_gy: bool = False) -> Any:
    """The launch of a one-pass elementwise kernel over ``arrays`` (name -> array, one shape and float dtype),
    writing one output of that shape: the checks, then ``reference()`` for impl "reference", else the CPU
    kernel ``cpu`` or the CUDA kernel ``kind``, both given ([code,] the arrays flat, the output flat, params in
    the arrays' dtype). With ``uniform_gy`` the first array is an upstream gradient that, when it is a
    broadcast of one number (the gradient of a mean or a sum), is passed as that number alone, and the
    kernels are told so by a last flag."""
    values = list(arrays.values())
    if plain_cpu_call(xp, impl, *values):  # every check below would pass (they cost more than a small pass)
        dtype, impl, shape = values[0].dtype, "cpu", values[0].shape
    else:
        dtype, impl = float_dtype_and_impl(op, xp, impl, **arrays)
        shape = check_same_shape(op, **arrays)
        if impl == "reference":
            return reference()
        check_arrays_for(op, xp, impl, **arrays)
    flags: tuple = ()
    if uniform_gy:
        one = _uniform(xp, values[0])
        values[0] = values[0] if one is None else one
        flags = (one is not None,)
    out = xp.empty(shape, dtype)
    if uniform_gy and not out.size:  # the kernels read gy[0]
        return out
    args = (*((code,) if code is not None else ()), *[contiguous(xp, a).reshape(-1) for a in values],
            out.reshape(-1), *_param_scalars(dtype, params), *flags)
    if impl == "cpu":
        cpu(out.size, *args)
    else:
        launch(_cuda_kernel(kind, dtype), out.size, 256, cuda_stream(xp, stream), *args)
    return out


def piecewise_forward(xp: Any, kind: str, x: Any, a: float = 0.0, b: float = 0.0, *, impl: str | None = None,
                      stream: Any = None) -> Any:
    """y = f(x) for a piecewise kind (PIECEWISE_KINDS) with its parameters (a, b), in one pass."""
    op = f"activation.piecewise_forward[{kind}]"
    code = _piecewise_code(op, kind)
    return _one_pass(op, "piecewise_forward", _piecewise_forward_cpu, xp, impl, stream,
                     lambda: reference_piecewise_forward(xp, kind, x, a, b), {"x": x}, code=code, params=(a, b))


def piecewise_backward(xp: Any, kind: str, gy: Any, x: Any, a: float = 0.0, b: float = 0.0, *,
                       impl: str | None = None, stream: Any = None) -> Any:
    """gx = f'(x) gy for a piecewise kind with its parameters (a, b), in one pass."""
    op = f"activation.piecewise_backward[{kind}]"
    code = _piecewise_code(op, kind)
    return _one_pass(op, "piecewise_backward", _piecewise_backward_cpu, xp, impl, stream,
                     lambda: reference_piecewise_backward(xp, kind, gy, x, a, b), {"gy": gy, "x": x}, code=code,
                     params=(a, b))


def _uniform(xp: Any, gy: Any) -> Any:
    """gy's one value as a 1-element array when gy is a broadcast of one number (every stride 0, as the
    gradient of a mean or a sum arrives), else None."""
    if gy.size and not any(gy.strides):
        return xp.ascontiguousarray(gy[(0,) * gy.ndim].reshape(1))
    return None


def piecewise_diff_forward(xp: Any, kind: str, x: Any, t: Any, a: float = 0.0, b: float = 0.0, *,
                           impl: str | None = None, stream: Any = None) -> Any:
    """y = f(x - t) for a piecewise kind (the smooth_l1 and huber losses of input x and target t, one
    shape), the difference taken in the pass."""
    op = f"activation.piecewise_diff_forward[{kind}]"
    code = _piecewise_code(op, kind)
    return _one_pass(op, "piecewise_diff_forward", _piecewise_diff_forward_cpu, xp, impl, stream,
                     lambda: reference_piecewise_forward(xp, kind, x - t, a, b), {"x": x, "t": t}, code=code,
                     params=(a, b))


def piecewise_diff_backward(xp: Any, kind: str, gy: Any, x: Any, t: Any, a: float = 0.0, b: float = 0.0, *,
                            impl: str | None = None, stream: Any = None) -> Any:
    """gx = f'(x - t) gy for a piecewise kind, in one pass; gy of x's shape, and when it is a broadcast of
    one number, that number is read once (not copied out to x's size first)."""
    op = f"activation.piecewise_diff_backward[{kind}]"
    code = _piecewise_code(op, kind)
    return _one_pass(op, "piecewise_diff_backward", _piecewise_diff_backward_cpu, xp, impl, stream,
                     lambda: reference_piecewise_backward(xp, kind, gy, x - t, a, b), {"gy": gy, "x": x, "t": t},
                     code=code, params=(a, b), uniform_gy=True)


def bce_logits_forward(xp: Any, x: Any, t: Any, *, impl: str | None = None, stream: Any = None) -> Any:
    """binary_cross_entropy_with_logits of logits x and targets t (one shape), elementwise, in one pass."""
    return _one_pass("activation.bce_logits_forward", "bce_logits_forward", _bce_logits_forward_cpu, xp, impl,
                     stream, lambda: reference_bce_logits_forward(xp, x, t), {"x": x, "t": t})


def bce_logits_backward(xp: Any, gy: Any, x: Any, t: Any, *, impl: str | None = None, stream: Any = None) -> Any:
    """gx = gy (sigmoid(x) - t) in one pass; a gy broadcast from one number is read once."""
    return _one_pass("activation.bce_logits_backward", "bce_logits_backward", _bce_logits_backward_cpu, xp, impl,
                     stream, lambda: reference_bce_logits_backward(xp, gy, x, t), {"gy": gy, "x": x, "t": t},
                     uniform_gy=True)


def tanhshrink_backward(xp: Any, gy: Any, t: Any, *, impl: str | None = None, stream: Any = None) -> Any:
    """tanhshrink's gx = gy t^2 in one pass, from its forward's t = tanh(x)."""
    return _one_pass("activation.tanhshrink_backward", "tanhshrink_backward", _tanhshrink_backward_cpu, xp, impl,
                     stream, lambda: reference_tanhshrink_backward(xp, gy, t), {"gy": gy, "t": t})


def logsigmoid_forward(xp: Any, x: Any, *, keep_z: bool = False, impl: str | None = None,
                       stream: Any = None) -> Any:
    """y = log(sigmoid(x)) = min(x, 0) - log1p(e^-|x|) in one pass; with ``keep_z``, (y, z) with z = e^-|x|,
    which logsigmoid_backward then takes instead of computing it again (PyTorch's forward keeps it too)."""
    op = "activation.logsigmoid_forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    if impl == "reference":
        y = reference_logsigmoid_forward(xp, x)
        return (y, xp.exp(-xp.abs(x))) if keep_z else y
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    y = xp.empty_like(x)
    if impl == "cpu":
        z = xp.empty_like(x) if keep_z else y  # the kernel writes z, then y over it
        _logsigmoid_forward_cpu(x.size, x.reshape(-1), y.reshape(-1), z.reshape(-1))
    else:
        # an unused z is a placeholder of one element: the same array passed twice would be two copies
        # under the CUDA simulator, each copied back
        z = xp.empty_like(x) if keep_z else xp.empty(1, dtype)
        launch(_cuda_kernel("logsigmoid_forward", dtype), x.size, 256, cuda_stream(xp, stream),
               x.reshape(-1), y.reshape(-1), z.reshape(-1), bool(keep_z))
    return (y, z) if keep_z else y


def logsigmoid_backward(xp: Any, gy: Any, x: Any, z: Any = None, *, impl: str | None = None,
                        stream: Any = None) -> Any:
    """gx = gy sigmoid(-x) in one pass, from logsigmoid's input x and, when given, the forward's z =
    e^-|x| (keep_z)."""
    op = "activation.logsigmoid_backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, x=x, z=z)
    check_same_shape(op, gy=gy, x=x)
    if z is not None:
        check_same_shape(op, x=x, z=z)
    if impl == "reference":
        return reference_logsigmoid_backward(xp, gy, x)
    check_arrays_for(op, xp, impl, gy=gy, x=x, z=z)
    gy = contiguous(xp, gy)
    x = contiguous(xp, x)
    gx = xp.empty_like(gy)
    have_z = z is not None
    z = contiguous(xp, z) if have_z else (gx if impl == "cpu" else xp.empty(1, dtype))  # see logsigmoid_forward
    if impl == "cpu":
        _logsigmoid_backward_cpu(gy.size, gy.reshape(-1), x.reshape(-1), z.reshape(-1), gx.reshape(-1), have_z)
    else:
        launch(_cuda_kernel("logsigmoid_backward", dtype), gy.size, 256, cuda_stream(xp, stream),
               gy.reshape(-1), x.reshape(-1), z.reshape(-1), gx.reshape(-1), have_z)
    return gx


def _glu_split(op: str, shape: tuple, axis: int) -> tuple[int, int, tuple]:
    """(outer, m, y's shape) for glu of an array of ``shape`` along ``axis``: x seen as (outer, 2, m)."""
    if not 0 <= axis < len(shape) or shape[axis] % 2:
        raise ValueError(f"{op}: axis {axis} of shape {shape} must exist and have an even length")
    half = shape[axis] // 2
    return math.prod(shape[:axis]), half * math.prod(shape[axis + 1:]), shape[:axis] + (half,) + shape[axis + 1:]


def glu_forward(xp: Any, x: Any, axis: int, *, impl: str | None = None, stream: Any = None) -> Any:
    """y = a sigmoid(b) for the halves a, b of x along ``axis`` (its length even), both read in one pass."""
    op = "activation.glu_forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    outer, m, shape = _glu_split(op, tuple(x.shape), axis)
    if impl == "reference":
        return reference_glu_forward(xp, x, axis)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    y = xp.empty(shape, dtype)
    if impl == "cpu":
        _glu_forward_cpu(x.size, x.reshape(outer, 2, m), y.reshape(outer, m))
    elif y.size:
        launch(_cuda_kernel("glu_forward", dtype), y.size, 256, cuda_stream(xp, stream),
               x.reshape(-1), y.reshape(-1), m)
    return y


def glu_backward(xp: Any, gy: Any, x: Any, axis: int, *, impl: str | None = None, stream: Any = None) -> Any:
    """gx (x's shape): gy sigmoid(b) in the first half along ``axis``, gy a sigmoid'(b) in the second, one
    pass over gy and both halves of x."""
    op = "activation.glu_backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, x=x)
    outer, m, shape = _glu_split(op, tuple(x.shape), axis)
    if tuple(gy.shape) != shape:
        raise ValueError(f"{op}: gy of shape {tuple(gy.shape)} must have glu's output shape {shape}")
    if impl == "reference":
        return reference_glu_backward(xp, gy, x, axis)
    check_arrays_for(op, xp, impl, gy=gy, x=x)
    gy = contiguous(xp, gy)
    x = contiguous(xp, x)
    gx = xp.empty(x.shape, dtype)
    if impl == "cpu":
        _glu_backward_cpu(x.size, gy.reshape(outer, m), x.reshape(outer, 2, m), gx.reshape(outer, 2, m))
    elif gy.size:
        launch(_cuda_kernel("glu_backward", dtype), gy.size, 256, cuda_stream(xp, stream),
               gy.reshape(-1), x.reshape(-1), gx.reshape(-1), m)
    return gx
