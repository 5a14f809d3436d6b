"""DLPack interop: tensors cross to NumPy and PyTorch and back without copies."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.dlpack import from_dlpack, to_dlpack


def test_numpy_array_in_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gg.from_dlpack(a)
    assert t.device == gg.device("cpu") and t.dtype == gg.float32 and t.shape == (2, 3)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0


def test_tensor_out_to_numpy_shares_memory():
    t = gg.zeros(4, dtype=gg.int64)
    a = np.from_dlpack(t)
    t.add_(3)
    np.testing.assert_array_equal(a, [3, 3, 3, 3])
    assert t.__dlpack_device__() == (1, 0)


def test_capsule_round_trip_and_single_use():
    t = gg.arange(5.0)
    capsule = to_dlpack(t)
    back = from_dlpack(capsule)
    back.mul_(2.0)
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0, 4.0, 6.0, 8.0])
    with pytest.raises(ValueError, match="from_dlpack: the capsule was already consumed"):
        from_dlpack(capsule)


def test_export_refuses_a_tensor_that_requires_grad():
    x = gg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="__dlpack__: can't export a tensor that requires grad"):
        np.from_dlpack(x)
    np.testing.assert_array_equal(np.from_dlpack(x.detach()), [1.0, 1.0])


def test_cpu_tensors_have_no_cuda_array_interface():
    assert not hasattr(gg.ones(2), "__cuda_array_interface__")


def test_from_dlpack_rejects_other_objects():
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__"):
        gg.from_dlpack([1.0, 2.0])


@pytest.mark.torch
def test_torch_tensors_cross_both_ways_without_copies():
    torch = pytest.importorskip("torch")
    theirs = torch.arange(6, dtype=torch.float64).reshape(3, 2)[:, 1]  # a strided view
    ours = gg.from_dlpack(theirs)
    assert ours.dtype == gg.float64 and ours.shape == (3,)
    theirs.mul_(10)
    np.testing.assert_array_equal(ours.numpy(), [10.0, 30.0, 50.0])
    back = torch.from_dlpack(gg.ones(2, 2, dtype=gg.int32))
    assert back.dtype == torch.int32 and back.sum().item() == 4
    via_capsule = gg.from_dlpack(torch.utils.dlpack.to_dlpack(torch.ones(3)))
    np.testing.assert_array_equal(via_capsule.numpy(), [1.0, 1.0, 1.0])
    back_capsule = torch.utils.dlpack.from_dlpack(to_dlpack(gg.full((2,), 7.0)))
    assert back_capsule.tolist() == [7.0, 7.0]
