"""``cond(pred, true_fn, false_fn, operands)``: PyTorch's control-flow operator, run eagerly: ``pred`` is
read and one branch called on ``operands``, so its result is differentiable through the branch taken.

PyTorch's eager ``torch.cond`` with a tensor ``pred`` traces both branches (through torch.compile) before
running one, which is where it checks that they return the same structure, dtypes and ranks. gpugrad
never runs the branch not taken (running it would double its cost and repeat its side effects, such as a
BatchNorm's running statistics), so that comparison is not made; the checks on the arguments, and on the
branch that runs (what it returns, that it neither returns nor changes an operand in place), are
PyTorch's."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor
from ..utils._pytree import tree_flatten

__all__ = ["cond"]


def check_branch_result(op: str, what: str, result: Any, inputs: list, versions: list) -> None:
    """Raise as PyTorch's tracing does when ``what`` (a branch, a loop body) returned something other than
    tensors and ints, returned one of its inputs (or a view of one), or changed an input in place."""
    for leaf in tree_flatten(result)[0]:
        if isinstance(leaf, bool) or not isinstance(leaf, (Tensor, int)):
            kind = type(leaf).__name__
            message = f"{op}: {what} must return tensors or ints (possibly in nested tuples, lists and dicts), got {kind}"
            raise RuntimeError(message)  # noqa: TRY004  (PyTorch raises RuntimeError here)
        if isinstance(leaf, Tensor) and any(
                isinstance(x, Tensor) and leaf._version_ref is x._version_ref for x in inputs):
            raise RuntimeError(f"{op}: {what} returned one of its inputs or a view of one; higher order ops do "
                               "not support aliasing: return input.clone() instead")
    for x, before in zip(inputs, versions):
        if isinstance(x, Tensor) and x._version != before:
            raise RuntimeError(f"{op}: {what} changed one of its inputs in place; higher order ops do not "
                               "support input mutation: change a clone instead")


def cond(pred: bool | float | Tensor, true_fn: Callable, false_fn: Callable,
         operands: tuple | list = ()) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``.

    ``pred`` is a Python bool or number (the branch is simply called, as PyTorch's eager path does), or a
    one-element tensor (read once). ``operands`` is a tuple or list whose leaves, through nested tuples,
    lists and dicts, are tensors. The branch must return tensors or ints and must neither return an
    operand (or a view of one) nor change an operand in place.
    """
    if isinstance(pred, (bool, int, float)):
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, Tensor):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")  # noqa: TRY004  (PyTorch's type)
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")  # noqa: TRY004  (PyTorch's type)
    leaves = tree_flatten(operands)[0] if isinstance(operands, (tuple, list)) else None
    if leaves is None or any(not isinstance(leaf, Tensor) for leaf in leaves):
        raise RuntimeError(
            "Expect operands to be a tuple of possibly nested dict/list/tuple that only consists of tensor leaves, "
            f"but got {operands}.")
    versions = [leaf._version for leaf in leaves]
    result = (true_fn if bool(pred.item()) else false_fn)(*operands)
    check_branch_result("cond", "the branch taken", result, leaves, versions)
    return result
