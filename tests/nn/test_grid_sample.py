"""F.affine_grid and F.grid_sample against PyTorch (values and gradients, every mode and padding) and on
closed cases (the identity grid reads the input back)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F


def test_the_identity_grid_reads_the_input_back_and_errors_are_clear():
    x = gg.randn(2, 3, 4, 5, dtype=gg.float64)
    identity = gg.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]] * 2, dtype=gg.float64)
    for align in (False, True):
        grid = F.affine_grid(identity, (2, 3, 4, 5), align_corners=align)
        assert grid.shape == (2, 4, 5, 2)
        for mode in ("bilinear", "nearest", "bicubic"):
            np.testing.assert_allclose(F.grid_sample(x, grid, mode=mode, align_corners=align).numpy(), x.numpy(),
                                       atol=1e-12)
    assert F.affine_grid(gg.zeros(1, 3, 4), (1, 1, 2, 3, 4)).shape == (1, 2, 3, 4, 3)
    with pytest.raises(ValueError, match="bicubic"):
        F.grid_sample(x, grid, mode="lanczos")
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, grid, padding_mode="wrap")
    with pytest.raises(ValueError, match="affine matrices"):
        F.affine_grid(gg.zeros(2, 3, 3), (2, 3, 4, 5))


def _compare_with_pytorch(torch, x, grid, theta, up, size, mode, padding_mode, align_corners):
    """grid_sample at ``grid`` and through ``affine_grid(theta, size)``, with the gradients of the input, the
    grid and the matrices under the cotangent ``up``, in both frameworks."""
    results = []
    for lib, functional in ((gg, F), (torch, torch.nn.functional)):
        a, g, t = (lib.tensor(v, requires_grad=True) for v in (x, grid, theta))
        out = functional.grid_sample(a, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        warped = functional.grid_sample(a, functional.affine_grid(t, size, align_corners=align_corners),
                                        mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        (out * lib.tensor(up)).sum().backward()
        (warped * lib.tensor(up)).sum().backward()
        grads = [a.grad] + ([g.grad, t.grad] if mode != "nearest" else [])
        results.append([out, warped] + grads)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_matches_pytorch(mode, padding_mode, align_corners):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, theta = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 2, 3)) * 0.8
    grid = rng.uniform(-1.4, 1.4, (2, 4, 7, 2))
    up = rng.standard_normal((2, 3, 4, 7))
    _compare_with_pytorch(torch, x, grid, theta, up, (2, 3, 4, 7), mode, padding_mode, align_corners)


@pytest.mark.torch
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_volume_grid_sample_matches_pytorch(mode, padding_mode, align_corners):
    """A 5-D input (N, C, D, H, W) read at (x, y, z) positions: trilinear or nearest, with the gradients of
    the volume, the grid and the affine matrices behind a 3-D affine_grid."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, theta = rng.standard_normal((2, 2, 3, 4, 5)), rng.standard_normal((2, 3, 4)) * 0.8
    grid = rng.uniform(-1.3, 1.3, (2, 3, 2, 4, 3))
    up = rng.standard_normal((2, 2, 3, 2, 4))
    _compare_with_pytorch(torch, x, grid, theta, up, (2, 2, 3, 2, 4), mode, padding_mode, align_corners)


def test_grid_sample_shape_errors_name_what_pytorch_names():
    image, volume = gg.zeros(2, 1, 3, 3), gg.zeros(2, 1, 3, 3, 3)
    with pytest.raises(RuntimeError, match="size 3 in last dimension"):
        F.grid_sample(volume, gg.zeros(2, 2, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.grid_sample(volume, gg.zeros(2, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="same batch size"):
        F.grid_sample(image, gg.zeros(1, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(volume, gg.zeros(2, 2, 2, 2, 3), mode="bicubic", align_corners=False)


@pytest.mark.torch
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_non_finite_grid_positions_read_as_pytorchs(mode, padding_mode, align_corners):
    """NaN and infinite coordinates (a grid normalised by a width of one, say): no index error; "zeros"
    reads NaN (bilinear, bicubic) or 0 (nearest), "border" and "reflection" clip NaN to the first pixel."""
    torch = pytest.importorskip("torch")
    nan, inf = float("nan"), float("inf")
    grid = [[[[nan, 0.2], [0.1, nan], [inf, 0.0], [0.3, -0.4], [-inf, 0.5]]]]
    outs = []
    for lib in (gg, torch):
        x = lib.arange(12.0, dtype=lib.float64).reshape(1, 1, 3, 4)
        out = lib.nn.functional.grid_sample(x, lib.tensor(grid, dtype=lib.float64), mode=mode,
                                            padding_mode=padding_mode, align_corners=align_corners)
        outs.append(out.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-12)
