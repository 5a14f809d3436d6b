import numpy as np
import pytest

import gpugrad as gg
from gpugrad.data import Subset, TensorDataset, random_split, train_test_split


def test_tensor_dataset_indexing():
    X, y = gg.randn(5, 3), gg.arange(5)
    ds = TensorDataset(X, y)
    assert len(ds) == 5
    x2, y2 = ds[2]
    np.testing.assert_array_equal(x2.numpy(), X.numpy()[2])
    assert y2.item() == 2 and y2.shape == ()
    assert ds[-1][1].item() == 4
    with pytest.raises(IndexError):
        ds[5]


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"100 \(tensor 0, shape \(100, 3\)\), 99 \(tensor 1, shape \(99,\)\)"):
        TensorDataset(gg.zeros(100, 3), gg.zeros(99))


def test_tensor_dataset_bad_arguments():
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="argument 1 is a ndarray"):
        TensorDataset(gg.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(gg.tensor(1.0))


def test_subset_maps_indices():
    ds = TensorDataset(gg.arange(10))
    sub = Subset(ds, [9, 4, 1])
    assert len(sub) == 3 and sub[0][0].item() == 9 and sub[-1][0].item() == 1
    assert [s[0].item() for s in sub[[2, 0]]] == [1, 9]


@pytest.mark.parametrize("n,lengths,expected", [
    (10, [7, 3], [7, 3]),
    (10, [0.7, 0.3], [7, 3]),
    (11, [0.5, 0.5], [6, 5]),
    (10, [0.33, 0.33, 0.34], [4, 3, 3]),
    (1797, [0.8, 0.2], [1438, 359]),
])
def test_random_split_sizes_and_disjoint_cover(n, lengths, expected):
    parts = random_split(TensorDataset(gg.arange(n)), lengths, generator=gg.Generator(seed=0))
    assert [len(p) for p in parts] == expected
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(n))


def test_random_split_determinism():
    ds = TensorDataset(gg.arange(30))
    a = random_split(ds, [20, 10], generator=gg.Generator(seed=1))
    b = random_split(ds, [20, 10], generator=gg.Generator(seed=1))
    c = random_split(ds, [20, 10], generator=gg.Generator(seed=2))
    assert a[0].indices == b[0].indices and a[1].indices == b[1].indices
    assert a[0].indices != c[0].indices
    gg.manual_seed(5)
    d = random_split(ds, [0.5, 0.5])
    gg.manual_seed(5)
    e = random_split(ds, [0.5, 0.5])
    assert d[0].indices == e[0].indices


def test_random_split_errors():
    ds = TensorDataset(gg.arange(10))
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\) does not equal .* \(10\)"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="fraction at index 0 is 1.2"):
        random_split(ds, [1.2, -0.2])
    with pytest.raises(ValueError, match="non-negative int"):
        random_split(ds, [12, -2])


@pytest.mark.torch
@pytest.mark.parametrize("n,lengths", [(10, [0.7, 0.3]), (11, [0.5, 0.5]), (10, [0.33, 0.33, 0.34]),
                                       (7, [0.1, 0.2, 0.3, 0.4]), (1797, [0.8, 0.2]), (5, [2, 3])])
def test_random_split_lengths_match_torch(n, lengths):
    torch = pytest.importorskip("torch")
    want = [len(p) for p in torch.utils.data.random_split(range(n), lengths, torch.Generator().manual_seed(0))]
    got = [len(p) for p in random_split(TensorDataset(gg.arange(n)), lengths, generator=gg.Generator(seed=0))]
    assert got == want


def test_train_test_split_rows_stay_paired():
    X = gg.from_numpy(np.arange(40, dtype=np.float32).reshape(20, 2))
    y = gg.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, generator=gg.Generator(seed=0))
    assert X_tr.shape == (15, 2) and X_te.shape == (5, 2) and y_tr.shape == (15,) and y_te.shape == (5,)
    np.testing.assert_array_equal(X_tr.numpy()[:, 0], 2 * y_tr.numpy())
    np.testing.assert_array_equal(X_te.numpy()[:, 0], 2 * y_te.numpy())
    assert sorted(np.concatenate([y_tr.numpy(), y_te.numpy()]).tolist()) == list(range(20))
    again = train_test_split(X, y, test_size=0.25, generator=gg.Generator(seed=0))
    np.testing.assert_array_equal(again[3].numpy(), y_te.numpy())
    _, _, _, y_te_no_shuffle = train_test_split(X, y, test_size=3, shuffle=False)
    assert y_te_no_shuffle.tolist() == [17, 18, 19]


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="size mismatch"):
        train_test_split(gg.zeros(4), gg.zeros(5))
    with pytest.raises(ValueError, match="test_size=1.5"):
        train_test_split(gg.zeros(4), test_size=1.5)
    with pytest.raises(ValueError, match="test_size=4"):
        train_test_split(gg.zeros(4), test_size=4)
