"""``torch._C._nn``: the one name of PyTorch's compiled nn bindings that Python code calls directly,
``_parse_to`` (Lightning's DeviceDtypeModuleMixin parses ``Module.to``'s arguments with it)."""
from __future__ import annotations

from typing import Any

from . import layouts
from .backend import Device
from .ops import parse_to_args

__all__ = ["_parse_to"]


def _parse_to(*args: Any, **kwargs: Any) -> tuple:
    """``(device, dtype, non_blocking, memory_format)`` from ``to``'s arguments (``to(device)``,
    ``to(dtype)``, ``to(device, dtype, non_blocking)``, ``to(tensor)``, keywords); None where not given."""
    kwargs = dict(kwargs)
    non_blocking = bool(kwargs.pop("non_blocking", False))
    memory_format = kwargs.pop("memory_format", None)
    layouts.check_memory_format("to", memory_format)
    args = list(args)
    if len(args) >= 2 and isinstance(args[-1], bool):  # to(device, dtype, non_blocking) or to(dtype, non_blocking)
        non_blocking = args.pop()
    device, dtype = parse_to_args("to", tuple(args), kwargs)
    return (Device(device) if device is not None else None), dtype, non_blocking, memory_format
