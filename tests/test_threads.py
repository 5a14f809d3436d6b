"""gpugrad.threads: set_num_threads / get_num_threads as PyTorch's, and results independent of the count."""
from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.threads import get_num_threads, set_num_threads

POOL = int(numba.config.NUMBA_NUM_THREADS)


@pytest.fixture
def restore_threads():
    before = get_num_threads()
    yield
    set_num_threads(before)


def test_set_and_get(restore_threads):
    set_num_threads(1)
    assert get_num_threads() == 1
    set_num_threads(POOL + 5)  # capped at the pool Numba started
    assert get_num_threads() == POOL


@pytest.mark.parametrize("bad,message", [(0, "positive integer"), (-2, "positive integer"), (2.0, "expects an int"),
                                         (True, "expects an int")])
def test_bad_counts_raise_as_torch(bad, message):
    with pytest.raises(RuntimeError, match=message):
        set_num_threads(bad)


def test_omp_num_threads_is_honoured_at_import():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["OMP_NUM_THREADS"] = "1"
    code = "import gpugrad.threads as t; print(t.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def _train(steps: int, optimizer: str = "adam") -> list[np.ndarray]:
    """A few steps of a small MLP (embedding, linear layers, batch norm, group norm) from a fixed start."""
    gg.manual_seed(0)
    emb = nn.Embedding(50, 16)
    model = nn.Sequential(nn.Linear(16 * 4, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 48), nn.GroupNorm(4, 48),
                          nn.GELU(), nn.Linear(48, 10))
    params = list(emb.parameters()) + list(model.parameters())
    opt = optim.Adam(params, lr=1e-2) if optimizer == "adam" else optim.SGD(params, lr=1e-2, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        ids = gg.tensor(rng.integers(0, 50, (96, 4)))
        target = gg.tensor(rng.integers(0, 10, 96))
        opt.zero_grad()
        logits = model(emb(ids).reshape(96, -1))
        nn.functional.cross_entropy(logits, target).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params] + [b.numpy().copy() for b in model.buffers()]


def _one_and_two_threads(monkeypatch, optimizer: str) -> None:
    from gpugrad.kernels import embedding

    # Every kernel's parallel build, even at this size (the threshold lives where the dispatch class is).
    monkeypatch.setattr(sys.modules[type(embedding._scatter_cpu).__module__], "PARALLEL_MIN_WORK", 0)
    set_num_threads(1)
    one = _train(3, optimizer)
    set_num_threads(2)
    two = _train(3, optimizer)
    assert embedding._scatter_cpu.parallel.signatures  # the parallel builds ran
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
    assert not np.array_equal(one[0], _train(4, optimizer)[0])  # the check can see a difference


@pytest.mark.skipif(POOL < 2, reason="needs a pool of at least 2 threads")
def test_sgd_training_steps_give_the_same_bits_on_one_and_two_threads(restore_threads, monkeypatch):
    _one_and_two_threads(monkeypatch, "sgd")


@pytest.mark.skipif(POOL < 2, reason="needs a pool of at least 2 threads")
def test_adam_training_steps_give_the_same_bits_on_one_and_two_threads(restore_threads, monkeypatch):
    _one_and_two_threads(monkeypatch, "adam")


@pytest.mark.torch
@pytest.mark.parametrize("bad", [0, -2, 2.0, True])
def test_bad_counts_raise_what_pytorch_raises(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.set_num_threads(bad)
    with pytest.raises(Exception) as ours:
        set_num_threads(bad)
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value))


@pytest.mark.torch
def test_set_then_get_as_pytorch(restore_threads):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        set_num_threads(1)
        assert get_num_threads() == torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
