"""Running sums and products (gpugrad.kernels.scan) against the reference, bit for bit: odd sizes, every
axis, from either end, NaN and inf, empty arrays; PyTorch's float32 cumsum has the same bits; cumsum's
gradient is the scan from the end."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.kernels import scan as ks


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=3), data=st.data(),
       op=st.sampled_from(ks.OPS), reverse=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_scans_equal_the_reference_bit_for_bit(shape, data, op, reverse, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(sum(shape) * 7 + axis)
    x = rng.standard_normal(shape).astype(dtype)
    if op == "prod":
        x = (1 + 0.1 * x).astype(dtype)
    got = ks.scan(np, op, x, axis, reverse, impl="cpu")
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, ks.reference_scan(np, op, x, axis % x.ndim, reverse))


def test_wide_inner_blocks_a_transposed_input_and_the_threads():
    x = np.random.default_rng(0).standard_normal((2100, 700), dtype=np.float32)  # 3 inner blocks along axis 0
    for axis in (0, 1):
        np.testing.assert_array_equal(ks.scan(np, "sum", x, axis, impl="cpu"), ks.reference_scan(np, "sum", x, axis))
    xt = x.T  # not contiguous: copied first
    np.testing.assert_array_equal(ks.scan(np, "sum", xt, 1, impl="cpu"), ks.reference_scan(np, "sum", xt, 1))
    big = np.random.default_rng(1).standard_normal((2048, 2048), dtype=np.float32)  # the parallel build
    np.testing.assert_array_equal(ks.scan(np, "sum", big, 1, True, impl="cpu"), ks.reference_scan(np, "sum", big, 1, True))


def test_nan_and_inf_run_on_and_empty_arrays_pass():
    x = np.array([[1.0, np.nan, 2.0], [np.inf, -np.inf, 1.0]], np.float32)
    np.testing.assert_array_equal(ks.scan(np, "sum", x, 1, impl="cpu"), [[1, np.nan, np.nan], [np.inf, np.nan, np.nan]])
    assert ks.scan(np, "prod", np.zeros((0, 3), np.float32), 0, impl="cpu").shape == (0, 3)
    with pytest.raises(ValueError, match=r"scan\[sum\]: axis 2 out of range"):
        ks.scan(np, "sum", x, 2, impl="cpu")


@pytest.mark.torch
def test_float32_cumsum_and_cumprod_have_pytorchs_bits():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((64, 3000), dtype=np.float32)
    for axis in (0, 1):
        np.testing.assert_array_equal(gg.tensor(x).cumsum(axis).numpy(), torch.from_numpy(x).cumsum(axis).numpy())
    near_one = (1 + 0.01 * x[:, :300]).astype(np.float32)
    np.testing.assert_array_equal(gg.tensor(near_one).cumprod(1).numpy(), torch.from_numpy(near_one).cumprod(1).numpy())


def test_cumsums_gradient_is_the_scan_from_the_end():
    x = gg.tensor(np.random.default_rng(3).standard_normal((5, 300), dtype=np.float32), requires_grad=True)
    g = np.random.default_rng(4).standard_normal((5, 300)).astype(np.float32)
    x.cumsum(1).backward(gg.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), ks.reference_scan(np, "sum", g, 1, reverse=True))


# running_extreme: cummax's and cummin's positions ------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple), data=st.data(),
       largest=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_running_extreme_positions_equal_the_reference(shape, data, largest, dtype):
    axis = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(int(np.prod(shape)) + axis)
    x = rng.integers(-2, 3, shape).astype(dtype)  # many ties
    x.flat[rng.integers(0, x.size, max(1, x.size // 6))] = np.nan
    x.flat[::5] = -0.0
    got = ks.running_extreme(np, x, axis, largest, impl="cpu")
    assert got.dtype == np.int64 and got.flags.c_contiguous
    assert np.array_equal(got, ks.reference_running_extreme(np, x, axis, largest))


def test_running_extreme_over_wide_blocks_and_the_threads(monkeypatch):
    import sys

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 40, ks.INNER_BLOCK + 7)).astype(np.float32)
    x[1, 7, 9] = np.nan
    want = ks.reference_running_extreme(np, x, 1, True)
    for threshold in (0, 1 << 40):  # the parallel build, then the serial one
        monkeypatch.setattr(sys.modules[type(ks._running_extreme_cpu).__module__], "PARALLEL_MIN_WORK", threshold)
        assert np.array_equal(ks.running_extreme(np, x, 1, True, impl="cpu"), want)
        assert np.array_equal(ks.running_extreme(np, x[0], 1, False, impl="cpu"),
                              ks.reference_running_extreme(np, x[0], 1, False))
