"""A Module subclass's own train(), _apply() and to() are honoured as PyTorch honours them: train/eval
reach each child through its train(), conversions through its _apply(), and cpu()/float()/... never go
through to() (a to() that calls cpu() must not recurse). Also PyTorch's rule for a 1-d checkpoint entry
loaded into a 0-d parameter."""
import pytest

import gpugrad as gg


def _classes(lib):
    nn = lib.nn

    class Cached(nn.Module):
        """Keeps a cache that train() and _apply() must clear, as gpytorch's models do."""

        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 2)
            self.calls = []

        def train(self, mode=True):
            self.calls.append(("train", mode))
            return super().train(mode)

        def _apply(self, fn, recurse=True):
            self.calls.append(("apply",))
            return super()._apply(fn, recurse)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.cached = Cached()
            self.head = nn.Linear(2, 3)

        def to(self, *args, **kwargs):  # a library's to() that calls cpu()
            return self.cpu()

    return Outer


@pytest.mark.parametrize("lib_name", ["gpugrad", "torch"])
def test_children_are_reached_through_their_own_methods(lib_name):
    lib = gg if lib_name == "gpugrad" else pytest.importorskip("torch")
    model = _classes(lib)()
    model.eval()
    model.double()
    model.to("cpu")
    model.train()
    assert model.cached.calls == [("train", False), ("apply",), ("apply",), ("train", True)]
    assert model.cached.inner.weight.dtype == lib.float64 and model.head.weight.dtype == lib.float64
    assert model.cached.inner.training and model.head.training


def test_a_failing_conversion_leaves_the_plain_modules_as_they_were():
    model = gg.nn.Sequential(gg.nn.Linear(2, 2), gg.nn.Linear(2, 2))
    before = [p.dtype for p in model.parameters()]

    def fails_on_the_last(t):
        if t is model[1].bias:
            raise RuntimeError("no")
        return t.double()

    with pytest.raises(RuntimeError, match="no"):
        model._apply(fails_on_the_last)
    assert [p.dtype for p in model.parameters()] == before


@pytest.mark.parametrize("lib_name", ["gpugrad", "torch"])
def test_a_one_element_entry_loads_into_a_zero_dim_parameter(lib_name):
    lib = gg if lib_name == "gpugrad" else pytest.importorskip("torch")
    module = lib.nn.Module()
    module.scale = lib.nn.Parameter(lib.tensor(1.0))
    module.load_state_dict({"scale": lib.tensor([5.0])})
    assert module.scale.shape == () and module.scale.item() == 5.0
