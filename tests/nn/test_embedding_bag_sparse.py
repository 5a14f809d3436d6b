"""F.embedding_bag / nn.EmbeddingBag with sparse=True (gpugrad/nn/functional_normalization.py over
nn/sparse.py's SparseEmbeddingLookup): the weight's gradient is a sparse COO tensor with one row per
index in a bag, in input order, padding left out, its value the bag's output gradient (times the
sample's weight, over the bag's size for mean). Checked against NumPy and central differences always,
and against PyTorch when installed (torch-marked)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn import functional as F

ROWS, COLS = 7, 3
IDX = np.array([1, 2, 4, 5, 4, 0, 3, 6, 1])
OFFSETS = np.array([0, 2, 2, 5])  # bags [1, 2], [], [4, 5, 4], [0, 3, 6, 1]


def _weight(rng):
    return nn.Parameter(gg.tensor(rng.normal(size=(ROWS, COLS)), dtype=gg.float64))


def _expected(idx, bag_of, cot, mode, padding_idx=None, psw=None):
    """(indices, values) by hand: each position in a bag, in order, padding out; its bag's cotangent row,
    times its weight (sum) or over the bag's non-padding count (mean)."""
    keep = bag_of >= 0
    if padding_idx is not None:
        keep &= idx != padding_idx
    values = cot[bag_of[keep]]
    if psw is not None:
        values = values * psw[keep][:, None]
    if mode == "mean":
        counts = np.bincount(bag_of[keep], minlength=cot.shape[0])
        values = values / counts[bag_of[keep]][:, None]
    return idx[keep], values


def _bag_of(offsets, n, include_last_offset=False):
    ends = list(offsets[1:]) + ([] if include_last_offset else [n])
    bag_of = np.full(n, -1)
    for b, (start, end) in enumerate(zip(offsets, ends)):
        bag_of[start:end] = b
    return bag_of


@pytest.mark.parametrize("mode,padding_idx,weighted", [("sum", None, False), ("sum", 4, False), ("sum", -3, True),
                                                       ("mean", None, False), ("mean", 4, False)])
def test_gradient_is_one_sparse_row_per_index_in_a_bag(rng, mode, padding_idx, weighted):
    w = _weight(rng)
    psw = rng.normal(size=IDX.size) if weighted else None
    out = F.embedding_bag(gg.tensor(IDX), w, gg.tensor(OFFSETS), mode=mode, sparse=True, padding_idx=padding_idx,
                          per_sample_weights=None if psw is None else gg.tensor(psw))
    dense = F.embedding_bag(gg.tensor(IDX), w, gg.tensor(OFFSETS), mode=mode, padding_idx=padding_idx,
                            per_sample_weights=None if psw is None else gg.tensor(psw))
    np.testing.assert_array_equal(out.detach().numpy(), dense.detach().numpy())  # the forward is unchanged
    cot = rng.normal(size=(4, COLS))
    out.backward(gg.tensor(cot))
    g = w.grad
    assert g.is_sparse and g.layout is gg.sparse_coo
    assert (g.sparse_dim(), g.dense_dim(), tuple(g.shape), g.dtype) == (1, 1, (ROWS, COLS), gg.float64)
    assert not g.is_coalesced()
    pad = None if padding_idx is None else padding_idx % ROWS
    want_idx, want_val = _expected(IDX, _bag_of(OFFSETS, IDX.size), cot, mode, pad, psw)
    np.testing.assert_array_equal(g._indices().numpy(), want_idx[None, :])
    np.testing.assert_allclose(g._values().numpy(), want_val, rtol=1e-14)
    w.grad = None
    dense.backward(gg.tensor(cot))  # the same gradient, densely
    np.testing.assert_allclose(g.to_dense().numpy(), w.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_two_d_input_and_include_last_offset(rng):
    w = _weight(rng)
    idx2 = IDX[:8].reshape(2, 4)
    cot = rng.normal(size=(2, COLS))
    F.embedding_bag(gg.tensor(idx2), w, mode="mean", sparse=True).backward(gg.tensor(cot))
    want_idx, want_val = _expected(idx2.reshape(-1), np.repeat([0, 1], 4), cot, "mean")
    np.testing.assert_array_equal(w.grad._indices().numpy(), want_idx[None, :])
    np.testing.assert_allclose(w.grad._values().numpy(), want_val, rtol=1e-14)
    # include_last_offset: offsets end with the last bag's end; a tail past it is in no bag and no entry
    # (PyTorch 2.13's sparse backward fails with an IndexError on such a tail).
    for offsets in (np.array([0, 2, 9]), np.array([0, 2, 5])):
        w.grad = None
        cot = rng.normal(size=(2, COLS))
        F.embedding_bag(gg.tensor(IDX), w, gg.tensor(offsets), mode="sum", sparse=True,
                        include_last_offset=True).backward(gg.tensor(cot))
        want_idx, want_val = _expected(IDX, _bag_of(offsets, IDX.size, True), cot, "sum")
        np.testing.assert_array_equal(w.grad._indices().numpy(), want_idx[None, :])
        np.testing.assert_allclose(w.grad._values().numpy(), want_val, rtol=1e-14)


def test_matches_central_differences(rng):
    w0 = rng.normal(size=(ROWS, COLS))
    psw = rng.normal(size=IDX.size)
    cot = rng.normal(size=(4, COLS))
    for mode, weights in (("sum", psw), ("mean", None)):
        def f(w_array, mode=mode, weights=weights):
            out = F.embedding_bag(gg.tensor(IDX), gg.tensor(w_array), gg.tensor(OFFSETS), mode=mode, padding_idx=5,
                                  per_sample_weights=None if weights is None else gg.tensor(weights))
            return float((out.numpy() * cot).sum())

        w = nn.Parameter(gg.tensor(w0))
        F.embedding_bag(gg.tensor(IDX), w, gg.tensor(OFFSETS), mode=mode, padding_idx=5, sparse=True,
                        per_sample_weights=None if weights is None else gg.tensor(weights)).backward(gg.tensor(cot))
        numeric = np.zeros_like(w0)
        eps = 1e-6
        for i in range(ROWS):
            for j in range(COLS):
                step = np.zeros_like(w0)
                step[i, j] = eps
                numeric[i, j] = (f(w0 + step) - f(w0 - step)) / (2 * eps)
        np.testing.assert_allclose(w.grad.to_dense().numpy(), numeric, rtol=1e-7, atol=1e-9)


def test_per_sample_weights_gradient_and_second_order(rng):
    # per_sample_weights' own gradient is unchanged by sparse=True, and create_graph differentiates the
    # sparse gradient's values (here in the sample weights) as the dense gradient's.
    w0, p0 = rng.normal(size=(ROWS, COLS)), rng.normal(size=IDX.size)
    cot, probe = rng.normal(size=(4, COLS)), rng.normal(size=(ROWS, COLS))
    results = []
    for sparse in (False, True):
        w, p = nn.Parameter(gg.tensor(w0)), gg.tensor(p0, requires_grad=True)
        out = F.embedding_bag(gg.tensor(IDX), w, gg.tensor(OFFSETS), mode="sum", sparse=sparse, per_sample_weights=p)
        gw, gp = gg.autograd.grad(out, (w, p), gg.tensor(cot), create_graph=True)
        assert gw.is_sparse == sparse
        (gpp,) = gg.autograd.grad((gw.to_dense() * gg.tensor(probe)).sum(), p)
        results.append((gp.detach().numpy(), gpp.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-14)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-14)
    # by hand: d/dp_k <probe, sum_k p_k e_{idx_k} cot_{bag_k}> = probe[idx_k] . cot[bag_k]
    bag_of = _bag_of(OFFSETS, IDX.size)
    np.testing.assert_allclose(results[1][1], (probe[IDX] * cot[bag_of]).sum(1), rtol=1e-13)


def test_edge_inputs(rng):
    w = _weight(rng)
    F.embedding_bag(gg.tensor([], dtype=gg.int64), w, gg.tensor([0]), mode="sum", sparse=True).sum().backward()
    assert w.grad._nnz() == 0 and tuple(w.grad._values().shape) == (0, COLS) and w.grad.is_coalesced()
    w.grad = None
    F.embedding_bag(gg.tensor([2, 2]), w, gg.tensor([0, 1]), mode="mean", sparse=True, padding_idx=2).sum().backward()
    assert w.grad._nnz() == 0 and not w.grad.to_dense().numpy().any()  # every index is padding
    w.grad = None
    F.embedding_bag(gg.tensor([[3, 0]], dtype=gg.int32), w, mode="sum", sparse=True).sum().backward()
    assert w.grad._indices().dtype is gg.int64 and w.grad._indices().numpy().tolist() == [[3, 0]]


def test_module_accumulates_and_trains_as_dense(rng):
    w0 = rng.normal(size=(ROWS, COLS)).astype(np.float32)
    bag = nn.EmbeddingBag.from_pretrained(gg.tensor(w0), freeze=False, mode="sum", sparse=True)
    assert bag.sparse and bag.weight.requires_grad
    twin = nn.EmbeddingBag(ROWS, COLS, mode="sum", sparse=False, _weight=gg.tensor(w0.copy()))
    opts = [optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (bag, twin)]
    x, offsets = gg.tensor(IDX), gg.tensor(OFFSETS)
    for _ in range(3):
        for m, opt in zip((bag, twin), opts):
            opt.zero_grad()
            (m(x, offsets) ** 2).sum().backward()
            opt.step()
    assert bag.weight.grad.is_sparse and not twin.weight.grad.is_sparse
    np.testing.assert_allclose(bag.weight.detach().numpy(), twin.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    # two backward calls add up in place, uncoalesced, as Embedding's
    bag.zero_grad()
    bag(gg.tensor([1, 2]), gg.tensor([0])).sum().backward()
    first = bag.weight.grad
    bag(gg.tensor([[2]])).sum().backward()
    assert bag.weight.grad is first and first._indices().numpy().tolist() == [[1, 2, 2]]


def test_refusals_name_the_function(rng):
    w = _weight(rng)
    with pytest.raises(ValueError, match="embedding_bag: max mode does not support sparse weights"):
        F.embedding_bag(gg.tensor(IDX), w, gg.tensor(OFFSETS), mode="max", sparse=True)
    module = nn.EmbeddingBag(ROWS, COLS, mode="max", sparse=True)  # PyTorch refuses at forward, not here
    with pytest.raises(ValueError, match="embedding_bag: max mode does not support sparse weights"):
        module(gg.tensor([[1, 2]]))
    out = F.embedding_bag(gg.tensor(IDX), w, gg.tensor(OFFSETS), mode="sum", sparse=True, scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match="embedding_backward: scale_grad_by_freq not supported with sparse gradients"):
        out.sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize("case", [
    {"mode": "sum"}, {"mode": "mean", "padding_idx": 4}, {"mode": "sum", "weighted": True, "padding_idx": 0},
    {"mode": "mean", "two_d": True}, {"mode": "sum", "include_last_offset": True, "padding_idx": 5},
    {"mode": "mean", "max_norm": 1.0},
])
def test_gradient_matches_pytorch(rng, case):
    torch = pytest.importorskip("torch")
    w0, p0 = rng.normal(size=(ROWS, COLS)), rng.normal(size=IDX.size)
    case = dict(case)  # popped below: the parameter's own dict stays whole
    two_d, weighted = case.pop("two_d", False), case.pop("weighted", False)
    idx, offsets = (IDX[:8].reshape(2, 4), None) if two_d else (IDX, np.array([0, 2, 9]) if case.get(
        "include_last_offset") else OFFSETS)
    results = []
    for lib in (gg, torch):
        w = lib.nn.Parameter(lib.tensor(w0))
        p = lib.tensor(p0, requires_grad=True) if weighted else None
        out = lib.nn.functional.embedding_bag(lib.tensor(idx), w, None if offsets is None else lib.tensor(offsets),
                                              sparse=True, per_sample_weights=p, **case)
        cot = np.random.default_rng(5).normal(size=tuple(out.shape))
        out.backward(lib.tensor(cot))
        g = w.grad
        results.append((out.detach().numpy(), g.is_sparse, g.is_coalesced(), g._indices().numpy(),
                        g._values().detach().numpy(), None if p is None else p.grad.numpy(), w.detach().numpy()))
    for ours, theirs in zip(*results):
        if isinstance(ours, np.ndarray):
            np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
        else:
            assert ours == theirs


@pytest.mark.torch
def test_refusals_match_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        w = lib.nn.Parameter(lib.ones(4, 2))
        with pytest.raises(ValueError, match="max mode does not support sparse weights"):
            lib.nn.functional.embedding_bag(lib.tensor([1, 2]), w, lib.tensor([0]), mode="max", sparse=True)
        out = lib.nn.functional.embedding_bag(lib.tensor([1, 1]), w, lib.tensor([0]), mode="sum", sparse=True,
                                              scale_grad_by_freq=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
            out.sum().backward()


def test_atens_embedding_bag_takes_sparse_too(rng):
    w = _weight(rng)
    cot = rng.normal(size=(4, COLS))
    out, *_ = gg.embedding_bag(w, gg.tensor(IDX), gg.tensor(OFFSETS), False, 1, True)  # mean, sparse
    out.backward(gg.tensor(cot))
    want_idx, want_val = _expected(IDX, _bag_of(OFFSETS, IDX.size), cot, "mean")
    np.testing.assert_array_equal(w.grad._indices().numpy(), want_idx[None, :])
    np.testing.assert_allclose(w.grad._values().numpy(), want_val, rtol=1e-14)
    # PyTorch's aten embedding_bag takes max mode with sparse=True and returns the sum mode's gradient
    # (every index, not each column's maximum): refused here, as its F.embedding_bag refuses it.
    with pytest.raises(ValueError, match="embedding_bag: max mode does not support sparse weights"):
        gg.embedding_bag(w, gg.tensor(IDX), gg.tensor(OFFSETS), False, 2, True)
