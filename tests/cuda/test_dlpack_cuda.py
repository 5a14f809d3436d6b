"""DLPack and __cuda_array_interface__ on a real GPU: CuPy arrays and CUDA tensors share memory."""
import numpy as np
import pytest

import gpugrad as gg

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a GPU with CuPy"),
]


def test_cupy_arrays_cross_both_ways_without_copies():
    import cupy

    a = cupy.arange(6, dtype=cupy.float32)
    t = gg.from_dlpack(a)
    assert t.is_cuda and t.dtype == gg.float32
    a *= 2
    np.testing.assert_array_equal(t.cpu().numpy(), np.arange(6) * 2)
    back = cupy.from_dlpack(t)
    back += 1
    np.testing.assert_array_equal(t.cpu().numpy(), np.arange(6) * 2 + 1)


def test_cuda_array_interface_is_the_tensors_memory():
    from numba import cuda

    t = gg.zeros(4, device="cuda")
    view = cuda.as_cuda_array(t)
    view[1] = 5.0
    assert t[1].item() == 5.0
    with pytest.raises(RuntimeError, match="requires grad"):
        gg.zeros(2, device="cuda", requires_grad=True).__cuda_array_interface__
