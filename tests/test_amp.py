"""gpugrad.amp: GradScaler's PyTorch bookkeeping (scales, skipped steps, errors, state) and autocast's
context and its thread state (the region policy itself: test_amp_policy.py)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import amp, nn, optim


def _train(lib, scaler_cls, losses_to_poison=(2,), steps=6):
    """A few scaled SGD steps of a 3 -> 1 linear model, the gradient made inf at the steps named."""
    lib.manual_seed(0)
    model = lib.nn.Linear(3, 1)
    with lib.no_grad():
        model.weight.copy_(lib.tensor([[0.1, -0.2, 0.3]]))
        model.bias.zero_()
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = scaler_cls("cpu", init_scale=8.0, growth_interval=2)
    x = lib.tensor(np.arange(15, dtype=np.float32).reshape(5, 3) / 10)
    history = []
    for step in range(steps):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        if step in losses_to_poison:
            loss = loss * math.inf
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        history.append((scaler.get_scale(), model.weight.detach().numpy().copy()))
    return history, scaler


def test_grad_scaler_scales_skips_and_adapts():
    history, scaler = _train(gg, amp.GradScaler)
    scales = [s for s, _ in history]
    assert scales == [8.0, 16.0, 8.0, 8.0, 16.0, 16.0]  # grow every 2 clean steps, halve at the inf
    np.testing.assert_array_equal(history[2][1], history[1][1])  # the poisoned step was skipped
    assert not np.array_equal(history[3][1], history[2][1])
    assert scaler.state_dict() == {"scale": 16.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2,
                                   "_growth_tracker": 1}
    other = amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 16.0


def test_grad_scaler_errors_and_disabled_pass_through():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler = amp.GradScaler("cpu")
    scaler.scale(model(gg.ones(1, 2)).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure"):
        amp.GradScaler("cpu").step(opt, closure=lambda: 0.0)
    off = amp.GradScaler("cpu", enabled=False)
    loss = model(gg.ones(1, 2)).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    if not gg.cuda.is_available():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert not gg.cuda.amp.GradScaler().is_enabled()
        assert "CUDA is not available" in str(caught[0].message)


def test_autocast_is_a_context_reported_as_pytorchs():
    x = gg.randn(4, 3)
    with gg.autocast("cpu", dtype=gg.float16):
        assert gg.is_autocast_enabled("cpu") and gg.get_autocast_dtype("cpu") is gg.float16
        y = x @ x.T
        with gg.autocast("cpu", enabled=False):
            assert not gg.is_autocast_enabled("cpu") and (x @ x.T).dtype is gg.float32
    with gg.amp.autocast("cuda", enabled=False):
        assert not gg.is_autocast_enabled("cuda")
    assert y.dtype is gg.float16 and not gg.is_autocast_enabled("cpu") and (x @ x.T).dtype is gg.float32
    assert gg.get_autocast_dtype("cpu") is gg.bfloat16 and gg.get_autocast_dtype("cuda") is gg.float16
    with pytest.warns(UserWarning, match="target dtype is not supported. Disabling autocast"):
        region = gg.autocast("cpu", dtype=gg.float64)
    with region:
        assert not gg.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError, match="does not support bfloat16"):
        gg.autocast("cuda", dtype=gg.bfloat16)

    @gg.cuda.amp.autocast(enabled=False)
    def double(t):
        return 2 * t

    assert double(gg.ones(1)).item() == 2.0
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        gg.autocast("tpu")


@pytest.mark.torch
def test_grad_scaler_matches_pytorchs_schedule():
    torch = pytest.importorskip("torch")
    ours, _ = _train(gg, amp.GradScaler, losses_to_poison=(1, 4))
    theirs, _ = _train(torch, torch.amp.GradScaler, losses_to_poison=(1, 4))
    for (s1, w1), (s2, w2) in zip(ours, theirs):
        assert s1 == s2
        np.testing.assert_allclose(w1, w2, rtol=1e-5)


# Sparse gradients (nn.Embedding / EmbeddingBag with sparse=True) --------------------------------------
def _sparse_train(lib, poison=(2,), steps=5, use_scaler=True):
    """Scaled SGD-with-momentum steps of an EmbeddingBag with a sparse gradient plus a dense Linear head;
    a sparse gradient value made inf (by a hook on the bags' gradient) at the steps named."""
    rng = np.random.default_rng(0)
    w0, h0 = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(1, 3)).astype(np.float32)
    bag = lib.nn.EmbeddingBag.from_pretrained(lib.tensor(w0), freeze=False, mode="sum", sparse=True)
    head = lib.nn.Linear(3, 1, bias=False)
    with lib.no_grad():
        head.weight.copy_(lib.tensor(h0))
    opt = lib.optim.SGD([*bag.parameters(), *head.parameters()], lr=0.05, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2, enabled=use_scaler)
    history = []
    for step in range(steps):
        opt.zero_grad()
        idx = lib.tensor(rng.integers(0, 6, size=(4, 2)))
        out = bag(idx)
        if step in poison:  # an inf in the embedding's (sparse) gradient only: the loss and head stay finite
            out.register_hook(lambda g: g * lib.tensor([[math.inf], [1.0], [1.0], [1.0]]))
        loss = (head(out) ** 2).mean()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        history.append((scaler.get_scale(), bag.weight.detach().numpy().copy(), head.weight.detach().numpy().copy()))
    return history


def test_grad_scaler_unscales_sparse_gradients_in_their_values():
    emb = nn.Embedding(5, 2, sparse=True)
    opt = optim.SGD(emb.parameters(), lr=0.1)
    scaler = amp.GradScaler("cpu", init_scale=4.0)
    cot = gg.tensor(np.arange(6, dtype=np.float32).reshape(3, 2))
    scaler.scale(emb(gg.tensor([1, 2, 1])) * cot).sum().backward()
    grad = emb.weight.grad
    scaler.unscale_(opt)
    assert emb.weight.grad is grad and not grad.is_coalesced()  # float32: in place, uncoalesced, as PyTorch
    np.testing.assert_array_equal(grad._values().numpy(), cot.numpy())
    np.testing.assert_array_equal(grad._indices().numpy(), [[1, 2, 1]])
    before = emb.weight.detach().numpy().copy()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 4.0
    want = before.copy()
    np.add.at(want, [1, 2, 1], -0.1 * cot.numpy())
    np.testing.assert_allclose(emb.weight.detach().numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_an_inf_or_nan_in_a_sparse_gradient_skips_the_step(bad):
    emb = nn.Embedding(5, 2, sparse=True)
    opt = optim.SGD(emb.parameters(), lr=0.1)
    scaler = amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale((emb(gg.tensor([1, 3])) * gg.tensor([[1.0], [bad]])).sum()).backward()
    before = emb.weight.detach().numpy().copy()
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(emb.weight.detach().numpy(), before)
    assert scaler.get_scale() == 2.0


def test_float16_sparse_gradients_are_coalesced_before_the_check():
    # 40000 is a finite float16; index 1 looked up twice sums to 80000, past float16's 65504: only the
    # coalesced gradient shows the overflow, so the step is skipped (PyTorch's rule for float16 sparse grads).
    emb = nn.Embedding(4, 2, sparse=True, dtype=gg.float16)
    opt = optim.SGD(emb.parameters(), lr=0.1)
    scaler = amp.GradScaler("cpu", init_scale=40000.0)
    scaler.scale(emb(gg.tensor([1, 2, 1])).sum()).backward()
    assert not emb.weight.grad.is_coalesced() and emb.weight.grad._values().isfinite().all().item()
    before = emb.weight.detach().numpy().copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's float16 overflow in the sum
        assert scaler.step(opt) is None
    grad = emb.weight.grad
    assert grad.is_coalesced() and grad._indices().numpy().tolist() == [[1, 2]] and grad.dtype is gg.float16
    values = grad._values().numpy()
    assert np.isinf(values[0]).all() and values[1].tolist() == [1.0, 1.0]
    np.testing.assert_array_equal(emb.weight.detach().numpy(), before)
    scaler.update()
    assert scaler.get_scale() == 20000.0


def test_scaled_sparse_training_equals_unscaled_training():
    # Scales are powers of two: unscaling is exact, so without infs the two runs agree to the bit.
    scaled, plain = _sparse_train(gg, poison=()), _sparse_train(gg, poison=(), use_scaler=False)
    for (_, w1, h1), (_, w2, h2) in zip(scaled, plain):
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(h1, h2)
    poisoned = _sparse_train(gg, poison=(2,))
    assert [s for s, _, _ in poisoned] == [8.0, 16.0, 8.0, 8.0, 16.0]
    np.testing.assert_array_equal(poisoned[2][1], poisoned[1][1])  # the step with an inf was skipped
    np.testing.assert_array_equal(poisoned[2][2], poisoned[1][2])  # for the dense head too
    assert not np.array_equal(poisoned[3][2], poisoned[2][2])


@pytest.mark.torch
def test_grad_scaler_with_sparse_gradients_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _sparse_train(gg, poison=(1, 3)), _sparse_train(torch, poison=(1, 3))
    for (s1, w1, h1), (s2, w2, h2) in zip(ours, theirs):
        assert s1 == s2
        np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h1, h2, rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_float16_sparse_unscale_matches_pytorchs_coalescing():
    # PyTorch's public unscale_ refuses float16 gradients; its _unscale_grads_(allow_fp16=True), the path
    # its sharded scaler takes, coalesces float16 sparse gradients first. gpugrad's unscale_ takes that path.
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gg, torch):
        emb = lib.nn.Embedding(4, 2, sparse=True, dtype=lib.float16)
        opt = lib.optim.SGD(emb.parameters(), lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=2048.0)
        scaler.scale(emb(lib.tensor([3, 0, 3, 3])).sum() * 8).backward()
        if lib is gg:
            scaler.unscale_(opt)
            found = scaler._per_optimizer[id(opt)]["found_inf"]
        else:
            found_inf = scaler._unscale_grads_(opt, torch.tensor(1 / 2048.0), torch.zeros(()), True)
            found = bool(found_inf[torch.device("cpu")].item())
        g = emb.weight.grad
        results.append((found, g.is_coalesced(), g._indices().numpy(), g._values().numpy()))
    (f1, c1, i1, v1), (f2, c2, i2, v2) = results
    assert f1 == f2 is False and c1 == c2 is True
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(v1, v2)


def test_grad_scaler_repr_is_pythons_default_as_pytorchs():
    # PyTorch's GradScaler defines no __repr__; libraries put the default one into messages (and into the
    # regular expressions their tests match them with, where parentheses would be groups).
    scaler = amp.GradScaler("cpu", enabled=False)
    assert repr(scaler) == object.__repr__(scaler)


@pytest.mark.torch
def test_pytorchs_grad_scaler_repr_is_the_default():
    torch = pytest.importorskip("torch")
    assert repr(torch.amp.GradScaler("cpu", enabled=False)).startswith("<torch.amp.grad_scaler.GradScaler object at")


def _autocast_state_walk(lib) -> list:
    """The thread's autocast state read back through PyTorch's setters and getters, in and out of a region."""
    seen = [(lib.is_autocast_enabled("cpu"), str(lib.get_autocast_dtype("cpu")), lib.is_autocast_cache_enabled())]
    lib.set_autocast_dtype("cpu", lib.float16)
    try:
        with lib.autocast("cpu"):  # no dtype: the one just set
            seen.append((lib.is_autocast_enabled("cpu"), str((lib.ones(2, 2) @ lib.ones(2, 2)).dtype)))
            lib.set_autocast_enabled("cpu", False)
            seen.append((lib.is_autocast_enabled("cpu"), str((lib.ones(2, 2) @ lib.ones(2, 2)).dtype)))
        seen.append((lib.is_autocast_enabled("cpu"), str(lib.get_autocast_dtype("cpu"))))
        lib.set_autocast_enabled("cpu", True)
        seen.append(str((lib.ones(2, 2) @ lib.ones(2, 2)).dtype))
        lib.set_autocast_enabled("cpu", False)
        with lib.autocast("cpu", cache_enabled=False):
            seen.append(lib.is_autocast_cache_enabled())
        seen.append([lib.is_autocast_cache_enabled(), lib.autocast_increment_nesting(), lib.autocast_decrement_nesting()])
    finally:
        lib.set_autocast_enabled("cpu", False)
        lib.set_autocast_dtype("cpu", lib.bfloat16)
    return seen


def test_autocast_state_setters_as_pytorchs():
    assert _autocast_state_walk(gg) == [
        (False, "torch.bfloat16", True), (True, "torch.float16"), (False, "torch.float32"),
        (False, "torch.float16"), "torch.float16", False, [True, 1, 0]]
    assert gg.amp.policy.open_regions[0] == 0 and not gg.is_autocast_enabled("cpu")


@pytest.mark.torch
def test_autocast_state_setters_match_pytorch():
    torch = pytest.importorskip("torch")
    assert _autocast_state_walk(gg) == _autocast_state_walk(torch)
