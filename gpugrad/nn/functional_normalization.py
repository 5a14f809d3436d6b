"""F.group_norm, F.instance_norm, F.local_response_norm and the dropout variants.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``). Everything is composed from
differentiable Tensor ops, so first and second derivatives need no code of their own.
"""
from __future__ import annotations

import math
import warnings

from ..autograd.grad_mode import no_grad
from ..errors import ArgumentError, ShapeError
from ..random import default_generator
from ..tensor import Tensor
from .functional import _check_tensor, _const, pad

__all__: list[str] = [
    "alpha_dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "group_norm",
    "instance_norm",
    "local_response_norm",
]


# Normalisation ---------------------------------------------------------------------------------------


def _check_float(op: str, input: Tensor) -> None:
    _check_tensor(op, "input", input)
    if input._array.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got {input.dtype}")


def _check_channel_vector(op: str, name: str, t: Tensor | None, c: int, input: Tensor) -> None:
    if t is not None and tuple(t.shape) != (c,):
        raise ShapeError(
            f"{op}: expected {name} to be a vector of size {c} (the channels of input of shape "
            f"{tuple(input.shape)}), got shape {tuple(t.shape)}"
        )


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """out * weight + bias with weight and bias (C,) broadcast along dim 1 of out (N, C, ...)."""
    shape = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each of ``num_groups`` groups of channels of a (N, C, ...) input to zero mean and unit
    (biased) variance over the group's channels and positions, then scale and shift per channel."""
    _check_float("group_norm", input)
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected at least 2 dimensions (N, C, ...) for input, got shape {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise ShapeError(
            f"group_norm: expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {tuple(input.shape)} and num_groups={num_groups}"
        )
    _check_channel_vector("group_norm", "weight", weight, c, input)
    _check_channel_vector("group_norm", "bias", bias, c, input)
    per_group = math.prod(input.shape[2:]) * (c // num_groups)
    if n * (c // num_groups) * math.prod(input.shape[2:]) == 1:  # PyTorch's check, on its reshaped view
        raise ValueError(f"group_norm: expected more than 1 value per channel when training, got input size {tuple(input.shape)}")
    grouped = input.reshape(n, num_groups, per_group)
    mean = grouped.mean(dim=2, keepdim=True)
    var = grouped.var(dim=2, keepdim=True, correction=0)
    out = ((grouped - mean) / (var + eps).sqrt()).reshape(tuple(input.shape))
    return _affine(out, weight, bias)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample of a (N, C, ...) input over its positions.

    With ``use_input_stats`` the sample's own mean and biased variance are used, and running_mean /
    running_var (when given) move by ``momentum`` towards their batch averages (the variance unbiased),
    as PyTorch's; otherwise the running statistics normalise.
    """
    _check_float("instance_norm", input)
    if input.ndim < 3:
        raise ShapeError(f"instance_norm: expected input of at least 3 dims (N, C, ...), got shape {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_channel_vector("instance_norm", name, t, c, input)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        count = math.prod(input.shape[2:])
        if count == 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input size {tuple(input.shape)}")
        mean = input.mean(dim=dims, keepdim=True)
        var = input.var(dim=dims, keepdim=True, correction=0)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    batch_mean = mean.detach().reshape(n, c).mean(dim=0)
                    running_mean.mul_(1.0 - momentum).add_(batch_mean.to(running_mean.dtype) * momentum)
                if running_var is not None:
                    unbiased = var.detach().reshape(n, c).mean(dim=0) * (count / (count - 1))
                    running_var.mul_(1.0 - momentum).add_(unbiased.to(running_var.dtype) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError("instance_norm: expected running_mean and running_var to be given when use_input_stats=False")
        shape = (1, c) + (1,) * (input.ndim - 2)
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
    out = (input - mean) / (var + eps).sqrt()
    return _affine(out, weight, bias)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta, the window zero-padded
    by size // 2 before and (size - 1) // 2 after each channel (as PyTorch's average pooling)."""
    _check_float("local_response_norm", input)
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected 3D or higher dimensionality input, got shape {tuple(input.shape)}")
    if not isinstance(size, int) or size <= 0:
        raise ArgumentError(f"local_response_norm: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    squared = input * input
    # F.pad's widths run from the last dim backwards: channels (dim 1) come last.
    widths = (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2)
    padded = pad(squared, widths) if size > 1 else squared
    window = padded.narrow(1, 0, c)
    for start in range(1, size):
        window = window + padded.narrow(1, start, c)
    div = (window * (alpha / size) + k) ** beta
    return input / div


# Dropout ---------------------------------------------------------------------------------------------
# Masks come from gpugrad's default generator (as F.dropout's): keep = u >= p for u uniform in [0, 1).


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape: tuple, p: float):
    """A float array of input's dtype on its device: 1 where kept (probability 1 - p), else 0."""
    keep = default_generator.rng.random(shape) >= p
    return input._backend.asarray(keep.astype(input._array.dtype))


def _feature_shape(op: str, input: Tensor) -> tuple:
    """One draw per (sample, channel) of a (N, C, ...) input."""
    if input.ndim < 2:
        raise ShapeError(f"{op}: feature dropout requires at least 2 dimensions in the input, got shape {tuple(input.shape)}")
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def _scaled_dropout(input: Tensor, p: float, training: bool, inplace: bool, shape_of) -> Tensor:
    """input * mask / (1 - p) with the mask drawn in ``shape_of(input)`` (broadcast over the rest)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    scale = _const(input, _keep_mask(input, shape_of(input), p) / input._array.dtype.type(1.0 - p))
    return input.mul_(scale) if inplace else input * scale


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, shape_of) -> Tensor:
    """Dropped elements become SELU's negative saturation value, then an affine map a*x + b restores the
    mean and variance of a standard normal input (Klambauer et al., 2017; PyTorch's constants)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    alpha = 1.7580993408473766  # SELU's scale * alpha: dropped values sit at -alpha before the affine map
    a = 1.0 / math.sqrt((alpha * alpha * p + 1.0) * (1.0 - p))
    keep = _keep_mask(input, shape_of(input), p)
    dtype = input._array.dtype.type
    scale = _const(input, keep * dtype(a))
    shift = _const(input, (keep - dtype(1.0)) * dtype(alpha * a) + dtype(alpha * a * p))
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def _whole(input: Tensor) -> tuple:
    return tuple(input.shape)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout for SELU networks: elementwise, keeping a standard normal input's mean and variance
    (identity unless ``training``; note PyTorch's default ``training=False``)."""
    _check_p(p)
    _check_float("alpha_dropout", input)
    return _alpha_dropout(input, p, training, inplace, _whole)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of a (N, C, ...) input (identity unless ``training``)."""
    _check_p(p)
    _check_float("feature_alpha_dropout", input)
    return _alpha_dropout(input, p, training, inplace, lambda x: _feature_shape("feature_alpha_dropout", x))


def _channel_dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool, batched: bool) -> Tensor:
    """Zero whole channels (dim 1 of a batched input, dim 0 of an unbatched one), scaling the rest."""
    if batched:
        shape_of = lambda x: _feature_shape(op, x)  # noqa: E731
    else:  # an unbatched (C, ...) input: one draw per channel
        shape_of = lambda x: (x.shape[0],) + (1,) * (x.ndim - 1)  # noqa: E731
    return _scaled_dropout(input, p, training, inplace, shape_of)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, L) or unbatched (C, L) input with probability p, scaling the rest
    by 1/(1-p); identity when not training."""
    _check_p(p)
    _check_tensor("dropout1d", "input", input)
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected 2D or 3D input, but received a {input.ndim}D input of shape {tuple(input.shape)}")
    return _channel_dropout("dropout1d", input, p, training, inplace, batched=input.ndim == 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, H, W) input with probability p, scaling the rest by 1/(1-p).

    As PyTorch's: a 3D input is read as (N, C, L) (with a warning), other ranks are accepted with a
    deprecation warning and dim 1 taken as the channels."""
    _check_p(p)
    _check_tensor("dropout2d", "input", input)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead.",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _channel_dropout("dropout2d", input, p, training, inplace, batched=True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, D, H, W) or unbatched (C, D, H, W) input with probability p,
    scaling the rest by 1/(1-p). Other ranks are accepted with PyTorch's deprecation warning."""
    _check_p(p)
    _check_tensor("dropout3d", "input", input)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead.",
            stacklevel=2,
        )
    return _channel_dropout("dropout3d", input, p, training, inplace, batched=input.ndim == 5)
