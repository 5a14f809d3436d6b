"""gpugrad.autograd.graph: saved-tensor hooks (what is packed, that values and second derivatives are as
without them), save_on_cpu, the switch that forbids them, and the graph's edges."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import graph

try:
    import torch
except ImportError:  # pragma: no cover - PyTorch is optional
    torch = None


def _loss(x, w):
    return ((x * w).exp() + x.sin() / w).sum()


def test_hooks_see_every_saved_tensor_and_change_nothing():
    x = gg.tensor([0.5, -1.0, 2.0], dtype=gg.float64, requires_grad=True)
    w = gg.tensor([1.5, 0.25, -0.5], dtype=gg.float64, requires_grad=True)
    (plain,) = gg.autograd.grad(_loss(x, w), x, create_graph=True)
    plain_second = gg.autograd.grad(plain.sum(), (x, w))
    seen = {"pack": 0, "unpack": 0}

    def pack(t):
        seen["pack"] += 1
        return t.detach().numpy().copy()  # anything may be kept: here a NumPy copy

    def unpack(array):
        seen["unpack"] += 1
        return gg.tensor(array)

    with graph.saved_tensors_hooks(pack, unpack):
        loss = _loss(x, w)
    assert seen["pack"] > 0 and seen["unpack"] == 0
    (hooked,) = gg.autograd.grad(loss, x, create_graph=True)
    hooked_second = gg.autograd.grad(hooked.sum(), (x, w))
    assert seen["unpack"] > 0
    np.testing.assert_allclose(hooked.detach().numpy(), plain.detach().numpy(), rtol=1e-15)
    for a, b in zip(hooked_second, plain_second):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-15)


def test_only_ops_recorded_inside_the_block_are_packed():
    x = gg.randn(4, requires_grad=True)
    packed = []
    outside = x.exp()
    with graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        inside = x.tanh()
    assert len(packed) == 1 and packed[0].shape == (4,)
    (outside + inside).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()) + 1 - np.tanh(x.detach().numpy()) ** 2,
                               rtol=1e-6)


def test_save_on_cpu_trains_as_without_it():
    model = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.Tanh(), gg.nn.Linear(4, 1))
    x = gg.randn(5, 3)
    model(x).sum().backward()
    plain = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with graph.save_on_cpu():
        loss = model(x).sum()
    loss.backward()
    for p, g in zip(model.parameters(), plain):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6)


def test_unpack_must_return_a_tensor_and_hooks_can_be_forbidden():
    x = gg.randn(3, requires_grad=True)
    with graph.saved_tensors_hooks(lambda t: t, lambda t: t.numpy()):
        y = x.exp().sum()
    with pytest.raises(TypeError, match="unpack_hook must return a Tensor"):
        y.backward()
    with graph.disable_saved_tensors_hooks("no hooks in here"):
        with pytest.raises(RuntimeError, match="no hooks in here"):
            with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass


def test_gradient_edges_and_versions():
    x = gg.randn(3, requires_grad=True)
    y = x * 2.0
    edge = graph.get_gradient_edge(y)
    assert edge.node is y.grad_fn and edge.output_nr == 0
    assert graph.get_gradient_edge(x).node.variable is x
    assert isinstance(y.grad_fn, graph.Node)
    z = y.exp()
    graph.increment_version(z)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_packs_and_unpacks_as_pytorch_does():
    counts = []
    for lib in (gg, torch):
        seen = [0, 0]

        def pack(t, seen=seen):
            seen[0] += 1
            return t

        def unpack(t, seen=seen):
            seen[1] += 1
            return t

        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (x * w).exp().sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        counts.append((tuple(seen), g.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    assert counts[0][0] == counts[1][0]
    for mine, theirs in zip(counts[0][1:], counts[1][1:]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
