"""The embedding backward's deterministic scatter-add against the reference (np.add.at)."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import embedding as emb

from .conftest import SIM, tolerances

# (positions, num, dim): more positions than rows (repeats), fewer, a dim of 1, odd sizes.
CASES = [(9, 5, 3), (4, 7, 33)] if SIM else [(1, 1, 1), (40, 7, 5), (13, 50, 1), (257, 31, 67), (6, 1000, 129)]


@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_matches_the_reference(backend, rng, dtype, padding, scale):
    tol = tolerances(dtype)
    for n, num, dim in CASES:
        gy = rng.standard_normal((n, dim)).astype(dtype)
        ids = rng.integers(0, num, n)
        pad = int(ids[0]) if padding else -1  # a padding index that occurs
        got = emb.embedding_backward(backend.xp, backend.dev(gy), backend.dev(ids), num, pad, scale, impl=backend.impl)
        want = emb.reference_backward(np, gy, ids, num, pad, scale)
        np.testing.assert_allclose(backend.host(got), want, **tol, err_msg=str((n, num, dim)))
        if padding:
            assert not backend.host(got)[pad].any()


def test_a_hand_example():
    gy = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0], [5.0, 5.0]])
    ids = np.array([2, 0, 2, 3])
    got = emb.embedding_backward(np, gy, ids, 5, 3, impl="cpu")
    np.testing.assert_array_equal(got, [[10, 20], [0, 0], [101, 202], [0, 0], [0, 0]])
    got = emb.embedding_backward(np, gy, ids, 5, -1, True, impl="cpu")
    np.testing.assert_array_equal(got[2], [50.5, 101])


def _force_parallel(monkeypatch, on: bool) -> None:
    """Every CPU kernel's parallel build (on) or serial build (off), whatever the size: the threshold is
    read by the module that defines the kernels' dispatch class."""
    import sys

    monkeypatch.setattr(sys.modules[type(emb._scatter_cpu).__module__], "PARALLEL_MIN_WORK", 0 if on else 1 << 40)


def test_the_sum_is_in_position_order_on_any_split(rng, monkeypatch):
    # Float additions in a fixed order: bitwise equal serially and in parallel, and to a plain loop.
    gy = (rng.standard_normal((500, 16)) * 10 ** rng.uniform(-4, 4, (500, 1))).astype(np.float32)
    ids = rng.integers(0, 6, 500)
    _force_parallel(monkeypatch, False)
    serial = emb.embedding_backward(np, gy, ids, 6, impl="cpu")
    _force_parallel(monkeypatch, True)
    parallel = emb.embedding_backward(np, gy, ids, 6, impl="cpu")
    assert emb._scatter_cpu.parallel.signatures  # the parallel build ran
    assert np.array_equal(serial, parallel)
    loop = np.zeros((6, 16), np.float32)
    for i, k in enumerate(ids):
        loop[k] += gy[i]
    np.testing.assert_allclose(serial, loop, rtol=1e-5, atol=1e-3)


def test_launcher_refuses_bad_input():
    with pytest.raises(ValueError, match="embedding.backward: expected gy"):
        emb.embedding_backward(np, np.zeros((3, 2), np.float32), np.zeros(4, np.int64), 5, impl="cpu")
    with pytest.raises(TypeError, match="ids must be integers"):
        emb.embedding_backward(np, np.zeros((3, 2), np.float32), np.zeros(3), 5, impl="cpu")


# ------------------------------------------------------------ the op (gpugrad.nn.sparse.embedding)

def test_op_gradient_padding_and_frequency_scaling():
    import gpugrad as gg
    from gpugrad.nn.sparse import embedding

    w = gg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    ids = gg.tensor([[1, 3, 1], [0, 1, 3]])
    out = embedding(ids, w, padding_idx=3, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.detach().numpy()[0, 1], [9, 10, 11])  # the padding row's value is returned
    up = np.arange(18.0).reshape(2, 3, 3)
    out.backward(gg.tensor(up))
    want = np.zeros((4, 3))
    want[1] = (up[0, 0] + up[0, 2] + up[1, 1]) / 3
    want[0] = up[1, 0]
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-15)


@pytest.mark.parametrize("padding_idx,scale", [(None, False), (2, False), (None, True), (-1, True)])
def test_op_first_and_second_derivatives(padding_idx, scale):
    import gpugrad as gg
    from gpugrad.autograd import gradcheck, gradgradcheck
    from gpugrad.nn.sparse import embedding

    rng = np.random.default_rng(5)
    w = gg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    ids = gg.tensor(rng.integers(0, 5, (4, 2)))

    plain = padding_idx is None and not scale

    def fn(w):
        out = embedding(ids, w, padding_idx=padding_idx, scale_grad_by_freq=scale)
        # Squared when the gradient is the derivative, so that the second derivative is not zero. With
        # padding or frequency scaling the gradient is PyTorch's, not the derivative: then the lookup alone,
        # whose backward's own derivative (with respect to the cotangent) is still checked exactly.
        return out * out if plain else out

    if plain:
        assert gradcheck(fn, [w])
    assert gradgradcheck(fn, [w])


def test_op_refuses_bad_input():
    import gpugrad as gg
    from gpugrad.nn.sparse import embedding

    w = gg.randn(4, 2)
    with pytest.raises(IndexError, match="embedding: index 4 is out of range"):
        embedding(gg.tensor([0, 4]), w)
    with pytest.raises(ValueError, match="padding_idx 4 must be within num_embeddings=4"):
        embedding(gg.tensor([0, 1]), w, padding_idx=4)
    # sparse=True is supported now (a sparse gradient): tests/nn/test_embedding_sparse.py
    assert embedding(gg.tensor([0, 1]), w, sparse=True).tolist() == w[gg.tensor([0, 1])].tolist()


@pytest.mark.torch
@pytest.mark.parametrize("padding_idx,scale", [(None, False), (0, True), (-2, False)])
def test_op_matches_torch(padding_idx, scale):
    torch = pytest.importorskip("torch")
    import gpugrad as gg
    from gpugrad.nn.sparse import embedding

    rng = np.random.default_rng(11)
    w = rng.standard_normal((20, 7)).astype(np.float32)
    ids = rng.integers(0, 20, (6, 9))
    up = rng.standard_normal((6, 9, 7)).astype(np.float32)
    ours, theirs = gg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = embedding(gg.tensor(ids), ours, padding_idx=padding_idx, scale_grad_by_freq=scale)
    ref = torch.nn.functional.embedding(torch.tensor(ids), theirs, padding_idx=padding_idx, scale_grad_by_freq=scale)
    out.backward(gg.tensor(up))
    ref.backward(torch.tensor(up))
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


# embedding_bag's sums of bags of rows, and their backward (the scatter reading each position's bag row) -----

def _bounds(rng, n: int) -> np.ndarray:
    """Bag bounds over n positions: empty bags, and a tail in no bag, among them."""
    cuts = np.sort(rng.integers(0, n + 1, 5))
    return np.concatenate([[0], cuts[:2], cuts[1:2], cuts[2:]]).astype(np.int64)


@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bag_sums_and_their_gradients_match_the_reference(backend, rng, dtype, padding):
    tol = tolerances(dtype)
    for n, num, dim in CASES:
        weight = rng.standard_normal((num, dim)).astype(dtype)
        ids = rng.integers(0, num, n)
        bounds = _bounds(rng, n)
        pad = int(ids[0]) if padding else -1
        got = emb.bag_sum(backend.xp, backend.dev(weight), backend.dev(ids), backend.dev(bounds), pad, impl=backend.impl)
        want = emb.reference_bag_sum(np, weight, ids, bounds, pad)
        np.testing.assert_allclose(backend.host(got), want, **tol, err_msg=str((n, num, dim)))
        bags = bounds.size - 1
        rows = np.repeat(np.arange(bags), np.diff(bounds))
        gy = rng.standard_normal((bags, dim)).astype(dtype)
        taken = ids[:rows.size]
        got = emb.embedding_backward(backend.xp, backend.dev(gy), backend.dev(taken), num, pad, rows=backend.dev(rows),
                                     impl=backend.impl)
        want = emb.reference_backward(np, gy[rows], taken, num, pad)
        np.testing.assert_allclose(backend.host(got), want, **tol, err_msg=str((n, num, dim)))


def test_a_bag_adds_its_rows_in_position_order_on_any_split(rng, monkeypatch):
    # the bits of zeros index-added by position (the reference), serially and in parallel
    weight = (rng.standard_normal((7, 16)) * 10 ** rng.uniform(-4, 4, (7, 1))).astype(np.float32)
    ids = rng.integers(0, 7, 500)
    bounds = np.array([0, 3, 3, 250, 499], np.int64)
    want = emb.reference_bag_sum(np, weight, ids, bounds, 2)
    for parallel in (False, True):
        _force_parallel(monkeypatch, parallel)
        assert np.array_equal(emb.bag_sum(np, weight, ids, bounds, 2, impl="cpu"), want)
    assert not want[1].any()  # an empty bag


def test_bag_sum_names_bad_input():
    w = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"embedding.bag_sum: expected weight \(num, dim\), ids \(n,\) and bounds"):
        emb.bag_sum(np, w, np.zeros((2, 2), np.int64), np.array([0, 2]), impl="cpu")
    with pytest.raises(TypeError, match="embedding.bag_sum: ids and bounds must be integers"):
        emb.bag_sum(np, w, np.zeros(2), np.array([0, 2]), impl="cpu")
