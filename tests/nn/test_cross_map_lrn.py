"""nn.CrossMapLRN2d (gpugrad/nn/normalization.py): values against a NumPy float64 reference of the window
PyTorch's forward sums over, first and second derivatives against finite differences, how it differs
from LocalResponseNorm, the module's surface; and (marked torch) forward values beside PyTorch's, and
gradients beside finite differences of PyTorch's forward and, where that is its derivative, PyTorch's
own backward."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


def reference(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    """x (k + alpha / size * s)^-beta, s over the channels within int((size - 1) / 2) of c, and channel 0
    always: the window PyTorch's running sum covers (it adds channel c + reach and drops channel
    c - reach - 1 only from channel 1 on, so channel 0 is never dropped)."""
    channels = x.shape[1]
    reach = int((size - 1) / 2)
    scale = np.zeros_like(x)
    for c in range(channels):
        window = {j for j in range(channels) if abs(c - j) <= reach} | {0}
        scale[:, c] = sum(x[:, j] ** 2 for j in window)
    return x * (k + alpha / size * scale) ** -beta


CASES = [(size, channels) for size in (1, 2, 3, 4, 5, 6) for channels in (1, 2, 3, 5, 9)]


@pytest.mark.parametrize(("size", "channels"), CASES)
def test_values_match_the_reference(rng, size, channels):
    x = rng.standard_normal((2, channels, 3, 4)) * 2
    out = nn.CrossMapLRN2d(size, alpha=0.4, beta=0.7, k=1.3)(gg.tensor(x))
    np.testing.assert_allclose(out.numpy(), reference(x, size, 0.4, 0.7, 1.3), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize(("size", "channels"), [(1, 3), (2, 4), (3, 5), (4, 6), (5, 2)])
def test_first_and_second_derivatives(rng, size, channels):
    layer = nn.CrossMapLRN2d(size, alpha=0.5, beta=0.6, k=1.2)
    x = gg.tensor(rng.standard_normal((2, channels, 2, 3)), requires_grad=True)
    assert gg.autograd.gradcheck(layer, (x,))
    assert gg.autograd.gradgradcheck(layer, (x,))


def test_where_it_is_and_is_not_local_response_norm(rng):
    x = gg.tensor(rng.standard_normal((2, 7, 3, 3)))
    # An odd size over channels all within reach of channel 0: the same window, the same values.
    np.testing.assert_allclose(nn.CrossMapLRN2d(5)(x[:, :3]).numpy(), nn.LocalResponseNorm(5)(x[:, :3]).numpy(),
                               rtol=1e-6)
    # More channels: channel 0 stays in the later channels' sums; an even size: a window one narrower.
    for size in (5, 4):
        ours, theirs = nn.CrossMapLRN2d(size, alpha=1.0)(x).numpy(), nn.LocalResponseNorm(size, alpha=1.0)(x).numpy()
        assert not np.allclose(ours, theirs, rtol=1e-3)


def test_module_surface():
    layer = nn.CrossMapLRN2d(3)
    assert (layer.size, layer.alpha, layer.beta, layer.k) == (3, 1e-4, 0.75, 1)
    assert repr(layer) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)" and list(layer.parameters()) == []
    from gpugrad.nn.modules.normalization import CrossMapLRN2d

    assert CrossMapLRN2d is nn.CrossMapLRN2d
    assert layer(gg.ones(1, 2, 2, 2)).dtype is gg.float32
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D instead"):
        layer(gg.ones(2, 2, 2))


# Beside PyTorch -----------------------------------------------------------------------------------------


def _finite_difference_grad(fn, x: np.ndarray, cotangent: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    flat = grad.reshape(-1)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h
        step = step.reshape(x.shape)
        flat[i] = ((fn(x + step) - fn(x - step)) * cotangent).sum() / (2 * h)
    return grad


@pytest.mark.torch
@pytest.mark.parametrize(("size", "channels"), CASES)
def test_forward_matches_pytorchs(rng, size, channels):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, channels, 3, 4)) * 2
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 2e-6)):
        ours = nn.CrossMapLRN2d(size, alpha=0.4, beta=0.7, k=1.3)(gg.tensor(x.astype(dtype))).numpy()
        theirs = torch.nn.CrossMapLRN2d(size, alpha=0.4, beta=0.7, k=1.3)(torch.tensor(x.astype(dtype))).numpy()
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


@pytest.mark.torch
@pytest.mark.parametrize(("size", "channels"), [(2, 1), (3, 1), (5, 1), (2, 3), (3, 4), (4, 6), (5, 8), (6, 3)])
def test_gradients_are_the_derivative_of_pytorchs_forward(rng, size, channels):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, channels, 2, 2))
    cotangent = rng.standard_normal(x.shape)
    theirs_layer = torch.nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=1.0)

    def torch_forward(v):
        with torch.no_grad():
            return theirs_layer(torch.tensor(v)).numpy()

    expected = _finite_difference_grad(torch_forward, x, cotangent)
    xg = gg.tensor(x, requires_grad=True)
    (nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=1.0)(xg) * gg.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), expected, rtol=1e-6, atol=1e-7)
    # PyTorch's hand-written backward is its forward's derivative only for some shapes (one channel,
    # say); there ours equals it. (Elsewhere its window is one channel off: see _cross_map_lrn2d.)
    xt = torch.tensor(x, requires_grad=True)
    (theirs_layer(xt) * torch.tensor(cotangent)).sum().backward()
    if np.allclose(xt.grad.numpy(), expected, rtol=1e-6, atol=1e-7):
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert channels > 1  # with one channel there is no window to be off
