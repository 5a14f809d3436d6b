"""associative_scan: against a NumPy loop, in reverse, differentiated by finite differences, and beside
PyTorch's generic mode (its pointwise mode needs a GPU)."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad._higher_order_ops import associative_scan
from gpugrad.autograd import gradcheck


def linear_recurrence(left, right):
    """(a, b) pairs composing h -> a h + b: Mamba's scan."""
    return left[0] * right[0], right[0] * left[1] + right[1]


def test_the_linear_recurrence_a_loop_computes():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 6))
    _, h = associative_scan(linear_recurrence, (gg.tensor(a), gg.tensor(b)), dim=1)
    expected, state = np.zeros_like(b), np.zeros(b.shape[0])
    for i in range(b.shape[1]):
        state = a[:, i] * state + b[:, i]
        expected[:, i] = state
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)
    backward = associative_scan(lambda p, q: p + q, gg.tensor(b), dim=1, reverse=True)
    np.testing.assert_allclose(backward.numpy(), np.cumsum(b[:, ::-1], axis=1)[:, ::-1], rtol=1e-12)
    with pytest.raises(ValueError, match="same size along dim"):
        associative_scan(linear_recurrence, (gg.ones(2, 3), gg.ones(2, 4)), dim=1)


def test_gradients_against_finite_differences():
    rng = np.random.default_rng(1)
    a, b = (gg.tensor(rng.standard_normal((2, 4)), requires_grad=True) for _ in range(2))
    assert gradcheck(lambda a, b: associative_scan(linear_recurrence, (a, b), dim=1)[1], (a, b))


@pytest.mark.torch
def test_as_pytorchs_generic_scan():
    torch = pytest.importorskip("torch")
    from torch._higher_order_ops.associative_scan import associative_scan as theirs

    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((3, 5, 2)).astype(np.float32) for _ in range(2))
    for reverse in (False, True):
        ours = associative_scan(linear_recurrence, (gg.tensor(a), gg.tensor(b)), dim=1, reverse=reverse)
        ref = theirs(linear_recurrence, (torch.tensor(a), torch.tensor(b)), dim=1, reverse=reverse,
                     combine_mode="generic")
        for o, r in zip(ours, ref):
            np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-5, atol=1e-6)
