"""SparseAdam (torch.optim.SparseAdam): Adam for parameters whose gradients are sparse COO tensors.

Only the elements a gradient names are touched: their two moments move towards the gradient and the
parameter steps by the bias-corrected ratio; every other element, moments included, stays as it is (the
moments decay lazily, only when their element is named). The step count is the parameter's, counted on
every step it has a gradient.

gpugrad's autograd makes dense gradients only (``nn.Embedding(sparse=True)`` is refused, and a sparse tensor
cannot be assigned to ``.grad``), and a dense gradient is refused here as PyTorch refuses it; the update
itself takes the sparse COO tensors gpugrad has (every dim sparse)."""
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

    def step(self, closure: Callable | None = None):
        """One update of every parameter with a gradient, which must be sparse; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                grads = [p.grad for p in group["params"]]
                if any(g is not None and not getattr(g, "is_sparse", False) for g in grads):
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
                for p, g in zip(group["params"], grads):
                    if g is not None:
                        self._update_sparse(p, g, group)
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
        at = tuple(grad._sparse_indices)  # the elements the gradient names (one index array per dim)
        param, m, v = p._array, state["exp_avg"]._array, state["exp_avg_sq"]._array
        m_new = m[at] + (values - m[at]) * (1 - beta1)  # old + (1 - b) (new - old), as PyTorch writes it
        v_new = v[at] + (values * values - v[at]) * (1 - beta2)
        step = state["step"]
        step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        param[at] -= (step_size * (m_new / (xp.sqrt(v_new) + group["eps"]))).astype(param.dtype, copy=False)
        m[at], v[at] = m_new, v_new
        for t in (p, state["exp_avg"], state["exp_avg_sq"]):
            t._version_ref[0] += 1
