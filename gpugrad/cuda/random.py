"""torch.cuda's random-state functions over gpugrad's one generator.

gpugrad draws every device's random numbers from one generator (``gg.manual_seed`` seeds it, and with it
the device-side stream dropout draws from inside a CUDA graph). So the CUDA state PyTorch code saves
and restores is that generator's whole state: ``cuda.set_rng_state(cuda.get_rng_state())`` puts back
exactly what ``gg.set_rng_state(gg.get_rng_state())`` would, and a checkpoint that restores both (as
training scripts do) restores the same state twice. Seeding functions of CUDA alone change nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import random as _random

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all", "initial_seed", "seed",
           "seed_all"]


def get_rng_state(device="cuda") -> Tensor:
    """The generator's state (``gg.get_rng_state()``), which CUDA draws come from."""
    return _random.get_rng_state()


def get_rng_state_all() -> list:
    """One state per CUDA device (at least one): the same generator's for each."""
    from . import device_count

    return [get_rng_state()] * max(device_count(), 1)


def set_rng_state(new_state: Tensor, device="cuda") -> None:
    """Restore a state from ``get_rng_state`` (the whole generator's, as ``gg.set_rng_state``)."""
    _random.set_rng_state(new_state)


def set_rng_state_all(new_states: list) -> None:
    """Restore the states from ``get_rng_state_all`` (one generator: the first)."""
    if new_states:
        set_rng_state(new_states[0])


def initial_seed() -> int:
    """The seed the generator started from (``gg.initial_seed()``)."""
    return _random.initial_seed()


def seed() -> None:
    """PyTorch reseeds its CUDA generator from the OS here; gpugrad's one generator is reseeded only by
    ``gg.manual_seed`` / ``gg.seed``, so this changes nothing (as ``cuda.manual_seed``)."""


def seed_all() -> None:
    """As ``seed``, for every device."""
