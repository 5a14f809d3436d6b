"""im2col and col2im in the rows layout (CPU kernels) against their references and their definition."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import conv_rows

from .test_conv import GEOMETRIES

# The digits CNN's second convolution (the case the layout is for), and more channels than a vector.
MORE = [
    ((5, 16, 4, 4), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    ((2, 19, 5, 3), (2, 2), (2, 1), (0, 1, 1, 0), (1, 2)),
]


def _by_definition(x, kernel, stride, pads, dilation):
    """rows from the layout's definition, one entry at a time."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = kernel, stride, pads, dilation
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    rows = np.zeros((n * oh * ow, kh * kw * c), x.dtype)
    for b in range(n):
        for yo in range(oh):
            for xo in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        ih, iw = yo * sh - top + i * dh, xo * sw - left + j * dw
                        if 0 <= ih < h and 0 <= iw < w:
                            for ci in range(c):
                                rows[(b * oh + yo) * ow + xo, (i * kw + j) * c + ci] = x[b, ci, ih, iw]
    return rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES + MORE, ids=str)
def test_kernels_match_references_bit_for_bit(rng, geometry, dtype):
    shape, *geo = geometry
    x = rng.standard_normal(shape).astype(dtype)
    rows = conv_rows.im2col_rows(np, x, *geo, impl="cpu")
    expect = conv_rows.reference_im2col_rows(np, x, *geo)
    assert rows.shape == expect.shape and rows.dtype == dtype and rows.flags.c_contiguous
    np.testing.assert_array_equal(rows, expect)
    np.testing.assert_array_equal(expect, _by_definition(x, *geo))

    r = rng.standard_normal(expect.shape).astype(dtype)
    back = conv_rows.col2im_rows(np, r, shape, *geo, impl="cpu")
    assert back.shape == shape and back.dtype == dtype
    # Each pixel sums its taps in the reference's order: the same bits.
    np.testing.assert_array_equal(back, conv_rows.reference_col2im_rows(np, r, shape, *geo))


@pytest.mark.parametrize("geometry", GEOMETRIES[:4] + MORE, ids=str)
def test_col2im_rows_is_the_adjoint_of_im2col_rows(rng, geometry):
    shape, *geo = geometry
    x = rng.standard_normal(shape)
    rows = conv_rows.im2col_rows(np, x, *geo, impl="cpu")
    r = rng.standard_normal(rows.shape)
    back = conv_rows.col2im_rows(np, r, shape, *geo, impl="cpu")
    np.testing.assert_allclose(np.vdot(rows, r), np.vdot(x, back), rtol=1e-12)


def test_strided_input_empty_batch_and_the_references(rng):
    geo = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    base = rng.standard_normal((2, 34, 5, 4)).astype(np.float32)
    x = base[:, ::2].transpose(0, 1, 3, 2)  # (2, 17, 4, 5), not contiguous
    np.testing.assert_array_equal(conv_rows.im2col_rows(np, x, *geo, impl="cpu"),
                                  conv_rows.reference_im2col_rows(np, np.ascontiguousarray(x), *geo))
    empty = conv_rows.im2col_rows(np, np.zeros((0, 16, 4, 4), np.float32), *geo, impl="cpu")
    assert empty.shape == (0, 144)
    assert conv_rows.col2im_rows(np, empty, (0, 16, 4, 4), *geo, impl="cpu").shape == (0, 16, 4, 4)
    # Any implementation but "cpu" runs the reference.
    np.testing.assert_array_equal(conv_rows.im2col_rows(np, x, *geo, impl="reference"),
                                  conv_rows.im2col_rows(np, x, *geo, impl="cpu"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 2, 7), (1, 1, 1, 1), (4, 17, 3, 3), (2, 4, 0, 3)], ids=str)
def test_rows_to_nchw_matches_the_reference(rng, shape, dtype):
    n, c, oh, ow = shape
    z = rng.standard_normal((n * oh * ow, c)).astype(dtype)
    for bias in (rng.standard_normal(c).astype(dtype), None):
        y = conv_rows.rows_to_nchw(np, z, bias, shape, impl="cpu")
        want = conv_rows.reference_rows_to_nchw(np, z, bias, n).reshape(shape)
        assert y.shape == shape and y.flags.c_contiguous and y.dtype == dtype
        np.testing.assert_array_equal(y, want)
        plain = z.reshape(n, oh * ow, c).transpose(0, 2, 1).reshape(shape)
        np.testing.assert_array_equal(want, plain if bias is None else plain + bias[None, :, None, None])


def test_weight_layout_and_back(rng):
    w = rng.standard_normal((4, 3, 2, 5))
    w_rows = conv_rows.rows_weight(np, w)
    assert w_rows.shape == (4, 30) and w_rows.flags.c_contiguous
    assert w_rows[1, (1 * 5 + 3) * 3 + 2] == w[1, 2, 1, 3]  # tap (1, 3), channel 2
    back = conv_rows.weight_from_rows(np, w_rows, w.shape)
    np.testing.assert_array_equal(back, w)
    assert back.flags.c_contiguous


def test_shapes_that_do_not_fit_raise():
    geo = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv.col2im_rows: rows of shape \(16, 9\) do not fit an input of shape "
                                         r"\(1, 2, 4, 4\) \(expected \(16, 18\)\)"):
        conv_rows.col2im_rows(np, np.zeros((16, 9), np.float32), (1, 2, 4, 4), *geo, impl="cpu")
    with pytest.raises(ValueError, match=r"conv.rows_to_nchw: z \(8, 3\) and bias \(2,\) do not fit an output of "
                                         r"shape \(2, 3, 2, 2\)"):
        conv_rows.rows_to_nchw(np, np.zeros((8, 3), np.float32), np.zeros(2, np.float32), (2, 3, 2, 2), impl="cpu")
    with pytest.raises(ValueError, match="conv.im2col_rows"):
        conv_rows.im2col_rows(np, np.zeros((1, 2, 2, 2), np.float32), (5, 5), (1, 1), (0, 0, 0, 0), (1, 1), impl="cpu")
