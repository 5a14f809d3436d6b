"""as_strided reads the memory block a tensor lives in, the one storage_offset() counts in, as PyTorch's
storage: also for a detached strided slice (torchdiffeq's adjoint takes a 0-d view of its state this way)."""
import numpy as np
import pytest

import gpugrad as gg


def strided_leaf(lib):
    """A leaf whose memory is every second element of a (3, 2) block, starting at element 1."""
    return lib.arange(6.0, dtype=lib.float64).reshape(3, 2)[:, 1].detach().requires_grad_()


def test_a_detached_strided_slice_views_its_block():
    y = strided_leaf(gg)
    assert y.storage_offset() == 1
    assert gg.as_strided(y, (), ()).item() == 1.0  # the default offset is y's own
    assert y.as_strided((2,), (2,), 1).tolist() == [1.0, 3.0]
    assert y.as_strided((3,), (1,), 0).tolist() == [0.0, 1.0, 2.0]  # elements of the block outside y


def test_an_explicit_offset_counts_from_the_block_as_storage_offset_does():
    z = gg.arange(6.0).reshape(3, 2)[1:].detach()
    assert z.as_strided((2,), (1,), z.storage_offset()).tolist() == [2.0, 3.0]
    with pytest.raises(RuntimeError, match="storage of 7 elements"):
        z.as_strided((2,), (1,), 5)


def test_the_gradient_reaches_only_the_slice_elements_read():
    y = strided_leaf(gg)
    weights = gg.tensor([2.0, 3.0, 5.0], dtype=gg.float64)
    (y.as_strided((3,), (2,), 1) * weights).sum().backward()
    assert y.grad.tolist() == [2.0, 3.0, 5.0]
    y.grad = None
    (y.as_strided((2,), (1,), 2) * weights[:2]).sum().backward()  # reads block elements 2 and 3: y[1] only
    assert y.grad.tolist() == [0.0, 3.0, 0.0]


@pytest.mark.torch
def test_detached_slices_match_pytorch():
    torch = pytest.importorskip("torch")
    cotangent = np.random.default_rng(3).standard_normal(2)
    grads = []
    for lib in (gg, torch):
        y = strided_leaf(lib)
        out = lib.as_strided(y, (2,), (3,), 0)  # block elements 0 and 3: outside y, then y[1]
        (out * lib.tensor(cotangent)).sum().backward()
        grads.append((out.detach().numpy(), y.grad.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
