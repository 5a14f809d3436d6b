"""Layer normalisation as one fused op each way (``gpugrad.kernels.layer_norm``), the backward an op.

Per row of n elements, with xhat = (x - mean) * rstd and g = gy * weight (gy without a weight):

    gx = rstd * P(g),   P(v) = v - mean(v) - xhat * mean(v * xhat)
    gweight = sum over rows of gy * xhat,   gbias = sum over rows of gy

P is symmetric, which is what LayerNormBackward's own backward uses. RMS normalisation (``centered=False``)
is the same with mean 0 and P(v) = v - xhat * mean(v * xhat).
"""
from __future__ import annotations

from ..autograd.function import Op
from ..kernels import layer_norm as klayer_norm
from ..tensor import Tensor
from .conv import produced_grads


class LayerNormBackward(Op):
    """(gx, gweight, gbias) of layer_norm for the upstream gy, in one kernel pass (the parameter
    gradients as fixed row-chunk partial sums); None for what ``needs`` leaves out.

    Its own backward is written in Tensor ops, from x (mean and rstd recomputed, so that they stay
    connected to it): every order differentiates."""

    name = "layer_norm_backward"

    @staticmethod
    def forward(ctx, gy, x, weight, stats=(), n=1, eps=1e-5, param_shape=None, needs=(True, True, True),
                centered=True):
        need_x, need_w, need_b = needs
        mean, rstd = stats
        ctx.n, ctx.eps, ctx.centered = n, eps, centered
        ctx.produced = (need_x, need_w and weight is not None, need_b)
        ctx.save_for_backward(gy, x, weight)
        gx, gw, gb = klayer_norm.layer_norm_backward(
            ctx.xp, gy.reshape(-1, n), x.reshape(-1, n), mean, rstd, None if weight is None else weight.reshape(n),
            need_param_grads=need_w or need_b, centered=centered, impl=ctx.backend.kernel_impl,
        )
        gw = gw.reshape(param_shape) if need_w and weight is not None else None
        gb = gb.reshape(param_shape) if need_b else None
        return gx.reshape(x.shape) if need_x else None, gw, gb

    @staticmethod
    def backward(ctx, ggx, ggw, ggb):
        ggx, ggw, ggb = produced_grads(ctx, (ggx, ggw, ggb))
        gy, x, weight = ctx.saved_tensors
        n, eps, centered = ctx.n, ctx.eps, ctx.centered
        need_gy, need_x, need_w = ctx.needs_input_grad[:3]
        rows = x.reshape(-1, n)
        if centered:
            rstd = (rows.var(dim=1, keepdim=True, correction=0) + eps).rsqrt()
            xhat = (rows - rows.mean(dim=1, keepdim=True)) * rstd
        else:
            rstd = ((rows * rows).mean(dim=1, keepdim=True) + eps).rsqrt()
            xhat = rows * rstd
        w = None if weight is None else weight.reshape(n)
        gy2 = gy.reshape(-1, n)
        g = gy2 * w if w is not None else gy2

        def project(v):  # P(v), symmetric
            if centered:
                return v - v.mean(dim=1, keepdim=True) - xhat * (v * xhat).mean(dim=1, keepdim=True)
            return v - xhat * (v * xhat).mean(dim=1, keepdim=True)

        ggx2 = None if ggx is None else ggx.reshape(-1, n)
        d_g = None if ggx2 is None else rstd * project(ggx2)  # gx = rstd * P(g), P symmetric
        d_gy = d_x = d_w = None
        if need_gy:
            terms = [d_g if d_g is None or w is None else d_g * w,
                     None if ggw is None else ggw.reshape(n) * xhat,
                     None if ggb is None else ggb.reshape(n).expand(*gy2.shape)]
            for t in terms:
                if t is not None:
                    d_gy = t if d_gy is None else d_gy + t
        if need_w and d_g is not None:
            d_w = (d_g * gy2).sum(dim=0).reshape(tuple(weight.shape))
        if need_x:
            # Through xhat (in gx and gweight) and through rstd (gx is linear in it).
            xhat_bar = None if ggw is None else gy2 * ggw.reshape(n)
            spread = None
            if ggx2 is not None:
                m = (g * xhat).mean(dim=1, keepdim=True)
                from_gx = -rstd * (ggx2 * m + g * (ggx2 * xhat).mean(dim=1, keepdim=True))
                xhat_bar = from_gx if xhat_bar is None else xhat_bar + from_gx
                gx = rstd * ((g - g.mean(dim=1, keepdim=True) if centered else g) - xhat * m)
                spread = xhat * (ggx2 * gx).mean(dim=1, keepdim=True)
            if xhat_bar is not None:
                d_x = project(xhat_bar) if spread is None else project(xhat_bar) - spread
                d_x = (rstd * d_x).reshape(tuple(x.shape))
        return None if d_gy is None else d_gy.reshape(tuple(gy.shape)), d_x, d_w


class LayerNorm(Op):
    """Normalise each row of x viewed as (rows, n) (the trailing dims flattened), then weight and bias
    (of the trailing shape, or None); ``centered=False``: RMS normalisation. Its backward is
    LayerNormBackward, once."""

    name = "layer_norm"
    derivative = LayerNormBackward

    @staticmethod
    def forward(ctx, x, weight, bias, n=1, eps=1e-5, centered=True):
        rows = x.reshape(-1, n)
        w = None if weight is None else weight.reshape(n)
        b = None if bias is None else bias.reshape(n)
        y, mean, rstd = klayer_norm.layer_norm_forward(ctx.xp, rows, w, b, eps, centered=centered,
                                                       impl=ctx.backend.kernel_impl)
        param_shape = None if weight is None and bias is None else (weight if bias is None else bias).shape
        ctx.derivative_kwargs = {"stats": (mean, rstd), "n": n, "eps": eps, "param_shape": param_shape,
                                 "needs": ctx.needs_input_grad[:3], "centered": centered}
        ctx.save_for_backward(x, weight)
        return y.reshape(x.shape)


def layer_norm(x: Tensor, n: int, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """Layer normalisation over x's trailing dims (their product is n), one fused op."""
    return LayerNorm.apply(x, weight, bias, n=n, eps=eps)


def rms_norm(x: Tensor, n: int, weight: Tensor | None, eps: float) -> Tensor:
    """RMS normalisation over x's trailing dims (their product is n), one fused op."""
    return LayerNorm.apply(x, weight, None, n=n, eps=eps, centered=False)
