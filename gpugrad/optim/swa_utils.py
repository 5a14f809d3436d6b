"""``torch.optim.swa_utils``: Stochastic Weight Averaging (SWA) and exponential moving averages (EMA)
of a model's weights.

    swa_model = optim.swa_utils.AveragedModel(model)
    swa_sched = optim.swa_utils.SWALR(opt, swa_lr=0.05)
    for epoch in range(epochs):
        train_one_epoch(model, opt)
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_sched.step()
    optim.swa_utils.update_bn(loader, swa_model)   # BatchNorm statistics for the averaged weights
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any, Literal

from .. import factory
from .. import dtypes as _dtypes
from ..autograd.grad_mode import no_grad
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..tensor import Tensor
from ._lr_base import LRScheduler, format_per_group
from .optimizer import Optimizer

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]

PARAM_LIST = tuple[Tensor, ...] | list[Tensor]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _is_float(t: Tensor) -> bool:
    return t.dtype.is_floating_point or t.is_complex()


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[PARAM_LIST, PARAM_LIST, Any], None]:
    """An in-place update of a list of averages towards the current values:
    ema = decay * ema + (1 - decay) * current, ``decay`` in [0, 1]."""
    _check_decay(decay)

    def ema_update(ema_param_list: PARAM_LIST, current_param_list: PARAM_LIST, _num_averaged=None) -> None:
        with no_grad():
            if _is_float(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[PARAM_LIST, PARAM_LIST, Any], None]:
    """An in-place update of a list of running means by one more sample:
    avg += (current - avg) / (num_averaged + 1)."""

    def swa_update(averaged_param_list: PARAM_LIST, current_param_list: PARAM_LIST,
                   num_averaged: Tensor | int) -> None:
        with no_grad():
            n = float(num_averaged)
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                if _is_float(p_avg):
                    p_avg.lerp_(p_model, 1.0 / (n + 1))
                else:
                    p_avg.copy_(p_avg + (p_model - p_avg) / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """The EMA of one tensor: decay * ema + (1 - decay) * current (returned, not written)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged=None) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """The running mean of one tensor after one more sample: avg + (current - avg) / (num_averaged + 1)."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Tensor | int) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def _group_by_device_and_dtype(avg: list, cur: list) -> dict:
    """{(device, dtype): ([averages], [currents])}, in first-seen order (what multi_avg_fn receives)."""
    groups: dict = {}
    for a, c in zip(avg, cur):
        pair = groups.setdefault((str(a.device), a.dtype), ([], []))
        pair[0].append(a)
        pair[1].append(c)
    return groups


class AveragedModel(Module):
    """A copy of ``model`` (``deepcopy``, moved to ``device`` if given) whose parameters are the
    running average of those of ``model`` at each ``update_parameters(model)``; ``forward`` runs the
    copy. The first update copies; later ones apply ``avg_fn(avg, current, n_averaged)`` per tensor,
    or ``multi_avg_fn(avgs, currents, n_averaged)`` per (device, dtype) group, or by default the equal
    weight mean (SWA). ``n_averaged`` (a long buffer) counts the updates. With ``use_buffers`` the
    buffers are averaged too; otherwise they are copied from ``model`` at each update.

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    """

    n_averaged: Tensor

    def __init__(self, model: Module, device=None,
                 avg_fn: Callable[[Tensor, Tensor, Tensor | int], Tensor] | None = None,
                 multi_avg_fn: Callable[[PARAM_LIST, PARAM_LIST, Tensor | int], None] | None = None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", factory.tensor(0, dtype=_dtypes.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """The averaged copy of the model applied to the inputs."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold the current parameters (and, with ``use_buffers``, buffers) of ``model`` into the
        average, then count one more model averaged."""
        if self.use_buffers:
            averages = itertools.chain(self.module.parameters(), self.module.buffers())
            currents = itertools.chain(model.parameters(), model.buffers())
        else:
            averages, currents = self.parameters(), model.parameters()
        avg_list, cur_list = [], []
        first = int(self.n_averaged.item()) == 0
        with no_grad():
            for p_avg, p_model in zip(averages, currents):
                current = p_model.detach().to(p_avg.device)
                avg_list.append(p_avg.detach())
                cur_list.append(current)
                if first:
                    p_avg.detach().copy_(current)
            if not first:
                if self.avg_fn is not None:
                    for p_avg, current in zip(avg_list, cur_list):
                        p_avg.copy_(self.avg_fn(p_avg, current, self.n_averaged.to(p_avg.device)))
                else:
                    for (device, _), (avgs, curs) in _group_by_device_and_dtype(avg_list, cur_list).items():
                        n = self.n_averaged.to(device)
                        if self.multi_avg_fn is not None:
                            self.multi_avg_fn(avgs, curs, n)
                        else:
                            # PyTorch's per-tensor form (its CPU path): avg + (current - avg) / (n + 1).
                            swa = get_swa_avg_fn()
                            for p_avg, current in zip(avgs, curs):
                                p_avg.copy_(swa(p_avg, current, n))
            if not self.use_buffers:
                # Buffers (BatchNorm statistics) are not averaged: they follow the model.
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg.detach().copy_(b_model.detach().to(b_avg.device))
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the running mean and variance of every BatchNorm in ``model`` with one pass over
    ``loader`` (batches are tensors, or lists/tuples whose first element is the input), as a
    cumulative average (momentum None during the pass). The model's training mode and the BatchNorms'
    momenta are restored afterwards; a model without BatchNorm is left untouched."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each param group's lr from its value to ``swa_lr`` (one value or one per group) over
    ``anneal_epochs`` steps, with a cosine ("cos") or linear ("linear") ramp, then hold it there.

        swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=5, anneal_strategy="linear")
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: Literal["cos", "linear"] = "cos", last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SWALR: {type(optimizer).__name__} is not an Optimizer")
        for value, group in zip(format_per_group("SWALR", "swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or isinstance(anneal_epochs, bool) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha: float):
        # The lr the ramp started from, recovered from the current one (the schedule is recursive).
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list:
        """Each group's lr for the current step: swa_lr * alpha + start * (1 - alpha), alpha the ramp
        at step / anneal_epochs (clamped to [0, 1])."""
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        starts = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) for group in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + start * (1 - alpha) for group, start in zip(groups, starts)]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer and the ramp function (restored from its name)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "anneal_func"})
        self._set_anneal_func(self._anneal_strategy)
