"""DataLoader and default_collate, as ``torch.utils.data`` (single process, map-style data sets).

Shuffling follows PyTorch's RandomSampler: with ``generator=None`` every epoch draws a fresh seed from
``gg.random.default_generator`` and permutes with a new generator seeded by it, so ``gg.manual_seed(s)``
fixes the whole sequence of epoch orders; with a ``gg.Generator`` the permutations come from it directly.

Resuming a run exactly (checkpoints)
------------------------------------
The order of every later epoch is decided by generator state, so a checkpoint saves that state:

* ``generator=None``: save ``gg.get_rng_state()`` and restore it with ``gg.set_rng_state(state)``;
* ``generator=g``: save ``g.get_state()`` and restore it with ``g.set_state(state)``.

Taken between epochs, that is all. To resume in the middle of an epoch, also save ``loader.state_dict()``
(JSON-able: the state of the generator that drew this epoch's order and how many batches were handed
out) and call ``loader.load_state_dict(sd)`` before iterating again: the next ``iter(loader)`` then
redraws the same order and continues with the next batch. Batch ``k`` of an epoch is the same whether or
not the run was interrupted::

    for epoch in range(start_epoch, epochs):
        for x, y in loader:
            ...
            ckpt = {"rng": gg.get_rng_state(), "loader": loader.state_dict(), ...}
    # after a restart:
    gg.set_rng_state(ckpt["rng"]); loader.load_state_dict(ckpt["loader"])
"""
from __future__ import annotations

import collections.abc
import copy
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy

from .. import random as _random
from ..dtypes import float64 as _float64
from ..factory import tensor as _tensor
from ..ops import stack as _stack
from ..tensor import Tensor
from .dataset import Dataset

_STATE_VERSION = 1


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
    tuples, named tuples and lists are collated field by field. One departure: tuple samples give a tuple
    of batches (PyTorch gives a list), so ``x, y = batch`` reads the same either way.

        default_collate([(gg.ones(2), 0), (gg.zeros(2), 1)])  # (tensor of shape (2, 2), tensor([0, 1]))
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
        return Tensor._make(backend.xp.stack([b.data for b in batch]), backend)
    if isinstance(elem, (numpy.ndarray, numpy.generic)):
        arrays = [numpy.asarray(b) for b in batch]
        if elem.dtype.kind not in "fiub":
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
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(
        f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; found {type(elem).__name__}"
    )


class DataLoader:
    """Iterate over a data set in batches, optionally reshuffled every epoch.

        loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, generator=gg.Generator(0))
        for epoch in range(10):
            for xb, yb in loader:     # tuples of batched Tensors, on the CPU
                ...

    Arguments as PyTorch's (single process; no workers, samplers or pinned memory). ``len(loader)`` is the
    number of batches: ``ceil(N / batch_size)``, or ``floor`` with ``drop_last=True``. With no
    ``collate_fn`` and a ``TensorDataset`` (or a ``Subset`` of one), each batch is taken with one indexing
    per tensor instead of collating samples one by one; the result is the same.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: _random.Generator | None = None,
        collate_fn: Callable[[list], Any] | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size should be a positive integer, got {batch_size!r}")
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(f"DataLoader: generator must be a gg.Generator or None, got {type(generator).__name__}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: dataset must define __len__ and __getitem__, got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self._epoch_state: dict | None = None  # generator state that drew the current epoch's order
        self._batches_yielded = 0
        self._in_epoch = False
        self._resume: dict | None = None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    # Epoch order ---------------------------------------------------------------------------------
    def _epoch_generator(self) -> _random.Generator:
        if self.generator is not None:
            return self.generator
        # PyTorch's RandomSampler: one draw from the default generator seeds this epoch's own generator.
        seed = int(_random.default_generator.rng.integers(0, 2**63 - 1))
        return _random.Generator(seed)

    def _order(self, n: int, epoch_state: dict | None) -> tuple[numpy.ndarray, dict | None]:
        if not self.shuffle:
            return numpy.arange(n, dtype=numpy.int64), None
        if epoch_state is None:
            gen = self._epoch_generator()
            epoch_state = gen.get_state()
        else:  # resuming: redraw the interrupted epoch's order from the state that drew it
            gen = self.generator if self.generator is not None else _random.Generator()
            gen.set_state(epoch_state)
        return gen.rng.permutation(n).astype(numpy.int64), epoch_state

    def __iter__(self) -> Iterator[Any]:
        resume, self._resume = self._resume, None
        n = len(self.dataset)
        order, epoch_state = self._order(n, resume["epoch_generator_state"] if resume else None)
        start = resume["batches_yielded"] if resume else 0
        self._epoch_state, self._batches_yielded, self._in_epoch = epoch_state, start, True
        return self._batches(order, start, len(self))

    def _batches(self, order: numpy.ndarray, start: int, count: int) -> Iterator[Any]:
        fetch = getattr(self.dataset, "_fetch_batch", None) if self.collate_fn is None else None
        collate = self.collate_fn if self.collate_fn is not None else default_collate
        for b in range(start, count):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            if fetch is not None:
                batch = fetch(idx)
            else:
                batch = collate([self.dataset[int(i)] for i in idx])
            self._batches_yielded = b + 1
            yield batch
        self._in_epoch = False

    # Checkpointing -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-able state for resuming mid-epoch (see the module docstring). Between epochs it records
        only the explicit generator's state; the default generator is the training loop's to save."""
        return {
            "version": _STATE_VERSION,
            "dataset_len": len(self.dataset),
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
            "shuffle": self.shuffle,
            "in_epoch": self._in_epoch,
            "batches_yielded": self._batches_yielded if self._in_epoch else 0,
            "epoch_generator_state": copy.deepcopy(self._epoch_state) if self._in_epoch else None,
            "generator_state": self.generator.get_state() if self.generator is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; the next ``iter(self)`` continues the saved epoch, if one was running."""
        missing = [k for k in ("version", "dataset_len", "batch_size", "drop_last", "shuffle", "in_epoch",
                               "batches_yielded", "epoch_generator_state", "generator_state") if k not in state]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing keys {missing}")
        if state["version"] != _STATE_VERSION:
            raise ValueError(f"DataLoader.load_state_dict: unknown state version {state['version']!r}")
        mine = {"dataset_len": len(self.dataset), "batch_size": self.batch_size, "drop_last": self.drop_last,
                "shuffle": self.shuffle}
        differ = {k: (state[k], v) for k, v in mine.items() if state[k] != v}
        if differ:
            listed = ", ".join(f"{k}: saved {a!r}, loader has {b!r}" for k, (a, b) in differ.items())
            raise ValueError(f"DataLoader.load_state_dict: the saved loader differs from this one ({listed})")
        if (state["generator_state"] is None) != (self.generator is None):
            raise ValueError(
                "DataLoader.load_state_dict: the saved loader "
                + ("had no generator but this one has one" if state["generator_state"] is None
                   else "had its own generator but this one uses the default generator")
            )
        if state["in_epoch"] and not 0 <= state["batches_yielded"] <= len(self):
            raise ValueError(
                f"DataLoader.load_state_dict: batches_yielded={state['batches_yielded']} is outside 0..{len(self)}"
            )
        if state["in_epoch"] and self.shuffle and state["epoch_generator_state"] is None:
            raise ValueError("DataLoader.load_state_dict: a shuffled epoch in progress needs epoch_generator_state")
        if self.generator is not None:
            self.generator.set_state(state["generator_state"])
        self._resume = (
            {"epoch_generator_state": copy.deepcopy(state["epoch_generator_state"]),
             "batches_yielded": int(state["batches_yielded"])}
            if state["in_epoch"] else None
        )
        self._in_epoch = False
