"""Indexing and selection: index forms, setitem, and the edge points and errors of the selection ops.

Gradients of the differentiable ops are checked by the op table (tests/ops/table/indexing.py); here are
the forms a table row cannot sweep (every mix of ints, slices, None, Ellipsis, index lists and masks),
errors, dtypes, out= and in-place variants, ties and NaN, and the non-differentiable ops.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.backend import multiply_in_rounds

nan, inf = float("nan"), float("inf")


# Index forms ------------------------------------------------------------------------------------------
@st.composite
def index_forms(draw, shape, ellipsis=False, unique=False):
    """A PyTorch index for a tensor of ``shape`` as a list of (kind, payload) parts; arrays share one
    length so that they broadcast (scalar bools and masks may still make it invalid, as in PyTorch)."""
    length = draw(st.integers(1, 3))
    parts, dim, used_ellipsis = [], 0, False
    for _ in range(draw(st.integers(1, 5))):
        kinds = ["none", "bool"]
        if dim < len(shape):
            kinds += ["int", "slice", "array", "mask", "int", "array"]
        if ellipsis and not used_ellipsis:
            kinds.append("ellipsis")
        kind = draw(st.sampled_from(kinds))
        size = shape[dim] if dim < len(shape) else 0
        if kind == "int":
            parts.append(("int", draw(st.integers(-size, size - 1))))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            parts.append(("slice", slice(start, stop, draw(st.sampled_from([None, 1, 2, 3])))))
        elif kind == "array":
            values = st.integers(-size, size - 1)
            if unique:
                length = min(length, size)
            parts.append(("array", draw(st.lists(values, min_size=length, max_size=length, unique=unique))))
        elif kind == "mask":
            parts.append(("mask", draw(st.lists(st.booleans(), min_size=size, max_size=size))))
        elif kind == "bool":
            parts.append(("bool", draw(st.booleans())))
        elif kind == "ellipsis":
            parts.append(("ellipsis", Ellipsis))
            used_ellipsis = True
            dim = len(shape) - (len(shape) - dim) // 2  # leave some dims for the parts after it
            continue
        else:
            parts.append(("none", None))
        dim += kind in ("int", "slice", "array", "mask")
    return parts


def build_index(parts, make_tensor):
    out = []
    for kind, payload in parts:
        if kind == "array":
            out.append(make_tensor(payload))
        elif kind == "mask":
            out.append(make_tensor(payload))
        else:
            out.append(payload)
    return tuple(out)


def gg_index(parts):
    return build_index(parts, lambda data: gg.tensor(data, dtype=gg.bool if isinstance(data[0], bool) else gg.int64))


def torch_index(torch, parts):
    return build_index(parts, lambda data: torch.tensor(data, dtype=torch.bool if isinstance(data[0], bool) else torch.int64))


def _outcome(fn):
    try:
        return fn(), None
    except (IndexError, ValueError, RuntimeError, TypeError) as exc:
        return None, exc


SHAPE_DISTINCT = (2, 3, 4, 5)
SHAPE_EQUAL = (3, 3, 3)


@pytest.mark.torch
@given(st.one_of(index_forms(SHAPE_DISTINCT).map(lambda p: (SHAPE_DISTINCT, p)),
                 index_forms(SHAPE_EQUAL, ellipsis=True).map(lambda p: (SHAPE_EQUAL, p))),
       st.integers(0, 2**32 - 1))
def test_getitem_matches_pytorch_for_every_index_form(case, seed):
    torch = pytest.importorskip("torch")
    shape, parts = case
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape)
    x = gg.tensor(data, dtype=gg.float64, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    theirs, their_error = _outcome(lambda: t[torch_index(torch, parts)])
    ours, our_error = _outcome(lambda: x[gg_index(parts)])
    if their_error is not None:
        assert our_error is not None, f"PyTorch raised {their_error!r} for {parts}, we returned shape {ours.shape}"
        return
    assert our_error is None, f"{parts}: {our_error!r}"
    assert tuple(ours.shape) == tuple(theirs.shape), parts
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    u = rng.standard_normal(tuple(theirs.shape))
    ours.backward(gg.tensor(u, dtype=gg.float64))
    theirs.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@given(st.one_of(index_forms(SHAPE_DISTINCT, unique=True).map(lambda p: (SHAPE_DISTINCT, p)),
                 index_forms(SHAPE_EQUAL, ellipsis=True, unique=True).map(lambda p: (SHAPE_EQUAL, p))),
       st.sampled_from(["full", "trailing", "scalar", "python"]), st.integers(0, 2**32 - 1))
def test_setitem_matches_pytorch_for_every_index_form(case, value_form, seed):
    """x[index] = value on a non-leaf: the values, and the gradients of both the tensor and the value."""
    torch = pytest.importorskip("torch")
    shape, parts = case
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape)
    t_probe, probe_error = _outcome(lambda: torch.zeros(shape)[torch_index(torch, parts)])
    if probe_error is not None:
        ours, our_error = _outcome(lambda: gg.zeros(*shape).__setitem__(gg_index(parts), 1.0))
        assert our_error is not None, parts
        return
    target = tuple(t_probe.shape)
    value_shape = {"full": target, "trailing": target[1:], "scalar": (), "python": ()}[value_form]
    value = rng.standard_normal(value_shape)
    w = rng.standard_normal(shape)

    x = gg.tensor(data, dtype=gg.float64, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    if value_form == "python":
        v, tv = float(value), float(value)
    else:
        v = gg.tensor(value, dtype=gg.float64, requires_grad=True)
        tv = torch.tensor(value, requires_grad=True)
    y, ty = x * 1.0, t * 1.0
    y[gg_index(parts)] = v
    ty[torch_index(torch, parts)] = tv
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    (y * gg.tensor(w, dtype=gg.float64)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    if value_form != "python":
        np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_ints_are_applied_before_index_tensors_are_placed():
    """x[1, :, 3:11:2, idx, 0:2]: NumPy would move the index dims to the front (the int splits the
    advanced indices); PyTorch selects the int first, so idx stays in place among what remains."""
    data = np.arange(2 * 3 * 12 * 4 * 3, dtype=np.float64).reshape(2, 3, 12, 4, 3)
    idx = [0, 3, 3]
    x = gg.tensor(data, requires_grad=True)
    y = x[1, :, 3:11:2, gg.tensor(idx), 0:2]
    expected = data[1][:, 3:11:2, idx, 0:2]
    assert tuple(y.shape) == (3, 4, 3, 2) != data[1, :, 3:11:2, idx, 0:2].shape
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    y.sum().backward()
    grad = np.zeros_like(data)
    np.add.at(grad[1], (slice(None), slice(3, 11, 2), idx, slice(0, 2)), 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_index_forms_known_shapes():
    x = gg.zeros(3, 4, 5)
    idx = gg.tensor([0, 1])
    assert x[1, :, idx].shape == (4, 2)
    assert x[idx, :, 1].shape == (2, 4)
    assert x[idx, None, idx].shape == (2, 1, 5)  # None between index tensors separates them
    assert x[gg.tensor(1), :, idx].shape == (4, 2)  # a 0-d int tensor is an int
    assert x[True, 1].shape == (1, 4, 5)
    assert x[False].shape == (0, 3, 4, 5)
    assert x[..., idx].shape == (3, 4, 2)
    assert x[[0.0, 1.7]].shape == (2, 4, 5)  # PyTorch truncates a list of floats to integers
    assert x[[slice(None), 0]].shape == (3, 5)  # a list holding a slice is read as a tuple
    assert x[[[0, 1], [1, 2]]].shape == (2, 5)  # and so is a list of lists


@pytest.mark.parametrize("index, message", [
    (lambda: 1.0, r"valid indices \(got float"),
    (lambda: gg.tensor([0.5]), "tensors used as indices must be long, int, byte or bool"),
    (lambda: np.float64(1.0), "valid indices"),
    (lambda: gg.tensor([True, False]),
     r"shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor \[3, 4\] at index 0"),
    (lambda: (slice(None), gg.tensor([True, False])), r"mask \[2\] at index 0 .* \[3, 4\] at index 1"),
    (lambda: 3, "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda: (0, gg.tensor([-5])), "index -5 is out of bounds for dimension 0 with size 4"),  # PyTorch's count
    (lambda: (0, 0, 0), "too many indices for tensor of dimension 2"),
    (lambda: (Ellipsis, 0, Ellipsis), "single ellipsis"),
])
def test_index_errors_name_the_problem_and_the_shape(index, message):
    x = gg.zeros(3, 4)
    with pytest.raises(IndexError, match=message):
        x[index()]
    with pytest.raises(IndexError, match=message):
        x[index()] = 1.0


OUT_OF_BOUNDS = [(0, [-5]), (slice(None), [7]), ([0], [9]), (Ellipsis, [1, 9]), (True, slice(None), [9]),
                 (None, [0], [9]), (2, 5), ([[True, False, True, True]] * 3, [5])]


@pytest.mark.torch
@pytest.mark.parametrize("index", OUT_OF_BOUNDS, ids=str)
def test_out_of_bounds_index_tensors_are_numbered_as_pytorch_numbers_them(index):
    """PyTorch names an index tensor's dim by its place among the index tensors (x[:, [7]] is 'dimension 0';
    a mask counts its dims); botorch matches that sentence."""
    torch = pytest.importorskip("torch")

    def message(lib, assign):
        x = lib.zeros(3, 4, 2)
        idx = tuple(lib.tensor(i) if isinstance(i, list) else i for i in index)
        with pytest.raises(IndexError) as info:
            if assign:
                x[idx] = 1.0
            else:
                x[idx]
        return str(info.value)

    for assign in (False, True):
        theirs = message(torch, assign)
        assert theirs in message(gg, assign).replace("index: ", "", 1)


def test_negative_slice_step_is_refused():
    with pytest.raises(ValueError, match="step must be greater than zero"):
        gg.zeros(3)[::-1]


def test_setitem_value_broadcast_and_errors():
    x = gg.zeros(3, 4)
    x[0] = gg.ones(1, 1, 4)  # extra leading dims of size 1 are allowed, as in PyTorch
    x[1:, gg.tensor([0, 2])] = gg.tensor([5.0, 6.0])
    x[gg.tensor([[False, True, False, False]] * 3)] = 7
    np.testing.assert_array_equal(x.numpy(), [[1, 7, 1, 1], [5, 7, 6, 0], [5, 7, 6, 0]])
    with pytest.raises(ValueError, match=r"shape mismatch: value tensor of shape \[2\] cannot be broadcast to indexing result of shape \[4\]"):
        x[0] = gg.ones(2)
    np.testing.assert_array_equal(x.numpy()[0], [1, 7, 1, 1])  # nothing half-written


def test_setitem_casts_to_the_tensor_dtype_and_keeps_value_gradient_dtype():
    x = gg.zeros(3, dtype=gg.int64)
    x[gg.tensor([0, 2])] = 2.7
    assert x.dtype is gg.int64 and x.tolist() == [2, 0, 2]
    v = gg.tensor(3.0, dtype=gg.float64, requires_grad=True)
    y = gg.zeros(4, requires_grad=True) * 1.0
    y[1:3] = v
    assert y.dtype is gg.float32
    (y * gg.arange(4.0)).sum().backward()
    assert v.grad.dtype is gg.float64 and v.grad.item() == 3.0


def test_setitem_on_a_leaf_that_requires_grad_is_refused():
    x = gg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[0] = 1.0


def test_setitem_second_order():
    """The value's gradient path is itself differentiable: d2/dv2 of sum((x with x[idx] = v)^2)."""
    x = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64)
    v = gg.tensor([0.5, -1.0], dtype=gg.float64, requires_grad=True)
    y = x * 1.0
    y[gg.tensor([2, 0])] = v
    (g,) = gg.grad((y * y).sum(), v, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [1.0, -2.0])
    (h,) = gg.grad(g.sum(), v)
    np.testing.assert_allclose(h.numpy(), [2.0, 2.0])


# gather / scatter -----------------------------------------------------------------------------------------
def test_gather_and_scatter_values_against_numpy(rng):
    a = rng.standard_normal((3, 4))
    idx = np.array([[0, 0], [3, 1], [1, 1]])
    np.testing.assert_array_equal(gg.gather(gg.tensor(a), 1, gg.tensor(idx)).numpy(), np.take_along_axis(a, idx, 1))
    src = rng.standard_normal((3, 2))
    expected = a.copy()
    np.add.at(expected, (np.arange(3)[:, None], idx), src)
    np.testing.assert_allclose(gg.scatter_add(gg.tensor(a), 1, gg.tensor(idx), gg.tensor(src)).numpy(), expected)
    expected = a.copy()
    np.put_along_axis(expected, np.array([[2], [0], [1]]), 9.0, 1)
    np.testing.assert_array_equal(gg.tensor(a).scatter(1, gg.tensor([[2], [0], [1]]), 9.0).numpy(), expected)


@st.composite
def dimwise_cases(draw):
    """An input shape, a dim, and an index of the same rank no larger than the input off that dim."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(0 if d == dim % len(shape) else 1, 4 if d == dim % len(shape) else n))
                        for d, n in enumerate(shape))
    size = shape[dim]
    index = np.array(draw(st.lists(st.integers(0, size - 1), min_size=int(np.prod(index_shape)),
                                   max_size=int(np.prod(index_shape)))), dtype=np.int64).reshape(index_shape)
    return shape, dim, index


@pytest.mark.torch
@given(dimwise_cases(), st.integers(0, 2**32 - 1))
def test_dimwise_ops_match_pytorch_on_any_dim(case, seed):
    """gather, scatter_add, index_select and index_add (values and gradients) over random shapes and dims."""
    torch = pytest.importorskip("torch")
    shape, dim, index = case
    rng = np.random.default_rng(seed)
    vector = index.reshape(-1)
    src_shape = list(shape)
    src_shape[dim] = vector.size
    calls = [
        (lambda m, x, s, i, v: m.gather(x, dim, i), index.shape),
        (lambda m, x, s, i, v: m.scatter_add(x, dim, i, s), index.shape),
        (lambda m, x, s, i, v: m.index_select(x, dim, v), None),
        (lambda m, x, s, i, v: m.index_add(x, dim, v, s, alpha=0.5), tuple(src_shape)),
    ]
    for call, s_shape in calls:
        data = rng.standard_normal(shape)
        src = rng.standard_normal(s_shape or (1,))
        ours = [gg.tensor(data, requires_grad=True), gg.tensor(src, requires_grad=True)]
        theirs = [torch.tensor(data, requires_grad=True), torch.tensor(src, requires_grad=True)]
        y = call(gg, ours[0], ours[1], gg.tensor(index), gg.tensor(vector))
        ty = call(torch, theirs[0], theirs[1], torch.tensor(index), torch.tensor(vector))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        u = rng.standard_normal(tuple(ty.shape))
        y.backward(gg.tensor(u))
        ty.backward(torch.tensor(u))
        for mine, their in zip(ours, theirs):
            if their.grad is not None:
                np.testing.assert_allclose(mine.grad.numpy(), their.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_scatter_src_larger_than_index_gets_a_gradient_of_its_own_shape():
    """PyTorch's backward fails here (it returns an index-shaped gradient); ours pads with zeros, the
    unused src elements having no influence."""
    x = gg.zeros(2, 3, dtype=gg.float64, requires_grad=True)
    src = gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=gg.float64, requires_grad=True)
    y = gg.scatter(x, 1, gg.tensor([[2], [0]]), src)
    np.testing.assert_array_equal(y.detach().numpy(), [[0, 0, 1], [4, 0, 0]])
    (y * gg.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=gg.float64)).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [[3, 0, 0], [4, 0, 0]])
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 2, 0], [0, 5, 6]])
    assert gg.autograd.gradgradcheck(lambda s: gg.scatter_add(gg.zeros(2, 3, dtype=gg.float64), 1, gg.tensor([[2], [0]]), s) ** 2,
                                     [gg.tensor(np.ones((2, 3)), requires_grad=True)])


def test_scatter_repeated_index_gives_every_src_element_its_gradient():
    """Where indices repeat only one write survives, but (as PyTorch) each src element that aimed at
    the position receives the gradient there."""
    src = gg.tensor([1.0, 2.0], requires_grad=True)
    y = gg.scatter(gg.zeros(3), 0, gg.tensor([1, 1]), src)
    (y * gg.tensor([0.0, 5.0, 0.0])).sum().backward()
    assert src.grad.tolist() == [5.0, 5.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda x: gg.gather(x, 1, gg.tensor([[4]])), RuntimeError, "gather: index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x: gg.gather(x, 1, gg.tensor([[-1]])), RuntimeError, "index -1 is out of bounds"),
    (lambda x: gg.gather(x, 1, gg.zeros(4, 1, dtype=gg.int64)), RuntimeError,
     r"expected index \[4, 1\] to be no larger than self \[3, 4\] apart from dimension 1"),
    (lambda x: gg.gather(x, 1, gg.zeros(4, dtype=gg.int64)), RuntimeError, "same number of dimensions"),
    (lambda x: gg.gather(x, 1, gg.zeros(3, 1)), TypeError, "expected dtype int32/int64 for index"),
    (lambda x: gg.gather(x, 2, gg.zeros(3, 1, dtype=gg.int64)), IndexError, "dimension 2 out of range"),
    (lambda x: gg.scatter(x, 1, gg.tensor([[4]]), 1.0), RuntimeError, "scatter: index 4 is out of bounds"),
    (lambda x: gg.scatter(x, 1, gg.zeros(3, 2, dtype=gg.int64), gg.ones(3, 1)), RuntimeError, "no larger size than src"),
    (lambda x: gg.scatter(x, 1, gg.zeros(3, 2, dtype=gg.int64), gg.ones(3, 2, dtype=gg.float64)), TypeError,
     "self.dtype to be equal to src.dtype"),
    (lambda x: gg.scatter(x, 1, gg.zeros(3, 2, dtype=gg.int64), 2.0, reduce="sum"), ValueError, "add or multiply"),
    (lambda x: gg.scatter_reduce(x, 1, gg.zeros(3, 2, dtype=gg.int64), 1.0, "sum"), TypeError, "'src' must be a Tensor"),
    (lambda x: gg.scatter_reduce(x, 1, gg.zeros(3, 2, dtype=gg.int64), gg.ones(3, 2), "bogus"), ValueError,
     "sum, prod, mean, amax or amin, got bogus"),
])
def test_gather_scatter_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(gg.zeros(3, 4))


@pytest.mark.torch
def test_gather_scatter_errors_are_errors_in_pytorch_too():
    torch = pytest.importorskip("torch")
    x = torch.zeros(3, 4)
    for call in (lambda: torch.gather(x, 1, torch.tensor([[-1]])), lambda: torch.scatter(x, 1, torch.tensor([[4]]), 1.0),
                 lambda: torch.gather(x, 1, torch.zeros(3, 1))):
        with pytest.raises(RuntimeError):
            call()


@pytest.mark.torch
def test_scatter_legacy_reduce_and_zero_dim_forms_match_pytorch():
    torch = pytest.importorskip("torch")
    idx = [[0, 0], [1, 1]]
    for reduce in ("add", "multiply"):
        ours = gg.scatter(gg.full((2, 2), 2.0), 1, gg.tensor(idx), 3.0, reduce=reduce)
        theirs = torch.scatter(torch.full((2, 2), 2.0), 1, torch.tensor(idx), 3.0, reduce=reduce)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert gg.gather(gg.tensor(3.0), 0, gg.tensor(0)).item() == torch.gather(torch.tensor(3.0), 0, torch.tensor(0)).item()
    assert gg.scatter(gg.tensor(3.0), 0, gg.tensor(0), 5.0).item() == 5.0
    assert gg.scatter(gg.zeros(3), 0, gg.tensor([1]), value=5.0).tolist() == [0.0, 5.0, 0.0]


def test_scatter_with_reduce_has_no_derivative():
    x = gg.zeros(2, 2, requires_grad=True)
    y = gg.scatter(x * 1.0, 1, gg.tensor([[0], [1]]), 3.0, reduce="multiply")
    with pytest.raises(RuntimeError, match="not implemented"):
        y.sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_scatter_reduce_values_match_pytorch(reduce, include_self, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.integers(-4, 5, (3, 5)).astype(dtype)
    src = rng.integers(-4, 5, (3, 4)).astype(dtype)
    idx = np.array([[0, 0, 4, 0], [1, 2, 2, 2], [3, 3, 3, 3]])
    ours = gg.scatter_reduce(gg.tensor(x), 1, gg.tensor(idx), gg.tensor(src), reduce, include_self=include_self)
    theirs = torch.scatter_reduce(torch.tensor(x), 1, torch.tensor(idx), torch.tensor(src), reduce, include_self=include_self)
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_at_zeros_and_ties_match_pytorch(include_self):
    """prod with a single zero and with two zeros in a slot; amax/amin with ties that share the gradient."""
    torch = pytest.importorskip("torch")
    x = np.array([[2.0, 0.0, 3.0, 1.5]])
    src = np.array([[0.0, 4.0, 0.0, 0.0, -1.0, 2.0]])
    idx = np.array([[0, 0, 1, 2, 2, 3]])
    ties_x, ties_src = np.array([[1.0, 2.0, 3.0, 0.5]]), np.array([[1.0, 1.0, 3.0, -1.0, 3.0, 0.5]])
    for reduce, xv, sv in (("prod", x, src), ("amax", ties_x, ties_src), ("amin", ties_x, ties_src)):
        a = gg.tensor(xv, dtype=gg.float64, requires_grad=True)
        s = gg.tensor(sv, dtype=gg.float64, requires_grad=True)
        ta, ts = torch.tensor(xv, requires_grad=True), torch.tensor(sv, requires_grad=True)
        w = np.array([[1.0, -2.0, 0.5, 3.0]])
        (gg.scatter_reduce(a, 1, gg.tensor(idx), s, reduce, include_self=include_self) * gg.tensor(w, dtype=gg.float64)).sum().backward()
        (torch.scatter_reduce(ta, 1, torch.tensor(idx), ts, reduce, include_self=include_self) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), err_msg=reduce)
        np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), err_msg=reduce)


def test_multiply_in_rounds_equals_multiply_at(rng):
    """The CuPy path of scatter-multiply (one round per repeat), run on NumPy against np.multiply.at."""
    target = rng.standard_normal((4, 3))
    index = (rng.integers(0, 4, (5, 3)), np.arange(3)[None, :])
    values = rng.standard_normal((5, 3))
    expected = target.copy()
    np.multiply.at(expected, index, values)
    multiply_in_rounds(np, target, index, values)
    np.testing.assert_allclose(target, expected)


# index_* ---------------------------------------------------------------------------------------------------
def test_index_ops_values_against_numpy(rng):
    a = rng.standard_normal((4, 3))
    idx = np.array([2, 0, 2])
    src = rng.standard_normal((3, 3))
    np.testing.assert_array_equal(gg.index_select(gg.tensor(a), 0, gg.tensor(idx)).numpy(), a[idx])
    expected = a.copy()
    np.add.at(expected, idx, 2.0 * src)
    np.testing.assert_allclose(gg.tensor(a).index_add(0, gg.tensor(idx), gg.tensor(src), alpha=2).numpy(), expected)
    expected = a.copy()
    expected[[3, 0]] = src[:2]
    np.testing.assert_array_equal(gg.index_copy(gg.tensor(a), 0, gg.tensor([3, 0]), gg.tensor(src[:2])).numpy(), expected)
    expected = a.copy()
    expected[:, [-1, 0]] = -7.0
    np.testing.assert_array_equal(gg.index_fill(gg.tensor(a), 1, gg.tensor([-1, 0]), -7.0).numpy(), expected)


def test_index_fill_with_negative_and_repeated_indices_differentiates():
    """PyTorch's own backward refuses a negative index here (index_select does); ours takes it, and
    the value's gradient counts each filled slice once."""
    a = gg.tensor(np.ones((2, 3)), requires_grad=True)
    v = gg.tensor(2.0, dtype=gg.float64, requires_grad=True)
    w = gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=gg.float64)
    (gg.index_fill(a, 1, gg.tensor([-1, 2, 0]), v) * w).sum().backward()
    assert v.grad.item() == 1 + 3 + 4 + 6
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 2, 0], [0, 5, 0]])


@pytest.mark.parametrize("call, error, message", [
    (lambda x: gg.index_select(x, 1, gg.zeros(2, 2, dtype=gg.int64)), IndexError, "supposed to be a vector"),
    # PyTorch's IndexError and text (torch_geometric's index_select expects both)
    (lambda x: gg.index_select(x, 1, gg.tensor([4])), IndexError,
     r"index_select: index out of range in self \(index 4, dimension 1 with size 4\)"),
    (lambda x: gg.index_select(x, 1, gg.tensor([-1])), RuntimeError, "out of range in self"),
    (lambda x: gg.index_select(x, 1, gg.tensor([1.0])), TypeError, "int32 or int64 for index"),
    (lambda x: gg.index_select(gg.tensor(3.0), 0, gg.tensor([0, 0])), RuntimeError, "only 1 value"),
    (lambda x: gg.index_add(x, 1, gg.tensor([-1]), gg.ones(3, 1)), RuntimeError, "index -1 is out of bounds for dimension 1"),
    (lambda x: gg.index_add(x, 1, gg.tensor([1]), gg.ones(3, 2)), RuntimeError, r"source must have shape \(3, 1\)"),
    (lambda x: gg.index_add(x, 1, gg.tensor([1]), gg.ones(3, 1, dtype=gg.float64)), TypeError, "same scalar type"),
    (lambda x: gg.index_copy(x, 1, gg.tensor([4]), gg.ones(3, 1)), IndexError, "index_copy: index 4 is out of bounds"),
    (lambda x: gg.index_fill(x, 1, gg.tensor([4]), 5.0), IndexError, "index_fill: index 4 is out of bounds"),
    (lambda x: gg.index_fill(x, 1, gg.tensor([0]), gg.tensor([5.0])), RuntimeError, "0-dimensional value tensor"),
])
def test_index_op_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(gg.zeros(3, 4))


@pytest.mark.torch
def test_index_op_errors_are_errors_in_pytorch_too():
    torch = pytest.importorskip("torch")
    x = torch.zeros(3, 4)
    for call in (lambda: torch.index_select(x, 1, torch.tensor([-1])), lambda: torch.index_add(x, 1, torch.tensor([-1]), torch.ones(3, 1)),
                 lambda: torch.index_copy(x, 1, torch.tensor([4]), torch.ones(3, 1)), lambda: torch.index_fill(x, 1, torch.tensor([4]), 5.0)):
        with pytest.raises((RuntimeError, IndexError)):
            call()
    with pytest.raises(IndexError, match="index out of range in self"):  # on dim 0 (dim 1: RuntimeError)
        torch.index_select(x, 0, torch.tensor([3]))
    with pytest.raises(IndexError, match="index out of range in self"):
        gg.index_select(gg.zeros(3, 4), 0, gg.tensor([3]))


# masked_* ---------------------------------------------------------------------------------------------------
def test_masked_ops_values_and_dtypes(rng):
    a = rng.standard_normal((2, 3))
    mask = np.array([[True, False, True], [False, False, True]])
    np.testing.assert_array_equal(gg.masked_select(gg.tensor(a), gg.tensor(mask)).numpy(), a[mask])
    np.testing.assert_array_equal(gg.tensor(a).masked_fill(gg.tensor(mask), 0.5).numpy(), np.where(mask, 0.5, a))
    expected = a.copy()
    expected[mask] = [10.0, 11.0, 12.0]
    source = gg.tensor([10.0, 11.0, 12.0, 13.0], dtype=gg.float64)
    np.testing.assert_array_equal(gg.masked_scatter(gg.tensor(a), gg.tensor(mask), source).numpy(), expected)
    ints = gg.masked_fill(gg.zeros(3, dtype=gg.int64), gg.tensor([True, False, True]), 2.7)
    assert ints.dtype is gg.int64 and ints.tolist() == [2, 0, 2]
    assert gg.masked_fill(gg.zeros(3), gg.tensor([True, False, True]), gg.tensor(2.5, dtype=gg.float64)).dtype is gg.float32


def test_masked_ops_broadcast():
    assert gg.masked_fill(gg.zeros(4), gg.ones(3, 4, dtype=gg.bool), 5.0).shape == (3, 4)
    assert gg.masked_select(gg.arange(4.0), gg.tensor([[True], [False]])).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert gg.masked_scatter(gg.zeros(4), gg.ones(3, 4, dtype=gg.bool), gg.arange(12.0)).shape == (3, 4)


def test_masked_scatter_gradient_leaves_unused_source_at_zero():
    x = gg.zeros(3, dtype=gg.float64, requires_grad=True)
    src = gg.tensor([1.0, 2.0, 3.0, 4.0], dtype=gg.float64, requires_grad=True)
    y = gg.masked_scatter(x, gg.tensor([False, True, True]), src)
    (y * gg.tensor([5.0, 6.0, 7.0], dtype=gg.float64)).sum().backward()
    assert src.grad.tolist() == [6.0, 7.0, 0.0, 0.0]
    assert x.grad.tolist() == [5.0, 0.0, 0.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: gg.masked_fill(gg.zeros(3, 4), gg.ones(3, 4, dtype=gg.int64), 5.0), TypeError, "bool mask"),
    (lambda: gg.masked_fill(gg.zeros(3, 4), gg.ones(3, 4, dtype=gg.bool), gg.tensor([5.0])), RuntimeError,
     "0-dimensional value tensor"),
    (lambda: gg.masked_fill(gg.zeros(3, 4), gg.ones(2, dtype=gg.bool), 1.0), ValueError, "cannot be broadcast"),
    (lambda: gg.zeros(4).masked_fill_(gg.ones(3, 4, dtype=gg.bool), 5.0), ValueError,
     r"output with shape \(4,\) doesn't match the broadcast shape \(3, 4\)"),
    (lambda: gg.masked_select(gg.zeros(3), gg.tensor([1, 0, 1])), TypeError, "bool mask"),
    (lambda: gg.masked_scatter(gg.zeros(4), gg.ones(4, dtype=gg.bool), gg.ones(3)), RuntimeError,
     r"source \(3\) < number of ones in mask \(4\)"),
    (lambda: gg.masked_scatter(gg.zeros(4), gg.ones(4, dtype=gg.bool), gg.ones(4, dtype=gg.float64)), TypeError, "same dtypes"),
])
def test_masked_op_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# take / take_along_dim -----------------------------------------------------------------------------------
def test_take_and_take_along_dim(rng):
    a = rng.standard_normal((2, 3))
    assert gg.take(gg.tensor(a), gg.tensor([[-1, 0]])).numpy().tolist() == [[a[1, 2], a[0, 0]]]
    assert gg.take(gg.tensor(a), gg.tensor(4)).shape == ()
    with pytest.raises(IndexError, match="tried to access index 6 on a tensor of 6 elements"):
        gg.take(gg.tensor(a), gg.tensor([6]))
    with pytest.raises(TypeError, match="long tensor for index"):
        gg.take(gg.tensor(a), gg.tensor([1.0]))
    b = rng.standard_normal((3, 1, 5))
    idx = np.zeros((1, 4, 2), dtype=np.int64) + [0, 4]
    out = gg.take_along_dim(gg.tensor(b), gg.tensor(idx), dim=2)
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(np.broadcast_to(b, (3, 4, 5)), np.broadcast_to(idx, (3, 4, 2)), 2))
    with pytest.raises(ValueError, match="same number of dimensions"):
        gg.take_along_dim(gg.tensor(a), gg.tensor([0]), dim=1)
    with pytest.raises(RuntimeError, match="index 6 is out of bounds for dimension 0 with size 6"):
        gg.take_along_dim(gg.tensor(a), gg.tensor([6]))


# out= and in-place variants ----------------------------------------------------------------------------------
def test_out_arguments_write_and_resize():
    x = gg.arange(12.0).reshape(3, 4)
    idx = gg.tensor([[0, 1], [2, 3], [1, 1]])
    out = gg.empty(1)
    assert gg.gather(x, 1, idx, out=out) is out and out.shape == (3, 2)
    values, indices = gg.empty(0), gg.empty(0, dtype=gg.int64)
    result = gg.sort(x, dim=0, descending=True, out=(values, indices))
    assert result.values is values and result.indices is indices
    np.testing.assert_array_equal(indices.numpy(), [[2] * 4, [1] * 4, [0] * 4])
    found = gg.empty(0, dtype=gg.int64)
    assert gg.nonzero(x, out=found) is found and found.shape == (11, 2)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        gg.index_select(x.requires_grad_(), 0, gg.tensor([0]), out=gg.empty(1))


def test_in_place_variants_write_into_self_and_record():
    x = gg.zeros(2, 3)
    assert x.index_fill_(1, gg.tensor([0]), 2.0) is x
    x.scatter_(1, gg.tensor([[2], [1]]), 5.0).masked_fill_(gg.tensor([False, True, False]), -1.0)
    x.index_add_(0, gg.tensor([1]), gg.ones(1, 3)).scatter_add_(0, gg.tensor([[0, 0, 0]]), gg.ones(1, 3))
    np.testing.assert_array_equal(x.numpy(), [[3, 0, 6], [3, 0, 1]])
    x.index_copy_(0, gg.tensor([0]), gg.zeros(1, 3)).masked_scatter_(gg.tensor([True, False, False]), gg.tensor([9.0, 9.0]))
    x.scatter_reduce_(1, gg.tensor([[1], [1]]), gg.tensor([[4.0], [4.0]]), "amax")
    np.testing.assert_array_equal(x.numpy(), [[9, 4, 0], [9, 4, 1]])
    a = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 1.0
    y.masked_fill_(gg.tensor([True, False, False]), 0.0)
    (y * y).sum().backward()
    assert a.grad.tolist() == [0.0, 4.0, 6.0]


# sort / argsort / topk / kthvalue -----------------------------------------------------------------------------
TIES = [3.0, nan, 1.0, 3.0, -inf, nan, 1.0, inf, -0.0, 0.0]


def test_sort_is_stable_with_nan_largest():
    values, indices = gg.sort(gg.tensor(TIES), stable=True)
    assert indices.tolist() == [4, 8, 9, 2, 6, 0, 3, 7, 1, 5]
    values, indices = gg.tensor(TIES).sort(descending=True)
    assert indices.tolist() == [1, 5, 7, 0, 3, 2, 6, 8, 9, 4]
    assert gg.argsort(gg.tensor([[2, 1, 2], [0, 0, 1]]), dim=1, descending=True).tolist() == [[0, 2, 1], [2, 0, 1]]


@pytest.mark.torch
@given(st.lists(st.sampled_from([0.0, 1.0, -1.0, 2.5, nan, inf, -inf]), min_size=1, max_size=12), st.booleans())
def test_stable_sort_matches_pytorch_on_ties(values, descending):
    torch = pytest.importorskip("torch")
    ours = gg.sort(gg.tensor(values), descending=descending, stable=True)
    theirs = torch.sort(torch.tensor(values), descending=descending, stable=True)
    assert ours.indices.tolist() == theirs.indices.tolist()
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())


@pytest.mark.torch
def test_topk_and_kthvalue_match_pytorch():
    torch = pytest.importorskip("torch")
    distinct = [0.3, -1.0, 2.0, nan, 5.0, -inf, 1.5]
    for largest in (True, False):
        ours, theirs = gg.topk(gg.tensor(distinct), 3, largest=largest), torch.topk(torch.tensor(distinct), 3, largest=largest)
        assert ours.indices.tolist() == theirs.indices.tolist()
    for k in range(1, 8):
        ours, theirs = gg.kthvalue(gg.tensor(distinct), k), torch.kthvalue(torch.tensor(distinct), k)
        assert ours.indices.item() == theirs.indices.item()
    assert gg.topk(gg.tensor(3.0), 0).values.item() == torch.topk(torch.tensor(3.0), 0).values.item()  # PyTorch's 0-d quirk


@pytest.mark.parametrize("call, error, message", [
    (lambda: gg.topk(gg.zeros(3), 4), RuntimeError, "k out of range"),
    (lambda: gg.topk(gg.zeros(3), -1), RuntimeError, "k out of range"),
    (lambda: gg.topk(gg.zeros(3, dtype=gg.bool), 1), TypeError, "bool"),
    (lambda: gg.kthvalue(gg.zeros(3), 0), RuntimeError, "k out of range"),
    (lambda: gg.kthvalue(gg.zeros(3), 4), RuntimeError, "k out of range"),
    (lambda: gg.kthvalue(gg.zeros(2, 0), 1), IndexError, "non-zero size"),
    (lambda: gg.sort(gg.zeros(3), dim=1), IndexError, "out of range"),
])
def test_sort_family_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_sort_family_shapes_and_gradients():
    x = gg.tensor([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]], requires_grad=True)
    assert gg.kthvalue(x, 1, dim=0, keepdim=True).values.shape == (1, 3)
    assert gg.kthvalue(x, 2).values.tolist() == [0.5, 1.0]
    assert gg.sort(gg.tensor(3.0)).indices.shape == ()
    assert gg.topk(x, 2, dim=None).indices.tolist() == [[2, 0], [0, 2]]
    gg.topk(x, 1).values.sum().backward()
    assert x.grad.tolist() == [[0, 0, 1], [1, 0, 0]]



@given(st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, nan, inf, -inf]), min_size=4, max_size=40), st.data())
def test_topk_and_kthvalue_are_the_stable_sort_cut_at_k(values, data):
    # Small k runs the selection kernel, the rest the sort: both the stable sort's order (ties by
    # position, NaN largest), along either dim.
    x = gg.tensor(np.array([values, values[::-1], values[1:] + values[:1]], np.float32))
    k = data.draw(st.integers(1, len(values)))
    for dim in (0, 1):
        if k > x.shape[dim]:
            continue
        for largest in (True, False):
            top = x.topk(k, dim=dim, largest=largest)
            ordered = x.sort(dim=dim, descending=largest)
            cut = (slice(None),) * dim + (slice(0, k),)
            assert top.indices.tolist() == ordered.indices[cut].tolist()
            np.testing.assert_array_equal(top.values.numpy(), ordered.values[cut].numpy())
        kth = x.kthvalue(k, dim=dim)
        assert kth.indices.tolist() == x.sort(dim=dim).indices.select(dim, k - 1).tolist()


@pytest.mark.parametrize("descending", [False, True])
def test_float32_sorts_of_packed_keys_are_numpys_stable_sort(descending):
    # Large float32 sorts on the CPU sort packed (value, position) keys: the stable order still, on any dim.
    rng = np.random.default_rng(3)
    data = np.array([0.0, -0.0, 1.0, -1.0, nan, inf, -inf, 2.5], np.float32)[rng.integers(0, 8, (9, 10, 31))]
    for dim in (0, 1, 2):
        flipped = np.flip(data, dim)
        want = np.argsort(data, axis=dim, kind="stable") if not descending else (
            data.shape[dim] - 1 - np.flip(np.argsort(flipped, axis=dim, kind="stable"), dim))
        got = gg.tensor(data).sort(dim=dim, descending=descending)
        np.testing.assert_array_equal(got.indices.numpy(), want)
        np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(data, want, dim))

def test_selection_gradients_add_in_numpys_order():
    # The CPU's scatter-add kernels add repeated indices in index order: np.add.at's bits (values of
    # mixed magnitudes make any other order show).
    rng = np.random.default_rng(5)
    x = gg.tensor(rng.standard_normal((40, 70)).astype(np.float32), requires_grad=True)
    ids = rng.integers(-40, 40, 300)

    def mixed(shape):
        return (rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 7, shape)).astype(np.float32)

    cases = [
        (lambda: x[gg.tensor(ids)], (ids,)),
        (lambda: x.index_select(0, gg.tensor(ids % 40)), (ids % 40,)),
        (lambda: x[:, gg.tensor(ids[:90] % 70)], (slice(None), ids[:90] % 70)),
    ]
    for fn, where in cases:
        x.grad = None
        y = fn()
        gy = mixed(tuple(y.shape))
        y.backward(gg.tensor(gy))
        want = np.zeros((40, 70), np.float32)
        np.add.at(want, where, gy)
        assert x.grad.numpy().tobytes() == want.tobytes()
    x.grad = None
    idx = rng.integers(0, 70, (40, 200))
    gy = mixed((40, 200))
    x.gather(1, gg.tensor(idx)).backward(gg.tensor(gy))
    want = np.zeros((40, 70), np.float32)
    np.add.at(want, (np.arange(40)[:, None], idx), gy)
    assert x.grad.numpy().tobytes() == want.tobytes()

# unique / nonzero / searchsorted / bucketize --------------------------------------------------------------------
def test_unique_keeps_each_nan_and_returns_what_is_asked():
    out, inverse, counts = gg.unique(gg.tensor(TIES), return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(out.numpy(), [-inf, 0.0, 1.0, 3.0, inf, nan, nan])
    assert inverse.tolist() == [3, 5, 2, 3, 0, 6, 2, 4, 1, 1] and counts.tolist() == [1, 2, 2, 2, 1, 1, 1]
    out, inverse = gg.tensor([[3, 1], [2, 1]]).unique(return_inverse=True)
    assert out.tolist() == [1, 2, 3] and inverse.tolist() == [[2, 0], [1, 0]]
    assert gg.unique(gg.tensor([3, 1, 3]), sorted=False).tolist() == [1, 3]
    out, inverse, counts = gg.unique(gg.tensor(3.0), return_inverse=True, return_counts=True)
    assert out.shape == (1,) and inverse.shape == () and counts.tolist() == [1]
    out, counts = gg.unique(gg.tensor([]), return_counts=True)
    assert out.shape == (0,) and counts.shape == (0,) and counts.dtype is gg.int64


@pytest.mark.torch
@given(st.lists(st.integers(-3, 3), max_size=10))
def test_unique_matches_pytorch(values):
    torch = pytest.importorskip("torch")
    ours = gg.unique(gg.tensor(values, dtype=gg.int64), return_inverse=True, return_counts=True)
    theirs = torch.unique(torch.tensor(values, dtype=torch.int64), return_inverse=True, return_counts=True)
    for a, b in zip(ours, theirs):
        assert a.tolist() == b.tolist()


def test_nonzero_and_argwhere():
    x = gg.tensor([[0.0, nan], [-0.0, 2.0]])
    assert gg.nonzero(x).tolist() == [[0, 1], [1, 1]]
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 1]
    assert gg.argwhere(x).tolist() == [[0, 1], [1, 1]]
    assert gg.nonzero(gg.tensor(3.0)).shape == (1, 0) and gg.argwhere(gg.tensor(0.0)).shape == (0, 0)
    (only,) = gg.nonzero(gg.tensor(3.0), as_tuple=True)
    assert only.tolist() == [0]


def draw_array(draw, elements, shape):
    size = int(np.prod(shape))
    return np.array(draw(st.lists(elements, min_size=size, max_size=size)), dtype=np.float64).reshape(shape)


@st.composite
def search_cases(draw, nan_boundaries=True):
    """A sorted sequence (NaN last, as sort leaves it) and values, with matching leading dims."""
    lead = draw(st.sampled_from([(), (2,), (2, 3)]))
    n, m = draw(st.integers(0, 5)), draw(st.integers(1, 4))
    elems = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, nan])
    seq_elems = elems if nan_boundaries else st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0])
    seq = np.sort(draw_array(draw, seq_elems, lead + (n,)), axis=-1)
    values = draw_array(draw, elems, lead + (m,))
    return seq, values


@given(search_cases(), st.booleans())
def test_searchsorted_row_by_row_matches_numpy(case, right):
    seq, values = case
    ours = gg.searchsorted(gg.tensor(seq), gg.tensor(values), right=right).numpy()
    rows = int(np.prod(values.shape[:-1]))
    flat_seq, flat_values = seq.reshape(rows, seq.shape[-1]), values.reshape(rows, values.shape[-1])
    side = "right" if right else "left"
    expected = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(flat_seq, flat_values)]).reshape(values.shape)
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.torch
@given(search_cases(nan_boundaries=False), st.sampled_from([(False, None), (True, None), (False, "right"), (False, "left"), (True, "right")]))
def test_searchsorted_matches_pytorch(case, flags):
    """NaN boundaries are left out: PyTorch's binary search puts a value after a NaN boundary on one side
    and before it on the other, depending on where the search probes; ours (as NumPy) sorts NaN last."""
    torch = pytest.importorskip("torch")
    seq, values = case
    right, side = flags
    ours = gg.searchsorted(gg.tensor(seq), gg.tensor(values), right=right, side=side)
    theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(values), right=right, side=side)
    assert ours.dtype is gg.int64 and ours.tolist() == theirs.tolist()


def test_searchsorted_forms_and_errors():
    seq = gg.tensor([1.0, 2.0, 2.0, 3.0])
    assert gg.searchsorted(seq, 2).tolist() == 1 and gg.searchsorted(seq, 2, side="right").tolist() == 3
    assert gg.searchsorted(gg.tensor([1, 2, 3]), gg.tensor([1.5, 2.0])).tolist() == [1, 1]
    assert gg.searchsorted(gg.tensor([3.0, 1.0, 2.0]), gg.tensor([1.5, 2.0, 5.0]), sorter=gg.tensor([1, 2, 0])).tolist() == [1, 1, 3]
    assert gg.bucketize(gg.tensor([[2.0, 0.0, nan, 4.0]]), seq).tolist() == [[1, 0, 4, 4]]
    assert gg.bucketize(gg.tensor([2.0, 0.0, nan, 4.0]), seq, right=True).tolist() == [3, 0, 4, 4]
    assert gg.bucketize(2.0, seq).tolist() == 1
    with pytest.raises(RuntimeError, match="can't be set to opposites"):
        gg.searchsorted(seq, gg.tensor([2.0]), right=True, side="left")
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right'"):
        gg.searchsorted(seq, gg.tensor([2.0]), side="middle")
    with pytest.raises(RuntimeError, match="scalar only when boundaries tensor dimension is 1"):
        gg.searchsorted(gg.zeros(2, 2), 2)
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        gg.searchsorted(gg.zeros(2, 3), gg.zeros(1, 2))
    with pytest.raises(RuntimeError, match="positive dimension"):
        gg.searchsorted(gg.tensor(1.0), gg.zeros(2))
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension"):
        gg.bucketize(gg.zeros(2), gg.zeros(1, 2))


def test_a_range_indexes_as_the_list_of_its_ints():
    x = gg.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(x[range(3), [1, 0, 3]].numpy(), [1.0, 4.0, 11.0])
    x[range(3), gg.tensor([0, 0, 0])] = -1.0
    np.testing.assert_array_equal(x[:, 0].numpy(), [-1.0, -1.0, -1.0])


def test_a_byte_tensor_indexes_as_a_mask_of_its_nonzero_entries():
    x = gg.arange(9.0).reshape(3, 3)
    upper = gg.tensor([[0, 2, 1], [0, 0, 1], [0, 0, 0]], dtype=gg.uint8)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        assert x[upper].tolist() == [1.0, 2.0, 5.0]
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        x[upper] = gg.tensor([-1.0, -2.0, -3.0])
    assert x.tolist() == [[0.0, -1.0, -2.0], [3.0, 4.0, -3.0], [6.0, 7.0, 8.0]]
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        summed = gg.index_put(gg.zeros(3, 3), (upper,), gg.tensor(1.0), accumulate=True)
    assert summed.sum().item() == 3.0
    with pytest.raises(IndexError, match="long, int, byte or bool"):  # short ints only as 0-d indices
        x[gg.tensor([1, 0], dtype=gg.int8)]
    assert x[gg.tensor(1, dtype=gg.int16)].tolist() == [3.0, 4.0, -3.0]


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:indexing with dtype")
@pytest.mark.parametrize("index", [
    lambda t, lib: t(2, dtype=lib.uint8),
    lambda t, lib: t(0, dtype=lib.uint8),
    lambda t, lib: (slice(None), t([3, 0, 1], dtype=lib.uint8)),
    lambda t, lib: np.array([1, 0, 1], dtype=np.uint8),
    lambda t, lib: np.array(1, dtype=np.uint8),
])
def test_byte_indices_match_pytorch(index):
    torch = pytest.importorskip("torch")
    mine = gg.arange(9.0).reshape(3, 3)[index(gg.tensor, gg)]
    theirs = torch.arange(9.0).reshape(3, 3)[index(torch.tensor, torch)]
    assert tuple(mine.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_bincount_and_unravel_index():
    assert gg.bincount(gg.tensor([0, 2, 2, 5])).tolist() == [1, 0, 2, 0, 0, 1]
    weighted = gg.tensor([0, 2, 2]).bincount(gg.tensor([0.5, 0.25, 1.0]), minlength=4)
    assert weighted.tolist() == [0.5, 0.0, 1.25, 0.0] and weighted.dtype is gg.float32
    assert gg.bincount(gg.tensor([1]), gg.tensor([3], dtype=gg.float64)).dtype is gg.float64
    assert gg.bincount(gg.tensor([], dtype=gg.int64)).shape == (0,)
    for bad in (gg.tensor([-1]), gg.tensor([[1]]), gg.tensor([1.0])):
        with pytest.raises(gg.ArgumentError, match="bincount"):
            gg.bincount(bad)
    rows, cols = gg.unravel_index(gg.tensor([5, 7, -1]), (2, 4))
    assert rows.tolist() == [1, 1, 1] and cols.tolist() == [1, 3, 3] and rows.dtype is gg.int64
    with pytest.raises(IndexError, match="unravel_index"):
        gg.unravel_index(gg.tensor([8]), (2, 4))
    assert gg.msort(gg.tensor([[3, 1], [1, 2]])).tolist() == [[1, 1], [3, 2]]


@pytest.mark.torch
def test_bincount_and_unravel_index_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([3, 0, 3, 1, 7])
    w = np.array([0.5, 1.5, 2.0, 0.25, 1.0], np.float32)
    np.testing.assert_array_equal(gg.bincount(gg.tensor(x), minlength=10).numpy(), torch.bincount(torch.tensor(x), minlength=10).numpy())
    np.testing.assert_allclose(gg.bincount(gg.tensor(x), gg.tensor(w)).numpy(), torch.bincount(torch.tensor(x), torch.tensor(w)).numpy())
    for mine, theirs in zip(gg.unravel_index(gg.tensor(x), (2, 2, 2)), torch.unravel_index(torch.tensor(x), (2, 2, 2))):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_histc_ranges_as_pytorch():
    assert gg.histc(gg.tensor([1.0, 2, 1]), bins=4, min=0, max=3).tolist() == [0.0, 2.0, 1.0, 0.0]
    assert gg.histc(gg.tensor([1.0, 2, 1, 7]), bins=3).tolist() == [3.0, 0.0, 1.0]  # the data's range
    assert gg.histc(gg.tensor([3.0, 3, 3]), bins=2).tolist() == [0.0, 3.0]  # one value: widened by 1
    assert gg.histc(gg.tensor([-5.0, 0.5, 9.0]), bins=2, min=0, max=1).tolist() == [0.0, 1.0]  # outside: left out
    assert gg.histc(gg.tensor([1.0], dtype=gg.float64)).dtype is gg.float64
    with pytest.raises(gg.DTypeError, match="histc"):
        gg.histc(gg.tensor([1, 2]))
    with pytest.raises(gg.ArgumentError, match="histc"):
        gg.histc(gg.tensor([1.0]), bins=0)


@pytest.mark.torch
def test_histc_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(500).astype(np.float32)
    for kwargs in ({"bins": 10}, {"bins": 7, "min": -1.0, "max": 1.5}):
        np.testing.assert_array_equal(gg.histc(gg.tensor(x), **kwargs).numpy(), torch.histc(torch.tensor(x), **kwargs).numpy())


def test_unique_consecutive_flat_and_along_a_dim():
    x = gg.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    values, inverse, counts = gg.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3, 1, 2] and inverse.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert counts.tolist() == [2, 2, 1, 2, 1] and x.unique_consecutive().tolist() == [1, 2, 3, 1, 2]
    rows = gg.tensor([[1, 1], [1, 1], [2, 3], [1, 1]])
    values, inverse, counts = rows.unique_consecutive(return_inverse=True, return_counts=True, dim=0)
    assert values.tolist() == [[1, 1], [2, 3], [1, 1]] and inverse.tolist() == [0, 0, 1, 2]
    assert counts.tolist() == [2, 1, 1]
    grid = gg.tensor([[1.0, 2.0], [1.0, 3.0]]).reshape(2, 2, 1)
    assert grid.unique_consecutive(dim=1).shape == (2, 2, 1)
    assert gg.unique_consecutive(gg.tensor([])).shape == (0,)


@pytest.mark.torch
def test_unique_consecutive_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    data = rng.integers(0, 3, (6, 4, 3))
    for dim in (None, 0, 1, 2):
        ours = gg.unique_consecutive(gg.tensor(data), return_inverse=True, return_counts=True, dim=dim)
        theirs = torch.unique_consecutive(torch.tensor(data), return_inverse=True, return_counts=True, dim=dim)
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_select_and_slice_scatter_and_index_put():
    x = gg.zeros(3, 4)
    assert gg.select_scatter(x, gg.ones(4), 0, -1)[2].tolist() == [1.0] * 4 and x.sum().item() == 0.0
    assert gg.slice_scatter(x, gg.ones(3, 2), 1, 1, None, 2)[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="slice of self"):
        gg.select_scatter(x, gg.ones(3), 0, 0)
    assert gg.diagonal_scatter(x, gg.ones(2), -1).tolist()[1:] == [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="slice of self"):
        gg.diagonal_scatter(x, gg.ones(4))
    with pytest.raises(IndexError):
        gg.select_scatter(x, gg.ones(4), 0, 3)
    i, j = gg.tensor([0, 2, 0]), gg.tensor([1, 3, 1])
    summed = gg.index_put(x, (i, j), gg.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert summed[0, 1].item() == 4.0 and summed[2, 3].item() == 2.0
    y = gg.zeros(3, 4)
    y.index_put_((gg.tensor([True, False, True]),), gg.tensor(2.0))
    assert y.sum(1).tolist() == [8.0, 0.0, 8.0]
    with pytest.raises(IndexError):
        gg.index_put(x, (gg.tensor([3]),), gg.tensor(1.0), accumulate=True)
    with pytest.raises(TypeError, match="dtypes to match"):
        gg.index_put(x, (i,), gg.tensor(1.0, dtype=gg.float64))


@pytest.mark.torch
def test_scatters_and_index_put_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    base, rows = rng.standard_normal((4, 5)), rng.standard_normal((2, 5))

    def results(lib):
        t = lib.tensor
        return (
            lib.select_scatter(t(base), t(base[0]), 0, 2),
            lib.slice_scatter(t(base), t(rows), 0, -3, None, 2),
            lib.diagonal_scatter(t(base), t(base[0, :3]), -1),
            lib.index_put(t(base), (t([3, 0, 3]), t([1, 1, 1])), t([1.0, 2.0, 3.0], dtype=lib.float64), accumulate=True),
            lib.index_put(t(base), (t([True, False, True, False]),), t(rows), accumulate=True),
        )

    for ours, theirs in zip(results(gg), results(torch)):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.torch
def test_unique_along_a_dim_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    data = rng.integers(0, 2, (6, 3, 2)).astype(np.float64)
    data[4, 1, 0] = np.nan
    for dim in (0, 1, 2, -1):
        ours = gg.unique(gg.tensor(data), return_inverse=True, return_counts=True, dim=dim)
        theirs = torch.unique(torch.tensor(data), return_inverse=True, return_counts=True, dim=dim)
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert gg.tensor([[1, 2], [1, 2]]).unique(dim=0).tolist() == [[1, 2]]


def test_searchsorted_and_bucketize_give_int32_indices_with_out_int32():
    seq = gg.tensor([1.0, 3.0, 5.0, 7.0])
    values = gg.tensor([[0.0, 3.0, 6.0], [7.0, 8.0, 2.0]])
    for right in (False, True):
        want = np.searchsorted(seq.numpy(), values.numpy(), side="right" if right else "left")
        for got in (gg.searchsorted(seq, values, out_int32=True, right=right),
                    gg.bucketize(values, seq, out_int32=True, right=right)):
            assert got.dtype == gg.int32
            np.testing.assert_array_equal(got.numpy(), want)
        assert gg.bucketize(values, seq, right=right).dtype == gg.int64
    rows = gg.tensor([[1.0, 2.0], [0.0, 9.0]])
    assert gg.searchsorted(rows, gg.tensor([[1.5], [10.0]]), out_int32=True).dtype == gg.int32


def test_out_int32_matches_pytorch():
    torch = pytest.importorskip("torch")
    seq, values = np.array([1.0, 3.0, 5.0]), np.array([0.0, 3.0, 6.0])
    ours = gg.bucketize(gg.tensor(values), gg.tensor(seq), out_int32=True, right=True)
    theirs = torch.bucketize(torch.tensor(values), torch.tensor(seq), out_int32=True, right=True)
    assert theirs.dtype == torch.int32 and ours.dtype == gg.int32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_topk_and_kthvalue_results_are_contiguous():
    # As PyTorch's: callers flatten the indices with .view(-1) (PyG's LightGCN.recommend).
    x = gg.randn(6, 9)
    for dim in (0, 1):
        values, indices = x.topk(2, dim=dim)
        assert values.is_contiguous() and indices.is_contiguous()
        assert indices.view(-1).shape[0] == values.numel()
    assert x.kthvalue(2, dim=0, keepdim=True).indices.is_contiguous()


@pytest.mark.parametrize("index", [
    lambda m: (m,),  # the whole shape
    lambda m: (m[:, :, 0],),  # the leading dims
    lambda m: (slice(None), m[0, :, 0]),  # a middle dim
    lambda m: (np.isin(np.arange(6), [1, 4]), np.array([[2], [0], [2]])),  # beside an int array: repeats
])
def test_a_mask_selects_and_its_gradient_lands_without_a_positions_array(index, monkeypatch):
    # On the CPU the mask itself indexes (no nonzero() arrays: IndexBackward assigns, its positions being
    # distinct); beside an int array the gradient still accumulates.
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 5, 4))
    parts = index(rng.standard_normal((6, 5, 4)) > 0)
    positions_arrays = []
    real = np.nonzero
    monkeypatch.setattr(np, "nonzero", lambda m: positions_arrays.append(m.shape) or real(m))
    x = gg.tensor(a, requires_grad=True)
    y = x[tuple(gg.tensor(p) if isinstance(p, np.ndarray) else p for p in parts)]
    expected = a[parts]
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    up = rng.standard_normal(expected.shape)
    y.backward(gg.tensor(up))
    want = np.zeros_like(a)
    np.add.at(want, parts, up)
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert positions_arrays == []
    selected = gg.masked_select(x, gg.tensor(a > 0.5))
    np.testing.assert_array_equal(selected.detach().numpy(), a[a > 0.5])
    assert positions_arrays == []
