"""F.linear_cross_entropy, nn.LinearCrossEntropyLoss and nn.LinearCrossEntropyOptions (PyTorch 2.13's): the
chunked form against the plain one and finite differences, its chunk sizes, its one-backward rule, its
fallbacks and errors; PyTorch where it is installed."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck
from gpugrad.kernels import softmax_xent

N, D, C = 23, 6, 40  # odd sizes: the last chunk is short


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _case(rng, dtype=np.float64, ignored=(3, 10)):
    x = rng.standard_normal((N, D)).astype(dtype)
    w = (rng.standard_normal((C, D)) * 0.4).astype(dtype)
    b = (rng.standard_normal(C) * 0.1).astype(dtype)
    t = rng.integers(0, C, N)
    t[list(ignored)] = -100
    cw = rng.uniform(0.5, 2.0, C).astype(dtype)
    return x, w, b, t, cw


def _run(x, w, b, t, cw, reduction, options, up=None):
    """(loss, x.grad, w.grad, b.grad) as arrays; the upstream gradient ``up`` (ones by default)."""
    X, W = gg.tensor(x, requires_grad=True), gg.tensor(w, requires_grad=True)
    B = None if b is None else gg.tensor(b, requires_grad=True)
    loss = F.linear_cross_entropy(X, W, gg.tensor(t), linear_bias=B, weight=None if cw is None else gg.tensor(cw),
                                  reduction=reduction, options=options)
    loss.backward(gg.ones(*loss.shape, dtype=loss.dtype) if up is None else gg.tensor(up))
    return [loss.detach().numpy()] + [None if p is None else p.grad.numpy() for p in (X, W, B)]


OPTIONS = [nn.LinearCrossEntropyOptions(), nn.LinearCrossEntropyOptions(batch_chunk_size=5),
           nn.LinearCrossEntropyOptions(batch_chunk_size=1, chunking_method=None)]


@pytest.mark.parametrize("options", OPTIONS, ids=["auto", "chunks-of-5", "rows"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_bias, with_class_weight", [(True, True), (False, False)])
def test_chunked_equals_the_plain_form(rng, options, reduction, with_bias, with_class_weight):
    x, w, b, t, cw = _case(rng)
    b, cw = (b if with_bias else None), (cw if with_class_weight else None)
    up = rng.standard_normal(N) if reduction == "none" else np.array(0.7)
    got = _run(x, w, b, t, cw, reduction, options, up)
    want = _run(x, w, b, t, cw, reduction, None, up)
    for g, e in zip(got, want):
        if e is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_chunked_gradients_against_finite_differences(rng, reduction):
    x, w, b, t, cw = _case(rng)
    t_, cw_ = gg.tensor(t), gg.tensor(cw)
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=4)
    inputs = [gg.tensor(a, requires_grad=True) for a in (x[:9], w, b)]

    def f(x, w, b):
        return F.linear_cross_entropy(x, w, t_[:9], linear_bias=b, weight=cw_, reduction=reduction, options=options)

    assert f(*inputs).grad_fn.op_name == "linear_cross_entropy"
    assert gradcheck(f, inputs)


def test_chunks_hold_at_most_the_chunk_rows(rng, monkeypatch):
    """The (N, C) logits are never whole: each kernel call sees one chunk's rows."""
    seen = []
    real = softmax_xent.softmax_cross_entropy
    monkeypatch.setattr(softmax_xent, "softmax_cross_entropy", lambda xp, logits, *a, **k: (seen.append(logits.shape), real(xp, logits, *a, **k))[1])
    x, w, b, t, cw = _case(rng)
    _run(x, w, b, t, cw, "mean", nn.LinearCrossEntropyOptions(batch_chunk_size=5))
    assert seen == [(5, C)] * 4 + [(3, C)]


@pytest.mark.parametrize("rows, in_features, classes, options, expected", [
    (4096, 256, 32000, {}, 32),                        # aspect_ratio:2: ceil(4096 / 125) = 33 -> 64, halved
    (4096, 256, 32000, {"chunking_method": "aspect_ratio"}, 64),
    (4096, 256, 32000, {"chunking_method": "aspect_ratio:8"}, 8),
    (10, 64, 16, {}, 8),                                # 10 rows -> 16, halved
    (100, 8, 40, {"batch_chunk_size": 7}, 7),           # an explicit size turns "auto" off
    (5, 8, 40, {"batch_chunk_size": 7}, 5),
    (100, 8, 40, {"chunking_method": None}, 100),       # no method, no size: one chunk
])
def test_chunk_rows_as_pytorch_resolves_them(rows, in_features, classes, options, expected):
    got = nn.LinearCrossEntropyOptions(**options).chunk_rows(rows, in_features, classes, "cpu", gg.float32)
    assert got == expected


@pytest.mark.torch
def test_the_chunk_rows_of_pytorch(torch):
    for rows, in_features, classes in [(4096, 256, 32000), (10, 64, 16), (999, 32, 1000), (3, 100, 7), (64, 7, 64)]:
        for options in ({}, {"chunking_method": "aspect_ratio"}, {"chunking_method": "aspect_ratio:3"},
                        {"batch_chunk_size": 2}, {"chunking_method": None}):
            theirs = torch.nn.LinearCrossEntropyOptions(**options)._adjust(rows, in_features, classes, torch.float32,
                                                                           torch.device("cpu"))
            ours = nn.LinearCrossEntropyOptions(**options).chunk_rows(rows, in_features, classes, "cpu", gg.float32)
            assert ours == theirs.batch_chunk_size, (rows, in_features, classes, options)


def test_one_backward_unless_the_graph_may_be_retained(rng):
    x, w, b, t, cw = _case(rng)
    X, W = gg.tensor(x, requires_grad=True), gg.tensor(w, requires_grad=True)
    loss = F.linear_cross_entropy(X, W, gg.tensor(t), options=nn.LinearCrossEntropyOptions())
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="linear_cross_entropy.*allow_retain_graph=True"):
        loss.backward()
    first = X.grad.numpy().copy()
    X.grad = None
    loss = F.linear_cross_entropy(X, W, gg.tensor(t), options=nn.LinearCrossEntropyOptions(allow_retain_graph=True))
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(X.grad.numpy(), 2 * first, rtol=1e-12)
    # reduction="none" makes its gradients in backward: any number of backwards
    X.grad = None
    rows = F.linear_cross_entropy(X, W, gg.tensor(t), reduction="none", options=nn.LinearCrossEntropyOptions())
    rows.sum().backward(retain_graph=True)
    rows.sum().backward()
    assert X.grad is not None


def test_no_higher_derivatives_on_the_chunked_path(rng):
    x, w, b, t, cw = _case(rng)
    X, W = gg.tensor(x, requires_grad=True), gg.tensor(w, requires_grad=True)
    loss = F.linear_cross_entropy(X, W, gg.tensor(t), options=nn.LinearCrossEntropyOptions())
    with pytest.raises(RuntimeError, match="options=None"):
        gg.grad(loss, X, create_graph=True)
    loss = F.linear_cross_entropy(X, W, gg.tensor(t))  # the plain form has them
    (gx,) = gg.grad(loss, X, create_graph=True)
    assert gx.requires_grad


def test_every_row_ignored_is_nan_with_zero_gradients(rng):
    x, w, b, t, cw = _case(rng, ignored=range(N))
    loss, gx, gw, gb = _run(x, w, b, t, None, "mean", nn.LinearCrossEntropyOptions(batch_chunk_size=4))
    assert np.isnan(loss)
    assert not gx.any() and not gw.any() and not gb.any()


def test_no_gradients_asked_for(rng):
    x, w, b, t, cw = _case(rng)
    with gg.no_grad():
        loss = F.linear_cross_entropy(gg.tensor(x), gg.tensor(w), gg.tensor(t), options=nn.LinearCrossEntropyOptions())
    want = F.linear_cross_entropy(gg.tensor(x), gg.tensor(w), gg.tensor(t))
    np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-12)
    frozen = gg.tensor(w, requires_grad=True)
    X = gg.tensor(x)
    F.linear_cross_entropy(X, frozen, gg.tensor(t), options=nn.LinearCrossEntropyOptions()).backward()
    assert X.grad is None and frozen.grad.shape == (C, D)


def test_unbatched_input(rng):
    x, w, b, t, cw = _case(rng)
    for reduction in ("mean", "none"):
        got = F.linear_cross_entropy(gg.tensor(x[0]), gg.tensor(w), gg.tensor(t[0]), reduction=reduction,
                                     options=nn.LinearCrossEntropyOptions())
        want = F.cross_entropy(gg.tensor(x[:1] @ w.T), gg.tensor(t[:1]), reduction=reduction)
        assert got.shape == ()
        np.testing.assert_allclose(got.numpy(), want.numpy().reshape(()), rtol=1e-12)


def test_options_outside_the_chunked_form_warn_and_are_ignored(rng):
    x, w, b, t, cw = _case(rng)
    X, W, T = gg.tensor(x), gg.tensor(w), gg.tensor(t)
    with pytest.warns(UserWarning, match="options.*ignored"):
        got = F.linear_cross_entropy(X, W, T, label_smoothing=0.1, options=nn.LinearCrossEntropyOptions())
    np.testing.assert_allclose(got.numpy(), F.cross_entropy(X @ W.mT, T, label_smoothing=0.1).numpy(), rtol=1e-12)
    probabilities = F.softmax(gg.tensor(rng.standard_normal((N, C))), dim=1)
    with pytest.warns(UserWarning, match="options.*ignored"):
        F.linear_cross_entropy(X, W, probabilities, options=nn.LinearCrossEntropyOptions())


def test_k_dimensional_loss(rng):
    x = gg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    w = gg.tensor(rng.standard_normal((3, 2, 5)), requires_grad=True)  # C=3, out_features=(2,)
    b = gg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    t = gg.tensor(rng.integers(0, 3, (4, 2)))
    got = F.linear_cross_entropy(x, w, t, linear_bias=b)
    logits = (x @ w.reshape(6, 5).mT + b.reshape(6)).reshape(4, 3, 2)
    np.testing.assert_allclose(got.detach().numpy(), F.cross_entropy(logits, t).detach().numpy(), rtol=1e-12)
    assert gradcheck(lambda x, w, b: F.linear_cross_entropy(x, w, t, linear_bias=b), [x, w, b])


def test_errors_name_the_function_and_shapes(rng):
    x, w, t = gg.randn(4, 5), gg.randn(3, 5), gg.tensor([0, 1, 2, 0])
    cases = [
        (lambda: F.linear_cross_entropy(gg.randn(2, 4, 5), w, t), "dimensionality 1 or 2"),
        (lambda: F.linear_cross_entropy(x, gg.randn(5), t), "linear_weight with dimensionality at least 2"),
        (lambda: F.linear_cross_entropy(x, gg.randn(3, 6), t), "in_features.*5 and 6"),
        (lambda: F.linear_cross_entropy(x, w, t, linear_bias=gg.randn(4)), r"linear_bias shape \(3,\)"),
        (lambda: F.linear_cross_entropy(gg.randn(5), gg.randn(3, 2, 5), t), "requires batched input"),
        (lambda: F.linear_cross_entropy(x, w, gg.randn(4, 3), ignore_index=1), "ignore_index cannot be specified"),
        (lambda: F.linear_cross_entropy(x, w, gg.tensor([0, 1, 7, 0]), options=nn.LinearCrossEntropyOptions()),
         "linear_cross_entropy.*7"),
        (lambda: F.linear_cross_entropy(x, gg.randn(3, 5, dtype=gg.float64), t, options=nn.LinearCrossEntropyOptions()),
         "linear_cross_entropy.*float64"),
    ]
    for call, match in cases:
        with pytest.raises((RuntimeError, ValueError, IndexError), match=match):
            call()


@pytest.mark.parametrize("kwargs, match", [
    (dict(acc_policy="fast"), "acc_policy"),
    (dict(chunking_method="square"), "chunking_method"),
    (dict(chunking_method="aspect_ratio:0"), "chunking_method"),
    (dict(batch_chunk_size=0), "batch_chunk_size"),
    (dict(acc_dtype=gg.int32), "acc_dtype"),
])
def test_options_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.LinearCrossEntropyOptions(**kwargs)
    with pytest.raises(ValueError, match="different chunk sizes"):
        nn.LinearCrossEntropyOptions(batch_chunk_size=3, chunking_method="aspect_ratio").chunk_rows(100, 8, 40, "cpu",
                                                                                                   gg.float32)


def test_loss_module_with_k_dimensional_out_features(rng):
    gg.manual_seed(0)
    loss = nn.LinearCrossEntropyLoss(5, 3, out_features=(2,), bias=True)
    assert tuple(loss.linear.weight.shape) == (6, 5) and tuple(loss.linear.bias.shape) == (6,)
    x, t = gg.randn(4, 5), gg.tensor(rng.integers(0, 3, (4, 2)))
    logits = loss.linear(x).reshape(4, 3, 2)
    np.testing.assert_allclose(loss(x, t).item(), F.cross_entropy(logits, t).item(), rtol=1e-6)
    with pytest.raises(ValueError, match="weight shape"):
        nn.LinearCrossEntropyLoss(5, 3, weight=gg.ones(4))


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunked", [False, True])
def test_against_pytorch(torch, rng, reduction, chunked):
    x, w, b, t, cw = _case(rng, np.float32)
    ours = _run(x, w, b, t, cw, reduction, nn.LinearCrossEntropyOptions() if chunked else None)
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    loss = torch.nn.functional.linear_cross_entropy(
        X, W, torch.tensor(t), linear_bias=B, weight=torch.tensor(cw), reduction=reduction,
        options=torch.nn.LinearCrossEntropyOptions() if chunked else None)
    loss.backward(torch.ones_like(loss))
    for got, want in zip(ours, [loss.detach().numpy(), X.grad.numpy(), W.grad.numpy(), B.grad.numpy()]):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


@pytest.mark.torch
def test_loss_module_against_pytorch(torch, rng):
    theirs = torch.nn.LinearCrossEntropyLoss(5, 3, out_features=(2,), bias=True)
    ours = nn.LinearCrossEntropyLoss(5, 3, out_features=(2,), bias=True)
    ours.load_state_dict({k: gg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x, t = rng.standard_normal((4, 5)).astype(np.float32), rng.integers(0, 3, (4, 2))
    np.testing.assert_allclose(ours(gg.tensor(x), gg.tensor(t)).item(),
                               theirs(torch.tensor(x), torch.tensor(t)).item(), rtol=1e-6)


def test_the_plain_form_where_chunks_do_not_compute(rng):
    """bfloat16 (every op in float32, rounded) and class weights that need a gradient take the plain form."""
    x, w, b, t, cw = _case(rng, np.float32)
    options = nn.LinearCrossEntropyOptions()
    X, W = gg.tensor(x).bfloat16(), gg.tensor(w).bfloat16()
    got = F.linear_cross_entropy(X, W, gg.tensor(t), options=options)
    assert got.dtype == gg.bfloat16 and got.grad_fn is None
    np.testing.assert_allclose(got.float().item(), F.linear_cross_entropy(X, W, gg.tensor(t)).float().item())
    class_weight = gg.tensor(cw, requires_grad=True)
    F.linear_cross_entropy(gg.tensor(x), gg.tensor(w), gg.tensor(t), weight=class_weight, options=options).backward()
    assert class_weight.grad is not None
