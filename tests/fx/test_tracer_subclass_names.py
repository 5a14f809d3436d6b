"""The private names of torch.fx._symbolic_trace that Tracer subclasses rewriting ``trace`` use (PyG's
symbolic_trace), and the tracer's tables keyed by the modules and tensors themselves, as PyTorch's."""
from __future__ import annotations

import gpugrad as gg
import gpugrad.fx._symbolic_trace as st
from gpugrad import fx, nn


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.scale = gg.ones(2)

    def forward(self, x):
        return self.lin(x) * self.scale


def test_tables_are_keyed_by_objects():
    model = Scaled()
    tracer = fx.Tracer()
    tracer.root = model
    tracer.graph = fx.Graph()
    tracer.submodule_paths = {model.lin: "renamed"}
    assert tracer.path_of_module(model.lin) == "renamed"
    tracer.tensor_attrs = {model.scale: "scale"}
    node = tracer.create_arg(model.scale)
    assert node.op == "get_attr" and node.target == "scale"


def test_a_subclass_can_patch_with_pytorchs_private_names():
    calls = []

    class Counting(fx.Tracer):
        @st.compatibility(is_backward_compatible=True)
        def trace(self, root, concrete_args=None):
            def counted_call(mod, *args, **kwargs):
                calls.append(type(mod).__name__)
                return st._orig_module_call(mod, *args, **kwargs)

            with st._Patcher() as patcher:
                patcher.patch_method(nn.Module, "__call__", counted_call, deduplicate=False)
                st._patch_wrapped_functions(patcher)
                st._autowrap_check(patcher, {}, self._autowrap_function_ids)
                assert self._autowrap_search == self._autowrap_modules
                root(gg.ones(1, 2))
            return fx.Graph()

    Counting().trace(Scaled())
    assert calls == ["Scaled", "Linear"]
    assert nn.Module.__call__ is st._orig_module_call  # put back after the trace
    assert not isinstance(gg.ones(1), st.ScriptObject)
