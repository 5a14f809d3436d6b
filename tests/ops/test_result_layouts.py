"""Results PyTorch allocates row-major come back row-major here too (strides and is_contiguous as
PyTorch's), so that ``.view`` on them works as it does there: advanced indexing and index_select along a
later dim, a cast of an expanded tensor, reflect padding of one, grouped and 3-D convolutions."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def _cases(lib):
    F = lib.nn.functional
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((3, 3, 5, 5)).astype(np.float32))
    expanded = x[0].expand(3, -1, -1, -1)
    i, j = lib.tensor([0, 1, 2, 3, 4, 3]), lib.tensor([0, 2, 1])
    vol = lib.tensor(rng.standard_normal((2, 4, 5, 5, 5)).astype(np.float32))
    w2, w3 = lib.ones(4, 2, 3, 3), lib.ones(4, 2, 2, 2, 2)
    return {
        "getitem later dim": lambda: x[:, :, i],
        "getitem last dim": lambda: x[:, :, :, i],
        "getitem with a slice after": lambda: x[:, j, 1:3],
        "getitem of expanded": lambda: expanded[:, :, j],
        "index_select dim 3": lambda: x.index_select(3, i),
        "index_select of expanded": lambda: expanded.index_select(2, i),
        "cast of expanded": lambda: expanded.to(lib.float64),
        "reflect pad of expanded": lambda: F.pad(expanded, [1, 1, 1, 1], mode="reflect"),
        "grouped conv2d": lambda: F.conv2d(x[:, :2].repeat(1, 2, 1, 1), w2, lib.ones(4), groups=2),
        "depthwise conv2d of expanded": lambda: F.conv2d(expanded, lib.ones(3, 1, 2, 2), groups=3),
        "grouped conv1d": lambda: F.conv1d(x[:, :2, 0].repeat(1, 2, 1), lib.ones(4, 2, 3), groups=2),
        "conv3d": lambda: F.conv3d(vol, lib.ones(3, 4, 2, 2, 2), lib.ones(3)),
        "grouped conv3d": lambda: F.conv3d(vol, w3, groups=2),
        "grouped conv_transpose3d": lambda: F.conv_transpose3d(vol, w3, groups=2, stride=2),
    }


@pytest.mark.torch
@pytest.mark.parametrize("case", list(_cases(gg)))
def test_results_are_laid_out_as_pytorchs(case):
    torch = pytest.importorskip("torch")
    ours, theirs = _cases(gg)[case](), _cases(torch)[case]()
    assert ours.is_contiguous() and theirs.is_contiguous()
    assert ours.stride() == theirs.stride()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    assert ours.view(-1).shape == (ours.numel(),)


def test_advanced_indexing_gradients_still_reach_the_input():
    x = gg.randn(2, 3, 4, dtype=gg.float64, requires_grad=True)
    index = gg.tensor([3, 0, 3])
    x[:, :, index].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [1.0, 0.0, 0.0, 2.0])
