"""Adagrad (torch.optim.Adagrad)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from ..tensor import Tensor
from . import _common
from .flat import full
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``: :math:`s \leftarrow s + g^2`,
    :math:`p \leftarrow p - \frac{\eta}{1 + (t-1)\,\text{lr\_decay}} \frac{g}{\sqrt{s} + \epsilon}`.

    As in PyTorch, the state (``step`` 0 and ``sum`` filled with ``initial_accumulator_value``) exists
    from construction on. A sparse gradient (``nn.Embedding(sparse=True)``, no weight decay) updates the
    rows it names only: their ``sum`` and values, by the same formula on its coalesced rows.

        opt = optim.Adagrad(params, lr=1e-2, initial_accumulator_value=0.1)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults, fused=fused)
        for group in self.param_groups:
            fill = float(group["initial_accumulator_value"])
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": Tensor._make(full(p._backend, p._array.shape, fill, p._array.dtype), p._backend)}

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        _common.nonneg("Adagrad", "lr_decay", group.get("lr_decay", 0.0))
        _common.nonneg("Adagrad", "weight_decay", group.get("weight_decay", 0.0))
        _common.nonneg("Adagrad", "initial_accumulator_value", group.get("initial_accumulator_value", 0.0))
        _common.nonneg("Adagrad", "eps", group.get("eps", 0.0), "epsilon")

    def _state_spec(self, group: dict) -> dict[str, float]:
        return {"sum": float(group["initial_accumulator_value"])}

    def _apply(self, xp, p, g, bufs, group, *, step, first, scalars, impl) -> None:
        _k.adagrad(
            xp, p, g, bufs["sum"], lr=float(group["lr"]), lr_decay=float(group["lr_decay"]),
            weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
            maximize=bool(group.get("maximize", False)), step=step, impl=impl,
        )

    def _sparse_refusal(self, group: dict) -> str | None:
        if float(group["weight_decay"]) != 0:
            return "Adagrad: weight_decay option is not compatible with sparse gradients"
        return None

    def _sparse_update(self, p: Tensor, g: Tensor, group: dict) -> None:
        """PyTorch's sparse Adagrad: on the rows the coalesced gradient names, ``s += g^2`` and
        ``p -= clr * g / (sqrt(s) + eps)``; every other row keeps its values and sum."""
        state = self.state[p]
        state["step"] = step = int(state.get("step", 0)) + 1
        if state.get("sum") is None:
            fill = float(group["initial_accumulator_value"])
            state["sum"] = Tensor._make(full(p._backend, p._array.shape, fill, p._array.dtype), p._backend)
        g = g.coalesce()  # the update is not linear in the gradient: one value per row
        if group.get("maximize"):
            g = -g
        xp = p._backend.xp
        clr = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))
        at = tuple(g._indices()._array)
        values = g._values()._array
        total = state["sum"]._array
        total[at] += values * values
        std = xp.sqrt(total[at]) + float(group["eps"])
        p._array[at] += -clr * (values / std)
        state["sum"]._version_ref[0] += 1
