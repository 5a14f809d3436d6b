"""``while_loop(cond_fn, body_fn, carried_inputs)``: PyTorch's loop operator, run eagerly::

    val = carried_inputs
    while cond_fn(*val):
        val = body_fn(*val)
    return val

Differentiable through every iteration's body (PyTorch 2.13's is too). Each body's result must match the
carried inputs leaf for leaf (tensors of the same shape, dtype and device, ints for ints); its leaves are
fed to the next iteration in the carried inputs' structure."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor
from ..utils._pytree import tree_flatten, tree_unflatten
from .cond import check_branch_result

__all__ = ["while_loop"]


def _check_predicate(pred: Any) -> bool:
    if isinstance(pred, bool):
        return pred
    if isinstance(pred, Tensor) and pred.ndim == 0 and pred.dtype.np.kind == "b":
        return bool(pred.item())
    raise RuntimeError(f"cond_fn must return a boolean scalar tensor or a boolean but got {pred}")


def _describe(leaf: Any) -> str:
    if isinstance(leaf, Tensor):
        return f"Tensor(shape={tuple(leaf.shape)}, dtype={leaf.dtype}, device={leaf.device})"
    return type(leaf).__name__


def _check_body_result(out_leaves: list, leaves: list) -> None:
    if len(out_leaves) != len(leaves):
        raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same number of outputs but got "
                           f"{len(out_leaves)} and {len(leaves)}: {[_describe(x) for x in out_leaves]} vs "
                           f"{[_describe(x) for x in leaves]}")
    for i, (new, old) in enumerate(zip(out_leaves, leaves)):
        if isinstance(old, Tensor):
            if not isinstance(new, Tensor):
                diff = f"type: {type(new).__name__} vs Tensor"
            elif new.shape != old.shape:
                diff = f"shape: {tuple(new.shape)} vs {tuple(old.shape)}"
            elif new.dtype is not old.dtype:
                diff = f"dtype: {new.dtype} vs {old.dtype}"
            elif new.device != old.device:
                diff = f"device: {new.device} vs {old.device}"
            else:
                continue
        elif isinstance(new, bool) or not isinstance(new, int):
            diff = f"type: {_describe(new)} vs int"
        else:
            continue
        raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same metadata but found: pair[{i}] "
                           f"differ in '{diff}'")


def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: tuple | list) -> Any:
    """Run ``body_fn(*val)`` while ``cond_fn(*val)`` (a bool or a 0-d bool tensor) holds, starting from
    ``val = carried_inputs`` (a tuple or list of tensors and ints, possibly nested in tuples, lists and
    dicts); returns the last body's result, or copies of the carried inputs when the loop never runs.
    A body must not return one of its inputs as it is (or a view of one) nor change one in place."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")  # noqa: TRY004  (PyTorch's type)
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(  # noqa: TRY004  (PyTorch raises RuntimeError here)
            f"carried_inputs must be a tuple or list but got {type(carried_inputs).__name__}")
    leaves, spec = tree_flatten(carried_inputs)
    if any(not isinstance(leaf, (Tensor, int)) for leaf in leaves):
        raise RuntimeError(
            "Expect carried_inputs to be a tuple of possibly nested dict/list/tuple that only consists of tensor or "
            f"int leaves, but got {carried_inputs}.")
    val, result, ran = carried_inputs, None, False
    while _check_predicate(cond_fn(*val)):
        current = tree_flatten(val)[0]
        versions = [leaf._version if isinstance(leaf, Tensor) else None for leaf in current]
        result = body_fn(*val)
        check_branch_result("while_loop", "body_fn", result, current, versions)
        out_leaves = tree_flatten(result)[0]
        _check_body_result(out_leaves, leaves)
        val, ran = tree_unflatten(out_leaves, spec), True
    if not ran:  # new tensors, never the caller's own (PyTorch's loop returns clones too)
        return tree_unflatten([leaf.clone() if isinstance(leaf, Tensor) else leaf for leaf in leaves], spec)
    return result
