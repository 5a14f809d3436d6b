"""Adadelta (torch.optim.Adadelta)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, as ``torch.optim.Adadelta``: :math:`s \leftarrow \rho s + (1-\rho) g^2`,
    :math:`\Delta = \frac{\sqrt{a + \epsilon}}{\sqrt{s + \epsilon}} g`,
    :math:`a \leftarrow \rho a + (1-\rho) \Delta^2`, :math:`p \leftarrow p - \eta \Delta`.

        opt = optim.Adadelta(params, lr=1.0, rho=0.9)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
            foreach=foreach, differentiable=differentiable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        rho = group.get("rho", 0.0)
        try:
            ok = 0.0 <= float(rho) <= 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"Adadelta: invalid rho value: rho={rho!r} (must be in [0, 1])")
        _common.nonneg("Adadelta", "eps", group.get("eps", 0.0), "epsilon")
        _common.nonneg("Adadelta", "weight_decay", group.get("weight_decay", 0.0))

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"square_avg": 0.0, "acc_delta": 0.0}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        _k.adadelta(
            xp, p, g, bufs["square_avg"], bufs["acc_delta"], lr=float(group["lr"]), rho=float(group["rho"]),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]), impl=impl,
        )
