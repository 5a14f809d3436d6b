"""SparseAdam (torch.optim.SparseAdam): Adam for parameters whose gradients are sparse COO tensors.

Only the elements a gradient names are touched: their two moments move towards the gradient and the
parameter steps by the bias-corrected ratio; every other element, moments included, stays as it is (the
moments decay lazily, only when their element is named). The step count is the parameter's, counted on
every step it has a gradient.

The gradients come from ``nn.Embedding(sparse=True)`` / ``F.embedding(..., sparse=True)`` (one sparse
dim, the row; each value a row of the embedding) or any sparse COO tensor set on ``.grad``; a dense
gradient is refused, as PyTorch refuses it."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""SparseAdam, as ``torch.optim.SparseAdam``: for the elements a sparse gradient names,
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`p \leftarrow p - \eta \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t} \frac{m}{\sqrt{v} + \epsilon}`;
    the rest unchanged.

        opt = optim.SparseAdam(params, lr=1e-3)
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults, fused=False)
        sparse, complex_ = [], []
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if getattr(p, "is_sparse", False):
                    sparse.append([gi, pi])
                elif p._array.dtype.kind == "c":
                    complex_.append([gi, pi])
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")
        if complex_:
            raise ValueError(f"Complex params at indices {complex_}: SparseAdam does not support complex parameters")

    def _validate_hparams(self, group: dict) -> None:
        lr = group.get("lr")
        if not isinstance(lr, Tensor) and not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < group.get("eps", 1e-8):
            raise ValueError(f"Invalid epsilon value: {group.get('eps')}")
        betas = group.get("betas", (0.9, 0.999))
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
        super()._validate_hparams(group)

    def _sparse_refusal(self, group: dict) -> str | None:
        return None

    def step(self, closure: Callable | None = None):
        """One update of every parameter with a gradient, which must be sparse; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                if any(p.grad is not None and not p.grad.is_sparse for p in group["params"]):
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
            self._check_grads()  # each sparse gradient's size, dtype and device, before anything changes
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update_sparse(p, p.grad, group)
        return loss

    def _update_sparse(self, p: Tensor, grad, group: dict) -> None:
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = Tensor._make(p._backend.xp.zeros_like(p._array), p._backend)
            state["exp_avg_sq"] = Tensor._make(p._backend.xp.zeros_like(p._array), p._backend)
        state["step"] += 1
        grad = grad.coalesce()  # one value per element: the update is not linear in the gradient
        values = grad.values()._array
        if values.size == 0:
            return
        xp = p._backend.xp
        beta1, beta2 = group["betas"]
        lr = float(group["lr"])
        if group["maximize"]:
            values = -values
        at = tuple(grad._sparse_indices)  # what the gradient names: one index array per sparse dim (rows)
        param, m, v = p._array, state["exp_avg"]._array, state["exp_avg_sq"]._array
        m_new = m[at] + (values - m[at]) * (1 - beta1)  # old + (1 - b) (new - old), as PyTorch writes it
        v_new = v[at] + (values * values - v[at]) * (1 - beta2)
        step = state["step"]
        step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        param[at] -= (step_size * (m_new / (xp.sqrt(v_new) + group["eps"]))).astype(param.dtype, copy=False)
        m[at], v[at] = m_new, v_new
        for t in (p, state["exp_avg"], state["exp_avg_sq"]):
            t._version_ref[0] += 1
