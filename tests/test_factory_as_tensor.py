"""gg.as_tensor shares rather than copies where it can, as torch.as_tensor: a tensor comes back itself or
converted with its autograd history kept (torchcde differentiates a spline through it), and a NumPy array
becomes a CPU tensor on its memory."""
import numpy as np
import pytest

import gpugrad as gg


def test_a_tensor_of_the_asked_dtype_comes_back_itself():
    p = gg.tensor(0.3, dtype=gg.float64, requires_grad=True)
    assert gg.as_tensor(p, dtype=gg.float64) is p
    assert gg.as_tensor(p, device="cpu") is p


def test_a_converted_tensor_keeps_its_autograd_history():
    p = gg.tensor([0.5, 2.0], dtype=gg.float64, requires_grad=True)
    q = gg.as_tensor(p, dtype=gg.float32)
    assert q.dtype == gg.float32 and q.requires_grad
    (q * gg.tensor([3.0, 5.0])).sum().backward()
    assert p.grad.dtype == gg.float64 and p.grad.tolist() == [3.0, 5.0]


def test_an_array_of_the_same_dtype_is_shared():
    a = np.zeros(3, dtype=np.float32)
    gg.as_tensor(a)[0] = 5.0
    gg.as_tensor(a, dtype=gg.float32, device="cpu")[1] = 6.0
    assert a.tolist() == [5.0, 6.0, 0.0]


def test_another_dtype_or_a_read_only_array_is_copied():
    a = np.zeros(3, dtype=np.float32)
    t = gg.as_tensor(a, dtype=gg.float64)
    t[0] = 5.0
    assert t.dtype == gg.float64 and a[0] == 0.0
    frozen = np.broadcast_to(np.arange(3.0), (2, 3))
    gg.as_tensor(frozen)[0, 0] = 7.0  # a copy: the read-only array is untouched
    assert frozen[0, 0] == 0.0


@pytest.mark.torch
def test_sharing_and_history_match_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        a = np.arange(4.0)
        lib.as_tensor(a)[0] = 9.0
        lib.as_tensor(a, dtype=lib.float32)[1] = 9.0
        assert a.tolist() == [9.0, 1.0, 2.0, 3.0], lib
        p = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        assert lib.as_tensor(p, dtype=lib.float64) is p
        assert lib.as_tensor(p, dtype=lib.float32).requires_grad


def test_a_numpy_matrix_becomes_a_plain_tensor_on_its_memory():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for t in (gg.from_numpy(m), gg.as_tensor(m)):
        assert (t * gg.tensor([1.0, -1.0], dtype=gg.float64)).tolist() == [[1.0, -2.0], [3.0, -4.0]]
    gg.from_numpy(m)[0, 0] = 9.0  # shared, as torch.from_numpy
    assert m[0, 0] == 9.0
    t = gg.from_numpy(m)
    t *= gg.tensor([2.0, 0.0], dtype=gg.float64)  # elementwise in place, not a matrix product
    assert m.tolist() == [[18.0, 0.0], [6.0, 0.0]]
