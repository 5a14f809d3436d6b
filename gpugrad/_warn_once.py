"""PyTorch's once-per-process warnings (its C++ ``TORCH_WARN_ONCE``): the deprecated ``torch.qr``,
``torch.lu``, ``torch.meshgrid`` without ``indexing`` and the like warn on their first call only, unless
``set_warn_always(True)`` asks for every call. Python's own filters still apply to the one that is given."""
from __future__ import annotations

import warnings

from ._caller import user_stacklevel

_warn_always = [False]
_already_warned: set[str] = set()


def set_warn_always(b: bool) -> None:
    """When True, warnings PyTorch gives once per process are given on every call."""
    _warn_always[0] = bool(b)


def is_warn_always_enabled() -> bool:
    """Whether once-per-process warnings are given on every call (``set_warn_always``)."""
    return _warn_always[0]


def warn_once(key: str, message: str, category: type[Warning] = UserWarning) -> None:
    """Warn with ``message`` at the user's line, the first time ``key`` (the op's name) warns in this
    process, or every time under ``set_warn_always(True)``."""
    if key in _already_warned and not _warn_always[0]:
        return
    _already_warned.add(key)
    warnings.warn(message, category, stacklevel=user_stacklevel())


def forget_warned() -> None:
    """Let every once-per-process warning be given again (test isolation)."""
    _already_warned.clear()
