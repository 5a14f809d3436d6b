"""nn.utils.weight_norm and spectral_norm (the hook-based forms): parameters, recomputed weights,
gradients and removal, against closed forms and against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


def test_weight_norm_reparameterises_and_removes():
    layer = nn.Linear(4, 3)
    before = layer.weight.detach().numpy().copy()
    nn.utils.weight_norm(layer)
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_g", "weight_v"]
    np.testing.assert_allclose(layer.weight_g.detach().numpy()[:, 0], np.linalg.norm(before, axis=1), rtol=1e-6)
    with gg.no_grad():
        layer.weight_g.mul_(2.0)
    layer(gg.randn(2, 4)).sum().backward()  # the pre-hook recomputes weight = g v / |v|
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * before, rtol=1e-6)
    assert layer.weight_g.grad is not None and layer.weight_v.grad is not None
    nn.utils.remove_weight_norm(layer)
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * before, rtol=1e-6)
    whole = nn.utils.weight_norm(nn.Linear(3, 2), dim=None)
    assert whole.weight_g.shape == ()
    with pytest.raises(RuntimeError, match="two weight_norm"):
        nn.utils.weight_norm(whole, dim=None)
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_weight_norm(nn.Linear(2, 2))


def test_spectral_norm_divides_by_the_top_singular_value():
    gg.manual_seed(0)
    layer = nn.utils.spectral_norm(nn.Linear(6, 4))
    assert [n for n, _ in layer.named_buffers()] == ["weight_u", "weight_v"]
    for _ in range(30):
        layer(gg.randn(1, 6))
    assert np.linalg.svd(layer.weight.detach().numpy(), compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    layer.eval()
    u = layer.weight_u.numpy().copy()
    layer(gg.randn(1, 6))
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)  # no power iteration outside training
    nn.utils.remove_spectral_norm(layer)
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight"]


@pytest.mark.torch
def test_weight_norm_and_spectral_norm_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w, b, x = rng.standard_normal((3, 5)), rng.standard_normal(3), rng.standard_normal((4, 5))
    for dim in (0, 1, None):
        ours, theirs = nn.Linear(5, 3).double(), torch.nn.Linear(5, 3).double()
        for lib, layer in ((gg, ours), (torch, theirs)):
            with lib.no_grad():
                layer.weight.copy_(lib.tensor(w))
                layer.bias.copy_(lib.tensor(b))
        nn.utils.weight_norm(ours, dim=dim)
        torch.nn.utils.weight_norm(theirs, dim=dim)
        ours(gg.tensor(x)).pow(2).sum().backward()
        theirs(torch.tensor(x)).pow(2).sum().backward()
        for name in ("weight_g", "weight_v"):
            np.testing.assert_allclose(getattr(ours, name).grad.numpy(), getattr(theirs, name).grad.numpy(), rtol=1e-10)
    ours, theirs = nn.Linear(5, 3).double(), torch.nn.Linear(5, 3).double()
    for lib, layer in ((gg, ours), (torch, theirs)):
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
    nn.utils.spectral_norm(ours)
    torch.nn.utils.spectral_norm(theirs)
    with gg.no_grad():  # the same starting vectors
        ours.weight_u.copy_(gg.tensor(theirs.weight_u.numpy()))
        ours.weight_v.copy_(gg.tensor(theirs.weight_v.numpy()))
    ours(gg.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-9)


def test_the_parametrization_loads_what_the_hook_based_weight_norm_saved():
    old = nn.utils.weight_norm(nn.Linear(4, 3))
    new = nn.utils.parametrizations.weight_norm(nn.Linear(4, 3))
    new.load_state_dict(old.state_dict())
    x = gg.randn(2, 4)
    np.testing.assert_allclose(new(x).detach().numpy(), old(x).detach().numpy(), rtol=1e-6)
