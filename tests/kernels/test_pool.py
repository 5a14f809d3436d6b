"""Max-pooling kernels against their references, CPU and CUDA."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import pool

from .conftest import tolerances
from .test_conv import GEOMETRIES

# Pooling geometries besides the convolution ones: non-overlapping 2x2 (the common case) and a
# ceil-mode-like extra bottom/right pad.
POOL_GEOMETRIES = GEOMETRIES + [
    ((3, 4, 9, 7), (2, 2), (2, 2), (0, 1, 0, 1), (1, 1)),
    ((2, 3, 6, 6), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
]

HALVING = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
# 2x2 windows of stride 2 take their own CPU kernel: rows of 4 and 2 outputs (its constant-length rows),
# 1, 3 and 5 (the general row), an odd height or width (the last row or column unused).
HALVING_SHAPES = [(3, 2, 8, 8), (5, 3, 4, 4), (2, 2, 7, 2), (2, 3, 6, 6), (1, 2, 5, 10), (4, 3, 9, 8),
                  (2, 3, 8, 9), (1, 2, 5, 5), (2, 2, 4, 3)]


def _ties(rng, shape, dtype):
    """Values with ties (rounded), so that 'the first maximum' is tested, not just 'a maximum'."""
    return np.round(rng.standard_normal(shape) * 2).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=str)
def test_max_pool_forward_backward_match_reference(backend, rng, geometry, dtype):
    shape, *geo = geometry
    x = _ties(rng, shape, dtype)
    y, index = pool.max_pool2d(backend.xp, backend.dev(x), *geo, impl=backend.impl)
    y_ref, index_ref = pool.reference_max_pool2d(np, x, *geo)
    assert y.dtype == dtype and index.dtype == np.int64 and y.shape == index.shape == y_ref.shape
    np.testing.assert_array_equal(backend.host(index), index_ref)
    np.testing.assert_array_equal(backend.host(y), y_ref)

    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    gx = pool.max_pool2d_backward(backend.xp, backend.dev(gy), backend.dev(index_ref), shape, *geo, impl=backend.impl)
    assert gx.shape == shape and gx.dtype == dtype
    np.testing.assert_allclose(backend.host(gx), pool.reference_max_pool2d_backward(np, gy, index_ref, shape),
                               **tolerances(dtype))


def test_nan_and_minus_inf_windows(backend):
    """A NaN wins (the first one); a window of -inf points at its first element inside the input, never
    at the padding; a window with no element inside the input gives -inf, index -1 and no gradient."""
    x = np.full((1, 1, 4, 4), -np.inf)
    x[0, 0, 0, 3] = 1.0
    x[0, 0, 2, 1] = np.nan
    x[0, 0, 3, 0] = np.nan
    geo = ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1))
    for impl in ("reference", backend.impl):
        xp = np if impl == "reference" else backend.xp
        y, index = pool.max_pool2d(xp, backend.dev(x) if xp is not np else x, *geo, impl=impl)
        y, index = backend.host(y), backend.host(index)
        np.testing.assert_array_equal(index[0, 0], [[0, 3], [9, 9]], err_msg=impl)
        np.testing.assert_array_equal(y[0, 0], [[-np.inf, 1.0], [np.nan, np.nan]], err_msg=impl)

    x = np.arange(4.0).reshape(1, 1, 2, 2)
    geo = ((2, 2), (1, 1), (1, 1, 1, 1), (3, 3))  # one window, taps -1 and 2: both outside a 2x2 input
    gy = np.ones((1, 1, 1, 1))
    for impl in ("reference", backend.impl):
        xp = np if impl == "reference" else backend.xp
        y, index = pool.max_pool2d(xp, backend.dev(x) if xp is not np else x, *geo, impl=impl)
        y, index = backend.host(y), backend.host(index)
        assert (index == -1).all() and (y == -np.inf).all(), impl
        gx = pool.max_pool2d_backward(xp, backend.dev(gy) if xp is not np else gy,
                                      backend.dev(index) if xp is not np else index, x.shape, *geo, impl=impl)
        assert (backend.host(gx) == 0).all(), impl


def test_bad_shapes_raise_before_launch(backend, no_launch):
    geo = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
    gy = backend.dev(np.zeros((1, 2, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"pool\.max_pool2d_backward: gy \(1, 2, 2, 2\) and index \(1, 2, 3, 2\) .* \(1, 2, 2, 2\)"):
        pool.max_pool2d_backward(backend.xp, gy, backend.dev(np.zeros((1, 2, 3, 2), np.int64)), (1, 2, 4, 4), *geo, impl=backend.impl)
    with pytest.raises(TypeError, match=r"index must be int64, got int32"):
        pool.max_pool2d_backward(backend.xp, gy, backend.dev(np.zeros((1, 2, 2, 2), np.int32)), (1, 2, 4, 4), *geo, impl=backend.impl)
    with pytest.raises(ValueError, match=r"pool\.max_pool2d: expected a 4-D"):
        pool.max_pool2d(backend.xp, backend.dev(np.zeros((2, 4, 4), np.float32)), *geo, impl=backend.impl)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", HALVING_SHAPES, ids=str)
def test_2x2_halving_matches_reference_on_ties_nan_and_inf(backend, rng, shape, dtype):
    """The first maximum in row-major order, the first NaN, and windows of -inf alike, where the 2x2
    kernel's two passes (pairs, then rows) could order ties differently from the window's order."""
    x = _ties(rng, shape, dtype)
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.1] = np.nan
    flat[rng.random(flat.size) < 0.1] = -np.inf
    flat[rng.random(flat.size) < 0.05] = np.inf
    y, index = pool.max_pool2d(backend.xp, backend.dev(x), *HALVING, impl=backend.impl)
    y_ref, index_ref = pool.reference_max_pool2d(np, x, *HALVING)
    np.testing.assert_array_equal(backend.host(index), index_ref)
    np.testing.assert_array_equal(backend.host(y), y_ref)


def test_2x2_halving_tie_across_the_diagonal():
    """Window [[1, 2], [2, 1]]: the maximum at (0, 1) comes first, though (1, 0) wins its column."""
    x = np.array([[[[1.0, 2.0], [2.0, 1.0]]]], dtype=np.float32)
    y, index = pool.max_pool2d(np, x, *HALVING, impl="cpu")
    assert index.item() == 1 and y.item() == 2.0


# Average pooling ------------------------------------------------------------------------------------------
# Overlapping windows (3x3 stride 1 and 2, with padding) are where the order of the backward's adds shows.
AVG_GEOMETRIES = POOL_GEOMETRIES + [
    ((2, 3, 7, 8), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    ((1, 2, 9, 5), (3, 2), (2, 1), (1, 2, 0, 1), (1, 1)),
]


def _divisor(rng, geometry, dtype):
    shape, kernel, stride, pads, dilation = geometry
    oh, ow = pool.conv_geometry(kernel, stride, pads, dilation).output_hw(*shape[2:])
    return rng.integers(1, 10, (oh, ow)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", AVG_GEOMETRIES, ids=str)
def test_avg_pool_forward_backward_give_the_references_bits(backend, rng, geometry, dtype):
    shape, *geo = geometry
    x = rng.standard_normal(shape).astype(dtype)
    divisor = _divisor(rng, geometry, dtype)
    y = pool.avg_pool2d(backend.xp, backend.dev(x), backend.dev(divisor), *geo, impl=backend.impl)
    y_ref = pool.reference_avg_pool2d(np, x, divisor, *geo)
    assert y.dtype == dtype and y.shape == y_ref.shape
    np.testing.assert_array_equal(backend.host(y), y_ref)

    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    gx = pool.avg_pool2d_backward(backend.xp, backend.dev(gy), backend.dev(divisor), shape, *geo, impl=backend.impl)
    assert gx.shape == shape and gx.dtype == dtype
    np.testing.assert_array_equal(backend.host(gx), pool.reference_avg_pool2d_backward(np, gy, divisor, shape, *geo))


@pytest.mark.parametrize("geometry", AVG_GEOMETRIES, ids=str)
def test_avg_pool_references_are_window_means_and_their_adjoint(rng, geometry):
    """Each output is its window's taps inside x (a loop over them here) over the divisor; the backward is
    the forward's transpose: <avg_pool(x), g> = <x, backward(g)>."""
    shape, kernel, stride, pads, dilation = geometry
    x = rng.standard_normal(shape)
    divisor = _divisor(rng, geometry, np.float64)
    y = pool.reference_avg_pool2d(np, x, divisor, kernel, stride, pads, dilation)
    h, w = shape[2:]
    for yo in range(y.shape[2]):
        for xo in range(y.shape[3]):
            rows = [yo * stride[0] - pads[0] + i * dilation[0] for i in range(kernel[0])]
            cols = [xo * stride[1] - pads[2] + j * dilation[1] for j in range(kernel[1])]
            rows = [r for r in rows if 0 <= r < h]
            cols = [c for c in cols if 0 <= c < w]
            want = x[:, :, rows][:, :, :, cols].sum(axis=(2, 3)) / divisor[yo, xo]
            np.testing.assert_allclose(y[:, :, yo, xo], want, rtol=1e-13, atol=1e-13)
    g = rng.standard_normal(y.shape)
    gx = pool.reference_avg_pool2d_backward(np, g, divisor, shape, kernel, stride, pads, dilation)
    assert np.isclose((y * g).sum(), (x * gx).sum(), rtol=1e-12)


def test_avg_pool_bad_divisor_and_gradient_raise_before_launch(backend, no_launch):
    geo = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
    x = backend.dev(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"pool\.avg_pool2d: divisor must have the output's shape \(2, 2\), got \(2, 3\)"):
        pool.avg_pool2d(backend.xp, x, backend.dev(np.ones((2, 3), np.float32)), *geo, impl=backend.impl)
    with pytest.raises(TypeError, match=r"pool\.avg_pool2d: divisor must be float32 as the input, got float64"):
        pool.avg_pool2d(backend.xp, x, backend.dev(np.ones((2, 2))), *geo, impl=backend.impl)
    with pytest.raises(ValueError, match=r"pool\.avg_pool2d_backward: gy must have shape \(1, 2, 2, 2\)"):
        pool.avg_pool2d_backward(backend.xp, backend.dev(np.zeros((1, 2, 3, 2), np.float32)),
                                 backend.dev(np.ones((2, 2), np.float32)), (1, 2, 4, 4), *geo, impl=backend.impl)
