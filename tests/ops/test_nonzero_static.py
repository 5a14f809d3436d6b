"""nonzero_static (gpugrad/ops/indexing.py): nonzero's rows cut or padded to a fixed count, against NumPy
and, where installed, PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def _expected(a: np.ndarray, size: int, fill: int) -> np.ndarray:
    found = np.argwhere(a) if a.ndim else np.zeros((int(bool(a)), 0), dtype=np.int64)
    out = np.full((size, a.ndim), fill, dtype=np.int64)
    out[: min(size, len(found))] = found[:size]
    return out


@pytest.mark.parametrize("size", [0, 1, 3, 7, 30])
def test_against_numpy(size):
    rng = np.random.default_rng(size)
    for a in (rng.integers(0, 2, (4, 5)) * rng.standard_normal((4, 5)), rng.integers(0, 3, (2, 3, 2)),
              np.array([0.0, np.nan, 2.0]), np.array([True, False, True]), np.zeros((2, 0)), np.array(3.0),
              np.array(0.0)):
        for fill in (-1, 9):
            out = gg.nonzero_static(gg.tensor(a), size=size, fill_value=fill)
            assert out.dtype is gg.int64 and out.shape == (size, a.ndim)
            np.testing.assert_array_equal(out.numpy(), _expected(a, size, fill))


def test_method_keywords_and_errors():
    x = gg.tensor([[0, 1, 0], [2, 0, 3]])
    assert x.nonzero_static(size=2).tolist() == [[0, 1], [1, 0]]
    assert gg.nonzero_static(input=x, size=4, fill_value=-5).tolist() == [[0, 1], [1, 0], [1, 2], [-5, -5]]
    with pytest.raises(TypeError):
        gg.nonzero_static(x, 2)  # size is keyword-only
    with pytest.raises(ValueError, match="non-negative"):
        gg.nonzero_static(x, size=-1)
    with pytest.raises(TypeError, match="fill_value"):
        gg.nonzero_static(x, size=2, fill_value=1.5)
    assert not gg.nonzero_static(gg.ones(2, requires_grad=True), size=1).requires_grad


@pytest.mark.torch
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for a in (rng.integers(0, 2, (3, 4, 2)), rng.standard_normal(5) * rng.integers(0, 2, 5), np.array(1.0),
              np.zeros((3, 0))):
        for size in (0, 2, 5, 40):
            for fill in (-1, 0, 7):
                ours = gg.nonzero_static(gg.tensor(a), size=size, fill_value=fill)
                theirs = torch.nonzero_static(torch.tensor(a), size=size, fill_value=fill)
                assert ours.tolist() == theirs.tolist() and tuple(ours.shape) == tuple(theirs.shape)
