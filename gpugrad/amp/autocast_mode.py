"""autocast, as ``torch.autocast``: accepted, and its region runs in the tensors' own dtypes.

gpugrad has no mixed precision yet (its bfloat16 is CPU-only and nothing casts to it on the way into an
op): a region under an enabled autocast computes as it would outside, which gives the same values at full precision, and says so once
with a warning. ``is_autocast_enabled`` and ``get_autocast_dtype`` report the context as PyTorch's do, so
that code which branches on them takes the branch it takes under PyTorch."""
from __future__ import annotations

import functools
import threading
import warnings

from .. import dtypes

__all__ = ["autocast", "get_autocast_dtype", "is_autocast_enabled"]

DEVICE_TYPES = ("cpu", "cuda")
_DEFAULT_DTYPES = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}
_local = threading.local()


def _stack(device_type: str) -> list:
    stacks = getattr(_local, "stacks", None)
    if stacks is None:
        stacks = _local.stacks = {d: [] for d in DEVICE_TYPES}
    return stacks[device_type]


class autocast:
    """``with autocast("cuda", dtype=..., enabled=...)``, or as a decorator."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in DEVICE_TYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else _DEFAULT_DTYPES[device_type]
        self._enabled = bool(enabled)
        self._cache_enabled = cache_enabled

    def __enter__(self) -> "autocast":
        if self._enabled:
            warnings.warn("autocast: gpugrad has no mixed precision yet; this region runs in the tensors' own "
                          "dtypes (same values, full precision)", UserWarning, stacklevel=2)
        _stack(self.device).append((self._enabled, self.fast_dtype))
        return self

    def __exit__(self, *exc) -> None:
        _stack(self.device).pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)

        return wrapped


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether the innermost autocast context for ``device_type`` is enabled."""
    stack = _stack(device_type)
    return bool(stack and stack[-1][0])


def get_autocast_dtype(device_type: str):
    """The dtype the innermost autocast context for ``device_type`` names (its default outside one)."""
    stack = _stack(device_type)
    return stack[-1][1] if stack else _DEFAULT_DTYPES[device_type]
