"""Samplers, as ``torch.utils.data``'s: iterables over the indices (or lists of indices) of a data set.

Random samplers follow PyTorch's seeding: with ``generator=None`` every epoch draws one seed from
``gg.random.default_generator`` and draws that epoch from a new generator seeded by it, so
``gg.manual_seed(s)`` fixes every epoch; with a ``gg.Generator`` the draws come from it directly.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Generic

import numpy

from ... import random as _random
from .dataset import T_co


def _check_generator(owner: str, generator) -> None:
    if generator is not None and not isinstance(generator, _random.Generator):
        raise TypeError(f"{owner}: generator must be a gg.Generator or None, got {type(generator).__name__}")


def _epoch_generator(generator: _random.Generator | None) -> _random.Generator:
    """The generator for one epoch: the user's, or (as PyTorch) a new one seeded by one default draw."""
    if generator is not None:
        return generator
    return _random.Generator(seed=draw_seed(_random.default_generator))


def draw_seed(generator: _random.Generator) -> int:
    """One seed drawn from ``generator``, as PyTorch draws one (``torch.empty((), dtype=torch.int64).random_()``)."""
    return int(generator.stream.integers(0, 2**63, 1)[0])


def _draws_with_replacement(stream, n: int, count: int, chunk: int = 32) -> Iterator[int]:
    """``count`` indices below ``n``, drawn ``chunk`` at a time as the loop asks for them, as PyTorch draws
    them (a last, shorter chunk even when empty): scripts ask for an endless stream (``num_samples=int(1e10)``)."""
    for _ in range(count // chunk):
        yield from stream.integers(0, n, chunk).tolist()
    yield from stream.integers(0, n, count % chunk).tolist()


def _is_positive_int(value) -> bool:
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool) and value > 0


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` (and ``__len__`` when the count is known)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the indices (a permutation, or ``num_samples`` draws with ``replacement``).

    Without replacement and ``num_samples > len(data_source)``, whole permutations are chained and the
    last one cut short, as PyTorch does.
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: _random.Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got replacement={replacement!r}")
        if num_samples is not None and not _is_positive_int(num_samples):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got num_samples={num_samples!r}")
        if num_samples is None and len(data_source) == 0:  # as PyTorch: an empty dataset cannot be shuffled
            raise ValueError("RandomSampler: num_samples should be a positive integer value, but got num_samples=0 "
                             "(the dataset is empty)")
        _check_generator("RandomSampler", generator)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        # The state of the generator that drew the current epoch, and one to redraw from on the next
        # iteration: the DataLoader's checkpoints resume mid-epoch through them.
        self._epoch_state: dict | None = None
        self._replay_state: dict | None = None

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        replay, self._replay_state = self._replay_state, None
        if replay is None:
            gen = _epoch_generator(self.generator)
        else:
            gen = self.generator if self.generator is not None else _random.Generator()
            gen.set_state(replay)
        self._epoch_state = gen._json_state()  # JSON-able: the DataLoader's state_dict holds it
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            return _draws_with_replacement(gen.stream, n, count)
        # whole permutations, then one more for the remainder (even when there is none), as PyTorch
        perms = [gen.stream.permutation(n) for _ in range(count // n + 1)] if n else []
        order = numpy.concatenate(perms)[:count] if perms else numpy.zeros(0, dtype=numpy.int64)
        return iter(order.tolist())


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, redrawn every epoch."""

    def __init__(self, indices: Sequence[int], generator: _random.Generator | None = None) -> None:
        _check_generator("SubsetRandomSampler", generator)
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator:
        gen = self.generator if self.generator is not None else _random.default_generator  # as PyTorch's
        return iter([self.indices[i] for i in gen.stream.permutation(len(self.indices)).tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: _random.Generator | None = None) -> None:
        if not _is_positive_int(num_samples):
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer value, but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got replacement={replacement!r}")
        _check_generator("WeightedRandomSampler", generator)
        w = numpy.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=numpy.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have shape {w.shape}")
        if (w < 0).any() or not numpy.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > numpy.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                f"{numpy.count_nonzero(w)} non-zero weights"
            )
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        gen = _epoch_generator(self.generator)
        p = self.weights / self.weights.sum()
        drawn = gen.rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(drawn.astype(numpy.int64).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless dropped).

        list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))  # [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable, batch_size: int, drop_last: bool) -> None:
        if not _is_positive_int(batch_size):
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
