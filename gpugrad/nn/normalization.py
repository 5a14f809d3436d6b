"""LayerNorm, the batch, instance and group norms, LocalResponseNorm and CrossMapLRN2d."""
from __future__ import annotations

import warnings

from .. import dtypes, factory
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


__all__ = [
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LocalResponseNorm",
    "CrossMapLRN2d",
    "RMSNorm",
]


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dims, then applies a learned scale and shift
    (ones and zeros at the start)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(factory.empty(*self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(factory.empty(*self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims, then a learned scale
    (ones at first); ``eps=None`` uses the machine epsilon of the input's dtype."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(factory.empty(*self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _NormBase(Module):
    """What the batch and instance norms share: per-channel affine parameters and running statistics."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True, track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(factory.empty(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(factory.empty(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", factory.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", factory.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", factory.tensor(0, dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked._array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    _dims: tuple = ()

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._dims:
            raise ShapeError(
                f"{type(self).__name__}: expected {' or '.join(f'{d}D' for d in self._dims)} input, got shape {tuple(input.shape)}"
            )
        if input.shape[1] != self.num_features:
            raise ShapeError(
                f"{type(self).__name__}: expected {self.num_features} channels in dim 1, got input of shape {tuple(input.shape)}"
            )
        factor, counting, bn_training, running_mean, running_var = self._running_stats()
        out = F.batch_norm(input, running_mean, running_var, self.weight, self.bias, bn_training, factor, self.eps)
        if counting:  # only once batch_norm has accepted the input: a rejected batch must not count
            self.num_batches_tracked.add_(1)
        return out

    def _running_stats(self) -> tuple:
        """PyTorch's choices for this forward: the running averages' update factor (momentum, or the
        cumulative 1 / (batches + 1) for ``momentum=None``), whether this batch counts, whether the batch's
        own statistics normalise, and the running tensors batch_norm reads or updates (or None)."""
        factor = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats and self.num_batches_tracked is not None
        if counting and self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked.item() + 1)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_stats = not self.training or self.track_running_stats
        return (factor, counting, bn_training, self.running_mean if use_stats else None,
                self.running_var if use_stats else None)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel C.

    Training normalises with the batch's mean and biased variance and updates running_mean and
    running_var (the latter with the unbiased variance) by ``momentum``; eval uses the running values.
    ``momentum=None`` keeps a cumulative average instead.
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, per channel C (see BatchNorm1d)."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) inputs, per channel C (see BatchNorm1d)."""

    _dims = (5,)


class _InstanceNorm(_NormBase):
    _batched_ndim: int = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False, track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        full = self._batched_ndim
        if input.ndim not in (full - 1, full):
            raise ShapeError(f"{name}: expected {full - 1}D or {full}D input, got shape {tuple(input.shape)}")
        channel_dim = input.ndim - (full - 1)
        if input.shape[channel_dim] != self.num_features:
            if self.affine:
                raise ShapeError(
                    f"{name}: expected input's size at dim={channel_dim} to match num_features ({self.num_features}), "
                    f"got input of shape {tuple(input.shape)}"
                )
            warnings.warn(
                f"{name}: input's size at dim={channel_dim} does not match num_features. You can silence this warning "
                "by not passing in num_features, which is not used because affine=False",
                stacklevel=2,
            )
        unbatched = input.ndim == full - 1
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) inputs: each channel of each sample is
    normalised over its positions. No affine parameters and no running statistics by default (PyTorch's
    defaults); with ``track_running_stats=True`` eval normalises with the running statistics."""

    _batched_ndim = 3


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) inputs (see InstanceNorm1d)."""

    _batched_ndim = 4


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) inputs (see InstanceNorm1d)."""

    _batched_ndim = 5


class GroupNorm(Module):
    """Group normalisation: the C channels split into ``num_groups`` groups, each normalised over its
    channels and positions per sample, then a per-channel scale and shift (ones and zeros at first)::

        gn = nn.GroupNorm(2, 6)
        gn(gg.randn(4, 6, 5, 5)).shape      # (4, 6, 5, 5)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(factory.empty(num_channels, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(factory.empty(num_channels, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class LocalResponseNorm(Module):
    """Divides each element by (k + alpha * mean of squares over ``size`` neighbouring channels)^beta
    (AlexNet's local response normalisation); inputs of 3 or more dims, channels in dim 1."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _cross_map_lrn2d(input: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
    """x * (k + alpha / size * s)^-beta, s the sum of squares over a window of channels: PyTorch's
    CrossMapLRN2d forward, written in differentiable ops. Its window for channel c (pre = int((size - 1)
    / 2 + 1), as PyTorch computes it) is the channels within pre - 1 of c, so size - 1 of them for an even
    size (LocalResponseNorm's holds size), and channel 0 besides: PyTorch's running sum, carried over
    from Lua Torch with 0-based indices, never takes channel 0's square out again. Both are its
    forward's values; the gradient here is this forward's exact derivative. PyTorch's hand-written
    backward is not (its window is shifted by one channel, and it has no channel-0 term): its input
    gradients fail torch.autograd.gradcheck for most shapes, so they differ from these."""
    if input.ndim != 4:
        raise ShapeError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
    if input._array.dtype.kind not in dtypes.FLOAT_KINDS:
        raise DTypeError(f"CrossMapLRN2d: expected a floating point input, got {input.dtype}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ArgumentError(f"CrossMapLRN2d: size must be a positive int, got {size!r}")
    channels = input.shape[1]
    reach = int((size - 1) / 2 + 1) - 1
    squared = input * input
    padded = F.pad(squared, (0, 0, 0, 0, reach, reach)) if reach else squared
    window = padded.narrow(1, 0, channels)
    for start in range(1, 2 * reach + 1):
        window = window + padded.narrow(1, start, channels)
    if channels > reach + 1:  # channel 0's square stays in the sum of every later channel
        stuck = factory.tensor([0.0] * (reach + 1) + [1.0] * (channels - reach - 1), dtype=input.dtype,
                               device=input.device).reshape(1, channels, 1, 1)
        window = window + squared.narrow(1, 0, 1) * stuck
    scale = window * (alpha / size) + k
    return input * scale ** (-beta)


class CrossMapLRN2d(Module):
    """PyTorch's ``nn.CrossMapLRN2d`` (Lua Torch's SpatialCrossMapLRN): local response normalisation across
    the channels of (N, C, H, W) inputs, x * (k + alpha / size * sum of squares over neighbouring
    channels)^-beta. Not LocalResponseNorm: its window is size - 1 channels wide for an even size, and
    holds channel 0 for every channel (PyTorch's forward, kept for its values; see _cross_map_lrn2d)."""

    size: int
    alpha: float
    beta: float
    k: float

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return _cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
