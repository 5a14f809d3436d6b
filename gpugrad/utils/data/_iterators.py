"""The iterator classes ``iter(DataLoader)`` returns, under PyTorch's names: code tells a loader's own
iterator from others by ``isinstance(it, _BaseDataLoaderIter)`` and stops persistent workers with
``_MultiProcessingDataLoaderIter._shutdown_workers()`` (Lightning's CombinedLoader does both)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["_BaseDataLoaderIter", "_MultiProcessingDataLoaderIter", "_SingleProcessDataLoaderIter"]


class _BaseDataLoaderIter:
    """One pass over a DataLoader: ``next`` gives the batches, ``len`` is the loader's length and
    ``_num_yielded`` counts the batches handed out (from the resumed position, when resuming)."""

    def __init__(self, loader: Any, batches: Iterator[Any], start: int = 0) -> None:
        self._loader = loader
        self._batches = batches
        self._num_yielded = start
        self._dataset = loader.dataset
        self._num_workers = loader.num_workers

    def __iter__(self) -> _BaseDataLoaderIter:
        return self

    def __next__(self) -> Any:
        batch = next(self._batches)
        self._num_yielded += 1
        return batch

    def __len__(self) -> int:
        return len(self._loader)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """The batches made in this process (``num_workers=0``)."""


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """The batches made by worker processes (``num_workers > 0``)."""

    def _shutdown_workers(self) -> None:
        """Stop the workers: this pass's own, or the loader's persistent ones (the next pass starts new ones)."""
        self._batches.close()  # runs the pass's cleanup, which stops workers that are not persistent
        if self._loader.persistent_workers:
            self._loader._shutdown_workers()
