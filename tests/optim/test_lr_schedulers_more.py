"""LambdaLR ... ChainedScheduler: known values, state_dict round trips and PyTorch's lr sequences."""
from __future__ import annotations

import math
import warnings

import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.optim import lr_scheduler as S


def sgd(lib, lrs=(0.1, 0.03), momentum=0.9):
    zeros = (lambda: lib.zeros(1, requires_grad=True))
    return lib.optim.SGD([{"params": [zeros()], "lr": lr} for lr in lrs], lr=lrs[0], momentum=momentum)


def adam(lib, lrs=(0.1, 0.03)):
    return lib.optim.Adam([{"params": [lib.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], lr=lrs[0])


class Halve:
    """A callable object: its attributes travel in state_dict (plain functions do not)."""

    def __init__(self):
        self.rate = 0.5

    def __call__(self, epoch):
        return self.rate ** epoch


# (name, kwargs builder, optimizer builder, steps); builders take the library so torch can share them.
CASES = [
    ("LambdaLR", lambda lib: dict(lr_lambda=lambda e: 1.0 / (1 + e)), sgd, 8),
    ("LambdaLR", lambda lib: dict(lr_lambda=[lambda e: 0.9**e, lambda e: 1 + e]), sgd, 6),
    ("MultiplicativeLR", lambda lib: dict(lr_lambda=lambda e: 0.8), sgd, 8),
    ("MultiStepLR", lambda lib: dict(milestones=[2, 5, 5], gamma=0.5), sgd, 9),
    ("ConstantLR", lambda lib: dict(factor=0.25, total_iters=3), sgd, 7),
    ("PolynomialLR", lambda lib: dict(total_iters=5, power=2.0), sgd, 8),
    ("CyclicLR", lambda lib: dict(base_lr=0.01, max_lr=0.1, step_size_up=3), sgd, 14),
    ("CyclicLR", lambda lib: dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=2, step_size_down=3,
                                  mode="triangular2"), sgd, 16),
    ("CyclicLR", lambda lib: dict(base_lr=0.01, max_lr=0.1, step_size_up=2, mode="exp_range", gamma=0.9), adam, 12),
    ("CyclicLR", lambda lib: dict(base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False), sgd, 9),
    ("OneCycleLR", lambda lib: dict(max_lr=0.5, total_steps=10), sgd, 9),
    ("OneCycleLR", lambda lib: dict(max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=4, anneal_strategy="linear",
                                    three_phase=True), adam, 11),
    ("CosineAnnealingWarmRestarts", lambda lib: dict(T_0=3, eta_min=0.001), sgd, 10),
    ("CosineAnnealingWarmRestarts", lambda lib: dict(T_0=2, T_mult=2), sgd, 16),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def test_known_values():
    opt = sgd(gg)
    sched = S.MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    seen = [sched.get_last_lr()[0]]
    for _ in range(4):
        sched.step()
        seen.append(sched.get_last_lr()[0])
    assert seen == pytest.approx([0.1, 0.01, 0.01, 0.001, 0.001])
    opt = sgd(gg)
    sched = S.PolynomialLR(opt, total_iters=4, power=2.0)
    for t in range(1, 7):
        sched.step()
        assert sched.get_last_lr()[1] == pytest.approx(0.03 * (1 - min(t, 4) / 4) ** 2, abs=1e-15)
    opt = sgd(gg, lrs=(0.1,))
    sched = S.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=2)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(5):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 0.5])
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.85)  # mid-cycle: halfway from 0.9 to 0.8


def test_one_cycle_and_warm_restarts_closed_forms():
    opt = sgd(gg, lrs=(0.1,))
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.5, anneal_strategy="linear")
    assert sched.get_last_lr()[0] == pytest.approx(1.0 / 25)
    for _ in range(4):
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(1.0)  # end of warm-up: step pct_start * total - 1
    for _ in range(5):
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(1.0 / 25 / 1e4)  # the last step, total_steps - 1
    with pytest.raises(ValueError, match="total_steps"):
        sched.step()
        sched.step()
    opt = sgd(gg, lrs=(0.2,))
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=4, eta_min=0.0)
    for t in range(1, 9):
        sched.step()
        assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * (t % 4) / 4)), abs=1e-15)
    sched.step(2.5)
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * 2.5 / 4)))


def test_reduce_on_plateau_waits_for_patience_and_cooldown():
    opt = sgd(gg)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=[0.0, 0.02])
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    got = []
    for m in metrics:
        sched.step(m)
        got.append(sched.get_last_lr())
    # bad epochs at 3 and 4 (> patience 1) reduce; one cooldown epoch; then two more bad ones reduce again.
    assert [g[0] for g in got] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])
    assert [g[1] for g in got][-1] == 0.02  # floored at min_lr
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="up")


def test_sequential_and_chained_known_values():
    opt = sgd(gg, lrs=(1.0,))
    warm = S.ConstantLR(opt, factor=0.5, total_iters=10)
    decay = S.ExponentialLR(opt, gamma=0.5)
    sched = S.SequentialLR(opt, schedulers=[warm, decay], milestones=[2])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(4):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.5, 0.5, 1.0, 0.5, 0.25])
    opt = sgd(gg, lrs=(1.0,))
    sched = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.5)])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(3):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.5, 0.25, 0.25, 0.125])
    other = sgd(gg)
    with pytest.raises(ValueError, match="same optimizer"):
        S.ChainedScheduler([S.ExponentialLR(opt, gamma=0.5), S.ExponentialLR(other, gamma=0.5)])
    with pytest.raises(ValueError, match="milestone"):
        S.SequentialLR(opt, schedulers=[S.ExponentialLR(opt, gamma=0.5)], milestones=[1])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])


def test_argument_errors():
    opt = sgd(gg)
    with pytest.raises(ValueError, match="lr_lambdas"):
        S.LambdaLR(opt, lr_lambda=[lambda e: 1.0])
    with pytest.raises(TypeError, match="function"):
        S.MultiplicativeLR(opt, lr_lambda=0.5)
    with pytest.raises(ValueError, match="factor"):
        S.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="base_lr"):
        S.CyclicLR(opt, base_lr=[0.1], max_lr=1.0)
    with pytest.raises(ValueError, match="momentum"):
        S.CyclicLR(optim.Adagrad([gg.zeros(1, requires_grad=True)]), base_lr=0.1, max_lr=1.0)
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)


@pytest.mark.parametrize("name,kw,make_opt,steps", CASES, ids=IDS)
def test_state_dict_round_trip_resumes(name, kw, make_opt, steps):
    opt = make_opt(gg)
    sched = getattr(S, name)(opt, **kw(gg))
    for _ in range(3):
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3
    opt2 = make_opt(gg)
    sched2 = getattr(S, name)(opt2, **kw(gg))
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sd)
    for _ in range(steps - 3):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert momenta(opt2) == momenta(opt)


def test_lambda_state_dict_keeps_callable_objects_only():
    opt = sgd(gg)
    fn = Halve()
    sched = S.LambdaLR(opt, lr_lambda=[fn, lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    sd["lr_lambdas"][0]["rate"] = 0.25
    sched.load_state_dict(sd)
    assert fn.rate == 0.25


def test_composite_state_dict_round_trip():
    def build():
        opt = sgd(gg, lrs=(1.0,))
        return S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.2, total_iters=3),
                                    S.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)], milestones=[3]), opt
    a, opt_a = build()
    for _ in range(4):
        a.step()
    b, opt_b = build()
    opt_b.load_state_dict(opt_a.state_dict())
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        a.step()
        b.step()
        assert b.get_last_lr() == a.get_last_lr()


@pytest.mark.torch
@pytest.mark.parametrize("name,kw,make_opt,steps", CASES, ids=IDS)
def test_matches_torch(name, kw, make_opt, steps):
    torch = pytest.importorskip("torch")
    topt, opt = make_opt(torch), make_opt(gg)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw(torch))
    sched = getattr(S, name)(opt, **kw(gg))
    for _ in range(steps):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        assert momenta(opt) == pytest.approx(momenta(topt), rel=1e-12)
        topt.step()
        tsched.step()
        sched.step()
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
    assert momenta(opt) == pytest.approx(momenta(topt), rel=1e-12)


@pytest.mark.torch
def test_plateau_sequential_chained_match_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib, mod in ((torch, torch.optim.lr_scheduler), (gg, S)):
        opt = sgd(lib)
        plateau = mod.ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=2, threshold=0.1,
                                        threshold_mode="abs", cooldown=1)
        lrs = []
        for m in [1.0, 1.05, 1.2, 1.25, 1.1, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0]:
            plateau.step(m)
            lrs.append(plateau.get_last_lr())
        opt = sgd(lib)
        seq = mod.SequentialLR(opt, [mod.ConstantLR(opt, factor=0.5, total_iters=5),
                                     mod.CosineAnnealingLR(opt, T_max=4),
                                     mod.ExponentialLR(opt, gamma=0.8)], milestones=[3, 6])
        opt2 = sgd(lib)
        chain = mod.ChainedScheduler([mod.LinearLR(opt2, start_factor=0.25, total_iters=3),
                                      mod.MultiStepLR(opt2, milestones=[2, 4], gamma=0.5)])
        for _ in range(10):
            opt.step()
            opt2.step()
            seq.step()
            chain.step()
            lrs.append(seq.get_last_lr() + chain.get_last_lr())
        results.append(lrs)
    for ours, theirs in zip(results[1], results[0]):
        assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", [("LambdaLR", dict(lr_lambda=lambda e: 0.5 ** e)),
                                     ("MultiStepLR", dict(milestones=[2, 4], gamma=0.5)),
                                     ("ConstantLR", dict(factor=0.5, total_iters=3)),
                                     ("PolynomialLR", dict(total_iters=6, power=0.5)),
                                     ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3))])
def test_step_with_an_epoch_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    topt, opt = sgd(torch), sgd(gg)
    tsched, sched = getattr(torch.optim.lr_scheduler, name)(topt, **kw), getattr(S, name)(opt, **kw)
    for epoch in (3, 5, 1, 4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's deprecation warning for step(epoch)
            tsched.step(epoch)
        sched.step(epoch)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


def test_plateau_takes_a_tensor_metric():
    opt = sgd(gg)
    sched = S.ReduceLROnPlateau(opt, patience=0)
    sched.step(gg.tensor(1.0))
    sched.step(gg.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.003])


def _reductions_seen_by_a_replaced_reduce_lr(lib, mod):
    # Libraries replace the scheduler's _reduce_lr(epoch) with their own (ignite's plateau handler does).
    sched = mod.ReduceLROnPlateau(sgd(lib), patience=0)
    seen = []
    sched._reduce_lr = seen.append
    for m in [1.0, 2.0, 3.0, 0.5, 4.0]:
        sched.step(m)
    return seen


def test_reduce_on_plateau_hands_the_epoch_to_reduce_lr():
    assert _reductions_seen_by_a_replaced_reduce_lr(gg, S) == [2, 3, 5]


@pytest.mark.torch
def test_pytorch_hands_the_same_epochs_to_reduce_lr():
    torch = pytest.importorskip("torch")
    assert _reductions_seen_by_a_replaced_reduce_lr(torch, torch.optim.lr_scheduler) == [2, 3, 5]
