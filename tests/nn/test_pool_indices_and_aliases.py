"""F.*max_pool*_with_indices (PyTorch's names for return_indices=True) and nn.NLLLoss2d (NLLLoss's old name)."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn

CASES = [
    ("max_pool1d", (2, 3, 7), (3, 2, 1)),
    ("max_pool2d", (1, 2, 5, 6), (3, 2, 1)),
    ("max_pool3d", (1, 1, 3, 4, 4), (2, 1)),
    ("adaptive_max_pool1d", (2, 3, 7), (3,)),
    ("adaptive_max_pool2d", (1, 2, 5, 4), ((2, 3),)),
    ("adaptive_max_pool3d", (1, 1, 3, 3, 3), (2,)),
]


@pytest.mark.parametrize("name,shape,args", CASES, ids=[c[0] for c in CASES])
def test_with_indices_is_return_indices_true(name, shape, args):
    x = gg.tensor(np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape) * 0.1, requires_grad=True)
    values, indices = getattr(F, name + "_with_indices")(x, *args)
    want_values, want_indices = getattr(F, name)(x, *args, return_indices=True)
    np.testing.assert_array_equal(values.detach().numpy(), want_values.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), want_indices.numpy())
    assert indices.dtype == gg.int64
    values.sum().backward()  # the gradient is the pooling's: one per chosen element
    assert x.grad.numpy().sum() == values.numel()
    again = getattr(F, name + "_with_indices")(x, *args, return_indices=False)  # accepted and ignored, as in PyTorch
    assert isinstance(again, tuple) and len(again) == 2


@pytest.mark.torch
@pytest.mark.parametrize("name,shape,args", CASES, ids=[c[0] for c in CASES])
def test_with_indices_matches_pytorch(name, shape, args):
    import inspect

    import torch

    fn, theirs = getattr(F, name + "_with_indices"), getattr(torch.nn.functional, name + "_with_indices")
    assert list(inspect.signature(fn).parameters) == list(inspect.signature(theirs).parameters)
    x = np.random.default_rng(1).standard_normal(shape)
    v, i = fn(gg.tensor(x), *args)
    tv, ti = theirs(torch.tensor(x), *args)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


def test_nll_loss_2d_is_nll_loss():
    rng = np.random.default_rng(0)
    x = gg.tensor(rng.standard_normal((2, 3, 4, 5)), dtype=gg.float32)
    t = gg.tensor(rng.integers(0, 3, (2, 4, 5)))
    w = gg.tensor([0.5, 1.0, 2.0])
    loss = nn.NLLLoss2d(weight=w, ignore_index=1, reduction="sum")
    assert isinstance(loss, nn.NLLLoss) and loss.ignore_index == 1 and loss.reduction == "sum"
    np.testing.assert_allclose(loss(x, t).item(), F.nll_loss(x, t, weight=w, ignore_index=1, reduction="sum").item())
