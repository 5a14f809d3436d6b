"""torch.utils._pytree: nested containers (tuples, lists, dicts, namedtuples, and types registered with
``register_pytree_node``) flattened into their leaves and a TreeSpec that rebuilds them, as PyTorch's.
Libraries import it by that name (x-transformers, einops utilities); its flattening order is PyTorch's:
dicts in insertion order, None a leaf."""
from __future__ import annotations

import collections
from typing import Any, Callable, Iterable, NamedTuple

from ..size import Size

__all__ = ["PyTree", "NodeDef", "SUPPORTED_NODES", "TreeSpec", "LeafSpec", "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_leaves",
           "tree_structure", "tree_map", "tree_map_", "tree_map_only", "tree_iter", "tree_all", "tree_any",
           "tree_all_only", "tree_any_only", "is_namedtuple", "MappingKey"]


PyTree = Any  # PyTorch's name for "a tree" in type hints


class NodeDef(NamedTuple):
    """How one container type flattens, as ``SUPPORTED_NODES`` holds it (PyTorch's fields)."""

    type: Any
    flatten_fn: Callable[[Any], tuple[list, Any]]  # node -> (children, context)
    unflatten_fn: Callable[[Iterable, Any], Any]  # (children, context) -> node
    flatten_with_keys_fn: Callable | None = None


def _mapping_unflatten(kind):
    return lambda children, keys: kind(zip(keys, children))


# PyTorch's helpers for dicts, which libraries pass to register_pytree_node for their dict subclasses.
def _dict_flatten(d: dict) -> tuple[list, list]:
    return list(d.values()), list(d.keys())


def _dict_unflatten(values: Iterable, context: list) -> dict:
    return dict(zip(context, values))


class MappingKey(NamedTuple):
    """A key path entry for a dict's value: ``[key]``."""

    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"


def _dict_flatten_with_keys(d: dict) -> tuple[list, list]:
    values, context = _dict_flatten(d)
    return [(MappingKey(k), v) for k, v in zip(context, values)], context


# Every namedtuple class is one node type, keyed (as PyTorch) by the factory ``collections.namedtuple``; the
# context is the class.
SUPPORTED_NODES: dict[Any, NodeDef] = {
    tuple: NodeDef(tuple, lambda t: (list(t), None), lambda c, _: tuple(c)),
    list: NodeDef(list, lambda t: (list(t), None), lambda c, _: list(c)),
    Size: NodeDef(Size, lambda t: (list(t), None), lambda c, _: Size(c)),  # a container of ints, as PyTorch's
    dict: NodeDef(dict, _dict_flatten, _mapping_unflatten(dict), _dict_flatten_with_keys),
    collections.namedtuple: NodeDef(collections.namedtuple, lambda t: (list(t), type(t)), lambda c, cls: cls(*c)),
    collections.OrderedDict: NodeDef(collections.OrderedDict, _dict_flatten,
                                     _mapping_unflatten(collections.OrderedDict)),
    collections.defaultdict: NodeDef(collections.defaultdict,
                                     lambda d: (list(d.values()), (d.default_factory, list(d.keys()))),
                                     lambda c, ctx: collections.defaultdict(ctx[0], zip(ctx[1], c))),
    collections.deque: NodeDef(collections.deque, lambda d: (list(d), d.maxlen),
                               lambda c, maxlen: collections.deque(c, maxlen=maxlen)),
}


def is_namedtuple(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def register_pytree_node(cls: type, flatten_fn: Callable, unflatten_fn: Callable, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None, flatten_with_keys_fn=None) -> None:
    """Make ``cls`` a container: ``flatten_fn(node) -> (children, context)`` and
    ``unflatten_fn(children, context) -> node``."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"register_pytree_node: {cls} is already registered as a pytree node")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)


def _get_node_type(tree: Any) -> Any:
    """The key of ``tree``'s entry in SUPPORTED_NODES: its type, or ``collections.namedtuple`` for any
    namedtuple (of a class not registered on its own)."""
    kind = type(tree)
    return collections.namedtuple if kind not in SUPPORTED_NODES and is_namedtuple(kind) else kind


def _node_for(kind: Any) -> NodeDef | None:
    """How a container of node type ``kind`` flattens and unflattens; None for a leaf."""
    return SUPPORTED_NODES.get(kind)


class TreeSpec:
    """A tree's structure: its container type, that container's context (dict keys, a namedtuple's class)
    and one TreeSpec per child; a leaf's is ``LeafSpec()``."""

    def __init__(self, type: Any, context: Any, children_specs: list) -> None:
        self.type, self.context, self.children_specs = type, context, children_specs
        self.num_children = len(children_specs)
        self.num_leaves = sum(c.num_leaves for c in children_specs)
        self.num_nodes = 1 + sum(c.num_nodes for c in children_specs)

    def is_leaf(self) -> bool:
        return False

    def unflatten(self, leaves: Iterable) -> Any:
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers to "
                             f"a pytree that holds {self.num_leaves} items ({self!r}).")
        return self._build(iter(leaves))

    def _build(self, leaves) -> Any:
        children = [spec._build(leaves) for spec in self.children_specs]
        return _node_for(self.type).unflatten_fn(children, self.context)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TreeSpec) and not other.is_leaf() and self.type is other.type
                and self.context == other.context and self.children_specs == other.children_specs)

    def __repr__(self) -> str:
        name = getattr(self.type, "__name__", str(self.type))
        context = self.context.__name__ if isinstance(self.context, type) else self.context
        return f"TreeSpec({name}, {context}, [{', '.join(repr(c) for c in self.children_specs)}])"


class LeafSpec(TreeSpec):
    def __init__(self) -> None:
        self.type, self.context, self.children_specs = None, None, []
        self.num_children, self.num_leaves, self.num_nodes = 0, 1, 1

    def is_leaf(self) -> bool:
        return True

    def _build(self, leaves) -> Any:
        return next(leaves)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LeafSpec)

    def __repr__(self) -> str:
        return "*"


def _flatten(tree: Any, is_leaf, leaves: list) -> TreeSpec:
    kind = _get_node_type(tree)
    node = None if (is_leaf is not None and is_leaf(tree)) else _node_for(kind)
    if node is None:
        leaves.append(tree)
        return LeafSpec()
    children, context = node.flatten_fn(tree)
    return TreeSpec(kind, context, [_flatten(c, is_leaf, leaves) for c in children])


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeSpec]:
    """The leaves of ``tree``, in order, and the spec that rebuilds it (``tree_unflatten``)."""
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def tree_unflatten(leaves: Iterable, treespec: TreeSpec) -> Any:
    """The tree ``treespec`` describes, holding ``leaves``."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of TreeSpec but got "
                        f"item of type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf=None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_iter(tree: Any, is_leaf=None):
    return iter(tree_leaves(tree, is_leaf))


def tree_structure(tree: Any, is_leaf=None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func: Callable, tree: Any, *rests: Any, is_leaf=None) -> Any:
    """``tree`` with each leaf replaced by ``func(leaf, *the same leaf of each tree in rests)``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_leaves_like(spec, r, is_leaf) for r in rests]
    return spec.unflatten(func(*xs) for xs in zip(leaves, *others))


def _leaves_like(spec: TreeSpec, tree: Any, is_leaf) -> list:
    leaves, other = tree_flatten(tree, is_leaf)
    if other != spec:
        raise ValueError(f"tree_map: the trees have different structures: {spec!r} and {other!r}")
    return leaves


def tree_map_(func: Callable, tree: Any, *rests: Any, is_leaf=None) -> Any:
    """``func`` on every leaf, for its effect; ``tree`` itself."""
    leaves, spec = tree_flatten(tree, is_leaf)
    for xs in zip(leaves, *[_leaves_like(spec, r, is_leaf) for r in rests]):
        func(*xs)
    return tree


def _only(types, func):
    return lambda x: func(x) if isinstance(x, types) else x


def tree_map_only(type_or_types, func: Callable, tree: Any, is_leaf=None) -> Any:
    """``tree_map`` on the leaves of the given type(s); other leaves stay."""
    return tree_map(_only(type_or_types, func), tree, is_leaf=is_leaf)


def tree_all(pred: Callable, tree: Any, is_leaf=None) -> bool:
    return all(map(pred, tree_leaves(tree, is_leaf)))


def tree_any(pred: Callable, tree: Any, is_leaf=None) -> bool:
    return any(map(pred, tree_leaves(tree, is_leaf)))


def tree_all_only(type_or_types, pred: Callable, tree: Any, is_leaf=None) -> bool:
    return all(pred(x) for x in tree_leaves(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, pred: Callable, tree: Any, is_leaf=None) -> bool:
    return any(pred(x) for x in tree_leaves(tree, is_leaf) if isinstance(x, type_or_types))
