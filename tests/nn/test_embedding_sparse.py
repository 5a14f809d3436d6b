"""F.embedding / nn.Embedding with sparse=True (gpugrad/nn/sparse.py and the engine's sparse rule):
the weight's gradient is a sparse COO tensor with one row per lookup, padding rows left out, summed over
backward calls and within a pass as PyTorch sums it; checked against NumPy always and PyTorch when
installed (torch-marked)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn import functional as F


def _weight(rng, rows=7, cols=3):
    return nn.Parameter(gg.tensor(rng.normal(size=(rows, cols)), dtype=gg.float64))


def _rows(idx: np.ndarray, cot: np.ndarray, padding_idx=None):
    """The expected (indices, values): each position's index and cotangent row, in input order, padding out."""
    flat, rows = idx.reshape(-1), cot.reshape(-1, cot.shape[-1])
    keep = np.ones(flat.shape, dtype=bool) if padding_idx is None else flat != padding_idx
    return flat[keep], rows[keep]


def _dense(indices: np.ndarray, values: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, values.shape[-1]))
    np.add.at(out, indices, values)
    return out


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_gradient_is_one_sparse_row_per_lookup(rng, padding_idx):
    w = _weight(rng)
    idx = np.array([[1, 2, 1], [6, 5, 2]])
    cot = rng.normal(size=(2, 3, 3))
    out = F.embedding(gg.tensor(idx), w, padding_idx=padding_idx, sparse=True)
    np.testing.assert_array_equal(out.detach().numpy(), w.detach().numpy()[idx])  # the forward is unchanged
    out.backward(gg.tensor(cot))
    g = w.grad
    assert g.is_sparse and g.layout is gg.sparse_coo and isinstance(g, gg.Tensor)
    assert (g.sparse_dim(), g.dense_dim(), tuple(g.shape), g.dtype) == (1, 1, (7, 3), gg.float64)
    assert not g.is_coalesced()
    want_idx, want_val = _rows(idx, cot, None if padding_idx is None else padding_idx % 7)
    np.testing.assert_array_equal(g._indices().numpy(), want_idx[None, :])
    np.testing.assert_array_equal(g._values().numpy(), want_val)
    np.testing.assert_allclose(g.to_dense().numpy(), _dense(want_idx, want_val, 7), rtol=1e-15)
    c = g.coalesce()
    assert c.is_coalesced() and c.indices().numpy().tolist() == [sorted(set(want_idx.tolist()))]
    np.testing.assert_allclose(c.to_dense().numpy(), g.to_dense().numpy(), rtol=1e-15)


def test_same_values_as_the_dense_gradient(rng):
    idx = gg.tensor(rng.integers(0, 7, size=(4, 5)))
    cot = gg.tensor(rng.normal(size=(4, 5, 3)))
    grads = []
    for sparse in (False, True):
        w = _weight(np.random.default_rng(0))
        F.embedding(idx, w, padding_idx=3, sparse=sparse).backward(cot)
        grads.append(w.grad.to_dense().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-13, atol=1e-15)


def test_edge_inputs(rng):
    w = _weight(rng)
    F.embedding(gg.tensor([2, 2]), w, padding_idx=2, sparse=True).sum().backward()  # every lookup is padding
    assert w.grad._nnz() == 0 and tuple(w.grad._values().shape) == (0, 3) and w.grad.is_coalesced()
    assert not w.grad.to_dense().numpy().any()
    w.grad = None
    F.embedding(gg.tensor(4), w, sparse=True).sum().backward()  # a 0-d index: one row, coalesced (nnz < 2)
    assert w.grad._indices().numpy().tolist() == [[4]] and w.grad.is_coalesced()
    w.grad = None
    F.embedding(gg.tensor([0, 6], dtype=gg.int32), w, sparse=True).sum().backward()
    assert w.grad._indices().dtype is gg.int64


def test_max_norm_still_renormalises_in_place(rng):
    w = nn.Parameter(gg.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], dtype=gg.float64))
    out = F.embedding(gg.tensor([0, 2, 0]), w, max_norm=1.0, sparse=True)
    np.testing.assert_allclose(w.detach().numpy()[[0, 2]], [[0.6, 0.8]] * 2, rtol=1e-6)
    np.testing.assert_array_equal(w.detach().numpy()[1], [0.3, 0.4])
    out.sum().backward()
    assert w.grad._indices().numpy().tolist() == [[0, 2, 0]]


def test_backward_calls_concatenate_in_place(rng):
    w = _weight(rng)
    a, b = np.array([1, 4, 1]), np.array([[0, 4]])
    F.embedding(gg.tensor(a), w, sparse=True).sum().backward()
    first = w.grad
    version = first._version
    F.embedding(gg.tensor(b), w, sparse=True).sum().backward()
    assert w.grad is first and first._version > version  # the same tensor, as PyTorch's in-place +=
    assert not first.is_coalesced()
    assert first._indices().numpy().tolist() == [[1, 4, 1, 0, 4]]
    np.testing.assert_array_equal(first._values().numpy(), np.ones((5, 3)))


def test_accumulation_coalesces_once_nnz_exceeds_numel():
    w = nn.Parameter(gg.zeros(2, 2, dtype=gg.float64))  # 4 elements
    for _ in range(2):
        F.embedding(gg.tensor([0, 1]), w, sparse=True).sum().backward()
    assert w.grad._nnz() == 4 and not w.grad.is_coalesced()
    F.embedding(gg.tensor([1]), w, sparse=True).sum().backward()  # 5 > 4: coalesced, as PyTorch bounds it
    assert w.grad.is_coalesced() and w.grad._nnz() == 2
    np.testing.assert_array_equal(w.grad.to_dense().numpy(), [[2.0, 2.0], [3.0, 3.0]])


def test_dense_and_sparse_gradients_sum_to_dense(rng):
    w = _weight(rng)
    (w * 2).sum().backward()  # dense first: the sparse one is added into it, in place
    dense = w.grad
    F.embedding(gg.tensor([3, 3]), w, sparse=True).sum().backward()
    assert w.grad is dense and not dense.is_sparse
    want = np.full((7, 3), 2.0)
    want[3] += 2
    np.testing.assert_array_equal(dense.numpy(), want)

    w.grad = None  # sparse first: a dense one makes a new, dense gradient
    F.embedding(gg.tensor([3, 3]), w, sparse=True).sum().backward()
    (w * 2).sum().backward()
    assert not w.grad.is_sparse
    np.testing.assert_array_equal(w.grad.numpy(), want)

    for order in (0, 1):  # within one pass, in either order of arrival
        w.grad = None
        terms = [F.embedding(gg.tensor([3, 3]), w, sparse=True).sum(), (w * 2).sum()]
        (terms[order] + terms[1 - order]).backward()
        assert not w.grad.is_sparse
        np.testing.assert_array_equal(w.grad.numpy(), want)


def test_two_lookups_in_one_pass_stay_sparse(rng):
    w = _weight(rng)
    loss = F.embedding(gg.tensor([1, 2]), w, sparse=True).sum() + F.embedding(gg.tensor([2, 5, 5]), w, sparse=True).sum()
    loss.backward()
    assert w.grad.is_sparse and w.grad._nnz() == 5 and not w.grad.is_coalesced()
    np.testing.assert_array_equal(w.grad.to_dense().numpy()[:, 0], [0, 1, 2, 0, 0, 2, 0])


def test_a_weight_that_is_not_a_leaf_gets_a_dense_gradient(rng):
    w = _weight(rng)
    F.embedding(gg.tensor([1, 1, 4]), w * 3, sparse=True).sum().backward()
    assert not w.grad.is_sparse  # made dense where it entered the product's backward
    want = np.zeros((7, 3))
    want[1], want[4] = 6.0, 3.0
    np.testing.assert_array_equal(w.grad.numpy(), want)


def test_hooks_grad_and_inputs_see_the_sparse_gradient(rng):
    w = _weight(rng)
    seen = []
    w.register_hook(lambda g: seen.append(g.is_sparse))
    out = F.embedding(gg.tensor([0, 3]), w, sparse=True)
    (g,) = gg.autograd.grad(out.sum(), w, retain_graph=True)
    assert g.is_sparse and g._indices().numpy().tolist() == [[0, 3]] and w.grad is None
    out.sum().backward(inputs=[w])
    assert w.grad.is_sparse and seen == [True, True]


def test_gradient_does_not_alias_an_upstream_gradient(rng):
    w = _weight(rng)
    out = F.embedding(gg.tensor([0, 3]), w, sparse=True)
    kept = []
    out.register_hook(lambda g: kept.append(g))
    out.backward(gg.tensor(np.ones((2, 3))))
    w.grad.mul_(5.0)  # in place on the gradient's values (what clipping does)
    np.testing.assert_array_equal(kept[0].numpy(), np.ones((2, 3)))


def test_create_graph_differentiates_the_sparse_gradient(rng):
    w = _weight(rng)
    idx = gg.tensor([1, 2, 1])
    out = F.embedding(idx, w, sparse=True)
    (out ** 2).sum().backward(create_graph=True)
    g = w.grad
    assert g.is_sparse and g.requires_grad
    w0 = w.detach().numpy()
    np.testing.assert_allclose(g.to_dense().detach().numpy()[1], 4 * w0[1], rtol=1e-14)  # 2 w_1, looked up twice
    w.grad = None
    (gw,) = gg.autograd.grad((g.to_dense() ** 2).sum(), w)
    want = np.zeros((7, 3))
    want[1] = 32 * w0[1]  # d/dw_1 of (4 w_1)^2
    want[2] = 8 * w0[2]  # d/dw_2 of (2 w_2)^2
    np.testing.assert_allclose(gw.to_dense().numpy(), want, rtol=1e-13)


def test_module_and_from_pretrained(rng):
    emb = nn.Embedding(5, 2, sparse=True, padding_idx=0)
    assert emb.sparse and repr(emb) == "Embedding(5, 2, padding_idx=0, sparse=True)"
    emb(gg.tensor([[0, 3], [3, 1]])).sum().backward()
    assert emb.weight.grad.is_sparse and emb.weight.grad._indices().numpy().tolist() == [[3, 3, 1]]
    pre = nn.Embedding.from_pretrained(gg.ones(4, 2), freeze=False, sparse=True)
    pre(gg.tensor([2])).sum().backward()
    assert pre.sparse and pre.weight.grad.is_sparse


def test_grad_setter_takes_sparse_tensors_that_fit(rng):
    w = _weight(rng)
    w.grad = gg.sparse_coo_tensor([[1]], gg.ones(1, 3, dtype=gg.float64), (7, 3))
    assert w.grad.is_sparse
    with pytest.raises(gg.ShapeError, match="different size"):
        w.grad = gg.sparse_coo_tensor([[1]], gg.ones(1, 2, dtype=gg.float64), (7, 2))
    with pytest.raises(gg.DTypeError, match="different type"):
        w.grad = gg.sparse_coo_tensor([[1]], gg.ones(1, 3), (7, 3))


def test_refusals_name_the_function(rng):
    w = _weight(rng)
    out = F.embedding(gg.tensor([1, 1]), w, scale_grad_by_freq=True, sparse=True)  # forward is fine
    with pytest.raises(RuntimeError, match="embedding_backward: scale_grad_by_freq not supported with sparse gradients"):
        out.sum().backward()
    F.embedding(gg.tensor([1]), w, sparse=True).sum().backward()
    with pytest.raises(NotImplementedError, match="^clip_grad_norm_: a sparse tensor"):  # PyTorch raises too
        nn.utils.clip_grad_norm_([w], 1.0)


@pytest.mark.torch
def test_indices_and_values_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    w0 = rng.normal(size=(7, 3))
    idx = rng.integers(0, 7, size=(3, 4))
    cot = rng.normal(size=(3, 4, 3))
    grads = []
    for lib in (gg, torch):
        w = lib.nn.Parameter(lib.tensor(w0))
        lib.nn.functional.embedding(lib.tensor(idx), w, padding_idx=int(idx[0, 0]), sparse=True).backward(
            lib.tensor(cot))
        first = (w.grad._indices().numpy().copy(), w.grad._values().detach().numpy().copy(), w.grad.is_coalesced())
        # A second call whose gradient reaches the lookup as a broadcast (PyTorch concatenates those too).
        lib.nn.functional.embedding(lib.tensor(idx[1]), w, sparse=True).sum().backward()
        grads.append((first, w.grad._indices().numpy(), w.grad._values().detach().numpy(), w.grad.is_coalesced()))
    (f_ours, i_ours, v_ours, c_ours), (f_theirs, i_theirs, v_theirs, c_theirs) = grads
    np.testing.assert_array_equal(f_ours[0], f_theirs[0])
    np.testing.assert_allclose(f_ours[1], f_theirs[1], rtol=1e-15)
    assert f_ours[2] == f_theirs[2] and c_ours == c_theirs
    np.testing.assert_array_equal(i_ours, i_theirs)
    np.testing.assert_allclose(v_ours, v_theirs, rtol=1e-15)


@pytest.mark.torch
def test_pass_sums_and_second_order_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    w0 = rng.normal(size=(6, 2))
    results = []
    for lib in (gg, torch):
        f = lib.nn.functional
        w = lib.nn.Parameter(lib.tensor(w0))
        (f.embedding(lib.tensor([1, 2]), w, sparse=True).sum() + f.embedding(lib.tensor([2, 5, 5]), w, sparse=True).sum()).backward()
        two = (w.grad._indices().numpy().copy(), w.grad.is_sparse)
        w.grad = None
        out = f.embedding(lib.tensor([1, 4, 1]), w, sparse=True)
        (g,) = lib.autograd.grad((out ** 3).sum(), w, create_graph=True)
        (h,) = lib.autograd.grad((g.to_dense() * lib.tensor(np.arange(12.0).reshape(6, 2))).sum(), w)
        results.append((two, g.is_sparse, g.to_dense().detach().numpy(), h.to_dense().numpy()))
    ours, theirs = results
    np.testing.assert_array_equal(ours[0][0], theirs[0][0])
    assert ours[0][1] == theirs[0][1] and ours[1] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-14)
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-14)
