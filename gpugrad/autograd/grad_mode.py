"""Whether operations are recorded for backward. Thread-local, as in PyTorch."""
from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = enabled


class _GradMode:
    """Context manager and decorator that sets the grad mode for the current thread."""

    enabled = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.enabled)
        return self

    def __exit__(self, *exc) -> None:
        _set(self._prev)

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Operations inside do not record a graph: ``with gg.no_grad(): ...`` or ``@gg.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """``with gg.set_grad_enabled(flag): ...``; as a plain call it sets the mode for this thread."""

    def __init__(self, mode: bool) -> None:
        self._prev = is_grad_enabled()
        self.enabled = bool(mode)
        _set(self.enabled)

    def __enter__(self):
        return self

    def __call__(self, func):
        raise TypeError("set_grad_enabled is not a decorator; use no_grad() or enable_grad()")
