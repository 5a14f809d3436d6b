"""multinomial with replacement over many short rows (a Categorical over a batch, as RL policies sample):
PyTorch's numbers for a seed, whether rows are searched together or one by one."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.ops import sampling


def _draws(lib):
    lib.manual_seed(77)
    weights = lib.rand(500, 3)
    weights[7, 1] = 0.0  # a zero weight is never drawn
    return [lib.multinomial(weights, 4, True), lib.distributions.Categorical(probs=weights).sample()]


def test_many_rows_give_pytorchs_numbers():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_draws(gg), _draws(torch)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_row_by_row_search_agrees_with_counting(monkeypatch):
    counted = [d.numpy() for d in _draws(gg)]
    monkeypatch.setattr(sampling, "_COUNT_CHUNK", 2)  # every row then has more comparisons than a chunk
    searched = [d.numpy() for d in _draws(gg)]
    for a, b in zip(counted, searched):
        np.testing.assert_array_equal(a, b)
    assert not (counted[0] == 1)[7].any()
