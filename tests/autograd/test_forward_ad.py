"""gg.autograd.forward_ad: dual tensors' tangents equal J t (closed forms, and PyTorch's forward mode)."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.autograd.forward_ad as fwAD


def _run(lib, fw):
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64)
    w = lib.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=lib.float64)
    tx, tw = lib.ones(3, dtype=lib.float64), lib.full((2, 3), 0.1, dtype=lib.float64)
    with fw.dual_level():
        dx, dw = fw.make_dual(x, tx), fw.make_dual(w, tw)
        y = (dw @ dx.tanh()).exp()
        primal, tangent = fw.unpack_dual(y)
        return primal.detach().numpy(), tangent.numpy()


def test_tangent_is_the_jacobian_vector_product():
    x = np.array([0.5, -1.0, 2.0])
    w = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    primal, tangent = _run(gg, fwAD)
    y = np.exp(w @ np.tanh(x))
    np.testing.assert_allclose(primal, y)
    expected = y * (np.full((2, 3), 0.1) @ np.tanh(x) + w @ ((1 - np.tanh(x) ** 2) * np.ones(3)))
    np.testing.assert_allclose(tangent, expected, rtol=1e-12)
    with fwAD.dual_level():
        plain = gg.ones(2)
        assert fwAD.unpack_dual(plain).tangent is None
    with pytest.raises(RuntimeError, match="dual_level"):
        fwAD.make_dual(gg.ones(2), gg.ones(2))
    with fwAD.dual_level(), pytest.raises(gg.ArgumentError, match="tangent"):
        fwAD.make_dual(gg.ones(2), gg.ones(3))


@pytest.mark.torch
def test_matches_torch_forward_mode():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw

    for ours, theirs in zip(_run(gg, fwAD), _run(torch, tfw)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
