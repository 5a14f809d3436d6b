"""Adam / AdamW with capturable=True (issue 17): the step counts and a Tensor lr stay on the device, the
step reads nothing back, and N capturable steps equal N plain ones; schedulers fill a Tensor lr in place."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, optim
from gpugrad.kernels import _cuda
from gpugrad.kernels import optim as kernels_optim
from gpugrad.optim import flat
from gpugrad.optim import lr_scheduler as S

from .helpers import grad

SIM = backend.simulating_cuda()
usable = gg.cuda.is_available() or SIM


def on_device(fn):
    """Runs on the "cuda" device: a GPU (marked cuda) or the simulator (marked cudasim)."""
    fn = pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1")(fn)
    return (pytest.mark.cudasim if SIM else pytest.mark.cuda)(fn)


SHAPES = [(3, 5), (7,), (), (1,)]


def host(t):
    return t.detach().cpu().numpy()


def run(cls, device="cuda", dtype=gg.float32, steps=4, fused=True, lr=0.01, sched=None, skip=((1, 1),), **kw):
    """`steps` steps from fixed starts; parameter i has no gradient at step t for (t, i) in skip."""
    rng = np.random.default_rng(0)
    params = [gg.tensor(rng.standard_normal(s), dtype=dtype, device=device, requires_grad=True) for s in SHAPES]
    opt = cls(params, lr=lr, fused=fused, **kw)
    scheduler = sched(opt) if sched else None
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = None if (t, i) in skip else gg.tensor(grad(t, i, host(p)), dtype=dtype, device=device)
        opt.step()
        if scheduler:
            scheduler.step()
    return params, opt


def assert_same(a_params, a_opt, b_params, b_opt, exact=SIM):
    check = np.testing.assert_array_equal if exact else (
        lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6 if x.dtype == np.float32 else 1e-12, atol=1e-9))
    for p, q in zip(a_params, b_params):
        check(host(p), host(q))
        sa, sb = a_opt.state.get(p, {}), b_opt.state.get(q, {})
        assert sa.keys() == sb.keys()
        for k in sa:
            if k == "step":
                assert float(sa[k]) == float(sb[k])
            else:
                check(host(sa[k]), host(sb[k]))


CONFIGS = [
    (optim.Adam, dict()),
    (optim.Adam, dict(weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, dict(weight_decay=0.1, maximize=True)),
    (optim.AdamW, dict(amsgrad=True, betas=(0.8, 0.9), eps=1e-6)),
]
IDS = [f"{c.__name__}-{kw}" for c, kw in CONFIGS]


@on_device
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "per-parameter"])
@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_capturable_steps_equal_plain_steps(cls, kw, fused, dtype):
    """Bitwise in the simulator (both kernels' scalar code runs as Python); on a GPU the bias corrections
    come from CUDA's pow instead of the host's, which may differ in the last bit before the cast."""
    lr = gg.tensor(0.01, device="cuda") if cls is optim.AdamW else 0.01  # both kinds of lr
    plain_lr = float(np.float32(0.01)) if cls is optim.AdamW else 0.01
    got = run(cls, dtype=dtype, fused=fused, lr=lr, capturable=True, **kw)
    want = run(cls, dtype=dtype, fused=fused, lr=plain_lr, **kw)
    assert_same(*got, *want)


@on_device
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "per-parameter"])
def test_step_counts_are_device_tensors_updated_in_place(fused):
    params, opt = run(optim.Adam, fused=fused, capturable=True, steps=3)
    steps = [opt.state[p]["step"] for p in params]
    arrays = [s._array for s in steps]
    for s in steps:
        assert s.shape == () and s.dtype == gg.float32 and s.device == gg.device("cuda:0")
    assert [float(s) for s in steps] == [3.0, 2.0, 3.0, 3.0]  # parameter 1 had no gradient once
    for p in params:
        p.grad = gg.ones_like(p)
    opt.step()
    # The same tensors and memory, advanced: what a captured graph reads and writes.
    assert all(opt.state[p]["step"] is s for p, s in zip(params, steps))
    assert all(s._array is a for s, a in zip(steps, arrays))
    assert [float(s) for s in steps] == [4.0, 3.0, 4.0, 4.0]


class Guarded(np.ndarray):
    """A NumPy array (the simulated device's) that refuses to become a host value while ARMED."""

    armed = False

    def _refuse(self):
        if Guarded.armed:
            raise AssertionError("a device value was read on the host inside step()")

    def __float__(self):
        self._refuse()
        return float(np.asarray(self))

    def __int__(self):
        self._refuse()
        return int(np.asarray(self))

    def __index__(self):
        self._refuse()
        return np.asarray(self).__index__()

    def __bool__(self):
        self._refuse()
        return bool(np.asarray(self))

    def item(self, *args):
        self._refuse()
        return np.asarray(self).item(*args)

    def tolist(self):
        self._refuse()
        return np.asarray(self).tolist()


def _refuse(*args, **kwargs):
    raise AssertionError("a device-to-host copy inside step()")


@pytest.mark.skipif(not SIM, reason="guards the simulated device's NumPy arrays")
@pytest.mark.cudasim
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "per-parameter"])
def test_step_reads_nothing_back_from_the_device(monkeypatch, fused):
    """With every host read refused while step() runs (the backend's to_numpy, the kernels' to_host,
    and float/int/item/bool on every flat buffer, step count and the lr), steps still run: the first
    (state made), one with a parameter missing its gradient, and ones after a scheduler changed the lr."""
    real_full, real_empty = flat.full, flat.empty
    monkeypatch.setattr(flat, "full", lambda *a: real_full(*a).view(Guarded))
    monkeypatch.setattr(flat, "empty", lambda *a: real_empty(*a).view(Guarded))
    rng = np.random.default_rng(0)  # run()'s starts
    dev = backend.get("cuda")
    params = [gg.tensor(rng.standard_normal(s), dtype=gg.float32, device="cuda", requires_grad=True) for s in SHAPES]
    lr = gg.Tensor._make(np.array(0.01, np.float32).view(Guarded), dev)
    opt = optim.AdamW(params, lr=lr, amsgrad=True, capturable=True, fused=fused)
    sched = S.ExponentialLR(opt, gamma=0.5)
    want_params, want_opt = run(optim.AdamW, fused=fused, lr=float(np.float32(0.01)), amsgrad=True, steps=3,
                                sched=lambda o: S.ExponentialLR(o, gamma=0.5), skip=((1, 2),))
    for t in range(3):
        for i, p in enumerate(params):
            p.grad = None if (t, i) == (1, 2) else gg.tensor(grad(t, i, host(p)), dtype=gg.float32, device="cuda")
        with monkeypatch.context() as m:
            m.setattr(backend.Backend, "to_numpy", _refuse)
            m.setattr(_cuda, "to_host", _refuse)
            m.setattr(kernels_optim, "to_host", _refuse)
            Guarded.armed = True
            try:
                opt.step()
            finally:
                Guarded.armed = False
        sched.step()
    assert isinstance(opt.state[params[0]]["step"]._array, Guarded) or not fused
    assert_same(params, opt, want_params, want_opt, exact=True)


def test_the_guard_catches_a_host_read():
    """The guard above can fail: a read of a guarded array while armed raises."""
    a = np.zeros((), np.float32).view(Guarded)
    Guarded.armed = True
    try:
        with pytest.raises(AssertionError, match="read on the host"):
            float(a)
        with pytest.raises(AssertionError, match="read on the host"):
            a[...].item()
    finally:
        Guarded.armed = False
    assert float(a) == 0.0


def _address(a):
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


@on_device
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "per-parameter"])
def test_launches_repeat_with_the_same_arguments(monkeypatch, fused):
    """Steps 2 and 3 (a scheduler changed the Tensor lr between them) call the kernel with the same
    arrays at the same addresses and the same scalars: a graph captured on one replays the next."""
    calls = []
    real = kernels_optim.adam_capturable

    def record(xp, *arrays, **kw):
        calls.append((arrays, kw))
        return real(xp, *arrays, **kw)

    monkeypatch.setattr(kernels_optim, "adam_capturable", record)
    lr = gg.tensor(0.01, device="cuda")
    params = [gg.zeros(s, device="cuda", requires_grad=True) for s in SHAPES]
    opt = optim.Adam(params, lr=lr, capturable=True, fused=fused)
    sched = S.StepLR(opt, step_size=1, gamma=0.1)
    for t in range(3):
        for i, p in enumerate(params):
            g = gg.tensor(grad(t, i, host(p)), dtype=gg.float32, device="cuda")
            if p.grad is None:
                p.grad = g
            else:  # as a captured backward writes it: into the same gradient memory
                p.grad._array[...] = g._array
        opt.step()
        sched.step()
    per_step = len(calls) // 3
    assert per_step == (1 if fused else len(SHAPES))
    for (a2, k2), (a3, k3) in zip(calls[per_step : 2 * per_step], calls[2 * per_step :]):
        for x, y in zip(a2 + (k2["steps"], k2["lr"]), a3 + (k3["steps"], k3["lr"])):
            assert (x is None and y is None) or _address(x) == _address(y)
        assert {k: v for k, v in k2.items() if k not in ("steps", "lr")} == \
               {k: v for k, v in k3.items() if k not in ("steps", "lr")}
    assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(1e-5)


@on_device
def test_tensor_lr_scheduled_in_place_matches_a_float_lr():
    """A scheduler fills the group's lr Tensor in place (the same object throughout) and the
    capturable step sees each new value: the same run as a float lr."""
    lr = gg.tensor(0.05, dtype=gg.float64, device="cuda")
    sched = lambda o: S.CosineAnnealingLR(o, T_max=3)  # noqa: E731
    got = run(optim.Adam, lr=lr, capturable=True, steps=5, sched=sched)
    want = run(optim.Adam, lr=0.05, steps=5, sched=sched)
    assert got[1].param_groups[0]["lr"] is lr
    assert_same(*got, *want)


# ---------------------------------------------------------------- state_dict


def _continue(params, opt, steps=2, start=4):
    for t in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = gg.tensor(grad(t, i, host(p)), dtype=gg.float32, device="cuda")
        opt.step()


def _fresh_like(params, opt_cls, **kw):
    clones = [gg.tensor(host(p), dtype=gg.float32, device="cuda", requires_grad=True) for p in params]
    return clones, opt_cls(clones, lr=0.01, **kw)


@on_device
@pytest.mark.parametrize("src_cap,dst_cap", [(True, True), (False, True), (True, False)],
                         ids=["capturable->capturable", "plain->capturable", "capturable->plain"])
def test_state_dict_round_trip(src_cap, dst_cap):
    params, opt = run(optim.Adam, capturable=src_cap, amsgrad=True)
    saved = copy.deepcopy(opt.state_dict())
    clones, other = _fresh_like(params, optim.Adam, capturable=dst_cap, amsgrad=True)
    other.load_state_dict(saved)
    assert other.param_groups[0]["capturable"] is src_cap  # the groups' settings travel, as in PyTorch
    other.param_groups[0]["capturable"] = dst_cap
    other.load_state_dict(other.state_dict())  # reloaded under the destination's setting
    step = other.state[clones[1]]["step"]
    if dst_cap:
        assert isinstance(step, gg.Tensor) and step.shape == () and step.dtype == gg.float32
        assert step.device == gg.device("cuda:0") and float(step) == 3.0
    else:
        assert step == 3
    _continue(params, opt)
    _continue(clones, other)
    assert_same(params, opt, clones, other)


@on_device
def test_loaded_state_is_copied_not_shared():
    params, opt = run(optim.Adam, capturable=True)
    clones, other = _fresh_like(params, optim.Adam, capturable=True)
    other.load_state_dict(opt.state_dict())
    _continue(clones, other)
    assert float(opt.state[params[0]]["step"]) == 4.0 and float(other.state[clones[0]]["step"]) == 6.0


# ---------------------------------------------------------------- errors, on the CPU


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW, optim.RMSprop])
def test_capturable_with_cpu_parameters_raises_as_pytorch(cls):
    p = gg.ones(3, requires_grad=True)
    opt = cls([p], capturable=True)
    p.grad = gg.ones(3)
    with pytest.raises(AssertionError, match="If capturable=True, params and state_steps must be on supported devices"):
        opt.step()
    np.testing.assert_array_equal(host(p), 1.0)
    assert not opt.state


@pytest.mark.torch
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
def test_cpu_error_type_is_pytorchs(name):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    with pytest.raises(AssertionError, match="If capturable=True, params and state_steps must be on supported devices"):
        getattr(torch.optim, name)([p], capturable=True).step()


def test_tensor_lr_errors():
    p = gg.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.Adam([p], lr=gg.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable=False and foreach=True"):
        optim.Adam([p], lr=gg.tensor(0.1), foreach=True)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam([p], lr=gg.tensor(-0.1))
    optim.Adam([p], lr=gg.tensor(0.1), foreach=True, capturable=True)  # allowed, as in PyTorch


@pytest.mark.torch
def test_tensor_lr_errors_are_pytorchs():
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        torch.optim.Adam([p], lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable=False and foreach=True"):
        torch.optim.Adam([p], lr=torch.tensor(0.1), foreach=True)


def test_plain_adam_takes_a_tensor_lr():
    """capturable=False with a Tensor lr reads it on the host at each step (as PyTorch's single-tensor
    path does); the result is the float lr's."""
    got = run(optim.Adam, device="cpu", lr=gg.tensor(0.01, dtype=gg.float64))
    want = run(optim.Adam, device="cpu", lr=0.01)
    assert_same(*got, *want, exact=True)


# ---------------------------------------------------------------- schedulers with a Tensor lr

SCHEDULERS = [
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.2, total_iters=3)),
    ("MultiStepLR", dict(milestones=[2, 4], gamma=0.5)),
    ("ConstantLR", dict(factor=0.25, total_iters=3)),
    ("PolynomialLR", dict(total_iters=5, power=2.0)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.8)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, eta_min=0.001)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=10)),
]


def _sgd(tensor_lr, lrs=(0.1, 0.03)):
    groups = [{"params": [gg.zeros(1, requires_grad=True)],
               "lr": gg.tensor(lr, dtype=gg.float64) if tensor_lr else lr} for lr in lrs]
    return optim.SGD(groups, lr=0.1, momentum=0.9)


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_schedulers_fill_a_tensor_lr_in_place(name, kw):
    opt_t, opt_f = _sgd(True), _sgd(False)
    lrs = [g["lr"] for g in opt_t.param_groups]
    st, sf = getattr(S, name)(opt_t, **kw), getattr(S, name)(opt_f, **kw)
    for _ in range(8):
        assert all(g["lr"] is t for g, t in zip(opt_t.param_groups, lrs))
        got = [float(g["lr"]) for g in opt_t.param_groups]
        assert got == pytest.approx([g["lr"] for g in opt_f.param_groups], rel=1e-12)
        last = st.get_last_lr()
        assert not any(a is b for a, b in zip(last, lrs))  # a copy: it does not change with the lr
        assert [float(v) for v in last] == pytest.approx(sf.get_last_lr(), rel=1e-12)
        st.step()
        sf.step()


def test_plateau_and_sequential_fill_a_tensor_lr_in_place():
    for tensor_lr in (True, False):
        opt = _sgd(tensor_lr)
        lr0 = opt.param_groups[0]["lr"]
        plateau = S.ReduceLROnPlateau(opt, factor=0.5, patience=0)
        for m in (1.0, 1.0, 1.0):
            plateau.step(m)
        assert float(opt.param_groups[0]["lr"]) == pytest.approx(0.025)
        assert (opt.param_groups[0]["lr"] is lr0) == tensor_lr
        opt = _sgd(tensor_lr)
        lr0 = opt.param_groups[0]["lr"]
        seq = S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.5)],
                             milestones=[2])
        for _ in range(4):
            seq.step()
        assert float(opt.param_groups[0]["lr"]) == pytest.approx(0.1 * 0.5 ** 2)
        assert (opt.param_groups[0]["lr"] is lr0) == tensor_lr


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", SCHEDULERS[:4] + SCHEDULERS[-2:], ids=[n for n, _ in SCHEDULERS[:4] + SCHEDULERS[-2:]])
def test_tensor_lr_schedules_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": torch.tensor(lr, dtype=torch.float64)}
                            for lr in (0.1, 0.03)], lr=0.1, momentum=0.9)
    tlr = topt.param_groups[0]["lr"]
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    opt = _sgd(True)
    sched = getattr(S, name)(opt, **kw)
    for _ in range(8):
        assert [float(g["lr"]) for g in opt.param_groups] == pytest.approx(
            [float(g["lr"]) for g in topt.param_groups], rel=1e-12)
        topt.step()
        tsched.step()
        sched.step()
    assert topt.param_groups[0]["lr"] is tlr  # PyTorch too keeps the Tensor, filled in place


@on_device
@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9, centered=True, weight_decay=0.1)], ids=["plain", "all"])
def test_capturable_rmsprop_steps_equal_plain_steps_and_count_on_the_device(kw):
    """RMSprop's update reads no step count: capturable=True keeps the count as a device tensor (for
    state_dict and PyTorch's state layout) and changes nothing else, so the results are bit for bit the
    plain ones, and a step captures with nothing read back."""
    a_params, a_opt = run(optim.RMSprop, capturable=True, **kw)
    b_params, b_opt = run(optim.RMSprop, **kw)
    assert_same(a_params, a_opt, b_params, b_opt, exact=True)
    step = a_opt.state[a_params[0]]["step"]
    assert isinstance(step, gg.Tensor) and step.device == "cuda:0" and step.dtype == gg.float32
    with gg.cuda.graph(gg.cuda.CUDAGraph()):  # capture-safe (the simulator runs it once)
        a_opt.step()
