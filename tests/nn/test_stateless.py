"""nn.utils.stateless._reparametrize_module, as PyTorch's: a module's parameters and buffers swapped for
given tensors inside a with-block and restored afterwards (the swap gg.func.functional_call makes);
tied weights, strict keys, names the module lacks, write-back; values against NumPy and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import func, nn
from gpugrad.nn.utils.stateless import _reparametrize_module


def _np(t):
    return t.detach().numpy()


def test_swaps_within_the_block_and_restores_after_even_on_an_error():
    gg.manual_seed(0)
    layer = nn.Linear(3, 2)
    weight, bias = layer.weight, layer.bias
    w = gg.randn(2, 3, requires_grad=True)
    b = gg.randn(2, requires_grad=True)
    x = gg.randn(4, 3)
    with _reparametrize_module(layer, {"weight": w, "bias": b}) as inside:
        assert inside is None and layer.weight is w and layer.bias is b
        assert "weight" in layer._parameters and layer._parameters["weight"] is w
        out = layer(x)
    assert layer.weight is weight and layer.bias is bias
    np.testing.assert_allclose(_np(out), x.numpy() @ w.detach().numpy().T + b.detach().numpy(), rtol=1e-6)
    cot = gg.randn(4, 2)
    (out * cot).sum().backward()  # the gradient reaches the swapped-in tensors, not the module's own
    np.testing.assert_allclose(w.grad.numpy(), cot.numpy().T @ x.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), cot.numpy().sum(0), rtol=1e-5)
    assert weight.grad is None
    with pytest.raises(ZeroDivisionError):
        with _reparametrize_module(layer, {"weight": w}):
            1 / 0
    assert layer.weight is weight


def test_buffers_nested_names_and_a_name_the_module_lacks():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    mean, extra = gg.tensor([1.0, 2.0]), gg.tensor([3.0])
    with _reparametrize_module(model, {"1.running_mean": mean, "1.extra": extra}):
        assert model[1].running_mean is mean and model[1].extra is extra
        assert "extra" not in model[1]._parameters and "extra" not in model[1]._buffers
    assert not hasattr(model[1], "extra") and model[1].running_mean.tolist() == [0.0, 0.0]
    with pytest.raises(TypeError, match="not an instance of torch.Tensor"):
        with _reparametrize_module(model, {"0.weight": np.zeros((2, 2))}):
            pass
    with pytest.raises(TypeError, match="not an instance of torch.Tensor"):
        with _reparametrize_module(model, {"0.training": gg.zeros(1)}):  # a bool attribute is no tensor slot
            pass
    with pytest.raises(AttributeError):
        with _reparametrize_module(model, {"5.weight": gg.zeros(1)}):
            pass
    assert model[0].weight.shape == (2, 2) and model[1].training is True


def test_strict_names_unexpected_and_missing_keys():
    layer = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'other'\.\n\tMissing key\(s\): 'bias'\."):
        with _reparametrize_module(layer, {"weight": gg.zeros(2, 2), "other": gg.zeros(1)}, strict=True):
            pass
    with _reparametrize_module(layer, {"weight": gg.zeros(2, 2), "bias": gg.zeros(2)}, strict=True):
        assert layer(gg.ones(1, 2)).tolist() == [[0.0, 0.0]]


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2, bias=False)
        self.b = nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


def test_tie_weights_gives_one_value_to_every_name_of_a_tied_tensor():
    model = Tied()
    own = model.a.weight
    w = gg.tensor([[2.0, 0.0], [0.0, 3.0]])
    x = gg.tensor([[1.0, 1.0]])
    with _reparametrize_module(model, {"a.weight": w}, tie_weights=True):
        assert model.b.weight is w and model(x).tolist() == [[4.0, 9.0]]
    with _reparametrize_module(model, {"a.weight": w}):  # untied (the default here): b keeps its own
        assert model.b.weight is own
    assert model.a.weight is own and model.b.weight is own
    with pytest.raises(ValueError, match="tied"):
        with _reparametrize_module(model, {"a.weight": w, "b.weight": gg.zeros(2, 2)}, tie_weights=True):
            pass
    with _reparametrize_module(model, {"a.weight": w, "b.weight": w}, tie_weights=True):
        assert model.a.weight is w and model.b.weight is w
    # functional_call ties by default, as torch.func's
    assert func.functional_call(model, {"a.weight": w}, (x,)).tolist() == [[4.0, 9.0]]
    assert func.functional_call(model, {"a.weight": w}, (x,), tie_weights=False).tolist() == \
        _np((x @ w.T) @ own.T).tolist()
    assert model.a.weight is own and model.b.weight is own


def test_a_submodule_reached_by_two_names_is_restored():
    shared = nn.Linear(2, 2)
    model = nn.Module()
    model.first, model.second = shared, shared
    own = shared.weight
    with _reparametrize_module(model, {"first.weight": gg.zeros(2, 2), "second.weight": gg.ones(2, 2)}):
        assert shared.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert shared.weight is own


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("count", gg.zeros(()))

    def forward(self, x):
        self.count = self.count + 1  # a new tensor in the buffer slot, not an in-place update
        return x * self.count


def test_a_tensor_the_module_assigns_inside_is_written_back_to_the_dict():
    module = Counter()
    state = {"count": gg.tensor(5.0)}
    with _reparametrize_module(module, state):
        assert module(gg.tensor(2.0)).item() == 12.0
    assert state["count"].item() == 6.0 and module.count.item() == 0.0
    assert func.functional_call(module, state, (gg.tensor(1.0),)).item() == 7.0
    assert state["count"].item() == 7.0 and module.count.item() == 0.0


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils.stateless import _reparametrize_module as torch_reparametrize

    rng = np.random.default_rng(3)
    w, b, x = rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal((5, 4))
    results = []
    for lib, reparametrize in ((torch, torch_reparametrize), (gg, _reparametrize_module)):
        layer = lib.nn.Linear(4, 3).double()
        wt = lib.tensor(w, requires_grad=True)
        state = {"weight": wt, "bias": lib.tensor(b)}
        with reparametrize(layer, state, strict=True):
            out = layer(lib.tensor(x)).tanh().sum()
        out.backward()
        results.append((out.item(), wt.grad.numpy(), layer.weight.grad))
    (t_out, t_grad, t_own), (g_out, g_grad, g_own) = results
    assert t_own is None and g_own is None
    np.testing.assert_allclose(g_out, t_out, rtol=1e-12)
    np.testing.assert_allclose(g_grad, t_grad, rtol=1e-10)
