"""gg.fx.Interpreter, Transformer and ShapeProp: running a graph node by node, rewriting it, recording shapes."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import fx, nn
from gpugrad.fx.passes.shape_prop import ShapeProp


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return gg.relu(self.lin(x)).neg()


def test_the_interpreter_gives_what_the_module_gives_and_can_change_one_kind_of_node():
    traced = fx.symbolic_trace(Small())
    x = gg.randn(4, 3)
    np.testing.assert_array_equal(fx.Interpreter(traced).run(x).detach().numpy(), traced(x).detach().numpy())

    class SigmoidForRelu(fx.Interpreter):
        def call_function(self, target, args, kwargs):
            return gg.sigmoid(*args) if target is gg.relu else super().call_function(target, args, kwargs)

    want = -gg.sigmoid(traced.lin(x))
    np.testing.assert_allclose(SigmoidForRelu(traced).run(x).detach().numpy(), want.detach().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="Expected positional argument for parameter x"):
        fx.Interpreter(traced).run()


def test_a_transformer_writes_a_new_module_with_the_nodes_changed():
    traced = fx.symbolic_trace(Small())

    class TanhForRelu(fx.Transformer):
        def call_function(self, target, args, kwargs):
            return super().call_function(gg.tanh if target is gg.relu else target, args, kwargs)

    rewritten = TanhForRelu(traced).transform()
    x = gg.randn(4, 3)
    np.testing.assert_allclose(rewritten(x).detach().numpy(), (-gg.tanh(traced.lin(x))).detach().numpy(), rtol=1e-6)
    assert "torch.tanh" in rewritten.code and "relu" not in rewritten.code


def test_shape_prop_records_each_nodes_shape_and_dtype():
    traced = fx.symbolic_trace(Small())
    ShapeProp(traced).propagate(gg.randn(4, 3))
    metas = {n.name: n.meta["tensor_meta"] for n in traced.graph.nodes if "tensor_meta" in n.meta}
    assert metas["lin"].shape == (4, 2) and metas["neg"].dtype is gg.float32
    assert set(metas) == {"x", "lin", "relu", "neg", "output"}
