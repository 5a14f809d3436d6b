"""Whether operations are recorded for backward. Thread-local, as in PyTorch."""
from __future__ import annotations

import functools
import threading

class _State(threading.local):
    """Per-thread flags; the class attributes are each new thread's defaults (read without a getattr
    default: every op reads ``enabled``)."""

    enabled = True
    inference = False


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


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


class _BareDecorator(_GradMode):
    """A grad mode also usable as a decorator without parentheses: ``@gg.no_grad``, as PyTorch's."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_BareDecorator):
    """Operations inside do not record a graph: ``with gg.no_grad(): ...``, ``@gg.no_grad()`` or
    ``@gg.no_grad``."""

    enabled = False


class enable_grad(_BareDecorator):
    """Turn recording back on inside a ``no_grad`` block (``@gg.enable_grad`` too)."""

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


def is_inference_mode_enabled() -> bool:
    return _state.inference


class inference_mode(_GradMode):
    """``no_grad`` for inference: results never require grad. ``with gg.inference_mode(): ...``,
    ``@gg.inference_mode()`` or ``@gg.inference_mode``; ``inference_mode(False)`` changes nothing."""

    def __init__(self, mode=True) -> None:
        self._func = None
        if callable(mode):  # used as a bare decorator: @gg.inference_mode
            self._func, mode = mode, True
            functools.update_wrapper(self, self._func)
        self.mode = bool(mode)

    def __enter__(self):
        self._prev_inference = is_inference_mode_enabled()
        self._prev = is_grad_enabled()
        _state.inference = self.mode
        if self.mode:
            _set(False)
        return self

    def __exit__(self, *exc) -> None:
        _state.inference = self._prev_inference
        _set(self._prev)

    def __call__(self, *args, **kwargs):
        if self._func is not None:
            with inference_mode(True):
                return self._func(*args, **kwargs)
        (func,) = args
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*a, **kw):
            with inference_mode(mode):
                return func(*a, **kw)

        return wrapper
