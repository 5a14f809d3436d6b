"""The four dtypes: float32 (the default), float64, int64 and bool."""
from __future__ import annotations

import numpy

from .errors import DTypeError


class DType:
    """A tensor element type; ``gg.float32`` and friends are the only instances."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize")

    def __init__(self, name: str, is_floating_point: bool) -> None:
        self.name = name
        self.np = numpy.dtype(name)
        self.is_floating_point = is_floating_point
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"gpugrad.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


float32 = DType("float32", True)
float64 = DType("float64", True)
int64 = DType("int64", False)
bool_ = DType("bool", False)

_BY_NP = {d.np: d for d in (float32, float64, int64, bool_)}
_BY_NAME = {d.name: d for d in (float32, float64, int64, bool_)}
_BY_NAME.update({"float": float32, "double": float64, "long": int64})

default_float = float32


def from_name(name: str) -> DType:
    return _BY_NAME[name]


def of_array(array) -> DType:
    """The DType of a backend array (always one of the four: array creation canonicalises)."""
    return _BY_NP[array.dtype]


def of_array_checked(array) -> DType:
    found = _BY_NP.get(array.dtype)
    if found is None:
        raise DTypeError(f"unsupported dtype {array.dtype}: gpugrad has float32, float64, int64 and bool")
    return found


def to_dtype(dtype) -> DType:
    """Accept a DType, a NumPy dtype, a Python type or a name."""
    if isinstance(dtype, DType):
        return dtype
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype]
    try:
        found = _BY_NP.get(numpy.dtype(dtype))
    except TypeError:
        found = None
    if found is None:
        raise DTypeError(f"unsupported dtype {dtype!r}: gpugrad has float32, float64, int64 and bool")
    return found


def canonical_np_dtype(np_dtype):
    """Map any NumPy dtype onto one of the four (float16 -> float32, int8 -> int64, ...)."""
    kind = np_dtype.kind
    if kind == "f":
        return float64.np if np_dtype == float64.np else float32.np
    if kind in "iu":
        return int64.np
    if kind == "b":
        return bool_.np
    raise DTypeError(f"unsupported dtype {np_dtype}: gpugrad has float32, float64, int64 and bool")


def promote(a: DType, b: DType) -> DType:
    """PyTorch's promotion for two tensors: bool < int64 < float; the wider float wins."""
    if a is b:
        return a
    if a.is_floating_point or b.is_floating_point:
        if a is float64 or b is float64:
            return float64
        return float32
    return int64
