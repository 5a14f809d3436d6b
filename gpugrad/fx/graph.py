"""``torch.fx.graph``: an FX graph, the list of nodes a trace records, and the Python code it turns into."""
from __future__ import annotations

import builtins
import inspect
import keyword
import math
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .node import Argument, Node, Target, map_arg, public_name

__all__ = ["Graph", "PythonCode"]

# Operators a graph prints as Python syntax (``x + y``); PyTorch's table.
MAGIC_METHODS = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}", "truediv": "{} / {}",
    "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}", "lshift": "{} << {}", "rshift": "{} >> {}",
    "and_": "{} & {}", "or_": "{} | {}", "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}", "ge": "{} >= {}",
    "pos": "+{}", "neg": "-{}", "invert": "~{}",
}
REFLECTABLE = ("add", "sub", "mul", "floordiv", "truediv", "div", "mod", "pow", "lshift", "rshift", "and_", "or_",
               "xor", "getitem", "matmul")
_ILLEGAL = set(keyword.kwlist) | set(dir(builtins)) | {"inf", "nan", "torch", "self"}
_NAME_SUFFIX = re.compile(r"(.*)_(\d+)$")


def _snake_case(s: str) -> str:
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", s).lower()


class _Namespace:
    """Unique Python identifiers for a graph's values and the globals of its code."""

    def __init__(self) -> None:
        self._used: set = set()
        self._base_count: dict = defaultdict(int)
        self._obj_to_name: dict = {}

    def create_name(self, candidate: str, obj: Any = None) -> str:
        if obj is not None and id(obj) in self._obj_to_name:
            return self._obj_to_name[id(obj)]
        candidate = re.sub(r"[^0-9a-zA-Z_]+", "_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = f"_{candidate}"
        match = _NAME_SUFFIX.match(candidate)
        base, num = (match.group(1), int(match.group(2))) if match else (candidate, None)
        if num is None or candidate in self._used:
            num = self._base_count[base]
            if candidate in _ILLEGAL:  # never shadow a keyword, a builtin or the code's own globals
                num += 1
                candidate = f"{base}_{num}"
        while candidate in self._used:
            num += 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[id(obj)] = candidate
        return candidate


@dataclass
class PythonCode:
    """A graph as Python: the source of its ``forward`` and the globals that source reads."""

    src: str
    globals: dict


class _NodeList:
    """A graph's nodes in order; walking it while nodes are inserted or erased goes on from where it stands."""

    def __init__(self, graph: Graph, forward: bool = True) -> None:
        self._graph, self._forward = graph, forward

    def __len__(self) -> int:
        return self._graph._len

    def __iter__(self) -> Iterator[Node]:
        root, step = self._graph._root, ("_next" if self._forward else "_prev")
        cur = getattr(root, step)
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = getattr(cur, step)

    def __reversed__(self) -> Iterator[Node]:
        return iter(_NodeList(self._graph, not self._forward))


class _InsertPoint:
    def __init__(self, graph: Graph, insert: Callable[[Node], None]) -> None:
        self.graph = graph
        self.orig_insert, graph._insert = graph._insert, insert

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        self.graph._insert = self.orig_insert


class Graph:
    """An FX graph: the operations a trace recorded (or a program builds) as a list of ``Node``s, from
    placeholders (the inputs) to one output. ``python_code`` turns it into the source of a ``forward``,
    which ``GraphModule`` compiles."""

    def __init__(self, owning_module: Any = None, tracer_cls: type | None = None,
                 tracer_extras: dict | None = None) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._insert = self._root.prepend
        self._len = 0
        self._graph_namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras

    @property
    def owning_module(self) -> Any:
        return self._owning_module

    @owning_module.setter
    def owning_module(self, module: Any) -> None:
        self._owning_module = module

    @property
    def nodes(self) -> _NodeList:
        return _NodeList(self)

    def find_nodes(self, *, op: str, target: Target = None, sort: bool = True) -> list[Node]:
        """The nodes of kind ``op`` (and ``target``, if given), in graph order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # making nodes
    def _target_to_str(self, target: Target) -> str:
        if callable(target):
            name = target.__name__
        else:
            name = target[2:-2] if target.startswith("__") and target.endswith("__") and len(target) > 4 else target
        return _snake_case(name)

    def create_node(self, op: str, target: Target, args: tuple | None = None, kwargs: dict | None = None,
                    name: str | None = None, type_expr: Any = None) -> Node:
        """A new node, inserted at the insert point (the end, unless inside ``inserting_before/after``)."""
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise TypeError(f"Graph.create_node: args must be a tuple and kwargs a dict, got {type(args).__name__} and "
                            f"{type(kwargs).__name__}")
        unique = self._graph_namespace.create_name(name if name is not None else self._target_to_str(target))
        node = Node(self, unique, op, target, args, kwargs, type_expr)
        self._insert(node)
        self._len += 1
        return node

    def placeholder(self, name: str, type_expr: Any = None, default_value: Any = inspect.Signature.empty) -> Node:
        """An input of the graph (an argument of its forward), with its default if it has one."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr: Any = None) -> Node:
        """The value of an attribute of the owning module (``"layer.weight"``)."""
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name: str, args: tuple | None = None, kwargs: dict | None = None,
                    type_expr: Any = None) -> Node:
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args: tuple | None = None, kwargs: dict | None = None,
                    type_expr: Any = None) -> Node:
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function: Callable, args: tuple | None = None, kwargs: dict | None = None,
                      type_expr: Any = None) -> Node:
        return self.create_node("call_function", the_function, args, kwargs, type_expr=type_expr)

    def output(self, result: Argument, type_expr: Any = None) -> Node:
        """What the graph returns."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def inserting_before(self, n: Node | None = None) -> _InsertPoint:
        """Within this context, new nodes go just before ``n`` (at the start if None)."""
        if n is None:
            return self.inserting_after(self._root)
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n: Node | None = None) -> _InsertPoint:
        """Within this context, new nodes go just after ``n`` (at the end if None)."""
        if n is None:
            return self.inserting_before(self._root)
        return _InsertPoint(self, n.append)

    def erase_node(self, to_erase: Node) -> None:
        """Remove a node nothing uses any more."""
        if to_erase.users:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} users in the "
                               f"graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})

    def node_copy(self, node: Node, arg_transform: Callable[[Node], Argument] = lambda x: x) -> Node:
        """A copy of a node (of any graph) in this one, its node arguments mapped by ``arg_transform``."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        copy = self.create_node(node.op, node.target, tuple(args), dict(kwargs), node.name, node.type)
        copy.meta = dict(node.meta)
        return copy

    def graph_copy(self, g: Graph, val_map: dict, return_output_node: bool = False) -> Any:
        """Copy every node of ``g`` but its output into this graph (``val_map``: old node -> new, filled
        in); returns what the output returned, mapped."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                value = map_arg(node.args[0], lambda n: val_map[n])
                return (value, node) if return_output_node else value
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo: dict) -> Graph:
        memo = memo if memo is not None else {}
        copy = Graph(tracer_cls=self._tracer_cls)
        out = copy.graph_copy(self, {}, return_output_node=True)
        memo[id(self)] = copy
        if out is not None:
            value, node = out
            copy.output(value, type_expr=node.type)
        return copy

    def eliminate_dead_code(self, is_impure_node: Callable[[Node], bool] | None = None) -> bool:
        """Remove the nodes whose values nothing uses and that have no side effects; whether any went."""
        impure = is_impure_node or (lambda n: n.is_impure())
        changed = False
        for node in reversed(self.nodes):
            if not node.users and not impure(node):
                self.erase_node(node)
                changed = True
        return changed

    def lint(self) -> None:
        """Check the graph is well formed: each node belongs here, uses only nodes defined before it, has a
        unique name, and its module or attribute exists in the owning module."""
        seen: set = set()
        names: set = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            for arg in node._input_nodes:
                if arg.graph is not self:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' does not belong to this Graph, but was used "
                                       "as an argument! If you are copying nodes from another graph, make sure to use "
                                       "``arg_transform`` on node_copy() to remap values")
                if arg not in seen:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' was used before it has been defined! "
                                       "Please check that Nodes in the graph are topologically ordered")
            if node.name in names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen.add(node)
            names.add(node.name)
            module = self.owning_module
            if module is not None and node.op in ("get_attr", "call_module"):
                owner = module
                for i, atom in enumerate(node.target.split(".")):
                    if not hasattr(owner, atom):
                        raise RuntimeError(f"Node {node} target {node.target} references nonexistent attribute "
                                           f"{atom} of {'.'.join(node.target.split('.')[:i]) or 'root'}")
                    owner = getattr(owner, atom)

    # printing and code
    def __str__(self) -> str:
        lines = ["graph():"]
        lines += [f"    {node.format_node()}" for node in self.nodes]
        return "\n".join(lines)

    def print_tabular(self) -> None:
        """The nodes as a table (needs the ``tabulate`` package, as PyTorch's)."""
        try:
            from tabulate import tabulate
        except ImportError:
            print("`print_tabular` relies on the library `tabulate`, which could not be found on this machine. "
                  "Run `pip install tabulate` to install the library.")
            raise
        rows = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        print(tabulate(rows, headers=["opcode", "name", "target", "args", "kwargs"]))

    def python_code(self, root_module: str = "self", *, verbose: bool | None = None) -> PythonCode:
        """The graph as the source of ``def forward(root_module, ...)`` and the globals it reads."""
        return _CodeWriter(self, root_module).write()

    def process_inputs(self, *args: Any) -> Any:
        return args

    def process_outputs(self, out: Any) -> Any:
        return out


_LITERALS = (bool, int, str, bytes, type(None), type(Ellipsis))


class _CodeWriter:
    """One pass over a graph that writes its forward: a line per node, each value freed after its last use."""

    def __init__(self, graph: Graph, root: str) -> None:
        self.graph, self.root = graph, root
        self.namespace = _Namespace()
        for node in graph.nodes:
            self.namespace.create_name(node.name)
        self.globals: dict = {"inf": math.inf, "nan": math.nan}
        self.namespace.create_name(root)

    def add_global(self, hint: str, obj: Any) -> str:
        """A name the code reads ``obj`` by."""
        if getattr(builtins, hint, None) is obj:
            return hint
        name = self.namespace.create_name(hint, obj)
        self.globals[name] = obj
        return name

    def function(self, fn: Callable) -> str:
        """How the code names a function: ``torch.nn.functional.relu`` where gpugrad exposes it so."""
        path = public_name(fn)
        if path is not None:
            import gpugrad

            self.globals["torch"] = gpugrad
            return path
        name = getattr(fn, "__name__", "fn")
        if getattr(builtins, name, None) is fn:
            return name
        # a user's function by where it is defined, as PyTorch's: __main__.f as __main___f
        return self.add_global(f"{getattr(fn, '__module__', None) or ''}.{getattr(fn, '__qualname__', name)}", fn)

    def arg(self, a: Argument) -> str:
        if isinstance(a, Node):
            return a.name
        if isinstance(a, tuple) and not hasattr(a, "_fields"):
            inner = ", ".join(self.arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, list):
            return f"[{', '.join(self.arg(x) for x in a)}]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{self.arg(k)}: {self.arg(v)}" for k, v in a.items()) + "}"
        if isinstance(a, slice):
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        if type(a) in _LITERALS:
            return repr(a)
        if type(a) is float:
            return repr(a) if math.isfinite(a) else ("nan" if a != a else ("inf" if a > 0 else "-inf"))
        if isinstance(a, type) or callable(a):
            return self.add_global(_snake_case(getattr(a, "__name__", "obj")), a)
        return self.add_global(f"_{_snake_case(type(a).__name__)}", a)

    def call_args(self, args: tuple, kwargs: dict) -> str:
        return ", ".join([self.arg(a) for a in args] + [f"{k} = {self.arg(v)}" for k, v in kwargs.items()])

    def attr(self, target: str) -> str:
        path = self.root
        for atom in target.split("."):
            path = f"{path}.{atom}" if atom.isidentifier() and not keyword.iskeyword(atom) else \
                f'getattr({path}, "{atom}")'
        return path

    def expression(self, node: Node) -> str:
        op, target, args, kwargs = node.op, node.target, node.args, node.kwargs
        if op == "get_attr":
            return self.attr(target)
        if op == "call_module":
            return f"{self.attr(target)}({self.call_args(args, kwargs)})"
        if op == "call_method":
            return f"{self.arg(args[0])}.{target}({self.call_args(args[1:], kwargs)})"
        name = getattr(target, "__name__", "")
        if getattr(operator, name, None) is target and name in MAGIC_METHODS and not kwargs:
            return MAGIC_METHODS[name].format(*(self.arg(a) for a in args))
        if target is getattr and len(args) == 2 and not kwargs and isinstance(args[1], str) and \
                args[1].isidentifier():
            return f"{self.arg(args[0])}.{args[1]}"
        return f"{self.function(target)}({self.call_args(args, kwargs)})"

    def write(self) -> PythonCode:
        nodes = list(self.graph.nodes)
        last_use: dict = {}
        for node in nodes:
            for used in node._input_nodes:
                last_use[used] = node
        frees: dict = defaultdict(list)
        for used, user in last_use.items():
            frees[user].append(used)
        params, body = [self.root], []
        for node in nodes:
            if node.op == "placeholder":
                default = f" = {self.arg(node.args[0])}" if node.args else ""
                params.append(f"{node.target}{default}" if node.target.startswith("*") or node.target == node.name
                              else f"{node.name}{default}")
                if node.target.startswith("*") and node.target.lstrip("*") != node.name:
                    body.append(f"{node.name} = {node.target.lstrip('*')}")
                continue
            if node.op == "output":
                body.append(f"return {self.arg(node.args[0])}")
                continue
            line = f"{node.name} = {self.expression(node)}"
            freed = [n.name for n in frees.get(node, ()) if n is not node]
            if freed:
                line += f";  {' = '.join(freed)} = None"
            body.append(line)
        if not any(n.op == "output" for n in nodes):
            body.append("pass")
        src = f"\n\n\ndef forward({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
        return PythonCode(src, self.globals)

