"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD, optionally with momentum, as ``torch.optim.SGD``.

    With :math:`d = g + \lambda p`: :math:`b \leftarrow \mu b + (1 - \tau) d` (:math:`b = d` on the first
    step), then :math:`p \leftarrow p - \eta (d + \mu b)` with Nesterov, else :math:`p - \eta b`.

        opt = optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    """

    _counts_steps = False

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize, foreach=foreach, differentiable=differentiable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("SGD", "momentum", group.get("momentum", 0.0))
        _common.nonneg("SGD", "weight_decay", group.get("weight_decay", 0.0))
        if group.get("nesterov") and (float(group.get("momentum", 0.0)) <= 0 or float(group.get("dampening", 0.0)) != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group.get('momentum')!r}, dampening={group.get('dampening')!r}"
            )

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"momentum_buffer": 0.0} if float(group["momentum"]) != 0 else {}

    def _is_first(self, state: dict) -> bool:
        return state.get("momentum_buffer") is None

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        _k.sgd(
            xp, p, g, bufs.get("momentum_buffer"),
            lr=float(group["lr"]), momentum=float(group["momentum"]), dampening=float(group["dampening"]),
            nesterov=bool(group["nesterov"]), weight_decay=float(group["weight_decay"]),
            first_step=first, maximize=bool(group.get("maximize", False)), impl=impl,
        )
