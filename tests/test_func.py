"""gpugrad.func, as torch.func: gradients, Jacobians, Hessians, vjp and jvp (composable), vmap (one call
per sample), functional_call and stack_module_state; values against closed forms and against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import func, nn


def t64(values, requires_grad=False):
    return gg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_grad_composes_and_takes_argnums_and_aux():
    cube = lambda x: (x**3).sum()  # noqa: E731
    x = t64([1.0, 2.0])
    assert func.grad(cube)(x).tolist() == [3.0, 12.0] and not func.grad(cube)(x).requires_grad
    assert func.grad(func.grad(lambda s: s**3))(t64(2.0)).item() == 12.0
    gx, gy = func.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, t64([5.0, 7.0]))
    assert gx.tolist() == [5.0, 7.0] and gy.tolist() == [1.0, 2.0]
    g, aux = func.grad(lambda a: ((a**2).sum(), "note"), has_aux=True)(x)
    assert g.tolist() == [2.0, 4.0] and aux == "note"
    g, (value, aux) = func.grad_and_value(lambda a: ((a**2).sum(), 3), has_aux=True)(x)
    assert value.item() == 5.0 and aux == 3
    with pytest.raises(RuntimeError, match="scalar"):
        func.grad(lambda a: a * 2)(x)


def test_jacobians_hessian_vjp_jvp():
    x = t64([1.0, 2.0, 3.0])
    np.testing.assert_allclose(func.jacrev(lambda a: a**2)(x).numpy(), np.diag([2.0, 4.0, 6.0]))
    np.testing.assert_allclose(func.jacfwd(lambda a: a.sin())(x).numpy(), np.diag(np.cos([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(func.hessian(lambda a: (a**3).sum())(x).numpy(), np.diag([6.0, 12.0, 18.0]))
    out, pull = func.vjp(lambda a: a**2, x)
    assert out.tolist() == [1.0, 4.0, 9.0] and pull(t64([1.0, 1.0, 1.0]))[0].tolist() == [2.0, 4.0, 6.0]
    value, tangent = func.jvp(lambda a: a**2, (x,), (t64([1.0, 0.0, 2.0]),))
    assert value.tolist() == [1.0, 4.0, 9.0] and tangent.tolist() == [2.0, 0.0, 12.0]


def test_vmap_maps_and_stacks_and_guards_randomness():
    batch = gg.arange(12.0).reshape(3, 4)
    assert func.vmap(lambda a: a.sum())(batch).tolist() == [6.0, 22.0, 38.0]
    scaled = gg.vmap(lambda a, b: a * b, in_dims=(1, None), out_dims=1)(batch, gg.tensor([1.0, 10.0, 100.0]))
    assert scaled.shape == (3, 4) and scaled[:, 0].tolist() == [0.0, 40.0, 800.0]
    pair = func.vmap(lambda a: (a.min(), a.max()))(batch)
    assert pair[0].tolist() == [0.0, 4.0, 8.0] and pair[1].tolist() == [3.0, 7.0, 11.0]
    with pytest.raises(RuntimeError, match="randomness error mode"):
        func.vmap(lambda a: a + gg.randn(()))(batch)
    same = func.vmap(lambda a: gg.randn(()), randomness="same")(batch)
    assert len(set(same.tolist())) == 1 and len(set(func.vmap(lambda a: gg.randn(()), randomness="different")(batch).tolist())) == 3
    with pytest.raises(ValueError, match="same size"):
        func.vmap(lambda a, b: a + b)(gg.ones(2), gg.ones(3))


def test_functional_call_and_an_ensemble_through_vmap():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = gg.randn(5, 3)
    own = {k: v.detach().clone() for k, v in model.named_parameters()}
    zeros = {k: gg.zeros_like(v) for k, v in own.items()}
    assert func.functional_call(model, zeros, (x,)).abs().sum().item() == 0.0
    np.testing.assert_array_equal(model(x).detach().numpy(), func.functional_call(model, own, x).detach().numpy())
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): .0.bias."):
        func.functional_call(model, {"0.weight": zeros["0.weight"]}, (x,), strict=True)
    models = [nn.Linear(3, 2) for _ in range(4)]
    params, buffers = func.stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and params["weight"].requires_grad and buffers == {}
    ensemble = func.vmap(lambda p, b, data: func.functional_call(models[0], (p, b), (data,)), in_dims=(0, 0, None))
    outputs = ensemble(params, buffers, x)
    for k, m in enumerate(models):
        np.testing.assert_allclose(outputs[k].detach().numpy(), m(x).detach().numpy(), rtol=1e-6)


@pytest.mark.torch
def test_transforms_match_torch_func():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(3).standard_normal((3, 4))

    def results(lib, transforms):
        pair = transforms.grad(lambda a, b: ((a @ b.T).tanh() * a.sum()).sum(), argnums=(0, 1))(
            lib.tensor(data), lib.tensor(data[:2]))
        return (
            *pair,
            transforms.hessian(lambda a: (a.sin() * a).sum())(lib.tensor(data[0])),
            transforms.jacrev(lambda a: a.cumsum(0) * a)(lib.tensor(data[1])),
            transforms.vmap(lambda row: row.exp() / row.exp().sum())(lib.tensor(data)),
        )

    for ours, theirs in zip(results(gg, func), results(torch, torch.func)):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)


def test_grad_over_a_dict_of_parameters_gives_per_sample_gradients():
    """The per-sample-gradient recipe: vmap(grad(loss)) with the model's parameters as a dict."""
    model = gg.nn.Linear(4, 3)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(params, x, t):
        out = gg.func.functional_call(model, params, (x.unsqueeze(0),))
        return gg.nn.functional.cross_entropy(out, t.unsqueeze(0))

    x, t = gg.randn(5, 4), gg.tensor([0, 1, 2, 1, 0])
    per_sample = gg.func.vmap(gg.func.grad(loss), in_dims=(None, 0, 0))(params, x, t)
    assert set(per_sample) == {"weight", "bias"} and per_sample["weight"].shape == (5, 3, 4)
    for i in range(5):  # each sample's gradient is that sample's own backward
        model.zero_grad()
        loss({k: v for k, v in model.named_parameters()}, x[i], t[i]).backward()
        np.testing.assert_allclose(per_sample["weight"][i].numpy(), model.weight.grad.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(per_sample["bias"][i].numpy(), model.bias.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_an_output_that_does_not_require_grad_has_zero_derivatives():
    """A function whose output autograd does not track (a step function, a torch.special function PyTorch
    does not differentiate) is a constant for the transforms: zeros (+0, finite at an infinite input), as
    torch.func gives, where autograd.grad would raise."""
    x = gg.tensor([-1.0, float("inf"), 3.0])
    step = lambda t: (t > 0).float()  # noqa: E731
    assert func.grad(lambda t: step(t).sum())(x).tolist() == [0.0, 0.0, 0.0]
    assert np.signbit(func.grad(lambda t: step(t).sum())(x).numpy()).sum() == 0
    assert func.grad(lambda t: gg.special.bessel_j0(t).sum() + t[0])(x).tolist() == [1.0, 0.0, 0.0]
    assert func.jacrev(step)(x).tolist() == [[0.0] * 3] * 3
    assert func.vjp(step, x)[1](gg.ones(3))[0].tolist() == [0.0, 0.0, 0.0]
    value, tangent = func.jvp(step, (x,), (gg.ones(3),))
    assert value.tolist() == [0.0, 1.0, 1.0] and tangent.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.autograd.grad(step(x.requires_grad_()).sum(), x)


def test_vmap_over_an_empty_batch_gives_empty_outputs():
    # PyTorch maps over a batch of 0 samples too (opacus' per-sample gradients of an empty Poisson batch)
    x, w = gg.zeros(0, 3, 4), gg.ones(4, 2)
    assert gg.func.vmap(lambda a: a @ w)(x).shape == (0, 3, 2)
    pair = gg.func.vmap(lambda a: (a.sum(), a.t()), out_dims=(0, 1))(x)
    assert pair[0].shape == (0,) and pair[1].shape == (4, 0, 3)
    grads = gg.func.vmap(gg.func.grad(lambda p, a: (a @ p).sum()), in_dims=(None, 0))(w, x)
    assert grads.shape == (0, 4, 2)
    gg.manual_seed(0)
    state = gg.get_rng_state()
    assert gg.func.vmap(lambda a: a + gg.rand(4), randomness="different")(x).shape == (0, 3, 4)
    assert gg.rand(2).tolist() == (gg.set_rng_state(state), gg.rand(2))[1].tolist()  # no draw kept
