"""What nn.Module saves and loads, and the steps subclasses and libraries change: _load_from_state_dict,
_save_to_state_dict, the state-dict hooks, extra state, versions in _metadata, assign=True; and the
conversions that go through Module._apply (half, type, to with a sparse buffer)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


class Renamed(nn.Module):
    """A layer whose version 1 saved its weight as ``w``: loading converts the old key, as libraries do."""

    _version = 2

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(gg.zeros(2, 3))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        if local_metadata.get("version", 1) < 2 and prefix + "w" in state_dict:
            state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errors)


def test_a_subclass_converts_old_keys_in_load_from_state_dict():
    model = nn.Sequential(Renamed())
    old = {"0.w": gg.ones(2, 3)}  # a plain dict has no _metadata: version 1
    assert model.load_state_dict(old).missing_keys == []
    assert model[0].weight.tolist() == [[1.0] * 3] * 2
    sd = model.state_dict()
    assert sd._metadata["0"] == {"version": 2} and list(sd) == ["0.weight"]
    model.load_state_dict(sd)  # version 2: nothing renamed


def test_state_dict_hooks_run_around_saving():
    m = nn.Linear(2, 2)
    calls = []
    pre = m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix)))
    def drop_bias(mod, sd, prefix, meta):
        del sd[prefix + "bias"]

    m.register_state_dict_post_hook(drop_bias)
    outer = nn.Sequential(m)
    assert list(outer.state_dict()) == ["0.weight"] and calls == [("pre", "0.")]
    pre.remove()
    outer.state_dict()
    assert calls == [("pre", "0.")]
    m.register_state_dict_post_hook(lambda *args: {})
    with pytest.raises(RuntimeError, match="must return None"):
        m.state_dict()


def test_load_hooks_rename_before_and_forgive_after():
    m = nn.Linear(3, 2)
    def rename(mod, sd, prefix, *rest):
        if prefix + "kernel" in sd:
            sd[prefix + "weight"] = sd.pop(prefix + "kernel")

    m.register_load_state_dict_pre_hook(rename)
    seen = []

    def forgive_bias(mod, keys):
        seen.append(mod.weight.tolist())  # post-hooks see the loaded values
        if "bias" in keys.missing_keys:
            keys.missing_keys.remove("bias")

    m.register_load_state_dict_post_hook(forgive_bias)
    result = m.load_state_dict({"kernel": gg.full((2, 3), 5.0)})
    assert result.missing_keys == [] and seen == [[[5.0] * 3] * 2] and m.weight.tolist() == [[5.0] * 3] * 2


def test_a_load_that_fails_after_its_post_hooks_puts_the_values_back():
    m = nn.Linear(3, 2)
    before = m.weight.tolist()
    m.register_load_state_dict_post_hook(lambda mod, keys: None)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "bias"'):
        m.load_state_dict({"weight": gg.zeros(2, 3)})
    assert m.weight.tolist() == before


def test_a_failed_load_changes_nothing():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    before = [p.tolist() for p in m.parameters()]
    with pytest.raises(RuntimeError, match="size mismatch for 1.weight"):
        m.load_state_dict({"0.weight": gg.zeros(2, 3), "0.bias": gg.zeros(2), "1.weight": gg.zeros(1, 5),
                           "1.bias": gg.zeros(1)})
    assert [p.tolist() for p in m.parameters()] == before


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1)
        self.calls = 0

    def get_extra_state(self):
        return {"calls": self.calls}

    def set_extra_state(self, state):
        self.calls = state["calls"]


def test_extra_state_round_trips_and_is_required_when_strict():
    a, b = Counter(), Counter()
    a.calls = 7
    sd = a.state_dict()
    assert sd["_extra_state"] == {"calls": 7}
    b.load_state_dict(sd)
    assert b.calls == 7
    del sd["_extra_state"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "_extra_state"'):
        b.load_state_dict(sd)


def test_assign_takes_the_dicts_tensors_themselves():
    with gg.device("meta"):
        m = nn.Linear(3, 2)
    w, b = gg.randn(2, 3), gg.randn(2)
    m.load_state_dict({"weight": w, "bias": b}, assign=True)
    assert not m.weight.is_meta and m.weight.requires_grad and isinstance(m.weight, nn.Parameter)
    w.add_(1.0)  # shares memory with the given tensor, as PyTorch's assign
    assert m.weight.tolist() == w.tolist()


def test_conversions_go_through_apply():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    weight = m[0].weight
    m.half()
    assert m[0].weight is weight and weight.dtype == gg.float16 and m[1].num_batches_tracked.dtype == gg.int64
    m.type(gg.float64)
    assert weight.dtype == gg.float64 and m[1].num_batches_tracked.dtype == gg.float64  # type() casts all
    assert nn.Linear(2, 2).bfloat16().weight.dtype == gg.bfloat16
    seen = []
    m._apply(lambda t: seen.append(tuple(t.shape)) or t)
    assert (2, 3) in seen and len(seen) == len(list(m.parameters())) + len(list(m.buffers()))


def test_to_moves_a_sparse_buffer_and_keeps_it_sparse():
    m = nn.Linear(2, 2)
    heads = gg.zeros(2, 4, dtype=gg.bool)
    heads[1:] = True
    m.register_buffer("heads", heads.to_sparse(), persistent=False)
    for convert in (lambda m: m.to("cpu"), lambda m: m.double(), lambda m: m.float()):
        out = convert(m).heads
        assert out.is_sparse and out.dtype == gg.bool and out.to_dense().tolist() == heads.tolist()


def test_submodules_and_buffers_by_path():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert m.get_buffer("1.running_var").shape == (2,)
    with pytest.raises(AttributeError, match="no buffer `weight`"):
        m.get_buffer("1.weight")
    m.set_submodule("0", nn.ReLU())
    assert isinstance(m[0], nn.ReLU)
    with pytest.raises(AttributeError, match="no attribute `extra`"):
        m.set_submodule("extra", nn.ReLU(), strict=True)


@pytest.mark.torch
def test_hooks_and_overrides_as_in_pytorch():
    torch = pytest.importorskip("torch")
    out = {}
    for lib in (gg, torch):
        class Old(lib.nn.Linear):
            def _load_from_state_dict(self, sd, prefix, meta, strict, missing, unexpected, errors):
                if prefix + "kernel" in sd:
                    sd[prefix + "weight"] = sd.pop(prefix + "kernel")
                super()._load_from_state_dict(sd, prefix, meta, strict, missing, unexpected, errors)

        m = lib.nn.Sequential(Old(3, 2, bias=False))
        m.register_load_state_dict_post_hook(lambda mod, keys: keys.unexpected_keys.clear())
        keys = m.load_state_dict({"0.kernel": lib.ones(2, 3), "0.extra": lib.ones(1)})
        sd = m.state_dict()
        out[lib.__name__] = (list(keys.missing_keys), list(keys.unexpected_keys), list(sd), dict(sd._metadata),
                             m[0].weight.detach().numpy().tolist())
    assert out["gpugrad"] == out["torch"]


def _delegating(lib):
    class Delegating(lib.nn.Module):
        """A wrapper that answers unknown attributes from its submodule (as zuko's BayesianModel)."""

        def __init__(self):
            super().__init__()
            self.base = lib.nn.Linear(2, 3)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self.base, name)

    return Delegating


def test_deepcopy_of_a_module_whose_getattr_delegates():
    import copy

    model = _delegating(gg)()
    assert model.in_features == 2  # answered by model.base
    clone = copy.deepcopy(model)
    assert clone is not model and clone.base is not model.base and clone.out_features == 3
    np.testing.assert_array_equal(clone.base.weight.detach().numpy(), model.base.weight.detach().numpy())
    assert clone.base.weight is not model.base.weight and isinstance(clone.base.weight, nn.Parameter)
    shallow = copy.copy(model)
    assert shallow.base is model.base
    fresh = nn.Linear(1, 1)
    fresh.__setstate__({"extra": 5})
    assert fresh.extra == 5 and fresh.in_features == 1


def test_deepcopy_of_a_delegating_module_as_in_pytorch():
    torch = pytest.importorskip("torch")
    import copy

    for lib in (torch, gg):
        model = _delegating(lib)()
        clone = copy.deepcopy(model)
        assert clone.in_features == 2 and clone.base.weight is not model.base.weight
