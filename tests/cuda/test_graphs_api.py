"""gg.cuda's stream and graph API against torch.cuda's (importable from PyTorch's CPU build): the same
names, parameters in the same order with the same defaults (PyTorch's newer extras, such as
graph(enable_annotations=...), are not offered), and without a GPU the same refusal to make a stream."""
import inspect

import pytest

import gpugrad as gg

pytestmark = pytest.mark.torch


def params(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name not in ("self", "cls") and p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize("ours, theirs", [
    ("graph.__init__", "graph.__init__"),
    ("CUDAGraph.capture_begin", "CUDAGraph.capture_begin"),
    ("CUDAGraph.capture_end", "CUDAGraph.capture_end"),
    ("CUDAGraph.replay", "CUDAGraph.replay"),
    ("CUDAGraph.reset", "CUDAGraph.reset"),
    ("CUDAGraph.pool", "CUDAGraph.pool"),
    ("make_graphed_callables", "make_graphed_callables"),
    ("graph_pool_handle", "graph_pool_handle"),
    ("Stream.__init__", "Stream.__new__"),
    ("Event.__init__", "Event.__new__"),
    ("Stream.wait_stream", "Stream.wait_stream"),
    ("Stream.record_event", "Stream.record_event"),
    ("Event.record", "Event.record"),
    ("Event.elapsed_time", "Event.elapsed_time"),
    ("current_stream", "current_stream"),
    ("default_stream", "default_stream"),
    ("set_stream", "set_stream"),
])
def test_parameters_match_pytorch(ours, theirs):
    torch = pytest.importorskip("torch")

    def lookup(root, path):
        for part in path.split("."):
            root = getattr(root, part)
        return root

    mine, torch_params = params(lookup(gg.cuda, ours)), params(lookup(torch.cuda, theirs))
    assert mine == torch_params[: len(mine)], (mine, torch_params)
    extra = {name for name, _ in torch_params[len(mine):]}
    assert extra <= {"enable_annotations", "check_input_liveness", "external"}, extra


@pytest.mark.skipif(gg.cuda.is_available(), reason="checks the behaviour without a GPU")
def test_without_a_gpu_streams_and_graphs_refuse_clearly():
    with pytest.raises(gg.errors.DeviceError, match="cuda.Stream: no CUDA device is available"):
        gg.cuda.Stream()
    if not gg.backend.simulating_cuda():
        with pytest.raises(gg.errors.DeviceError, match="CUDAGraph.capture_begin"):
            gg.cuda.CUDAGraph().capture_begin()
