"""``associative_scan(combine_fn, xs, dim)``: the inclusive scan of ``xs`` (a tensor or a pytree of
tensors) along ``dim`` under an associative, pointwise ``combine_fn``, as PyTorch's. Run here one step
at a time from the first element (PyTorch's compiled form runs it as a tree; an associative function
gives the same values up to rounding); differentiable through ``combine_fn``."""
from __future__ import annotations

from typing import Any, Callable

from ..ops.shape import cat
from ..utils._pytree import tree_flatten, tree_unflatten

__all__ = ["associative_scan"]


def associative_scan(combine_fn: Callable, xs: Any, dim: int, reverse: bool = False,
                     combine_mode: str = "pointwise") -> Any:
    """Element ``i`` of the result is ``combine_fn`` folded over elements ``0 .. i`` of ``xs`` along
    ``dim`` (``reverse``: over ``i .. n-1``)."""
    if combine_mode not in ("pointwise", "generic"):
        raise ValueError(f"associative_scan: combine_mode must be 'pointwise' or 'generic', got {combine_mode!r}")
    leaves, spec = tree_flatten(xs)
    if not leaves:
        raise ValueError("associative_scan: xs must hold at least one tensor")
    n = leaves[0].shape[dim]
    if any(leaf.shape[dim] != n for leaf in leaves):
        raise ValueError(f"associative_scan: every tensor of xs must have the same size along dim {dim}")
    order = range(n - 1, -1, -1) if reverse else range(n)
    acc, steps = None, []
    for i in order:
        current = tree_unflatten([leaf.narrow(dim, i, 1) for leaf in leaves], spec)
        acc = current if acc is None else combine_fn(acc, current)
        steps.append(tree_flatten(acc)[0])
    if reverse:
        steps.reverse()
    return tree_unflatten([cat([step[k] for step in steps], dim) for k in range(len(leaves))], spec)
