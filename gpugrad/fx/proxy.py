"""``torch.fx.proxy``: the stand-in values a trace runs the code on. Each operation on a ``Proxy`` (an
operator, a method, a torch function through ``__torch_function__``) is recorded as a node of the tracer's
graph and answers a new Proxy."""
from __future__ import annotations

import dis
import inspect
import operator
from collections.abc import Callable
from typing import Any

from ..backend import Device
from ..dtypes import DType
from ..layouts import layout, memory_format
from ..overrides import _arm
from ..tensor import Tensor
from .graph import MAGIC_METHODS, REFLECTABLE, Graph
from .node import Argument, Node, Target, map_aggregate

__all__ = ["Attribute", "GraphAppendingTracer", "ParameterProxy", "Proxy", "TraceError", "TracerBase"]


# Values a node holds as they are.
_KEPT = (Node, str, int, float, bool, complex, DType, Device, layout, memory_format, Tensor)


class TraceError(ValueError):
    """Symbolic tracing met something it cannot record (control flow on a traced value, iteration)."""


class TracerBase:
    """What makes nodes from the operations on proxies: ``create_proxy`` records one and answers its
    Proxy; ``create_arg`` turns the arguments into what a node holds."""

    graph: Graph
    record_stack_traces = False
    check_mutable_operations = False
    trace_asserts = False
    proxy_buffer_attributes = False
    traced_func_name = "forward"

    def create_node(self, kind: str, target: Target, args: tuple, kwargs: dict, name: str | None = None,
                    type_expr: Any = None) -> Node:
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> Proxy:
        return Proxy(node, self)

    def create_proxy(self, kind: str, target: Target, args: tuple, kwargs: dict, name: str | None = None,
                     type_expr: Any = None, proxy_factory_fn: Callable[[Node], Proxy] | None = None) -> Proxy:
        """Record the operation ``kind``/``target`` on ``args``/``kwargs`` and answer the Proxy of its value."""
        node = self.create_node(kind, target, self.create_arg(args), self.create_arg(kwargs), name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a: Any) -> Argument:
        """What a node holds for the argument ``a``: Proxies become their nodes, containers are looked into,
        plain values are kept; anything else cannot be part of a graph."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, tuple):
            items = tuple(self.create_arg(x) for x in a)
            return type(a)(*items) if hasattr(a, "_fields") else items
        if isinstance(a, list):
            return [self.create_arg(x) for x in a]
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                key = self.create_arg(k)
                if isinstance(key, Node):
                    raise RuntimeError("Keys for dictionaries used as an argument cannot contain a Node. Got key: "
                                       f"{k}")
                out[key] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if a is None or a is ... or isinstance(a, _KEPT):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj: Proxy) -> Any:
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the Proxy is used in a loop or "
                         "as a *args or **kwargs function argument. See the torch.fx docs on pytorch.org for a more "
                         "detailed explanation of what types of control flow can be traced, and check out the Proxy "
                         "docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj: Proxy) -> Any:
        return Attribute(obj, "keys")()


class GraphAppendingTracer(TracerBase):
    """A tracer that only appends to a given graph (Proxies made by hand on a Graph use one)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.scope = None
        self.module_stack: dict = {}
        self.node_name_to_scope: dict = {}


class Proxy:
    """The value of a graph's node during a trace. Operations on it are recorded, not run::

        graph = fx.Graph()
        x = fx.Proxy(graph.placeholder("x"))
        graph.output((x * 2).relu())  # a call_function (operator.mul) and a call_method ("relu")

    It cannot decide control flow (``if proxy:``) or be iterated except when unpacked (``a, b = proxy``)."""

    def __init__(self, node: Node, tracer: TracerBase | None = None) -> None:
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node
        _arm(classes=True)  # from now on, gpugrad's functions look for a Proxy among their arguments

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    def __getattr__(self, k: str) -> Attribute:
        if k.startswith("__") and k.endswith("__"):  # copy and pickle protocols, not methods of the value
            raise AttributeError(k)
        return Attribute(self, k)

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        return self.tracer.create_proxy("call_method", "__call__", (self, *args), kwargs)

    def __iter__(self) -> Any:
        frame = inspect.currentframe().f_back
        for inst in dis.get_instructions(frame.f_code):
            if inst.offset == frame.f_lasti and inst.opname == "UNPACK_SEQUENCE":
                return (self[i] for i in range(inst.argval))
        return self.tracer.iter(self)

    def __bool__(self) -> bool:
        return self.tracer.to_bool(self)

    def keys(self) -> Any:
        return self.tracer.keys(self)

    def __len__(self) -> int:
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want this call to be "
                           "recorded, please call torch.fx.wrap('len') at module scope")

    @classmethod
    def __torch_function__(cls, orig_method: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None):
        """A gpugrad function called on a Proxy: recorded as a call_method when it is a Tensor method
        (``Tensor.add``), else as a call_function of the function itself."""
        kwargs = kwargs or {}
        tracers = {p.tracer: None for p in proxies_in((args, kwargs))}
        if len(tracers) > 1:
            raise RuntimeError(f"Found multiple different tracers {list(tracers)} while trying to trace operations "
                               f"{orig_method}")
        tracer = next(iter(tracers))
        name = getattr(orig_method, "__name__", None)
        if name is not None and getattr(Tensor, name, None) is orig_method:
            return tracer.create_proxy("call_method", name, args, kwargs)
        return tracer.create_proxy("call_function", orig_method, args, kwargs,
                                   name=tracer.graph._target_to_str(name) if name else None)


def proxies_in(a: Any) -> list[Proxy]:
    """The Proxies among ``a``'s leaves (looking into tuples, lists, dicts and slices), in order."""
    found: list = []
    map_aggregate(a, lambda x: found.append(x) if isinstance(x, Proxy) else None)
    return found


class Attribute(Proxy):
    """``proxy.name``: a method about to be called (recorded as a call_method then), or an attribute read
    (recorded as ``getattr`` the first time its node is needed)."""

    def __init__(self, root: Proxy, attr: str) -> None:
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node: Node | None = None

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr, (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        return self.tracer.create_proxy("call_method", self.attr, (self.root, *args), kwargs)


class ParameterProxy(Proxy):
    """A module's parameter during a trace: its node is a get_attr, and what does not depend on its value
    (``shape``, ``size()``, ``dim()``, ``numel()``) is answered from the parameter itself."""

    def __init__(self, tracer: TracerBase, node: Node, name: str, param: Tensor) -> None:
        super().__init__(node, tracer)
        self.param = param
        self.name = name

    def __repr__(self) -> str:
        return f"ParameterProxy({self.name})"

    @property
    def shape(self):
        return self.param.shape

    @property
    def ndim(self) -> int:
        return self.param.ndim

    def size(self, dim: int | None = None):
        return self.param.size() if dim is None else self.param.size(dim)

    def dim(self) -> int:
        return self.param.dim()

    def numel(self) -> int:
        return self.param.numel()

    def nelement(self) -> int:
        return self.param.nelement()


def _magic(method: str) -> Callable:
    target = getattr(operator, method)

    def impl(*args: Any, **kwargs: Any) -> Proxy:
        return args[0].tracer.create_proxy("call_function", target, args, kwargs)

    impl.__name__ = impl.__qualname__ = f"__{method.strip('_')}__"
    return impl


def _reflected(method: str) -> Callable:
    target = getattr(operator, method)

    def impl(self: Proxy, rhs: Any) -> Proxy:
        return self.tracer.create_proxy("call_function", target, (rhs, self), {})

    impl.__name__ = impl.__qualname__ = f"__r{method.strip('_')}__"
    return impl


for _method in MAGIC_METHODS:
    if hasattr(operator, _method):
        setattr(Proxy, f"__{_method.strip('_')}__", _magic(_method))
for _method in REFLECTABLE:
    if hasattr(operator, _method):
        setattr(Proxy, f"__r{_method.strip('_')}__", _reflected(_method))
