"""The learning-rate scheduler base class (torch.optim.lr_scheduler.LRScheduler).

A scheduler rewrites ``group["lr"]`` of its optimizer's param groups on each ``step()``. The first step
happens in the constructor, in "initial mode" (``_is_initial``), where PyTorch's recursive schedules keep
the current lr; ``SequentialLR`` replays that initial step on the scheduler it switches to.
"""
from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LRScheduler", "format_per_group", "group_values", "set_group_value"]


def group_values(optimizer: Optimizer, key: str) -> list:
    """``group[key]`` of every param group; a Tensor value is cloned, so that the list does not change
    when the group's value is next set in place (PyTorch's _param_groups_val_list)."""
    return [_copy(group[key]) for group in optimizer.param_groups]


def set_group_value(group: dict, key: str, value: Any) -> None:
    """Set ``group[key]``: a Tensor there is filled in place (a captured CUDA graph keeps reading that
    tensor, so it must see the new value), anything else is replaced (PyTorch's _update_param_group_val)."""
    current = group[key]
    if not isinstance(current, Tensor):
        group[key] = value
        return
    with no_grad():
        if isinstance(value, Tensor):
            current.copy_(value.detach().reshape(current.shape))  # on the device, nothing read back
        else:
            current.fill_(float(value))


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, Tensor) else value


def format_per_group(owner: str, name: str, optimizer: Optimizer, value: Any) -> list:
    """One value per param group: a list or tuple must have one entry per group; a scalar is repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: {name} must have one value per param group: got {len(value)} values "
                             f"for {n} param groups")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: ``base_lrs`` (each group's ``initial_lr``), ``last_epoch``, ``step()``, ``get_last_lr()``."""

    _is_initial: bool = False  # True during the constructor's step (see the module docstring)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _copy(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param 'initial_lr' is not specified in param_groups[{i}] "
                        "when resuming an optimizer (last_epoch != -1)"
                    )
        self.base_lrs = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the constructor's step, in initial mode."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch``, computed from the current ones (PyTorch's chainable form)."""
        raise NotImplementedError

    def _get_closed_form_lr(self) -> list[float]:
        """The learning rates at ``last_epoch`` for ``step(epoch)``. Schedules without a closed form
        compute them with ``get_lr()`` at the new epoch, as PyTorch does."""
        return self.get_lr()

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch`` with the closed form) and set each group's ``lr``."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            values = self._get_closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            set_group_value(group, "lr", lr)
        self._last_lr = group_values(self.optimizer, "lr")

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (PyTorch's layout), plain numbers and lists."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()``; does not touch the optimizer's current ``lr`` values."""
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict or "base_lrs" not in state_dict:
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a scheduler state_dict with "
                             "'last_epoch' and 'base_lrs'")
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state has {len(state_dict['base_lrs'])} base_lrs, "
                f"the optimizer has {len(self.optimizer.param_groups)} param groups"
            )
        self.__dict__.update({k: v for k, v in state_dict.items() if k != "optimizer"})
        self.base_lrs = list(self.base_lrs)
        if "_last_lr" in state_dict:
            self._last_lr = list(state_dict["_last_lr"])

    def _lrs(self) -> list[float]:
        return group_values(self.optimizer, "lr")
