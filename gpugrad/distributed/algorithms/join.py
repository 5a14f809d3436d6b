"""``torch.distributed.algorithms.join``: training with uneven inputs across ranks.

A rank that runs out of inputs leaves the ``with Join([...]):`` block and, in ``__exit__``, keeps taking
part in the collectives the other ranks still make, through each joinable's ``JoinHook.main_hook`` (which
shadows one iteration's collectives), until every rank has joined; then the hooks' ``post_hook`` run. The
count of ranks still iterating is itself an all-reduce: each iterating rank adds 1 through
``Join.notify_join_context`` at the start of an iteration, each joined rank adds 0.

gpugrad's own DistributedDataParallel is not a Joinable (every rank needs the same number of batches);
a user's class becomes one by subclassing ``Joinable``, as in PyTorch.
"""
from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, NamedTuple

from ... import factory
from .. import collectives as dist
from ..process_group import get_rank

__all__ = ["Join", "JoinHook", "Joinable"]

# After this many iterations of shadowing, a joined rank warns that the inputs are badly skewed.
_WARN_AFTER = 1000


class JoinHook:
    """What a joined rank runs for one joinable: ``main_hook`` once per iteration the other ranks still
    make (shadowing that iteration's collectives), ``post_hook(is_last_joiner)`` once all have joined."""

    def main_hook(self) -> None:
        """Shadow one iteration's collectives of the ranks still iterating."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run after every rank has joined (``is_last_joiner``: this rank joined last)."""


class Joinable(ABC):
    """A class whose per-iteration collectives can be shadowed by a joined rank (``join_hook``); its
    ``__init__`` must run, and it calls ``Join.notify_join_context(self)`` before each iteration's
    collectives."""

    @abstractmethod
    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig.disabled()

    @abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        """The hook a joined rank runs for this joinable (``kwargs``: those given to ``Join``)."""

    @property
    @abstractmethod
    def join_device(self) -> Any:
        """The device the join context's all-reduces run on."""

    @property
    @abstractmethod
    def join_process_group(self) -> Any:
        """The process group the join context's all-reduces run in."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def disabled() -> _JoinConfig:
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Join:
    """The join context manager: ``with Join([model, optimizer]): for batch in my_share: ...``.

    ``enable=False`` makes it do nothing; ``throw_on_early_termination=True`` makes every rank raise
    RuntimeError as soon as one rank runs out of inputs, instead of shadowing. Extra keyword arguments go
    to each joinable's ``join_hook``."""

    def __init__(self, joinables: list[Joinable], enable: bool = True, throw_on_early_termination: bool = False,
                 **kwargs) -> None:
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        for joinable in joinables:
            if not isinstance(joinable, Joinable):
                raise TypeError(f"Join: a {type(joinable).__name__} is not a Joinable (gpugrad's "
                                "DistributedDataParallel is not one: every rank needs the same number of batches)")
        self._joinables = list(joinables)
        self._join_hooks = [joinable.join_hook(**kwargs) for joinable in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        for i, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(enable, throw_on_early_termination, is_first_joinable=i == 0)
        groups = {id(j.join_process_group) for j in self._joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._process_group = self._joinables[0].join_process_group
        self._device = self._joinables[0].join_device
        self._rank = get_rank(self._process_group)

    def __enter__(self) -> Join:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not self._enable or kind is not None:
            return  # an exception propagates as it is
        is_last_joiner = True
        iterations = 0
        while self._count_nonjoined() > 0:
            if iterations == _WARN_AFTER:
                warnings.warn(f"Detected uneven input skew of greater than {_WARN_AFTER}: rank {self._rank} has at "
                              f"least {_WARN_AFTER} fewer inputs than other currently-active ranks. This level of "
                              "skew could lead to performance degradation during training.", stacklevel=2)
            if self._throw_on_early_termination:
                ones = factory.ones(1, device=self._device)
                dist.all_reduce(ones, group=self._process_group)
                raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")
            for hook in self._join_hooks:
                hook.main_hook()
            is_last_joiner = False
            iterations += 1
        for hook in self._join_hooks:
            hook.post_hook(is_last_joiner)

    def _count_nonjoined(self) -> int:
        """How many ranks are still iterating: this joined rank adds 0 to their 1 each."""
        count = factory.zeros(1, device=self._device)
        dist.all_reduce(count, group=self._process_group)
        return int(count.item())

    @staticmethod
    def notify_join_context(joinable: Joinable):
        """Called by a joinable before each iteration's collectives: adds this rank's 1 to the count of
        ranks still iterating (an async all-reduce, whose Work it returns; None for any joinable but the
        first, or outside a Join). With ``throw_on_early_termination``, raises once some rank has joined."""
        if not hasattr(joinable, "_join_config"):
            raise RuntimeError(f"Check that the {type(joinable).__name__} constructor calls the Joinable constructor")
        config = joinable._join_config
        if not config.is_first_joinable or not config.enable:
            return None
        ones = factory.ones(1, device=joinable.join_device)
        work = dist.all_reduce(ones, group=joinable.join_process_group, async_op=True)
        if config.throw_on_early_termination:
            zeros = factory.zeros(1, device=joinable.join_device)
            dist.all_reduce(zeros, group=joinable.join_process_group)
            if zeros.item() > 0:
                raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across all ranks.")
        return work
