"""torch.cuda's random-state functions, NVTX ranges and OutOfMemoryError: meaningful without a GPU."""
import numpy as np
import pytest

import gpugrad as gg


def test_cuda_rng_state_is_the_one_generators_state():
    state = gg.cuda.get_rng_state()
    first = gg.randn(4).numpy()
    gg.cuda.set_rng_state(state)
    states = gg.cuda.get_rng_state_all()
    np.testing.assert_array_equal(gg.randn(4).numpy(), first)
    assert len(states) == max(gg.cuda.device_count(), 1)
    gg.cuda.set_rng_state_all(states)
    np.testing.assert_array_equal(gg.randn(4).numpy(), first)
    assert gg.cuda.initial_seed() == gg.initial_seed()
    before = gg.get_rng_state()
    gg.cuda.seed()
    gg.cuda.seed_all()  # CUDA-only reseeding changes nothing here, as cuda.manual_seed
    assert gg.equal(gg.get_rng_state(), before)


def test_nvtx_ranges_and_marks_run_anywhere():
    with gg.cuda.nvtx.range("step {}", 3):
        gg.cuda.nvtx.mark("inside")
        assert gg.cuda.nvtx.range_push("nested") == 0
        assert gg.cuda.nvtx.range_pop() == 0
    assert gg.cuda.is_current_stream_capturing() is False or gg.cuda.is_available()


def test_out_of_memory_error_is_pytorchs_name():
    assert gg.cuda.OutOfMemoryError is gg.OutOfMemoryError and issubclass(gg.OutOfMemoryError, RuntimeError)
    with pytest.raises(gg.cuda.OutOfMemoryError):
        raise gg.OutOfMemoryError("16 GiB more")


@pytest.mark.torch
def test_the_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    for name in ("get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all", "initial_seed", "seed",
                 "seed_all", "is_current_stream_capturing", "OutOfMemoryError"):
        assert hasattr(torch.cuda, name) and hasattr(gg.cuda, name)
    for name in ("range_push", "range_pop", "range", "mark"):
        assert hasattr(torch.cuda.nvtx, name) and hasattr(gg.cuda.nvtx, name)
    assert issubclass(torch.OutOfMemoryError, RuntimeError)
