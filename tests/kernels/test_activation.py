"""Fused activations against the xp reference, CPU and CUDA."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gpugrad.kernels import activation as act

from .conftest import SIM, tolerances

# Odd sizes, a 2-D shape, and values where the stable forms matter.
SHAPES = [(1,), (7,), (1001,), (33, 17)]
EDGES = [0.0, -0.0, 1e4, -1e4, 88.0, -88.0, 20.0, 20.5, -20.5, 1e-3, -1e-3]
# celu's alpha has an exact reciprocal: PyTorch's celu backward uses 1/alpha rounded to float32
# (about 2e-7 relative off in float64 for alpha=0.7).
PARAM = {"leaky_relu": 0.01, "elu": 1.3, "celu": 0.5}
# Where PyTorch's own float32 and float64 paths disagree on a NaN's gradient, or where its rounding
# turns a limit into NaN (gelu(inf) in float32), our kernels follow the reference; see test_non_finite.
NON_FINITE = [np.inf, -np.inf, np.nan]


def _tol(name: str, dtype: type) -> dict[str, float]:
    tol = tolerances(dtype)
    if name == "gelu_tanh" and np.dtype(dtype) == np.float32:
        # 1 - tanh^2 and 1 + tanh cancel for x << 0: a few ulps of tanh
        # differences between libm and NumPy become ~1e-6 absolute.
        tol["atol"] = 2e-5
    return tol


def _input(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    flat = x.reshape(-1)
    k = min(len(EDGES), flat.size)
    flat[rng.choice(flat.size, k, replace=False)] = EDGES[:k]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", act.KINDS)
def test_forward_backward_match_reference(backend, rng, name, dtype):
    param = PARAM.get(name, 0.0)
    for shape in SHAPES:
        x = _input(rng, shape, dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        y = act.forward(backend.xp, name, backend.dev(x), param, impl=backend.impl)
        y_ref = act.reference_forward(np, name, x, param)
        assert y.dtype == dtype and y.shape == x.shape
        np.testing.assert_allclose(backend.host(y), y_ref, **_tol(name, dtype), err_msg=f"{name} {shape}")

        saved = y_ref if act.SAVES_OUTPUT[name] else x
        gx = act.backward(backend.xp, name, backend.dev(gy), backend.dev(saved), param, impl=backend.impl)
        gx_ref = act.reference_backward(np, name, gy, saved, param)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_allclose(backend.host(gx), gx_ref, **_tol(name, dtype), err_msg=f"{name}' {shape}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_forms_at_extremes(backend, dtype):
    x = np.array([-1e4, -88.0, -30.0, 0.0, 30.0, 88.0, 1e4], dtype=dtype)
    gy = np.ones_like(x)
    for name in ("sigmoid", "silu", "softplus", "tanh", "gelu", "gelu_tanh", "elu", "selu", "celu", "hardswish", "mish"):
        param = PARAM.get(name, 0.0)
        y = backend.host(act.forward(backend.xp, name, backend.dev(x), param, impl=backend.impl))
        assert np.all(np.isfinite(y)), (name, y)
        saved = y if act.SAVES_OUTPUT[name] else x
        gx = backend.host(act.backward(backend.xp, name, backend.dev(gy), backend.dev(saved), param, impl=backend.impl))
        assert np.all(np.isfinite(gx)), (name, gx)
    sig = backend.host(act.forward(backend.xp, "sigmoid", backend.dev(x), impl=backend.impl))
    assert sig[0] == 0 and sig[-1] == 1
    sp = backend.host(act.forward(backend.xp, "softplus", backend.dev(x), impl=backend.impl))
    assert sp[-1] == x[-1] and sp[0] == 0  # above the threshold softplus is x
    mish = backend.host(act.forward(backend.xp, "mish", backend.dev(x), impl=backend.impl))
    assert mish[-1] == x[-1] and mish[0] == 0  # x itself far right, 0 far left
    elu = backend.host(act.forward(backend.xp, "elu", backend.dev(x), 1.3, impl=backend.impl))
    assert elu[0] == dtype(-1.3) and elu[-1] == x[-1]  # saturates at -alpha


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", act.KINDS)
def test_non_finite_match_reference(backend, rng, name, dtype):
    """+-inf and NaN among ordinary values: the fused kernels give what the reference gives, NaN included
    (the CPU kernels' fast math must not assume the inputs finite)."""
    param = PARAM.get(name, 0.0)
    x = _input(rng, (37,), dtype)
    x[[3, 11, 29]] = NON_FINITE
    gy = rng.standard_normal(37).astype(dtype)
    with np.errstate(all="ignore"):
        y_ref = act.reference_forward(np, name, x, param)
        saved = y_ref if act.SAVES_OUTPUT[name] else x
        gx_ref = act.reference_backward(np, name, gy, saved, param)
        y = backend.host(act.forward(backend.xp, name, backend.dev(x), param, impl=backend.impl))
        gx = backend.host(act.backward(backend.xp, name, backend.dev(gy), backend.dev(saved), param, impl=backend.impl))
    np.testing.assert_allclose(y, y_ref, equal_nan=True, **_tol(name, dtype), err_msg=name)
    np.testing.assert_allclose(gx, gx_ref, equal_nan=True, **_tol(name, dtype), err_msg=f"{name}'")


def test_relu_derivative_at_zero_is_zero(backend):
    z = np.zeros(5, np.float32)
    gy = np.ones(5, np.float32)
    for name in ("relu", "leaky_relu"):
        saved = z  # y for relu, x for leaky_relu: both 0 here
        gx = backend.host(act.backward(backend.xp, name, backend.dev(gy), backend.dev(saved), 0.5, impl=backend.impl))
        expect = 0.0 if name == "relu" else 0.5
        np.testing.assert_array_equal(gx, np.full(5, expect, np.float32))


def test_out_and_in_place(backend, rng):
    x = rng.standard_normal(101).astype(np.float32)
    ref = act.reference_forward(np, "tanh", x)
    buf = backend.dev(x.copy())
    y = act.forward(backend.xp, "tanh", buf, out=buf, impl=backend.impl)
    assert y is buf
    np.testing.assert_allclose(backend.host(buf), ref, **tolerances(np.float32))


# The CUDA forward takes act.FORWARD_UNROLL (8) elements per thread and trip, guarding those past the end.
# Under the simulator the grid is 64 threads at these sizes, so a trip covers 512 elements: the sizes
# end a trip one short, exactly, one over, and part-way through a thread's second trip. On a GPU the
# grid covers them in one partial trip.
@pytest.mark.parametrize("n", [511, 512, 513, 575, 1221])
@pytest.mark.parametrize("in_place", [False, True], ids=["out", "in_place"])
def test_forward_writes_every_element_once_at_trip_boundaries(backend, n, in_place):
    # leaky_relu with slope 0.5 is exact and one-to-one, so any element written from the wrong input,
    # or left unwritten (fresh outputs start NaN-filled), differs from the reference.
    x = np.linspace(-3.0, 5.0, n).astype(np.float32)
    buf = backend.dev(x.copy())
    y = act.forward(backend.xp, "leaky_relu", buf, 0.5, out=buf if in_place else None, impl=backend.impl)
    np.testing.assert_array_equal(backend.host(y), act.reference_forward(np, "leaky_relu", x, 0.5))


def test_empty_input(backend):
    x = np.empty((0, 3), np.float64)
    y = act.forward(backend.xp, "gelu", backend.dev(x), impl=backend.impl)
    assert y.shape == (0, 3)


@pytest.mark.skipif(SIM, reason="compares with PyTorch in the normal process")
@pytest.mark.torch
@pytest.mark.parametrize("name", act.KINDS)
def test_reference_matches_pytorch(name, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {
        "relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "sigmoid": torch.sigmoid,
        "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu, "softplus": F.softplus, "elu": lambda t: F.elu(t, 1.3), "selu": F.selu,
        "celu": lambda t: F.celu(t, 0.5), "hardswish": F.hardswish, "mish": F.mish,
    }
    x = _input(rng, (257,), np.float64)
    x[x == 0] = 0.5  # PyTorch's leaky_relu/relu subgradient choice at 0 is tested above
    gy = rng.standard_normal(257)
    t = torch.tensor(x, requires_grad=True)
    y = fns[name](t)
    y.backward(torch.tensor(gy))
    param = PARAM.get(name, 0.0)
    y_ref = act.reference_forward(np, name, x, param)
    np.testing.assert_allclose(y_ref, y.detach().numpy(), rtol=1e-12, atol=1e-14)
    saved = y_ref if act.SAVES_OUTPUT[name] else x
    gx = act.backward(np, name, gy, saved, param, impl="cpu")
    np.testing.assert_allclose(gx, t.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.skipif(SIM, reason="compares with PyTorch in the normal process")
@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_activations_at_edges_match_pytorch(dtype):
    """elu, selu, celu, hardswish and mish at 0, the kinks (hardswish's +-3), +-inf and large magnitudes,
    fused (CPU) against PyTorch: values everywhere (NaN included), gradients at every non-NaN point."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {"elu": (lambda t: F.elu(t, 1.3)), "selu": F.selu, "celu": (lambda t: F.celu(t, 0.5)),
           "hardswish": F.hardswish, "mish": F.mish}
    x = np.array([0.0, -0.0, 3.0, -3.0, 2.9, -2.9, 1e4, -1e4, 88.0, -88.0, 20.5, -20.5, np.inf, -np.inf, np.nan],
                 dtype=dtype)
    gy = np.linspace(0.5, 1.5, x.size).astype(dtype)
    finite_gradient = ~np.isnan(x)
    for name, fn in fns.items():
        t = torch.tensor(x, requires_grad=True)
        y_torch = fn(t)
        y_torch.backward(torch.tensor(gy))
        param = PARAM.get(name, 0.0)
        with np.errstate(all="ignore"):
            y = act.forward(np, name, x, param, impl="cpu")
            gx = act.backward(np, name, gy, x, param, impl="cpu")
        np.testing.assert_allclose(y, y_torch.detach().numpy(), equal_nan=True, **tolerances(dtype), err_msg=name)
        np.testing.assert_allclose(gx[finite_gradient], t.grad.numpy()[finite_gradient], equal_nan=True,
                                   **tolerances(dtype), err_msg=f"{name}'")


@pytest.mark.parametrize("dtype, kind", [(np.float32, "float"), (np.float64, "double")])
def test_cpu_tanh_loop_compiles_to_vector_instructions(dtype, kind):
    # The kernel's own loop, rebuilt uncached (Numba cannot show the IR of cached code): the tanh helper
    # must be inlined into it, or the loop stays a call per element.
    from numba import njit

    from gpugrad.kernels._clone import clone
    from gpugrad.kernels._scalar import cpu_globals

    fn = act._forward_cpu.make(act.TANH)
    loop = njit(fastmath=act.FASTMATH, error_model="numpy")(clone(fn, cpu_globals(fn.__globals__), "_ir_test"))
    x = np.zeros(64, dtype)
    loop(x, np.empty_like(x), dtype(0))
    llvm_ir = loop.inspect_llvm(loop.signatures[0])
    widths = {int(w) for w in re.findall(rf"<(\d+) x {kind}>", llvm_ir)}
    assert widths and max(widths) >= 4, f"no vector {kind} operations in the tanh loop"


def test_cpu_elu_serial_loop_inlines_its_helper_and_vectorises():
    # The serial build (under PARALLEL_MIN_WORK), rebuilt uncached: left to LLVM, elu's branch (expm1 in
    # float64 arithmetic) stayed a call per element and the loop scalar, 5x slower than PyTorch at 1024x1024
    from numba import njit

    from gpugrad.kernels._clone import clone
    from gpugrad.kernels._scalar import cpu_globals

    fn = act._forward_cpu.make(act.ELU)
    loop = njit(fastmath=act.FASTMATH, error_model="numpy")(clone(fn, cpu_globals(fn.__globals__), "_ir_test"))
    x = np.zeros(64, np.float32)
    loop(x, np.empty_like(x), np.float32(1))
    llvm_ir = loop.inspect_llvm(loop.signatures[0])
    assert "act_forward" not in "".join(re.findall(r"call [^\n]*", llvm_ir)), "elu's helper is still a call"
    assert re.search(r"<\d+ x double>", llvm_ir), "no vector operations in the elu loop"


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "softplus"])
def test_serial_and_parallel_builds_give_the_same_bits(monkeypatch, rng, name):
    # celu's serial build, its helper a call compiled without the kernels' fast-math flags, differed from
    # the parallel build at alpha = 0.7 (the result depended on the tensor's size)
    from gpugrad.kernels import _dispatch

    x = _input(rng, (3001,), np.float32) * 2
    p = 0.7 if name == "celu" else PARAM.get(name, 0.0)
    monkeypatch.setattr(_dispatch, "PARALLEL_MIN_WORK", 1 << 40)
    serial = act.forward(np, name, x, p)
    monkeypatch.setattr(_dispatch, "PARALLEL_MIN_WORK", 0)
    np.testing.assert_array_equal(act.forward(np, name, x, p).view(np.uint32), serial.view(np.uint32))


@pytest.mark.parametrize("dtype, bound", [(np.float32, 1.5), (np.float64, 2.0)])
def test_cpu_tanh_is_within_its_ulp_bound_at_the_edges(dtype, bound):
    finfo = np.finfo(dtype)
    x = np.concatenate([np.linspace(-12, 12, 100_003), [0.0, -0.0, finfo.smallest_subnormal, -finfo.tiny, 25.0,
                                                        -25.0, np.inf, -np.inf, np.nan]]).astype(dtype)
    y = np.empty_like(x)
    act._forward_cpu(x.size, act.TANH, x, y, dtype(0))  # the kernel itself: forward() takes np.tanh
    exact = np.tanh(x[:-3].astype(np.longdouble))
    ulp = np.abs(y[:-3] - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)
    assert float(ulp.max()) <= bound
    assert np.signbit(y[-8]) and y[-7] == x[-7] and y[-6] == x[-6]  # -0, subnormal, tiny: x itself
    np.testing.assert_array_equal(y[-5:-1], [1.0, -1.0, 1.0, -1.0])
    assert np.isnan(y[-1])



@pytest.mark.parametrize("kind, bound", [("sigmoid", 3.0), ("silu", 3.5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_sigmoid_and_silu_keep_a_few_ulp_into_the_tails(kind, bound, dtype):
    """Against long double on [-80, 80]: with LLVM's reassoc and nsz (the activation kernels' flags) the
    range reduction of exp lost the low part of ln 2, and float64 sigmoid was 24 ulp off at x ~ -80."""
    x = np.linspace(-80, 80, 200_001).astype(dtype)
    y = act.forward(np, kind, x, impl="cpu")
    xl = x.astype(np.longdouble)
    exact = 1 / (1 + np.exp(-xl)) * (xl if kind == "silu" else 1)
    ulp = np.abs(y - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)
    assert float(ulp.max()) <= bound, (float(ulp.max()), float(x[int(np.argmax(ulp))]))


@pytest.mark.parametrize("name", ["tanh", "gelu", "leaky_relu"])
def test_plain_cpu_call_takes_strided_arrays(rng, name):
    """The launchers' unchecked CPU path (impl left to the switch) reads arrays of any layout: a
    transposed or strided gy and saved give the reference, in a fresh C-contiguous result."""
    param = PARAM.get(name, 0.0)
    x = _input(rng, (9, 13), np.float64)
    gy = rng.standard_normal((13, 9)).T  # F-ordered
    saved = np.ascontiguousarray(x[:, ::-1])[:, ::-1]  # x's values, as a view with a negative stride
    y = act.forward(np, name, saved, param)
    np.testing.assert_allclose(y, act.reference_forward(np, name, x, param), rtol=1e-12, atol=1e-12)
    gx = act.backward(np, name, gy, saved, param)
    assert gx.flags.c_contiguous and gx.shape == x.shape
    np.testing.assert_allclose(gx, act.reference_backward(np, name, gy, saved, param), rtol=1e-12, atol=1e-12)


# The piecewise linear family: (a, b) per kind, and inputs on the kinks, around them, and non-finite.
PIECEWISE_PARAMS = {"hardtanh": (-0.75, 1.5), "hardsigmoid": (0.0, 0.0), "hardshrink": (0.5, 0.0),
                    "softshrink": (0.5, 0.0), "threshold": (0.25, -2.0), "clamp": (-0.75, 1.5), "abs": (0.0, 0.0),
                    "smooth_l1": (0.7, 0.5 / 0.7), "huber": (1.5, 0.5 / 1.5)}
PIECEWISE_EDGES = [0.0, -0.0, 0.5, -0.5, -0.75, 1.5, 0.25, 3.0, -3.0, np.inf, -np.inf, np.nan, 1e-45]


def _piecewise_input(rng, shape, dtype):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    flat = x.reshape(-1)
    k = min(len(PIECEWISE_EDGES), flat.size)
    flat[rng.choice(flat.size, k, replace=False)] = PIECEWISE_EDGES[:k]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", act.PIECEWISE_KINDS)
def test_piecewise_match_reference_bit_for_bit(backend, rng, name, dtype):
    a, b = PIECEWISE_PARAMS[name]
    for shape in SHAPES:
        x = _piecewise_input(rng, shape, dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        gy.reshape(-1)[:3] = [np.inf, -np.inf, np.nan][: gy.size]  # a zero slope still gives +0.0
        y = backend.host(act.piecewise_forward(backend.xp, name, backend.dev(x), a, b, impl=backend.impl))
        y_ref = act.reference_piecewise_forward(np, name, x, a, b)
        assert y.dtype == dtype and y.shape == x.shape
        # the same bits, NaN included (payloads aside) and the sign of zero
        same = (y.view(f"u{y.itemsize}") == y_ref.view(f"u{y.itemsize}")) | (np.isnan(y) & np.isnan(y_ref))
        assert same.all(), f"{name} {shape}: {x[~same]} -> {y[~same]}, expected {y_ref[~same]}"
        with np.errstate(invalid="ignore"):
            gx = backend.host(act.piecewise_backward(backend.xp, name, backend.dev(gy), backend.dev(x), a, b,
                                                     impl=backend.impl))
            gx_ref = act.reference_piecewise_backward(np, name, gy, x, a, b)
        same = (gx.view(f"u{gx.itemsize}") == gx_ref.view(f"u{gx.itemsize}")) | (np.isnan(gx) & np.isnan(gx_ref))
        assert same.all(), f"{name}' {shape}: at x = {x[~same]}: {gx[~same]}, expected {gx_ref[~same]}"


def test_piecewise_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown piecewise activation"):
        act.piecewise_forward(np, "relu", np.zeros(3, np.float32))


@pytest.mark.skipif(SIM, reason="compares with PyTorch in the normal process")
@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_piecewise_reference_matches_pytorch_bit_for_bit(dtype, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {"hardtanh": lambda t, a, b: F.hardtanh(t, a, b), "hardsigmoid": lambda t, a, b: F.hardsigmoid(t),
           "hardshrink": lambda t, a, b: F.hardshrink(t, a), "softshrink": lambda t, a, b: F.softshrink(t, a),
           "threshold": lambda t, a, b: F.threshold(t, a, b), "clamp": lambda t, a, b: t.clamp(a, b),
           "abs": lambda t, a, b: t.abs()}
    # PyTorch's scalar loop, which takes the elements past the last full vector, differs from its
    # vectorised one at the edges (softshrink's sign of zero, hardtanh's NaN gradient): a length that is
    # a multiple of every vector width, with the edges inside.
    x = _piecewise_input(rng, (256,), dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    gy[:3] = [np.inf, -np.inf, np.nan]
    for name, fn in fns.items():
        a, b = PIECEWISE_PARAMS[name]
        t = torch.tensor(x, requires_grad=True)
        fn(t, a, b).backward(torch.tensor(gy))
        y = act.piecewise_forward(np, name, x, a, b, impl="cpu")
        with np.errstate(invalid="ignore"):
            gx = act.piecewise_backward(np, name, gy, x, a, b, impl="cpu")
        theirs_gx = t.grad.numpy()
        if name == "hardsigmoid" and dtype == np.float64:
            # PyTorch's float64 kernel scales by 1/6 rounded to float32 (3e-8 off); ours by 1/6 in float64
            np.testing.assert_allclose(gx, theirs_gx, rtol=1e-7, atol=0)
            theirs_gx = gx
        for ours, theirs, what in ((y, fn(torch.tensor(x), a, b).numpy(), name), (gx, theirs_gx, name + "'")):
            same = (ours.view(f"u{ours.itemsize}") == theirs.view(f"u{ours.itemsize}")) | (np.isnan(ours) & np.isnan(theirs))
            assert same.all(), f"{what}: at x = {x[~same]}: {ours[~same]}, PyTorch {theirs[~same]}"


@pytest.mark.parametrize("dtype, kind", [(np.float32, "float"), (np.float64, "double")])
def test_cpu_piecewise_backward_loop_compiles_to_vector_instructions(dtype, kind):
    from numba import njit

    from gpugrad.kernels._clone import clone
    from gpugrad.kernels._scalar import cpu_globals

    fn = act._piecewise_backward_cpu.make(act.PW_SOFTSHRINK)
    loop = njit(error_model="numpy")(clone(fn, cpu_globals(fn.__globals__), "_ir_test"))
    x = np.zeros(64, dtype)
    loop(x, x, np.empty_like(x), dtype(0.5), dtype(0))
    llvm_ir = loop.inspect_llvm(loop.signatures[0])
    widths = {int(w) for w in re.findall(rf"<(\d+) x {kind}>", llvm_ir)}
    assert widths and max(widths) >= 4, f"no vector {kind} operations in the softshrink backward loop"


# logsigmoid and glu: their own kernel pairs ---------------------------------------------------------------

LOG_EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 104.0, -104.0, 1e4, -1e4, 16.0, -16.0, 1e-30, -1e-30]


def _log_input(rng, shape, dtype):
    x = (rng.standard_normal(shape) * 6).astype(dtype)
    flat = x.reshape(-1)
    k = min(len(LOG_EDGES), flat.size)
    flat[rng.choice(flat.size, k, replace=False)] = LOG_EDGES[:k]
    return x


def _close_or_both_nan(ours, ref, dtype, what, ref_in_dtype=None):
    """ours against ref, computed in float64 and rounded; where either reference is not finite, against
    ref_in_dtype (computed in the dtype itself) when given, whose underflows ours shares: glu's gradient
    in b at a = inf and b = 104 is inf * 0 = NaN in float32 (e^-104 underflows), -inf in float64."""
    if ref_in_dtype is not None:
        finite = np.isfinite(ref) & np.isfinite(ref_in_dtype)
        np.testing.assert_array_equal(ours[~finite], ref_in_dtype[~finite], err_msg=what)
        ours, ref = ours[finite], ref[finite]
    # ref computed in float64 and rounded: within 2 ulp for float32 (the bound measured below is 1.5);
    # subnormal results (float32's e^-|x| past |x| ~ 87) to within the smallest normal number
    tiny = np.finfo(dtype).tiny
    tol = {"rtol": 2.4e-7 if np.dtype(dtype) == np.float32 else 2e-15, "atol": tiny}
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(ours, ref, **tol, err_msg=what)  # NaN matches NaN, inf matches inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsigmoid_matches_reference(backend, rng, dtype):
    for shape in SHAPES + [(5000,)]:  # 5000: blocks of the CPU kernel and a part block
        x = _log_input(rng, shape, dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        y = act.logsigmoid_forward(backend.xp, backend.dev(x), impl=backend.impl)
        y_kept, z = act.logsigmoid_forward(backend.xp, backend.dev(x), keep_z=True, impl=backend.impl)
        y, y_kept, z = backend.host(y), backend.host(y_kept), backend.host(z)
        assert y.dtype == dtype and y.shape == x.shape
        with np.errstate(invalid="ignore", over="ignore"):
            y_ref = act.reference_logsigmoid_forward(np, x.astype(np.float64)).astype(dtype)
            gx_ref = act.reference_logsigmoid_backward(np, gy.astype(np.float64), x.astype(np.float64)).astype(dtype)
        _close_or_both_nan(y, y_ref, dtype, f"logsigmoid {shape}")
        np.testing.assert_array_equal(y_kept, y)
        np.testing.assert_allclose(z, np.exp(-np.abs(x)), rtol=2e-7 if dtype == np.float32 else 1e-15)
        for given in (None, z):
            gx = backend.host(act.logsigmoid_backward(backend.xp, backend.dev(gy), backend.dev(x),
                                                      None if given is None else backend.dev(given),
                                                      impl=backend.impl))
            assert gx.dtype == dtype and gx.shape == x.shape
            _close_or_both_nan(gx, gx_ref, dtype, f"logsigmoid' {shape}")
        edges = np.isin(x, [np.inf, -np.inf, 0.0])
        assert (np.signbit(y[edges]) == np.signbit(y_ref[edges])).all()  # logsigmoid(inf) is +0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((6,), 0), ((7, 10), 1), ((4, 3, 5), 0), ((3, 2, 5), 1),
                                         ((2, 4100), 1), ((2, 8200), 0), ((0, 4), 1)])
def test_glu_matches_reference(backend, rng, dtype, shape, axis):
    x = _log_input(rng, shape, dtype)
    y = backend.host(act.glu_forward(backend.xp, backend.dev(x), axis, impl=backend.impl))
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = backend.host(act.glu_backward(backend.xp, backend.dev(gy), backend.dev(x), axis, impl=backend.impl))
    with np.errstate(invalid="ignore", over="ignore"):
        y_ref = act.reference_glu_forward(np, x.astype(np.float64), axis).astype(dtype)
        gx_ref = act.reference_glu_backward(np, gy.astype(np.float64), x.astype(np.float64), axis).astype(dtype)
        y_own = act.reference_glu_forward(np, x, axis)
        gx_own = act.reference_glu_backward(np, gy, x, axis)
    assert y.dtype == dtype and y.shape == y_ref.shape and gx.shape == x.shape
    _close_or_both_nan(y, y_ref, dtype, "glu", y_own)
    _close_or_both_nan(gx, gx_ref, dtype, "glu'", gx_own)


def test_glu_refuses_an_odd_axis():
    with pytest.raises(ValueError, match="even length"):
        act.glu_forward(np, np.zeros((3, 5), np.float32), 1)


def _ulp_error(ours, exact):
    """Largest error of float32 results against a long double reference, in float32 ulps of the exact value."""
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.longdouble)
    return float(np.max(np.abs(ours.astype(np.longdouble) - exact) / ulp))


def test_cpu_logsigmoid_and_glu_float32_ulp_bounds():
    # one dense sweep over the range where the results are normal numbers. Measured on three seeds:
    # logsigmoid 1.45 ulp (the float32 exp's ulp through log1p; the same bits as the composite of the
    # vectorised exp and log1p ufuncs it replaced), its derivative 1.45, glu 1.66 and its gradients 1.69
    # (a) and 1.65 (b): the float32 e^-|x| (1 ulp) then float64 arithmetic rounded once
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-30, 30, 1 << 18), rng.uniform(-4, 4, 1 << 18)]).astype(np.float32)
    xl = x.astype(np.longdouble)
    y = act.logsigmoid_forward(np, x, impl="cpu")
    assert _ulp_error(y, np.minimum(xl, 0) - np.log1p(np.exp(-np.abs(xl)))) <= 1.5
    from gpugrad._vmath_ufuncs import math_ufunc
    composite = np.minimum(x, 0) - math_ufunc(np, "log1p", x.dtype)(math_ufunc(np, "exp", x.dtype)(-np.abs(x)))
    np.testing.assert_array_equal(y, composite)
    gy = np.ones_like(x)

    def sig(v):
        return 1 / (1 + np.exp(-v))

    assert _ulp_error(act.logsigmoid_backward(np, gy, x, impl="cpu"), sig(-xl)) <= 1.5
    pairs = x.reshape(-1, 2)  # a, b along axis 1
    a, b = pairs[:, :1].astype(np.longdouble), pairs[:, 1:].astype(np.longdouble)
    assert _ulp_error(act.glu_forward(np, pairs, 1, impl="cpu"), a * sig(b)) <= 1.75
    g = rng.standard_normal((pairs.shape[0], 1)).astype(np.float32)
    gx = act.glu_backward(np, g, pairs, 1, impl="cpu")
    gl = g.astype(np.longdouble)
    assert _ulp_error(gx[:, :1], gl * sig(b)) <= 1.75
    assert _ulp_error(gx[:, 1:], gl * a * sig(b) * sig(-b)) <= 1.75


def test_cpu_glu_backward_loops_compile_to_vector_instructions():
    # with both halves stored in one loop, LLVM kept it scalar (3x slower): the kernel stores one a loop
    from numba import njit

    from gpugrad.kernels._clone import clone
    from gpugrad.kernels._scalar import cpu_globals

    fn = act._glu_backward_cpu.fn
    loop = njit(error_model="numpy")(clone(fn, cpu_globals(fn.__globals__), "_ir_test"))
    x = np.zeros((2, 2, 64), np.float32)
    loop(np.zeros((2, 64), np.float32), x, np.empty_like(x))
    llvm_ir = loop.inspect_llvm(loop.signatures[0])
    assert re.search(r"<(8|16) x float>", llvm_ir), "no vector float32 operations in glu's backward"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["smooth_l1", "huber"])
def test_piecewise_of_a_difference_is_the_piecewise_of_numpys_difference_bit_for_bit(backend, rng, name, dtype):
    a, b = PIECEWISE_PARAMS[name]
    for shape in SHAPES:
        x = _piecewise_input(rng, shape, dtype)
        t = _piecewise_input(rng, shape, dtype)[::-1].copy()
        with np.errstate(invalid="ignore"):
            d = x - t
        y = backend.host(act.piecewise_diff_forward(backend.xp, name, backend.dev(x), backend.dev(t), a, b,
                                                    impl=backend.impl))
        y_ref = act.reference_piecewise_forward(np, name, d, a, b)
        u = f"u{y.itemsize}"
        same = (y.view(u) == y_ref.view(u)) | (np.isnan(y) & np.isnan(y_ref))
        assert same.all(), f"{name} {shape}: at d = {d[~same]}: {y[~same]}, expected {y_ref[~same]}"
        gy = rng.standard_normal(shape).astype(dtype)
        for g in (gy, np.broadcast_to(gy.reshape(-1)[:1].reshape((1,) * gy.ndim), shape)):  # a broadcast one
            with np.errstate(invalid="ignore"):
                gx = backend.host(act.piecewise_diff_backward(backend.xp, name, backend.dev(g), backend.dev(x),
                                                              backend.dev(t), a, b, impl=backend.impl))
                gx_ref = act.reference_piecewise_backward(np, name, np.ascontiguousarray(g), d, a, b)
            same = (gx.view(u) == gx_ref.view(u)) | (np.isnan(gx) & np.isnan(gx_ref))
            assert same.all(), f"{name}' {shape}: at d = {d[~same]}: {gx[~same]}, expected {gx_ref[~same]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_matches_reference(backend, rng, dtype):
    for shape in SHAPES:
        x = _log_input(rng, shape, dtype)
        t = rng.uniform(0, 1, shape).astype(dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            y = backend.host(act.bce_logits_forward(backend.xp, backend.dev(x), backend.dev(t), impl=backend.impl))
            y_ref = act.reference_bce_logits_forward(np, x, t)
            np.testing.assert_allclose(y, y_ref, rtol=2e-6 if dtype == np.float32 else 1e-14, atol=1e-6 if dtype == np.float32 else 1e-14)
            gy = rng.standard_normal(shape).astype(dtype)
            gx_ref = act.reference_bce_logits_backward(np, gy, x, t)
            for g in (gy, np.broadcast_to(gy.reshape(-1)[:1].reshape((1,) * gy.ndim), shape)):
                gx = backend.host(act.bce_logits_backward(backend.xp, backend.dev(g), backend.dev(x), backend.dev(t),
                                                          impl=backend.impl))
                np.testing.assert_allclose(gx, act.reference_bce_logits_backward(np, np.ascontiguousarray(g), x, t),
                                           rtol=1e-6 if dtype == np.float32 else 1e-14,
                                           atol=4e-7 if dtype == np.float32 else 1e-15)  # sigmoid(x) - t cancels
        assert gx_ref.shape == y.shape == x.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanhshrink_backward_matches_reference(backend, rng, dtype):
    for shape in SHAPES:
        t = np.tanh(_log_input(rng, shape, dtype))
        gy = rng.standard_normal(shape).astype(dtype)
        gx = backend.host(act.tanhshrink_backward(backend.xp, backend.dev(gy), backend.dev(t), impl=backend.impl))
        with np.errstate(invalid="ignore"):
            ref = act.reference_tanhshrink_backward(np, gy.astype(np.float64), t.astype(np.float64)).astype(dtype)
        np.testing.assert_allclose(gx, ref, rtol=2.4e-7 if dtype == np.float32 else 2e-15, atol=np.finfo(dtype).tiny)
        zero = gx == 0
        assert not np.signbit(gx[zero]).any()  # +0.0, as PyTorch's gy - gy (1 - t^2)
