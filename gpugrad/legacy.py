"""PyTorch's legacy tensor types and the Tensor methods that speak them.

``gg.FloatTensor([1, 2])``, ``gg.LongTensor(3, 4)``, ``isinstance(x, gg.FloatTensor)``, ``x.type()``
(``'gpugrad.FloatTensor'``), ``x.type(gg.float64)`` and ``x.new_zeros / new_ones / new_full / new_empty /
new_tensor``. The methods are bound onto Tensor once, at import, from ``METHODS``.
"""
from __future__ import annotations

from . import dtypes, factory
from .errors import ArgumentError, DTypeError
from .size import Size
from .tensor import Tensor

# Legacy type name stems, as in 'torch.FloatTensor'.
_STEMS = {
    dtypes.float32: "Float", dtypes.float64: "Double", dtypes.float16: "Half", dtypes.int64: "Long",
    dtypes.int32: "Int", dtypes.int16: "Short", dtypes.int8: "Char", dtypes.uint8: "Byte", dtypes.bool_: "Bool",
}
_BY_STEM = {stem: dtype for dtype, stem in _STEMS.items()}


class _LegacyTensorType(type):
    """The metaclass that makes ``isinstance(x, gg.FloatTensor)`` ask about dtype and device."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls.device_type

    def __repr__(cls) -> str:
        return f"<class '{cls.type_name}'>"


def _construct(cls, *args) -> Tensor:
    out = construct(cls.type_name, cls.dtype, *args)
    return out if cls.device_type == "cpu" else out.to(cls.device_type)


def construct(name: str, dtype: dtypes.DType, *args) -> Tensor:
    """The legacy constructor's meaning: ``T(*sizes)``, ``T(size)``, ``T(data)``, ``T(tensor)``, ``T()``."""
    if not args:
        return factory.empty(0, dtype=dtype)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype is not dtype:
            raise DTypeError(f"{name}: expected a {dtype} tensor, got {args[0].dtype}")
        return args[0]
    if len(args) == 1 and isinstance(args[0], Size):
        return factory.zeros(*args[0], dtype=dtype)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return factory.zeros(*args, dtype=dtype)  # sizes: PyTorch leaves the memory uninitialised
    if len(args) == 1:
        return factory.tensor(args[0], dtype=dtype)
    raise TypeError(f"{name}: expected sizes (ints), a Size, a sequence of data or a Tensor, got {args!r}")


def _legacy_type(dtype: dtypes.DType, device_type: str = "cpu") -> type:
    name = f"{_STEMS[dtype]}Tensor"
    type_name = f"gpugrad.{'cuda.' if device_type == 'cuda' else ''}{name}"
    return _LegacyTensorType(
        name,
        (),
        {
            "dtype": dtype,
            "device_type": device_type,
            "type_name": type_name,
            "__new__": _construct,
            "__doc__": f"``{type_name}(data)`` or ``{type_name}(*sizes)``: a {device_type.upper()} tensor of dtype {dtype}.",
        },
    )


FloatTensor = _legacy_type(dtypes.float32)
DoubleTensor = _legacy_type(dtypes.float64)
HalfTensor = _legacy_type(dtypes.float16)
LongTensor = _legacy_type(dtypes.int64)
IntTensor = _legacy_type(dtypes.int32)
ShortTensor = _legacy_type(dtypes.int16)
CharTensor = _legacy_type(dtypes.int8)
ByteTensor = _legacy_type(dtypes.uint8)
BoolTensor = _legacy_type(dtypes.bool_)
# gg.cuda's (``Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor``, as many scripts choose)
CUDA_TYPES = {f"{stem}Tensor": _legacy_type(dtype, "cuda") for dtype, stem in _STEMS.items()}


def _parse_type_name(op: str, name: str) -> tuple[dtypes.DType, bool]:
    """The dtype and whether CUDA is meant, from 'gpugrad.FloatTensor', 'torch.cuda.LongTensor', ..."""
    parts = name.split(".")
    stem = parts[-1][: -len("Tensor")] if parts[-1].endswith("Tensor") else None
    if parts[0] not in ("gpugrad", "torch") or stem not in _BY_STEM or parts[1:-1] not in ([], ["cuda"]):
        raise ArgumentError(f"{op}: invalid type: {name!r}")
    return _BY_STEM[stem], parts[1:-1] == ["cuda"]


def tensor_type(x: Tensor, dtype=None, non_blocking: bool = False, **kwargs):
    """``x.type()``: the legacy type name ('gpugrad.FloatTensor', 'gpugrad.cuda.LongTensor'); ``x.type(t)``:
    ``x`` cast to the dtype ``t`` (a dtype, a legacy type or its name), ``x`` itself when it already is."""
    if dtype is None:
        where = "cuda." if x.device.type == "cuda" else ""
        return f"gpugrad.{where}{_STEMS[x.dtype]}Tensor"
    device = None
    if isinstance(dtype, _LegacyTensorType):
        dtype, device = dtype.dtype, dtype.device_type
    elif dtype is Tensor:  # PyTorch's default tensor type: a CPU tensor of the default float dtype
        dtype, device = dtypes.default_float, "cpu"
    elif isinstance(dtype, str) and "Tensor" in dtype:
        dtype, cuda = _parse_type_name("type", dtype)
        device = "cuda" if cuda else "cpu"
    else:
        dtype = dtypes.to_dtype(dtype)
    if dtype is x.dtype and (device is None or x.device.type == device):
        return x
    return x.to(device=device, dtype=dtype) if device is not None else x.to(dtype)


def _size(sizes: tuple, size=None) -> tuple:
    """Sizes as varargs, one sequence, or PyTorch's ``size=`` keyword."""
    if size is not None:
        if sizes:
            raise TypeError("got the sizes both as positional arguments and as 'size='")
        sizes = (size,)
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes


def new_zeros(x: Tensor, *sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``size`` with ``x``'s dtype and device unless given."""
    return factory.zeros(*_size(sizes, size), dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def new_ones(x: Tensor, *sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``size`` with ``x``'s dtype and device unless given."""
    return factory.ones(*_size(sizes, size), dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def new_empty(x: Tensor, *sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` with ``x``'s dtype and device unless given."""
    return factory.empty(*_size(sizes, size), dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def new_empty_strided(x: Tensor, size, stride, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``new_empty`` of ``size``: gpugrad's new tensors are row-major, so ``stride`` is not kept."""
    return new_empty(x, *size, dtype=dtype, device=device, requires_grad=requires_grad)


def new_full(x: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in every element of ``size``, with ``x``'s dtype and device unless given."""
    return factory.full(size, fill_value, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def new_tensor(x: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` with ``x``'s dtype and device unless given (even for integer data, as PyTorch)."""
    return factory.tensor(data, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def new(x: Tensor, *args) -> Tensor:
    """The legacy ``x.new(...)``: the legacy constructor's meaning (sizes, data, a tensor or nothing) with
    ``x``'s dtype and device."""
    out = construct("new", x.dtype, *args)
    return out if out.device == x.device else out.to(x.device)


METHODS = {
    "type": tensor_type,
    "new": new,
    "new_zeros": new_zeros,
    "new_ones": new_ones,
    "new_empty": new_empty,
    "new_empty_strided": new_empty_strided,
    "new_full": new_full,
    "new_tensor": new_tensor,
}
for _name, _method in METHODS.items():
    setattr(Tensor, _name, _method)
