"""``torch.fx.subgraph_rewriter``: find every copy of a small graph (a pattern) in a GraphModule and put
another graph (its replacement) in its place."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ._symbolic_trace import symbolic_trace
from .graph import Graph
from .graph_module import GraphModule, _install, _walk_to
from .node import Node

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    """One replaced copy of the pattern: the node that gave its value (``anchor``), and which node of the
    module's graph each pattern node matched (``nodes_map``)."""

    anchor: Node
    nodes_map: dict


def _graph_of(thing: Callable | GraphModule | Graph) -> tuple[Graph, Any]:
    if isinstance(thing, Graph):
        return thing, None
    module = thing if isinstance(thing, GraphModule) else symbolic_trace(thing)
    return module.graph, module


def _matches(pattern: Node, node: Any, mapping: dict) -> bool:
    """Whether ``node`` (and what it takes) computes as ``pattern`` (and what it takes); placeholders of
    the pattern match anything, the same thing at each use, a different node each. Fills ``mapping``."""
    if isinstance(pattern, Node) and pattern.op == "placeholder":
        if pattern in mapping:
            return mapping[pattern] is node or (not isinstance(node, Node) and mapping[pattern] == node)
        if isinstance(node, Node) and any(mapping[p] is node for p in mapping if p.op == "placeholder"):
            return False  # two inputs of the pattern are two values, as PyTorch's matcher has it
        mapping[pattern] = node
        return True
    if not isinstance(pattern, Node) or not isinstance(node, Node):
        if isinstance(pattern, (tuple, list)) and isinstance(node, (tuple, list)):
            return len(pattern) == len(node) and all(_matches(p, n, mapping) for p, n in zip(pattern, node))
        return not isinstance(pattern, Node) and not isinstance(node, Node) and pattern == node
    if pattern in mapping:
        return mapping[pattern] is node
    if (pattern.op, pattern.target) != (node.op, node.target) or len(pattern.args) != len(node.args) or \
            pattern.kwargs.keys() != node.kwargs.keys():
        return False
    mapping[pattern] = node
    return all(_matches(p, n, mapping) for p, n in zip(pattern.args, node.args)) and \
        all(_matches(pattern.kwargs[k], node.kwargs[k], mapping) for k in pattern.kwargs)


def _inner(mapping: dict) -> set:
    """The module's nodes a match replaces: those matched by the pattern's operations (not its inputs)."""
    return {node for pattern, node in mapping.items() if pattern.op != "placeholder"}


def replace_pattern(gm: GraphModule, pattern: Callable | GraphModule | Graph,
                    replacement: Callable | GraphModule | Graph) -> list[Match]:
    """Replace each non-overlapping copy of ``pattern`` in ``gm``'s graph with ``replacement`` (both traced
    when given as functions or modules; the replacement takes the pattern's inputs, in order), and
    recompile ``gm``. A copy whose inner values are also used elsewhere is left alone."""
    pattern_graph, _ = _graph_of(pattern)
    replacement_graph, replacement_module = _graph_of(replacement)
    pattern_output = next(n for n in pattern_graph.nodes if n.op == "output")
    anchor = pattern_output.args[0]
    if not isinstance(anchor, Node):
        raise NotImplementedError("replace_pattern: gpugrad matches patterns that return one value; this one returns "
                                  f"{anchor!r}")
    pattern_inputs = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    replacement_inputs = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    if len(pattern_inputs) != len(replacement_inputs):
        raise ValueError(f"replace_pattern: the pattern takes {len(pattern_inputs)} inputs and the replacement "
                         f"{len(replacement_inputs)}")
    graph = gm.graph
    taken: set = set()
    matches: list[Match] = []
    for node in graph.nodes:
        mapping: dict = {}
        if node in taken or not _matches(anchor, node, mapping):
            continue
        inner = _inner(mapping)
        if taken & inner or any(user not in inner for n in inner if n is not node for user in n.users):
            continue
        taken |= inner
        matches.append(Match(node, mapping))
    for match in matches:
        val_map = {rep: match.nodes_map[pat] for rep, pat in zip(replacement_inputs, pattern_inputs)}
        with graph.inserting_before(match.anchor):
            value = graph.graph_copy(replacement_graph, val_map)
        match.anchor.replace_all_uses_with(value)
        inner = _inner(match.nodes_map)
        for old in reversed([n for n in graph.nodes if n in inner]):  # users before what they use
            graph.erase_node(old)
    if replacement_module is not None:  # what the replacement's get_attr and call_module nodes read
        for node in replacement_graph.nodes:
            if node.op in ("get_attr", "call_module"):
                owner, field = _walk_to(gm, node.target, make=True)
                if not hasattr(owner, field):
                    source, name = _walk_to(replacement_module, node.target, make=False)
                    _install(owner, field, getattr(source, name))
    gm.recompile()
    return matches
