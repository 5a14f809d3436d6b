"""autograd.grad's PyTorch arguments (only_inputs, allow_unused, materialize_grads) and Variable."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def _xy():
    return gg.tensor(1.5, requires_grad=True), gg.tensor(2.0, requires_grad=True)


def test_unused_input_needs_allow_unused():
    x, y = _xy()
    with pytest.raises(RuntimeError, match="not have been used"):
        gg.autograd.grad(x * 3, [x, y])
    gx, gy = gg.autograd.grad(x * 3, [x, y], allow_unused=True)
    assert gx.item() == 3.0 and gy is None


def test_materialize_grads_gives_zeros_for_unused_inputs():
    x, y = _xy()
    gx, gy = gg.autograd.grad(x * x, (x, y), materialize_grads=True)
    assert gx.item() == 3.0 and gy.item() == 0.0 and gy.dtype is gg.float32 and not gy.requires_grad
    with pytest.raises(ValueError, match="grad: expected allow_unused to be True or not passed"):
        gg.autograd.grad(x * x, (x, y), allow_unused=False, materialize_grads=True)


def test_only_inputs_is_accepted_and_grad_leaves_dot_grad_alone():
    x, _ = _xy()
    (gx,) = gg.autograd.grad(x ** 3, x, only_inputs=False)
    assert gx.item() == pytest.approx(3 * 1.5 ** 2) and x.grad is None


def test_variable_returns_a_leaf_tensor_sharing_memory():
    t = gg.ones(2)
    v = gg.autograd.Variable(t, requires_grad=True)
    assert isinstance(v, gg.Tensor) and v is not t and v.requires_grad and v.is_leaf and not t.requires_grad
    v._array[0] = 5.0
    assert t.tolist() == [5.0, 1.0]
    assert not gg.autograd.Variable(t).requires_grad
    with pytest.raises(TypeError, match="Variable: data has to be a Tensor"):
        gg.autograd.Variable([1.0])


@pytest.mark.torch
def test_matches_torch():
    torch = pytest.importorskip("torch")
    tx, ty = torch.tensor(1.5, requires_grad=True), torch.tensor(2.0, requires_grad=True)
    x, y = _xy()
    expected = torch.autograd.grad(tx * ty * tx, [tx, ty, torch.tensor(0.0, requires_grad=True)], materialize_grads=True)
    got = gg.autograd.grad(x * y * x, [x, y, gg.tensor(0.0, requires_grad=True)], materialize_grads=True)
    assert [g.item() for g in got] == [g.item() for g in expected]


def test_is_grads_batched_gives_one_gradient_per_cotangent():
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = gg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x ** 2 * w
    jx, jw = gg.autograd.grad(y, (x, w), gg.eye(3), is_grads_batched=True, retain_graph=True)
    np.testing.assert_allclose(jx.numpy(), np.diag(2 * x.detach().numpy() * w.detach().numpy()))
    np.testing.assert_allclose(jw.numpy(), np.diag(x.detach().numpy() ** 2))
    with pytest.raises(gg.ShapeError, match="is_grads_batched"):
        gg.autograd.grad(y, x, gg.ones(3), is_grads_batched=True)


def _tanh_layer(lib):
    """A small layer and its scalar output in either library, from the same numbers."""
    layer = lib.nn.Linear(2, 1)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor([[0.5, -1.5]]))
        layer.bias.copy_(lib.tensor([0.25]))
    x = lib.tensor([[1.0, 2.0], [-0.5, 0.75]], requires_grad=True)
    return layer, x, layer(x).tanh().sum()


def _iterable_argument_grads(lib):
    """Every place autograd takes tensors, given generators and other iterables (a custom backward that
    asks autograd.grad for ``module.parameters()`` is the common case)."""
    layer, x, y = _tanh_layer(lib)
    results = list(lib.autograd.grad(y, layer.parameters(), retain_graph=True))
    results += lib.autograd.grad(y, iter([x]), retain_graph=True)
    results += lib.autograd.grad((o for o in [y]), x, grad_outputs=(g for g in [lib.tensor(2.0)]), retain_graph=True)
    results += lib.autograd.grad(y, {x}, retain_graph=True)
    lib.autograd.backward((o for o in [y]), inputs=layer.parameters(), retain_graph=True)
    assert x.grad is None  # only the given inputs accumulate
    results += [layer.weight.grad, layer.bias.grad]
    y.backward(inputs=iter([x]))
    return results + [x.grad]


def test_autograd_takes_any_iterable_of_tensors():
    grads = _iterable_argument_grads(gg)
    layer, x, y = _tanh_layer(gg)
    dw, db = gg.autograd.grad(y, [layer.weight, layer.bias], retain_graph=True)
    (dx,) = gg.autograd.grad(y, x)
    expected = [dw, db, dx, 2 * dx, dx, dw, db, dx]
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_grad_refuses_empty_inputs_and_non_iterables():
    x, _ = _xy()
    with pytest.raises(RuntimeError, match="cannot be empty"):
        gg.autograd.grad(x * 2, [])
    with pytest.raises(TypeError, match="not iterable"):
        gg.autograd.grad(x * 2, 5)


@pytest.mark.torch
def test_iterable_arguments_match_torch():
    torch = pytest.importorskip("torch")
    for got, want in zip(_iterable_argument_grads(gg), _iterable_argument_grads(torch), strict=True):
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-6)
    for lib in (gg, torch):
        x = lib.tensor(1.0, requires_grad=True)
        with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
            lib.autograd.grad(x * 2, [])
