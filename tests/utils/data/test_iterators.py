"""iter(DataLoader) gives PyTorch's iterator classes: code tells a loader's own pass by
isinstance(_BaseDataLoaderIter) and stops persistent workers through _MultiProcessingDataLoaderIter."""
import pytest

import gpugrad as gg
from gpugrad.utils.data import DataLoader, TensorDataset
from gpugrad.utils.data.dataloader import (
    _BaseDataLoaderIter,
    _MultiProcessingDataLoaderIter,
    _SingleProcessDataLoaderIter,
)


def _loader(**kw):
    return DataLoader(TensorDataset(gg.arange(10.0)), batch_size=3, **kw)


def test_a_single_process_pass_is_a_base_iterator_that_counts_its_batches():
    loader = _loader()
    it = iter(loader)
    assert isinstance(it, _SingleProcessDataLoaderIter) and isinstance(it, _BaseDataLoaderIter)
    assert iter(it) is it and len(it) == 4 and it._num_yielded == 0
    first = next(it)
    assert first[0].tolist() == [0.0, 1.0, 2.0] and it._num_yielded == 1
    assert [b[0].tolist() for b in it] == [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0]]
    assert it._num_yielded == 4 and loader._iterator is None
    with pytest.raises(StopIteration):
        next(it)


def test_persistent_workers_are_held_by_the_loaders_iterator_and_stop_through_it():
    loader = _loader(num_workers=1, persistent_workers=True)
    it = iter(loader)
    assert isinstance(it, _MultiProcessingDataLoaderIter) and loader._iterator is it
    assert next(it)[0].tolist() == [0.0, 1.0, 2.0]
    workers = loader._workers.workers
    it._shutdown_workers()
    assert loader._workers is None and not any(w.is_alive() for w in workers)
    assert [b[0].tolist() for b in loader][-1] == [9.0]  # a later pass starts new workers
    loader._shutdown_workers()


@pytest.mark.torch
def test_pytorch_has_the_same_classes():
    torch = pytest.importorskip("torch")
    from torch.utils.data import dataloader as tdl

    it = iter(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(10.0)), batch_size=3))
    assert isinstance(it, tdl._SingleProcessDataLoaderIter) and isinstance(it, tdl._BaseDataLoaderIter)
    next(it)
    assert it._num_yielded == 1 and len(it) == 4
    assert issubclass(tdl._MultiProcessingDataLoaderIter, tdl._BaseDataLoaderIter)


class _Stream(gg.utils.data.IterableDataset):
    """An iterable data set without a length."""

    def __iter__(self):
        return iter(gg.arange(7.0))


def test_a_stream_without_length_saves_and_resumes_its_position():
    loader = DataLoader(_Stream(), batch_size=2)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    assert state["dataset_len"] is None and state["batches_yielded"] == 1
    again = DataLoader(_Stream(), batch_size=2)
    again.load_state_dict(state)
    assert [b.tolist() for b in again] == [[2.0, 3.0], [4.0, 5.0], [6.0]]
    with pytest.raises(ValueError, match="outside"):
        again.load_state_dict(dict(state, batches_yielded=-1))
