"""Convolutions of an empty batch (N = 0) give the empty output PyTorch gives, and zero gradients for the
weight and bias, on the fused (groups=1) road as on the grouped one and through nn.Sequential's fusion."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def _run(lib, case):
    F = lib.nn.functional
    shapes = {"conv1d": ((0, 2, 6), (3, 2, 3)), "conv2d": ((0, 2, 5, 5), (3, 2, 3, 3)),
              "conv2d_grouped": ((0, 2, 5, 5), (4, 1, 3, 3)), "conv3d": ((0, 2, 4, 4, 4), (3, 2, 2, 2, 2))}
    x_shape, w_shape = shapes[case]
    x = lib.zeros(x_shape, dtype=lib.float64, requires_grad=True)
    w = lib.ones(w_shape, dtype=lib.float64, requires_grad=True)
    b = lib.ones(w_shape[0], dtype=lib.float64, requires_grad=True)
    fn = getattr(F, case.split("_")[0])
    y = fn(x, w, b, groups=2 if case.endswith("grouped") else 1)
    y.sum().backward()
    return [tuple(y.shape), tuple(x.grad.shape), w.grad.numpy().tolist(), b.grad.numpy().tolist()]


@pytest.mark.torch
@pytest.mark.parametrize("case", ["conv1d", "conv2d", "conv2d_grouped", "conv3d"])
def test_empty_batch_convolutions_match_pytorch(case):
    torch = pytest.importorskip("torch")
    assert _run(gg, case) == _run(torch, case)


def test_a_fused_conv_and_activation_takes_an_empty_batch():
    block = gg.nn.Sequential(gg.nn.Conv2d(2, 3, 3), gg.nn.ReLU())
    out = block(gg.zeros(0, 2, 5, 5))
    assert tuple(out.shape) == (0, 3, 3, 3)
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((0, 3, 3, 3), np.float32))
