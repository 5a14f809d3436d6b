"""``gg.multiprocessing``: Python's multiprocessing, with tensors that cross processes (torch.multiprocessing).

Everything of the standard module is here (``Process``, ``Queue``, ``set_start_method`` ...), plus
``spawn``. Tensors put on its queues or passed to its processes cross by reference when they are in shared
memory (``t.share_memory_()``, ``model.share_memory()``: reductions.py), by value otherwise.
"""
from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F401,F403

from .reductions import register as _register
from .spawn import ProcessContext, ProcessExitedException, ProcessRaisedException, spawn, start_processes  # noqa: F401

__all__ = list(multiprocessing.__all__) + [
    "spawn", "start_processes", "ProcessContext", "ProcessRaisedException", "ProcessExitedException",
    "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies",
]

_register()


def get_all_sharing_strategies() -> set[str]:
    """{"file_system"}: shared tensors live in named memory-mapped files (shared.py)."""
    return {"file_system"}


def get_sharing_strategy() -> str:
    return "file_system"


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"set_sharing_strategy: gpugrad shares tensors through {get_all_sharing_strategies()}, "
                         f"got {new_strategy!r}")
