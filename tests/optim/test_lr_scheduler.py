"""Schedulers against their closed forms and against torch.optim.lr_scheduler."""
from __future__ import annotations

import math

import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.optim import lr_scheduler as sched_mod

from . import oracle

SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.6, total_iters=4)),
]
IDS = [f"{n}-{kw}" for n, kw in SCHEDULERS]


def closed_form(name, kw, base, t):
    if name == "StepLR":
        return base * kw["gamma"] ** (t // kw["step_size"])
    if name == "ExponentialLR":
        return base * kw["gamma"] ** t
    if name == "CosineAnnealingLR":
        return oracle.cosine(base, kw.get("eta_min", 0.0), t, kw["T_max"])
    s, e, n = kw.get("start_factor", 1 / 3), kw.get("end_factor", 1.0), kw.get("total_iters", 5)
    return base * (s + (e - s) * min(t, n) / n)


def two_group_optimizer():
    return optim.SGD([{"params": [gg.zeros(1, requires_grad=True)], "lr": 0.1},
                      {"params": [gg.zeros(1, requires_grad=True)], "lr": 0.03}], lr=0.1)


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=IDS)
def test_step_follows_the_closed_form(name, kw):
    opt = two_group_optimizer()
    sched = getattr(sched_mod, name)(opt, **kw)
    horizon = 2 * kw.get("T_max", 6)  # within one cosine period the recurrence equals the closed form
    for t in range(horizon + 1):
        if t:
            sched.step()
        want = [closed_form(name, kw, b, t) for b in (0.1, 0.03)]
        assert sched.get_last_lr() == pytest.approx(want, rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        assert sched.last_epoch == t
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03]


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=IDS)
def test_step_with_epoch_jumps_to_the_closed_form(name, kw):
    opt = two_group_optimizer()
    sched = getattr(sched_mod, name)(opt, **kw)
    sched.step(4)
    assert sched.get_last_lr() == pytest.approx([closed_form(name, kw, b, 4) for b in (0.1, 0.03)], rel=1e-12)


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=IDS)
def test_state_dict_round_trip_resumes(name, kw):
    opt = two_group_optimizer()
    sched = getattr(sched_mod, name)(opt, **kw)
    for _ in range(3):
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3
    # PyTorch's resume order: build both, then load the optimizer's state (its lr) and the scheduler's.
    opt2 = two_group_optimizer()
    sched2 = getattr(sched_mod, name)(opt2, **kw)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sd)
    for _ in range(4):
        sched.step()
        sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() and sched2.last_epoch == 7


def test_scheduler_errors():
    opt = two_group_optimizer()
    with pytest.raises(ValueError, match="start_factor"):
        sched_mod.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="end_factor"):
        sched_mod.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="step_size"):
        sched_mod.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        sched_mod.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(KeyError, match="initial_lr"):
        sched_mod.StepLR(two_group_optimizer(), step_size=2, last_epoch=5)
    with pytest.raises(TypeError, match="not an Optimizer"):
        sched_mod.ExponentialLR(object(), gamma=0.5)
    with pytest.raises(ValueError, match="base_lrs"):
        sched_mod.ExponentialLR(opt, gamma=0.5).load_state_dict(
            {"last_epoch": 1, "base_lrs": [0.1], "_last_lr": [0.1]})


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=IDS)
def test_matches_torch_over_many_steps(name, kw):
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.03}], lr=0.1)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    opt = two_group_optimizer()
    sched = getattr(sched_mod, name)(opt, **kw)
    for _ in range(25):  # past T_max, total_iters and several cosine half-periods
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        topt.step()
        tsched.step()
        sched.step()
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)


@pytest.mark.torch
def test_chained_schedulers_match_torch():
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=0.1)
    ts = [torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.2, total_iters=3),
          torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.9)]
    ss = [sched_mod.LinearLR(opt, start_factor=0.2, total_iters=3), sched_mod.ExponentialLR(opt, gamma=0.9)]
    for _ in range(8):
        topt.step()
        for a, b in zip(ts, ss):
            a.step()
            b.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
    assert math.isfinite(opt.param_groups[0]["lr"])


@pytest.mark.parametrize("lib_name", ["gpugrad", "torch"])
def test_the_old_name_lrscheduler_is_a_subclass_a_library_can_derive_from(lib_name):
    lib = gg if lib_name == "gpugrad" else pytest.importorskip("torch")
    schedulers = lib.optim.lr_scheduler

    class Halving(schedulers._LRScheduler):  # skorch's and older libraries' base class
        def get_lr(self):
            return [base / 2 ** self.last_epoch for base in self.base_lrs]

    w = lib.zeros(2, requires_grad=True)
    opt = lib.optim.SGD([w], lr=1.0)
    sched = Halving(opt)
    assert issubclass(schedulers._LRScheduler, schedulers.LRScheduler) and isinstance(sched, schedulers.LRScheduler)
    lrs = []
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [0.5, 0.25, 0.125]
