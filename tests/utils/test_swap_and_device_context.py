"""torch.utils.swap_tensors and PyTorch 2's ``with torch.device(...)`` block."""
import weakref

import pytest

import gpugrad as gg
from gpugrad import default_device


def test_swap_tensors_swaps_contents_and_keeps_identity():
    p = gg.nn.Parameter(gg.ones(2))
    t = gg.zeros(3)
    p_id = id(p)
    gg.utils.swap_tensors(p, t)
    assert id(p) == p_id and type(p) is gg.Tensor and p.tolist() == [0.0, 0.0, 0.0]
    assert type(t) is gg.nn.Parameter and t.requires_grad and t.tolist() == [1.0, 1.0]
    held = gg.ones(1)
    ref = weakref.ref(held)
    with pytest.raises(RuntimeError, match="weakref"):
        gg.utils.swap_tensors(held, gg.zeros(1))
    assert ref() is held


def test_device_block_sets_the_factories_default_and_restores_it():
    before = default_device.current
    with gg.device("cpu") as d:
        assert d == gg.device("cpu") and gg.get_default_device() == gg.device("cpu")
        assert gg.zeros(1).device == gg.device("cpu")
        with gg.device("cpu"):
            pass
        assert default_device.current == gg.device("cpu")
    assert default_device.current == before
