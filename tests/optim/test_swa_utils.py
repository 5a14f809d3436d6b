"""optim.swa_utils: AveragedModel (SWA and EMA), update_bn, SWALR and the averaging functions, against
closed forms and against torch.optim.swa_utils."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.optim import swa_utils


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


def _train_step(model, opt, x):
    opt.zero_grad()
    model(x).pow(2).sum().backward()
    opt.step()


def _params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_averaged_model_is_the_mean_of_the_snapshots():
    gg.manual_seed(0)
    model = _model()
    swa = swa_utils.AveragedModel(model)
    assert swa.module is not model and swa.module[0].weight is not model[0].weight  # a deep copy
    assert list(swa.state_dict())[:2] == ["n_averaged", "module.0.weight"]
    assert swa.n_averaged.dtype == gg.int64 and int(swa.n_averaged) == 0
    opt = optim.SGD(model.parameters(), lr=0.1)
    snapshots = []
    for _ in range(3):
        _train_step(model, opt, gg.randn(5, 3))
        swa.update_parameters(model)
        snapshots.append(_params(model))
    assert int(swa.n_averaged) == 3
    for avg, *snaps in zip(swa.module.parameters(), *snapshots):
        np.testing.assert_allclose(avg.detach().numpy(), np.mean(snaps, axis=0), rtol=1e-5, atol=1e-7)
    # Buffers are not averaged by default: they follow the model.
    np.testing.assert_array_equal(swa.module[1].running_mean.numpy(), model[1].running_mean.numpy())
    x = gg.randn(2, 3)
    model.eval()
    swa.eval()
    np.testing.assert_allclose(swa(x).detach().numpy(), swa.module(x).detach().numpy())


def test_averaged_model_avg_fn_multi_avg_fn_and_buffers():
    gg.manual_seed(1)
    model = _model()
    decay = 0.8
    ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
    ema_single = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(decay))
    opt = optim.SGD(model.parameters(), lr=0.1)
    expected = None
    for _ in range(3):
        _train_step(model, opt, gg.randn(5, 3))
        ema.update_parameters(model)
        ema_single.update_parameters(model)
        current = [t.detach().numpy().copy() for t in list(model.parameters()) + list(model.buffers())]
        if expected is None:
            expected = current
        else:  # an integer buffer (num_batches_tracked) is averaged too, truncated back to its dtype
            expected = [(decay * e + (1 - decay) * c).astype(c.dtype) for e, c in zip(expected, current)]
    got = [t.detach().numpy() for t in list(ema.module.parameters()) + list(ema.module.buffers())]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    n_params = len(list(model.parameters()))
    for g, e in zip(ema_single.module.parameters(), expected[:n_params]):
        np.testing.assert_allclose(g.detach().numpy(), e, rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn(), multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="Invalid decay value"):
            swa_utils.get_ema_avg_fn(bad)
        with pytest.raises(ValueError, match="Invalid decay value"):
            swa_utils.get_ema_multi_avg_fn(bad)


def test_swa_functions_closed_forms():
    avg, cur = gg.tensor([1.0, 2.0]), gg.tensor([4.0, 8.0])
    np.testing.assert_allclose(swa_utils.get_swa_avg_fn()(avg, cur, 2).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(swa_utils.get_ema_avg_fn(0.5)(avg, cur, 0).numpy(), [2.5, 5.0])
    a = [gg.tensor([1.0, 2.0]), gg.tensor([3], dtype=gg.int64)]
    swa_utils.get_swa_multi_avg_fn()(a[:1], [cur], gg.tensor(2))
    np.testing.assert_allclose(a[0].numpy(), [2.0, 4.0])
    swa_utils.get_swa_multi_avg_fn()(a[1:], [gg.tensor([7], dtype=gg.int64)], 1)
    assert a[1].dtype == gg.int64 and a[1].tolist() == [5]


def test_update_bn_recomputes_the_statistics_and_restores_the_model():
    gg.manual_seed(2)
    model = _model()
    model.eval()
    batches = [gg.randn(8, 3) for _ in range(3)]
    swa_utils.update_bn([(b, gg.zeros(8)) for b in batches], model)  # (input, target) pairs: input taken
    assert not model.training and model[1].momentum == 0.1
    feats = np.concatenate([model[0](b).detach().numpy() for b in batches])
    # momentum None: a cumulative average of the per-batch means (equal batches: the overall mean).
    np.testing.assert_allclose(model[1].running_mean.numpy(), feats.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert int(model[1].num_batches_tracked) == 3
    plain = nn.Linear(2, 2)
    swa_utils.update_bn([gg.randn(2, 2)], plain)  # no BatchNorm: nothing happens


def _sgd(lrs):
    return optim.SGD([{"params": [gg.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs])


def _swalr_closed_form(lr0, swa_lr, anneal_epochs, strategy, steps):
    ramp = (lambda t: t) if strategy == "linear" else (lambda t: (1 - math.cos(math.pi * t)) / 2)
    out = []
    for step in range(steps):
        t = 1.0 if anneal_epochs == 0 else min(1.0, step / anneal_epochs)
        alpha = ramp(t)
        out.append(swa_lr * alpha + lr0 * (1 - alpha))
    return out


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 4])
def test_swalr_anneals_to_swa_lr(strategy, anneal_epochs):
    opt = _sgd([0.5, 0.2])
    sched = swa_utils.SWALR(opt, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    seen = [[g["lr"] for g in opt.param_groups]]
    for _ in range(6):
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr())
    assert [g["swa_lr"] for g in opt.param_groups] == [0.05, 0.01]
    for k, (lr0, swa_lr) in enumerate(((0.5, 0.05), (0.2, 0.01))):
        # The constructor's step is step 0: with anneal_epochs 0 it already lands on swa_lr.
        expected = _swalr_closed_form(lr0, swa_lr, anneal_epochs, strategy, 7)
        np.testing.assert_allclose([s[k] for s in seen], expected, rtol=1e-12)


def test_swalr_errors_and_state_dict():
    opt = _sgd([0.5, 0.2])
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(opt, 0.05, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(opt, 0.05, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr"):
        swa_utils.SWALR(opt, [0.05])
    sched = swa_utils.SWALR(opt, 0.05, anneal_epochs=3, anneal_strategy="linear")
    sched.step()
    state = sched.state_dict()
    assert "anneal_func" not in state and "optimizer" not in state and state["_anneal_strategy"] == "linear"
    other = swa_utils.SWALR(_sgd([0.5, 0.2]), 0.05, anneal_strategy="cos")
    other.load_state_dict(state)
    assert other.anneal_func(0.5) == 0.5 and other._step_count == sched._step_count
    assert optim.swa_utils is swa_utils


# against PyTorch ----------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("kind", ["swa", "ema", "swa_buffers"])
def test_averaged_model_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as tsw

    rng = np.random.default_rng(4)
    ours = _model().double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1)).double()
    with gg.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.copy_(gg.tensor(q.detach().numpy()))
    kwargs = {"swa": ({}, {}), "ema": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.9)},
                                      {"multi_avg_fn": tsw.get_ema_multi_avg_fn(0.9)}),
              "swa_buffers": ({"use_buffers": True}, {"use_buffers": True})}[kind]
    avg_a, avg_b = swa_utils.AveragedModel(ours, **kwargs[0]), tsw.AveragedModel(theirs, **kwargs[1])
    assert list(avg_a.state_dict()) == list(avg_b.state_dict())
    opt_a, opt_b = optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        x = rng.standard_normal((5, 3))
        opt_a.zero_grad()
        opt_b.zero_grad()
        ours(gg.tensor(x)).pow(2).sum().backward()
        theirs(torch.tensor(x)).pow(2).sum().backward()
        opt_a.step()
        opt_b.step()
        avg_a.update_parameters(ours)
        avg_b.update_parameters(theirs)
    sd_a, sd_b = avg_a.state_dict(), avg_b.state_dict()
    for key in sd_b:
        np.testing.assert_allclose(sd_a[key].numpy(), sd_b[key].numpy(), rtol=1e-10, atol=1e-12, err_msg=key)
    loader = [torch.tensor(rng.standard_normal((6, 3))) for _ in range(2)]
    swa_utils.update_bn([gg.tensor(b.numpy()) for b in loader], avg_a)
    tsw.update_bn(loader, avg_b)
    np.testing.assert_allclose(avg_a.module[1].running_var.numpy(), avg_b.module[1].running_var.numpy(), rtol=1e-10)


@pytest.mark.torch
def test_swalr_matches_pytorch():
    torch = pytest.importorskip("torch")
    for strategy, anneal_epochs, swa_lr in (("cos", 3, 0.05), ("linear", 0, [0.05, 0.02]), ("linear", 5, 0.1)):
        ours = swa_utils.SWALR(_sgd([0.5, 0.2]), swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
        topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in (0.5, 0.2)])
        theirs = torch.optim.swa_utils.SWALR(topt, swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
        got, want = [ours.get_last_lr()], [theirs.get_last_lr()]
        for _ in range(7):
            ours.optimizer.step()
            topt.step()
            ours.step()
            theirs.step()
            got.append(ours.get_last_lr())
            want.append(theirs.get_last_lr())
        np.testing.assert_allclose(got, want, rtol=1e-12)
