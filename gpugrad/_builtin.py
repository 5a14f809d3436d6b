"""Functions that keep PyTorch's C builtins' behaviour as class attributes.

``torch.conv2d`` or ``F.linear`` are C builtins: stored on a class (``class Loss: conv = torch.conv2d``)
and called through an instance, they receive no ``self``. A Python function would bind as a method and
take the instance as its first argument. ``builtin(fn)`` is ``fn`` as a staticmethod, which Python calls
directly (3.10+) and never binds, pickled by its name as a function is."""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["builtin"]


class builtin(staticmethod):
    """``fn``, callable as before, that stays unbound as a class attribute (as PyTorch's builtins do)."""

    def __init__(self, fn: Callable, module: str | None = None) -> None:
        super().__init__(fn)
        if module is not None:  # where the name is bound, for pickle's look-up by name
            self.__module__ = module

    def __reduce__(self) -> str:
        return self.__qualname__

    def __repr__(self) -> str:
        return repr(self.__func__)
