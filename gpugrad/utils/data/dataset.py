"""Data sets and seeded splits, with ``torch.utils.data``'s names and semantics.

A map-style data set maps an index ``0 <= i < len(ds)`` to one sample; an iterable one yields samples.
``TensorDataset`` and ``Subset`` also offer a private ``_fetch_batch(indices)`` that returns a whole batch
at once (one fancy-indexing per tensor); ``DataLoader`` uses it, when no ``collate_fn`` is given, instead
of collating samples one by one (see ``batch_fetcher``).
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, Generic, TypeVar

import numpy

from ... import random as _random
from ...tensor import Tensor


# The type of a data set's items, for annotations (``Dataset[tuple[Tensor, int]]``), as torch.utils.data's.
T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class of map-style data sets: subclasses define ``__getitem__(i)`` and ``__len__()``.

        class Squares(Dataset):
            def __len__(self): return 10
            def __getitem__(self, i): return gg.tensor([float(i)]), gg.tensor(i * i)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """Base class of stream-like data sets: subclasses define ``__iter__()``, yielding samples.

    With worker processes every worker iterates its own copy; shard by ``get_worker_info()`` to avoid
    duplicates, as in PyTorch::

        def __iter__(self):
            info = get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, self.n, step))
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Dataset) -> "ChainDataset":
        return ChainDataset([self, other])


class ChainDataset(IterableDataset[T_co]):
    """The samples of several iterable data sets, one after another (``ids1 + ids2`` builds one)."""

    def __init__(self, datasets) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            total += len(d)
        return total


class TensorDataset(Dataset):
    """Samples are slices of the given tensors along their first dim.

        ds = TensorDataset(gg.randn(100, 3), gg.arange(100))
        x, y = ds[0]          # shapes (3,) and ()
        X, Y = ds.tensors     # the whole set
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, expected a gpugrad Tensor")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d tensor; every tensor needs a first dim")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            listed = ", ".join(f"{s} (tensor {i}, shape {tuple(t.shape)})" for i, (s, t) in enumerate(zip(sizes, tensors)))
            raise ValueError(f"TensorDataset: size mismatch between tensors, first dims are {listed}")
        self.tensors: tuple[Tensor, ...] = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _fetch_batch(self, indices: numpy.ndarray) -> list[Tensor]:
        out = []
        for t in self.tensors:
            if t.requires_grad:
                out.append(t[indices])  # keep the batch connected to the graph, as indexing would
            else:
                # Fancy indexing copies, so a batch never aliases the data set.
                out.append(Tensor._make(t._array[t._backend.asarray(indices)], t._backend))
        return out


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order (``Subset(ds, [0, 2, 4])``)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)
        self._index_array = numpy.asarray(self.indices, dtype=numpy.int64)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def _fetch_batch(self):
        """The wrapped set's batch fetch composed with the index map; None when the wrapped set has none."""
        inner = batch_fetcher(self.dataset)
        if inner is None:
            return None
        return lambda indices: inner(self._index_array[indices])


def batch_fetcher(dataset: Dataset):
    """``dataset._fetch_batch`` (one whole batch at once) when it gives what collating its samples gives:
    only where ``__getitem__`` is the one the fast path was written for, never a subclass's override."""
    fetch = getattr(dataset, "_fetch_batch", None)
    if fetch is None or type(dataset).__getitem__ not in (TensorDataset.__getitem__, Subset.__getitem__):
        return None
    return fetch


class ConcatDataset(Dataset[T_co]):
    """The samples of several map-style data sets one after another (``ds1 + ds2`` builds one)."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {i} is an IterableDataset ({type(d).__name__})")
        self.cumulative_sizes = list(accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not exceed length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class StackDataset(Dataset[T_co]):
    """Samples of several equal-length data sets side by side: a tuple (positional) or a dict (keywords)."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like input/output, "
                             "but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(self._length != len(d) for d in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = kwargs if kwargs else args

    def __getitem__(self, index: int):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """PyTorch's rule: fractions summing to 1 are floored, and the remainder goes round-robin from the first."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is {frac}, not between 0 and 1")
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    for i, length in enumerate(lengths):
        if int(length) != length or length < 0:
            raise ValueError(f"random_split: length at index {i} is {length}, expected a non-negative int")
    if total != n:
        raise ValueError(
            f"random_split: sum of input lengths ({total}) does not equal the length of the input dataset ({n})"
        )
    return [int(length) for length in lengths]


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: _random.Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths (or fractions summing to 1).

    The permutation comes from ``generator`` (default: ``gg.random.default_generator``, so
    ``gg.manual_seed`` fixes it), as ``torch.utils.data.random_split``:

        train, test = random_split(ds, [0.8, 0.2], generator=gg.Generator(seed=42))
    """
    counts = _split_lengths(len(dataset), lengths)
    stream = (generator if generator is not None else _random.default_generator).stream
    perm = stream.permutation(sum(counts)).tolist()
    return [Subset(dataset, perm[end - count : end]) for end, count in zip(accumulate(counts), counts)]
