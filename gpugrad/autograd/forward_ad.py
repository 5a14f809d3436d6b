"""``gg.autograd.forward_ad``: dual tensors (``make_dual``, ``unpack_dual``, ``dual_level``), as PyTorch's.

gpugrad differentiates in reverse mode only, so a dual tensor is the primal recorded in the graph, and its
tangent is kept beside it for the level. ``unpack_dual(y).tangent`` is then J t, the sum over the level's
duals of their Jacobian-vector products, computed by the double-vjp identity that ``gg.func.jvp`` uses:
J t is the gradient in u of (u^T J) t. The values are forward mode's; the cost is two reverse passes per
unpack, and the primal computation must run with gradients on (not under ``no_grad``). The primal
``unpack_dual`` returns is the tensor itself, still in the reverse-mode graph.
"""
from __future__ import annotations

from collections import namedtuple

from ..dtypes import INEXACT_KINDS
from ..errors import ArgumentError
from .grad_mode import enable_grad, is_grad_enabled

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_levels: list[dict] = []  # per open level: id(dual) -> (dual, tangent)


def enter_dual_level() -> int:
    """Open a new level (``dual_level()`` does this and the exit); returns its index."""
    if _levels:
        raise RuntimeError("enter_dual_level: only one dual level at a time is supported (as in PyTorch)")
    _levels.append({})
    return len(_levels) - 1


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the current level: its dual tensors become plain tensors."""
    if not _levels:
        raise RuntimeError("exit_dual_level: no dual level is open")
    _levels.pop()


class dual_level:
    """``with dual_level(): ...``: the scope in which dual tensors carry tangents."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()


def _current(op: str) -> dict:
    if not _levels:
        raise RuntimeError(f"{op}: a dual tensor needs an open level: use `with gg.autograd.forward_ad.dual_level():`")
    return _levels[-1]


def make_dual(tensor, tangent, *, level: int | None = None):
    """``tensor`` as a dual number with ``tangent`` (same shape and device; another float dtype is taken
    as PyTorch takes it, the tangents computed from it being in the primal's dtype)."""
    duals = _current("make_dual")
    if (tuple(tangent.shape) != tuple(tensor.shape) or tangent.device != tensor.device
            or tangent._array.dtype.kind not in INEXACT_KINDS):
        raise ArgumentError(f"make_dual: the tangent ({tuple(tangent.shape)}, {tangent.dtype}, {tangent.device}) must "
                            f"match the primal ({tuple(tensor.shape)}, {tensor.dtype}, {tensor.device})")
    with enable_grad():
        # recorded, so that outputs lead back to it; a primal that requires grad keeps its own gradient path
        dual = tensor * 1 if tensor.requires_grad else tensor.detach().requires_grad_(True)
    duals[id(dual)] = (dual, tangent)  # the tangent itself: unpack_dual(dual).tangent is tangent, as PyTorch's
    return dual


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """(primal, tangent): the tangent is J t over the level's duals, or None when ``tensor`` depends on none."""
    if not _levels:
        return UnpackedDualTensor(tensor, None)
    duals = list(_levels[-1].values())
    if id(tensor) in _levels[-1]:
        return UnpackedDualTensor(tensor, _levels[-1][id(tensor)][1])
    if not tensor.requires_grad:
        return UnpackedDualTensor(tensor, None)
    if not is_grad_enabled():
        raise RuntimeError("unpack_dual: gpugrad computes tangents in reverse mode; unpack with gradients on")
    from . import grad

    with enable_grad():
        u = tensor.detach().new_zeros(tensor.shape).requires_grad_(True)
        pulled = grad(tensor, [d for d, _ in duals], u, retain_graph=True, create_graph=True, allow_unused=True)
        terms = [(p * t.detach()).sum() for p, (_, t) in zip(pulled, duals) if p is not None]
        if not terms:
            return UnpackedDualTensor(tensor, None)
        inner = terms[0]
        for term in terms[1:]:
            inner = inner + term
        (tangent,) = grad(inner, u, allow_unused=True)
    return UnpackedDualTensor(tensor, u.detach() * 0 if tangent is None else tangent.detach())
