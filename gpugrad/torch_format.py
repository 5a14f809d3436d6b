"""Reading the checkpoints PyTorch's ``torch.save`` writes, by the rules of ``torch.load(weights_only=True)``.

PyTorch's format is a zip archive: ``<name>/data.pkl``, a pickle of the saved object whose tensors refer
to raw storages ``<name>/data/<key>``, and ``<name>/byteorder``. The pickle is read by a restricted
unpickler that resolves only the globals a file of tensors needs (PyTorch's rebuild functions, its
storage types, ``Size``, dtypes, devices, ``OrderedDict``; a sparse COO tensor's rebuild function and
layout) and refuses any other, as PyTorch's
weights-only loader does: so a checkpoint cannot run code here either. Everything else about gpugrad's
own checkpoints (safetensors, no pickle) stays as it was; this is the door for files PyTorch wrote.

Each tensor comes back as a Tensor of its own memory (PyTorch's tensors that shared one storage, tied
weights say, are separate copies here: ``load_state_dict`` copies into the model's parameters anyway).
"""
from __future__ import annotations

import collections
import pickle
import zipfile
from typing import Any, BinaryIO

import numpy

from . import backend as _backend_mod
from . import dtypes as _dtypes
from .dtypes import INEXACT_KINDS
from .size import Size
from .tensor import Tensor

_STORAGE_DTYPES = {
    "FloatStorage": numpy.float32, "DoubleStorage": numpy.float64, "HalfStorage": numpy.float16,
    "BFloat16Storage": None,  # ml_dtypes' type, read when such a storage is met (dtypes.bfloat16_np)
    "LongStorage": numpy.int64, "IntStorage": numpy.int32, "ShortStorage": numpy.int16, "CharStorage": numpy.int8,
    "ByteStorage": numpy.uint8, "BoolStorage": numpy.bool_, "ComplexFloatStorage": numpy.complex64,
    "ComplexDoubleStorage": numpy.complex128,
}
_DTYPE_NAMES = {"float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32",
                "int", "int16", "short", "int8", "uint8", "bool", "complex64", "cfloat", "complex128", "cdouble"}


def is_torch_checkpoint(head: bytes) -> bool:
    """Whether a file's first bytes are a zip archive's, as PyTorch's checkpoints are."""
    return head[:4] == b"PK\x03\x04"


class _StorageType:
    """What the pickle names as ``torch.FloatStorage`` (and the others): the dtype of a raw storage."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _dtypes.bfloat16_np() if name == "BFloat16Storage" else _STORAGE_DTYPES.get(name)


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """torch._utils._rebuild_tensor_v2: a tensor of ``size`` and ``stride`` (in elements) over ``storage``."""
    itemsize = storage.dtype.itemsize
    if len(size) and min(size) == 0:
        array = numpy.zeros(tuple(size), storage.dtype)
    else:
        view = numpy.lib.stride_tricks.as_strided(storage[storage_offset:], shape=tuple(size),
                                                  strides=tuple(s * itemsize for s in stride), writeable=False)
        array = numpy.array(view, order="C")  # its own memory: the storage is the file's bytes
    out = Tensor._make(array, _backend_mod.cpu)
    out._requires_grad = bool(requires_grad) and array.dtype.kind in INEXACT_KINDS
    return out


def _get_layout(name):
    """torch.serialization._get_layout: the layout a pickled sparse tensor names ("torch.sparse_coo")."""
    return name  # checked by _rebuild_sparse_tensor, which says what it cannot hold


def _rebuild_sparse_tensor(layout, data):
    """torch._utils._rebuild_sparse_tensor: a sparse COO tensor from (indices, values, size[, is_coalesced]),
    checked as torch.load checks a loaded sparse tensor's invariants."""
    from .serialization import SerializationError, sparse_from_parts

    if layout != "torch.sparse_coo":
        raise SerializationError(f"gg.load: the checkpoint holds a {layout} tensor, which gpugrad cannot hold "
                                 "(its sparse tensors are COO: save t.to_sparse_coo() instead)")
    if not isinstance(data, tuple) or len(data) not in (3, 4):
        raise SerializationError(f"gg.load: a sparse COO tensor's parts must be (indices, values, size[, is_coalesced]), "
                                 f"got {type(data).__name__}")
    indices, values, size = data[:3]
    out = sparse_from_parts(indices, values, tuple(size), bool(data[3]) if len(data) == 4 else False)
    out._sparse_values._requires_grad = False  # as torch.load: a loaded sparse tensor requires no gradient
    return out


def _rebuild_parameter(data, requires_grad, backward_hooks=None, *state):
    """torch._utils._rebuild_parameter: saved Parameters load as plain tensors, as state dicts hold them."""
    data._requires_grad = bool(requires_grad) and data._array.dtype.kind in INEXACT_KINDS
    return data


# What ``add_safe_globals`` / ``safe_globals`` allow beyond the rules below, as PyTorch's weights-only
# unpickler takes them: objects, or (object, "module.name") pairs.
user_safe_globals: list = []


def _user_allowed(module: str, name: str) -> Any:
    for entry in user_safe_globals:
        obj, full = entry if isinstance(entry, tuple) else (entry, f"{entry.__module__}.{entry.__qualname__}")
        if full == f"{module}.{name}":
            return obj
    return None


def _allowed_global(module: str, name: str) -> Any:
    if module == "torch.serialization" and name == "_get_layout":
        return _get_layout
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
        return _rebuild_parameter
    if module == "torch" and name.endswith("Storage"):
        return _StorageType(name)
    if module == "torch" and name == "Size":
        return Size
    if module == "torch" and name in _DTYPE_NAMES:
        return _dtypes.to_dtype(name)
    if module == "torch" and name == "device":
        from .backend import Device

        return Device
    if module == "builtins" and name in ("set", "frozenset", "complex", "slice", "bytearray"):
        return {"set": set, "frozenset": frozenset, "complex": complex, "slice": slice, "bytearray": bytearray}[name]
    return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, path: str, read_storage) -> None:
        import io

        super().__init__(io.BytesIO(data))
        self.path, self.read_storage = path, read_storage
        self.storages: dict = {}
        self.storage_locations: dict[int, str] = {}  # id(storage array) -> where it was saved ("cuda:0")
        self.locations: dict[int, str] = {}  # id(tensor) -> where its storage was saved

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_sparse_tensor":
            return self._rebuild_sparse_tensor
        found = _allowed_global(module, name)
        if found is None:
            found = _user_allowed(module, name)
        if found is None:
            from .serialization import SerializationError

            raise SerializationError(
                f"gg.load: '{self.path}' is a PyTorch checkpoint holding {module}.{name}, which a weights-only load "
                "refuses (gpugrad reads tensors, containers, numbers and strings from PyTorch's files, as "
                "torch.load(weights_only=True) does; save a state_dict instead of the object)")
        return found

    def persistent_load(self, pid) -> numpy.ndarray:
        from .serialization import SerializationError

        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise SerializationError(f"gg.load: '{self.path}': unknown storage reference {pid!r}")
        _, kind, key, location, numel = pid
        if not isinstance(kind, _StorageType) or kind.dtype is None:
            what = kind.name if isinstance(kind, _StorageType) else kind
            raise SerializationError(f"gg.load: '{self.path}' holds a {what} tensor, which gpugrad cannot hold")
        if key not in self.storages:
            self.storages[key] = self.read_storage(key, numpy.dtype(kind.dtype), int(numel))
            self.storage_locations[id(self.storages[key])] = str(location)
        return self.storages[key]

    def _rebuild_tensor(self, storage, *args) -> Tensor:
        out = _rebuild_tensor(storage, *args)
        self.locations[id(out)] = self.storage_locations.get(id(storage), "cpu")
        return out

    def _rebuild_sparse_tensor(self, layout, data) -> Tensor:
        out = _rebuild_sparse_tensor(layout, data)
        self.locations[id(out)] = self.locations.get(id(data[1]), "cpu")  # where its values were saved
        return out


def load(f: BinaryIO, path: str, backend, locations: dict | None = None) -> Any:
    """The object a PyTorch checkpoint (a zip archive, read from ``f``) holds, its tensors on ``backend``;
    where each tensor was saved ("cpu", "cuda:0") into ``locations`` by id, when given."""
    from .serialization import SerializationError

    try:
        archive = zipfile.ZipFile(f)
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise SerializationError(f"gg.load: '{path}' is a corrupted zip archive: {exc}") from None
    pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise SerializationError(f"gg.load: '{path}' is a zip archive but not a PyTorch checkpoint (no data.pkl)")
    prefix = pickles[0][: -len("data.pkl")]
    order = archive.read(prefix + "byteorder").decode() if prefix + "byteorder" in names else "little"

    def read_storage(key: str, dtype: numpy.dtype, numel: int) -> numpy.ndarray:
        raw = archive.read(f"{prefix}data/{key}")
        if len(raw) < numel * dtype.itemsize:
            raise SerializationError(f"gg.load: '{path}' is truncated: storage {key} holds {len(raw)} bytes, "
                                     f"{numel} elements of {dtype} need {numel * dtype.itemsize}")
        array = numpy.frombuffer(raw, dtype.newbyteorder("<" if order == "little" else ">"), count=numel)
        return array.astype(dtype, copy=False)

    try:
        unpickler = _Unpickler(archive.read(pickles[0]), path, read_storage)
        obj = unpickler.load()
    except SerializationError:
        raise
    except Exception as exc:  # a malformed pickle
        raise SerializationError(f"gg.load: '{path}' is a corrupted PyTorch checkpoint: {exc}") from exc
    if locations is not None:
        locations.update(unpickler.locations)
    return obj if backend is _backend_mod.cpu else to_backend(obj, backend)


def to_backend(obj: Any, backend) -> Any:
    """The loaded object with its tensors moved to ``backend`` (leaves still, as loaded)."""
    if isinstance(obj, Tensor) and obj.is_sparse:
        return obj.to(backend.device)
    if isinstance(obj, Tensor):
        moved = Tensor._make(backend.asarray(obj._array), backend)
        moved._requires_grad = obj._requires_grad
        return moved
    if isinstance(obj, dict):
        return type(obj)((k, to_backend(v, backend)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not isinstance(obj, Size):
        return type(obj)(to_backend(v, backend) for v in obj)
    return obj
