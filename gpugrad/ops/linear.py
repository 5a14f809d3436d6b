"""The linear layer with its activation fused into the GEMM's epilogue, and its backward as an op.

``kind`` names the activation as ``gpugrad.kernels.activation`` does ("identity" for none).
"""
from __future__ import annotations

from ..autograd.function import Op
from ..kernels import linear as klinear
from ..kernels.activation import SAVES_OUTPUT
from ..tensor import Tensor
from .activation import ActivationBackward, activation_backward_grads
from .conv import produced_grads


class LinearActBackward(Op):
    """(gx, gw, gb) of act(x @ W^T + b) for the upstream gy: gz = act'(.) * gy and its column sums in one
    kernel pass (``kernels.linear.bias_act_backward``), then gx = gz W and gw = gz^T x; None for what
    ``needs`` leaves out. ``s`` is y where the activation's derivative reads y, else the pre-activation.

    Its own backward is written in Tensor ops: gz is ActivationBackward(gy, s), differentiable in both,
    and the pre-activation is recomputed from x, W and b so that its gradients reach them."""

    name = "linear_backward"

    @staticmethod
    def forward(ctx, gy, x, weight, bias, s, kind="identity", param=0.0, needs=(True, True, True)):
        need_x, need_w, need_b = needs
        out_features = weight.shape[0]
        gz, gb = klinear.bias_act_backward(
            ctx.xp, kind, gy.reshape(-1, out_features), None if s is None else s.reshape(-1, out_features), param,
            need_bias_grad=need_b, impl=ctx.backend.kernel_impl,
        )
        ctx.kind, ctx.param, ctx.produced = kind, param, needs
        ctx.save_for_backward(gy, x, weight, bias, s)
        gx = ctx.backend.matmul(gz, weight).reshape(x.shape) if need_x else None
        gw = ctx.backend.matmul(gz.T, x.reshape(-1, x.shape[-1])) if need_w else None
        return gx, gw, gb

    @staticmethod
    def backward(ctx, ggx, ggw, ggb):
        ggx, ggw, ggb = produced_grads(ctx, (ggx, ggw, ggb))
        gy, x, weight, bias, s = ctx.saved_tensors
        kind, param = ctx.kind, ctx.param
        need_gy, need_x, need_w, need_b, need_s = ctx.needs_input_grad[:5]
        out_features, in_features = weight.shape
        x2 = x.reshape(-1, in_features)
        gy2 = gy.reshape(-1, out_features)
        ggx2 = None if ggx is None else ggx.reshape(-1, in_features)
        identity = kind == "identity"
        s_is_output = not identity and SAVES_OUTPUT[kind]
        if identity:
            s2 = None
        elif s_is_output:
            s2 = s.reshape(-1, out_features)  # y, connected to this layer's graph
        else:
            s2 = x2 @ weight.mT + bias if bias is not None else x2 @ weight.mT  # pre, connected to x, W, b
        gz = gy2 if identity else ActivationBackward.apply(gy2, s2, kind=kind, param=param)
        # gz feeds gx = gz W, gw = gz^T x and gb = sum(gz).
        d_gz = None
        for term in (None if ggx2 is None else ggx2 @ weight.mT,
                     None if ggw is None else x2 @ ggw.mT,
                     ggb):
            if term is not None:
                d_gz = term if d_gz is None else d_gz + term
        d_x = None if ggw is None else gz @ ggw
        d_w = None if ggx2 is None else gz.mT @ ggx2
        d_gy = d_s = d_b = None
        if d_gz is not None:
            d_gy, d_s = activation_backward_grads(d_gz, gy2, s2, kind, param, need_gy)
        if d_s is not None and not s_is_output:  # pre = x W^T + b
            d_x = d_s @ weight if d_x is None else d_x + d_s @ weight
            d_w = d_s.mT @ x2 if d_w is None else d_w + d_s.mT @ x2
            d_b = d_s.sum(dim=0)
            d_s = None
        return (
            None if d_gy is None else d_gy.reshape(tuple(gy.shape)),
            None if d_x is None or not need_x else d_x.reshape(tuple(x.shape)),
            d_w if need_w else None,
            d_b if need_b else None,
            d_s.reshape(tuple(gy.shape)) if d_s is not None and need_s else None,
        )


class LinearAct(Op):
    """act(x @ W^T + b): one GEMM, then bias and activation in one pass (``kernels.linear``). Its backward
    is LinearActBackward, once."""

    name = "linear"
    derivative = LinearActBackward

    @staticmethod
    def forward(ctx, x, weight, bias, kind="identity", param=0.0):
        z = ctx.backend.matmul(x.reshape(-1, x.shape[-1]), weight.T)
        pre, y = klinear.bias_act_forward(ctx.xp, kind, z, bias, param, impl=ctx.backend.kernel_impl)
        y = y.reshape(x.shape[:-1] + (weight.shape[0],))
        ctx.derivative_kwargs = {"kind": kind, "param": param, "needs": ctx.needs_input_grad[:3]}
        # The activation's derivative reads y (relu, sigmoid, tanh) or the pre-activation (the rest).
        ctx.save_for_backward(x, weight, bias, y if kind != "identity" and SAVES_OUTPUT[kind] else pre)
        return y


def linear_act(x: Tensor, weight: Tensor, bias: Tensor | None, kind: str = "identity", param: float = 0.0) -> Tensor:
    """act(x @ weight^T + bias) as one fused op; ``kind`` names the activation (``"identity"`` for none)."""
    return LinearAct.apply(x, weight, bias, kind=kind, param=float(param))
