import pytest

import gpugrad as gg
from gpugrad.utils.data import ConcatDataset, IterableDataset, TensorDataset


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(3))


def test_concat_dataset_indexes_across_parts():
    a, b = TensorDataset(gg.arange(3)), TensorDataset(gg.arange(10, 12))
    c = a + b
    assert isinstance(c, ConcatDataset) and len(c) == 5 and c.cumulative_sizes == [3, 5]
    assert [c[i][0].item() for i in range(5)] == [0, 1, 2, 10, 11]
    assert c[-1][0].item() == 11 and c[-5][0].item() == 0
    with pytest.raises(IndexError, match="index 5 is out of range for length 5"):
        c[5]
    with pytest.raises(ValueError, match="index -6 should not exceed length 5"):
        c[-6]


def test_concat_dataset_errors():
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="dataset 1 is an IterableDataset"):
        ConcatDataset([TensorDataset(gg.arange(2)), Stream()])


@pytest.mark.torch
def test_concat_dataset_matches_torch():
    torch = pytest.importorskip("torch")
    parts = [list(range(2)), list(range(5, 9)), [], [42]]
    want = torch.utils.data.ConcatDataset(parts)
    got = ConcatDataset(parts)
    assert len(got) == len(want) and got.cumulative_sizes == want.cumulative_sizes
    assert [got[i] for i in range(-len(got), len(got))] == [want[i] for i in range(-len(want), len(want))]


def test_chain_and_stack_datasets():
    from gpugrad.utils.data import ChainDataset, IterableDataset, StackDataset, TensorDataset

    class Count(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chained = Count(2) + Count(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([Count(1), TensorDataset(gg.ones(2))]))
    a, b = TensorDataset(gg.arange(3)), TensorDataset(gg.arange(3) * 10)
    (x,), (y,) = StackDataset(a, b)[2]
    assert x.item() == 2 and y.item() == 20
    assert StackDataset(x=a, y=b)[1]["y"][0].item() == 10 and len(StackDataset(a, b)) == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, TensorDataset(gg.ones(2)))
    with pytest.raises(ValueError, match="either"):
        StackDataset(a, y=b)
