"""Muon (torch.optim.Muon): momentum, then Newton-Schulz orthogonalisation of each 2-D update.

Only PyTorch's per-parameter loop: the orthogonalisation is a few matrix products per parameter, not an
elementwise update a flat-buffer kernel could take.

As PyTorch's, the Newton-Schulz iteration runs in bfloat16. NumPy has no bfloat16, so every step here
is computed in float32 and rounded to bfloat16 (nearest, ties to even), which is what PyTorch's
bfloat16 kernels do (they compute in float32 and round each result); products of small matrices then
agree with PyTorch bit for bit, larger ones up to the order of float32 accumulation.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import Any

from ..tensor import Tensor
from . import _common
from . import _per_param as _pp
from .optimizer import Optimizer

__all__ = ["Muon"]

# Keller Jordan's quintic Newton-Schulz coefficients and step count, PyTorch's defaults.
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5
EPS = 1e-7
_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


class Muon(Optimizer):
    r"""Muon, as ``torch.optim.Muon``, for 2-D parameters (hidden-layer weight matrices; use AdamW, say,
    for biases, embeddings and the rest).

    :math:`B \leftarrow \mu B + (1-\mu) g` (PyTorch's lerp form), :math:`\tilde B = g + \mu (B - g)`
    with Nesterov (else :math:`B`), :math:`O = \mathrm{NS}_k^{(a,b,c)}(\tilde B)` (``ns_steps`` quintic
    Newton-Schulz iterations after scaling to unit Frobenius norm, in bfloat16),
    :math:`\theta \leftarrow \theta (1 - \eta\lambda) - \eta' O` where :math:`\eta' = \eta\sqrt{\max(1, A/B)}`
    for ``adjust_lr_fn`` None or ``"original"`` and :math:`0.2\,\eta\sqrt{\max(A, B)}` for
    ``"match_rms_adamw"`` (:math:`A \times B` the parameter's shape).

        opt = optim.Muon([p for p in model.parameters() if p.ndim == 2], lr=0.02)

    ``fused`` is accepted for the common signature only: Muon always runs the per-parameter loop.
    """

    _supports_complex = False  # its update is not elementwise in the parameter's parts
    _counts_steps = False  # its state is the momentum buffer alone, as PyTorch's

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int = DEFAULT_NS_STEPS,
        adjust_lr_fn: str | None = None,
        *,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
            ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn,
        )
        super().__init__(params, defaults, fused=False)

    # Hyper-parameters and parameters --------------------------------------------------------------------
    def _validate_hparams(self, group: dict) -> None:
        super()._validate_hparams(group)
        name = type(self).__name__
        _common.nonneg(name, "momentum", group.get("momentum", 0.0))
        _common.nonneg(name, "weight_decay", group.get("weight_decay", 0.0), "weight decay")
        fn = group.get("adjust_lr_fn")
        if fn not in _ADJUST_LR_FNS:
            raise ValueError(f"{name}: Adjust learning rate function {fn!r} is not supported "
                             "(use None, 'original' or 'match_rms_adamw')")
        # PyTorch checks these two when it orthogonalises; here they are checked before anything changes.
        steps = group.get("ns_steps", DEFAULT_NS_STEPS)
        try:
            ok = operator.index(steps) < 100
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"{name}: Number of steps must be an integer less than 100 for computational "
                             f"efficiency, got ns_steps={steps!r}")
        coefficients = group.get("ns_coefficients", (DEFAULT_A, DEFAULT_B, DEFAULT_C))
        try:
            ok = len(coefficients) == 3
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"{name}: Coefficients must be a tuple of exactly 3 values, got "
                             f"ns_coefficients={coefficients!r}")

    def add_param_group(self, param_group: dict) -> None:
        """As ``Optimizer.add_param_group``; every parameter must be 2-D (ValueError, nothing added)."""
        if isinstance(param_group, dict):  # else the base class says what is wrong
            param_group = dict(param_group)
            params = param_group.get("params")
            if isinstance(params, Tensor):
                params = [params]
            elif params is not None and not isinstance(params, (set, frozenset)):
                params = list(params)  # once: it may be a generator
            if isinstance(params, list):
                param_group["params"] = params
                for p in params:
                    if isinstance(p, Tensor) and p.ndim != 2:
                        raise ValueError(_not_2d(type(self).__name__, p))
        super().add_param_group(param_group)

    def _check_step_inputs(self) -> None:
        super()._check_step_inputs()
        name = type(self).__name__
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and p._array.ndim != 2:  # a parameter whose data was replaced
                    raise ValueError(_not_2d(name, p))

    # The step -----------------------------------------------------------------------------------------
    def _step_reference(self, group: dict) -> None:
        lr = _pp.scalar(group["lr"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        coefficients = tuple(float(c) for c in group["ns_coefficients"])
        steps = operator.index(group["ns_steps"])
        eps = float(group["eps"])
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state[p]
            buf = state.get("momentum_buffer")
            state["momentum_buffer"] = buf = _pp.zeros(p, p._array.shape) if buf is None else _pp.like(buf, p)
            b, grad, w = buf._array, g._array, p._array
            with _pp.on_device(p._backend):
                _pp.lerp_(b, grad, 1.0 - momentum)
                update = _pp.lerp(grad, b, momentum) if group["nesterov"] else b
                ortho = newton_schulz(p._backend.xp, update, coefficients, steps, eps)
                adjusted = adjust_lr(lr, group["adjust_lr_fn"], w.shape)
                w *= 1.0 - lr * weight_decay
                w -= adjusted * ortho.astype(w.dtype, copy=False)
            p._version_ref[0] += 1


def adjust_lr(lr: float, adjust_lr_fn: str | None, shape: tuple) -> float:
    """The learning rate applied to the orthogonalised update of an ``A x B`` parameter: ``lr`` times
    ``sqrt(max(1, A/B))`` (None, "original": Keller Jordan's) or ``0.2 sqrt(max(A, B))``
    ("match_rms_adamw": Moonshot's, the RMS of an AdamW update)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


def newton_schulz(xp, g: Any, coefficients: tuple[float, float, float], steps: int, eps: float) -> Any:
    """The approximate orthogonalisation U S' V^T (S' roughly uniform in [0.5, 1.5]) of matrix ``g`` = U S V^T:
    ``steps`` iterations of X <- a X + (b A + c A^2) X with A = X X^T, from X = g / max(||g||_F, eps),
    on the wide orientation of ``g``; in bfloat16 as PyTorch's (float32 arrays holding bfloat16 values)."""
    a, b, c = coefficients
    x = round_bf16(xp, g)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    norm = round_bf16(xp, xp.sqrt(xp.sum(x * x)))
    x = round_bf16(xp, x / xp.maximum(norm, xp.float32(eps)))
    for _ in range(steps):
        gram = round_bf16(xp, x @ x.T)
        poly = round_bf16(xp, b * gram + c * (gram @ gram))
        x = round_bf16(xp, a * x + poly @ x)
    return x.T if tall else x


def round_bf16(xp, x: Any) -> Any:
    """``x`` rounded to bfloat16 (nearest, ties to even; inf stays inf, NaN stays NaN), as float32 values.
    A float64 input is first rounded to float32, as PyTorch converts double to bfloat16."""
    x = xp.asarray(x, dtype=xp.float32)
    if not x.flags.c_contiguous:
        x = xp.ascontiguousarray(x)
    bits = x.view(xp.uint32)
    bits = (bits + (((bits >> 16) & 1) + xp.uint32(0x7FFF))) & xp.uint32(0xFFFF0000)
    out = bits.view(xp.float32)
    return xp.where(xp.isnan(x), x, out)


def _not_2d(name: str, p: Tensor) -> str:
    return f"{name} only supports 2D parameters whereas we found a parameter with size: {tuple(p.shape)}"
