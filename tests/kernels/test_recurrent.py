"""Fused LSTM and GRU cell kernels against the xp reference, CPU and CUDA; the reference against a
float64 recomputation written out here, and the backward against finite differences of the forward."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gpugrad.kernels import recurrent as rec

from .conftest import SIM, tolerances

# (N, H): odd sizes, one row, one unit, and one wider than a CUDA block.
SIZES = [(1, 1), (3, 5), (7, 33), (2, 301)]


def _pre(rng, shape, dtype):
    # Gate pre-activations wide enough to reach the flat ends of sigmoid and tanh, with a few far out.
    x = rng.standard_normal(shape) * 3
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, min(3, flat.size), replace=False)] = [40.0, -40.0, 1e-4][: min(3, flat.size)]
    return x.astype(dtype)


def _sig(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,hs", SIZES)
def test_lstm_matches_reference(backend, rng, n, hs, dtype):
    gates, c_prev = _pre(rng, (n, 4 * hs), dtype), rng.standard_normal((n, hs)).astype(dtype)
    gh, gc = rng.standard_normal((n, hs)).astype(dtype), rng.standard_normal((n, hs)).astype(dtype)
    tol = tolerances(dtype)
    ref = rec.reference_lstm_forward(np, gates, c_prev)
    got = rec.lstm_forward(backend.xp, backend.dev(gates), backend.dev(c_prev), impl=backend.impl)
    for name, a, b in zip(("h", "c", "ws"), got, ref):
        assert a.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(backend.host(a), b, **tol, err_msg=f"lstm {name} {(n, hs)}")
    ws = ref[2]
    ref_b = rec.reference_lstm_backward(np, gh, gc, ws, c_prev)
    got_b = rec.lstm_backward(backend.xp, *(backend.dev(a) for a in (gh, gc, ws, c_prev)), impl=backend.impl)
    for name, a, b in zip(("d_gates", "d_c_prev"), got_b, ref_b):
        assert a.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(backend.host(a), b, **tol, err_msg=f"lstm {name} {(n, hs)}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,hs", SIZES)
def test_gru_matches_reference(backend, rng, n, hs, dtype):
    gi, gh = _pre(rng, (n, 3 * hs), dtype), _pre(rng, (n, 3 * hs), dtype)
    h_prev, gy = rng.standard_normal((n, hs)).astype(dtype), rng.standard_normal((n, hs)).astype(dtype)
    tol = tolerances(dtype)
    ref = rec.reference_gru_forward(np, gi, gh, h_prev)
    got = rec.gru_forward(backend.xp, backend.dev(gi), backend.dev(gh), backend.dev(h_prev), impl=backend.impl)
    for name, a, b in zip(("h", "ws"), got, ref):
        assert a.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(backend.host(a), b, **tol, err_msg=f"gru {name} {(n, hs)}")
    ref_b = rec.reference_gru_backward(np, gy, ref[1], h_prev)
    got_b = rec.gru_backward(backend.xp, backend.dev(gy), backend.dev(ref[1]), backend.dev(h_prev), impl=backend.impl)
    for name, a, b in zip(("d_gi", "d_gh", "d_h_prev"), got_b, ref_b):
        assert a.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(backend.host(a), b, **tol, err_msg=f"gru {name} {(n, hs)}")


def test_lstm_reference_is_the_lstm_formula(rng):
    n, hs = 3, 4
    z, cp = rng.standard_normal((n, 4 * hs)), rng.standard_normal((n, hs))
    i, f, g, o = _sig(z[:, :hs]), _sig(z[:, hs:2 * hs]), np.tanh(z[:, 2 * hs:3 * hs]), _sig(z[:, 3 * hs:])
    c = f * cp + i * g
    h_ref, c_ref, ws = rec.reference_lstm_forward(np, z, cp)
    np.testing.assert_allclose(c_ref, c, rtol=1e-13)
    np.testing.assert_allclose(h_ref, o * np.tanh(c), rtol=1e-13)
    np.testing.assert_allclose(ws, np.concatenate([i, f, g, o, np.tanh(c)], 1), rtol=1e-13)


def test_gru_reference_is_the_gru_formula(rng):
    n, hs = 3, 4
    gi, gh, hp = rng.standard_normal((n, 3 * hs)), rng.standard_normal((n, 3 * hs)), rng.standard_normal((n, hs))
    r = _sig(gi[:, :hs] + gh[:, :hs])
    z = _sig(gi[:, hs:2 * hs] + gh[:, hs:2 * hs])
    nn = np.tanh(gi[:, 2 * hs:] + r * gh[:, 2 * hs:])
    h, _ = rec.reference_gru_forward(np, gi, gh, hp)
    np.testing.assert_allclose(h, (1 - z) * nn + z * hp, rtol=1e-13)


def _numeric_vjp(f, args, k, cot, eps=1e-6):
    """d <cot, f(args)> / d args[k] by central differences (f returns one array)."""
    x = args[k]
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + eps
        up = np.sum(cot * f(*args))
        x[idx] = saved - eps
        down = np.sum(cot * f(*args))
        x[idx] = saved
        out[idx] = (up - down) / (2 * eps)
    return out


def test_lstm_backward_is_the_derivative_of_forward(rng):
    n, hs = 2, 3
    z, cp = rng.standard_normal((n, 4 * hs)), rng.standard_normal((n, hs))
    gh, gc = rng.standard_normal((n, hs)), rng.standard_normal((n, hs))
    _, _, ws = rec.reference_lstm_forward(np, z, cp)

    def loss_out(z, cp):  # <gh, h> + <gc, c> as one array with the all-ones cotangent folded in
        h, c, _ = rec.reference_lstm_forward(np, z, cp)
        return gh * h + gc * c

    ones = np.ones((n, hs))
    d_z, d_cp = rec.reference_lstm_backward(np, gh, gc, ws, cp)
    np.testing.assert_allclose(d_z, _numeric_vjp(loss_out, [z, cp], 0, ones), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(d_cp, _numeric_vjp(loss_out, [z, cp], 1, ones), rtol=1e-6, atol=1e-8)


def test_gru_backward_is_the_derivative_of_forward(rng):
    n, hs = 2, 3
    gi, gh, hp = rng.standard_normal((n, 3 * hs)), rng.standard_normal((n, 3 * hs)), rng.standard_normal((n, hs))
    gy = rng.standard_normal((n, hs))
    _, ws = rec.reference_gru_forward(np, gi, gh, hp)

    def h_of(gi, gh, hp):
        return rec.reference_gru_forward(np, gi, gh, hp)[0]

    d_gi, d_gh, d_hp = rec.reference_gru_backward(np, gy, ws, hp)
    for k, got in enumerate((d_gi, d_gh, d_hp)):
        np.testing.assert_allclose(got, _numeric_vjp(h_of, [gi, gh, hp], k, gy), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_gates_stay_finite(backend, dtype):
    """Pre-activations of +-1e4: exp must not overflow into NaN (0 * inf) anywhere."""
    hs = 3
    z = np.array([[1e4, -1e4, 0.5] * 4], dtype=dtype)
    cp = np.array([[1.0, -2.0, 0.0]], dtype=dtype)
    h, c, ws = (backend.host(a) for a in rec.lstm_forward(backend.xp, backend.dev(z), backend.dev(cp), impl=backend.impl))
    assert np.all(np.isfinite(h)) and np.all(np.isfinite(ws))
    assert ws[0, 0] == 1 and ws[0, 1] == 0  # sigmoid saturates exactly
    g = np.ones((1, hs), dtype)
    d = rec.lstm_backward(backend.xp, *(backend.dev(a) for a in (g, g, ws, cp)), impl=backend.impl)
    assert all(np.all(np.isfinite(backend.host(a))) for a in d)
    gi = np.array([[1e4, -1e4, 1e4] * 3], dtype=dtype)
    hh, ws = (backend.host(a) for a in rec.gru_forward(backend.xp, backend.dev(gi), backend.dev(-gi), backend.dev(cp), impl=backend.impl))
    assert np.all(np.isfinite(hh)) and np.all(np.isfinite(ws))


def test_bad_shapes_and_dtypes_raise_before_launch(no_launch):
    f32 = np.zeros((2, 8), np.float32)
    with pytest.raises(ValueError, match=r"recurrent.lstm_forward: gates must have shape \(2, 12\)"):
        rec.lstm_forward(np, f32, np.zeros((2, 3), np.float32), impl="cpu")
    with pytest.raises(TypeError, match="dtypes must match"):
        rec.lstm_forward(np, f32, np.zeros((2, 2), np.float64), impl="cpu")
    with pytest.raises(TypeError, match="float32 and float64"):
        rec.gru_forward(np, np.zeros((2, 6), np.int64), np.zeros((2, 6), np.int64), np.zeros((2, 2), np.int64), impl="cpu")
    with pytest.raises(ValueError, match=r"recurrent.gru_backward: gy must have shape \(2, 2\)"):
        rec.gru_backward(np, np.zeros((2, 3)), np.zeros((2, 8)), np.zeros((2, 2)), impl="cpu")
    with pytest.raises(ValueError, match="the state must be 2-D"):
        rec.lstm_backward(np, *(np.zeros(4),) * 2, np.zeros(20), np.zeros(4), impl="cpu")


def test_non_contiguous_inputs(rng):
    """Gates sliced out of a wider array (a transposed or strided view) give the contiguous result."""
    n, hs = 5, 4
    wide = rng.standard_normal((n, 8 * hs))
    z = wide[:, ::2]
    cp = rng.standard_normal((hs, n)).T
    ref = rec.reference_lstm_forward(np, np.ascontiguousarray(z), np.ascontiguousarray(cp))
    got = rec.lstm_forward(np, z, cp, impl="cpu")
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- the CPU loops' machine code

def _cpu_loop(kernel, tag):
    """The kernel's serial CPU build, rebuilt uncached under a new name (inspect_llvm shows nothing for
    cached code)."""
    from numba import njit

    from gpugrad.kernels._clone import clone
    from gpugrad.kernels._scalar import cpu_globals

    fn = kernel.fn
    return njit(fastmath=rec.FASTMATH, error_model="numpy")(clone(fn, cpu_globals(fn.__globals__), tag))


def _kernel_args(name, n, hs, dtype):
    z = np.zeros
    return {
        "lstm_forward": (rec._lstm_forward_cpu, (z((n, 4 * hs), dtype), z((n, hs), dtype), z((n, hs), dtype),
                                                 z((n, hs), dtype), z((n, 5 * hs), dtype))),
        "lstm_backward": (rec._lstm_backward_cpu, (z((n, hs), dtype), z((n, hs), dtype), z((n, 5 * hs), dtype),
                                                   z((n, hs), dtype), z((n, 4 * hs), dtype), z((n, hs), dtype))),
        "gru_forward": (rec._gru_forward_cpu, (z((n, 3 * hs), dtype), z((n, 3 * hs), dtype), z((n, hs), dtype),
                                               z((n, hs), dtype), z((n, 4 * hs), dtype))),
        "gru_backward": (rec._gru_backward_cpu, (z((n, hs), dtype), z((n, 4 * hs), dtype), z((n, hs), dtype),
                                                 z((n, 3 * hs), dtype), z((n, 3 * hs), dtype), z((n, hs), dtype))),
    }[name]


# exp or tanh in any form: libm's (expf, tanh), or LLVM's intrinsic, which without SVML becomes a libm call
# per element even where the IR shows it on vectors (<16 x float> @llvm.exp.v16f32).
LIBM_CALL = re.compile(r"call [^@\n]*@(?:llvm\.)?(?:exp|expf|exp2|tanh|tanhf)(?:\.[\w.]+)?\(")


@pytest.mark.skipif(SIM, reason="inspects the CPU kernels' LLVM IR in the normal process")
@pytest.mark.parametrize("name", ["lstm_forward", "lstm_backward", "gru_forward", "gru_backward"])
@pytest.mark.parametrize("dtype, kind", [(np.float32, "float"), (np.float64, "double")])
def test_cpu_loops_compile_to_vector_code_without_libm_calls(name, dtype, kind):
    kernel, args = _kernel_args(name, 3, 64, dtype)
    loop = _cpu_loop(kernel, "_ir_test")
    loop(*args)
    llvm_ir = loop.inspect_llvm(loop.signatures[0])
    widths = {int(w) for w in re.findall(rf"<(\d+) x {kind}>", llvm_ir)}
    assert widths and max(widths) >= 4, f"no vector {kind} operations in {name}"
    calls = LIBM_CALL.findall(llvm_ir)
    assert not calls, f"{name} calls exp/tanh per element: {calls[:3]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_gates_are_within_a_few_ulp(dtype):
    """The CPU kernels' sigmoids and tanhs against long double, relative to each result: within 3 ulp
    for the sigmoids and 2 for the tanhs (tiny and large arguments included; a tanh from (1 - e) / (1 + e)
    was off by 1e5 ulp near 0, and fast math's reassociation put float64 sigmoids 22 ulp off)."""
    hs = 2001
    x = np.concatenate([np.linspace(-30, 30, hs - 5), [1e-6, -1e-6, 0.3, 80.0, -80.0]]).astype(dtype)
    gates = np.tile(x, (2, 4))
    c_prev = np.tile(np.linspace(-9, 9, hs), (2, 1)).astype(dtype)
    _, c, ws = rec.lstm_forward(np, gates, c_prev, impl="cpu")
    _, ws_gru = rec.gru_forward(np, np.tile(x, (2, 3)), np.zeros((2, 3 * hs), dtype), c_prev, impl="cpu")
    xl = x.astype(np.longdouble)
    sig, tanh = 1 / (1 + np.exp(-xl)), np.tanh(xl)

    def ulps(got, exact):
        return float(np.max(np.abs(got - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)))

    for k, (exact, bound) in enumerate([(sig, 3), (sig, 3), (tanh, 2), (sig, 3)]):
        assert ulps(ws[:, k * hs:(k + 1) * hs], exact) <= bound, k
    assert ulps(ws[:, 4 * hs:], np.tanh(c.astype(np.longdouble))) <= 2
    assert ulps(ws_gru[:, :hs], sig) <= 3 and ulps(ws_gru[:, hs:2 * hs], sig) <= 3
