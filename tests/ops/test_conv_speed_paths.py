"""conv2d's faster CPU paths against its im2col path: Winograd F(2x2, 3x3) (3x3, stride 1, undilated,
enough channels) and im2col's rows layout (enough channels, small GEMMs). Values, gradients, second
derivatives, which gradients are made, and PyTorch.

The thresholds are lowered in most tests so that small float64 cases (fast finite differences) take
the path under test; a spy on the path's first kernel proves that they did.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad import threads
from gpugrad.kernels import conv as kconv
from gpugrad.kernels import conv_rows, fused
from gpugrad.ops import conv as conv_ops


def _spy(monkeypatch, module, name) -> list:
    """Replace module.name (a kernel launcher taking xp, x, ...) by a wrapper that lists x's shapes."""
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(args[1].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.fixture
def winograd_calls(monkeypatch):
    """Every conv2d with a 3x3 stride-1 kernel takes Winograd; returns the list of its input transforms."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_PLANE", 1)
    return _spy(monkeypatch, kconv, "winograd_input")


def _run(x, w, b, up, **kw):
    """(y, x.grad, w.grad, b.grad) of conv2d for the upstream gradient `up`, as NumPy arrays."""
    X = gg.tensor(x, requires_grad=True)
    W = gg.tensor(w, requires_grad=True)
    B = None if b is None else gg.tensor(b, requires_grad=True)
    y = F.conv2d(X, W, B, **kw)
    y.backward(gg.tensor(up))
    return y.detach().numpy(), X.grad.numpy(), W.grad.numpy(), None if B is None else B.grad.numpy()


def _im2col_run(monkeypatch, *args, **kw):
    """_run on im2col's own (columns) layout."""
    with monkeypatch.context() as m:
        m.setattr(conv_ops, "WINOGRAD_MIN_CHANNELS", 1 << 30)
        m.setattr(conv_ops, "ROWS_MIN_CHANNELS", 1 << 30)
        m.setattr(kconv, "winograd_input", None)  # would fail if called
        m.setattr(conv_rows, "im2col_rows", None)
        return _run(*args, **kw)


# (input shape, out channels, padding, bias): odd sizes, odd outputs, no padding, wide and asymmetric
# ('same' is symmetric for 3x3; an explicit (2, 0) pads rows only), no bias.
CASES = [
    ((2, 3, 7, 6), 4, 1, True),
    ((3, 2, 5, 9), 3, 0, True),
    ((1, 4, 4, 5), 2, 2, False),
    ((2, 2, 6, 3), 5, (2, 0), True),
    ((1, 1, 3, 3), 1, "same", True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_winograd_matches_im2col(monkeypatch, winograd_calls, rng, case, dtype):
    shape, out_c, padding, with_bias = case
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_c, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(out_c).astype(dtype) if with_bias else None
    out_shape = tuple(F.conv2d(gg.tensor(x), gg.tensor(w), padding=padding).shape)
    winograd_calls.clear()
    up = rng.standard_normal(out_shape).astype(dtype)
    expect = _im2col_run(monkeypatch, x, w, b, up, padding=padding)
    got = _run(x, w, b, up, padding=padding)
    assert winograd_calls, "the Winograd path was not taken"
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for g, e in zip(got, expect):
        if e is None:
            assert g is None
        else:
            assert g.dtype == dtype and g.shape == e.shape
            np.testing.assert_allclose(g, e, **tol)


def test_winograd_first_and_second_derivatives(winograd_calls, rng):
    x = gg.tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = gg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = gg.tensor(rng.standard_normal(3), requires_grad=True)
    for padding in (1, (0, 2)):
        fn = lambda x, w, b: F.conv2d(x, w, b, padding=padding)  # noqa: E731
        assert gradcheck(fn, (x, w, b))
        assert gradgradcheck(fn, (x, w, b))
    assert winograd_calls


def _check_only_the_gradients_asked_for(rng) -> None:
    """With one of x, w, b frozen, the other two get the gradients they get when all three need one."""
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    full = _run(x, w, np.ones(4), np.ones((2, 4, 6, 5)), padding=1)
    for frozen in ("x", "w", "b"):
        X = gg.tensor(x, requires_grad=frozen != "x")
        W = gg.tensor(w, requires_grad=frozen != "w")
        B = gg.tensor(np.ones(4), requires_grad=frozen != "b")
        F.conv2d(X, W, B, padding=1).sum().backward()
        for t, name, ref in ((X, "x", full[1]), (W, "w", full[2]), (B, "b", full[3])):
            if name == frozen:
                assert t.grad is None
            else:
                np.testing.assert_allclose(t.grad.numpy(), ref, rtol=1e-12, atol=1e-12)


def test_winograd_makes_only_the_gradients_asked_for(winograd_calls, rng):
    _check_only_the_gradients_asked_for(rng)
    assert winograd_calls


def test_winograd_gradients_are_fresh_arrays(winograd_calls, rng):
    """The engine keeps an op's gradient as .grad without a copy: each must be its own memory."""
    X = gg.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    W = gg.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    B = gg.tensor(rng.standard_normal(4), requires_grad=True)
    up = gg.tensor(rng.standard_normal((2, 4, 6, 5)))
    y = F.conv2d(X, W, B, padding=1)
    y.backward(up)
    grads = [X.grad._array, W.grad._array, B.grad._array]
    values = [g.copy() for g in grads]
    held = [X._array, W._array, B._array, y._array, up._array]
    for i, g in enumerate(grads):
        assert not any(np.shares_memory(g, h) for h in held + grads[:i] + grads[i + 1:])
    # A second call reuses the spare scratch buffers: the first call's gradients and output stay as they were.
    y_first = y.detach().numpy().copy()
    X2, W2, B2 = (gg.tensor(t.detach().numpy() + 1, requires_grad=True) for t in (X, W, B))
    F.conv2d(X2, W2, B2, padding=1).backward(up)
    for g, v in zip(grads, values):
        np.testing.assert_array_equal(g, v)
    np.testing.assert_array_equal(y.detach().numpy(), y_first)
    assert len(winograd_calls) == 2


def _ctx(kernel_impl=None):
    """What the path choices read of an op's ctx: the array module and the backend's kernel choice."""
    return types.SimpleNamespace(xp=np, backend=types.SimpleNamespace(kernel_impl=kernel_impl))


def test_winograd_only_where_it_applies(rng):
    """The default thresholds keep few channels and small planes on im2col; stride, dilation, other
    kernels, the references (fused kernels off) and float16 stay on im2col too."""
    geo = kconv.ConvGeometry((3, 3), (1, 1), (1, 1, 1, 1))

    ctx = _ctx()

    wide = np.zeros((1, 16, 8, 8), np.float32), np.zeros((16, 16, 3, 3), np.float32)
    assert conv_ops.use_winograd(ctx, *wide, geo)
    assert not conv_ops.use_winograd(ctx, np.zeros((1, 16, 4, 4), np.float32), wide[1], geo)  # the digits CNN's
    assert not conv_ops.use_winograd(ctx, np.zeros((1, 3, 4, 4), np.float32), np.zeros((32, 3, 3, 3), np.float32), geo)
    assert not conv_ops.use_winograd(ctx, *(a.astype(np.float16) for a in wide), geo)
    assert not conv_ops.use_winograd(ctx, *wide, kconv.ConvGeometry((3, 3), (2, 2), (1, 1, 1, 1)))
    assert not conv_ops.use_winograd(ctx, *wide, kconv.ConvGeometry((3, 3), (1, 1), (1, 1, 1, 1), (2, 2)))
    with fused(False):
        assert not conv_ops.use_winograd(ctx, *wide, geo)
    ctx = _ctx("cuda")  # the simulated GPU: im2col's CUDA kernels
    assert not conv_ops.use_winograd(ctx, *wide, geo)


@pytest.mark.torch
def test_winograd_against_torch_float32(rng):
    """The sizes the path is for (default threshold), float32: values and all three gradients."""
    _check_against_torch(rng, (4, 16, 10, 9), 24)


def _check_against_torch(rng, shape, out_c) -> None:
    """conv2d 3x3 pad 1 in float32 against PyTorch's: the value and all three gradients."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((out_c, shape[1], 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(out_c).astype(np.float32)
    up = rng.standard_normal((shape[0], out_c, *shape[2:])).astype(np.float32)
    ours = _run(x, w, b, up, padding=1)
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.conv2d(X, W, B, padding=1)
    y.backward(torch.tensor(up))
    for g, t in zip(ours, (y, X.grad, W.grad, B.grad)):
        t = t.detach().numpy()
        np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-4 * np.abs(t).max())


def test_winograd_empty_batch_and_strided_arrays(monkeypatch, winograd_calls, rng):
    """An empty batch; a permuted, sliced input with a transposed upstream gradient (strided arrays
    straight into the kernels), as im2col computes them."""
    x = gg.tensor(np.zeros((0, 3, 5, 5)), requires_grad=True)
    w = gg.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.sum().backward()
    assert tuple(y.shape) == (0, 4, 5, 5) and tuple(x.grad.shape) == (0, 3, 5, 5)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((4, 3, 3, 3)))

    base = rng.standard_normal((2, 6, 7, 5))

    def run():
        xs = gg.tensor(base, requires_grad=True)
        ws = gg.tensor(w.detach().numpy(), requires_grad=True)
        out = F.conv2d(xs[:, ::2].permute(0, 1, 3, 2), ws, padding=(1, 2))
        out.backward(gg.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)[::-1]).T))
        return out.detach().numpy(), xs.grad.numpy(), ws.grad.numpy()

    got = run()
    with monkeypatch.context() as m:
        m.setattr(conv_ops, "WINOGRAD_MIN_CHANNELS", 1 << 30)
        expect = run()
    for g, e in zip(got, expect):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-9)
    assert len(winograd_calls) >= 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_either_way_round(monkeypatch, rng, dtype):
    """Few output channels take the weight gradient as its transpose (cols gz^T); many take gz cols^T:
    the same gradient, in weight's layout, both ways."""
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 2, 3)).astype(dtype)
    up = rng.standard_normal((2, 4, 4, 4)).astype(dtype)
    with monkeypatch.context() as m:
        m.setattr(conv_ops, "TRANSPOSED_WEIGHT_GRAD_MAX_CHANNELS", 1 << 30)
        transposed = _run(x, w, None, up)
    with monkeypatch.context() as m:
        m.setattr(conv_ops, "TRANSPOSED_WEIGHT_GRAD_MAX_CHANNELS", 0)
        plain = _run(x, w, None, up)
    for got, want in zip(transposed[:3], plain[:3]):
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # the weight gradient against its definition: sum over images and positions of gy times the window
    windows = np.lib.stride_tricks.sliding_window_view(x, (2, 3), axis=(2, 3))  # (N, C, 4, 4, 2, 3)
    definition = np.einsum("nohw,nchwij->ocij", up, windows)
    np.testing.assert_allclose(transposed[2], definition, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
    assert transposed[2].flags.c_contiguous


# ---------------------------------------------------------------- im2col's rows layout

@pytest.fixture
def rows_calls(monkeypatch):
    """Every im2col conv2d takes the rows layout (Winograd off); returns the list of its gathers' inputs."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_CHANNELS", 1 << 30)
    monkeypatch.setattr(conv_ops, "ROWS_MIN_CHANNELS", 1)
    monkeypatch.setattr(threads, "SMALL_GEMM_MACS", 1 << 62)
    return _spy(monkeypatch, conv_rows, "im2col_rows")


# CASES, and strides, dilations and kernels other than 3x3 (the rows layout takes any geometry).
ROWS_CASES = [(shape, out_c, dict(padding=padding)) for shape, out_c, padding, _ in CASES] + [
    ((2, 3, 7, 8), 4, dict(stride=2, padding=1)),
    ((1, 2, 9, 7), 3, dict(dilation=(2, 1), padding=(1, 0))),
    ((3, 17, 4, 4), 5, dict(padding=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ROWS_CASES, ids=str)
def test_rows_layout_matches_im2col(monkeypatch, rows_calls, rng, case, dtype):
    shape, out_c, kw = case
    kernel = (2, 3) if "dilation" in kw else (3, 3)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_c, shape[1], *kernel)).astype(dtype)
    b = rng.standard_normal(out_c).astype(dtype)
    out_shape = tuple(F.conv2d(gg.tensor(x), gg.tensor(w), **kw).shape)
    up = rng.standard_normal(out_shape).astype(dtype)
    rows_calls.clear()
    expect = _im2col_run(monkeypatch, x, w, b, up, **kw)
    assert not rows_calls
    got = _run(x, w, b, up, **kw)
    assert len(rows_calls) == 1, "the rows layout was not taken"
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for g, e in zip(got, expect):
        assert g.dtype == dtype and g.shape == e.shape and g.flags.c_contiguous
        np.testing.assert_allclose(g, e, **tol)


def test_rows_layout_first_and_second_derivatives(rows_calls, rng):
    x = gg.tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True)
    w = gg.tensor(rng.standard_normal((2, 3, 3, 2)), requires_grad=True)
    b = gg.tensor(rng.standard_normal(2), requires_grad=True)
    for kw in (dict(padding=1), dict(stride=2, padding=(0, 1))):
        fn = lambda x, w, b: F.conv2d(x, w, b, **kw)  # noqa: E731
        assert gradcheck(fn, (x, w, b))
        assert gradgradcheck(fn, (x, w, b))
    assert rows_calls


def test_rows_layout_makes_only_the_gradients_asked_for(rows_calls, rng):
    _check_only_the_gradients_asked_for(rng)
    assert len(rows_calls) == 4  # one gather per forward; no backward gathers again


def test_rows_layout_only_where_it_applies():
    """Enough input channels, a GEMM under one BLAS thread's size, the CPU kernels, float32/float64; Winograd's
    cases stay Winograd's."""
    geo = kconv.ConvGeometry((3, 3), (1, 1), (1, 1, 1, 1))

    ctx = _ctx()

    def layout(x_shape, out_c, geometry=geo, dtype=np.float32):
        x = np.zeros(x_shape, dtype)
        return conv_ops.conv_layout(ctx, x, np.zeros((out_c, x_shape[1], *geometry.kernel), dtype), geometry)

    assert layout((64, 16, 4, 4), 32) == "rows"  # the digits CNN's second convolution
    assert layout((64, 1, 8, 8), 16) == "columns"  # its first: one channel
    assert layout((64, 15, 4, 4), 32) == "columns"
    assert layout((8, 256, 7, 7), 256) == "columns"  # 58M multiply-adds: two BLAS threads
    assert layout((64, 16, 8, 8), 32) == "winograd"
    assert layout((64, 16, 8, 8), 32, kconv.ConvGeometry((3, 3), (2, 2), (1, 1, 1, 1))) == "rows"
    assert layout((64, 16, 4, 4), 32, dtype=np.float16) == "columns"
    with fused(False):
        assert layout((64, 16, 4, 4), 32) == "columns"
    ctx = _ctx("cuda")  # a GPU keeps the columns layout
    assert layout((64, 16, 4, 4), 32) == "columns"


@pytest.mark.torch
def test_rows_layout_against_torch_float32(rng):
    """The digits CNN's second convolution at the default thresholds, float32: values and all three gradients."""
    assert conv_ops.use_rows(_ctx(), np.zeros((64, 16, 4, 4), np.float32), np.zeros((32, 16, 3, 3), np.float32),
                             kconv.ConvGeometry((3, 3), (1, 1), (1, 1, 1, 1)))
    _check_against_torch(rng, (64, 16, 4, 4), 32)
