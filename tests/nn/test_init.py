"""nn.init: distributions (moments of large samples, bounds), gains and fans, and default layer inits."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn import init


def _sample(fn, shape=(400, 500), **kwargs):
    t = gg.empty(*shape)
    assert fn(t, **kwargs) is t
    return t.numpy()


def test_uniform_and_normal_moments():
    gg.manual_seed(0)
    u = _sample(init.uniform_, a=-2.0, b=3.0)
    assert u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 0.02 and abs(u.std() - 5 / math.sqrt(12)) < 0.02
    n = _sample(init.normal_, mean=1.5, std=0.5)
    assert abs(n.mean() - 1.5) < 0.005 and abs(n.std() - 0.5) < 0.005
    t = _sample(init.trunc_normal_, std=1.0, a=-1.0, b=1.0)
    assert t.min() >= -1.0 and t.max() <= 1.0


@pytest.mark.parametrize(
    "fn,kwargs,kind,scale",
    [
        (init.xavier_uniform_, {"gain": 2.0}, "uniform", 2.0 * math.sqrt(6 / (500 + 400))),
        (init.xavier_normal_, {}, "normal", math.sqrt(2 / (500 + 400))),
        (init.kaiming_uniform_, {"a": math.sqrt(5)}, "uniform", 1 / math.sqrt(500)),
        (init.kaiming_uniform_, {"nonlinearity": "relu", "mode": "fan_out"}, "uniform", math.sqrt(2) * math.sqrt(3 / 400)),
        (init.kaiming_normal_, {"nonlinearity": "relu"}, "normal", math.sqrt(2) / math.sqrt(500)),
    ],
)
def test_scaled_initialisers(fn, kwargs, kind, scale):
    gg.manual_seed(1)
    x = _sample(fn, **kwargs)
    if kind == "uniform":  # U(-b, b): bounded by b, std b / sqrt(3)
        assert np.abs(x).max() <= scale
        assert np.abs(x).max() > 0.99 * scale
        assert abs(x.std() - scale / math.sqrt(3)) < 0.01 * scale
    else:
        assert abs(x.std() - scale) < 0.01 * scale
    assert abs(x.mean()) < 0.01 * scale


def test_constant_fills_gain_and_fans():
    t = gg.empty(2, 3)
    np.testing.assert_array_equal(init.constant_(t, 0.25).numpy(), np.full((2, 3), 0.25))
    np.testing.assert_array_equal(init.ones_(t).numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(init.zeros_(t).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(2, 3))
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    assert init._calculate_fan_in_and_fan_out(gg.empty(8, 3, 5, 2)) == (30, 80)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(gg.empty(5))


def test_init_on_parameter_keeps_leaf_and_bumps_version():
    p = nn.Parameter(gg.zeros(3, 4))
    v = p._version
    init.normal_(p)
    assert p.is_leaf and p.requires_grad and p._version == v + 1
    assert p.detach().numpy().std() > 0.1


def test_default_layer_initialisations():
    gg.manual_seed(0)
    lin = nn.Linear(200, 300)
    bound = 1 / math.sqrt(200)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound
    conv = nn.Conv2d(4, 8, 3, groups=2)
    cb = 1 / math.sqrt(2 * 9)
    assert np.abs(conv.weight.detach().numpy()).max() <= cb and np.abs(conv.weight.detach().numpy()).max() > 0.9 * cb
    assert np.abs(conv.bias.detach().numpy()).max() <= cb
    emb = nn.Embedding(300, 200)
    e = emb.weight.detach().numpy()
    assert abs(e.mean()) < 0.01 and abs(e.std() - 1) < 0.01
    lstm = nn.LSTM(5, 16)
    for p in lstm.parameters():
        assert np.abs(p.detach().numpy()).max() <= 0.25
    bn, ln = nn.BatchNorm2d(3), nn.LayerNorm(3)
    for m in (bn, ln):
        np.testing.assert_array_equal(m.weight.detach().numpy(), 1)
        np.testing.assert_array_equal(m.bias.detach().numpy(), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3), (6, 6)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = gg.empty(*shape)
    init.orthogonal_(w, gain=2.0)
    flat = w.numpy().reshape(shape[0], -1) / 2.0
    small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-5)


def test_dirac_passes_channels_through_a_convolution():
    w = gg.empty(3, 3, 3, 3)
    init.dirac_(w)
    x = gg.randn(1, 3, 5, 5)
    np.testing.assert_allclose(gg.nn.functional.conv2d(x, w, padding=1).numpy(), x.numpy(), atol=1e-6)


def test_sparse_zeroes_the_asked_share_of_each_column():
    w = gg.empty(10, 4)
    init.sparse_(w, sparsity=0.3)
    assert all((w.numpy()[:, c] == 0).sum() >= 3 for c in range(4))


def test_private_no_grad_fills_are_the_public_ones():
    """torch.nn.init's _no_grad_* helpers, called directly by libraries, fill as the public functions
    (same draws for the same seed) and leave a leaf that requires grad a leaf."""
    w = nn.Parameter(gg.zeros(3, 4))
    gg.manual_seed(0)
    init._no_grad_uniform_(w, -0.5, 0.5)
    gg.manual_seed(0)
    assert gg.equal(w, init.uniform_(gg.zeros(3, 4), -0.5, 0.5)) and w.is_leaf and w.grad_fn is None
    gg.manual_seed(1)
    init._no_grad_normal_(w, 2.0, 0.1)
    gg.manual_seed(1)
    assert gg.equal(w, init.normal_(gg.zeros(3, 4), 2.0, 0.1))
    init._no_grad_trunc_normal_(w, 0.0, 1.0, -0.2, 0.2)
    assert float(w.abs().max()) <= 0.2
    assert init._no_grad_fill_(w, 1.5).tolist() == [[1.5] * 4] * 3
    assert init._no_grad_zero_(w).abs().sum().item() == 0.0


def test_private_no_grad_fills_exist_in_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("_no_grad_uniform_", "_no_grad_normal_", "_no_grad_trunc_normal_", "_no_grad_fill_", "_no_grad_zero_"):
        assert callable(getattr(torch.nn.init, name)) and callable(getattr(init, name))
