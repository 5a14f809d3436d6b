"""Losses against hand-written NumPy formulas and against PyTorch; bad targets raise naming the problem."""
from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.ops.loss import softmax_cross_entropy


def np_log_softmax(x, axis=1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def np_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's definition, written out for (N, C) logits."""
    n, c = x.shape
    logp = np_log_softmax(x)
    w = np.ones(c) if weight is None else weight
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    wt = w[ts] * valid
    rows = (1 - eps) * wt * -logp[np.arange(n), ts] + eps / c * -(logp * w).sum(1) * valid
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / wt.sum()


@pytest.fixture(params=["fused", "composite"])
def xent_path(request, monkeypatch):
    if request.param == "composite":
        monkeypatch.setattr(F, "_fused_cross_entropy", lambda weight: False)
    return request.param


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted,eps,ignore", [(False, 0.0, False), (True, 0.0, True), (True, 0.3, True), (False, 0.1, True)])
def test_cross_entropy_matches_numpy(xent_path, rng, reduction, weighted, eps, ignore):
    x = rng.standard_normal((7, 5)) * 3
    t = rng.integers(0, 5, 7)
    if ignore:
        t[[1, 4]] = -100
    w = rng.uniform(0.2, 2.0, 5) if weighted else None
    got = F.cross_entropy(gg.tensor(x), gg.tensor(t), weight=None if w is None else gg.tensor(w), reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(got.numpy(), np_cross_entropy(x, t, w, -100, reduction, eps), rtol=1e-10)


def test_cross_entropy_float32_and_large_logits(xent_path):
    x = gg.tensor([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])
    loss = F.cross_entropy(x, gg.tensor([1, 2]), reduction="none")
    assert loss.dtype == gg.float32
    np.testing.assert_allclose(loss.numpy(), [1e4, np.log(3)], rtol=1e-6)


def test_cross_entropy_nd_equals_flattened(xent_path, rng):
    x = rng.standard_normal((2, 4, 3, 5))
    t = rng.integers(0, 4, (2, 3, 5))
    t[0, 1, 2] = -100
    flat_x = x.transpose(0, 2, 3, 1).reshape(-1, 4)
    got = F.cross_entropy(gg.tensor(x), gg.tensor(t), reduction="none", label_smoothing=0.2)
    assert got.shape == (2, 3, 5)
    np.testing.assert_allclose(got.numpy().reshape(-1), np_cross_entropy(flat_x, t.reshape(-1), reduction="none", eps=0.2), rtol=1e-10)
    mean = F.cross_entropy(gg.tensor(x), gg.tensor(t))
    np.testing.assert_allclose(mean.item(), np_cross_entropy(flat_x, t.reshape(-1)), rtol=1e-10)


def test_cross_entropy_gradient_is_softmax_minus_onehot(xent_path, rng):
    x = gg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = np.array([2, 0, 1, 1])
    F.cross_entropy(x, gg.tensor(t)).backward()
    p = np.exp(np_log_softmax(x.detach().numpy()))
    np.testing.assert_allclose(x.grad.numpy(), (p - np.eye(3)[t]) / 4, rtol=1e-5, atol=1e-7)


def test_cross_entropy_single_sample():
    x = gg.tensor([0.5, -1.0, 2.0], dtype=gg.float64)
    np.testing.assert_allclose(F.cross_entropy(x, gg.tensor(2)).item(), -np_log_softmax(x.numpy()[None])[0, 2])


def test_nll_and_mse_and_bce_match_numpy(rng):
    logp = np_log_softmax(rng.standard_normal((6, 4)))
    t = np.array([0, 3, -100, 1, 1, 2])
    w = rng.uniform(0.5, 2, 4)
    ts = np.where(t >= 0, t, 0)
    wt = w[ts] * (t >= 0)
    rows = -logp[np.arange(6), ts] * wt
    np.testing.assert_allclose(F.nll_loss(gg.tensor(logp), gg.tensor(t), gg.tensor(w)).item(), rows.sum() / wt.sum())
    np.testing.assert_allclose(F.nll_loss(gg.tensor(logp), gg.tensor(t), reduction="none").numpy(), -logp[np.arange(6), ts] * (t >= 0))

    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(F.mse_loss(gg.tensor(a), gg.tensor(b)).item(), ((a - b) ** 2).mean())
    np.testing.assert_allclose(F.mse_loss(gg.tensor(a), gg.tensor(b), reduction="sum").item(), ((a - b) ** 2).sum())
    np.testing.assert_allclose(F.mse_loss(gg.tensor(a), gg.tensor(b), reduction="none").numpy(), (a - b) ** 2)

    x = rng.standard_normal((3, 4)) * 5
    y = rng.uniform(0, 1, (3, 4))
    wt, pw = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 3, 4)
    sig = 1 / (1 + np.exp(-x))
    ref = -wt * (pw * y * np.log(sig) + (1 - y) * np.log(1 - sig))
    got = F.binary_cross_entropy_with_logits(gg.tensor(x), gg.tensor(y), gg.tensor(wt), reduction="none", pos_weight=gg.tensor(pw))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(gg.tensor(x), gg.tensor(y)).item(), (-(y * np.log(sig) + (1 - y) * np.log(1 - sig))).mean())


def test_bce_with_logits_is_stable_at_huge_logits():
    x = gg.tensor([1e4, -1e4, 50.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, gg.tensor([0.0, 1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1e4, 1e4, 0.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0], atol=1e-6)


def test_loss_modules_wrap_functional(rng):
    x = gg.tensor(rng.standard_normal((5, 3)), dtype=gg.float32)
    t = gg.tensor([0, 2, 1, 1, -100])
    w = gg.tensor([1.0, 2.0, 0.5])
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(weight=w, reduction="sum", label_smoothing=0.1)(x, t).item(),
        F.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.1).item(),
    )
    np.testing.assert_allclose(nn.NLLLoss()(x.log_softmax(1), t).item(), F.cross_entropy(x, t).item(), rtol=1e-6)
    assert nn.MSELoss(reduction="none")(x, x * 2).shape == (5, 3)
    crit = nn.CrossEntropyLoss(weight=w)
    assert "weight" in crit.state_dict()
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


@pytest.mark.parametrize(
    "target,error,match",
    [
        (gg.tensor([0.0, 1.0, 2.0]), gg.DTypeError, "int64"),
        (gg.tensor([0, 5, 1]), IndexError, "class index 5"),
        (gg.tensor([0, -2, 1]), IndexError, "negative class index -2"),
        (gg.tensor([0, 1]), gg.ShapeError, "batch_size"),
        (gg.tensor([[0, 1, 2]]), gg.ShapeError, "batch_size"),
    ],
)
def test_cross_entropy_bad_targets(target, error, match):
    x = gg.randn(3, 4)
    with pytest.raises(error, match=match):
        F.cross_entropy(x, target)
    with pytest.raises(error, match=match):
        F.nll_loss(x, target)


def test_cross_entropy_bad_arguments():
    x = gg.randn(3, 4)
    t = gg.tensor([0, 1, 2])
    with pytest.raises(gg.ShapeError, match="weight must have shape"):
        F.cross_entropy(x, t, weight=gg.ones(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, t, reduction="avg")
    with pytest.raises(gg.ShapeError, match="target size"):
        F.binary_cross_entropy_with_logits(x, gg.ones(3))


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_losses_match_torch(xent_path, rng, reduction):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = rng.standard_normal((6, 5, 3))
    t = rng.integers(0, 5, (6, 3))
    t[2, 1] = t[4, 0] = 7  # ignore_index 7
    w = rng.uniform(0.3, 2.0, 5)
    for eps in (0.0, 0.25):
        ours_x = gg.tensor(x, requires_grad=True)
        theirs_x = torch.tensor(x, requires_grad=True)
        ours = F.cross_entropy(ours_x, gg.tensor(t), gg.tensor(w), ignore_index=7, reduction=reduction, label_smoothing=eps)
        theirs = tF.cross_entropy(theirs_x, torch.tensor(t), torch.tensor(w), ignore_index=7, reduction=reduction, label_smoothing=eps)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
        u = rng.standard_normal(ours.shape)
        ours.backward(gg.tensor(u))
        theirs.backward(torch.tensor(u))
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-12)

    logp = np_log_softmax(x)
    np.testing.assert_allclose(
        F.nll_loss(gg.tensor(logp), gg.tensor(t), gg.tensor(w), ignore_index=7, reduction=reduction).numpy(),
        tF.nll_loss(torch.tensor(logp), torch.tensor(t), torch.tensor(w), ignore_index=7, reduction=reduction).numpy(),
        rtol=1e-10,
    )
    a, b = rng.standard_normal((4, 3)) * 4, rng.uniform(0, 1, (4, 3))
    pw, wt = rng.uniform(0.5, 3, 3), rng.uniform(0.5, 2, 3)
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(gg.tensor(a), gg.tensor(b), gg.tensor(wt), reduction=reduction, pos_weight=gg.tensor(pw)).numpy(),
        tF.binary_cross_entropy_with_logits(torch.tensor(a), torch.tensor(b), torch.tensor(wt), reduction=reduction, pos_weight=torch.tensor(pw)).numpy(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        F.mse_loss(gg.tensor(a), gg.tensor(b), reduction=reduction).numpy(),
        tF.mse_loss(torch.tensor(a), torch.tensor(b), reduction=reduction).numpy(),
        rtol=1e-12,
    )


# The fused op's backward: a plain backward scales the kernel's d loss / d logits, create_graph=True takes
# the composite path. Both must give the same gradient, and the second order must stay exact.


def np_cross_entropy_grad(x, t, weight=None, ignore_index=-100, eps=0.0):
    """d loss_i / d x_i of np_cross_entropy's rows: (1-eps) w_t (p - onehot) + eps/C (sum(w) p - w), 0 if ignored."""
    c = x.shape[1]
    p = np.exp(np_log_softmax(x))
    w = np.ones(c) if weight is None else weight
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    g = (1 - eps) * w[ts][:, None] * (p - np.eye(c)[ts]) + eps / c * (w.sum() * p - w)
    return g * valid[:, None]


@pytest.fixture(params=["fused", "reference"])
def xent_impl(request, monkeypatch):
    """The op with the fused kernel, or with GPUGRAD_FUSED=0 (the kernel module's reference)."""
    if request.param == "fused":
        yield request.param
        return
    import gpugrad.kernels.softmax_xent as kxent

    from gpugrad.kernels import _launch

    calls = []
    real = kxent._reference_rows
    monkeypatch.setattr(kxent, "_reference_rows", lambda *a, **k: calls.append(1) or real(*a, **k))
    with _launch.fused(False):  # what GPUGRAD_FUSED=0 sets at import
        yield request.param
    assert calls, "GPUGRAD_FUSED=0 did not reach the reference implementation"


@pytest.mark.parametrize("weighted,eps,ignore", [(False, 0.0, False), (True, 0.0, True), (True, 0.3, True), (False, 0.1, True)])
def test_xent_op_gradient_with_and_without_create_graph(xent_impl, rng, weighted, eps, ignore):
    x = rng.standard_normal((7, 5)) * 3
    t = rng.integers(0, 5, 7)
    if ignore:
        t[[1, 4]] = -1
    w = rng.uniform(0.2, 2.0, 5) if weighted else None
    u = rng.standard_normal(7)
    expected = np_cross_entropy_grad(x, t, w, -1, eps) * u[:, None]
    target, weight = gg.tensor(t), None if w is None else gg.tensor(w)

    def f(logits):
        return softmax_cross_entropy(logits, target, weight, -1, eps)

    for create_graph in (False, True):
        xt = gg.tensor(x, requires_grad=True)
        (g,) = gg.grad(f(xt), [xt], gg.tensor(u), create_graph=create_graph)
        assert g.requires_grad == create_graph
        np.testing.assert_allclose(g.detach().numpy(), expected, rtol=1e-10, atol=1e-13)
    xt = gg.tensor(x, requires_grad=True)
    assert gg.autograd.gradcheck(f, [xt])
    assert gg.autograd.gradgradcheck(f, [xt])


def test_backward_through_the_xent_op_is_its_backward_op(xent_impl, rng, count_applies):
    x = gg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    t = gg.tensor([0, 3, -100, 1, 2, 2])
    w = gg.tensor([0.5, 1.0, 2.0, 1.5], dtype=gg.float64)
    loss = softmax_cross_entropy(x, t, w, -100, 0.1)
    counts = count_applies()
    loss.backward(gg.ones(6, dtype=gg.float64))
    assert dict(counts) == {"SoftmaxCrossEntropyBackward": 1}
    expected = np_cross_entropy_grad(x.detach().numpy(), t.numpy(), w.numpy(), -100, 0.1)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-13)
    counts.clear()
    (g,) = gg.grad(softmax_cross_entropy(x, t, w, -100, 0.1).sum(), [x], create_graph=True)
    assert counts["SoftmaxCrossEntropyBackward"] == 1 and g.requires_grad  # the same op, recorded
    np.testing.assert_allclose(g.detach().numpy(), expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_step_is_one_op_forward_and_one_backward(reduction, rng, count_applies):
    x = gg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    t = gg.tensor([0, 3, -100, 1, 2, 2])
    counts = count_applies()
    loss = F.cross_entropy(x, t, reduction=reduction)
    assert dict(counts) == {"SoftmaxCrossEntropy": 1}
    counts.clear()
    loss.backward()
    assert dict(counts) == {"SoftmaxCrossEntropyBackward": 1}
    expected = np_cross_entropy_grad(x.detach().numpy(), t.numpy())
    expected /= 5.0 if reduction == "mean" else 1.0  # five rows are not ignored
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, lambda x, t: F.nll_loss(x.log_softmax(dim=1), t)])
def test_mean_loss_with_every_target_ignored_is_nan_with_zero_gradient(xent_path, loss_fn):
    x = gg.randn(3, 4, requires_grad=True)
    with np.errstate(invalid="ignore"):
        loss = loss_fn(x, gg.tensor([-100, -100, -100]))
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4), np.float32))  # as PyTorch


def test_cross_entropy_without_grad_asks_the_kernel_for_no_gradient(monkeypatch, rng):
    import gpugrad.kernels.softmax_xent as kxent

    seen = []
    real = kxent.softmax_cross_entropy
    monkeypatch.setattr(kxent, "softmax_cross_entropy", lambda *a, **k: seen.append(k["need_grad"]) or real(*a, **k))
    x = gg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = gg.tensor([0, 1, 2, 1])
    with gg.no_grad():
        evaluated = F.cross_entropy(x, t)
    trained = F.cross_entropy(x, t)
    assert seen == [False, True]  # evaluation skips the (N, C) gradient pass's writes
    assert evaluated.item() == trained.item()


# The losses beyond cross-entropy: each against PyTorch (values and gradients of every float input, for every
# reduction), then against NumPy formulas (always on), gradgradcheck, modules and errors.


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


def _probabilities(rng, shape):
    p = rng.uniform(0.0, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


def _multilabel_targets(rng, shape):
    """Class lists ending at -1, with a repeat and an entry after the -1 that must not count."""
    t = np.stack([rng.permutation(shape[-1]) for _ in range(int(np.prod(shape[:-1])))]).reshape(shape)
    t[..., 2] = -1
    t[..., 1] = t[..., 0]
    return t


# (id, function name, inputs (array makers; the float ones that are not targets get gradients), keyword
# arguments, which inputs get gradients). Inputs of magnitude a few units, away from the kinks of the hinges.
TORCH_CASES = [
    ("smooth_l1", "smooth_l1_loss", [lambda r: r.standard_normal((4, 5)) * 2, lambda r: r.standard_normal((4, 5))], {"beta": 0.7}, (0, 1)),
    ("smooth_l1_beta0", "smooth_l1_loss", [lambda r: r.standard_normal((4, 5)), lambda r: r.standard_normal((4, 5))], {"beta": 0.0}, (0, 1)),
    ("huber", "huber_loss", [lambda r: r.standard_normal((4, 5)) * 2, lambda r: r.standard_normal((4, 5))], {"delta": 0.6}, (0, 1)),
    ("l1", "l1_loss", [lambda r: r.standard_normal((4, 5)), lambda r: r.standard_normal((4, 5))], {}, (0, 1)),
    ("bce_weight", "binary_cross_entropy", [lambda r: r.uniform(0.05, 0.95, (4, 5)), lambda r: r.uniform(0, 1, (4, 5)), lambda r: r.uniform(0.5, 2, (5,))], {}, (0, 1)),  # PyTorch refuses a gradient for weight
    ("kl_div", "kl_div", [lambda r: np.log(_probabilities(r, (4, 5))), lambda r: _probabilities(r, (4, 5))], {}, (0, 1)),
    ("kl_div_log_target", "kl_div", [lambda r: np.log(_probabilities(r, (4, 5))), lambda r: np.log(_probabilities(r, (4, 5)))], {"log_target": True}, (0, 1)),
    ("kl_div_zero_target", "kl_div", [lambda r: r.standard_normal((3, 4)), lambda r: np.where(r.uniform(size=(3, 4)) < 0.4, 0.0, r.uniform(0, 1, (3, 4)))], {}, (0,)),
    ("cosine_embedding", "cosine_embedding_loss", [lambda r: r.standard_normal((6, 4)), lambda r: r.standard_normal((6, 4)), lambda r: np.array([1, -1, 1, -1, -1, 1])], {"margin": -0.2}, (0, 1)),
    ("cosine_embedding_1d", "cosine_embedding_loss", [lambda r: r.standard_normal(4), lambda r: r.standard_normal(4), lambda r: np.array(-1)], {"margin": -0.5}, (0, 1)),
    ("margin_ranking", "margin_ranking_loss", [lambda r: r.standard_normal(6), lambda r: r.standard_normal(6), lambda r: _signs(r, 6)], {"margin": 0.3}, (0, 1)),
    ("triplet", "triplet_margin_loss", [lambda r: r.standard_normal((5, 4)), lambda r: r.standard_normal((5, 4)), lambda r: r.standard_normal((5, 4))], {"margin": 2.0}, (0, 1, 2)),
    ("triplet_p1_swap", "triplet_margin_loss", [lambda r: r.standard_normal((5, 4)), lambda r: r.standard_normal((5, 4)), lambda r: r.standard_normal((5, 4))], {"margin": 1.5, "p": 1, "swap": True}, (0, 1, 2)),
    ("poisson_log", "poisson_nll_loss", [lambda r: r.standard_normal((3, 4)), lambda r: r.poisson(2.0, (3, 4)).astype(float)], {"full": True}, (0,)),
    ("poisson_rate", "poisson_nll_loss", [lambda r: r.uniform(0.1, 3, (3, 4)), lambda r: r.poisson(2.0, (3, 4)).astype(float)], {"log_input": False}, (0, 1)),
    ("gaussian", "gaussian_nll_loss", [lambda r: r.standard_normal((4, 3)), lambda r: r.standard_normal((4, 3)), lambda r: r.uniform(0.2, 2, (4, 3))], {"full": True}, (0, 1, 2)),
    ("gaussian_var_no_last_dim", "gaussian_nll_loss", [lambda r: r.standard_normal((4, 3)), lambda r: r.standard_normal((4, 3)), lambda r: r.uniform(0.2, 2, 4)], {}, (0, 1, 2)),
    ("gaussian_var_broadcast_clamped", "gaussian_nll_loss", [lambda r: r.standard_normal((4, 3)), lambda r: r.standard_normal((4, 3)), lambda r: np.array([[0.5], [0.0], [1e-9], [2.0]])], {"eps": 1e-3}, (0, 1, 2)),
    ("hinge_embedding", "hinge_embedding_loss", [lambda r: r.uniform(0.1, 3, (4, 3)), lambda r: _signs(r, (4, 3))], {"margin": 1.5}, (0,)),
    ("soft_margin", "soft_margin_loss", [lambda r: r.standard_normal((4, 3)) * 3, lambda r: _signs(r, (4, 3))], {}, (0,)),
    ("multilabel_soft_margin", "multilabel_soft_margin_loss", [lambda r: r.standard_normal((4, 5)) * 3, lambda r: (r.uniform(size=(4, 5)) < 0.5).astype(float), lambda r: r.uniform(0.5, 2, 5)], {}, (0, 2)),
    ("multilabel_margin", "multilabel_margin_loss", [lambda r: r.standard_normal((3, 6)), lambda r: _multilabel_targets(r, (3, 6))], {}, (0,)),
    ("multilabel_margin_1d", "multilabel_margin_loss", [lambda r: r.standard_normal(5), lambda r: np.array([3, 0, -1, 1, 2])], {}, (0,)),
    ("multi_margin", "multi_margin_loss", [lambda r: r.standard_normal((5, 4)), lambda r: r.integers(0, 4, 5)], {}, (0,)),
    ("multi_margin_p2_weight", "multi_margin_loss", [lambda r: r.standard_normal((5, 4)), lambda r: r.integers(0, 4, 5)], {"p": 2, "margin": 0.7, "weight": "w4"}, (0,)),
    ("multi_margin_1d", "multi_margin_loss", [lambda r: r.standard_normal(4), lambda r: np.array(2)], {}, (0,)),
    ("xent_probabilities", "cross_entropy", [lambda r: r.standard_normal((4, 5)) * 3, lambda r: _probabilities(r, (4, 5))], {"label_smoothing": 0.2, "weight": "w5"}, (0, 1)),
    ("xent_probabilities_nd", "cross_entropy", [lambda r: r.standard_normal((2, 3, 4)), lambda r: _probabilities(r, (2, 4, 3)).transpose(0, 2, 1)], {}, (0, 1)),
    ("xent_probabilities_1d", "cross_entropy", [lambda r: r.standard_normal(5), lambda r: _probabilities(r, 5)], {"weight": "w5"}, (0,)),
]


def _weights(rng, value):
    """Class weights named in a case's keywords ("w4": four of them), drawn from the case's generator."""
    if isinstance(value, str) and value.startswith("w"):
        return rng.uniform(0.5, 2.0, int(value[1:]))
    return value


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name,fn,makers,kwargs,grads", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_loss_values_and_gradients_match_torch(name, fn, makers, kwargs, grads, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(name) * 7919 + sum(map(ord, name)))
    arrays = [np.asarray(make(rng)) for make in makers]
    kwargs = {k: _weights(rng, v) for k, v in kwargs.items()}
    ours_in = [gg.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    theirs_in = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    ours_kw = {k: gg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    theirs_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    warns = fn == "kl_div" and reduction == "mean"  # as PyTorch: "mean" is not the KL divergence
    with pytest.warns(UserWarning, match="batchmean") if warns else contextlib.nullcontext():
        ours = getattr(F, fn)(*ours_in, reduction=reduction, **ours_kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(torch.nn.functional, fn)(*theirs_in, reduction=reduction, **theirs_kw)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = rng.standard_normal(tuple(ours.shape))
    ours.backward(gg.tensor(u))
    theirs.backward(torch.tensor(u))
    for i in grads:
        np.testing.assert_allclose(ours_in[i].grad.numpy(), theirs_in[i].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"gradient of input {i}")


@pytest.mark.torch
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cosine_similarity_and_pairwise_distance_match_torch(rng, dim):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    a[1] = 0.0  # a zero vector: its norm is clamped to eps
    pairs = [
        (lambda x, y: F.cosine_similarity(x, y, dim=dim), lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim=dim)),
        (lambda x, y: F.pairwise_distance(x, y, p=3.0, keepdim=True), lambda x, y: torch.nn.functional.pairwise_distance(x, y, p=3.0, keepdim=True)),
        (lambda x, y: F.pairwise_distance(x, y), lambda x, y: torch.nn.functional.pairwise_distance(x, y)),
    ]
    for ours_fn, theirs_fn in pairs:
        xs = [gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)]
        ts = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
        ours, theirs = ours_fn(*xs), theirs_fn(*ts)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
        u = rng.standard_normal(tuple(ours.shape))
        ours.backward(gg.tensor(u))
        theirs.backward(torch.tensor(u))
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.torch
def test_loss_modules_match_torch(rng):
    torch = pytest.importorskip("torch")
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    signs = _signs(rng, (4, 3))
    w = rng.uniform(0.5, 2, 3)
    p = rng.uniform(0.1, 0.9, (4, 3))
    cases = [
        ("SmoothL1Loss", {"beta": 0.5}, (x, y)), ("HuberLoss", {"delta": 0.5, "reduction": "sum"}, (x, y)),
        ("BCELoss", {"weight": w}, (p, p[::-1].copy())), ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, (x, y)),
        ("PoissonNLLLoss", {"full": True}, (x, np.abs(y) * 3)), ("HingeEmbeddingLoss", {"margin": 0.5}, (x, signs)),
        ("SoftMarginLoss", {}, (x, signs)), ("MultiLabelSoftMarginLoss", {"weight": w}, (x, (signs > 0) * 1.0)),
        ("MultiMarginLoss", {"p": 2, "weight": w}, (x, np.array([0, 2, 1, 2]))),
        ("MultiLabelMarginLoss", {}, (x, np.array([[0, -1, 1]] * 4))),
        ("CosineEmbeddingLoss", {"margin": 0.1}, (x, y, signs[:, 0])), ("MarginRankingLoss", {"margin": 0.2}, (x, y, signs)),
        ("TripletMarginLoss", {"margin": 0.5, "swap": True}, (x, y, x[::-1].copy())),
        ("GaussianNLLLoss", {"full": True}, (x, y, np.abs(y))), ("L1Loss", {"reduction": "none"}, (x, y)),
        ("CrossEntropyLoss", {"weight": w, "label_smoothing": 0.1}, (x, np.abs(y) / np.abs(y).sum(1, keepdims=True))),
        ("CosineSimilarity", {"dim": 0}, (x, y)), ("PairwiseDistance", {"p": 1.0}, (x, y)),
    ]
    for cls, kwargs, arrays in cases:
        ours = getattr(nn, cls)(**{k: gg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
        theirs = getattr(torch.nn, cls)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
        got = ours(*(gg.tensor(a) for a in arrays)).numpy()
        np.testing.assert_allclose(got, theirs(*(torch.tensor(a) for a in arrays)).numpy(), rtol=1e-10, err_msg=cls)


# Always on: the formulas written out in NumPy, second derivatives, edge values and errors.


def _reduced(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def _np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_pointwise_losses_match_numpy(rng, reduction):
    x, y = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))
    p = rng.uniform(0.1, 1.0, (3, 4))
    signs = _signs(rng, (3, 4))
    g = lambda a: gg.tensor(a)  # noqa: E731
    d = x - y
    expected = {
        "kl_div": (F.kl_div(g(x), g(p), reduction=reduction) if reduction != "mean" else None, p * (np.log(p) - x)),
        "kl_div_log_target": (F.kl_div(g(x), g(y), reduction=reduction, log_target=True) if reduction != "mean" else None, np.exp(y) * (y - x)),
        "poisson": (F.poisson_nll_loss(g(x), g(p * 3), reduction=reduction), np.exp(x) - p * 3 * x),
        "poisson_rate": (F.poisson_nll_loss(g(p), g(np.abs(y)), log_input=False, reduction=reduction), p - np.abs(y) * np.log(p + 1e-8)),
        "gaussian": (F.gaussian_nll_loss(g(x), g(y), g(p), full=True, reduction=reduction), 0.5 * (np.log(p) + d**2 / p + np.log(2 * np.pi))),
        "hinge_embedding": (F.hinge_embedding_loss(g(p), g(signs), margin=0.6, reduction=reduction), np.where(signs == 1, p, np.maximum(0, 0.6 - p))),
        "soft_margin": (F.soft_margin_loss(g(x), g(signs), reduction=reduction), np.log1p(np.exp(-signs * x))),
        "margin_ranking": (F.margin_ranking_loss(g(x), g(y), g(signs), margin=0.2, reduction=reduction), np.maximum(0, -signs * d + 0.2)),
        "huber": (F.huber_loss(g(x), g(y), reduction=reduction, delta=0.5), np.where(np.abs(d) <= 0.5, 0.5 * d**2, 0.5 * (np.abs(d) - 0.25))),
        "smooth_l1": (F.smooth_l1_loss(g(x), g(y), reduction=reduction, beta=0.5), np.where(np.abs(d) < 0.5, d**2, np.abs(d) - 0.25)),
    }
    for name, (got, loss) in expected.items():
        if got is not None:
            np.testing.assert_allclose(got.numpy(), _reduced(loss, reduction), rtol=1e-10, err_msg=name)
    np.testing.assert_allclose(F.kl_div(g(x), g(p), reduction="batchmean").item(), (p * (np.log(p) - x)).sum() / 3, rtol=1e-12)


def test_distance_and_embedding_losses_match_numpy(rng):
    a, b, c = (rng.standard_normal((5, 3)) for _ in range(3))
    target = np.array([1, -1, 1, -1, -1])
    norm = lambda v: np.linalg.norm(v, axis=1)  # noqa: E731
    cos = (a * b).sum(1) / (norm(a) * norm(b))
    np.testing.assert_allclose(F.cosine_similarity(gg.tensor(a), gg.tensor(b)).numpy(), cos, rtol=1e-12)
    np.testing.assert_allclose(F.pairwise_distance(gg.tensor(a), gg.tensor(b)).numpy(), norm(a - b + 1e-6), rtol=1e-12)
    np.testing.assert_allclose(F.pairwise_distance(gg.tensor(a), gg.tensor(b), p=1).numpy(), np.abs(a - b + 1e-6).sum(1), rtol=1e-12)
    embedding = np.where(target == 1, 1 - cos, np.maximum(0, cos - 0.1))
    np.testing.assert_allclose(F.cosine_embedding_loss(gg.tensor(a), gg.tensor(b), gg.tensor(target), margin=0.1, reduction="none").numpy(), embedding, rtol=1e-10)
    d_pos, d_neg, d_swap = norm(a - b + 1e-6), norm(a - c + 1e-6), norm(b - c + 1e-6)
    np.testing.assert_allclose(F.triplet_margin_loss(gg.tensor(a), gg.tensor(b), gg.tensor(c), margin=1.5, reduction="none").numpy(),
                               np.maximum(0, 1.5 + d_pos - d_neg), rtol=1e-12)
    np.testing.assert_allclose(F.triplet_margin_loss(gg.tensor(a), gg.tensor(b), gg.tensor(c), swap=True).item(),
                               np.maximum(0, 1.0 + d_pos - np.minimum(d_neg, d_swap)).mean(), rtol=1e-12)


def test_class_margin_losses_match_numpy(rng):
    x = rng.standard_normal((4, 5))
    y = np.array([0, 4, 2, 2])
    w = rng.uniform(0.5, 2, 5)
    hinge = np.maximum(0, 0.8 - x[np.arange(4), y][:, None] + x) ** 2 * w[y][:, None]
    hinge[np.arange(4), y] = 0
    got = F.multi_margin_loss(gg.tensor(x), gg.tensor(y), p=2, margin=0.8, weight=gg.tensor(w), reduction="none")
    np.testing.assert_allclose(got.numpy(), hinge.sum(1) / 5, rtol=1e-12)

    lists = np.array([[3, 1, -1, 0, 0], [2, 2, 4, -1, 1], [-1, 0, 1, 2, 3], [0, 1, 2, 3, 4]])
    expected = []
    for row, listed in zip(x, lists):
        targets = list(listed[: list(listed).index(-1)] if -1 in listed else listed)
        others = [i for i in range(5) if i not in targets]
        expected.append(sum(max(0, 1 - row[j] + row[i]) for j in targets for i in others) / 5)
    got = F.multilabel_margin_loss(gg.tensor(x), gg.tensor(lists), reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)

    t = (rng.uniform(size=(4, 5)) < 0.5) * 1.0
    soft = -(t * _np_log_sigmoid(x) + (1 - t) * _np_log_sigmoid(-x)) * w
    np.testing.assert_allclose(F.multilabel_soft_margin_loss(gg.tensor(x), gg.tensor(t), gg.tensor(w)).item(), soft.mean(1).mean(), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_with_probabilities_matches_numpy(rng, reduction):
    x = rng.standard_normal((4, 3, 2)) * 3
    t = rng.uniform(0, 1, (4, 3, 2))
    t /= t.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2, 3)
    smoothed = t * 0.9 + 0.1 / 3
    rows = -(np_log_softmax(x) * smoothed * w[None, :, None]).sum(1)
    expected = {"none": rows, "sum": rows.sum(), "mean": rows.sum() / 8}[reduction]  # mean: over samples, not weights
    got = F.cross_entropy(gg.tensor(x), gg.tensor(t), weight=gg.tensor(w), reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    x32 = gg.tensor([[1e4, 0.0, -1e4]], requires_grad=True)
    loss = F.cross_entropy(x32, gg.tensor([[0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x32.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-6)


def test_edge_values():
    # Zero targets contribute 0 to kl_div (0 log 0 = 0), and their gradient for the input is 0.
    x = gg.tensor([[-1.0, -2.0, -0.5]], requires_grad=True)
    F.kl_div(x, gg.tensor([[0.0, 0.5, 0.5]]), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, -0.5, -0.5]])
    # Large margins: softplus neither overflows (PyTorch's float32 log1p(exp(100)) is inf) nor loses the gradient.
    x = gg.tensor([-100.0, 100.0], requires_grad=True)
    loss = F.soft_margin_loss(x, gg.tensor([1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 0.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 0.0], atol=1e-6)
    # log(0) in the Poisson rate form is kept finite by eps; full's Stirling term is 0 for targets <= 1.
    rate = F.poisson_nll_loss(gg.tensor([0.0]), gg.tensor([2.0]), log_input=False, reduction="none")
    np.testing.assert_allclose(rate.numpy(), [-2 * np.log(1e-8)], rtol=1e-6)
    full = F.poisson_nll_loss(gg.tensor([0.0, 0.0], dtype=gg.float64), gg.tensor([0.0, 1.0], dtype=gg.float64), full=True, reduction="none")
    np.testing.assert_allclose(full.numpy(), [1.0, 1.0])
    # A zero variance is clamped to eps for the value; its gradient passes through the clamp.
    var = gg.tensor([0.0, 1.0], dtype=gg.float64, requires_grad=True)
    nll = F.gaussian_nll_loss(gg.tensor([0.0, 0.0], dtype=gg.float64), gg.tensor([1e-3, 1.0], dtype=gg.float64), var, reduction="sum")
    np.testing.assert_allclose(nll.item(), 0.5 * (np.log(1e-6) + 1e-6 / 1e-6) + 0.5)
    nll.backward()
    np.testing.assert_allclose(var.grad.numpy(), [0.5 * (1 / 1e-6 - 1e-6 / 1e-12), 0.0])
    # cosine_similarity of a zero vector is 0, not nan.
    assert F.cosine_similarity(gg.zeros(1, 3), gg.ones(1, 3)).item() == 0.0


# gradcheck and gradgradcheck of every loss: tests/nn/test_functional.py's CASES.


def test_legacy_size_average_and_reduce():
    x, y = gg.tensor([1.0, -2.0]), gg.tensor([1.0, 1.0])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert F.soft_margin_loss(x, y, size_average=False).item() == pytest.approx(np.log1p(np.exp(-1)) + np.log1p(np.exp(2)))
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert F.cross_entropy(gg.tensor([[0.0, 1.0]]), gg.tensor([1]), reduce=False).shape == (1,)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MarginRankingLoss(0.5, False).reduction == "sum"
    assert nn.CrossEntropyLoss(None, None, 3).ignore_index == 3  # PyTorch's positional order


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: F.margin_ranking_loss(gg.ones(3), gg.ones(3, 1), gg.ones(3)), gg.ShapeError, r"margin_ranking_loss.*\(3,\).*\(3, 1\)"),
        (lambda: F.triplet_margin_loss(gg.ones(2, 3), gg.ones(2, 3), gg.ones(3)), gg.ShapeError, r"triplet_margin_loss.*\(2, 3\).*\(3,\)"),
        (lambda: F.triplet_margin_loss(gg.ones(2, 3), gg.ones(2, 3), gg.ones(2, 3), margin=0.0), ValueError, "margin must be greater than 0"),
        (lambda: F.cosine_embedding_loss(gg.ones(3, 4), gg.ones(3, 4), gg.ones(3, 1)), gg.ShapeError, "0D or 1D target"),
        (lambda: F.cosine_embedding_loss(gg.ones(3, 4), gg.ones(3), gg.ones(3)), gg.ShapeError, r"expects 2D input.*\(3, 4\) and \(3,\)"),
        (lambda: F.multi_margin_loss(gg.ones(3, 4), gg.tensor([0, 4, 1])), IndexError, "target out of range"),
        (lambda: F.multi_margin_loss(gg.ones(3, 4), gg.tensor([0, 1])), gg.ShapeError, r"multi_margin_loss.*\(3, 4\).*\(2,\)"),
        (lambda: F.multi_margin_loss(gg.ones(3, 4), gg.tensor([0, 1, 1]), p=3), ValueError, "p == 1 and p == 2"),
        (lambda: F.multilabel_margin_loss(gg.ones(3, 4), gg.tensor([[0, 4, 1, -1]] * 3)), IndexError, "target out of range"),
        (lambda: F.multilabel_margin_loss(gg.ones(3, 4), gg.tensor([[0, 1]] * 3)), gg.ShapeError, r"\(3, 2\).*\(3, 4\)"),
        (lambda: F.gaussian_nll_loss(gg.ones(3, 4), gg.ones(3, 4), gg.ones(4)), gg.ShapeError, r"var of shape \(4,\).*\(3, 4\)"),
        (lambda: F.gaussian_nll_loss(gg.ones(3, 4), gg.ones(3, 4), -gg.ones(3, 4)), ValueError, "negative"),
        (lambda: F.kl_div(gg.ones(3), gg.ones(3), reduction="bad"), ValueError, "kl_div: reduction"),
        (lambda: F.hinge_embedding_loss(gg.ones(3, 4), gg.ones(3)), gg.ShapeError, r"hinge_embedding_loss.*\(3, 4\).*\(3,\)"),
        (lambda: F.pairwise_distance(gg.ones(3, 4), gg.ones(2)), gg.ShapeError, r"pairwise_distance.*\(3, 4\).*\(2,\)"),
        (lambda: F.cross_entropy(gg.ones(3, 4), gg.zeros(3, 4, dtype=gg.int64)), gg.DTypeError, "floating point type for target"),
        (lambda: F.cross_entropy(gg.ones(3, 4), gg.zeros(3, 4), ignore_index=1), ValueError, "ignore_index is not supported"),
        (lambda: F.cross_entropy(gg.ones(3, 4), gg.zeros(3, 4), weight=gg.ones(3)), gg.ShapeError, r"all 4 classes.*\(3,\)"),
    ],
)
def test_errors_name_the_loss_and_the_shapes(call, error, match):
    with pytest.raises(error, match=match):
        call()


# CTC: a brute-force sum over every alignment (always on), PyTorch's values and gradients, and errors.


def _np_ctc(log_probs, target, blank=0):
    """-log of the summed probabilities of every frame labelling that collapses (merge repeats, drop blanks)
    to ``target``: all C^T of them, so only for tiny T and C."""
    import itertools

    steps, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=steps):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == list(target):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total)


def test_ctc_loss_sums_every_alignment(rng):
    logp = np_log_softmax(rng.standard_normal((5, 2, 3)), axis=2)
    targets = gg.tensor([[1, 1, 2], [2, 0, 0]])  # a repeat needs a blank between its two frames
    got = F.ctc_loss(gg.tensor(logp), targets, [5, 4], [2, 1], reduction="none")
    expected = [_np_ctc(logp[:5, 0], [1, 1]), _np_ctc(logp[:4, 1], [2])]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    concatenated = F.ctc_loss(gg.tensor(logp), gg.tensor([1, 1, 2]), gg.tensor([5, 4]), gg.tensor([2, 1]))
    np.testing.assert_allclose(concatenated.item(), (expected[0] / 2 + expected[1]) / 2, rtol=1e-12)
    blank_last = F.ctc_loss(gg.tensor(logp[:, 0]), gg.tensor([0, 1]), 5, 2, blank=2)  # unbatched (T, C)
    np.testing.assert_allclose(blank_last.item(), _np_ctc(logp[:, 0], [0, 1], blank=2) / 2, rtol=1e-12)


def test_ctc_loss_impossible_alignment_is_inf_or_zero():
    logp = gg.tensor(np_log_softmax(np.zeros((2, 1, 3)), axis=2), requires_grad=True)
    assert F.ctc_loss(logp, gg.tensor([[1, 1]]), [2], [2], reduction="sum").item() == float("inf")
    loss = F.ctc_loss(logp, gg.tensor([[1, 1]]), [2], [2], zero_infinity=True)
    loss.backward()
    assert loss.item() == 0.0
    np.testing.assert_array_equal(logp.grad.numpy(), np.zeros((2, 1, 3)))


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("through_log_softmax", [False, True])
def test_ctc_loss_matches_torch(rng, reduction, through_log_softmax):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((8, 3, 5))
    if not through_log_softmax:  # raw log-probabilities get PyTorch's gradient convention too
        x = np_log_softmax(x, axis=2)
    targets, input_lengths, target_lengths = np.array([[1, 2, 2, 4], [3, 1, 0, 0], [4, 0, 0, 0]]), [8, 5, 6], [4, 2, 0]
    ours_x, theirs_x = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_in = ours_x.log_softmax(dim=2) if through_log_softmax else ours_x
    theirs_in = theirs_x.log_softmax(2) if through_log_softmax else theirs_x
    ours = F.ctc_loss(ours_in, gg.tensor(targets), input_lengths, target_lengths, reduction=reduction)
    theirs = torch.nn.functional.ctc_loss(theirs_in, torch.tensor(targets), input_lengths, target_lengths, reduction=reduction)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
    u = rng.standard_normal(tuple(ours.shape))
    ours.backward(gg.tensor(u))
    theirs.backward(torch.tensor(u))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-12)
    module = nn.CTCLoss(blank=0, reduction=reduction)(ours_in, gg.tensor(targets), input_lengths, target_lengths)
    np.testing.assert_allclose(module.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda lp: F.ctc_loss(lp, gg.tensor([[1, 2]]), [4, 4], [2, 2]), gg.ShapeError, r"ctc_loss: padded targets of shape \(1, 2\)"),
        (lambda lp: F.ctc_loss(lp, gg.tensor([[1, 2], [1, 1]]), [6, 4], [2, 2]), gg.ShapeError, r"input_lengths \[6, 4\] exceed"),
        (lambda lp: F.ctc_loss(lp, gg.tensor([[1, 0], [1, 1]]), [4, 4], [2, 2]), IndexError, "other than the blank"),
        (lambda lp: F.ctc_loss(lp, gg.tensor([1, 2]), [4, 4], [2, 2]), gg.ShapeError, "concatenated targets"),
        (lambda lp: F.ctc_loss(lp, gg.tensor([[1.0, 2.0]] * 2), [4, 4], [2, 2]), gg.DTypeError, "int64"),
        (lambda lp: F.ctc_loss(lp, gg.tensor([[1, 2]] * 2), [4], [2, 2]), gg.ShapeError, "input_lengths must have one entry per sample"),
    ],
)
def test_ctc_loss_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(gg.randn(4, 2, 3).log_softmax(dim=2))


def test_new_loss_modules_call_their_functions_with_their_options(rng):
    x, y = gg.tensor(rng.standard_normal((4, 3))), gg.tensor(rng.standard_normal((4, 3)))
    signs = gg.tensor(_signs(rng, (4, 3)))
    w = gg.tensor(rng.uniform(0.5, 2, 3))
    labels = gg.tensor([0, 2, 1, 2])
    pairs = [
        (nn.SmoothL1Loss(beta=0.5)(x, y), F.smooth_l1_loss(x, y, beta=0.5)),
        (nn.HuberLoss("sum", 0.5)(x, y), F.huber_loss(x, y, "sum", 0.5)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True)(x, y), F.kl_div(x, y, reduction="batchmean", log_target=True)),
        (nn.PoissonNLLLoss(False, True, eps=1e-3)(x.abs(), y.abs()), F.poisson_nll_loss(x.abs(), y.abs(), False, True, eps=1e-3)),
        (nn.GaussianNLLLoss(full=True)(x, y, 0.7), F.gaussian_nll_loss(x, y, 0.7, full=True)),
        (nn.SoftMarginLoss(reduction="none")(x, signs), F.soft_margin_loss(x, signs, reduction="none")),
        (nn.HingeEmbeddingLoss(0.3)(x, signs), F.hinge_embedding_loss(x, signs, 0.3)),
        (nn.MarginRankingLoss(0.3)(x, y, signs), F.margin_ranking_loss(x, y, signs, 0.3)),
        (nn.CosineEmbeddingLoss(0.2)(x, y, signs[:, 0]), F.cosine_embedding_loss(x, y, signs[:, 0], 0.2)),
        (nn.TripletMarginLoss(0.5, 1.0, swap=True)(x, y, -x), F.triplet_margin_loss(x, y, -x, 0.5, 1.0, swap=True)),
        (nn.MultiMarginLoss(2, 0.5, w)(x, labels), F.multi_margin_loss(x, labels, 2, 0.5, w)),
        (nn.MultiLabelSoftMarginLoss(w)(x, (signs > 0).float()), F.multilabel_soft_margin_loss(x, (signs > 0).float(), w)),
        (nn.MultiLabelMarginLoss()(x, gg.tensor([[1, -1, 0]] * 4)), F.multilabel_margin_loss(x, gg.tensor([[1, -1, 0]] * 4))),
        (nn.BCELoss(w)(x.sigmoid(), (signs > 0).float()), F.binary_cross_entropy(x.sigmoid(), (signs > 0).float(), w)),
        (nn.CosineSimilarity(0)(x, y), F.cosine_similarity(x, y, 0)),
        (nn.PairwiseDistance(1.0, keepdim=True)(x, y), F.pairwise_distance(x, y, 1.0, keepdim=True)),
    ]
    for got, expected in pairs:
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert set(nn.MultiMarginLoss(weight=w).state_dict()) == {"weight"}
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="margin"):
        nn.TripletMarginLoss(margin=0.0)


def test_bce_with_logits_takes_pytorchs_positional_order():
    x, t = gg.tensor([0.5, -1.0]), gg.tensor([1.0, 0.0])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        legacy = F.binary_cross_entropy_with_logits(x, t, None, False)  # size_average=False: a sum
    np.testing.assert_allclose(legacy.item(), F.binary_cross_entropy_with_logits(x, t, reduction="sum").item())


@pytest.mark.torch
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int8", "uint8"), ("int32", "float64")])
@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, math.inf])
def test_pairwise_distance_of_integers_matches_torch(dtypes, p):
    # PyTorch takes integer inputs: their difference plus eps is in the default float dtype.
    torch = pytest.importorskip("torch")
    a, b = np.array([[1, 2, -3], [3, 5, 0]]), np.array([[3, 4, 1], [0, 0, 0]])
    ours = F.pairwise_distance(gg.tensor(a).to(getattr(gg, dtypes[0])), gg.tensor(b).to(getattr(gg, dtypes[1])), p=p)
    theirs = torch.nn.functional.pairwise_distance(torch.tensor(a).to(getattr(torch, dtypes[0])),
                                                   torch.tensor(b).to(getattr(torch, dtypes[1])), p=p)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_pairwise_distance_of_two_bool_tensors_is_refused_as_a_subtraction():
    with pytest.raises(gg.DTypeError, match="subtraction"):
        F.pairwise_distance(gg.ones(2, 3, dtype=gg.bool), gg.zeros(2, 3, dtype=gg.bool))


@pytest.mark.parametrize("loss", ["smooth_l1", "huber"])
def test_smooth_l1_and_huber_differentiate_twice(loss):
    """The fused elementwise op (one kernel pass each way) keeps first and second derivatives in both
    arguments, away from the kink at |d| = width."""
    rng = np.random.default_rng(5)
    x = gg.tensor(rng.uniform(-3, 3, (4, 5)), dtype=gg.float64, requires_grad=True)
    t = gg.tensor(rng.uniform(-1, 1, (4, 5)), dtype=gg.float64, requires_grad=True)
    if loss == "huber":
        def f(a, b):
            return F.huber_loss(a, b, reduction="none", delta=0.8) ** 2
    else:
        def f(a, b):
            return F.smooth_l1_loss(a, b, reduction="none", beta=1.3) ** 2
    assert gg.autograd.gradcheck(f, [x, t])
    assert gg.autograd.gradgradcheck(f, [x, t])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smooth_l1_and_huber_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x_np, t_np = (rng.standard_normal((2, 300)) * 2).astype(dtype)
    gy = rng.standard_normal(300).astype(dtype)
    for name, kwargs in (("smooth_l1_loss", {"beta": 1.0}), ("smooth_l1_loss", {"beta": 0.7}),
                         ("huber_loss", {"delta": 1.0}), ("huber_loss", {"delta": 2.5})):
        x, t = gg.tensor(x_np, requires_grad=True), gg.tensor(t_np, requires_grad=True)
        xt, tt = torch.tensor(x_np, requires_grad=True), torch.tensor(t_np, requires_grad=True)
        y = getattr(F, name)(x, t, reduction="none", **kwargs)
        y_t = getattr(torch.nn.functional, name)(xt, tt, reduction="none", **kwargs)
        y.backward(gg.tensor(gy))
        y_t.backward(torch.tensor(gy))
        tol = {"rtol": 2e-7, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-15, "atol": 1e-15}
        for mine, theirs in ((y, y_t), (x.grad, xt.grad), (t.grad, tt.grad)):
            np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), **tol, err_msg=str(kwargs))


@pytest.mark.parametrize("name, kwargs", [("smooth_l1_loss", {"beta": 0.7}), ("huber_loss", {"delta": 1.5})])
def test_smooth_l1_and_huber_paths_agree(name, kwargs):
    """Operands of one shape and dtype run the kernels on (input, target), the difference taken in the pass,
    and a mean's gradient (one number, broadcast) is read once; a broadcast target or mixed dtypes take
    the difference first. Each path gives the others' values and gradients."""
    rng = np.random.default_rng(8)
    x_np = (rng.standard_normal((6, 5)) * 2).astype(np.float32)
    t_np = rng.standard_normal(5).astype(np.float32)
    fn = getattr(F, name)

    def run(t_array, reduction, gy=None):
        x, t = gg.tensor(x_np, requires_grad=True), gg.tensor(t_array, requires_grad=True)
        y = fn(x, t, reduction=reduction, **kwargs)
        y.backward(None if gy is None else gg.tensor(gy))
        return y.detach().numpy(), x.grad.numpy(), t.grad.numpy()

    with pytest.warns(UserWarning, match="different to the input size"):
        y_b, gx_b, gt_b = run(t_np, "none", np.ones((6, 5), np.float32))
    y_p, gx_p, gt_p = run(np.broadcast_to(t_np, (6, 5)).copy(), "none", np.ones((6, 5), np.float32))
    np.testing.assert_array_equal(y_p, y_b)
    np.testing.assert_array_equal(gx_p, gx_b)
    np.testing.assert_allclose(gt_p.sum(0), gt_b, rtol=1e-6)
    y64 = fn(gg.tensor(x_np), gg.tensor(np.broadcast_to(t_np, (6, 5)).astype(np.float64)), reduction="none", **kwargs)
    assert y64.dtype is gg.float64  # promoted, as PyTorch
    np.testing.assert_allclose(y64.numpy(), y_p, rtol=1e-6)
    t_full = np.broadcast_to(t_np, (6, 5)).copy()
    _, gx_mean, gt_mean = run(t_full, "mean")
    _, gx_none, gt_none = run(t_full, "none", np.full((6, 5), np.float32(1 / 30)))
    np.testing.assert_array_equal(gx_mean, gx_none)
    np.testing.assert_array_equal(gt_mean, gt_none)


@pytest.mark.torch
def test_float32_bce_with_logits_kernel_matches_pytorch_and_the_composite():
    """float32 binary_cross_entropy_with_logits (no pos_weight) runs one kernel pass each way, the
    composite's formula: its values and gradients against PyTorch's, and against the composite other
    dtypes run (float64 here), to second order; a mean's gradient, read as one number, gives the bits of
    an explicit one."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((40, 30)) * 4).astype(np.float32)
    t = rng.uniform(0, 1, x.shape).astype(np.float32)
    w = rng.uniform(0.5, 2, x.shape).astype(np.float32)
    for weight in (None, w):
        a, b = gg.tensor(x, requires_grad=True), gg.tensor(t, requires_grad=True)
        ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
        y = F.binary_cross_entropy_with_logits(a, b, None if weight is None else gg.tensor(weight), reduction="none")
        y_t = torch.nn.functional.binary_cross_entropy_with_logits(
            ta, tb, None if weight is None else torch.tensor(weight), reduction="none")
        gy = rng.standard_normal(x.shape).astype(np.float32)
        y.backward(gg.tensor(gy))
        y_t.backward(torch.tensor(gy))
        np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6, atol=1e-7)
    results = []
    for dtype in (gg.float32, gg.float64):
        a, b = gg.tensor(x, dtype=dtype, requires_grad=True), gg.tensor(t, dtype=dtype, requires_grad=True)
        ga, gb = gg.autograd.grad(F.binary_cross_entropy_with_logits(a, b), (a, b), create_graph=True)
        ((ga * ga).sum() + (gb * ga).sum()).backward()
        results.append([v.detach().numpy().astype(np.float64) for v in (ga, gb, a.grad, b.grad)])
    for ours, composite in zip(*results):
        np.testing.assert_allclose(ours, composite, rtol=2e-5, atol=1e-9)
    a = gg.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(a, gg.tensor(t)).backward()
    b = gg.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(b, gg.tensor(t), reduction="none").backward(
        gg.tensor(np.full(x.shape, np.float32(1 / x.size))))
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
