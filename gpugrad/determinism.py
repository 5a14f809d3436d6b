"""``gg.use_deterministic_algorithms`` and its questions, as PyTorch's.

gpugrad's CPU ops are deterministic: the same inputs give the same bits from run to run at a given
thread count. So are its CUDA kernels (no float atomics: kernels/) and cuBLAS's GEMMs on the one stream
gpugrad uses. One CUDA path is not: ``Backend.index_add`` (the backward of indexing, gather, index_add,
embedding_bag ...) adds repeated float indices with CuPy's atomic adds, in an order that varies. With
deterministic algorithms on, that path raises (or warns, with ``warn_only=True``), as PyTorch's do.
"""
from __future__ import annotations

import warnings

from ._caller import user_stacklevel

_enabled = False
_warn_only = False
_MODES = {"default": 0, "warn": 1, "error": 2}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Make ops without a deterministic implementation raise (warn, with ``warn_only``)."""
    global _enabled, _warn_only
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode must be a bool, got {type(mode).__name__}")
    _enabled, _warn_only = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _enabled


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _warn_only


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """0 / "default": off; 1 / "warn": warn; 2 / "error": raise."""
    if isinstance(debug_mode, str):
        if debug_mode not in _MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                               f"but got {debug_mode}")
        debug_mode = _MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    return 0 if not _enabled else 1 if _warn_only else 2


def alert_not_deterministic(op: str) -> None:
    """Called by a path whose result can vary from run to run: raise or warn when determinism is asked."""
    if not _enabled:
        return
    message = (f"{op} does not have a deterministic implementation, but you set "
               "'gg.use_deterministic_algorithms(True)'")
    if _warn_only:
        warnings.warn(message, UserWarning, stacklevel=user_stacklevel())
    else:
        raise RuntimeError(message)
