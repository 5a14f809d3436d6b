"""gg.fx.Graph and Node as data: built by hand, edited, checked, copied and printed, then run."""
import copy
import operator

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import fx


def two_step_graph():
    graph = fx.Graph()
    x = graph.placeholder("x")
    doubled = graph.call_function(operator.mul, (x, 2))
    relu = graph.call_method("relu", (doubled,))
    graph.output(relu)
    return graph, x, doubled, relu


def test_a_graph_built_by_hand_runs_as_a_module():
    graph, *_ = two_step_graph()
    module = fx.GraphModule({}, graph, "Doubler")
    np.testing.assert_array_equal(module(gg.tensor([-1.0, 2.0])).numpy(), [0.0, 4.0])
    assert type(module).__name__ == "Doubler"
    assert str(graph).splitlines() == [
        "graph():",
        "    %x : [num_users=1] = placeholder[target=x]",
        "    %mul : [num_users=1] = call_function[target=operator.mul](args = (%x, 2), kwargs = {})",
        "    %relu : [num_users=1] = call_method[target=relu](args = (%mul,), kwargs = {})",
        "    return relu"]


def test_proxies_record_operators_methods_and_gpugrad_functions_on_a_graph():
    graph = fx.Graph()
    x = fx.Proxy(graph.placeholder("x"))
    y = gg.einsum("i,i->", [x, x.exp()]) + 1 - (2 * x)[0]
    graph.output(y.node)
    assert [(n.op, n.name) for n in graph.nodes] == [
        ("placeholder", "x"), ("call_method", "exp"), ("call_function", "einsum"), ("call_function", "add"),
        ("call_function", "mul"), ("call_function", "getitem"), ("call_function", "sub"), ("output", "output")]
    einsum = next(n for n in graph.nodes if n.name == "einsum")
    assert einsum.target is gg.einsum and len(einsum.args) == 3  # the one-list form handed over flat
    module = fx.GraphModule({}, graph)
    v = gg.tensor([0.5, 1.0])
    np.testing.assert_allclose(module(v).numpy(), (v * v.exp()).sum().numpy() + 1 - 1.0, rtol=1e-6)


def test_editing_keeps_users_in_step_and_erasing_a_used_node_is_refused():
    graph, _, doubled, relu = two_step_graph()
    assert list(doubled.users) == [relu] and relu.all_input_nodes == [doubled]
    with graph.inserting_after(doubled):
        neg = graph.call_function(operator.neg, (doubled,))
    assert doubled.replace_all_uses_with(neg, delete_user_cb=lambda user: user is not neg) == [relu]
    assert relu.args == (neg,) and set(doubled.users) == {neg}
    with pytest.raises(RuntimeError, match="still had 1 users"):
        graph.erase_node(doubled)
    graph.lint()
    module = fx.GraphModule({}, graph)
    np.testing.assert_array_equal(module(gg.tensor([-1.0, 2.0])).numpy(), [2.0, 0.0])
    with pytest.raises(NotImplementedError, match="does not support mutation"):
        relu.kwargs["inplace"] = True


def test_dead_code_goes_and_a_graph_out_of_order_fails_lint():
    graph, x, doubled, relu = two_step_graph()
    with graph.inserting_before(relu):
        graph.call_function(operator.add, (x, 1))  # nothing uses it
    assert graph.eliminate_dead_code() is True and len(graph.nodes) == 4
    with graph.inserting_before(doubled):
        late = graph.call_function(operator.add, (relu, 1))
    with pytest.raises(RuntimeError, match="used before it has been defined"):
        graph.lint()
    late.args = (x, 1)
    graph.lint()


def test_walking_the_nodes_goes_on_while_they_are_erased():
    graph, _, doubled, relu = two_step_graph()
    seen = []
    for node in graph.nodes:
        seen.append(node.name)
        if node is doubled:
            relu.replace_all_uses_with(doubled)
            graph.erase_node(relu)
    assert seen == ["x", "mul", "output"] and [n.name for n in reversed(graph.nodes)] == ["output", "mul", "x"]


def test_a_copied_graph_and_a_deep_copied_module_are_independent():
    graph, *_ = two_step_graph()
    module = fx.GraphModule({}, graph)
    twin = copy.deepcopy(module)
    next(n for n in twin.graph.nodes if n.op == "call_method").target = "neg"
    twin.recompile()
    v = gg.tensor([-1.0, 2.0])
    np.testing.assert_array_equal(module(v).numpy(), [0.0, 4.0])
    np.testing.assert_array_equal(twin(v).numpy(), [2.0, -4.0])


def test_names_stay_unique_and_never_shadow_builtins():
    graph = fx.Graph()
    x = graph.placeholder("x")
    a = graph.call_function(operator.add, (x, 1))
    b = graph.call_function(operator.add, (a, 1))
    c = graph.call_function(max, (a, b))
    graph.output(c)
    assert [n.name for n in graph.nodes] == ["x", "add", "add_1", "max_1", "output"]
    assert fx.GraphModule({}, graph)(3) == 5


def test_get_attr_and_call_module_targets_come_from_the_root():
    linear = gg.nn.Linear(2, 2)
    graph = fx.Graph()
    x = graph.placeholder("x")
    graph.output(graph.call_function(operator.add, (graph.call_module("layer", (x,)), graph.get_attr("offset"))))
    module = fx.GraphModule({"layer": linear, "offset": gg.ones(2)}, graph)
    assert "offset" in dict(module.named_buffers()) and module.layer is linear
    with pytest.raises(RuntimeError, match="not provided in ``root``"):
        fx.GraphModule({"layer": linear}, graph)


def test_a_graph_module_pickles_with_its_graph_and_parameters():
    import pickle

    linear = gg.nn.Linear(2, 2)
    graph = fx.Graph()
    x = graph.placeholder("x")
    graph.output(graph.call_method("relu", (graph.call_module("layer", (x,)),)))
    module = fx.GraphModule({"layer": linear}, graph, "Tiny")
    again = pickle.loads(pickle.dumps(module))
    assert type(again).__name__ == "Tiny" and again.code == module.code
    v = gg.randn(3, 2)
    np.testing.assert_array_equal(again(v).detach().numpy(), module(v).detach().numpy())
    assert [n.name for n in again.graph.nodes] == [n.name for n in module.graph.nodes]
