"""A user's autograd.Function as PyTorch runs it: forward on the Tensors themselves with grad mode off,
outputs and saved values back in the graph; PyTorch 2's forward without ctx plus setup_context."""
import numpy as np
import pytest

import gpugrad as gg

try:
    import torch
except ImportError:  # pragma: no cover - PyTorch is optional
    torch = None


def _make_relu(lib):
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.grad_was_on = lib.is_grad_enabled()
            ctx.save_for_backward(input)
            return input.clamp(min=0)  # Tensor methods: forward gets Tensors

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    return MyReLU


def _make_scaled_exp(lib):
    class ScaledExp(lib.autograd.Function):
        @staticmethod
        def forward(x, scale):  # PyTorch 2's form: no ctx here ...
            return x.exp() * scale

        @staticmethod
        def setup_context(ctx, inputs, output):  # ... the context is set up apart
            ctx.scale = inputs[1]
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y, None

    return ScaledExp


def test_forward_gets_tensors_with_grad_mode_off():
    relu = _make_relu(gg)
    x = gg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = relu.apply(x)
    assert y.grad_fn is not None and y.tolist() == [0.0, 0.5, 2.0]
    assert y.grad_fn.grad_was_on is False
    (y * gg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 3.0]


def test_saved_output_is_in_the_graph_for_second_derivatives():
    scaled_exp = _make_scaled_exp(gg)
    x = gg.tensor([0.3, -0.7], dtype=gg.float64, requires_grad=True)
    y = scaled_exp.apply(x, 2.0)
    (g,) = gg.autograd.grad(y.sum(), x, create_graph=True)  # 2 e^x
    (h,) = gg.autograd.grad(g.sum(), x)  # d/dx of (grad * y) through the saved output: 2 e^x
    np.testing.assert_allclose(g.detach().numpy(), 2 * np.exp([0.3, -0.7]))
    np.testing.assert_allclose(h.numpy(), 2 * np.exp([0.3, -0.7]))


def test_marked_outputs_are_not_differentiable():
    class SortWithIndex(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, index = x.sort()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            return values, index

        @staticmethod
        def backward(ctx, g, _):
            (index,) = ctx.saved_tensors
            return gg.zeros_like(g).scatter(0, index, g)

    x = gg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, index = SortWithIndex.apply(x)
    assert index.grad_fn is None and values.grad_fn is not None
    (values * gg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_custom_functions_train_as_in_pytorch():
    """pytorch/tutorials' two-layer net with a custom ReLU, a few steps, in both frameworks."""
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(s).astype(np.float32) for s in ((16, 8), (16, 3), (8, 5), (5, 3))]
    results = []
    for lib in (gg, torch):
        relu, scaled_exp = _make_relu(lib), _make_scaled_exp(lib)
        x, y = lib.tensor(data[0]), lib.tensor(data[1])
        w1, w2 = lib.tensor(data[2], requires_grad=True), lib.tensor(data[3], requires_grad=True)
        losses = []
        for _ in range(3):
            pred = scaled_exp.apply(relu.apply(x @ w1) @ w2 * 0.1, 0.5)
            loss = (pred - y).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                for w in (w1, w2):
                    w -= 1e-3 * w.grad
                    w.grad = None
            losses.append(loss.item())
        results.append((losses, w1.detach().numpy(), w2.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for mine, theirs in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_set_materialize_grads_false_passes_none_for_unused_outputs():
    seen = []

    class Split(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1.0, x * 2.0

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga is None, gb is None))
            return ga if gb is None else ga + 2.0 * gb

    x = gg.ones(2, requires_grad=True)
    a, _ = Split.apply(x)
    a.sum().backward()
    assert seen == [(False, True)] and x.grad.tolist() == [1.0, 1.0]


def test_once_differentiable_backward_refuses_a_second_derivative():
    from gpugrad.autograd.function import once_differentiable

    class Cube(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    x = gg.tensor([1.0, 2.0], requires_grad=True)
    v = gg.ones(2, requires_grad=True)  # a gradient that requires grad, as PyTorch's check reads the grads
    (g,) = gg.autograd.grad(Cube.apply(x), x, grad_outputs=v, create_graph=True)
    assert g.tolist() == [3.0, 12.0]
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()
    Cube.apply(x).sum().backward()  # first order alone is untouched
    assert x.grad.tolist() == [3.0, 12.0]


@pytest.mark.parametrize("lib_name", ["gpugrad", "torch"])
def test_the_ctx_is_a_function_ctx_as_in_pytorch(lib_name):
    lib = gg if lib_name == "gpugrad" else pytest.importorskip("torch")
    FunctionCtx = lib.autograd.function.FunctionCtx
    seen = []

    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx: FunctionCtx, x):
            seen.append(isinstance(ctx, FunctionCtx))
            return x * 2

        @staticmethod
        def backward(ctx: FunctionCtx, g):
            seen.append(isinstance(ctx, FunctionCtx))
            return g * 2

    x = lib.ones(3, requires_grad=True)
    Double.apply(x).sum().backward()
    assert seen == [True, True] and x.grad.tolist() == [2.0, 2.0, 2.0]
