"""Fused layer normalisation and RMS normalisation (``centered=False``): forward and backward per row, weight
and bias gradients, against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import layer_norm as ln

from .conftest import SIM, tolerances

SHAPES = [(5, 7), (3, 40)] if SIM else [(1, 1), (7, 5), (33, 17), (3, 1001), (129, 70)]


# RMS normalisation (centered=False) as rms_norm uses it: with a weight or none, never a bias.
@pytest.mark.parametrize("affine, centered", [("both", True), ("weight", True), ("bias", True), ("none", True),
                                              ("weight", False), ("none", False)],
                         ids=["layer-both", "layer-weight", "layer-bias", "layer-none", "rms-weight", "rms-none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_the_reference(backend, rng, dtype, affine, centered):
    tol = tolerances(dtype)
    for rows, n in SHAPES:
        x = (rng.standard_normal((rows, n)) * 3 + 1).astype(dtype)
        gy = rng.standard_normal((rows, n)).astype(dtype)
        w = (rng.standard_normal(n) + 1).astype(dtype) if affine in ("both", "weight") else None
        b = rng.standard_normal(n).astype(dtype) if affine in ("both", "bias") else None
        dev = lambda a: None if a is None else backend.dev(a)  # noqa: E731
        got = ln.layer_norm_forward(backend.xp, dev(x), dev(w), dev(b), 1e-5, centered=centered, impl=backend.impl)
        want = ln.reference_forward(np, x, w, b, 1e-5, centered)
        for g, r in zip(got, want):
            np.testing.assert_allclose(backend.host(g), r, **tol, err_msg=str((rows, n)))
        _, mean, rstd = want
        gx, gw, gb = ln.layer_norm_backward(backend.xp, dev(gy), dev(x), dev(mean), dev(rstd), dev(w), centered=centered,
                                            impl=backend.impl)
        want_gx, want_gw, want_gb = ln.reference_backward(np, gy, x, mean, rstd, w, centered)
        # gx = rstd (g - mean(g) - xhat mean(g xhat)) with g = gy w: differences of terms of size |g|, so its
        # rounding is a few ulp of rstd |g|, whatever the result (a one-column row's gx is 0 up to that).
        xhat = (x - mean[:, None]) * rstd[:, None]
        g = gy if w is None else gy * w
        scale = rstd[:, None] * (np.abs(g) + np.abs(g).mean(axis=1, keepdims=True) * (1 + np.abs(xhat)))
        err = np.abs(backend.host(gx) - want_gx)
        assert np.all(err <= 8 * np.finfo(dtype).eps * scale + tol["atol"] + tol["rtol"] * np.abs(want_gx)), \
            str((rows, n, err.max()))
        # Column sums over the rows, in another order than the reference's: their rounding grows with the
        # summed magnitudes, which cancel (a few ulp of sum |term| rather than of the result).
        for got, want, terms in ((gw, want_gw, gy * xhat), (gb, want_gb, gy)):
            bound = 8 * np.finfo(dtype).eps * np.abs(terms).sum(axis=0)
            assert np.all(np.abs(backend.host(got) - want) <= bound + tol["atol"]), str((rows, n))


def test_the_rms_reference_is_x_over_its_root_mean_square_and_its_gradient(rng):
    x = rng.standard_normal((6, 9)) * 3 + 1
    w = rng.standard_normal(9)
    y, mean, rstd = ln.reference_forward(np, x, w, None, 1e-3, centered=False)
    root = np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, x / root * w, rtol=1e-13)
    assert (mean == 0).all()
    np.testing.assert_allclose(rstd, 1 / root[:, 0], rtol=1e-13)
    # the backward against central differences of <y, gy>
    gy = rng.standard_normal(x.shape)
    gx, gw, _ = ln.reference_backward(np, gy, x, mean, rstd, w, centered=False)
    h = 1e-6
    for i, j in ((0, 0), (3, 4), (5, 8)):
        step = np.zeros_like(x)
        step[i, j] = h
        up = (ln.reference_forward(np, x + step, w, None, 1e-3, centered=False)[0] * gy).sum()
        down = (ln.reference_forward(np, x - step, w, None, 1e-3, centered=False)[0] * gy).sum()
        assert abs(gx[i, j] - (up - down) / (2 * h)) < 1e-6
    np.testing.assert_allclose(gw, (gy * x / root).sum(axis=0), rtol=1e-12)


def test_backward_without_parameter_gradients(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    _, mean, rstd = ln.layer_norm_forward(np, x, None, None, 1e-5, impl="cpu")
    gx, gw, gb = ln.layer_norm_backward(np, x, x, mean, rstd, None, need_param_grads=False, impl="cpu")
    assert gw is None and gb is None and gx.shape == x.shape


def test_launchers_refuse_bad_input():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="layer_norm.forward: weight must have shape \\(3,\\)"):
        ln.layer_norm_forward(np, x, np.ones(4, np.float32), None, 1e-5, impl="cpu")
    with pytest.raises(ValueError, match="layer_norm.backward"):
        ln.layer_norm_backward(np, np.zeros((2, 4), np.float32), x, np.zeros(2, np.float32), np.ones(2, np.float32),
                               None, impl="cpu")
