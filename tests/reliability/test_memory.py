"""Memory: a graph is freed by reference counting alone (no cyclic GC), its saved values as soon as
backward has used them; long training runs keep resident memory and the number of live Tensors flat;
very deep graphs and models run without recursion."""
from __future__ import annotations

import contextlib
import gc
import os
import resource
import weakref

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn, optim
from gpugrad.autograd.function import Node


@contextlib.contextmanager
def gc_disabled():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class Tracker:
    """Weak references to every Tensor and Node made while active (Tensor._make is the one constructor)."""

    def __init__(self, monkeypatch) -> None:
        self.tensors: list[weakref.ref] = []
        self.nodes: dict[int, weakref.ref] = {}
        self.active = False
        original = gg.Tensor._make.__func__

        def make(cls, data, backend, node=None, index=0):
            t = original(cls, data, backend, node, index)
            if self.active:
                self.tensors.append(weakref.ref(t))
                if node is not None:
                    self.nodes.setdefault(id(node), weakref.ref(node))
            return t

        monkeypatch.setattr(gg.Tensor, "_make", classmethod(make))

    @contextlib.contextmanager
    def recording(self):
        self.active = True
        try:
            yield self
        finally:
            self.active = False

    def alive_tensors(self, keep=()):
        keep = {id(k) for k in keep}
        return [t for t in (r() for r in self.tensors) if t is not None and id(t) not in keep]

    def alive_nodes(self):
        return [n for n in (r() for r in self.nodes.values()) if n is not None]


def _no_cycles_left():
    """Whatever the cyclic collector would find now, as gpugrad objects (it must find none)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = [o for o in gc.garbage if isinstance(o, (gg.Tensor, Node, nn.Module, optim.Optimizer))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def _model_cases():
    gg.manual_seed(0)
    x_img = gg.randn(2, 3, 8, 8)
    x_vec = gg.randn(4, 6)
    x_seq = gg.randn(5, 2, 3)
    return {
        "linear": (nn.Linear(6, 3), x_vec, lambda y: y.sum()),
        "fused_sequential": (nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 3)), x_vec,
                             lambda y: F.cross_entropy(y, gg.tensor([0, 1, 2, 0]))),
        "conv_pool_bn": (nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 2)),
                         x_img, lambda y: F.binary_cross_entropy_with_logits(y, gg.rand(2, 2))),
        "layernorm_dropout": (nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.Dropout(0.3), nn.Tanh()), x_vec,
                              lambda y: F.mse_loss(y, gg.zeros(4, 6))),
        "lstm": (nn.LSTM(3, 4), x_seq, lambda out: out[0].pow(2).mean()),
        "rnn": (nn.RNN(3, 4), x_seq, lambda out: F.l1_loss(out[0], gg.zeros(5, 2, 4))),
        "embedding": (nn.Embedding(10, 4), gg.tensor([[1, 2], [3, 9]]),
                      lambda y: F.nll_loss(y.reshape(4, 4).log_softmax(dim=1), gg.tensor([0, 1, 2, 3]))),
    }


@pytest.mark.parametrize("name", sorted(_model_cases()))
def test_backward_frees_the_graph_without_the_cyclic_collector(name, monkeypatch):
    model, x, loss_fn = _model_cases()[name]
    opt = optim.Adam(model.parameters(), lr=1e-3)
    tracker = Tracker(monkeypatch)
    keep = [x] + list(model.parameters()) + list(model.buffers())
    with gc_disabled():
        with tracker.recording():
            loss = loss_fn(model(x))
        nodes = tracker.alive_nodes()
        saved = [n for n in nodes if n._saved]
        assert nodes and saved, "the forward recorded nothing"
        del nodes, saved
        loss.backward()
        # Saved values go as soon as backward has used them, while the output is still alive.
        assert all(n._saved is None for n in tracker.alive_nodes())
        opt.step()
        opt.zero_grad()
        del loss
        assert tracker.alive_nodes() == []
        alive = tracker.alive_tensors(keep)
        assert alive == [], f"{len(alive)} tensors of the forward outlived it: {[tuple(t.shape) for t in alive][:10]}"
    assert _no_cycles_left() == []


def test_saved_arrays_are_released_while_the_loss_is_kept():
    x = gg.randn(64, 64, requires_grad=True)
    with gc_disabled():
        h = x.tanh()
        refs = [weakref.ref(h._array)]
        h = (h * 3.0).exp()
        refs.append(weakref.ref(h._array))
        loss = h.logsumexp(dim=1).sum()
        del h
        assert all(r() is not None for r in refs)  # held as saved values of the graph
        loss.backward()
        assert all(r() is None for r in refs)
        assert loss.grad_fn is not None  # the output itself is still usable


def test_retain_graph_keeps_then_frees():
    x = gg.randn(8, requires_grad=True)
    with gc_disabled():
        y = x.exp()
        ref = weakref.ref(y._array)
        loss = (y * y).sum()
        del y
        loss.backward(retain_graph=True)
        assert ref() is not None
        loss.backward()
        assert ref() is None
        np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp(2 * x.detach().numpy()), rtol=1e-5)


def test_create_graph_grad_is_freed_without_the_cyclic_collector(monkeypatch):
    tracker = Tracker(monkeypatch)
    x = gg.randn(5, dtype=gg.float64, requires_grad=True)
    with gc_disabled():
        with tracker.recording():
            y = (x.sin() * x).sum()
            (g,) = gg.grad(y, [x], create_graph=True)
            (g * g).sum().backward()
        del y, g
        assert tracker.alive_nodes() == []
        assert tracker.alive_tensors(keep=[x, x.grad]) == []
    assert _no_cycles_left() == []


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_three_thousand_adam_steps_keep_memory_and_tensor_count_flat(monkeypatch):
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 4))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = gg.randn(32, 16), gg.randint(0, 4, (32,))
    live = weakref.WeakSet()
    original = gg.Tensor._make.__func__

    def make(cls, data, backend, node=None, index=0):
        t = original(cls, data, backend, node, index)
        live.add(t)
        return t

    monkeypatch.setattr(gg.Tensor, "_make", classmethod(make))
    counts, rss = {}, {}
    with gc_disabled():
        for step in range(1, 3001):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if step in (500, 1000, 2000, 3000):
                del loss
                counts[step], rss[step] = len(live), _rss_bytes()
    assert counts[500] == counts[1000] == counts[2000] == counts[3000], counts
    growth = rss[3000] - rss[500]
    # A leak of one small tensor per step would be >= 3000 * 4 KiB pages' worth of allocator growth
    # long before this; allow only allocator noise.
    assert growth < 2 * 1024 * 1024, f"resident memory grew by {growth / 2**20:.1f} MiB from step 500 to 3000: {rss}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak > 0


@pytest.mark.parametrize("fused", [False, True])
def test_a_sequential_of_two_thousand_layers_runs_without_recursion(fused):
    gg.manual_seed(0)
    layers = []
    for _ in range(1000 if fused else 2000):
        layers.append(nn.Linear(3, 3))
        if fused:
            layers.append(nn.Tanh())  # Linear + activation pairs run as the fused op
    model = nn.Sequential(*layers)
    for p in model.parameters():  # keep the signal alive through the depth
        p._array[...] = np.eye(3, dtype=np.float32) if p.ndim == 2 else 0.0
    x = gg.randn(4, 3, requires_grad=True)
    with gc_disabled():
        loss = model(x).pow(2).sum()
        loss.backward()
        del loss
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
    assert all(p.grad is not None for p in model.parameters())
    if not fused:
        # Identity layers: the gradient reaching x is 2 x.
        np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-5)
    assert _no_cycles_left() == []
