"""F.group_norm, F.instance_norm, F.local_response_norm, F.rms_norm, the dropout variants and
F.embedding_bag.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``). Everything is composed from
differentiable Tensor ops, so first and second derivatives need no code of their own, except group_norm's
float32/float64 path: the fused op of gpugrad.ops.group_norm.
"""
from __future__ import annotations

import math
import warnings

from .. import factory
from .._caller import user_stacklevel
from ..amp.policy import FLOAT32, autocast_policy
from ..autograd.grad_mode import no_grad
from ..autograd.watch import state as _watch
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..ops._operands import fused_norm_takes
from ..ops.batch_norm import batch_norm as _batch_norm
from ..ops.group_norm import group_norm as _fused_group_norm
from ..ops.layer_norm import rms_norm as _fused_rms_norm
from ..random import default_generator
from ..tensor import Tensor
from . import _expanded_weights as _ew
from .functional import _check_tensor, _const, _nested, pad

__all__: list[str] = [
    "alpha_dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "embedding_bag",
    "feature_alpha_dropout",
    "group_norm",
    "instance_norm",
    "local_response_norm",
    "rms_norm",
]


# Normalisation ---------------------------------------------------------------------------------------


def _check_float(op: str, input: Tensor) -> None:
    _check_tensor(op, "input", input)
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype}")


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


@autocast_policy(cuda=FLOAT32)
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each of ``num_groups`` groups of channels of a (N, C, ...) input to zero mean and unit
    (biased) variance over the group's channels and positions, then scale and shift per channel."""
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.group_norm(input, num_groups, weight, bias, eps)
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
        raise ValueError(f"group_norm: Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    if input.numel() > 0 and fused_norm_takes(input, weight, bias):
        return _fused_group_norm(input, num_groups, weight, bias, eps)  # one fused op each way
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
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)
    _check_float("instance_norm", input)
    if input.ndim < 3:
        raise ShapeError(f"instance_norm: expected input of at least 3 dims (N, C, ...), got shape {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_channel_vector("instance_norm", name, t, c, input)
    if use_input_stats:
        if math.prod(input.shape[2:]) == 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input size {tuple(input.shape)}")
    elif running_mean is None or running_var is None:
        raise ArgumentError("instance_norm: expected running_mean and running_var to be given when use_input_stats=False")
    # As PyTorch's: a batch norm of one sample whose channels are the N x C instances (the fused kernels),
    # weight, bias and running statistics repeated per sample; the statistics' copies averaged back.
    repeated = [None if t is None else t.repeat(n) for t in (weight, bias)]
    stats = [None if t is None else t.detach().repeat(n) for t in (running_mean, running_var)]
    flat = input.contiguous().reshape((1, n * c) + tuple(input.shape[2:]))
    out = _batch_norm(flat, stats[0], stats[1], repeated[0], repeated[1], use_input_stats, momentum, eps)
    with no_grad():
        for running, copies in zip((running_mean, running_var), stats):
            if running is not None:
                running.copy_(copies.reshape(n, c).mean(dim=0))
    return out.reshape(tuple(input.shape))


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


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing ``normalized_shape`` dims, times ``weight``; ``eps=None``
    is the machine epsilon of input's dtype, as PyTorch's."""
    if input.is_nested:
        return _nested("rms_norm", input, normalized_shape, weight, eps)
    _check_float("rms_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ShapeError(
            f"rms_norm: given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of shape {tuple(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise ShapeError(f"rms_norm: expected weight of shape {shape}, got {tuple(weight.shape)}")
    if eps is None:
        eps = float(input._backend.xp.finfo(input._array.dtype).eps)
    if fused_norm_takes(input, weight):
        return _fused_rms_norm(input, math.prod(shape), weight, eps)  # one fused op each way
    dims = tuple(range(input.ndim - k, input.ndim))
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


# Dropout ---------------------------------------------------------------------------------------------
# Masks come from gpugrad's default generator (as F.dropout's): keep = u >= p for u uniform in [0, 1).


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape: tuple, p: float):
    """A float array of input's dtype on its device: 1 where kept (probability 1 - p), else 0."""
    # On the host, or on the device while a CUDA graph is captured (see Generator.keep_mask).
    return default_generator.keep_mask(input._backend, tuple(shape), p).astype(input._array.dtype)


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
    if training:  # outside training any dtype passes through unchanged, as PyTorch's
        _check_float("alpha_dropout", input)
    return _alpha_dropout(input, p, training, inplace, _whole)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of a (N, C, ...) input (identity unless ``training``)."""
    _check_p(p)
    if training:  # outside training any dtype passes through unchanged, as PyTorch's
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
            stacklevel=user_stacklevel(),
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=user_stacklevel(),
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
            stacklevel=user_stacklevel(),
        )
    return _channel_dropout("dropout3d", input, p, training, inplace, batched=input.ndim == 5)


# Embedding bags --------------------------------------------------------------------------------------


def _bag_layout(input: Tensor, offsets: Tensor | None, per_sample_weights: Tensor | None, include_last_offset: bool):
    """(flat indices array, bag of each position (-1: in no bag), number of bags, flat weights or None)."""
    op = "embedding_bag"
    xp = input._backend.xp
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                f"{op}: if input is 2D, then offsets has to be None, as input is treated as a mini-batch of fixed "
                f"length sequences; got offsets of shape {tuple(offsets.shape)}"
            )
        bags, length = input.shape
        flat = input._array.reshape(-1)
        bag_of = xp.arange(flat.size) // max(length, 1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
        return flat, bag_of, bags, psw
    if input.ndim != 1:
        raise ValueError(f"{op}: input has to be a 1D or 2D Tensor, but got shape {tuple(input.shape)}")
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor but got None")
    _check_tensor(op, "offsets", offsets)
    if offsets.ndim != 1 or offsets._array.dtype.kind not in "iu":
        raise ValueError(f"{op}: offsets has to be a 1D integer Tensor, got shape {tuple(offsets.shape)} of dtype {offsets.dtype}")
    starts = offsets._array.astype(xp.int64)
    n = input.shape[0]
    if starts.size and int(starts[0]) != 0:
        raise ShapeError(f"{op}: offsets[0] has to be 0, i.e., the first bag has to start at position 0, but got {int(starts[0])}")
    if starts.size and int(starts[-1]) > n:
        raise ShapeError(f"{op}: offsets[-1] can not be greater than input's length {n}, but got offsets[-1] of {int(starts[-1])}")
    bags = max(starts.size - 1, 0) if include_last_offset else starts.size
    positions = xp.arange(n)
    bag_of = xp.searchsorted(starts, positions, side="right") - 1
    if include_last_offset and starts.size:
        # Past the last offset: in no bag (the documented meaning; PyTorch's CPU kernel instead folds such
        # trailing indices into the last bag, pytorch/pytorch#190062).
        bag_of = xp.where(positions >= starts[-1], -1, bag_of)
    return input._array, bag_of, bags, per_sample_weights


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embedding rows, without materialising the per-index rows'
    bag structure: a 2D input (B, N) is B bags of N indices; a 1D input is cut into bags at ``offsets``
    (``include_last_offset``: offsets also holds the end). Entries equal to ``padding_idx`` are left out
    of their bag; an empty bag gives zeros. ``per_sample_weights`` (mode="sum" only) scales each row.
    ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` are F.embedding's. ``sparse=True`` (modes sum
    and mean) makes ``weight``'s gradient a sparse COO tensor, as F.embedding's: one row per index in a
    bag, in input order, padding left out, its value the bag's output gradient (times the sample's weight;
    over the bag's size for mean)."""
    op = "embedding_bag"
    _check_tensor(op, "input", input)
    _check_tensor(op, "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight has to be a 2D Tensor, but got shape {tuple(weight.shape)}")
    if input._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected indices of an integer dtype, got {input.dtype}")
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(input.shape):
        raise ValueError(
            f"{op}: if per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, then it must have the "
            f"same shape as the input ({tuple(input.shape)})"
        )
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{op}: max mode does not support scaling the gradient by the frequency")
    if sparse and mode == "max":
        raise ValueError(f"{op}: max mode does not support sparse weights (sparse=True); use mode='sum' or 'mean'")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{op}: per_sample_weights is only supported for mode='sum' (got mode={mode!r})")
    num, dim = weight.shape
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{op}: padding_idx {padding_idx} must be within num_embeddings={num}")
        padding_idx %= num
    flat, bag_of, bags, psw = _bag_layout(input, offsets, per_sample_weights, include_last_offset)
    xp = input._backend.xp
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= num):
        bad = int(flat.min()) if int(flat.min()) < 0 else int(flat.max())
        raise IndexError(f"{op}: index {bad} is out of range for num_embeddings={num} (valid: 0..{num - 1})")
    from .sparse import (  # sparse builds on F: import late
        EmbeddingBagSum,
        EmbeddingLookup,
        SparseEmbeddingLookup,
        embedding_renorm_,
        embedding_scale_grad_by_freq,
    )

    flat_t = Tensor._make(flat, input._backend)
    if max_norm is not None:
        embedding_renorm_(weight, flat_t, max_norm, norm_type)
    if mode != "max" and psw is None and not sparse and not scale_grad_by_freq:
        # each bag's rows added straight from the table (kernels.embedding.bag_sum), none gathered first
        rows = bag_of[:int(xp.count_nonzero(bag_of >= 0))]  # the bags are runs of positions: a tail in none
        bounds = xp.concatenate([xp.zeros(1, xp.int64), xp.cumsum(xp.bincount(rows, minlength=bags)[:bags])])
        divisor = None
        if mode == "mean":  # over the bag's rows that are not padding, 1 for an empty bag
            kept = rows if padding_idx is None else rows[flat[:rows.size] != padding_idx]
            divisor = xp.maximum(xp.bincount(kept, minlength=bags)[:bags], 1).astype(weight._array.dtype)[:, None]
        return EmbeddingBagSum.apply(weight, ids=flat, bounds=bounds, rows=rows, divisor=divisor,
                                     padding_idx=-1 if padding_idx is None else padding_idx)
    if sparse:
        # The gradient gets one entry per index in a bag, padding left out (embedding's sparse rule). Only
        # a tail past include_last_offset's last offset is in no bag: left out of the lookup, so of the gradient.
        used = int(xp.count_nonzero(bag_of >= 0))
        if used != flat.size:
            flat, bag_of = flat[:used], bag_of[:used]
            psw = psw[:used] if psw is not None else None
        # scale_grad_by_freq is refused at backward, as PyTorch's sparse embedding backward refuses it
        rows = SparseEmbeddingLookup.apply(weight, ids=flat, padding_idx=-1 if padding_idx is None else padding_idx,
                                           scale_grad_by_freq=bool(scale_grad_by_freq))
    else:
        rows = EmbeddingLookup.apply(weight, ids=flat)  # indices checked above; its backward is the scatter kernel
        if scale_grad_by_freq:
            rows = embedding_scale_grad_by_freq(rows, flat_t)
    valid = bag_of >= 0
    if padding_idx is not None:
        valid &= flat != padding_idx
    keep = xp.nonzero(valid)[0]
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    keep_t = Tensor._make(keep, input._backend)
    rows = rows[keep_t]
    bag_ids = bag_of[keep]
    counts = xp.bincount(bag_ids, minlength=bags)[:bags] if bags else xp.zeros(0, dtype=xp.int64)
    if mode in ("sum", "mean"):
        total = factory.zeros(bags, dim, dtype=weight.dtype, device=weight.device)
        out = total.index_add(0, Tensor._make(bag_ids, input._backend), rows)
        if mode == "mean":
            divisor = xp.maximum(counts, 1).astype(weight._array.dtype)[:, None]
            out = out / _const(weight, divisor)
        return out
    # max: the rows of each bag side by side, padded to the longest bag with -inf
    longest = int(counts.max()) if counts.size else 0
    if longest == 0:
        return factory.zeros(bags, dim, dtype=weight.dtype, device=weight.device) + rows.sum() * 0.0
    starts = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(counts)[:-1]])
    rank = xp.arange(bag_ids.size) - starts[bag_ids]
    slot = xp.full((bags, longest), bag_ids.size, dtype=xp.int64)  # the index one past the rows: padding
    slot[bag_ids, rank] = xp.arange(bag_ids.size)
    padded = pad(rows, (0, 0, 0, 1), value=float("-inf"))
    gathered = padded[Tensor._make(slot, input._backend)]
    best = gathered.max(dim=1)[0]
    empty = _const(weight, (counts == 0)[:, None])
    return best.masked_fill(empty, 0.0)
