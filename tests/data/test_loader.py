import io
import json

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.data import DataLoader, Dataset, Subset, TensorDataset, default_collate


def _dataset(n=23, rng=None):
    rng = rng or np.random.default_rng(0)
    X = gg.from_numpy(rng.standard_normal((n, 3)).astype(np.float32))
    y = gg.from_numpy(np.arange(n, dtype=np.int64))  # labels name the row, so batches reveal the order
    return TensorDataset(X, y)


def _order(loader):
    return np.concatenate([y.numpy() for _, y in loader])


class PlainDataset(Dataset):
    """No _fetch_batch: the loader must collate sample by sample."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return self.ds[i]


@pytest.mark.parametrize("n,bs,drop_last", [(23, 5, False), (23, 5, True), (20, 5, False), (20, 5, True),
                                            (3, 7, False), (3, 7, True), (1, 1, False)])
def test_len_and_batch_sizes(n, bs, drop_last):
    loader = DataLoader(_dataset(n), batch_size=bs, drop_last=drop_last)
    sizes = [x.shape[0] for x, _ in loader]
    expected_len = n // bs if drop_last else -(-n // bs)
    assert len(loader) == expected_len == len(sizes)
    assert all(s == bs for s in sizes[:-1])
    if sizes:
        assert sizes[-1] == (bs if drop_last or n % bs == 0 else n % bs)
    assert sum(sizes) == (n // bs * bs if drop_last else n)


def test_batches_hold_the_right_rows_and_types():
    ds = _dataset(10)
    X = ds.tensors[0]
    batches = list(DataLoader(ds, batch_size=4))
    assert all(isinstance(b, list) and len(b) == 2 for b in batches)
    xb, yb = batches[1]
    assert xb.dtype == gg.float32 and yb.dtype == gg.int64 and xb.device == X.device
    np.testing.assert_array_equal(xb.numpy(), X.numpy()[4:8])
    np.testing.assert_array_equal(yb.numpy(), [4, 5, 6, 7])


def test_batch_is_a_copy_not_a_view_of_the_dataset():
    ds = _dataset(6)
    xb, _ = next(iter(DataLoader(ds, batch_size=3)))
    xb._array[...] = 99.0
    assert not np.any(ds.tensors[0].numpy() == 99.0)


@pytest.mark.parametrize("shuffle", [False, True])
def test_fast_path_equals_per_sample_collation(shuffle):
    ds = _dataset(17)
    fast = DataLoader(ds, batch_size=4, shuffle=shuffle, generator=gg.Generator(seed=5))
    slow = DataLoader(PlainDataset(ds), batch_size=4, shuffle=shuffle, generator=gg.Generator(seed=5))
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        assert xf.dtype == xs.dtype and yf.dtype == ys.dtype


def test_fast_path_through_subset():
    ds = _dataset(12)
    sub = Subset(ds, [11, 3, 5, 0, 7])
    (xb, yb), = list(DataLoader(sub, batch_size=5))
    np.testing.assert_array_equal(yb.numpy(), [11, 3, 5, 0, 7])
    np.testing.assert_array_equal(xb.numpy(), ds.tensors[0].numpy()[[11, 3, 5, 0, 7]])


def test_batches_of_a_tensor_requiring_grad_stay_in_the_graph():
    w = gg.randn(6, 2, requires_grad=True)
    xb, = next(iter(DataLoader(TensorDataset(w), batch_size=3, shuffle=True, generator=gg.Generator(seed=1))))
    assert xb.requires_grad
    xb.sum().backward()
    assert w.grad.numpy().sum() == 6.0  # three rows of two ones each


def test_shuffle_is_a_permutation_each_epoch_and_epochs_differ():
    loader = DataLoader(_dataset(50), batch_size=8, shuffle=True, generator=gg.Generator(seed=3))
    e1, e2 = _order(loader), _order(loader)
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert not np.array_equal(e1, np.arange(50))
    assert not np.array_equal(e1, e2)


def test_no_shuffle_is_sequential_and_draws_only_the_workers_base_seed():
    # PyTorch draws the workers' base seed at every epoch, with or without workers and shuffling.
    gg.manual_seed(0)
    assert np.array_equal(_order(DataLoader(_dataset(9), batch_size=4)), np.arange(9))
    after_epoch = gg.get_rng_state()
    gg.manual_seed(0)
    gg.random.default_generator.rng.integers(0, 2**63 - 1)
    assert gg.equal(gg.get_rng_state(), after_epoch)


def test_same_generator_seed_same_orders_different_seed_different():
    def orders(seed):
        loader = DataLoader(_dataset(40), batch_size=6, shuffle=True, generator=gg.Generator(seed=seed))
        return [_order(loader) for _ in range(3)]

    a, b, c = orders(7), orders(7), orders(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_default_generator_manual_seed_fixes_the_orders():
    def orders(seed):
        gg.manual_seed(seed)
        loader = DataLoader(_dataset(40), batch_size=6, shuffle=True)
        return [_order(loader) for _ in range(3)]

    a, b, c = orders(11), orders(11), orders(12)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], c[0])


def test_default_generator_is_advanced_twice_per_epoch():
    # As PyTorch's: the workers' base seed, then the RandomSampler's seed for the epoch; other users of
    # the generator see those two draws.
    gg.manual_seed(4)
    loader = DataLoader(_dataset(40), batch_size=6, shuffle=True)
    list(loader)
    after_epoch = gg.get_rng_state()
    gg.manual_seed(4)
    for _ in range(2):
        gg.random.default_generator.rng.integers(0, 2**63 - 1)
    assert gg.equal(gg.get_rng_state(), after_epoch)


def _resume_roundtrip(make_loader, restore_rng, save_rng, stop_after):
    """Run 3 epochs; separately run, checkpoint after `stop_after` batches of epoch 1, rebuild and resume."""
    reference = []
    loader = make_loader()
    for _ in range(3):
        reference.append([y.numpy().copy() for _, y in loader])

    loader = make_loader()
    list(loader)  # epoch 0
    it = iter(loader)
    seen = [next(it)[1].numpy().copy() for _ in range(stop_after)]
    saved = io.BytesIO()
    gg.save(save_rng(loader), saved)  # the generator's state: PyTorch's uint8 tensor, saved as checkpoints do
    saved.seek(0)
    ckpt = {"rng": gg.load(saved), "loader": json.loads(json.dumps(loader.state_dict()))}  # the loader's: JSON-able
    del it, loader

    scrambled = make_loader()  # a fresh process: generators start elsewhere
    gg.manual_seed(999)
    if scrambled.generator is not None:
        scrambled.generator.manual_seed(999)
    restore_rng(scrambled, ckpt["rng"])
    scrambled.load_state_dict(ckpt["loader"])
    rest = [y.numpy() for _, y in scrambled]
    epoch1 = seen + rest
    epoch2 = [y.numpy() for _, y in scrambled]
    for got, want in zip(epoch1, reference[1], strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(epoch2, reference[2], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("stop_after", [0, 2, 5])
def test_resume_mid_epoch_with_own_generator(stop_after):
    _resume_roundtrip(
        lambda: DataLoader(_dataset(27), batch_size=5, shuffle=True, generator=gg.Generator(seed=21)),
        save_rng=lambda loader: loader.generator.get_state(),
        restore_rng=lambda loader, s: loader.generator.set_state(s),
        stop_after=stop_after,
    )


@pytest.mark.parametrize("stop_after", [0, 3])
def test_resume_mid_epoch_with_default_generator(stop_after):
    def make():
        gg.manual_seed(33)
        return DataLoader(_dataset(27), batch_size=5, shuffle=True, drop_last=True)

    _resume_roundtrip(
        make,
        save_rng=lambda loader: gg.get_rng_state(),
        restore_rng=lambda loader, s: gg.set_rng_state(s),
        stop_after=stop_after,
    )


def test_state_dict_between_epochs_resumes_at_a_new_epoch():
    loader = DataLoader(_dataset(20), batch_size=4, shuffle=True, generator=gg.Generator(seed=2))
    list(loader)
    sd = loader.state_dict()
    assert sd["in_epoch"] is False and sd["epoch_generator_state"] is None
    next_epoch = _order(loader)
    other = DataLoader(_dataset(20), batch_size=4, shuffle=True, generator=gg.Generator(seed=77))
    other.load_state_dict(sd)
    np.testing.assert_array_equal(_order(other), next_epoch)


def test_load_state_dict_rejects_a_different_loader_and_changes_nothing():
    loader = DataLoader(_dataset(20), batch_size=4, shuffle=True, generator=gg.Generator(seed=2))
    it = iter(loader)
    next(it)
    sd = loader.state_dict()
    other = DataLoader(_dataset(21), batch_size=4, shuffle=True, generator=gg.Generator(seed=5))
    before = other.generator.get_state()
    with pytest.raises(ValueError, match="dataset_len: saved 20, loader has 21"):
        other.load_state_dict(sd)
    assert gg.equal(other.generator.get_state(), before)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(20), batch_size=5, shuffle=True, generator=gg.Generator(seed=2)).load_state_dict(sd)
    with pytest.raises(ValueError, match="default generator"):
        DataLoader(_dataset(20), batch_size=4, shuffle=True).load_state_dict(sd)
    with pytest.raises(KeyError, match="batches_yielded"):
        loader.load_state_dict({k: v for k, v in sd.items() if k != "batches_yielded"})


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(), batch_size=bad)


def test_bad_generator_and_dataset():
    with pytest.raises(TypeError, match="gg.Generator"):
        DataLoader(_dataset(), generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="__getitem__"):
        DataLoader(object())


def test_custom_collate_fn_receives_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [int(y.item()) for _, y in samples]

    batches = list(DataLoader(_dataset(7), batch_size=3, collate_fn=collate))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]] and seen == [3, 3, 1]


def test_default_collate_kinds():
    samples = [({"a": np.full(2, i, dtype=np.int32), "s": f"n{i}"}, float(i), i, i % 2 == 0, [gg.full((2,), i)])
               for i in range(3)]
    d, f, n, b, (t,) = default_collate(samples)
    assert d["a"].dtype == gg.int32 and d["a"].shape == (3, 2) and d["s"] == ["n0", "n1", "n2"]  # as PyTorch's
    assert f.dtype == gg.float64 and f.tolist() == [0.0, 1.0, 2.0]
    assert n.dtype == gg.int64 and n.tolist() == [0, 1, 2]
    assert b.dtype == gg.bool and b.tolist() == [True, False, True]
    assert t.shape == (3, 2) and t.numpy()[2].tolist() == [2.0, 2.0]


def test_default_collate_errors_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"\(2,\) at index 0 and \(3,\) at index 1"):
        default_collate([gg.zeros(2), gg.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object()])
    with pytest.raises(ValueError, match="non-empty"):
        default_collate([])


@pytest.mark.torch
@pytest.mark.parametrize("n,bs,drop_last", [(23, 5, False), (23, 5, True), (4, 9, True), (4, 9, False)])
def test_len_matches_torch(n, bs, drop_last):
    torch = pytest.importorskip("torch")
    t_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(n, 1)), batch_size=bs,
                                           drop_last=drop_last)
    ours = DataLoader(_dataset(n), batch_size=bs, drop_last=drop_last)
    assert len(ours) == len(t_loader)
    assert [x.shape[0] for x, _ in ours] == [x.shape[0] for x, in t_loader]


def test_old_import_paths_name_the_utils_data_objects():
    import gpugrad.data.dataloader as old_loader
    import gpugrad.data.dataset as old_dataset
    import gpugrad.utils.data as ud

    assert DataLoader is ud.DataLoader and default_collate is ud.default_collate
    assert old_loader.DataLoader is ud.DataLoader and old_dataset.TensorDataset is ud.TensorDataset
    assert Dataset is ud.Dataset and Subset is ud.Subset and old_dataset.random_split is ud.random_split


def test_takes_pin_memory_device_and_in_order():
    # transformers' Trainer and accelerate pass both.
    loader = gg.utils.data.DataLoader(list(range(8)), batch_size=4, in_order=False, pin_memory_device="")
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert loader.in_order is False and loader.pin_memory_device == ""
