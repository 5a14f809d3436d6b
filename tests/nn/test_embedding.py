"""nn.Embedding's max_norm / norm_type (in-place renormalisation of the looked-up rows),
scale_grad_by_freq, sparse, from_pretrained and repr; by hand, with finite differences, and against
PyTorch (torch-marked)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn import functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.nn.sparse import embedding, embedding_renorm_


def _weight(rng, rows=7, cols=4):
    return gg.tensor(rng.normal(size=(rows, cols)) * 2, dtype=gg.float64)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, float("inf")])
def test_renorm_rescales_only_looked_up_rows_above_max_norm(rng, norm_type):
    w = _weight(rng)
    before = w.numpy().copy()
    idx = gg.tensor([[1, 3, 3], [5, 1, 0]])
    version = w._version
    embedding_renorm_(w, idx, 1.25, norm_type)
    assert w._version > version  # an in-place change, as PyTorch's (a saved graph would notice)
    after = w.numpy()
    for row in range(7):
        norm = np.linalg.norm(before[row], ord=norm_type)
        if row in (0, 1, 3, 5) and norm > 1.25:
            np.testing.assert_allclose(after[row], before[row] * 1.25 / (norm + 1e-7), rtol=1e-12)
            assert np.linalg.norm(after[row], ord=norm_type) <= 1.25
        else:
            np.testing.assert_array_equal(after[row], before[row])


def test_module_max_norm_renormalises_weight_at_forward(rng):
    emb = nn.Embedding(6, 3, max_norm=0.5)
    with gg.no_grad():
        emb.weight.copy_(gg.tensor(rng.normal(size=(6, 3)) * 3))
    out = emb(gg.tensor([0, 2, 2]))
    norms = np.linalg.norm(emb.weight.detach().numpy(), axis=1)
    assert (norms[[0, 2]] <= 0.5 + 1e-6).all() and (norms[[1, 3, 4, 5]] > 0.5).all()
    np.testing.assert_array_equal(out.detach().numpy(), emb.weight.detach().numpy()[[0, 2, 2]])
    out.sum().backward()  # renorm happened outside autograd: the weight is still a leaf with a gradient
    np.testing.assert_array_equal(emb.weight.grad.numpy()[2], [2.0, 2.0, 2.0])


def test_scale_grad_by_freq_divides_by_count(rng):
    w = gg.tensor(rng.normal(size=(5, 2)), requires_grad=True)
    idx = gg.tensor([[4, 1, 4], [4, 0, 1]])
    out = embedding(idx, w, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.detach().numpy(), w.detach().numpy()[idx.numpy()])
    cot = rng.normal(size=(2, 3, 2))
    out.backward(gg.tensor(cot, dtype=gg.float32))
    want = np.zeros((5, 2))
    counts = {4: 3, 1: 2, 0: 1}
    for pos, row in np.ndenumerate(idx.numpy()):
        want[row] += cot[pos] / counts[row]
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-6)


def test_gradients_float64(rng):
    idx = gg.tensor([[2, 0, 2], [1, 2, 3]])
    w = gg.tensor(rng.normal(size=(4, 3)), dtype=gg.float64, requires_grad=True)
    assert gradcheck(lambda w: embedding(idx, w), [w])
    # With scale_grad_by_freq (or padding_idx) the gradient is deliberately not the derivative, so only
    # the second-order check applies: the backward must be linear in the cotangent and consistent with
    # its own backward.
    fn = lambda w: embedding(idx, w, padding_idx=1, scale_grad_by_freq=True)  # noqa: E731
    assert gradgradcheck(fn, [w])
    assert not gradcheck(fn, [w], raise_exception=False)


def test_sparse_and_constructor_arguments(rng):
    assert nn.Embedding(3, 2, sparse=True).sparse  # sparse gradients: tests/nn/test_embedding_sparse.py
    emb = nn.Embedding(5, 2, None, 1.0, 1.0, True)  # PyTorch's positional order
    assert (emb.max_norm, emb.norm_type, emb.scale_grad_by_freq, emb.sparse) == (1.0, 1.0, True, False)
    assert repr(emb) == "Embedding(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)"
    w = gg.tensor(rng.normal(size=(4, 3)) * 5)
    pre = nn.Embedding.from_pretrained(w, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True, padding_idx=-1)
    assert pre.padding_idx == 3 and not pre.weight.requires_grad and pre.max_norm == 2.0
    pre(gg.tensor([0]))
    assert np.abs(pre.weight.numpy()[0]).sum() <= 2.0 + 1e-5
    assert np.abs(w.numpy()[0]).sum() <= 2.0 + 1e-5  # from_pretrained shares the tensor, as PyTorch
    with pytest.raises(IndexError, match="embedding: index 9 is out of range"):
        nn.Embedding(4, 2, max_norm=1.0)(gg.tensor([9]))


@pytest.mark.torch
@pytest.mark.parametrize("max_norm,norm_type,freq,padding_idx", [
    (None, 2.0, True, None), (1.0, 2.0, False, None), (0.7, 1.0, True, 2), (1.5, 3.0, True, 0), (0.9, float("inf"), False, None),
])
def test_against_torch(rng, max_norm, norm_type, freq, padding_idx):
    torch = pytest.importorskip("torch")
    w = rng.normal(size=(7, 5)) * 1.5
    ours = nn.Embedding.from_pretrained(gg.tensor(w), freeze=False, padding_idx=padding_idx, max_norm=max_norm,
                                        norm_type=norm_type, scale_grad_by_freq=freq)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, padding_idx=padding_idx, max_norm=max_norm,
                                                norm_type=norm_type, scale_grad_by_freq=freq)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for step in range(2):  # a second forward sees the rows the first one renormalised
        idx = rng.integers(0, 7, size=(3, 4))
        og, ot = ours(gg.tensor(idx)), theirs(torch.tensor(idx))
        np.testing.assert_allclose(og.detach().numpy(), ot.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
        cot = rng.normal(size=(3, 4, 5))
        og.backward(gg.tensor(cot))
        ot.backward(torch.tensor(cot))
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, err_msg=f"step {step}")


# EmbeddingBag ------------------------------------------------------------------------------------------


def _bags_by_hand(w, idx, offsets, mode, psw=None, padding_idx=None):
    ends = list(offsets[1:]) + [len(idx)]
    out = np.zeros((len(offsets), w.shape[1]))
    for b, (s, e) in enumerate(zip(offsets, ends)):
        picked = [(i, 1.0 if psw is None else psw[i]) for i in range(s, e) if idx[i] != padding_idx]
        if not picked:
            continue
        rows = np.stack([w[idx[i]] * f for i, f in picked])
        out[b] = {"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.max(0)}[mode]
    return out


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_hand_results(rng, mode):
    w = rng.normal(size=(6, 3))
    idx = np.array([1, 2, 0, 3, 1, 5, 5, 4, 2])
    offsets = np.array([0, 2, 2, 5])  # the second bag is empty
    for padding_idx in (None, 1):
        got = gg.nn.functional.embedding_bag(gg.tensor(idx), gg.tensor(w), gg.tensor(offsets), mode=mode, padding_idx=padding_idx)
        np.testing.assert_allclose(got.numpy(), _bags_by_hand(w, idx, offsets, mode, padding_idx=padding_idx), rtol=1e-12)
    psw = rng.normal(size=idx.size)
    if mode == "sum":
        got = gg.nn.functional.embedding_bag(gg.tensor(idx), gg.tensor(w), gg.tensor(offsets), mode="sum", per_sample_weights=gg.tensor(psw))
        np.testing.assert_allclose(got.numpy(), _bags_by_hand(w, idx, offsets, "sum", psw), rtol=1e-12)
    # A 2D input is bags of equal length; include_last_offset ends the last bag at the final offset.
    grid = idx[:8].reshape(4, 2)
    np.testing.assert_allclose(nn.EmbeddingBag.from_pretrained(gg.tensor(w), mode=mode)(gg.tensor(grid)).numpy(),
                               _bags_by_hand(w, idx[:8], [0, 2, 4, 6], mode), rtol=1e-12)
    last = gg.nn.functional.embedding_bag(gg.tensor(idx), gg.tensor(w), gg.tensor([0, 2, 7]), mode=mode, include_last_offset=True)
    np.testing.assert_allclose(last.numpy(), _bags_by_hand(w, idx[:7], [0, 2], mode), rtol=1e-12)


def test_embedding_bag_gradients_float64(rng):
    idx = gg.tensor([1, 2, 0, 3, 1, 3, 2])
    offsets = gg.tensor([0, 3, 3])
    w = gg.tensor(rng.normal(size=(4, 3)), dtype=gg.float64, requires_grad=True)
    psw = gg.tensor(rng.normal(size=7), dtype=gg.float64, requires_grad=True)
    bag = gg.nn.functional.embedding_bag
    assert gradcheck(lambda w, p: bag(idx, w, offsets, mode="sum", per_sample_weights=p), [w, psw])
    assert gradgradcheck(lambda w, p: bag(idx, w, offsets, mode="sum", per_sample_weights=p), [w, psw])
    for mode in ("mean", "max"):
        assert gradcheck(lambda w: bag(idx, w, offsets, mode=mode), [w])
        assert gradgradcheck(lambda w: bag(idx, w, offsets, mode=mode), [w])


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_sums_bags_from_the_table_with_gathered_rows_bits(rng, mode, padding_idx, monkeypatch):
    # sum and mean add each bag's rows straight from the table (kernels.embedding.bag_sum): the values and
    # gradients of the rows gathered first and index-added by bag, bit for bit; every order differentiates
    from gpugrad.kernels import embedding as kembedding

    calls = []
    real = kembedding.bag_sum
    monkeypatch.setattr(kembedding, "bag_sum", lambda *a, **k: calls.append(1) or real(*a, **k))
    ids = rng.integers(0, 20, 37)
    ids[::5] = 2
    offsets = np.array([0, 4, 4, 17, 30])
    w0 = rng.standard_normal((20, 6)).astype(np.float32)
    for last in (False, True):
        w = gg.tensor(w0, requires_grad=True)
        y = F.embedding_bag(gg.tensor(ids), w, gg.tensor(offsets), mode=mode, padding_idx=padding_idx,
                            include_last_offset=last)
        up = rng.standard_normal(tuple(y.shape)).astype(np.float32)
        y.backward(gg.tensor(up))
        bags = len(offsets) - (1 if last else 0)
        ends = list(offsets[1:]) + ([] if last else [len(ids)])
        want_y, want_g = np.zeros((bags, 6), np.float32), np.zeros_like(w0)
        for b, (lo, hi) in enumerate(zip(offsets[:bags], ends)):
            kept = [k for k in ids[lo:hi] if k != padding_idx]
            for k in kept:
                want_y[b] += w0[k]
            div = np.float32(max(len(kept), 1)) if mode == "mean" else np.float32(1)
            want_y[b] /= div
            for k in kept:
                want_g[k] += up[b] / div
        np.testing.assert_allclose(y.detach().numpy(), want_y, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(w.grad.numpy(), want_g, rtol=1e-6, atol=1e-6)
    assert len(calls) == 2
    w = gg.tensor(w0.astype(np.float64), requires_grad=True)
    bag = lambda w: F.embedding_bag(gg.tensor(ids), w, gg.tensor(offsets), mode=mode, padding_idx=padding_idx)
    assert gradcheck(bag, [w]) and gradgradcheck(bag, [w])


def test_embedding_bag_scale_grad_by_freq_by_hand():
    # Each row's gradient is divided by its index's count in the input (PyTorch 2.13's CPU kernel divides
    # some rows by another index's count, pytorch/pytorch#190063, so this is not compared with it).
    w = gg.ones(4, 2, requires_grad=True)
    out = gg.nn.functional.embedding_bag(gg.tensor([1, 1, 3]), w, gg.tensor([0]), mode="sum", scale_grad_by_freq=True)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [0.0, 1.0, 0.0, 1.0])


def test_embedding_bag_errors():
    bag = gg.nn.functional.embedding_bag
    w = gg.ones(4, 2)
    with pytest.raises(ValueError, match="embedding_bag: if input is 2D, then offsets has to be None"):
        bag(gg.tensor([[0, 1]]), w, gg.tensor([0]))
    with pytest.raises(ValueError, match="embedding_bag: offsets has to be a 1D Tensor but got None"):
        bag(gg.tensor([0, 1]), w)
    with pytest.raises(RuntimeError, match=r"embedding_bag: offsets\[0\] has to be 0"):
        bag(gg.tensor([0, 1]), w, gg.tensor([1]))
    with pytest.raises(RuntimeError, match=r"embedding_bag: offsets\[-1\] can not be greater than input's length 2"):
        bag(gg.tensor([0, 1]), w, gg.tensor([0, 3]))
    with pytest.raises(ValueError, match="embedding_bag: mode has to be one of sum, mean or max"):
        bag(gg.tensor([0, 1]), w, gg.tensor([0]), mode="min")
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        bag(gg.tensor([0, 1]), w, gg.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        bag(gg.tensor([0, 1]), w, gg.tensor([0]), per_sample_weights=gg.ones(2))
    with pytest.raises(ValueError, match="embedding_bag: if per_sample_weights"):
        bag(gg.tensor([0, 1]), w, gg.tensor([0]), mode="sum", per_sample_weights=gg.ones(3))
    with pytest.raises(IndexError, match="embedding_bag: index 7 is out of range"):
        bag(gg.tensor([0, 7]), w, gg.tensor([0]))
    with pytest.raises(ValueError, match="embedding_bag: max mode does not support sparse weights"):
        bag(gg.tensor([0, 1]), w, gg.tensor([0]), mode="max", sparse=True)


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx,max_norm,two_d", [(None, None, False), (2, None, False), (None, 1.1, True), (0, 0.8, False)])
def test_embedding_bag_against_torch(rng, mode, padding_idx, max_norm, two_d):
    torch = pytest.importorskip("torch")
    w = rng.normal(size=(7, 5)) * 1.3
    ours = nn.EmbeddingBag.from_pretrained(gg.tensor(w), freeze=False, mode=mode, padding_idx=padding_idx, max_norm=max_norm)
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=False, mode=mode, padding_idx=padding_idx, max_norm=max_norm)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(2):
        if two_d:
            idx = rng.integers(0, 7, size=(4, 3))
            args_g, args_t = (gg.tensor(idx),), (torch.tensor(idx),)
        else:
            idx = rng.integers(0, 7, size=11)
            offsets = np.array([0, 3, 3, 8])
            args_g, args_t = (gg.tensor(idx), gg.tensor(offsets)), (torch.tensor(idx), torch.tensor(offsets))
        psw = rng.normal(size=idx.shape) if mode == "sum" else None
        og = ours(*args_g, per_sample_weights=None if psw is None else gg.tensor(psw))
        ot = theirs(*args_t, per_sample_weights=None if psw is None else torch.tensor(psw))
        np.testing.assert_allclose(og.detach().numpy(), ot.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
        cot = rng.normal(size=tuple(ot.shape))
        og.backward(gg.tensor(cot))
        ot.backward(torch.tensor(cot))
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_functional_embedding_takes_max_norm_and_scale_grad_by_freq():
    weight = gg.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], requires_grad=True)
    idx = gg.tensor([0, 0, 2])
    out = F.embedding(idx, weight, max_norm=1.0, scale_grad_by_freq=True)
    np.testing.assert_allclose(weight.detach().numpy()[[0, 2]], [[0.6, 0.8], [0.6, 0.8]], rtol=1e-5)  # rows renormed in place
    np.testing.assert_allclose(weight.detach().numpy()[1], [0.3, 0.4])  # not looked up: untouched
    out.sum().backward()
    np.testing.assert_allclose(weight.grad.numpy(), [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])  # 2 picks / 2, 1 / 1


def test_functional_dropout_in_place_changes_its_input():
    gg.manual_seed(0)
    x = gg.ones(1000)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
