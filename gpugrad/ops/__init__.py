"""Differentiable ops, by family, and the binding of operators and methods onto Tensor.

Every family module ends with what it exports: ``FUNCTIONS`` (each becomes ``gg.<name>``),
``DIFFERENTIABLE`` (those the op table must cover with a row), ``METHODS`` (name -> what Tensor gets as
that attribute: methods, operators, properties) and optionally ``INPLACE`` (functions ``f`` whose in-place
method ``x.f_(...)`` is ``f`` computed out of place and written into x: ``inplace.inplace_variant``). This
module gathers them; it is the one place where Tensor learns its operators, so tensor.py imports no op.
"""
from __future__ import annotations

import inspect
import sys
import types

from .. import backend as _backend_mod
from .. import dtypes as _dtypes
from .. import layouts
from ..autograd.function import Op
from ..overrides import OPERATOR_METHODS, overridable
from ..tensor import Tensor
from . import (
    activation,
    bitwise,
    complex_numbers,
    cumulative,
    elementwise,
    indexing,
    inplace,
    linalg,
    linalg_extra,
    linalg_lu,
    pointwise,
    recurrent,
    reduce,
    sampling,
    segment,
    shape,
    softmax,
    special,
    spectral,
)

FAMILIES = (
    elementwise, pointwise, bitwise, activation, reduce, cumulative, shape, indexing, linalg, linalg_lu, linalg_extra,
    softmax, recurrent, sampling, special, complex_numbers, spectral, segment, inplace,
)


class Clone(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        return ctx.backend.copy(x)  # a transposed view by tiles, a large one on the threads (Backend.copy)

    @staticmethod
    def backward(ctx, gy):
        return gy


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` with its own memory, still connected to the graph (row-major: gg.layouts)."""
    layouts.check_memory_format("clone", memory_format)
    return Clone.apply(input)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """``x`` itself when its memory is in row-major order, else a row-major copy (in the graph), so that
    ``x.t().contiguous().view(-1)`` works as in PyTorch."""
    layouts.check_memory_format("contiguous", memory_format)
    return x if x._array.flags.c_contiguous else clone(x)


def is_contiguous(x: Tensor, memory_format=None) -> bool:
    """Whether ``x``'s memory is in row-major order (``view`` needs it for most reshapes); for
    ``memory_format=gg.channels_last`` whether its strides are channels-last's (a permuted view's can be;
    gpugrad's new tensors are row-major)."""
    layouts.check_memory_format("is_contiguous", memory_format)
    a = x._array
    if memory_format is layouts.channels_last or memory_format is layouts.channels_last_3d:
        rank = 4 if memory_format is layouts.channels_last else 5
        if a.ndim != rank:
            return False
        # channels-last strides: C fastest, then W, H (, D), then N; dims of size 1 may have any stride
        order = (1,) + tuple(range(rank - 1, 1, -1)) + (0,)
        expected = a.itemsize
        for d in order:
            if a.shape[d] != 1 and a.strides[d] != expected:
                return False
            expected *= a.shape[d]
        return True
    return bool(a.flags.c_contiguous)


def parse_to_args(op: str, args: tuple, kwargs: dict):
    """The (device, dtype) named by ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``
    or keywords; either may be None. Shared by ``Tensor.to`` and ``Module.to``."""
    kwargs = dict(kwargs)
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    layouts.check_memory_format(op, kwargs.pop("memory_format", None))
    if kwargs:
        raise TypeError(f"{op}: unexpected arguments {sorted(kwargs)}")
    for a in args:
        if a.__class__ is bool:  # non_blocking (then copy) given by position, as PyTorch's overloads take them
            continue
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (_dtypes.DType, type)) or (hasattr(a, "kind") and hasattr(a, "itemsize")):
            dtype = a  # a gpugrad dtype, a Python type or a NumPy dtype
        elif isinstance(a, str) and a in _dtypes.NAMES:
            dtype = a
        elif a is not None:
            device = a
    return device, (_dtypes.to_dtype(dtype) if dtype is not None else None)


def to(x: Tensor, *args, **kwargs) -> Tensor:
    """``x.to(device)``, ``x.to(dtype)``, ``x.to(device, dtype)`` or ``x.to(other_tensor)``: differentiable;
    ``copy=True`` returns a new tensor even when nothing changes."""
    copy = kwargs.pop("copy", False)
    if len(args) > 2:  # to(device, dtype, non_blocking, copy) or to(dtype/tensor, non_blocking, copy)
        flags = [a for a in args if a.__class__ is bool]
        copy = copy or len(flags) > 1 and flags[1]
    device, dtype = parse_to_args("to", args, kwargs)
    out = x
    if device is not None:
        target = _backend_mod.get(device)
        if target is not out._backend:
            out = elementwise.ToDevice.apply(out, target=target)
    if dtype is not None and dtype.np != out._array.dtype:
        out = elementwise.Cast.apply(out, np_dtype=dtype.np)
    return clone(out) if copy and out is x else out


def _numpy_keywords(fn):
    """PyTorch also takes NumPy's keyword names, ``axis`` for ``dim`` and ``keepdims`` for ``keepdim``
    (``x.sum(axis=1)``): for an op with a ``dim`` parameter, what renames them in a call's keywords (its
    public form runs it first: ``public_op``); None for the others."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    if "dim" not in params:
        return None

    def rename(kwargs: dict) -> None:
        if "axis" in kwargs or "keepdims" in kwargs:
            for numpy_name, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if numpy_name in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}: got both '{name}' and its alias '{numpy_name}'")
                    kwargs[name] = kwargs.pop(numpy_name)

    return rename


def public_op(fn, public: str | None = None, keywords_of=None):
    """``fn`` as users call it, ``gg.<name>`` or a Tensor method: NumPy's keyword names taken (those of
    ``keywords_of``, fn itself by default) and the call open to ``__torch_function__`` (gpugrad/overrides.py)."""
    return overridable(fn, public, _numpy_keywords(keywords_of or fn))


_CONVERSIONS = (clone, to)
DIFFERENTIABLE = tuple(f for family in FAMILIES for f in family.DIFFERENTIABLE) + _CONVERSIONS

# gg.<op>: each op through PyTorch's __torch_function__ protocol (gpugrad/overrides.py)
_exported = {f.__name__: public_op(f) for family in FAMILIES for f in family.FUNCTIONS}
_exported.update((f.__name__, public_op(f)) for f in _CONVERSIONS)
globals().update(_exported)


def _importable_by_name(exported: dict) -> None:
    """Name each exported function where it can be found again, ``gpugrad.ops.<name>``: pickle stores a
    function as its module and qualified name, which for the keyword wrappers and the ops made by factories
    (``_math.<locals>.op``) led elsewhere, so ``pickle.dumps(gg.mean)`` failed where ``torch.mean`` pickles
    (Lightning keeps ``torch.mean`` as a metric's reduction)."""
    for name, f in exported.items():
        if not isinstance(f, types.FunctionType):
            continue
        home = sys.modules.get(f.__module__)
        if home is None or getattr(home, f.__qualname__, None) is not f:
            f.__module__, f.__qualname__ = __name__, name


_importable_by_name(_exported)
__all__ = sorted(_exported)


def _bind() -> None:
    T = Tensor
    for family in FAMILIES:
        for name, method in family.METHODS.items():
            routed = isinstance(method, types.FunctionType) and not getattr(method, "_overridable", False)
            setattr(T, name, public_op(method, OPERATOR_METHODS.get(name)) if routed else method)
        for fn in getattr(family, "INPLACE", ()):
            setattr(T, fn.__name__ + "_", public_op(inplace.inplace_variant(fn), keywords_of=fn))
    T.clone, T.to = clone, to
    T.view_as = lambda self, other: shape.reshape(self, tuple(other.shape))
    T.reshape_as = T.view_as
    T.contiguous, T.is_contiguous = contiguous, is_contiguous
    T.T = property(lambda self: shape.permute(self, tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self)
    for name, dtype in _SHORT_CASTS.items():
        setattr(T, name, _short_cast(name, dtype))
    T.type_as = lambda self, other: to(self, other.dtype)
    T.cpu = lambda self, memory_format=None: to(self, "cpu", memory_format=memory_format)
    T.cuda = lambda self, device=None, non_blocking=False, memory_format=None: to(
        self, "cuda" if device is None else device, non_blocking=non_blocking, memory_format=memory_format)


# PyTorch's short names for casts: ``x.float()`` is ``x.to(gg.float32)``, a differentiable cast.
_SHORT_CASTS = {
    "half": _dtypes.float16, "bfloat16": _dtypes.bfloat16, "float": _dtypes.float32, "double": _dtypes.float64, "cfloat": _dtypes.complex64,
    "cdouble": _dtypes.complex128, "bool": _dtypes.bool_, "byte": _dtypes.uint8, "char": _dtypes.int8,
    "short": _dtypes.int16, "int": _dtypes.int32, "long": _dtypes.int64,
}


def _short_cast(name: str, dtype):
    def cast(self: Tensor, memory_format=None) -> Tensor:
        return to(self, dtype, memory_format=memory_format)

    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = f"``x.to({dtype})``: a differentiable cast."
    return cast


_bind()


def __getattr__(name: str):
    """``gg.ops.<namespace>``: the custom operators made in that namespace (gpugrad/library.py), as
    PyTorch's ``torch.ops.<namespace>.<name>``."""
    if name.startswith("__"):
        raise AttributeError(name)
    if name == "aten":  # aten's own operators by name, imported on first use
        from .aten_namespace import aten

        return aten
    from .. import library

    if name == "load_library":
        return library.load_library
    return library.namespace(name)
