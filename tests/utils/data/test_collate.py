import collections

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.data import default_collate, default_convert

Point = collections.namedtuple("Point", "x y")


def test_default_collate_structures():
    batch = default_collate([(np.full(2, i, dtype=np.float32), i, float(i), "s", Point(i, 2.0 * i))
                             for i in range(3)])
    assert isinstance(batch, list) and len(batch) == 5  # tuples collate to a list, as PyTorch's
    arr, ints, floats, strs, point = batch
    assert arr.dtype == gg.float32 and arr.shape == (3, 2) and arr.numpy()[:, 0].tolist() == [0, 1, 2]
    assert ints.dtype == gg.int64 and floats.dtype == gg.float64 and strs == ["s", "s", "s"]
    assert isinstance(point, Point) and point.x.tolist() == [0, 1, 2] and point.y.dtype == gg.float64
    d = default_collate([{"a": gg.ones(2), "b": [1, 2]}, {"a": gg.zeros(2), "b": [3, 4]}])
    assert d["a"].shape == (2, 2) and [t.tolist() for t in d["b"]] == [[1, 3], [2, 4]]


def test_default_convert_leaves_non_arrays():
    out = default_convert((np.zeros(2), 1, "a"))
    assert isinstance(out, list) and out[0].dtype == gg.float64 and out[1:] == [1, "a"]
    assert default_convert(np.float32(2.0)).shape == ()


@pytest.mark.torch
def test_default_collate_matches_torch():
    torch = pytest.importorskip("torch")
    samples = [{"x": np.arange(3, dtype=np.int32) + i, "f": 0.5 * i, "n": i, "b": i % 2 == 0,
                "p": Point(np.float64(i), [i, i + 1]), "s": f"s{i}"} for i in range(4)]
    want, got = torch.utils.data.default_collate(samples), default_collate(samples)

    def same(g, w):
        if isinstance(w, torch.Tensor):
            assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
            np.testing.assert_array_equal(g.numpy(), w.numpy())
        elif isinstance(w, dict):
            assert set(g) == set(w)
            for k in w:
                same(g[k], w[k])
        elif isinstance(w, (list, tuple)):
            assert type(g) is type(w) and len(g) == len(w)
            for a, b in zip(g, w):
                same(a, b)
        else:
            assert g == w

    same(got, want)


def test_private_module_paths_hold_the_same_objects():
    # torch.utils.data._utils.collate and torch.utils.data.dataloader's type aliases, which libraries import
    from gpugrad.utils import data
    from gpugrad.utils.data._utils.collate import default_collate, default_convert
    from gpugrad.utils.data.dataloader import _collate_fn_t, _worker_init_fn_t

    assert default_collate is data.default_collate and default_convert is data.default_convert
    assert data._utils.collate.default_collate is default_collate
    assert default_collate([(1, 2.0), (3, 4.0)])[0].tolist() == [1, 3]
    assert _collate_fn_t[int].__args__[0] == list[int] and _worker_init_fn_t.__args__ == (int, None)
