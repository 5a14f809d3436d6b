"""``torch.optim.adamw``: the AdamW optimizer (defined in adam.py) and ``adamw``, PyTorch's functional
form of its update over lists of tensors (what ``torch.distributed.optim`` and hand-written loops call)."""
from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .adam import AdamW

__all__ = ["AdamW", "adamw"]


def _number(value) -> float:
    return float(value.item()) if isinstance(value, Tensor) else float(value)


def adamw(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    max_exp_avg_sqs: list[Tensor],
    state_steps: list[Tensor],
    foreach: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
    grad_scale: Tensor | None = None,
    found_inf: Tensor | None = None,
    has_complex: bool = False,
    *,
    amsgrad: bool,
    beta1: float | Tensor,
    beta2: float | Tensor,
    lr: float | Tensor,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One AdamW step on each ``params[i]``, in place, with its state tensors: the step count
    ``state_steps[i]`` (a one-element tensor, incremented), the moments ``exp_avgs[i]`` and
    ``exp_avg_sqs[i]``, and ``max_exp_avg_sqs[i]`` with ``amsgrad``. The decay is decoupled:
    p <- p (1 - lr * weight_decay) before the Adam update, in the order of PyTorch's single-tensor loop.
    ``foreach``, ``fused`` and ``capturable`` choose PyTorch's implementations and change nothing here."""
    if grad_scale is not None or found_inf is not None:
        raise RuntimeError("adamw: grad_scale and found_inf belong to the fused step; gpugrad's functional adamw "
                           "takes unscaled gradients (unscale them first, as GradScaler.unscale_ does)")
    if not all(isinstance(t, Tensor) for t in state_steps):
        raise RuntimeError("API has changed, `state_steps` argument must contain a list of singleton tensors")
    lists = (grads, exp_avgs, exp_avg_sqs, state_steps) + ((max_exp_avg_sqs,) if amsgrad else ())
    if any(len(lst) != len(params) for lst in lists):
        raise ValueError("adamw: params, grads, exp_avgs, exp_avg_sqs, state_steps (and max_exp_avg_sqs with "
                         "amsgrad) must have one entry per parameter")
    beta1, beta2, lr = _number(beta1), _number(beta2), _number(lr)
    with no_grad():
        for i, param in enumerate(params):
            grad = -grads[i] if maximize else grads[i]
            exp_avg, exp_avg_sq, step_t = exp_avgs[i], exp_avg_sqs[i], state_steps[i]
            step_t.add_(1)
            if weight_decay != 0:
                param.mul_(1 - lr * weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj() if grad.is_complex() else grad, value=1 - beta2)
            step = _number(step_t)
            step_size = lr / (1 - beta1**step)
            bias_correction2_sqrt = math.sqrt(1 - beta2**step)
            second = exp_avg_sq
            if amsgrad:
                max_exp_avg_sqs[i].copy_(max_exp_avg_sqs[i].maximum(exp_avg_sq))
                second = max_exp_avg_sqs[i]
            denom = (second.sqrt() / bias_correction2_sqrt).add_(eps)
            param.addcdiv_(exp_avg, denom, value=-step_size)
