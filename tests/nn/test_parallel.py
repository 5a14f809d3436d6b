"""nn.DataParallel / nn.parallel.data_parallel on one device, and the refusal of several."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.errors import ArgumentError


def test_data_parallel_on_one_device_is_the_module():
    model = nn.Linear(3, 2)
    wrapped = nn.DataParallel(model, device_ids=[0])
    x = gg.randn(4, 3)
    np.testing.assert_array_equal(wrapped(x).detach().numpy(), model(x).detach().numpy())
    assert wrapped.module is model and list(wrapped.state_dict()) == ["module.weight", "module.bias"]
    np.testing.assert_array_equal(nn.parallel.data_parallel(model, x).detach().numpy(), model(x).detach().numpy())


def test_several_devices_are_refused_by_name():
    with pytest.raises(ArgumentError, match="DataParallel: gpugrad runs a module on one device"):
        nn.DataParallel(nn.Linear(3, 2), device_ids=[0, 1])
    with pytest.raises(ArgumentError, match="data_parallel"):
        nn.parallel.data_parallel(nn.Linear(3, 2), gg.ones(1, 3), range(2))


def test_onnx_export_says_it_is_not_supported_and_cudnn_flags_are_accepted():
    with pytest.raises(NotImplementedError, match="gpugrad.onnx.export: ONNX export is not supported"):
        gg.onnx.export(nn.Linear(2, 2), gg.ones(1, 2), "model.onnx")
    assert gg.onnx.is_in_onnx_export() is False
    import gpugrad.backends.cudnn as cudnn

    cudnn.benchmark = True
    assert not cudnn.is_available()
