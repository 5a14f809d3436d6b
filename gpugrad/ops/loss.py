"""Fused softmax cross-entropy against class indices, with its backward as an op of its own.

    loss_i = (1-eps) w[t_i] (lse_i - x_i[t_i]) + eps/C sum_c w_c (lse_i - x_ic),   0 where t_i == ignore_index

reduced as PyTorch's ``reduction``. Its gradient in the logits of row i is

    g_i = a_i p_i - b_i,   a_i = (1-eps) w[t_i] + eps/C sum(w) valid_i,   b_i = (1-eps) w[t_i] onehot(t_i) + eps/C w valid_i

with p = softmax(x): the forward kernel (``gpugrad.kernels.softmax_xent``) writes it in the same pass as
the loss, so the backward only scales it by the upstream gradient.

``LinearCrossEntropy`` runs the same kernel on a linear layer's logits a chunk of rows at a time
(``F.linear_cross_entropy`` with options), never holding the whole logits.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import activation as _piecewise
from ..kernels import softmax_xent
from ..tensor import Tensor
from .softmax import Softmax, SoftmaxBackward


class SmoothL1Backward(Op):
    """gd = f'(d) gy for the elementwise smooth_l1 (``kind`` "smooth_l1") or huber ("huber") loss f of d =
    input - target (``target`` None: d is input), ``width`` its beta or delta: one kernel pass, the
    difference taken in it, and a gy broadcast from one number (a mean's or a sum's gradient) read once.
    Linear in gy; in d, f'' is 1/beta (delta for huber) inside the quadratic part and 0 outside."""

    name = "smooth_l1_backward"

    @staticmethod
    def forward(ctx, gy, input, target=None, kind="smooth_l1", width=1.0):
        ctx.kind, ctx.width = kind, width
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] or ctx.needs_input_grad[2] else None, input, target)
        impl = ctx.backend.kernel_impl
        if target is None:
            return _piecewise.piecewise_backward(ctx.xp, kind, gy, input, width, 0.5 / width, impl=impl)
        return _piecewise.piecewise_diff_backward(ctx.xp, kind, gy, input, target, width, 0.5 / width, impl=impl)

    @staticmethod
    def backward(ctx, ggd):
        gy, input, target = ctx.saved_tensors
        need_gy, need_input, need_target = ctx.needs_input_grad[:3]
        g_gy = SmoothL1Backward.apply(ggd, input, target, kind=ctx.kind, width=ctx.width) if need_gy else None
        g_input = g_target = None
        if need_input or need_target:
            curvature = 1.0 if ctx.kind == "huber" else 1.0 / ctx.width
            d = input._array if target is None else input._array - target._array
            inside = Tensor._make((ctx.xp.abs(d) < ctx.width).astype(d.dtype) * curvature, ctx.backend)
            g_input = ggd * gy * inside
            g_target = -g_input if need_target else None
        return g_gy, (g_input if need_input else None), g_target


class SmoothL1(Op):
    """The elementwise smooth_l1 loss of d = input - target (``target`` None: d is input), 0.5 d^2 / beta
    where |d| < beta and |d| - beta / 2 elsewhere (``kind`` "smooth_l1", ``width`` beta > 0), or huber's,
    delta times smooth_l1 with beta = delta (``kind`` "huber"): one kernel pass each way (kernels.activation's
    piecewise family), the difference taken in the pass, where the composite of abs, where and products
    took some fifteen. Its backward is SmoothL1Backward, once; the target's gradient is its negative."""

    name = "smooth_l1"

    @staticmethod
    def forward(ctx, input, target=None, kind="smooth_l1", width=1.0):
        ctx.kind, ctx.width = kind, width
        ctx.save_for_backward(input, target)
        impl = ctx.backend.kernel_impl
        if target is None:
            return _piecewise.piecewise_forward(ctx.xp, kind, input, width, 0.5 / width, impl=impl)
        return _piecewise.piecewise_diff_forward(ctx.xp, kind, input, target, width, 0.5 / width, impl=impl)

    @staticmethod
    def backward(ctx, gy):
        input, target = ctx.saved_tensors
        g = SmoothL1Backward.apply(gy, input, target, kind=ctx.kind, width=ctx.width)
        return g, (-g if target is not None and ctx.needs_input_grad[1] else None)


class BCEWithLogitsBackward(Op):
    """gx = gy (sigmoid(x) - t) for binary_cross_entropy_with_logits of logits x and targets t, one kernel
    pass (float32; a gy broadcast from one number read once). Its own backward in Tensor ops."""

    name = "binary_cross_entropy_with_logits_backward"

    @staticmethod
    def forward(ctx, gy, x, t):
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] else None, x, t)
        return _piecewise.bce_logits_backward(ctx.xp, gy, x, t, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        gy, x, t = ctx.saved_tensors
        need_gy, need_x, need_t = ctx.needs_input_grad[:3]
        g_gy = BCEWithLogitsBackward.apply(ggx, x, t) if need_gy else None
        g_x = ggx * gy * x.sigmoid() * (-x).sigmoid() if need_x else None  # sigmoid'(x)
        g_t = -(ggx * gy) if need_t else None
        return g_gy, g_x, g_t


class BCEWithLogits(Op):
    """binary_cross_entropy_with_logits, elementwise, (1 - t) x + softplus(-x), of float32 logits x and
    targets t of one shape: one kernel pass each way where the composite took five forward (neg, softplus,
    1 - t, the product, the sum) and as many backward. The gradient in x is BCEWithLogitsBackward's, in t
    -x gy."""

    name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        return _piecewise.bce_logits_forward(ctx.xp, x, t, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, gy):
        x, t = ctx.saved_tensors
        gx = BCEWithLogitsBackward.apply(gy, x, t) if ctx.needs_input_grad[0] else None
        gt = -(gy * x) if ctx.needs_input_grad[1] else None
        return gx, gt


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


class LinearCrossEntropy(Op):
    """cross_entropy(x @ W^T + b, target) over chunks of ``chunk`` rows of x (N, in_features), so that the
    (N, C) logits are never whole: ``F.linear_cross_entropy`` with ``options``. Each chunk's logits go
    through the fused softmax cross-entropy kernel, which writes their gradient in the same pass.

    For "mean" and "sum" forward also makes the gradients of x, W and b chunk by chunk, and backward only
    scales them by the upstream gradient, in place: they are then consumed, and a second backward raises,
    unless ``keep`` (``allow_retain_graph``), when backward scales copies. For "none" backward makes them
    again from the saved inputs, each row scaled by its upstream gradient. As PyTorch's chunked path, no
    higher derivatives: ``options=None`` gives those."""

    name = "linear_cross_entropy"

    @staticmethod
    def forward(ctx, x, weight, target, bias=None, class_weight=None, ignore_index=-100, reduction="mean", chunk=1,
                keep=False):
        ctx.options = (ignore_index, reduction, chunk, keep)
        if reduction == "none":
            ctx.save_for_backward(x, weight, target, bias, class_weight)
            return linear_xent_chunks(ctx, x, weight, target, bias, class_weight, None, (False, False, False))[0]
        needs = _grads_needed(ctx, bias) if is_grad_enabled() else (False, False, False)
        rows, ctx.grads = linear_xent_chunks(ctx, x, weight, target, bias, class_weight, None, needs)
        total = rows.sum(dtype=np.float64)
        xp = ctx.xp
        if reduction == "sum":
            return xp.asarray(total, dtype=rows.dtype)
        valid = target != ignore_index
        if class_weight is None:
            summed = valid.sum(dtype=np.float64)
        else:
            summed = (class_weight[xp.where(valid, target, 0)] * valid).sum(dtype=np.float64)
        # Every row ignored: PyTorch's nan, and a denominator of 1 for the gradients, which are zeros then.
        ctx.denominator = xp.where(summed == 0, 1.0, summed).astype(rows.dtype)
        return xp.where(summed == 0, np.nan, total / ctx.denominator).astype(rows.dtype)

    @staticmethod
    def backward(ctx, gy):
        if is_grad_enabled():
            raise RuntimeError("linear_cross_entropy: the chunked path (options given) has no higher-order "
                               "derivatives; pass options=None for create_graph=True")
        ignore_index, reduction, chunk, keep = ctx.options
        if reduction == "none":
            x, weight, target, bias, class_weight = (None if t is None else t._array for t in ctx.saved_tensors)
            grads = linear_xent_chunks(ctx, x, weight, target, bias, class_weight, gy._array,
                                       _grads_needed(ctx, bias))[1]
        else:
            if ctx.grads is None:
                raise RuntimeError(
                    "linear_cross_entropy: trying to backward a second time through the chunked path, whose first "
                    "backward consumed the gradients it made in forward; pass "
                    "options=LinearCrossEntropyOptions(allow_retain_graph=True) to keep them")
            scale = gy._array if reduction == "sum" else gy._array / ctx.denominator
            if keep:
                grads = tuple(None if g is None else g * scale for g in ctx.grads)
            else:
                grads, ctx.grads = ctx.grads, None
                for g in grads:
                    if g is not None:
                        g *= scale
        gx, gw, gb = (None if g is None else Tensor._make(g, ctx.backend) for g in grads)
        return gx, gw, None, gb, None


def _grads_needed(ctx, bias) -> tuple:
    """Which of x, W and b LinearCrossEntropy makes a gradient for."""
    need = ctx.needs_input_grad
    return need[0], need[1], bias is not None and need[3]


def linear_xent_chunks(ctx, x, weight, target, bias, class_weight, row_scale, needs) -> tuple:
    """LinearCrossEntropy's chunk loop: the loss of each row (N,), and where ``needs`` (x, W, b) asks, the
    gradients of sum_i row_scale_i loss_i (row_scale None: 1 each)."""
    ignore_index, _, chunk, _ = ctx.options
    xp, backend = ctx.xp, ctx.backend
    need_x, need_w, need_b = needs
    need_grad = need_x or need_w or need_b
    n = x.shape[0]
    loss = xp.empty(n, dtype=x.dtype)
    gx = xp.empty_like(x) if need_x else None
    gw = xp.zeros_like(weight) if need_w else None
    gb = xp.zeros_like(bias) if need_b else None
    # On a GPU each chunk's target check is read after the last chunk is queued: one wait, not one a chunk.
    checks: list = []
    defer = checks.append if backend.capture is None else backend.capture.defer
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        logits = backend.matmul(x[lo:hi], weight.T)
        if bias is not None:
            logits += bias
        loss[lo:hi], dlogits, _ = softmax_xent.softmax_cross_entropy(
            xp, logits, target[lo:hi], ignore_index=ignore_index, weight=class_weight, need_grad=need_grad,
            impl=backend.kernel_impl, op="linear_cross_entropy", defer_check=defer,
        )
        if not need_grad:
            continue
        if row_scale is not None:
            dlogits *= row_scale[lo:hi, None]
        if need_x:
            gx[lo:hi] = backend.matmul(dlogits, weight)
        if need_w:
            gw += backend.matmul(dlogits.T, x[lo:hi])
        if need_b:
            gb += dlogits.sum(axis=0)
    for check in checks:
        check()
    return loss, (gx, gw, gb)
