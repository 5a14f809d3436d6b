"""gg.__config__ (torch.__config__): the build description libraries grep for settings, and
torch._tensor_str's helpers that write a tensor's values as text."""
from __future__ import annotations

import pytest

import gpugrad as gg
from gpugrad._tensor_str import PRINT_OPTS, _tensor_str


def test_show_lists_the_settings_libraries_look_for():
    text = gg.__config__.show()
    assert "USE_MKL=OFF" in text  # gpugrad's kernels are NumPy/Numba/CuPy, never MKL's sparse routines
    assert f"TORCH_VERSION={gg.__version__}" in text
    assert f"get_num_threads() : {gg.get_num_threads()}" in gg.__config__.parallel_info()


def test_tensor_str_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch._tensor_str import _tensor_str as torch_tensor_str

    for values, indent in [([[1.0, 2.5], [3.0, 4.0]], 0), ([[1, 2], [3, 4]], 7), ([], 0), ([0.125, 1e-5], 2)]:
        assert _tensor_str(gg.tensor(values), indent) == torch_tensor_str(torch.tensor(values), indent)
    assert PRINT_OPTS.threshold == torch._tensor_str.PRINT_OPTS.threshold


def test_print_opts_follow_set_printoptions():
    try:
        gg.set_printoptions(threshold=5)
        assert PRINT_OPTS.threshold == 5
        assert "..." in _tensor_str(gg.arange(10), 0)
    finally:
        gg.set_printoptions(profile="default")
