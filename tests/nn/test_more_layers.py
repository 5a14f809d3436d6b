"""Bilinear, ChannelShuffle, Buffer, pdist, gumbel_softmax and the triplet loss with a distance function."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn


def test_bilinear_is_the_bilinear_form_per_output():
    rng = np.random.default_rng(0)
    x1, x2, w, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((5, 3, 2)), rng.standard_normal(5)
    got = F.bilinear(gg.tensor(x1), gg.tensor(x2), gg.tensor(w), gg.tensor(b)).numpy()
    np.testing.assert_allclose(got, np.einsum("bi,oij,bj->bo", x1, w, x2) + b)
    layer = nn.Bilinear(3, 2, 5)
    assert layer.weight.shape == (5, 3, 2) and layer.bias.shape == (5,)
    assert np.abs(layer.weight.detach().numpy()).max() <= 1 / np.sqrt(3)
    with pytest.raises(gg.ShapeError, match="bilinear: weight of shape"):
        F.bilinear(gg.ones(4, 3), gg.ones(4, 2), gg.ones(5, 2, 2))


def test_channel_shuffle_interleaves_groups():
    x = gg.arange(6.0).reshape(1, 6, 1)
    np.testing.assert_array_equal(nn.ChannelShuffle(2)(x).numpy().ravel(), [0, 3, 1, 4, 2, 5])
    with pytest.raises(gg.ShapeError, match="channel_shuffle: number of channels"):
        F.channel_shuffle(x, 4)


def test_pdist_lists_each_pair_once():
    x = np.random.default_rng(1).standard_normal((4, 3))
    want = [np.linalg.norm(x[i] - x[j]) for i in range(4) for j in range(i + 1, 4)]
    np.testing.assert_allclose(F.pdist(gg.tensor(x)).numpy(), want)


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    gg.manual_seed(0)
    logits = gg.randn(3, 6, requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert set(np.unique(y.detach().numpy())) == {0.0, 1.0} and np.all(y.detach().numpy().sum(axis=1) == 1)
    (y * gg.arange(6.0)).sum().backward()
    assert np.abs(logits.grad.numpy()).sum() > 0
    soft = F.gumbel_softmax(logits, tau=2.0)
    np.testing.assert_allclose(soft.detach().numpy().sum(axis=1), 1.0, rtol=1e-6)


def test_triplet_loss_with_a_distance_function():
    a, p, n = gg.zeros(2, 3), gg.ones(2, 3), gg.full((2, 3), 2.0)
    l1 = lambda x, y: (x - y).abs().sum(dim=-1)  # noqa: E731
    loss = nn.TripletMarginWithDistanceLoss(distance_function=l1, margin=4.0)(a, p, n)
    assert loss.item() == pytest.approx(1.0)  # max(0, 3 - 6 + 4)
    assert F.triplet_margin_with_distance_loss(a, p, n).item() == pytest.approx(
        F.triplet_margin_loss(a, p, n).item())


def test_a_buffer_assigned_to_a_module_is_registered():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = nn.Buffer(gg.zeros(()))
            self.scratch = nn.Buffer(gg.ones(2), persistent=False)

    m = Counter()
    assert list(m.state_dict()) == ["steps"] and len(list(m.buffers())) == 2
    assert type(m.steps) is gg.Tensor


@pytest.mark.torch
def test_bilinear_and_pdist_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in ((4, 3), (4, 2), (5, 3, 2), (5,))]
    ours, theirs = [gg.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]
    F.bilinear(*ours).sum().backward()
    torch.nn.functional.bilinear(*theirs).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
    x = rng.standard_normal((5, 3))
    xo, xt = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.pdist(xo, p=1.5).sum().backward()
    torch.nn.functional.pdist(xt, p=1.5).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10)


@pytest.mark.torch
def test_channel_shuffle_and_the_distance_triplet_loss_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 6, 3))
    np.testing.assert_array_equal(nn.ChannelShuffle(3)(gg.tensor(x)).numpy(), torch.nn.ChannelShuffle(3)(torch.tensor(x)).numpy())
    assert repr(nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    arrays = [np.random.default_rng(i).standard_normal((4, 5)) for i in range(3)]
    for kwargs in ({}, {"margin": 2.0, "swap": True, "reduction": "sum"}):
        ours = [gg.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        cos_ours = lambda a, b: 1 - F.cosine_similarity(a, b)  # noqa: E731
        cos_theirs = lambda a, b: 1 - torch.nn.functional.cosine_similarity(a, b)  # noqa: E731
        lo = nn.TripletMarginWithDistanceLoss(distance_function=cos_ours, **kwargs)(*ours)
        lt = torch.nn.TripletMarginWithDistanceLoss(distance_function=cos_theirs, **kwargs)(*theirs)
        lo.backward()
        lt.backward()
        np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-10)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
