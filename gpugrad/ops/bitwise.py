"""Bitwise ops on integer and bool tensors (logical on bool): and, or, xor, not, shifts.

None of them is differentiable: their results are integer or bool tensors, which never require grad.
Operands are promoted as for arithmetic (``bool_tensor & 1`` is int64), then floats are refused, as
PyTorch does.
"""
from __future__ import annotations

from .. import dtypes
from ..dtypes import FLOAT_KINDS
from ..errors import DeviceError, DTypeError
from ..tensor import Tensor
from ._operands import foreign_operand_to_python, promote_pair, reflected, write_out
from .elementwise import check_broadcast
from .inplace import inplace_variant


def _require_integral(name: str, dtype: dtypes.DType, bool_ok: bool = True) -> None:
    if dtype.category == dtypes.FLOATING or (dtype.category == dtypes.BOOL and not bool_ok):
        takes = "integer and bool tensors" if bool_ok else "integer tensors"
        raise DTypeError(f'{name}: "{name}" is not implemented for {dtype.name} tensors; it takes {takes}')


def _operand_arrays(name: str, a, b, bool_ok: bool = True):
    """Both operands as backend arrays of their common dtype, and the backend they live on."""
    if not (isinstance(a, Tensor) or isinstance(b, Tensor)):
        raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._backend is not b._backend:
        raise DeviceError(f"{name}: expected all tensors on the same device, got {a.device} and {b.device}")
    like = a if isinstance(a, Tensor) else b
    for v in (a, b):  # refuse floats by name; bools only after promotion (bool_tensor << 1 is int64)
        if isinstance(v, Tensor) and v._array.dtype.kind in FLOAT_KINDS or isinstance(v, float):
            _require_integral(name, dtypes.of_array(v._array) if isinstance(v, Tensor) else dtypes.default_float)
    a, b = promote_pair(a, b)
    target = dtypes.of_array((a if isinstance(a, Tensor) else b)._array)
    _require_integral(name, target, bool_ok)
    xp = like._backend.xp
    arrays = [v._array if isinstance(v, Tensor) else xp.asarray(v, dtype=target.np) for v in (a, b)]
    check_broadcast(name, arrays[0].shape, arrays[1].shape)
    return arrays, like._backend


def _binary(name: str, compute, bool_ok: bool = True):
    def op(input, other, *, out: Tensor | None = None) -> Tensor:
        (a, b), backend = _operand_arrays(name, input, other, bool_ok)
        result = Tensor._make(backend.xp.asarray(compute(backend.xp, a, b)), backend)
        return write_out(name, result, out)

    op.__name__ = name
    return op


bitwise_and = _binary("bitwise_and", lambda xp, a, b: xp.bitwise_and(a, b))
bitwise_and.__doc__ = "Bitwise AND of integer tensors, logical AND of bool tensors (not differentiable)."
bitwise_or = _binary("bitwise_or", lambda xp, a, b: xp.bitwise_or(a, b))
bitwise_or.__doc__ = "Bitwise OR of integer tensors, logical OR of bool tensors (not differentiable)."
bitwise_xor = _binary("bitwise_xor", lambda xp, a, b: xp.bitwise_xor(a, b))
bitwise_xor.__doc__ = "Bitwise XOR of integer tensors, logical XOR of bool tensors (not differentiable)."


def _shift_out_of_range(xp, a, b):
    """Shift counts PyTorch treats as 'all bits gone': negative or at least the type's width. (NumPy, like
    the C shift, would take them modulo the width.)"""
    return (b < 0) | (b >= a.dtype.itemsize * 8)


def _left_shift(xp, a, b):
    gone = _shift_out_of_range(xp, a, b)
    shifted = xp.left_shift(a, xp.where(gone, 0, b).astype(a.dtype))
    return xp.where(gone, xp.zeros((), a.dtype), shifted)


def _right_shift(xp, a, b):
    gone = _shift_out_of_range(xp, a, b)
    shifted = xp.right_shift(a, xp.where(gone, 0, b).astype(a.dtype))
    sign_fill = xp.where(a < 0, -1, 0).astype(a.dtype) if a.dtype.kind == "i" else xp.zeros((), a.dtype)
    return xp.where(gone, sign_fill, shifted)


bitwise_left_shift = _binary("bitwise_left_shift", _left_shift, bool_ok=False)
bitwise_left_shift.__doc__ = (
    "input << other on integer tensors, wrapping in the dtype; a negative count or one of at least the "
    "type's width gives 0 (not differentiable)."
)
bitwise_right_shift = _binary("bitwise_right_shift", _right_shift, bool_ok=False)
bitwise_right_shift.__doc__ = (
    "input >> other on integer tensors (arithmetic for signed types); a negative count or one of at least "
    "the type's width gives -1 for negative inputs, else 0 (not differentiable)."
)


def bitwise_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Bitwise NOT of an integer tensor (~x = -x - 1), logical NOT of a bool tensor (not differentiable)."""
    dtype = dtypes.of_array(input._array)
    if dtype.category == dtypes.FLOATING:
        raise DTypeError(f"bitwise_not: ~ is only implemented on integer and bool tensors, got {dtype.name}")
    result = Tensor._make(input._backend.xp.invert(input._array), input._backend)
    return write_out("bitwise_not", result, out)


def _checked_inplace(fn):
    """``x.<fn>_(...)``: as inplace_variant, but the result type must also fit x's (PyTorch refuses
    ``bool_tensor.bitwise_and_(int_tensor)``, whose result is int64)."""
    name = fn.__name__ + "_"
    write = inplace_variant(fn, name)

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        if args and (isinstance(args[0], Tensor) or type(args[0]) in (int, float, bool)):
            mine = dtypes.of_array(self._array)
            result = promote_pair(self, args[0])
            result = dtypes.of_array(next(v for v in result if isinstance(v, Tensor))._array)
            if result.category > mine.category:
                raise DTypeError(f"{name}: result type {result.name} can't be cast to the desired output type {mine.name}")
        return write(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}``."
    return method


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (bitwise_and, bitwise_or, bitwise_xor, bitwise_not, bitwise_left_shift, bitwise_right_shift)
DIFFERENTIABLE = ()
_BINARY = {"and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor, "lshift": bitwise_left_shift,
           "rshift": bitwise_right_shift}
_IN_PLACE = {fn.__name__: _checked_inplace(fn) for fn in FUNCTIONS}
METHODS = {f.__name__: f for f in FUNCTIONS}
METHODS.update((name + "_", method) for name, method in _IN_PLACE.items())
METHODS.update((f"__{op}__", foreign_operand_to_python(fn)) for op, fn in _BINARY.items())
METHODS.update((f"__r{op}__", foreign_operand_to_python(reflected(fn))) for op, fn in _BINARY.items())
METHODS.update((f"__i{op}__", foreign_operand_to_python(_IN_PLACE[fn.__name__])) for op, fn in _BINARY.items())
METHODS["__invert__"] = bitwise_not
