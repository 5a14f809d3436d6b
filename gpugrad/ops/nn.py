"""Neural-network building blocks that are ops in their own right: softmax and log_softmax."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from ._operands import normalize_dims, require_float


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        xp = ctx.xp
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return y * (gy - (gy * y).sum(dim=ctx.axis, keepdim=True))


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably. J = diag(y) - y y^T."""
    require_float("softmax", x)
    (axis,) = normalize_dims("softmax", dim, x.ndim)
    return Softmax.apply(x, axis=axis)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        xp = ctx.xp
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy - y.exp() * gy.sum(dim=ctx.axis, keepdim=True)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable at logits of +-1e4. d/dx = I - softmax."""
    require_float("log_softmax", x)
    (axis,) = normalize_dims("log_softmax", dim, x.ndim)
    return LogSoftmax.apply(x, axis=axis)


# Convolution and pooling building blocks -----------------------------------------------------------
# Windows are strided views of the (padded) input (``as_strided``), so no Python loop runs over pixels;
# col2im loops only over the kh*kw kernel taps.


def conv_output_size(size: int, k: int, stride: int, pad_total: int, dilation: int) -> int:
    return (size + pad_total - dilation * (k - 1) - 1) // stride + 1


def _windows(xp, x, kernel, stride, pads, dilation, fill=0.0):
    """A (N, C, kh, kw, oh, ow) strided view of x padded by ``pads`` = (top, bottom, left, right)."""
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = kernel, stride, pads, dilation
    if top or bottom or left or right:
        x = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)
    n, c, hp, wp = x.shape
    oh = conv_output_size(hp, kh, sh, 0, dh)
    ow = conv_output_size(wp, kw, sw, 0, dw)
    if oh <= 0 or ow <= 0:
        raise ValueError(
            f"the kernel {kernel} (dilation {dilation}) is larger than the padded input {(hp, wp)}"
        )
    s0, s1, s2, s3 = x.strides
    view = xp.lib.stride_tricks.as_strided(
        x, shape=(n, c, kh, kw, oh, ow), strides=(s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw)
    )
    return view, oh, ow


def _im2col_array(xp, x, kernel, stride, pads, dilation):
    """(C*kh*kw, N*oh*ow) columns of array x (N, C, H, W), and (oh, ow)."""
    view, oh, ow = _windows(xp, x, kernel, stride, pads, dilation)
    n, c = x.shape[:2]
    return view.transpose(1, 2, 3, 0, 4, 5).reshape(c * kernel[0] * kernel[1], n * oh * ow), oh, ow


def _col2im_array(xp, cols, shape, kernel, stride, pads, dilation, out_hw):
    """Columns summed back into an (N, C, H, W) array at the positions im2col read them from."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw), (oh, ow) = kernel, stride, pads, dilation, out_hw
    out = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=cols.dtype)
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            q = j * dw
            out[:, :, r : r + sh * (oh - 1) + 1 : sh, q : q + sw * (ow - 1) + 1 : sw] += cols6[:, i, j].transpose(1, 0, 2, 3)
    return out[:, :, top : top + h, left : left + w]


class Im2Col(Function):
    """(N, C, H, W) -> (C*kh*kw, N*oh*ow): every receptive field as a column, zero padded.

    Batch and positions share the column axis so that a convolution is one plain 2-D GEMM (and so are
    both of its gradients), rather than a broadcast batch of small products.
    """

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)):
        cols, oh, ow = _im2col_array(ctx.xp, x, kernel, stride, pads, dilation)
        ctx.args = (tuple(x.shape), kernel, stride, pads, dilation, (oh, ow))
        return cols

    @staticmethod
    def backward(ctx, gy):
        shape, kernel, stride, pads, dilation, out_hw = ctx.args
        return Col2Im.apply(gy, shape=shape, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out_hw=out_hw)


class Col2Im(Function):
    """The adjoint of Im2Col: columns summed back into the (N, C, H, W) positions they were read from."""

    @staticmethod
    def forward(ctx, cols, shape=(), kernel=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), out_hw=(1, 1)):
        ctx.args = (kernel, stride, pads, dilation)
        return _col2im_array(ctx.xp, cols, shape, kernel, stride, pads, dilation, out_hw)

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
        cols, oh, ow = _im2col_array(ctx.xp, x, (kh, kw), stride, pads, dilation)
        z = weight.reshape(out_c, -1) @ cols  # (C_out, N*oh*ow)
        if bias is not None:
            z += bias[:, None]
        ctx.args = (tuple(x.shape), (kh, kw), stride, pads, dilation, (oh, ow))
        # The columns are what the weight gradient multiplies (the composite path kept them too).
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        return z.reshape(out_c, x.shape[0], oh, ow).transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx, gy):
        x, weight, cols = ctx.saved_tensors
        shape, kernel, stride, pads, dilation, out_hw = ctx.args
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        out_c = weight.shape[0]
        geometry = dict(kernel=kernel, stride=stride, pads=pads, dilation=dilation)
        if not is_grad_enabled():
            backend = ctx.backend
            gz = gy.data.transpose(1, 0, 2, 3).reshape(out_c, -1)
            w2 = weight.data.reshape(out_c, -1)
            gx = gw = gb = None
            if need_x:
                gx = Tensor._make(_col2im_array(ctx.xp, w2.T @ gz, shape, out_hw=out_hw, **geometry), backend)
            if need_w:
                gw = Tensor._make((gz @ cols.data.T).reshape(weight.shape), backend)
            if need_b:
                gb = Tensor._make(gz.sum(axis=1), backend)
            return gx, gw, gb
        gz = gy.permute(1, 0, 2, 3).reshape(out_c, -1)
        w2 = weight.reshape(out_c, -1)
        gx = Col2Im.apply(w2.mT @ gz, shape=shape, out_hw=out_hw, **geometry) if need_x else None
        gw = (gz @ Im2Col.apply(x, **geometry).mT).reshape(tuple(weight.shape)) if need_w else None
        gb = gz.sum(dim=1) if need_b else None
        return gx, gw, gb


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)) -> Tensor:
    """Cross-correlation of x (N, C, H, W) with weight (C_out, C, kh, kw), one op; inputs already validated
    (``gpugrad.nn.functional.conv2d`` is the public entry)."""
    return Conv2d.apply(x, weight, bias, stride=tuple(stride), pads=tuple(pads), dilation=tuple(dilation))


def max_pool_indices(xp, x, kernel, stride, pads, dilation):
    """For each pooling window of array x (N, C, H, W): the flat index (h * W + w) of its maximum, as
    PyTorch's ``return_indices`` gives, shape (N, C, oh, ow). Padding never wins (it is -inf)."""
    n, c, _h, w = x.shape
    view, oh, ow = _windows(xp, x, kernel, stride, pads, dilation, fill=-xp.inf)
    kh, kw = kernel
    flat = view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, oh, ow, kh * kw)
    k = flat.argmax(axis=-1)  # NaN counts as the maximum, as in PyTorch
    i, j = k // kw, k % kw
    rows = xp.arange(oh).reshape(oh, 1) * stride[0] + i * dilation[0] - pads[0]
    cols = xp.arange(ow).reshape(1, ow) * stride[1] + j * dilation[1] - pads[2]
    return (rows * w + cols).astype(xp.int64)


class Gather(Function):
    """x.reshape(-1)[index]: picks elements by flat index; the backward scatters (adds) them back."""

    @staticmethod
    def forward(ctx, x, index=None):
        ctx.index, ctx.shape = index, x.shape
        return x.reshape(-1)[index]

    @staticmethod
    def backward(ctx, gy):
        if not is_grad_enabled():
            return Tensor._make(_scatter_add_array(ctx.backend, gy.data, ctx.index, ctx.shape), ctx.backend)
        return ScatterAdd.apply(gy, index=ctx.index, shape=ctx.shape)


class ScatterAdd(Function):
    """zeros(shape) with g added at flat positions ``index`` (repeats accumulate); adjoint of Gather."""

    @staticmethod
    def forward(ctx, g, index=None, shape=()):
        ctx.index = index
        return _scatter_add_array(ctx.backend, g, index, shape)

    @staticmethod
    def backward(ctx, ggx):
        return Gather.apply(ggx, index=ctx.index)


def _scatter_add_array(backend, g, index, shape):
    size = 1
    for s in shape:
        size *= s
    out = backend.xp.zeros(size, dtype=g.dtype)
    backend.index_add(out, index.reshape(-1), g.reshape(-1))
    return out.reshape(shape)


def gather_flat(x: Tensor, index) -> Tensor:
    """``x.reshape(-1)[index]`` for an integer backend array ``index`` (differentiable in x)."""
    return Gather.apply(x, index=index)


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
                scale = gy.data[:, None]
            else:
                scale = gy.data if ctx.reduction == "sum" else gy.data / ctx.denominator
            return Tensor._make(dlogits.data * scale, ctx.backend), None, None
        xp, backend = ctx.xp, ctx.backend
        n, c = logits.shape
        eps = ctx.eps
        t = target.data
        valid = t != ctx.ignore_index
        t_safe = xp.where(valid, t, 0)
        dt = logits.data.dtype
        w = xp.ones(c, dtype=dt) if weight is None else weight.data
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


# Sequence helpers ----------------------------------------------------------------------------------


class Unbind(Function):
    """The slices of x along ``axis`` as separate outputs. Indexing each step separately would scatter a
    full-size gradient per step (quadratic in sequence length); here backward is one stack."""

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        return tuple(x.take(i, axis=axis) for i in range(x.shape[axis]))

    @staticmethod
    def backward(ctx, *grads):
        from .shape import stack

        return stack(grads, dim=ctx.axis)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """``x.unbind(dim)``: the tuple of slices along ``dim``, differentiable."""
    (axis,) = normalize_dims("unbind", dim, x.ndim)
    out = Unbind.apply(x, axis=axis)
    return out if isinstance(out, tuple) else (out,)


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
        ctx.xp, ctx.kind, gy.data.reshape(-1, out_features),
        None if s is None else s.data.reshape(-1, out_features), ctx.param,
        need_bias_grad=need_b, impl=backend.kernel_impl,
    )
    gx = Tensor._make((gz @ weight.data).reshape(x.shape), backend) if need_x else None
    gw = Tensor._make(gz.T @ x.data.reshape(-1, x.shape[-1]), backend) if need_w else None
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
            curvature = _second_derivative(ctx.kind, s)
            g_s = None if curvature is None else up * gy * curvature
        return g_gy, g_s


def linear_act(x: Tensor, weight: Tensor, bias: Tensor | None, kind: str = "identity", param: float = 0.0) -> Tensor:
    """act(x @ weight^T + bias) as one fused op; ``kind`` names the activation (``"identity"`` for none)."""
    return LinearAct.apply(x, weight, bias, kind=kind, param=float(param))
