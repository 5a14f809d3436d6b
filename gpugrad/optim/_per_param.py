"""Helpers for the optimizers that run only PyTorch's per-parameter loop (Adafactor, Muon).

Their state is not one array per parameter of the parameter's shape (Adafactor keeps row and column
factors) or their update is not elementwise (Muon orthogonalises a matrix), so they have no flat-buffer
kernel: the update is written here in backend array operations (NumPy or CuPy), one parameter at a time.
"""
from __future__ import annotations

import contextlib
from typing import Any

import numpy

from ..dtypes import FLOAT_KINDS
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["cast_state", "lerp", "lerp_", "like", "norm", "on_device", "scalar", "zeros"]


def on_device(backend) -> contextlib.AbstractContextManager:
    """The context in which a parameter's update runs: its GPU current (CuPy), nothing on the CPU."""
    if backend.xp is numpy:
        return contextlib.nullcontext()
    return backend.xp.cuda.Device(backend.device.index)  # pragma: no cover - needs a GPU


def zeros(p: Tensor, shape: tuple) -> Tensor:
    """A new state Tensor of zeros with ``p``'s dtype, on ``p``'s device."""
    with on_device(p._backend):
        return Tensor._make(p._backend.xp.zeros(shape, dtype=p._array.dtype), p._backend)


def scalar(v: Any) -> float:
    """A hyper-parameter as a Python float (a one-element Tensor lr is read, as PyTorch's ``_to_scalar``)."""
    if isinstance(v, Tensor):
        return float(v.item())
    return float(v)


def lerp_(a: Any, b: Any, w: float) -> Any:
    """``a += w * (b - a)`` in place, by PyTorch's formula (the form taken depends on ``|w| < 0.5``, so
    that ``w = 1`` gives ``b`` exactly)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1.0 - w)
    return a


def lerp(a: Any, b: Any, w: float) -> Any:
    """``a + w * (b - a)`` as a new array, by PyTorch's formula (see ``lerp_``)."""
    if abs(w) < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (1.0 - w)


def norm(xp, a: Any) -> float:
    """The 2-norm of all of ``a``'s elements, read back as a Python float (PyTorch's ``.norm().item()``)."""
    flat = a.reshape(-1)
    if flat.dtype.itemsize < 4:  # float16: sum the squares in float32, as PyTorch accumulates
        flat = flat.astype(xp.float32)
    return float(xp.sqrt(flat @ flat))


def cast_state(opt_name: str, index: Any, key: str, value: Any, p: Tensor, shape: tuple) -> Tensor:
    """A loaded state array as a new Tensor of ``shape`` on ``p``'s device, floating values in ``p``'s dtype;
    ShapeError when its shape differs."""
    if isinstance(value, Tensor):
        array = value._backend.to_numpy(value._array)
    else:
        array = numpy.asarray(value)
    if tuple(array.shape) != tuple(shape):
        raise ShapeError(
            f"{opt_name}.load_state_dict: state '{key}' of parameter {index} has shape {tuple(array.shape)} but "
            f"a parameter of shape {tuple(p.shape)} needs {tuple(shape)}"
        )
    if array.dtype.kind in FLOAT_KINDS:
        array = array.astype(p._array.dtype, copy=False)
    with on_device(p._backend):
        return Tensor._make(p._backend.asarray(array), p._backend)  # always a copy


def like(t: Tensor, p: Tensor) -> Tensor:
    """``t`` itself when it already has ``p``'s dtype and device, else a copy that has them (same shape)."""
    if t._array.dtype == p._array.dtype and t._backend is p._backend:
        return t
    with on_device(p._backend):
        if t._backend is p._backend:
            data = t._array.astype(p._array.dtype, copy=True)
        else:
            data = p._backend.asarray(t._backend.to_numpy(t._array).astype(p._array.dtype))
    return Tensor._make(data, p._backend)
