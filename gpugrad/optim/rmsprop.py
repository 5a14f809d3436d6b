"""RMSprop (torch.optim.RMSprop)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from . import _common
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    :math:`s \leftarrow \alpha s + (1-\alpha) g^2`; centered: :math:`\bar g \leftarrow \alpha \bar g +
    (1-\alpha) g` and the denominator is :math:`\sqrt{s - \bar g^2} + \epsilon`; with momentum
    :math:`b \leftarrow \mu b + g/\text{denom}`, :math:`p \leftarrow p - \eta b`.

        opt = optim.RMSprop(params, lr=1e-2, alpha=0.99, momentum=0.9, centered=True)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        *,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
            capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable,
        )
        super().__init__(params, defaults, fused=fused)

    # Its update reads no step count, so capturable=True needs only the count kept on the device (for
    # state_dict); a float lr is baked into a captured graph, a Tensor lr is read on the host (not capturable).
    _supports_capturable = True

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("RMSprop", "eps", group.get("eps", 0.0), "epsilon")
        _common.nonneg("RMSprop", "momentum", group.get("momentum", 0.0))
        _common.nonneg("RMSprop", "weight_decay", group.get("weight_decay", 0.0))
        _common.nonneg("RMSprop", "alpha", group.get("alpha", 0.0))

    def _state_spec(self, group: dict) -> dict[str, float]:
        spec = {"square_avg": 0.0}
        if float(group["momentum"]) > 0:
            spec["momentum_buffer"] = 0.0
        if group["centered"]:
            spec["grad_avg"] = 0.0
        return spec

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        _k.rmsprop(
            xp, p, g, bufs["square_avg"], bufs.get("momentum_buffer"), bufs.get("grad_avg"),
            lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), momentum=float(group["momentum"]),
            centered=bool(group["centered"]), maximize=bool(group.get("maximize", False)), impl=impl,
        )
