"""Turning op arguments into Tensors or plain scalars, with PyTorch's type promotion."""
from __future__ import annotations

import numbers
import operator

import numpy

from .. import dtypes
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.reduced_float import is_reduced
from ..dtypes import FLOAT_KINDS, INEXACT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, dim_out_of_range
from ..overrides import takes_calls
from ..tensor import Tensor

_SCALARS = (int, float, bool, complex)


def scalar_or_tensor(value, like: Tensor):
    """Python numbers stay Python numbers (NumPy keeps the tensor's dtype for them); the rest become tensors on like's device."""
    if type(value) in _SCALARS or isinstance(value, Tensor):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # NumPy scalars would promote float32 to float64
        return value.item()
    from ..factory import tensor

    return tensor(value, device=like.device)


def scalar_argument(op: str, name: str, value):
    """A Number argument (add's ``alpha``, addcmul's ``value``, addmm's ``beta``) as a Python number. A 0-d
    tensor that needs no gradient is read with ``item()``, as PyTorch's argument parser does; anything
    else is refused as PyTorch refuses it (a tensor multiplied in silently would take part in no graph)."""
    if isinstance(value, Tensor):
        if value._array.ndim == 0 and not value.requires_grad:
            return value.item()
    elif isinstance(value, numbers.Number):
        return value
    raise TypeError(f"{op}(): argument '{name}' must be Number, not {type(value).__name__}")


def result_type(a, b) -> dtypes.DType:
    """The dtype of an arithmetic op on ``a`` and ``b`` (Tensors or Python numbers), as
    ``torch.result_type``: tensors with dimensions decide within a category, 0-d tensors and Python
    numbers only lift the category (``int8_tensor + 1000`` is int8, ``int8_tensor + 1.5`` float32)."""
    groups = ([], [], [])
    for v in (a, b):
        if isinstance(v, Tensor):
            groups[0 if v._array.ndim else 1].append(dtypes.of_array(v._array))
        else:
            groups[2].append(dtypes.scalar_dtype(v))
    return dtypes.result_type_of(*groups)


def _cast_operand(value, target: dtypes.DType):
    if isinstance(value, Tensor):
        return value if value._array.dtype == target.np else value.to(target)
    if target.category == dtypes.INTEGRAL and type(value) is int:
        # PyTorch wraps a Python int into the tensor's type (uint8 - 1 is 255); NumPy would refuse it.
        return numpy.array(value).astype(target.np).item()
    return value


_INT_LIMITS = {d.np: dtypes.integer_range(d) for d in dtypes.ALL if d.category == dtypes.INTEGRAL}


def _already_promoted(a, b) -> bool:
    """The common cases that need no cast, decided cheaply (every binary op comes through here): two
    tensors of one dtype, a float tensor with a Python float or int, an integer tensor with a Python int
    it holds."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a._array.dtype == b._array.dtype
    t, s = (a, b) if isinstance(a, Tensor) else (b, a)
    kind = type(s)
    if kind is float:
        return t._array.dtype.kind in INEXACT_KINDS
    if kind is int:
        if t._array.dtype.kind in INEXACT_KINDS:
            return True
        limits = _INT_LIMITS.get(t._array.dtype)
        return limits is not None and limits[0] <= s <= limits[1]
    return False


def promote_pair(a, b):
    """Apply PyTorch's promotion to a binary op's operands (one of which is a Tensor): tensors are cast
    to the result type, Python numbers stay Python numbers of it."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._array.dtype == b._array.dtype:  # the common case first: no cast
                return a, b
        else:
            b = scalar_or_tensor(b, a)
    elif isinstance(b, Tensor):
        a = scalar_or_tensor(a, b)
    else:  # two numbers (torch.div(8, 4)): the first becomes a 0-d tensor, as PyTorch wraps it
        from ..factory import tensor

        a = tensor(a)
    if _already_promoted(a, b):
        return a, b
    target = result_type(a, b)
    return _cast_operand(a, target), _cast_operand(b, target)


def round_scalar_to_reduced(a, b):
    """``a`` and ``b`` with a Python float beside a bfloat16 (or CPU float16) tensor rounded to its dtype, as
    PyTorch's CPU add and sub take it (its mul and div keep the float in float32, as gpugrad's ops compute
    anyway: autograd/reduced_float.py)."""
    if b.__class__ is float and isinstance(a, Tensor) and is_reduced(a._array):
        return a, float(a._array.dtype.type(b))
    if a.__class__ is float and isinstance(b, Tensor) and is_reduced(b._array):
        return float(b._array.dtype.type(a)), b
    return a, b


def fused_norm_takes(input: Tensor, *params) -> bool:
    """Whether a normalisation's fused op (layer, batch and group norm) takes ``input`` with ``params``
    (weights, biases, running statistics; None where absent): float32 or float64 with params of the same
    dtype, or bfloat16 or CPU float16 (computed in float32) with params of its dtype or float32, as
    PyTorch's CPU kernels."""
    dtype = input._array.dtype
    if is_reduced(input._array):
        return all(p is None or p._array.dtype in (dtype, numpy.float32) for p in params)
    return dtype in (numpy.float32, numpy.float64) and all(p is None or p._array.dtype == dtype for p in params)


def as_float(t: Tensor) -> Tensor:
    """An integer or bool tensor as the default float dtype, for math functions (``exp`` of an int tensor
    is float32, as in PyTorch); float and complex tensors pass through."""
    return t if t._array.dtype.kind in INEXACT_KINDS else t.to(dtypes.default_float)


def check_scalar_fits(op: str, value, t: Tensor) -> None:
    """A Python int that an op stores as an element of integer tensor ``t`` (a where() branch, a clamp
    bound) must fit its dtype: PyTorch refuses rather than wrapping around."""
    limits = _INT_LIMITS.get(t._array.dtype)
    if limits is not None and type(value) is int and not limits[0] <= value <= limits[1]:
        raise ArgumentError(f"{op}: value {value} cannot be converted to type {t.dtype.name} without overflow")


def require_float(op: str, t: Tensor, complex_too: bool = False) -> None:
    if t._array.dtype.kind not in (INEXACT_KINDS if complex_too else FLOAT_KINDS):
        raise DTypeError(f"{op}: expected a floating point {'or complex ' if complex_too else ''}tensor, got {t.dtype}")


def _dim_index(op: str, d) -> int:
    try:
        return operator.index(d)
    except TypeError:
        raise TypeError(f"{op}: argument 'dim' must be int, not {type(d).__name__}") from None


def normalize_dims(op: str, dim, ndim: int):
    """dim as a tuple of non-negative axes (None for all)."""
    if dim is None:
        return None
    n = ndim if ndim > 0 else 1  # a 0-d tensor takes dim 0 and -1
    if isinstance(dim, int):
        dims = (dim,)
    elif hasattr(dim, "__index__") and not isinstance(dim, (list, tuple)):
        dims = (_dim_index(op, dim),)  # one dim, as in PyTorch: a NumPy int, an integer tensor of one element
    else:
        dims = dim
    out = []
    for d in dims:
        if d.__class__ is not int:
            d = _dim_index(op, d)
        if not -n <= d < n:
            raise IndexError(f"{op}: {dim_out_of_range(d, ndim)}")
        out.append(d + n if d < 0 else d)
    return tuple(out)


def distinct_dims(op: str, dim, ndim: int):
    """``normalize_dims`` for ops that take a set of dims (reductions, flip, squeeze, norms): a dim named
    twice is an error, as in PyTorch."""
    axes = normalize_dims(op, dim, ndim)
    if axes is not None and len(set(axes)) != len(axes):
        twice = next(a for i, a in enumerate(axes) if a in axes[:i])
        raise ArgumentError(f"{op}: dim {twice} appears multiple times in the list of dims")
    return axes


def c_order(a):
    """``a`` itself when C-contiguous, else a C-ordered copy: PyTorch's reductions and scans return
    contiguous results whatever their input's layout, where NumPy's follow the input's (a later ``view``
    depends on it)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def keepdim_shape(shape: tuple, axes) -> tuple:
    """The shape a reduction over ``axes`` has with keepdim=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def takes_operand(other) -> bool:
    """Whether Tensor's operators take ``other``: a tensor, a number or an array. Anything else (a list, a
    string, None, a user's class) gets NotImplemented, as from PyTorch's operators (its argument parser's
    TypeError becomes NotImplemented), so that Python asks the other operand: a class with ``__rmul__``
    handles ``t * obj``, ``t == pytest.approx(0.5)`` asks the approx, ``t + [1, 2]`` and ``t < "a"`` are
    Python's TypeError, ``t == "a"`` is False. An object that defines ``__torch_function__`` is taken: the
    call is handed to it (gpugrad/overrides.py), as PyTorch's operators do."""
    return (isinstance(other, (Tensor, numbers.Number, numpy.ndarray, numpy.generic))
            or hasattr(other, "__cuda_array_interface__") or takes_calls(type(other)))


def hands_back(other) -> bool:
    """Whether Tensor's arithmetic operators answer NotImplemented for ``other``, so that Python asks it: a
    nested tensor (its own operators: gpugrad/nested) or an operand they do not take (``takes_operand``)."""
    return getattr(other, "is_nested", False) or not takes_operand(other)


def foreign_operand_to_python(method):
    """Tensor's operator ``method(self, other)`` (``__matmul__``, ``__rfloordiv__``, ``__iand__`` ...) that
    answers NotImplemented where ``hands_back`` says, so that Python asks the other operand: ``t @ obj`` runs
    ``obj.__rmatmul__(t)``, ``t // [1]`` is Python's TypeError."""
    def guarded(self, other):
        if other.__class__ is not Tensor and hands_back(other):
            return NotImplemented
        return method(self, other)

    guarded.__name__ = getattr(method, "__name__", "guarded")
    guarded.__doc__ = method.__doc__
    return guarded


def reflected(fn):
    """The reflected form of a binary op, for ``__rsub__`` and friends: ``2 - x`` calls ``x.__rsub__(2)``."""
    return lambda self, other: fn(other, self)


# PyTorch's casting rule for writing into an existing tensor: a kind goes into its own or a higher one.
# "V" is bfloat16's NumPy kind (dtypes.FLOAT_KINDS): a float of any width goes into any float.
_CAST_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}


def castable(source, target) -> bool:
    """Whether PyTorch writes values of NumPy dtype ``source`` into a tensor of ``target`` (``out=``,
    in-place ops, ``can_cast``): never complex into real, floats (bfloat16 among them) into integer or bool,
    nor numbers into bool."""
    return _CAST_RANK[source.kind] <= _CAST_RANK[target.kind]


def check_castable(name: str, result: Tensor, target: Tensor) -> None:
    """Refuse to write ``result`` into ``target`` where PyTorch refuses (``castable``)."""
    if not castable(result._array.dtype, target._array.dtype):
        raise DTypeError(f"{name}: result type {result.dtype} can't be cast to the desired output type {target.dtype}")


def write_out(name: str, result: Tensor, out: Tensor | None) -> Tensor:
    """Finish an op called with ``out=``: copy ``result`` into ``out`` (resized to the result's shape, as
    PyTorch does) and return ``out``. ``out`` must not need gradients; without ``out``, return ``result``."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: argument 'out' must be a Tensor, not {type(out).__name__}")
    if is_grad_enabled() and (out.requires_grad or result.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad")
    if out._backend is not result._backend:
        raise DeviceError(f"{name}: expected out on {result.device}, got {out.device}")
    check_castable(name, result, out)
    if tuple(out.shape) != tuple(result.shape):
        out._array = result._array.astype(out._array.dtype, copy=True)
    else:
        out._array[...] = result._array
    out._version_ref[0] += 1
    return out
