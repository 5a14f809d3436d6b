"""In-place ops: ``add_``, ``sub_``, ``mul_``, ``div_``, ``zero_``, ``fill_``, ``copy_`` and ``x[idx] = v``.

When nothing is recorded (no grad mode, or nothing requires grad) they write straight into the array.
When something is, the op is recorded out of place and the tensor is rebased onto the new node, as
PyTorch does; its version counter is bumped either way, so a graph that saved the old values raises
at backward instead of computing with the new ones.
"""
from __future__ import annotations

import numpy

from ..autograd import views
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.reduced_float import is_reduced
from ..errors import DeviceError, DTypeError, ShapeError
from ..tensor import Tensor
from . import elementwise, indexing
from ._operands import check_castable, round_scalar_to_reduced, scalar_argument


def _recording(name: str, self: Tensor, *others) -> bool:
    others = [o for o in others if isinstance(o, Tensor)]
    for other in others:
        if other._backend is not self._backend:
            raise DeviceError(f"{name}: expected all tensors on the same device, got {self.device} and {other.device}")
    if not is_grad_enabled():
        return False
    if not (self.requires_grad or any(o.requires_grad for o in others)):
        return False
    if self._node is None and self._requires_grad:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place operation; "
            "wrap the update in `with gg.no_grad():` or work on a copy"
        )
    return True


def _snapshot(self: Tensor) -> Tensor:
    """The tensor's current value and history, in memory the in-place write will not touch, so that a
    recorded op can save its input (``h *= x`` needs the old h for x's gradient)."""
    return Tensor._make(self._array.copy(), self._backend, self._node, self._output_index)


def _check_result(name: str, self: Tensor, result: Tensor) -> None:
    """An in-place op may not change self's shape, nor write a result self's dtype cannot hold."""
    if tuple(result.shape) != tuple(self.shape):
        raise ShapeError(f"{name}: output with shape {tuple(self.shape)} doesn't match the broadcast shape {tuple(result.shape)}")
    check_castable(name, result, self)


def _commit(name: str, self: Tensor, result: Tensor) -> Tensor:
    """Write a recorded out-of-place result into self and make self the output of its node (a view's base
    takes the write into its history too: autograd/views.py)."""
    _check_result(name, self, result)
    if self._base is not None:
        views.write_through(name, self, result)
        return self
    self._array[...] = result._array
    self._version_ref[0] += 1
    self._node, self._output_index = result._node, result._output_index
    return self


def _direct(name: str, self: Tensor, fn) -> Tensor:
    """Run an in-place array update, translating NumPy's errors into ones that name the op. A bfloat16 (or
    CPU float16) tensor is updated in float32 and rounded once, as the out-of-place ops compute
    (autograd/reduced_float.py): ``x.mul_(0.9)`` multiplies by float32's 0.9, not bfloat16's."""
    array = self._array
    try:
        if is_reduced(array):
            wide = array.astype(numpy.float32)
            fn(wide)
            array[...] = wide
        else:
            fn(array)
    except ValueError as exc:
        raise ShapeError(f"{name}: {exc} (tensor of shape {tuple(self.shape)})") from exc
    except TypeError as exc:  # NumPy's UFuncTypeError: e.g. adding floats into an int tensor
        raise DTypeError(f"{name}: {exc} (tensor of dtype {self.dtype})") from exc
    self._version_ref[0] += 1
    return self


def _value(other):
    return other._array if isinstance(other, Tensor) else other


def add_(self: Tensor, other, *, alpha=1) -> Tensor:
    """self += alpha * other, in place."""
    if alpha.__class__ is not int and alpha.__class__ is not float:
        alpha = scalar_argument("add_", "alpha", alpha)
    if _recording("add_", self, other):
        return _commit("add_", self, elementwise.add(_snapshot(self), other, alpha=alpha))
    v = round_scalar_to_reduced(self, other)[1] if other.__class__ is float else _value(other)

    def run(a):
        a += v if alpha == 1 else v * alpha

    return _direct("add_", self, run)


def sub_(self: Tensor, other, *, alpha=1) -> Tensor:
    """self -= alpha * other, in place."""
    if self._array.dtype.kind == "b" or (isinstance(other, Tensor) and other._array.dtype.kind == "b") or isinstance(other, bool):
        elementwise.sub(self, other)  # raises sub's error: subtraction with a bool is not supported
    if alpha.__class__ is not int and alpha.__class__ is not float:
        alpha = scalar_argument("sub_", "alpha", alpha)
    return add_(self, other, alpha=-alpha)


def mul_(self: Tensor, other) -> Tensor:
    """self *= other, in place."""
    if _recording("mul_", self, other):
        return _commit("mul_", self, elementwise.mul(_snapshot(self), other))
    v = _value(other)

    def run(a):
        a *= v

    return _direct("mul_", self, run)


def div_(self: Tensor, other, *, rounding_mode: str | None = None) -> Tensor:
    """self /= other, in place (``rounding_mode`` "trunc" or "floor" as in ``div``)."""
    if rounding_mode is not None:
        return inplace_variant(elementwise.div, "div_")(self, other, rounding_mode=rounding_mode)
    if _recording("div_", self, other):
        return _commit("div_", self, elementwise.div(_snapshot(self), other))
    v = _value(other)

    def run(a):
        a /= v

    return _direct("div_", self, run)


class Fill(Op):
    @staticmethod
    def forward(ctx, x, value=0.0):
        return ctx.xp.full(x.shape, value, dtype=x.dtype)

    @staticmethod
    def backward(ctx, gy):
        return None


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value``."""
    if isinstance(value, Tensor):
        value = value.item()
    if _recording("fill_", self):
        return _commit("fill_", self, Fill.apply(self, value=value))

    def run(a):
        a[...] = value

    return _direct("fill_", self, run)


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0."""
    return fill_(self, 0)


class Copy(Op):
    @staticmethod
    def forward(ctx, x, src):
        return ctx.xp.broadcast_to(src, x.shape).astype(x.dtype, copy=True)

    @staticmethod
    def backward(ctx, gy):
        return None, gy


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, and cast to self's dtype) into self. ``non_blocking`` is PyTorch's hint for
    copies from pinned memory; gpugrad's transfers are ordered by the device's stream either way."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: expected a Tensor as source, got {type(src).__name__}")
    if src._backend is not self._backend:
        # A copy across devices is a transfer: move src first (differentiably), then copy locally.
        src = src.to(self.device)
    if _recording("copy_", self, src):
        return _commit("copy_", self, Copy.apply(self, src))

    def run(a):
        a[...] = src._array

    return _direct("copy_", self, run)


def inplace_variant(fn, name: str | None = None):
    """The in-place method ``x.<op>_(...)`` of an out-of-place op ``fn(x, ...)``: the result is computed
    out of place and written into x, recorded (and x rebased onto its node) when gradients are on."""
    name = name or fn.__name__ + "_"

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        if _recording(name, self, *args, *kwargs.values()):
            return _commit(name, self, fn(_snapshot(self), *args, **kwargs))
        with no_grad():
            result = fn(self, *args, **kwargs)
        _check_result(name, self, result)

        def run(a):
            a[...] = result._array

        return _direct(name, self, run)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}``."
    return method


def setitem(self: Tensor, index, value) -> None:
    """``self[index] = value`` for every index ``x[index]`` takes (PyTorch's meaning), ``value`` a number
    or a tensor broadcast to the indexed shape and cast to self's dtype. Differentiable for self (0 at
    the written positions) and for value (the gradient at the positions it was written to)."""
    basic, advanced = indexing.parse_index(self, index)
    if _recording("setitem", self, value):
        if not isinstance(value, Tensor):
            value = Tensor._make(self._backend.xp.asarray(value, dtype=self._array.dtype), self._backend)
        elif value.dtype is not self.dtype:
            value = value.to(self.dtype)
        _commit("setitem", self, indexing.SetItem.apply(_snapshot(self), value, basic=basic, advanced=advanced))
        return
    v = _value(value)

    def run(a):
        indexing.assign(a, basic, advanced, v)

    _direct("setitem", self, run)


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Give self the shape ``sizes``, keeping its leading elements in row-major order (new elements are
    uninitialised, as PyTorch's); a tensor that requires grad cannot be resized."""
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ShapeError(f"resize_: sizes must be non-negative ints, got {shape}")
    if self.requires_grad:
        raise RuntimeError("resize_: cannot resize a tensor that requires grad")
    old = self._array
    count = 1
    for n in shape:
        count *= n
    if count == old.size and old.flags.c_contiguous:
        self._array = old.reshape(shape)
    else:
        new = self._backend.xp.empty(shape, dtype=old.dtype)
        kept = min(count, old.size)
        new.reshape(-1)[:kept] = old.reshape(-1)[:kept]
        self._array = new
    self._version_ref[0] += 1
    return self


def resize_as_(self: Tensor, other: Tensor, memory_format=None) -> Tensor:
    """``resize_`` to ``other``'s shape."""
    return resize_(self, tuple(other.shape))


def _python_elementwise(name: str, self: Tensor, fn, *others: Tensor) -> Tensor:
    for t in (self, *others):
        if t.device.type != "cpu":
            raise DeviceError(f"{name}: works on CPU tensors only, got a tensor on {t.device}")
    columns = [self._array.reshape(-1).tolist()]
    columns += [numpy.broadcast_to(o._array, self._array.shape).reshape(-1).tolist() for o in others]
    values = numpy.asarray([fn(*args) for args in zip(*columns)])

    def run(a):
        a[...] = values.reshape(a.shape)

    return _direct(name, self, run)


def map_(self: Tensor, other: Tensor, callable) -> Tensor:
    """Set each element to ``callable(self_element, other_element)``, other broadcast (CPU only: one
    Python call per element, as PyTorch's)."""
    return _python_elementwise("map_", self, callable, other)


def apply_(self: Tensor, callable) -> Tensor:
    """Set each element to ``callable(element)`` (CPU only: one Python call per element, as PyTorch's)."""
    return _python_elementwise("apply_", self, callable)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = ()
DIFFERENTIABLE = ()
METHODS = {f.__name__: f for f in (add_, sub_, mul_, div_, fill_, zero_, copy_, resize_, resize_as_, map_, apply_)}
METHODS["fill_diagonal_"] = inplace_variant(indexing._diagonal_filled, "fill_diagonal_")
METHODS.update(
    __setitem__=setitem,
    __iadd__=lambda self, other: add_(self, other),
    __isub__=lambda self, other: sub_(self, other),
    __imul__=lambda self, other: mul_(self, other),
    __itruediv__=lambda self, other: div_(self, other),
)
