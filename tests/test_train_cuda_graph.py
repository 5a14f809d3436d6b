"""``gpugrad train`` on a GPU replays its step as a CUDA graph by default: the figures it prints are the
ones the op-by-op loop (--no-cuda-graph) prints, bit for bit, for an MLP and the CNN, with a short last
batch (run eagerly) in every epoch."""
import pytest

import gpugrad as gg
from gpugrad.train import TrainConfig, run

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not gg.cuda.is_available(), reason="needs a GPU")]


@pytest.mark.parametrize("model, optimizer", [("mlp", "adam"), ("cnn", "momentum")])
def test_the_graphed_loop_prints_what_the_eager_loop_prints(model, optimizer):
    base = dict(model=model, dataset="digits", optimizer=optimizer, epochs=2, batch_size=50, device="cuda",
                progress=False)
    graphed = run(TrainConfig(**base))
    eager = run(TrainConfig(**base, cuda_graph=False))
    assert graphed["cuda_graph"] and not eager["cuda_graph"]
    assert graphed["history"] == eager["history"]
