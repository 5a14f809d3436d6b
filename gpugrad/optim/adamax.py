"""Adamax (torch.optim.Adamax)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, as ``torch.optim.Adamax``: Adam with the infinity norm,
    :math:`u \leftarrow \max(\beta_2 u, |g| + \epsilon)`,
    :math:`p \leftarrow p - \frac{\eta}{1-\beta_1^t} \frac{m}{u}`.

        opt = optim.Adamax(params, lr=2e-3)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
            differentiable=differentiable, capturable=capturable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("Adamax", "eps", group.get("eps", 0.0), "epsilon")
        _common.betas("Adamax", group.get("betas", (0.0, 0.0)))
        _common.nonneg("Adamax", "weight_decay", group.get("weight_decay", 0.0))

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"exp_avg": 0.0, "exp_inf": 0.0}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        beta1, beta2 = group["betas"]
        _k.adamax(
            xp, p, g, bufs["exp_avg"], bufs["exp_inf"], lr=float(group["lr"]), beta1=float(beta1),
            beta2=float(beta2), eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]), step=step, impl=impl,
        )
