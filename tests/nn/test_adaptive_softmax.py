"""AdaptiveLogSoftmaxWithLoss: a distribution, a loss that is its negated mean at the targets, predict its
argmax; against PyTorch with the same weights (output, loss, log_prob, predict and every gradient)."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn

N_CLASSES, CUTOFFS = 20, [4, 10, 15]
TARGETS = np.array([0, 5, 19, 3, 12, 10, 16, 4, 14])  # every cluster, its first and last classes


def _model(**kw):
    gg.manual_seed(0)
    return nn.AdaptiveLogSoftmaxWithLoss(8, N_CLASSES, CUTOFFS, div_value=2.0, dtype=gg.float64, **kw)


def test_structure_and_shapes():
    m = _model(head_bias=True)
    assert m.shortlist_size == 4 and m.n_clusters == 3 and m.head_size == 7 and m.cutoffs == CUTOFFS + [N_CLASSES]
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        "head.weight": (7, 8), "head.bias": (7,), "tail.0.0.weight": (4, 8), "tail.0.1.weight": (6, 4),
        "tail.1.0.weight": (2, 8), "tail.1.1.weight": (5, 2), "tail.2.0.weight": (1, 8), "tail.2.1.weight": (5, 1)}
    assert _model().head.bias is None


def test_log_prob_is_a_distribution_and_the_loss_its_mean_at_the_targets():
    m = _model()
    x = gg.tensor(np.random.default_rng(0).standard_normal((len(TARGETS), 8)))
    logp = m.log_prob(x).detach().numpy()
    assert logp.shape == (len(TARGETS), N_CLASSES)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-12)
    out = m(x, gg.tensor(TARGETS))
    assert out._fields == ("output", "loss") and type(out).__name__ == "_ASMoutput"
    picked = logp[np.arange(len(TARGETS)), TARGETS]
    np.testing.assert_allclose(out.output.detach().numpy(), picked, rtol=1e-12)
    np.testing.assert_allclose(out.loss.item(), -picked.mean(), rtol=1e-12)
    np.testing.assert_array_equal(m.predict(x).numpy(), logp.argmax(axis=1))
    one = m(x[2], gg.tensor(TARGETS[2]))  # unbatched: 0-d output and loss
    assert one.output.shape == () and one.loss.shape == ()
    np.testing.assert_allclose(one.output.item(), picked[2], rtol=1e-12)


def test_checks():
    with pytest.raises(ValueError, match="larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, [])
    for bad in ([4, 3], [0], [20], [4, 4], [4.5]):
        with pytest.raises(ValueError, match="unique, positive integers"):
            nn.AdaptiveLogSoftmaxWithLoss(8, 20, bad)
    m = _model()
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        m(gg.zeros(3, 8), gg.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input"):
        m(gg.zeros(3, 8, 1), gg.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="0D target tensor expects 1D input"):
        m(gg.zeros(3, 8), gg.tensor(0))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        m(gg.zeros(3, 8), gg.tensor([[0], [1], [2]]))
    with pytest.raises(RuntimeError, match=r"should be in \[0, 19\], but values in range \[-1, 20\]"):
        m(gg.zeros(3, 8, dtype=gg.float64), gg.tensor([0, 20, -1]))


@pytest.mark.torch
@pytest.mark.parametrize("head_bias", [False, True])
def test_matches_pytorch_with_the_same_weights(head_bias):
    import torch

    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, N_CLASSES, CUTOFFS, div_value=2.0, head_bias=head_bias).double()
    ours = _model(head_bias=head_bias)
    ours.load_state_dict({k: gg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((len(TARGETS), 8))
    xt, xo = torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)
    rt, ro = theirs(xt, torch.tensor(TARGETS)), ours(xo, gg.tensor(TARGETS))
    np.testing.assert_allclose(ro.output.detach().numpy(), rt.output.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ro.loss.item(), rt.loss.item(), rtol=1e-12)
    rt.loss.backward()
    ro.loss.backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    for (name, p), q in zip(theirs.named_parameters(), ours.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)
    lt, lo = theirs.log_prob(xt), ours.log_prob(xo)
    np.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = np.random.default_rng(2).standard_normal(lt.shape)
    xt.grad, xo.grad = None, None
    (lt * torch.tensor(g)).sum().backward()
    (lo * gg.tensor(g)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(ours.predict(xo).numpy(), theirs.predict(xt).numpy())
