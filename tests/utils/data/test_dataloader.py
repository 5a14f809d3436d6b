import itertools

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.data import DataLoader, IterableDataset, TensorDataset, get_worker_info


class Range(IterableDataset):
    """0..n-1, sharded by worker: worker k of K yields k, k+K, ..."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def _plain(batch):
    return batch.tolist() if hasattr(batch, "tolist") else batch  # batch_size=None leaves ints as ints


def _ds(n=10):
    return TensorDataset(gg.arange(n), gg.from_numpy(np.arange(2 * n, dtype=np.float32).reshape(n, 2)))


ARG_ERRORS = [
    (dict(num_workers=-1), "num_workers"),
    (dict(timeout=-1), "timeout"),
    (dict(prefetch_factor=2), "prefetch_factor"),
    (dict(persistent_workers=True), "persistent_workers"),
    (dict(sampler=[0, 1], shuffle=True), "mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None"),
]


@pytest.mark.parametrize("kwargs,match", ARG_ERRORS)
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(_ds(), **kwargs)


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_iterable_dataset_refuses_orderings(kwargs):
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
        DataLoader(Range(3), **kwargs)


def test_batch_size_none_gives_samples_one_by_one():
    out = list(DataLoader(_ds(3), batch_size=None))
    assert len(out) == 3 and out[1][0].shape == () and out[1][1].tolist() == [2.0, 3.0]
    assert list(DataLoader([np.float32(1.5)], batch_size=None))[0].dtype == gg.float32


def test_samplers_and_batch_sampler():
    loader = DataLoader(_ds(), batch_size=2, sampler=[9, 0, 4])
    assert [y.tolist() for y, _ in loader] == [[9, 0], [4]] and len(loader) == 2
    loader = DataLoader(_ds(), batch_sampler=[[3], [1, 2, 5]])
    assert [y.tolist() for y, _ in loader] == [[3], [1, 2, 5]] and loader.batch_size is None


def test_subclass_getitem_is_honoured_over_the_fast_path():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            y, x = super().__getitem__(i)
            return y * 2, x

    assert [y.tolist() for y, _ in DataLoader(Doubled(*_ds(4).tensors), batch_size=4)] == [[0, 2, 4, 6]]


@pytest.mark.parametrize("bs,drop_last,want", [(3, False, [[0, 1, 2], [3, 4, 5], [6]]), (3, True, [[0, 1, 2], [3, 4, 5]]),
                                               (None, False, [0, 1, 2, 3, 4, 5, 6])])
def test_iterable_dataset_batches_and_len(bs, drop_last, want):
    loader = DataLoader(Range(7), batch_size=bs, drop_last=drop_last)
    assert [_plain(b) for b in loader] == want and len(loader) == len(want)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None),
                                    dict(batch_size=3, sampler=[5, 1, 2, 8]),
                                    dict(batch_sampler=[[1, 2], [0]])])
def test_batches_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    n = 10
    t_ds = torch.utils.data.TensorDataset(torch.arange(n), torch.arange(2 * n, dtype=torch.float32).reshape(n, 2))
    want = list(torch.utils.data.DataLoader(t_ds, **kwargs))
    got = list(DataLoader(_ds(n), **kwargs))
    assert len(got) == len(want) == len(DataLoader(_ds(n), **kwargs))
    for g, w in zip(got, want):
        assert type(g) is type(w)
        for a, b in zip(g, w):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("kwargs,match", ARG_ERRORS)
def test_torch_refuses_the_same_arguments(kwargs, match):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(10)), **kwargs)


@pytest.mark.torch
@pytest.mark.parametrize("bs,drop_last", [(2, False), (2, True), (None, False)])
def test_iterable_sharding_matches_torch(bs, drop_last):
    torch = pytest.importorskip("torch")

    class TorchRange(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, 7, step))

    want = [_plain(b) for b in torch.utils.data.DataLoader(TorchRange(), batch_size=bs, drop_last=drop_last,
                                                            num_workers=2)]
    got = [_plain(b) for b in DataLoader(Range(7), batch_size=bs, drop_last=drop_last, num_workers=2)]
    assert got == want


@pytest.mark.parametrize("name", ["batch_size", "sampler", "drop_last", "dataset"])
def test_options_fixed_after_init(name):
    loader = DataLoader(_ds(), batch_size=2)
    with pytest.raises(ValueError, match=f"{name} attribute should not be set"):
        setattr(loader, name, None)
    loader.collate_fn = None  # the others may change, as PyTorch's


def _rebuilt_with(loader, batch_sampler):
    """A loader of the same class made from the other's public attributes, with a new batch sampler: how
    training libraries swap in a resumable sampler (every public attribute must be an argument)."""
    taken = ("batch_size", "sampler", "drop_last", "batch_sampler")
    params = {k: v for k, v in vars(loader).items() if not k.startswith("_") and k not in taken}
    return type(loader)(batch_sampler=batch_sampler, **params)


def test_shuffled_loader_rebuilds_from_its_public_attributes():
    loader = DataLoader(_ds(6), batch_size=2, shuffle=True)
    assert "shuffle" not in vars(loader)
    rebuilt = _rebuilt_with(loader, [[5, 4], [0]])
    assert [b[0].tolist() for b in rebuilt] == [[5, 4], [0]]


@pytest.mark.torch
def test_public_attributes_are_pytorchs():
    torch = pytest.importorskip("torch")
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(6)), batch_size=2, shuffle=True)
    ours = DataLoader(_ds(6), batch_size=2, shuffle=True)
    public = {k for k in vars(ours) if not k.startswith("_")}
    # PyTorch's multiprocessing_context is a property over a private attribute: the same name to a reader.
    assert public - {"multiprocessing_context"} <= {k for k in vars(theirs) if not k.startswith("_")}
    assert [b[0].tolist() for b in _rebuilt_with(theirs, [[5, 4], [0]])] == [[5, 4], [0]]


def _samplers_seen(lib, iterable_dataset, map_dataset):
    """What code inspecting loaders reads (ignite's auto_dataloader and deterministic engine): the sampler
    and batch sampler classes, the batch size, and the data set kind."""
    from importlib import import_module

    kinds = import_module(lib.__name__ + ".utils.data.dataloader")._DatasetKind
    seen = []
    for ds, kwargs in ((iterable_dataset, {"batch_size": 2}), (iterable_dataset, {"batch_size": None}),
                       (map_dataset, {"batch_size": 2})):
        loader = lib.utils.data.DataLoader(ds, **kwargs)
        seen.append((type(loader.sampler).__name__, type(loader.batch_sampler).__name__,
                     getattr(loader.batch_sampler, "batch_size", None),
                     {kinds.Map: "map", kinds.Iterable: "iterable"}[loader._dataset_kind]))
    return seen


def test_iterable_loader_has_pytorchs_samplers():
    from gpugrad.utils.data.dataloader import _InfiniteConstantSampler

    assert _samplers_seen(gg, Range(5), _ds()) == [
        ("_InfiniteConstantSampler", "BatchSampler", 2, "iterable"), ("_InfiniteConstantSampler", "NoneType", None, "iterable"),
        ("SequentialSampler", "BatchSampler", 2, "map")]
    assert list(itertools.islice(_InfiniteConstantSampler(), 3)) == [None, None, None]
    assert [_plain(b) for b in DataLoader(Range(5), batch_size=2)] == [[0, 1], [2, 3], [4]]  # still the stream's


@pytest.mark.torch
def test_pytorch_has_the_same_samplers():
    torch = pytest.importorskip("torch")

    class TorchRange(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    assert _samplers_seen(torch, TorchRange(), torch.utils.data.TensorDataset(torch.arange(10))) == \
        _samplers_seen(gg, Range(5), _ds())
