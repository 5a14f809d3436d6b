"""gg.cuda's memory and device questions: PyTorch's CPU-build answers without a device, and on a GPU
(mark cuda) counters that follow the arrays gpugrad holds."""
import pytest

import gpugrad as gg


@pytest.mark.skipif(gg.cuda.is_available(), reason="answers without a usable CUDA device")
def test_without_a_device_counters_are_zero_and_questions_raise():
    cuda = gg.cuda
    assert cuda.memory_allocated() == cuda.max_memory_allocated() == cuda.memory_reserved() == 0
    assert cuda.max_memory_reserved() == cuda.memory_cached() == 0 and cuda.memory_stats() == {}
    assert cuda.empty_cache() is None and cuda.reset_peak_memory_stats() is None
    for ask, name in ((cuda.get_device_name, "get_device_name"), (cuda.get_device_capability, "get_device_capability"),
                      (cuda.get_device_properties, "get_device_properties"), (cuda.mem_get_info, "mem_get_info"),
                      (cuda.init, "init")):
        with pytest.raises(gg.DeviceError, match=f"cuda.{name}: no CUDA device"):
            ask()


@pytest.mark.torch
@pytest.mark.skipif(gg.cuda.is_available(), reason="compares the answers without a device")
def test_without_a_device_answers_as_torch_cpu_build():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this PyTorch has a GPU")
    for name in ("memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
                 "memory_stats", "is_initialized"):
        assert getattr(gg.cuda, name)() == getattr(torch.cuda, name)(), name


@pytest.mark.cuda
@pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a GPU")
def test_counters_follow_the_arrays_on_a_gpu():  # pragma: no cover - needs a GPU
    cuda = gg.cuda
    cuda.reset_peak_memory_stats()
    before = cuda.memory_allocated()
    x = gg.empty(1 << 20, device="cuda")  # 4 MiB
    assert cuda.memory_allocated() >= before + 4 * (1 << 20)
    peak = cuda.max_memory_allocated()
    del x
    assert cuda.memory_allocated() <= peak and cuda.max_memory_allocated() == peak
    cuda.empty_cache()
    assert cuda.memory_reserved() <= cuda.max_memory_reserved()
    assert cuda.get_device_name() and cuda.get_device_capability()[0] >= 7 and cuda.is_initialized()
    free, total = cuda.mem_get_info()
    assert 0 < free <= total == cuda.get_device_properties().total_memory
