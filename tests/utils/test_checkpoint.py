"""gg.utils.checkpoint: the same values and gradients as running the function plainly (dropout included,
through the restored random state), for modules and plain callables, both variants, and PyTorch's."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.utils.checkpoint import checkpoint, checkpoint_sequential


def _net():
    gg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Dropout(0.3), nn.Linear(4, 2))


def _grads(net, x):
    out = [p.grad.numpy().copy() for p in net.parameters()] + ([x.grad.numpy().copy()] if x.grad is not None else [])
    for p in net.parameters():
        p.grad = None
    x.grad = None
    return out


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("callable_kind", ["module", "function"])
def test_checkpoint_equals_the_plain_run(use_reentrant, callable_kind):
    net = _net()
    x = gg.randn(5, 3, requires_grad=True)
    gg.manual_seed(1)
    plain = net(x).sum()
    plain.backward()
    expected = _grads(net, x)
    fn = net if callable_kind == "module" else (lambda t: net(t))
    gg.manual_seed(1)
    out = checkpoint(fn, x, use_reentrant=use_reentrant).sum()
    assert out.item() == plain.item()
    out.backward()
    for got, want in zip(_grads(net, x), expected):
        np.testing.assert_array_equal(got, want)


def test_parameters_only_grad_and_sequential():
    net = _net()
    x = gg.randn(5, 3)  # no input requires grad: only the non-reentrant variant records
    with pytest.warns(UserWarning, match="None of the inputs"):
        assert not checkpoint(net, x, use_reentrant=True).requires_grad
    out = checkpoint(net, x, use_reentrant=False).sum()
    grads = gg.autograd.grad(out, list(net.parameters()))
    assert [g.shape for g in grads] == [p.shape for p in net.parameters()]
    out = checkpoint(lambda t: net(t), x, use_reentrant=False).sum()
    with pytest.raises(RuntimeError):
        gg.autograd.grad(out, list(net.parameters()))
    net.eval()
    x = gg.randn(5, 3, requires_grad=True)
    net(x).sum().backward()
    expected = _grads(net, x)
    checkpoint_sequential(net, 2, x, use_reentrant=False).sum().backward()
    for got, want in zip(_grads(net, x), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="use_reentrant"):
            checkpoint(net, x)
    with pytest.raises(ValueError, match="keyword"):
        checkpoint(net, x, use_reentrant=True, scale=2)


def test_backward_with_inputs_and_the_autograd_function():
    x = gg.ones(2, requires_grad=True)
    w = gg.ones(2, requires_grad=True)
    (x * w * 2).sum().backward(inputs=[x])
    assert x.grad.tolist() == [2.0, 2.0] and w.grad is None
    gg.autograd.backward([(x * w).sum()], inputs=[w])
    assert x.grad.tolist() == [2.0, 2.0] and w.grad.tolist() == [1.0, 1.0]


@pytest.mark.torch
def test_matches_torch_checkpoint():
    torch = pytest.importorskip("torch")
    import torch.utils.checkpoint as tc

    rng = np.random.default_rng(0)
    w1, w2, xs = rng.standard_normal((4, 3)), rng.standard_normal((2, 4)), rng.standard_normal((5, 3))

    def run(lib, ckpt):
        a, b = lib.nn.Linear(3, 4, bias=False), lib.nn.Linear(4, 2, bias=False)
        with lib.no_grad():
            a.weight.copy_(lib.tensor(w1, dtype=lib.float32))
            b.weight.copy_(lib.tensor(w2, dtype=lib.float32))
        block = lib.nn.Sequential(a, lib.nn.GELU(), b)
        x = lib.tensor(xs, dtype=lib.float32, requires_grad=True)
        out = ckpt(block, x, use_reentrant=False)
        (out * out).sum().backward()
        return [out.detach().numpy(), x.grad.numpy(), a.weight.grad.numpy(), b.weight.grad.numpy()]

    for ours, theirs in zip(run(gg, checkpoint), run(torch, tc.checkpoint)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_outputs_other_than_tensors_come_back_in_place(use_reentrant):
    # transformers' T5 blocks, checkpointed, return (hidden, position_bias, None).
    lin = gg.nn.Linear(4, 4)
    x = gg.randn(2, 4, requires_grad=True)
    hidden, note, nothing = checkpoint(lambda t: (lin(t).tanh(), "bias", None), x, use_reentrant=use_reentrant)
    assert note == "bias" and nothing is None
    hidden.sum().backward()
    x2 = x.detach().requires_grad_()  # the same computation without checkpointing
    lin(x2).tanh().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="at least one"):
        checkpoint(lambda t: ("no tensor",), x, use_reentrant=use_reentrant)
