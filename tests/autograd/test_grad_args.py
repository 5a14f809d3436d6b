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
