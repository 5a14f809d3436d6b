"""gg.jit.script / trace on a module: a ScriptModule of its own running the module's Python, with its
parameters, its submodules scripted, and errors reported as TorchScript's interpreter reports them."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        assert x.shape[-1] == 3, "three features"
        return self.head(self.body(x))


@pytest.mark.parametrize("compile_", [gg.jit.script, lambda m: gg.jit.trace(m, gg.ones(1, 3))])
def test_a_scripted_module_computes_and_trains_the_same_parameters(compile_):
    net = Net()
    scripted = compile_(net)
    assert isinstance(scripted, gg.jit.ScriptModule) and scripted is not net
    assert isinstance(scripted.body[0], gg.jit.ScriptModule) and scripted.original_name == "Net"
    assert [n for n, _ in scripted.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert all(a is b for a, b in zip(scripted.parameters(), net.parameters()))
    x = gg.randn(5, 3)
    # not bitwise: Sequential fuses only gpugrad's own classes (Linear + Tanh in one kernel), not scripted ones
    np.testing.assert_allclose(scripted(x).detach().numpy(), net(x).detach().numpy(), rtol=1e-6, atol=1e-7)
    scripted(x).sum().backward()
    assert net.head.weight.grad is not None
    assert gg.jit.script(scripted) is scripted


def test_its_structure_is_its_own_and_an_error_is_a_jit_error():
    net = Net()
    scripted = gg.jit.script(net)
    scripted.head = nn.Identity()
    assert isinstance(net.head, nn.Linear)
    with pytest.raises(gg.jit.Error, match="AssertionError: three features") as caught:
        scripted(gg.ones(2, 5))
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(AssertionError):  # the module itself is unchanged
        net(gg.ones(2, 5))


def test_the_modules_own_attributes_stay_readable():
    net = Net()
    net.code, net.original_name = "a user's attribute", "kept"
    scripted = gg.jit.script(net)
    assert scripted.code == "a user's attribute" and scripted.original_name == "kept"


def test_a_function_stays_itself():
    def double(x):
        return x * 2

    assert gg.jit.script(double) is double and gg.jit.trace(double, gg.ones(1)) is double
