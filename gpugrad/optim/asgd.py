"""ASGD, averaged stochastic gradient descent (torch.optim.ASGD)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""ASGD, as ``torch.optim.ASGD``: :math:`p \leftarrow p (1 - \lambda \eta_t) - \eta_t g`, with the
    running average ``ax`` of the iterates (from step ``t0`` on), :math:`\eta_t = \eta / (1 + \lambda
    \eta t)^\alpha`. The state's ``eta`` and ``mu`` are float32 numbers, as PyTorch's float32 tensors.

        opt = optim.ASGD(params, lr=1e-2, t0=100)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
        *,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
            maximize=maximize, differentiable=differentiable, capturable=capturable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("ASGD", "weight_decay", group.get("weight_decay", 0.0))

    def _scalar_spec(self, group: dict) -> dict[str, float]:
        return {"eta": float(numpy.float32(group["lr"])), "mu": 1.0}

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"ax": 0.0}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        _k.asgd(
            xp, p, g, bufs["ax"], eta=float(scalars["eta"]), mu=float(scalars["mu"]), lambd=float(group["lambd"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]), impl=impl,
        )
        scalars["eta"], scalars["mu"] = _k.asgd_next(
            lr=float(group["lr"]), lambd=float(group["lambd"]), alpha=float(group["alpha"]),
            t0=float(group["t0"]), step=step,
        )
