"""``default_collate``: how the DataLoader merges a list of samples into one batch, as PyTorch's."""
from __future__ import annotations

import collections.abc
from typing import Any

import numpy

from ...dtypes import FLOAT_KINDS
from ...dtypes import float64 as _float64
from ...factory import tensor as _tensor
from ...ops import stack as _stack
from ...tensor import Tensor


def _check_same_shapes(shapes: list[tuple], what: str) -> None:
    first = shapes[0]
    for i, s in enumerate(shapes):
        if s != first:
            raise RuntimeError(
                f"default_collate: cannot stack {what} of different shapes, {first} at index 0 and {s} at index {i}"
            )


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dim (NumPy dtypes map to gpugrad's four: ints to
    int64); Python floats become a float64 tensor, ints int64, bools bool; strings stay a list; dicts,
    named tuples are collated field by field; tuples and lists give a list of batches, as PyTorch's.

        default_collate([(gg.ones(2), 0), (gg.zeros(2), 1)])  # [tensor of shape (2, 2), tensor([0, 1])]
    """
    if not isinstance(batch, collections.abc.Sequence) or len(batch) == 0:
        raise ValueError("default_collate: expected a non-empty list of samples")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if not all(isinstance(b, Tensor) for b in batch):
            raise TypeError("default_collate: mixed sample types, the first is a Tensor but not all are")
        _check_same_shapes([tuple(b.shape) for b in batch], "tensors")
        if any(b.requires_grad for b in batch):
            return _stack(batch)
        backend = elem._backend
        return Tensor._make(backend.xp.stack([b._array for b in batch]), backend)
    if isinstance(elem, (numpy.ndarray, numpy.generic)):
        arrays = [numpy.asarray(b) for b in batch]
        if elem.dtype.kind not in FLOAT_KINDS + "iub":
            raise TypeError(f"default_collate: NumPy arrays of dtype {elem.dtype} cannot become a tensor")
        _check_same_shapes([a.shape for a in arrays], "arrays")
        return _tensor(numpy.stack(arrays))
    if isinstance(elem, bool):
        return _tensor(batch)
    if isinstance(elem, float):
        return _tensor(batch, dtype=_float64)
    if isinstance(elem, int):
        return _tensor(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:  # a mapping type that cannot be built from a dict
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(
        f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; found {type(elem).__name__}"
    )


def default_convert(data: Any) -> Any:
    """What the DataLoader applies to each sample when batching is off (``batch_size=None``), as PyTorch's:
    NumPy arrays and scalars become tensors, containers are converted field by field, the rest is kept."""
    if isinstance(data, (numpy.ndarray, numpy.generic)) and data.dtype.kind in FLOAT_KINDS + "iub":
        return _tensor(numpy.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
