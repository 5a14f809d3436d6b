"""Map-style data sets and seeded splits, with ``torch.utils.data``'s names and semantics.

A data set maps an index ``0 <= i < len(ds)`` to one sample. ``TensorDataset`` and ``Subset`` also offer a
private ``_fetch_batch(indices)`` that returns a whole batch at once (one fancy-indexing per tensor);
``DataLoader`` uses it, when no ``collate_fn`` is given, instead of collating samples one by one.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import numpy

from .. import random as _random
from ..tensor import Tensor


class Dataset:
    """Base class of map-style data sets: subclasses define ``__getitem__(i)`` and ``__len__()``.

        class Squares(Dataset):
            def __len__(self): return 10
            def __getitem__(self, i): return gg.tensor([float(i)]), gg.tensor(i * i)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


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

    def _fetch_batch(self, indices: numpy.ndarray) -> tuple[Tensor, ...]:
        out = []
        for t in self.tensors:
            if t.requires_grad:
                out.append(t[indices])  # keep the batch connected to the graph, as indexing would
            else:
                # Fancy indexing copies, so a batch never aliases the data set.
                out.append(Tensor._make(t.data[t._backend.asarray(indices)], t._backend))
        return tuple(out)


class Subset(Dataset):
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
        inner = getattr(self.dataset, "_fetch_batch", None)
        if inner is None:
            return None
        return lambda indices: inner(self._index_array[indices])


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

        train, test = random_split(ds, [0.8, 0.2], generator=gg.Generator(42))
    """
    counts = _split_lengths(len(dataset), lengths)
    rng = (generator if generator is not None else _random.default_generator).rng
    perm = rng.permutation(sum(counts)).tolist()
    return [Subset(dataset, perm[end - count : end]) for end, count in zip(accumulate(counts), counts)]


def train_test_split(
    *tensors: Tensor,
    test_size: float | int = 0.25,
    shuffle: bool = True,
    generator: _random.Generator | None = None,
) -> list[Tensor]:
    """Split tensors along their first dim into train and test parts, as scikit-learn's helper does.

    ``test_size`` is a fraction (the test part gets ``ceil(test_size * n)`` rows) or a row count. Returns
    ``[a_train, a_test, b_train, b_test, ...]``; the same rows go to the same side for every tensor.

        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, generator=gg.Generator(0))
    """
    if not tensors:
        raise ValueError("train_test_split: expected at least one tensor")
    ds = TensorDataset(*tensors)  # checks types and that first dims match
    n = len(ds)
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: test_size={test_size} must be in (0, 1) as a fraction")
        n_test = math.ceil(test_size * n)
    else:
        n_test = int(test_size)
        if n_test != test_size or not 0 < n_test < n:
            raise ValueError(f"train_test_split: test_size={test_size} must be a count in (0, {n}) rows")
    if n_test >= n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves no training rows out of {n}")
    if shuffle:
        rng = (generator if generator is not None else _random.default_generator).rng
        order = rng.permutation(n)
    else:
        order = numpy.arange(n)
    train_part = ds._fetch_batch(order[: n - n_test])
    test_part = ds._fetch_batch(order[n - n_test :])
    return [part for pair in zip(train_part, test_part) for part in pair]
