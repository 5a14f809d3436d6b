"""gg._C: the names of PyTorch's compiled core that Python code uses directly, each the same object as its
public spelling, as in PyTorch."""
import pytest

import gpugrad as gg


def test_a_singular_solve_is_caught_as_the_core_linalg_error():
    with pytest.raises(gg._C._LinAlgError, match="singular"):
        gg.linalg.solve(gg.zeros(2, 2), gg.ones(2))


def test_the_core_names_are_the_public_classes():
    assert gg._C._LinAlgError is gg.linalg.LinAlgError
    assert gg._C.OutOfMemoryError is gg.OutOfMemoryError is gg.cuda.OutOfMemoryError
    assert gg._C._DistBackendError is gg.distributed.DistBackendError
    assert gg._C._get_tracing_state() is None


def test_log_api_usage_once_takes_an_event_name_and_returns_nothing():
    assert gg._C._log_api_usage_once("torchmetrics.metric.MeanSquaredError") is None
    with pytest.raises(TypeError, match="string"):
        gg._C._log_api_usage_once(3)


def test_tensor_meta_is_the_class_of_tensor():
    assert isinstance(gg.Tensor, gg._C._TensorMeta) and isinstance(gg.nn.Parameter, gg._C._TensorMeta)


def test_nn_parse_to_reads_to_arguments():
    parse = gg._C._nn._parse_to
    assert parse("cpu") == (gg.device("cpu"), None, False, None)
    assert parse(gg.float64, True) == (None, gg.float64, True, None)
    assert parse(gg.ones(1, dtype=gg.float16)) == (gg.device("cpu"), gg.float16, False, None)
    assert parse(device="cpu", non_blocking=True, memory_format=gg.channels_last)[2:] == (True, gg.channels_last)
    with pytest.raises(TypeError, match="unexpected"):
        parse("cpu", sizes=3)


@pytest.mark.torch
def test_nn_parse_to_as_pytorchs():
    torch = pytest.importorskip("torch")
    for args, kwargs in ((("cpu",), {}), (("cpu", "float64", True), {}), ((), {"dtype": "float16"}),
                         ((), {"device": "cpu", "non_blocking": True})):
        def conv(lib, a):
            return getattr(lib, a) if a in ("float64", "float16") else a
        theirs = torch._C._nn._parse_to(*[conv(torch, a) for a in args], **{k: conv(torch, v) for k, v in kwargs.items()})
        ours = gg._C._nn._parse_to(*[conv(gg, a) for a in args], **{k: conv(gg, v) for k, v in kwargs.items()})
        assert [str(x) if x is not None else None for x in theirs[:2]] == [
            str(x).replace("gpugrad", "torch") if x is not None else None for x in ours[:2]]
        assert theirs[2:] == ours[2:]


@pytest.mark.torch
def test_pytorch_spells_them_the_same_way():
    torch = pytest.importorskip("torch")
    assert torch._C._LinAlgError is torch.linalg.LinAlgError
    assert torch._C.OutOfMemoryError is torch.OutOfMemoryError is torch.cuda.OutOfMemoryError
    assert torch._C._DistBackendError is torch.distributed.DistBackendError
    assert torch._C._get_tracing_state() is None
    assert torch._C._log_api_usage_once("an.event") is None
    with pytest.raises(TypeError):
        torch._C._log_api_usage_once(3)
    for name in gg._C.__all__:
        assert hasattr(torch._C, name), name
