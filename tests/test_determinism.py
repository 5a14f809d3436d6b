"""use_deterministic_algorithms and the anomaly switches: the flags as PyTorch's, and the one
non-deterministic path (CUDA's float atomic adds) raising or warning when determinism is asked."""
import pytest

import gpugrad as gg
from gpugrad import determinism


@pytest.fixture(autouse=True)
def _restore():
    yield
    gg.use_deterministic_algorithms(False)
    gg.set_anomaly_enabled(False)


def test_flags_and_the_alert():
    assert not gg.are_deterministic_algorithms_enabled() and gg.get_deterministic_debug_mode() == 0
    determinism.alert_not_deterministic("index_add")  # off: nothing happens
    gg.use_deterministic_algorithms(True, warn_only=True)
    assert gg.is_deterministic_algorithms_warn_only_enabled() and gg.get_deterministic_debug_mode() == 1
    with pytest.warns(UserWarning, match="index_add does not have a deterministic implementation"):
        determinism.alert_not_deterministic("index_add")
    gg.set_deterministic_debug_mode("error")
    assert gg.are_deterministic_algorithms_enabled() and not gg.is_deterministic_algorithms_warn_only_enabled()
    with pytest.raises(RuntimeError, match="use_deterministic_algorithms"):
        determinism.alert_not_deterministic("index_add")
    x = gg.ones(3, requires_grad=True)
    x[gg.tensor([0, 0, 2])].sum().backward()  # the CPU's repeated-index backward is deterministic
    assert x.grad.tolist() == [2.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="debug_mode"):
        gg.set_deterministic_debug_mode("sometimes")
    with pytest.raises(TypeError):
        gg.use_deterministic_algorithms(1)


def test_anomaly_switches():
    assert not gg.is_anomaly_enabled()
    with gg.autograd.set_detect_anomaly(True):
        assert gg.is_anomaly_enabled() and gg.is_anomaly_check_nan_enabled()
    assert not gg.is_anomaly_enabled()
    gg.set_anomaly_enabled(True)
    assert gg.is_anomaly_enabled()


@pytest.mark.torch
def test_flags_match_torch():
    torch = pytest.importorskip("torch")
    try:
        for mode in ("default", "warn", "error", 0, 2):
            torch.set_deterministic_debug_mode(mode)
            gg.set_deterministic_debug_mode(mode)
            assert gg.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert gg.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
            assert (gg.is_deterministic_algorithms_warn_only_enabled()
                    == torch.is_deterministic_algorithms_warn_only_enabled())
    finally:
        torch.use_deterministic_algorithms(False)
