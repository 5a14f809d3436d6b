"""Input checks run before any kernel launch; impl selection."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import _checks, _cuda, _dispatch, _grid, _launch, activation, linear, optim, softmax_xent

from .conftest import SIM, _forbidden


def test_shape_mismatch_raises_before_launch(backend, no_launch):
    gy = backend.dev(np.ones((3, 4), np.float32))
    saved = backend.dev(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"activation\.backward\[tanh\].*\(3, 4\).*\(4, 3\)"):
        activation.backward(backend.xp, "tanh", gy, saved, impl=backend.impl)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        linear.bias_act_forward(backend.xp, "relu", gy, backend.dev(np.ones(3, np.float32)), impl=backend.impl)
    with pytest.raises(ValueError, match=r"matmul_bias_act.*\(3, 4\).*\(3, 4\)"):
        linear.matmul_bias_act(backend.xp, gy, gy, None, "relu", impl=backend.impl)
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: target must have shape \(3,\)"):
        softmax_xent.softmax_cross_entropy(backend.xp, gy, backend.dev(np.zeros(4, np.int64)), impl=backend.impl)


def test_dtype_mismatch_and_int_dtypes_refused(backend, no_launch):
    f32 = backend.dev(np.ones(5, np.float32))
    f64 = backend.dev(np.ones(5, np.float64))
    i64 = backend.dev(np.ones(5, np.int64))
    with pytest.raises(TypeError, match=r"activation\.backward\[gelu\].*float32.*float64"):
        activation.backward(backend.xp, "gelu", f32, f64, impl=backend.impl)
    with pytest.raises(TypeError, match=r"only float32 and float64.*int64"):
        activation.forward(backend.xp, "relu", i64, impl=backend.impl)
    with pytest.raises(TypeError, match=r"optim\.sum_of_squares: only float32 and float64"):
        optim.sum_of_squares(backend.xp, i64, impl=backend.impl)
    with pytest.raises(TypeError, match=r"target must be an integer"):
        softmax_xent.softmax_cross_entropy(backend.xp, f32.reshape(1, 5), backend.dev(np.zeros(1)), impl=backend.impl)


def test_unknown_activation_and_impl(no_launch):
    x = np.ones(3)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation.forward(np, "swish", x)
    with pytest.raises(ValueError, match="impl must be one of"):
        activation.forward(np, "relu", x, impl="gpu")
    with pytest.raises(TypeError, match="impl='cpu' needs NumPy arrays"):
        _checks.check_arrays_for("op", np, "cpu", x=memoryview(b"abc"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_inputs_are_converted(backend, rng, dtype):
    xp, impl = backend.xp, backend.impl
    x_h = rng.standard_normal((8, 14)).astype(dtype)
    gy_h = rng.standard_normal((7, 8)).astype(dtype)
    x, gy = backend.dev(x_h)[:, ::2], backend.dev(gy_h).T  # strided views on the device
    x_h, gy_h = x_h[:, ::2], gy_h.T
    assert not x.flags.c_contiguous and not gy.flags.c_contiguous
    tol = dict(rtol=2e-5, atol=1e-5)
    y = activation.forward(xp, "silu", x, impl=impl)
    np.testing.assert_allclose(backend.host(y), activation.reference_forward(np, "silu", x_h), **tol)
    gx = activation.backward(xp, "silu", gy, x, impl=impl)
    np.testing.assert_allclose(backend.host(gx), activation.reference_backward(np, "silu", gy_h, x_h), **tol)
    _, gb = linear.bias_act_backward(xp, "gelu", gy, x, impl=impl)
    np.testing.assert_allclose(backend.host(gb), linear.reference_bias_act_backward(np, "gelu", gy_h, x_h)[1], **tol)
    t = np.arange(8) % 7
    _, d, _ = softmax_xent.softmax_cross_entropy(xp, x, backend.dev(t), impl=impl)
    np.testing.assert_allclose(backend.host(d), softmax_xent.reference_softmax_cross_entropy(np, x_h, t)[1], **tol)


def test_non_contiguous_optimizer_buffers_updated_in_place(rng):
    # p and exp_avg are strided views: the step must land in them.
    base_p = rng.standard_normal(20)
    base_m = rng.standard_normal(20)
    p, m = base_p[::2], base_m[::2]
    g, v = rng.standard_normal(10), np.abs(rng.standard_normal(10))
    rp, rm, rv = p.copy(), m.copy(), v.copy()
    kw = dict(lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, step=2)
    optim.adam(np, p, g, m, v, None, impl="cpu", **kw)
    optim.reference_adam(np, rp, g, rm, rv, None, **kw)
    np.testing.assert_allclose(base_p[::2], rp)
    np.testing.assert_allclose(base_m[::2], rm)
    np.testing.assert_allclose(v, rv)


def test_failed_optimizer_step_leaves_buffers_unchanged(backend, rng, no_launch):
    n = 7
    bufs = [rng.standard_normal(n).astype(np.float32) for _ in range(5)]
    dev = [backend.dev(b.copy()) for b in bufs]
    p, g, m, v, vmax = dev
    base = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, impl=backend.impl)
    bad_calls = [
        lambda: optim.adam(backend.xp, p, g, m, backend.dev(np.ones(n + 1, np.float32)), None, step=1, **base),
        lambda: optim.adam(backend.xp, p, g, m, v, backend.dev(np.ones(n, np.float64)), step=1, amsgrad=True, **base),
        lambda: optim.adam(backend.xp, p, g, m, v, None, step=1, amsgrad=True, **base),
        lambda: optim.adam(backend.xp, p, g, m, v, None, step=0, **base),
        lambda: optim.adam(backend.xp, p, g, m, v, None, step=1, **{**base, "beta1": 1.0}),
        lambda: optim.sgd(backend.xp, p, g, None, lr=0.1, momentum=0.9, impl=backend.impl),
        lambda: optim.sgd(backend.xp, p, g, m, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True, impl=backend.impl),
        lambda: optim.rmsprop(backend.xp, p, g, v, m, None, lr=0.1, alpha=0.9, eps=1e-8, centered=True, impl=backend.impl),
        lambda: optim.adagrad(backend.xp, p, backend.dev(np.ones(n, np.float64)), v, lr=0.1, step=1, impl=backend.impl),
    ]
    for call in bad_calls:
        with pytest.raises((ValueError, TypeError)):
            call()
        for d, b in zip(dev, bufs):
            np.testing.assert_array_equal(backend.host(d), b)


def test_fused_off_selects_reference(monkeypatch):
    monkeypatch.setattr(_dispatch, "_fused", True)
    assert _launch.resolve_impl(np, None) == "cpu"
    assert _launch.resolve_impl(object(), None) == "cuda"
    with _dispatch.fused(False):
        assert _launch.resolve_impl(np, None) == "reference"
        assert _launch.resolve_impl(np, "cpu") == "cpu"  # explicit impl wins
    assert _launch.resolve_impl(np, None) == "cpu"  # restored on leaving the block
    monkeypatch.setattr(_dispatch, "_fused", False)

    sentinel = object()
    monkeypatch.setattr(activation, "reference_forward", lambda *a, **k: sentinel)
    monkeypatch.setattr(activation, "_forward_cpu", _forbidden)
    assert activation.forward(np, "relu", np.ones(3)) is sentinel
    calls = []
    monkeypatch.setattr(optim, "reference_adam", lambda *a, **k: calls.append(k))
    monkeypatch.setattr(optim, "_adam_cpu", _forbidden)
    z = np.zeros(3)
    optim.adam(np, z, z, z, z, None, lr=0.1, beta1=0.9, beta2=0.9, eps=1e-8, step=1)
    assert calls and calls[0]["lr"] == 0.1


def test_cuda_available_never_raises(monkeypatch):
    def boom():
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(_cuda, "get_cuda", boom)
    assert _launch.cuda_available() is False


@pytest.mark.skipif(SIM, reason="checks the CPU-only grid arithmetic")
def test_launch_dims():
    grid, block = _launch.launch_dims(1000, 256)
    assert block == (256,) and grid[0] == 4
    grid, block = _launch.launch_dims((70, 5), (16, 16), grid_stride=False, per_thread=4)
    assert grid == (2, 1)
    grid, _ = _launch.launch_dims((40, 10**9), (32, 8))
    assert grid[0] == 2 and 1 <= grid[1] * grid[0] <= _grid.max_blocks()


def test_cuda_backend_allocations_start_nan_filled(backend):
    """The "cuda" backend's allocations start NaN-filled (conftest.nan_filled_allocations), so a kernel
    that skips an element fails its comparison; the CPU backend's arrays are left as NumPy makes them."""
    if backend.impl != "cuda":
        pytest.skip("the fill is for the cuda backend (the GPU, or the simulator)")
    xp = backend.xp
    for _ in range(2):  # a block freed and handed out again is filled again
        f = backend.host(xp.empty(1_234_567, np.float32))
        i = backend.host(xp.empty_like(xp.zeros((3, 5), np.int64)))
        assert np.isnan(f).all() and (i == -1).all()
        del f, i
    y = activation.forward(xp, "relu", backend.dev(np.arange(-3.0, 4.0)), impl="cuda")  # every element written
    np.testing.assert_array_equal(backend.host(y), np.maximum(np.arange(-3.0, 4.0), 0))


def test_every_name_the_families_import_from_launch_is_there():
    """The launch layer is split by concern into kernels/_*.py; the families keep importing from _launch."""
    import ast
    from pathlib import Path

    names = set()
    for path in Path(_launch.__file__).parent.glob("[!_]*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "_launch" and node.level == 1:
                names |= {alias.name for alias in node.names}
    assert {"launch", "float_dtype_and_impl", "cuda_family"} <= names
    assert [n for n in sorted(names) if not hasattr(_launch, n)] == []


def test_plain_cpu_call_is_only_the_call_every_check_would_pass():
    from gpugrad.kernels._checks import plain_cpu_call
    from gpugrad.kernels._dispatch import fused

    a = np.zeros((3, 5), np.float32)
    assert plain_cpu_call(np, None, a, np.ones((3, 5), np.float32))
    assert not plain_cpu_call(np, "cpu", a)  # an explicit impl keeps its checks
    assert not plain_cpu_call(np, None, a.T)  # not C-contiguous
    assert not plain_cpu_call(np, None, a.astype(np.float16))
    assert not plain_cpu_call(np, None, a, np.zeros((3, 5), np.float64))
    assert not plain_cpu_call(np, None, a, np.zeros((5, 3), np.float32))
    with fused(False):
        assert not plain_cpu_call(np, None, a)


@pytest.mark.parametrize("kind", ["tanh", "gelu", "elu"])
def test_activation_launchers_give_the_same_bits_on_the_plain_and_the_checked_path(kind):
    from gpugrad.kernels import activation

    rng = np.random.default_rng(3)
    x, gy = (rng.standard_normal((7, 9)).astype(np.float32) for _ in range(2))
    np.testing.assert_array_equal(activation.forward(np, kind, x, 0.7), activation.forward(np, kind, x, 0.7, impl="cpu"))
    np.testing.assert_array_equal(activation.backward(np, kind, gy, x, 0.7),
                                  activation.backward(np, kind, gy, x, 0.7, impl="cpu"))
    # A transposed (non-contiguous) input takes the checked path: same values.
    np.testing.assert_array_equal(activation.forward(np, kind, x.T, 0.7), activation.forward(np, kind, x.T.copy(), 0.7))
