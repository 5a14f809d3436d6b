"""autocast, as ``torch.autocast``: mixed precision by op, in a region of one thread.

Inside an enabled region, the ops on PyTorch's lists cast their floating-point inputs (policy.py): matmul,
linear, convolutions and attention run in the region's dtype (bfloat16 by default on the CPU, float16 on
CUDA), losses in float32; every other op runs in its inputs' dtypes. Gradients flow back through the
casts to the float32 parameters. bfloat16 lives on the CPU only: a CUDA region takes float16.
``is_autocast_enabled`` and ``get_autocast_dtype`` report the context as PyTorch's do."""
from __future__ import annotations

import functools
import warnings

from .. import dtypes
from . import policy

__all__ = ["autocast", "get_autocast_dtype", "is_autocast_enabled"]

DEVICE_TYPES = policy.BOTH
_DEFAULT_DTYPES = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}
_stack = policy.regions


class autocast:
    """``with autocast("cuda", dtype=..., enabled=...)``, or as a decorator."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in DEVICE_TYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = dtypes.to_dtype(dtype) if dtype is not None else _DEFAULT_DTYPES[device_type]
        self._enabled = bool(enabled)
        if device_type == "cuda" and self.fast_dtype is dtypes.bfloat16 and self._enabled:
            raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to float16.")
        if self.fast_dtype not in (dtypes.bfloat16, dtypes.float16) and self._enabled:
            warnings.warn(f"In {device_type.upper()} autocast, but the target dtype is not supported. Disabling "
                          "autocast.", UserWarning, stacklevel=2)
            self._enabled = False
        self._cache_enabled = cache_enabled

    def __enter__(self) -> "autocast":
        _stack(self.device).append((self._enabled, self.fast_dtype))
        if self._enabled:
            policy.count_region(+1)
        return self

    def __exit__(self, *exc) -> None:
        _stack(self.device).pop()
        if self._enabled:
            policy.count_region(-1)

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
