"""SyncBatchNorm in one process: BatchNorm exactly when there is no one to synchronise with; its synchronised
path against BatchNorm on a batch that two identical ranks share (a stand-in all-reduce that doubles);
its input checks; convert_sync_batchnorm. Two real ranks: tests/distributed/test_sync_batchnorm.py."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.nn import sync_batchnorm
from gpugrad.nn.normalization import _BatchNorm


def _pair(cls, c, **kw):
    sync, ref = nn.SyncBatchNorm(c, dtype=gg.float64, **kw), cls(c, dtype=gg.float64, **kw)
    if ref.affine:
        rng = np.random.default_rng(3)
        w, b = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
        for m in (sync, ref):
            m.weight.data.copy_(gg.tensor(w))
            m.bias.data.copy_(gg.tensor(b))
    return sync, ref


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm2d, (2, 3, 2, 3))])
@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"affine": False, "track_running_stats": False}])
def test_without_a_process_group_it_is_batchnorm(cls, shape, kw):
    assert not dist.is_initialized()
    sync, ref = _pair(cls, shape[1], **kw)
    assert isinstance(sync, _BatchNorm) and list(sync.state_dict()) == list(ref.state_dict())
    rng = np.random.default_rng(0)
    for training in (True, True, False):
        sync.train(training)
        ref.train(training)
        x, g = rng.standard_normal(shape), rng.standard_normal(shape)
        xs, xr = gg.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)
        ys, yr = sync(xs), ref(xr)
        np.testing.assert_array_equal(ys.detach().numpy(), yr.detach().numpy())
        (ys * gg.tensor(g)).sum().backward()
        (yr * gg.tensor(g)).sum().backward()
        np.testing.assert_array_equal(xs.grad.numpy(), xr.grad.numpy())
    for name, value in ref.state_dict().items():
        np.testing.assert_array_equal(sync.state_dict()[name].numpy(), value.numpy(), err_msg=name)


@pytest.fixture
def two_identical_ranks(monkeypatch):
    """The synchronised path in one process: an all-reduce that doubles is exactly two ranks holding the same
    batch (and, by that symmetry, its backward gives this rank's gradient of both ranks' losses)."""
    def doubling_all_reduce(tensor, op=dist.ReduceOp.SUM, group=None, async_op=False):
        tensor._array *= 2

    monkeypatch.setattr(dist, "all_reduce", doubling_all_reduce)
    monkeypatch.setattr(sync_batchnorm.SyncBatchNorm, "_needs_sync", lambda self: True)


@pytest.mark.parametrize("kw", [{}, {"momentum": None}])
def test_synchronised_path_equals_batchnorm_over_both_ranks_batches(two_identical_ranks, kw):
    sync, ref = _pair(nn.BatchNorm2d, 3, **kw)
    rng = np.random.default_rng(1)
    for step in range(2):
        x = rng.standard_normal((2, 3, 2, 2)) * 4.0 + 10.0  # a large mean: the variance is computed centred
        g = rng.standard_normal(x.shape)
        xs, xr = gg.tensor(x, requires_grad=True), gg.tensor(np.concatenate([x, x]), requires_grad=True)
        ys, yr = sync(xs), ref(xr)
        np.testing.assert_allclose(ys.detach().numpy(), yr.detach().numpy()[:2], rtol=1e-12, atol=1e-12)
        (ys * gg.tensor(g)).sum().backward()
        (yr * gg.tensor(np.concatenate([g, g]))).sum().backward()
        np.testing.assert_allclose(xs.grad.numpy(), xr.grad.numpy()[:2], rtol=1e-10, atol=1e-12)
        for mine, whole in ((sync.weight, ref.weight), (sync.bias, ref.bias)):  # this rank's half of the total
            np.testing.assert_allclose(mine.grad.numpy() * 2, whole.grad.numpy(), rtol=1e-10, atol=1e-12)
            mine.grad = whole.grad = None
    np.testing.assert_allclose(sync.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(sync.running_var.numpy(), ref.running_var.numpy(), rtol=1e-12)
    assert sync.num_batches_tracked.item() == ref.num_batches_tracked.item() == 2
    sync.eval()  # eval never synchronises (the stand-in would change the result if it were called)
    ref.eval()
    x = gg.tensor(rng.standard_normal((2, 3, 2, 2)))
    np.testing.assert_allclose(sync(x).detach().numpy(), ref(x).detach().numpy(), rtol=1e-12)


def test_synchronised_path_has_first_and_second_derivatives(two_identical_ranks):
    sync = nn.SyncBatchNorm(2, dtype=gg.float64, affine=False, track_running_stats=False)
    rng = np.random.default_rng(2)
    x = gg.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    w = gg.tensor(rng.uniform(0.5, 1.5, (1, 2, 1)), requires_grad=True)
    assert gradcheck(lambda x, w: sync(x) * w, [x, w])
    assert gradgradcheck(lambda x, w: sync(x) * w, [x, w])


def test_input_checks_are_pytorchs():
    bn = nn.SyncBatchNorm(3)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        bn(gg.zeros(3))
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        nn.SyncBatchNorm(0, affine=False, track_running_stats=False)(gg.zeros(4, 0))
    with pytest.raises(ValueError):
        bn(gg.zeros(4, 2))  # channels that do not match the parameters


def test_convert_sync_batchnorm_swaps_every_batchnorm_and_keeps_its_state():
    gg.manual_seed(0)
    inner = nn.Sequential(nn.BatchNorm3d(2, momentum=None), nn.ReLU())
    model = nn.Sequential(nn.Conv2d(1, 4, 1), nn.BatchNorm2d(4, eps=1e-3, affine=False), nn.BatchNorm1d(4), inner)
    model[2].weight.requires_grad_(False)
    model[2].running_mean.fill_(0.5)
    model[2].num_batches_tracked.fill_(7)
    inner.eval()
    old = [model[1], model[2], inner[0]]
    conv = model[0]
    group = object()
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group=group)
    assert out is model and model[0] is conv and model[3] is inner and isinstance(inner[1], nn.ReLU)
    new = [model[1], model[2], inner[0]]
    for before, after in zip(old, new):
        assert type(after) is nn.SyncBatchNorm and after.process_group is group
        for attr in ("num_features", "eps", "momentum", "affine", "track_running_stats", "training"):
            assert getattr(after, attr) == getattr(before, attr), attr
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            assert getattr(after, name) is getattr(before, name), name  # shared, as PyTorch's assignment
    assert model[1].weight is None and not model[2].weight.requires_grad and model[2].bias.requires_grad
    assert not inner[0].training and model[2].training
    lone = nn.BatchNorm1d(3)
    swapped = nn.SyncBatchNorm.convert_sync_batchnorm(lone)
    assert type(swapped) is nn.SyncBatchNorm and swapped is not lone and swapped.process_group is None
    assert swapped.weight is lone.weight


@pytest.mark.torch
def test_convert_sync_batchnorm_gives_pytorchs_structure_and_state_dict():
    import torch

    def build(m):
        return m.Sequential(m.Linear(3, 4), m.BatchNorm1d(4), m.Sequential(m.BatchNorm2d(4, affine=False)),
                            m.BatchNorm3d(4, track_running_stats=False))

    ours = nn.SyncBatchNorm.convert_sync_batchnorm(build(nn))
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(build(torch.nn))
    assert [(n, type(m).__name__) for n, m in ours.named_modules()] == [
        (n, type(m).__name__) for n, m in theirs.named_modules()]
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert repr(ours) == repr(theirs)
