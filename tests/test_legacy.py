"""Legacy tensor types (gg.FloatTensor, ...), x.type() and the x.new_* constructors."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def test_legacy_constructors_from_data_sizes_and_tensors():
    assert gg.FloatTensor([1, 2]).dtype is gg.float32 and gg.FloatTensor([1, 2]).tolist() == [1.0, 2.0]
    assert gg.LongTensor([1.7, -2.2]).tolist() == [1, -2] and gg.DoubleTensor([0.5]).dtype is gg.float64
    assert gg.IntTensor([3]).dtype is gg.int32 and gg.BoolTensor([1, 0]).tolist() == [True, False]
    assert gg.FloatTensor(2, 3).shape == (2, 3) and gg.FloatTensor(gg.Size([4])).shape == (4,)
    assert gg.FloatTensor().shape == (0,)
    x = gg.ones(2)
    assert gg.FloatTensor(x) is x
    with pytest.raises(gg.DTypeError, match="FloatTensor: expected a torch.float32 tensor, got torch.float64"):
        gg.FloatTensor(gg.ones(2, dtype=gg.float64))


def test_isinstance_asks_about_the_dtype():
    assert isinstance(gg.ones(2), gg.FloatTensor) and not isinstance(gg.ones(2), gg.DoubleTensor)
    assert isinstance(gg.tensor([1]), gg.LongTensor) and not isinstance([1.0], gg.FloatTensor)


def test_type_names_and_casts():
    x = gg.tensor([1.5, -2.5], requires_grad=True)
    assert x.type() == "torch.FloatTensor" and gg.tensor([True]).type() == "torch.BoolTensor"
    assert x.type(gg.float32) is x and x.type("gpugrad.FloatTensor") is x
    assert x.type("torch.LongTensor").tolist() == [1, -2] and x.type(gg.DoubleTensor).dtype is gg.float64
    y = x.type(gg.float64)
    assert y.dtype is gg.float64 and y.requires_grad  # a differentiable cast, as PyTorch's
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(gg.ArgumentError, match="type: invalid type: 'gpugrad.ComplexTensor'"):
        x.type("gpugrad.ComplexTensor")


def test_new_constructors_take_dtype_and_device_from_self():
    x = gg.ones(3, dtype=gg.float64, requires_grad=True)
    assert x.new_zeros(2, 3).dtype is gg.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert not x.new_ones(2).requires_grad and x.new_ones(2, requires_grad=True).requires_grad
    assert x.new_full((2,), 3).tolist() == [3.0, 3.0] and x.new_full((2,), 3).dtype is gg.float64
    assert x.new_tensor([1, 2]).dtype is gg.float64 and x.new_tensor([1, 2], dtype=gg.int64).dtype is gg.int64
    assert x.new_empty(4, 1).shape == (4, 1) and x.new_empty((0,)).dtype is gg.float64
    assert x.new_ones(2, dtype=gg.int32).tolist() == [1, 1]


@pytest.mark.torch
def test_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"]:
        ours, theirs = getattr(gg, name)([1.7, 0.0, -2.0]), getattr(torch, name)([1.7, 0.0, -2.0])
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.type() == theirs.type()
    t, g = torch.ones(2, dtype=torch.float64), gg.ones(2, dtype=gg.float64)
    for method, args in [("new_zeros", (2, 3)), ("new_ones", ((1, 2),)), ("new_full", ((2,), 7)), ("new_tensor", ([1, 2],))]:
        a, b = getattr(t, method)(*args), getattr(g, method)(*args)
        assert str(a.dtype) == str(b.dtype) and a.tolist() == b.tolist()


def test_tensor_itself_is_the_legacy_constructor_of_the_default_dtype():
    assert gg.Tensor(2, 3).shape == (2, 3) and gg.Tensor(2, 3).dtype == gg.float32
    np.testing.assert_array_equal(gg.Tensor([1, 2]).numpy(), [1.0, 2.0])
    assert gg.Tensor([1, 2]).dtype == gg.float32 and gg.Tensor().shape == (0,)
    with pytest.raises(TypeError, match="Tensor: expected sizes"):
        gg.Tensor(2, "a")


def test_factories_take_size_as_a_keyword_and_stride_counts_elements():
    assert gg.empty(size=(2, 3)).shape == (2, 3) and gg.randn(size=[4]).shape == (4,)
    with pytest.raises(TypeError, match="zeros: got the size both"):
        gg.zeros(2, size=(3,))
    x = gg.zeros(2, 3, dtype=gg.float64)
    assert x.stride() == (3, 1) and x.t().stride() == (1, 3) and x.stride(0) == 3


@pytest.mark.torch
def test_legacy_constructor_size_keyword_and_stride_match_pytorch():
    torch = pytest.importorskip("torch")
    assert tuple(gg.Tensor(2, 3).shape) == tuple(torch.Tensor(2, 3).shape)
    assert str(gg.Tensor([1, 2]).dtype).split(".")[-1] == str(torch.Tensor([1, 2]).dtype).split(".")[-1]
    assert tuple(gg.zeros(size=(2, 3)).shape) == tuple(torch.zeros(size=(2, 3)).shape)
    ours, theirs = gg.zeros(2, 3, 4).permute(2, 0, 1), torch.zeros(2, 3, 4).permute(2, 0, 1)
    assert ours.stride() == theirs.stride() and ours.stride(1) == theirs.stride(1)
    assert ours.is_contiguous() == theirs.is_contiguous() and ours.contiguous().stride() == theirs.contiguous().stride()


def test_cuda_legacy_types_and_the_tensor_class_as_a_type():
    # GAN scripts: ``Tensor = torch.cuda.FloatTensor if cuda else torch.Tensor``; ``batch.type(Tensor)``.
    x = gg.ones(2, 3, dtype=gg.uint8)
    as_default = x.type(gg.Tensor)
    assert as_default.dtype is gg.float32 and as_default.device == gg.device("cpu")
    assert np.array_equal(as_default.numpy(), np.ones((2, 3), np.float32))
    for name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
                 "CharTensor", "ByteTensor", "BoolTensor"):
        cuda_type, cpu_type = getattr(gg.cuda, name), getattr(gg, name)
        assert cuda_type.dtype is cpu_type.dtype and repr(cuda_type) == f"<class 'torch.cuda.{name}'>"
        assert not isinstance(gg.zeros(1, dtype=cpu_type.dtype), cuda_type)
    if not gg.cuda.is_available():
        with pytest.raises(gg.DeviceError, match="cannot use device 'cuda:0'"):
            gg.cuda.FloatTensor(2)
        with pytest.raises(gg.DeviceError, match="cannot use device 'cuda:0'"):
            x.type(gg.cuda.FloatTensor)
