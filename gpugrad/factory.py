"""Functions that make tensors: ``tensor``, ``zeros``, ``randn``, ``from_numpy`` and the rest."""
from __future__ import annotations

import numpy

from . import backend as _backend_mod
from . import dtypes
from .random import default_generator
from .errors import ShapeError
from .tensor import Tensor


def _finish(array, backend, requires_grad: bool) -> Tensor:
    t = Tensor._make(array, backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ShapeError(f"cannot create a tensor of size {size}: negative dimension {min(size)}")
    return size


def _dtype_np(dtype, default=None):
    if dtype is None:
        dtype = default if default is not None else dtypes.default_float
    return dtypes.to_dtype(dtype).np


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, NumPy arrays or a Tensor).

    Python floats become float32 (the default dtype), ints int64, bools bool; NumPy arrays keep their
    float64/float32 dtype. ``gg.tensor([[1., 2.], [3., 4.]], requires_grad=True)``.
    """
    backend = _backend_mod.get(device)
    if isinstance(data, Tensor):
        host = data._backend.to_numpy(data.data)
        inferred = host.dtype
    else:
        try:
            host = numpy.asarray(data)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"tensor: cannot make a tensor from this {type(data).__name__}: {exc}") from None
        inferred = host.dtype
        if inferred.kind == "f" and not isinstance(data, numpy.ndarray) and not isinstance(data, numpy.generic):
            inferred = dtypes.default_float.np  # Python floats default to float32, as in PyTorch
        elif inferred.kind == "O":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data")
    target = dtypes.to_dtype(dtype).np if dtype is not None else dtypes.canonical_np_dtype(inferred)
    return _finish(backend.asarray(numpy.array(host, dtype=target, copy=True)), backend, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array`` (float32, float64, int64 or bool)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    dtypes.of_array_checked(array)
    return Tensor._make(array, _backend_mod.cpu)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_mod.get(device)
    return _finish(backend.xp.zeros(_size(size), dtype=_dtype_np(dtype)), backend, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_mod.get(device)
    return _finish(backend.xp.ones(_size(size), dtype=_dtype_np(dtype)), backend, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_mod.get(device)
    return _finish(backend.xp.empty(_size(size), dtype=_dtype_np(dtype)), backend, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_mod.get(device)
    if dtype is None:
        dtype = dtypes.bool_ if isinstance(fill_value, bool) else dtypes.int64 if isinstance(fill_value, int) else None
    return _finish(backend.xp.full(_size((size,)), fill_value, dtype=_dtype_np(dtype)), backend, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive); int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, int) for v in (start, end, step)) else None
    backend = _backend_mod.get(device)
    return _finish(backend.xp.arange(start, end, step, dtype=_dtype_np(dtype)), backend, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_mod.get(device)
    return _finish(backend.xp.linspace(start, end, steps, dtype=_dtype_np(dtype)), backend, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_mod.get(device)
    return _finish(backend.xp.eye(n, m, dtype=_dtype_np(dtype)), backend, requires_grad)


def _random(draw, size, dtype, device, requires_grad, generator):
    rng = (generator or default_generator).rng
    host = draw(rng, _size(size)).astype(_dtype_np(dtype), copy=False)
    backend = _backend_mod.get(device)
    return _finish(backend.asarray(host), backend, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples from the default (or given) generator."""
    return _random(lambda r, s: r.standard_normal(s), size, dtype, device, requires_grad, generator)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _random(lambda r, s: r.random(s), size, dtype, device, requires_grad, generator)


def randint(low: int, high: int | None = None, size=(), dtype=None, device=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return _random(lambda r, s: r.integers(low, high, s), (size,), dtype or dtypes.int64, device, False, generator)


def randperm(n: int, device=None, generator=None) -> Tensor:
    rng = (generator or default_generator).rng
    backend = _backend_mod.get(device)
    return Tensor._make(backend.asarray(rng.permutation(n).astype(numpy.int64)), backend)


def _like(fill):
    def like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        backend = _backend_mod.get(device) if device is not None else t._backend
        np_dtype = dtypes.to_dtype(dtype).np if dtype is not None else t.data.dtype
        return _finish(fill(backend.xp, t.data.shape, np_dtype), backend, requires_grad)

    return like


zeros_like = _like(lambda xp, shape, dt: xp.zeros(shape, dtype=dt))
ones_like = _like(lambda xp, shape, dt: xp.ones(shape, dtype=dt))
empty_like = _like(lambda xp, shape, dt: xp.empty(shape, dtype=dt))


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(lambda xp, shape, dt: xp.full(shape, fill_value, dtype=dt))(t, dtype, device, requires_grad)


def randn_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad, generator=generator)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad, generator=generator)
