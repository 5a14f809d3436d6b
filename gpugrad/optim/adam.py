"""Adam and AdamW (torch.optim.Adam / torch.optim.AdamW)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from ..tensor import Tensor
from . import _common
from .flat import DeviceSteps
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam`` (L2 weight decay added to the gradient; optional AMSGrad).

    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`p \leftarrow p - \frac{\eta}{1-\beta_1^t} \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}`.

        opt = optim.Adam(params, lr=1e-3, betas=(0.9, 0.999))
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("Adam: lr as a Tensor is not supported for capturable=False and foreach=True")
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
            foreach=foreach, capturable=capturable, differentiable=differentiable,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults, fused=fused)

    _supports_capturable = True
    _sparse_hint = ", please consider SparseAdam instead"  # PyTorch's refusal of a sparse gradient

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        name = type(self).__name__
        _common.nonneg(name, "eps", group.get("eps", 0.0), "epsilon")
        _common.betas(name, group.get("betas", (0.0, 0.0)))
        _common.nonneg(name, "weight_decay", group.get("weight_decay", 0.0))

    def _state_spec(self, group: dict) -> dict[str, float]:
        spec = {"exp_avg": 0.0, "exp_avg_sq": 0.0}
        if group["amsgrad"]:
            spec["max_exp_avg_sq"] = 0.0
        return spec

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        beta1, beta2 = group["betas"]
        if isinstance(step, DeviceSteps):
            _k.adam_capturable(
                xp, p, g, bufs["exp_avg"], bufs["exp_avg_sq"], bufs.get("max_exp_avg_sq"),
                steps=step.counts, bounds=step.bounds, lr=_device_lr(xp, group["lr"]), beta1=float(beta1),
                beta2=float(beta2), eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                decoupled_weight_decay=bool(group.get("decoupled_weight_decay", False)),
                amsgrad=bool(group["amsgrad"]), maximize=bool(group.get("maximize", False)), impl=impl,
            )
            return
        _k.adam(
            xp, p, g, bufs["exp_avg"], bufs["exp_avg_sq"], bufs.get("max_exp_avg_sq"),
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]),
            decoupled_weight_decay=bool(group.get("decoupled_weight_decay", False)),
            amsgrad=bool(group["amsgrad"]), maximize=bool(group.get("maximize", False)), step=step, impl=impl,
        )


def _device_lr(xp, lr):
    """A float lr as it is (a captured graph keeps it); a Tensor lr as its one-element array on the
    parameters' device, which the kernel reads at every step (a host copy first if it lives elsewhere)."""
    if not isinstance(lr, Tensor):
        return float(lr)
    if lr._backend.xp is xp:
        return lr._array.reshape(1)
    return xp.asarray(lr._backend.to_numpy(lr._array)).reshape(1)


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``torch.optim.AdamW``: :math:`p \leftarrow p (1 - \eta\lambda)`
    before the Adam update (default ``weight_decay=1e-2``).

        opt = optim.AdamW(params, lr=3e-4, weight_decay=0.1)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, foreach=foreach,
            maximize=maximize, capturable=capturable, differentiable=differentiable,
            decoupled_weight_decay=True,
        )
