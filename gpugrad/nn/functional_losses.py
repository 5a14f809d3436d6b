"""The losses of ``torch.nn.functional`` beyond the class-index family: distances and similarities, margin and
ranking losses, divergences and likelihoods, and cross-entropy against class probabilities.

``gpugrad.nn.functional`` re-exports every public name here, and shares the reduction helpers. Each loss is
composed of differentiable ops, so second derivatives need no extra code.
"""
from __future__ import annotations

import math
import warnings

from .. import ops as _ops
from .._caller import user_stacklevel
from ..amp.policy import FLOAT32, autocast_policy
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..ops.activation import logsigmoid as _logsigmoid
from ..ops.activation import softplus as _softplus
from ..ops.linalg import vector_norm as _vector_norm
from ..tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")


def reduce_loss(op: str, loss: Tensor, reduction: str) -> Tensor:
    """An elementwise loss reduced as PyTorch's ``reduction``: "none", "mean" or "sum"."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def legacy_reduction(op: str, size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` pair, translated to a ``reduction`` (with its warning)."""
    if size_average is None and reduce is None:
        return reduction
    name = _legacy_reduction_name(size_average, reduce)
    warnings.warn(f"{op}: size_average and reduce args will be deprecated, please use reduction='{name}' instead.",
                  stacklevel=user_stacklevel())
    return name


def _legacy_reduction_name(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(op: str, reduction: str, allowed=REDUCTIONS) -> None:
    """Refuse a bad reduction before any work, so a failed call computes nothing."""
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def _tensors(op: str, **named) -> None:
    """Every named argument is a Tensor, and all share one device."""
    devices = {}
    for name, value in named.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
        devices[name] = value.device
    if len(set(devices.values())) > 1:
        listing = ", ".join(f"{name} on {device}" for name, device in devices.items())
        raise DeviceError(f"{op}: expected all tensors on the same device, got {listing}")


def _floating(op: str, **named) -> None:
    for name, value in named.items():
        if value._array.dtype.kind not in FLOAT_KINDS:
            raise DTypeError(f"{op}: expected a floating point {name}, got {value.dtype}")


def _broadcast(op: str, **named) -> tuple:
    """The shapes' common broadcast shape, or a ShapeError naming every shape."""
    try:
        return tuple(_ops.broadcast_shapes(*(tuple(v.shape) for v in named.values())))
    except (ValueError, RuntimeError):
        listing = ", ".join(f"{name} {tuple(v.shape)}" for name, v in named.items())
        raise ShapeError(f"{op}: shapes do not broadcast: {listing}") from None


def _const(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._backend)


# Similarities and distances ------------------------------------------------------------------------


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1/max(|x1|, eps) * x2/max(|x2|, eps)) along ``dim``, after broadcasting x1 and x2 (each norm is
    clamped separately, as in PyTorch, so a zero vector gives 0, not nan)."""
    op = "cosine_similarity"
    _tensors(op, x1=x1, x2=x2)
    _floating(op, x1=x1, x2=x2)
    shape = _broadcast(op, x1=x1, x2=x2)
    if not -max(len(shape), 1) <= dim < max(len(shape), 1):
        raise ShapeError(f"{op}: dim {dim} is out of range for inputs broadcast to shape {shape}")
    if not shape:
        return (x1 / _ops.clamp(x1.abs(), min=eps)) * (x2 / _ops.clamp(x2.abs(), min=eps))
    # Broadcast first: a norm along a dim that broadcasting stretches counts every copy, as in PyTorch.
    x1, x2 = x1.expand(shape), x2.expand(shape)
    n1 = _ops.clamp(_vector_norm(x1, 2, dim=dim, keepdim=True), min=eps)
    n2 = _ops.clamp(_vector_norm(x2, 2, dim=dim, keepdim=True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim=dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (eps keeps the gradient finite at x1 == x2)."""
    op = "pairwise_distance"
    _tensors(op, x1=x1, x2=x2)  # integer inputs are PyTorch's too: adding eps gives the default float dtype
    shape = _broadcast(op, x1=x1, x2=x2)
    difference = x1 - x2 + eps
    if not shape:
        return difference.abs()
    return _vector_norm(difference, p, dim=-1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between every pair of rows i < j of an (N, M) input, in row-major pair order:
    N (N - 1) / 2 values, as ``torch.nn.functional.pdist``."""
    op = "pdist"
    _tensors(op, input=input)
    _floating(op, input=input)
    if input.ndim != 2:
        raise ShapeError(f"{op}: only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise ArgumentError(f"{op}: only supports non-negative p values, got {p}")
    xp = input._backend.xp
    rows, cols = (Tensor._make(a.astype(xp.int64), input._backend) for a in xp.triu_indices(input.shape[0], 1))
    return _vector_norm(input[rows] - input[cols], p, dim=-1)


# Margin and ranking losses -------------------------------------------------------------------------


@autocast_policy(FLOAT32)
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1 (0 elsewhere); the cosine
    over the last dim of (N, D) or (D,) inputs, with 1e-12 added to each squared norm as PyTorch does."""
    op = "cosine_embedding_loss"
    _tensors(op, input1=input1, input2=input2, target=target)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    if target.ndim > 1:
        raise ShapeError(f"{op}: 0D or 1D target tensor expected, multi-target not supported; got target of shape {tuple(target.shape)}")
    expected = target.ndim + 1
    if input1.ndim != expected or input2.ndim != expected:
        raise ShapeError(f"{op}: {target.ndim}D target tensor expects {expected}D input tensors, but found inputs "
                         f"with shapes {tuple(input1.shape)} and {tuple(input2.shape)}")
    _floating(op, input1=input1, input2=input2)
    _broadcast(op, input1=input1, input2=input2, target=target.unsqueeze(-1))
    dim = target.ndim
    dot = (input1 * input2).sum(dim=dim)
    squares = (input1 * input1).sum(dim=dim) + 1e-12
    squares = squares * ((input2 * input2).sum(dim=dim) + 1e-12)
    cos = dot / squares.sqrt()
    positive = _ops.where(target == 1, 1.0 - cos, 0.0)
    negative = _ops.where(target == -1, _ops.clamp(cos - margin, min=0.0), 0.0)
    return reduce_loss(op, positive + negative, reduction)


@autocast_policy(FLOAT32)
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin): target 1 asks input1 to rank higher, -1 input2."""
    op = "margin_ranking_loss"
    _tensors(op, input1=input1, input2=input2, target=target)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(f"{op}: all input tensors should have the same number of dimensions, got shapes "
                         f"input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)}, target {tuple(target.shape)}")
    _broadcast(op, input1=input1, input2=input2, target=target)
    return reduce_loss(op, _ops.clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


@autocast_policy(FLOAT32)
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (a distance that should be small for
    similar pairs and at least margin for dissimilar ones)."""
    op = "hinge_embedding_loss"
    _tensors(op, input=input, target=target)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    _broadcast(op, input=input, target=target)
    below_margin = _ops.where(target != 1, _ops.clamp(margin - input, min=0.0), 0.0)
    itself = _ops.where(target != -1, input, 0.0)
    return reduce_loss(op, below_margin + itself, reduction)


@autocast_policy(FLOAT32)
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)), written as softplus so that large margins neither overflow nor lose the
    gradient (PyTorch's log1p(exp(.)) gives inf there)."""
    op = "soft_margin_loss"
    _tensors(op, input=input, target=target)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    _broadcast(op, input=input, target=target)
    return reduce_loss(op, _softplus(-target * input), reduction)


@autocast_policy(FLOAT32)
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with d the pairwise p-distance; ``swap``
    uses min(d(a, n), d(p, n)) as the negative distance."""
    op = "triplet_margin_loss"
    _tensors(op, anchor=anchor, positive=positive, negative=negative)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    if margin <= 0:
        raise ArgumentError(f"{op}: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"{op}: the anchor, positive, and negative tensors are expected to have the same number of "
                         f"dimensions, got shapes {tuple(anchor.shape)}, {tuple(positive.shape)} and {tuple(negative.shape)}")
    _broadcast(op, anchor=anchor, positive=positive, negative=negative)
    d_positive = pairwise_distance(anchor, positive, p, eps)
    d_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_negative = _ops.minimum(d_negative, pairwise_distance(positive, negative, p, eps))
    return reduce_loss(op, _ops.clamp(d_positive - d_negative + margin, min=0.0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *, distance_function=None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """triplet_margin_loss with any ``distance_function(x, y)`` (default: pairwise_distance)."""
    op = "triplet_margin_with_distance_loss"
    _tensors(op, anchor=anchor, positive=positive, negative=negative)
    _check_reduction(op, reduction)
    if margin <= 0:
        raise ArgumentError(f"{op}: margin must be greater than 0, got {margin}")
    distance = pairwise_distance if distance_function is None else distance_function
    d_positive = distance(anchor, positive)
    d_negative = distance(anchor, negative)
    if swap:
        d_negative = _ops.minimum(d_negative, distance(positive, negative))
    return reduce_loss(op, _ops.clamp(d_positive - d_negative + margin, min=0.0), reduction)


def _class_scores(op: str, input: Tensor, target: Tensor):
    """(N, C), (C,) or 0-d scores with targets: (the scores as (N, C), the 'none' output shape)."""
    if input.ndim > 2 or input.numel() == 0:
        raise ShapeError(f"{op}: expected a non-empty vector or matrix of scores, got input of shape {tuple(input.shape)}")
    _floating(op, input=input)
    if target._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected int64 class-index targets, got {target.dtype}")
    rows = input if input.ndim == 2 else input.reshape(1, -1)  # a 0-d score is one class, as PyTorch's
    return rows, (rows.shape[0],) if input.ndim == 2 else ()


@autocast_policy(FLOAT32)
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: sum over i != y of w[y] max(0, margin - x[y] + x[i])^p / C, for scores
    (N, C) or (C,) and int64 targets y; p is 1 or 2."""
    op = "multi_margin_loss"
    _tensors(op, input=input, target=target, **({} if weight is None else {"weight": weight}))
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    if p not in (1, 2):
        raise ArgumentError(f"{op}: only p == 1 and p == 2 are supported, got p={p}")
    rows, out_shape = _class_scores(op, input, target)
    n, c = rows.shape
    if target.ndim > 1 or target.numel() != n:
        raise ShapeError(f"{op}: inconsistent target size: expected {n} targets for input of shape "
                         f"{tuple(input.shape)}, got target of shape {tuple(target.shape)}")
    if weight is not None and (weight.ndim > 1 or weight.numel() != c):
        raise ShapeError(f"{op}: weight must hold one value per class ({c}), got shape {tuple(weight.shape)}")
    xp = rows._backend.xp
    t = target._array.reshape(n)
    if bool(xp.any((t < 0) | (t >= c))):
        raise IndexError(f"{op}: target out of range: every class index must lie in [0, {c}) for input of shape {tuple(input.shape)}")
    others = xp.ones((n, c), dtype=rows._array.dtype)
    others[xp.arange(n), t] = 0
    picked = rows.gather(1, _const(rows, t.reshape(n, 1)))
    hinge = _ops.clamp(rows - picked + margin, min=0.0) * _const(rows, others)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.reshape(-1)[_const(rows, t)].unsqueeze(1)
    if input.ndim < 2:  # one sample: 'none' gives the target's shape, as PyTorch's ((1,) for a (1,) target)
        out_shape = tuple(target.shape)
    return reduce_loss(op, (hinge.sum(dim=1) / c).reshape(out_shape), reduction)


@autocast_policy(FLOAT32)
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C.
    Each target row lists class indices and ends at the first -1 (classes after it do not count)."""
    op = "multilabel_margin_loss"
    _tensors(op, input=input, target=target)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    rows, out_shape = _class_scores(op, input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: inconsistent target size: target of shape {tuple(target.shape)} for input of "
                         f"shape {tuple(input.shape)} (they must be equal)")
    xp = rows._backend.xp
    n, c = rows.shape
    t = target._array.reshape(n, c)
    listed = xp.cumprod(t != -1, axis=1).astype(bool)  # entries before each row's first -1
    if bool(xp.any(listed & ((t < 0) | (t >= c)))):
        raise IndexError(f"{op}: target out of range: class indices must lie in [0, {c}) (or be -1 to end the list)")
    # How often each class is listed (a repeat counts again, as in PyTorch's loop over the list).
    counts = ((t[:, :, None] == xp.arange(c)) & listed[:, :, None]).sum(axis=1).astype(rows._array.dtype)
    non_target = (counts == 0).astype(rows._array.dtype)
    pair_weight = counts[:, :, None] * non_target[:, None, :]  # (n, j, i): target class j against non-target i
    hinge = _ops.clamp(1.0 - rows.unsqueeze(2) + rows.unsqueeze(1), min=0.0) * _const(rows, pair_weight)
    return reduce_loss(op, (hinge.sum(dim=(1, 2)) / c).reshape(out_shape), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """-(t log sigmoid(x) + (1 - t) log sigmoid(-x)), times ``weight``, averaged over the classes (last dim)."""
    op = "multilabel_soft_margin_loss"
    _tensors(op, input=input, target=target, **({} if weight is None else {"weight": weight}))
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    _floating(op, input=input)
    _broadcast(op, input=input, target=target, **({} if weight is None else {"weight": weight}))
    loss = -(target * _logsigmoid(input) + (1 - target) * _logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    classes = input.shape[-1] if input.ndim else 1
    loss = (loss.sum(dim=-1) if loss.ndim else loss) / classes
    return reduce_loss(op, loss, reduction)


# Divergences and likelihoods -----------------------------------------------------------------------


@autocast_policy(FLOAT32)
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target (log target - input), 0 where target is 0; with
    ``log_target`` the target is given as a log, exp(target) (target - input). ``reduction="batchmean"``
    divides the sum by the batch size (the mathematical KL divergence); "mean" divides by every element."""
    op = "kl_div"
    _tensors(op, input=input, target=target)
    _floating(op, input=input, target=target)
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(op, size_average, reduce, reduction)
    else:
        _check_reduction(op, reduction, REDUCTIONS + ("batchmean",))
        if reduction == "mean":
            warnings.warn(f"{op}: reduction 'mean' divides the total loss by both the batch size and the support "
                          "size; 'batchmean' divides only by the batch size, and aligns with the KL div math "
                          "definition.", stacklevel=user_stacklevel())
    _broadcast(op, input=input, target=target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _ops.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(op, loss, reduction)


@autocast_policy(FLOAT32)
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Poisson negative log likelihood: exp(input) - target input (``log_input``) or input - target log(input + eps);
    ``full`` adds Stirling's target log target - target + log(2 pi target) / 2 where target > 1."""
    op = "poisson_nll_loss"
    _tensors(op, input=input, target=target)
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _check_reduction(op, reduction)
    _broadcast(op, input=input, target=target)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        above_one = target > 1
        safe = _ops.where(above_one, target, 1.0)  # Stirling's term is unused (and would be nan) at 0
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + _ops.where(above_one, stirling, 0.0)
    return reduce_loss(op, loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Gaussian negative log likelihood (log var + (input - target)^2 / var) / 2 (+ log(2 pi) / 2 when ``full``).

    ``var`` has the input's shape, or lacks its last dim, or has size 1 in one dim (broadcast); it is clamped
    to ``eps`` for the value while its gradient passes unclamped, as in PyTorch."""
    op = "gaussian_nll_loss"
    _tensors(op, input=input, target=target)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ArgumentError(f"{op}: var has negative entry/entries: {var}")
        var = _const(input, input._backend.xp.full(input.shape, float(var), dtype=input._array.dtype))
    _tensors(op, input=input, var=var)
    _check_reduction(op, reduction)
    if bool((var._array < 0).any()):
        raise ArgumentError(f"{op}: var has negative entry/entries")
    in_shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != in_shape:
        if in_shape[:-1] == var_shape:
            var = var.unsqueeze(-1)
        elif not (len(in_shape) == len(var_shape)
                  and sum(v for i, v in zip(in_shape, var_shape) if i != v) == 1):
            raise ShapeError(f"{op}: var of shape {var_shape} is of incorrect size for input of shape {in_shape}")
    _broadcast(op, input=input, target=target)
    held = var.detach()
    clamped = var + (_ops.clamp(held, min=eps) - held)  # the clamped value, the identity's gradient
    loss = 0.5 * (clamped.log() + (input - target) ** 2 / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(op, loss, reduction)


# Cross-entropy against class probabilities ---------------------------------------------------------


def cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                                reduction: str, label_smoothing: float) -> Tensor:
    """-sum_c w_c t_c log softmax(x)_c for float targets of the logits' shape (C,), (N, C) or (N, C, d...);
    smoothing mixes t with the uniform distribution, t (1 - eps) + eps / C; "mean" divides by the sample count."""
    op = "cross_entropy"
    if target._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected floating point type for target with class probabilities, got {target.dtype}")
    if ignore_index >= 0:
        raise ArgumentError(f"{op}: ignore_index is not supported for floating point target (got {ignore_index})")
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    if weight is not None:
        if weight.ndim != 1 or weight.numel() != classes:
            raise ShapeError(f"{op}: weight tensor should be defined either for all {classes} classes or no classes "
                             f"but got weight tensor of shape {tuple(weight.shape)}")
        if weight.device != input.device:
            raise DeviceError(f"{op}: expected input and weight on the same device, got {input.device} and {weight.device}")
    logp = input.log_softmax(dim=class_dim)
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = logp * target
    if weight is not None:
        terms = terms * weight.reshape((classes,) + (1,) * (input.ndim - class_dim - 1))
    if reduction == "none":
        return -terms.sum(dim=class_dim)
    if reduction == "sum":
        return -terms.sum()
    samples = input.numel() // classes if classes else 0
    return -terms.sum() / samples if samples else -terms.sum() * float("nan")


__all__ = [
    "pdist",
    "triplet_margin_with_distance_loss",
    "cosine_embedding_loss",
    "cosine_similarity",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "kl_div",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]
