"""``Tensor.as_subclass``: the same memory as an instance of a Tensor subclass, still in the graph."""
import numpy as np
import pytest

import gpugrad as gg


class Marked(gg.Tensor):
    """A user's subclass."""


def test_the_subclass_shares_memory_and_passes_gradients_back():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x.as_subclass(Marked)
    assert type(y) is Marked and not y.is_leaf and y.requires_grad and y.data_ptr() == x.data_ptr()
    (y * gg.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    plain = gg.zeros(2).as_subclass(Marked)
    plain.add_(1)
    assert plain.is_leaf and not plain.requires_grad and plain.tolist() == [1.0, 1.0]


def test_a_class_that_is_not_a_tensor_is_refused():
    with pytest.raises(TypeError, match="as_subclass.*does not inherit from Tensor"):
        gg.zeros(2).as_subclass(int)


def test_as_pytorch():
    torch = pytest.importorskip("torch")
    fields = []
    for lib in (gg, torch):
        sub = type("Sub", (lib.Tensor,), {})
        x = lib.ones(2, 3, requires_grad=True).t()
        y = x.as_subclass(sub)
        fields.append((y.is_leaf, y.requires_grad, y.stride(), y.shape == x.shape, type(y) is sub))
    assert fields[0] == fields[1]
