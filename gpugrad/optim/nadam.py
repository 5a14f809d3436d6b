"""NAdam (torch.optim.NAdam)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam, as ``torch.optim.NAdam``: Adam with Nesterov momentum and the momentum schedule
    :math:`\mu_t = \beta_1 (1 - \frac12 0.96^{t \psi})` (``momentum_decay`` :math:`\psi`); the state's
    ``mu_product`` is :math:`\prod_{i \le t} \mu_i`. ``decoupled_weight_decay=True`` gives NAdamW.

        opt = optim.NAdam(params, lr=2e-3, momentum_decay=4e-3)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
            capturable=capturable, differentiable=differentiable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("NAdam", "eps", group.get("eps", 0.0), "epsilon")
        _common.betas("NAdam", group.get("betas", (0.0, 0.0)))
        _common.nonneg("NAdam", "weight_decay", group.get("weight_decay", 0.0))
        _common.nonneg("NAdam", "momentum_decay", group.get("momentum_decay", 0.0))

    def _scalar_spec(self, group: dict) -> dict[str, float]:
        return {"mu_product": 1.0}

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        beta1, beta2 = group["betas"]
        scalars["mu_product"] = _k.nadam(
            xp, p, g, bufs["exp_avg"], bufs["exp_avg_sq"], lr=float(group["lr"]), beta1=float(beta1),
            beta2=float(beta2), eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            momentum_decay=float(group["momentum_decay"]),
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]), maximize=bool(group["maximize"]),
            step=step, mu_product=float(scalars["mu_product"]), impl=impl,
        )
