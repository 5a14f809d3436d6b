"""torch._foreach_*: each list op gives what its per-tensor op gives, tensor by tensor, in place or not."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import foreach

SHAPES = [(3,), (2, 5), ()]


def _lists(seed=0, low=0.2, high=0.9):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, s).astype(np.float32) for s in SHAPES]


def _as(lib, arrays):
    return [lib.tensor(a) for a in arrays]


UNARY = foreach._UNARY
# (op, the second argument in each accepted form)
SECOND = {
    "number": lambda lib, n: 0.5,
    "numbers": lambda lib, n: [0.5, 2.0, -1.5][:n],
    "tensor": lambda lib, n: lib.tensor(0.75),
    "tensors": lambda lib, n: _as(lib, _lists(1, 0.3, 0.8)),
}


def _reference(name, t, o):
    """The per-tensor op, as a user would call it without _foreach."""
    if isinstance(o, (int, float)) and name in ("maximum", "minimum"):
        return getattr(gg, {"maximum": "clamp_min", "minimum": "clamp_max"}[name])(t, o)
    return getattr(gg, name)(t, o)


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_match_the_per_tensor_op(name):
    xs = _as(gg, _lists())
    want = [getattr(gg, name)(t).numpy() for t in xs]
    got = getattr(gg, f"_foreach_{name}")(xs)
    assert isinstance(got, tuple) and len(got) == len(xs)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w)
    returned = getattr(gg, f"_foreach_{name}_")(xs)
    assert returned is xs
    for t, w in zip(xs, want):
        np.testing.assert_array_equal(t.numpy(), w)


@pytest.mark.parametrize("form", list(SECOND))
@pytest.mark.parametrize("name", foreach._BINARY)
def test_binary_ops_take_every_form_of_second_argument(name, form):
    xs = _as(gg, _lists())
    other = SECOND[form](gg, len(xs))
    others = other if isinstance(other, list) else [other] * len(xs)
    want = [_reference(name, t, o).numpy() for t, o in zip(xs, others)]
    for g, w in zip(getattr(gg, f"_foreach_{name}")(xs, other), want):
        np.testing.assert_array_equal(g.numpy(), w)
    assert getattr(gg, f"_foreach_{name}_")(xs, other) is xs
    for t, w in zip(xs, want):
        np.testing.assert_array_equal(t.numpy(), w)


def test_add_and_sub_take_alpha_with_tensors_only():
    xs, ys = _as(gg, _lists()), _as(gg, _lists(1))
    for g, x, y in zip(gg._foreach_sub(xs, ys, alpha=3), xs, ys):
        np.testing.assert_array_equal(g.numpy(), (x - 3 * y).numpy())
    with pytest.raises(TypeError, match="_foreach_add"):
        gg._foreach_add(xs, 2.0, alpha=3)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("scalars", [1, 0.25, [0.5, -1.0, 2.0], "tensor"])
def test_addcmul_and_addcdiv(name, scalars):
    xs, t1, t2 = _as(gg, _lists()), _as(gg, _lists(1)), _as(gg, _lists(2))
    if scalars == "tensor":
        scalars, values = gg.tensor([0.5, -1.0, 2.0]), [0.5, -1.0, 2.0]
    else:
        values = scalars if isinstance(scalars, list) else [scalars] * 3
    want = [getattr(gg, name)(x, a, b, value=v).numpy() for x, a, b, v in zip(xs, t1, t2, values)]
    for g, w in zip(getattr(gg, f"_foreach_{name}")(xs, t1, t2, scalars), want):
        np.testing.assert_array_equal(g.numpy(), w)
    getattr(gg, f"_foreach_{name}_")(xs, t1, t2, scalars)
    for t, w in zip(xs, want):
        np.testing.assert_array_equal(t.numpy(), w)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_and_addcdiv_take_value_by_keyword_and_scalars_by_keyword(name):
    # PyTorch's overloads: (..., Scalar value=1), (..., Scalar[] scalars), (..., Tensor scalars)
    xs, t1, t2 = _as(gg, _lists()), _as(gg, _lists(1)), _as(gg, _lists(2))
    fn, fn_ = getattr(gg, f"_foreach_{name}"), getattr(gg, f"_foreach_{name}_")
    want = [getattr(gg, name)(x, a, b, value=-0.5).numpy() for x, a, b in zip(xs, t1, t2)]
    for g, w in zip(fn(xs, t1, t2, value=-0.5), want):
        np.testing.assert_array_equal(g.numpy(), w)
    for g, w in zip(fn(xs, t1, t2, scalars=[-0.5] * 3), want):
        np.testing.assert_array_equal(g.numpy(), w)
    assert fn_(xs, t1, t2, value=-0.5) is xs
    for t, w in zip(xs, want):
        np.testing.assert_array_equal(t.numpy(), w)
    for bad in ({"value": [0.5] * 3}, {"value": gg.tensor([0.5, 1.0, 2.0])}, {"scalars": [0.5] * 3, "value": 0.5}):
        with pytest.raises(TypeError, match=f"_foreach_{name}"):
            fn(xs, t1, t2, **bad)


def test_lerp_norm_max_mm_clone_copy_and_zero():
    xs, ys = _as(gg, _lists()), _as(gg, _lists(1))
    for weight in (0.25, [0.1, 0.5, 0.9], _as(gg, _lists(2))):
        weights = weight if isinstance(weight, list) else [weight] * 3
        for g, x, y, w in zip(gg._foreach_lerp(xs, ys, weight), xs, ys, weights):
            np.testing.assert_array_equal(g.numpy(), gg.lerp(x, y, w).numpy())
    for ord in (2, 1, float("inf")):
        for g, x in zip(gg._foreach_norm(xs, ord), xs):
            np.testing.assert_allclose(g.numpy(), gg.linalg.vector_norm(x, ord).numpy())
    assert [float(m) for m in gg._foreach_max(xs)] == [float(x.max()) for x in xs]
    mats = [gg.randn(2, 3), gg.randn(4, 4)]
    for g, m in zip(gg._foreach_mm(mats, [m.mT for m in mats]), mats):
        np.testing.assert_array_equal(g.numpy(), (m @ m.mT).numpy())
    clones = gg._foreach_clone(xs)
    assert all(not np.shares_memory(c.numpy(), x.numpy()) for c, x in zip(clones, xs))
    assert gg._foreach_copy_(xs, ys) is xs
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(xs, ys))
    gg._foreach_zero_(xs)
    assert all(not x.numpy().any() for x in xs)


def test_out_of_place_forms_are_differentiable_and_in_place_forms_record_on_non_leaves():
    leaves = [gg.tensor(a, requires_grad=True) for a in _lists()]
    sum(r.sum() for r in gg._foreach_mul(leaves, [2.0, 3.0, 4.0])).backward()
    for leaf, k in zip(leaves, (2.0, 3.0, 4.0)):
        np.testing.assert_array_equal(leaf.grad.numpy(), np.full(leaf.shape, k, np.float32))
    a = gg.tensor(_lists()[0], requires_grad=True)
    b = a * 2
    gg._foreach_exp_([b])
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp(2 * _lists()[0]), rtol=1e-6)


def test_bad_calls_raise_and_change_nothing():
    xs = _as(gg, _lists())
    before = [x.numpy().copy() for x in xs]
    with pytest.raises(RuntimeError, match="_foreach_add: Tensor list must have at least one tensor"):
        gg._foreach_add([], 1)
    with pytest.raises(RuntimeError, match="same number of tensors, got 3 and 2"):
        gg._foreach_add_(xs, xs[:2])
    with pytest.raises(RuntimeError, match="same number of elements as scalar list"):
        gg._foreach_mul_(xs, [1.0, 2.0])
    with pytest.raises(TypeError, match="_foreach_add"):
        gg._foreach_add(xs, "a")
    with pytest.raises(TypeError, match="argument 'self' must be tuple of Tensors"):
        gg._foreach_exp([1.0])
    floats_then_int = [gg.tensor([1.0]), gg.tensor([1])]
    with pytest.raises(gg.DTypeError, match="_foreach_add_"):
        gg._foreach_add_(floats_then_int, 1.5)
    assert floats_then_int[0].item() == 1.0  # the first tensor, which could have taken it, is untouched too
    with pytest.raises(RuntimeError, match="_foreach_mul_: a leaf Variable that requires grad"):
        gg._foreach_mul_([gg.ones(2, requires_grad=True)], 2.0)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x.numpy(), b)


@pytest.mark.torch
def test_every_foreach_op_of_pytorch_exists_and_agrees():
    torch = pytest.importorskip("torch")
    theirs = {n for n in dir(torch) if n.startswith("_foreach_")}
    missing = theirs - set(dir(gg)) - {"_foreach_powsum"}  # powsum: undocumented in PyTorch, left out
    assert not missing
    for name in UNARY:
        for g, t in zip(getattr(gg, f"_foreach_{name}")(_as(gg, _lists())), getattr(torch, f"_foreach_{name}")(_as(torch, _lists()))):
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-6, atol=1e-7, err_msg=name)
    for name in foreach._BINARY:
        for form, make in SECOND.items():
            ours = getattr(gg, f"_foreach_{name}_")(_as(gg, _lists()), make(gg, 3))
            ref = getattr(torch, f"_foreach_{name}_")(_as(torch, _lists()), make(torch, 3))
            for g, t in zip(ours, ref):
                np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-6, err_msg=f"{name} {form}")
    args = lambda lib: (_as(lib, _lists()), _as(lib, _lists(1)), _as(lib, _lists(2)), lib.tensor([0.5, -1.0, 2.0]))
    for name in ("addcmul", "addcdiv"):
        for g, t in zip(getattr(gg, f"_foreach_{name}")(*args(gg)), getattr(torch, f"_foreach_{name}")(*args(torch))):
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-6)
        for g, t in zip(getattr(gg, f"_foreach_{name}")(*args(gg)[:3], value=-0.5),
                        getattr(torch, f"_foreach_{name}")(*args(torch)[:3], value=-0.5)):
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-6)
    for g, t in zip(gg._foreach_lerp(*args(gg)[:3]), torch._foreach_lerp(*args(torch)[:3])):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-6)
    for g, t in zip(gg._foreach_norm(_as(gg, _lists())), torch._foreach_norm(_as(torch, _lists()))):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-6)
    assert isinstance(torch._foreach_exp(_as(torch, _lists())), tuple)  # as ours: the shapes of the results agree
    xs = _as(torch, _lists())
    assert torch._foreach_add_(xs, 1.0) is xs
