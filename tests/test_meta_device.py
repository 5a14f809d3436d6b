"""The meta device: build a model there, give it memory with Module.to_empty, then initialise it (the
deferred-initialisation idiom of recent LLM code). Its tensors refuse to show values."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.proj = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.register_buffer("scale", gg.arange(3.0))

    def forward(self, ids):
        return self.norm(self.proj(self.embed(ids))) * self.scale


def test_a_model_built_on_meta_gets_memory_from_to_empty_and_then_trains():
    with gg.device("meta"):
        model = Tiny()
    assert all(t.is_meta for t in list(model.parameters()) + list(model.buffers()))
    out = model(gg.tensor([[1, 2]], device="meta"))
    assert out.is_meta and out.shape == (1, 2, 3) and out.requires_grad  # shapes and graph as on the CPU
    weight = model.proj.weight
    assert model.to_empty(device="cpu") is model
    assert model.proj.weight is weight and weight.device == gg.device("cpu") and weight.shape == (3, 4)
    assert model.scale.dtype is gg.float32 and not model.scale.is_meta
    model.embed.reset_parameters()
    model.proj.reset_parameters()
    model.norm.reset_parameters()
    model.scale.copy_(gg.arange(3.0))
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    loss = model(gg.tensor([[1, 2]])).square().mean()
    loss.backward()
    opt.step()
    assert np.isfinite(loss.item())


def test_meta_tensors_refuse_to_give_values_and_print_their_size():
    x = gg.empty(2, 3, device="meta")
    assert repr(x) == "tensor(..., device='meta', size=(2, 3))"
    assert repr(gg.zeros(3, device="meta", dtype=gg.int64)) == "tensor(..., device='meta', size=(3,), dtype=torch.int64)"
    assert repr(gg.ones(2, requires_grad=True).to("meta") * 2) == "tensor(..., device='meta', size=(2,), grad_fn=<MulBackward>)"
    for read in (lambda: x.tolist(), lambda: x.sum().item(), lambda: x.numpy(), lambda: x.to("cpu")):
        with pytest.raises(NotImplementedError, match="cannot copy out of a meta tensor"):
            read()
    with pytest.raises(NotImplementedError, match="Module.to: cannot copy out of a meta tensor"):
        nn.Linear(2, 2, device="meta").to("cpu")
    with pytest.raises(gg.DeviceError):
        x + gg.ones(2, 3)
    assert gg.empty_like(x, device="cpu").shape == (2, 3) and gg.device("meta").type == "meta"


@pytest.mark.torch
def test_meta_printing_and_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        assert repr(lib.empty(2, 3, device="meta")) == "tensor(..., device='meta', size=(2, 3))"
        assert repr(lib.nn.Linear(2, 3, device="meta").weight).endswith(
            "tensor(..., device='meta', size=(3, 2), requires_grad=True)")
        with pytest.raises(NotImplementedError):
            lib.empty(2, device="meta").tolist()
        model = lib.nn.Linear(2, 3, device="meta").to_empty(device="cpu")
        assert model.weight.device == lib.device("cpu") and tuple(model.weight.shape) == (3, 2)


def test_to_empty_goes_through_a_submodules_own_apply():
    # A layer that keeps derived tensors outside its buffers drops them in _apply; to_empty reaches it
    # there (with recurse), as it does in PyTorch.
    class Cached(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.derived = {"k": 1}

        def _apply(self, fn, recurse=True):
            self.derived.clear()
            return super()._apply(fn)

    with gg.device("meta"):
        model = nn.Sequential(Cached(), nn.BatchNorm1d(2))
    weight = model[0].lin.weight
    model.to_empty(device="cpu", recurse=True)
    assert model[0].derived == {} and model[0].lin.weight is weight and not weight.is_meta
    assert model[1].num_batches_tracked.dtype is gg.int64 and model[1].running_var.device == gg.device("cpu")
    kept = nn.Sequential(nn.Linear(2, 2))
    with gg.device("meta"):
        kept.register_buffer("own", gg.zeros(3))
    kept.to_empty(device="cpu", recurse=False)  # only the module's own tensors move
    assert not kept.own.is_meta and kept[0].weight.device == gg.device("cpu")
