"""Fused batch normalisation (chunked per-channel statistics, normalisation, backward) against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import batch_norm as bn

from .conftest import SIM, tolerances

# (N, C, S): S = 1 is an (N, C) input; N below and above the chunk count; S below and above a CUDA block.
SHAPES = [(3, 2, 5), (1, 2, 130)] if SIM else [(2, 1, 1), (7, 5, 1), (33, 3, 17), (3, 4, 1001), (21, 6, 129), (1, 7, 33)]


def _close_sums(got, want, terms, dtype, tol, msg):
    # Sums over many values in another order than the reference's: rounding grows with sum |term|.
    bound = 16 * np.finfo(dtype).eps * np.abs(terms).sum(axis=(0, 2))
    assert np.all(np.abs(got - want) <= bound + tol["atol"]), msg


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_the_reference(backend, rng, dtype, affine, training):
    tol = tolerances(dtype)
    dev = lambda a: None if a is None else backend.dev(a)  # noqa: E731
    for shape in SHAPES:
        n, c, s = shape
        # An offset mean: the statistics must not cancel (E[x^2] - E[x]^2 would lose float32's digits).
        x = (rng.standard_normal(shape) * 3 + 50).astype(dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        w = (rng.standard_normal(c) + 1).astype(dtype) if affine != "none" else None
        b = rng.standard_normal(c).astype(dtype) if affine == "both" else None
        rm = (rng.standard_normal(c) + 50).astype(dtype)
        rv = (rng.random(c) + 0.5).astype(dtype)
        got = bn.batch_norm_forward(backend.xp, dev(x), dev(w), dev(b), 1e-5, dev(rm), dev(rv), training=training,
                                    impl=backend.impl)
        want = bn.reference_forward(np, x, w, b, 1e-5, rm, rv, training)
        for name, g, r in zip(("y", "mean", "invstd", "var"), got, want):
            np.testing.assert_allclose(backend.host(g), r, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10,
                                       err_msg=f"{name} {shape}")
        _, mean, invstd, _ = want
        gx, gw, gb = bn.batch_norm_backward(backend.xp, dev(gy), dev(x), dev(mean), dev(invstd), dev(w),
                                            training=training, impl=backend.impl)
        want_gx, want_gw, want_gb = bn.reference_backward(np, gy, x, mean, invstd, w, training)
        gx = backend.host(gx)
        # gx in training subtracts two channel means from gy: its error is an ulp of |gy| scale, not of gx.
        scale = np.abs(gy).max() * (np.abs(invstd).max()) * (1 if w is None else np.abs(w).max())
        np.testing.assert_allclose(gx, want_gx, rtol=tol["rtol"], atol=tol["atol"] + 64 * np.finfo(dtype).eps * scale,
                                   err_msg=str(shape))
        centred = (x - mean[None, :, None]) * invstd[None, :, None]
        _close_sums(backend.host(gw), want_gw, gy * centred, dtype, tol, str(shape))
        _close_sums(backend.host(gb), want_gb, gy, dtype, tol, str(shape))


def test_the_statistics_are_exact_for_a_hand_example():
    # Channel 0 holds 1..6 (mean 3.5, biased var 35/12), channel 1 holds 2 * that.
    x = np.arange(1, 7, dtype=np.float64).reshape(3, 1, 2)
    x = np.concatenate([x, 2 * x], axis=1)
    y, mean, invstd, var = bn.batch_norm_forward(np, x, None, None, 0.0, impl="cpu")
    np.testing.assert_allclose(mean, [3.5, 7.0], rtol=1e-15)
    np.testing.assert_allclose(var, [35 / 12, 35 / 3], rtol=1e-14)
    np.testing.assert_allclose(y[:, 0], y[:, 1], rtol=1e-14)  # a scaled channel normalises the same
    np.testing.assert_allclose(y[:, 0].sum(), 0.0, atol=1e-14)


@pytest.mark.skipif(SIM, reason="the CPU kernels' accumulation (CUDA's sums stay in the input's dtype)")
@pytest.mark.parametrize("shape", [(640, 3, 63), (4001, 5, 1)])  # the (N, C, S) kernels and their (N, C) twins
def test_float32_statistics_and_sums_accumulate_in_float64_on_the_cpu(shape):
    # As PyTorch's CPU batch norm: float32 sums of 40,000 values near 1000 drifted by up to 600 ulp.
    rng = np.random.default_rng(5)
    x = (1000 + rng.standard_normal(shape)).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    _, mean, invstd, var = bn.batch_norm_forward(np, x, None, None, 1e-5, impl="cpu")
    _, gw, gb = bn.batch_norm_backward(np, gy, x, mean, invstd, None, impl="cpu")
    x64, gy64 = x.astype(np.float64), gy.astype(np.float64)
    exact_var = x64.var(axis=(0, 2))
    centred = x64 - mean.astype(np.float64)[None, :, None]  # the rounded mean, as backward gets it
    for got, exact in ((mean, x64.mean(axis=(0, 2))), (var, exact_var), (invstd, 1 / np.sqrt(exact_var + 1e-5)),
                       (gb, gy64.sum(axis=(0, 2))), (gw, (gy64 * centred).sum(axis=(0, 2)) * invstd)):
        assert got.dtype == np.float32
        ulps = np.abs(got - exact) / np.spacing(np.abs(exact).astype(np.float32))
        assert ulps.max() <= 0.5 + 1e-3, ulps


def _force_parallel(monkeypatch, on: bool) -> None:
    """Every CPU kernel's parallel build (on) or serial build (off), whatever the size: the threshold is
    read by the module that defines the kernels' dispatch class."""
    import sys

    monkeypatch.setattr(sys.modules[type(bn._stats_cpu).__module__], "PARALLEL_MIN_WORK", 0 if on else 1 << 40)


def test_results_do_not_depend_on_the_parallel_split(rng, monkeypatch):
    # The serial and the parallel build of every kernel give the same bits (fixed chunks, fixed order).
    w = rng.standard_normal(6).astype(np.float32)
    inputs = []
    for shape in ((40, 6, 50), (40, 6, 1)):  # the (N, C) kernels too
        inputs.append((rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)))

    def run():
        out = ()
        for x, gy in inputs:
            y, mean, invstd, _ = bn.batch_norm_forward(np, x, w, w, 1e-5, impl="cpu")
            out += (y, mean, invstd) + bn.batch_norm_backward(np, gy, x, mean, invstd, w, impl="cpu")
        return out

    _force_parallel(monkeypatch, False)
    serial = run()
    _force_parallel(monkeypatch, True)
    parallel = run()
    kernels = [k for pair in bn._ROWS_TWIN.items() for k in pair]  # the (N, C, S) kernels and their (N, C) twins
    assert all(k.parallel.signatures for k in kernels)
    for a, b in zip(serial, parallel):
        assert np.array_equal(a, b)


def test_eval_backward_without_parameter_gradients(rng):
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    rm, rv = np.zeros(3, np.float32), np.full(3, 4.0, np.float32)
    y, mean, invstd, _ = bn.batch_norm_forward(np, x, None, None, 0.0, rm, rv, training=False, impl="cpu")
    np.testing.assert_allclose(y, x / 2, rtol=1e-6)
    gx, gw, gb = bn.batch_norm_backward(np, x, x, mean, invstd, None, training=False, need_param_grads=False,
                                        impl="cpu")
    assert gw is None and gb is None
    np.testing.assert_allclose(gx, x / 2, rtol=1e-6)


def test_launchers_refuse_bad_input():
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"batch_norm.forward: weight must have shape \(3,\)"):
        bn.batch_norm_forward(np, x, np.ones(4, np.float32), None, 1e-5, impl="cpu")
    with pytest.raises(ValueError, match="batch_norm.forward: expected a 3-D"):
        bn.batch_norm_forward(np, x[0], None, None, 1e-5, impl="cpu")
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        bn.batch_norm_forward(np, x, None, None, 1e-5, training=False, impl="cpu")
    with pytest.raises(TypeError, match="dtypes must match"):
        bn.batch_norm_forward(np, x, np.ones(3, np.float64), None, 1e-5, impl="cpu")
    with pytest.raises(ValueError, match="batch_norm.backward: gy"):
        bn.batch_norm_backward(np, np.zeros((2, 3, 5), np.float32), x, np.zeros(3, np.float32),
                               np.ones(3, np.float32), None, impl="cpu")
