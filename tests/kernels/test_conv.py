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
    # stride 1 with output rows as wide as the input's: the run kernels on the CPU
    ((2, 3, 5, 7), (3, 3), (1, 1), (0, 2, 1, 1), (1, 1)),
    ((2, 2, 6, 9), (3, 3), (1, 1), (2, 2, 2, 2), (1, 2)),
    ((1, 2, 4, 5), (5, 5), (1, 1), (2, 2, 3, 1), (1, 1)),
    ((2, 1, 3, 1), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
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


def _variant(geometry) -> str:
    shape, kernel, stride, pads, dilation = geometry
    g = conv.ConvGeometry(kernel, stride, pads, dilation)
    return conv.cpu_gathers(g, *shape[2:], *g.output_hw(*shape[2:]))


def test_which_geometries_take_which_cpu_kernels():
    assert [_variant(g) for g in GEOMETRIES] == ["gathers", "runs", "gathers", "gathers", "gathers",
                                                 "batch runs", "runs", "batch runs", "batch runs"]
    assert _variant(((1, 1, 4, 6), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1))) == "gathers"  # unpadded: ow = w - 2
    assert _variant(((1, 1, 8, 8), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))) == "runs"  # BATCH_RUNS_BELOW positions
    assert _variant(((1, 1, 7, 9), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))) == "batch runs"  # one fewer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", [g for g in GEOMETRIES if _variant(g) != "gathers"] + [
    ((3, 4, 8, 8), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),  # runs, several channels
    ((4, 3, 2, 3), (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),  # batch runs of a 1x1 kernel: the transpose alone
], ids=str)
def test_run_kernels_give_the_gathers_bits(rng, geometry, dtype):
    # The run kernels compute what the gathers do (and in col2im the same sums in the same order of taps):
    # bit for bit, NaN included. (Work 0: each kernel's serial build, built on this first call.)
    shape, kernel, stride, pads, dilation = geometry
    g = conv.ConvGeometry(kernel, stride, pads, dilation)
    oh, ow = g.check("test", shape)
    im2col_runs, col2im_runs = conv._IM2COL_CPU[_variant(geometry)], conv._COL2IM_CPU[_variant(geometry)]
    assert im2col_runs is not conv._im2col_cpu
    args = (*g.kernel_args(), oh, ow)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, -1, 0, 0] = np.nan
    cols = np.full((shape[1] * kernel[0] * kernel[1], shape[0] * oh * ow), np.inf, dtype)
    gathered = cols.copy()
    im2col_runs(0, x, cols, *args)
    conv._im2col_cpu(0, x, gathered, *args)
    np.testing.assert_array_equal(cols, gathered)
    c = rng.standard_normal(cols.shape).astype(dtype)
    out, summed = np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype)
    col2im_runs(0, c, out, *args)
    conv._col2im_cpu(0, c, summed, *args)
    np.testing.assert_array_equal(out, summed)


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
    with pytest.raises(ValueError, match=r"conv\.im2col: kernel .* and pads \(0, -1, 0, 0\) non-negative"):
        conv.im2col(backend.xp, x, (2, 2), (1, 1), (0, -1, 0, 0), (1, 1), impl=backend.impl)
    with pytest.raises(ValueError, match=r"conv\.im2col: kernel, stride and dilation are pairs and pads a 4-tuple"):
        conv.im2col(backend.xp, x, (2, 2), (1, 1), (0, 0), (1, 1), impl=backend.impl)
    with pytest.raises(ValueError, match=r"conv\.col2im: cols of shape \(8, 10\) .* \(1, 2, 4, 4\) \(expected \(8, 9\)\)"):
        conv.col2im(backend.xp, backend.dev(np.zeros((8, 10), np.float32)), (1, 2, 4, 4), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), impl=backend.impl)
    with pytest.raises(TypeError, match=r"conv\.im2col: only float32 and float64"):
        conv.im2col(backend.xp, backend.dev(np.zeros((1, 1, 3, 3), np.int64)), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), impl=backend.impl)


# Winograd F(2x2, 3x3): CPU kernels against their einsum references, the references against im2col's
# convolution, and each backward kernel as the adjoint of its forward. CPU only (no CUDA kernels: on a
# GPU conv2d stays on im2col), so these take impl directly rather than the backend fixture.
# (input shape, pads (top, bottom, left, right)): even and odd outputs, asymmetric, wide and no padding,
# a 1x1 output, one plane.
WINOGRAD_CASES = [
    ((2, 3, 8, 8), (1, 1, 1, 1)),
    ((3, 2, 7, 6), (0, 2, 1, 0)),
    ((1, 4, 5, 9), (2, 2, 2, 2)),
    ((2, 1, 3, 3), (0, 0, 0, 0)),
    ((1, 1, 4, 5), (1, 0, 0, 1)),
]


def _winograd_conv(x, w, b, pads, impl):
    """conv2d through the three Winograd stages on `impl`."""
    n, o = x.shape[0], w.shape[0]
    oh, ow = conv.ConvGeometry((3, 3), (1, 1), pads).output_hw(*x.shape[2:])
    v = conv.winograd_input(np, x, pads, impl=impl)
    m = conv.winograd_products(np, conv.winograd_weight(np, w), v)
    return conv.winograd_output(np, m, b, (n, o, oh, ow), impl=impl)


def _im2col_conv(x, w, b, pads):
    geo = ((3, 3), (1, 1), pads, (1, 1))
    n, o = x.shape[0], w.shape[0]
    oh, ow = conv.check_geometry("test", x.shape, *geo)
    y = (w.reshape(o, -1) @ conv.reference_im2col(np, x, *geo)).reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
    return y if b is None else y + b.reshape(1, o, 1, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=str)
def test_winograd_kernels_match_references(rng, case, dtype):
    shape, pads = case
    tol = tolerances(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    v = conv.winograd_input(np, x, pads, impl="cpu")
    np.testing.assert_allclose(v, conv.winograd_input(np, x, pads, impl="reference"), **tol)

    n, o = shape[0], 3
    oh, ow = conv.ConvGeometry((3, 3), (1, 1), pads).output_hw(*shape[2:])
    assert v.shape == (16, conv.winograd_tiles(n, oh, ow), shape[1]) and v.dtype == dtype
    m = rng.standard_normal((16, v.shape[1], o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    for bias in (b, None):
        y = conv.winograd_output(np, m, bias, (n, o, oh, ow), impl="cpu")
        assert y.shape == (n, o, oh, ow) and y.dtype == dtype and y.flags.c_contiguous
        np.testing.assert_allclose(y, conv.winograd_output(np, m, bias, (n, o, oh, ow), impl="reference"), **tol)

    gy = rng.standard_normal((n, o, oh, ow)).astype(dtype)
    dm, gb = conv.winograd_grad_output(np, gy, impl="cpu")
    dm_ref, gb_ref = conv.winograd_grad_output(np, gy, impl="reference")
    np.testing.assert_allclose(dm, dm_ref, **tol)
    np.testing.assert_allclose(gb, gb_ref, **tol)
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), **tol)

    dv = rng.standard_normal(v.shape).astype(dtype)
    gx = conv.winograd_grad_input(np, dv, shape, pads, impl="cpu")
    assert gx.shape == shape and gx.dtype == dtype
    np.testing.assert_allclose(gx, conv.winograd_grad_input(np, dv, shape, pads, impl="reference"), **tol)


@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=str)
def test_winograd_is_the_convolution(rng, case):
    """Input, weight and output transforms together give im2col's convolution, on both implementations."""
    shape, pads = case
    x, w, b = rng.standard_normal(shape), rng.standard_normal((4, shape[1], 3, 3)), rng.standard_normal(4)
    expect = _im2col_conv(x, w, b, pads)
    for impl in ("reference", "cpu"):
        np.testing.assert_allclose(_winograd_conv(x, w, b, pads, impl), expect, rtol=1e-12, atol=1e-12)
    x32, w32, b32 = (a.astype(np.float32) for a in (x, w, b))
    np.testing.assert_allclose(_winograd_conv(x32, w32, b32, pads, "cpu"), expect, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", WINOGRAD_CASES[:3], ids=str)
def test_winograd_backward_kernels_are_adjoints(rng, case):
    """<T(a), b> == <a, T*(b)> for the input, output and weight transforms and their backward kernels:
    the gradients are right independently of the references."""
    shape, pads = case
    n, o = shape[0], 2
    oh, ow = conv.ConvGeometry((3, 3), (1, 1), pads).output_hw(*shape[2:])
    x = rng.standard_normal(shape)
    v = conv.winograd_input(np, x, pads, impl="cpu")
    dv = rng.standard_normal(v.shape)
    np.testing.assert_allclose((v * dv).sum(), (x * conv.winograd_grad_input(np, dv, shape, pads, impl="cpu")).sum(),
                               rtol=1e-12)

    m = rng.standard_normal((16, v.shape[1], o))
    gy = rng.standard_normal((n, o, oh, ow))
    y = conv.winograd_output(np, m, None, (n, o, oh, ow), impl="cpu")
    dm, _ = conv.winograd_grad_output(np, gy, impl="cpu")
    np.testing.assert_allclose((y * gy).sum(), (m * dm).sum(), rtol=1e-12)

    w, du = rng.standard_normal((o, 3, 3, 3)), rng.standard_normal((16, o, 3))
    np.testing.assert_allclose((conv.winograd_weight(np, w) * du).sum(), (w * conv.winograd_grad_weight(np, du)).sum(),
                               rtol=1e-12)


def test_winograd_products_and_bad_shapes(rng):
    """The three GEMM stacks against per-entry products; errors name the launcher and the shapes."""
    t, o, c = 7, 3, 5
    u, v, dm = rng.standard_normal((16, o, c)), rng.standard_normal((16, t, c)), rng.standard_normal((16, t, o))
    m, dv, du = conv.winograd_products(np, u, v), conv.winograd_products_grad_input(np, u, dm), conv.winograd_products_grad_weight(np, dm, v)
    assert m.shape == (16, t, o) and dv.shape == (16, t, c) and du.shape == (16, o, c)
    for xi in (0, 5, 15):
        np.testing.assert_allclose(m[xi], v[xi] @ u[xi].T, rtol=1e-12)
        np.testing.assert_allclose(dv[xi], dm[xi] @ u[xi], rtol=1e-12)
        np.testing.assert_allclose(du[xi], dm[xi].T @ v[xi], rtol=1e-12)
    buf = conv.transformed_empty(np, 64, 64, np.float32)
    assert buf.shape == (16, 64, 64) and buf[3].flags.c_contiguous
    assert buf.strides[0] % 4096 == 64  # matrices a cache line past a multiple of 4 KiB apart
    assert conv.winograd_fits(conv.ConvGeometry((3, 3), (1, 1), (1, 1, 1, 1)))
    for geo in (((3, 3), (2, 2)), ((3, 3), (1, 1), (0, 0, 0, 0), (2, 2)), ((3, 2),)):
        assert not conv.winograd_fits(conv.ConvGeometry(*geo))
    with pytest.raises(ValueError, match=r"conv\.winograd_output: M of shape \(16, 5, 2\) .* \(1, 2, 4, 4\)"):
        conv.winograd_output(np, np.zeros((16, 5, 2)), None, (1, 2, 4, 4))
    with pytest.raises(ValueError, match=r"conv\.winograd_grad_input: dV of shape"):
        conv.winograd_grad_input(np, np.zeros((16, 5, 2)), (1, 2, 4, 4), (1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"conv\.winograd_input: the kernel \(3, 3\)"):
        conv.winograd_input(np, np.zeros((1, 1, 2, 2)), (0, 0, 0, 0))
    with pytest.raises(TypeError, match=r"conv\.winograd_input: only float32 and float64"):
        conv.winograd_input(np, np.zeros((1, 1, 3, 3), np.int64), (0, 0, 0, 0))


def test_winograd_kernels_split_by_images(rng):
    """With a `split` that shares the images out in uneven ranges, every kernel gives what one call gives."""
    def split(fn, n, work):
        for lo, hi in ((0, 1), (1, n - 1), (n - 1, n)):
            fn(lo, hi)
        return True

    x, pads = rng.standard_normal((4, 3, 6, 5)), (1, 1, 0, 2)
    v = conv.winograd_input(np, x, pads)
    np.testing.assert_array_equal(conv.winograd_input(np, x, pads, split=split), v)
    m = rng.standard_normal((16, 2 * v.shape[1], 2))[:, ::2]  # strided matrices: the launcher copies them
    shape = (4, 2) + conv.ConvGeometry((3, 3), (1, 1), pads).output_hw(6, 5)
    np.testing.assert_array_equal(conv.winograd_output(np, m, None, shape, split=split), conv.winograd_output(np, m, None, shape))
    gy = rng.standard_normal(shape)
    for a, b in zip(conv.winograd_grad_output(np, gy, split=split), conv.winograd_grad_output(np, gy)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(conv.winograd_grad_input(np, v, x.shape, pads, split=split),
                                  conv.winograd_grad_input(np, v, x.shape, pads))


def test_winograd_spare_buffers(monkeypatch):
    """scratch_give keeps a buffer for the next scratch_take of its shape and dtype, within the limits."""
    monkeypatch.setattr(conv, "_spares", {})
    a = conv.scratch_take(np, 10, 3, np.float32)
    assert a.shape == (16, 10, 3) and a.dtype == np.float32
    conv.scratch_give(np, a)
    assert conv.scratch_take(np, 10, 3, np.float32) is a
    assert conv.scratch_take(np, 10, 3, np.float32) is not a  # taken: a new one
    conv.scratch_give(np, a)
    assert conv.scratch_take(np, 10, 3, np.float64) is not a and conv.scratch_take(np, 10, 4, np.float32) is not a
    bufs = [conv.scratch_take(np, 10, 3, np.float32) for _ in range(conv.SPARE_PER_SHAPE + 1)]
    for b in bufs:
        conv.scratch_give(np, b)
    assert len(conv._spares[(10, 3, np.dtype(np.float32).str)]) == conv.SPARE_PER_SHAPE
    monkeypatch.setattr(conv, "SPARE_BYTES", 0)
    monkeypatch.setattr(conv, "_spares", {})
    conv.scratch_give(np, a)
    assert conv.scratch_take(np, 10, 3, np.float32) is not a  # over the byte limit: not kept


def test_conv_geometry_is_kept_and_takes_lists():
    g = conv.conv_geometry((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    assert g is conv.conv_geometry((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    assert g == conv.ConvGeometry((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    from_lists = conv.conv_geometry([3, 3], [1, 1], [1, 1, 1, 1], [1, 1])  # unhashable: made, not kept
    assert from_lists == g and from_lists.kernel == (3, 3)
    assert conv.conv_geometry((np.int64(2), 2)).kernel == (2, 2) and type(conv.conv_geometry((np.int64(2), 2)).kernel[0]) is int


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 2, 7), (1, 1, 1, 1), (4, 3, 6, 6), (2, 4, 0, 3)], ids=str)
def test_the_gemm_layout_and_back_match_the_references(rng, shape, dtype):
    n, c, oh, ow = shape
    z = rng.standard_normal((c, n * oh * ow)).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    for b in (bias, None):
        y = conv.columns_to_nchw(np, z, b, shape, impl="cpu")
        want = conv.reference_columns_to_nchw(np, z, b, n).reshape(shape)
        assert y.shape == shape and y.flags.c_contiguous and y.dtype == dtype
        np.testing.assert_array_equal(y, want)
    gy = rng.standard_normal(shape).astype(dtype)
    for need in (True, False):
        gz, sums = conv.nchw_to_columns(np, gy, need, impl="cpu")
        want_gz, want_sums = conv.reference_nchw_to_columns(np, gy, need)
        np.testing.assert_array_equal(gz, want_gz)
        assert gz.shape == (c, n * oh * ow) and gz.flags.c_contiguous
        if need:
            np.testing.assert_allclose(sums, want_sums, **tolerances(dtype))
        else:
            assert sums is None and want_sums is None
    gz, _ = conv.nchw_to_columns(np, gy.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2), True, impl="cpu")
    np.testing.assert_array_equal(gz, conv.reference_nchw_to_columns(np, gy, False)[0])  # a strided gy


def test_the_gemm_layout_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match=r"conv.columns_to_nchw: z \(3, 8\) and bias \(3,\) do not fit an output of shape \(2, 3, 2, 3\)"):
        conv.columns_to_nchw(np, np.zeros((3, 8), np.float32), np.zeros(3, np.float32), (2, 3, 2, 3), impl="cpu")
    with pytest.raises(ValueError, match=r"conv.nchw_to_columns: expected a 4-D"):
        conv.nchw_to_columns(np, np.zeros((3, 8), np.float32), impl="cpu")
