"""Neural-network building blocks that are ops in their own right: softmax and log_softmax."""
from __future__ import annotations

import numpy

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import DTypeError
from ..kernels import conv as kconv
from ..kernels import layer_norm as klayer_norm
from ..kernels import pool as kpool
from ..kernels import softmax as ksoftmax
from ..tensor import Tensor
from ._operands import normalize_dims, require_float
from .reduce import accumulation_dtype


def _fused_rows(a, axis: int) -> bool:
    """Whether the row kernels (gpugrad.kernels.softmax) take ``a``: float32/float64, the dim last."""
    return a.ndim > 0 and axis == a.ndim - 1 and a.size > 0 and a.dtype in (numpy.float32, numpy.float64)


def _softmax_forward(ctx, x, axis: int, log: bool):
    if _fused_rows(x, axis):
        rows = x.reshape(-1, x.shape[-1])
        return ksoftmax.softmax_forward(ctx.xp, rows, log=log, impl=ctx.backend.kernel_impl).reshape(x.shape)
    xp = ctx.xp
    shifted = x - _shift(x, axis)
    with numpy.errstate(divide="ignore"):  # log 0 only over an empty dim, whose result is empty
        total = xp.exp(shifted).sum(axis=axis, keepdims=True, dtype=accumulation_dtype(x))
        y = shifted - xp.log(total) if log else xp.exp(shifted) / total
    return y.astype(x.dtype, copy=False)


def _softmax_backward(ctx, gy, y, axis: int, log: bool):
    if _fused_rows(y, axis) and gy.dtype == y.dtype:
        n = y.shape[-1]
        gx = ksoftmax.softmax_backward(ctx.xp, gy.reshape(-1, n), y.reshape(-1, n), log=log,
                                       impl=ctx.backend.kernel_impl)
        return gx.reshape(y.shape)
    if log:
        return gy - ctx.xp.exp(y) * gy.sum(axis=axis, keepdims=True)
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y = exp(x) / sum(exp(x)) along axis; backward is SoftmaxBackward (one kernel pass on arrays)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _softmax_forward(ctx, x, axis, log=False)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return SoftmaxBackward.apply(gy, y, axis=ctx.axis)


class SoftmaxBackward(Function):
    """gx = y * (gy - sum(gy * y)): linear in gy with a symmetric map, so its gradient in gy is itself."""

    @staticmethod
    def forward(ctx, gy, y, axis=-1):
        ctx.axis = axis
        ctx.save_for_backward(gy, y)
        return _softmax_backward(ctx, gy, y, axis, log=False)

    @staticmethod
    def backward(ctx, ggx):
        gy, y = ctx.saved_tensors
        axis = ctx.axis
        d_y = ggx * (gy - (gy * y).sum(dim=axis, keepdim=True)) - gy * (ggx * y).sum(dim=axis, keepdim=True)
        return SoftmaxBackward.apply(ggx, y, axis=axis), d_y


def _softmax_input(op: str, x: Tensor, dim: int, dtype):
    """The input cast to ``dtype`` first when given (as PyTorch does), and dim as an axis."""
    if dtype is not None:
        try:
            x = x.to(dtypes.to_dtype(dtype))
        except DTypeError as exc:
            raise DTypeError(f"{op}: {exc}") from None
    require_float(op, x)
    (axis,) = normalize_dims(op, dim, x.ndim)
    return x, axis


def _shift(x, axis):
    """The max along axis, which keeps exp from overflowing; an empty x needs none (and NumPy's max
    refuses empty dims)."""
    return x.max(axis=axis, keepdims=True) if x.size else 0


def softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably. J = diag(y) - y y^T."""
    x, axis = _softmax_input("softmax", x, dim, dtype)
    return Softmax.apply(x, axis=axis)


class LogSoftmax(Function):
    """y = x - logsumexp(x) along axis; backward is LogSoftmaxBackward (one kernel pass on arrays)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        y = _softmax_forward(ctx, x, axis, log=True)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return LogSoftmaxBackward.apply(gy, y, axis=ctx.axis)


class LogSoftmaxBackward(Function):
    """gx = gy - exp(y) * sum(gy)."""

    @staticmethod
    def forward(ctx, gy, y, axis=-1):
        ctx.axis = axis
        ctx.save_for_backward(gy, y)
        return _softmax_backward(ctx, gy, y, axis, log=True)

    @staticmethod
    def backward(ctx, ggx):
        gy, y = ctx.saved_tensors
        axis = ctx.axis
        p = y.exp()
        d_gy = ggx - (ggx * p).sum(dim=axis, keepdim=True)
        d_y = -ggx * p * gy.sum(dim=axis, keepdim=True)
        return d_gy, d_y


def log_softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable at logits of +-1e4. d/dx = I - softmax."""
    x, axis = _softmax_input("log_softmax", x, dim, dtype)
    return LogSoftmax.apply(x, axis=axis)


# Layer normalisation --------------------------------------------------------------------------------
class LayerNorm(Function):
    """Normalise each row of x viewed as (rows, n) (the trailing dims flattened), then weight and bias
    (of the trailing shape, or None): gpugrad.kernels.layer_norm, one pass each way."""

    @staticmethod
    def forward(ctx, x, weight, bias, n=1, eps=1e-5):
        rows = x.reshape(-1, n)
        w = None if weight is None else weight.reshape(n)
        b = None if bias is None else bias.reshape(n)
        y, mean, rstd = klayer_norm.layer_norm_forward(ctx.xp, rows, w, b, eps, impl=ctx.backend.kernel_impl)
        ctx.n, ctx.eps = n, eps
        ctx.save_for_backward(x, weight, bias, mean, rstd)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, bias, mean, rstd = ctx.saved_tensors
        n = ctx.n
        if is_grad_enabled():
            # create_graph: the same gradient in Tensor ops, so that it differentiates again.
            return _layer_norm_backward_ops(gy, x, weight, bias, n, ctx.eps)
        gx, gw, gb = klayer_norm.layer_norm_backward(
            ctx.xp, gy._array.reshape(-1, n), x._array.reshape(-1, n), mean._array, rstd._array,
            None if weight is None else weight._array.reshape(n),
            need_param_grads=weight is not None or bias is not None, impl=ctx.backend.kernel_impl,
        )
        wrap = lambda a, like: None if like is None else Tensor._make(a.reshape(like.shape), ctx.backend)  # noqa: E731
        return Tensor._make(gx.reshape(x.shape), ctx.backend), wrap(gw, weight), wrap(gb, bias)


def _layer_norm_backward_ops(gy: Tensor, x: Tensor, weight, bias, n: int, eps: float):
    """The kernel's backward (kernels/layer_norm.py docstring) written in differentiable ops."""
    rows = x.reshape(-1, n)
    mean = rows.mean(dim=1, keepdim=True)
    rstd = (rows.var(dim=1, keepdim=True, correction=0) + eps).rsqrt()
    xhat = (rows - mean) * rstd
    g_rows = gy.reshape(-1, n)
    g = g_rows * weight.reshape(n) if weight is not None else g_rows
    gx = rstd * (g - g.mean(dim=1, keepdim=True) - xhat * (g * xhat).mean(dim=1, keepdim=True))
    gw = None if weight is None else (g_rows * xhat).sum(dim=0).reshape(weight.shape)
    gb = None if bias is None else g_rows.sum(dim=0).reshape(bias.shape)
    return gx.reshape(x.shape), gw, gb


def layer_norm(x: Tensor, n: int, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """Layer normalisation over x's trailing dims (their product is n), one fused op."""
    return LayerNorm.apply(x, weight, bias, n=n, eps=eps)


# Convolution and pooling ---------------------------------------------------------------------------
# The array work is gpugrad.kernels.conv (im2col, col2im) and gpugrad.kernels.pool (max pooling): one
# launch each on a GPU, Numba loops on the CPU, strided-view references under GPUGRAD_FUSED=0.


class Im2Col(Function):
    """(N, C, H, W) -> (C*kh*kw, N*oh*ow): every receptive field as a column, zero padded.

    Batch and positions share the column axis so that a convolution is one plain 2-D GEMM (and so are
    both of its gradients), rather than a broadcast batch of small products.
    """

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)):
        ctx.args = (tuple(x.shape), kernel, stride, pads, dilation)
        return kconv.im2col(ctx.xp, x, kernel, stride, pads, dilation, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, gy):
        shape, kernel, stride, pads, dilation = ctx.args
        return Col2Im.apply(gy, shape=shape, kernel=kernel, stride=stride, pads=pads, dilation=dilation)


class Col2Im(Function):
    """The adjoint of Im2Col: columns summed back into the (N, C, H, W) positions they were read from."""

    @staticmethod
    def forward(ctx, cols, shape=(), kernel=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)):
        ctx.args = (kernel, stride, pads, dilation)
        return kconv.col2im(ctx.xp, cols, shape, kernel, stride, pads, dilation, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        kernel, stride, pads, dilation = ctx.args
        return Im2Col.apply(ggx, kernel=kernel, stride=stride, pads=pads, dilation=dilation)


def im2col(x: Tensor, kernel_size, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)) -> Tensor:
    """Receptive fields of a (N, C, H, W) tensor as columns (C*kh*kw, N*oh*ow); pads = (top, bottom, left, right).
    Linear in x; its adjoint col2im is its backward (and im2col is col2im's)."""
    return Im2Col.apply(x, kernel=tuple(kernel_size), stride=tuple(stride), pads=tuple(pads), dilation=tuple(dilation))


class Conv2d(Function):
    """conv2d with groups=1 as one op: im2col, one GEMM (C_out, C*kh*kw) @ (C*kh*kw, N*oh*ow), the bias.

    A plain backward (grad mode off) is two GEMMs, a col2im and a row sum on arrays, so a convolution
    costs one op application per training step; under ``create_graph=True`` the same formulas run as
    differentiable ops (Im2Col, Col2Im, matmul) so that they differentiate again.
    """

    name = "conv2d"

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)):
        out_c, _, kh, kw = weight.shape
        cols = kconv.im2col(ctx.xp, x, (kh, kw), stride, pads, dilation, impl=ctx.backend.kernel_impl)
        z = weight.reshape(out_c, -1) @ cols  # (C_out, N*oh*ow)
        if bias is not None:
            z += bias[:, None]
        ctx.args = (tuple(x.shape), (kh, kw), stride, pads, dilation)
        # The columns are what the weight gradient multiplies (the composite path kept them too).
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        oh = kconv.output_size(x.shape[2], kh, stride[0], pads[0] + pads[1], dilation[0])
        ow = kconv.output_size(x.shape[3], kw, stride[1], pads[2] + pads[3], dilation[1])
        return z.reshape(out_c, x.shape[0], oh, ow).transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx, gy):
        x, weight, cols = ctx.saved_tensors
        shape, kernel, stride, pads, dilation = ctx.args
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        out_c = weight.shape[0]
        geometry = dict(kernel=kernel, stride=stride, pads=pads, dilation=dilation)
        if not is_grad_enabled():
            backend = ctx.backend
            gz = gy._array.transpose(1, 0, 2, 3).reshape(out_c, -1)
            w2 = weight._array.reshape(out_c, -1)
            gx = gw = gb = None
            if need_x:
                gx = Tensor._make(kconv.col2im(ctx.xp, w2.T @ gz, shape, impl=backend.kernel_impl, **geometry), backend)
            if need_w:
                gw = Tensor._make((gz @ cols._array.T).reshape(weight.shape), backend)
            if need_b:
                gb = Tensor._make(gz.sum(axis=1), backend)
            return gx, gw, gb
        gz = gy.permute(1, 0, 2, 3).reshape(out_c, -1)
        w2 = weight.reshape(out_c, -1)
        gx = Col2Im.apply(w2.mT @ gz, shape=shape, **geometry) if need_x else None
        gw = (gz @ Im2Col.apply(x, **geometry).mT).reshape(tuple(weight.shape)) if need_w else None
        gb = gz.sum(dim=1) if need_b else None
        return gx, gw, gb


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)) -> Tensor:
    """Cross-correlation of x (N, C, H, W) with weight (C_out, C, kh, kw), one op; inputs already validated
    (``gpugrad.nn.functional.conv2d`` is the public entry)."""
    return Conv2d.apply(x, weight, bias, stride=tuple(stride), pads=tuple(pads), dilation=tuple(dilation))


class MaxPool2d(Function):
    """(values, indices) of each window's maximum over a (N, C, H, W) input; the gradient goes to the
    maximum (the first one, as PyTorch's). Indices are positions h * W + w within each (H, W) plane.

    The plain backward is the pooling kernel's; under ``create_graph=True`` it is MaxPool2dBackward, an op
    whose own backward picks the same positions again (PoolPick), so every order differentiates.
    """

    name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)):
        y, index = kpool.max_pool2d(ctx.xp, x, kernel, stride, pads, dilation, impl=ctx.backend.kernel_impl)
        ctx.args = (index, tuple(x.shape), (kernel, stride, pads, dilation))
        return y, index

    @staticmethod
    def backward(ctx, gy, gindex):
        index, shape, geometry = ctx.args
        if not is_grad_enabled():
            gx = kpool.max_pool2d_backward(ctx.xp, gy._array, index, shape, *geometry, impl=ctx.backend.kernel_impl)
            return Tensor._make(gx, ctx.backend)
        return MaxPool2dBackward.apply(gy, index=index, shape=shape, geometry=geometry)


class MaxPool2dBackward(Function):
    """gx = zeros(shape) with gy added at each window's maximum: linear in gy, adjoint of PoolPick."""

    @staticmethod
    def forward(ctx, gy, index=None, shape=(), geometry=()):
        ctx.args = (index, geometry)
        return kpool.max_pool2d_backward(ctx.xp, gy, index, shape, *geometry, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        index, geometry = ctx.args
        return PoolPick.apply(ggx, index=index, geometry=geometry)


class PoolPick(Function):
    """x (N, C, H, W) read at the pooling maxima ``index`` (N, C, oh, ow); 0 where a window had none."""

    @staticmethod
    def forward(ctx, x, index=None, geometry=()):
        xp = ctx.xp
        n, c, h, w = x.shape
        ctx.args = (index, tuple(x.shape), geometry)
        picked = xp.take_along_axis(x.reshape(n * c, h * w), xp.maximum(index, 0).reshape(n * c, -1), axis=1)
        return xp.where(index >= 0, picked.reshape(index.shape), x.dtype.type(0))

    @staticmethod
    def backward(ctx, gy):
        index, shape, geometry = ctx.args
        return MaxPool2dBackward.apply(gy, index=index, shape=shape, geometry=geometry)


def max_pool2d(x: Tensor, kernel, stride, pads, dilation) -> tuple[Tensor, Tensor]:
    """(values, int64 indices) of max pooling a (N, C, H, W) float tensor; geometry already validated
    (``gpugrad.nn.functional.max_pool2d`` is the public entry)."""
    return MaxPool2d.apply(x, kernel=tuple(kernel), stride=tuple(stride), pads=tuple(pads), dilation=tuple(dilation))


class Pad(Function):
    """Constant padding by ((before, after), ...) per dim, all non-negative."""

    @staticmethod
    def forward(ctx, x, widths=(), value=0.0):
        ctx.slices = tuple(slice(b, b + s) for (b, _), s in zip(widths, x.shape))
        return ctx.xp.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, gy):
        return gy[ctx.slices]


def pad_constant(x: Tensor, widths, value=0.0) -> Tensor:
    """x padded with ``value``: ``widths`` holds one (before, after) pair per dim, non-negative."""
    widths = tuple((int(b), int(a)) for b, a in widths)
    if all(b == 0 and a == 0 for b, a in widths):
        return x
    return Pad.apply(x, widths=widths, value=value)


# Fused softmax cross-entropy -----------------------------------------------------------------------


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of (N, C) logits against class indices, reduced as PyTorch's ``reduction``:

        loss_i = (1-eps) w[t_i] (lse_i - x_i[t_i]) + eps/C sum_c w_c (lse_i - x_ic),   0 where t_i == ignore_index

    The forward is the fused kernel (``gpugrad.kernels.softmax_xent``): loss, reduction, target check
    and d loss_i / d logits_i in one pass, so a plain backward (grad mode off) only scales that gradient
    by the upstream one. Under ``create_graph=True`` the backward is composite Tensor math instead,
    (1-eps) w_t (p - onehot) + eps/C (sum(w) p - w), so that it differentiates again.
    """

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="none"):
        from ..kernels import softmax_xent

        loss, dlogits, denominator = softmax_xent.softmax_cross_entropy(
            ctx.xp, logits, target, ignore_index=ignore_index, label_smoothing=label_smoothing, weight=weight,
            reduction=reduction, need_grad=ctx.needs_input_grad[0] and is_grad_enabled(), impl=ctx.backend.kernel_impl,
            op="cross_entropy",
        )
        ctx.ignore_index, ctx.eps, ctx.reduction, ctx.denominator = ignore_index, label_smoothing, reduction, denominator
        # dlogits is (N, C) like the logits, held until backward (PyTorch holds an (N, C) log-softmax).
        ctx.save_for_backward(logits, target, weight, dlogits)
        return loss

    @staticmethod
    def backward(ctx, gy):
        logits, target, weight, dlogits = ctx.saved_tensors
        if dlogits is not None and not is_grad_enabled():
            # A plain backward records nothing, so the kernel's gradient scaled per row is all it needs.
            if ctx.reduction == "none":
                scale = gy._array[:, None]
            else:
                scale = gy._array if ctx.reduction == "sum" else gy._array / ctx.denominator
            return Tensor._make(dlogits._array * scale, ctx.backend), None, None
        xp, backend = ctx.xp, ctx.backend
        n, c = logits.shape
        eps = ctx.eps
        t = target._array
        valid = t != ctx.ignore_index
        t_safe = xp.where(valid, t, 0)
        dt = logits._array.dtype
        w = xp.ones(c, dtype=dt) if weight is None else weight._array
        w_t = Tensor._make((w[t_safe] * valid).astype(dt)[:, None], backend)
        onehot = xp.zeros((n, c), dtype=dt)
        onehot[xp.arange(n), t_safe] = 1
        p = logits.softmax(dim=1)
        g = (p - Tensor._make(onehot, backend)) * w_t * (1.0 - eps)
        if eps:
            smooth = (p * float(w.sum()) - Tensor._make(w, backend)) * Tensor._make(valid.astype(dt)[:, None], backend)
            g = g + smooth * (eps / c)
        if ctx.reduction == "none":
            return g * gy.unsqueeze(1), None, None
        if ctx.reduction == "sum":
            return g * gy, None, None
        return g * (gy / Tensor._make(ctx.denominator, backend)), None, None


def softmax_cross_entropy(logits: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100, label_smoothing: float = 0.0, reduction: str = "none") -> Tensor:
    """Cross-entropy of (N, C) logits and int64 targets (N,), fused, reduced as F.cross_entropy's
    ``reduction`` ("none", "sum" or "mean"); the kernel range-checks the targets."""
    return SoftmaxCrossEntropy.apply(
        logits, target, weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction
    )


# Linear layer with its activation fused into the GEMM's epilogue -------------------------------------
class LinearAct(Function):
    """act(x @ W^T + b): one GEMM, then bias and activation in one pass (``kernels.linear``). Backward:
    activation derivative times the upstream gradient and the bias gradient in one pass, then the two GEMMs."""

    name = "linear"

    @staticmethod
    def forward(ctx, x, weight, bias, kind="identity", param=0.0):
        from ..kernels import linear as klinear

        z = x.reshape(-1, x.shape[-1]) @ weight.T
        pre, y = klinear.bias_act_forward(ctx.xp, kind, z, bias, param, impl=ctx.backend.kernel_impl)
        y = y.reshape(x.shape[:-1] + (weight.shape[0],))
        ctx.kind, ctx.param = kind, param
        ctx.saves_output = kind != "identity" and pre is None
        ctx.save_for_backward(x, weight, bias, y if ctx.saves_output else pre)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight, bias, s = ctx.saved_tensors
        if not is_grad_enabled():
            return _linear_act_backward_arrays(ctx, gy, x, weight, s)
        if s is not None and not ctx.saves_output:
            # Second order needs the pre-activation connected to x, W and b: recompute it in Tensor ops.
            s = x @ weight.t() + bias if bias is not None else x @ weight.t()
        out_features = weight.shape[0]
        gy2 = gy.reshape(-1, out_features)
        s2 = s.reshape(-1, out_features) if s is not None else None
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if need_b:
            gz, gb = BiasActBackward.apply(gy2, s2, kind=ctx.kind, param=ctx.param, with_bias=True)
        else:
            gz, gb = BiasActBackward.apply(gy2, s2, kind=ctx.kind, param=ctx.param, with_bias=False), None
        gx = (gz @ weight).reshape(tuple(x.shape)) if need_x else None  # no op when x is 2-D
        gw = gz.mT @ x.reshape(-1, x.shape[-1]) if need_w else None
        return gx, gw, gb


def _linear_act_backward_arrays(ctx, gy: Tensor, x: Tensor, weight: Tensor, s: Tensor | None) -> tuple:
    """LinearAct's plain backward (grad mode off, nothing recorded): the same kernel pass and two GEMMs as
    the differentiable path, on raw arrays, so a layer's backward costs no op applications."""
    from ..kernels import linear as klinear

    backend = ctx.backend
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    out_features = weight.shape[0]
    gz, gb = klinear.bias_act_backward(
        ctx.xp, ctx.kind, gy._array.reshape(-1, out_features),
        None if s is None else s._array.reshape(-1, out_features), ctx.param,
        need_bias_grad=need_b, impl=backend.kernel_impl,
    )
    gx = Tensor._make((gz @ weight._array).reshape(x.shape), backend) if need_x else None
    gw = Tensor._make(gz.T @ x._array.reshape(-1, x.shape[-1]), backend) if need_w else None
    return gx, gw, None if gb is None else Tensor._make(gb, backend)


class BiasActBackward(Function):
    """(act'(s) * gy, its column sums) in one kernel pass; differentiable, with a composite backward."""

    name = "linear_backward"

    @staticmethod
    def forward(ctx, gy, s, kind="identity", param=0.0, with_bias=True):
        from ..kernels import linear as klinear

        ctx.kind, ctx.param, ctx.with_bias = kind, param, with_bias
        ctx.save_for_backward(gy if ctx.needs_input_grad[1] else None, s)
        gz, gb = klinear.bias_act_backward(
            ctx.xp, kind, gy, s, param, need_bias_grad=with_bias, impl=ctx.backend.kernel_impl
        )
        return (gz, gb) if with_bias else gz

    @staticmethod
    def backward(ctx, ggz, ggb=None):
        from .activation import ActivationBackward, _second_derivative

        gy, s = ctx.saved_tensors
        up = ggz if ggb is None else ggz + ggb  # d gb / d gz is a broadcast over rows
        if ctx.kind == "identity":
            return up, None
        g_gy = ActivationBackward.apply(up, s, kind=ctx.kind, param=ctx.param) if ctx.needs_input_grad[0] else None
        g_s = None
        if ctx.needs_input_grad[1]:
            curvature = _second_derivative(ctx.kind, s, ctx.param)
            g_s = None if curvature is None else up * gy * curvature
        return g_gy, g_s


def linear_act(x: Tensor, weight: Tensor, bias: Tensor | None, kind: str = "identity", param: float = 0.0) -> Tensor:
    """act(x @ weight^T + bias) as one fused op; ``kind`` names the activation (``"identity"`` for none)."""
    return LinearAct.apply(x, weight, bias, kind=kind, param=float(param))


# What this family exports; gpugrad.ops gathers it (the rest is used by nn.functional).
FUNCTIONS = (softmax, log_softmax)
DIFFERENTIABLE = FUNCTIONS
METHODS = {f.__name__: f for f in FUNCTIONS}
