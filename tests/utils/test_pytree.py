"""utils._pytree's node table as PyTorch's: SUPPORTED_NODES maps a node type to a NodeDef (type,
flatten_fn, unflatten_fn, flatten_with_keys_fn), namedtuples share the key collections.namedtuple, and a
TreeSpec built by hand from those pieces unflattens (Lightning flattens its batches that way)."""
import collections

import pytest

from gpugrad.utils import _pytree as pt

Point = collections.namedtuple("Point", "x y")


def _by_hand(tree):
    """Flatten through the table alone, as a library that walks it itself does."""
    kind = pt._get_node_type(tree)
    if kind not in pt.SUPPORTED_NODES:
        return [tree], pt.LeafSpec()
    children, context = pt.SUPPORTED_NODES[kind].flatten_fn(tree)
    leaves, specs = [], []
    for child in children:
        sub, spec = _by_hand(child)
        leaves += sub
        specs.append(spec)
    return leaves, pt.TreeSpec(kind, context, specs)


def test_node_types_and_the_table():
    assert pt._get_node_type({}) is dict and pt._get_node_type(3) is int
    assert pt._get_node_type(Point(1, 2)) is collections.namedtuple
    node = pt.SUPPORTED_NODES[dict]
    assert node.type is dict and node.flatten_fn({"a": 1}) == ([1], ["a"])
    assert node.unflatten_fn([2], ["a"]) == {"a": 2} and node.flatten_with_keys_fn is not None
    assert pt.PyTree is not None


def test_a_spec_built_from_the_table_rebuilds_the_tree():
    tree = {"p": Point([1, 2], (3,)), "q": [4]}
    leaves, spec = _by_hand(tree)
    assert leaves == [1, 2, 3, 4]
    assert spec == pt.tree_structure(tree)
    assert pt.tree_unflatten([10, 20, 30, 40], spec) == {"p": Point([10, 20], (30,)), "q": [40]}
    assert repr(pt.tree_structure(Point(1, 2))) == "TreeSpec(namedtuple, Point, [*, *])"


def test_a_registered_node_carries_its_own_type():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    pt.register_pytree_node(Pair, lambda p: ([p.a, p.b], None), lambda c, _: Pair(*c))
    try:
        assert pt.SUPPORTED_NODES[Pair].type is Pair
        out = pt.tree_map(lambda v: v * 2, Pair(1, 2))
        assert (out.a, out.b) == (2, 4)
    finally:
        del pt.SUPPORTED_NODES[Pair]


@pytest.mark.torch
def test_pytorch_keys_namedtuples_the_same_way():
    torch = pytest.importorskip("torch")
    tp = torch.utils._pytree
    assert tp._get_node_type(Point(1, 2)) is collections.namedtuple
    assert tp.SUPPORTED_NODES[dict].flatten_fn({"a": 1}) == pt.SUPPORTED_NODES[dict].flatten_fn({"a": 1})
    assert repr(tp.tree_structure(Point(1, 2))).startswith("TreeSpec(namedtuple, ")


def test_a_size_is_a_container_of_its_ints():
    import gpugrad as gg

    leaves, spec = pt.tree_flatten((gg.Size([2, 3]), 4))
    assert leaves == [2, 3, 4]
    rebuilt = pt.tree_map(lambda n: n * 10, (gg.Size([2, 3]), 4))
    assert rebuilt == (gg.Size([20, 30]), 40) and type(rebuilt[0]) is gg.Size
