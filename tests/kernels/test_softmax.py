"""Fused softmax and log_softmax (forward and backward per row) against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import softmax as sm

from .conftest import SIM, tolerances

SHAPES = [(5, 7), (3, 40)] if SIM else [(1, 1), (7, 5), (33, 17), (3, 1001), (129, 10)]


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_the_reference(backend, rng, dtype, log):
    tol = tolerances(dtype)
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        y = sm.softmax_forward(backend.xp, backend.dev(x), log=log, impl=backend.impl)
        np.testing.assert_allclose(backend.host(y), sm.reference_forward(np, x, log), **tol, err_msg=str(shape))
        y_ref = sm.reference_forward(np, x, log)
        gx = backend.host(sm.softmax_backward(backend.xp, backend.dev(gy), backend.dev(y_ref), log=log,
                                              impl=backend.impl))
        want = sm.reference_backward(np, gy, y_ref, log)
        # Both sides take a row sum (of gy, or of y gy) in their own order: the sums may differ by their
        # rounding, up to eps * sum|gy|, which reaches each element times exp(y) (log_softmax) or y. On rows
        # of 1001 that alone exceeded atol now and then (about one run in a hundred).
        slack = np.finfo(dtype).eps * np.abs(gy).sum(axis=1, keepdims=True) * (np.exp(y_ref) if log else y_ref)
        err = np.abs(gx - want)
        bound = tol["atol"] + tol["rtol"] * np.abs(want) + slack
        assert (err <= bound).all(), f"{shape}: largest excess {(err - bound).max()} at {np.unravel_index((err - bound).argmax(), shape)}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_and_masked_rows(backend, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-np.inf, 0.0, -np.inf], [-np.inf, -np.inf, -np.inf]], dtype=dtype)
    y = backend.host(sm.softmax_forward(backend.xp, backend.dev(x), impl=backend.impl))
    np.testing.assert_array_equal(y[:2], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.isnan(y[2]).all()  # every entry masked: 0/0, as PyTorch's softmax
    logy = backend.host(sm.softmax_forward(backend.xp, backend.dev(x[:2]), log=True, impl=backend.impl))
    np.testing.assert_array_equal(logy, [[0.0, -2e4, -1e4], [-np.inf, 0.0, -np.inf]])


def test_a_nan_stays_in_its_row(rng):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    x[1, 2] = np.nan
    y = sm.softmax_forward(np, x, impl="cpu")
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


def test_launchers_refuse_bad_input():
    with pytest.raises(ValueError, match=r"softmax.forward: expected a 2-D \(rows, n\) or 3-D"):
        sm.softmax_forward(np, np.zeros(3, np.float32), impl="cpu")
    with pytest.raises(ValueError, match="softmax.backward"):
        sm.softmax_backward(np, np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32), impl="cpu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_keeps_its_precision_at_large_logits(backend, dtype):
    x = np.array([[1e4, 1e4 + 1, 1e4 - 0.5], [-3e4, -3e4 + 2, -3e4 + 0.25]], dtype=dtype)
    y = backend.host(sm.softmax_forward(backend.xp, backend.dev(x), log=True, impl=backend.impl))
    shifted = x.astype(np.float64) - x.max(axis=1, keepdims=True)
    exact = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(y, exact, rtol=1e-6)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_unchecked_cpu_road_gives_the_checked_roads_bits(rng, dtype, log):
    # impl=None on NumPy arrays that pass every check takes the launchers' unchecked road; the rest
    # (a transposed input, a shape mismatch, 1-D) the checked one, which must then still answer or refuse.
    for shape in [(1, 1), (7, 5), (33, 17), (3, 1001)]:
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        y = sm.softmax_forward(np, x, log=log)
        assert np.array_equal(y, sm.softmax_forward(np, x, log=log, impl="cpu"), equal_nan=True)
        gx = sm.softmax_backward(np, gy, y, log=log)
        assert np.array_equal(gx, sm.softmax_backward(np, gy, y, log=log, impl="cpu"), equal_nan=True)
        xt = np.ascontiguousarray(x.T).T  # same values, not C-contiguous
        assert np.array_equal(sm.softmax_forward(np, xt, log=log), y)
    with pytest.raises(ValueError, match="softmax.backward"):
        sm.softmax_backward(np, np.zeros((2, 3), dtype), np.zeros((2, 4), dtype))
    with pytest.raises(ValueError, match=r"softmax.forward: expected a 2-D \(rows, n\) or 3-D"):
        sm.softmax_forward(np, np.zeros(3, dtype))


# Along axis 1 of (outer, m, inner): a dim other than the last. Tiles of COLUMN_TILE columns: 130 crosses one.
COLUMN_SHAPES = [(2, 5, 3), (1, 9, 4)] if SIM else [(1, 1, 1), (2, 5, 3), (3, 7, 130), (1, 40, 1), (4, 1, 9), (2, 33, 257)]


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_along_a_middle_axis_forward_and_backward_match_the_reference(backend, rng, dtype, log):
    tol = tolerances(dtype)
    for shape in COLUMN_SHAPES:
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        y = sm.softmax_forward(backend.xp, backend.dev(x), log=log, impl=backend.impl)
        y_ref = sm.reference_forward(np, x, log)
        assert y.shape == shape and y.dtype == dtype
        np.testing.assert_allclose(backend.host(y), y_ref, **tol, err_msg=str(shape))
        # the same as the row kernels on the moved axis
        rows = np.ascontiguousarray(np.moveaxis(x, 1, 2)).reshape(-1, shape[1])
        np.testing.assert_allclose(backend.host(y), np.moveaxis(sm.reference_forward(np, rows, log).reshape(
            shape[0], shape[2], shape[1]), 2, 1), **tol, err_msg=str(shape))
        gx = backend.host(sm.softmax_backward(backend.xp, backend.dev(gy), backend.dev(y_ref), log=log,
                                              impl=backend.impl))
        want = sm.reference_backward(np, gy, y_ref, log)
        slack = np.finfo(dtype).eps * np.abs(gy).sum(axis=1, keepdims=True) * (np.exp(y_ref) if log else y_ref)
        assert (np.abs(gx - want) <= tol["atol"] + tol["rtol"] * np.abs(want) + slack).all(), shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_along_a_middle_axis_masked_and_nan_columns(backend, dtype):
    x = np.zeros((2, 3, 4), dtype)
    x[0, :, 0] = [1e4, -1e4, 0.0]
    x[0, :, 1] = [-np.inf, 0.0, -np.inf]
    x[0, :, 2] = -np.inf  # every entry masked: 0/0, as PyTorch's softmax
    x[1, 1, 3] = np.nan  # stays in its column
    y = backend.host(sm.softmax_forward(backend.xp, backend.dev(x), impl=backend.impl))
    np.testing.assert_array_equal(y[0, :, 0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(y[0, :, 1], [0.0, 1.0, 0.0])
    assert np.isnan(y[0, :, 2]).all() and np.isnan(y[1, :, 3]).all()
    np.testing.assert_allclose(y[1, :, :3], 1 / 3)
    np.testing.assert_allclose(y[0, :, 3], 1 / 3)
