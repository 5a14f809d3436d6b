"""Fused group normalisation (forward per (sample, group) row, backward with per-channel sums) against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import group_norm as gn

from .conftest import SIM, tolerances

# (N, C, S, groups): S = 1 is an (N, C) input; one group (layer norm over all channels) and one channel
# per group (instance norm) at the ends.
CASES = [(2, 4, 5, 2), (1, 2, 130, 2)] if SIM else [(1, 2, 1, 1), (3, 6, 1, 3), (5, 6, 17, 2), (2, 8, 101, 8),
                                                  (4, 9, 33, 1), (7, 4, 9, 4)]


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
        want = gn.reference_forward(np, x, groups, w, b, 1e-5)
        for name, g, r in zip(("y", "mean", "rstd"), got, want):
            np.testing.assert_allclose(backend.host(g), r, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10,
                                       err_msg=f"{name} {case}")
        _, mean, rstd = want
        gx, gw, gb = gn.group_norm_backward(backend.xp, dev(gy), dev(x), groups, dev(mean), dev(rstd), dev(w),
                                            impl=backend.impl)
        want_gx, want_gw, want_gb = gn.reference_backward(np, gy, x, groups, mean, rstd, w)
        scale = np.abs(gy).max() * np.abs(rstd).max() * (1 if w is None else np.abs(w).max())
        np.testing.assert_allclose(backend.host(gx), want_gx, rtol=tol["rtol"],
                                   atol=tol["atol"] + 64 * np.finfo(dtype).eps * scale, err_msg=case)
        xhat = (x - np.repeat(mean, c // groups, 1)[:, :, None]) * np.repeat(rstd, c // groups, 1)[:, :, None]
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


def _force_parallel(monkeypatch, on: bool) -> None:
    """Every CPU kernel's parallel build (on) or serial build (off), whatever the size: the threshold is
    read by the module that defines the kernels' dispatch class."""
    import sys

    monkeypatch.setattr(sys.modules[type(gn._forward_cpu).__module__], "PARALLEL_MIN_WORK", 0 if on else 1 << 40)


def test_results_do_not_depend_on_the_parallel_split(rng, monkeypatch):
    w = rng.standard_normal(8).astype(np.float32)
    inputs = [(rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32))
              for shape in ((9, 8, 40), (9, 8, 1))]  # the (N, C) kernels too

    def run():
        out = ()
        for x, gy in inputs:
            y, mean, rstd = gn.group_norm_forward(np, x, 4, w, w, 1e-5, impl="cpu")
            out += (y, mean, rstd) + gn.group_norm_backward(np, gy, x, 4, mean, rstd, w, impl="cpu")
        return out

    _force_parallel(monkeypatch, False)
    serial = run()
    _force_parallel(monkeypatch, True)
    parallel = run()
    kernels = (gn._forward_cpu, gn._backward_cpu, gn._forward_rows_cpu, gn._backward_rows_cpu)
    assert all(k.parallel.signatures for k in kernels)
    for a, b in zip(serial, parallel):
        assert np.array_equal(a, b)


def test_launchers_refuse_bad_input():
    x = np.zeros((2, 6, 4), np.float32)
    with pytest.raises(ValueError, match="group_norm.forward: 6 channels do not split into 4 groups"):
        gn.group_norm_forward(np, x, 4, None, None, 1e-5, impl="cpu")
    with pytest.raises(ValueError, match=r"group_norm.forward: bias must have shape \(6,\)"):
        gn.group_norm_forward(np, x, 3, None, np.zeros(3, np.float32), 1e-5, impl="cpu")
    with pytest.raises(ValueError, match="group_norm.backward"):
        gn.group_norm_backward(np, x, x, 3, np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32), None,
                               impl="cpu")
