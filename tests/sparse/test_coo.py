"""Sparse COO tensors: construction, coalescing, conversions, what they refuse, and the graph-network
idioms (degree normalisation, sparse features times a weight) against dense NumPy and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def _example():
    return gg.sparse_coo_tensor([[0, 1, 1], [2, 0, 0]], [1.0, 2.0, 3.0], (2, 3))


def test_construction_and_coalescing():
    s = _example()
    assert isinstance(s, gg.Tensor) and s.is_sparse and s.layout is gg.sparse_coo and not gg.ones(1).is_sparse
    assert s.shape == (2, 3) and s.dim() == 2 and s._nnz() == 3 and s.dtype is gg.float32
    assert not s.is_coalesced()
    with pytest.raises(RuntimeError, match="coalesce"):
        s.indices()
    c = s.coalesce()
    assert c.is_coalesced() and c.indices().tolist() == [[0, 1], [2, 0]] and c.values().tolist() == [1.0, 5.0]
    np.testing.assert_array_equal(s.to_dense().numpy(), [[0, 0, 1], [5, 0, 0]])
    assert gg.sparse_coo_tensor([[0, 4]], [1.0, 1.0]).shape == (5,)  # size from the largest index
    assert gg.sparse_coo_tensor([[0, 1]], [1, 1], (2,), dtype=gg.int64).dtype is gg.int64
    assert "nnz=3" in repr(s) and "layout=torch.sparse_coo" in repr(s)


def test_construction_errors():
    with pytest.raises(RuntimeError, match="size is inconsistent with indices: for dim 0, size is 2 but found index 5"):
        gg.sparse_coo_tensor([[5]], [1.0], (2,))
    with pytest.raises(RuntimeError, match="negative"):
        gg.sparse_coo_tensor([[-1]], [1.0], (2,))
    with pytest.raises(gg.ShapeError, match="must match"):
        gg.sparse_coo_tensor([[0, 1]], [1.0], (2,))
    with pytest.raises(gg.ShapeError, match="dense dims"):  # a value row of 2 for a dense dim of 3
        gg.sparse_coo_tensor([[0]], [[1.0, 2.0]], (2, 3))
    with pytest.raises(gg.ShapeError, match="2-d"):
        gg.sparse_coo_tensor([0, 1], [1.0, 2.0], (2,))


def test_a_size_alone_gives_an_empty_coalesced_tensor():
    for s in (gg.sparse_coo_tensor(size=(5, 3)), gg.sparse_coo_tensor((5, 3)), gg.sparse_coo_tensor(gg.Size([5, 3]))):
        assert s.is_sparse and s.shape == (5, 3) and s._nnz() == 0 and s.is_coalesced() and s.dtype is gg.float32
        assert s.sparse_dim() == 2 and s.dense_dim() == 0 and s.indices().shape == (2, 0) and s.values().shape == (0,)
        np.testing.assert_array_equal(s.to_dense().numpy(), np.zeros((5, 3), np.float32))
    d = gg.sparse_coo_tensor([4], dtype=gg.float64, requires_grad=True)
    assert d.dtype is gg.float64 and d.requires_grad and d.to_dense().tolist() == [0.0] * 4
    with pytest.raises(TypeError, match="size alone"):
        gg.sparse_coo_tensor()
    with pytest.raises(TypeError, match="size alone"):
        gg.sparse_coo_tensor(gg.zeros(2, 0, dtype=gg.int64))  # indices without values
    with pytest.raises(TypeError, match="no values"):
        gg.sparse_coo_tensor([[0, 1]], size=(3,))
    with pytest.raises(RuntimeError, match="negative"):
        gg.sparse_coo_tensor((2, -1))


def test_a_size_alone_matches_pytorch():
    torch = pytest.importorskip("torch")
    t, g = torch.sparse_coo_tensor(size=(4, 2, 3)), gg.sparse_coo_tensor(size=(4, 2, 3))
    assert tuple(g.shape) == tuple(t.shape) and g._nnz() == t._nnz() and g.is_coalesced() == t.is_coalesced()
    assert g.sparse_dim() == t.sparse_dim() and g.dense_dim() == t.dense_dim()
    assert tuple(g._indices().shape) == tuple(t._indices().shape) and str(g.dtype) == str(t.dtype)


def test_dense_round_trip_and_moves():
    dense = gg.tensor([[0.0, 2.0], [3.0, 0.0]])
    s = dense.to_sparse()
    assert s.is_coalesced() and s.indices().tolist() == [[0, 1], [1, 0]]
    np.testing.assert_array_equal(s.to_dense().numpy(), dense.numpy())
    assert dense.to_dense() is dense and s.to_sparse() is s
    assert s.double().dtype is gg.float64 and s.to("cpu") is s and s.to(copy=True) is not s
    assert s.clone()._nnz() == 2 and not s.detach().requires_grad
    with pytest.raises(TypeError, match="to_dense"):
        s.numpy()


def test_unsupported_ops_say_what_is_supported():
    s = _example()
    for op in (lambda: s.exp(), lambda: s.view(6), lambda: s[0], lambda: gg.relu(s)):
        with pytest.raises(NotImplementedError, match="to_dense"):
            op()
    with pytest.raises(NotImplementedError, match="only numbers"):
        s * gg.ones(2, 3)
    with pytest.raises(NotImplementedError, match="Use add\\(dense, sparse\\)"):
        s + gg.ones(2, 3)
    with pytest.raises(NotImplementedError, match="compressed"):  # COO times CSR: PyTorch refuses it too
        s @ s.t().to_sparse_csr()


def test_arithmetic():
    s = _example()
    dense = s.to_dense().numpy()
    np.testing.assert_array_equal((2 * s).to_dense().numpy(), 2 * dense)
    np.testing.assert_array_equal((s / 2).to_dense().numpy(), dense / 2)
    np.testing.assert_array_equal((-s).to_dense().numpy(), -dense)
    np.testing.assert_array_equal((s + s).to_dense().numpy(), 2 * dense)
    np.testing.assert_array_equal((s - s).to_dense().numpy(), 0 * dense)
    np.testing.assert_array_equal(s.t().to_dense().numpy(), dense.T)
    np.testing.assert_array_equal((gg.ones(2, 3) + s).numpy(), 1 + dense)
    assert s.sum().item() == 6.0
    np.testing.assert_array_equal(gg.sparse.sum(s, 1).to_dense().numpy(), dense.sum(1))
    ints = gg.sparse_coo_tensor([[0], [1]], [1], (2, 2), dtype=gg.int64)
    promoted = gg.eye(2) + ints
    assert promoted.dtype is gg.float32 and promoted.tolist() == [[1.0, 1.0], [0.0, 1.0]]


def test_products_and_their_gradients():
    rng = np.random.default_rng(0)
    values = gg.tensor(rng.standard_normal(3), dtype=gg.float32, requires_grad=True)
    s = gg.sparse_coo_tensor([[0, 1, 1], [2, 0, 0]], values, (2, 3))
    w = gg.tensor(rng.standard_normal((3, 4)), dtype=gg.float32, requires_grad=True)
    out = gg.mm(s, w)
    dense = s.to_dense().detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), dense @ w.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), dense.T @ np.ones((2, 4)), rtol=1e-6)
    assert s.grad.is_sparse and s.grad._nnz() == 3
    np.testing.assert_allclose(values.grad.numpy(), w.detach().numpy().sum(1)[[2, 0, 0]], rtol=1e-6)
    v = gg.ones(3)
    np.testing.assert_allclose((s @ v).detach().numpy(), dense @ np.ones(3), rtol=1e-6)
    np.testing.assert_allclose((gg.ones(2) @ s).detach().numpy(), np.ones(2) @ dense, rtol=1e-6)
    np.testing.assert_allclose(gg.spmm(s, w).detach().numpy(), out.detach().numpy())
    np.testing.assert_allclose(gg.sparse.addmm(gg.ones(2, 4), s, w, beta=2).detach().numpy(), 2 + out.detach().numpy(),
                               rtol=1e-6)
    with pytest.raises(gg.ShapeError, match="cannot be multiplied"):
        s @ gg.ones(2, 2)
    with pytest.raises(gg.DTypeError, match="same dtype"):
        s @ gg.ones(3, 2, dtype=gg.float64)


@pytest.mark.torch
def test_graph_normalisation_idiom_matches_torch():
    """The GCN examples' preprocessing: A + I, D^-1/2 (A + I) D^-1/2 with sparse diagonals, sparse features."""
    torch = pytest.importorskip("torch")
    edges = np.array([[0, 1], [1, 2], [2, 0], [3, 1]]).T

    def normalised(lib):
        adj = lib.sparse_coo_tensor(lib.tensor(edges), lib.ones(4), (4, 4), dtype=lib.int64, check_invariants=True)
        adj = lib.eye(4) + adj
        degree = lib.sqrt(1 / lib.sum(adj, dim=1))
        d = lib.diag(degree).to_sparse()
        features = lib.tensor(np.arange(8.0, dtype=np.float32).reshape(4, 2)).to_sparse()
        weight = lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
        out = lib.spmm((d @ adj @ d).to_sparse(), lib.mm(features, weight))
        out.sum().backward()
        return out.detach().numpy(), weight.grad.numpy()

    for ours, theirs in zip(normalised(gg), normalised(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
