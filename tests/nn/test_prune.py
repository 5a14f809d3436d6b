"""nn.utils.prune: the reparameterisation (weight_orig, weight_mask, the pre-hook), every method's mask,
iterative and global pruning, removal and errors; against PyTorch for the deterministic methods (masks,
state_dict keys and the gradient of weight_orig), ties included."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn.utils import prune


def _linear(w: np.ndarray, b: np.ndarray | None = None) -> nn.Linear:
    layer = nn.Linear(w.shape[1], w.shape[0]).double()
    with gg.no_grad():
        layer.weight.copy_(gg.tensor(w))
        if b is not None:
            layer.bias.copy_(gg.tensor(b))
    return layer


def _zeros(t) -> int:
    return int((t.numpy() == 0).sum())


def test_reparameterisation_layout_and_forward():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4))
    layer = _linear(w)
    weight = layer.weight
    assert prune.l1_unstructured(layer, "weight", amount=0.5) is layer
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    assert layer.weight_orig is weight  # the same Parameter object moves
    assert [n for n, _ in layer.named_buffers()] == ["weight_mask"]
    assert list(layer.state_dict().keys()) == ["bias", "weight_orig", "weight_mask"]
    assert not isinstance(layer.weight, nn.Parameter) and "weight" in layer.__dict__
    mask = layer.weight_mask.numpy()
    assert mask.dtype == np.float64 and _zeros(layer.weight_mask) == 6
    expected = np.abs(w).ravel() > np.sort(np.abs(w).ravel())[5]
    np.testing.assert_array_equal(mask.ravel(), expected.astype(np.float64))
    np.testing.assert_array_equal(layer.weight.detach().numpy(), w * mask)  # set at prune time
    assert prune.is_pruned(layer) and prune.is_pruned(nn.Sequential(nn.ReLU(), layer))
    assert not prune.is_pruned(nn.Linear(2, 2))
    # The pre-hook recomputes weight from weight_orig before each forward.
    with gg.no_grad():
        layer.weight_orig.add_(1.0)
    x = gg.tensor(rng.standard_normal((2, 4)))
    out = layer(x)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), (w + 1.0) * mask)
    np.testing.assert_allclose(out.detach().numpy(), x.numpy() @ ((w + 1.0) * mask).T + layer.bias.detach().numpy())
    # Gradients reach weight_orig through the mask only (random cotangent).
    r = rng.standard_normal((2, 3))
    (out * gg.tensor(r)).sum().backward()
    np.testing.assert_allclose(layer.weight_orig.grad.numpy(), (r.T @ x.numpy()) * mask, rtol=1e-12)
    assert layer.weight_mask.grad is None and not layer.weight_mask.requires_grad


def test_amount_int_and_float_and_importance_scores():
    rng = np.random.default_rng(1)
    layer = _linear(rng.standard_normal((4, 5)))
    prune.l1_unstructured(layer, "weight", amount=7)
    assert _zeros(layer.weight_mask) == 7
    layer = _linear(rng.standard_normal((4, 5)))
    prune.l1_unstructured(layer, "weight", amount=0.33)  # round(6.6) = 7
    assert _zeros(layer.weight_mask) == 7
    layer = _linear(rng.standard_normal((4, 5)))
    prune.l1_unstructured(layer, "weight", amount=0.0)
    assert _zeros(layer.weight_mask) == 0
    scores = gg.tensor(np.arange(20.0).reshape(4, 5))  # prune the first 3 entries, whatever the weights
    layer = _linear(rng.standard_normal((4, 5)))
    prune.l1_unstructured(layer, "weight", amount=3, importance_scores=scores)
    np.testing.assert_array_equal(np.flatnonzero(layer.weight_mask.numpy().ravel() == 0), [0, 1, 2])
    layer = _linear(rng.standard_normal((4, 5)))
    prune.ln_structured(layer, "weight", amount=1, n=1, dim=0, importance_scores=scores)
    np.testing.assert_array_equal(layer.weight_mask.numpy().sum(axis=1), [0, 5, 5, 5])


def test_structured_masks():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 6))
    layer = _linear(w)
    prune.ln_structured(layer, "weight", amount=0.5, n=2, dim=0)
    keep = np.argsort(np.linalg.norm(w, axis=1))[2:]
    np.testing.assert_array_equal(np.flatnonzero(layer.weight_mask.numpy().sum(axis=1)), np.sort(keep))
    conv = nn.Conv2d(3, 4, 2)
    prune.ln_structured(conv, "weight", amount=2, n=float("inf"), dim=1)
    per_channel = conv.weight_mask.numpy().sum(axis=(0, 2, 3))
    assert sorted(per_channel.tolist()) == [0.0, 0.0, 16.0]
    gg.manual_seed(0)
    layer = nn.Linear(6, 4)
    prune.random_structured(layer, "weight", amount=2, dim=-1)
    columns = layer.weight_mask.numpy().sum(axis=0)
    assert sorted(columns.tolist()) == [0, 0, 4, 4, 4, 4]


def test_random_methods_are_reproducible_with_manual_seed():
    masks = []
    for _ in range(2):
        gg.manual_seed(123)
        layer = nn.Linear(8, 5)
        prune.random_unstructured(layer, "weight", amount=0.25)
        prune.random_structured(layer, "weight", amount=1, dim=0)
        masks.append(layer.weight_mask.numpy().copy())
    np.testing.assert_array_equal(masks[0], masks[1])
    gg.manual_seed(5)
    layer = nn.Linear(8, 5)
    prune.random_unstructured(layer, "weight", amount=10)
    assert _zeros(layer.weight_mask) == 10


def test_iterative_pruning_composes_on_unpruned_entries():
    w = np.arange(1.0, 13.0).reshape(3, 4)  # distinct magnitudes: every step's choice is known
    layer = _linear(w)
    prune.l1_unstructured(layer, "weight", amount=3)  # 1, 2, 3
    first_hook = next(iter(layer._forward_pre_hooks.values()))
    prune.l1_unstructured(layer, "weight", amount=2)  # of the 9 left: 4, 5
    hooks = list(layer._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert len(hooks[0]) == 2 and hooks[0][0] is first_hook
    np.testing.assert_array_equal(np.flatnonzero(layer.weight_mask.numpy().ravel() == 0), [0, 1, 2, 3, 4])
    prune.ln_structured(layer, "weight", amount=1, n=1, dim=1)  # column 0 (1+5+9 counts pruned 1, 5 too)
    assert len(hooks[0]) == 3
    mask = layer.weight_mask.numpy()
    np.testing.assert_array_equal(mask, [[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1]])
    # Structured pruning skips channels already wholly pruned: none of the 3 live columns is column 0.
    prune.ln_structured(layer, "weight", amount=1, n=1, dim=1)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    prune.custom_from_mask(layer, "weight", mask=gg.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]]))
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]])
    np.testing.assert_array_equal(layer.weight.detach().numpy(), w * layer.weight_mask.numpy())
    assert list(layer.state_dict().keys()) == ["bias", "weight_orig", "weight_mask"]


def test_remove_makes_the_pruning_permanent():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 4))
    layer = _linear(w)
    orig = layer.weight
    prune.l1_unstructured(layer, "weight", amount=5)
    prune.identity(layer, "bias")
    mask = layer.weight_mask.numpy().copy()
    assert prune.remove(layer, "weight") is layer
    assert isinstance(layer.weight, nn.Parameter) and layer.weight is orig and layer.weight.requires_grad
    np.testing.assert_array_equal(layer.weight.detach().numpy(), w * mask)
    assert [n for n, _ in layer.named_parameters()] == ["bias_orig", "weight"]
    assert [n for n, _ in layer.named_buffers()] == ["bias_mask"]
    assert prune.is_pruned(layer)
    prune.remove(layer, "bias")
    assert not prune.is_pruned(layer) and layer._forward_pre_hooks == {}
    assert list(layer.state_dict().keys()) == ["weight", "bias"]  # re-registered in removal order
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")
    layer(gg.randn(2, 4, dtype=gg.float64)).sum().backward()
    assert layer.weight.grad is not None


def test_training_through_a_pruned_layer_and_after_remove():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))  # Linear + ReLU: the fused path
    prune.l1_unstructured(model[0], "weight", amount=8)
    mask = model[0].weight_mask.numpy().copy()
    opt = gg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, target = gg.randn(6, 5), gg.randn(6, 2)
    before = model[0].weight_orig.detach().numpy().copy()
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), target).backward()
        np.testing.assert_array_equal(model[0].weight_orig.grad.numpy()[mask == 0], 0)
        opt.step()
    after = model[0].weight_orig.detach().numpy()
    np.testing.assert_array_equal(after[mask == 0], before[mask == 0])  # pruned entries get no gradient
    assert not np.array_equal(after[mask == 1], before[mask == 1])
    model(x)
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), after * mask)
    prune.remove(model[0], "weight")
    kept = model[0].weight.detach().numpy().copy()
    opt.zero_grad()
    nn.functional.mse_loss(model(x), target).backward()
    opt.step()  # the optimizer still holds this Parameter (weight_orig before) and updates it
    assert not np.array_equal(model[0].weight.detach().numpy(), kept)


def test_global_unstructured_across_two_layers():
    first = _linear(np.array([[1.0, -8.0], [3.0, 0.5]]))
    second = _linear(np.array([[-2.0, 7.0, 0.25], [6.0, -4.0, 5.0]]))
    params = [(first, "weight"), (second, "weight")]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=4)  # 0.25, 0.5, 1, 2
    np.testing.assert_array_equal(first.weight_mask.numpy(), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(second.weight_mask.numpy(), [[0, 1, 0], [1, 1, 1]])
    assert list(first.state_dict().keys()) == ["bias", "weight_orig", "weight_mask"]
    # Again, a fraction of what is left (3, 4, 5, 6, 7, 8): round(0.34 * 6) = 2 more.
    prune.global_unstructured(iter(params), pruning_method=prune.L1Unstructured, amount=0.34)
    np.testing.assert_array_equal(first.weight_mask.numpy(), [[0, 1], [0, 0]])
    np.testing.assert_array_equal(second.weight_mask.numpy(), [[0, 1, 0], [1, 0, 1]])
    assert isinstance(next(iter(first._forward_pre_hooks.values())), prune.PruningContainer)
    # Importance scores replace a parameter's magnitudes in the ranking.
    a, b = _linear(np.ones((2, 2))), _linear(np.ones((1, 2)))
    scores = {(a, "weight"): gg.tensor([[4.0, 3.0], [2.0, 1.0]])}
    prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured, importance_scores=scores, amount=2)
    np.testing.assert_array_equal(a.weight_mask.numpy(), [[1, 1], [1, 0]])
    assert _zeros(b.weight_mask) == 1


def test_method_objects_and_containers():
    assert prune.L1Unstructured.PRUNING_TYPE == "unstructured" and prune.RandomUnstructured.PRUNING_TYPE == "unstructured"
    assert prune.LnStructured.PRUNING_TYPE == "structured" and prune.RandomStructured.PRUNING_TYPE == "structured"
    assert prune.CustomFromMask.PRUNING_TYPE == "global" and prune.Identity.PRUNING_TYPE == "unstructured"
    with pytest.raises(TypeError):
        prune.BasePruningMethod()  # abstract: compute_mask
    t = gg.tensor([[3.0, -1.0], [0.5, 2.0]])
    np.testing.assert_array_equal(prune.L1Unstructured(amount=2).prune(t).numpy(), [[3.0, 0.0], [0.0, 2.0]])
    scores = gg.tensor([[0.0, 9.0], [9.0, 9.0]])
    np.testing.assert_array_equal(prune.L1Unstructured(1).prune(t, importance_scores=scores).numpy(), [[0.0, -1.0], [0.5, 2.0]])
    layer = nn.Linear(3, 2)
    method = prune.L1Unstructured.apply(layer, "weight", amount=1)
    assert isinstance(method, prune.L1Unstructured) and method._tensor_name == "weight"
    container = prune.LnStructured.apply(layer, "weight", 1, 2, 0)
    assert isinstance(container, prune.PruningContainer) and [type(m) for m in container] == [
        prune.L1Unstructured, prune.LnStructured]
    stray = prune.Identity()
    stray._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter named 'weight'"):
        container.add_pruning_method(stray)
    with pytest.raises(TypeError, match="is not a BasePruningMethod subclass"):
        container.add_pruning_method("l1")


def test_errors_and_rollback():
    for bad in ("0.5", None, [1]):
        with pytest.raises(TypeError, match="Invalid type for amount"):
            prune.L1Unstructured(bad)
    for bad in (-1, 1.5, -0.1):
        with pytest.raises(ValueError, match="should either be a float in the range"):
            prune.RandomUnstructured(bad)
    layer = nn.Linear(4, 3)
    weight = layer.weight
    with pytest.raises(ValueError, match="amount=20 should be smaller than the number of parameters to prune=12"):
        prune.l1_unstructured(layer, "weight", amount=20)
    # A failed first pruning leaves the module as it was (the parameter registered anew, last, as in PyTorch).
    assert layer.weight is weight and [n for n, _ in layer.named_parameters()] == ["bias", "weight"]
    assert not prune.is_pruned(layer) and list(layer.named_buffers()) == []
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional tensors"):
        prune.ln_structured(layer, "bias", amount=1, n=2, dim=0)
    with pytest.raises(IndexError, match="Invalid index 2 for tensor of size"):
        prune.random_structured(layer, "weight", amount=1, dim=2)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        prune.l1_unstructured(layer, "weight", amount=1, importance_scores=gg.ones(4))
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE supported'):
        prune.global_unstructured([(layer, "weight")], prune.LnStructured, amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="importance_scores must be of type dict"):
        prune.global_unstructured([(layer, "weight")], prune.L1Unstructured, importance_scores=[], amount=1)
    with pytest.raises(TypeError, match="parameters is not an Iterable"):
        prune.global_unstructured(3, prune.L1Unstructured, amount=1)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")
    prune.l1_unstructured(layer, "weight", amount=2)
    with pytest.raises(AssertionError, match="must match"):
        prune.custom_from_mask(layer, "weight", mask=gg.ones(3))
    # A failed later step keeps the pruning as it was (PyTorch drops the hook here).
    assert _zeros(layer.weight_mask) == 2 and prune.is_pruned(layer)
    hook = next(iter(layer._forward_pre_hooks.values()))
    assert isinstance(hook, prune.L1Unstructured)
    with pytest.raises(ValueError, match="amount=13 should be smaller"):
        prune.l1_unstructured(layer, "weight", amount=13)
    with pytest.raises(ValueError, match="should either be a float"):
        prune.l1_unstructured(layer, "weight", amount=-1)
    assert next(iter(layer._forward_pre_hooks.values())) is hook
    prune.l1_unstructured(layer, "weight", amount=1)
    container = next(iter(layer._forward_pre_hooks.values()))
    with pytest.raises(ValueError, match="amount=11 should be smaller"):
        prune.l1_unstructured(layer, "weight", amount=11)
    assert next(iter(layer._forward_pre_hooks.values())) is container and len(container) == 2
    assert _zeros(layer.weight_mask) == 3


def test_ties_follow_torch_topk_without_torch():
    # Twelve equal magnitudes, 5 to prune: PyTorch's CPU topk (libstdc++ nth_element) picks these.
    layer = _linear(np.ones((3, 4)))
    prune.l1_unstructured(layer, "weight", amount=5)
    np.testing.assert_array_equal(np.flatnonzero(layer.weight_mask.numpy().ravel() == 0), [6, 7, 8, 9, 10])


# Against PyTorch --------------------------------------------------------------------------------------
def _pair(torch, w, b=None, conv=False):
    if conv:
        ours, theirs = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2]).double(), torch.nn.Conv2d(
            w.shape[1], w.shape[0], w.shape[2]).double()
    else:
        ours, theirs = nn.Linear(w.shape[1], w.shape[0]).double(), torch.nn.Linear(w.shape[1], w.shape[0]).double()
    b = np.zeros(w.shape[0]) if b is None else b
    for lib, layer in ((gg, ours), (torch, theirs)):
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
            layer.bias.copy_(lib.tensor(b))
    return ours, theirs


def _same_state(torch, ours, theirs, x, rng):
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), theirs.state_dict()[key].numpy(), err_msg=key)
    out_ours, out_theirs = ours(gg.tensor(x)), theirs(torch.tensor(x))
    r = rng.standard_normal(tuple(out_ours.shape))
    (out_ours * gg.tensor(r)).sum().backward()
    (out_theirs * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("ties", [False, True])
def test_l1_and_ln_match_pytorch(ties):
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tp
    rng = np.random.default_rng(10)
    draw = (lambda *s: rng.integers(-2, 3, s).astype(np.float64)) if ties else (lambda *s: rng.standard_normal(s))
    for amount in (1, 5, 0.3, 0.75, 0.0):
        w = draw(6, 7)
        ours, theirs = _pair(torch, w)
        prune.l1_unstructured(ours, "weight", amount=amount)
        tp.l1_unstructured(theirs, "weight", amount=amount)
        _same_state(torch, ours, theirs, rng.standard_normal((3, 7)), rng)
    big = draw(8, 200)  # k * 64 <= n: PyTorch's partial_sort path
    ours, theirs = _pair(torch, big)
    prune.l1_unstructured(ours, "weight", amount=10)
    tp.l1_unstructured(theirs, "weight", amount=10)
    _same_state(torch, ours, theirs, rng.standard_normal((2, 200)), rng)
    for n, dim in ((1, 0), (2, 1), (float("inf"), 0), (float("-inf"), -1), ("fro", 0)):
        w = draw(6, 5)
        ours, theirs = _pair(torch, w)
        prune.ln_structured(ours, "weight", amount=2, n=n, dim=dim)
        tp.ln_structured(theirs, "weight", amount=2, n=n, dim=dim)
        _same_state(torch, ours, theirs, rng.standard_normal((3, 5)), rng)
    w = draw(4, 3, 2, 2)
    for n, dim in ((2, 0), (1, 1), (float("inf"), 2)):
        ours, theirs = _pair(torch, w, conv=True)
        prune.ln_structured(ours, "weight", amount=0.5, n=n, dim=dim)
        tp.ln_structured(theirs, "weight", amount=0.5, n=n, dim=dim)
        _same_state(torch, ours, theirs, rng.standard_normal((2, 3, 4, 4)), rng)
    t = draw(5, 3, 4)  # the nuclear norm needs two dims besides the channel's
    for dim in (0, 2):
        ours = prune.LnStructured(2, "nuc", dim=dim).compute_mask(gg.tensor(t), gg.ones(5, 3, 4, dtype=gg.float64))
        theirs = tp.LnStructured(2, "nuc", dim=dim).compute_mask(torch.tensor(t), torch.ones(5, 3, 4, dtype=torch.float64))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("ties", [False, True])
def test_iterative_and_custom_mask_match_pytorch(ties):
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tp
    rng = np.random.default_rng(11)
    w = rng.integers(-3, 4, (6, 8)).astype(np.float64) if ties else rng.standard_normal((6, 8))
    mask = (rng.random((6, 8)) > 0.2).astype(np.float64)
    ours, theirs = _pair(torch, w)
    steps = [
        lambda lib, pm, m: pm.l1_unstructured(m, "weight", amount=0.2),
        lambda lib, pm, m: pm.ln_structured(m, "weight", amount=1, n=2, dim=0),
        lambda lib, pm, m: pm.custom_from_mask(m, "weight", mask=lib.tensor(mask)),
        lambda lib, pm, m: pm.l1_unstructured(m, "weight", amount=7),
        lambda lib, pm, m: pm.ln_structured(m, "weight", amount=0.4, n=1, dim=1),
        lambda lib, pm, m: pm.identity(m, "weight"),
    ]
    for step in steps:
        step(gg, prune, ours)
        step(torch, tp, theirs)
        np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    _same_state(torch, ours, theirs, rng.standard_normal((3, 8)), rng)
    prune.remove(ours, "weight")
    tp.remove(theirs, "weight")
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("ties", [False, True])
def test_global_unstructured_matches_pytorch(ties):
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tp
    rng = np.random.default_rng(12)
    draw = (lambda *s: rng.integers(-2, 3, s).astype(np.float64)) if ties else (lambda *s: rng.standard_normal(s))
    w1, w2 = draw(5, 4), draw(3, 5)
    (a, ta), (b, tb) = _pair(torch, w1), _pair(torch, w2)
    prune.l1_unstructured(a, "weight", amount=3)  # one of them already pruned
    tp.l1_unstructured(ta, "weight", amount=3)
    scores = draw(3, 5)
    for amount in (6, 0.25):
        prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured,
                                  importance_scores={(b, "weight"): gg.tensor(scores)}, amount=amount)
        tp.global_unstructured([(ta, "weight"), (tb, "weight")], tp.L1Unstructured,
                               importance_scores={(tb, "weight"): torch.tensor(scores)}, amount=amount)
        for ours, theirs in ((a, ta), (b, tb)):
            np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    _same_state(torch, a, ta, rng.standard_normal((2, 4)), rng)
    _same_state(torch, b, tb, rng.standard_normal((2, 5)), rng)


@pytest.mark.torch
def test_topk_tie_breaking_matches_pytorch():
    torch = pytest.importorskip("torch")
    from gpugrad.nn.utils.prune import _topk_host

    rng = np.random.default_rng(13)
    for trial in range(300):
        n = int(rng.integers(1, 300)) if trial % 2 else int(rng.integers(64, 2000))
        x = rng.integers(0, int(rng.integers(1, 5)), n).astype(np.float32)
        if trial % 5 == 0:
            x[rng.random(n) < 0.1] = np.nan
        k = int(rng.integers(0, n + 1)) if trial % 3 else int(rng.integers(0, n // 64 + 2))
        k = min(k, n)
        for largest in (False, True):
            theirs = np.sort(torch.topk(torch.from_numpy(x), k, largest=largest).indices.numpy())
            np.testing.assert_array_equal(_topk_host(x, k, largest), theirs, err_msg=f"n={n} k={k} largest={largest}")


@pytest.mark.torch
def test_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tp
    cases = [
        (lambda pm, m: pm.l1_unstructured(m, "weight", amount=20)),
        (lambda pm, m: pm.l1_unstructured(m, "weight", amount=-2)),
        (lambda pm, m: pm.l1_unstructured(m, "weight", amount=1.5)),
        (lambda pm, m: pm.l1_unstructured(m, "weight", amount="1")),
        (lambda pm, m: pm.ln_structured(m, "bias", amount=1, n=2, dim=0)),
        (lambda pm, m: pm.ln_structured(m, "weight", amount=1, n=2, dim=3)),
        (lambda pm, m: pm.ln_structured(m, "weight", amount=4, n=2, dim=0)),
        (lambda pm, m: pm.remove(m, "weight")),
        (lambda pm, m: pm.global_unstructured([(m, "weight")], pm.RandomStructured, amount=1)),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(tp, torch.nn.Linear(4, 3))
        with pytest.raises(type(theirs.value)) as ours:
            case(prune, nn.Linear(4, 3))
        assert _message(ours.value) == _message(theirs.value)


def _message(error: Exception) -> str:
    return str(error).split(" of module")[0].replace("torch.nn.utils.prune", "gpugrad.nn.utils.prune")


@pytest.mark.torch
def test_float32_layers_match_pytorch():
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as tp

    rng = np.random.default_rng(14)
    w = rng.standard_normal((5, 6)).astype(np.float32)
    ours, theirs = nn.Linear(6, 5), torch.nn.Linear(6, 5)
    for lib, layer in ((gg, ours), (torch, theirs)):
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
            layer.bias.zero_()
    prune.l1_unstructured(ours, "weight", amount=0.4)
    tp.l1_unstructured(theirs, "weight", amount=0.4)
    prune.ln_structured(ours, "weight", amount=1, n=2, dim=0)
    tp.ln_structured(theirs, "weight", amount=1, n=2, dim=0)
    assert ours.weight_mask.dtype == gg.float32
    np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    x, r = rng.standard_normal((3, 6)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    (ours(gg.tensor(x)) * gg.tensor(r)).sum().backward()
    (theirs(torch.tensor(x)) * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-5, atol=1e-6)
