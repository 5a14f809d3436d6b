"""RAdam (torch.optim.RAdam)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam, as ``torch.optim.RAdam``: Adam whose adaptive step is scaled by the variance
    rectification :math:`r_t` once it is defined (:math:`\rho_t > 5`), and plain bias-corrected
    momentum before. ``decoupled_weight_decay=True`` gives RAdamW.

        opt = optim.RAdam(params, lr=1e-3)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
            capturable=capturable, decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("RAdam", "eps", group.get("eps", 0.0), "epsilon")
        _common.betas("RAdam", group.get("betas", (0.0, 0.0)))
        _common.nonneg("RAdam", "weight_decay", group.get("weight_decay", 0.0))

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        beta1, beta2 = group["betas"]
        _k.radam(
            xp, p, g, bufs["exp_avg"], bufs["exp_avg_sq"], lr=float(group["lr"]), beta1=float(beta1),
            beta2=float(beta2), eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]), maximize=bool(group["maximize"]),
            step=step, impl=impl,
        )
