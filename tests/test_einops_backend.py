"""einops on gpugrad tensors (gpugrad/einops_backend.py): values and gradients as the same NumPy
computation gives them."""
import numpy as np
import pytest

import gpugrad as gg

einops = pytest.importorskip("einops")


def test_rearrange_reduce_repeat_and_einsum_with_gradients():
    a = np.arange(48.0).reshape(2, 2, 4, 3)
    x = gg.tensor(a, requires_grad=True)
    y = einops.rearrange(x, "b c (h p) w -> b (h w) (p c)", p=2)
    np.testing.assert_array_equal(y.detach().numpy(), a.reshape(2, 2, 2, 2, 3).transpose(0, 2, 4, 3, 1).reshape(2, 6, 4))
    z = einops.reduce(y, "b n d -> b d", "max")
    r = einops.repeat(z, "b d -> b k d", k=3)
    e = einops.einsum(r, r, "b k d, b j d -> b k j")
    assert isinstance(e, gg.Tensor) and e.shape == (2, 3, 3)
    (e.sum() + einops.reduce(x, "b c h w -> ", "mean")).backward()
    assert x.grad.shape == x.shape and x.grad.abs().sum().item() > 0
    packed, shapes = einops.pack([gg.ones(2, 3), gg.ones(2, 4, 3)], "b * c")
    assert packed.shape == (2, 5, 3) and [tuple(s) for s in shapes] == [(), (4,)]
