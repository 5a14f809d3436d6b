"""Optimizers given sparse gradients from nn.Embedding(sparse=True): SGD and Adagrad update as PyTorch does
(against NumPy float64 references and PyTorch), SparseAdam trains from backward, LBFGS makes them dense,
every other optimizer refuses with PyTorch's message, the flat (fused) path yields to the per-parameter
one, and zero_grad and load_state_dict handle sparse tensors."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn import functional as F

ROWS, DIM = 7, 3


def _batches(steps: int, seed: int = 0):
    """Per step: int indices (2, 4) with repeats and a cotangent for the looked-up rows."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, ROWS, size=(2, 4)), rng.standard_normal((2, 4, DIM))) for _ in range(steps)]


def _train(lib, name: str, kwargs: dict, steps: int = 6, padding_idx=2, set_to_none: bool = True):
    """An embedding trained by ``name`` from its sparse gradients, with a dense matrix in the same group;
    every other step only the dense one has a gradient (so a fused optimizer's flat step runs too)."""
    rng = np.random.default_rng(1)
    emb = lib.nn.Parameter(lib.tensor(rng.standard_normal((ROWS, DIM))))
    lin = lib.nn.Parameter(lib.tensor(rng.standard_normal((DIM, 2))))
    opt = getattr(lib.optim, name)([emb, lin], **kwargs)
    for t, (idx, cot) in enumerate(_batches(steps)):
        if t % 2:
            (lin * lib.tensor(cot[0, :2].T)).pow(2).sum().backward()
        else:
            out = lib.nn.functional.embedding(lib.tensor(idx), emb, padding_idx=padding_idx, sparse=True)
            ((out * lib.tensor(cot)).sum() + (out @ lin).pow(2).sum()).backward()
        opt.step()
        opt.zero_grad(set_to_none=set_to_none)
    state = {k: (v.to_dense() if isinstance(v, lib.Tensor) and v.is_sparse else v) for k, v in opt.state[emb].items()}
    return emb.detach().numpy(), lin.detach().numpy(), state


def _embedding_grads(steps: int, padding_idx=None, seed: int = 0):
    """The sparse gradients of a sum of cotangent-weighted lookups, as (rows, values) in NumPy."""
    out = []
    for idx, cot in _batches(steps, seed):
        flat, vals = idx.reshape(-1), cot.reshape(-1, DIM)
        keep = flat != padding_idx if padding_idx is not None else np.ones(flat.shape, bool)
        out.append((flat[keep], vals[keep]))
    return out


def _sgd_reference(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, maximize=False):
    """SGD by hand on the densified gradients (a sparse gradient's update is the dense one's)."""
    p, buf = p.copy(), None
    for rows, vals in grads:
        d = np.zeros_like(p)
        np.add.at(d, rows, -vals if maximize else vals)
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p -= lr * d
    return p, buf


def _adagrad_reference(p, grads, lr, lr_decay=0.0, eps=1e-10, initial=0.0, maximize=False):
    """Adagrad on the rows each (coalesced) gradient names; other rows keep their value and sum."""
    p, total = p.copy(), np.full_like(p, initial)
    for step, (rows, vals) in enumerate(grads, 1):
        g = np.zeros_like(p)
        np.add.at(g, rows, -vals if maximize else vals)
        named = np.unique(rows)
        clr = lr / (1 + (step - 1) * lr_decay)
        total[named] += g[named] ** 2
        p[named] -= clr * g[named] / (np.sqrt(total[named]) + eps)
    return p, total


def _fit(name, kwargs, padding_idx=None, steps=5):
    """Train a lone embedding weight from cotangent-weighted lookups; returns weight and optimizer."""
    rng = np.random.default_rng(1)
    w = nn.Parameter(gg.tensor(rng.standard_normal((ROWS, DIM))))
    opt = getattr(optim, name)([w], **kwargs)
    for idx, cot in _batches(steps):
        F.embedding(gg.tensor(idx), w, padding_idx=padding_idx, sparse=True).backward(gg.tensor(cot))
        assert w.grad.is_sparse
        opt.step()
        opt.zero_grad()
    return w, opt, rng


@pytest.mark.parametrize("kwargs", [
    {}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}, {"momentum": 0.5, "dampening": 0.3, "maximize": True},
])
def test_sgd_against_numpy(kwargs):
    w, opt, _ = _fit("SGD", {"lr": 0.1, **kwargs}, padding_idx=4)
    p0 = np.random.default_rng(1).standard_normal((ROWS, DIM))
    want, buf = _sgd_reference(p0, _embedding_grads(5, padding_idx=4), 0.1, **kwargs)
    np.testing.assert_allclose(w.detach().numpy(), want, rtol=1e-13, atol=1e-15)
    if kwargs.get("momentum"):
        state = opt.state[w]["momentum_buffer"]
        assert state.is_sparse  # PyTorch keeps the buffer of a sparse gradient sparse
        np.testing.assert_allclose(state.to_dense().numpy(), buf, rtol=1e-13, atol=1e-15)
    else:
        assert not opt.state.get(w)


@pytest.mark.parametrize("kwargs", [{}, {"lr_decay": 0.2, "initial_accumulator_value": 0.3, "eps": 1e-6, "maximize": True}])
def test_adagrad_against_numpy(kwargs):
    w, opt, _ = _fit("Adagrad", {"lr": 0.5, **kwargs})
    p0 = np.random.default_rng(1).standard_normal((ROWS, DIM))
    ref = {"lr_decay": kwargs.get("lr_decay", 0.0), "eps": kwargs.get("eps", 1e-10),
           "initial": kwargs.get("initial_accumulator_value", 0.0), "maximize": kwargs.get("maximize", False)}
    want, total = _adagrad_reference(p0, _embedding_grads(5), 0.5, **ref)
    np.testing.assert_allclose(w.detach().numpy(), want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(opt.state[w]["sum"].numpy(), total, rtol=1e-13)
    assert opt.state[w]["step"] == 5


def test_sparse_adam_from_backward_touches_only_the_rows_looked_up():
    rng = np.random.default_rng(3)
    emb = nn.Embedding(ROWS, DIM, sparse=True)
    before = emb.weight.detach().numpy().copy()
    opt = optim.SparseAdam(emb.parameters(), lr=0.1)
    idx = gg.tensor([[0, 5, 5]])
    emb(idx).backward(gg.tensor(rng.standard_normal((1, 3, DIM)).astype(np.float32)))
    opt.step()
    after = emb.weight.detach().numpy()
    changed = np.flatnonzero(np.abs(after - before).sum(1))
    assert changed.tolist() == [0, 5] and opt.state[emb.weight]["step"] == 1
    np.testing.assert_allclose(np.abs(after - before)[[0, 5]], 0.1, rtol=1e-5)  # Adam's first step: lr * sign


def test_lbfgs_makes_sparse_gradients_dense():
    w = nn.Parameter(gg.tensor(np.linspace(-1, 1, ROWS * DIM).reshape(ROWS, DIM)))
    opt = optim.LBFGS([w], lr=1, max_iter=20)

    def closure():
        opt.zero_grad()
        loss = (F.embedding(gg.tensor([1, 3, 3]), w, sparse=True) - 2.0).pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(w.detach().numpy()[[1, 3]], 2.0, atol=1e-6)  # the quadratic's minimum
    np.testing.assert_allclose(w.detach().numpy()[0], np.linspace(-1, 1, ROWS * DIM)[:3])


REFUSED = [("Adam", "Adam does not support sparse gradients, please consider SparseAdam instead"),
           ("AdamW", "AdamW does not support sparse gradients, please consider SparseAdam instead"),
           ("RMSprop", "RMSprop does not support sparse gradients"), ("Adadelta", "Adadelta does not support"),
           ("Adamax", "Adamax does not support"), ("NAdam", "NAdam does not support"), ("RAdam", "RAdam does not"),
           ("ASGD", "ASGD does not support"), ("Rprop", "Rprop does not support"), ("Adafactor", "Adafactor does not"),
           ("Muon", "Muon does not support sparse gradients")]


@pytest.mark.parametrize("name,message", REFUSED)
@pytest.mark.parametrize("fused", [True, False])
def test_other_optimizers_refuse_before_changing_anything(name, message, fused):
    w = nn.Parameter(gg.ones(ROWS, DIM))
    kwargs = {} if name in ("Adafactor", "Muon") else {"fused": fused}
    opt = getattr(optim, name)([w], lr=0.1, **kwargs)
    F.embedding(gg.tensor([1, 2]), w, sparse=True).sum().backward()
    with pytest.raises(RuntimeError, match=message):
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), 1.0)
    assert not opt.state.get(w)


@pytest.mark.parametrize("name,match", [("SGD", r"SGD: .*add\(sparse, dense\) is not supported"),
                                        ("Adagrad", "Adagrad: weight_decay option is not compatible with sparse")])
def test_weight_decay_with_a_sparse_gradient_is_refused(name, match):
    w = nn.Parameter(gg.ones(ROWS, DIM))
    opt = getattr(optim, name)([w], lr=0.1, weight_decay=0.01)
    F.embedding(gg.tensor([1]), w, sparse=True).sum().backward()
    with pytest.raises(RuntimeError, match=match):
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), 1.0)


def test_sparse_gradients_must_fit_their_parameter():
    w = nn.Parameter(gg.ones(ROWS, DIM, dtype=gg.float64))
    w.grad = gg.sparse_coo_tensor([[1]], gg.ones(1, DIM, dtype=gg.float64), (ROWS, DIM))
    w._grad = gg.sparse_coo_tensor([[1]], gg.ones(1, DIM, dtype=gg.float64), (ROWS + 1, DIM))  # past the setter
    with pytest.raises(gg.ShapeError, match=r"SGD.step: the gradient of parameter 0 \(group 0\) has shape"):
        optim.SGD([w], lr=0.1).step()
    w.grad = gg.ones(ROWS, DIM, dtype=gg.float64)
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please consider Adam"):
        optim.SparseAdam([w]).step()


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adagrad", {"lr": 0.3})])
def test_flat_path_yields_to_sparse_gradients(name, kwargs):
    """A group with an embedding (sparse) and a dense matrix: the fused optimizer ends where the
    per-parameter one does, through steps with a sparse gradient and steps with dense ones only."""
    runs = [_train(gg, name, {**kwargs, "fused": fused}) for fused in (True, False)]
    for a, b in zip(runs[0][:2], runs[1][:2]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    assert set(runs[0][2]) == set(runs[1][2])
    for key in runs[0][2]:
        np.testing.assert_allclose(_as_array(runs[0][2][key]), _as_array(runs[1][2][key]), rtol=1e-13)


def _as_array(v):
    return v.numpy() if isinstance(v, gg.Tensor) else np.asarray(v)


def test_a_dense_gradient_after_a_sparse_momentum_buffer_is_refused():
    w = nn.Parameter(gg.ones(ROWS, DIM))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    F.embedding(gg.tensor([1]), w, sparse=True).sum().backward()
    opt.step()
    w.grad = gg.ones(ROWS, DIM)
    before = w.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"SGD: a dense gradient .* add\(sparse, dense\) is not supported"):
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), before)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    w = nn.Parameter(gg.ones(ROWS, DIM))
    opt = optim.SGD([w], lr=0.1)
    F.embedding(gg.tensor([1, 4]), w, sparse=True).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert w.grad is None
    else:  # emptied in place, as PyTorch: nnz 0, coalesced, same size
        assert w.grad is g and g.is_sparse and g._nnz() == 0 and g.is_coalesced() and tuple(g.shape) == (ROWS, DIM)
    F.embedding(gg.tensor([3]), w, sparse=True).sum().backward()
    assert w.grad._indices().numpy().tolist() == [[3]]
    nn.Module.zero_grad(_Holder(w), set_to_none=False)
    assert w.grad.is_sparse and w.grad._nnz() == 0


class _Holder(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = w


def test_state_dict_round_trip_keeps_the_sparse_momentum():
    w, opt, _ = _fit("SGD", {"lr": 0.1, "momentum": 0.9}, steps=2)
    saved = opt.state_dict()
    w2 = nn.Parameter(w.detach().clone())
    opt2 = optim.SGD([w2], lr=0.1, momentum=0.9)
    opt2.load_state_dict(saved)
    buf = opt2.state[w2]["momentum_buffer"]
    assert buf.is_sparse and buf is not opt.state[w]["momentum_buffer"]
    np.testing.assert_array_equal(buf.to_dense().numpy(), opt.state[w]["momentum_buffer"].to_dense().numpy())
    for o, p in ((opt, w), (opt2, w2)):
        F.embedding(gg.tensor([0, 6]), p, sparse=True).sum().backward()
        o.step()
    np.testing.assert_array_equal(w2.detach().numpy(), w.detach().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.05}), ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.3}), ("Adagrad", {"lr": 0.3, "lr_decay": 0.1, "initial_accumulator_value": 0.2}),
])
@pytest.mark.parametrize("set_to_none", [True, False])
def test_training_matches_pytorch(name, kwargs, set_to_none):
    torch = pytest.importorskip("torch")
    ours = _train(gg, name, kwargs, set_to_none=set_to_none)
    theirs = _train(torch, name, kwargs, set_to_none=set_to_none)
    for a, b in zip(ours[:2], theirs[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert set(ours[2]) == set(theirs[2])
    for key in ours[2]:
        a, b = ours[2][key], theirs[2][key]
        a = a.numpy() if isinstance(a, gg.Tensor) else a
        b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_sparse_adam_matches_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gg, torch):
        emb = lib.nn.Embedding(ROWS, DIM, sparse=True, padding_idx=1, dtype=lib.float64)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(np.random.default_rng(5).standard_normal((ROWS, DIM))))
        opt = lib.optim.SparseAdam(emb.parameters(), lr=0.02, betas=(0.8, 0.95), maximize=True)
        for idx, cot in _batches(6, seed=9):
            emb(lib.tensor(idx)).backward(lib.tensor(cot))
            opt.step()
            opt.zero_grad()
        st = opt.state[emb.weight]
        results.append([emb.weight.detach().numpy(), st["exp_avg"].numpy(), st["exp_avg_sq"].numpy(), int(st["step"])])
    for a, b in zip(results[0][:3], results[1][:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert results[0][3] == results[1][3]


@pytest.mark.torch
@pytest.mark.parametrize("name", [n for n, _ in REFUSED if n != "AdamW"] + ["SGD-wd", "Adagrad-wd"])
def test_refusal_messages_match_pytorch(name):
    torch = pytest.importorskip("torch")
    messages = []
    for lib in (gg, torch):
        w = lib.nn.Parameter(lib.ones(ROWS, DIM))
        opt_name, kwargs = (name[:-3], {"weight_decay": 0.1}) if name.endswith("-wd") else (name, {})
        opt = getattr(lib.optim, opt_name)([w], lr=0.1, **kwargs)
        lib.nn.functional.embedding(lib.tensor([1]), w, sparse=True).sum().backward()
        with pytest.raises(RuntimeError) as info:
            opt.step()
        messages.append(str(info.value))
    ours, theirs = messages
    assert theirs in ours  # PyTorch's words, with the optimizer named where PyTorch's are silent on it
