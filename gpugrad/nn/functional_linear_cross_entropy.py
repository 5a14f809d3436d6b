"""``F.linear_cross_entropy`` and ``nn.LinearCrossEntropyOptions``, as PyTorch 2.13's: the cross-entropy of
``linear(input, linear_weight, linear_bias)``, and with ``options`` the chunked form that never holds the
whole (N, C) logits, for heads whose C (an LLM's vocabulary) dwarfs in_features.

The options are validated and resolved as PyTorch resolves them, so that a chunk holds as many rows here
as there. ``acc_policy`` and ``acc_dtype`` are accepted and checked; gpugrad's chunks compute in the
input's dtype (float32 or float64) as PyTorch's "accurate" policy does there. bfloat16 and CPU float16
inputs, whose every op computes in float32 and rounds once, and class weights that need a gradient take
the unchunked form.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Literal

from .. import dtypes
from .._caller import user_stacklevel
from ..errors import DeviceError, DTypeError, ShapeError
from ..ops.loss import LinearCrossEntropy
from ..tensor import Tensor

__all__ = ["linear_cross_entropy"]

# PyTorch's picks for acc_policy="auto" and chunking_method="auto", by (device type, input dtype).
_AUTO_DEFAULTS = {
    ("cuda", dtypes.bfloat16): ("compact", "aspect_ratio:2"),
    ("cuda", dtypes.float16): ("compact", "aspect_ratio:2"),
    ("cpu", dtypes.bfloat16): ("accurate", "aspect_ratio"),
    ("cpu", dtypes.float16): ("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")
_ACC_DTYPES = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How ``F.linear_cross_entropy`` chunks its rows (PyTorch's fields and checks)::

        loss = F.linear_cross_entropy(h, head.weight, targets, options=nn.LinearCrossEntropyOptions())

    ``batch_chunk_size`` rows per chunk, or ``chunking_method`` "aspect_ratio[:N]": chunks whose logits are
    the input's size (divided by N), rounded up to a power of two; "auto" is "aspect_ratio:2" (float32 and
    float64 here). ``allow_retain_graph`` keeps the gradients that forward makes for "mean" and "sum", so
    that backward may run twice."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: object = None

    def __post_init__(self) -> None:
        if self.acc_policy not in ("auto", "accurate", "balanced", "compact"):
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not (name == "aspect_ratio" and (not sep or factor.isdigit() and int(factor) > 0)):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None
                or isinstance(self.batch_chunk_size, int) and not isinstance(self.batch_chunk_size, bool)
                and self.batch_chunk_size > 0):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in _ACC_DTYPES:
            raise ValueError(f"acc_dtype must be one of None, float16, bfloat16, float32, float64, got {self.acc_dtype!r}")

    def chunk_rows(self, rows: int, in_features: int, classes: int, device_type: str, dtype) -> int:
        """Rows per chunk for this call, resolved as PyTorch resolves them (a ValueError when an explicit
        batch_chunk_size and chunking_method disagree)."""
        method = self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None  # an explicit size turns the automatic choice off
        if method == "auto":
            method = _AUTO_DEFAULTS.get((device_type, dtype), _AUTO_FALLBACK)[1]
        size = rows if self.batch_chunk_size is None else min(self.batch_chunk_size, rows)
        if method is not None:
            factor = int(method.split(":", 1)[1]) if ":" in method else 1
            # rows whose (rows, C) logits are the (N, in_features) input's size: ceil(N / ceil(C / in_features)),
            # then the next power of two, divided by the method's factor
            target = math.ceil(rows / math.ceil(classes / in_features))
            size = min((1 << (target - 1).bit_length()) // factor, rows)
            if self.batch_chunk_size is not None and self.batch_chunk_size != size:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method ('{method}') "
                                 f"give different chunk sizes ({self.batch_chunk_size} vs {size}); pass only one.")
        return max(1, size)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias: Tensor | None = None,
                         weight: Tensor | None = None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` for input (N, in_features)
    or (in_features,) and linear_weight (C, in_features), or (C, d1..dK, in_features) for a K-dimensional
    loss. With ``options`` the rows run in chunks (``LinearCrossEntropyOptions``) where the chunked form
    applies: class-index (int64) targets, no label smoothing, K = 0; elsewhere a warning says it is
    ignored, as PyTorch's does."""
    from . import functional as F

    if input.ndim < 1 or input.ndim > 2:
        raise ShapeError(f"linear_cross_entropy: expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise ShapeError(f"linear_cross_entropy: expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise ShapeError("linear_cross_entropy: expected equal input and linear_weight last dimensions (in_features), "
                         f"got {in_features} and {linear_weight.shape[-1]}")
    classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise ShapeError(f"linear_cross_entropy: expected linear_bias shape {(classes, *out_features)}, "
                         f"got {tuple(linear_bias.shape)}")
    if out_features and input.ndim == 1:
        raise ShapeError(f"linear_cross_entropy: K-dimensional loss defined by linear_weight shape "
                         f"{tuple(linear_weight.shape)} requires batched input (N, {in_features}), got shape "
                         f"{tuple(input.shape)}")
    batch = tuple(input.shape[:-1])
    logits_shape = (*batch, classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise ValueError("linear_cross_entropy: ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None:
        chunkable = not out_features and label_smoothing == 0.0 and target.dtype == dtypes.int64
        if not chunkable or reduction not in ("mean", "sum", "none"):
            warnings.warn(
                "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in {'mean','sum','none'}, "
                f"label_smoothing == 0, target.dtype == int64, out_features == (). Got reduction={reduction!r}, "
                f"label_smoothing={label_smoothing}, target.dtype={target.dtype}, out_features={out_features}.",
                stacklevel=user_stacklevel())
        elif _chunks_compute(input, weight):
            return _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options)
    if out_features:
        flat = math.prod(out_features) * classes
        linear_weight = linear_weight.reshape(flat, in_features)
        linear_bias = None if linear_bias is None else linear_bias.reshape(flat)
    logits = F.linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                           label_smoothing=label_smoothing)


def _chunks_compute(input: Tensor, weight: Tensor | None) -> bool:
    """Whether the chunked op computes this call: float32 or float64 (any float on a GPU; the CPU's
    reduced floats compute in float32 op by op), and no class weights that need a gradient (the plain
    form's composite cross-entropy gives that)."""
    floats = input.dtype in (dtypes.float32, dtypes.float64) or input.device.type == "cuda"
    return floats and not (weight is not None and weight.requires_grad)


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options) -> Tensor:
    """The chunked form (LinearCrossEntropy), after F.linear_cross_entropy's checks; the operands' own
    checks (dtypes, devices, target range) as cross_entropy makes them."""
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    if tuple(target.shape) != (input.shape[0],):
        raise ShapeError(f"linear_cross_entropy: expected target of shape ({input.shape[0]},), got {tuple(target.shape)}")
    for name, t in (("linear_weight", linear_weight), ("linear_bias", linear_bias), ("weight", weight)):
        if t is not None and t.dtype != input.dtype:
            raise DTypeError(f"linear_cross_entropy: input is {input.dtype} but {name} is {t.dtype}")
        if t is not None and t.device != input.device:
            raise DeviceError(f"linear_cross_entropy: input is on {input.device} but {name} is on {t.device}")
    if weight is not None and tuple(weight.shape) != (linear_weight.shape[0],):
        raise ShapeError(f"linear_cross_entropy: weight must have shape ({linear_weight.shape[0]},), got {tuple(weight.shape)}")
    rows = options.chunk_rows(input.shape[0], input.shape[1], linear_weight.shape[0], input.device.type, input.dtype)
    loss = LinearCrossEntropy.apply(input, linear_weight, target, linear_bias, weight, ignore_index=ignore_index,
                                    reduction=reduction, chunk=rows, keep=options.allow_retain_graph)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss
