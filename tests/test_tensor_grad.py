"""Tensor.grad as an attribute: ``del t.grad`` clears it, as PyTorch's (pytorch_optimizer's gradient
accumulation hook deletes each parameter's gradient after folding it into its own buffer)."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim


def test_deleting_the_gradient_leaves_none_and_the_next_backward_starts_afresh():
    p = nn.Parameter(gg.tensor([1.0, 2.0]))
    (p * gg.tensor([3.0, -1.0])).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [3.0, -1.0])
    del p.grad
    assert p.grad is None
    (p * gg.tensor([0.5, 4.0])).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [0.5, 4.0])  # not added to the deleted one
    t = gg.ones(2)
    del t.grad  # a tensor without a gradient: nothing to delete, no error
    assert t.grad is None


def test_an_optimizer_skips_a_parameter_whose_gradient_was_deleted():
    a, b = nn.Parameter(gg.tensor([1.0])), nn.Parameter(gg.tensor([1.0]))
    opt = optim.SGD([a, b], lr=0.5)
    (a * 2 + b * 4).sum().backward()
    del b.grad
    opt.step()
    assert a.item() == 0.0 and b.item() == 1.0


def test_deleting_the_gradient_matches_pytorch():
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    p.sum().backward()
    del p.grad
    assert p.grad is None
