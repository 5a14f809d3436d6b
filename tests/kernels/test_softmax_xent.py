"""Fused softmax cross-entropy against the reference (and PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import softmax_xent as sx

from .conftest import SIM, tolerances

SHAPES = [(7, 5), (9, 40)] if SIM else [(1, 1), (7, 5), (33, 17), (3, 1001), (257, 10)]
CONFIGS = [(0.0, False), (0.1, True)] if SIM else [(0.0, False), (0.0, True), (0.1, False), (0.2, True)]


def _case(rng, n, c, dtype, scale=3.0):
    x = (rng.standard_normal((n, c)) * scale).astype(dtype)
    t = rng.integers(0, c, n)
    if n > 2:
        t[rng.choice(n, 2, replace=False)] = -100
    return x, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_reference(backend, rng, dtype):
    for n, c in SHAPES:
        x, t = _case(rng, n, c, dtype)
        for ls, weighted in CONFIGS:
            w = rng.random(c).astype(dtype) + 0.5 if weighted else None
            loss, d = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t),
                                               label_smoothing=ls,
                                               weight=None if w is None else backend.dev(w),
                                               impl=backend.impl)
            loss_ref, d_ref = sx.reference_softmax_cross_entropy(np, x, t, label_smoothing=ls, weight=w)
            tol = tolerances(dtype)
            np.testing.assert_allclose(backend.host(loss), loss_ref, **tol, err_msg=f"{(n, c, ls, weighted)}")
            np.testing.assert_allclose(backend.host(d), d_ref, **tol, err_msg=f"{(n, c, ls, weighted)}")
            ignored = t == -100
            assert np.all(backend.host(loss)[ignored] == 0)
            assert np.all(backend.host(d)[ignored] == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_large_logits(backend, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, 1e4]], dtype=dtype)
    t = np.array([1, 0, 2])
    loss, d = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t),
                                       label_smoothing=0.1, impl=backend.impl)
    loss, d = backend.host(loss), backend.host(d)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(d))
    loss_ref, d_ref = sx.reference_softmax_cross_entropy(np, x, t, label_smoothing=0.1)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-6)
    np.testing.assert_allclose(d, d_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d.sum(axis=1), 0, atol=1e-6)


def test_out_of_range_target_raises_before_launch(backend, monkeypatch):
    monkeypatch.setattr(sx, "_softmax_xent_cpu", _forbidden)
    monkeypatch.setattr(sx, "launch", _forbidden)
    x = np.zeros((3, 4), np.float32)
    for bad in (4, -1, 99):
        t = np.array([0, bad, -100])
        with pytest.raises(IndexError, match=rf"softmax_cross_entropy.*{bad}.*C=4"):
            sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t), impl=backend.impl)


def _forbidden(*args, **kwargs):
    raise AssertionError("kernel launched despite invalid input")


@pytest.mark.skipif(SIM, reason="compares with PyTorch in the normal process")
@pytest.mark.torch
@pytest.mark.parametrize("ls", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_pytorch(rng, ls, weighted):
    torch = pytest.importorskip("torch")
    x, t = _case(rng, 33, 17, np.float64)
    w = rng.random(17) + 0.5 if weighted else None
    loss, d = sx.softmax_cross_entropy(np, x, t, label_smoothing=ls, weight=w, impl="cpu")
    tx = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.cross_entropy(
        tx, torch.tensor(t), weight=None if w is None else torch.tensor(w),
        ignore_index=-100, label_smoothing=ls, reduction="none")
    out.sum().backward()
    np.testing.assert_allclose(loss, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
