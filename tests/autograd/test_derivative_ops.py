"""Ops that name a derivative op (Op.derivative): the engine's plain pass runs that op's forward on the
arrays, and everything else (create_graph, hooks, reduced floats, errors) goes through the op's one
backward, the derivative applied. Both roads must give the same gradients and the same errors."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd.function import Op
from gpugrad.ops.activation import ActivationBackward


def test_an_op_cannot_name_a_derivative_and_write_a_backward():
    with pytest.raises(TypeError, match="Twice: an op with a derivative has that op as its backward"):
        class Twice(Op):
            derivative = ActivationBackward

            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, gy):
                return gy


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_plain_and_recorded_roads_agree(dtype, rng):
    x = gg.tensor(rng.standard_normal((3, 5)), dtype=dtype, requires_grad=True)
    w = gg.tensor(rng.standard_normal((4, 5)), dtype=dtype, requires_grad=True)

    def f():
        h = F.layer_norm(F.linear(x, w).tanh()[1:], (4,))
        return (F.silu(h) * h).sum()

    plain = gg.grad(f(), [x, w])
    recorded = gg.grad(f(), [x, w], create_graph=True)
    for a, b in zip(plain, recorded):
        assert b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())


def test_an_in_place_change_of_a_saved_output_is_refused_on_the_plain_road():
    x = gg.randn(4, requires_grad=True)
    y = x.tanh()  # tanh's derivative reads its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"tanh: its output \(shape \(4,\)\), saved for backward, has been "
                                           r"modified by an inplace operation \(version 0 -> 1\)"):
        y.sum().backward()


def test_an_in_place_change_of_a_saved_input_is_refused_on_the_plain_road():
    x = gg.randn(4, requires_grad=True)
    h = x * 1.0
    y = F.silu(h)  # silu's derivative reads its input
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="silu: one of the variables needed for gradient computation has "
                                           "been modified by an inplace operation"):
        y.sum().backward()


def test_a_second_plain_backward_says_the_graph_was_freed():
    x = gg.randn(4, requires_grad=True)
    y = x.sigmoid().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="sigmoid: trying to backward through the graph a second time"):
        y.backward()


def test_saved_tensor_hooks_see_the_derivatives_inputs(rng):
    """Packed saved values are unpacked as Tensors: such a node takes the backward's road, and the hooks
    run as they would for any op."""
    x = gg.tensor(rng.standard_normal(6), requires_grad=True)
    unpacked = []

    def unpack(t):
        unpacked.append(t.shape)
        return t

    with gg.autograd.graph.saved_tensors_hooks(lambda t: t, unpack):
        y = x.tanh()
    y.backward(gg.ones(6, dtype=x.dtype))
    assert unpacked == [(6,)]
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh(x.detach().numpy()) ** 2, rtol=1e-12)


def test_bfloat16_takes_the_widening_road():
    x = gg.tensor([0.5, -1.0, 2.0], dtype=gg.bfloat16, requires_grad=True)
    y = x.tanh()
    y.sum().backward()
    assert x.grad.dtype == gg.bfloat16
    saved = y.detach().float().numpy()  # the derivative reads the output, rounded to bfloat16
    np.testing.assert_allclose(x.grad.float().numpy(), 1 - saved**2, rtol=2**-8)


def test_a_hook_that_changes_the_gradient_shape_is_named(rng):
    x = gg.tensor(rng.standard_normal(4), requires_grad=True)
    y = x.tanh()
    y.register_hook(lambda g: gg.ones(5, dtype=g.dtype))
    with pytest.raises(gg.ShapeError, match="activation_backward"):
        y.sum().backward()


def test_a_users_function_may_have_an_attribute_named_derivative():
    class Cube(gg.autograd.Function):
        derivative = staticmethod(lambda x: 3 * x**2)  # the user's own, not an op

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * Cube.derivative(x)

    x = gg.tensor([1.0, -2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
