"""L-BFGS (torch.optim.LBFGS): a plain reference implementation over one flat view of the parameters.

Not on the fused path: every iteration needs dot products read back on the host (curvature tests,
line search), so there is no single kernel to fuse; the vector work runs on the parameters' backend.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy

from ..autograd.grad_mode import enable_grad, no_grad
from ..errors import ArgumentError, DeviceError, DTypeError
from ..tensor import Tensor
from ._line_search import strong_wolfe
from .optimizer import Optimizer

__all__ = ["LBFGS"]

_CURVATURE_MIN = 1e-10  # pairs with y.s below this are not added to the history (PyTorch's threshold)
_LINE_SEARCHES = (None, "strong_wolfe")
# State kept between step() calls in PyTorch's names; the vectors are flat Tensors of all parameters.
_VECTOR_KEYS = ("d", "prev_flat_grad")
_VECTOR_LIST_KEYS = ("old_dirs", "old_stps")


class LBFGS(Optimizer):
    """L-BFGS, as ``torch.optim.LBFGS``: each ``step(closure)`` runs up to ``max_iter`` quasi-Newton
    iterations (at most ``max_eval`` closure calls) with a ``history_size``-pair inverse-Hessian
    approximation, a fixed step ``lr`` or a strong-Wolfe line search. One parameter group only; the
    state lives under the first parameter, as PyTorch's.

        opt = optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss
        opt.step(closure)
    """

    _supports_complex = False  # its flat vectors of parameters and gradients are real (not yet their parts)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults, fused=False)

    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        if group.get("line_search_fn") not in _LINE_SEARCHES:
            raise ArgumentError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                                f"{group.get('line_search_fn')!r}")

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)
        params = self.param_groups[0]["params"]
        first = params[0] if params else None
        for i, p in enumerate(params):
            if p._array.dtype != first._array.dtype:
                raise DTypeError(f"LBFGS: all parameters must share one dtype (one flat vector): parameter 0 is "
                                 f"{first.dtype}, parameter {i} is {p.dtype}")
            if p.device != first.device:
                raise DeviceError(f"LBFGS: all parameters must be on one device (one flat vector): parameter 0 "
                                  f"is on {first.device}, parameter {i} on {p.device}")

    # Flat views --------------------------------------------------------------------------------------
    def _sparse_refusal(self, group: dict) -> str | None:
        return None  # sparse gradients are made dense (_flat_grad), as PyTorch's _gather_flat_grad does

    def _params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    def _xp(self) -> Any:
        return self._params()[0]._backend.xp

    def _flat_grad(self) -> Any:
        """The gradients of all parameters as one new flat array (zeros for a missing gradient)."""
        xp = self._xp()
        parts = [xp.zeros(p._array.size, p._array.dtype) if p.grad is None
                 else p.grad.to_dense()._array.reshape(-1) if p.grad.is_sparse  # made dense, as PyTorch's
                 else p.grad._array.reshape(-1) for p in self._params()]
        return xp.concatenate(parts)

    def _move(self, t: float, d: Any) -> None:
        """p += t * d, parameter by parameter."""
        offset = 0
        for p in self._params():
            n = p._array.size
            p._array += t * d[offset : offset + n].reshape(p._array.shape)
            p._version_ref[0] += 1
            offset += n

    def _restore(self, saved: list[Any]) -> None:
        for p, x in zip(self._params(), saved):
            p._array[...] = x
            p._version_ref[0] += 1

    def _dot(self, a: Any, b: Any) -> float:
        return float(self._xp().dot(a, b))

    def _max_abs(self, a: Any) -> float:
        return float(self._xp().abs(a).max())

    # Step ----------------------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` iterations; ``closure`` clears the gradients, computes the loss,
        calls ``backward()`` and returns the loss. Returns the loss of the first evaluation."""
        group = self.param_groups[0]
        with no_grad():
            self._check_grads()
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]

        def evaluate() -> float:
            with enable_grad():
                return closure()

        state = self.state[self._params()[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        with no_grad():
            flat_grad = self._flat_grad()
            if self._max_abs(flat_grad) <= tolerance_grad:
                return orig_loss
            self._iterate(state, group, evaluate, loss, flat_grad, evals, lr, max_iter, max_eval,
                          tolerance_grad, tolerance_change, history_size)
        return orig_loss

    def _iterate(self, state, group, evaluate, loss, flat_grad, evals, lr, max_iter, max_eval,
                 tolerance_grad, tolerance_change, history_size) -> None:
        xp = self._xp()
        d = _array(state.get("d"))
        t = state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag")
        prev_flat_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = self._dot(y, s)
                if ys > _CURVATURE_MIN:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / self._dot(y, y)
                d = self._two_loop(state, flat_grad, old_dirs, old_stps, ro, h_diag, history_size)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = self._dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction
                break
            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                start = [p._array.copy() for p in self._params()]

                def along(step: float) -> tuple[float, Any]:
                    self._move(step, d)
                    value = float(evaluate())
                    g = self._flat_grad()
                    self._restore(start)
                    return value, g

                loss, flat_grad, t, ls_evals = strong_wolfe(
                    along, self._dot, t, d, loss, flat_grad, gtd, d_norm=self._max_abs(d), max_ls=max_eval - evals)
                self._move(t, d)
                opt_cond = self._max_abs(flat_grad) <= tolerance_grad
            else:
                self._move(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss is never looked at
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    opt_cond = self._max_abs(flat_grad) <= tolerance_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if self._max_abs(d * t) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no progress in the parameters or in the loss
        backend = self._params()[0]._backend
        state["d"] = _tensor(d, backend)
        state["t"] = t
        state["old_dirs"] = [_tensor(v, backend) for v in old_dirs]
        state["old_stps"] = [_tensor(v, backend) for v in old_stps]
        state["ro"] = ro
        state["H_diag"] = h_diag
        state["prev_flat_grad"] = _tensor(prev_flat_grad, backend)
        state["prev_loss"] = prev_loss

    def _two_loop(self, state, flat_grad, old_dirs, old_stps, ro, h_diag, history_size) -> Any:
        """The L-BFGS direction -H g by the two-loop recursion over the stored (s, y) pairs."""
        al = state.get("al")
        if al is None or len(al) != history_size:
            al = state["al"] = [None] * history_size
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = self._dot(old_stps[i], q) * ro[i]
            q += -al[i] * old_dirs[i]
        r = q * h_diag
        for i in range(len(old_dirs)):
            beta = self._dot(old_dirs[i], r) * ro[i]
            r += (al[i] - beta) * old_stps[i]
        return r

    def load_state_dict(self, state_dict: dict) -> None:
        """Load ``state_dict()`` (ours, or PyTorch's): flat vectors, lists of them, and numbers."""
        name = "LBFGS"
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' entries")
        groups = state_dict["param_groups"]
        params = self._params()
        if len(groups) != 1 or len(groups[0].get("params", ())) != len(params):
            raise ValueError(f"{name}.load_state_dict: expected one parameter group of {len(params)} parameters")
        size = sum(p._array.size for p in params)
        saved = dict(state_dict["state"])
        if set(saved) - {0, "0"}:
            raise ValueError(f"{name}.load_state_dict: LBFGS keeps its state under parameter 0, got state for "
                             f"{sorted(map(str, saved))}")
        value = saved.get(0, saved.get("0", {}))
        loaded = {k: _load_value(name, k, v, params[0], size) for k, v in value.items()}
        group = {**{k: v for k, v in groups[0].items() if k != "params"}, "params": params}
        self._validate_hparams(group)
        self.param_groups[0] = group
        self.state.clear()
        if loaded:
            self.state[params[0]] = loaded


def _array(v: Any) -> Any:
    return v._array if isinstance(v, Tensor) else v


def _tensor(a: Any, backend) -> Tensor | None:
    return None if a is None else Tensor._make(a, backend)


def _load_value(name: str, key: str, value: Any, p: Tensor, size: int) -> Any:
    if key in _VECTOR_KEYS:
        return _load_vector(name, key, value, p, size)
    if key in _VECTOR_LIST_KEYS:
        return [_load_vector(name, key, v, p, size) for v in value]
    if key in ("ro", "al"):
        return [None if v is None else _number(v) for v in value]
    return _number(value)


def _number(v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.item()
    if hasattr(v, "item") and not isinstance(v, (int, float)):
        return v.item()
    return v


def _load_vector(name: str, key: str, value: Any, p: Tensor, size: int) -> Tensor | None:
    if value is None:
        return None
    array = value._backend.to_numpy(value._array) if isinstance(value, Tensor) else numpy.asarray(value)
    if array.size != size:
        raise ValueError(f"{name}.load_state_dict: state '{key}' has {array.size} elements, the parameters "
                         f"have {size}")
    return Tensor._make(p._backend.asarray(array.reshape(-1).astype(p._array.dtype)), p._backend)
