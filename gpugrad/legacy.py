"""PyTorch's legacy tensor types and the Tensor methods that speak them.

``gg.FloatTensor([1, 2])``, ``gg.LongTensor(3, 4)``, ``isinstance(x, gg.FloatTensor)``, ``x.type()``
(``'torch.FloatTensor'``, PyTorch's text), ``x.type(gg.float64)`` and ``x.new_zeros / new_ones / new_full / new_empty /
new_tensor``. The methods are bound onto Tensor once, at import, from ``METHODS``. The sparse COO types
(``gg.sparse.FloatTensor(indices, values, size)``, ``isinstance(s, gg.sparse.DoubleTensor)``) are made
here too; gpugrad.sparse holds them.
"""
from __future__ import annotations

import warnings

from . import dtypes, factory, layouts
from .backend import Device
from .backend import get as backend_of
from .errors import ArgumentError, DTypeError
from .size import Size
from .storage import UntypedStorage
from .tensor import Tensor

# Legacy type name stems, as in 'torch.FloatTensor'.
_STEMS = {
    dtypes.float32: "Float", dtypes.float64: "Double", dtypes.float16: "Half", dtypes.int64: "Long",
    dtypes.int32: "Int", dtypes.int16: "Short", dtypes.int8: "Char", dtypes.uint8: "Byte", dtypes.bool_: "Bool",
}
_BY_STEM = {stem: dtype for dtype, stem in _STEMS.items()}


class _LegacyTensorType(type):
    """The metaclass that makes ``isinstance(x, gg.FloatTensor)`` ask about dtype, device and layout."""

    def __instancecheck__(cls, obj) -> bool:
        return (isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls.device_type
                and obj.layout is cls.layout)

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
    if len(args) == 1 and isinstance(args[0], UntypedStorage):  # its bytes as elements of dtype, shared
        raw = args[0]._bytes()
        if raw.size % dtype.itemsize:
            raise RuntimeError(f"{name}: a storage of {raw.size} bytes is not a whole number of {dtype} elements "
                               f"({dtype.itemsize} bytes each)")
        return Tensor._make(raw.view(dtype.np), backend_of(args[0].device))
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return factory.zeros(*args, dtype=dtype)  # sizes: PyTorch leaves the memory uninitialised
    if len(args) == 1:
        return factory.tensor(args[0], dtype=dtype)
    raise TypeError(f"{name}: expected sizes (ints), a Size, a sequence of data or a Tensor, got {args!r}")


def _construct_sparse(cls, *args, device=None):
    """The legacy sparse constructor's meaning, as PyTorch's: ``T(indices, values[, size])`` is
    ``sparse_coo_tensor(indices, values[, size])`` (the values' dtype and device, not the type's);
    ``T(*sizes)``, ``T(size)`` and ``T()`` are empty sparse tensors of the type's dtype."""
    from .sparse.coo import sparse_coo_tensor  # gpugrad.sparse builds on this module

    if device is not None and Device(device).type != cls.device_type:
        raise RuntimeError(f"legacy constructor expects device type: {cls.device_type} but device type: "
                           f"{Device(device).type} was passed")
    warnings.warn(f"{cls.type_name}(...) is deprecated. Please use torch.sparse_coo_tensor(indices, values, shape, "
                  "dtype=, device=) or torch.sparse_coo_tensor(shape, dtype=, device=).", UserWarning, stacklevel=2)
    if len(args) in (2, 3) and isinstance(args[0], Tensor) and isinstance(args[1], Tensor):
        indices, values, *size = args
        if indices.dtype is not dtypes.int64:
            raise RuntimeError(f"{cls.__name__}: indices must be an int64 tensor, got {indices.dtype}")
        if size and not (isinstance(size[0], (tuple, list)) and all(isinstance(n, int) for n in size[0])):
            raise TypeError(f"{cls.__name__}: size must be a tuple of ints, got {type(size[0]).__name__}")
        return sparse_coo_tensor(indices, values, *size)
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in sizes):
        raise TypeError(f"{cls.__name__}: expected (indices, values), (indices, values, size), sizes (ints) or a Size, "
                        f"got ({', '.join(type(a).__name__ for a in args)})")
    return sparse_coo_tensor(sizes or (0,), dtype=cls.dtype, device=cls.device_type)


def _legacy_type(dtype: dtypes.DType, device_type: str = "cpu", layout: layouts.layout = layouts.strided) -> type:
    name = f"{_STEMS[dtype]}Tensor"
    sparse = layout is layouts.sparse_coo
    type_name = f"torch.{'cuda.' if device_type == 'cuda' else ''}{'sparse.' if sparse else ''}{name}"
    doc = (f"``{type_name}(indices, values, size)`` (the values' dtype) or ``{type_name}(*sizes)`` (empty, of dtype "
           f"{dtype}): a sparse COO tensor." if sparse else
           f"``{type_name}(data)`` or ``{type_name}(*sizes)``: a {device_type.upper()} tensor of dtype {dtype}.")
    return _LegacyTensorType(
        name,
        (),
        {
            "dtype": dtype,
            "device_type": device_type,
            "layout": layout,
            "type_name": type_name,
            "__new__": _construct_sparse if sparse else _construct,
            "__doc__": doc,
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
# gg.sparse's (PyTorch has no sparse BoolTensor)
SPARSE_TYPES = {f"{stem}Tensor": _legacy_type(dtype, layout=layouts.sparse_coo) for dtype, stem in _STEMS.items()
                if dtype is not dtypes.bool_}
# gg.cuda.sparse's: the same on the GPU
CUDA_SPARSE_TYPES = {f"{stem}Tensor": _legacy_type(dtype, "cuda", layouts.sparse_coo) for dtype, stem in _STEMS.items()
                     if dtype is not dtypes.bool_}


def _parse_type_name(op: str, name: str) -> tuple[dtypes.DType, bool]:
    """The dtype and whether CUDA is meant, from 'torch.FloatTensor', 'gpugrad.cuda.sparse.LongTensor', ..."""
    parts = name.split(".")
    stem = parts[-1][: -len("Tensor")] if parts[-1].endswith("Tensor") else None
    if (parts[0] not in ("gpugrad", "torch") or stem not in _BY_STEM
            or parts[1:-1] not in ([], ["cuda"], ["sparse"], ["cuda", "sparse"])):
        raise ArgumentError(f"{op}: invalid type: {name!r}")
    return _BY_STEM[stem], parts[1:2] == ["cuda"]


def tensor_type(x: Tensor, dtype=None, non_blocking: bool = False, **kwargs):
    """``x.type()``: the legacy type name ('torch.FloatTensor', 'torch.cuda.LongTensor'), as PyTorch's; ``x.type(t)``:
    ``x`` cast to the dtype ``t`` (a dtype, a legacy type or its name), ``x`` itself when it already is."""
    if dtype is None:
        where = ("cuda." if x.device.type == "cuda" else "") + ("sparse." if x.layout is layouts.sparse_coo else "")
        return f"torch.{where}{_STEMS[x.dtype]}Tensor"  # PyTorch's text, as dtypes' repr
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
