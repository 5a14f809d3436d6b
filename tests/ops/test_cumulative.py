"""Cumulative ops: values against NumPy and known values, cumprod's gradients with zeros (first and second
order), cummax/cummin ties and NaN, logcumsumexp's stability, dtypes, in-place and out= forms, errors; and
(marked torch) the same against PyTorch. Gradients at ordinary points are in the op table."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg
from gpugrad.errors import DTypeError
from gpugrad.ops.cumulative import running


def t64(a, requires_grad=False):
    return gg.tensor(np.asarray(a, dtype=np.float64), dtype=gg.float64, requires_grad=requires_grad)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-3, 3, allow_nan=False)), st.integers(-3, 2))
def test_cumsum_and_cumprod_agree_with_numpy(a, dim):
    dim = dim % a.ndim
    np.testing.assert_allclose(t64(a).cumsum(dim).numpy(), np.cumsum(a, dim), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t64(a).cumprod(dim).numpy(), np.cumprod(a, dim), rtol=1e-12, atol=1e-12)


def test_cumsum_gradient_is_the_reverse_cumulative_sum():
    x = t64([1.0, 2.0, 3.0], requires_grad=True)
    x.cumsum(0).backward(t64([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [111.0, 110.0, 100.0])


def test_cumprod_gradient_with_zeros_against_known_values():
    # y = (2, 0, 0, 0): dy_j/dx_i is the product of x_0..x_j without x_i.
    x = t64([2.0, 0.0, 3.0, 4.0], requires_grad=True)
    x.cumprod(0).backward(t64([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2 * (10 + 100 * 3 + 1000 * 12), 0.0, 0.0])


def test_cumprod_second_derivative_with_two_zeros():
    # g_i = sum_j dy_j/dx_i; d g_1 / d x_0 = sum_{j >= 1} prod_{m <= j, m not in (0, 1)} x_m = 1 + 3 + 0.
    x = t64([0.0, 0.0, 3.0, 0.0], requires_grad=True)
    (g,) = gg.grad(x.cumprod(0).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [1.0, 0.0, 0.0, 0.0])
    (h,) = gg.grad(g[1], x)
    np.testing.assert_array_equal(h.numpy(), [4.0, 0.0, 0.0, 0.0])


@pytest.mark.torch
@pytest.mark.parametrize("a", [[[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 1.5, -2.0, 0.5]],
                               [[1.0, 2.0, 0.0, 0.0, 0.0], [0.5, -1.0, 2.0, 3.0, 1.0]]])
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradients_with_zeros_match_pytorch_to_second_order(a, dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    u, w = rng.standard_normal((2, 2, 5))

    x = t64(a, requires_grad=True)
    (g,) = gg.grad((x.cumprod(dim) * t64(u)).sum(), x, create_graph=True)
    (h,) = gg.grad((g * t64(w)).sum(), x)

    tx = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad((tx.cumprod(dim) * torch.tensor(u)).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor(w)).sum(), tx)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-12, atol=1e-12)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                  elements=st.floats(-50, 50) | st.sampled_from([np.nan, -np.inf])), st.integers(0, 2))
def test_log_step_scan_used_on_cupy_equals_ufunc_accumulate(a, axis):
    axis %= a.ndim
    not_numpy = SimpleNamespace(moveaxis=np.moveaxis)  # any module but numpy takes the log-step path
    with np.errstate(invalid="ignore"):  # NaN inputs
        for op in (np.maximum, np.minimum, np.logaddexp):
            np.testing.assert_allclose(running(not_numpy, op, a, axis), op.accumulate(a, axis=axis), rtol=1e-13)


def test_cummax_cummin_ties_take_the_later_index_and_nan_sticks():
    x = gg.tensor([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, 1.0])
    values, indices = x.cummax(0)
    np.testing.assert_array_equal(values.numpy(), [1, 3, 3, 3, np.nan, np.nan, np.nan, np.nan])
    assert indices.tolist() == [0, 1, 2, 2, 4, 4, 6, 6]
    values, indices = gg.tensor([[3, 1, 1, 2]]).cummin(1)
    assert values.tolist() == [[3, 1, 1, 1]] and indices.tolist() == [[0, 1, 2, 2]]
    assert values.dtype is gg.int64


def test_cummax_gradient_goes_to_the_running_maximum():
    x = t64([1.0, 3.0, 2.0, 5.0], requires_grad=True)
    x.cummax(0).values.backward(t64([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 110.0, 0.0, 1000.0])


@pytest.mark.torch
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 7)),
                  elements=st.sampled_from([0.0, 1.0, -1.0, 2.0, np.nan])))
def test_cummax_cummin_match_pytorch(a):
    torch = pytest.importorskip("torch")
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(gg.tensor(a), name)(1), getattr(torch, name)(torch.tensor(a), 1)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        assert ours.indices.tolist() == theirs.indices.tolist()


def test_logcumsumexp_is_stable_far_apart_and_at_minus_infinity():
    x = t64([-1000.0, 0.0, 1000.0, -np.inf])
    np.testing.assert_allclose(x.logcumsumexp(0).numpy(), [-1000.0, 0.0, 1000.0, 1000.0])
    y = t64([-np.inf, -np.inf, 0.0]).logcumsumexp(0)
    np.testing.assert_array_equal(y.numpy(), [-np.inf, -np.inf, 0.0])


def test_logcumsumexp_against_the_plain_formula(rng):
    a = rng.standard_normal((3, 5))
    np.testing.assert_allclose(t64(a).logcumsumexp(1).numpy(), np.log(np.cumsum(np.exp(a), 1)), rtol=1e-12)
    x = t64(a, requires_grad=True)
    u = rng.standard_normal((3, 5))
    x.logcumsumexp(1).backward(t64(u))
    # dL/dx_i = sum_{j >= i} u_j exp(x_i - y_j)
    y = np.log(np.cumsum(np.exp(a), 1))
    expected = np.exp(a) * np.flip(np.cumsum(np.flip(u * np.exp(-y), 1), 1), 1)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10)


@pytest.mark.torch
def test_logcumsumexp_gradient_far_apart_matches_pytorch():
    torch = pytest.importorskip("torch")
    a, u = [-1000.0, 0.0, 1000.0, 3.0], [1.0, -2.0, 0.0, 0.5]
    x = t64(a, requires_grad=True)
    x.logcumsumexp(0).backward(t64(u))
    tx = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tx.logcumsumexp(0).backward(torch.tensor(u, dtype=torch.float64))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_dtypes_of_results():
    ints = gg.tensor([[1, 2], [3, 4]], dtype=gg.int32)
    assert ints.cumsum(0).dtype is gg.int64 and ints.cumprod(1).tolist() == [[1, 2], [3, 12]]
    with pytest.raises(DTypeError, match="logcumsumexp"):
        ints.logcumsumexp(0)
    assert gg.tensor([1.0, 2.0], dtype=gg.float64).cumsum(0).dtype is gg.float64


def test_in_place_forms():
    x = gg.tensor([1.0, 2.0, 3.0])
    assert x.cumsum_(0) is x and x.tolist() == [1.0, 3.0, 6.0]
    assert x.cumprod_(0) is x and x.tolist() == [1.0, 3.0, 18.0]
    y = gg.tensor([1.0, 2.0], requires_grad=True)
    h = y * 1.0
    h.cumprod_(0)
    h.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 1.0])
    with pytest.raises(DTypeError):
        gg.tensor([1, 2]).cumsum_(0, dtype=gg.float32)


def test_out_forms():
    x = gg.tensor([[1.0, 4.0], [3.0, 2.0]])
    out = gg.empty(0)
    assert gg.cumsum(x, 1, out=out) is out and out.tolist() == [[1.0, 5.0], [3.0, 5.0]]
    values, indices = gg.empty(0), gg.empty(0, dtype=gg.int64)
    result = gg.cummax(x, 0, out=(values, indices))
    assert result.values is values and values.tolist() == [[1.0, 4.0], [3.0, 4.0]]
    assert indices.tolist() == [[0, 0], [1, 0]]


def test_dim_is_required_and_checked():
    x = gg.ones(2, 3)
    with pytest.raises(TypeError):
        gg.cumsum(x)
    with pytest.raises(IndexError, match="cumprod"):
        gg.cumprod(x, 2)
    with pytest.raises(TypeError, match="cummax"):
        gg.cummax(x, (0, 1))


def test_empty_slices_give_empty_results():
    x = gg.zeros(2, 0, requires_grad=True)
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        y = getattr(x, name)(1)
        assert y.shape == (2, 0)
    values, indices = x.cummax(1)
    assert values.shape == (2, 0) and indices.shape == (2, 0)


@pytest.mark.torch
def test_cumprod_gradient_with_zeros_and_infinities_matches_pytorch():
    # Terms holding the first zero are left out of the gradient before it, so an inf after it gives no
    # inf * 0 there.
    torch = pytest.importorskip("torch")
    a = [[1.0, np.inf, 0.0], [2.0, 0.0, np.inf]]
    x = t64(a, requires_grad=True)
    with np.errstate(invalid="ignore"):
        x.cumprod(1).backward(gg.ones(2, 3, dtype=gg.float64))
    tx = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tx.cumprod(1).backward(torch.ones(2, 3, dtype=torch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
