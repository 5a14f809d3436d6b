"""gg.nn.grad (torch.nn.grad): the input and weight gradients of conv1d/2d/3d given grad_output, against
NumPy references (direct loops over the convolution's sums) and identities, and PyTorch's where installed."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.nn import grad as G

# (dims, N, C_in, C_out, kernel, stride, padding, dilation, groups, length)
CASES = [
    (1, 2, 4, 6, 3, 1, 0, 1, 1, 9),
    (1, 2, 4, 6, 3, 2, 1, 2, 2, 11),
    (2, 2, 3, 4, 3, 1, 1, 1, 1, 6),
    (2, 1, 4, 6, 2, 2, 0, 1, 2, 7),
    (2, 2, 3, 3, 3, 1, 2, 2, 3, 8),
    (3, 1, 2, 4, 2, 1, 1, 1, 1, 4),
    (3, 2, 4, 4, 3, 2, 1, 1, 2, 5),
]


def _reference_conv_grads(x: np.ndarray, w: np.ndarray, gy: np.ndarray, stride, padding, dilation, groups):
    """d/dx and d/dw of sum(gy * conv(x, w)), by looping over the convolution's sums in float64."""
    dims = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * dims)
    gx, gw = np.zeros_like(xp), np.zeros_like(w)
    c_out, c_in_g = w.shape[:2]
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for pos in itertools.product(*[range(s) for s in gy.shape[2:]]):
            for tap in itertools.product(*[range(k) for k in w.shape[2:]]):
                where = tuple(p * stride + t * dilation for p, t in zip(pos, tap))
                channels = slice(g * c_in_g, (g + 1) * c_in_g)
                upstream = gy[(slice(None), o) + pos]  # (N,)
                gw[(o, slice(None)) + tap] += np.einsum("n,nc->c", upstream, xp[(slice(None), channels) + where])
                gx[(slice(None), channels) + where] += upstream[:, None] * w[(o, slice(None)) + tap][None, :]
    inner = tuple(slice(padding, padding + s) for s in x.shape[2:])
    return gx[(slice(None), slice(None)) + inner], gw


def _case(rng, dims, n, c_in, c_out, k, stride, padding, dilation, groups, length):
    x = rng.standard_normal((n, c_in) + (length,) * dims)
    w = rng.standard_normal((c_out, c_in // groups) + (k,) * dims)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
    out_shape = tuple(conv(gg.tensor(x), gg.tensor(w), None, stride, padding, dilation, groups).shape)
    return x, w, rng.standard_normal(out_shape)


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_a_direct_reference(case, rng):
    dims, *_, stride, padding, dilation, groups, _length = case
    x, w, gy = _case(rng, *case)
    want_x, want_w = _reference_conv_grads(x, w, gy, stride, padding, dilation, groups)
    got_x = getattr(G, f"conv{dims}d_input")(x.shape, gg.tensor(w), gg.tensor(gy), stride, padding, dilation, groups)
    got_w = getattr(G, f"conv{dims}d_weight")(gg.tensor(x), w.shape, gg.tensor(gy), stride, padding, dilation, groups)
    assert got_x.dtype is gg.float64 and tuple(got_x.shape) == x.shape and tuple(got_w.shape) == w.shape
    np.testing.assert_allclose(got_x.numpy(), want_x, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got_w.numpy(), want_w, rtol=1e-10, atol=1e-10)


def test_they_are_what_backward_leaves_in_grad(rng):
    x = gg.tensor(rng.standard_normal((2, 3, 7, 7)), requires_grad=True)
    w = gg.tensor(rng.standard_normal((5, 3, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, None, stride=2, padding=1)
    gy = gg.tensor(rng.standard_normal(tuple(y.shape)))
    (y * gy).sum().backward()
    np.testing.assert_allclose(G.conv2d_input(x.shape, w.detach(), gy, stride=2, padding=1).numpy(), x.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(G.conv2d_weight(x.detach(), w.shape, gy, stride=2, padding=1).numpy(), w.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


def test_adjoint_identity_and_float32(rng):
    # <conv(x, w), gy> = <x, conv_input(gy)> = <w, conv_weight(x, gy)>
    x = rng.standard_normal((2, 4, 10)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3)).astype(np.float32)
    y = F.conv1d(gg.tensor(x), gg.tensor(w), None, 1, 1, 1, 2).numpy()
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = G.conv1d_input(x.shape, gg.tensor(w), gg.tensor(gy), 1, 1, 1, 2)
    gw = G.conv1d_weight(gg.tensor(x), w.shape, gg.tensor(gy), 1, 1, 1, 2)
    assert gx.dtype is gg.float32 and gw.dtype is gg.float32
    inner = float((y.astype(np.float64) * gy).sum())
    assert inner == pytest.approx(float((x.astype(np.float64) * gx.numpy()).sum()), rel=1e-4)
    assert inner == pytest.approx(float((w.astype(np.float64) * gw.numpy()).sum()), rel=1e-4)


def test_results_stay_differentiable_in_the_tensors_given(rng):
    w = gg.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    gy = gg.tensor(rng.standard_normal((1, 3, 3, 3)), requires_grad=True)
    assert gg.autograd.gradcheck(lambda w, gy: G.conv2d_input((1, 2, 4, 4), w, gy), (w, gy))
    x = gg.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    assert gg.autograd.gradcheck(lambda x, gy: G.conv2d_weight(x, (3, 2, 2, 2), gy), (x, gy))
    with gg.no_grad():
        assert not G.conv2d_input((1, 2, 4, 4), w, gy).requires_grad
    assert not G.conv2d_input((1, 2, 4, 4), w.detach(), gy.detach()).requires_grad


def test_shape_errors(rng):
    w = gg.randn(3, 2, 3)
    with pytest.raises(RuntimeError, match="3-D"):
        G.conv1d_input((1, 2, 8), w, gg.randn(3, 6))
    with pytest.raises(RuntimeError, match="size of 3 dims"):
        G.conv1d_input((2, 8), w, gg.randn(1, 3, 6))
    with pytest.raises(TypeError, match="Tensor"):
        G.conv2d_weight(np.zeros((1, 2, 4, 4)), (3, 2, 2, 2), gg.randn(1, 3, 3, 3))
    with pytest.raises(RuntimeError):
        G.conv1d_input((1, 2, 8), w, gg.randn(1, 3, 5))  # grad_output of the wrong length


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES)
def test_match_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    import torch.nn.grad as theirs

    dims, *_, stride, padding, dilation, groups, _length = case
    x, w, gy = _case(rng, *case)
    for cast in (np.float64, np.float32):
        xs, ws, gys = x.astype(cast), w.astype(cast), gy.astype(cast)
        tol = 1e-12 if cast is np.float64 else 1e-4
        mine = getattr(G, f"conv{dims}d_input")(x.shape, gg.tensor(ws), gg.tensor(gys), stride, padding, dilation, groups)
        want = getattr(theirs, f"conv{dims}d_input")(x.shape, torch.tensor(ws), torch.tensor(gys), stride, padding,
                                                     dilation, groups)
        np.testing.assert_allclose(mine.numpy(), want.numpy(), rtol=tol, atol=tol)
        mine = getattr(G, f"conv{dims}d_weight")(gg.tensor(xs), w.shape, gg.tensor(gys), stride, padding, dilation, groups)
        want = getattr(theirs, f"conv{dims}d_weight")(torch.tensor(xs), w.shape, torch.tensor(gys), stride, padding,
                                                      dilation, groups)
        np.testing.assert_allclose(mine.numpy(), want.numpy(), rtol=tol, atol=tol)
