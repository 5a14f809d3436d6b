"""What a library built around a compiled PyTorch extension touches when it is imported (torchvision's
_C): loading the library, dispatch keys and the autocast guard, shape functions for operators that never
arrive, the ONNX symbolic registry, torch._custom_ops, torch.ao.quantization's stubs, the CPU capability."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import library


def test_loading_a_compiled_library_fails_as_a_missing_library_does():
    with pytest.raises(OSError, match=r"load_library\('/x/_C.so'\): gpugrad cannot load"):
        gg.ops.load_library("/x/_C.so")


def test_a_shape_function_waits_for_its_operator():
    @library.register_fake("gg_test_wait::double")
    def shape(x):
        return x

    with pytest.raises(AttributeError):
        gg.ops.gg_test_wait  # noqa: B018  (no operator made yet)

    @library.custom_op("gg_test_wait::double", mutates_args=())
    def double(x: gg.Tensor) -> gg.Tensor:
        return x * 2

    assert double._fake is shape and gg.ops.gg_test_wait.double(gg.ones(2)).tolist() == [2.0, 2.0]
    assert gg._C._dispatch_has_kernel_for_dispatch_key("gg_test_wait::double", "CPU")
    assert not gg._C._dispatch_has_kernel_for_dispatch_key("gg_test_wait::never", "CPU")


def _matmul_dtypes(lib) -> list:
    keys = lib._C.DispatchKeySet(lib._C.DispatchKey.AutocastCPU) | lib._C.DispatchKeySet(lib._C.DispatchKey.AutocastCUDA)
    other = lib._C.DispatchKeySet(lib._C.DispatchKey.Python)
    a = lib.ones(2, 2)
    seen = []
    with lib.autocast("cpu"):
        seen.append(str((a @ a).dtype))
        with lib._C._ExcludeDispatchKeyGuard(keys):
            seen.append(str((a @ a).dtype))
        with lib._C._ExcludeDispatchKeyGuard(other):
            seen.append(str((a @ a).dtype))
        seen.append(str((a @ a).dtype))
    return seen + [keys.has(lib._C.DispatchKey.AutocastCPU), repr(keys - keys),
                   repr(keys.remove(lib._C.DispatchKey.AutocastCUDA))]


def test_excluding_autocast_keys_runs_the_body_without_autocast():
    assert _matmul_dtypes(gg) == ["torch.bfloat16", "torch.float32", "torch.bfloat16", "torch.bfloat16", True,
                                  "DispatchKeySet()", "DispatchKeySet(AutocastCPU)"]


@pytest.mark.torch
def test_dispatch_keys_and_the_guard_match_pytorch():
    torch = pytest.importorskip("torch")
    assert _matmul_dtypes(gg) == _matmul_dtypes(torch)
    assert gg.backends.cpu.get_cpu_capability() == torch.backends.cpu.get_cpu_capability()
    assert int(gg.onnx.TensorProtoDataType.INT64) == int(torch.onnx.TensorProtoDataType.INT64)


def test_onnx_symbolics_register_and_refuse_to_run():
    from gpugrad.onnx import symbolic_opset11
    from gpugrad.onnx.symbolic_helper import parse_args

    @parse_args("v", "f")
    def symbolic(g, x, alpha):
        return symbolic_opset11.unsqueeze(g, x, 0)

    gg.onnx.register_custom_op_symbolic("gg_test::op", symbolic, 11)
    with pytest.raises(NotImplementedError, match="symbolic_opset11.unsqueeze: ONNX export is not supported"):
        symbolic(None, None, 1.0)
    with pytest.raises(ValueError, match="'namespace::name'"):
        gg.onnx.register_custom_op_symbolic("op", symbolic, 11)
    assert gg.onnx.TensorProtoDataType.FLOAT == 1


def test_small_helpers_libraries_import():
    def f(x):
        return x + 1

    assert gg.jit._script_if_tracing(f) is f
    assert gg._dynamo.utils.is_compile_supported("cpu") and not gg._dynamo.utils.is_compile_supported("mps")
    with pytest.raises(RuntimeError, match="fake implementation"):
        gg._custom_ops.get_ctx()
    assert gg.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")


def test_quant_stubs_pass_float_tensors_through_and_the_rest_says_it_is_absent():
    from gpugrad.ao.quantization import DeQuantStub, QuantStub

    model = gg.nn.Sequential(QuantStub(), gg.nn.Linear(2, 2), DeQuantStub())
    x = gg.randn(3, 2)
    np.testing.assert_array_equal(model(x).detach().numpy(), model[1](x).detach().numpy())
    assert list(dict(model.named_parameters())) == ["1.weight", "1.bias"]
    with pytest.raises(AttributeError, match="gpugrad has no quantization"):
        gg.ao.quantization.quantize_dynamic  # noqa: B018
    assert gg.quantization.QuantStub is QuantStub  # PyTorch's older path
    with pytest.raises(AttributeError, match="gpugrad has no quantization"):
        gg.quantization.prepare  # noqa: B018
