"""Linear + activation fused into one op (nn.Sequential does it): same values and derivatives as unfused."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.ops.linear import linear_act

KINDS = [
    "identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus", "elu", "celu",
    "selu", "hardswish", "mish",
]
MODULES = {
    "relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(),
    "gelu": nn.GELU(), "gelu_tanh": nn.GELU("tanh"), "silu": nn.SiLU(), "softplus": nn.Softplus(),
    "elu": nn.ELU(0.7), "celu": nn.CELU(1.5), "selu": nn.SELU(), "hardswish": nn.Hardswish(), "mish": nn.Mish(),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("x_shape", [(3, 2, 5), (6, 5)])
def test_fused_linear_first_and_second_derivatives(kind, with_bias, x_shape):
    rng = np.random.default_rng(7)
    x = gg.tensor(rng.standard_normal(x_shape), dtype=gg.float64, requires_grad=True)
    w = gg.tensor(rng.standard_normal((4, 5)), dtype=gg.float64, requires_grad=True)
    b = gg.tensor(rng.standard_normal(4), dtype=gg.float64, requires_grad=True)
    inputs = (x, w, b) if with_bias else (x, w)

    def f(*args):
        return linear_act(args[0], args[1], args[2] if with_bias else None, kind, 0.2)

    assert gg.autograd.gradcheck(f, inputs)
    assert gg.autograd.gradgradcheck(f, inputs)


@pytest.mark.parametrize("kind", ["identity", "relu", "gelu"])
@pytest.mark.parametrize("x_shape", [(6, 5), (3, 2, 5)])
def test_plain_backward_of_a_fused_linear_is_one_op(kind, x_shape, count_applies):
    x = gg.randn(*x_shape, requires_grad=True)
    w = gg.randn(4, 5, requires_grad=True)
    b = gg.randn(4, requires_grad=True)
    y = linear_act(x, w, b, kind)
    counts = count_applies()
    y.backward(gg.ones(*y.shape))
    # a plain backward is the backward op's forward alone, on the arrays (LinearAct names it as its
    # derivative): no op is applied, and its kernel pass and GEMMs give every gradient
    assert dict(counts) == {}
    assert x.grad.shape == x.shape and w.grad.shape == w.shape and b.grad.shape == b.shape


def assert_sequential_matches_its_modules_one_by_one(model, x, grad_atol: float):
    """model(x) as Sequential runs it (fusing) against its modules called one by one: the value, and every
    parameter's gradient of the sum. Returns the fused output."""
    fused = model(x)
    fused.sum().backward()
    fused_grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    step = x
    for m in model:
        step = m(step)
    step.sum().backward()
    np.testing.assert_allclose(fused.detach().numpy(), step.detach().numpy(), rtol=1e-5, atol=1e-6)
    for got, p in zip(fused_grads, model.parameters()):
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-4, atol=grad_atol)
    return fused


@pytest.mark.parametrize("kind", list(MODULES))
def test_sequential_fuses_and_matches_the_modules_run_one_by_one(kind):
    gg.manual_seed(3)
    model = nn.Sequential(nn.Linear(7, 9), MODULES[kind], nn.Linear(9, 3))
    fused = assert_sequential_matches_its_modules_one_by_one(model, gg.randn(11, 7), grad_atol=1e-6)
    assert fused.grad_fn.op_name == "linear"


def test_hooks_turn_fusion_off_so_they_see_the_activation_input():
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU())
    seen = []
    model[1].register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    model(gg.randn(2, 4))
    assert len(seen) == 1 and seen[0].shape == (2, 5)


def test_fused_linear_errors_name_the_layer_and_shapes():
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU())
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) has 3 features but weight of shape \(5, 4\) expects 4"):
        model(gg.randn(2, 3))
    with pytest.raises(TypeError, match="linear: input is torch.float64 but weight is torch.float32"):
        model(gg.randn(2, 4, dtype=gg.float64))
    with pytest.raises(TypeError, match="linear: weight must be a Tensor, got ndarray"):  # as PyTorch's TypeError
        F.linear(gg.randn(2, 3), np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="linear: bias must be a Tensor, got ndarray"):
        F.linear(gg.randn(2, 3), gg.ones(4, 3), np.ones(4, np.float32))


class _ScaledLinear(nn.Linear):
    def forward(self, input):
        return super().forward(input) * 2.0


class _ShiftedReLU(nn.ReLU):
    def forward(self, input):
        return super().forward(input) + 1.0


class _CountingLinear(nn.Linear):
    calls = 0

    def __call__(self, *args):
        _CountingLinear.calls += 1
        return super().__call__(*args)


def test_sequential_never_fuses_past_code_the_user_wrote():
    x = gg.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=gg.float32)
    for first, second in [(_ScaledLinear(3, 2), nn.ReLU()), (nn.Linear(3, 2), _ShiftedReLU()), (_CountingLinear(3, 2), nn.Tanh())]:
        expected = second(first(x))
        got = nn.Sequential(first, second)(x)
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    assert _CountingLinear.calls == 2  # once directly, once inside Sequential


def test_a_subclass_that_keeps_forward_still_fuses():
    class Tagged(nn.Linear):
        pass

    seq = nn.Sequential(Tagged(3, 2), nn.ReLU())
    assert gg.nn.module._fusable(seq[0], seq[1]) == nn.ReLU()._kernel()


@pytest.mark.parametrize("layout", ["coo", "csr", "csc"])
def test_sparse_input_is_multiplied_as_a_matrix(layout):
    # PyTorch's F.linear takes a 2-d sparse input (PyG's GCNConv on sparse node features), also in Sequential.
    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    sparse = gg.tensor(dense).to_sparse() if layout == "coo" else getattr(gg.tensor(dense), f"to_sparse_{layout}")()
    layer = nn.Linear(3, 4).double()
    np.testing.assert_allclose(F.linear(sparse, layer.weight, layer.bias).detach().numpy(),
                               layer(gg.tensor(dense)).detach().numpy(), rtol=1e-12)
    out = nn.Sequential(layer, nn.ReLU())(sparse)
    np.testing.assert_allclose(out.detach().numpy(), np.maximum(layer(gg.tensor(dense)).detach().numpy(), 0))
    out.sum().backward()
    assert layer.weight.grad is not None
