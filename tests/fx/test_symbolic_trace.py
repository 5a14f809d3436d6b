"""gg.fx: a module recorded as a graph by running it on Proxies, compiled back into a GraphModule that
computes what the module does (values and gradients), with PyTorch's graph where PyTorch is installed."""
import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import fx, nn


def scaled_norm(x, eps):
    """A leaf of every trace of this file (fx.wrap at module level): recorded as one node."""
    return x / (x.norm() + eps)


fx.wrap("scaled_norm")


def build(torch):
    """The same small model under either framework (torch is gpugrad or PyTorch)."""

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 3)
            self.seq = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU())
            self.register_buffer("scale", torch.ones(3) * 2)
            self.w = torch.nn.Parameter(torch.ones(3) * 0.5)

        def forward(self, x, y=None):
            h = self.seq(self.lin(x)) * self.scale + self.w
            h = torch.tanh(h).sum(dim=-1, keepdim=True)
            return torch.nn.functional.softmax(h + x[:, :1], dim=0), h.shape

    return Block


def test_a_traced_module_computes_what_the_module_does_values_and_gradients():
    gg.manual_seed(0)
    model = build(gg)()
    traced = fx.symbolic_trace(model)
    x = gg.randn(5, 4, requires_grad=True)
    want, want_shape = model(x)
    got, got_shape = traced(x)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert got_shape == want_shape == (5, 1)
    (g_model,) = gg.autograd.grad((want * gg.arange(5.0)[:, None]).sum(), x)
    (g_traced,) = gg.autograd.grad((got * gg.arange(5.0)[:, None]).sum(), x)
    np.testing.assert_allclose(g_traced.numpy(), g_model.numpy(), rtol=1e-6)
    # the traced module shares the model's parameters
    assert traced.lin.weight is model.lin.weight and traced.get_submodule("seq.0") is model.seq[0]
    assert type(traced).__name__ == "Block" and isinstance(traced, fx.GraphModule)


def test_the_graph_holds_one_node_per_operation_with_pytorchs_kinds_and_names():
    traced = fx.symbolic_trace(build(gg)())
    ops = [(n.op, n.name) for n in traced.graph.nodes]
    assert ops == [("placeholder", "x"), ("placeholder", "y"), ("call_module", "lin"), ("call_module", "seq_0"),
                   ("call_module", "seq_1"), ("get_attr", "scale"), ("call_function", "mul"), ("get_attr", "w"),
                   ("call_function", "add"), ("call_function", "tanh"), ("call_method", "sum_1"),
                   ("call_function", "getitem"), ("call_function", "add_1"), ("call_function", "softmax"),
                   ("call_function", "getattr_1"), ("output", "output")]
    assert "sum_1 = tanh.sum(dim = -1, keepdim = True)" in traced.code
    assert 'getattr(self.seq, "0")(lin)' in traced.code


def test_the_graph_matches_pytorchs():
    torch = pytest.importorskip("torch")

    def summary(traced):
        return [(n.op, n.name, n.target if isinstance(n.target, str) else n.target.__name__, len(n.users))
                for n in traced.graph.nodes]

    assert summary(fx.symbolic_trace(build(gg)())) == summary(torch.fx.symbolic_trace(build(torch)()))


def test_a_function_with_star_args_and_keywords_and_math_and_a_wrapped_leaf():
    def f(x, *args, **kw):
        return scaled_norm(x, 1e-6) * math.sqrt(args[0]) + kw["bias"]

    traced = fx.symbolic_trace(f)
    x = gg.tensor([3.0, 4.0])
    np.testing.assert_allclose(traced(x, 4.0, bias=1.0).numpy(), f(x, 4.0, bias=1.0).numpy(), rtol=1e-6)
    targets = [n.target for n in traced.graph.nodes if n.op == "call_function"]
    assert scaled_norm in targets and math.sqrt in targets  # leaves, not traced through
    assert "def forward(self, x, *args, **kw):" in traced.code


def test_control_flow_on_a_traced_value_and_len_are_refused_unpacking_is_recorded():
    def branches(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(fx.proxy.TraceError, match="control flow"):
        fx.symbolic_trace(branches)
    with pytest.raises(RuntimeError, match="'len' is not supported"):
        fx.symbolic_trace(lambda x: len(x))

    def halves(x):
        a, b = x.chunk(2)
        return a - b

    traced = fx.symbolic_trace(halves)
    x = gg.arange(6.0)
    np.testing.assert_array_equal(traced(x).numpy(), halves(x).numpy())


def test_concrete_args_specialise_the_trace_and_check_the_value_given():
    def maybe_neg(x, flip):
        return -x if flip else x

    traced = fx.symbolic_trace(maybe_neg, concrete_args={"flip": True})
    x = gg.ones(2)
    np.testing.assert_array_equal(traced(x, True).numpy(), -np.ones(2))
    with pytest.raises(AssertionError, match="specialized to have value True"):
        traced(x, False)


def test_a_leaf_submodule_is_one_node_and_a_user_module_is_traced_through():
    class Inner(nn.Module):
        def forward(self, x):
            return x * 3

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.act = Inner(), nn.GELU()

        def forward(self, x):
            return self.act(self.inner(x))

    traced = fx.symbolic_trace(Outer())
    assert [(n.op, n.target if n.op != "call_function" else n.target.__name__) for n in traced.graph.nodes] == [
        ("placeholder", "x"), ("call_function", "mul"), ("call_module", "act"), ("output", "output")]

    class KeepInner(fx.Tracer):
        def is_leaf_module(self, m, qualified_name):
            return isinstance(m, Inner) or super().is_leaf_module(m, qualified_name)

    graph = KeepInner().trace(Outer())
    assert [n.op for n in graph.nodes] == ["placeholder", "call_module", "call_module", "output"]


def test_a_constant_tensor_becomes_an_attribute_of_the_traced_module():
    table = gg.tensor([1.0, 2.0, 3.0])

    def add_table(x):
        return x + table

    traced = fx.symbolic_trace(add_table)
    assert [n.op for n in traced.graph.nodes] == ["placeholder", "get_attr", "call_function", "output"]
    np.testing.assert_array_equal(traced(gg.ones(3)).numpy(), [2.0, 3.0, 4.0])
    assert traced._tensor_constant0 is table


def test_an_assertion_on_a_traced_value_is_recorded_and_kept():
    def checked(x):
        gg._assert(x.shape[-1] == 3, "three features")
        return x * 2

    traced = fx.symbolic_trace(checked)
    assert traced.graph.eliminate_dead_code() is False  # torch._assert has a side effect
    np.testing.assert_array_equal(traced(gg.ones(3)).numpy(), [2.0, 2.0, 2.0])
    with pytest.raises(AssertionError, match="three features"):
        traced(gg.ones(2))
