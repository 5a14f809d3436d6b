"""Normalisation: F.group_norm, F.instance_norm, F.local_response_norm and their modules, BatchNorm3d,
LayerNorm's and BatchNorm's options. NumPy references and float64 gradcheck/gradgradcheck always run;
values, gradients and running statistics against PyTorch are torch-marked."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck


def _t(a, grad=False):
    return gg.tensor(np.asarray(a, dtype=np.float64), dtype=gg.float64, requires_grad=grad)


# NumPy references ------------------------------------------------------------------------------------


def _ref_group_norm(x, g, w, b, eps):
    n, c = x.shape[:2]
    grouped = x.reshape(n, g, -1)
    out = (grouped - grouped.mean(axis=2, keepdims=True)) / np.sqrt(grouped.var(axis=2, keepdims=True) + eps)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return out.reshape(x.shape) * w.reshape(shape) + b.reshape(shape)


def _ref_lrn(x, size, alpha, beta, k):
    c = x.shape[1]
    out = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        out[:, ch] = x[:, ch] / (k + alpha / size * (x[:, lo:hi] ** 2).sum(axis=1)) ** beta
    return out


def test_group_norm_matches_numpy(rng):
    x = rng.normal(size=(3, 6, 5, 3)) * 3 + 1
    w, b = rng.normal(size=6), rng.normal(size=6)
    got = F.group_norm(_t(x), 3, _t(w), _t(b), eps=1e-3).numpy()
    np.testing.assert_allclose(got, _ref_group_norm(x, 3, w, b, 1e-3), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm_matches_numpy(rng, size):
    x = rng.normal(size=(2, 5, 3, 2))
    got = F.local_response_norm(_t(x), size, alpha=0.3, beta=0.6, k=1.5).numpy()
    np.testing.assert_allclose(got, _ref_lrn(x, size, 0.3, 0.6, 1.5), rtol=1e-12)


def test_instance_norm_normalises_each_sample_channel(rng):
    x = rng.normal(size=(3, 2, 7)) * 4 - 2
    out = F.instance_norm(_t(x)).numpy()
    np.testing.assert_allclose(out.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=2), 1, rtol=1e-4)  # eps=1e-5 against variances of ~16


def test_instance_norm_running_stats_by_hand(rng):
    x = rng.normal(size=(4, 3, 5))
    rm, rv = _t(np.full(3, 0.5)), _t(np.full(3, 2.0))
    F.instance_norm(_t(x), rm, rv, momentum=0.25)
    per_mean = x.mean(axis=2).mean(axis=0)
    per_var = x.var(axis=2, ddof=1).mean(axis=0)
    np.testing.assert_allclose(rm.numpy(), 0.75 * 0.5 + 0.25 * per_mean, rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.75 * 2.0 + 0.25 * per_var, rtol=1e-12)
    # use_input_stats=False normalises with the running statistics and leaves them alone.
    out = F.instance_norm(_t(x), rm, rv, use_input_stats=False, eps=0.0).numpy()
    np.testing.assert_allclose(out, (x - rm.numpy()[:, None]) / np.sqrt(rv.numpy()[:, None]), rtol=1e-12)


GRAD_CASES = [
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [(3, 4, 5), (4,), (4,)]),
    ("group_norm_4d", lambda x, w, b: F.group_norm(x, 3, w, b, eps=1e-2), [(2, 3, 3, 2), (3,), (3,)]),
    ("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)]),
    ("instance_norm_3d", lambda x: F.instance_norm(x, eps=1e-2), [(2, 1, 2, 3, 2)]),
    ("local_response_norm", lambda x: F.local_response_norm(x, 3, alpha=0.5, beta=0.7, k=1.2), [(2, 5, 3)]),
    ("rms_norm", lambda x, w: F.rms_norm(x, (2, 3), w, eps=1e-3), [(3, 2, 3), (2, 3)]),
    ("local_response_norm_4d", lambda x: F.local_response_norm(x, 2, alpha=0.4), [(1, 3, 2, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_float64(name, fn, shapes, rng):
    inputs = [_t(rng.normal(size=s), grad=True) for s in shapes]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_modules_compute_the_functional_forms(rng):
    x = _t(rng.normal(size=(2, 6, 3)))
    gn = nn.GroupNorm(3, 6, eps=1e-3).double()
    inorm = nn.InstanceNorm1d(6, affine=True).double()
    with gg.no_grad():
        for p in list(gn.parameters()) + list(inorm.parameters()):
            p.copy_(_t(rng.normal(size=tuple(p.shape))))
    np.testing.assert_array_equal(gn(x).detach().numpy(), F.group_norm(x, 3, gn.weight, gn.bias, 1e-3).detach().numpy())
    np.testing.assert_array_equal(inorm(x).detach().numpy(), F.instance_norm(x, weight=inorm.weight, bias=inorm.bias).detach().numpy())
    np.testing.assert_array_equal(nn.LocalResponseNorm(3, 0.1, 0.5, 2.0)(x).numpy(), F.local_response_norm(x, 3, 0.1, 0.5, 2.0).numpy())


def test_rms_norm_matches_numpy(rng):
    x, w = rng.normal(size=(4, 3, 5)), rng.normal(size=5)
    got = F.rms_norm(_t(x), 5, _t(w)).numpy()
    want = x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + np.finfo(np.float64).eps) * w
    np.testing.assert_allclose(got, want, rtol=1e-12)
    m = nn.RMSNorm([3, 5], eps=0.5, elementwise_affine=False)
    want = x / np.sqrt((x**2).mean(axis=(1, 2), keepdims=True) + 0.5)
    np.testing.assert_allclose(m(gg.tensor(x)).numpy(), want, rtol=1e-6)
    assert list(m.state_dict()) == [] and list(nn.RMSNorm(4).state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"rms_norm: given normalized_shape=\[4\]"):
        F.rms_norm(gg.randn(3, 5), 4)


# Errors ----------------------------------------------------------------------------------------------


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="GroupNorm.*divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="group_norm.*divisible by num_groups.*num_groups=4"):
        F.group_norm(gg.randn(2, 6, 3), 4)
    with pytest.raises(RuntimeError, match="group_norm.*at least 2 dimensions"):
        F.group_norm(gg.randn(6), 3)
    with pytest.raises(RuntimeError, match=r"group_norm.*weight.*size 6"):
        F.group_norm(gg.randn(2, 6, 3), 3, weight=gg.ones(3))
    with pytest.raises(ValueError, match="instance_norm.*more than 1 spatial element"):
        F.instance_norm(gg.randn(3, 2, 1))
    with pytest.raises(ValueError, match="instance_norm.*running_mean and running_var"):
        F.instance_norm(gg.randn(3, 2, 4), use_input_stats=False)
    with pytest.raises(ValueError, match=r"InstanceNorm2d.*3D or 4D"):
        nn.InstanceNorm2d(3)(gg.randn(3, 4))
    with pytest.raises(ValueError, match="InstanceNorm1d.*num_features"):
        nn.InstanceNorm1d(3, affine=True)(gg.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(gg.randn(2, 4, 5))
    with pytest.raises(ValueError, match="local_response_norm.*3D or higher"):
        F.local_response_norm(gg.randn(2, 3), 2)
    with pytest.raises(ValueError, match="BatchNorm3d.*5D"):
        nn.BatchNorm3d(3)(gg.randn(2, 3, 4, 4))


# Modules ---------------------------------------------------------------------------------------------


def test_module_defaults_and_state_dict_keys():
    inorm = nn.InstanceNorm2d(3)
    assert (inorm.affine, inorm.track_running_stats) == (False, False)
    assert list(inorm.state_dict()) == []
    tracked = nn.InstanceNorm3d(3, affine=True, track_running_stats=True)
    assert list(tracked.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.GroupNorm(2, 4, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert list(nn.BatchNorm3d(2, bias=False).state_dict()) == ["weight", "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.LocalResponseNorm(2).state_dict()) == []
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert repr(inorm) == "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"


def test_instance_norm_unbatched_equals_batch_of_one(rng):
    x = rng.normal(size=(3, 4, 5))
    m = nn.InstanceNorm2d(3, affine=True).double()
    np.testing.assert_allclose(m(_t(x)).detach().numpy(), m(_t(x[None])).detach().numpy()[0], rtol=1e-12)


def test_instance_norm_eval_uses_running_stats_when_tracked(rng):
    m = nn.InstanceNorm1d(2, track_running_stats=True).double()
    for _ in range(3):
        m(_t(rng.normal(size=(4, 2, 6)) * 2 + 1))
    m.eval()
    x = rng.normal(size=(2, 2, 6))
    want = (x - m.running_mean.numpy()[:, None]) / np.sqrt(m.running_var.numpy()[:, None] + 1e-5)
    np.testing.assert_allclose(m(_t(x)).numpy(), want, rtol=1e-12)
    # Without tracked statistics eval still uses the input's own.
    plain = nn.InstanceNorm1d(2).double().eval()
    np.testing.assert_allclose(plain(_t(x)).numpy(), F.instance_norm(_t(x)).numpy(), rtol=1e-12)


def test_batchnorm_momentum_none_is_cumulative_average(rng):
    bn = nn.BatchNorm1d(2, momentum=None).double()
    batches = [rng.normal(size=(5, 2)) * (i + 1) for i in range(3)]
    for b in batches:
        bn(_t(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 3


# Against PyTorch ---------------------------------------------------------------------------------------


def _compare(torch, ours, theirs, x, rtol=1e-10):
    xt = torch.tensor(x, requires_grad=True)
    xg = _t(x, grad=True)
    out_g, out_t = ours(xg), theirs(xt)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=rtol, atol=1e-12)
    cot = np.random.default_rng(7).normal(size=out_t.shape)
    out_g.backward(_t(cot))
    out_t.backward(torch.tensor(cot))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("shape,groups", [((3, 6, 5), 3), ((2, 6, 3, 5), 2), ((2, 5, 3, 2, 3), 5), ((4, 3), 1)])
def test_group_norm_against_torch(rng, shape, groups):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=shape)
    c = shape[1]
    w, b = rng.normal(size=c), rng.normal(size=c)
    _compare(torch, lambda t: F.group_norm(t, groups, _t(w), _t(b)),
             lambda t: torch.nn.functional.group_norm(t, groups, torch.tensor(w), torch.tensor(b)), x)


@pytest.mark.torch
@pytest.mark.parametrize("shape,size", [((2, 5, 7), 3), ((2, 4, 3, 3), 4), ((1, 6, 2, 2, 3), 5), ((2, 3, 4), 1)])
def test_local_response_norm_against_torch(rng, shape, size):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=shape)
    _compare(torch, lambda t: F.local_response_norm(t, size, 0.2, 0.8, 2.0),
             lambda t: torch.nn.functional.local_response_norm(t, size, 0.2, 0.8, 2.0), x)


@pytest.mark.torch
@pytest.mark.parametrize("kind,shape", [(1, (3, 2, 5)), (1, (2, 7)), (2, (2, 3, 3, 5)), (2, (3, 4, 3)), (3, (2, 2, 3, 2, 3))])
@pytest.mark.parametrize("momentum", [0.3, None])
def test_instance_norm_modules_against_torch(rng, kind, shape, momentum):
    torch = pytest.importorskip("torch")
    c = shape[-kind - 1]
    ours = getattr(nn, f"InstanceNorm{kind}d")(c, affine=True, track_running_stats=True, momentum=momentum).double()
    theirs = getattr(torch.nn, f"InstanceNorm{kind}d")(c, affine=True, track_running_stats=True, momentum=momentum).double()
    w, b = rng.normal(size=c), rng.normal(size=c)
    with gg.no_grad():
        ours.weight.copy_(_t(w))
        ours.bias.copy_(_t(b))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    for _ in range(3):  # a few training steps move the running statistics
        _compare(torch, ours, theirs, rng.normal(size=shape) * 2 + 0.5)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval()
    theirs.eval()
    _compare(torch, ours, theirs, rng.normal(size=shape))


@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.2, None])
def test_batchnorm3d_against_torch(rng, momentum):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm3d(3, momentum=momentum).double()
    theirs = torch.nn.BatchNorm3d(3, momentum=momentum).double()
    for _ in range(3):
        _compare(torch, ours, theirs, rng.normal(size=(2, 3, 2, 3, 2)) * 3 - 1)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-10)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 3
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval()
    theirs.eval()
    _compare(torch, ours, theirs, rng.normal(size=(2, 3, 1, 2, 2)))


@pytest.mark.torch
def test_group_norm_and_layer_norm_modules_against_torch(rng):
    torch = pytest.importorskip("torch")
    for ours, theirs, shape in [
        (nn.GroupNorm(2, 6, eps=1e-3), torch.nn.GroupNorm(2, 6, eps=1e-3), (3, 6, 5)),
        (nn.GroupNorm(3, 3, affine=False), torch.nn.GroupNorm(3, 3, affine=False), (2, 3, 4)),
        (nn.LayerNorm((3, 4), bias=False), torch.nn.LayerNorm((3, 4), bias=False), (2, 3, 4)),
        (nn.LayerNorm(5, elementwise_affine=False), torch.nn.LayerNorm(5, elementwise_affine=False), (3, 5)),
        (nn.RMSNorm((2, 5), eps=1e-4), torch.nn.RMSNorm((2, 5), eps=1e-4), (3, 2, 5)),
        (nn.RMSNorm(4), torch.nn.RMSNorm(4), (3, 4)),
    ]:
        ours.double()
        theirs.double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
        with gg.no_grad():
            for p in ours.parameters():
                p.copy_(_t(rng.normal(size=tuple(p.shape))))
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        _compare(torch, ours, theirs, rng.normal(size=shape))
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, err_msg=name)


def test_one_value_per_channel_is_refused_in_pytorchs_words():
    torch = pytest.importorskip("torch")
    cases = [(F.batch_norm, torch.nn.functional.batch_norm, (None, None), {"training": True}),
             (F.group_norm, torch.nn.functional.group_norm, (16,), {})]
    for ours, theirs, args, kwargs in cases:
        with pytest.raises(ValueError) as expected:
            theirs(torch.ones(1, 16), *args, **kwargs)
        with pytest.raises(ValueError) as got:
            ours(gg.ones(1, 16), *args, **kwargs)
        assert str(expected.value) in str(got.value)
