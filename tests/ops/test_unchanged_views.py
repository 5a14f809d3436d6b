"""A view op that leaves the shape as it is (x.view(x.shape), x.expand_as(x), reshape_as, broadcast_to)
gives a new view with a grad_fn while autograd records, as PyTorch's: hooks, retain_grad and is_leaf see a
tensor of its own. flatten over a single dim returns its input, as PyTorch's."""
import pytest

import gpugrad as gg

SAME_SHAPE = {
    "view": lambda x: x.view(2, 1),
    "reshape": lambda x: x.reshape(-1, 1),
    "view_as": lambda x: x.view_as(x),
    "reshape_as": lambda x: x.reshape_as(x),
    "expand": lambda x: x.expand(-1, 1),
    "expand_as": lambda x: x.expand_as(x),
    "broadcast_to": lambda x: x.broadcast_to((2, 1)),
}


@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
def test_a_recorded_unchanged_view_is_a_new_non_leaf_view(name):
    x = gg.tensor([[1.0], [2.0]], requires_grad=True)
    y = SAME_SHAPE[name](x)
    assert y is not x and y.grad_fn is not None and not y.is_leaf
    y.retain_grad()
    (y * gg.tensor([[3.0], [4.0]])).sum().backward()
    assert y.grad.tolist() == [[3.0], [4.0]] and x.grad.tolist() == [[3.0], [4.0]]
    with gg.no_grad():
        SAME_SHAPE[name](x).mul_(0)  # a view: writes reach x
    assert x.tolist() == [[0.0], [0.0]]


def test_an_unrecorded_unchanged_view_may_be_the_input():
    x = gg.ones(2, 1)
    for fn in SAME_SHAPE.values():
        assert fn(x).grad_fn is None and fn(x).tolist() == [[1.0], [1.0]]


def test_flatten_of_one_dim_is_the_input():
    x = gg.ones(2, 3, requires_grad=True)
    assert x.flatten(1, 1) is x and x.flatten(0, 0) is x and x[0].flatten() is not x
    assert gg.ones(3, requires_grad=True).flatten().grad_fn is None


@pytest.mark.torch
def test_as_pytorch():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[1.0], [2.0]], requires_grad=True)
    for fn in SAME_SHAPE.values():
        y = fn(x)
        assert y is not x and y.grad_fn is not None and not y.is_leaf
    assert x.flatten(1, 1) is x and torch.ones(3, requires_grad=True).flatten().grad_fn is None
