"""How one batch is made from a data set, in the main process or in a worker (picklable for spawn)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy

from .dataset import batch_fetcher


class MapFetcher:
    """Samples at the given indices, collated; or one sample, converted, when batching is off."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, use_batch_fetch: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.use_batch_fetch = use_batch_fetch

    def __call__(self, indices) -> Any:
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        fast = batch_fetcher(self.dataset) if self.use_batch_fetch else None
        if fast is not None:
            return fast(numpy.asarray(indices, dtype=numpy.int64))
        return self.collate_fn([self.dataset[i] for i in indices])


class IterableFetcher:
    """The next ``batch_size`` samples of a stream, collated (or the next one, converted); raises
    StopIteration when the stream has no full batch left (or none at all, without ``drop_last``)."""

    def __init__(self, batch_size: int | None, drop_last: bool, collate_fn: Callable) -> None:
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.collate_fn = collate_fn

    def __call__(self, stream: Iterator) -> Any:
        if self.batch_size is None:
            return self.collate_fn(next(stream))
        samples = []
        for sample in stream:
            samples.append(sample)
            if len(samples) == self.batch_size:
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return self.collate_fn(samples)
