"""Tensor element types and PyTorch's type promotion.

Compute dtypes: float32 (the default), float64, complex64 and complex128 (spectra: gpugrad.fft), int64
(indices, labels) and bool (masks). Storage dtypes: float16, bfloat16 (CPU; its ops compute in float32:
autograd/reduced_float.py), int8, int16, int32 and uint8, with PyTorch's names, aliases and promotion rules.
Every tensor's array holds one of these; NumPy dtypes outside the table are refused or mapped onto one
at creation.

bfloat16's NumPy type is ml_dtypes', imported the first time gpugrad reads it (``bfloat16.np``,
``bfloat16_np()``, or an ml_dtypes array handed in): ml_dtypes' import registers NumPy loops for twenty-one
types, a cost a program that never uses bfloat16 need not pay at ``import gpugrad``.
"""
from __future__ import annotations

import sys

import numpy

from .errors import ArgumentError, DTypeError

# Promotion categories, lowest first: a value of a higher category never fits a lower one.
BOOL, INTEGRAL, FLOATING, COMPLEX = 0, 1, 2, 3


class DType:
    """A tensor element type; ``gg.float32`` and friends are the only instances."""

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize", "category")

    def __init__(self, name: str, category: int, itemsize: int = 0) -> None:
        self.name = name
        self._set_numpy_type(name, itemsize)
        self.category = category
        self.is_floating_point = category == FLOATING
        self.is_complex = category == COMPLEX
        self.is_signed = category in (FLOATING, COMPLEX) or category == INTEGRAL and not name.startswith("uint")
        self.itemsize = itemsize or self.np.itemsize

    def _set_numpy_type(self, name: str, itemsize: int) -> None:
        self.np = numpy.dtype(name) if not itemsize else None  # None: a name gpugrad's arrays cannot hold

    def __repr__(self) -> str:
        # PyTorch's text: code slices, compares and evals it ("torch." + name; the README's `import gpugrad as torch`)
        return f"torch.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


float16 = DType("float16", FLOATING)


class _BFloat16(DType):
    """bfloat16, whose NumPy type (ml_dtypes') is imported at the first read of ``np``."""

    __slots__ = ()

    def _set_numpy_type(self, name: str, itemsize: int) -> None:
        pass

    @property
    def np(self):
        return BFLOAT16_NP or bfloat16_np()


bfloat16 = _BFloat16("bfloat16", FLOATING, itemsize=2)
float32 = DType("float32", FLOATING)
float64 = DType("float64", FLOATING)
uint8 = DType("uint8", INTEGRAL)
int8 = DType("int8", INTEGRAL)
int16 = DType("int16", INTEGRAL)
int32 = DType("int32", INTEGRAL)
int64 = DType("int64", INTEGRAL)
bool_ = DType("bool", BOOL)
complex64 = DType("complex64", COMPLEX)
complex128 = DType("complex128", COMPLEX)

# Names scripts and libraries reach for (in a dict of dtypes, a default argument, finfo(...).max) whose
# tensors gpugrad cannot make yet: ``to_dtype`` refuses them with a clear message, so nothing makes a
# tensor of one, while finfo and iinfo describe them.
float8_e4m3fn = DType("float8_e4m3fn", FLOATING, itemsize=1)
float8_e5m2 = DType("float8_e5m2", FLOATING, itemsize=1)
uint16 = DType("uint16", INTEGRAL, itemsize=2)
uint32 = DType("uint32", INTEGRAL, itemsize=4)
uint64 = DType("uint64", INTEGRAL, itemsize=8)
_SUB_BYTE = {f"{kind}{bits}": DType(f"{kind}{bits}", INTEGRAL, itemsize=1)
             for kind in ("uint", "int") for bits in range(1, 8)}
UNSUPPORTED = {d.name: d for d in (float8_e4m3fn, float8_e5m2, uint16, uint32, uint64, *_SUB_BYTE.values())}
# finfo of the floats NumPy has no type for: (bits, eps, max, smallest normal, resolution), as PyTorch's
_FLOAT_LIMITS = {
    "float8_e4m3fn": (8, 0.125, 448.0, 2.0 ** -6, 1.0),
    "float8_e5m2": (8, 0.25, 57344.0, 2.0 ** -14, 1.0),
}
ALL = (float16, bfloat16, float32, float64, uint8, int8, int16, int32, int64, bool_, complex64, complex128)

_BY_NP = {d.np: d for d in ALL if d is not bfloat16}  # bfloat16's joins when ml_dtypes is imported
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(
    {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "short": int16,
     "char": int8, "byte": uint8, "cfloat": complex64, "cdouble": complex128}
)

NAMES = frozenset(_BY_NAME)  # every spelling ``to_dtype`` accepts as a string

# NumPy's ``kind`` of gpugrad's float arrays: "f" for float16/32/64, and "V" for bfloat16, whose NumPy
# type (ml_dtypes') reports "V". gpugrad's arrays are never structured, so "V" means bfloat16 here.
FLOAT_KINDS = "fV"
INEXACT_KINDS = "fVc"  # float or complex
BFLOAT16_NP = None  # bfloat16's NumPy dtype once ml_dtypes is imported: read it as dtypes.BFLOAT16_NP


def bfloat16_np() -> numpy.dtype:
    """bfloat16's NumPy dtype, importing ml_dtypes the first time."""
    global BFLOAT16_NP
    if BFLOAT16_NP is None:
        import ml_dtypes

        BFLOAT16_NP = numpy.dtype(ml_dtypes.bfloat16)
        _BY_NP[BFLOAT16_NP] = bfloat16
    return BFLOAT16_NP


def of_numpy_dtype(np_dtype) -> DType | None:
    """The table's dtype of a NumPy dtype, or None. An ml_dtypes array made before gpugrad first read
    bfloat16 (kind "V": gpugrad's arrays are never structured) brings bfloat16 in."""
    found = _BY_NP.get(np_dtype)
    if found is None and BFLOAT16_NP is None and np_dtype.kind == "V" and "ml_dtypes" in sys.modules:
        bfloat16_np()
        found = _BY_NP.get(np_dtype)
    return found


def cast_array(array, np_dtype, order: str = "K", copy: bool = True):
    """``array.astype(np_dtype)`` as PyTorch converts: float64 to float16 or bfloat16 goes through
    float32 (PyTorch's half and bfloat16 types are made from a float), so a value near a rounding
    boundary rounds twice, as there; a direct cast differs from PyTorch's in about 1 value in 20,000.
    ``copy=False``: ``array`` itself where it already has the dtype and order."""
    if array.dtype == numpy.float64 and np_dtype.itemsize == 2 and np_dtype.kind in FLOAT_KINDS:
        array = array.astype(numpy.float32, order=order)
    return array.astype(np_dtype, order=order, copy=copy)


if "ml_dtypes" in sys.modules:  # imported already (by JAX, say): nothing to save by waiting
    bfloat16_np()

default_float = float32

_SUPPORTED = ", ".join(d.name for d in ALL)


def default_complex() -> DType:
    """The complex dtype of Python complex numbers: complex64 beside float32, complex128 beside float64."""
    return complex128 if default_float is float64 else complex64


def complex_of(dtype: DType) -> DType:
    """The complex dtype whose parts are ``dtype`` (float32 -> complex64); complex dtypes are their own."""
    if dtype.category == COMPLEX:
        return dtype
    return complex128 if dtype is float64 else complex64


def real_of(dtype: DType) -> DType:
    """The dtype of a complex dtype's parts (complex64 -> float32); real dtypes are their own."""
    return {complex64: float32, complex128: float64}.get(dtype, dtype)


def from_name(name: str) -> DType:
    return UNSUPPORTED[name] if name in UNSUPPORTED else _BY_NAME[name]


def of_array(array) -> DType:
    """The DType of a backend array (always one of the table's: array creation checks)."""
    try:
        return _BY_NP[array.dtype]
    except KeyError:  # an ml_dtypes bfloat16 array from outside, before gpugrad read bfloat16
        found = of_numpy_dtype(array.dtype)
        if found is None:
            raise
        return found


def of_array_checked(array, op: str = "gpugrad") -> DType:
    found = of_numpy_dtype(array.dtype)
    if found is None:
        raise DTypeError(f"{op}: unsupported dtype {array.dtype}: gpugrad has {_SUPPORTED}")
    return found


def to_dtype(dtype) -> DType:
    """Accept a DType, a NumPy dtype, a Python type (float, int, bool, complex: float64, int64, bool and
    complex128 whatever the default dtype, as PyTorch maps them) or a name ("half", "int32", ...)."""
    if isinstance(dtype, DType):
        if dtype.np is None:
            raise DTypeError(f"{dtype.name} is not supported by gpugrad yet: gpugrad has {_SUPPORTED}")
        return dtype
    if dtype is float:
        return float64
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype]
    if isinstance(dtype, str) and dtype in UNSUPPORTED:
        return to_dtype(UNSUPPORTED[dtype])
    try:
        found = of_numpy_dtype(numpy.dtype(dtype))
    except TypeError:
        found = None
    if found is None:
        raise DTypeError(f"unsupported dtype {dtype!r}: gpugrad has {_SUPPORTED}")
    return found


def canonical_np_dtype(np_dtype):
    """The NumPy dtype gpugrad stores for ``np_dtype``: itself when in the table; wider unsigned integers
    (uint16/32/64, which PyTorch has and gpugrad has not) as int64; anything else is refused."""
    if of_numpy_dtype(np_dtype) is not None:
        return np_dtype
    if np_dtype.kind == "u":
        return int64.np
    raise DTypeError(f"unsupported dtype {np_dtype}: gpugrad has {_SUPPORTED}")


def promote_types(a, b) -> DType:
    """The smallest dtype both ``a`` and ``b`` convert to without leaving their category, as
    ``torch.promote_types``: bool < integers < floats; within a category the wider wins; uint8 with a
    signed integer needs a signed type that holds 255 (uint8 + int8 -> int16)."""
    a, b = to_dtype(a), to_dtype(b)
    if a is b:
        return a
    if COMPLEX in (a.category, b.category) and FLOATING in (a.category, b.category):
        wide = max(real_of(a).itemsize, real_of(b).itemsize)  # complex64 with float64 is complex128
        return complex128 if wide == 8 else complex64
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == INTEGRAL and a.is_signed != b.is_signed:
        signed, unsigned = (a, b) if a.is_signed else (b, a)
        return signed if signed.itemsize > unsigned.itemsize else _signed_of_size(2 * unsigned.itemsize)
    if a.itemsize != b.itemsize:
        return a if a.itemsize > b.itemsize else b
    return float32  # two floats of one width (float16, bfloat16): the next float holding both


def _signed_of_size(itemsize: int) -> DType:
    return {1: int8, 2: int16, 4: int32, 8: int64}[itemsize]


promote = promote_types


def integer_range(dtype: DType) -> tuple[int, int]:
    """The integers a dtype holds exactly, as (lowest, highest): all of an integer type's, {0, 1} for
    bool, and for a float every integer up to 2^digits in magnitude (float32: 2^24)."""
    if dtype.is_floating_point:
        top = 2 ** (numpy.finfo(dtype.np).nmant + 1)
        return -top, top
    if dtype is bool_:
        return 0, 1
    info = numpy.iinfo(dtype.np)
    return int(info.min), int(info.max)


def check_integer_range(op: str, low: int, last: int, dtype: DType) -> None:
    """Random integers in [low, last] must fit an integer (or bool) dtype, as PyTorch checks; floats
    take any range."""
    lowest, highest = integer_range(dtype)
    if not dtype.is_floating_point and not (lowest <= low and last <= highest):
        raise ArgumentError(f"{op}: [{low}, {last}] is out of bounds for {dtype.name} ([{lowest}, {highest}])")


def scalar_dtype(value) -> DType:
    """The dtype PyTorch gives a Python number taking part in promotion: the default dtype of its category."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return default_float
    if isinstance(value, complex):
        return default_complex()
    raise DTypeError(f"result_type: expected a Tensor or a Python number, got {type(value).__name__}")


def result_type_of(dims: list, zero_dims: list, scalars: list) -> DType:
    """PyTorch's result type from operand dtypes in three priority groups: tensors with dimensions,
    0-d tensors, Python numbers. A lower group counts only when its category is higher than every
    higher group's (``int8_tensor + 1000`` stays int8, ``int8_tensor + 1.5`` is float32)."""
    return _combine(_promote_all(dims), _combine(_promote_all(zero_dims), _promote_all(scalars)))


def _promote_all(group: list):
    out = None
    for d in group:
        out = d if out is None else promote_types(out, d)
    return out


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.category >= lower.category:
        return higher
    return promote_types(higher, lower)


class finfo:
    """Machine limits of a floating point dtype, as ``torch.finfo``: ``bits``, ``eps``, ``max``, ``min``,
    ``tiny`` (= ``smallest_normal``), ``resolution`` and ``dtype`` (its name). ``finfo()`` describes the
    default dtype."""

    def __init__(self, type=None) -> None:
        if isinstance(type, DType) and type.name in _FLOAT_LIMITS:  # a float gpugrad has no tensors of yet
            self.bits, self.eps, self.max, self.tiny, self.resolution = _FLOAT_LIMITS[type.name]
            self.min, self.smallest_normal, self.dtype = -self.max, self.tiny, type.name
            return
        dtype = default_float if type is None else real_of(to_dtype(type))  # complex: its parts', as PyTorch
        if not dtype.is_floating_point:
            raise TypeError(f"finfo: {dtype} is not a floating point dtype; use gpugrad.iinfo for integers")
        info = numpy.finfo(dtype.np)
        self.bits = int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # a Python float, as PyTorch gives (1e-06 for float32)
        self.dtype = dtype.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``max``, ``min`` and ``dtype`` (its name)."""

    def __init__(self, type) -> None:
        if isinstance(type, DType) and type.name in ("uint16", "uint32", "uint64"):  # no tensors of these yet
            info = numpy.iinfo(type.name)
            self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), type.name
            return
        dtype = to_dtype(type)
        if dtype.category != INTEGRAL:
            raise TypeError(f"iinfo: {dtype} is not an integer dtype; use gpugrad.finfo for floating point")
        info = numpy.iinfo(dtype.np)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
