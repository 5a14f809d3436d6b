"""Stateless versions of the layers and losses, as ``torch.nn.functional``: ``import gpugrad.nn.functional as F``.

Everything here is composed from differentiable ops (or is one, in ``gpugrad.ops``: conv, pool, pad, loss,
linear, layer_norm), so first and second derivatives come from the ops' own backward formulas.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as _np

from .. import ops as _ops
from .._builtin import builtin as _builtin
from .._caller import user_stacklevel
from ..amp.policy import FLOAT32, LOWER_PRECISION, PROMOTE, autocast_policy
from ..autograd.function import Op
from ..autograd.grad_mode import no_grad
from ..autograd.watch import state as _watch
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..kernels.conv import conv_geometry, windows
from ..kernels.softmax_xent import check_target_range
from ..ops import activation as _act
from ..ops import conv as _conv
from ..ops._operands import fused_norm_takes
from ..ops._operands import normalize_dims as _normalize_dims
from ..ops._operands import write_out as _write_out
from ..ops.batch_norm import batch_norm as _fused_batch_norm
from ..ops.grouped_mm import grouped_mm
from ..ops.inplace import inplace_variant as _inplace_variant
from ..ops.layer_norm import layer_norm as _fused_layer_norm
from ..ops.linear import linear_act as _linear_act
from ..ops.loss import BCEWithLogits, SmoothL1
from ..ops.loss import softmax_cross_entropy as _softmax_cross_entropy
from ..ops.pad import pad_constant as _pad_constant
from ..ops.pool import avg_pool2d as _avg_pool2d
from ..ops.pool import max_pool2d as _max_pool2d
from ..overrides import (  # noqa: F401  (PyTorch's F re-exports them)
    handle_torch_function,
    has_torch_function,
    has_torch_function_unary,
    has_torch_function_variadic,
)
from ..overrides import make_overridable as _make_overridable
from ..random import default_generator
from ..tensor import Tensor
from . import _expanded_weights as _ew
from .functional_ctc import ctc_loss  # noqa: F401  (re-exported as F.ctc_loss)
from .functional_losses import (
    REDUCTIONS as _REDUCTIONS,
)
from .functional_losses import (  # noqa: F401  (re-exported: F.kl_div, F.triplet_margin_loss, ...)
    cosine_embedding_loss,
    cosine_similarity,
    gaussian_nll_loss,
    hinge_embedding_loss,
    kl_div,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    pdist,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .functional_losses import (
    cross_entropy_probabilities as _cross_entropy_probabilities,
)
from .functional_losses import (
    legacy_reduction as _legacy_reduction,
)
from .functional_losses import (
    reduce_loss as _reduce,
)

__all__ = [
    "avg_pool2d",
    "bilinear",
    "conv1d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "conv2d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "ctc_loss",
    "dropout",
    "elu",
    "elu_",
    "embedding",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "grouped_mm",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "leaky_relu_",
    "linear",
    "log_softmax",
    "logsigmoid",
    "margin_ranking_loss",
    "max_pool2d",
    "mish",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pairwise_distance",
    "pdist",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _pair(op: str, name: str, value) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return value


def _check_tensor(op: str, name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _const(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._backend)


def _nested(op: str, *args):
    """F.<op> on a jagged nested tensor (``input.is_nested``): gpugrad/nested runs it on the packed values
    (or per component), imported here at call time, so dense inputs pay only the ``is_nested`` check."""
    from ..nested import _functional

    return getattr(_functional, op)(*args)


# Activations -----------------------------------------------------------------------------------------
# ``inplace=True`` writes the result into ``input`` and returns it, as PyTorch does (recorded as an
# in-place op when gradients are on: an input that is a leaf requiring grad is refused, as in PyTorch).


def _apply(fn, input: Tensor, inplace: bool, *args) -> Tensor:
    if input.is_nested:
        return _nested("pointwise", fn, input, inplace, *args)
    return _inplace_variant(fn)(input, *args) if inplace else fn(input, *args)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). ``F.relu(x)``."""
    return _apply(_act.relu, input, inplace)


def relu_(input: Tensor) -> Tensor:
    """relu in place."""
    return relu(input, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); no gradient at 0 and 6."""
    return _apply(_act.relu6, input, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, else negative_slope * x."""
    return _apply(_act.leaky_relu, input, inplace, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu in place."""
    return leaky_relu(input, negative_slope, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x); ``approximate="tanh"`` for the tanh form."""
    if input.is_nested:
        return _nested("pointwise", _act.gelu, input, False, approximate)
    return _act.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x)."""
    return _apply(_act.silu, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _apply(_act.mish, input, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^x - 1)."""
    return _apply(_act.elu, input, inplace, alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """elu in place."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    return _apply(_act.selu, input, inplace)


def selu_(input: Tensor) -> Tensor:
    """selu in place."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^(x / alpha) - 1)."""
    return _apply(_act.celu, input, inplace, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu in place."""
    return celu(input, alpha, inplace=True)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _apply(_act.hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    return _apply(_act.hardswish, input, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val], with no gradient at the bounds."""
    return _apply(_act.hardtanh, input, inplace, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh in place."""
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _apply(_act.threshold, input, inplace, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """threshold in place."""
    return _apply(_act.threshold, input, True, threshold, value)


def rrelu(input: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky relu: a random slope in [lower, upper] per negative element when training (from
    gpugrad's generator), the mean slope (lower + upper) / 2 otherwise."""
    return _apply(_act.rrelu, input, inplace, lower, upper, training)


def rrelu_(input: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, training: bool = False) -> Tensor:
    """rrelu in place."""
    return rrelu(input, lower, upper, training, inplace=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    if input.is_nested:
        return _nested("pointwise", _act.hardshrink, input, False, lambd)
    return _act.hardshrink(input, lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x shrunk towards 0 by lambd, 0 within [-lambd, lambd]."""
    if input.is_nested:
        return _nested("pointwise", _act.softshrink, input, False, lambd)
    return _act.softshrink(input, lambd)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    if input.is_nested:
        return _nested("pointwise", _act.tanhshrink, input, False)
    return _act.tanhshrink(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    if input.is_nested:
        return _nested("pointwise", _act.softsign, input, False)
    return _act.softsign(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), stable for any x."""
    if input.is_nested:
        return _nested("pointwise", _act.logsigmoid, input, False)
    return _act.logsigmoid(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the halves a, b of input along dim."""
    return _act.glu(input, dim)


@autocast_policy(LOWER_PRECISION)
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, else weight * x: one weight, or one per channel (dim 1)."""
    return _act.prelu(input, weight)


def sigmoid(input: Tensor) -> Tensor:
    if input.is_nested:
        return _nested("pointwise", _act.sigmoid, input, False)
    return _act.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    if input.is_nested:
        return _nested("pointwise", _act.tanh, input, False)
    return _act.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above ``threshold``."""
    if input.is_nested:
        return _nested("pointwise", _act.softplus, input, False, beta, threshold)
    return _act.softplus(input, beta, threshold)


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=user_stacklevel(),
    )
    return 0 if ndim in (0, 1, 3) else 1


@autocast_policy(cuda=FLOAT32)
def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``. ``F.softmax(logits, dim=-1)``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    if input.is_nested:
        return _nested("softmax", input, dim)
    return _ops.softmax(input, dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``. ``_stacklevel`` is PyTorch's warning depth, taken so that ``dtype`` sits
    where PyTorch has it; the implicit-dim warning here always points at the caller."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    if input.is_nested:
        return _nested("softmax", -input, dim)
    return _ops.softmax(-input, dim)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau) with g Gumbel(0, 1) noise from gpugrad's generator; ``hard=True`` returns
    the one-hot of its argmax with the soft sample's gradient (straight-through)."""
    _check_tensor("gumbel_softmax", "logits", logits)
    noise = -_np.log(default_generator.rng.exponential(size=tuple(logits.shape)))
    gumbels = _const(logits, logits._backend.asarray(noise.astype(logits._array.dtype)))
    y_soft = ((logits + gumbels) / tau).softmax(dim=dim)
    if not hard:
        return y_soft
    zeros = _const(logits, logits._backend.xp.zeros_like(y_soft._array))
    y_hard = zeros.scatter(dim, y_soft.detach().argmax(dim=dim, keepdim=True), 1.0)
    return y_hard - y_soft.detach() + y_soft


@autocast_policy(cuda=FLOAT32)
def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    if input.is_nested:
        return _nested("log_softmax", input, dim)
    return _ops.log_softmax(input, dim)


# Linear and convolution ---------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight^T + bias, for input (..., in_features), weight (out_features, in_features)."""
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.linear(input, weight, bias)
    return _linear_activation(input, weight, bias, "identity", 0.0)


@autocast_policy(cuda=PROMOTE)
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    _check_tensor("bilinear", "input1", input1)
    _check_tensor("bilinear", "input2", input2)
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise ShapeError(f"bilinear: weight of shape {tuple(weight.shape)} does not fit input1 {tuple(input1.shape)} "
                         f"and input2 {tuple(input2.shape)} (expected (out, {input1.shape[-1]}, {input2.shape[-1]}))")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ShapeError(f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} must have the "
                         "same batch dims")
    out = _ops.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def _sparse_linear(input: Tensor, weight: Tensor, bias: Tensor | None, kind: str) -> Tensor | None:
    """linear of a 2-d sparse input (COO, CSR or CSC), as PyTorch's: ``input @ weight^T + bias``, dense.
    None with a fused activation: nn.Sequential then runs the layer and the activation one by one."""
    if kind != "identity":
        return None
    if input.ndim != 2 or weight.ndim != 2:
        raise ShapeError(f"linear: a sparse input must be 2-d with a 2-d weight, got shapes {tuple(input.shape)} "
                         f"and {tuple(weight.shape)}")
    out = input @ weight.t()
    return out if bias is None else out + bias


@autocast_policy(LOWER_PRECISION)
def _linear_activation(input: Tensor, weight: Tensor, bias: Tensor | None, kind: str, param: float) -> Tensor:
    """act(linear(input)) with the activation (``kind``, as in ``gpugrad.kernels.activation``) fused into
    the GEMM's epilogue when the weight is a matrix; ``nn.Sequential`` uses it for Linear + activation."""
    _check_tensor("linear", "input", input)
    _check_tensor("linear", "weight", weight)
    if bias is not None:
        _check_tensor("linear", "bias", bias)
    if input.is_nested:
        return _nested("linear", input, weight, bias, kind, param)
    try:
        x, w = input._array, weight._array  # the arrays' shapes and dtypes: every layer call reads them
    except NotImplementedError:  # a sparse input has no array (gpugrad/sparse): its product with weight^T
        return _sparse_linear(input, weight, bias, kind)
    if w.ndim != 2 and w.ndim != 1:
        raise ShapeError(f"linear: weight must be 1-D or 2-D, got shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        # nn.Linear calls this: in_features is the weight's last dim.
        raise ShapeError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features but "
            f"weight of shape {w.shape} expects {w.shape[-1]} (in_features={w.shape[-1]})"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._array.dtype != x.dtype:
            raise DTypeError(f"linear: input is {input.dtype} but {name} is {t.dtype}")
    if w.ndim == 2 and (bias is None or bias._array.ndim == 1) and x.dtype.kind != "c":
        return _linear_act(input, weight, bias, kind, param)
    if kind != "identity":
        raise ValueError(f"linear: a fused activation needs a 2-D weight, got shape {tuple(weight.shape)}")
    out = input @ (weight.mT if w.ndim == 2 else weight)  # complex weights, or a 1-D one
    return out + bias if bias is not None else out


def _conv_padding(padding, kernel, dilation, stride) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) for an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        raise ValueError(f"conv2d: invalid padding string {padding!r}, should be one of 'valid', 'same'")
    ph, pw = _pair("conv2d", "padding", padding)
    if ph < 0 or pw < 0:
        raise ValueError(f"conv2d: negative padding is not supported, got {(ph, pw)}")
    return (ph, ph, pw, pw)


def _single(op: str, name: str, value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    value = tuple(value)
    if len(value) != 1 or not isinstance(value[0], int):
        raise ValueError(f"{op}: {name} must be an int or a 1-tuple of ints, got {value!r}")
    return value[0]


@autocast_policy(LOWER_PRECISION)
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of input (N, C_in, L) with weight (C_out, C_in / groups, k): conv2d over a
    height of one (the same kernels and gradients). ``padding`` is an int, ``"valid"`` or ``"same"``."""
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.conv(conv1d, input, weight, bias, stride, padding, dilation, groups)
    _check_tensor("conv1d", "input", input)
    _check_tensor("conv1d", "weight", weight)
    if input.ndim not in (2, 3):
        raise ShapeError(f"conv1d: expected 2-D (unbatched) or 3-D (batched) input, got shape {tuple(input.shape)}")
    if weight.ndim != 3:
        raise ShapeError(f"conv1d: expected a 3-D weight (C_out, C_in/groups, k), got shape {tuple(weight.shape)}")
    channels = input.shape[-2]
    if groups >= 1 and weight.shape[1] * groups != channels:
        raise ShapeError(f"conv1d: input of shape {tuple(input.shape)} has {channels} channels, but weight of shape "
                         f"{tuple(weight.shape)} with groups={groups} expects {weight.shape[1] * groups}")
    pad = padding if isinstance(padding, str) else (0, _single("conv1d", "padding", padding))
    stride = (1, _single("conv1d", "stride", stride))
    dilation = (1, _single("conv1d", "dilation", dilation))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, stride, pad, dilation, groups)
    return out.squeeze(-2)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of input (N, C_in, H, W) with weight (C_out, C_in / groups, kh, kw).

    Lowered to im2col (one kernel: gpugrad.kernels.conv) and one matrix product (one op for
    groups=1, a batched product per group otherwise); ``padding`` is an int, a pair, ``"valid"`` or
    ``"same"``::

        y = F.conv2d(x, w, b, stride=2, padding=1)
    """
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.conv(conv2d, input, weight, bias, stride, padding, dilation, groups)
    return _conv2d_activation(input, weight, bias, stride, padding, dilation, groups, "identity", 0.0)


@autocast_policy(LOWER_PRECISION)
def _conv2d_activation(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation, groups: int,
                       kind: str, param: float) -> Tensor:
    """act(conv2d(...)) with the activation (``kind``, as in ``gpugrad.kernels.activation``) applied inside
    the convolution's op when groups=1; ``nn.Sequential`` uses it for Conv2d + activation."""
    _check_tensor("conv2d", "input", input)
    _check_tensor("conv2d", "weight", weight)
    if bias is not None:
        _check_tensor("conv2d", "bias", bias)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != 4:
        raise ShapeError(f"conv2d: expected 3-D (unbatched) or 4-D (batched) input, got shape {tuple(input.shape)}")
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: expected a 4-D weight (C_out, C_in/groups, kh, kw), got shape {tuple(weight.shape)}")
    if input._array.dtype != weight._array.dtype:
        raise DTypeError(f"conv2d: input ({input.dtype}) and weight ({weight.dtype}) must have the same dtype")
    n, c, h, w = input._array.shape  # the arrays' shape tuples: cheaper than a Size per read
    out_c, c_per_group, kh, kw = weight._array.shape
    if groups < 1 or c % groups or out_c % groups:
        raise ValueError(f"conv2d: groups={groups} must divide in_channels ({c}) and out_channels ({out_c})")
    if c_per_group * groups != c:
        raise ShapeError(
            f"conv2d: input of shape {tuple(input.shape)} has {c} channels, but weight of shape "
            f"{tuple(weight.shape)} with groups={groups} expects {c_per_group * groups}"
        )
    if bias is not None and bias._array.shape != (out_c,):
        raise ShapeError(f"conv2d: bias must have shape ({out_c},), got {tuple(bias.shape)}")
    stride = _pair("conv2d", "stride", stride)
    dilation = _pair("conv2d", "dilation", dilation)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    pads = _conv_padding(padding, (kh, kw), dilation, stride)
    geometry = conv_geometry((kh, kw), stride, pads, dilation)
    oh, ow = geometry.output_hw(h, w)
    if oh < 1 or ow < 1:
        raise ShapeError(
            f"conv2d: kernel ({kh}, {kw}) with dilation {dilation} is larger than the padded input "
            f"({h + pads[0] + pads[1]}, {w + pads[2] + pads[3]})"
        )
    if bias is not None and bias._array.dtype != input._array.dtype:
        raise DTypeError(f"conv2d: bias ({bias.dtype}) must have the input's dtype ({input.dtype})")
    if groups == 1:
        out = _conv.conv2d(input, weight, bias, geometry, kind, param)  # one op, one GEMM
    elif kind != "identity":
        raise ValueError(f"conv2d: a fused activation needs groups=1, got groups={groups}")
    else:
        cols = _conv.im2col(input, geometry)  # (C*kh*kw, N*oh*ow)
        k = c_per_group * kh * kw
        out = weight.reshape(groups, out_c // groups, k) @ cols.reshape(groups, k, n * oh * ow)
        out = out.reshape(out_c, n, oh, ow).permute(1, 0, 2, 3).contiguous()  # row-major, as PyTorch's result
        if bias is not None:
            out = out + bias.reshape(1, out_c, 1, 1)
    return out.squeeze(0) if unbatched else out


# Pooling -------------------------------------------------------------------------------------------


def _ntuple(op: str, name: str, value, n: int) -> tuple[int, ...]:
    """value as n ints: an int repeats, a sequence must hold n ints (a 1-sequence repeats, as PyTorch's)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1 and n > 1:
        value = value * n
    if len(value) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return value


def _pool_geometry(op, input, kernel_size, stride, padding, dilation, ceil_mode, nd: int = 2):
    """Checked geometry of an nd-pooling over the last nd dims: (kernel, stride, pad, dilation, pads, out),
    pads holding (before, after) per dim, after being what ceil_mode adds at the end. A pure function of
    the input's shape and the arguments: cached (a module calls it with the same ones every step)."""
    if input.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}: expected {nd + 1}-D or {nd + 2}-D input, got shape {tuple(input.shape)}")
    args = (op, input._array.shape, kernel_size, stride, padding, dilation, ceil_mode, nd)
    # Only plain ints (and tuples of them) are cached: the cache compares keys by equality, so a float 2.0
    # or (2.0, 2.0) would hit the entry of 2 and skip the check that refuses them.
    if _plain_ints(kernel_size) and _plain_ints(stride) and _plain_ints(padding) and _plain_ints(dilation):
        return _cached_pool_geometry(*args)
    return _pool_geometry_of(*args)


def _plain_ints(value) -> bool:
    """None, an int or a tuple of ints, each exactly int (not bool, not a float equal to one)."""
    cls = value.__class__
    return cls is int or value is None or (cls is tuple and all(v.__class__ is int for v in value))


def _pool_geometry_of(op, shape, kernel_size, stride, padding, dilation, ceil_mode, nd):
    kernel = _ntuple(op, "kernel_size", kernel_size, nd)
    empty_stride = stride is None or (not isinstance(stride, int) and len(tuple(stride)) == 0)
    stride = kernel if empty_stride else _ntuple(op, "stride", stride, nd)
    pad = _ntuple(op, "padding", padding, nd)
    dilation = _ntuple(op, "dilation", dilation, nd)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be positive")
    for p, k in zip(pad, kernel):
        if p < 0 or p > k // 2:
            raise ValueError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k}")
    out, pads = [], []
    for size, k, s, p, d in zip(shape[-nd:], kernel, stride, pad, dilation):
        eff = d * (k - 1) + 1
        numer = size + 2 * p - eff + ((s - 1) if ceil_mode else 0)
        o = numer // s + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        if o < 1:
            raise ShapeError(f"{op}: output size is too small for input of shape {shape} (kernel {kernel}, padding {pad})")
        pads += [p, max(0, (o - 1) * s + eff - size - p)]
        out.append(o)
    return kernel, stride, pad, dilation, tuple(pads), tuple(out)


_cached_pool_geometry = lru_cache(maxsize=256)(_pool_geometry_of)


def _argmax_over_taps(x, taps, inside) -> Tensor:
    """Flat positions (over the last nd dims of x) of each window's maximum, as an int64 Tensor (B, C, *out).

    ``taps[i]`` (out_i, k_i) holds the input coordinates a window reads along spatial dim i and ``inside[i]``
    which of them lie in the input. Windows are scanned in row-major order and the first maximum wins (a NaN
    beats every number), as PyTorch's; a window holding only the lowest value points at its first element
    inside the input. No gradient flows here: the values are then read with gather, which differentiates.
    """
    xp, a = x._backend.xp, x._array
    nd = len(taps)
    spatial = a.shape[-nd:]
    flat, ok = 0, True
    for i, (t, v, n) in enumerate(zip(taps, inside, spatial)):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = t.shape
        flat = flat * n + xp.clip(t, 0, n - 1).reshape(shape)
        ok = ok & v.reshape(shape)
    out = tuple(t.shape[0] for t in taps)
    full = out + tuple(t.shape[1] for t in taps)
    flat = xp.broadcast_to(flat, full).reshape(out + (-1,))
    ok = xp.broadcast_to(ok, full).reshape(out + (-1,))
    values = a.reshape(a.shape[: a.ndim - nd] + (-1,))[..., flat]  # (B, C, *out, K)
    lowest = -xp.inf if a.dtype.kind in FLOAT_KINDS else (False if a.dtype.kind == "b" else xp.iinfo(a.dtype).min)
    values = xp.where(ok, values, a.dtype.type(lowest))
    k = values.argmax(axis=-1)
    chosen_inside = xp.take_along_axis(xp.broadcast_to(ok, values.shape), k[..., None], axis=-1)[..., 0]
    k = xp.where(chosen_inside, k, ok.argmax(axis=-1))
    index = xp.take_along_axis(xp.broadcast_to(flat, values.shape), k[..., None], axis=-1)[..., 0]
    return Tensor._make(index.astype(xp.int64), x._backend)


def _gather_flat(x: Tensor, index: Tensor, nd: int) -> Tensor:
    """x read at flat positions ``index`` over its last nd dims (differentiable in x through gather)."""
    lead = tuple(x.shape[: x.ndim - nd])
    picked = x.reshape(lead + (-1,)).gather(-1, index.reshape(lead + (-1,)))
    return picked.reshape(tuple(index.shape))


def _max_pool_nd(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    """Max pooling over the last nd dims of any dtype, by an argmax over the windows and a gather."""
    kernel, stride, pad, dilation, _, out = _pool_geometry(op, input, kernel_size, stride, padding, dilation, ceil_mode, nd)
    xp = input._backend.xp
    taps, inside = [], []
    for o, k, s, p, d, n in zip(out, kernel, stride, pad, dilation, input.shape[-nd:]):
        t = xp.arange(o).reshape(-1, 1) * s - p + xp.arange(k).reshape(1, -1) * d
        taps.append(t)
        inside.append((t >= 0) & (t < n))
    index = _argmax_over_taps(input, taps, inside)
    values = _gather_flat(input, index, nd)
    return (values, index) if return_indices else values


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False):
    """Maximum over each window of a (N, C, H, W) input; the gradient goes to the (first) maximum.

    ``return_indices=True`` also gives each maximum's flat position h * W + w, as PyTorch does. Integer and
    bool inputs pool too (without gradient), as in PyTorch.
    """
    _check_tensor("max_pool2d", "input", input)
    if input._array.dtype.kind not in FLOAT_KINDS:
        return _max_pool_nd("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)
    unbatched = input.ndim == 3
    kernel, stride, _, dilation, pads, _ = _pool_geometry("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    x = input.unsqueeze(0) if unbatched else input
    out, indices = _max_pool2d(x, conv_geometry(kernel, stride, pads, dilation))
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over each window of a (N, C, H, W) input (zero padding counted unless count_include_pad=False)."""
    _check_tensor("avg_pool2d", "input", input)
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"avg_pool2d: expected a floating point input, got {input.dtype}")
    unbatched = input.ndim == 3
    kernel, stride, pad, dilation, pads, (oh, ow) = _pool_geometry("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    x = input.unsqueeze(0) if unbatched else input
    h, w = x.shape[2], x.shape[3]
    xp = x._backend.xp
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor must be not zero")
        counts = xp.full((oh, ow), divisor_override, dtype=x._array.dtype)
    else:
        # PyTorch's divisor: the window clipped to the padded input (ceil_mode's extra cells never count),
        # and clipped to the input itself when count_include_pad=False.
        top, bottom, left, right = pads
        mask = xp.zeros((1, 1, h + top + bottom, w + left + right), dtype=x._array.dtype)
        if count_include_pad:
            mask[..., : h + 2 * pad[0], : w + 2 * pad[1]] = 1
        else:
            mask[..., pad[0] : pad[0] + h, pad[1] : pad[1] + w] = 1
        view, _, _ = windows(xp, mask, kernel, stride, (0, 0, 0, 0), dilation)
        counts = view.sum(axis=(2, 3))[0, 0]  # (oh, ow)
    out = _avg_pool2d(x, conv_geometry(kernel, stride, pads, dilation), counts)
    return out.squeeze(0) if unbatched else out


# Regularisation and normalisation ------------------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training).

    The mask is drawn from gpugrad's default generator, so ``gg.manual_seed`` makes it reproducible; inside
    a CUDA graph capture it is drawn on the device, afresh at each replay.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.is_nested:
        return _nested("dropout", input, p, training, inplace)
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    # On the host, or on the device while a CUDA graph is captured (see Generator.keep_mask).
    keep = default_generator.keep_mask(input._backend, tuple(input.shape), p)
    dtype = input._array.dtype.type
    mask = _const(input, keep.astype(dtype) / dtype(1.0 - p))  # PyTorch's rounding: 1 / (1 - p) in the dtype
    return input.mul_(mask) if inplace else input * mask


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: ``F.normalize(v, dim=-1)`` gives unit rows.

    ``p`` is any real number, ``inf`` (max |x|), ``-inf`` (min |x|) or 0 (the count of non-zeros). A row of zeros
    (norm below eps) is divided by eps, and its gradient is 1/eps, as in PyTorch."""
    _check_tensor("normalize", "input", input)
    if input.is_nested:
        return _nested("normalize", input, p, dim, eps, out)
    complex_input = input._array.dtype.kind == "c"
    if input._array.dtype.kind not in FLOAT_KINDS and not complex_input:
        raise DTypeError(f"normalize: expected a floating point or complex input, got {input.dtype}")
    if complex_input or isinstance(dim, (tuple, list)):
        # several dims (x / ||x||_F over a matrix, as Muon-style optimizers write) or a complex input
        # (divided by the real norm of its moduli): the norm over all of them, as PyTorch's
        from ..ops.linalg import vector_norm

        axes = _normalize_dims("normalize", dim, input.ndim)
        norm = vector_norm(input, p, axes, keepdim=True)
        return _write_out("normalize", input / _ops.clamp(norm, min=eps), out)
    (axis,) = _normalize_dims("normalize", dim, input.ndim)
    if p == 2 and input.ndim:
        from ..ops.linalg import vector_norm

        norm = vector_norm(input, 2, axis, keepdim=True)  # its sum of squares in one pass (Backend.sum_of_squares)
    else:
        norm = _vector_norm(input, p, axis)
    result = input / _ops.clamp(norm, min=eps)
    return _write_out("normalize", result, out)


def _vector_norm(x: Tensor, p: float, axis: int) -> Tensor:
    """||x||_p along axis (kept), whose gradient at a zero vector is 0 rather than the 0 * inf of the
    power's derivative there."""
    if p in (float("inf"), float("-inf")):
        magnitude = x.abs()
        if not x.ndim:
            return magnitude
        return magnitude.max(dim=axis, keepdim=True)[0] if p > 0 else magnitude.min(dim=axis, keepdim=True)[0]
    if p == 0:
        return _const(x, (x._array != 0).sum(axis=axis, keepdims=True).astype(x._array.dtype))
    powered = x * x if p == 2 else _abs_power(x, p)
    total = powered.sum(dim=axis, keepdim=True) if x.ndim else powered
    nonzero = total > 0
    root = _ops.where(nonzero, total, 1.0) ** (1.0 / p)  # never a root of 0 in the graph
    return _ops.where(nonzero, root, 0.0)


def _abs_power(x: Tensor, p: float) -> Tensor:
    """|x|^p, with gradient 0 (not p |x|^(p-1) = inf for p < 1) at x = 0 when p > 0, as PyTorch's norms."""
    magnitude = x.abs()
    if p < 0:
        return magnitude**p
    nonzero = magnitude > 0
    return _ops.where(nonzero, _ops.where(nonzero, magnitude, 1.0) ** p, 0.0)


@autocast_policy(cuda=FLOAT32)
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims to zero mean and unit (biased) variance,
    then scale by weight and shift by bias."""
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.layer_norm(input, normalized_shape, weight, bias, eps)
    if input.is_nested:
        return _nested("layer_norm", input, normalized_shape, weight, bias, eps)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape[input.ndim - k :]) != normalized_shape or input.ndim < k:
        raise ShapeError(
            f"layer_norm: normalized_shape {list(normalized_shape)} does not match the trailing dims of input of "
            f"shape {tuple(input.shape)}"
        )
    n = int(_np.prod(normalized_shape))
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise ShapeError(f"layer_norm: {name} of shape {tuple(p.shape)} does not match normalized_shape "
                             f"{list(normalized_shape)}")
    if fused_norm_takes(input, weight, bias):
        return _fused_layer_norm(input, n, weight, bias, eps)  # one fused op each way
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dim=dims, keepdim=True)
    var = input.var(dim=dims, keepdim=True, correction=0)
    out = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) of a (N, C, ...) input.

    Training uses the batch statistics (biased variance) and updates ``running_mean`` / ``running_var``
    in place as running = (1 - momentum) running + momentum batch, with the unbiased variance, as
    PyTorch does. Otherwise the running statistics are used.
    """
    return _fused_batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by the int64 indices in ``input``.

    The row at ``padding_idx`` gets no gradient (its value is still returned, as in PyTorch). With
    ``max_norm``, the looked-up rows of ``weight`` whose ``norm_type``-norm exceeds it are rescaled in
    place first; ``scale_grad_by_freq`` divides each row's gradient by how often it was picked.
    """
    from .sparse import (
        embedding as lookup,  # nn.sparse builds on F: imported at call time
    )

    return lookup(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of size num_classes (max + 1 when -1)."""
    if tensor._array.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expected an int64 tensor of class indices, got {tensor.dtype}")
    xp = tensor._backend.xp
    idx = tensor._array
    if idx.size and int(idx.min()) < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    elif idx.size and int(idx.max()) >= num_classes:
        raise ValueError(f"one_hot: class value {int(idx.max())} is out of range for num_classes={num_classes}")
    out = (idx[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return _const(tensor, out)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)//2 dims: ``pad=(left, right, top, bottom, ...)`` starting from the last dim.
    Negative amounts crop. ``mode`` "constant" fills with ``value``; "reflect" mirrors without repeating
    the edge, "replicate" repeats the edge, "circular" wraps around (these take the batch-shaped inputs
    PyTorch takes: 2-3 dims for 1-D padding, 3-4 for 2-D, 4-5 for 3-D)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding length must be even and at most twice the dims ({input.ndim}), got {pad}")
    if mode != "constant":
        return _pad_by_index(input, pad, mode)
    widths = [[0, 0] for _ in range(input.ndim)]
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = [pad[2 * i], pad[2 * i + 1]]
    if any(b < 0 or a < 0 for b, a in widths):
        crop = tuple(slice(max(0, -b), s - max(0, -a)) for (b, a), s in zip(widths, input.shape))
        input = input[crop]
        widths = [[max(0, b), max(0, a)] for b, a in widths]
    return _pad_constant(input, widths, 0.0 if value is None else value)


def _pad_by_index(input: Tensor, pad: tuple, mode: str) -> Tensor:
    """The reflect, replicate and circular modes: each padded dim is one index_select of positions mapped
    back into the input, so the gradient of a repeated element sums over its copies."""
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    spatial = len(pad) // 2
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"pad: padding size {len(pad)} is not supported for {input.ndim}D input of shape "
                         f"{tuple(input.shape)} in mode {mode!r} (it pads {spatial} dims of a {spatial + 1}D or "
                         f"{spatial + 2}D input)")
    xp = input._backend.xp
    out = input
    for i in range(spatial):
        dim, before, after = input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        n = input.shape[dim]
        if mode == "reflect" and max(before, after) >= n:
            raise ShapeError(f"pad: reflect padding ({before}, {after}) must be less than the size {n} of dim {dim} "
                             f"(input shape {tuple(input.shape)})")
        if mode == "circular" and max(before, after) > n:
            raise ShapeError(f"pad: circular padding ({before}, {after}) wraps around dim {dim} of size {n} more "
                             f"than once (input shape {tuple(input.shape)})")
        positions = xp.arange(-before, n + after)
        if mode == "reflect":
            positions = xp.abs(positions)
            positions = xp.where(positions >= n, 2 * (n - 1) - positions, positions)
        elif mode == "replicate":
            positions = xp.clip(positions, 0, n - 1)
        else:  # PyTorch crops first, then wraps around what is left
            lo, kept = max(0, -before), n - max(0, -before) - max(0, -after)
            positions = lo + xp.arange(-max(0, before), kept + max(0, after)) % kept
        out = out.index_select(dim, Tensor._make(positions.astype(xp.int64), input._backend))
    return out


# Losses --------------------------------------------------------------------------------------------


def _class_rows(op: str, input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, check_range: bool = True):
    """Validate class-index targets (their range unless ``check_range`` is false); return (input as
    (M, C), target array (M,), the 'none' output shape)."""
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    x, t = input._array, target._array  # the arrays' shapes: plain tuples, read many times below
    if x.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected floating point input, got {input.dtype}")
    if t.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: expected target of dtype int64 (class indices), got {target.dtype}; "
            "class probabilities need a target of the input's shape"
        )
    for name, other in (("target", target), ("weight", weight)):
        if other is not None and other._backend is not input._backend:
            raise DeviceError(f"{op}: expected input and {name} on the same device, got input on {input.device} and {name} on {other.device}")
    shape, t_shape = x.shape, t.shape
    if not shape:
        raise ShapeError(f"{op}: input must have at least 1 dim (C,), got a scalar")
    c = shape[0] if len(shape) == 1 else shape[1]
    if len(shape) == 1:
        if t_shape:
            raise ShapeError(f"{op}: for input of shape {shape} (one sample) target must be a scalar, got shape {t_shape}")
        rows, t, out_shape = input.unsqueeze(0), t.reshape(1), ()
    else:
        expected = (shape[0],) + shape[2:]
        if not t_shape or t_shape[0] != shape[0]:
            raise ShapeError(
                f"{op}: expected input batch_size ({shape[0]}) to match target batch_size "
                f"({t_shape[0] if t_shape else 'a scalar'}); input shape {shape}, target shape {t_shape}"
            )
        if t_shape != expected:
            raise ShapeError(f"{op}: for input of shape {shape} target must have shape {expected}, got {t_shape}")
        if len(shape) > 2:
            perm = (0,) + tuple(range(2, len(shape))) + (1,)
            rows, t = input.permute(perm).reshape(-1, c), t.reshape(-1)
        else:
            rows = input
        out_shape = expected
    if weight is not None:
        if weight._array.shape != (c,):
            raise ShapeError(f"{op}: weight must have shape ({c},) (one per class), got {tuple(weight.shape)}")
        if weight._array.dtype != x.dtype:
            raise DTypeError(f"{op}: weight ({weight.dtype}) must have the input's dtype ({input.dtype})")
    if check_range:
        check_target_range(t, c, ignore_index, op)
    return rows, t, out_shape


def _weights_per_row(rows: Tensor, t, weight: Tensor | None, ignore_index: int):
    """(w[t_i] masked to 0 for ignored rows, as an (M,) Tensor; the safe targets array; the valid mask)."""
    xp = rows._backend.xp
    valid = t != ignore_index
    t_safe = xp.where(valid, t, 0)
    if weight is None:
        return _const(rows, valid.astype(rows._array.dtype)), t_safe, valid
    return weight[_const(rows, t_safe)] * _const(rows, valid.astype(rows._array.dtype)), t_safe, valid


def _finish_class_loss(op, loss_rows, w_rows, out_shape, reduction):
    if reduction == "none":
        return loss_rows.reshape(out_shape)
    if reduction == "sum":
        return loss_rows.sum()
    if reduction == "mean":
        # PyTorch's weighted mean: divided by the summed weights of the non-ignored targets. When that sum
        # is 0 (every target ignored) the loss is nan and the gradients zeros, as PyTorch's, not 0 * inf.
        denominator = w_rows.sum()
        xp = denominator._backend.xp
        empty = denominator._array == 0
        safe = _ops.where(_const(denominator, empty), 1.0, denominator)
        nan_if_empty = _const(denominator, xp.where(empty, xp.nan, 0.0).astype(denominator._array.dtype))
        return loss_rows.sum() / safe + nan_if_empty
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


@autocast_policy(FLOAT32)
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of log-probabilities ``input`` (N, C) or (N, C, d...) at int64 class
    targets: -w[t] * input[t], averaged over the summed weights for ``reduction="mean"``."""
    reduction = _legacy_reduction("nll_loss", size_average, reduce, reduction)
    rows, t, out_shape = _class_rows("nll_loss", input, target, weight, ignore_index)
    w_rows, t_safe, _ = _weights_per_row(rows, t, weight, ignore_index)
    xp = rows._backend.xp
    picked = rows[_const(rows, xp.arange(rows.shape[0])), _const(rows, t_safe)]
    return _finish_class_loss("nll_loss", -picked * w_rows, w_rows, out_shape, reduction)


@autocast_policy(FLOAT32)
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits (N, C) or (N, C, d...) against int64 class indices, as PyTorch's:

        loss_i = (1 - eps) * w[t_i] * -log p_i[t_i] + eps / C * sum_c w_c * -log p_ic

    Rows whose target is ``ignore_index`` count for nothing; ``reduction="mean"`` divides by the summed
    w[t_i] of the others. ``F.cross_entropy(logits, labels, label_smoothing=0.1)``.

    A float target of the logits' shape holds class probabilities instead (see
    ``functional_losses.cross_entropy_probabilities``); "mean" then divides by the number of samples.
    """
    reduction = _legacy_reduction("cross_entropy", size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    _check_tensor("cross_entropy", "input", input)
    _check_tensor("cross_entropy", "target", target)
    if input.ndim and target._array.shape == input._array.shape:
        if target.device != input.device:
            raise DeviceError(f"cross_entropy: expected input and target on the same device, got {input.device} and {target.device}")
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    fused = _fused_cross_entropy(weight)
    # The fused kernel range-checks the targets itself (on a GPU, one flag read instead of a check pass).
    rows, t, out_shape = _class_rows("cross_entropy", input, target, weight, ignore_index, check_range=not fused)
    if fused:
        # One op for loss and reduction: a training step's loss costs one op application, not four.
        loss = _softmax_cross_entropy(rows, _const(rows, t), weight, ignore_index, label_smoothing, reduction)
        return loss.reshape(out_shape) if reduction == "none" else loss
    w_rows, _t_safe, _valid = _weights_per_row(rows, t, weight, ignore_index)
    loss_rows = _xent_composite(rows, t, weight, ignore_index, label_smoothing)
    return _finish_class_loss("cross_entropy", loss_rows, w_rows, out_shape, reduction)


def _fused_cross_entropy(weight: Tensor | None) -> bool:
    """Whether cross_entropy runs as the fused op: unless the class weights need a gradient, which only
    the composite path (log_softmax, gather, sums) gives."""
    return weight is None or not weight.requires_grad


def _xent_composite(rows: Tensor, t, weight: Tensor | None, ignore_index: int, label_smoothing: float) -> Tensor:
    """Per-row cross-entropy as log_softmax + nll (+ the smoothing term), in differentiable ops."""
    logp = rows.log_softmax(dim=1)
    w_rows, t_safe, valid = _weights_per_row(rows, t, weight, ignore_index)
    xp = rows._backend.xp
    nll = -logp[_const(rows, xp.arange(rows.shape[0])), _const(rows, t_safe)] * w_rows
    if not label_smoothing:
        return nll
    c = rows.shape[1]
    smooth = -(logp * weight if weight is not None else logp).sum(dim=1) * _const(rows, valid.astype(rows._array.dtype))
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


def _pointwise_loss_operands(op: str, input: Tensor, target: Tensor) -> None:
    """PyTorch's rule for the elementwise regression losses: a target of another shape is broadcast
    against the input with a warning, and shapes that do not broadcast are an error, in the loss's own
    words."""
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    if tuple(target.shape) == tuple(input.shape):
        return
    # PyTorch warns first, whether or not the shapes then broadcast, in words that callers match (skorch's tests).
    warnings.warn(
        f"{op}: Using a target size ({target.shape!r}) that is different to the input size ({input.shape!r}). "
        "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
        stacklevel=user_stacklevel(),
    )
    try:
        _np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise ShapeError(
            f"{op}: input of shape {tuple(input.shape)} and target of shape {tuple(target.shape)} do not broadcast; "
            "they should have the same shape"
        ) from None


def _weighted_reduce(op: str, loss: Tensor, input: Tensor, weight: Tensor | None, reduction: str,
                     mean_over_weights: bool) -> Tensor:
    """Reduce an elementwise loss, times ``weight`` (the input's shape) when given. PyTorch's weighted
    "mean" divides by the summed weights for mse_loss and l1_loss, by the element count for huber_loss."""
    if weight is None:
        return _reduce(op, loss, reduction)
    _check_tensor(op, "weight", weight)
    if tuple(weight.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: weight of shape {tuple(weight.shape)} must have the input's shape {tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and mean_over_weights:
        return loss.sum() / weight.sum()
    return _reduce(op, loss, reduction)


@autocast_policy(FLOAT32)
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """(input - target)^2, reduced (times ``weight``, and a weighted mean, when given)."""
    _pointwise_loss_operands("mse_loss", input, target)
    reduction = _legacy_reduction("mse_loss", size_average, reduce, reduction)
    squares = _ops.elementwise.squared_difference(input, target)  # one pass each way where it applies
    return _weighted_reduce("mse_loss", squares, input, weight, reduction, mean_over_weights=True)


@autocast_policy(FLOAT32)
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced (times ``weight``, and a weighted mean, when given)."""
    _pointwise_loss_operands("l1_loss", input, target)
    reduction = _legacy_reduction("l1_loss", size_average, reduce, reduction)
    return _weighted_reduce("l1_loss", (input - target).abs(), input, weight, reduction, mean_over_weights=True)


def _quadratic_then_linear(input: Tensor, target: Tensor, width: float, kind: str) -> Tensor:
    """0.5 d^2 / width for |d| < width, |d| - 0.5 width beyond, d = input - target: smooth_l1 with beta =
    width; times width for ``kind`` "huber". Float32 and float64 as one fused op (SmoothL1, the values of
    the composite below, which other dtypes take), the difference taken in its pass when input and target
    have one shape and dtype."""
    dtype = input._array.dtype
    if (dtype == _np.float32 or dtype == _np.float64) and target._array.dtype == dtype \
            and tuple(target.shape) == tuple(input.shape):
        return SmoothL1.apply(input, target, kind=kind, width=float(width))
    diff = input - target
    if diff._array.dtype == _np.float32 or diff._array.dtype == _np.float64:
        return SmoothL1.apply(diff, None, kind=kind, width=float(width))
    magnitude = diff.abs()
    loss = _ops.where(magnitude < width, diff * diff * (0.5 / width), magnitude - 0.5 * width)
    return loss * width if kind == "huber" else loss


@autocast_policy(FLOAT32)
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2, for d = input - target; l1_loss at beta = 0.
    f' = d / beta inside, sign(d) outside."""
    _pointwise_loss_operands("smooth_l1_loss", input, target)
    reduction = _legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    loss = (input - target).abs() if beta == 0 else _quadratic_then_linear(input, target, beta, "smooth_l1")
    return _reduce("smooth_l1_loss", loss, reduction)


@autocast_policy(FLOAT32)
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| <= delta, else delta (|d| - delta / 2): delta * smooth_l1 with beta = delta."""
    _pointwise_loss_operands("huber_loss", input, target)
    if delta <= 0:
        raise ArgumentError(f"huber_loss: delta must be positive, got {delta}")
    loss = _quadratic_then_linear(input, target, delta, "huber")
    return _weighted_reduce("huber_loss", loss, input, weight, reduction, mean_over_weights=False)


class _BinaryCrossEntropy(Op):
    """Elementwise -(t log x + (1 - t) log(1 - x)), logs clamped at -100. Its own op because PyTorch's
    gradient at the clamp, (x - t) / max(x (1 - x), 1e-12), is not the clamped composite's (0 there)."""

    name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, t):
        xp = ctx.xp
        ctx.save_for_backward(x, t)
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
        return -(t * log_x + (1 - t) * log_1mx)

    @staticmethod
    def backward(ctx, gy):
        x, t = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = gy * (x - t) / _ops.clamp(x * (1.0 - x), min=_BCE_EPS)
        if ctx.needs_input_grad[1]:
            # Unclamped, as PyTorch's: +-inf at x = 0 or 1.
            gt = gy * ((1.0 - x).log() - x.log())
        return gx, gt


_BCE_EPS = 1e-12


@autocast_policy(cpu=FLOAT32)
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1], each log clamped at -100 as in
    PyTorch (so x = 0 or 1 gives a finite loss). d/dx = w (x - t) / max(x (1 - x), 1e-12)."""
    op = "binary_cross_entropy"
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(
            f"{op}: target of shape {tuple(target.shape)} must have the input's shape {tuple(input.shape)}"
        )
    if input._array.dtype.kind not in FLOAT_KINDS or target._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected floating point input and target, got {input.dtype} and {target.dtype}")
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    xp = input._backend.xp
    if bool(xp.any((input._array < 0) | (input._array > 1))):
        raise ArgumentError(f"{op}: all elements of input should be between 0 and 1 (probabilities); "
                            "use binary_cross_entropy_with_logits for logits")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        _check_tensor(op, "weight", weight)
        try:
            _np.broadcast_shapes(tuple(weight.shape), tuple(input.shape))
        except ValueError:
            raise ShapeError(f"{op}: weight of shape {tuple(weight.shape)} does not broadcast to the input's "
                             f"shape {tuple(input.shape)}") from None
        loss = loss * weight
    return _reduce(op, loss, reduction)


@autocast_policy(FLOAT32)
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of logits x against targets t in [0, 1], in the stable form

        loss = (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x),   times ``weight``

    (softplus(-x) = -log sigmoid(x), never exp of a large number)."""
    _check_tensor("binary_cross_entropy_with_logits", "input", input)
    _check_tensor("binary_cross_entropy_with_logits", "target", target)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(
            f"binary_cross_entropy_with_logits: target size {tuple(target.shape)} must be the same as input size {tuple(input.shape)}"
        )
    if target._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"binary_cross_entropy_with_logits: target must be floating point (probabilities), got {target.dtype}")
    reduction = _legacy_reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    if pos_weight is None and input._array.dtype == _np.float32 and target._array.dtype == _np.float32:
        # one kernel pass each way, the composite's formula (float64 keeps the composite's bits)
        loss = BCEWithLogits.apply(input, target)
        if weight is not None:
            loss = loss * weight
        return _reduce("binary_cross_entropy_with_logits", loss, reduction)
    log_sig_neg = _ops.softplus(-input)  # -log sigmoid(x)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * log_sig_neg
    else:
        loss = (1.0 - target) * input + log_sig_neg
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


# The rest of F lives in files of its own, each exporting the names in its __all__. They are imported last
# because they build on the functions above.
from . import (  # noqa: E402  # noqa: E402
    functional_attention,
    functional_conv,
    functional_fractional_pool,
    functional_grid,
    functional_linear_cross_entropy,
    functional_normalization,
    functional_pool_indices,  # noqa: E402  (after functional_resample: it builds on it)
    functional_resample,
)
from .functional_attention import *  # noqa: E402,F401,F403
from .functional_conv import *  # noqa: E402,F401,F403
from .functional_fractional_pool import *  # noqa: E402,F401,F403
from .functional_grid import *  # noqa: E402,F401,F403
from .functional_linear_cross_entropy import *  # noqa: E402,F401,F403
from .functional_normalization import *  # noqa: E402,F401,F403
from .functional_pool_indices import *  # noqa: E402,F401,F403
from .functional_resample import *  # noqa: E402,F401,F403

__all__ += [
    name
    for part in (functional_attention, functional_conv, functional_grid, functional_normalization, functional_resample,
                 functional_pool_indices, functional_linear_cross_entropy, functional_fractional_pool)
    for name in part.__all__
]

# PyTorch's F functions that are C builtins: stored as a class attribute they do not bind (kornia's
# ``conv = torch.conv2d`` called as ``self.conv(x, weight=k)``); ours keep that (gpugrad/_builtin.py).
_C_BUILTINS = (
    "adaptive_avg_pool1d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "bilinear", "channel_shuffle", "conv1d", "conv2d",
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_similarity", "gelu", "hardshrink",
    "linear", "logsigmoid", "one_hot", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu",
    "scaled_dot_product_attention", "softplus", "softshrink", "celu_", "elu_", "hardtanh_", "leaky_relu_", "relu_",
    "rrelu_", "selu_", "threshold_",
)
_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
globals().update({name: _builtin(globals()[name], __name__) for name in _C_BUILTINS})
