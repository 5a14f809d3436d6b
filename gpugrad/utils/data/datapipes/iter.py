"""``torch.utils.data.datapipes.iter``: the iterable DataPipes most pipelines are built of, each also a
method of every ``IterDataPipe`` (``dp.map(fn)``, ``dp.filter(fn)``, ``dp.batch(n)``)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .datapipe import DataChunk, IterDataPipe, functional_datapipe

__all__ = ["Batcher", "Filter", "IterableWrapper", "Mapper"]


def _length(datapipe, name: str) -> int:
    if not hasattr(datapipe, "__len__"):
        raise TypeError(f"{name} instance doesn't have valid length")
    return len(datapipe)


class IterableWrapper(IterDataPipe):
    """Any iterable (a list, a range) as an IterDataPipe."""

    def __init__(self, iterable: Iterable, deepcopy: bool = True) -> None:
        self.iterable = iterable
        self.deepcopy = deepcopy  # PyTorch copies the iterable per iterator; ours is iterated as it is

    def __iter__(self):
        yield from self.iterable

    def __len__(self) -> int:
        return _length(self.iterable, type(self).__name__)


@functional_datapipe("map")
class Mapper(IterDataPipe):
    """``fn`` applied to each item."""

    def __init__(self, datapipe: IterDataPipe, fn: Callable) -> None:
        self.datapipe, self.fn = datapipe, fn

    def __iter__(self):
        for item in self.datapipe:
            yield self.fn(item)

    def __len__(self) -> int:
        return _length(self.datapipe, "MapperIterDataPipe")


@functional_datapipe("filter")
class Filter(IterDataPipe):
    """The items for which ``filter_fn`` returns True (it must return a bool)."""

    def __init__(self, datapipe: IterDataPipe, filter_fn: Callable) -> None:
        self.datapipe, self.filter_fn = datapipe, filter_fn

    def __iter__(self):
        for item in self.datapipe:
            keep = self.filter_fn(item)
            if not isinstance(keep, bool):
                raise ValueError(  # noqa: TRY004  (PyTorch's type)
                    f"Boolean output is required for `filter_fn` of FilterIterDataPipe, got {type(keep)}")
            if keep:
                yield item


@functional_datapipe("batch")
class Batcher(IterDataPipe):
    """Consecutive items in batches of ``batch_size`` (the last one shorter unless ``drop_last``), each
    made by ``wrapper_class`` from the list of its items."""

    def __init__(self, datapipe: IterDataPipe, batch_size: int, drop_last: bool = False,
                 wrapper_class: Callable[[list], Any] = DataChunk) -> None:
        if batch_size <= 0:
            raise ValueError("Batch size is required to be larger than 0!")
        self.datapipe, self.batch_size, self.drop_last, self.wrapper_class = datapipe, batch_size, drop_last, wrapper_class

    def __iter__(self):
        batch: list = []
        for item in self.datapipe:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.wrapper_class(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.wrapper_class(batch)

    def __len__(self) -> int:
        n = _length(self.datapipe, "BatcherIterDataPipe")
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
