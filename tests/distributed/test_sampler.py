"""DistributedSampler: PyTorch's padding and subsampling (compared index by index with shuffle=False),
and with shuffle=True the properties that hold whatever the generator: a partition, seeded, per epoch."""
import itertools

import pytest

from gpugrad.utils.data import DistributedSampler


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def by_hand(n, replicas, rank, drop_last):
    """The layout written out: pad by wrapping around (or trim), then every replicas-th index from rank."""
    if drop_last:
        total = (n // replicas) * replicas
        idx = list(range(total))
    else:
        total = -(-n // replicas) * replicas
        idx = [i % n for i in range(total)]
    return idx[rank::replicas]


@pytest.mark.parametrize("n,replicas", [(10, 3), (3, 5), (7, 7), (1, 4), (12, 4), (0, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_layout(n, replicas, drop_last):
    for rank in range(replicas):
        s = DistributedSampler(Sized(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        got = list(s)
        assert got == by_hand(n, replicas, rank, drop_last)
        assert len(s) == len(got)


@pytest.mark.parametrize("n,replicas", [(10, 3), (2, 5), (16, 4)])
def test_shuffled_partition_seed_and_epoch(n, replicas):
    def shares(seed, epoch, drop_last=False):
        out = []
        for r in range(replicas):
            s = DistributedSampler(Sized(n), replicas, r, shuffle=True, seed=seed, drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    a = shares(0, 0)
    every = list(itertools.chain(*a))
    assert set(every) == set(range(n)) and len({len(x) for x in a}) == 1  # all covered, equal shares
    if n % replicas == 0:
        assert sorted(every) == list(range(n))  # no padding: an exact partition
    assert shares(0, 0) == a  # same seed and epoch, same order on every rank
    if n >= 10:  # (with 2 items two seeds agree half the time)
        assert shares(0, 1) != a and shares(1, 0) != a
    d = shares(3, 2, drop_last=True)
    flat = list(itertools.chain(*d))
    assert len(flat) == len(set(flat)) == (n // replicas) * replicas


def test_bad_arguments_and_defaults():
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(Sized(5), num_replicas=3, rank=3)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(Sized(5))


@pytest.mark.torch
@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (3, 5, False), (9, 2, True)])
def test_matches_torch_unshuffled(n, replicas, drop_last):
    torch_ds = pytest.importorskip("torch.utils.data.distributed")
    for rank in range(replicas):
        ours = DistributedSampler(Sized(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_ds.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
