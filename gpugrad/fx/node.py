"""``torch.fx.node``: one operation of an FX graph, and the helpers that walk a node's arguments."""
from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from typing import Any

from ..top_level import _assert as _torch_assert
from .immutable_collections import immutable_dict, immutable_list

__all__ = ["Argument", "Node", "Target", "has_side_effect", "map_aggregate", "map_arg"]

Target = Any  # a callable for call_function, a name for the other ops
Argument = Any  # a Node, a constant, or a tuple / list / dict / slice of arguments

OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output", "root")


def map_aggregate(a: Argument, fn: Callable[[Argument], Argument]) -> Argument:
    """``fn`` applied to every leaf of ``a``, looking into tuples, lists, dicts and slices."""
    if isinstance(a, tuple):
        mapped = tuple(map_aggregate(x, fn) for x in a)
        return type(a)(*mapped) if hasattr(a, "_fields") else mapped  # a named tuple keeps its class
    if isinstance(a, list):
        return immutable_list(map_aggregate(x, fn) for x in a)
    if isinstance(a, dict):
        return immutable_dict((k, map_aggregate(v, fn)) for k, v in a.items())
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a: Argument, fn: Callable[[Node], Argument]) -> Argument:
    """``fn`` applied to every Node in ``a`` (the other leaves kept)."""
    if not callable(fn):
        raise TypeError("torch.fx.map_arg(a, fn): fn must be a callable")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def public_name(fn: Callable) -> str | None:
    """Where gpugrad makes ``fn`` public, as PyTorch's path (``torch.relu``, ``torch.nn.functional.softmax``),
    or None: the shortest of the top level and the module that defines it."""
    import gpugrad

    module, qual = getattr(fn, "__module__", None) or "", getattr(fn, "__qualname__", "")
    if not module.startswith("gpugrad") or "<" in qual:
        return None
    for prefix in ("", module[len("gpugrad"):]):
        owner = gpugrad
        for atom in [a for a in prefix.split(".") if a] + qual.split("."):
            owner = getattr(owner, atom, None)
        if owner is fn:
            return f"torch{prefix}.{qual}"
    return None


def _printed_target(fn: Callable) -> str:
    """A call_function's target as a graph prints it."""
    name = getattr(fn, "__name__", "")
    if getattr(builtins, name, None) is fn:
        return f"builtins.{name}"
    if getattr(operator, name, None) is fn:
        return f"operator.{name}"
    return public_name(fn) or f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', name)}"


class Node:
    """One operation of a ``Graph``: ``op`` says which kind (placeholder, get_attr, call_function,
    call_method, call_module, output), ``target`` what it calls, ``args``/``kwargs`` its arguments (other
    nodes among them), ``users`` the nodes that take its value. Nodes are made by a Graph."""

    def __init__(self, graph: Any, name: str, op: str, target: Target, args: tuple, kwargs: dict,
                 return_type: Any = None) -> None:
        if op not in OPS:
            raise ValueError(f"torch.fx.Node: op must be one of {OPS}, not {op!r}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type {type(target)} but "
                             "a Callable is expected")
        if op in ("placeholder", "call_method", "call_module", "get_attr") and not isinstance(target, str):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type {type(target)} but "
                             "a str is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self.type = return_type
        self.meta: dict = {}
        self.users: dict[Node, None] = {}
        self._input_nodes: dict[Node, None] = {}
        self._args: tuple = ()
        self._kwargs: dict = {}
        self._prev: Node = self
        self._next: Node = self
        self._erased = False
        self._update_args_kwargs(map_arg(args, lambda n: n), map_arg(kwargs, lambda n: n))

    # the list the graph keeps its nodes in (a ring through a sentinel root node)
    @property
    def next(self) -> Node:
        return self._next

    @property
    def prev(self) -> Node:
        return self._prev

    def prepend(self, x: Node) -> None:
        """Move ``x`` to just before this node."""
        if self is x:
            return
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x: Node) -> None:
        """Move ``x`` to just after this node."""
        self._next.prepend(x)

    def _remove_from_list(self) -> None:
        # the node keeps its own links, so that a walk of the graph standing on it goes on (Graph.nodes)
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    # arguments
    @property
    def args(self) -> tuple:
        return self._args

    @args.setter
    def args(self, value: tuple) -> None:
        self._update_args_kwargs(map_arg(value, lambda n: n), self._kwargs)

    @property
    def kwargs(self) -> dict:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value: dict) -> None:
        self._update_args_kwargs(self._args, map_arg(value, lambda n: n))

    def _update_args_kwargs(self, args: tuple, kwargs: dict) -> None:
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._args, self._kwargs = tuple(args), immutable_dict(kwargs)
        self._input_nodes = {}
        map_arg(self._args, self._input_nodes.setdefault)
        map_arg(self._kwargs, self._input_nodes.setdefault)
        for new in self._input_nodes:
            new.users.setdefault(self)

    @property
    def all_input_nodes(self) -> list[Node]:
        """The nodes among this node's arguments, each once, in order."""
        return list(self._input_nodes)

    def update_arg(self, idx: int, arg: Argument) -> None:
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg: Argument) -> None:
        self.kwargs = {**self.kwargs, key: arg}

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Every use of ``old_input`` among this node's arguments becomes ``new_input``."""
        swap = lambda n: new_input if n is old_input else n
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(self, replace_with: Node, delete_user_cb: Callable[[Node], bool] = lambda user: True,
                              *, propagate_meta: bool = False) -> list[Node]:
        """Every node that takes this one's value takes ``replace_with`` instead (those ``delete_user_cb``
        accepts); returns them."""
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError("Node.replace_all_uses_with(propagate_meta=True): the new node already has meta")
            replace_with.meta.update(self.meta)
        changed = [user for user in list(self.users) if delete_user_cb(user)]
        for user in changed:
            user.replace_input_with(self, replace_with)
        return changed

    def is_impure(self) -> bool:
        """Whether removing the node could change what the graph does (placeholders, output, in-place
        methods, modules and functions named as side effects)."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_method":
            return self.target.endswith("_") and not self.target.endswith("__")
        if self.op == "call_module":
            module = self.graph.owning_module
            return module is not None and getattr(module.get_submodule(self.target), "_is_impure", False)
        if self.op == "call_function":
            return self.target in _SIDE_EFFECTS or getattr(self.target, "__name__", "").endswith("_")
        return False

    @property
    def stack_trace(self) -> str | None:
        return self.meta.get("stack_trace")

    @stack_trace.setter
    def stack_trace(self, trace: str | None) -> None:
        self.meta["stack_trace"] = trace

    def format_node(self, placeholder_names: list | None = None, maybe_return_typename: list | None = None) -> str:
        """The node as a line of the graph's printout."""
        if self.op == "placeholder":
            default = f"(default={self.args[0]})" if self.args else ""
            return f"%{self.name} : [num_users={len(self.users)}] = placeholder[target={self.target}]{default}"
        if self.op == "output":
            return f"return {self.args[0]}"
        target = _printed_target(self.target) if self.op == "call_function" else self.target
        if self.op == "get_attr":
            return f"%{self.name} : [num_users={len(self.users)}] = get_attr[target={target}]"
        return (f"%{self.name} : [num_users={len(self.users)}] = {self.op}[target={target}]("
                f"args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})")

    def __repr__(self) -> str:
        return self.name


_SIDE_EFFECTS = {operator.setitem, builtins.print, _torch_assert}


def has_side_effect(fn: Callable) -> Callable:
    """Mark ``fn`` as having side effects: its call_function nodes are never removed as dead code."""
    _SIDE_EFFECTS.add(fn)
    return fn


def _format_arg(arg: Any) -> str:
    if isinstance(arg, Node):
        return f"%{arg.name}"
    if isinstance(arg, tuple) and not hasattr(arg, "_fields"):
        inner = ", ".join(_format_arg(a) for a in arg)
        return f"({inner},)" if len(arg) == 1 else f"({inner})"
    if isinstance(arg, list):
        return f"[{', '.join(_format_arg(a) for a in arg)}]"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    return str(arg)
