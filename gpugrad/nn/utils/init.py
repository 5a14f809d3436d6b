"""``torch.nn.utils.skip_init``: build a module without spending its initialisation."""
from __future__ import annotations

import inspect

from ...random import default_generator
from ..module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args, **kwargs) -> Module:
    """``module_cls(*args, **kwargs)`` with parameters and buffers left "uninitialised", for a caller that
    will set them itself. As in PyTorch the class must take a ``device`` argument (default "cpu").

    PyTorch builds on the meta device and allocates empty memory afterwards; gpugrad has no meta device,
    so the module is built normally and the random-number state restored afterwards: the values are
    whatever the constructor wrote (unspecified, as PyTorch's), the global generator is left as if no
    initialisation had drawn from it (as in PyTorch), but the time of initialising is not saved.
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    state = default_generator._json_state()
    try:
        return module_cls(*args, **kwargs)
    finally:
        default_generator._set_json_state(state)
