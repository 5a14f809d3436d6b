"""gg.library's custom operators: called directly and through gg.ops.<namespace>, with a registered
backward and per-device kernels, beside PyTorch's torch.library."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import library


def test_an_operator_with_its_own_backward():
    @library.custom_op("gg_test::scaled_sin", mutates_args=())
    def scaled_sin(x: gg.Tensor, scale: float) -> gg.Tensor:
        return x.sin() * scale

    calls = []

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.scale = inputs[1]

    def backward(ctx, grad):
        calls.append(1)
        (x,) = ctx.saved_tensors
        return grad * x.cos() * ctx.scale, None

    library.register_autograd("gg_test::scaled_sin", backward, setup_context=setup_context)
    library.register_fake("gg_test::scaled_sin", lambda x, scale: gg.empty_like(x))
    x = gg.tensor([0.0, 1.0], requires_grad=True)
    y = gg.ops.gg_test.scaled_sin(x, 3.0)
    y.sum().backward()
    assert calls == [1] and np.allclose(x.grad.numpy(), 3 * np.cos([0.0, 1.0]))
    with gg.no_grad():
        assert not scaled_sin(x, 2.0).requires_grad


def test_without_a_backward_gradients_flow_through_the_function_and_kernels_go_by_device():
    op = library.custom_op("gg_test::square", lambda x: x * x, mutates_args=())
    library.register_kernel("gg_test::square", "cpu", lambda x: x * x + 0.0)
    x = gg.tensor([2.0], requires_grad=True)
    op(x).backward(gg.ones(1))
    assert x.grad.tolist() == [4.0]
    with pytest.raises(ValueError, match="namespace::name"):
        library.custom_op("no_namespace", lambda x: x, mutates_args=())
    with pytest.raises(ValueError, match="no operator 'gg_test::missing'"):
        library.register_autograd("gg_test::missing", lambda ctx, g: g)
    with pytest.raises(AttributeError, match="no namespace 'gg_test_none'"):
        gg.ops.gg_test_none


@pytest.mark.torch
def test_as_in_pytorch():
    torch = pytest.importorskip("torch")
    grads = {}
    for lib in (gg, torch):
        def cube(x: lib.Tensor) -> lib.Tensor:  # PyTorch infers the schema from the annotations
            return x ** 3

        op = lib.library.custom_op(f"{lib.__name__}_cmp::cube", cube, mutates_args=())
        lib.library.register_autograd(op, lambda ctx, g: g * 3 * ctx.saved_tensors[0] ** 2,
                                      setup_context=lambda ctx, inputs, output: ctx.save_for_backward(inputs[0]))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        op(x).sum().backward()
        grads[lib.__name__] = x.grad.tolist()
    assert grads["gpugrad"] == grads["torch"] == [3.0, 12.0]


def test_setup_context_sees_keyword_arguments_in_order():
    # transformers' MoE fallback calls op(x, w, offs=offs) and reads inputs[2] in setup_context.
    def scale(x: gg.Tensor, w: gg.Tensor, factor: float = 1.0) -> gg.Tensor:
        return x * w * factor

    op = library.custom_op("gg_test::scale", scale, mutates_args=())
    seen = []

    def setup_context(ctx, inputs, output):
        seen.append(len(inputs))
        ctx.factor = inputs[2]
        ctx.save_for_backward(inputs[1])

    library.register_autograd(op, lambda ctx, g: (g * ctx.saved_tensors[0] * ctx.factor, None, None),
                              setup_context=setup_context)
    x = gg.ones(3, requires_grad=True)
    op(x, gg.full((3,), 2.0), factor=3.0).sum().backward()
    assert seen == [3] and x.grad.tolist() == [6.0] * 3
