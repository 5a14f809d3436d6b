"""Function.apply_one and apply_pair, the hot path's shapes of apply (autograd/function.py): each must
give what apply gives (values, the recorded graph, the saved values, gradients and errors) for every
kind of argument, and hand anything outside its common case to apply itself."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import ShapeError
from gpugrad.ops.activation import ACTIVATIONS, ActivationBackward, LogSigmoid, Piecewise
from gpugrad.ops.elementwise import Add, Clamp, Div, Exp, Maximum, Minimum, Mul, Neg, Pow, Sub
from gpugrad.ops.indexing import GetItem, GetItemView
from gpugrad.ops.linalg import MatMul
from gpugrad.ops.reduce import AMax, LogSumExp, Mean, Std, Sum, SumTo, Var
from gpugrad.ops.shape import Expand, Permute, Reshape
from gpugrad.ops.softmax import LogSoftmax, LogSoftmaxBackward, Softmax, SoftmaxBackward

KINDS = ["leaf", "made", "constant", "parameter"]  # a Parameter takes the short roads as a leaf does


def operand(kind, shape, rng):
    t = gg.tensor(rng.uniform(0.5, 2.0, shape), requires_grad=kind != "constant")
    if kind == "parameter":
        return gg.nn.Parameter(t.detach())
    return t * 1.5 if kind == "made" else t


def saved_summary(node):
    """A node's saved entries, holding tensors by identity and arrays by value."""
    return [None if e is None else tuple(id(v) if isinstance(v, gg.Tensor) else repr(v) for v in e)
            for e in node._saved or ()]


def same_application(general, fast, inputs):
    """The two results agree in value, recorded node and gradients."""
    assert type(fast) is gg.Tensor and type(fast._array) is np.ndarray
    np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
    g, f = general._node, fast._node
    assert (g is None) == (f is None)
    if g is None:
        return
    assert f.fn is g.fn and f.backend is g.backend and f.needs_input_grad == g.needs_input_grad
    assert f.next_edges == g.next_edges
    # dtypes as names: NumPy's dtype compares equal to None (as float64)
    assert [m and (m[0], str(m[1])) for m in f.input_meta] == [m and (m[0], str(m[1])) for m in g.input_meta]
    assert saved_summary(f) == saved_summary(g)
    wrt = [t for t in inputs if t.requires_grad]
    grads = (gg.autograd.grad(y.sum(), wrt, create_graph=True, allow_unused=True) for y in (fast, general))
    for mine, theirs in zip(*grads):
        assert (mine is None) == (theirs is None)
        if mine is not None:
            np.testing.assert_array_equal(mine.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("op", [Add, Sub, Mul, Div, Maximum, Minimum])
@pytest.mark.parametrize("kinds", [(a, b) for a in KINDS for b in KINDS])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((), ()), ((1, 3), (2, 1))])
def test_apply_pair_gives_what_apply_gives_for_the_arithmetic(op, kinds, shapes):
    rng = np.random.default_rng(0)
    a, b = operand(kinds[0], shapes[0], rng), operand(kinds[1], shapes[1], rng)
    same_application(op.apply(a, b), op.apply_pair(a, b), (a, b))


# The operators with a Python number (``x * 2.0``, ``1 - x``): recorded, they take scalar_applied's road.
SCALAR_OPERATORS = [
    (Add, lambda x, s: x + s, False), (Add, lambda x, s: s + x, False), (Sub, lambda x, s: x - s, False),
    (Sub, lambda x, s: s - x, True), (Mul, lambda x, s: x * s, False), (Mul, lambda x, s: s * x, False),
    (Div, lambda x, s: x / s, False), (Div, lambda x, s: s / x, True), (Pow, lambda x, s: x ** s, False),
]


@pytest.mark.parametrize("op, operator, reflected", SCALAR_OPERATORS)
@pytest.mark.parametrize("made", ["leaf", "made"])
@pytest.mark.parametrize("scalar", [2.5, 3, -1])
@pytest.mark.parametrize("shape", [(3,), (2, 3), ()])
def test_an_operator_with_a_number_gives_what_apply_gives(op, operator, reflected, made, scalar, shape):
    rng = np.random.default_rng(2)
    x = operand(made, shape, rng)
    general = op.apply(scalar, x) if reflected else op.apply(x, scalar)
    same_application(general, operator(x, scalar), (x,))


@pytest.mark.parametrize("kind", ["relu", "tanh", "sigmoid", "gelu", "leaky_relu", "elu"])
@pytest.mark.parametrize("made", KINDS)
@pytest.mark.parametrize("shape", [(5,), (2, 3), ()])
def test_apply_one_and_pair_give_what_apply_gives_for_an_activation(kind, made, shape):
    rng = np.random.default_rng(1)
    x = operand(made, shape, rng) - 1.25
    op = ACTIVATIONS[kind]
    same_application(op.apply(x, param=0.3), op.apply_one(x, param=0.3), (x,))
    gy = operand("leaf", shape, rng)
    params = {"kind": kind, "param": 0.3}
    same_application(ActivationBackward.apply(gy, x, **params), ActivationBackward.apply_pair(gy, x, **params), (gy, x))


# (op, its keyword arguments, the input's shape): reductions to a 0-d result (NumPy gives a scalar),
# and views (their result shares the input's version counter).
ONE_TENSOR = [
    (Exp, {}, (2, 3)), (Neg, {}, ()), (Sum, {"axes": None, "keepdim": False}, (2, 3)),
    (Sum, {"axes": (1,), "keepdim": True}, (2, 3)), (Mean, {"axes": None, "keepdim": False}, (4,)),
    (SumTo, {"shape": (1, 3)}, (2, 3)), (Reshape, {"shape": (3, 2)}, (2, 3)),
    (Permute, {"dims": (1, 0)}, (2, 3)), (Expand, {"shape": (4, 2, 3)}, (1, 3)),
    (Softmax, {"axis": 1}, (2, 3)), (LogSoftmax, {"axis": -1}, (2, 3)),
    (GetItemView, {"basic": (slice(None), 1, Ellipsis)}, (2, 3)), (GetItemView, {"basic": (0, Ellipsis)}, (3,)),
    (GetItem, {"basic": (Ellipsis,), "advanced": (np.array([0, 0, 1]),)}, (2, 3)),
    (AMax, {"axes": None, "keepdim": False, "largest": True, "share_nan": True}, (2, 3)),
    (AMax, {"axes": (0,), "keepdim": True, "largest": False, "share_nan": False}, (2, 3)),
    (Clamp, {"min": 0.8, "max": 1.6}, (2, 3)), (Var, {"axes": (1,), "keepdim": False, "correction": 1}, (2, 3)),
    (Std, {"axes": None, "keepdim": False, "correction": 0}, (2, 3)), (LogSumExp, {"axes": (1,), "keepdim": True}, (2, 3)),
    (Piecewise, {"kind": "hardtanh", "a": 0.8, "b": 1.6}, (2, 3)), (LogSigmoid, {}, (2, 3)),
]


@pytest.mark.parametrize("op, kwargs, shape", ONE_TENSOR, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("made", KINDS)
def test_apply_one_gives_what_apply_gives(op, kwargs, shape, made):
    rng = np.random.default_rng(3)
    x = operand(made, shape, rng)
    general, fast = op.apply(x, **kwargs), op.apply_one(x, **kwargs)
    same_application(general, fast, (x,))
    assert (fast._version_ref is x._version_ref) == (general._version_ref is x._version_ref) == op.is_view
    assert fast._base is general._base


@pytest.mark.parametrize("kinds", [(a, b) for a in KINDS for b in KINDS])
@pytest.mark.parametrize("shapes", [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 2, 3), (3,)), ((3,), (3,))])
def test_apply_pair_gives_what_apply_gives_for_a_matrix_product(kinds, shapes):
    rng = np.random.default_rng(4)
    a, b = operand(kinds[0], shapes[0], rng), operand(kinds[1], shapes[1], rng)
    same_application(MatMul.apply(a, b), MatMul.apply_pair(a, b), (a, b))


@pytest.mark.parametrize("op", [SoftmaxBackward, LogSoftmaxBackward])
@pytest.mark.parametrize("kinds", [(a, b) for a in KINDS for b in KINDS])
def test_apply_pair_gives_what_apply_gives_for_the_softmax_backwards(op, kinds):
    rng = np.random.default_rng(5)
    gy, y = operand(kinds[0], (2, 3), rng), operand(kinds[1], (2, 3), rng)
    same_application(op.apply(gy, y, axis=1), op.apply_pair(gy, y, axis=1), (gy, y))


def test_with_grad_off_nothing_is_recorded():
    rng = np.random.default_rng(2)
    a, b = operand("leaf", (3,), rng), operand("made", (3,), rng)
    with gg.no_grad():
        for y in (Mul.apply_pair(a, b), ACTIVATIONS["tanh"].apply_one(b)):
            assert y.grad_fn is None and not y.requires_grad and y._version_ref is not b._version_ref


def test_outside_the_common_case_apply_runs_and_raises_its_errors():
    a = gg.ones(2, 3, requires_grad=True)
    with pytest.raises(ShapeError, match=r"mul.*\(2, 3\), \(4,\)"):
        Mul.apply_pair(a, gg.ones(4))
    np.testing.assert_array_equal(Mul.apply_pair(a, 2.0).detach().numpy(), np.full((2, 3), 2.0))  # apply's road
    elsewhere = gg.backend.Backend(gg.backend.Device("cuda:7"), np)
    with pytest.raises(gg.errors.DeviceError, match="mul"):
        Mul.apply_pair(a, gg.Tensor._make(np.ones((2, 3)), elsewhere))
    with gg.autograd.detect_anomaly():  # apply's road, which records where each op was made
        y = Mul.apply_pair(a, gg.ones(2, 3))
    assert "test_apply_paths.py" in y._node.created_at
