"""``Tensor.untyped_storage()`` and ``Tensor.storage()``: what PyTorch code asks of the memory block behind a
tensor (its address, its size in bytes, its device), to tell whether two tensors share memory (safetensors'
shared-tensor check, memory accounting). A storage here is a read-only description of the array that owns
the memory; gpugrad has no resizable storages and no storage-level writes."""
from __future__ import annotations

import warnings
import weakref
from typing import Any

from . import dtypes

__all__ = ["TypedStorage", "UntypedStorage"]


def _owner(array) -> Any:
    """The array that owns ``array``'s memory (itself, or the base its views lead to)."""
    while isinstance(array.base, type(array)):
        array = array.base
    return array


# An optimizer's flat buffer (optim/flat.py) holds its parameters, gradients or state side by side, where
# PyTorch gives each tensor a storage of its own: each piece registered here counts as a block by itself,
# so that code that groups tensors by storage (safetensors' shared-tensor check) sees what PyTorch shows.
_pieces: dict[int, tuple[Any, list[tuple[int, int]]]] = {}  # id(buffer) -> (weak ref, [(start, stop) bytes])


def register_pieces(buffer, bounds: list[tuple[int, int]]) -> None:
    """Count each byte range ``[start, stop)`` of ``buffer`` as a memory block of its own."""
    key = id(buffer)
    _pieces[key] = (weakref.ref(buffer, lambda _ref: _pieces.pop(key, None)), bounds)


def _block(array) -> Any:
    """The memory block behind ``array``: its owner, or the registered piece of one that holds it."""
    owner = _owner(array)
    entry = _pieces.get(id(owner))
    if entry is not None and entry[0]() is owner:
        offset = _address(array) - _address(owner)
        for start, stop in entry[1]:
            if start <= offset < stop:
                return owner.reshape(-1).view("uint8")[start:stop]
    return owner


def _address(array) -> int:
    interface = getattr(array, "__cuda_array_interface__", None) or array.__array_interface__
    return interface["data"][0]


class _Storage:
    """What both kinds of storage tell: the block's address, size in bytes and device."""

    def __init__(self, array, device) -> None:
        self._owner = _block(array)
        self.device = device

    def data_ptr(self) -> int:
        """The address of the block's first byte (two tensors share memory when their storages' agree)."""
        return _address(self._owner)

    def nbytes(self) -> int:
        return int(self._owner.nbytes)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.data_ptr() == self.data_ptr() and other.nbytes() == self.nbytes()
                and other.device == self.device)

    def __hash__(self) -> int:
        return hash((self.data_ptr(), self.nbytes()))


class UntypedStorage(_Storage):
    """The bytes behind a tensor: ``t.untyped_storage()``; or a file's bytes, ``UntypedStorage.from_file``,
    sliced by byte ranges and read as a tensor by ``gg.asarray(storage[a:b], dtype=gg.uint8)`` (how
    safetensors' ``safe_open(framework="pt")`` reads a checkpoint)."""

    @classmethod
    def from_file(cls, filename: str, shared: bool = False, nbytes: int = 0) -> "UntypedStorage":
        """The first ``nbytes`` of ``filename``, mapped copy-on-write (``shared=False``: writes stay in this
        process) or shared with the file (``shared=True``)."""
        import numpy

        from .backend import Device

        mapped = numpy.memmap(filename, dtype=numpy.uint8, mode="r+" if shared else "c", shape=(int(nbytes),))
        return cls._of_bytes(mapped.view(numpy.ndarray), Device("cpu"))

    @classmethod
    def _of_bytes(cls, data, device) -> "UntypedStorage":
        """A storage that is exactly ``data`` (1-d uint8), not the whole block it views."""
        out = cls.__new__(cls)
        out._owner, out.device = data, device
        return out

    @classmethod
    def _new_shared(cls, size: int, *, device=None) -> "UntypedStorage":
        """``size`` zero bytes that other processes map (gpugrad.multiprocessing's shared memory): a
        DataLoader worker builds its batch there (``x.new(storage)``), which then crosses by reference."""
        from .backend import Device
        from .multiprocessing import shared

        where = Device(device if device is not None else "cpu")
        if where.type != "cpu":
            raise NotImplementedError(f"UntypedStorage._new_shared: shared memory is on the CPU only, not {where}")
        return cls._of_bytes(shared.shared_empty((int(size),), "uint8"), where)

    def untyped(self) -> "UntypedStorage":
        return self

    def _bytes(self):
        """This storage's memory as a 1-d uint8 array."""
        return self._owner.reshape(-1).view("uint8")

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return int(self._bytes()[index])
        return UntypedStorage._of_bytes(self._bytes()[index], self.device)

    def size(self) -> int:
        return self.nbytes()

    __len__ = size

    def element_size(self) -> int:
        return 1

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.uint8

    def __repr__(self) -> str:
        return f"gpugrad.UntypedStorage of {self.nbytes()} bytes on {self.device}"


class TypedStorage(_Storage):
    """The block counted in elements of the tensor's dtype: ``t.storage()`` (deprecated in PyTorch)."""

    def __init__(self, array, device) -> None:
        super().__init__(array, device)
        self._dtype = dtypes.of_array(array)

    @property
    def dtype(self) -> dtypes.DType:
        return self._dtype

    def element_size(self) -> int:
        return self._dtype.itemsize

    def size(self) -> int:
        return self.nbytes() // self.element_size()

    __len__ = size

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._owner, self.device)

    def __repr__(self) -> str:
        return f"gpugrad.TypedStorage of {self.size()} {self._dtype} elements on {self.device}"


def typed_storage(t) -> TypedStorage:
    warnings.warn("TypedStorage is deprecated (as in PyTorch): use untyped_storage() instead", UserWarning,
                  stacklevel=2)
    return TypedStorage(t._array, t.device)
