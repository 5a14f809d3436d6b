"""``torch.amp.custom_fwd`` / ``custom_bwd``: decorators for a custom Function's forward and backward that
carry the autocast state from the forward to the backward (and, with ``cast_inputs``, run the forward in
one dtype with autocast off)."""
from __future__ import annotations

import collections.abc
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled

__all__ = ["custom_bwd", "custom_fwd"]


def _check_device_type(device_type: Any) -> None:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")  # noqa: TRY004  (PyTorch's)


def _cast_floats(value: Any, device_type: str, dtype) -> Any:
    """``value`` with every floating-point tensor on ``device_type`` (float64 excepted) cast to ``dtype``,
    looking inside mappings, lists and tuples."""
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        keep = (not value.is_floating_point() or value.device.type != device_type
                or value.dtype is dtypes.float64)
        return value if keep else value.to(dtype)
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast_floats(k, device_type, dtype): _cast_floats(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floats(v, device_type, dtype) for v in value)
    if isinstance(value, collections.abc.Iterable):
        return (_cast_floats(v, device_type, dtype) for v in value)
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs=None) -> Callable:
    """Decorate a Function's ``forward(ctx, ...)``: records the autocast state on ``ctx`` for
    ``custom_bwd``; with ``cast_inputs`` and inside an enabled autocast region, the floating-point tensor
    arguments are cast to that dtype and the forward runs with autocast disabled."""
    _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def forward(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = enabled
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if not enabled:
            return fwd(*args, **kwargs)
        with autocast(device_type, enabled=False):
            return fwd(*_cast_floats(args, device_type, cast_inputs), **_cast_floats(kwargs, device_type, cast_inputs))

    return forward


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorate a Function's ``backward(ctx, ...)``: it runs under the autocast state its forward saw."""
    _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type, dtype=ctx._dtype, enabled=ctx._fwd_used_autocast):
            return bwd(*args, **kwargs)

    return backward
