"""Sparse COO tensors with dense dims per entry (hybrid, as an embedding's gradient), PyTorch's rule for
sparse + sparse, the in-place add_/mul_/zero_ gradients need, and errors that name the function called;
against NumPy and PyTorch (torch-marked)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.sparse.coo import add_into_dense_


def _rows(indices, values, size=(5, 2), coalesced=None):
    return gg.sparse_coo_tensor([indices], gg.tensor(values, dtype=gg.float64), size, is_coalesced=coalesced)


def _dense(indices, values, size=(5, 2)):
    out = np.zeros(size)
    np.add.at(out, np.asarray(indices), np.asarray(values, dtype=float))
    return out


def test_hybrid_construction_and_coalesce():
    vals = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    s = _rows([3, 0, 3], vals)
    assert (s.sparse_dim(), s.dense_dim(), tuple(s.shape), s._nnz(), s.numel()) == (1, 1, (5, 2), 3, 10)
    assert not s.is_coalesced()
    np.testing.assert_array_equal(s.to_dense().numpy(), _dense([3, 0, 3], vals))
    c = s.coalesce()
    assert c.is_coalesced() and c.indices().numpy().tolist() == [[0, 3]]
    np.testing.assert_array_equal(c.values().numpy(), [[3.0, 4.0], [6.0, 8.0]])
    inferred = gg.sparse_coo_tensor([[0, 4]], gg.ones(2, 3))
    assert tuple(inferred.shape) == (5, 3)  # sparse sizes from the indices, dense ones from the values
    assert _rows([1], [[1.0, 1.0]]).is_coalesced() and _rows([], np.zeros((0, 2))).is_coalesced()  # nnz < 2
    with pytest.raises(gg.ShapeError, match=r"sparse_dim \(1\) \+ dense_dim \(1\)"):
        gg.sparse_coo_tensor([[0]], gg.ones(1, 2), (5,))
    with pytest.raises(gg.ShapeError, match="at least one dim"):
        gg.sparse_coo_tensor([[0]], gg.tensor(1.0), (5,))


def test_hybrid_refusals():
    s = _rows([3, 0], [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(gg.ShapeError, match="t: expects a tensor with <= 2 sparse and 0 dense dimensions"):
        s.t()
    with pytest.raises(NotImplementedError, match="only sparse dims"):
        s.transpose(0, 1)
    with pytest.raises(NotImplementedError, match="2 sparse dims"):
        s @ gg.ones(2, 2, dtype=gg.float64)
    with pytest.raises(gg.ShapeError, match="same density"):
        s + gg.sparse_coo_tensor([[0], [1]], gg.ones(1, dtype=gg.float64), (5, 2))


def test_sum_of_two_follows_pytorch():
    a = _rows([3, 0, 3], [[1.0, 1.0]] * 3)
    b = _rows([1, 3], [[2.0, 2.0]] * 2)
    cat = a + b  # uncoalesced: concatenated, in order
    assert not cat.is_coalesced() and cat._indices().numpy().tolist() == [[3, 0, 3, 1, 3]]
    np.testing.assert_array_equal(cat.to_dense().numpy(), _dense([3, 0, 3], [[1, 1]] * 3) + _dense([1, 3], [[2, 2]] * 2))
    merged = a.coalesce() + b.coalesce()  # both coalesced: merged, coalesced
    assert merged.is_coalesced() and merged._indices().numpy().tolist() == [[0, 1, 3]]
    np.testing.assert_array_equal(merged.to_dense().numpy(), cat.to_dense().numpy())
    small = gg.sparse_coo_tensor([[0, 1, 0]], gg.ones(3, dtype=gg.float64), (2,))
    grown = small + small  # 6 entries for 2 elements: coalesced to bound the growth
    assert grown.is_coalesced() and grown._values().numpy().tolist() == [4.0, 2.0]


def test_in_place_ops():
    a = _rows([3, 0], [[1.0, 1.0], [2.0, 2.0]])
    version = a._version
    same = a.add_(_rows([3], [[5.0, 5.0]]), alpha=2.0)
    assert same is a and a._version > version and a._indices().numpy().tolist() == [[3, 0, 3]]
    np.testing.assert_array_equal(a.to_dense().numpy(), _dense([3, 0, 3], [[1, 1], [2, 2], [10, 10]]))
    a.mul_(0.5)
    np.testing.assert_array_equal(a.to_dense().numpy(), 0.5 * _dense([3, 0, 3], [[1, 1], [2, 2], [10, 10]]))
    with pytest.raises(NotImplementedError, match=r"add\(sparse, dense\) is not supported"):
        a.add_(gg.ones(5, 2, dtype=gg.float64))
    with pytest.raises(gg.DTypeError, match="can't be cast"):
        gg.sparse_coo_tensor([[0]], gg.ones(1, 2), (5, 2)).add_(a)  # float32 += float64
    dense = gg.zeros(5, 2, dtype=gg.float64)
    add_into_dense_(dense, a, alpha=-2.0)
    np.testing.assert_array_equal(dense.numpy(), -a.to_dense().numpy() * 2)
    copied = copy.deepcopy(a)
    a.zero_()
    assert a._nnz() == 0 and a.is_coalesced() and tuple(a.shape) == (5, 2) and tuple(a._values().shape) == (0, 2)
    assert copied._nnz() == 3  # a deep copy keeps its own entries


def test_dense_ops_name_the_function_called():
    s = _rows([3], [[1.0, 2.0]])
    for call, name in [(lambda: s.exp(), "exp"), (lambda: gg.relu(s), "relu"), (lambda: s.view(10), "view"),
                       (lambda: gg.nn.utils.clip_grad_value_([_with_grad(s)], 1.0), "clip_grad_value_")]:
        with pytest.raises(NotImplementedError, match=f"^{name}: a sparse tensor .* call .to_dense\\(\\) first"):
            call()


def _with_grad(g):
    p = gg.nn.Parameter(gg.zeros(tuple(g.shape), dtype=g.dtype))
    p.grad = g
    return p


@pytest.mark.torch
def test_hybrid_sums_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ia, ib = rng.integers(0, 5, 4), rng.integers(0, 5, 3)
    va, vb = rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    out = []
    for lib in (gg, torch):
        a = lib.sparse_coo_tensor(lib.tensor(ia[None]), lib.tensor(va), (5, 2)).coalesce()
        b = lib.sparse_coo_tensor(lib.tensor(ib[None]), lib.tensor(vb), (5, 2)).coalesce()
        s = a + b
        out.append((s.is_coalesced(), s._indices().numpy(), s._values().numpy(), (a * 3).to_dense().numpy()))
    assert out[0][0] == out[1][0]
    for x, y in zip(out[0][1:], out[1][1:]):
        np.testing.assert_allclose(x, y, rtol=1e-15)


def test_transpose_swaps_sparse_dims_and_keeps_the_dense_one():
    # PyG's edge-attribute adjacency: (nodes, nodes, features), transposed to (dst, src, features).
    indices = gg.tensor([[0, 1, 2], [1, 2, 0]])
    values = gg.arange(6.0).view(3, 2)
    a = gg.sparse_coo_tensor(indices, values, (3, 4, 2)).coalesce()
    t = a.transpose(0, 1)
    assert tuple(t.shape) == (4, 3, 2) and not t.is_coalesced()
    np.testing.assert_array_equal(t.to_dense().numpy(), a.to_dense().numpy().transpose(1, 0, 2))
    assert a.transpose(1, 1).is_coalesced()
