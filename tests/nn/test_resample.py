"""F.interpolate (every mode), the deprecated upsample spellings, pixel (un)shuffle and their layers.
NumPy references and hand-derived values always; PyTorch over a grid of modes, sizes and scales when present."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ShapeError


def leaf(a) -> gg.Tensor:
    return gg.tensor(a, dtype=gg.float64, requires_grad=True)


# NumPy references -----------------------------------------------------------------------------------


def ref_linear_1d(a, n_out, align_corners, ratio=None):
    """Linear resampling of the last axis with np.interp at PyTorch's source coordinates."""
    n_in = a.shape[-1]
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        ratio = n_in / n_out if ratio is None else ratio
        src = np.maximum((dst + 0.5) * ratio - 0.5, 0.0)
    flat = a.reshape(-1, n_in)
    return np.stack([np.interp(src, np.arange(n_in), row) for row in flat]).reshape(a.shape[:-1] + (n_out,))


def ref_linear(a, sizes, align_corners):
    """Separable linear resampling of the trailing len(sizes) axes."""
    nd = len(sizes)
    for i, n_out in enumerate(sizes):
        axis = a.ndim - nd + i
        a = np.moveaxis(ref_linear_1d(np.moveaxis(a, axis, -1), n_out, align_corners), -1, axis)
    return a


def ref_nearest(a, sizes, exact):
    nd = len(sizes)
    for i, n_out in enumerate(sizes):
        axis = a.ndim - nd + i
        n_in = a.shape[axis]
        offset = 0.5 if exact else 0.0
        src = np.minimum(np.floor((np.arange(n_out) + offset) * n_in / n_out).astype(int), n_in - 1)
        a = np.take(a, src, axis=axis)
    return a


# Values --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(5,), (2,), (1,), (9,)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_linear_modes_match_np_interp(sizes, align_corners):
    rng = np.random.default_rng(0)
    (n,) = sizes
    a = rng.standard_normal((2, 3, 4))
    y = F.interpolate(gg.tensor(a), size=n, mode="linear", align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), ref_linear(a, (n,), align_corners), atol=1e-12)
    a = rng.standard_normal((2, 1, 3, 5))
    y = F.interpolate(gg.tensor(a), size=(n, 7), mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), ref_linear(a, (n, 7), align_corners), atol=1e-12)
    a = rng.standard_normal((1, 2, 3, 2, 4))
    y = F.interpolate(gg.tensor(a), size=(n, 3, 2), mode="trilinear", align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), ref_linear(a, (n, 3, 2), align_corners), atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_modes_pick_the_source_pixel(mode):
    rng = np.random.default_rng(1)
    for shape, size in [((2, 3, 5), (8,)), ((1, 2, 5, 7), (3, 10)), ((1, 1, 3, 4, 5), (7, 2, 5))]:
        a = rng.standard_normal(shape)
        y = F.interpolate(gg.tensor(a), size=size, mode=mode)
        np.testing.assert_array_equal(y.numpy(), ref_nearest(a, size, mode == "nearest-exact"))
    # Integer images resize too (nearest only), keeping their dtype.
    img = rng.integers(0, 255, (1, 3, 4, 5)).astype(np.uint8)
    y = F.interpolate(gg.tensor(img), scale_factor=2, mode=mode)
    assert y.dtype == gg.uint8
    np.testing.assert_array_equal(y.numpy(), img.repeat(2, axis=2).repeat(2, axis=3))


def test_bicubic_uses_keys_kernel_with_a_of_minus_three_quarters():
    # align_corners=True maps output 3 of 7 onto source 1.5, halfway between x1 and x2: the weights are
    # far(1.5), near(0.5), near(0.5), far(1.5) = -0.09375, 0.59375, 0.59375, -0.09375.
    x = np.array([1.0, -2.0, 4.0, 3.0])
    y = F.interpolate(gg.tensor(x.reshape(1, 1, 1, 4)), size=(1, 7), mode="bicubic", align_corners=True).numpy()
    assert y[0, 0, 0, 3] == pytest.approx(-0.09375 * 1 + 0.59375 * -2 + 0.59375 * 4 - 0.09375 * 3)
    assert y[0, 0, 0, 0] == pytest.approx(1.0) and y[0, 0, 0, 6] == pytest.approx(3.0)  # the corners are kept
    # The weights sum to one: a constant image stays constant, at any size.
    flat = F.interpolate(gg.full((1, 2, 3, 4), 2.5, dtype=gg.float64), size=(7, 5), mode="bicubic")
    np.testing.assert_allclose(flat.numpy(), 2.5, atol=1e-12)


def test_antialias_widens_the_linear_filter_when_shrinking():
    # Halving with antialias: the triangle filter stretched to 4 taps, x = |i - centre| / 2, weights
    # 0.25, 0.75, 0.75, 0.25 normalised to 1/8, 3/8, 3/8, 1/8 (at the border the missing tap is dropped).
    x = np.arange(8.0) ** 2
    y = F.interpolate(gg.tensor(x.reshape(1, 1, 1, 8)), size=(1, 4), mode="bilinear", antialias=True).numpy()[0, 0, 0]
    assert y[1] == pytest.approx((x[1] + 3 * x[2] + 3 * x[3] + x[4]) / 8)
    assert y[0] == pytest.approx((3 * x[0] + 3 * x[1] + x[2]) / 7)
    # Without antialias the same call reads two neighbours only.
    plain = F.interpolate(gg.tensor(x.reshape(1, 1, 1, 8)), size=(1, 4), mode="bilinear").numpy()[0, 0, 0]
    assert plain[1] == pytest.approx((x[2] + x[3]) / 2)


def test_area_is_adaptive_average_pooling():
    x = gg.randn(2, 3, 7, 9)
    np.testing.assert_array_equal(F.interpolate(x, size=(3, 4), mode="area").numpy(), F.adaptive_avg_pool2d(x, (3, 4)).numpy())
    # With a scale factor, the output size is floor(n * s) and the bins come from the integer sizes.
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=0.5, mode="area").numpy(), F.adaptive_avg_pool2d(x, (3, 4)).numpy())


def test_a_given_scale_factor_sets_the_coordinate_ratio_unless_recomputed():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1, 2, 4))
    y = F.interpolate(gg.tensor(a), scale_factor=1.7, mode="linear")  # 4 -> floor(6.8) = 6 outputs
    assert y.shape == (1, 2, 6)
    np.testing.assert_allclose(y.numpy(), ref_linear_1d(a, 6, False, ratio=1 / 1.7), atol=1e-12)
    y = F.interpolate(gg.tensor(a), scale_factor=1.7, mode="linear", recompute_scale_factor=True)
    np.testing.assert_allclose(y.numpy(), ref_linear_1d(a, 6, False, ratio=4 / 6), atol=1e-12)
    assert F.interpolate(gg.randn(1, 1, 5, 7), scale_factor=(0.5, 2.3)).shape == (1, 1, 2, 16)


def test_pixel_shuffle_moves_channel_groups_into_blocks():
    x = gg.tensor(np.arange(8.0).reshape(1, 8, 1, 1))
    y = F.pixel_shuffle(x, 2)
    assert y.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(y.numpy()[0, 0], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(y.numpy()[0, 1], [[4, 5], [6, 7]])
    z = gg.randn(2, 3, 18, 4, 5)  # extra leading dims are kept
    assert F.pixel_shuffle(z, 3).shape == (2, 3, 2, 12, 15)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(z, 3), 3).numpy(), z.numpy())


# Derivatives -----------------------------------------------------------------------------------------

_GRAD_CASES = {
    "nearest_1d": (lambda x: F.interpolate(x, scale_factor=1.05), (1, 2, 5)),
    "nearest_2d": (lambda x: F.interpolate(x, size=(4, 2)), (1, 2, 3, 3)),
    "nearest_exact_3d": (lambda x: F.interpolate(x, scale_factor=1.5, mode="nearest-exact"), (1, 1, 2, 2, 3)),
    "linear": (lambda x: F.interpolate(x, size=5, mode="linear"), (1, 2, 3)),
    "linear_align": (lambda x: F.interpolate(x, size=2, mode="linear", align_corners=True), (1, 2, 5)),
    "bilinear": (lambda x: F.interpolate(x, scale_factor=(1.6, 0.7), mode="bilinear"), (1, 1, 3, 4)),
    "bicubic": (lambda x: F.interpolate(x, scale_factor=1.05, mode="bicubic"), (1, 1, 3, 4)),
    "bicubic_align": (lambda x: F.interpolate(x, size=(4, 2), mode="bicubic", align_corners=True), (1, 1, 3, 3)),
    "trilinear": (lambda x: F.interpolate(x, scale_factor=(0.7, 1.5, 2), mode="trilinear"), (1, 1, 3, 2, 2)),
    "area": (lambda x: F.interpolate(x, size=(2, 3), mode="area"), (1, 2, 3, 5)),
    "bilinear_antialias": (lambda x: F.interpolate(x, size=(2, 3), mode="bilinear", antialias=True), (1, 1, 5, 4)),
    "bicubic_antialias": (lambda x: F.interpolate(x, scale_factor=0.6, mode="bicubic", antialias=True), (1, 1, 5, 4)),
    "lanczos": (lambda x: F.interpolate(x, size=(2, 7), mode="lanczos", antialias=True), (1, 1, 5, 4)),
    "nearest_downsample": (lambda x: F.interpolate(x, size=2), (1, 1, 7)),
    "pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), (1, 4, 2, 3)),
    "pixel_unshuffle": (lambda x: F.pixel_unshuffle(x, 2), (1, 1, 2, 4)),
}


@pytest.mark.parametrize("name", sorted(_GRAD_CASES))
def test_first_and_second_derivatives_match_finite_differences(name):
    fn, shape = _GRAD_CASES[name]
    x = leaf(np.random.default_rng(3).standard_normal(shape))
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


# Errors ----------------------------------------------------------------------------------------------


def test_bad_arguments_raise_errors_naming_the_function():
    x = gg.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="interpolate: only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="interpolate: either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="interpolate: align_corners option can only be set"):
        F.interpolate(x, size=3, mode="nearest", align_corners=True)
    with pytest.raises(NotImplementedError, match="interpolate: Got 4D input, but linear mode needs 3D input"):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(NotImplementedError, match="interpolate: Got 3D input, but trilinear mode needs 5D input"):
        F.interpolate(gg.randn(1, 2, 4), size=3, mode="trilinear")
    with pytest.raises(NotImplementedError, match=r"interpolate: .*Only 3D, 4D and 5D input Tensors supported \(got 2D\)"):
        F.interpolate(gg.randn(2, 4), size=3)
    with pytest.raises(ValueError, match="interpolate: Input and output must have the same number of spatial"):
        F.interpolate(x, size=(3, 3, 3))
    with pytest.raises(ValueError, match="interpolate: Input and scale_factor must have the same number"):
        F.interpolate(x, scale_factor=(2.0,))
    with pytest.raises(ValueError, match="interpolate: recompute_scale_factor is not meaningful"):
        F.interpolate(x, size=3, recompute_scale_factor=True)
    with pytest.raises(ValueError, match="interpolate: Anti-alias option is restricted to bilinear, bicubic"):
        F.interpolate(x, size=3, antialias=True)
    with pytest.raises(ValueError, match="interpolate: Lanczos mode requires antialias=True"):
        F.interpolate(x, size=3, mode="lanczos")
    with pytest.raises(ValueError, match="interpolate: Lanczos mode does not support align_corners=True"):
        F.interpolate(x, size=3, mode="lanczos", antialias=True, align_corners=True)
    with pytest.raises(NotImplementedError, match="interpolate: unknown mode 'cubic'"):
        F.interpolate(x, size=3, mode="cubic")
    with pytest.raises(TypeError, match="interpolate.*bilinear"):
        F.interpolate(gg.ones(1, 1, 2, 2, dtype=gg.int64), size=3, mode="bilinear")
    with pytest.raises(ShapeError, match="pixel_shuffle expects its input's 'channel' dimension to be divisible"):
        F.pixel_shuffle(gg.randn(1, 6, 2, 2), 2)
    with pytest.raises(ShapeError, match="pixel_shuffle expects input to have at least 3 dimensions"):
        F.pixel_shuffle(gg.randn(4, 2), 2)
    with pytest.raises(ShapeError, match="pixel_unshuffle expects width to be divisible"):
        F.pixel_unshuffle(gg.randn(1, 1, 4, 5), 2)
    with pytest.raises(ValueError, match="pixel_unshuffle: downscale_factor must be a positive integer"):
        F.pixel_unshuffle(gg.randn(1, 1, 4, 4), 0)


# Deprecated spellings and layers --------------------------------------------------------------------


def test_deprecated_upsample_functions_warn_and_forward_to_interpolate():
    x = gg.randn(1, 2, 3, 4)
    with pytest.warns(UserWarning, match="upsample_bilinear` is deprecated"):
        y = F.upsample_bilinear(x, scale_factor=2)
    np.testing.assert_array_equal(y.numpy(), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy())
    with pytest.warns(UserWarning, match="upsample_nearest` is deprecated"):
        y = F.upsample_nearest(x, size=(5, 5))
    np.testing.assert_array_equal(y.numpy(), F.interpolate(x, size=(5, 5)).numpy())
    with pytest.warns(UserWarning, match="upsample` is deprecated"):
        y = F.upsample(x, size=5, mode="bicubic")
    np.testing.assert_array_equal(y.numpy(), F.interpolate(x, size=5, mode="bicubic").numpy())


def test_layers_call_interpolate_and_print_as_pytorch():
    x = gg.randn(1, 4, 3, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the layers are not deprecated
        np.testing.assert_array_equal(nn.Upsample(scale_factor=2, mode="bilinear")(x).numpy(),
                                      F.interpolate(x, scale_factor=2.0, mode="bilinear").numpy())
        np.testing.assert_array_equal(nn.UpsamplingBilinear2d(size=(4, 6))(x).numpy(),
                                      F.interpolate(x, size=(4, 6), mode="bilinear", align_corners=True).numpy())
        np.testing.assert_array_equal(nn.UpsamplingNearest2d(scale_factor=3)(x).numpy(), F.interpolate(x, scale_factor=3).numpy())
    np.testing.assert_array_equal(nn.PixelUnshuffle(1)(nn.PixelShuffle(2)(x)).numpy(), F.pixel_shuffle(x, 2).numpy())
    reprs = {
        nn.Upsample(scale_factor=2): "Upsample(scale_factor=2.0, mode='nearest')",
        nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True): "Upsample(size=(3, 4), mode='bilinear')",
        nn.Upsample(scale_factor=(2, 3)): "Upsample(scale_factor=(2.0, 3.0), mode='nearest')",
        nn.UpsamplingNearest2d(scale_factor=2): "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')",
        nn.UpsamplingBilinear2d(size=5): "UpsamplingBilinear2d(size=5, mode='bilinear')",
        nn.PixelShuffle(2): "PixelShuffle(upscale_factor=2)",
        nn.PixelUnshuffle(3): "PixelUnshuffle(downscale_factor=3)",
    }
    for layer, text in reprs.items():
        assert repr(layer) == text


# PyTorch ---------------------------------------------------------------------------------------------

_MODE_SHAPES = [
    ("bilinear+antialias", (2, 2, 9, 11)), ("bicubic+antialias", (1, 2, 9, 11)), ("lanczos+antialias", (1, 2, 9, 11)),
    ("nearest", (2, 3, 7)), ("nearest", (2, 2, 5, 7)), ("nearest", (1, 2, 3, 5, 4)),
    ("nearest-exact", (2, 3, 7)), ("nearest-exact", (1, 2, 5, 7)), ("nearest-exact", (1, 2, 3, 4, 5)),
    ("linear", (2, 3, 7)), ("bilinear", (2, 2, 5, 7)), ("bicubic", (2, 2, 5, 7)), ("trilinear", (1, 2, 3, 5, 4)),
    ("area", (2, 3, 7)), ("area", (2, 2, 5, 7)), ("area", (1, 2, 3, 5, 4)),
]


def _torch_backward_matches_its_forward(mode, shape, out, scale_factor, recompute, align_corners, antialias):
    """PyTorch 2.13's backward is not its forward's derivative in three corners (its own gradcheck fails there),
    so gradients are compared elsewhere only; ours are checked against finite differences above:
    - nearest in 1-d and 3-d: the forward applies a given scale_factor, the backward copies a dim whose size is
      unchanged and halves the index of one that doubles;
    - bicubic without align_corners: the backward copies a dim whose size is unchanged, the forward does not;
    - antialias: the forward copies a dim whose size is unchanged, the backward does not."""
    if scale_factor is None or recompute:
        return True  # the ratio is in/out, where the shortcuts and the formula agree
    sizes = list(zip(shape[2:], out))
    if mode == "nearest" and len(shape) != 4:
        return not any(o in (n, 2 * n) for n, o in sizes)
    if (mode == "bicubic" and not align_corners) or antialias:
        return not any(o == n for n, o in sizes)
    return True


@pytest.mark.torch
@pytest.mark.parametrize("mode,shape", _MODE_SHAPES)
def test_interpolate_matches_pytorch_over_sizes_and_scales(mode, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    nd = len(shape) - 2
    antialias = mode.endswith("+antialias")
    mode = mode.removesuffix("+antialias")
    corners = {"nearest": [None], "nearest-exact": [None], "area": [None], "lanczos": [False]}.get(mode, [False, True])
    calls = []
    for align_corners in corners:
        for size in [1, 2, 3, 4, 9, 14]:
            calls.append(dict(size=tuple(size + i for i in range(nd)), align_corners=align_corners))
        for scale in [0.34, 0.5, 0.7, 1.05, 1.5, 2, 2.3, 3]:
            for recompute in (None, True):
                calls.append(dict(scale_factor=scale, align_corners=align_corners, recompute_scale_factor=recompute))
        calls.append(dict(scale_factor=tuple([1.5, 0.6, 2.0][:nd]), align_corners=align_corners))
    for kwargs in calls:
        a = rng.standard_normal(shape).astype(np.float32)
        t = torch.tensor(a, requires_grad=True)
        g = gg.tensor(a, requires_grad=True)
        ty = torch.nn.functional.interpolate(t, mode=mode, antialias=antialias, **kwargs)
        gy = F.interpolate(g, mode=mode, antialias=antialias, **kwargs)
        assert tuple(gy.shape) == tuple(ty.shape), kwargs
        np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5, err_msg=str(kwargs))
        if not _torch_backward_matches_its_forward(mode, shape, tuple(ty.shape[2:]), kwargs.get("scale_factor"),
                                                   kwargs.get("recompute_scale_factor"), kwargs["align_corners"], antialias):
            continue
        c = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
        ty.backward(torch.tensor(c))
        gy.backward(gg.tensor(c))
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=str(kwargs))


@pytest.mark.torch
def test_nearest_on_integer_images_matches_pytorch():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(5).integers(0, 255, (1, 3, 5, 7)).astype(np.uint8)
    for kwargs in [dict(scale_factor=2.3), dict(size=(4, 9)), dict(scale_factor=0.6)]:
        for mode in ("nearest", "nearest-exact"):
            ours = F.interpolate(gg.tensor(img), mode=mode, **kwargs).numpy()
            theirs = torch.nn.functional.interpolate(torch.from_numpy(img), mode=mode, **kwargs).numpy()
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.torch
@pytest.mark.parametrize("factor", [1, 2, 3])
def test_pixel_shuffle_matches_pytorch(factor):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    for ours, theirs, shape in [(F.pixel_shuffle, torch.nn.functional.pixel_shuffle, (2, 2, 2 * factor * factor, 3, 4)),
                                (F.pixel_unshuffle, torch.nn.functional.pixel_unshuffle, (3, 2, 3 * factor, 2 * factor))]:
        a = rng.standard_normal(shape)
        t, g = torch.tensor(a, requires_grad=True), gg.tensor(a, requires_grad=True)
        ty, gy = theirs(t, factor), ours(g, factor)
        np.testing.assert_array_equal(gy.detach().numpy(), ty.detach().numpy())
        c = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(c))
        gy.backward(gg.tensor(c))
        np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())


def test_output_sizes_follow_floor_of_size_times_scale():
    for n, s in [(7, 0.34), (5, 2.3), (9, 1.05), (3, 0.5)]:
        assert F.interpolate(gg.randn(1, 1, n), scale_factor=s).shape[-1] == math.floor(n * s)


def test_constants_reach_a_gpu_once_per_content():
    from gpugrad.nn import functional_resample as R

    class FakeGpu:  # stands in for the CuPy backend: only the transfers are counted
        xp = object()
        device = "cuda:0"

        def __init__(self):
            self.copies = 0

        def asarray(self, array):
            self.copies += 1
            return array.copy()

    gpu = FakeGpu()
    taps = np.arange(5)
    first = R._on_device(gpu, taps)
    assert R._on_device(gpu, np.arange(5)) is first and gpu.copies == 1
    R._on_device(gpu, np.arange(5, dtype=np.int32))  # another dtype is another constant
    assert gpu.copies == 2
    assert R._on_device(gg.tensor([1.0])._backend, taps) is taps  # NumPy arrays are used as they are


def test_uint8_images_resize_as_pillow_does_width_then_height():
    x = np.random.default_rng(3).integers(0, 256, (1, 2, 9, 11), dtype=np.uint8)
    got = F.interpolate(gg.tensor(x), size=(5, 7), mode="bilinear", antialias=True)
    assert got.dtype is gg.uint8
    wide = F.interpolate(gg.tensor(x).float(), size=(9, 7), mode="bilinear", antialias=True).round().clamp(0, 255)
    want = F.interpolate(wide, size=(5, 7), mode="bilinear", antialias=True).round().clamp(0, 255)
    np.testing.assert_array_equal(got.numpy(), want.numpy().astype(np.uint8))
    flat = F.interpolate(gg.full((1, 1, 6, 6), 200, dtype=gg.uint8), size=(4, 9), mode="bicubic")
    assert (flat.numpy() == 200).all()


@pytest.mark.torch
@pytest.mark.parametrize("mode,antialias,limit", [("bilinear", True, 1), ("bilinear", False, 1), ("bicubic", True, 1),
                                                  ("bicubic", False, 2)])
def test_uint8_resize_is_within_pytorchs_rounding(mode, antialias, limit):
    # PyTorch's uint8 kernels weigh in fixed point: a value off by one now and then.
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).integers(0, 256, (2, 3, 20, 25), dtype=np.uint8)
    for size in ((11, 9), (31, 40)):
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode, antialias=antialias).numpy()
        ours = F.interpolate(gg.tensor(x), size=size, mode=mode, antialias=antialias).numpy()
        assert ours.dtype == np.uint8 and np.abs(ours.astype(int) - theirs.astype(int)).max() <= limit
