"""Recurrent cells (gpugrad/ops/recurrent.py): lstm_pointwise and gru_pointwise against a NumPy
recomputation, their fused first-order backward against the create_graph (Tensor-op) one, the public
cells against torch.lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell, and the error cases."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.kernels._dispatch import fused as kernels_fused
from gpugrad.ops.recurrent import gru_layer, gru_pointwise, lstm_layer, lstm_pointwise


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _t(a, dtype=gg.float64, grad=True, device="cpu"):
    return gg.tensor(a, dtype=dtype, requires_grad=grad, device=device)


# ---------------------------------------------------------------- the pointwise ops

@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_lstm_pointwise_values_match_the_formula(dtype):
    rng = np.random.default_rng(0)
    z, cp = rng.standard_normal((5, 4 * 7)) * 2, rng.standard_normal((5, 7))
    h, c = lstm_pointwise(_t(z, dtype, False), _t(cp, dtype, False))
    i, f, g, o = _sig(z[:, :7]), _sig(z[:, 7:14]), np.tanh(z[:, 14:21]), _sig(z[:, 21:])
    c_ref = f * cp + i * g
    tol = 2e-6 if dtype is gg.float32 else 1e-13
    assert h.dtype is dtype and c.dtype is dtype and h.shape == (5, 7)
    np.testing.assert_allclose(c.numpy(), c_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(h.numpy(), o * np.tanh(c_ref), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_gru_pointwise_values_match_the_formula(dtype):
    rng = np.random.default_rng(1)
    gi, gh, hp = rng.standard_normal((4, 15)) * 2, rng.standard_normal((4, 15)), rng.standard_normal((4, 5))
    h = gru_pointwise(_t(gi, dtype, False), _t(gh, dtype, False), _t(hp, dtype, False))
    r, z = _sig(gi[:, :5] + gh[:, :5]), _sig(gi[:, 5:10] + gh[:, 5:10])
    n = np.tanh(gi[:, 10:] + r * gh[:, 10:])
    tol = 2e-6 if dtype is gg.float32 else 1e-13
    assert h.dtype is dtype
    np.testing.assert_allclose(h.numpy(), (1 - z) * n + z * hp, rtol=tol, atol=tol)


def _grads(fn, inputs, u, create_graph):
    outs = fn(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    loss = sum((o * gg.tensor(w, dtype=o.dtype)).sum() for o, w in zip(outs, u))
    return [g.detach().numpy() for g in gg.grad(loss, inputs, create_graph=create_graph)]


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (4,)])
def test_lstm_pointwise_fused_backward_equals_the_differentiable_one(shape):
    """The fused kernel (plain backward) and the Tensor-op backward (create_graph=True) are one formula."""
    rng = np.random.default_rng(2)
    hs = shape[-1]
    z = _t(rng.standard_normal(shape[:-1] + (4 * hs,)) * 2)
    cp = _t(rng.standard_normal(shape))
    u = [rng.standard_normal(shape), rng.standard_normal(shape)]
    fused = _grads(lstm_pointwise, [z, cp], u, False)
    composite = _grads(lstm_pointwise, [z, cp], u, True)
    for a, b in zip(fused, composite):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (4,)])
def test_gru_pointwise_fused_backward_equals_the_differentiable_one(shape):
    rng = np.random.default_rng(3)
    hs = shape[-1]
    gi = _t(rng.standard_normal(shape[:-1] + (3 * hs,)) * 2)
    gh = _t(rng.standard_normal(shape[:-1] + (3 * hs,)))
    hp = _t(rng.standard_normal(shape))
    u = [rng.standard_normal(shape)]
    fused = _grads(gru_pointwise, [gi, gh, hp], u, False)
    composite = _grads(gru_pointwise, [gi, gh, hp], u, True)
    for a, b in zip(fused, composite):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_lstm_pointwise_gradient_through_c_alone():
    """Only c used: h's gradient is taken as zero (the engine materialises it)."""
    rng = np.random.default_rng(4)
    z, cp = _t(rng.standard_normal((2, 12))), _t(rng.standard_normal((2, 3)))
    _, c = lstm_pointwise(z, cp)
    c.sum().backward()
    f = _sig(z.detach().numpy()[:, 3:6])
    np.testing.assert_allclose(cp.grad.numpy(), f, rtol=1e-13)
    assert np.all(z.grad.numpy()[:, 9:] == 0)  # the output gate only reaches h


def test_pointwise_second_derivatives():
    rng = np.random.default_rng(5)
    z, cp = _t(rng.standard_normal((2, 8))), _t(rng.standard_normal((2, 2)))
    assert gg.autograd.gradgradcheck(lambda a, b: lstm_pointwise(a, b)[1] * lstm_pointwise(a, b)[0], [z, cp])
    gi, gh, hp = _t(rng.standard_normal((2, 6))), _t(rng.standard_normal((2, 6))), _t(rng.standard_normal((2, 2)))
    assert gg.autograd.gradgradcheck(gru_pointwise, [gi, gh, hp])


def test_pointwise_float16_runs_the_reference():
    rng = np.random.default_rng(6)
    z, cp = rng.standard_normal((2, 8)), rng.standard_normal((2, 2))
    h16, c16 = lstm_pointwise(_t(z, gg.float16, False), _t(cp, gg.float16, False))
    h64, c64 = lstm_pointwise(_t(z, grad=False), _t(cp, grad=False))
    assert h16.dtype is gg.float16
    np.testing.assert_allclose(h16.numpy().astype(np.float64), h64.numpy(), atol=3e-3)


def test_pointwise_errors_name_the_function():
    z = gg.zeros(2, 8)
    with pytest.raises(gg.ShapeError, match=r"lstm_pointwise: gates must have shape \(2, 12\)"):
        lstm_pointwise(z, gg.zeros(2, 3))
    with pytest.raises(gg.ShapeError, match=r"lstm_pointwise: gates must have shape \(3, 8\)"):
        lstm_pointwise(z, gg.zeros(3, 2))
    with pytest.raises(gg.DTypeError, match="lstm_pointwise: expected tensors of one dtype"):
        lstm_pointwise(z, gg.zeros(2, 2, dtype=gg.float64))
    with pytest.raises(gg.DTypeError, match="gru_pointwise: expected floating point"):
        gru_pointwise(gg.zeros(2, 6, dtype=gg.int64), gg.zeros(2, 6, dtype=gg.int64), gg.zeros(2, 2, dtype=gg.int64))
    with pytest.raises(gg.ShapeError, match=r"gru_pointwise: gh must have shape \(2, 6\)"):
        gru_pointwise(gg.zeros(2, 6), gg.zeros(2, 9), gg.zeros(2, 2))


def test_reference_path_with_fused_off():
    """With the fused kernels off the references run: the same values and gradients."""
    rng = np.random.default_rng(7)
    z, cp = rng.standard_normal((3, 8)), rng.standard_normal((3, 2))
    u = [rng.standard_normal((3, 2)), rng.standard_normal((3, 2))]
    fused = _grads(lstm_pointwise, [_t(z), _t(cp)], u, False)
    with kernels_fused(False):
        ref = _grads(lstm_pointwise, [_t(z), _t(cp)], u, False)
    for a, b in zip(fused, ref):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- the layer op

def _layer_by_steps(x, h, c, w, reverse):
    """lstm_layer's meaning: lstm_pointwise step by step (Tensor ops)."""
    outs = [None] * x.shape[0]
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        h, c = lstm_pointwise(x[t] + h.matmul(w.t()), c)
        outs[t] = h
    return gg.stack(outs, 0), h, c


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("steps,n,hs", [(1, 1, 1), (5, 3, 4), (7, 2, 33)])
def test_lstm_layer_equals_its_steps(steps, n, hs, dtype, reverse):
    """Values and all four gradients (fused loops) against the step-by-step composition."""
    rng = np.random.default_rng(steps * 10 + hs)
    arrays = [rng.standard_normal((steps, n, 4 * hs)), rng.standard_normal((n, hs)), rng.standard_normal((n, hs)),
              rng.standard_normal((4 * hs, hs)) * 0.5]
    us = [rng.standard_normal((steps, n, hs)), rng.standard_normal((n, hs)), rng.standard_normal((n, hs))]
    tol = dict(rtol=1e-4, atol=1e-5) if dtype is gg.float32 else dict(rtol=1e-11, atol=1e-13)
    results = []
    for fn in (lambda *a: lstm_layer(*a, reverse=reverse), lambda *a: _layer_by_steps(*a, reverse)):
        xs = [_t(a, dtype) for a in arrays]
        outs = fn(*xs)
        sum((o * gg.tensor(u, dtype=dtype)).sum() for o, u in zip(outs, us)).backward()
        assert all(o.dtype is dtype for o in outs)
        results.append([o.detach().numpy() for o in outs] + [x.grad.numpy() for x in xs])
    for k, (a, b) in enumerate(zip(*results)):
        np.testing.assert_allclose(a, b, err_msg=f"output/gradient {k}", **tol)


def test_lstm_layer_second_derivatives_through_the_loop():
    rng = np.random.default_rng(8)
    xs = [_t(rng.standard_normal(s)) for s in [(2, 2, 4), (2, 1), (2, 1), (4, 1)]]
    assert gg.autograd.gradgradcheck(lambda *a: lstm_layer(*a)[0], xs)


def test_lstm_layer_errors():
    x, h, w = gg.zeros(3, 2, 8), gg.zeros(2, 2), gg.zeros(8, 2)
    with pytest.raises(gg.ShapeError, match=r"lstm_layer: x_proj must have shape \(T, 2, 8\)"):
        lstm_layer(gg.zeros(3, 2, 4), h, h, w)
    with pytest.raises(gg.ShapeError, match="T >= 1"):
        lstm_layer(gg.zeros(0, 2, 8), h, h, w)
    with pytest.raises(gg.ShapeError, match=r"lstm_layer: w_hh must have shape \(8, 2\)"):
        lstm_layer(x, h, h, gg.zeros(2, 8))
    with pytest.raises(gg.ShapeError, match=r"lstm_layer: h0 must have c0's shape"):
        lstm_layer(x, gg.zeros(1, 2), h, w)
    with pytest.raises(gg.DTypeError, match="lstm_layer: expected tensors of one dtype"):
        lstm_layer(x, h, h, gg.zeros(8, 2, dtype=gg.float64))


def _gru_by_steps(gi, h, w, b, reverse):
    outs = [None] * gi.shape[0]
    for t in (range(gi.shape[0] - 1, -1, -1) if reverse else range(gi.shape[0])):
        gh = h.matmul(w.t()) if b is None else h.matmul(w.t()) + b
        h = gru_pointwise(gi[t], gh, h)
        outs[t] = h
    return gg.stack(outs, 0), h


@pytest.mark.parametrize("reverse,bias", [(False, True), (True, True), (False, False)])
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("steps,n,hs", [(1, 1, 1), (5, 3, 4), (7, 2, 33)])
def test_gru_layer_equals_its_steps(steps, n, hs, dtype, reverse, bias):
    rng = np.random.default_rng(steps * 10 + hs)
    arrays = [rng.standard_normal((steps, n, 3 * hs)), rng.standard_normal((n, hs)),
              rng.standard_normal((3 * hs, hs)) * 0.5] + ([rng.standard_normal(3 * hs)] if bias else [])
    us = [rng.standard_normal((steps, n, hs)), rng.standard_normal((n, hs))]
    tol = dict(rtol=1e-4, atol=1e-5) if dtype is gg.float32 else dict(rtol=1e-11, atol=1e-13)
    results = []
    for fn in (lambda *a: gru_layer(*a, reverse=reverse), lambda *a: _gru_by_steps(*a, reverse)):
        xs = [_t(a, dtype) for a in arrays]
        outs = fn(*xs) if bias else fn(*xs, None)
        sum((o * gg.tensor(u, dtype=dtype)).sum() for o, u in zip(outs, us)).backward()
        results.append([o.detach().numpy() for o in outs] + [x.grad.numpy() for x in xs])
    for k, (a, b) in enumerate(zip(*results)):
        np.testing.assert_allclose(a, b, err_msg=f"output/gradient {k}", **tol)


def test_gru_layer_errors():
    gi, h, w = gg.zeros(3, 2, 6), gg.zeros(2, 2), gg.zeros(6, 2)
    with pytest.raises(gg.ShapeError, match=r"gru_layer: gi must have shape \(T, 2, 6\)"):
        gru_layer(gg.zeros(3, 2, 8), h, w)
    with pytest.raises(gg.ShapeError, match=r"gru_layer: b_hh must have shape \(6,\)"):
        gru_layer(gi, h, w, gg.zeros(8))
    with pytest.raises(gg.ShapeError, match=r"gru_layer: w_hh must have shape \(6, 2\)"):
        gru_layer(gi, h, gg.zeros(8, 2))


# ---------------------------------------------------------------- the cells against PyTorch

def _cell_arrays(rng, n, i, hs, gates, bias=True):
    shapes = [(n, i), (n, hs), (gates * hs, i), (gates * hs, hs)] + ([(gates * hs,)] * 2 if bias else [])
    return [rng.standard_normal(s) * 0.7 for s in shapes]


def _compare(torch, name, arrays, dtype, n_state=1):
    """Values and gradients of gg.<name> against torch.<name> for the same arrays (float32 or 64)."""
    tdt = {gg.float32: torch.float32, gg.float64: torch.float64}[dtype]
    ours = [gg.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=tdt, requires_grad=True) for a in arrays]

    def call(mod, ts):
        if n_state == 2:  # lstm: hx = (h, c)
            return getattr(mod, name)(ts[0], (ts[1], ts[2]), *ts[3:])
        return getattr(mod, name)(*ts)

    out, ref = call(gg, ours), call(torch, theirs)
    out = out if isinstance(out, tuple) else (out,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    rng = np.random.default_rng(11)
    us = [rng.standard_normal(tuple(r.shape)) for r in ref]
    tol = dict(rtol=2e-5, atol=2e-6) if dtype is gg.float32 else dict(rtol=1e-11, atol=1e-13)
    for o, r in zip(out, ref):
        assert o.dtype is dtype and tuple(o.shape) == tuple(r.shape)
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **tol)
    sum((o * gg.tensor(u, dtype=dtype)).sum() for o, u in zip(out, us)).backward()
    sum((r * torch.tensor(u, dtype=tdt)).sum() for r, u in zip(ref, us)).backward()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), err_msg=f"{name}: gradient of input {k}", **tol)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("n,i,hs", [(1, 1, 1), (3, 5, 7), (4, 9, 33)])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_matches_pytorch(dtype, n, i, hs, bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n * 100 + hs)
    arrays = _cell_arrays(rng, n, i, hs, 4, bias)
    arrays.insert(2, rng.standard_normal((n, hs)))  # c
    _compare(torch, "lstm_cell", arrays, dtype, n_state=2)


@pytest.mark.torch
@pytest.mark.parametrize("name,gates", [("gru_cell", 3), ("rnn_tanh_cell", 1), ("rnn_relu_cell", 1)])
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("n,i,hs", [(1, 1, 1), (3, 5, 7), (4, 9, 33)])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_pytorch(name, gates, dtype, n, i, hs, bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n * 100 + hs + gates)
    _compare(torch, name, _cell_arrays(rng, n, i, hs, gates, bias), dtype)


@pytest.mark.torch
def test_lstm_cell_signature_matches_pytorch():
    torch = pytest.importorskip("torch")
    import inspect

    for name in ("lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"):
        params = list(inspect.signature(getattr(gg, name)).parameters.items())
        assert [p for p, _ in params] == ["input", "hx", "w_ih", "w_hh", "b_ih", "b_hh"], name
        assert params[4][1].default is None and params[5][1].default is None
        schema = torch._C._jit_get_schemas_for_operator(f"aten::{name}")[0]
        assert [a.name for a in schema.arguments] == [p for p, _ in params]


def test_cell_errors_name_the_function():
    x, h = gg.zeros(2, 3), gg.zeros(2, 4)
    with pytest.raises(RuntimeError, match="lstm_cell expects two hidden states"):
        gg.lstm_cell(x, (h,), gg.zeros(16, 3), gg.zeros(16, 4))
    with pytest.raises(gg.ShapeError, match="lstm_cell: input has inconsistent input_size: got 3 expected 5"):
        gg.lstm_cell(x, (h, h), gg.zeros(16, 5), gg.zeros(16, 4))
    with pytest.raises(gg.ShapeError, match=r"gru_cell: w_ih must have shape \(12, input_size\)"):
        gg.gru_cell(x, h, gg.zeros(16, 3), gg.zeros(12, 4))
    with pytest.raises(gg.ShapeError, match=r"rnn_tanh_cell: w_hh must have shape \(4, 4\)"):
        gg.rnn_tanh_cell(x, h, gg.zeros(4, 3), gg.zeros(4, 3))
    with pytest.raises(gg.ShapeError, match=r"rnn_relu_cell: b_hh must have shape \(4,\)"):
        gg.rnn_relu_cell(x, h, gg.zeros(4, 3), gg.zeros(4, 4), gg.zeros(4), gg.zeros(5))
    with pytest.raises(gg.ShapeError, match="gru_cell: input batch size 3 doesn't match hidden batch size 2"):
        gg.gru_cell(gg.zeros(3, 3), h, gg.zeros(12, 3), gg.zeros(12, 4))
    with pytest.raises(gg.ShapeError, match="lstm_cell: expected a 2-D input"):
        gg.lstm_cell(gg.zeros(3), (h, h), gg.zeros(16, 3), gg.zeros(16, 4))
    with pytest.raises(gg.ShapeError, match=r"lstm_cell: hx\[1\] has shape \(2, 3\)"):
        gg.lstm_cell(x, (h, gg.zeros(2, 3)), gg.zeros(16, 3), gg.zeros(16, 4))
    with pytest.raises(gg.DTypeError, match="gru_cell: expected all tensors of one dtype"):
        gg.gru_cell(x, h, gg.zeros(12, 3, dtype=gg.float64), gg.zeros(12, 4))


# ---------------------------------------------------------------- on the "cuda" device

cuda_usable = gg.cuda.is_available() or gg.backend.simulating_cuda()
needs_cuda = pytest.mark.skipif(not cuda_usable, reason="needs a GPU or the CUDA simulator")


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_cells_on_the_cuda_device_match_the_cpu(dtype):
    rng = np.random.default_rng(12)
    lstm = _cell_arrays(rng, 3, 4, 5, 4)
    lstm.insert(2, rng.standard_normal((3, 5)))
    gru = _cell_arrays(rng, 3, 4, 5, 3)
    u = rng.standard_normal((3, 5))
    results = []
    for device in ("cpu", "cuda"):
        a = [_t(v, dtype, device=device) for v in lstm]
        b = [_t(v, dtype, device=device) for v in gru]
        h, c = gg.lstm_cell(a[0], (a[1], a[2]), *a[3:])
        y = gg.gru_cell(*b)
        uu = gg.tensor(u, dtype=dtype, device=device)
        ((h * uu).sum() + (c * c).sum() + (y * uu).sum()).backward()
        results.append([t.detach().cpu().numpy() for t in (h, c, y)] + [t.grad.cpu().numpy() for t in a + b])
    tol = 1e-5 if dtype is gg.float32 else 1e-12
    for on_cpu, on_gpu in zip(*results):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=tol, atol=tol)


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_layer_on_the_cuda_device_matches_the_cpu(reverse):
    rng = np.random.default_rng(13)
    arrays = [rng.standard_normal(s) for s in [(4, 3, 20), (3, 5), (3, 5), (20, 5)]]
    us = [rng.standard_normal(s) for s in [(4, 3, 5), (3, 5), (3, 5)]]
    results = []
    for device in ("cpu", "cuda"):
        xs = [_t(a, device=device) for a in arrays]
        outs = lstm_layer(*xs, reverse=reverse)
        sum((o * gg.tensor(u, dtype=gg.float64, device=device)).sum() for o, u in zip(outs, us)).backward()
        results.append([o.detach().cpu().numpy() for o in outs] + [x.grad.cpu().numpy() for x in xs])
    for on_cpu, on_gpu in zip(*results):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-12, atol=1e-12)
