"""``gg.save`` / ``gg.load``: checkpoints as safetensors files; gpugrad never writes pickle.

Every Tensor and NumPy array in the saved object becomes a safetensors tensor under its dotted path
(``"model.fc1.weight"``, ``"optimizer.state.0.exp_avg"``); everything else (numbers, strings, lists,
tuples, dicts, step counts, hyper-parameters) goes as JSON into the file's ``__metadata__`` under the
key ``"gpugrad"``, a skeleton of the object with a placeholder where each tensor was. A sparse COO
tensor (an embedding's sparse gradient, SGD's sparse momentum buffer) is stored as its two parts,
``"<path>.indices"`` and ``"<path>.values"``, its size and coalesced flag in the skeleton. So::

    gg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "ckpt.safetensors")
    ckpt = gg.load("ckpt.safetensors")

and a bare ``model.state_dict()`` saved this way is an ordinary safetensors file PyTorch reads with
``safetensors.torch.load_file`` (same keys); a file PyTorch wrote with ``safetensors.torch.save_file``
loads here as a dict of Tensors. Loading parses JSON and raw arrays only, so it never runs code.
``gg.load`` also reads the zip checkpoints ``torch.save`` writes, by the rules of
``torch.load(weights_only=True)`` (``torch_format.py``): tensors (sparse COO ones too), containers,
numbers and strings.
"""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
from typing import Any, BinaryIO, Callable, Union

import numpy

from . import backend as _backend_mod
from . import dtypes as _dtypes
from . import torch_format
from .dtypes import FLOAT_KINDS
from .size import Size
from .tensor import Tensor

__all__ = ["save", "load", "SerializationError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

# torch.serialization.MAP_LOCATION, the type of load's map_location, for code that annotates with it (pyro's
# ParamStore.load). Here a function is given each tensor (PyTorch gives a storage) and its saved location.
MAP_LOCATION = Union[Callable[[Tensor, str], Tensor], _backend_mod.Device, str, dict[str, str], None]

_META_KEY = "gpugrad"
_TAG = "__gg__"
_FORMAT_VERSION = 1
# The header of a real checkpoint is far smaller; a larger length means the file is something else.
_MAX_HEADER = 100 * 1024 * 1024
# safetensors dtypes gpugrad's arrays can hold (not the F8 formats), as NumPy dtypes. safetensors' NumPy
# loaders read all but BF16; a file with BF16 is read from the tensors safetensors parses (_arrays_from_bytes).
# (BF16's is ml_dtypes', imported when such a file is read: dtypes.bfloat16_np)
_NUMPY_DTYPES = {name: np_name for name, np_name in (
    ("BOOL", "bool"), ("U8", "uint8"), ("I8", "int8"), ("U16", "uint16"), ("I16", "int16"), ("U32", "uint32"),
    ("I32", "int32"), ("U64", "uint64"), ("I64", "int64"), ("F16", "float16"), ("BF16", "bfloat16"),
    ("F32", "float32"), ("F64", "float64"), ("C64", "complex64"))}


class SerializationError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupted, or not a safetensors file."""


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes and functions (or ``(object, "module.name")`` pairs) in the PyTorch checkpoints
    ``load`` reads, beyond tensors and containers, as torch.load(weights_only=True) allows them."""
    torch_format.user_safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    return list(torch_format.user_safe_globals)


def clear_safe_globals() -> None:
    torch_format.user_safe_globals.clear()


class safe_globals:
    """``with safe_globals([...]):`` ``add_safe_globals`` for the block only."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = list(safe_globals)

    def __enter__(self) -> None:
        self._before = get_safe_globals()
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc) -> None:
        torch_format.user_safe_globals[:] = self._before


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


# Saving --------------------------------------------------------------------------------------------
class _Flattener:
    def __init__(self) -> None:
        self.tensors: dict[str, numpy.ndarray] = {}

    def _key(self, path: tuple) -> str:
        key = ".".join(str(p) for p in path) or "tensor"
        base, n = key, 1
        while key in self.tensors:  # {"a.b": x, "a": {"b": y}} both flatten to "a.b"
            key = f"{base}#{n}"
            n += 1
        return key

    def encode(self, obj: Any, path: tuple) -> Any:
        if isinstance(obj, Tensor) and obj.is_sparse:  # a sparse COO tensor: its indices and values, and its size
            return {_TAG: "sparse_coo", "indices": self.encode(obj._indices(), path + ("indices",)),
                    "values": self.encode(obj._values().detach(), path + ("values",)),
                    "size": list(obj.shape), "coalesced": obj.is_coalesced()}
        if isinstance(obj, Tensor):
            if obj._array.dtype == numpy.complex128:
                raise TypeError(f"gg.save: the tensor at '{_where(path)}' is complex128, which safetensors cannot hold "
                                "(it has complex64); save view_as_real(t), or t.to(gg.complex64)")
            key = self._key(path)
            self.tensors[key] = _c_order(obj._backend.to_numpy(obj._array))
            return {_TAG: "tensor", "key": key}
        if isinstance(obj, numpy.ndarray):
            if obj.dtype.kind not in FLOAT_KINDS + "biu" and obj.dtype != numpy.complex64:
                raise TypeError(f"gg.save: cannot store a NumPy array of dtype {obj.dtype} at '{_where(path)}'")
            key = self._key(path)
            self.tensors[key] = _c_order(obj)
            return {_TAG: "ndarray", "key": key}
        if isinstance(obj, numpy.generic):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {_TAG: "float", "value": repr(obj)}
        if isinstance(obj, _dtypes.DType):
            return {_TAG: "dtype", "name": obj.name}
        if isinstance(obj, list):
            return [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {_TAG: "tuple", "items": [self.encode(v, path + (i,)) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj) and _TAG not in obj:
                return {k: self.encode(v, path + (k,)) for k, v in obj.items()}
            items = []
            for k, v in obj.items():
                if isinstance(k, numpy.generic):
                    k = k.item()
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(
                        f"gg.save: dict keys must be str, int, float, bool or None; got a {type(k).__name__} "
                        f"key at '{_where(path)}'"
                    )
                items.append([self.encode(k, ()), self.encode(v, path + (k,))])
            return {_TAG: "dict", "items": items}
        hint = " save its state_dict() instead" if callable(getattr(obj, "state_dict", None)) else ""
        raise TypeError(
            f"gg.save: cannot store a {type(obj).__name__} at '{_where(path)}': gpugrad never pickles; checkpoints "
            f"hold Tensors, NumPy arrays, numbers, strings, bools, None, lists, tuples and dicts;"
            f"{hint or ' save a module or optimizer as its state_dict()'}"
        )


def _c_order(array: numpy.ndarray) -> numpy.ndarray:
    # Not numpy.ascontiguousarray: it turns 0-d arrays into shape (1,).
    return array if array.flags.c_contiguous else numpy.array(array, order="C")


def _where(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "<root>"


def _write_safetensors(tensors: dict, filename: str, metadata: dict) -> None:
    from safetensors.numpy import save_file

    save_file(tensors, filename, metadata=metadata)


def _is_writer(f) -> bool:
    return not isinstance(f, (str, os.PathLike)) and callable(getattr(f, "write", None))


def save(obj: Any, f: str | os.PathLike | BinaryIO, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` (a Tensor, or nested dicts/lists of Tensors, arrays and plain values) to ``f``, a path
    or a binary file object (``io.BytesIO``, ``open(name, "wb")``). The other arguments are PyTorch's, taken
    and unused: nothing is pickled, and the format is always the one below.

    Writing to a path is atomic: the data goes to a temporary file in the same directory, is flushed to
    disk, and then replaces the path, so a crash mid-save leaves the previous file intact. A file object
    gets the whole checkpoint in one write, after everything has been encoded.

        gg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, "ckpt.safetensors")
    """
    writer = _is_writer(f)
    if not writer and not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"gg.save: f must be a path (str or os.PathLike) or a binary file object, got {type(f).__name__}")
    flat = _Flattener()
    skeleton = flat.encode(obj, ())
    metadata = {
        "format": "pt",  # what PyTorch-side loaders (transformers, ...) expect of a state dict file
        _META_KEY: json.dumps({"version": _FORMAT_VERSION, "object": skeleton}, allow_nan=False),
    }
    if writer:
        from safetensors.numpy import save as to_bytes

        f.write(to_bytes(flat.tensors, metadata=metadata))
        return
    _save_to_path(flat.tensors, metadata, os.fspath(f))


def _save_to_path(tensors: dict, metadata: dict, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        _write_safetensors(tensors, tmp, metadata)
        with open(tmp, "rb+") as out:
            os.fsync(out.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it 0600; give it an ordinary file's mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


# Loading -------------------------------------------------------------------------------------------
def _read_header(f: BinaryIO, size: int, path: str) -> dict:
    """The safetensors header of the ``size`` bytes readable from ``f`` (named ``path`` in errors)."""
    head = f.read(8)
    if len(head) < 8:
        raise SerializationError(f"gg.load: '{path}' is not a safetensors checkpoint: only {size} bytes long")
    n = int.from_bytes(head, "little")
    if n > _MAX_HEADER or n < 2:
        if head[:1] == b"\x80" and 2 <= head[1] <= 5:  # a pickle's protocol opcode
            raise SerializationError(f"gg.load: '{path}' is a pickle (PyTorch's format before 1.6, or pickle.dump's), "
                                     "which gpugrad does not read; PyTorch's own zip checkpoints load")
        raise SerializationError(
            f"gg.load: '{path}' is not a safetensors checkpoint (its first 8 bytes give a header length of {n})"
        )
    if 8 + n > size:
        raise SerializationError(
            f"gg.load: '{path}' is truncated or not a safetensors checkpoint: the header claims {n} bytes "
            f"but the file has {size - 8} after the length"
        )
    raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SerializationError(f"gg.load: '{path}' is not a safetensors checkpoint: its header is not JSON") from None
    if not isinstance(header, dict):
        raise SerializationError(f"gg.load: '{path}' is not a safetensors checkpoint: its header is not a JSON object")
    available = size - 8 - n
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype, _, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise SerializationError(f"gg.load: '{path}' is corrupted: bad header entry for tensor '{key}'") from None
        if end > available:
            raise SerializationError(
                f"gg.load: '{path}' is truncated: tensor '{key}' needs bytes {start}..{end} of the data section, "
                f"which has {available}"
            )
        if dtype not in _NUMPY_DTYPES:
            raise SerializationError(
                f"gg.load: tensor '{key}' in '{path}' has dtype {dtype}, which NumPy (and gpugrad) cannot hold; "
                "convert it to float32 before saving"
            )
    return header


def _to_tensor(array: numpy.ndarray, backend) -> Tensor:
    array = array.astype(_dtypes.canonical_np_dtype(array.dtype), copy=False)
    data = backend.asarray(array)
    if data is array and not array.flags.writeable:
        data = array.copy()
    return Tensor._make(data, backend)


class _Decoder:
    def __init__(self, path: str, arrays: dict, backend) -> None:
        self.path, self.arrays, self.backend = path, arrays, backend

    def _bad(self, what: str) -> SerializationError:
        return SerializationError(f"gg.load: '{self.path}' is corrupted: {what}")

    def _array(self, node: dict) -> numpy.ndarray:
        key = node.get("key")
        if key not in self.arrays:
            raise self._bad(f"the metadata refers to tensor {key!r}, which the file does not hold")
        return self.arrays[key]

    def decode(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        tag = node.get(_TAG)
        if tag is None:
            return {k: self.decode(v) for k, v in node.items()}
        if tag == "tensor":
            return _to_tensor(self._array(node), self.backend)
        if tag == "sparse_coo":
            return self._sparse(node)
        if tag == "ndarray":
            array = self._array(node)
            return array if array.flags.writeable else array.copy()
        if tag == "tuple":
            return tuple(self.decode(v) for v in node.get("items", ()))
        if tag == "dict":
            out = {}
            for pair in node.get("items", ()):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self._bad("a dict entry in the metadata is not a [key, value] pair")
                out[self.decode(pair[0])] = self.decode(pair[1])
            return out
        if tag == "float":
            return float(node.get("value"))
        if tag == "dtype":
            return _dtypes.from_name(node.get("name"))
        raise self._bad(f"unknown metadata tag {tag!r}")

    def _sparse(self, node: dict) -> Tensor:
        indices, values, size = (self.decode(node.get(k)) for k in ("indices", "values", "size"))
        if not (isinstance(indices, Tensor) and isinstance(values, Tensor) and isinstance(size, list)):
            raise self._bad("a sparse tensor's entry lacks its indices, values or size")
        try:
            return sparse_from_parts(indices, values, size, bool(node.get("coalesced")))
        except (ValueError, RuntimeError, TypeError) as exc:
            raise self._bad(f"its sparse tensor is inconsistent: {exc}") from None


def sparse_from_parts(indices: Tensor, values: Tensor, size, coalesced: bool) -> Tensor:
    """A sparse COO tensor from a checkpoint's parts, checked as torch.load checks them: indices within
    ``size``, values matching, and, when it claims to be coalesced, indices sorted without repeats."""
    from .sparse.coo import sparse_coo_tensor

    out = sparse_coo_tensor(indices, values, size, is_coalesced=coalesced)
    if coalesced and out._nnz() > 1:
        host = indices._backend.to_numpy(indices._array, "load")
        flat = numpy.ravel_multi_index(tuple(host), tuple(out.shape)[: host.shape[0]]) if host.shape[0] else None
        if flat is None or (numpy.diff(flat) <= 0).any():
            raise RuntimeError("a sparse tensor claims to be coalesced but its indices are not sorted and unique")
    return out


def load(
    f: str | os.PathLike | BinaryIO,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    device: Any = None,
) -> Any:
    """Load what ``gg.save`` wrote (or any safetensors file, or a ``torch.save`` checkpoint) from ``f``, a
    path or a binary file object.

    Tensors come back on ``device`` (alias ``map_location``; default the CPU) with requires_grad=False.
    As in PyTorch, ``map_location`` may also be a dict from saved locations to devices (``{"cuda:1":
    "cuda:0"}``) or a function of (tensor, saved location) returning the tensor where it should be
    (``lambda storage, loc: storage`` keeps it on the CPU); a safetensors file's tensors were saved at "cpu".
    A tensor the dict or function leaves alone (PyTorch: back where it was saved) stays on the CPU.
    A safetensors file without gpugrad's metadata (e.g. written by ``safetensors.torch.save_file``) loads
    as a flat ``{name: Tensor}`` dict. A PyTorch checkpoint (its zip format) loads as
    ``torch.load(weights_only=True)`` would load it (saved Parameters as tensors that require grad); a
    file holding any other object is refused, whatever ``weights_only`` says: nothing a file holds can run
    code here. ``pickle_module`` must be None. Raises FileNotFoundError for a missing file and
    SerializationError (a ValueError) for a truncated, corrupted or foreign one.

        state = gg.load("ckpt.safetensors", weights_only=True)
        model.load_state_dict(state["model"])
    """
    if pickle_module is not None:
        raise TypeError("gg.load: gpugrad never unpickles; pickle_module must be None")
    reader = not isinstance(f, (str, os.PathLike)) and callable(getattr(f, "read", None))
    if not reader and not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"gg.load: f must be a path (str or os.PathLike) or a binary file object, got {type(f).__name__}")
    mapper = map_location if callable(map_location) or isinstance(map_location, dict) else None
    if mapper is not None and device is not None:
        raise ValueError("gg.load: give either device= or a map_location dict or function, not both")
    if device is not None and map_location is not None and str(device) != str(map_location):
        raise ValueError(f"gg.load: device={device!r} and map_location={map_location!r} disagree")
    named = device if device is not None else map_location
    backend = _backend_mod.cpu if mapper is not None else _backend_mod.get(named)
    locations: dict[int, str] = {}  # id(tensor) -> where PyTorch saved it (torch.save files only)
    obj = _read(f, reader, backend, locations)
    return obj if mapper is None else _map_locations(obj, mapper, locations)


def _read(f, reader: bool, backend, locations: dict) -> Any:
    """What ``f`` holds, its tensors on ``backend``; a PyTorch checkpoint's saved locations into ``locations``."""
    if reader:
        data = f.read()
        if isinstance(data, str):
            raise TypeError("gg.load: the file object must be opened in binary mode ('rb')")
        path = getattr(f, "name", None) or "<file object>"
        if torch_format.is_torch_checkpoint(data[:4]):
            return torch_format.load(io.BytesIO(data), path, backend, locations)
        header = _read_header(io.BytesIO(data), len(data), path)
        arrays = _arrays(path, lambda: _arrays_from_bytes(data))
    else:
        path = os.fspath(f)
        if not os.path.isfile(path):
            import errno

            raise FileNotFoundError(errno.ENOENT, f"gg.load: no such checkpoint file: '{path}'", path)
        with open(path, "rb") as stream:
            head = stream.read(4)
            stream.seek(0)
            if torch_format.is_torch_checkpoint(head):
                return torch_format.load(stream, path, backend, locations)
            header = _read_header(stream, os.path.getsize(path), path)
            bfloat16 = _holds_bfloat16(header)
            if bfloat16:
                stream.seek(0)
                data = stream.read()
        arrays = _arrays(path, lambda: _arrays_from_bytes(data) if bfloat16 else _arrays_from_file(path))
    meta = header.get("__metadata__") or {}
    skeleton = meta.get(_META_KEY) if isinstance(meta, dict) else None
    if skeleton is None:
        return {k: _to_tensor(a, backend) for k, a in arrays.items()}
    try:
        doc = json.loads(skeleton)
        version, obj = doc["version"], doc["object"]
    except (ValueError, KeyError, TypeError):
        raise SerializationError(f"gg.load: '{path}' is corrupted: its gpugrad metadata is not valid") from None
    if not isinstance(version, int) or version > _FORMAT_VERSION:
        raise SerializationError(
            f"gg.load: '{path}' was written by a newer gpugrad (checkpoint format {version!r}; this one reads "
            f"up to {_FORMAT_VERSION})"
        )
    return _Decoder(path, arrays, backend).decode(obj)



def _map_locations(obj: Any, mapper, locations: dict) -> Any:
    """``obj`` with each tensor placed by ``map_location``'s dict or function, as torch.load places them."""
    if isinstance(obj, Tensor):
        saved = locations.get(id(obj), "cpu")
        # What the dict or function leaves alone stays where gg.load puts every tensor by default: the CPU.
        if isinstance(mapper, dict):
            target = mapper.get(saved)
            if target is None or str(target) == "cpu":
                return obj
            return torch_format.to_backend(obj, _backend_mod.get(target))
        placed = mapper(obj, saved)
        if placed is None:
            return obj
        if not isinstance(placed, Tensor):
            raise TypeError(f"gg.load: map_location returned a {type(placed).__name__}, expected the tensor "
                            "it was given, moved where it should be")
        return placed
    if isinstance(obj, dict):
        return type(obj)((k, _map_locations(v, mapper, locations)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not isinstance(obj, Size):
        return type(obj)(_map_locations(v, mapper, locations) for v in obj)
    return obj


def _arrays(path: str, read) -> dict:
    try:
        return read()
    except Exception as exc:  # safetensors' own checks: offsets, sizes, dtypes
        raise SerializationError(f"gg.load: '{path}' is corrupted: {exc}") from exc


def _arrays_from_file(path: str) -> dict:
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def _numpy_dtype(code: str) -> numpy.dtype:
    return _dtypes.bfloat16_np() if code == "BF16" else numpy.dtype(_NUMPY_DTYPES[code])


def _holds_bfloat16(header: dict) -> bool:
    return any(isinstance(info, dict) and info.get("dtype") == "BF16" for info in header.values())


def _arrays_from_bytes(data: bytes) -> dict:
    from safetensors import deserialize  # the tensors as (name, {dtype, shape, data}), checked by safetensors

    return {name: numpy.frombuffer(view["data"], dtype=_numpy_dtype(view["dtype"])).reshape(view["shape"])
            for name, view in deserialize(bytes(data))}
