"""im2col / col2im kernels against their strided-view references, CPU and CUDA."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import conv

from .conftest import tolerances

# (input shape, kernel, stride, pads (top, bottom, left, right), dilation): odd sizes, asymmetric
# padding, strides and dilations that skip input pixels, a 1x1 kernel, windows that overlap.
GEOMETRIES = [
    ((2, 3, 7, 6), (3, 2), (2, 2), (1, 2, 0, 1), (2, 1)),
    ((3, 1, 8, 8), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    ((1, 2, 5, 9), (1, 1), (3, 2), (0, 0, 0, 0), (1, 1)),
    ((2, 5, 9, 4), (2, 3), (1, 3), (0, 1, 2, 0), (3, 1)),
    ((1, 1, 1, 1), (1, 1), (1, 1), (1, 1, 1, 1), (1, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_im2col_and_col2im_match_reference(backend, rng, geometry, dtype):
    shape, *geo = geometry
    x = rng.standard_normal(shape).astype(dtype)
    cols = conv.im2col(backend.xp, backend.dev(x), *geo, impl=backend.impl)
    expect = conv.reference_im2col(np, x, *geo)
    assert cols.shape == expect.shape and cols.dtype == dtype
    np.testing.assert_array_equal(backend.host(cols), expect)  # a copy: bit for bit

    c = rng.standard_normal(expect.shape).astype(dtype)
    back = conv.col2im(backend.xp, backend.dev(c), shape, *geo, impl=backend.impl)
    assert back.shape == shape and back.dtype == dtype
    np.testing.assert_allclose(backend.host(back), conv.reference_col2im(np, c, shape, *geo), **tolerances(dtype))


def test_im2col_of_a_strided_input_and_an_empty_batch(backend, rng):
    geo = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    x = rng.standard_normal((4, 2, 6, 5))[::2]  # not contiguous
    np.testing.assert_array_equal(backend.host(conv.im2col(backend.xp, backend.dev(x), *geo, impl=backend.impl)),
                                  conv.reference_im2col(np, x, *geo))
    empty = np.zeros((0, 2, 6, 5))
    assert conv.im2col(backend.xp, backend.dev(empty), *geo, impl=backend.impl).shape == (18, 0)
    assert conv.col2im(backend.xp, backend.dev(np.zeros((18, 0))), empty.shape, *geo, impl=backend.impl).shape == empty.shape


def test_col2im_is_the_adjoint_of_im2col(backend, rng):
    """<im2col(x), c> == <x, col2im(c)>: col2im really is the transpose, independently of the references."""
    shape, *geo = GEOMETRIES[0]
    x = rng.standard_normal(shape)
    cols = backend.host(conv.im2col(backend.xp, backend.dev(x), *geo, impl=backend.impl))
    c = rng.standard_normal(cols.shape)
    back = backend.host(conv.col2im(backend.xp, backend.dev(c), shape, *geo, impl=backend.impl))
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)


def test_bad_geometry_and_shapes_raise_before_launch(backend, no_launch):
    x = backend.dev(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"conv\.im2col: the kernel \(5, 5\).*\(4, 4\)"):
        conv.im2col(backend.xp, x, (5, 5), (1, 1), (0, 0, 0, 0), (1, 1), impl=backend.impl)
    with pytest.raises(ValueError, match=r"conv\.im2col: kernel .* must be positive"):
        conv.im2col(backend.xp, x, (2, 2), (0, 1), (0, 0, 0, 0), (1, 1), impl=backend.impl)
    with pytest.raises(ValueError, match=r"conv\.col2im: cols of shape \(8, 10\) .* \(1, 2, 4, 4\) \(expected \(8, 9\)\)"):
        conv.col2im(backend.xp, backend.dev(np.zeros((8, 10), np.float32)), (1, 2, 4, 4), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), impl=backend.impl)
    with pytest.raises(TypeError, match=r"conv\.im2col: only float32 and float64"):
        conv.im2col(backend.xp, backend.dev(np.zeros((1, 1, 3, 3), np.int64)), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), impl=backend.impl)
