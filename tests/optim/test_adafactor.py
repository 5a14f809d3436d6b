"""Adafactor's own checks: its factored state, loading state (ours and PyTorch's), steps that fail.

The generic checks (the NumPy oracle, PyTorch step by step, state_dict round trips, bad
hyper-parameters) come from the tables in test_optimizers.py and test_state.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, optim

from . import oracle
from .helpers import grad, make, set_grads, starts, values

SHAPES = [(3, 5), (7,), (), (2, 3, 4), (1,), (4, 1), (1, 6), (2, 1, 3, 2)]


def snapshot(opt):
    return {i: {k: (v.numpy().copy() if isinstance(v, gg.Tensor) else v) for k, v in st.items()}
            for i, st in opt.state_dict()["state"].items()}


def test_state_is_factored_for_two_or_more_dims_in_pytorchs_layout():
    params, opt = make("Adafactor", starts(0, SHAPES))
    set_grads(params, 0)
    opt.step()
    want = {
        0: {"row_var": (3, 1), "col_var": (1, 5)},
        1: {"variance": (7,)},
        2: {"variance": ()},
        3: {"row_var": (2, 3, 1), "col_var": (2, 1, 4)},
        4: {"variance": (1,)},
        5: {"row_var": (4, 1), "col_var": (1, 1)},
        6: {"row_var": (1, 1), "col_var": (1, 6)},
        7: {"row_var": (2, 1, 3, 1), "col_var": (2, 1, 1, 2)},
    }
    state = opt.state_dict()["state"]
    for i, shapes in want.items():
        assert list(state[i]) == ["step", *shapes], i
        assert state[i]["step"] == 1
        for k, shape in shapes.items():
            assert tuple(state[i][k].shape) == shape and state[i][k].dtype == gg.float64, (i, k)


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.3, beta2_decay=-0.6, eps=(1e-2, 0.5), d=2.0, weight_decay=0.05)],
                         ids=["defaults", "settings"])
def test_two_steps_with_param_groups_match_the_numpy_reference(kwargs):
    arrays = starts(1, SHAPES)
    params = [gg.tensor(a, dtype=gg.float64, requires_grad=True) for a in arrays]
    other = dict(lr=0.02, maximize=True, weight_decay=0.1)
    opt = optim.Adafactor([{"params": params[:4]}, {"params": params[4:], **other}], **kwargs)
    states = [{} for _ in arrays]
    ps = [a.copy() for a in arrays]
    for t in range(2):
        set_grads(params, t)
        opt.step()
        for i in range(len(ps)):
            ps[i] = oracle.adafactor(ps[i], grad(t, i, ps[i]), states[i], **(kwargs if i < 4 else {**kwargs, **other}))
    for got, want in zip(values(params), ps):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for p, want in zip(params, states):
        for k, v in want.items():
            got = opt.state[p][k]
            np.testing.assert_allclose(got.numpy() if isinstance(got, gg.Tensor) else got, v, rtol=1e-12, atol=1e-14)


def test_first_step_written_out():
    # Step 1: beta2_hat = 0, so the factors are the row and column means of g^2; lr=1 gives rho = 1.
    p0 = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    g = np.array([[0.5, -1.0, 2.0], [1.5, 0.1, -0.3]])
    p = gg.tensor(p0, dtype=gg.float64, requires_grad=True)
    opt = optim.Adafactor([p], lr=1.0, d=10.0)
    p.grad = gg.tensor(g, dtype=gg.float64)
    opt.step()
    R, C = (g * g).mean(axis=1, keepdims=True), (g * g).mean(axis=0, keepdims=True)
    V = R @ C / R.mean()
    alpha = np.sqrt((p0 * p0).mean())  # max(1e-3, RMS(p)) * min(1, 1/sqrt(1))
    U = g / np.sqrt(V)  # RMS(U) / 10 < 1: no clipping
    np.testing.assert_allclose(p.detach().numpy(), p0 - alpha * U, rtol=1e-14)
    np.testing.assert_allclose(opt.state[p]["row_var"].numpy(), R, rtol=1e-15)
    np.testing.assert_allclose(opt.state[p]["col_var"].numpy(), C, rtol=1e-15)


def test_tensor_lr_and_float_lr_agree():
    runs = []
    for lr in (0.05, gg.tensor(0.05, dtype=gg.float64)):
        params, opt = make("Adafactor", starts(2), lr=lr, weight_decay=0.1)
        for t in range(3):
            set_grads(params, t)
            opt.step()
        runs.append(values(params))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_an_empty_parameter_only_counts_its_step():
    # PyTorch divides by the parameter's size here (ZeroDivisionError); an empty parameter has nothing to update.
    e = gg.zeros((0, 3), dtype=gg.float64, requires_grad=True)
    w = gg.tensor(np.ones((2, 2)), dtype=gg.float64, requires_grad=True)
    opt = optim.Adafactor([e, w])
    e.grad, w.grad = gg.zeros((0, 3), dtype=gg.float64), gg.ones((2, 2), dtype=gg.float64)
    opt.step()
    assert opt.state[e]["step"] == 1 and tuple(opt.state[e]["col_var"].shape) == (1, 3)
    assert not np.array_equal(w.detach().numpy(), np.ones((2, 2)))


def test_load_state_dict_checks_factor_shapes_before_changing_anything():
    params, opt = make("Adafactor", starts())
    set_grads(params, 0)
    opt.step()
    good = opt.state_dict()
    before = snapshot(opt)
    group = dict(good["param_groups"][0], lr=7.0)
    bad_row = {"state": {0: {"step": 1, "row_var": gg.zeros((5, 1)), "col_var": gg.zeros((1, 5))}},
               "param_groups": [group]}
    with pytest.raises(ValueError, match=r"row_var.*\(5, 1\).*\(3, 5\).*\(3, 1\)"):
        opt.load_state_dict(bad_row)
    factored_vector = {"state": {1: {"step": 1, "col_var": gg.zeros((1, 7))}}, "param_groups": [group]}
    with pytest.raises(ValueError, match=r"col_var.*2 or more dims.*\(7,\)"):
        opt.load_state_dict(factored_vector)
    bad_variance = {"state": {1: {"step": 1, "variance": gg.zeros(6)}}, "param_groups": [group]}
    with pytest.raises(ValueError, match=r"variance.*\(6,\)"):
        opt.load_state_dict(bad_variance)
    assert opt.param_groups[0]["lr"] == good["param_groups"][0]["lr"]
    after = snapshot(opt)
    for i in before:
        for k in before[i]:
            np.testing.assert_array_equal(after[i][k], before[i][k])


def test_loaded_state_is_copied_and_cast_to_the_parameter_dtype():
    params, opt = make("Adafactor", starts(), dtype=gg.float32)
    row = gg.tensor(np.full((3, 1), 0.5), dtype=gg.float64)
    sd = {"state": {0: {"step": 2, "row_var": row, "col_var": np.full((1, 5), 0.25)}},
          "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(sd)
    st = opt.state[params[0]]
    assert st["step"] == 2 and list(st) == ["step", "row_var", "col_var"]
    assert st["row_var"].dtype == gg.float32 and st["col_var"].dtype == gg.float32
    assert st["row_var"]._array is not row._array
    set_grads(params, 0, dtype=gg.float32)
    opt.step()
    assert opt.state[params[0]]["step"] == 3
    np.testing.assert_array_equal(row.numpy(), np.full((3, 1), 0.5))  # the caller's tensor is untouched


def test_parameter_replaced_by_one_of_another_shape_raises_and_changes_nothing():
    params, opt = make("Adafactor", starts())
    set_grads(params, 0)
    opt.step()
    before, state_before = values(params), snapshot(opt)
    params[0]._array = np.zeros((5, 3))  # same size, another shape: its factors no longer fit
    set_grads(params, 1)
    with pytest.raises(ValueError, match=r"parameter 0 now has shape \(5, 3\).*'row_var' has shape \(3, 1\)"):
        opt.step()
    for a, b in zip(before[1:], values(params)[1:]):
        np.testing.assert_array_equal(a, b)
    after = snapshot(opt)
    for i in state_before:
        for k in state_before[i]:
            np.testing.assert_array_equal(after[i][k], state_before[i][k])


@pytest.mark.parametrize("bad", ["grad shape", "hyper-parameter"])
def test_failed_step_changes_no_parameter_and_no_state(bad):
    params, opt = make("Adafactor", starts(), weight_decay=0.1)
    set_grads(params, 0)
    opt.step()
    before, state_before = values(params), snapshot(opt)
    set_grads(params, 1)
    if bad == "grad shape":
        params[3].grad._array = np.zeros(5)  # the last-but-one parameter: the first three must not move
        err, match = ValueError, r"parameter 3 \(group 0\) has shape \(5,\)"
    else:
        opt.param_groups[0]["d"] = 0.5
        err, match = ValueError, "d=0.5"
    with pytest.raises(err, match=match):
        opt.step()
    for a, b in zip(before, values(params)):
        np.testing.assert_array_equal(a, b)
    after = snapshot(opt)
    for i in state_before:
        assert after[i]["step"] == 1
        for k in state_before[i]:
            np.testing.assert_array_equal(after[i][k], state_before[i][k])


def test_eps_must_be_a_pair():
    p = gg.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="eps must be a pair"):
        optim.Adafactor([p], eps=1e-3)


def test_defaults_are_pytorchs():
    opt = optim.Adafactor([gg.zeros(2, requires_grad=True)])
    assert opt.defaults == dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, foreach=None,
                                maximize=False)
    assert opt.fused is False


def _torch_run(torch, tdtype, arrays, kwargs, steps, scale=1.0, skip=None):
    tp = [torch.tensor(a, dtype=tdtype, requires_grad=True) for a in arrays]
    topt = torch.optim.Adafactor(tp, **kwargs)
    for t in range(steps):
        for i, p in enumerate(tp):
            g = scale * grad(t, i, p.detach().numpy())
            p.grad = None if skip and i in skip.get(t, ()) else torch.tensor(g, dtype=tdtype)
        topt.step()
    return tp, topt


@pytest.mark.torch
@pytest.mark.parametrize("dtype,rtol,atol", [(gg.float64, 1e-12, 1e-14), (gg.float32, 1e-4, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("scale", [1.0, 1e-9], ids=["unit", "tiny"])  # tiny gradients: the eps1 clamps decide
def test_matches_torch_on_more_shapes(dtype, rtol, atol, scale):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype is gg.float64 else torch.float32
    arrays = starts(4, SHAPES)
    kwargs = dict(lr=0.2, weight_decay=0.01)
    skip = {2: {0, 5}}
    tp, topt = _torch_run(torch, tdtype, arrays, kwargs, 5, scale, skip)
    params, opt = make("Adafactor", arrays, dtype=dtype, **kwargs)
    for t in range(5):
        for i, p in enumerate(params):
            p.grad = None if i in skip.get(t, ()) else gg.tensor(scale * grad(t, i, p.detach().numpy()), dtype=dtype)
        opt.step()
    for got, p in zip(values(params), tp):
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=rtol, atol=atol)
    for i, st in topt.state_dict()["state"].items():
        ours = opt.state_dict()["state"][i]
        assert list(ours) == list(st) and ours["step"] == int(st["step"].item())
        for k in st:
            if k != "step":
                np.testing.assert_allclose(ours[k].numpy(), st[k].numpy(), rtol=rtol, atol=atol * scale**2, err_msg=k)


@pytest.mark.torch
def test_loads_a_pytorch_state_dict_and_continues_like_pytorch():
    torch = pytest.importorskip("torch")
    arrays = starts(6, SHAPES)
    kwargs = dict(lr=0.1, beta2_decay=-0.7, weight_decay=0.05, maximize=True)
    tp, topt = _torch_run(torch, torch.float64, arrays, kwargs, 3)
    tsd = topt.state_dict()
    # PyTorch's layout as it is: every state entry a tensor, the step a 0-d float32 one.
    sd = {"state": {i: {k: gg.tensor(v.numpy()) for k, v in st.items()} for i, st in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    params, opt = make("Adafactor", [p.detach().numpy() for p in tp])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["maximize"] is True and opt.state[params[0]]["step"] == 3
    for t in range(3, 6):
        for i, p in enumerate(tp):
            p.grad = torch.tensor(grad(t, i, p.detach().numpy()))
        topt.step()
        set_grads(params, t)
        opt.step()
    for p, q in zip(params, tp):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)


usable = gg.cuda.is_available() or backend.simulating_cuda()


@pytest.mark.cudasim
@pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1")
def test_on_cuda_matches_the_cpu():
    runs = []
    for device in ("cuda", "cpu"):
        arrays = starts(2, shapes=[(3, 5), (7,), (2, 3, 4)])
        params = [gg.tensor(a, dtype=gg.float32, device=device, requires_grad=True) for a in arrays]
        opt = optim.Adafactor(params, lr=0.1, weight_decay=0.1)
        for t in range(3):
            for i, p in enumerate(params):
                p.grad = gg.tensor(grad(t, i, p.detach().cpu().numpy()), dtype=gg.float32, device=device)
            opt.step()
        runs.append(([p.detach().cpu().numpy() for p in params], opt))
    (got, opt), (want, _) = runs
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    p = opt.param_groups[0]["params"][0]
    assert all(v.device == p.device for v in opt.state[p].values() if isinstance(v, gg.Tensor))
