"""``torch._jit_internal``: the helpers TorchScript's decorators are made of, which libraries import
directly (pyro's PyroModule wraps its container methods in ``_copy_to_script_wrapper``). gpugrad has no
TorchScript (see ``gg.jit``): every function runs as its Python, so what marks a function for the
script compiler leaves it as it is."""
from __future__ import annotations

from typing import Callable, Final  # noqa: F401  (torch._jit_internal.Final is typing.Final)

from .jit import export, ignore, is_scripting, unused  # noqa: F401

__all__ = ["export", "ignore", "is_scripting", "unused"]


def _copy_to_script_wrapper(fn: Callable) -> Callable:
    """``fn`` itself: PyTorch marks it to be copied onto a scripted module's wrapper; with no scripted
    modules here there is nothing to copy it to, and it is called as the method it is."""
    return fn
