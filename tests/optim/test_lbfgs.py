"""LBFGS: convergence on convex problems, PyTorch's iterates, state round trips, and the line search."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.errors import ArgumentError
from gpugrad.optim._line_search import cubic_minimizer


def problem(seed=0, n=12, k=5):
    """A least-squares problem with an L2 term: strictly convex, minimiser known in closed form."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k)), rng.standard_normal(n)


def solution(A, b, lam):
    k = A.shape[1]
    return np.linalg.solve(A.T @ A + lam * np.eye(k), A.T @ b)


def make_closure(lib, opt, A, b, w, bias, lam):
    At, bt = lib.tensor(A), lib.tensor(b)
    calls = []

    def closure():
        opt.zero_grad()
        r = At @ w + bias - bt
        loss = 0.5 * (r * r).sum() + 0.5 * lam * (w * w).sum()
        loss.backward()
        calls.append(float(loss.item()))
        return loss

    return closure, calls


def run(lib, steps, A, b, lam=0.1, **kw):
    w = lib.zeros(A.shape[1], dtype=lib.float64, requires_grad=True)
    bias = lib.zeros((), dtype=lib.float64, requires_grad=True)
    opt = lib.optim.LBFGS([w, bias], **kw)
    closure, calls = make_closure(lib, opt, A, b, w, bias, lam)
    iterates, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).item()))
        iterates.append(np.concatenate([w.detach().numpy().ravel(), bias.detach().numpy().ravel()]))
    return iterates, losses, calls, opt


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_converges_to_the_least_squares_solution(line_search_fn):
    A, b = problem()
    lam = 0.1
    # Fold the bias in: minimise over (w, c) with a ones column, the bias not penalised.
    A1 = np.hstack([A, np.ones((len(b), 1))])
    reg = lam * np.diag([1.0] * A.shape[1] + [0.0])
    want = np.linalg.solve(A1.T @ A1 + reg, A1.T @ b)
    iterates, _, _, _ = run(gg, 4, A, b, lam, line_search_fn=line_search_fn, history_size=5,
                            tolerance_grad=1e-12, tolerance_change=1e-15)
    np.testing.assert_allclose(iterates[-1], want, rtol=1e-6, atol=1e-8)


def test_stops_at_once_when_the_gradient_is_already_small():
    w = gg.tensor([1.0, -2.0], dtype=gg.float64, requires_grad=True)
    opt = optim.LBFGS([w], tolerance_grad=1e-3)
    count = []

    def closure():
        opt.zero_grad()
        loss = ((w - gg.tensor([1.0, -2.0], dtype=gg.float64)) ** 2).sum()
        loss.backward()
        count.append(1)
        return loss

    assert float(opt.step(closure).item()) == 0.0
    assert len(count) == 1 and opt.state[w]["func_evals"] == 1 and opt.state[w]["n_iter"] == 0


def test_respects_max_iter_and_max_eval():
    A, b = problem(1)
    _, _, calls, opt = run(gg, 1, A, b, max_iter=3, max_eval=10)
    assert len(calls) == 3  # the first, then one per iteration but the last (whose loss is never used)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert state["n_iter"] == 3 and state["func_evals"] == 3
    _, _, calls, opt = run(gg, 1, A, b, max_iter=3)  # max_eval defaults to max_iter * 5 // 4 = 3
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert len(calls) == 3 and state["n_iter"] == 2
    _, _, calls, opt = run(gg, 1, A, b, max_iter=50, max_eval=7, line_search_fn="strong_wolfe")
    assert len(calls) <= 7 + 1  # the line search may finish the evaluation that reaches the limit


def test_errors():
    w = gg.zeros(2, requires_grad=True)
    with pytest.raises(ArgumentError, match="line_search_fn"):
        optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [gg.zeros(1, requires_grad=True)]}])
    with pytest.raises(gg.errors.DTypeError, match="one dtype"):
        optim.LBFGS([w, gg.zeros(1, dtype=gg.float64, requires_grad=True)])
    with pytest.raises(TypeError):
        optim.LBFGS([w]).step()  # the closure is required, as in PyTorch


def test_state_dict_round_trip_continues_identically():
    A, b = problem(2)
    kw = dict(history_size=3, max_iter=4, line_search_fn="strong_wolfe")
    w = gg.zeros(A.shape[1], dtype=gg.float64, requires_grad=True)
    bias = gg.zeros((), dtype=gg.float64, requires_grad=True)
    opt = optim.LBFGS([w, bias], **kw)
    closure, _ = make_closure(gg, opt, A, b, w, bias, 0.1)
    opt.step(closure)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0] and {"d", "t", "old_dirs", "ro", "H_diag", "n_iter"} <= set(sd["state"][0])
    w2 = gg.tensor(w.detach().numpy().copy(), requires_grad=True)
    bias2 = gg.tensor(bias.detach().numpy().copy(), requires_grad=True)
    opt2 = optim.LBFGS([w2, bias2])
    opt2.load_state_dict(sd)
    closure2, _ = make_closure(gg, opt2, A, b, w2, bias2, 0.1)
    opt.step(closure)
    opt2.step(closure2)
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())
    assert opt2.param_groups[0]["history_size"] == 3


def test_cubic_minimizer_known_values():
    # f(x) = (x - 1)^2 sampled at 0 and 3: the cubic through it is the parabola, minimum at 1.
    assert cubic_minimizer(0.0, 1.0, -2.0, 3.0, 4.0, 4.0) == pytest.approx(1.0)
    assert cubic_minimizer(3.0, 4.0, 4.0, 0.0, 1.0, -2.0) == pytest.approx(1.0)
    # Clipped to the bounds given.
    assert cubic_minimizer(0.0, 1.0, -2.0, 3.0, 4.0, 4.0, bounds=(1.5, 2.0)) == 1.5
    # No real minimiser: the midpoint of the bounds.
    assert cubic_minimizer(0.0, 0.0, 1.0, 1.0, 0.5, 1.0) == 0.5


@pytest.mark.torch
@pytest.mark.parametrize("kw", [
    dict(),
    dict(lr=0.5, history_size=2, max_iter=6),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=5, max_eval=8),
], ids=["fixed-step", "short-history", "strong-wolfe", "strong-wolfe-short"])
def test_matches_torch_iterates(kw):
    torch = pytest.importorskip("torch")
    A, b = problem(3, n=15, k=6)
    ours, our_losses, our_calls, opt = run(gg, 3, A, b, **kw)
    theirs, their_losses, their_calls, topt = run(torch, 3, A, b, **kw)
    assert len(our_calls) == len(their_calls)
    np.testing.assert_allclose(our_calls, their_calls, rtol=1e-10, atol=1e-12)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a, t, rtol=1e-9, atol=1e-12)
    ts = topt.state_dict()["state"][0]
    st = opt.state_dict()["state"][0]
    assert st["n_iter"] == ts["n_iter"] and st["func_evals"] == ts["func_evals"]
    assert set(st) == set(ts)
    np.testing.assert_allclose(st["d"].numpy(), ts["d"].numpy(), rtol=1e-8, atol=1e-12)
    assert len(st["old_dirs"]) == len(ts["old_dirs"])
    assert st["H_diag"] == pytest.approx(float(ts["H_diag"]), rel=1e-9)


@pytest.mark.torch
def test_loads_a_pytorch_state_dict_and_continues_like_pytorch():
    torch = pytest.importorskip("torch")
    A, b = problem(4)
    kw = dict(history_size=4, max_iter=3, line_search_fn="strong_wolfe")
    tw = torch.zeros(A.shape[1], dtype=torch.float64, requires_grad=True)
    tb = torch.zeros((), dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([tw, tb], **kw)
    tclosure, _ = make_closure(torch, topt, A, b, tw, tb, 0.1)
    topt.step(tclosure)
    w = gg.tensor(tw.detach().numpy().copy(), requires_grad=True)
    bias = gg.tensor(tb.detach().numpy().copy(), requires_grad=True)
    opt = optim.LBFGS([w, bias])
    tsd = topt.state_dict()
    convert = lambda v: [convert(x) for x in v] if isinstance(v, list) else (v.numpy() if torch.is_tensor(v) else v)
    opt.load_state_dict({"state": {0: {k: convert(v) for k, v in tsd["state"][0].items()}},
                         "param_groups": tsd["param_groups"]})
    closure, _ = make_closure(gg, opt, A, b, w, bias, 0.1)
    topt.step(tclosure)
    opt.step(closure)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-9, atol=1e-12)
