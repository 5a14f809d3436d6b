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
            loss, d, den = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t),
                                                    label_smoothing=ls,
                                                    weight=None if w is None else backend.dev(w),
                                                    impl=backend.impl)
            assert den is None
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
    loss, d, _ = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t),
                                          label_smoothing=0.1, impl=backend.impl)
    loss, d = backend.host(loss), backend.host(d)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(d))
    loss_ref, d_ref = sx.reference_softmax_cross_entropy(np, x, t, label_smoothing=0.1)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-6)
    np.testing.assert_allclose(d, d_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d.sum(axis=1), 0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reductions_match_reference(backend, rng, dtype, reduction):
    # With 4 rows per CUDA block, (101, 7) has many blocks feed the last-block reduction; the simulator
    # (a Python thread per CUDA thread) caps the grid at 2 blocks, which (13, 5) makes loop over rows.
    for n, c in [(13, 5)] if SIM else [(1, 3), (101, 7)]:
        x, t = _case(rng, n, c, dtype)
        w = rng.random(c).astype(dtype) + 0.5
        for weight in (w,) if SIM else (None, w):
            kw = dict(label_smoothing=0.1, reduction=reduction)
            runs = [sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t), impl=backend.impl,
                                             weight=None if weight is None else backend.dev(weight), **kw)
                    for _ in range(2)]
            loss_ref, d_ref, den_ref = sx.softmax_cross_entropy(np, x, t, weight=weight, impl="reference", **kw)
            loss, d, den = (backend.host(a) for a in runs[0])
            assert loss.shape == () and den.shape == ()
            tol = tolerances(dtype)
            np.testing.assert_allclose(loss, loss_ref, **tol)
            np.testing.assert_allclose(den, den_ref, **tol)
            np.testing.assert_allclose(d, d_ref, **tol)
            assert backend.host(runs[1][0]) == loss  # a fixed summation order: the same bits every run
            # The reference's formula: the weighted mean is over sum of w[t_i] of the rows kept.
            kept = t != -100
            w_t = (np.ones(c) if weight is None else weight)[t[kept]]
            expect_den = w_t.sum() if reduction == "mean" else 1.0
            np.testing.assert_allclose(den_ref, expect_den, rtol=1e-6)
            rows, _, _ = sx.softmax_cross_entropy(np, x, t, weight=weight, label_smoothing=0.1, impl="reference")
            np.testing.assert_allclose(loss_ref, rows.sum() / expect_den, rtol=1e-6)
    if backend.impl == "cuda":
        from gpugrad.kernels import _launch

        tickets = [buf for (name, _), (buf, _) in _launch._ZEROED.items() if name.startswith(sx.OP)]
        assert tickets and not any(backend.host(b).any() for b in tickets)  # the last block reset it


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the simulator divides 0/0 in NumPy
def test_mean_with_every_row_ignored_is_nan_with_zero_gradient(backend):
    x = np.ones((5, 3), np.float32)
    t = np.full(5, -100)
    loss, d, den = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t), reduction="mean",
                                            impl=backend.impl)
    assert np.isnan(backend.host(loss)) and backend.host(den) == 1
    assert not backend.host(d).any()
    empty = np.zeros((0, 3), np.float32), np.zeros(0, np.int64)
    for reduction, expect in (("sum", 0.0), ("mean", np.nan)):
        loss, _, den = sx.softmax_cross_entropy(backend.xp, *map(backend.dev, empty), reduction=reduction,
                                                impl=backend.impl)
        np.testing.assert_array_equal(backend.host(loss), expect)
        assert backend.host(den) == 1


def test_without_grad_writes_no_gradient(backend, rng):
    x, t = _case(rng, 9, 6, np.float32)
    with_grad = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t), impl=backend.impl)
    loss, d, _ = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t), need_grad=False,
                                          impl=backend.impl)
    assert d is None
    np.testing.assert_array_equal(backend.host(loss), backend.host(with_grad[0]))


def test_out_of_range_target_raises_and_the_next_call_works(backend):
    x = np.zeros((3, 4), np.float32)
    for bad in (4, -1) if SIM else (4, -1, 99):
        t = np.array([0, bad, -100])
        kind = "negative class index" if bad < 0 else "class index"
        for reduction in ("none", "mean"):
            with pytest.raises(IndexError, match=rf"softmax_cross_entropy: target contains {kind} {bad}, "
                                                 r"out of range for 4 classes \(valid 0\.\.3"):
                sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(t), reduction=reduction,
                                         impl=backend.impl)
        # The flag was cleared: a valid call after the error does not raise.
        loss, _, _ = sx.softmax_cross_entropy(backend.xp, backend.dev(x), backend.dev(np.array([0, 3, 1])),
                                              impl=backend.impl)
        np.testing.assert_allclose(backend.host(loss), np.log(4), rtol=1e-6)
    with pytest.raises(IndexError, match="class index 4"):
        sx.softmax_cross_entropy(np, x, np.array([0, 4, 1]), impl="reference")


@pytest.mark.skipif(SIM, reason="compares with PyTorch in the normal process")
@pytest.mark.torch
@pytest.mark.parametrize("ls", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_pytorch(rng, ls, weighted):
    torch = pytest.importorskip("torch")
    x, t = _case(rng, 33, 17, np.float64)
    w = rng.random(17) + 0.5 if weighted else None
    loss, d, _ = sx.softmax_cross_entropy(np, x, t, label_smoothing=ls, weight=w, impl="cpu")
    tx = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.cross_entropy(
        tx, torch.tensor(t), weight=None if w is None else torch.tensor(w),
        ignore_index=-100, label_smoothing=ls, reduction="none")
    out.sum().backward()
    np.testing.assert_allclose(loss, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
