"""Grad mode is thread-local, and two threads training two models at once get the same bits as training
them one after the other (Numba's parallel kernels and BLAS run inside each thread's calls)."""
from __future__ import annotations

import threading

import numpy as np

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn, optim


def _in_threads(*targets, timeout=60):
    errors = []

    def wrap(fn):
        def body():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                errors.append(exc)

        return body

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    x = gg.randn(3, requires_grad=True)
    inside = threading.Event()
    checked = threading.Event()
    seen = {}

    def quiet():
        with gg.no_grad():
            inside.set()
            assert checked.wait(10)
            seen["quiet"] = (x * 2).requires_grad, gg.is_grad_enabled()

    def loud():
        assert inside.wait(10)  # the other thread is inside no_grad now
        y = (x * 2).sum()
        seen["loud"] = y.requires_grad, gg.is_grad_enabled()
        with gg.no_grad():
            pass
        seen["loud_after"] = (x * 3).requires_grad
        checked.set()

    _in_threads(quiet, loud)
    assert seen == {"quiet": (False, False), "loud": (True, True), "loud_after": True}
    assert gg.is_grad_enabled()


def test_grad_mode_set_in_a_thread_is_not_inherited_by_threads_it_starts():
    seen = []
    with gg.no_grad():
        _in_threads(lambda: seen.append(gg.is_grad_enabled()))
        seen.append(gg.is_grad_enabled())
    assert seen == [True, False]  # as PyTorch: every new thread starts with grad mode on


def test_anomaly_mode_is_thread_local_too():
    seen = []
    with gg.autograd.detect_anomaly():
        _in_threads(lambda: seen.append(gg.autograd.anomaly.is_anomaly_enabled()))
    assert seen == [False]


def _setup(seed):
    rng = np.random.default_rng(seed)
    gg.manual_seed(seed)  # init only: the training below draws nothing from the shared default generator
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.GELU(), nn.LayerNorm(256), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    X = gg.tensor(rng.standard_normal((12, 128, 64)).astype(np.float32))
    Y = gg.tensor(rng.integers(0, 10, (12, 128)))
    return model, opt, X, Y


def _train(model, opt, X, Y, out):
    def run():
        for i in range(len(X)):
            opt.zero_grad()
            loss = F.cross_entropy(model(X[i]), Y[i])
            loss.backward()
            opt.step()
            out.append(np.float32(loss.item()).view(np.uint32))
        out.append(b"".join(p.detach().numpy().tobytes() for p in model.parameters()))

    return run


def test_two_threads_training_at_once_match_training_one_after_the_other():
    seq_a, seq_b = [], []
    _train(*_setup(1), seq_a)()
    _train(*_setup(2), seq_b)()
    for _ in range(2):
        con_a, con_b = [], []
        a, b = _setup(1), _setup(2)
        _in_threads(_train(*a, con_a), _train(*b, con_b))
        assert con_a[:-1] == seq_a[:-1] and con_b[:-1] == seq_b[:-1], "losses differ from the sequential run"
        assert con_a[-1] == seq_a[-1] and con_b[-1] == seq_b[-1], "parameters differ from the sequential run"
