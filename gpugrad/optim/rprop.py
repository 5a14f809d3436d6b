"""Rprop, resilient backpropagation (torch.optim.Rprop)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop, as ``torch.optim.Rprop``: each element moves by its own step size against the sign of
    its gradient; the size grows by ``etas[1]`` while the sign holds and shrinks by ``etas[0]`` when it
    flips (that element then skips a move), clamped to ``step_sizes``. Sizes start at ``lr``.

        opt = optim.Rprop(params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50))
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
            differentiable=differentiable, capturable=capturable,
        )
        super().__init__(params, defaults, fused=fused)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        etas = group.get("etas", (0.5, 1.2))
        try:
            minus, plus = (float(e) for e in etas)
            ok = 0.0 < minus < 1.0 < plus
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"Rprop: invalid eta values: etas={etas!r} (need 0 < etas[0] < 1 < etas[1])")

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"prev": 0.0, "step_size": float(group["lr"])}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        minus, plus = group["etas"]
        low, high = group["step_sizes"]
        _k.rprop(
            xp, p, g, bufs["prev"], bufs["step_size"], etaminus=float(minus), etaplus=float(plus),
            step_size_min=float(low), step_size_max=float(high), maximize=bool(group["maximize"]), impl=impl,
        )
