"""DataPipes: functional forms registered by name, the built-in map/filter/batch, and an IterDataPipe
read by the DataLoader as the IterableDataset it is (torch_geometric's DatasetAdapter)."""
import pytest

import gpugrad as gg
from gpugrad.utils.data import (
    DataLoader,
    IterDataPipe,
    MapDataPipe,
    functional_datapipe,
)
from gpugrad.utils.data.datapipes.iter import Batcher, IterableWrapper


def pipeline(module):
    """The same pipeline built from torch.utils.data or gpugrad.utils.data."""
    data = module.utils.data

    class Numbers(data.IterDataPipe):
        def __init__(self, n, sized):
            self.n, self.sized = n, sized

        def __iter__(self):
            yield from range(self.n)

    class Sized(Numbers):
        def __len__(self):
            return self.n

    return Numbers(5, False), Sized(5, True)


def test_built_in_functional_forms():
    unsized, sized = pipeline(gg)
    assert list(unsized.map(lambda x: x * 2).filter(lambda x: x > 2)) == [4, 6, 8]
    assert list(unsized.batch(2)) == [[0, 1], [2, 3], [4]]
    assert list(sized.batch(2, drop_last=True)) == [[0, 1], [2, 3]]
    assert list(Batcher(sized, 2, wrapper_class=tuple)) == [(0, 1), (2, 3), (4,)]
    assert (len(sized.batch(2)), len(sized.batch(2, drop_last=True)), len(sized.map(str))) == (3, 2, 5)
    with pytest.raises(TypeError, match="valid length"):
        len(unsized.batch(2))
    with pytest.raises(AttributeError, match="no attribute 'shuffle_twice'"):
        _ = unsized.shuffle_twice
    with pytest.raises(ValueError, match="Boolean output"):
        list(unsized.filter(lambda x: x))


def test_a_registered_class_is_a_method_of_every_datapipe_of_its_kind():
    @functional_datapipe("gg_test_add")
    class Add(IterDataPipe):
        def __init__(self, dp, k):
            self.dp, self.k = dp, k

        def __iter__(self):
            return (x + self.k for x in self.dp)

    assert list(IterableWrapper([1, 2]).gg_test_add(10).gg_test_add(100)) == [111, 112]
    assert not hasattr(MapDataPipe(), "gg_test_add")  # an iterable form only
    with pytest.raises(TypeError, match="not a subclass"):
        functional_datapipe("gg_test_plain")(object)


def test_the_dataloader_takes_an_iter_datapipe():
    _, sized = pipeline(gg)
    loader = DataLoader(sized, batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]] and len(loader) == 3


def test_same_results_as_pytorch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(pipeline(gg), pipeline(torch)):
        for build in (lambda d: d.batch(2), lambda d: d.batch(3, drop_last=True), lambda d: d.map(lambda x: -x)):
            assert [list(b) if isinstance(b, list) else b for b in build(ours)] == \
                   [list(b) if isinstance(b, list) else b for b in build(theirs)]
        assert hasattr(ours, "__len__") == hasattr(theirs, "__len__")
    # PyTorch's DataLoader pickles a DataPipe's graph, which a class defined in a function defeats unless
    # dill is installed: its own IterableWrapper stands in
    wrapped = torch.utils.data.datapipes.iter.IterableWrapper(range(5))
    assert [b.tolist() for b in torch.utils.data.DataLoader(wrapped, batch_size=2)] == [[0, 1], [2, 3], [4]]
