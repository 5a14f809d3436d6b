"""state_dict round trips, the stale-buffer rebuild, failing steps that change nothing, bad arguments."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.optim.flat import InPlace
from gpugrad.serialization import load, save

from . import oracle
from .helpers import grad, make, set_grads, starts, values

CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(momentum=0.5, centered=True)),
    ("Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.1)),
    ("Adamax", dict(lr=0.01)),
    ("Adadelta", dict(weight_decay=0.1)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.6))),
    ("ASGD", dict(lr=0.05, t0=2)),
    ("Rprop", dict()),
    ("Adafactor", dict(lr=0.1, weight_decay=0.1)),
]


def snapshot(opt):
    sd = opt.state_dict()
    return {i: {k: (v.numpy().copy() if isinstance(v, gg.Tensor) else v) for k, v in st.items()}
            for i, st in sd["state"].items()}


@pytest.mark.parametrize("fused_a,fused_b", [(True, True), (False, True), (True, False)], ids=["fused", "ref-to-fused", "fused-to-ref"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_state_dict_round_trip_continues_identically(name, kwargs, fused_a, fused_b, tmp_path):
    arrays = starts()
    params, opt = make(name, arrays, fused=fused_a, **kwargs)
    for t in range(3):
        set_grads(params, t)
        opt.step()
    save({"params": [p.detach() for p in params], "optimizer": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    for t in range(3, 6):
        set_grads(params, t)
        opt.step()

    ckpt = load(tmp_path / "ckpt.safetensors")
    sd = ckpt["optimizer"]
    assert set(sd) == {"state", "param_groups"} and all(isinstance(k, int) for k in sd["state"])
    params2, opt2 = make(name, [t.numpy() for t in ckpt["params"]], fused=fused_b, lr=123.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for t in range(3, 6):
        set_grads(params2, t)
        opt2.step()
    for a, b in zip(values(params), values(params2)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    s1, s2 = snapshot(opt), snapshot(opt2)
    assert s1.keys() == s2.keys()
    for i in s1:
        for k in s1[i]:
            np.testing.assert_allclose(s1[i][k], s2[i][k], rtol=1e-13, atol=1e-15)


def test_state_dict_layout_is_pytorchs():
    params, opt = make("Adam", starts()[:3], lr=0.01)
    opt.add_param_group({"params": [gg.zeros(2, requires_grad=True)], "lr": 0.1})
    set_grads(params, 0)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1, 2], [3]]
    assert sd["param_groups"][1]["lr"] == 0.1 and "params" not in opt.defaults
    assert sorted(sd["state"]) == [0, 1, 2]
    assert list(sd["state"][0]) == ["step", "exp_avg", "exp_avg_sq"] and sd["state"][0]["step"] == 1


def test_load_state_dict_validates_before_changing_anything():
    params, opt = make("Adam", starts(), lr=0.01)
    set_grads(params, 0)
    opt.step()
    good = opt.state_dict()
    before = snapshot(opt)
    groups_before = [dict(g) for g in opt.param_groups]

    other_params, other = make("Adam", starts()[:2], lr=0.5)
    with pytest.raises(ValueError, match="2 parameters"):
        opt.load_state_dict(other.state_dict())
    two_groups = {"state": {}, "param_groups": [dict(good["param_groups"][0]), dict(good["param_groups"][0])]}
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(two_groups)
    bad_shape = {"state": {0: {"step": 1, "exp_avg": gg.zeros(4), "exp_avg_sq": gg.zeros(15)}},
                 "param_groups": [dict(good["param_groups"][0], lr=7.0)]}
    with pytest.raises(ValueError, match=r"exp_avg.*\(4,\).*\(3, 5\)"):
        opt.load_state_dict(bad_shape)
    bad_lr = {"state": {}, "param_groups": [dict(good["param_groups"][0], lr=-1.0)]}
    with pytest.raises(ValueError, match="lr=-1.0"):
        opt.load_state_dict(bad_lr)
    assert snapshot(opt).keys() == before.keys()
    for i in before:
        for k in before[i]:
            np.testing.assert_array_equal(snapshot(opt)[i][k], before[i][k])
    assert [{k: v for k, v in g.items()} for g in opt.param_groups] == groups_before


@pytest.mark.torch
def test_loads_a_pytorch_state_dict_and_continues_like_pytorch():
    torch = pytest.importorskip("torch")
    arrays = starts()
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    topt = torch.optim.Adam(tp, lr=0.01, amsgrad=True, weight_decay=0.1)

    def torch_steps(ts):
        for t in ts:
            for i, p in enumerate(tp):
                p.grad = torch.tensor(grad(t, i, p.detach().numpy()))
            topt.step()

    torch_steps(range(3))
    tsd = topt.state_dict()
    sd = {
        "state": {i: {k: (v.item() if k == "step" else gg.tensor(v.numpy())) for k, v in st.items()}
                  for i, st in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    }
    params, opt = make("Adam", [p.detach().numpy() for p in tp])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["amsgrad"] is True and opt.param_groups[0]["weight_decay"] == 0.1
    torch_steps(range(3, 6))
    for t in range(3, 6):
        set_grads(params, t)
        opt.step()
    for p, q in zip(params, tp):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", [("NAdam", dict(lr=0.01)), ("ASGD", dict(lr=0.05, t0=1)),
                                         ("Rprop", dict(lr=0.05)), ("RAdam", dict(betas=(0.9, 0.6)))])
def test_loads_pytorch_state_with_scalar_tensors_and_continues_like_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    arrays = starts(3)
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    topt = getattr(torch.optim, name)(tp, **kwargs)

    def torch_steps(ts):
        for t in ts:
            for i, p in enumerate(tp):
                p.grad = torch.tensor(grad(t, i, p.detach().numpy()))
            topt.step()

    torch_steps(range(3))
    tsd = topt.state_dict()
    # PyTorch's layout as it is: every state entry a tensor, the step and scalar state 0-d.
    sd = {"state": {i: {k: gg.tensor(v.numpy()) for k, v in st.items()} for i, st in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    params, opt = make(name, [p.detach().numpy() for p in tp])
    opt.load_state_dict(sd)
    torch_steps(range(3, 6))
    for t in range(3, 6):
        set_grads(params, t)
        opt.step()
    for p, q in zip(params, tp):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)
    for i, st in topt.state_dict()["state"].items():
        for k, v in st.items():
            ours = opt.state_dict()["state"][i][k]
            if isinstance(ours, gg.Tensor):
                np.testing.assert_allclose(ours.numpy(), v.numpy(), rtol=1e-10, atol=1e-12)
            else:
                assert ours == v.item(), k


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
def test_replaced_parameter_array_is_picked_up(fused):
    arrays = starts()
    params, opt = make("Adam", arrays, fused=fused, lr=0.01)
    states = [{} for _ in arrays]
    ps = [a.copy() for a in arrays]
    for t in range(4):
        if t == 2:
            # A user (or a module's .to()/load_state_dict) rebinds the array: the optimizer must update
            # the new values, not its stale copy.
            new = np.full((3, 5), 0.25)
            params[0]._array = new.copy()
            ps[0] = new.copy()
        set_grads(params, t)
        opt.step()
        for i in range(len(ps)):
            ps[i] = oracle.adam(ps[i], grad(t, i, ps[i]), states[i], lr=0.01)
    for got, exp in zip(values(params), ps):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)
    if fused:
        # The other parameters viewed the old buffer, which an alias may hold: the group stays in place.
        assert isinstance(opt._flat[0], InPlace) and params[1]._array.base is not None


def test_parameter_replaced_by_another_dtype_moves_buffers():
    arrays = starts()
    params, opt = make("SGD", arrays, dtype=gg.float32, lr=0.1, momentum=0.9)
    set_grads(params, 0, dtype=gg.float32)
    opt.step()
    params[1]._array = params[1]._array.astype(np.float64)
    params[1].grad = None
    grads = [gg.tensor(grad(1, i, p.detach().numpy()), dtype=p.dtype) for i, p in enumerate(params)]
    for p, g in zip(params, grads):
        p.grad = g
    opt.step()
    assert params[1]._array.dtype == np.float64 and opt.state[params[1]]["momentum_buffer"]._array.dtype == np.float64
    assert params[1]._array.base is not params[0]._array.base


def test_replaced_parameter_of_another_size_with_state_raises_and_changes_nothing():
    params, opt = make("Adam", starts())
    set_grads(params, 0)
    opt.step()
    params[0]._array = np.zeros(4)
    params[0].grad = gg.zeros(4, dtype=gg.float64)  # matches the replaced parameter, not its state
    before = values(params)
    with pytest.raises(ValueError, match=r"parameter 0 .*\(4,\).*exp_avg"):
        opt.step()
    for a, b in zip(before, values(params)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
@pytest.mark.parametrize("bad", ["shape", "dtype"])
def test_failed_step_changes_no_parameter_and_no_state(fused, bad):
    params, opt = make("Adam", starts(), fused=fused, lr=0.01)
    set_grads(params, 0)
    opt.step()
    before, state_before = values(params), snapshot(opt)
    set_grads(params, 1)
    # Assigning such a .grad is refused (test_errors.py); a gradient whose array was swapped behind the
    # tensor's back is what the step must still catch.
    if bad == "shape":
        params[3].grad._array = np.zeros(5)
        err, match = ValueError, r"parameter 3 \(group 0\) has shape \(5,\) but the parameter has shape \(2, 3, 4\)"
    else:
        params[3].grad._array = np.zeros((2, 3, 4), dtype=np.float32)
        err, match = TypeError, r"parameter 3 .*float32.*float64"
    with pytest.raises(err, match=match):
        opt.step()
    for a, b in zip(before, values(params)):
        np.testing.assert_array_equal(a, b)
    after = snapshot(opt)
    for i in state_before:
        assert after[i]["step"] == state_before[i]["step"] == 1
        np.testing.assert_array_equal(after[i]["exp_avg"], state_before[i]["exp_avg"])


ERRORS = [
    (optim.SGD, dict(lr=-0.1), "lr=-0.1"),
    (optim.SGD, dict(momentum=-0.5), "momentum=-0.5"),
    (optim.SGD, dict(weight_decay=-1e-4), "weight_decay=-0.0001"),
    (optim.SGD, dict(nesterov=True), "Nesterov.*momentum=0.0"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov.*dampening=0.1"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"index 0.*betas=\(1.0, 0.999\)"),
    (optim.Adam, dict(betas=(0.9, -0.1)), "index 1"),
    (optim.Adam, dict(eps=-1e-8), "eps=-1e-08"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay=-0.01"),
    (optim.AdamW, dict(lr=-1), "lr=-1"),
    (optim.RMSprop, dict(alpha=-0.9), "alpha=-0.9"),
    (optim.RMSprop, dict(momentum=-0.1), "momentum=-0.1"),
    (optim.RMSprop, dict(eps=-1.0), "eps=-1.0"),
    (optim.Adagrad, dict(lr_decay=-1.0), "lr_decay=-1.0"),
    (optim.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value=-1.0"),
    (optim.Adagrad, dict(eps=-1.0), "eps=-1.0"),
    (optim.Adamax, dict(betas=(0.9, 1.0)), "index 1"),
    (optim.Adadelta, dict(rho=1.5), "rho=1.5"),
    (optim.NAdam, dict(momentum_decay=-0.1), "momentum_decay=-0.1"),
    (optim.RAdam, dict(eps=-1.0), "eps=-1.0"),
    (optim.ASGD, dict(weight_decay=-1.0), "weight_decay=-1.0"),
    (optim.Rprop, dict(etas=(1.5, 1.2)), r"etas=\(1.5, 1.2\)"),
    (optim.SGD, dict(differentiable=True), "differentiable=True is not supported"),
    (optim.Adamax, dict(capturable=True), "capturable=True is not supported"),  # Adam, AdamW, RMSprop do
    (optim.NAdam, dict(differentiable=True), "differentiable=True is not supported"),
    (optim.Adafactor, dict(lr=-0.1), "lr=-0.1"),
    (optim.Adafactor, dict(beta2_decay=0.5), "beta2_decay=0.5"),
    (optim.Adafactor, dict(eps=(-1.0, 1e-3)), r"epsilon1.*eps\[0\]=-1.0"),
    (optim.Adafactor, dict(eps=(None, -1e-3)), r"epsilon2.*eps\[1\]=-0.001"),
    (optim.Adafactor, dict(d=0.5), "d=0.5"),
    (optim.Adafactor, dict(weight_decay=-0.1), "weight_decay=-0.1"),
]


@pytest.mark.parametrize("cls,kwargs,match", ERRORS, ids=[f"{c.__name__}-{m}" for c, _, m in ERRORS])
def test_construction_refuses_bad_hyper_parameters(cls, kwargs, match):
    p = gg.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        cls([p], **kwargs)
    with pytest.raises(ValueError, match=match):
        cls([{"params": [p]}], **kwargs)
    good = cls([p])
    with pytest.raises(ValueError, match=match):
        good.add_param_group({"params": [gg.zeros(2, requires_grad=True)], **kwargs})
    assert len(good.param_groups) == 1


def test_construction_refuses_bad_parameter_lists():
    p = gg.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="parameter 1 is a list"):
        optim.Adam([p, [1.0]])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([p * 2])
    optim.Adam([gg.zeros(3, dtype=gg.int64)])  # taken, as PyTorch takes it (test_optimizers.py: never stepped)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.Adam([{"params": [p]}, {"params": [p]}])


@pytest.mark.parametrize("fused", [True, False])
def test_a_parameter_listed_twice_warns_and_is_updated_once_per_listing(fused):
    # PyTorch warns (an error "in future") and runs its per-parameter loop over the list, shared state
    # and all: scripts that chain the parameters of modules sharing a submodule rely on it (PyTorch-GAN's
    # UNIT). The group leaves the flat buffers for the per-parameter path.
    def run(listing):
        p, q = gg.tensor([1.0, -2.0], requires_grad=True), gg.tensor([0.5], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt = optim.Adam(listing(p, q), lr=0.1, fused=fused)
        for _ in range(3):
            opt.zero_grad()
            ((p * p).sum() + q.sum()).backward()
            opt.step()
        return p, q, opt, [str(w.message) for w in caught]

    p, q, opt, said = run(lambda p, q: [p, q, p])
    assert len(said) == 1 and "Adam: optimizer contains a parameter group with duplicate parameters" in said[0]
    assert opt.state[p]["step"] == 6 and opt.state_dict()["param_groups"][0]["params"] == [2, 1, 2]
    # Each step applies Adam twice to p, one call after the other: what listing it once and stepping
    # twice per gradient gives.
    p1 = gg.tensor([1.0, -2.0], requires_grad=True)
    once = optim.Adam([p1], lr=0.1, fused=False)  # the per-parameter path, which the group took
    for _ in range(3):
        once.zero_grad()
        (p1 * p1).sum().backward()
        once.step()
        once.step()
    np.testing.assert_array_equal(p.detach().numpy(), p1.detach().numpy())


@pytest.mark.torch
def test_a_parameter_listed_twice_matches_pytorch():
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (gg, torch):
        p, q = lib.nn.Parameter(lib.tensor([1.0, -2.0])), lib.nn.Parameter(lib.tensor([0.5]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = lib.optim.Adam([p, q, p], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            ((p * p).sum() + q.sum()).backward()
            opt.step()
        got[lib.__name__] = (p.detach().numpy(), opt.state_dict()["param_groups"][0]["params"])
    np.testing.assert_allclose(got["gpugrad"][0], got["torch"][0], rtol=1e-6)
    assert got["gpugrad"][1] == got["torch"][1]


def test_a_parameter_in_two_groups_keeps_its_first_groups_index():
    p, q = gg.nn.Parameter(gg.ones(2)), gg.nn.Parameter(gg.ones(1))
    opt = optim.SGD([p, q], lr=0.1)
    opt.param_groups.extend(opt.param_groups)  # the same group twice: its parameters are numbered once
    assert [g["params"] for g in opt.state_dict()["param_groups"]] == [[0, 1], [0, 1]]
    opt.param_groups.append({**opt.param_groups[0], "params": [q, p, q]})
    assert [g["params"] for g in opt.state_dict()["param_groups"]] == [[0, 1], [0, 1], [1, 0, 1]]


@pytest.mark.torch
def test_parameter_numbering_across_groups_matches_pytorch():
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (gg, torch):
        p, q, r = (lib.nn.Parameter(lib.ones(1)) for _ in range(3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = lib.optim.SGD([{"params": [p, q, p]}, {"params": [r]}], lr=0.1)
        opt.param_groups += [{**opt.param_groups[1], "params": [r, q, r]}, {**opt.param_groups[0], "params": [p]}]
        got[lib.__name__] = [g["params"] for g in opt.state_dict()["param_groups"]]
    assert got["gpugrad"] == got["torch"]


def test_step_refuses_a_hyper_parameter_made_invalid_later():
    params, opt = make("Adam", starts())
    set_grads(params, 0)
    opt.param_groups[0]["betas"] = (0.9, 1.5)
    before = values(params)
    with pytest.raises(ValueError, match="index 1"):
        opt.step()
    for a, b in zip(before, values(params)):
        np.testing.assert_array_equal(a, b)
    assert not opt.state


def test_defaults_are_pytorchs():
    # PyTorch's defaults, but "fused": gpugrad's fused switch is the optimizer's, not a group's.
    p = [gg.zeros(1, requires_grad=True)]
    flags = dict(maximize=False, foreach=None, differentiable=False)
    assert optim.SGD(p).defaults == dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, **flags)
    assert optim.Adam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                                          capturable=False, decoupled_weight_decay=False, **flags)
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.AdamW(p).defaults["decoupled_weight_decay"] is True
    assert optim.RMSprop(p).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                                             capturable=False, **flags)
    assert optim.Adagrad(p).defaults == dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                                             eps=1e-10, **flags)


def test_fused_default_follows_the_kernels_switch():
    """GPUGRAD_FUSED (read at import) and gg.kernels.set_fused / fused decide a new optimizer's default."""
    with gg.kernels.fused(False):
        assert optim.Adam([gg.zeros(2, requires_grad=True)]).fused is False
    with gg.kernels.fused(True):
        assert optim.Adam([gg.zeros(2, requires_grad=True)]).fused is True
        assert optim.Adam([gg.zeros(2, requires_grad=True)], fused=False).fused is False


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Adadelta", "NAdam", "RAdam",
                                  "ASGD", "Rprop", "LBFGS", "Adafactor"])
def test_defaults_and_state_keys_match_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
    ours = getattr(optim, name)([gg.zeros(2, requires_grad=True)]).defaults
    assert ours == {k: v for k, v in theirs.items() if k != "fused"}


def _library_optimizer(lib):
    """An optimizer written as libraries write theirs (timm's): its own step, a tensor 'step' and state
    of other shapes than the parameter's."""
    class RowScaled(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    if not state:
                        state["step"] = lib.tensor(0.0)
                        state["rows"] = lib.zeros(p.shape[0])
                        state["rms"] = lib.tensor(0.0)
                        state["trace"] = [lib.zeros(1)]
                    state["step"].add_(1)
                    state["rows"].add_(p.grad.square().mean(-1))
                    state["rms"].copy_(p.grad.square().mean().sqrt())
                    p.add_(p.grad / (state["rows"].sqrt()[:, None] + 1.0), alpha=-group["lr"] / state["step"].item())
    return RowScaled


def _run_library_optimizer(lib):
    torch_gen = np.random.default_rng(3)
    w = lib.nn.Parameter(lib.tensor(torch_gen.standard_normal((3, 2)), dtype=lib.float32))
    opt = _library_optimizer(lib)([w])
    for _ in range(2):
        opt.zero_grad()
        (w ** 3).sum().backward()
        opt.step()
    saved = opt.state_dict()
    w2 = lib.nn.Parameter(w.detach().clone())
    again = _library_optimizer(lib)([w2])
    again.load_state_dict(saved)
    state = again.state[w2]
    again.zero_grad()
    (w2 ** 3).sum().backward()
    again.step()
    return w2.detach().numpy(), {k: (type(v).__name__, tuple(getattr(v, "shape", ()))) for k, v in state.items()}


def test_a_library_optimizer_loads_its_state_as_pytorch_does():
    weights, kinds = _run_library_optimizer(gg)
    assert kinds == {"step": ("Tensor", ()), "rows": ("Tensor", (3,)), "rms": ("Tensor", ()), "trace": ("list", ())}
    assert np.isfinite(weights).all()


@pytest.mark.torch
def test_a_library_optimizer_loads_its_state_like_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _run_library_optimizer(gg), _run_library_optimizer(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    assert ours[1] == theirs[1]


def test_load_state_dict_ends_with_setstate():
    # PyTorch's load_state_dict hands the new state and groups to __setstate__; optimizers override it to
    # give older checkpoints' groups new defaults and to recast state (timm keeps momentum in bfloat16).
    class Recasting(optim.SGD):
        def __setstate__(self, state):
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("added_later", True)
            for st in self.state.values():
                if "momentum_buffer" in st:
                    st["momentum_buffer"] = st["momentum_buffer"].to(gg.bfloat16)

    w = gg.nn.Parameter(gg.ones(2))
    opt = Recasting([w], lr=0.1, momentum=0.9)
    w.grad = gg.ones(2)
    opt.step()
    saved = opt.state_dict()
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["added_later"] is True
    assert opt.state[w]["momentum_buffer"].dtype is gg.bfloat16
    restored = copy.deepcopy(opt)
    assert restored.param_groups[0]["params"][0] is not w and restored.param_groups[0]["added_later"]


def test_load_state_dict_keeps_objects_the_groups_share():
    # Every group takes a mutable default (a cache) by reference; the loaded groups share one copy of it,
    # as after PyTorch's single deepcopy of the saved groups.
    class Cached(gg.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1, "cache": [None]})

        def step(self, closure=None):
            return None

    a, b = gg.nn.Parameter(gg.ones(1)), gg.nn.Parameter(gg.ones(1))
    opt = Cached([{"params": [a]}, {"params": [b], "lr": 0.2}])
    assert opt.param_groups[0]["cache"] is opt.param_groups[1]["cache"]
    opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    first, second = opt.param_groups
    assert first["cache"] is second["cache"] and first["cache"] is not opt.defaults["cache"]
