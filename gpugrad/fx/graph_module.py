"""``torch.fx.graph_module``: a Module whose forward is the Python code of a Graph."""
from __future__ import annotations

import copy
import itertools
import linecache
from typing import Any

from ..nn.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from .graph import Graph, PythonCode
from .node import Node, map_aggregate, map_arg

__all__ = ["GraphModule"]

_keys = itertools.count()


def _compile_forward(src: str, globals_: dict) -> Any:
    """The ``forward`` defined by ``src``; its source is kept in linecache so tracebacks show its lines."""
    key = f"<eval_with_key>.{next(_keys)}"
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    namespace = dict(globals_)
    exec(compile(src, key, "exec"), namespace)  # noqa: S102  (the graph's own code, written by Graph.python_code)
    return namespace["forward"]


def _walk_to(owner: Module, target: str, make: bool) -> tuple[Module, str]:
    *path, field = target.split(".")
    for atom in path:
        child = getattr(owner, atom, None)
        if child is None:
            if not make:
                raise AttributeError(target)
            child = Module()
            setattr(owner, atom, child)
        owner = child
    return owner, field


def _install(owner: Module, field: str, value: Any) -> None:
    # a tensor that is not a parameter is kept as a buffer, so that it moves with .to() and is saved
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        owner.register_buffer(field, value)
    else:
        setattr(owner, field, value)


def _copy_attr(from_module: Module, to_module: Module, target: str) -> None:
    """Copy the attribute ``target`` (a dotted path) of ``from_module`` into ``to_module`` under the same
    path, making plain Modules for missing parents; stops early where a parent is already the same object.
    A tensor that is no Parameter becomes a buffer. (torchvision's feature extraction uses it.)"""
    *path, field = target.split(".")
    for atom in path:
        source, dest = getattr(from_module, atom), getattr(to_module, atom, None)
        if source is dest:
            return
        if dest is None:
            dest = Module()
            setattr(to_module, atom, dest)
        from_module, to_module = source, dest
    _install(to_module, field, getattr(from_module, field))


# The key under which a GraphModule's pickled state keeps the attributes its user asked to preserve.
_USER_PRESERVED_ATTRIBUTES_KEY = "_user_preserved_attributes"


class _CodeOnlyModule(Module):
    """A Module whose attributes are exactly ``body`` (a module's ``__dict__``): the root that unpickling
    a GraphModule rebuilds it from."""

    def __init__(self, body: dict) -> None:
        super().__init__()
        self.__dict__ = body


class GraphModule(Module):
    """A Module made from a Graph: ``root`` (a Module, or a dict of qualified names) gives the submodules,
    parameters and buffers the graph's call_module and get_attr nodes name, copied in under the same
    names; ``forward`` is the graph's code (``.code``), compiled again whenever ``.graph`` is set or
    ``recompile()`` is called. Each instance has a class of its own, named ``class_name``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> GraphModule:
        base = next(c for c in cls.__mro__ if c.__dict__.get("_per_instance") is not True)
        own = type(base.__name__, (base,), {"_per_instance": True, "__module__": base.__module__})
        return super().__new__(own)

    def __init__(self, root: Module | dict, graph: Graph, class_name: str = "GraphModule") -> None:
        super().__init__()
        type(self).__name__ = type(self).__qualname__ = class_name
        targets = [n.target for n in graph.nodes if n.op in ("get_attr", "call_module")]
        if isinstance(root, Module):
            self.training = root.training
            for target in targets:
                _copy_attr(root, self, target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module") and node.target not in root:
                    raise RuntimeError(f"Node {node} referenced target {node.target} but that target was not "
                                       "provided in ``root``!")
            for target in sorted(set(targets), key=lambda t: t.count(".")):
                owner, field = _walk_to(self, target, make=True)
                _install(owner, field, root[target])
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")
        self.meta: dict = {}
        self.graph = graph

    @property
    def graph(self) -> Graph:
        return self.__dict__["_graph"]

    @graph.setter
    def graph(self, g: Graph) -> None:
        if not isinstance(g, Graph):
            raise TypeError(f"GraphModule.graph must be a torch.fx.Graph, not {type(g).__name__}")
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The Python source of this module's forward."""
        return self.__dict__["_code"]

    def recompile(self) -> PythonCode:
        """Write the graph's code again and make it this module's forward (after editing ``.graph``)."""
        python_code = self.graph.python_code(root_module="self")
        self.__dict__["_code"] = python_code.src
        type(self).forward = _compile_forward(python_code.src, python_code.globals)
        return python_code

    def print_readable(self, print_output: bool = True, **kwargs: Any) -> str:
        """The module's code as a class definition."""
        body = "\n".join(f"    {line}" if line else line for line in self.code.strip("\n").splitlines())
        text = f"class {type(self).__name__}(torch.nn.Module):\n{body}\n"
        if print_output:
            print(text)
        return text

    def add_submodule(self, target: str, m: Module) -> bool:
        """Install ``m`` at the qualified name ``target``, making the modules on the way."""
        owner, field = _walk_to(self, target, make=True)
        owner.add_module(field, m)
        return True

    def delete_submodule(self, target: str) -> bool:
        """Remove the submodule at ``target``; whether there was one."""
        try:
            owner, field = _walk_to(self, target, make=False)
        except AttributeError:
            return False
        if field not in owner._modules:
            return False
        del owner._modules[field]
        return True

    def delete_all_unused_submodules(self) -> None:
        """Remove the submodules no call_module or get_attr node reaches."""
        used: set = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                atoms = node.target.split(".")
                used.update(".".join(atoms[:i]) for i in range(1, len(atoms) + 1))
        for name, _ in reversed(list(self.named_modules())):
            if name and name not in used:
                self.delete_submodule(name)

    def __reduce__(self) -> tuple:
        # pickled as its class name, its attributes and its graph's nodes (the class is its own, made per
        # instance: pickle could not find it by name)
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        return _rebuild, (type(self).__name__, state, _graph_spec(self.graph))

    def __deepcopy__(self, memo: dict) -> GraphModule:
        state = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}, memo)
        holder = Module()
        holder.__dict__.update(state)
        result = GraphModule(holder, copy.deepcopy(self.graph, memo), type(self).__name__)
        result.__dict__.update({k: v for k, v in state.items() if k not in ("_parameters", "_buffers", "_modules")})
        return result

    def __copy__(self) -> GraphModule:
        result = GraphModule(self, self.graph, type(self).__name__)
        result.meta = dict(self.meta)
        return result

    def __str__(self) -> str:
        return f"{super().__str__()}\n\n\n{self.code}"


class _NodeName(str):
    """A node's name standing for the node in a pickled graph."""


def _graph_spec(graph: Graph) -> list:
    def by_name(n: Node) -> _NodeName:
        return _NodeName(n.name)

    return [(n.name, n.op, n.target, map_arg(n.args, by_name), map_arg(n.kwargs, by_name)) for n in graph.nodes]


def _rebuild(class_name: str, state: dict, spec: list) -> GraphModule:
    graph = Graph()
    nodes: dict = {}

    def node_of(a: Any) -> Any:
        return nodes[a] if isinstance(a, _NodeName) else a

    for name, op, target, args, kwargs in spec:
        nodes[name] = graph.create_node(op, target, tuple(map_aggregate(args, node_of)),
                                        dict(map_aggregate(kwargs, node_of)), name)
    module = GraphModule.__new__(GraphModule)
    module.__dict__.update(state)
    type(module).__name__ = type(module).__qualname__ = class_name
    module.graph = graph
    return module
