"""Pooling beyond max_pool2d/avg_pool2d: 1-d and 3-d max/avg, adaptive, unpooling, power-average pooling,
integer max pooling, and the pooling layers. NumPy loop references and gradcheck always; PyTorch when present."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import DTypeError, ShapeError


def distinct(rng, shape):
    """Values with no ties (and gaps far above the finite-difference step), so maxima are stable."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05 + rng.uniform(0, 0.01, n)).reshape(shape)


def leaf(a) -> gg.Tensor:
    return gg.tensor(a, dtype=gg.float64, requires_grad=True)


# NumPy loop references ----------------------------------------------------------------------------


def window_ranges(n, k, s, p, d, ceil_mode):
    """Per output position, the input coordinates of its taps (inside and out) along one dim."""
    eff = d * (k - 1) + 1
    o = (n + 2 * p - eff + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return [[i * s - p + j * d for j in range(k)] for i in range(o)]


def ref_max_pool(a, kernel, stride, pad, dilation, ceil_mode):
    """(values, flat indices) by brute force over every window of the last len(kernel) dims."""
    nd = len(kernel)
    spatial = a.shape[-nd:]
    per_dim = [window_ranges(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(spatial, kernel, stride, pad, dilation)]
    lead = a.shape[:-nd]
    out_shape = tuple(len(r) for r in per_dim)
    values = np.zeros(lead + out_shape, a.dtype)
    index = np.zeros(lead + out_shape, np.int64)
    for lead_i in np.ndindex(*lead):
        for out_i in np.ndindex(*out_shape):
            best = None
            for taps in itertools.product(*(per_dim[j][out_i[j]] for j in range(nd))):
                if all(0 <= t < n for t, n in zip(taps, spatial)):
                    v = a[lead_i + taps]
                    if best is None or v > best[0]:
                        best = (v, np.ravel_multi_index(taps, spatial))
            values[lead_i + out_i], index[lead_i + out_i] = best
    return values, index


def ref_avg_pool(a, kernel, stride, pad, ceil_mode, count_include_pad, divisor=None):
    nd = len(kernel)
    spatial = a.shape[-nd:]
    per_dim = [window_ranges(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(spatial, kernel, stride, pad)]
    lead = a.shape[:-nd]
    out_shape = tuple(len(r) for r in per_dim)
    out = np.zeros(lead + out_shape)
    for lead_i in np.ndindex(*lead):
        for out_i in np.ndindex(*out_shape):
            total, inside, padded = 0.0, 0, 0
            for taps in itertools.product(*(per_dim[j][out_i[j]] for j in range(nd))):
                if all(0 <= t < n for t, n in zip(taps, spatial)):
                    total += a[lead_i + taps]
                    inside += 1
                if all(-p <= t < n + p for t, n, p in zip(taps, spatial, pad)):
                    padded += 1
            out[lead_i + out_i] = total / (divisor or (padded if count_include_pad else inside))
    return out


def ref_adaptive(a, sizes, reduce):
    nd = len(sizes)
    spatial = a.shape[-nd:]
    bins = [[(i * n // o, -(-(i + 1) * n // o)) for i in range(o)] for n, o in zip(spatial, sizes)]
    out = np.zeros(a.shape[:-nd] + tuple(sizes))
    for out_i in np.ndindex(*sizes):
        region = a[(Ellipsis,) + tuple(slice(*bins[j][out_i[j]]) for j in range(nd))]
        out[(Ellipsis,) + out_i] = reduce(region.reshape(a.shape[:-nd] + (-1,)), axis=-1)
    return out


# Values against the references --------------------------------------------------------------------


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", [
    (3, None, 0, 1, False), (3, 2, 1, 1, True), (2, 3, 1, 2, True), (4, 1, 2, 1, False),
])
def test_max_pool1d_and_3d_match_a_brute_force_reference(kernel, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(0)
    s = kernel if stride is None else stride
    a = distinct(rng, (2, 3, 11))
    y, i = F.max_pool1d(gg.tensor(a), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    ry, ri = ref_max_pool(a, (kernel,), (s,), (padding,), (dilation,), ceil_mode)
    np.testing.assert_allclose(y.numpy(), ry)
    np.testing.assert_array_equal(i.numpy(), ri)
    a3 = distinct(rng, (2, 5, 6, 7))  # unbatched (C, D, H, W)
    y, i = F.max_pool3d(gg.tensor(a3), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    ry, ri = ref_max_pool(a3, (kernel,) * 3, (s,) * 3, (padding,) * 3, (dilation,) * 3, ceil_mode)
    np.testing.assert_allclose(y.numpy(), ry)
    np.testing.assert_array_equal(i.numpy(), ri)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint8])
def test_max_pooling_takes_integer_inputs_and_keeps_their_dtype(dtype):
    rng = np.random.default_rng(1)
    for fn, nd, shape in [(F.max_pool2d, 2, (2, 3, 7, 8)), (F.max_pool1d, 1, (2, 3, 9)), (F.max_pool3d, 3, (2, 4, 5, 6))]:
        x = rng.integers(0, 6, shape).astype(dtype)  # many ties: the first maximum must win
        y, i = fn(gg.tensor(x), 3, 2, 1, 1, True, return_indices=True)
        ry, ri = ref_max_pool(x, (3,) * nd, (2,) * nd, (1,) * nd, (1,) * nd, True)
        assert y.dtype == gg.tensor(x).dtype
        np.testing.assert_array_equal(y.numpy(), ry)
        np.testing.assert_array_equal(i.numpy(), ri)
    # A window of the dtype's lowest value still points inside the input, never at the padding.
    low = np.full((1, 1, 3, 3), np.iinfo(dtype).min, dtype)
    _, i = F.max_pool2d(gg.tensor(low), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy()[0, 0], [[0, 0, 1], [0, 0, 1], [3, 3, 4]])


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad", [
    (3, None, 0, False, True), (3, 2, 1, True, True), (3, 2, 1, True, False), (4, 3, 2, True, False), (2, 1, 1, False, True),
])
def test_avg_pool1d_and_3d_match_a_brute_force_reference(kernel, stride, padding, ceil_mode, count_include_pad):
    rng = np.random.default_rng(2)
    s = kernel if stride is None else stride
    a = rng.standard_normal((2, 3, 10))
    y = F.avg_pool1d(gg.tensor(a), kernel, stride, padding, ceil_mode, count_include_pad)
    np.testing.assert_allclose(y.numpy(), ref_avg_pool(a, (kernel,), (s,), (padding,), ceil_mode, count_include_pad), atol=1e-12)
    a3 = rng.standard_normal((1, 2, 5, 6, 7))
    y = F.avg_pool3d(gg.tensor(a3), kernel, stride, padding, ceil_mode, count_include_pad)
    ref = ref_avg_pool(a3, (kernel,) * 3, (s,) * 3, (padding,) * 3, ceil_mode, count_include_pad)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    y = F.avg_pool3d(gg.tensor(a3), kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=5)
    ref = ref_avg_pool(a3, (kernel,) * 3, (s,) * 3, (padding,) * 3, ceil_mode, count_include_pad, divisor=5)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("sizes", [(1,), (3,), (4,), (7,), (11,)])
def test_adaptive_pooling_matches_a_bin_by_bin_reference(sizes):
    rng = np.random.default_rng(3)
    (o,) = sizes
    a1 = distinct(rng, (2, 3, 7))
    np.testing.assert_allclose(F.adaptive_avg_pool1d(gg.tensor(a1), o).numpy(), ref_adaptive(a1, (o,), np.mean), atol=1e-12)
    np.testing.assert_allclose(F.adaptive_max_pool1d(gg.tensor(a1), o).numpy(), ref_adaptive(a1, (o,), np.max))
    a2 = distinct(rng, (2, 5, 6))  # unbatched (C, H, W)
    out2 = (o, 4)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(gg.tensor(a2), out2).numpy(), ref_adaptive(a2, out2, np.mean), atol=1e-12)
    y, i = F.adaptive_max_pool2d(gg.tensor(a2), out2, return_indices=True)
    np.testing.assert_allclose(y.numpy(), ref_adaptive(a2, out2, np.max))
    np.testing.assert_allclose(np.take_along_axis(a2.reshape(2, -1), i.numpy().reshape(2, -1), 1).reshape(y.shape), y.numpy())
    a3 = distinct(rng, (1, 2, 4, 5, 6))
    out3 = (2, o, 3)
    np.testing.assert_allclose(F.adaptive_avg_pool3d(gg.tensor(a3), out3).numpy(), ref_adaptive(a3, out3, np.mean), atol=1e-12)
    np.testing.assert_allclose(F.adaptive_max_pool3d(gg.tensor(a3), out3).numpy(), ref_adaptive(a3, out3, np.max))


def test_adaptive_output_size_none_keeps_that_dim():
    x = gg.randn(2, 3, 5, 6)
    assert F.adaptive_avg_pool2d(x, (None, 2)).shape == (2, 3, 5, 2)
    assert F.adaptive_max_pool2d(x, (3, None)).shape == (2, 3, 3, 6)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy(), x.numpy().mean(axis=(2, 3), keepdims=True), atol=1e-6)


def test_max_unpool_puts_each_maximum_back_and_zeros_the_rest():
    x = gg.tensor([[[1.0, 2, 3, 4, 5, 6, 7, 8, 9]]])
    y, i = F.max_pool1d(x, 2, return_indices=True)
    np.testing.assert_array_equal(F.max_unpool1d(y, i, 2).numpy(), [[[0, 2, 0, 4, 0, 6, 0, 8]]])
    np.testing.assert_array_equal(F.max_unpool1d(y, i, 2, output_size=[1, 1, 9]).numpy(), [[[0, 2, 0, 4, 0, 6, 0, 8, 0]]])
    rng = np.random.default_rng(4)
    a = distinct(rng, (2, 3, 6, 7))
    y, i = F.max_pool2d(gg.tensor(a), 2, return_indices=True)
    back = F.max_unpool2d(y, i, 2, output_size=(6, 7)).numpy()
    assert back.shape == (2, 3, 6, 7)
    kept = back != 0
    np.testing.assert_array_equal(back[kept], a[kept])
    assert kept.sum() == y.numel()
    a3 = distinct(rng, (1, 1, 4, 4, 4))
    y, i = F.max_pool3d(gg.tensor(a3), 2, return_indices=True)
    assert F.max_unpool3d(y, i, 2).numpy().sum() == pytest.approx(y.numpy().sum())


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 1.5])
def test_lp_pool_is_the_p_norm_of_each_window(p):
    rng = np.random.default_rng(5)
    a = rng.uniform(0.1, 2.0, (2, 3, 9))
    ref = (ref_avg_pool(a ** p, (3,), (2,), (0,), False, True) * 3) ** (1 / p)
    np.testing.assert_allclose(F.lp_pool1d(gg.tensor(a), p, 3, 2).numpy(), ref, rtol=1e-10)
    a2 = rng.uniform(0.1, 2.0, (2, 5, 7))
    ref = (ref_avg_pool(a2 ** p, (2, 3), (2, 3), (0, 0), True, True) * 6) ** (1 / p)
    np.testing.assert_allclose(F.lp_pool2d(gg.tensor(a2), p, (2, 3), ceil_mode=True).numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(F.lp_pool2d(gg.tensor(a2), float("inf"), 2).numpy(), ref_max_pool(a2, (2, 2), (2, 2), (0, 0), (1, 1), False)[0])


# Derivatives (float64 finite differences) ---------------------------------------------------------

_rng = np.random.default_rng(6)
_GRAD_CASES = {
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, 2, 1, 2, True), (1, 2, 8)),
    "max_pool1d_unbatched": (lambda x: F.max_pool1d(x, 2), (2, 5)),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2, 1, 1), (1, 1, 3, 3, 4)),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 3, 2, 1, True, False), (1, 2, 7)),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, 2, 2, 1, True), (1, 1, 3, 4, 3)),
    "adaptive_avg_pool1d": (lambda x: F.adaptive_avg_pool1d(x, 3), (1, 2, 7)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (1, 2, 5, 4)),
    "adaptive_avg_pool3d": (lambda x: F.adaptive_avg_pool3d(x, 2), (1, 1, 3, 3, 3)),
    "adaptive_max_pool1d": (lambda x: F.adaptive_max_pool1d(x, 3), (1, 2, 7)),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 4)),
    "adaptive_max_pool3d": (lambda x: F.adaptive_max_pool3d(x, 2), (1, 1, 3, 3, 3)),
    "max_unpool2d": (lambda x: F.max_unpool2d(x, gg.tensor([[[[0, 3], [9, 11]]]]), 2), (1, 1, 2, 2)),
    "lp_pool1d": (lambda x: F.lp_pool1d(x.abs() + 0.5, 3, 2), (1, 2, 7)),
    "lp_pool2d": (lambda x: F.lp_pool2d(x.abs() + 0.5, 1.5, (2, 3), 1), (1, 1, 3, 5)),
}


@pytest.mark.parametrize("name", sorted(_GRAD_CASES))
def test_first_and_second_derivatives_match_finite_differences(name):
    fn, shape = _GRAD_CASES[name]
    x = leaf(distinct(_rng, shape))
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_integer_max_pooling_has_no_gradient_path():
    y = F.max_pool2d(gg.tensor([[[[1, 5], [3, 2]]]]), 2)
    assert y.item() == 5 and not y.requires_grad


# Errors name the function -------------------------------------------------------------------------


def test_bad_inputs_raise_errors_naming_the_function():
    with pytest.raises(ShapeError, match="max_pool1d.*2-D or 3-D"):
        F.max_pool1d(gg.randn(1, 2, 3, 4), 2)
    with pytest.raises(ShapeError, match="max_pool3d.*4-D or 5-D"):
        F.max_pool3d(gg.randn(2, 3, 4), 2)
    with pytest.raises(ValueError, match="avg_pool1d: pad should be at most half"):
        F.avg_pool1d(gg.randn(1, 2, 8), 2, padding=2)
    with pytest.raises(DTypeError, match="avg_pool3d"):
        F.avg_pool3d(gg.ones(1, 1, 2, 2, 2, dtype=gg.int64), 2)
    with pytest.raises(ValueError, match="avg_pool3d: divisor must be not zero"):
        F.avg_pool3d(gg.randn(1, 1, 2, 2, 2), 2, divisor_override=0)
    with pytest.raises(ShapeError, match="adaptive_avg_pool2d.*3-D or 4-D"):
        F.adaptive_avg_pool2d(gg.randn(5), 2)
    with pytest.raises(ValueError, match="adaptive_max_pool2d: output_size"):
        F.adaptive_max_pool2d(gg.randn(1, 2, 4, 4), (1, 2, 3))
    y, i = F.max_pool2d(gg.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"max_unpool2d: invalid output_size"):
        F.max_unpool2d(y, i, 2, output_size=(7, 4))
    with pytest.raises(RuntimeError, match="max_unpool2d: found an invalid max index 9"):
        F.max_unpool2d(gg.ones(1, 1, 2, 2), gg.tensor([[[[0, 1], [2, 9]]]]), 2, output_size=(3, 3))
    with pytest.raises(ShapeError, match="max_unpool1d: expected indices"):
        F.max_unpool1d(gg.randn(1, 1, 3), gg.tensor([[[0, 1]]]), 2)


def test_pooling_geometry_is_the_same_from_lists_tuples_and_repeated_calls():
    """The geometry is cached per (shape, arguments): a list argument takes the uncached road to the same
    result, and a bad argument raises on every call, never from the cache (not even a float equal to a
    cached int)."""
    a = np.random.default_rng(0).standard_normal((2, 3, 9, 8))
    first = F.max_pool2d(gg.tensor(a), (3, 2), stride=(2, 2), padding=(1, 0), ceil_mode=True)
    for kernel, stride in (((3, 2), (2, 2)), ([3, 2], [2, 2]), ((3, 2), [2, 2])):
        again = F.max_pool2d(gg.tensor(a), kernel, stride=stride, padding=(1, 0), ceil_mode=True)
        np.testing.assert_array_equal(again.numpy(), first.numpy())
    assert first.shape == (2, 3, 5, 4)  # the same arguments on another input shape: another geometry
    assert F.max_pool2d(gg.tensor(a[:, :, :7]), (3, 2), stride=(2, 2), padding=(1, 0), ceil_mode=True).shape == (2, 3, 4, 4)
    for _ in range(2):
        with pytest.raises(ValueError, match="max_pool2d: pad should be at most half"):
            F.max_pool2d(gg.tensor(a), 2, padding=2)
        with pytest.raises(ValueError, match="max_pool2d: kernel_size must be an int or a tuple of 2 ints"):
            F.max_pool2d(gg.tensor(a), [2, 2, 2])
        F.max_pool2d(gg.tensor(a), 2)
        F.max_pool2d(gg.tensor(a), (2, 2))
        with pytest.raises(TypeError):
            F.max_pool2d(gg.tensor(a), 2.0)
        with pytest.raises(ValueError, match="max_pool2d: kernel_size must be an int or a tuple of 2 ints"):
            F.max_pool2d(gg.tensor(a), (2.0, 2.0))


# Layers --------------------------------------------------------------------------------------------


def test_layers_call_their_functions_and_print_as_pytorch():
    x = gg.randn(2, 3, 8)
    y, i = nn.MaxPool1d(2, return_indices=True)(x)
    np.testing.assert_array_equal(nn.MaxUnpool1d(2)(y, i).numpy(), F.max_unpool1d(y, i, 2).numpy())
    np.testing.assert_array_equal(nn.AvgPool1d(3, 2, 1)(x).numpy(), F.avg_pool1d(x, 3, 2, 1).numpy())
    np.testing.assert_array_equal(nn.LPPool1d(2, 3)(x.abs()).numpy(), F.lp_pool1d(x.abs(), 2.0, 3).numpy())
    x4 = gg.randn(2, 3, 6, 5)
    np.testing.assert_array_equal(nn.AdaptiveAvgPool2d((None, 2))(x4).numpy(), F.adaptive_avg_pool2d(x4, (None, 2)).numpy())
    assert len(nn.AdaptiveMaxPool2d(3, return_indices=True)(x4)) == 2
    x5 = gg.randn(1, 2, 4, 4, 4)
    np.testing.assert_array_equal(nn.AvgPool3d(2, divisor_override=3)(x5).numpy(), F.avg_pool3d(x5, 2, divisor_override=3).numpy())
    reprs = {
        nn.MaxPool1d(3, 2, 1, 2, True, True): "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)",
        nn.MaxPool3d((2, 3, 1)): "MaxPool3d(kernel_size=(2, 3, 1), stride=(2, 3, 1), padding=0, dilation=1, ceil_mode=False)",
        nn.AvgPool1d(3): "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))",
        nn.AvgPool3d(3, 2, 1): "AvgPool3d(kernel_size=3, stride=2, padding=1)",
        nn.AdaptiveAvgPool2d((None, 3)): "AdaptiveAvgPool2d(output_size=(None, 3))",
        nn.AdaptiveMaxPool1d(3, True): "AdaptiveMaxPool1d(output_size=3)",
        nn.MaxUnpool2d(2, 1, 1): "MaxUnpool2d(kernel_size=(2, 2), stride=(1, 1), padding=(1, 1))",
        nn.MaxUnpool1d(2): "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))",
        nn.LPPool2d(1.5, (2, 3), 1, True): "LPPool2d(norm_type=1.5, kernel_size=(2, 3), stride=1, ceil_mode=True)",
        nn.LPPool1d(2, 3): "LPPool1d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)",
    }
    for layer, text in reprs.items():
        assert repr(layer) == text


# PyTorch ---------------------------------------------------------------------------------------------


def _compare(torch, ours, theirs, a, with_indices=False):
    """Values (and indices) and the gradient under a random cotangent, ours against PyTorch's."""
    t = torch.tensor(a, requires_grad=True)
    g = gg.tensor(a, requires_grad=True)
    ty, gy = theirs(t), ours(g)
    if with_indices:
        np.testing.assert_array_equal(gy[1].numpy(), ty[1].numpy())
        ty, gy = ty[0], gy[0]
    assert tuple(gy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    c = np.random.default_rng(7).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(c))
    gy.backward(gg.tensor(c))
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6)


_POOL_ARGS = [(3, None, 0, 1, False), (3, 2, 1, 1, True), (4, 3, 2, 2, True), (2, 1, 1, 3, False), (5, 2, 2, 1, True)]


@pytest.mark.torch
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", _POOL_ARGS)
def test_max_and_avg_pooling_match_pytorch(kernel, stride, padding, dilation, ceil_mode):
    torch = pytest.importorskip("torch")
    T = torch.nn.functional
    rng = np.random.default_rng(8)
    args = (kernel, stride, padding, dilation, ceil_mode)
    for ours, theirs, shape in [(F.max_pool1d, T.max_pool1d, (2, 3, 13)), (F.max_pool3d, T.max_pool3d, (2, 2, 7, 6, 9)),
                                (F.max_pool2d, T.max_pool2d, (3, 7, 9))]:
        _compare(torch, lambda x: ours(x, *args, return_indices=True), lambda x: theirs(x, *args, return_indices=True),
                 distinct(rng, shape), with_indices=True)
    for count_include_pad in (True, False):
        avg = (kernel, stride, padding, ceil_mode, count_include_pad)
        _compare(torch, lambda x: F.avg_pool1d(x, *avg), lambda x: T.avg_pool1d(x, *avg), rng.standard_normal((2, 3, 13)))
        _compare(torch, lambda x: F.avg_pool3d(x, *avg, 7), lambda x: T.avg_pool3d(x, *avg, 7), rng.standard_normal((2, 7, 6, 9)))
        _compare(torch, lambda x: F.avg_pool3d(x, *avg), lambda x: T.avg_pool3d(x, *avg), rng.standard_normal((1, 2, 7, 6, 9)))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8"])
def test_integer_max_pooling_matches_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    for args in _POOL_ARGS:
        a = rng.integers(0, 5, (2, 3, 7, 8)).astype(dtype)
        ty, ti = torch.nn.functional.max_pool2d(torch.from_numpy(a), *args, return_indices=True)
        gy, gi = F.max_pool2d(gg.tensor(a), *args, return_indices=True)
        assert str(gy.dtype) == str(ty.dtype)
        np.testing.assert_array_equal(gy.numpy(), ty.numpy())
        np.testing.assert_array_equal(gi.numpy(), ti.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("output_size", [1, 3, 5, 11, 13, (None, 4), (4, None)])
def test_adaptive_pooling_matches_pytorch(output_size):
    torch = pytest.importorskip("torch")
    T = torch.nn.functional
    rng = np.random.default_rng(10)
    single = 4 if isinstance(output_size, tuple) else output_size
    triple = (2, None, single) if isinstance(output_size, tuple) else single
    cases = [
        (F.adaptive_avg_pool1d, T.adaptive_avg_pool1d, (2, 3, 11), single),
        (F.adaptive_avg_pool2d, T.adaptive_avg_pool2d, (2, 3, 7, 9), output_size),
        (F.adaptive_avg_pool3d, T.adaptive_avg_pool3d, (2, 7, 5, 9), triple),
    ]
    for ours, theirs, shape, size in cases:
        _compare(torch, lambda x: ours(x, size), lambda x: theirs(x, size), rng.standard_normal(shape))
    cases = [
        (F.adaptive_max_pool1d, T.adaptive_max_pool1d, (2, 3, 11), single),
        (F.adaptive_max_pool2d, T.adaptive_max_pool2d, (3, 7, 9), output_size),
        (F.adaptive_max_pool3d, T.adaptive_max_pool3d, (1, 2, 7, 5, 9), triple),
    ]
    for ours, theirs, shape, size in cases:
        _compare(torch, lambda x: ours(x, size, True), lambda x: theirs(x, size, True), distinct(rng, shape), with_indices=True)


@pytest.mark.torch
@pytest.mark.parametrize("p", [1, 2, 3, 1.5, float("inf")])
def test_lp_pool_matches_pytorch(p):
    torch = pytest.importorskip("torch")
    T = torch.nn.functional
    rng = np.random.default_rng(11)
    _compare(torch, lambda x: F.lp_pool1d(x, p, 3, 2), lambda x: T.lp_pool1d(x, p, 3, 2), rng.uniform(0.1, 2, (2, 3, 11)))
    _compare(torch, lambda x: F.lp_pool2d(x, p, (3, 2), None, True), lambda x: T.lp_pool2d(x, p, (3, 2), None, True),
             rng.uniform(0.1, 2, (2, 3, 7, 9)))
    _compare(torch, lambda x: F.lp_pool3d(x, p, 2), lambda x: T.lp_pool3d(x, p, 2), rng.uniform(0.1, 2, (2, 5, 4, 5)))


@pytest.mark.torch
def test_max_unpool_matches_pytorch():
    torch = pytest.importorskip("torch")
    T = torch.nn.functional
    rng = np.random.default_rng(12)
    for nd, shape, args, size in [(1, (2, 3, 11), (2,), (11,)), (2, (2, 3, 7, 9), (3, 2, 1), (7, 9)),
                                  (2, (3, 7, 9), (3, 2, 1), None), (3, (1, 2, 5, 6, 7), (2,), (5, 6, 7))]:
        ours_pool, theirs_pool = getattr(F, f"max_pool{nd}d"), getattr(T, f"max_pool{nd}d")
        ours_unpool, theirs_unpool = getattr(F, f"max_unpool{nd}d"), getattr(T, f"max_unpool{nd}d")
        a = distinct(rng, shape)
        ty, ti = theirs_pool(torch.tensor(a), *args, return_indices=True)
        gy, gi = ours_pool(gg.tensor(a), *args, return_indices=True)
        _compare(torch, lambda x: ours_unpool(x, gi, *args, output_size=size),
                 lambda x: theirs_unpool(x, ti, *args, output_size=size), ty.numpy())
