"""Connectionist temporal classification loss, as ``torch.nn.functional.ctc_loss``.

The forward (alpha) recursion runs in log space over the blank-extended targets, one step per time frame,
in differentiable ops: the gradient comes from the engine, and a second derivative too.
"""
from __future__ import annotations

import numpy

from .. import ops as _ops
from ..amp.policy import FLOAT32, autocast_policy
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .functional_losses import REDUCTIONS

# Log-probability of an unreachable state. A finite floor rather than -inf keeps logsumexp and its gradient
# free of nan (exp of it is exactly 0); a total below _IMPOSSIBLE means no alignment exists (an infinite loss).
_FLOOR = -1e30
_IMPOSSIBLE = -1e29


def _lengths(op: str, name: str, lengths, batch: int):
    """Per-sample lengths (a Tensor or a sequence of ints) as an int64 host array of size ``batch`` (the
    recursion's loop bounds live on the host, as PyTorch's do)."""
    if isinstance(lengths, Tensor):
        if lengths._array.dtype.kind not in "iu":
            raise DTypeError(f"{op}: {name} must hold integers, got {lengths.dtype}")
        values = numpy.asarray(lengths.cpu().numpy()).reshape(-1)
    else:
        values = numpy.asarray(lengths, dtype=numpy.int64).reshape(-1)
    if values.size != batch:
        raise ShapeError(f"{op}: {name} must have one entry per sample ({batch}), got {values.size}")
    if (values < 0).any():
        raise ShapeError(f"{op}: {name} must not be negative, got {values.tolist()}")
    return values.astype(numpy.int64)


def _extended_targets(op: str, targets: Tensor, target_lengths, batch: int, blank: int, classes: int):
    """(N, 2 Lmax + 1) labels with a blank before, between and after the targets, and which states may be
    entered from two states back (a label differing from the one before the blank between them)."""
    flat = targets.cpu().numpy()
    longest = int(target_lengths.max()) if batch else 0
    labels = numpy.zeros((batch, longest), dtype=numpy.int64)
    if targets.ndim == 1:  # all targets concatenated
        if flat.size < target_lengths.sum():
            raise ShapeError(f"{op}: concatenated targets of shape {tuple(targets.shape)} are shorter than the "
                             f"target_lengths' sum ({int(target_lengths.sum())})")
        starts = numpy.concatenate([[0], numpy.cumsum(target_lengths)[:-1]])
        for n, (start, length) in enumerate(zip(starts, target_lengths)):
            labels[n, :length] = flat[start:start + length]
    else:
        if targets.shape[0] != batch or targets.shape[1] < longest:
            raise ShapeError(f"{op}: padded targets of shape {tuple(targets.shape)} must be ({batch}, at least "
                             f"{longest}) for {batch} samples with target_lengths {target_lengths.tolist()}")
        labels[:] = flat[:, :longest]
    used = numpy.arange(longest)[None, :] < target_lengths[:, None]
    if ((labels < 0) | (labels >= classes) | (labels == blank))[used].any():
        raise IndexError(f"{op}: targets must be class indices in [0, {classes}) other than the blank ({blank})")
    extended = numpy.full((batch, 2 * longest + 1), blank, dtype=numpy.int64)
    extended[:, 1::2] = labels
    skip = numpy.zeros(extended.shape, dtype=bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    return extended, skip


@autocast_policy(cpu=FLOAT32)
def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """-log p(target | input) summed over every alignment of the targets to the frames, for ``log_probs``
    (T, N, C) (or (T, C) for one sample) holding log-softmax outputs; ``targets`` padded (N, S) or
    concatenated (sum(target_lengths),). "mean" divides each loss by its target length, then averages.

    The gradient for log_probs is PyTorch's: the derivative plus exp(log_probs) on the frames each sample
    uses (which a log_softmax before it cancels), so raw log_probs get the same gradients as in PyTorch."""
    op = "ctc_loss"
    for name, value in (("log_probs", log_probs), ("targets", targets)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if log_probs._array.dtype.name not in ("float32", "float64"):
        raise DTypeError(f"{op}: log_probs must be float32 or float64, got {log_probs.dtype}")
    if targets._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: targets must hold int64 class indices, got {targets.dtype}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs, targets = log_probs.unsqueeze(1), targets.reshape(1, -1) if targets.ndim == 1 else targets
    if log_probs.ndim != 3:
        raise ShapeError(f"{op}: log_probs must be (T, N, C) or (T, C), got shape {tuple(log_probs.shape)}")
    steps, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise IndexError(f"{op}: blank must be a class index in [0, {classes}), got {blank}")
    backend = log_probs._backend
    frames = _lengths(op, "input_lengths", input_lengths, batch)
    lengths = _lengths(op, "target_lengths", target_lengths, batch)
    if (frames > steps).any():
        raise ShapeError(f"{op}: input_lengths {frames.tolist()} exceed the {steps} frames of log_probs {tuple(log_probs.shape)}")
    extended, skip = _extended_targets(op, targets, lengths, batch, blank, classes)
    per_sample = _negative_log_likelihood(log_probs, extended, skip, frames, lengths)
    per_sample = per_sample + _pytorch_gradient_term(log_probs, frames)
    if zero_infinity:
        per_sample = _ops.where(per_sample == float("inf"), 0.0, per_sample)
    if reduction == "none":
        return per_sample.reshape(()) if unbatched else per_sample
    if reduction == "sum":
        return per_sample.sum()
    divisors = Tensor._make(backend.xp.asarray(lengths.clip(min=1), dtype=log_probs._array.dtype), backend)
    return (per_sample / divisors).mean()


def _negative_log_likelihood(log_probs: Tensor, extended, skip, frames, lengths) -> Tensor:
    """-log of the summed alignment probabilities, by the alpha recursion; +inf where no alignment fits."""
    xp, backend = log_probs._backend.xp, log_probs._backend
    steps, batch, _ = log_probs.shape
    width = extended.shape[1]
    const = lambda array: Tensor._make(xp.asarray(array), backend)  # noqa: E731
    dtype = log_probs._array.dtype
    emissions = log_probs.gather(2, const(extended[None].repeat(steps, 0)))  # (T, N, S') log p of each state
    floor_row = const(xp.full((batch, 1), _FLOOR, dtype=dtype))
    floor2 = const(xp.full((batch, 2), _FLOOR, dtype=dtype))
    skip_mask = const(skip)
    start = xp.full((batch, width), _FLOOR, dtype=dtype)
    start[:, :2] = 0.0
    alpha = const(start) + emissions[0]  # a path starts at the first blank or the first label
    for t in range(1, steps):
        stay = alpha
        advance = _ops.cat([floor_row, alpha[:, :-1]], dim=1)
        jump = _ops.where(skip_mask, _ops.cat([floor2, alpha[:, :-2]], dim=1), _FLOOR)
        step = _ops.stack([stay, advance, jump], dim=2).logsumexp(dim=2) + emissions[t]
        alpha = _ops.where(const((t < frames)[:, None]), step, alpha)  # a finished sample keeps its last alpha
    last = 2 * lengths  # the final blank's state; the final label's is one before it
    rows = const(xp.arange(batch))
    end_blank = alpha[rows, const(last)]
    end_label = _ops.where(const(lengths > 0), alpha[rows, const(xp.maximum(last - 1, 0))], _FLOOR)
    total = _ops.stack([end_blank, end_label], dim=1).logsumexp(dim=1)
    possible = total > _IMPOSSIBLE
    if not bool(possible._array.all()):
        return _ops.where(possible, -total, float("inf"))
    return -total


def _pytorch_gradient_term(log_probs: Tensor, frames) -> Tensor:
    """Zero in value; exp(log_probs) in gradient on each sample's frames. PyTorch's ctc gradient includes this
    term (it assumes log_softmax inputs, through which it cancels), so raw log_probs match its gradients."""
    xp, backend = log_probs._backend.xp, log_probs._backend
    probabilities = log_probs.exp()
    used = Tensor._make(xp.asarray((xp.arange(log_probs.shape[0])[:, None] < xp.asarray(frames)[None, :])[:, :, None],
                                   dtype=log_probs._array.dtype), backend)
    return ((probabilities - probabilities.detach()) * used).sum(dim=(0, 2))
