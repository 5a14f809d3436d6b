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
