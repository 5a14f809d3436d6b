"""gg.fx.replace_pattern: each copy of a pattern in a traced module replaced, the module recompiled."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import fx


def two_copies(x, w):
    return gg.relu(x * w).sum() + gg.relu(w * x).sum() - gg.relu(x).sum() + gg.relu(w * w).sum()


def test_every_copy_is_replaced_and_the_module_computes_the_replacement():
    traced = fx.symbolic_trace(two_copies)

    def pattern(a, b):
        return gg.relu(a * b)

    def replacement(a, b):
        return gg.sigmoid(a + b)

    matches = fx.replace_pattern(traced, pattern, replacement)
    assert len(matches) == 2 and all(m.anchor.op == "call_function" for m in matches)
    x, w = gg.tensor([-1.0, 2.0]), gg.tensor([0.5, -3.0])
    want = gg.sigmoid(x + w).sum() + gg.sigmoid(w + x).sum() - gg.relu(x).sum() + gg.relu(w * w).sum()
    np.testing.assert_allclose(traced(x, w).numpy(), want.numpy(), rtol=1e-6)
    # w * w is no copy: the pattern's two inputs match two different values
    assert traced.code.count("torch.sigmoid") == 2 and traced.code.count("torch.relu") == 2
    traced.graph.lint()


def test_a_copy_whose_inner_value_is_used_elsewhere_is_left_alone():
    def shares_inner(x):
        y = x * 2
        return gg.relu(y) + y

    traced = fx.symbolic_trace(shares_inner)
    assert fx.replace_pattern(traced, lambda a, b: gg.relu(a * b), lambda a, b: a + b) == []
    np.testing.assert_array_equal(traced(gg.tensor([1.0, -1.0])).numpy(), [4.0, -2.0])


def test_the_same_rewrite_as_pytorchs():
    torch = pytest.importorskip("torch")

    def rewritten(lib):
        def model(x, w):
            return lib.relu(x * w).sum() + lib.relu(w * w).sum()

        traced = lib.fx.symbolic_trace(model)
        lib.fx.replace_pattern(traced, lambda a, b: lib.relu(a * b), lambda a, b: lib.tanh(a - b))
        return [(n.op, n.target if isinstance(n.target, str) else n.target.__name__) for n in traced.graph.nodes]

    assert sorted(rewritten(gg)) == sorted(rewritten(torch))
