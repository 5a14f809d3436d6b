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


def test_create_proxy_override_without_the_factory_argument():
    # torchvision's feature-extraction tracer overrides create_proxy with PyTorch's older signature; a
    # parameter read during the trace must not pass it proxy_factory_fn.
    seen = []

    class Recording(fx.Tracer):
        def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, *_):
            proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr)
            seen.append(proxy.node.op)
            return proxy

    class Weighted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(gg.ones(2))

        def forward(self, x):
            return x * self.w

    graph = Recording().trace(Weighted())
    assert "get_attr" in seen and [n.op for n in graph.nodes] == ["placeholder", "get_attr", "call_function",
                                                                   "output"]


def test_graph_module_helpers_feature_extraction_imports():
    from gpugrad.fx.graph_module import (
        _USER_PRESERVED_ATTRIBUTES_KEY,
        _CodeOnlyModule,
        _copy_attr,
    )

    source = nn.Sequential(nn.Linear(2, 2), Scaled())
    source[1].register_buffer("shift", gg.zeros(2))
    dest = nn.Module()
    _copy_attr(source, dest, "1.lin.weight")
    _copy_attr(source, dest, "1.shift")
    _copy_attr(source, dest, "0")
    assert dest.get_submodule("1.lin").weight is source[1].lin.weight and dest.get_submodule("0") is source[0]
    assert "shift" in dict(dest.get_submodule("1").named_buffers())
    assert type(dest.get_submodule("1")) is nn.Module  # parents made on the way are plain modules
    body = nn.Linear(2, 3).__dict__
    copied = _CodeOnlyModule(body)
    assert copied.weight.shape == (3, 2) and isinstance(_USER_PRESERVED_ATTRIBUTES_KEY, str)
