"""gpugrad.amp: GradScaler's PyTorch bookkeeping (scales, skipped steps, errors, state) and autocast's
context (accepted; no mixed precision yet)."""
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
