"""Fused kernels on or off: GPUGRAD_FUSED=0 at import, or gpugrad.kernels' set_fused / fused() at run
time, switches every op to its reference path, and both paths agree."""
import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.kernels.activation as kact
from gpugrad.kernels._dispatch import fused, fused_enabled, set_fused


@pytest.fixture(autouse=True)
def fused_on():
    previous = set_fused(True)
    yield
    set_fused(previous)


def test_fused_switch_reaches_the_activation_ops(monkeypatch):
    calls = []
    real = kact.reference_backward
    monkeypatch.setattr(kact, "reference_backward", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = gg.randn(5, requires_grad=True)
    x.tanh().sum().backward()
    assert calls == []
    with fused(False):
        x.tanh().sum().backward()
    assert calls == [1]
    x.tanh().sum().backward()  # back on after the block
    assert calls == [1]


def test_set_fused_returns_the_previous_setting():
    assert set_fused(False) is True and not fused_enabled()
    assert set_fused(True) is False and fused_enabled()
    with pytest.raises(RuntimeError), fused(False):
        raise RuntimeError("the block fails")
    assert fused_enabled()  # restored even so


@pytest.mark.parametrize("value, expected", [("0", False), (" 0 ", False), ("1", True), ("", True)])
def test_environment_variable_is_read_at_import(value, expected):
    env = dict(os.environ, GPUGRAD_FUSED=value)
    code = "import gpugrad.kernels._dispatch as d; print(d.fused_enabled())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(expected)


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh", "gelu", "silu", "softplus"])
def test_fused_and_reference_training_steps_agree(kind):
    def grads():
        gg.manual_seed(0)
        x = gg.randn(7, 33, requires_grad=True)
        getattr(gg, kind)(x).sum().backward()
        return x.grad.numpy()

    fused_grads = grads()
    with fused(False):
        reference_grads = grads()
    np.testing.assert_allclose(fused_grads, reference_grads, rtol=1e-5, atol=1e-6)
