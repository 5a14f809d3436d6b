"""nn.utils._per_sample_grad.call_for_per_sample_grads (PyTorch's ExpandedWeights): per-sample gradients in
``grad_sample`` equal the gradients of each sample's own loss, ``.grad`` stays None, ops that do not know
ExpandedWeights refuse them, and the values match PyTorch's where it is installed."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn.utils._per_sample_grad import call_for_per_sample_grads


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(6, 4, 2)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm1d(4, affine=True)
        self.fc = nn.Linear(4, 5)
        self.ln = nn.LayerNorm([4, 5])
        self.emb = nn.Embedding(7, 3, padding_idx=1)
        self.c2 = nn.Conv2d(2, 4, 3, padding=1, groups=2)
        self.seq = nn.Sequential(nn.Linear(5, 3), nn.ReLU())  # the fused Linear + ReLU path must not run

    def forward(self, x, idx, im):
        y = self.seq(self.ln(self.fc(self.inorm(self.gn(self.conv(x))))))
        return y.pow(2).sum((1, 2)) + self.emb(idx).pow(2).sum((1, 2)) + self.c2(im).pow(2).sum((1, 2, 3))


def _inputs(n=5):
    rng = np.random.default_rng(0)
    return (gg.tensor(rng.normal(size=(n, 6, 5)).astype(np.float32)), gg.tensor(rng.integers(0, 7, (n, 4))),
            gg.tensor(rng.normal(size=(n, 2, 4, 4)).astype(np.float32)))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_grad_sample_is_each_samples_gradient(reduction):
    gg.manual_seed(0)
    model = Net()
    x, idx, im = _inputs()
    w = gg.tensor(np.random.default_rng(1).normal(size=5).astype(np.float32))  # a random cotangent per sample
    out = call_for_per_sample_grads(model, loss_reduction=reduction)(x, idx, im)
    ((out * w).mean() if reduction == "mean" else (out * w).sum()).backward()
    got = {n: p.grad_sample.numpy() for n, p in model.named_parameters()}
    assert all(p.grad is None for p in model.parameters())
    for i in range(5):
        model.zero_grad()
        (model(x[i:i + 1], idx[i:i + 1], im[i:i + 1]) * w[i]).sum().backward()
        for name, p in model.named_parameters():
            assert got[name].shape == (5,) + tuple(p.shape)
            np.testing.assert_allclose(got[name][i], p.grad.numpy(), rtol=2e-4, atol=2e-4, err_msg=name)
    assert not got["emb.weight"][:, 1].any()  # the padding row gets no gradient


def test_forward_output_is_the_modules():
    model = Net()
    x, idx, im = _inputs()
    np.testing.assert_allclose(call_for_per_sample_grads(model)(x, idx, im).detach().numpy(),
                               model(x, idx, im).detach().numpy(), rtol=1e-5, atol=1e-4)


def test_batch_second_linear_and_frozen_parameters():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    x = gg.randn(4, 6, 3)  # (time, batch, features)
    call_for_per_sample_grads(model, batch_first=False)(x).pow(2).sum().backward()
    assert model.weight.grad_sample.shape == (6, 2, 3) and getattr(model.bias, "grad_sample", None) is None
    for b in range(6):
        w = model.weight.detach().requires_grad_()
        (x[:, b] @ w.t()).add(model.bias).pow(2).sum().backward()
        np.testing.assert_allclose(model.weight.grad_sample[b].numpy(), w.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_unknown_ops_and_bad_arguments_are_refused():
    class Matmul(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(gg.randn(5, 3))

        def forward(self, x):
            return gg.matmul(x, self.w)

    with pytest.raises(RuntimeError, match="cannot handle function matmul"):
        call_for_per_sample_grads(Matmul())(gg.randn(4, 5))
    assert (gg.randn(2, 5) @ Matmul().w).shape == (2, 3)  # outside the wrapper nothing is checked
    with pytest.raises(RuntimeError, match="sum or mean"):
        call_for_per_sample_grads(nn.Linear(2, 2), loss_reduction="max")
    with pytest.raises(RuntimeError, match="nn.Module"):
        call_for_per_sample_grads(lambda x: x)
    with pytest.raises(RuntimeError, match="batch size 2 and one with batch size 3"):
        call_for_per_sample_grads(nn.Bilinear(2, 2, 1))(gg.ones(2, 2), gg.ones(3, 2))
    model = nn.Linear(2, 2)
    call_for_per_sample_grads(model)(gg.ones(3, 2)).sum().backward()
    with pytest.raises(RuntimeError, match="clear out the grad_sample"):
        call_for_per_sample_grads(model)


@pytest.mark.torch
def test_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils._per_sample_grad import call_for_per_sample_grads as torch_call

    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    x = rng.normal(size=(6, 2, 3)).astype(np.float32)
    results = []
    for lib, call in ((torch, torch_call), (gg, call_for_per_sample_grads)):
        model = lib.nn.Linear(3, 4)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(w))
            model.bias.copy_(lib.tensor(b))
        call(model, loss_reduction="mean")(lib.tensor(x)).pow(2).mean().backward()
        results.append([model.weight.grad_sample.detach().numpy(), model.bias.grad_sample.detach().numpy()])
    for a, g in zip(*results):
        np.testing.assert_allclose(g, a, rtol=1e-5, atol=1e-5)
