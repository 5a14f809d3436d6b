"""gg.cond and gg.while_loop (gpugrad/_higher_order_ops/cond.py, while_loop.py): eager control flow with
PyTorch's argument checks, differentiable through the code that runs; beside PyTorch where installed."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import _higher_order_ops


def test_module_paths():
    assert _higher_order_ops.cond is gg.cond and _higher_order_ops.while_loop is gg.while_loop


def test_cond_runs_one_branch_and_differentiates_through_it():
    calls = []

    def true_fn(a, b):
        calls.append("true")
        return a.sin() * b

    def false_fn(a, b):
        calls.append("false")
        return a.cos() + b

    x = gg.tensor([0.5, -1.0, 2.0], dtype=gg.float64, requires_grad=True)
    y = gg.tensor([2.0, 3.0, 4.0], dtype=gg.float64, requires_grad=True)
    out = gg.cond(x.sum() > 0, true_fn, false_fn, (x, y))
    out.sum().backward()
    assert calls == ["true"]  # the other branch never runs
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, -1.0, 2.0]) * [2.0, 3.0, 4.0])
    np.testing.assert_allclose(y.grad.numpy(), np.sin([0.5, -1.0, 2.0]))
    x.grad = y.grad = None
    gg.cond(gg.tensor([0.0]), true_fn, false_fn, [x, y]).sum().backward()  # a one-element float: False
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([0.5, -1.0, 2.0]))
    assert calls[-1] == "false"


def test_cond_python_predicates_nested_operands_and_results():
    x = gg.arange(3.0)
    assert gg.cond(True, lambda a: a + 1, lambda a: a, (x,)).tolist() == [1.0, 2.0, 3.0]
    assert gg.cond(0, lambda a: a + 1, lambda a: a * 2, (x,)).tolist() == [0.0, 2.0, 4.0]
    assert gg.cond(gg.tensor(True), lambda: gg.ones(2), lambda: gg.zeros(2)).tolist() == [1.0, 1.0]
    out = gg.cond(gg.tensor(False), lambda d: {"k": d["a"] + 1, "n": 3}, lambda d: {"k": d["a"] * 3, "n": 4},
                  ({"a": x},))
    assert out["k"].tolist() == [0.0, 3.0, 6.0] and out["n"] == 4
    grads = gg.cond(gg.tensor(1), lambda a: (a * 2, [a + 1]), lambda a: (a * 3, [a - 1]), (x,))
    assert grads[0].tolist() == [0.0, 2.0, 4.0] and grads[1][0].tolist() == [1.0, 2.0, 3.0]


def test_cond_argument_checks():
    x = gg.ones(3)
    pred = gg.tensor(True)
    cases = [
        (lambda: gg.cond("yes", lambda a: a + 1, lambda a: a + 2, (x,)), "bool or tensor"),
        (lambda: gg.cond(gg.tensor([True, False]), lambda a: a + 1, lambda a: a + 2, (x,)), "single-element"),
        (lambda: gg.cond(gg.tensor([]), lambda a: a + 1, lambda a: a + 2, (x,)), "single-element"),
        (lambda: gg.cond(pred, lambda a: a + 1, 3, (x,)), "callable"),
        (lambda: gg.cond(pred, lambda a: a + 1, lambda a: a + 2, x), "tuple"),
        (lambda: gg.cond(pred, lambda a, b: a * b, lambda a, b: a + b, (x, 2)), "tensor leaves"),
        (lambda: gg.cond(pred, lambda a: a, lambda a: a + 1, (x,)), "aliasing"),
        (lambda: gg.cond(pred, lambda a: a[:2], lambda a: a + 1, (x,)), "aliasing"),
        (lambda: gg.cond(pred, lambda a: a.add_(1), lambda a: a + 1, (x.clone(),)), "mutation|aliasing"),
        (lambda: gg.cond(pred, lambda a: a.clone().add_(1) + a.mul_(2), lambda a: a, (x.clone(),)), "mutation"),
        (lambda: gg.cond(pred, lambda a: None, lambda a: a + 1, (x,)), "tensors or ints"),
        (lambda: gg.cond(pred, lambda a: 1.5, lambda a: a + 1, (x,)), "tensors or ints"),
    ]
    for call, match in cases:
        with pytest.raises(RuntimeError, match=match):
            call()


def test_while_loop_runs_and_differentiates_through_every_body():
    x = gg.tensor([1.0, -2.0], dtype=gg.float64, requires_grad=True)
    i, out = gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * a.cos()), (gg.tensor(0), x))
    assert i.item() == 3
    ref, grad = np.array([1.0, -2.0]), np.ones(2)
    for _ in range(3):  # d/da (a cos a) = cos a - a sin a, chained
        grad = grad * (np.cos(ref) - ref * np.sin(ref))
        ref = ref * np.cos(ref)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)


def test_while_loop_structures_ints_and_zero_iterations():
    x = gg.ones(2)
    n, y = gg.while_loop(lambda n, a: n < 4, lambda n, a: (n + 1, a * 2), (0, x))  # an int carry stays an int
    assert n == 4 and y.tolist() == [16.0, 16.0]
    (d,) = gg.while_loop(lambda d: d["i"] < 2, lambda d: ({"i": d["i"] + 1, "v": d["v"] + 1},),
                         ({"i": gg.tensor(0), "v": x},))
    assert d["i"].item() == 2 and d["v"].tolist() == [3.0, 3.0]
    listed = gg.while_loop(lambda i, a: i < 2, lambda i, a: [i + 1, a * 2], [gg.tensor(0), x])
    assert isinstance(listed, list) and listed[1].tolist() == [4.0, 4.0]
    never = gg.while_loop(lambda i, a: i < 0, lambda i, a: (i + 1, a * 2), (gg.tensor(0), x))
    assert never[1].tolist() == [1.0, 1.0] and never[1] is not x  # copies, as PyTorch's
    assert gg.while_loop(lambda i: False, lambda i: (i + 1,), (gg.tensor(5),))[0].item() == 5


def test_while_loop_argument_checks():
    i, x = gg.tensor(0), gg.ones(3)
    cases = [
        (lambda: gg.while_loop(3, lambda i: (i + 1,), (i,)), "callable"),
        (lambda: gg.while_loop(lambda i: i < 3, lambda i: (i + 1,), i), "tuple or list"),
        (lambda: gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2), (0, 3.5)), "tensor or int leaves"),
        (lambda: gg.while_loop(lambda i: (i < 3).int(), lambda i: (i + 1,), (i,)), "boolean"),
        (lambda: gg.while_loop(lambda i: (i < 3).reshape(1), lambda i: (i + 1,), (i,)), "boolean"),
        (lambda: gg.while_loop(lambda i: i, lambda i: (i + 1,), (3,)), "boolean"),
        (lambda: gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1,), (i, x)), "number of outputs"),
        (lambda: gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a.double()), (i, x)), "dtype"),
        (lambda: gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, gg.cat([a, a])), (i, x)), "shape"),
        (lambda: gg.while_loop(lambda i: i < 3, lambda i: (i + 1.5,), (i,)), "dtype"),
        (lambda: gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a), (i, x)), "aliasing"),
        (lambda: gg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a.mul_(2) * 1), (i, x.clone())), "mutation"),
    ]
    for call, match in cases:
        with pytest.raises(RuntimeError, match=match):
            call()


# --- beside PyTorch ---------------------------------------------------------------------------------------
@pytest.mark.torch
def test_cond_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([0.3, -1.2, 2.0, 0.7])
    for flag in (True, False):
        results = []
        for lib in (gg, torch):
            x = lib.tensor(data, requires_grad=True)
            pred = lib.tensor(flag) if flag else lib.tensor([0.0])
            out = lib.cond(pred, lambda a: (a.exp() * 2).sum(0, keepdim=True), lambda a: (a**2).sum(0, keepdim=True),
                           (x,))
            out.sum().backward()
            results.append((out.detach().numpy(), x.grad.numpy()))
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.torch
def test_while_loop_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([[0.5, -0.25], [1.5, 0.75]])
    results = []
    for lib in (gg, torch):
        x = lib.tensor(data, requires_grad=True)
        i, y = lib.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, (a @ a.T).tanh() + a), (lib.tensor(0), x))
        y.sum().backward()
        results.append((int(i), y.detach().numpy(), x.grad.numpy()))
    assert results[0][0] == results[1][0] == 4
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.torch
def test_argument_errors_match_pytorchs():
    """The checks PyTorch makes before tracing, with its messages; both raise RuntimeError."""
    torch = pytest.importorskip("torch")
    calls = [
        lambda lib: lib.cond("yes", lambda a: a + 1, lambda a: a + 2, (lib.ones(2),)),
        lambda lib: lib.cond(lib.tensor([True, False]), lambda a: a + 1, lambda a: a + 2, (lib.ones(2),)),
        lambda lib: lib.cond(lib.tensor(True), lambda a: a + 1, 3, (lib.ones(2),)),
        lambda lib: lib.cond(lib.tensor(True), lambda a: a + 1, lambda a: a + 2, lib.ones(2)),
        lambda lib: lib.while_loop(3, lambda i: (i + 1,), (lib.tensor(0),)),
    ]
    for call in calls:
        messages = []
        for lib in (gg, torch):
            with pytest.raises(RuntimeError) as info:
                call(lib)
            messages.append(str(info.value).replace("gpugrad", "torch").split(":")[0])
        assert messages[0] == messages[1]
