"""The arithmetic operators (+ - * / and their reflections, and **) take a short road for the common operands
(ops/elementwise.py, ``_operator``): these tests hold it to what the public functions give, for every
operand pair that may take it and for those that must not."""
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.errors import ShapeError

OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
             "pow": operator.pow}
FUNCTIONS = {"add": gg.add, "sub": gg.sub, "mul": gg.mul, "div": gg.div, "pow": gg.pow}
DTYPES = [gg.float16, gg.float32, gg.float64, gg.int32, gg.int64, gg.bool]


def operand(draw_value, dtype, shape):
    array = np.asarray(draw_value, dtype=np.float64).reshape(shape)
    if dtype is gg.bool:
        return gg.tensor(array > 0)
    return gg.tensor(array).to(dtype)


def same(a, b):
    assert type(a) is type(b) is gg.Tensor
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def agree(by_operator, by_function):
    """The operator's result equals the function's, or both raise the same exception type."""
    try:
        expected = by_function()
    except Exception as exc:  # bool - bool, say: the operator must refuse the same way
        with pytest.raises(type(exc)):
            by_operator()
        return
    same(by_operator(), expected)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(OPERATORS)), left=st.sampled_from(DTYPES), right=st.sampled_from(DTYPES),
       shapes=st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((), ()), ((), (4,)), ((1, 3), (2, 1))]),
       seed=st.integers(0, 2**16))
def test_operator_equals_the_function_for_any_dtypes_and_shapes(name, left, right, shapes, seed):
    rng = np.random.default_rng(seed)
    a = operand(rng.uniform(-3, 3, shapes[0]) + 0.5, left, shapes[0])
    b = operand(rng.uniform(0.5, 3, shapes[1]), right, shapes[1])
    agree(lambda: OPERATORS[name](a, b), lambda: FUNCTIONS[name](a, b))
    agree(lambda: OPERATORS[name](b, a), lambda: FUNCTIONS[name](b, a))


@pytest.mark.parametrize("name", sorted(OPERATORS))
@pytest.mark.parametrize("scalar", [2.5, -3, 0.0, True, np.float64(1.5)])
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64, gg.int64])
def test_operator_with_a_python_number_equals_the_function_both_ways(name, scalar, dtype):
    x = gg.tensor([1.5, -2.0, 4.0]).to(dtype)
    agree(lambda: OPERATORS[name](x, scalar), lambda: FUNCTIONS[name](x, scalar))
    agree(lambda: OPERATORS[name](scalar, x), lambda: FUNCTIONS[name](scalar, x))


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_a_recorded_operator_builds_the_same_graph_as_the_function(name):
    a = gg.tensor([1.5, -2.0, 4.0], dtype=gg.float64, requires_grad=True)
    b = gg.tensor([0.5, 3.0, -1.0], dtype=gg.float64, requires_grad=True)
    (OPERATORS[name](a, b) * OPERATORS[name](2.0, a)).sum().backward()
    mine = (a.grad.numpy().copy(), b.grad.numpy().copy())
    a.grad = b.grad = None
    gg.mul(FUNCTIONS[name](a, b), FUNCTIONS[name](2.0, a)).sum().backward()
    np.testing.assert_array_equal(mine[0], a.grad.numpy())
    np.testing.assert_array_equal(mine[1], b.grad.numpy())


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_parameters_take_the_short_road_to_the_functions_graph(name):
    # nn.Parameter is a Tensor to the short road (tensor.py's _plain): a plain result, its edges the leaves
    p = gg.nn.Parameter(gg.tensor([1.5, 2.0, 4.0], dtype=gg.float64))
    q = gg.nn.Parameter(gg.tensor([0.5, 3.0, 1.0], dtype=gg.float64))
    for by_operator, by_function in ((OPERATORS[name](p, q), FUNCTIONS[name](p, q)),
                                     (OPERATORS[name](p, 2.0), FUNCTIONS[name](p, 2.0))):
        assert type(by_operator) is gg.Tensor and by_operator.grad_fn.next_functions == by_function.grad_fn.next_functions
        same(by_operator.detach(), by_function.detach())


def test_an_unrecorded_result_is_a_fresh_leaf_with_its_own_version():
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    with gg.no_grad():
        y = a * 2.0
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf
    y.add_(1.0)  # in place on the result leaves the input alone
    assert a.tolist() == [1.0, 2.0] and y._version == 1


def test_a_0d_result_is_a_tensor():
    y = gg.tensor(2.0) * gg.tensor(3.0)
    assert type(y) is gg.Tensor and y.shape == () and y.item() == 6.0


def test_shapes_that_do_not_broadcast_raise_the_functions_error():
    with pytest.raises(ShapeError, match="add"):
        gg.ones(2, 3) + gg.ones(4)
    with pytest.raises(ShapeError, match="div"):
        1.0 / gg.ones(2, 3) / gg.ones(2)


def test_tensors_on_two_devices_take_the_functions_road_and_its_error():
    elsewhere = gg.backend.Backend(gg.backend.Device("cuda:7"), np)  # a second device, holding NumPy arrays
    b = gg.Tensor._make(np.ones(2, np.float32), elsewhere)
    with pytest.raises(gg.errors.DeviceError, match="mul"):
        gg.ones(2) * b


def test_a_subclass_operand_keeps_its_overrides_and_a_parameter_is_recorded():
    class Tagged(gg.Tensor):
        def __add__(self, other):
            return "tagged"

    t = gg.Tensor._make(np.ones(2, np.float32), gg.backend.cpu)
    t.__class__ = Tagged
    assert t + gg.ones(2) == "tagged"
    assert (gg.ones(2) + t).tolist() == [2.0, 2.0]
    p = gg.nn.Parameter(gg.ones(2))
    y = 3.0 * p
    assert type(y) is gg.Tensor and y.grad_fn is not None


def test_anomaly_mode_records_where_an_operator_was_made():
    a = gg.ones(2, requires_grad=True)
    with gg.autograd.detect_anomaly():  # the short road leaves for apply's, which records the line
        y = a * a
    assert "test_operators.py" in y._node.created_at


def test_recorded_shapes_that_do_not_broadcast_raise_the_functions_error():
    a = gg.ones(2, 3, requires_grad=True)
    with pytest.raises(ShapeError, match=r"mul.*\(2, 3\), \(4,\)"):
        a * gg.ones(4)


class _AskedBack:
    """An operand that Tensor cannot compare with; it answers the reflected comparison itself."""
    def __eq__(self, other):
        return "asked"

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__


@pytest.mark.parametrize("op", [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge])
def test_a_comparison_with_an_operand_that_is_no_number_asks_the_operand(op):
    t = gg.tensor([1.0, 2.0])
    assert op(t, _AskedBack()) == "asked"  # Tensor returned NotImplemented, Python asked the reflected op
    assert op(_AskedBack(), t) == "asked"
    np.testing.assert_array_equal(op(t, np.array([1.0, 3.0])).numpy(), op(np.array([1.0, 2.0]), np.array([1.0, 3.0])))
    np.testing.assert_array_equal(op(t, np.float64(2.0)).numpy(), op(np.array([1.0, 2.0]), 2.0))


def test_equality_with_a_string_a_list_or_none_is_python_identity_and_ordering_is_a_type_error():
    t = gg.tensor([1.0, 2.0])
    for other in ("a", [1.0, 2.0], (1.0, 2.0), None):
        assert (t == other) is False and (t != other) is True
    assert "a" not in [t, t]  # str == Tensor asks Tensor, which declines: no error (pytorch_optimizer's Muon)
    assert gg.tensor(0.5) == pytest.approx(0.5 + 1e-9) and gg.tensor(0.5) != pytest.approx(0.6)
    with pytest.raises(TypeError, match="not supported"):
        t < "a"


def test_comparisons_with_foreign_operands_match_torch():
    torch = pytest.importorskip("torch")
    for other in ("a", [1.0, 2.0], None, pytest.approx(1.0)):
        for op in (operator.eq, operator.ne):
            assert op(gg.tensor([1.0, 2.0]), other) == op(torch.tensor([1.0, 2.0]), other)
        assert (gg.tensor(1.0) == other) == (torch.tensor(1.0) == other)


class _Reflects:
    """A user's operand (zuko's tuple of tensors, say) that Tensor's arithmetic does not take: it answers
    the reflected operator itself."""
    def __radd__(self, other):
        return "radd"

    def __rsub__(self, other):
        return "rsub"

    def __rmul__(self, other):
        return "rmul"

    def __rtruediv__(self, other):
        return "rtruediv"

    def __rpow__(self, other):
        return "rpow"


@pytest.mark.parametrize("op, answer", [(operator.add, "radd"), (operator.sub, "rsub"), (operator.mul, "rmul"),
                                        (operator.truediv, "rtruediv"), (operator.pow, "rpow")])
def test_arithmetic_with_an_operand_that_is_no_number_asks_the_operand(op, answer):
    t = gg.tensor([1.0, 2.0], requires_grad=True)
    assert op(t, _Reflects()) == answer  # Tensor returned NotImplemented, Python asked the reflected op
    for other in ([1.0, 2.0], (1.0, 2.0), "a", None):  # a TypeError, as PyTorch's (list * t asks t.__index__)
        with pytest.raises(TypeError):
            op(t, other)


def test_arithmetic_with_foreign_operands_raises_where_torch_raises():
    torch = pytest.importorskip("torch")
    for other in ([1.0, 2.0], (1.0, 2.0), None, _Reflects()):
        for op in (operator.add, operator.sub, operator.mul, operator.truediv):
            outcomes = []
            for t in (gg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])):
                try:
                    outcomes.append(op(t, other))
                except TypeError:
                    outcomes.append(TypeError)
            assert outcomes[0] == outcomes[1]


# The other binary operators (@ // % & | ^ << >>) follow the same rule: a foreign operand gets NotImplemented.
OTHER_OPERATORS = {"matmul": operator.matmul, "floordiv": operator.floordiv, "mod": operator.mod,
                   "and": operator.and_, "or": operator.or_, "xor": operator.xor, "lshift": operator.lshift,
                   "rshift": operator.rshift}
IN_PLACE = {"matmul": operator.imatmul, "floordiv": operator.ifloordiv, "mod": operator.imod, "and": operator.iand,
            "or": operator.ior, "xor": operator.ixor, "lshift": operator.ilshift, "rshift": operator.irshift}


class _AnswersEverything:
    """A user's operand (linear_operator's LinearOperator, say) with its own forward and reflected forms of
    every operator (set below): ``dense @ operator`` must reach its ``__rmatmul__``."""


def _answer(form):
    return lambda self, other: form


for _name in OTHER_OPERATORS:
    for _form in (_name, "r" + _name):
        setattr(_AnswersEverything, f"__{_form}__", _answer(_form))


@pytest.mark.parametrize("name", list(OTHER_OPERATORS))
def test_other_operators_with_a_foreign_operand_ask_the_operand(name):
    op, t = OTHER_OPERATORS[name], gg.ones(2, 2, dtype=gg.int64)
    assert op(t, _AnswersEverything()) == "r" + name  # Tensor returned NotImplemented
    assert op(_AnswersEverything(), t) == name
    kept = t
    assert IN_PLACE[name](kept, _AnswersEverything()) == "r" + name  # t @= obj falls back to obj's reflected form
    assert t.tolist() == [[1, 1], [1, 1]]
    for other in ([1, 2], (1, 2), "a", None):
        with pytest.raises(TypeError, match="unsupported operand"):
            op(t, other)
        if not isinstance(other, str):  # "a" % t is string formatting
            with pytest.raises(TypeError, match="unsupported operand"):
                op(other, t)


@pytest.mark.parametrize("name", list(OTHER_OPERATORS))
def test_other_operators_with_foreign_and_ordinary_operands_match_torch(name):
    torch = pytest.importorskip("torch")
    op = OTHER_OPERATORS[name]
    values = [[3, 1], [2, 5]]
    outcomes = []
    for lib in (gg, torch):
        t, seen = lib.tensor(values), []
        for other in (_AnswersEverything(), [1, 2], None, lib.tensor([[2, 1], [1, 3]]), np.int64(2), 2):
            if name == "matmul" and not isinstance(other, (lib.Tensor, _AnswersEverything)):
                continue  # a number or a NumPy scalar is no matrix
            for left, right in ((t, other), (other, t)):
                try:
                    result = op(left, right)
                    seen.append(result.tolist() if hasattr(result, "tolist") else result)
                except TypeError:
                    seen.append(TypeError)
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]


def test_a_number_over_a_tensor_is_the_reciprocal_times_the_number():
    """PyTorch's __rtruediv__ is x.reciprocal() * number: in float32 0.2 / 0.6 is 0.33333334 there, an ulp
    above the rounded quotient, recorded or not (torch_geometric's characterization_score compares exactly)."""
    x = np.array([0.6, 3.0, 7.0], dtype=np.float32)
    expected = (np.float32(1) / x) * np.float32(0.2)
    assert (0.2 / gg.tensor(x)).numpy().tolist() == expected.tolist() != (np.float32(0.2) / x).tolist()
    assert (0.2 / gg.tensor(x, requires_grad=True)).detach().numpy().tolist() == expected.tolist()
    assert (2 / gg.tensor([1, 2, 4])).tolist() == [2.0, 1.0, 0.5]  # integers still divide as floats


def test_a_number_over_a_tensor_matches_pytorch_bit_for_bit():
    torch = pytest.importorskip("torch")
    values = [0.6, 3.0, 7.0, 0.1, 1e-3, 123.456]
    for number in (0.2, 3, 0.7):
        assert (number / gg.tensor(values)).tolist() == (number / torch.tensor(values)).tolist()
