"""gg.accelerator, gg.cuda's device functions, default dtype and inference_mode: PyTorch's API surface."""
from __future__ import annotations

import pytest

import gpugrad as gg
from gpugrad import DeviceError, DTypeError

no_cuda = pytest.mark.skipif(gg.cuda.is_available(), reason="checks the behaviour without a CUDA device")


@no_cuda
def test_without_cuda_the_accelerator_is_absent_and_device_choice_refuses():
    assert gg.accelerator.is_available() is False
    assert gg.accelerator.current_accelerator() is None
    assert gg.accelerator.device_count() == 0 and gg.cuda.device_count() == 0
    gg.accelerator.synchronize()
    gg.cuda.synchronize()
    with pytest.raises(DeviceError, match="cuda.set_device: no CUDA device"):
        gg.cuda.set_device(0)
    with pytest.raises(DeviceError, match="cuda.current_device"):
        gg.cuda.current_device()


def test_set_device_refuses_a_cpu_device():
    with pytest.raises(gg.ArgumentError, match="expected a cuda device, got 'cpu'"):
        gg.cuda.set_device("cpu")


@pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a CUDA device")
def test_with_cuda_the_accelerator_is_cuda():
    assert gg.accelerator.current_accelerator().type == "cuda"
    gg.cuda.set_device("cuda:0")
    assert gg.cuda.current_device() == 0


def test_cuda_seeding_leaves_the_cpu_stream_alone():
    gg.manual_seed(3)
    a = gg.rand(4).tolist()
    gg.manual_seed(3)
    gg.cuda.manual_seed(11)
    gg.cuda.manual_seed_all(12)
    assert gg.rand(4).tolist() == a
    with pytest.raises(ValueError, match="cuda.manual_seed: seed must be an integer, got 'a'"):
        gg.cuda.manual_seed("a")


@pytest.fixture
def restore_default_dtype():
    yield
    gg.set_default_dtype(gg.float32)


def test_default_dtype_drives_factories_and_python_floats(restore_default_dtype):
    assert gg.get_default_dtype() is gg.float32
    gg.set_default_dtype(gg.float64)
    assert gg.get_default_dtype() is gg.float64
    assert gg.tensor(1.5).dtype is gg.float64 and gg.zeros(2).dtype is gg.float64
    assert gg.randn(2).dtype is gg.float64 and gg.tensor([1, 2]).dtype is gg.int64
    assert (gg.tensor([1, 2]) * 0.5).dtype is gg.float64
    assert (gg.ones(2, dtype=gg.float32) * 0.5).dtype is gg.float32


def test_default_dtype_refuses_non_float32_float64(restore_default_dtype):
    with pytest.raises(DTypeError, match="set_default_dtype: .*got torch.int64"):
        gg.set_default_dtype(gg.int64)
    assert gg.get_default_dtype() is gg.float32


def test_inference_mode_as_context_and_decorators():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with gg.inference_mode():
        assert gg.is_inference_mode_enabled() and not gg.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert not gg.is_inference_mode_enabled() and gg.is_grad_enabled()
    with gg.inference_mode(False):
        assert (x * 2).requires_grad

    @gg.inference_mode
    def bare():
        return x * 2

    @gg.inference_mode()
    def called():
        return x * 2

    assert not bare().requires_grad and not called().requires_grad and bare.__name__ == "bare"
    assert (x * 2).requires_grad


def test_inference_mode_restores_state_after_an_exception():
    with pytest.raises(KeyError):
        with gg.inference_mode():
            raise KeyError
    assert gg.is_grad_enabled() and not gg.is_inference_mode_enabled()


@pytest.mark.torch
def test_matches_torch_on_this_machine():
    torch = pytest.importorskip("torch")
    assert gg.accelerator.is_available() == torch.accelerator.is_available() or not torch.cuda.is_available()
    with torch.inference_mode(), gg.inference_mode():
        assert gg.is_inference_mode_enabled() == torch.is_inference_mode_enabled()
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError):
        gg.set_default_dtype(gg.int64)
