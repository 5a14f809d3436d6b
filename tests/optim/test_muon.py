"""Muon against a NumPy reference written out here and against torch.optim.Muon; its state, errors.

Muon takes 2-D parameters only, so it has its own copies of the generic checks (the tables in
test_optimizers.py and test_state.py use vectors and scalars too).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, optim
from gpugrad.optim.muon import newton_schulz, round_bf16
from gpugrad.serialization import load, save

from .helpers import grad, starts, values

SHAPES = [(3, 5), (6, 2), (4, 4), (1, 3)]
COEFFICIENTS = (3.4445, -4.7750, 2.0315)


# The reference: PyTorch's documented algorithm in float64 NumPy, the orthogonalisation in bfloat16 -------
def bf16(x):
    """Round to bfloat16 (8 significant bits, ties to even) through frexp: independent of the bit trick."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    m, e = np.frexp(x)  # x = m 2^e, 0.5 <= |m| < 1
    return (np.round(m * 256.0) / 256.0 * 2.0**e).astype(np.float32)  # np.round: ties to even


def ns_reference(g, coefficients=COEFFICIENTS, steps=5, eps=1e-7):
    a, b, c = coefficients
    x = bf16(g)
    if g.shape[0] > g.shape[1]:
        x = x.T
    x = bf16(x / max(bf16(np.sqrt(np.sum(x * x))), eps))
    for _ in range(steps):
        A = bf16(x @ x.T)
        B = bf16(b * A + c * (A @ A))
        x = bf16(a * x + B @ x)
    return x.T if g.shape[0] > g.shape[1] else x


def muon_reference(p, g, st, *, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                   ns_coefficients=COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    buf = momentum * st.get("momentum_buffer", np.zeros_like(p)) + (1 - momentum) * g
    st["momentum_buffer"] = buf
    u = (1 - momentum) * g + momentum * buf if nesterov else buf
    o = ns_reference(u, ns_coefficients, ns_steps, eps).astype(np.float64)
    A, B = p.shape
    ratio = 0.2 * math.sqrt(max(A, B)) if adjust_lr_fn == "match_rms_adamw" else math.sqrt(max(1, A / B))
    return p * (1 - lr * weight_decay) - lr * ratio * o


CONFIGS = [
    dict(),
    dict(lr=0.02, momentum=0.8, nesterov=False, weight_decay=0.01, adjust_lr_fn="match_rms_adamw", ns_steps=3),
    dict(lr=0.05, adjust_lr_fn="original", ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3, weight_decay=0.0),
    dict(lr=0.01, momentum=0.0, ns_steps=0),
]
IDS = ["defaults", "plain-momentum-match_rms_adamw", "coefficients", "no-momentum-no-iterations"]


def make(arrays, dtype=gg.float64, **kwargs):
    params = [gg.tensor(a.copy(), dtype=dtype, requires_grad=True) for a in arrays]
    return params, optim.Muon(params, **kwargs)


def set_grads(params, t, dtype=gg.float64, skip=()):
    for i, p in enumerate(params):
        p.grad = None if i in skip else gg.tensor(grad(t, i, p.detach().numpy()), dtype=dtype)


def snapshot(opt):
    return {i: {k: v.numpy().copy() for k, v in st.items()} for i, st in opt.state_dict()["state"].items()}


def test_round_bf16_rounds_to_nearest_even():
    x = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -(1 + 3 * 2**-8), 3.4e38, -np.inf, np.inf,
                  0.0, -0.0, 1e-40], dtype=np.float32)
    want = [1.0, 1.0, 1 + 2**-6, 1 + 2**-7, -(1 + 2**-6), np.inf, -np.inf, np.inf, 0.0, -0.0, 1e-40]
    got = round_bf16(np, x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[:-1], np.array(want[:-1], dtype=np.float32))
    assert np.signbit(got[9]) and np.isnan(round_bf16(np, np.array([np.nan]))).all()
    rng = np.random.default_rng(0)
    r = rng.standard_normal(10_000) * np.exp(rng.uniform(-20, 20, 10_000))
    np.testing.assert_array_equal(round_bf16(np, r), bf16(r))
    assert round_bf16(np, np.float64(1 + 2**-8 + 2**-40)) == 1.0  # double -> float32 first, as PyTorch


def test_newton_schulz_orthogonalises():
    g = np.random.default_rng(1).standard_normal((6, 10))
    s = np.linalg.svd(newton_schulz(np, g, COEFFICIENTS, 5, 1e-7).astype(np.float64), compute_uv=False)
    assert s.min() > 0.5 and s.max() < 1.3  # U S' V^T with S' near 1 (the quintic overshoots by design)
    np.testing.assert_array_equal(newton_schulz(np, np.zeros((3, 4)), COEFFICIENTS, 5, 1e-7), np.zeros((3, 4)))


@pytest.mark.parametrize("kwargs", CONFIGS, ids=IDS)
def test_matches_the_numpy_reference(kwargs):
    arrays = starts(0, SHAPES)
    params, opt = make(arrays, **kwargs)
    states = [{} for _ in arrays]
    ps = [a.copy() for a in arrays]
    skip = {1: {2}}
    for t in range(3):
        set_grads(params, t, skip=skip.get(t, ()))
        opt.step()
        for i in range(len(ps)):
            if i not in skip.get(t, ()):
                ps[i] = muon_reference(ps[i], grad(t, i, ps[i]), states[i], **kwargs)
    for got, want in zip(values(params), ps):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for p, want in zip(params, states):
        assert list(opt.state[p]) == ["momentum_buffer"]
        got = opt.state[p]["momentum_buffer"].numpy()
        np.testing.assert_allclose(got, want["momentum_buffer"], rtol=1e-12, atol=1e-14)


def test_a_zero_gradient_only_decays():
    p0 = np.arange(6.0).reshape(2, 3)
    p = gg.tensor(p0, dtype=gg.float64, requires_grad=True)
    opt = optim.Muon([p], lr=0.1, weight_decay=0.5)
    p.grad = gg.zeros((2, 3), dtype=gg.float64)
    opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), p0 * (1 - 0.1 * 0.5))


def test_tensor_lr_and_float_lr_agree():
    runs = []
    for lr in (0.02, gg.tensor(0.02, dtype=gg.float64)):
        params, opt = make(starts(2, SHAPES), lr=lr)
        for t in range(3):
            set_grads(params, t)
            opt.step()
        runs.append(values(params))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_state_dict_round_trip_continues_identically(tmp_path):
    arrays = starts(3, SHAPES)
    kwargs = dict(lr=0.02, nesterov=False, adjust_lr_fn="match_rms_adamw")
    params, opt = make(arrays, **kwargs)
    for t in range(3):
        set_grads(params, t)
        opt.step()
    save({"params": [p.detach() for p in params], "optimizer": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    for t in range(3, 6):
        set_grads(params, t)
        opt.step()
    ckpt = load(tmp_path / "ckpt.safetensors")
    params2, opt2 = make([t.numpy() for t in ckpt["params"]], lr=123.0)
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.02 and opt2.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    for t in range(3, 6):
        set_grads(params2, t)
        opt2.step()
    for a, b in zip(values(params), values(params2)):
        np.testing.assert_array_equal(a, b)
    s1, s2 = snapshot(opt), snapshot(opt2)
    assert s1.keys() == s2.keys()
    for i in s1:
        np.testing.assert_array_equal(s1[i]["momentum_buffer"], s2[i]["momentum_buffer"])


@pytest.mark.parametrize("bad", ["grad shape", "hyper-parameter", "not 2-D any more"])
def test_failed_step_changes_no_parameter_and_no_state(bad):
    params, opt = make(starts(0, SHAPES))
    set_grads(params, 0)
    opt.step()
    before, state_before = values(params), snapshot(opt)
    set_grads(params, 1)
    if bad == "grad shape":
        params[2].grad._array = np.zeros(16)
        match = r"parameter 2 \(group 0\) has shape \(16,\)"
    elif bad == "hyper-parameter":
        opt.param_groups[0]["ns_steps"] = 100
        match = "less than 100"
    else:
        params[2]._array = np.zeros(16)
        params[2].grad._array = np.zeros(16)
        match = r"2D parameters.*\(16,\)"
    with pytest.raises(ValueError, match=match):
        opt.step()
    for a, b in zip(before, values(params)):
        if a.shape == b.shape:
            np.testing.assert_array_equal(a, b)
    after = snapshot(opt)
    for i in state_before:
        np.testing.assert_array_equal(after[i]["momentum_buffer"], state_before[i]["momentum_buffer"])


ERRORS = [
    (dict(lr=-0.1), "lr=-0.1"),
    (dict(momentum=-0.5), "momentum=-0.5"),
    (dict(weight_decay=-0.1), "weight_decay=-0.1"),
    (dict(adjust_lr_fn="sqrt"), "Adjust learning rate function 'sqrt' is not supported"),
    (dict(ns_steps=100), "less than 100"),
    (dict(ns_steps=2.5), "less than 100"),
    (dict(ns_coefficients=(1.0, 2.0)), "exactly 3 values"),
]


@pytest.mark.parametrize("kwargs,match", ERRORS, ids=[m for _, m in ERRORS])
def test_construction_refuses_bad_hyper_parameters(kwargs, match):
    p = gg.zeros((2, 3), requires_grad=True)
    with pytest.raises(ValueError, match=match):
        optim.Muon([p], **kwargs)
    good = optim.Muon([p])
    with pytest.raises(ValueError, match=match):
        good.add_param_group({"params": [gg.zeros((2, 2), requires_grad=True)], **kwargs})
    assert len(good.param_groups) == 1


@pytest.mark.parametrize("shape", [(3,), (), (2, 3, 4)])
def test_only_2d_parameters(shape):
    w = gg.zeros((2, 3), requires_grad=True)
    with pytest.raises(ValueError, match=rf"Muon only supports 2D parameters.*{re_shape(shape)}"):
        optim.Muon([w, gg.zeros(shape, requires_grad=True)])
    opt = optim.Muon(iter([w]))  # a generator is read once
    with pytest.raises(ValueError, match="2D parameters"):
        new = [gg.zeros((2, 2), requires_grad=True), gg.zeros(shape, requires_grad=True)]
        opt.add_param_group({"params": (p for p in new)})
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["params"] == [w]


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_defaults_are_pytorchs():
    opt = optim.Muon([gg.zeros((2, 2), requires_grad=True)])
    assert opt.defaults == dict(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                                ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None)


# Against PyTorch ------------------------------------------------------------------------------------------
@pytest.mark.torch
def test_round_bf16_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal(100_000) * np.exp(rng.uniform(-80, 80, 100_000))
    np.testing.assert_array_equal(round_bf16(np, x), torch.tensor(x).bfloat16().float().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (2, 7), (8, 3), (1, 4)])
@pytest.mark.parametrize("coefficients,steps", [(COEFFICIENTS, 5), ((2.0, -1.5, 0.5), 3), (COEFFICIENTS, 0)],
                         ids=["defaults", "other", "no-iterations"])
def test_newton_schulz_matches_torch(shape, coefficients, steps):
    torch = pytest.importorskip("torch")
    from torch.optim._muon import _zeropower_via_newtonschulz

    for seed in range(5):
        g = np.random.default_rng([seed, *shape]).standard_normal(shape)
        want = _zeropower_via_newtonschulz(torch.tensor(g), coefficients, steps, 1e-7).float().numpy()
        # Small matrices: float32 sums of a few exact bfloat16 products round the same in any order.
        np.testing.assert_array_equal(newton_schulz(np, g, coefficients, steps, 1e-7), want)


@pytest.mark.torch
@pytest.mark.parametrize("dtype,rtol,atol", [(gg.float64, 1e-12, 1e-14), (gg.float32, 1e-5, 1e-6)], ids=["f64", "f32"])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=IDS)
def test_matches_torch(kwargs, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype is gg.float64 else torch.float32
    arrays = starts(5, SHAPES)
    skip = {1: {2}}
    tp = [torch.tensor(a, dtype=tdtype, requires_grad=True) for a in arrays]
    topt = torch.optim.Muon(tp, **kwargs)
    params, opt = make(arrays, dtype=dtype, **kwargs)
    for t in range(5):
        for i, p in enumerate(tp):
            p.grad = None if i in skip.get(t, ()) else torch.tensor(grad(t, i, p.detach().numpy()), dtype=tdtype)
        topt.step()
        set_grads(params, t, dtype=dtype, skip=skip.get(t, ()))
        opt.step()
    for got, p in zip(values(params), tp):
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=rtol, atol=atol)
    tsd, ours = topt.state_dict(), opt.state_dict()
    assert tsd["state"].keys() == ours["state"].keys()
    for i, st in tsd["state"].items():
        assert list(st) == list(ours["state"][i]) == ["momentum_buffer"]
        np.testing.assert_allclose(ours["state"][i]["momentum_buffer"].numpy(), st["momentum_buffer"].numpy(),
                                   rtol=rtol, atol=atol)
    for k, v in ours["param_groups"][0].items():
        tv = tsd["param_groups"][0][k]
        assert tv == (list(v) if isinstance(v, tuple) and isinstance(tv, list) else v), k


@pytest.mark.torch
def test_loads_a_pytorch_state_dict_and_continues_like_pytorch():
    torch = pytest.importorskip("torch")
    arrays = starts(6, SHAPES)
    tp = [torch.tensor(a, requires_grad=True) for a in arrays]
    topt = torch.optim.Muon(tp, lr=0.02, momentum=0.9)

    def torch_steps(ts):
        for t in ts:
            for i, p in enumerate(tp):
                p.grad = torch.tensor(grad(t, i, p.detach().numpy()))
            topt.step()

    torch_steps(range(3))
    tsd = topt.state_dict()
    sd = {"state": {i: {k: gg.tensor(v.numpy()) for k, v in st.items()} for i, st in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    params, opt = make([p.detach().numpy() for p in tp])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["momentum"] == 0.9
    torch_steps(range(3, 6))
    for t in range(3, 6):
        set_grads(params, t)
        opt.step()
    for p, q in zip(params, tp):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_defaults_and_errors_match_torch():
    torch = pytest.importorskip("torch")
    assert optim.Muon([gg.zeros((2, 2), requires_grad=True)]).defaults == \
        torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)]).defaults
    for kwargs, _ in ERRORS[:4]:
        with pytest.raises(ValueError):
            torch.optim.Muon([torch.zeros(2, 3, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="2D parameters"):
        torch.optim.Muon([torch.zeros(3, requires_grad=True)])


usable = gg.cuda.is_available() or backend.simulating_cuda()


@pytest.mark.cudasim
@pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1")
def test_on_cuda_matches_the_cpu():
    runs = []
    for device in ("cuda", "cpu"):
        params = [gg.tensor(a, dtype=gg.float32, device=device, requires_grad=True) for a in starts(2, SHAPES)]
        opt = optim.Muon(params, lr=0.02)
        for t in range(3):
            for i, p in enumerate(params):
                p.grad = gg.tensor(grad(t, i, p.detach().cpu().numpy()), dtype=gg.float32, device=device)
            opt.step()
        runs.append(([p.detach().cpu().numpy() for p in params], opt))
    (got, opt), (want, _) = runs
    for a, b in zip(got, want):
        # cuBLAS may sum in another order: allow a bfloat16 rounding flip in the update (lr 0.02 * 2^-8).
        np.testing.assert_allclose(a, b, rtol=0, atol=3 * 0.02 * 2**-7)
    p = opt.param_groups[0]["params"][0]
    assert opt.state[p]["momentum_buffer"].device == p.device
