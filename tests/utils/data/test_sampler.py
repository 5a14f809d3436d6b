import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.data import (BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler,
                                WeightedRandomSampler)


def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(range(5), 2, False)) == 3 and len(BatchSampler(range(5), 2, True)) == 2


@pytest.mark.parametrize("n,num_samples", [(7, None), (7, 3), (4, 10)])
def test_random_sampler_without_replacement_chains_permutations(n, num_samples):
    s = RandomSampler(range(n), num_samples=num_samples, generator=gg.Generator(seed=0))
    got = list(s)
    count = n if num_samples is None else num_samples
    assert len(got) == len(s) == count
    for start in range(0, count, n):  # each block of n is (a prefix of) a permutation: no repeats
        block = got[start:start + n]
        assert len(set(block)) == len(block) and set(block) <= set(range(n))


def test_random_sampler_with_replacement_and_seeds():
    s = RandomSampler(range(3), replacement=True, num_samples=200, generator=gg.Generator(seed=1))
    got = list(s)
    assert len(got) == 200 and set(got) == {0, 1, 2}
    assert list(RandomSampler(range(9), generator=gg.Generator(seed=5))) == list(RandomSampler(range(9), generator=gg.Generator(seed=5)))
    gg.manual_seed(3)
    a = list(RandomSampler(range(9)))
    gg.manual_seed(3)
    assert list(RandomSampler(range(9))) == a


def test_subset_random_sampler_permutes_the_given_indices():
    got = list(SubsetRandomSampler([10, 20, 30, 40], generator=gg.Generator(seed=0)))
    assert sorted(got) == [10, 20, 30, 40]


def test_weighted_random_sampler_follows_the_weights():
    got = np.array(list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=gg.Generator(seed=0))))
    assert (got != 0).all()
    assert abs((got == 2).mean() - 0.75) < 0.03
    no_rep = list(WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False, generator=gg.Generator(seed=0)))
    assert sorted(no_rep) == [0, 1, 2]


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples=0 .the dataset is empty"):  # as shuffle=True on one
        gg.utils.data.DataLoader(gg.utils.data.TensorDataset(gg.zeros(0, 2)), batch_size=4, shuffle=True)
    assert list(gg.utils.data.DataLoader(gg.utils.data.TensorDataset(gg.zeros(0, 2)), batch_size=4)) == []
    with pytest.raises(TypeError, match="replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        WeightedRandomSampler([[1.0, 1.0], [1.0, 1.0]], 2)
    with pytest.raises(ValueError, match="batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last=None"):
        BatchSampler(range(3), 2, None)
    with pytest.raises(TypeError, match="gg.Generator"):
        SubsetRandomSampler([1], generator=np.random.default_rng(0))


@pytest.mark.torch
@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (2, 5, False)])
def test_batch_sampler_matches_torch(n, bs, drop_last):
    torch = pytest.importorskip("torch")
    want = list(torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop_last))
    assert list(BatchSampler(SequentialSampler(range(n)), bs, drop_last)) == want


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"num_samples": 3}, {"num_samples": 11}, {"replacement": True, "num_samples": 5}])
def test_random_sampler_lengths_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    want = list(torch.utils.data.RandomSampler(range(4), generator=torch.Generator().manual_seed(0), **kwargs))
    got = list(RandomSampler(range(4), generator=gg.Generator(seed=0), **kwargs))
    assert len(got) == len(want)
    if not kwargs.get("replacement"):  # the same multiset of indices (whole permutations and a cut one)
        assert sorted(got[: len(got) // 4 * 4]) == sorted(want[: len(want) // 4 * 4])


def test_draws_with_replacement_come_as_the_loop_asks_for_them():
    # minGPT's trainer: RandomSampler(data, replacement=True, num_samples=int(1e10)), an endless stream.
    endless = RandomSampler(range(10), replacement=True, num_samples=int(1e10), generator=gg.Generator(seed=4))
    assert len(endless) == int(1e10)
    first = [i for _, i in zip(range(100), endless)]
    assert all(0 <= i < 10 for i in first)
    again = RandomSampler(range(10), replacement=True, num_samples=100, generator=gg.Generator(seed=4))
    assert list(again) == first  # the same chunks of draws, however long the stream
