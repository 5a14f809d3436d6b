"""Bias + activation epilogue, its backward with the bias gradient, and the
tiled CUDA matmul, against the xp reference."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import linear
from gpugrad.kernels.activation import SAVES_OUTPUT

from .conftest import SIM, tolerances

NAMES = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus"]
SHAPES = [(1, 7), (33, 17), (1001, 3), (2, 5, 3)]
if SIM:
    # The simulator runs a Python thread per CUDA thread: keep to the paths
    # that differ (identity, output-saving, pre-saving); test_activation
    # covers every activation's math on the same scalar code.
    NAMES = ["identity", "relu", "gelu", "sigmoid"]
    # (101, 3): more rows than one grid-stride trip of the simulator's two 8-row blocks covers
    # (4 x 16), so the unrolled loop and its remainder both run.
    SHAPES = [(1, 7), (33, 17), (101, 3), (2, 5, 3)]


def _sum_tol(dtype: type, rows: int) -> dict[str, float]:
    tol = tolerances(dtype)
    tol["atol"] *= max(1.0, rows ** 0.5) * 4  # summation order differs
    return tol


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_bias_act_forward_backward(backend, rng, name, dtype):
    for shape in SHAPES:
        z = rng.standard_normal(shape).astype(dtype) * 3
        bias = rng.standard_normal(shape[-1]).astype(dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        for b in (bias, None):
            pre, y = linear.bias_act_forward(backend.xp, name, backend.dev(z), None if b is None else backend.dev(b),
                                             0.1, impl=backend.impl)
            pre_ref, y_ref = linear.reference_bias_act_forward(np, name, z, b, 0.1)
            np.testing.assert_allclose(backend.host(y), y_ref, **tolerances(dtype))
            if not linear.needs_pre(name):
                assert pre is None and pre_ref is None
            else:
                np.testing.assert_allclose(backend.host(pre), pre_ref, **tolerances(dtype))

            saved = y_ref if SAVES_OUTPUT.get(name) else pre_ref
            gz, gb = linear.bias_act_backward(backend.xp, name, backend.dev(gy),
                                              None if saved is None else backend.dev(saved), 0.1,
                                              impl=backend.impl)
            gz_ref, gb_ref = linear.reference_bias_act_backward(np, name, gy, saved, 0.1)
            tol = tolerances(dtype)
            if name == "gelu_tanh" and np.dtype(dtype) == np.float32:
                tol["atol"] = 2e-5  # cancellation for x << 0, see test_activation
            np.testing.assert_allclose(backend.host(gz), gz_ref, **tol)
            rows = int(np.prod(shape[:-1]))
            np.testing.assert_allclose(backend.host(gb), gb_ref, **_sum_tol(dtype, rows))
            assert gb.shape == (shape[-1],)


def test_bias_grad_is_one_launch_deterministic_and_leaves_tickets_at_zero(backend, rng, monkeypatch):
    if backend.impl != "cuda":
        pytest.skip("the CUDA kernel's last-block reduction")
    launches = []
    real = linear.launch
    monkeypatch.setattr(linear, "launch", lambda *a, **k: launches.append(a[0]) or real(*a, **k))
    gy = rng.standard_normal((101, 3)).astype(np.float32)  # several grid rows per column strip
    y = np.abs(rng.standard_normal((101, 3))).astype(np.float32)
    first = [backend.host(linear.bias_act_backward(backend.xp, "relu", backend.dev(gy), backend.dev(y),
                                                   impl=backend.impl)[1]) for _ in range(2)]
    assert len(launches) == 2  # one kernel per call: partial sums and their total in the same launch
    np.testing.assert_array_equal(first[0], first[1])  # fixed summation order, unlike float atomics
    from gpugrad.kernels import _launch

    tickets = [buf for (name, _), (buf, _) in _launch._ZEROED.items() if name.startswith("linear.")]
    assert tickets and not any(backend.host(t).any() for t in tickets)  # each strip's last block reset its ticket


def test_bias_act_backward_without_bias_grad(backend, rng):
    y = np.abs(rng.standard_normal((9, 4))).astype(np.float32)
    gy = rng.standard_normal((9, 4)).astype(np.float32)
    gz, gb = linear.bias_act_backward(backend.xp, "relu", backend.dev(gy), backend.dev(y),
                                      need_bias_grad=False, impl=backend.impl)
    assert gb is None
    np.testing.assert_allclose(backend.host(gz), np.where(y > 0, gy, 0))
    gz, gb = linear.bias_act_backward(backend.xp, "identity", backend.dev(gy), None,
                                      need_bias_grad=False, impl=backend.impl)
    assert gb is None and backend.host(gz) is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [7, 600])  # one block of rows (its sums are the bias gradient), and three
def test_unchecked_cpu_road_gives_the_checked_roads_bits(rng, dtype, rows):
    # impl=None on NumPy arrays skips the checks (and, for a small identity, adds the bias with NumPy's
    # add): the same bits as the kernel called through every check (impl="cpu")
    z = rng.standard_normal((rows, 5)).astype(dtype)
    bias = rng.standard_normal(5).astype(dtype)
    gy = rng.standard_normal((rows, 5)).astype(dtype)
    for name in ("identity", "relu", "gelu"):
        unchecked = linear.bias_act_forward(np, name, z, bias, 0.1)
        checked = linear.bias_act_forward(np, name, z, bias, 0.1, impl="cpu")
        for a, b in zip(unchecked, checked):
            assert (a is None) == (b is None) and (a is None or a.tobytes() == b.tobytes()), name
        saved = None if name == "identity" else checked[1] if SAVES_OUTPUT[name] else checked[0]
        for need in (True, False):
            unchecked = linear.bias_act_backward(np, name, gy, saved, 0.1, need_bias_grad=need)
            checked = linear.bias_act_backward(np, name, gy, saved, 0.1, need_bias_grad=need, impl="cpu")
            assert unchecked[0].tobytes() == checked[0].tobytes(), name
            assert (unchecked[1] is None) == (not need)
            assert not need or unchecked[1].tobytes() == checked[1].tobytes(), name


def test_pre_is_z_without_bias(rng):
    z = rng.standard_normal((3, 4))
    pre, _ = linear.bias_act_forward(np, "gelu", z, None, impl="cpu")
    assert pre is z


MM_SHAPES = [(1, 7, 1), (33, 20, 31), (32, 32, 32)] + ([] if SIM else [(65, 17, 130), (200, 70, 129)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["identity", "gelu", "sigmoid"])
def test_matmul_bias_act(backend, rng, name, dtype):
    for m, k, n in MM_SHAPES:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        bias = rng.standard_normal(n).astype(dtype)
        for bb in (bias, None):
            pre, y = linear.matmul_bias_act(backend.xp, backend.dev(a), backend.dev(b),
                                            None if bb is None else backend.dev(bb), name,
                                            impl=backend.impl)
            pre_ref, y_ref = linear.reference_matmul_bias_act(np, a, b, bb, name)
            tol = tolerances(dtype)
            tol["atol"] *= 10 * k ** 0.5  # accumulation order differs from BLAS
            np.testing.assert_allclose(backend.host(y), y_ref, **tol, err_msg=f"{(m, k, n)}")
            assert (pre is None) == (pre_ref is None)
            if pre is not None:
                np.testing.assert_allclose(backend.host(pre), pre_ref, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES + ([] if SIM else ["elu", "selu", "hardswish", "mish"]))
def test_bias_act_keeps_nan_and_infinity_as_the_reference(backend, name, dtype):
    # Fast math may not assume finite values: the epilogue must agree with the activation kernels.
    z = np.array([[np.nan, np.inf, -np.inf, 0.5, -0.5]], dtype=dtype)
    gy = np.array([[1.0, 1.0, 1.0, np.nan, 2.0]], dtype=dtype)
    with np.errstate(all="ignore"):
        pre, y = linear.bias_act_forward(backend.xp, name, backend.dev(z), None, 0.1, impl=backend.impl)
        pre_ref, y_ref = linear.reference_bias_act_forward(np, name, z, None, 0.1)
        np.testing.assert_allclose(backend.host(y), y_ref, **tolerances(dtype))
        saved = y_ref if SAVES_OUTPUT.get(name) else pre_ref
        gz, _ = linear.bias_act_backward(backend.xp, name, backend.dev(gy), None if saved is None else backend.dev(saved),
                                         0.1, impl=backend.impl)
        gz_ref, _ = linear.reference_bias_act_backward(np, name, gy, saved, 0.1)
    np.testing.assert_allclose(backend.host(gz), gz_ref, **tolerances(dtype))
