"""``gg.set_default_device`` / ``gg.get_default_device``: the device factories use when given none."""
from __future__ import annotations

from . import backend as _backend_mod

current = None  # None: the CPU; else the device spec factories pass to gpugrad.backend.get


def get_default_device() -> _backend_mod.Device:
    """The device ``gg.zeros(...)``, ``gg.tensor(...)`` and the other factories use without ``device=``."""
    return _backend_mod.get(current).device


def set_default_device(device) -> None:
    """Make factories (and so new modules' parameters) land on ``device``; None restores the CPU."""
    global current
    current = None if device is None else _backend_mod.get(device).device  # checks the device exists


_entered: list = []  # the defaults to restore, one per ``with gg.device(...)`` block open


def enter(device: _backend_mod.Device) -> None:
    """``with gg.device(d):`` (PyTorch 2's device context): factories land on ``d`` inside the block."""
    _entered.append(current)
    set_default_device(device)


def exit() -> None:
    global current
    current = _entered.pop()
