"""Numerical edge cases: the stable ops at +-1e4 and around float32's exp overflow (+-88.7), in float32 and
float64, against float64 references written with NumPy's stable primitives (logaddexp, log1p, tanh);
``where`` with NaN/inf in the branch not taken (equal to PyTorch's gradient, NaN included); division by
zero as NumPy; ``detect_anomaly`` naming the op in forward and in backward."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F

DTYPES = [gg.float32, gg.float64]
EXTREMES = np.array([-1e4, -1e3, -89.0, -88.72, -88.0, -87.0, -20.0, -1.0, 0.0, 1.0, 20.0, 87.0, 88.0, 88.72, 89.0, 1e3, 1e4])
# Tolerances for the value and the gradient: relative to float rounding of the dtype.
TOL = {gg.float32: {"rtol": 2e-6, "atol": 1e-6}, gg.float64: {"rtol": 1e-13, "atol": 1e-13}}


def as_input(values, dtype):
    """(the tensor, its values as float64 after rounding to ``dtype``: the reference's input)."""
    x = gg.tensor(np.asarray(values, dtype=dtype.np), requires_grad=True)
    return x, np.asarray(values, dtype=dtype.np).astype(np.float64)


def cotangent(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def sigmoid_ref(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # never exp of a large number


def rows():
    """Rows of logits mixing extreme and ordinary values; each row is a hard case for softmax."""
    e = EXTREMES
    return np.stack([e, e[::-1], np.roll(e, 5), np.full_like(e, -1e4), np.full_like(e, 88.72), np.where(e > 0, e, -e)])


def check(out, ref, grad, grad_ref, dtype):
    out_np, g_np = out.detach().numpy(), grad.numpy()
    assert out_np.dtype == dtype.np and g_np.dtype == dtype.np
    assert np.isfinite(out_np).all(), out_np
    assert np.isfinite(g_np).all(), g_np
    # Values scale with the inputs (up to 1e4), so the absolute tolerance scales too.
    tol = TOL[dtype]
    np.testing.assert_allclose(out_np, ref, rtol=tol["rtol"], atol=tol["atol"] * max(1.0, np.abs(ref).max() * tol["rtol"] / tol["atol"]))
    np.testing.assert_allclose(g_np, grad_ref, rtol=10 * tol["rtol"], atol=10 * tol["atol"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1])
def test_log_softmax(dtype, dim):
    x, xr = as_input(rows(), dtype)
    y = F.log_softmax(x, dim=dim)
    g = cotangent(xr.shape)
    y.backward(gg.tensor(g, dtype=dtype))
    ref = xr - np.logaddexp.reduce(xr, axis=dim, keepdims=True)
    grad_ref = g - np.exp(ref) * g.sum(axis=dim, keepdims=True)
    check(y, ref, x.grad, grad_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, (0, 1)])
def test_logsumexp(dtype, dim):
    x, xr = as_input(rows(), dtype)
    y = x.logsumexp(dim=dim)
    ref = np.logaddexp.reduce(xr.reshape(-1) if dim == (0, 1) else xr, axis=None if dim == (0, 1) else dim)
    g = cotangent(np.shape(ref), seed=1)
    y.backward(gg.tensor(g, dtype=dtype))
    p = np.exp(xr - np.logaddexp.reduce(xr.reshape(-1) if dim == (0, 1) else xr, axis=None if dim == (0, 1) else dim, keepdims=dim != (0, 1)))
    grad_ref = p * (g if dim == (0, 1) else np.expand_dims(g, dim))
    if dtype is gg.float32:
        # PyTorch's backward, exp(x - y), reads the rounded output y: at |y| = 1e4 float32's spacing is
        # 1e-3, so the gradient is only good to |y| * eps relative. Compare with that bound (PyTorch's
        # own gradient is off by the same amount; see the torch test below).
        y_np = y.detach().numpy().astype(np.float64)
        bound = np.abs(y_np).max() * np.finfo(np.float32).eps * 2
        np.testing.assert_allclose(x.grad.numpy(), grad_ref, rtol=bound, atol=1e-6)
        x.grad = gg.tensor(grad_ref, dtype=dtype)  # the value check below then sees an exact gradient
    check(y, ref, x.grad, grad_ref, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_gradient_equals_pytorchs_at_the_extremes(dtype):
    torch = pytest.importorskip("torch")
    x, xr = as_input(rows(), dtype)
    tx = torch.tensor(xr, dtype=getattr(torch, dtype.name), requires_grad=True)
    g = cotangent((xr.shape[0],), seed=6)
    x.logsumexp(dim=1).backward(gg.tensor(g, dtype=dtype))
    tx.logsumexp(dim=1).backward(torch.tensor(g, dtype=tx.dtype))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=4 * np.finfo(dtype.np).eps, atol=1e-30)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(dtype, smoothing, reduction):
    x, xr = as_input(rows(), dtype)
    n, c = xr.shape
    target = np.arange(n) * 3 % c  # hits the largest, the smallest and the middle logits
    loss = F.cross_entropy(x, gg.tensor(target), reduction=reduction, label_smoothing=smoothing)
    logp = xr - np.logaddexp.reduce(xr, axis=1, keepdims=True)
    rows_ref = (1 - smoothing) * -logp[np.arange(n), target] + smoothing / c * -logp.sum(axis=1)
    ref = {"mean": rows_ref.mean(), "sum": rows_ref.sum(), "none": rows_ref}[reduction]
    g = cotangent(np.shape(ref), seed=2)
    loss.backward(gg.tensor(g, dtype=dtype))
    onehot = np.eye(c)[target]
    d_rows = (1 - smoothing) * (np.exp(logp) - onehot) + smoothing / c * (c * np.exp(logp) - 1)
    scale = g / n if reduction == "mean" else (g if reduction == "sum" else g[:, None])
    check(loss, ref, x.grad, d_rows * scale, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_and_sigmoid(dtype):
    x, xr = as_input(EXTREMES, dtype)
    g = cotangent(xr.shape, seed=3)
    sp = F.softplus(x)
    sp.backward(gg.tensor(g, dtype=dtype))
    # PyTorch's softplus is x itself above threshold 20 (beta=1): the reference follows that definition.
    ref = np.where(xr > 20, xr, np.logaddexp(0.0, xr))
    check(sp, ref, x.grad, g * np.where(xr > 20, 1.0, sigmoid_ref(xr)), dtype)

    x.grad = None
    s = x.sigmoid()
    s.backward(gg.tensor(g, dtype=dtype))
    sr = sigmoid_ref(xr)
    check(s, sr, x.grad, g * sr * (1 - sr), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta,threshold", [(2.0, 20.0), (0.5, 10.0)])
def test_softplus_with_beta_and_threshold(dtype, beta, threshold):
    x, xr = as_input(EXTREMES, dtype)
    g = cotangent(xr.shape, seed=4)
    y = F.softplus(x, beta=beta, threshold=threshold)
    y.backward(gg.tensor(g, dtype=dtype))
    lin = xr * beta > threshold
    ref = np.where(lin, xr, np.logaddexp(0.0, beta * xr) / beta)
    check(y, ref, x.grad, g * np.where(lin, 1.0, sigmoid_ref(beta * xr)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_weights", [False, True])
def test_bce_with_logits(dtype, with_weights):
    x, xr = as_input(np.tile(EXTREMES, (3, 1)), dtype)
    t = np.array([0.0, 0.3, 1.0])[:, None] * np.ones_like(xr)
    kw = {}
    w = pw = 1.0
    if with_weights:
        w = np.linspace(0.5, 2.0, xr.shape[1])
        pw = np.linspace(3.0, 0.25, xr.shape[1])
        kw = {"weight": gg.tensor(w, dtype=dtype), "pos_weight": gg.tensor(pw, dtype=dtype)}
    loss = F.binary_cross_entropy_with_logits(x, gg.tensor(t, dtype=dtype), reduction="sum", **kw)
    loss.backward()
    # -[pw t log s(x) + (1 - t) log(1 - s(x))] w, with log s(x) = -softplus(-x) and log(1 - s(x)) = -softplus(x)
    ref = ((pw * t * np.logaddexp(0.0, -xr) + (1 - t) * np.logaddexp(0.0, xr)) * w).sum()
    s = sigmoid_ref(xr)
    grad_ref = (-pw * t * (1 - s) + (1 - t) * s) * w
    check(loss, ref, x.grad, grad_ref, dtype)


# where() with NaN / inf in the branch not taken ----------------------------------------------------
WHERE_CASES = {
    "log_at_zero_and_negative": lambda m, x: m.where(x > 0, x.log(), m.zeros_like(x)),
    "sqrt_of_negative": lambda m, x: m.where(x >= 0, x.sqrt(), -x),
    "reciprocal_at_zero": lambda m, x: m.where(x != 0, 1.0 / x, m.zeros_like(x)),
    "exp_overflow": lambda m, x: m.where(x < 100, x.exp(), x),
    "masked_input_first": lambda m, x: m.where(x > 0, m.where(x > 0, x, m.ones_like(x)).log(), m.zeros_like(x)),
    "nan_constant_branch": lambda m, x: m.where(x > 0, x * 2, m.full_like(x, float("nan"))),
    "inf_scalar_branch": lambda m, x: m.where(x > 0, x * x, float("inf")),
}


class _Torch:
    def __init__(self, torch):
        self.t = torch

    def __getattr__(self, name):
        return getattr(self.t, name)

    def where(self, c, a, b):
        if not isinstance(b, self.t.Tensor):
            b = self.t.full_like(a, b)
        return self.t.where(c, a, b)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(WHERE_CASES))
def test_where_gradient_equals_pytorchs(name):
    torch = pytest.importorskip("torch")
    values = np.array([-2.0, -0.0, 0.0, 0.5, 3.0, 150.0, 1000.0])
    fn = WHERE_CASES[name]
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    g = cotangent(values.shape, seed=5)
    with np.errstate(all="ignore"):
        y = fn(gg, x)
        y.backward(gg.tensor(g, dtype=gg.float64))
    ty = fn(_Torch(torch), tx)
    ty.backward(torch.tensor(g))
    # Within an ulp: PyTorch's AVX512 float64 sqrt is not correctly rounded (sqrt(0.5) one ulp low), NumPy's is.
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-15, atol=0)
    # NaN where PyTorch has NaN (0 * inf), exact zeros where it has zeros.
    np.testing.assert_array_equal(np.isnan(x.grad.numpy()), np.isnan(tx.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15, atol=0)


def test_where_with_nan_in_branch_not_taken_at_the_documented_point():
    # PyTorch: where(x > 0, x.log(), 0) at x = 0 gives a NaN gradient (0 * inf); x < 0 gives NaN too
    # (0 * (1/x) is -0 there... but log(x) is NaN only in forward, its derivative 1/x is finite).
    x = gg.tensor([0.0, -1.0, 2.0], dtype=gg.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        gg.where(x > 0, x.log(), gg.zeros(3, dtype=gg.float64)).sum().backward()
    grad = x.grad.numpy()
    assert np.isnan(grad[0]) and grad[1] == 0.0 and grad[2] == 0.5


# Division by zero ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_division_by_zero_follows_numpy(dtype):
    a_np = np.array([1.0, -1.0, 0.0, 2.0], dtype=dtype.np)
    b_np = np.array([0.0, 0.0, 0.0, -0.0], dtype=dtype.np)
    a = gg.tensor(a_np, requires_grad=True)
    b = gg.tensor(b_np, requires_grad=True)
    with np.errstate(all="ignore"):
        expected = a_np / b_np
        ga_ref = 1.0 / b_np
        gb_ref = -a_np / (b_np * b_np)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own divide warnings are allowed, errors are not
        y = a / b
        y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    np.testing.assert_array_equal(a.grad.numpy(), ga_ref)
    np.testing.assert_array_equal(b.grad.numpy(), gb_ref)
    # Integer tensors divide as floats (true division), so 1 / 0 is inf, not an exception.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = gg.tensor([1, 0, -3]) / 0
    assert q.dtype is gg.float32
    np.testing.assert_array_equal(np.isinf(q.numpy()), [True, False, True])
    assert np.isnan(q.numpy()[1])


# detect_anomaly ------------------------------------------------------------------------------------
def test_anomaly_mode_leaves_forward_values_alone_as_pytorchs():
    # PyTorch's anomaly mode checks backward results only: log(0) in a where() branch not taken, or
    # 1 / 0 in a forward, is no anomaly (where's backward then makes 0 / 0: that one raises, as PyTorch's)
    x = gg.tensor([0.0, 2.0], requires_grad=True)
    with gg.autograd.detect_anomaly(), np.errstate(all="ignore"):
        y = gg.where(x > 0, x.log(), 0.0)
        assert np.isinf((1.0 / (x - x)).detach().numpy()).all()
    np.testing.assert_allclose(y.detach().numpy(), [0.0, np.log(2.0)], rtol=1e-6)


def test_anomaly_mode_lets_an_inf_gradient_through_that_a_relu_masks():
    # e3nn's norm: sqrt's gradient at 0 is inf, times relu's 0 is 0 in PyTorch (and here)
    x = gg.zeros(3, requires_grad=True)
    with gg.autograd.set_detect_anomaly(True), np.errstate(all="ignore"):
        (grad,) = gg.autograd.grad((x * x).relu().sqrt().sum(), x)
    np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "make,op",
    [
        (lambda x: x.sqrt() * 0.0, "Sqrt"),  # 0 / (2 sqrt(0)) in sqrt's backward
        (lambda x: (x * x).sqrt(), "Mul"),  # sqrt gives inf at 0, mul's backward makes it 0 * inf
        (lambda x: (x.exp() + x.abs().sqrt() * 2.0).mean(), "Abs"),  # abs's backward: sign(0) * inf
    ],
)
def test_anomaly_names_the_backward_op_that_made_a_nan_and_where_it_was_created(make, op):
    x = gg.tensor([0.0, 4.0], dtype=gg.float64, requires_grad=True)
    with gg.autograd.detect_anomaly(), np.errstate(all="ignore"):
        y = make(x)
        assert np.isfinite(y.detach().numpy()).all()
        with pytest.warns(UserWarning, match="Error detected in"), pytest.raises(
                RuntimeError, match=rf"Function '{op}Backward' returned nan values in its 0th output.*test_numerics_edge\.py"):
            y.sum().backward()
    assert x.grad is None  # the failed backward accumulated nothing


def test_anomaly_mode_raises_where_pytorchs_raises():
    torch = pytest.importorskip("torch")
    cases = [lambda lib, x: (x * x).relu().sqrt(), lambda lib, x: (x * x).sqrt(), lambda lib, x: x.sqrt() * 0.0,
             lambda lib, x: lib.where(x > 0, x.log(), lib.zeros_like(x))]
    for make in cases:
        outcomes = []
        for lib in (gg, torch):
            x = lib.tensor([0.0, 4.0], dtype=lib.float64, requires_grad=True)
            with lib.autograd.detect_anomaly(), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    make(lib, x).sum().backward()
                    outcomes.append("ok")
                except RuntimeError:
                    outcomes.append("raised")
        assert outcomes[0] == outcomes[1]


def test_without_anomaly_mode_nothing_is_checked():
    x = gg.tensor([0.0], requires_grad=True)
    with np.errstate(all="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])
