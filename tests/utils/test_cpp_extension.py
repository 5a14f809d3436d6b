"""torch.utils.cpp_extension: no extension can be built against gpugrad; every builder says so."""
import pytest

from gpugrad.utils import cpp_extension


@pytest.mark.parametrize("build", [
    lambda: cpp_extension.load(name="fbd_cuda", sources=["fbd_cuda.cpp", "fbd_cuda_kernel.cu"], verbose=True),
    lambda: cpp_extension.load_inline("ext", cpp_sources="int f() { return 1; }", functions=["f"]),
    lambda: cpp_extension.CppExtension("ext", ["ext.cpp"]),
    lambda: cpp_extension.CUDAExtension("ext", ["ext.cu"]),
    lambda: cpp_extension.include_paths(),
    lambda: cpp_extension.BuildExtension(),
    lambda: cpp_extension.BuildExtension.with_options(use_ninja=False),
])
def test_every_builder_refuses_naming_itself(build):
    with pytest.raises(RuntimeError, match=r"cpp_extension\.\w+: gpugrad cannot build PyTorch C\+\+/CUDA extensions"):
        build()


def test_no_toolkit_is_offered():
    assert cpp_extension.CUDA_HOME is None and cpp_extension.ROCM_HOME is None and not cpp_extension.IS_HIP_EXTENSION


def test_code_that_falls_back_on_a_failed_build_runs_on():
    # peft's BOFT: try to build the fused kernel, warn and go on without it.
    try:
        ext = cpp_extension.load(name="fbd_cuda", sources=["a.cpp"])
    except Exception:  # noqa: BLE001  (what peft catches)
        ext = None
    assert ext is None
