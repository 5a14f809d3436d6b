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


# nn.parallel.scatter_gather (torch.nn.parallel.scatter_gather): GPU-only, as PyTorch's; the structure walk
# is checked on non-tensors everywhere, the tensors on a GPU or in the CUDA simulator.
from collections import namedtuple  # noqa: E402

from gpugrad import backend  # noqa: E402
from gpugrad.errors import DeviceError  # noqa: E402
from gpugrad.nn.parallel.scatter_gather import gather, scatter, scatter_kwargs  # noqa: E402

_CUDA_USABLE = gg.cuda.is_available() or backend.simulating_cuda()
Pair = namedtuple("Pair", "a b")


def _on_device(test):
    for mark in (pytest.mark.cuda, pytest.mark.cudasim,
                 pytest.mark.skipif(not _CUDA_USABLE, reason="needs a GPU, or the CUDA simulator")):
        test = mark(test)
    return test


def test_scatter_duplicates_what_is_not_a_tensor():
    assert nn.parallel.scatter is scatter and nn.parallel.gather is gather
    assert scatter({"a": 1, "b": [2]}, [0, 1]) == [{"a": 1, "b": [2]}, {"a": 1, "b": [2]}]
    assert scatter((), [0, 1]) == [(), ()] and scatter([], [0, 1]) == [[], []] and scatter(None, [0]) == [None]
    assert scatter((1, "x"), [0, 1]) == [(1, "x"), (1, "x")]
    assert scatter(Pair(1, 2), [0, 1]) == [Pair(1, 2), Pair(1, 2)]
    assert scatter_kwargs((1,), {"k": 2}, [0, 1]) == (((1,), (1,)), ({"k": 2}, {"k": 2}))
    assert scatter_kwargs((), {"k": 2}, [0]) == (((),), ({"k": 2},))
    assert scatter_kwargs((1,), None, [0]) == (((1,),), ({},))


def test_scatter_and_gather_refuse_the_cpu():
    with pytest.raises(DeviceError, match="expected a CUDA device"):
        scatter(gg.ones(4), ["cpu"])
    with pytest.raises(DeviceError, match="must be CUDA tensors"):
        gather([gg.ones(2), gg.ones(3)], "cpu")
    assert gather([None, None], "cpu") is None


@_on_device
def test_scatter_chunks_and_gather_concatenates_with_gradients():
    x = gg.arange(10.0, requires_grad=True)
    parts = scatter((x, 3), [0, 0])
    assert len(parts) == 2 and [p[1] for p in parts] == [3, 3]
    assert [p[0].tolist() for p in parts] == [[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]]
    assert all(p[0].device.type == "cuda" for p in parts)
    y = gather([p[0] * (i + 1) for i, p in enumerate(parts)], "cpu")
    assert y.device.type == "cpu" and y.shape == (10,)
    w = gg.tensor(np.random.default_rng(0).normal(size=10).astype(np.float32))
    (y * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), w.numpy() * np.repeat([1.0, 2.0], 5), rtol=1e-6)
    d = gather([{"t": gg.ones(1, 2).to("cuda")}, {"t": gg.zeros(1, 2).to("cuda")}], 0, dim=1)
    assert d["t"].shape == (1, 4) and d["t"].device.type == "cuda"
    with pytest.warns(UserWarning, match="scalars"):
        v = gather([gg.tensor(1.0).to("cuda"), gg.tensor(2.0).to("cuda")], -1)
    assert v.tolist() == [1.0, 2.0]


def test_replicate_for_data_parallel_is_a_shallow_copy_without_parameters():
    model = gg.nn.Sequential(gg.nn.Linear(2, 2), gg.nn.BatchNorm1d(2))
    model.cache = {}
    replica = model._replicate_for_data_parallel()
    assert type(replica) is gg.nn.Sequential and replica is not model and replica._is_replica
    assert replica.cache is model.cache and replica[0] is model[0]  # plain attributes are shared
    assert replica._modules is not model._modules and dict(replica._modules) == dict(model._modules)
    bn = model[1]._replicate_for_data_parallel()
    assert dict(bn._parameters) == {} and bn._buffers is not model[1]._buffers
    assert bn._buffers["running_mean"] is model[1].running_mean and "_is_replica" not in vars(model[1])
