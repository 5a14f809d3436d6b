"""Each optimizer against its update rule written out in float64 NumPy, fused and reference paths."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim

from . import oracle
from .helpers import grad, make, set_grads, starts, values

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.05)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-8)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, momentum_decay=0.05)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.6), weight_decay=0.1)),  # beta2 0.6: rectified from step 3
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.6), weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(0.01, 0.2), maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.1, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.05, eps=(0.5, 2.0), weight_decay=0.2, maximize=True)),  # both eps and clipping bite
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in CONFIGS]
STEPS = 5


def run_oracle(name, kwargs, arrays, steps=STEPS, skip=lambda t: ()):
    states = [{} for _ in arrays]
    ps = [a.copy() for a in arrays]
    for t in range(steps):
        for i in range(len(ps)):
            if i in skip(t):
                continue
            ps[i] = oracle.ORACLES[name](ps[i], grad(t, i, ps[i]), states[i], **kwargs)
    return ps, states


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_matches_hand_written_formula_float64(name, kwargs, fused):
    arrays = starts()
    params, opt = make(name, arrays, fused=fused, **kwargs)
    for t in range(STEPS):
        set_grads(params, t)
        opt.step()
    want, want_state = run_oracle(name, kwargs, arrays)
    for got, exp in zip(values(params), want):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)
    for p, exp in zip(params, want_state):
        st = opt.state[p]
        assert set(st) == set(exp)
        for k, v in exp.items():
            got_v = st[k].numpy() if isinstance(st[k], gg.Tensor) else st[k]
            np.testing.assert_allclose(got_v, v, rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("dtype,rtol,atol", [(gg.float32, 2e-5, 4e-6), (gg.float64, 1e-12, 1e-14)], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_fused_agrees_with_reference(name, kwargs, dtype, rtol, atol):
    shapes = [(1,), (7,), (13, 11), (5, 3, 2), (), (1031,)]
    arrays = starts(3, shapes)
    runs = []
    for fused in (True, False):
        params, opt = make(name, arrays, dtype=dtype, fused=fused, **kwargs)
        for t in range(STEPS):
            set_grads(params, t, dtype=dtype)
            opt.step()
        runs.append((values(params), opt.state_dict()["state"]))
    (pf, sf), (pr, sr) = runs

    def close(a, b, msg=""):
        # Rounding errors scale with the largest terms in a sum, so allow a few ulps of the array's range.
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.abs(b).max(initial=0))), err_msg=msg)

    for a, b in zip(pf, pr):
        assert a.dtype == dtype.np
        close(a, b)
    assert sf.keys() == sr.keys()
    for i in sf:
        assert sf[i].keys() == sr[i].keys()
        for k in sf[i]:
            if isinstance(sf[i][k], gg.Tensor):
                close(sf[i][k].numpy(), sr[i][k].numpy(), k)
            else:  # the step count and scalar state
                assert sf[i][k] == sr[i][k], k


def test_fused_parameters_are_views_of_one_buffer():
    params, opt = make("Adam", starts(), dtype=gg.float32)
    bases = {id(p._array.base) for p in params}
    assert len(bases) == 1 and params[0]._array.base is not None
    set_grads(params, 0, dtype=gg.float32)
    opt.step()
    # After a step the grads are views of the flat grad buffer and the state of the flat state buffers.
    assert len({id(p.grad._array.base) for p in params}) == 1
    assert len({id(opt.state[p]["exp_avg"]._array.base) for p in params}) == 1


def test_mixed_dtypes_in_one_group_use_one_buffer_each():
    arrays = starts()
    for fused in (True, False):
        params = [gg.tensor(a, dtype=gg.float32 if i % 2 else gg.float64, requires_grad=True) for i, a in enumerate(arrays)]
        opt = optim.Adam(params, lr=0.01, fused=fused)
        for t in range(3):
            for i, p in enumerate(params):
                p.grad = gg.tensor(grad(t, i, p.detach().numpy()), dtype=p.dtype)
            opt.step()
        if fused:
            assert len({id(p._array.base) for p in params}) == 2
            got = values(params)
        else:
            ref = values(params)
    for a, b in zip(got, ref):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
@pytest.mark.parametrize("name,kwargs", [CONFIGS[1], CONFIGS[6], CONFIGS[12], CONFIGS[14]], ids=[IDS[1], IDS[6], IDS[12], IDS[14]])
def test_params_without_grad_are_skipped_and_their_state_waits(name, kwargs, fused):
    # Parameter 1 has no grad on steps 0 and 2, parameter 3 none on step 3: their state must lag.
    skip = {0: {1}, 2: {1}, 3: {3}}
    arrays = starts()
    params, opt = make(name, arrays, fused=fused, **kwargs)
    for t in range(STEPS):
        set_grads(params, t, skip=skip.get(t, ()))
        opt.step()
    want, want_state = run_oracle(name, kwargs, arrays, skip=lambda t: skip.get(t, ()))
    for got, exp in zip(values(params), want):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)
    if "step" in want_state[1]:
        assert opt.state[params[1]]["step"] == want_state[1]["step"] == STEPS - 2
        assert opt.state[params[0]]["step"] == STEPS


def test_param_that_never_had_a_grad_has_no_state():
    params, opt = make("Adam", starts())
    set_grads(params, 0, skip={2})
    opt.step()
    assert params[2] not in opt.state
    assert set(opt.state_dict()["state"]) == {0, 1, 3, 4}


def test_param_groups_with_their_own_lr_and_defaults():
    arrays = starts()
    params = [gg.tensor(a, dtype=gg.float64, requires_grad=True) for a in arrays]
    opt = optim.SGD([{"params": params[:2], "lr": 0.5}, {"params": params[2:]}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    for t in range(3):
        set_grads(params, t)
        opt.step()
    want_a, _ = run_oracle("SGD", dict(lr=0.5, momentum=0.9), arrays[:2], steps=3)
    states = [{} for _ in arrays[2:]]
    ps = [a.copy() for a in arrays[2:]]
    for t in range(3):
        for j in range(len(ps)):
            ps[j] = oracle.sgd(ps[j], grad(t, j + 2, ps[j]), states[j], lr=0.1, momentum=0.9)
    for got, exp in zip(values(params), want_a + ps):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)


def test_add_param_group_and_changing_lr_between_steps():
    a, b = starts()[:2]
    p = gg.tensor(a, dtype=gg.float64, requires_grad=True)
    q = gg.tensor(b, dtype=gg.float64, requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    opt.add_param_group({"params": q, "lr": 0.1, "betas": (0.5, 0.6)})
    assert opt.param_groups[1]["eps"] == 1e-8 and opt.param_groups[1]["betas"] == (0.5, 0.6)
    sp, sq = {}, {}
    pa, qa = a.copy(), b.copy()
    for t in range(3):
        opt.param_groups[0]["lr"] = 0.01 * (t + 1)
        p.grad = gg.tensor(grad(t, 0, p.detach().numpy()), dtype=gg.float64)
        q.grad = gg.tensor(grad(t, 1, q.detach().numpy()), dtype=gg.float64)
        opt.step()
        pa = oracle.adam(pa, grad(t, 0, pa), sp, lr=0.01 * (t + 1))
        qa = oracle.adam(qa, grad(t, 1, qa), sq, lr=0.1, betas=(0.5, 0.6))
    np.testing.assert_allclose(p.detach().numpy(), pa, rtol=1e-10)
    np.testing.assert_allclose(q.detach().numpy(), qa, rtol=1e-10)


def test_closure_is_called_with_grad_enabled_and_its_loss_returned():
    p = gg.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.detach().numpy(), [0.5, -1.0])


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
def test_training_through_autograd_with_both_zero_grad_modes(fused):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4))
    w_true = np.array([1.0, -2.0, 0.5, 3.0])
    y = X @ w_true
    results = []
    for set_to_none in (True, False):
        w = gg.zeros(4, dtype=gg.float64, requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9, fused=fused)
        Xt, yt = gg.tensor(X), gg.tensor(y)
        for _ in range(200):
            opt.zero_grad(set_to_none=set_to_none)
            ((Xt @ w - yt) ** 2).mean().backward()
            opt.step()
        results.append(w.detach().numpy().copy())
        if not set_to_none and fused:
            # The in-place zero kept .grad a view of the flat buffer, so backward accumulated into it.
            assert w.grad._array.base is opt._flat[0].buckets[0].g
    np.testing.assert_allclose(results[0], w_true, atol=1e-3)
    np.testing.assert_array_equal(results[0], results[1])


def _linear_model_and_step(fused: bool):
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(3, 5), gg.nn.Tanh(), gg.nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.1, fused=fused)

    def step(scale: float) -> None:
        opt.zero_grad()
        x = gg.tensor(np.linspace(-1, 1, 12).reshape(4, 3) * scale, dtype=gg.float32)
        (model(x) ** 2).sum().backward()
        opt.step()

    return model, opt, step


def test_backward_after_zero_grad_writes_into_the_flat_grad_buffer():
    model, opt, step = _linear_model_and_step(fused=True)
    step(1.0)  # the first step builds the buffers
    opt.zero_grad()
    x = gg.tensor(np.ones((4, 3)), dtype=gg.float32)
    (model(x) ** 2).sum().backward()
    # Every new .grad is already its parameter's view of the flat buffer: the step has nothing to copy.
    buffer = opt._flat[0].buckets[0].g
    assert all(p.grad._array.base is buffer for p in model.parameters())


def test_a_kept_grad_keeps_its_values_as_in_pytorch():
    fused_model, fused_opt, fused_step = _linear_model_and_step(fused=True)
    ref_model, _, ref_step = _linear_model_and_step(fused=False)
    kept = []
    for scale in (1.0, 2.0, 3.0, 4.0):
        fused_step(scale)
        ref_step(scale)
        w, b = fused_model[0].weight.grad, fused_model[2].bias.grad
        kept.append((w, w.numpy().copy(), b.numpy(), b.numpy().copy()))  # a Tensor, and an array
    # Values taken after each step are unchanged by the later steps' backward and step.
    for tensor, tensor_values, array, array_values in kept:
        np.testing.assert_array_equal(tensor.numpy(), tensor_values)
        np.testing.assert_array_equal(array, array_values)
    for a, b in zip(fused_model.parameters(), ref_model.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_a_dropped_optimizer_leaves_gradients_to_the_engine():
    model, opt, step = _linear_model_and_step(fused=True)
    step(1.0)
    buffer = opt._flat[0].buckets[0].g
    del opt, step
    for p in model.parameters():
        p.grad = None
    (model(gg.ones(2, 3)) ** 2).sum().backward()
    assert all(p.grad is not None and p.grad._array.base is not buffer for p in model.parameters())


def test_zero_grad_in_place_zeroes_and_to_none_clears():
    params, opt = make("SGD", starts(), lr=0.1)
    set_grads(params, 0)
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_bumps_the_version_so_stale_graphs_fail():
    p = gg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    y = (p * p).sum()
    p.grad = gg.tensor([1.0, 1.0])
    opt.step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_a_grad_that_requires_grad_is_copied_not_replaced():
    # After backward(create_graph=True) the grad is part of a graph; the fused path must read it
    # without swapping it for a buffer view.
    p = gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p * p).sum().backward(create_graph=True)
    g = p.grad
    assert g.requires_grad
    opt.step()
    assert p.grad is g
    np.testing.assert_allclose(p.detach().numpy(), [1.0 - 0.3, 2.0 - 1.2])


def test_a_grad_cleared_by_hand_is_never_written_again():
    model, opt, step = _linear_model_and_step(fused=True)
    step(1.0)
    (model(gg.ones(4, 3)) ** 2).sum().backward()  # accumulates into the buffer views
    bias = model[2].bias
    kept, values = bias.grad, bias.grad.numpy().copy()
    bias.grad = None  # by hand, not through zero_grad: the old tensor is the caller's now
    (model(gg.ones(4, 3)) ** 2).sum().backward()
    opt.step()
    np.testing.assert_array_equal(kept.numpy(), values)
    assert bias.grad is not kept and bias.grad._array.base is opt._flat[0].buckets[0].g


def _steps_with_an_integer_tensor_listed(lib, name, **kwargs):
    """An integer tensor listed beside a float parameter (ignite's logger tests build an SGD that way):
    taken, and left alone by every step, since it cannot require grad."""
    counts = lib.tensor([0, 1])
    w = lib.nn.Parameter(lib.ones(3))
    opt = getattr(lib.optim, name)([counts, w], lr=0.1, **kwargs)
    for _ in range(2):
        opt.zero_grad()
        (w * lib.arange(3.0)).sum().backward()
        opt.step()
    opt.load_state_dict(opt.state_dict())
    return counts.tolist(), [round(v, 12) for v in w.tolist()], len(opt.state)


OPTIMIZERS_TAKING_INTEGERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta",
                              "ASGD", "Rprop", "Adafactor"]


@pytest.mark.parametrize("fused", [None, True])
@pytest.mark.parametrize("name", OPTIMIZERS_TAKING_INTEGERS)
def test_integer_tensors_are_taken_and_never_stepped(name, fused):
    kwargs = {} if fused is None or name in ("Adafactor",) else {"fused": fused}
    counts, w, _ = _steps_with_an_integer_tensor_listed(gg, name, **kwargs)
    assert counts == [0, 1] and w != [1.0, 1.0, 1.0]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adafactor"])
def test_pytorch_takes_integer_tensors_alike(name):
    torch = pytest.importorskip("torch")
    assert _steps_with_an_integer_tensor_listed(gg, name) == _steps_with_an_integer_tensor_listed(torch, name)
