"""Dropout variants: mask rates and scaling, whole channels in the channel-wise forms, alpha dropout
keeping a standard normal's mean and variance, eval as the identity, inplace, seeding, the modules and
PyTorch's errors and warnings."""
from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck

CHANNEL = [
    ("dropout1d", F.dropout1d, (40, 50, 7)),
    ("dropout2d", F.dropout2d, (40, 50, 3, 2)),
    ("dropout3d", F.dropout3d, (40, 50, 2, 2, 3)),
]


@pytest.mark.parametrize("name,fn,shape", CHANNEL, ids=[c[0] for c in CHANNEL])
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_channel_dropout_drops_whole_channels_at_rate_p(name, fn, shape, p):
    gg.manual_seed(3)
    x = gg.tensor(np.random.default_rng(0).uniform(1, 2, size=shape))
    out = fn(x, p).numpy()
    flat = out.reshape(shape[0], shape[1], -1)
    dropped = (flat == 0).all(axis=2)
    # Each (sample, channel) is either all zero or all x / (1 - p).
    kept = ~dropped
    np.testing.assert_allclose(flat[kept], x.numpy().reshape(flat.shape)[kept] / (1 - p), rtol=1e-6)
    assert not (flat == 0).any(axis=2)[kept].any()
    rate = dropped.mean()
    sigma = np.sqrt(p * (1 - p) / dropped.size)
    assert abs(rate - p) < 5 * sigma, (rate, p)


def test_unbatched_channel_dropout_draws_per_channel():
    gg.manual_seed(0)
    out = F.dropout1d(gg.ones(300, 4), 0.5).numpy()  # (C, L): one draw per row
    assert set(np.unique(out.std(axis=1))) == {0.0}
    assert 0.35 < (out[:, 0] == 0).mean() < 0.65
    out3 = F.dropout3d(gg.ones(300, 2, 2, 2), 0.5).numpy()  # (C, D, H, W)
    assert set(np.unique(out3.reshape(300, -1).std(axis=1))) == {0.0}


def test_dropout_statistics_and_scaling():
    gg.manual_seed(1)
    out = F.alpha_dropout(gg.ones(10), 0.5)  # PyTorch's default training=False: identity
    np.testing.assert_array_equal(out.numpy(), np.ones(10))
    for p in (0.1, 0.5):
        x = gg.randn(400, 500, dtype=gg.float64)
        for fn in (F.alpha_dropout, F.feature_alpha_dropout):
            y = fn(x.reshape(400, 500, 1) if fn is F.feature_alpha_dropout else x, p, training=True).numpy().ravel()
            # Alpha dropout keeps a standard normal input at mean 0 and variance 1 (200k samples: se ~0.003).
            assert abs(y.mean()) < 0.02, (fn.__name__, p, y.mean())
            assert abs(y.var() - 1.0) < 0.03, (fn.__name__, p, y.var())


def test_alpha_dropout_values_by_hand():
    gg.manual_seed(5)
    p, alpha = 0.3, 1.7580993408473766
    a = (alpha**2 * p + 1) ** -0.5 * (1 - p) ** -0.5
    x = gg.randn(50, 60, dtype=gg.float64)
    y = F.alpha_dropout(x, p, True).numpy()
    xs = x.numpy()
    dropped_value = a * (-alpha) + alpha * a * p
    kept = ~np.isclose(y, dropped_value)
    np.testing.assert_allclose(y[kept], a * xs[kept] + alpha * a * p, rtol=1e-12)
    assert abs((~kept).mean() - p) < 0.03


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout])
def test_eval_and_p_zero_are_identity_and_p_one_zeroes(fn):
    shape = {F.dropout1d: (2, 3, 4), F.dropout2d: (2, 3, 4, 2)}.get(fn, (2, 3, 2, 2, 2))
    x = gg.randn(*shape)
    assert fn(x, 0.5, training=False) is x
    assert fn(x, 0.0, training=True) is x
    np.testing.assert_array_equal(fn(x, 1.0, training=True).numpy(), np.zeros(shape))


def test_seeded_masks_repeat():
    x = gg.ones(8, 9, 3, 3)
    gg.manual_seed(11)
    a = F.dropout2d(x).numpy()
    gg.manual_seed(11)
    np.testing.assert_array_equal(F.dropout2d(x).numpy(), a)


@pytest.mark.parametrize("fn", [F.dropout1d, F.alpha_dropout, F.feature_alpha_dropout])
def test_inplace_writes_into_input_and_keeps_gradients(fn):
    leaf = gg.randn(4, 5, 3, requires_grad=True)
    h = leaf * 1.0
    gg.manual_seed(2)
    out = fn(h, 0.5, training=True, inplace=True)
    assert out is h
    gg.manual_seed(2)
    want = fn(leaf.detach(), 0.5, training=True)
    np.testing.assert_allclose(h.detach().numpy(), want.numpy(), rtol=1e-6)
    out.sum().backward()
    # d out / d x is the scale where kept and zero where dropped.
    alpha = 1.7580993408473766
    kept_scale = 2.0 if fn is F.dropout1d else ((alpha**2 * 0.5 + 1) * 0.5) ** -0.5
    np.testing.assert_allclose(np.unique(leaf.grad.numpy()), [0.0, kept_scale], rtol=1e-6)


def test_gradients_float64():
    for fn, shape in ((lambda x: F.dropout2d(x, 0.4), (3, 4, 2, 3)), (lambda x: F.alpha_dropout(x, 0.3, True), (3, 5)),
                      (lambda x: F.feature_alpha_dropout(x, 0.3, True), (3, 4, 2)), (lambda x: F.dropout1d(x, 0.4), (3, 4, 5))):
        x = gg.randn(*shape, dtype=gg.float64, requires_grad=True)

        def seeded(x, fn=fn):
            gg.manual_seed(4)  # the same mask at every evaluation, so finite differences see one function
            return fn(x)

        assert gradcheck(seeded, [x])
        assert gradgradcheck(seeded, [x])


def test_modules_training_eval_and_repr():
    gg.manual_seed(0)
    x = gg.ones(6, 7, 4, 4)
    for cls in (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        m = cls(0.4)
        assert repr(m) == f"{cls.__name__}(p=0.4, inplace=False)"
        data = x.reshape(6, 7, 16) if cls is nn.Dropout1d else x
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # every input here has a rank the layer takes without warning
            trained = m(data)
        assert not np.array_equal(trained.numpy(), data.numpy())
        m.eval()
        assert m(data) is data
    d2 = nn.Dropout2d(0.5, inplace=True)
    h = gg.ones(3, 4, 2, 2)
    assert d2(h) is h
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout3d(1.5)


def test_errors_and_warnings():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        F.dropout2d(gg.ones(2, 2, 2, 2), -0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.alpha_dropout(gg.ones(2), 1.1)
    with pytest.raises(RuntimeError, match="dropout1d.*2D or 3D"):
        F.dropout1d(gg.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="dropout2d.*3D input"):
        F.dropout2d(gg.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="dropout2d.*5-D input"):
        F.dropout2d(gg.ones(2, 3, 4, 1, 1))
    with pytest.warns(UserWarning, match="dropout3d.*3-D input"):
        F.dropout3d(gg.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match="feature_alpha_dropout.*at least 2 dimensions"):
        F.feature_alpha_dropout(gg.ones(5), 0.5, True)


@pytest.mark.torch
def test_eval_outputs_and_rates_agree_with_torch():
    torch = pytest.importorskip("torch")
    for name in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        ours, theirs = getattr(nn, name)(0.25), getattr(torch.nn, name)(0.25)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    # The same kept fraction and the same values where kept (masks differ: different generators).
    x = np.random.default_rng(0).uniform(1, 2, size=(300, 40, 3))
    ours = F.dropout1d(gg.tensor(x), 0.3).numpy()
    theirs = torch.nn.functional.dropout1d(torch.tensor(x), 0.3).numpy()
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.03
    np.testing.assert_allclose(np.unique(ours[ours != 0] / x[ours != 0]), np.unique(theirs[theirs != 0] / x[theirs != 0]), rtol=1e-12)
    x = np.random.default_rng(1).normal(size=(300, 400))
    ours = F.alpha_dropout(gg.tensor(x), 0.3, True).numpy()
    theirs = torch.nn.functional.alpha_dropout(torch.tensor(x), 0.3, True).numpy()
    # Dropped elements take one value; it must be the same one.
    assert Counter(ours.round(10).ravel()).most_common(1)[0][0] == Counter(theirs.round(10).ravel()).most_common(1)[0][0]
