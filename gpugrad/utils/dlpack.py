"""DLPack interop, as ``torch.utils.dlpack``: tensors cross to and from NumPy, CuPy and PyTorch without a copy.

    t = gpugrad.from_dlpack(numpy_array_or_cupy_array_or_torch_tensor)   # shares memory
    a = numpy.from_dlpack(t)          # or cupy.from_dlpack / torch.from_dlpack on a CUDA tensor
"""
from __future__ import annotations

import ctypes

import numpy

from .. import backend as _backend_mod
from .. import dtypes
from ..errors import DeviceError
from ..tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]

# DLPack's device types (dlpack.h, DLDeviceType).
_CPU, _CUDA, _CUDA_HOST = 1, 2, 3


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLTensorHead(ctypes.Structure):
    """The first fields of DLManagedTensor's DLTensor: enough to learn where a capsule's data lives."""

    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice)]


class _Capsule:
    """A bare DLPack capsule (the old protocol: ``to_dlpack``'s result) dressed as a modern exporter."""

    def __init__(self, capsule) -> None:
        get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        try:
            head = _DLTensorHead.from_address(get_pointer(capsule, b"dltensor"))
        except ValueError as exc:  # already consumed ("used_dltensor") or not a DLPack capsule at all
            raise ValueError("from_dlpack: the capsule was already consumed or is not a DLPack tensor") from exc
        self._capsule = capsule
        self._device = (head.device.device_type, head.device.device_id)

    def __dlpack__(self, **_):
        return self._capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._device


class _WritableView:
    """The same memory described as writable: NumPy marks arrays from old-protocol capsules read-only,
    since such a capsule cannot say; PyTorch, which made the capsule, hands them out writable."""

    def __init__(self, array: numpy.ndarray) -> None:
        interface = dict(array.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface
        self.base = array  # keeps the capsule's owner alive as long as the view


def _writable(array: numpy.ndarray) -> numpy.ndarray:
    return array if array.flags.writeable else numpy.asarray(_WritableView(array))


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``: any object with ``__dlpack__`` (NumPy and CuPy arrays,
    PyTorch tensors, ...) or a DLPack capsule. CPU data gives a CPU tensor, CUDA data a tensor on that GPU."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got {type(ext_tensor).__name__}")
    device_type, index = ext_tensor.__dlpack_device__()
    if device_type in (_CPU, _CUDA_HOST):
        backend, array = _backend_mod.cpu, numpy.from_dlpack(ext_tensor)
        if isinstance(ext_tensor, _Capsule):
            array = _writable(array)
    elif device_type == _CUDA:
        backend = _backend_mod.get(f"cuda:{index}")
        if backend.xp is numpy:
            raise DeviceError("from_dlpack: CUDA data cannot be shared with the simulated cuda device")
        array = backend.xp.from_dlpack(ext_tensor)  # pragma: no cover - needs a GPU
    else:
        raise DeviceError(f"from_dlpack: data on DLPack device type {device_type}; gpugrad holds CPU and CUDA tensors")
    dtypes.of_array_checked(array, "from_dlpack")
    return Tensor._make(array, backend)


def to_dlpack(tensor: Tensor):
    """A DLPack capsule for ``tensor`` (the old protocol; new code passes the tensor to ``from_dlpack``)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor.__dlpack__()
