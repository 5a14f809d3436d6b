"""Fused group normalisation (forward per (sample, group) row, backward with per-channel sums) against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import group_norm as gn

from .conftest import SIM, tolerances

# (N, C, S, groups): S = 1 is an (N, C) input; one group (layer norm over all channels) and one channel
# per group (instance norm) at the ends.
# (2, 2, 4100, 1) spans two of the CPU kernels' blocks of positions.
CASES = [(2, 4, 5, 2), (1, 2, 130, 2)] if SIM else [(1, 2, 1, 1), (3, 6, 1, 3), (5, 6, 17, 2), (2, 8, 101, 8),
                                                  (4, 9, 33, 1), (7, 4, 9, 4), (2, 2, 4100, 1)]


def _f64(a):
    return None if a is None else a.astype(np.float64)


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_the_reference(backend, rng, dtype, affine):
    tol = tolerances(dtype)
    dev = lambda a: None if a is None else backend.dev(a)  # noqa: E731
    for n, c, s, groups in CASES:
        case = str((n, c, s, groups))
        x = (rng.standard_normal((n, c, s)) * 3 + 20).astype(dtype)
        gy = rng.standard_normal((n, c, s)).astype(dtype)
        w = (rng.standard_normal(c) + 1).astype(dtype) if affine != "none" else None
        b = rng.standard_normal(c).astype(dtype) if affine == "both" else None
        got = gn.group_norm_forward(backend.xp, dev(x), groups, dev(w), dev(b), 1e-5, impl=backend.impl)
        want = gn.reference_forward(np, _f64(x), groups, _f64(w), _f64(b), 1e-5)  # float64: the truth
        for name, g, r in zip(("y", "mean", "rstd"), got, want):
            np.testing.assert_allclose(backend.host(g), r, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10,
                                       err_msg=f"{name} {case}")
        mean, rstd = (a.astype(dtype) for a in want[1:])  # what a forward hands on
        gx, gw, gb = gn.group_norm_backward(backend.xp, dev(gy), dev(x), groups, dev(mean), dev(rstd), dev(w),
                                            impl=backend.impl)
        # in float64, about the statistics handed on
        want_gx, want_gw, want_gb = gn.reference_backward(np, _f64(gy), _f64(x), groups, _f64(mean), _f64(rstd),
                                                          _f64(w))
        scale = np.abs(gy).max() * np.abs(rstd).max() * (1 if w is None else np.abs(w).max())
        np.testing.assert_allclose(backend.host(gx), want_gx, rtol=tol["rtol"],
                                   atol=tol["atol"] + 64 * np.finfo(dtype).eps * scale, err_msg=case)
        per = c // groups
        xhat = (x - np.repeat(mean, per, 1)[:, :, None]) * np.repeat(rstd, per, 1)[:, :, None]
        for got_sum, want_sum, terms in ((gw, want_gw, gy * xhat), (gb, want_gb, gy)):
            bound = 16 * np.finfo(dtype).eps * np.abs(terms).sum(axis=(0, 2))
            assert np.all(np.abs(backend.host(got_sum) - want_sum) <= bound + tol["atol"]), case


def test_one_group_is_layer_norm_over_the_sample(rng):
    from gpugrad.kernels import layer_norm as ln

    x = rng.standard_normal((4, 6, 5))
    y, mean, rstd = gn.group_norm_forward(np, x, 1, None, None, 1e-5, impl="cpu")
    y2, mean2, rstd2 = ln.layer_norm_forward(np, x.reshape(4, 30), None, None, 1e-5, impl="cpu")
    np.testing.assert_allclose(y.reshape(4, 30), y2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean[:, 0], mean2, rtol=1e-12)


def _ulps(got, truth):
    """|got - truth| in float32 spacings of max(|truth|, 1e-6 max |truth|) (a relative error that does not
    blow up where the truth crosses 0)."""
    scale = np.maximum(np.abs(truth), 1e-6 * np.abs(truth).max())
    return np.abs(got.astype(np.float64) - truth) / np.spacing(scale.astype(np.float32))


@pytest.mark.parametrize("offset", [0.0, 3.0])
@pytest.mark.parametrize("s", [1, 784])
def test_float32_results_are_close_to_float64(rng, s, offset):
    # Rows of 6272 values (8 channels of 784; or 8 values, S = 1), the mean 0 or 3 standard deviations
    # from 0, against the float64 reference. Errors in float32 epsilons of each result's scale: the sum of
    # its terms' magnitudes, for the mean the row's mean |x| (a mean near 0 is a difference of large sums),
    # for y also the mean's error bound times rstd * |weight|. Largest over 40 seeds: mean 0.47, y 0.97,
    # gx 2.8, gweight 0.55, rstd 1.05 ulp; the previous kernels (float32 accumulators), 10 seeds, S = 784:
    # mean 6.0, y 5.9, gx 55, gweight 2.3, rstd 6.3 ulp, gbias 59 ulp.
    n, c, groups = 8, 32, 4
    x = (rng.standard_normal((n, c, s)) + offset).astype(np.float32)
    gy = rng.standard_normal((n, c, s)).astype(np.float32)
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    y, mean, rstd = gn.group_norm_forward(np, x, groups, w, b, 1e-5, impl="cpu")
    gx, gw, gb = gn.group_norm_backward(np, gy, x, groups, mean, rstd, w, impl="cpu")
    f64 = _f64
    want_y, want_mean, want_rstd = gn.reference_forward(np, f64(x), groups, f64(w), f64(b), 1e-5)
    want_gx, want_gw, want_gb = gn.reference_backward(np, f64(gy), f64(x), groups, want_mean, want_rstd, f64(w))
    eps = np.finfo(np.float32).eps
    assert _ulps(rstd, want_rstd).max() <= 2
    assert _ulps(gb, want_gb).max() <= 0.5001  # float64 sums rounded once
    mean_abs = np.abs(f64(x)).reshape(n, groups, -1).mean(axis=2)
    assert np.all(np.abs(mean - want_mean) <= eps * mean_abs)

    def per_channel(a):  # (N, G) -> (N, C, 1)
        return np.repeat(a, c // groups, axis=1)[:, :, None]

    xhat = (f64(x) - per_channel(want_mean)) * per_channel(want_rstd)
    wc, bc = f64(w)[:, None], f64(b)[:, None]
    scale_y = np.abs(xhat * wc) + np.abs(bc) + np.abs(wc) * per_channel(want_rstd * mean_abs)
    assert np.all(np.abs(y - want_y) <= 2 * eps * scale_y)
    g = f64(gy) * wc
    mean_g = per_channel(g.reshape(n, groups, -1).mean(axis=2))
    mean_gxhat = per_channel((g * xhat).reshape(n, groups, -1).mean(axis=2))
    # The backward works about the float32 mean: its rounding (times rstd**2 mean(g xhat) in gx, times
    # rstd sum(gy) in gweight) adds to the bounds.
    mean_rounding = np.abs(mean - want_mean) * want_rstd
    scale_gx = per_channel(want_rstd) * (np.abs(g) + np.abs(mean_g) + np.abs(xhat * mean_gxhat))
    bound = 4 * eps * scale_gx + per_channel(mean_rounding * want_rstd) * np.abs(mean_gxhat)
    assert np.all(np.abs(gx - want_gx) <= bound)
    bound = eps * np.abs((f64(gy) * xhat).sum(axis=2))
    bound += np.abs(f64(gy).sum(axis=2)) * per_channel(mean_rounding)[:, :, 0]
    assert np.all(np.abs(gw - want_gw) <= bound.sum(axis=0))


def test_results_do_not_depend_on_the_thread_count(rng, monkeypatch):
    import numba

    w = rng.standard_normal(8).astype(np.float32)
    inputs = [(rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32))
              for shape in ((9, 8, 40), (9, 8, 1), (5, 8, 4100))]  # the (N, C) kernels too

    def run():
        out = ()
        for x, gy in inputs:
            y, mean, rstd = gn.group_norm_forward(np, x, 4, w, w, 1e-5, impl="cpu")
            out += (y, mean, rstd) + gn.group_norm_backward(np, gy, x, 4, mean, rstd, w, impl="cpu")
        return out

    alone = run()  # small: on this thread alone
    monkeypatch.setattr(gn, "PARALLEL_MIN_WORK", 0)  # on Numba's threads, whatever the size
    threads = numba.get_num_threads()
    try:
        most = numba.config.NUMBA_NUM_THREADS
        for count in sorted({1, min(2, most), most}):
            numba.set_num_threads(count)
            for a, b in zip(alone, run()):
                assert np.array_equal(a, b)
    finally:
        numba.set_num_threads(threads)
    assert numba.get_num_threads() == threads


@pytest.mark.parametrize("s", [1, 5])
def test_nan_and_inf_give_nan_in_their_rows_only(s):
    x = np.arange(3 * 4 * s, dtype=np.float32).reshape(3, 4, s)
    x[0, 1, 0], x[1, 3, 0] = np.nan, np.inf  # rows (sample, group) (0, 0) and (1, 1) of 2 groups
    y, mean, rstd = gn.group_norm_forward(np, x, 2, None, None, 1e-5, impl="cpu")
    bad = np.zeros((3, 2), bool)
    bad[0, 0] = bad[1, 1] = True
    assert np.array_equal(~np.isfinite(mean), bad) and np.array_equal(np.isnan(rstd), bad)
    assert np.array_equal(np.isnan(y).all(axis=2), np.repeat(bad, 2, axis=1))
    assert np.isfinite(y[~np.repeat(bad, 2, axis=1)]).all()


def test_launchers_refuse_bad_input():
    x = np.zeros((2, 6, 4), np.float32)
    with pytest.raises(ValueError, match="group_norm.forward: 6 channels do not split into 4 groups"):
        gn.group_norm_forward(np, x, 4, None, None, 1e-5, impl="cpu")
    with pytest.raises(ValueError, match=r"group_norm.forward: bias must have shape \(6,\)"):
        gn.group_norm_forward(np, x, 3, None, np.zeros(3, np.float32), 1e-5, impl="cpu")
    with pytest.raises(ValueError, match="group_norm.backward"):
        gn.group_norm_backward(np, x, x, 3, np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32), None,
                               impl="cpu")
