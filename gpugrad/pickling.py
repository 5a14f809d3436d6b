"""How a tensor goes through Python's ``pickle`` (``pickle.dumps(model)``, ``copy.copy``, a library that
pickles an object holding tensors), as PyTorch's ``Tensor.__reduce_ex__`` does.

A tensor pickles as its values copied to the host, its device, ``requires_grad``, its class and what was set
on it from outside (``p._is_hf_initialized``, a Buffer's ``persistent``), and unpickles as a graph leaf
holding memory of its own on that device. As in PyTorch, the gradient, the hooks and the graph behind it are
left out, and tensors that shared memory come back apart. A meta tensor pickles its shape and dtype.

Checkpoints are another matter: ``gg.save`` writes safetensors and ``gg.load`` never unpickles. Pickle
runs code named in the file when it loads; unpickle only what you trust.
"""
from __future__ import annotations

import numpy

from .backend import get
from .tensor import Tensor


def reduce_tensor(t: Tensor) -> tuple:
    """``t.__reduce_ex__``'s answer: the function that rebuilds ``t`` and its arguments."""
    cls = type(t)
    state = dict(t.__dict__)  # what was set on it from outside (Tensor.__dict__ leaves gpugrad's own state out)
    for klass in cls.__mro__:  # a subclass's slots (Buffer's ``persistent``)
        for name in getattr(klass, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(t, name):
                state[name] = getattr(t, name)

    # imported here: gpugrad.sparse imports the tensor module this one serves
    from .sparse.coo import SparseTensor

    if isinstance(t, SparseTensor):  # COO, CSR or CSC
        # the indices as a host array; the values pickle as a tensor of their own (a CSR/CSC matrix's
        # layout travels in its attributes)
        indices = t._backend.to_numpy(t._sparse_indices, "pickle")
        return _rebuild_sparse, (cls, indices, t._sparse_values.detach(), t._sparse_size, t._coalesced,
                                 t.requires_grad, state)
    if t.device.type == "meta":
        return _rebuild_meta, (cls, tuple(t.shape), t.dtype, t.requires_grad, state)
    return _rebuild_dense, (cls, t._backend.to_numpy(t._array, "pickle"), str(t.device), t.requires_grad, state)


def _rebuild_dense(cls: type, array: numpy.ndarray, device: str, requires_grad: bool, state: dict) -> Tensor:
    backend = get(device)
    data = array if device == "cpu" else backend.asarray(array)
    return _finish(cls._make(data, backend), requires_grad, state)


def _rebuild_meta(cls: type, shape: tuple, dtype, requires_grad: bool, state: dict) -> Tensor:
    from .factory import empty

    t = empty(shape, dtype=dtype, device="meta")
    return _finish(cls._make(t._array, t._backend), requires_grad, state)


def _rebuild_sparse(cls: type, indices: numpy.ndarray, values: Tensor, size: tuple, coalesced: bool,
                    requires_grad: bool, state: dict) -> Tensor:
    t = cls._from_parts(values._backend.asarray(indices), values, size, coalesced)
    return _finish(t, requires_grad, state)


def _finish(t: Tensor, requires_grad: bool, state: dict) -> Tensor:
    t._requires_grad = requires_grad
    for name, value in state.items():
        setattr(t, name, value)
    return t
