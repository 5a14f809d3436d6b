"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)."""
from __future__ import annotations

from collections.abc import Iterable

from gpugrad.kernels import optim as _k

from ..sparse.coo import add_into_dense_
from ..tensor import Tensor
from . import _common
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD, optionally with momentum, as ``torch.optim.SGD``.

    With :math:`d = g + \lambda p`: :math:`b \leftarrow \mu b + (1 - \tau) d` (:math:`b = d` on the first
    step), then :math:`p \leftarrow p - \eta (d + \mu b)` with Nesterov, else :math:`p - \eta b`.

    A sparse gradient (``nn.Embedding(sparse=True)``) is taken as PyTorch takes it: without weight
    decay; its momentum buffer is sparse too, growing as sparse sums do (optim/sgd.py, ``_sparse_update``).

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

    def _sparse_refusal(self, group: dict) -> str | None:
        if float(group["weight_decay"]) != 0:  # PyTorch adds the dense parameter to the sparse gradient, and fails
            return ("SGD: weight_decay with a sparse gradient adds the dense parameter to it: add(sparse, dense) is "
                    "not supported. Use add(dense, sparse) instead.")
        return None

    def _sparse_update(self, p: Tensor, g: Tensor, group: dict) -> None:
        """PyTorch's SGD loop on tensors that may be sparse: the first momentum buffer is a copy of the
        (sparse) gradient, later ones ``mu b + (1 - tau) d`` by sparse sums; the parameter moves in place."""
        lr, momentum, dampening = float(group["lr"]), float(group["momentum"]), float(group["dampening"])
        d = -g if group.get("maximize") else g
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.detach().clone()
                self._holds_sparse_state = self._holds_sparse_state or buf.is_sparse
            else:
                if buf.is_sparse and not d.is_sparse:  # checked first: PyTorch fails after scaling buf
                    raise RuntimeError("SGD: a dense gradient for a parameter whose momentum buffer is sparse: "
                                       "add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
                buf.mul_(momentum)
                _add_(buf, d, 1 - dampening)
            if group["nesterov"]:
                if not buf.is_sparse:
                    raise RuntimeError("SGD: nesterov with a sparse gradient and a dense momentum buffer: "
                                       "add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
                d = d + buf * momentum
            else:
                d = buf
        _add_(p, d, -lr)


def _add_(target: Tensor, other: Tensor, alpha: float) -> None:
    """``target += alpha * other`` in place, either of them sparse (a sparse target takes sparse terms)."""
    if target.is_sparse:
        target.add_(other, alpha=alpha)
    elif other.is_sparse:
        add_into_dense_(target, other, alpha)
    else:
        target._array += alpha * other._array
        target._version_ref[0] += 1
