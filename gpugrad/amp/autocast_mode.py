"""autocast, as ``torch.autocast``: mixed precision by op, in a region of one thread.

Inside an enabled region, the ops on PyTorch's lists cast their floating-point inputs (policy.py): matmul,
linear, convolutions and attention run in the region's dtype (bfloat16 by default on the CPU, float16 on
CUDA), losses in float32; every other op runs in its inputs' dtypes. Gradients flow back through the
casts to the float32 parameters. bfloat16 lives on the CPU only: a CUDA region takes float16.
``is_autocast_enabled`` and ``get_autocast_dtype`` report the context as PyTorch's do."""
from __future__ import annotations

import functools
import threading
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
        # PyTorch's: without a dtype, the one set_autocast_dtype last set on this thread (its default else)
        self.fast_dtype = dtypes.to_dtype(dtype) if dtype is not None else get_autocast_dtype(device_type)
        self._enabled = bool(enabled)
        if device_type == "cuda" and self.fast_dtype is dtypes.bfloat16 and self._enabled:
            raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to float16.")
        if self.fast_dtype not in (dtypes.bfloat16, dtypes.float16) and self._enabled:
            warnings.warn(f"In {device_type.upper()} autocast, but the target dtype is not supported. Disabling "
                          "autocast.", UserWarning, stacklevel=2)
            self._enabled = False
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else bool(cache_enabled)

    def __enter__(self) -> "autocast":
        self._outer_cache_enabled = is_autocast_cache_enabled()
        set_autocast_cache_enabled(self._cache_enabled)
        _stack(self.device).append((self._enabled, self.fast_dtype))
        if self._enabled:
            policy.count_region(+1)
        return self

    def __exit__(self, *exc) -> None:
        enabled, _ = _stack(self.device).pop()  # set_autocast_enabled may have changed it inside
        if enabled:
            policy.count_region(-1)
        set_autocast_cache_enabled(self._outer_cache_enabled)

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


# PyTorch's thread-local autocast state under its own names (torch.set_autocast_enabled and friends): the
# innermost context's entry is the state; outside every context, set_* leave an entry of their own at the
# bottom of the thread's stack, which the contexts push onto and pop back to.
def _set_state(device_type: str, enabled: bool | None = None, dtype=None) -> None:
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    stack = _stack(device_type)
    was_enabled, old_dtype = stack.pop() if stack else (False, _DEFAULT_DTYPES[device_type])
    now_enabled = was_enabled if enabled is None else bool(enabled)
    stack.append((now_enabled, old_dtype if dtype is None else dtypes.to_dtype(dtype)))
    if now_enabled != was_enabled:
        policy.count_region(+1 if now_enabled else -1)


def set_autocast_enabled(device_type, enabled: bool | None = None) -> None:
    """``torch.set_autocast_enabled(device_type, enabled)``; the one-argument form means CUDA, as PyTorch's."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _set_state(device_type, enabled=enabled)


def set_autocast_dtype(device_type: str, dtype) -> None:
    """The dtype of ``device_type``'s current autocast state, and of later contexts that name none."""
    _set_state(device_type, dtype=dtype)


_cache = threading.local()  # .enabled: torch.is_autocast_cache_enabled(), per thread as PyTorch's
_nesting = threading.local()  # .depth: autocast_increment_nesting's count


def is_autocast_cache_enabled() -> bool:
    """PyTorch's switch for caching casts of weights inside a region. gpugrad keeps no such cache (a region
    casts a weight at each use), so the switch is kept and read back and changes no value."""
    return getattr(_cache, "enabled", True)


def set_autocast_cache_enabled(enabled: bool) -> None:
    _cache.enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Nothing is cached (see is_autocast_cache_enabled): nothing to clear."""


def autocast_increment_nesting() -> int:
    _nesting.depth = getattr(_nesting, "depth", 0) + 1
    return _nesting.depth


def autocast_decrement_nesting() -> int:
    _nesting.depth = max(getattr(_nesting, "depth", 0) - 1, 0)
    return _nesting.depth
