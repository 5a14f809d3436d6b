"""Adafactor (torch.optim.Adafactor): factored second moments, relative step size, update clipping.

Only PyTorch's per-parameter loop (no flat-buffer kernel): a parameter of two or more dimensions keeps
row and column factors of its second moment, whose shapes are not the parameter's (see ``_per_param``).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy

from ..errors import ShapeError
from ..tensor import Tensor
from . import _common
from . import _per_param as _pp
from .optimizer import Optimizer, _index_key

__all__ = ["Adafactor"]


def factor_shapes(shape: tuple) -> dict[str, tuple]:
    """The second-moment state a parameter of ``shape`` keeps: ``row_var`` (last dim reduced to 1) and
    ``col_var`` (second-to-last dim reduced to 1) for two or more dims, else ``variance`` (its shape)."""
    shape = tuple(shape)
    if len(shape) > 1:
        return {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:]}
    return {"variance": shape}


class _Loaded:
    """A factor already cast by ``Adafactor.load_state_dict``: the base class deep-copies state that is not
    an array, which for this wrapper returns itself, so the factor passes through untouched."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor

    def __deepcopy__(self, memo: dict) -> "_Loaded":
        return self


class Adafactor(Optimizer):
    r"""Adafactor, as ``torch.optim.Adafactor`` (Shazeer and Stern, 2018, with PyTorch's use of lr and eps).

    At step :math:`t`, with :math:`G` the gradient (negated when ``maximize``):
    :math:`\hat\beta_{2,t} = 1 - t^{\tau}` (:math:`\tau` = ``beta2_decay``),
    :math:`\rho_t = \min(\text{lr}, 1/\sqrt t)`, :math:`\alpha_t = \max(\epsilon_2, \text{RMS}(\theta))\,\rho_t`,
    :math:`\theta \leftarrow \theta (1 - \text{lr}\,\lambda)`. A tensor of 2+ dims keeps the row and column means
    of :math:`G^2` over its last two dims as running averages :math:`R, C` and estimates
    :math:`\hat V = R C / \max(\text{mean}_{\text{rows}}(R), \epsilon_1)`; a 0-1 dim tensor keeps :math:`\hat V` itself.
    Then :math:`U = G / \sqrt{\max(\hat V, \epsilon_1^2)}` and
    :math:`\theta \leftarrow \theta - \alpha_t\, U / \max(1, \text{RMS}(U)/d)`.
    ``eps=(None, 1e-3)``: :math:`\epsilon_1` None means the machine epsilon of each parameter's dtype
    (PyTorch takes the first parameter's dtype for the whole group: the same unless a group mixes dtypes).

        opt = optim.Adafactor(model.parameters(), lr=1e-2)

    ``fused`` is accepted for the common signature only: Adafactor always runs the per-parameter loop.
    """

    _supports_complex = False  # its update is not elementwise in the parameter's parts

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
            maximize=maximize,
        )
        super().__init__(params, defaults, fused=False)

    # Hyper-parameters ---------------------------------------------------------------------------------
    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        name = type(self).__name__
        decay = group.get("beta2_decay", 0.0)
        if not _at_most(decay, 0.0):
            raise ValueError(f"{name}: invalid beta2_decay value: beta2_decay={decay!r} (must be <= 0)")
        eps = group.get("eps", (None, 0.0))
        try:
            eps1, eps2 = eps
        except (TypeError, ValueError):
            raise ValueError(f"{name}: eps must be a pair (eps1 or None, eps2), got {eps!r}") from None
        if eps1 is not None:
            _common.nonneg(name, "eps[0]", eps1, "epsilon1")
        _common.nonneg(name, "eps[1]", eps2, "epsilon2")
        d = group.get("d", 1.0)
        try:
            ok = float(d) >= 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{name}: invalid clipping threshold value: d={d!r} (must be >= 1)")
        _common.nonneg(name, "weight_decay", group.get("weight_decay", 0.0))

    # Checks before anything changes -----------------------------------------------------------------------
    def _check_step_inputs(self) -> None:
        self._check_grads()
        name = type(self).__name__
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st:
                    _check_factors(name, index, p, st)
                index += 1

    # The step -----------------------------------------------------------------------------------------
    def _step_reference(self, group: dict) -> None:
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state[p]
            state.setdefault("step", 0)  # first, as PyTorch orders its state
            for key, shape in factor_shapes(p._array.shape).items():
                cur = state.get(key)
                state[key] = _pp.zeros(p, shape) if cur is None else _pp.like(cur, p)
            with _pp.on_device(p._backend):
                state["step"] = _update(p._backend.xp, p._array, g._array, state, group)
            p._version_ref[0] += 1

    # state_dict ---------------------------------------------------------------------------------------
    def load_state_dict(self, state_dict: dict) -> None:
        """Load a ``state_dict()`` (ours, or PyTorch's for Adafactor): as ``Optimizer.load_state_dict``, with
        ``row_var`` and ``col_var`` checked against the shapes their parameter needs. Nothing changes when a
        check fails."""
        id_map = _saved_index_map(self.param_groups, state_dict)
        if id_map is None:  # a malformed dict: the base class says what is wrong
            return super().load_state_dict(state_dict)
        name = type(self).__name__
        state = {}
        for key, value in state_dict["state"].items():
            p = id_map.get(_index_key(key))
            if p is not None and isinstance(value, dict):
                value = dict(value)
                for k in ("row_var", "col_var"):
                    if value.get(k) is not None:
                        want = factor_shapes(p._array.shape).get(k)
                        if want is None:
                            raise ShapeError(
                                f"{name}.load_state_dict: state '{k}' of parameter {key} is for a parameter of 2 "
                                f"or more dims, but the parameter has shape {tuple(p.shape)}"
                            )
                        value[k] = _Loaded(_pp.cast_state(name, key, k, value[k], p, want))
            state[key] = value
        super().load_state_dict({**state_dict, "state": state})
        for st in self.state.values():
            for k, v in st.items():
                if isinstance(v, _Loaded):
                    st[k] = v.tensor


def _update(xp, p: Any, g: Any, state: dict, group: dict) -> int:
    """One Adafactor step of parameter array ``p`` with gradient ``g``, in place; returns the new step count."""
    lr = _pp.scalar(group["lr"])
    eps1, eps2 = group["eps"]
    eps1 = float(numpy.finfo(p.dtype).eps) if eps1 is None else float(eps1)
    eps2 = float(eps2)
    d = float(group["d"])
    weight_decay = float(group["weight_decay"])
    step = state["step"] + 1
    t = float(step)
    if p.size == 0:
        return step
    if group["maximize"]:
        g = -g
    weight = t ** float(group["beta2_decay"])  # 1 - beta2_t: 1 at the first step
    rho = min(lr, 1.0 / t**0.5)
    alpha = max(eps2, _pp.norm(xp, p) / math.sqrt(p.size)) * rho  # from the parameter before decay
    if weight_decay != 0:
        p *= 1.0 - lr * weight_decay
    g2 = g * g
    if g.ndim > 1:
        row_var = state["row_var"]._array
        col_var = state["col_var"]._array
        _pp.lerp_(row_var, g2.mean(axis=-1, keepdims=True), weight)
        _pp.lerp_(col_var, g2.mean(axis=-2, keepdims=True), weight)
        v_hat = row_var * col_var  # the outer product over the last two dims (PyTorch's row_var @ col_var)
        v_hat /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        variance = state["variance"]._array
        _pp.lerp_(variance, g2, weight)
        v_hat = variance.copy()
    # eps1 squared under the square root keeps its magnitude.
    update = xp.reciprocal(xp.sqrt(xp.maximum(v_hat, eps1 * eps1))) * g  # PyTorch's rsqrt, then times g
    clip = max(1.0, _pp.norm(xp, update) / (math.sqrt(update.size) * d))
    p -= (alpha / clip) * update
    return step


def _at_most(v: Any, bound: float) -> bool:
    try:
        return float(v) <= bound
    except (TypeError, ValueError):
        return False


def _check_factors(name: str, index: int, p: Tensor, st: dict) -> None:
    """The second-moment state of parameter ``index`` has the shapes ``p`` needs (a parameter replaced by
    one of another shape while the optimizer holds state for it cannot be continued)."""
    want = factor_shapes(p._array.shape)
    for k in ("row_var", "col_var", "variance"):
        v = st.get(k)
        if v is None:
            continue
        shape = tuple(v.shape) if isinstance(v, Tensor) else None
        if k not in want or shape != want[k]:
            raise ShapeError(
                f"{name}.step: parameter {index} now has shape {tuple(p.shape)} but its optimizer state '{k}' "
                f"has shape {shape}; the parameter was replaced by one of another shape"
            )


def _saved_index_map(groups: list[dict], state_dict: Any) -> dict | None:
    """Saved parameter index -> parameter, when ``state_dict`` is well formed (else None)."""
    try:
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
    except (TypeError, KeyError):
        return None
    if not isinstance(saved_state, dict) or len(saved_groups) != len(groups):
        return None
    id_map: dict = {}
    for g, sg in zip(groups, saved_groups):
        if not isinstance(sg, dict) or "params" not in sg or len(sg["params"]) != len(g["params"]):
            return None
        for i, p in zip(sg["params"], g["params"]):
            id_map[_index_key(i)] = p
    return id_map

