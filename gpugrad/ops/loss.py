"""Fused softmax cross-entropy against class indices, with its backward as an op of its own.

    loss_i = (1-eps) w[t_i] (lse_i - x_i[t_i]) + eps/C sum_c w_c (lse_i - x_ic),   0 where t_i == ignore_index

reduced as PyTorch's ``reduction``. Its gradient in the logits of row i is

    g_i = a_i p_i - b_i,   a_i = (1-eps) w[t_i] + eps/C sum(w) valid_i,   b_i = (1-eps) w[t_i] onehot(t_i) + eps/C w valid_i

with p = softmax(x): the forward kernel (``gpugrad.kernels.softmax_xent``) writes it in the same pass as
the loss, so the backward only scales it by the upstream gradient.
"""
from __future__ import annotations

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import softmax_xent
from ..tensor import Tensor
from .softmax import Softmax, SoftmaxBackward


class SoftmaxCrossEntropy(Op):
    """Cross-entropy of (N, C) logits against class indices, loss and reduction in one kernel pass.
    Its backward is SoftmaxCrossEntropyBackward, once."""

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="none"):
        loss, dlogits, denominator = softmax_xent.softmax_cross_entropy(
            ctx.xp, logits, target, ignore_index=ignore_index, label_smoothing=label_smoothing, weight=weight,
            reduction=reduction, need_grad=ctx.needs_input_grad[0] and is_grad_enabled(), impl=ctx.backend.kernel_impl,
            op="cross_entropy", defer_check=None if ctx.backend.capture is None else ctx.backend.capture.defer,
        )
        ctx.options = dict(target=target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
                           reduction=reduction, denominator=denominator)
        # dlogits is (N, C) like the logits, held until backward (PyTorch holds an (N, C) log-softmax).
        ctx.save_for_backward(logits, dlogits)
        return loss

    @staticmethod
    def backward(ctx, gy):
        logits, dlogits = ctx.saved_tensors
        if dlogits is None:  # the logits need no gradient (only the class weights were tracked)
            return None, None, None
        return SoftmaxCrossEntropyBackward.apply(gy, logits, dlogits=dlogits._array, **ctx.options), None, None


class SoftmaxCrossEntropyBackward(Op):
    """The logits' gradient: the kernel's per-row gradient ``dlogits`` scaled by the upstream gy (per
    row for reduction="none", / the summed weights for "mean"). One multiply on arrays.

    Its own backward, in Tensor ops: linear in gy; in the logits, g = a p - b is softmax's Jacobian applied
    to a times the incoming gradient (SoftmaxBackward), so every order differentiates."""

    name = "cross_entropy_backward"

    @staticmethod
    def forward(ctx, gy, logits, dlogits=None, target=None, weight=None, ignore_index=-100, label_smoothing=0.0,
                reduction="none", denominator=None):
        ctx.options = (target, weight, ignore_index, label_smoothing, reduction, denominator)
        ctx.save_for_backward(gy, logits)
        if reduction == "none":
            return dlogits * gy[:, None]
        return dlogits * (gy if reduction == "sum" else gy / denominator)

    @staticmethod
    def backward(ctx, ggx):
        gy, logits = ctx.saved_tensors
        target, weight, ignore_index, eps, reduction, denominator = ctx.options
        xp, backend = ctx.xp, ctx.backend
        n, c = logits.shape
        dt = logits._array.dtype
        valid = target != ignore_index
        t_safe = xp.where(valid, target, 0)
        w = xp.ones(c, dtype=dt) if weight is None else weight
        w_t = (w[t_safe] * valid).astype(dt)[:, None]
        a = w_t * (1.0 - eps) + (eps / c) * w.sum() * valid.astype(dt)[:, None]  # no host read of the sum
        if reduction == "none":
            scale = gy.unsqueeze(1)
        else:
            scale = gy if reduction == "sum" else gy / Tensor._make(xp.asarray(denominator, dtype=dt), backend)
        p = Softmax.apply(logits, axis=1)
        d_gy = d_logits = None
        if ctx.needs_input_grad[0]:
            b = xp.zeros((n, c), dtype=dt)
            b[xp.arange(n), t_safe] = w_t[:, 0] * (1.0 - eps)
            b += (eps / c) * w[None, :] * valid.astype(dt)[:, None]
            g = p * Tensor._make(a, backend) - Tensor._make(b, backend)
            d_gy = (ggx * g).sum(dim=1) if reduction == "none" else (ggx * g).sum()
            if reduction == "mean":
                d_gy = d_gy / Tensor._make(xp.asarray(denominator, dtype=dt), backend)
        if ctx.needs_input_grad[1]:
            d_logits = SoftmaxBackward.apply(ggx * Tensor._make(a, backend) * scale, p, axis=1)
        return d_gy, d_logits


def softmax_cross_entropy(logits: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                          label_smoothing: float = 0.0, reduction: str = "none") -> Tensor:
    """Cross-entropy of (N, C) logits and int64 targets (N,), fused, reduced as F.cross_entropy's
    ``reduction`` ("none", "sum" or "mean"); the kernel range-checks the targets."""
    return SoftmaxCrossEntropy.apply(
        logits, target, weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction
    )
