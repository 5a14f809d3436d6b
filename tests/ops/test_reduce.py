"""Reductions: edge points (empty dims, 0-d tensors, no degrees of freedom, constant input, zeros in a
product), result dtypes, dtype=, out=, errors, and which index median/mode pick; against NumPy and known
values always, and (marked torch) against PyTorch. Gradients at ordinary points are in the op table."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError


def t64(a, requires_grad=False):
    return gg.tensor(np.asarray(a, dtype=np.float64), dtype=gg.float64, requires_grad=requires_grad)


def values_and_grad(fn, a, cotangent=None):
    """fn's value at a (float64) and the gradient of <cotangent, fn(a)> (all ones when None)."""
    x = t64(a, requires_grad=True)
    y = fn(x)
    y.backward(gg.ones_like(y) if cotangent is None else t64(cotangent))
    return y.detach().numpy(), (None if x.grad is None else x.grad.numpy())


def torch_values_and_grad(torch, fn, a, cotangent=None):
    x = torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns about zero degrees of freedom
        y = fn(x)
        y.backward(torch.ones_like(y) if cotangent is None else torch.tensor(np.asarray(cotangent, dtype=np.float64)))
    return y.detach().numpy(), (None if x.grad is None else x.grad.numpy())


def same(ours, theirs):
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


def against_torch(fn, a, cotangent=None, torch_fn=None):
    torch = pytest.importorskip("torch")
    same(values_and_grad(fn, a, cotangent), torch_values_and_grad(torch, torch_fn or fn, a, cotangent))


# Means over nothing, variance without degrees of freedom ------------------------------------------------


def test_mean_over_an_empty_dim_is_nan_with_an_empty_gradient():
    y, g = values_and_grad(lambda x: x.mean(dim=1), np.zeros((2, 0)))
    assert np.isnan(y).all() and y.shape == (2,) and g.shape == (2, 0)
    y, g = values_and_grad(lambda x: x.mean(), np.zeros((0, 3)))
    assert np.isnan(y) and g.shape == (0, 3)


def test_variance_of_one_sample_is_nan_and_so_is_its_gradient():
    for fn in (lambda x: x.var(), lambda x: x.std(), lambda x: x.var(dim=0)):
        y, g = values_and_grad(fn, [1.5])
        assert np.isnan(y) and np.isnan(g).all()


def test_gradient_of_a_constant_input_is_zero_for_var_and_std():
    rows_constant = [[2.0, 2.0, 2.0], [-1.0, -1.0, -1.0]]
    for fn, a in ((lambda x: x.var(), [[0.5, 0.5], [0.5, 0.5]]), (lambda x: x.std(), [[0.5, 0.5], [0.5, 0.5]]),
                  (lambda x: x.var(dim=1), rows_constant), (lambda x: x.std(dim=1, keepdim=True), rows_constant)):
        y, g = values_and_grad(fn, a)
        np.testing.assert_array_equal(y, 0.0)
        np.testing.assert_array_equal(g, 0.0)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("correction", [0, 1, 2, 3, 0.5])
@pytest.mark.parametrize("dim", [None, 0, (0, 1)])
def test_variance_at_and_beyond_the_sample_size_matches_pytorch(name, correction, dim):
    a = [[1.5, 2.5]] if dim == (0, 1) else [1.5, 2.5] if dim is not None else [1.5, 2.0, 2.0]
    kwargs = {} if dim is None else {"dim": dim}
    fn = lambda x: getattr(x, name)(correction=correction, **kwargs)  # noqa: E731
    against_torch(fn, a, cotangent=-2.0)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_float32_var_and_std_are_rounded_once_from_float64_sums(dim):
    # As PyTorch's CPU kernel (float64 accumulation; its deviations from the mean in float64 too, 0.5 ulp):
    # float32 sums of squares drifted to 2 ulp
    x = (np.random.default_rng(2).standard_normal((300, 700)) + 3).astype(np.float32)
    exact_var = x.astype(np.float64).var(axis=dim, ddof=1)
    t = gg.tensor(x)
    for got, exact in ((t.var(dim), exact_var), (t.std(dim), np.sqrt(exact_var))):
        got = np.atleast_1d(got.numpy())
        ulps = np.abs(got - exact) / np.spacing(np.abs(np.atleast_1d(exact)).astype(np.float32))
        assert got.dtype == np.float32 and ulps.max() <= 0.65, ulps.max()


@pytest.mark.torch
@pytest.mark.parametrize("shape, dim", [((1000, 1000), None), ((37, 300), 1), ((5, 6, 7), (0, 2))])
def test_mean_gradient_is_pytorchs_bit_for_bit(shape, dim):
    # gy / count, one rounding, as PyTorch's mean_backward (times 1 / count rounds twice)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    grads = []
    for lib in (gg, torch):
        t = lib.tensor(x, requires_grad=True)
        y = t.mean() if dim is None else t.mean(dim)
        y.backward(lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)))
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(*grads)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["var", "std"])
def test_constant_and_single_sample_inputs_match_pytorch(name):
    for a, dim in (([3.0, 3.0, 3.0, 3.0], None), ([[0.25, 0.25], [1.0, 3.0]], 1), ([7.0], 0), (7.0, 0), (7.0, None)):
        kwargs = {} if dim is None else {"dim": dim}
        against_torch(lambda x: getattr(x, name)(**kwargs), a)


def test_var_keeps_pytorch_legacy_positional_unbiased_flag():
    x = t64([1.0, 2.0, 4.0])
    np.testing.assert_allclose(x.var(0, False).item(), np.var([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(x.var(False).item(), np.var([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(x.std(0, True, True).numpy(), [np.std([1.0, 2.0, 4.0], ddof=1)])
    with pytest.raises(ArgumentError, match="var"):
        x.var(0, unbiased=True, correction=1)


def test_var_mean_and_std_mean_return_both_against_numpy(rng):
    a = rng.standard_normal((3, 4))
    v, m = gg.var_mean(t64(a), dim=1, correction=0)
    s, m2 = gg.std_mean(t64(a), dim=0, keepdim=True)
    np.testing.assert_allclose(v.numpy(), a.var(axis=1), rtol=1e-12)
    np.testing.assert_allclose(m.numpy(), a.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(s.numpy(), a.std(axis=0, ddof=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(m2.numpy(), a.mean(axis=0, keepdims=True), rtol=1e-12)


# Empty tensors and 0-d tensors ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_along_a_nonempty_dim_of_an_empty_tensor_are_empty(name):
    x = gg.zeros(2, 0, 3, requires_grad=True)
    values, indices = getattr(x, name)(dim=0)
    assert values.shape == (0, 3) and indices.shape == (0, 3) and indices.dtype is gg.int64
    values.sum().backward()
    assert x.grad.shape == (2, 0, 3)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "argmax", "argmin", "median", "nanmedian", "mode"])
def test_reducing_over_an_empty_dim_is_refused_with_the_dim_named(name):
    x = gg.zeros(2, 0, 3)
    with pytest.raises(IndexError, match=rf"^{name}: expected reduction dim 1 to have non-zero size"):
        getattr(gg, name)(x, 1)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "argmax", "argmin"])
def test_reducing_all_of_an_empty_tensor_without_identity_is_refused(name):
    with pytest.raises(ShapeError, match=rf"^{name}: expected reduction dim to be specified"):
        getattr(gg, name)(gg.zeros(2, 0))


def test_reductions_with_an_identity_give_it_over_empty_dims():
    x = gg.zeros(2, 0)
    np.testing.assert_array_equal(x.sum(1).numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(x.prod(1).numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.logsumexp(1).numpy(), [-np.inf, -np.inf])
    assert x.all(1).tolist() == [True, True] and x.any(1).tolist() == [False, False]
    assert gg.count_nonzero(x, 1).tolist() == [0, 0]
    assert math.isnan(gg.median(x).item()) and math.isnan(gg.nanmedian(x).item())


ZERO_D = {
    "sum": lambda x, d: x.sum(d), "mean": lambda x, d: x.mean(d), "nansum": lambda x, d: x.nansum(d),
    "nanmean": lambda x, d: x.nanmean(d), "prod": lambda x, d: x.prod(d), "var": lambda x, d: x.var(d),
    "std": lambda x, d: x.std(d, correction=0), "amax": lambda x, d: x.amax(d), "amin": lambda x, d: x.amin(d),
    "logsumexp": lambda x, d: x.logsumexp(d), "max": lambda x, d: x.max(d).values,
    "min": lambda x, d: x.min(d).values, "median": lambda x, d: x.median(d).values,
    "nanmedian": lambda x, d: x.nanmedian(d).values, "mode": lambda x, d: x.mode(d).values,
    "softmax": lambda x, d: x.softmax(d), "log_softmax": lambda x, d: x.log_softmax(d),
    "cumsum": lambda x, d: x.cumsum(d), "cumprod": lambda x, d: x.cumprod(d),
    "logcumsumexp": lambda x, d: x.logcumsumexp(d), "cummax": lambda x, d: x.cummax(d).values,
    "cummin": lambda x, d: x.cummin(d).values,
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
@pytest.mark.parametrize("dim", [0, -1])
def test_a_0d_tensor_takes_dim_0_and_minus_1(name, dim):
    y, g = values_and_grad(lambda x: ZERO_D[name](x, dim), 2.0)
    assert y.shape == () and g.shape == ()
    expected = {"var": (np.nan, np.nan), "std": (0.0, 0.0), "softmax": (1.0, 0.0), "log_softmax": (0.0, 0.0)}
    np.testing.assert_allclose([y, g], expected.get(name, (2.0, 1.0)), equal_nan=True)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_0d_reductions_match_pytorch(name):
    against_torch(lambda x: ZERO_D[name](x, -1), 2.0)


def test_0d_indices_and_dim_1_is_out_of_range():
    x = gg.tensor(5.0)
    assert x.argmax(0).item() == 0 and x.max(0).indices.shape == () and x.median(-1).indices.item() == 0
    assert x.all(0).item() and gg.count_nonzero(x, 0).item() == 1
    with pytest.raises(IndexError, match="sum"):
        x.sum(1)


def test_a_dim_named_twice_is_refused():
    with pytest.raises(ArgumentError, match="sum: dim 0 appears multiple times"):
        gg.ones(2, 3).sum(dim=(0, -2))


# dtypes -----------------------------------------------------------------------------------------------------


def test_bool_input_to_argmax_argmin_is_refused():
    for name in ("argmax", "argmin"):
        with pytest.raises(DTypeError, match=rf"^{name}: does not support bool input"):
            getattr(gg, name)(gg.tensor([True, False]))


def test_result_dtypes():
    ints, flags = gg.tensor([[1, 0], [2, 3]]), gg.tensor([True, False, True])
    assert ints.sum().dtype is gg.int64 and flags.sum().item() == 2 and flags.sum().dtype is gg.int64
    assert ints.prod().dtype is gg.int64 and ints.prod(1).tolist() == [0, 6]
    assert gg.tensor([2, 3], dtype=gg.int32).prod().dtype is gg.int64
    assert gg.tensor([2, 3], dtype=gg.int8).sum().dtype is gg.int64
    assert ints.all().dtype is gg.bool and ints.any(1).tolist() == [True, True] and not ints.all().item()
    assert gg.tensor([1, 2], dtype=gg.uint8).all().dtype is gg.uint8  # as PyTorch
    assert gg.count_nonzero(ints).dtype is gg.int64 and gg.count_nonzero(ints, dim=(0, 1)).item() == 3
    assert ints.nansum().dtype is gg.int64 and ints.median().dtype is gg.int64
    assert ints.logsumexp(1).dtype is gg.float32
    assert flags.cumsum(0).tolist() == [1, 1, 2] and flags.cumprod(0).dtype is gg.int64
    assert ints.cummax(1).values.dtype is gg.int64


def test_mean_of_integers_needs_a_float_dtype():
    with pytest.raises(DTypeError, match="mean"):
        gg.tensor([1, 2]).mean()
    with pytest.raises(DTypeError, match="nanmean"):
        gg.tensor([1, 2]).nanmean()
    assert gg.tensor([1, 2]).mean(dtype=gg.float64).item() == 1.5


def test_dtype_casts_the_input_before_reducing():
    x = gg.tensor([1.5, 2.5, 3.5])
    assert gg.sum(x, dtype=gg.int64).item() == 6  # 1 + 2 + 3, not int(7.5)
    assert gg.prod(x, dtype=gg.int64).item() == 6
    assert gg.cumsum(x, 0, dtype=gg.int64).tolist() == [1, 3, 6]
    assert gg.cumprod(x, 0, dtype=gg.int64).tolist() == [1, 2, 6]
    y = gg.mean(x, dtype=gg.float64)
    assert y.dtype is gg.float64 and y.item() == 2.5
    assert gg.sum(gg.tensor([1, 2]), dtype="float64").dtype is gg.float64


def test_an_unknown_dtype_is_a_dtype_error_naming_the_function():
    for fn in (lambda d: gg.sum(gg.ones(2), dtype=d), lambda d: gg.mean(gg.ones(2), dtype=d),
               lambda d: gg.prod(gg.ones(2), dtype=d), lambda d: gg.cumsum(gg.ones(2), 0, dtype=d)):
        with pytest.raises(DTypeError, match=r"^(sum|mean|prod|cumsum): .*torch.float64"):
            fn("torch.float64")


@pytest.mark.torch
def test_dtype_argument_matches_pytorch():
    torch = pytest.importorskip("torch")
    a = [1.5, -2.5, 3.25]
    for name in ("sum", "prod", "nansum"):
        ours = getattr(gg, name)(gg.tensor(a), dtype=gg.int64)
        theirs = getattr(torch, name)(torch.tensor(a), dtype=torch.int64)
        assert ours.item() == theirs.item()
    for name in ("cumsum", "cumprod"):
        assert getattr(gg, name)(gg.tensor(a), 0, dtype=gg.int64).tolist() == \
            getattr(torch, name)(torch.tensor(a), 0, dtype=torch.int64).tolist()


# Products with zeros ------------------------------------------------------------------------------------------


def test_gradient_of_a_product_with_zeros_against_known_values():
    _, g = values_and_grad(lambda x: x.prod(), [2.0, 0.0, 3.0, 4.0])
    np.testing.assert_array_equal(g, [0.0, 24.0, 0.0, 0.0])
    _, g = values_and_grad(lambda x: x.prod(dim=1), [[2.0, 0.0, 0.0], [1.0, 5.0, 0.0]])
    np.testing.assert_array_equal(g, [[0.0, 0.0, 0.0], [0.0, 0.0, 5.0]])


def test_second_derivative_of_a_product_with_a_zero():
    # d/dx (sum_i d prod/dx_i) for x = (2, 0, 3, 4): known by hand, 12, 26, 8, 6.
    x = t64([2.0, 0.0, 3.0, 4.0], requires_grad=True)
    (g,) = gg.grad(x.prod(), x, create_graph=True)
    (h,) = gg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [12.0, 26.0, 8.0, 6.0])


@pytest.mark.torch
@pytest.mark.parametrize("a", [[[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], [[0.0, 1.5, -2.0], [1.0, 2.0, 3.0]]])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_product_gradients_with_zeros_match_pytorch_to_second_order(a, dim):
    torch = pytest.importorskip("torch")
    u = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

    def second(lib, make, p):
        x = make(a)
        y = p(x) if dim is None else p(x, dim)
        grad = torch.autograd.grad if lib is torch else gg.grad
        (g,) = grad(y.sum(), x, create_graph=True)
        (h,) = grad((g * make(u)).sum(), x)
        return g.detach().numpy(), h.numpy()

    ours = second(gg, lambda v: t64(v, requires_grad=True) if v is a else t64(v), gg.prod)
    theirs = second(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=v is a), torch.prod)
    same(ours, theirs)


@pytest.mark.torch
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_product_gradients_with_zeros_and_infinities_match_pytorch(dim):
    a = [[1.0, np.inf, 0.0], [2.0, 0.0, np.inf]]
    with np.errstate(invalid="ignore"):
        against_torch(lambda x: x.prod() if dim is None else x.prod(dim), a)


# max/min and arg forms ------------------------------------------------------------------------------------------


def test_max_with_dim_picks_the_first_largest_and_gives_it_the_gradient():
    x = t64([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.tolist() == [1, 0]
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_amax_over_several_dims_shares_ties_like_full_max():
    x = t64([[[1.0, 4.0], [4.0, 0.0]], [[2.0, 2.0], [1.0, 2.0]]], requires_grad=True)
    y = gg.amax(x, dim=(1, 2))
    np.testing.assert_array_equal(y.detach().numpy(), [4.0, 2.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[[0, 0.5], [0.5, 0]], [[1 / 3, 1 / 3], [0, 1 / 3]]])


def test_aminmax_against_numpy(rng):
    a = rng.standard_normal((3, 4))
    lo, hi = gg.aminmax(t64(a), dim=0, keepdim=True)
    np.testing.assert_array_equal(lo.numpy(), a.min(0, keepdims=True))
    np.testing.assert_array_equal(hi.numpy(), a.max(0, keepdims=True))
    both = gg.aminmax(t64(a))
    assert both.min.item() == a.min() and both.max.item() == a.max()


@pytest.mark.torch
def test_full_max_and_median_give_nan_elements_the_gradient_like_pytorch():
    a = [1.0, np.nan, 3.0, np.nan]
    for name in ("max", "min", "median"):
        against_torch(lambda x: getattr(x, name)(), a)


@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.integers(-3, 3)),
       st.integers(0, 2))
def test_arg_forms_agree_with_numpy(a, axis):
    axis = axis % a.ndim
    x = gg.tensor(a)
    if a.shape[axis] == 0:
        return
    assert x.argmax(axis).tolist() == np.argmax(a, axis).tolist()
    assert x.argmin(axis, keepdim=True).tolist() == np.expand_dims(np.argmin(a, axis), axis).tolist()
    values, indices = x.max(axis)
    assert values.tolist() == a.max(axis).tolist() and indices.tolist() == np.argmax(a, axis).tolist()


# Medians and modes ---------------------------------------------------------------------------------------------


def test_median_is_the_lower_middle_value_against_numpy(rng):
    a = rng.standard_normal((4, 7))
    np.testing.assert_array_equal(t64(a).median(dim=1).values.numpy(), np.median(a, axis=1))
    b = rng.standard_normal(8)
    assert t64(b).median().item() == np.sort(b)[3]


def test_median_index_among_ties_and_nan():
    x = gg.tensor([2.0, 1.0, 2.0, 3.0, 2.0])
    assert x.median(0).indices.item() == 2  # the middle of the stably sorted equal values
    y = gg.tensor([4.0, np.nan, 3.0, np.nan])
    values, indices = y.median(0)
    assert math.isnan(values.item()) and indices.item() == 1
    values, indices = y.nanmedian(0)
    assert values.item() == 3.0 and indices.item() == 2
    values, indices = gg.tensor([np.nan, np.nan]).nanmedian(0)
    assert math.isnan(values.item()) and indices.item() == 0


def test_median_along_a_dim_gives_the_gradient_to_the_selected_element_only():
    x = t64([[2.0, 1.0, 2.0, 2.0]], requires_grad=True)
    values, indices = x.median(dim=1)
    values.sum().backward()
    expected = np.zeros((1, 4))
    expected[0, indices.item()] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_mode_picks_the_smallest_most_frequent_value_at_its_last_occurrence():
    values, indices = gg.tensor([1.0, 3.0, 3.0, 2.0, 1.0, 5.0]).mode()
    assert values.item() == 1.0 and indices.item() == 4
    values, indices = gg.tensor([[2, 7, 7, 2, 7], [4, 4, 4, 0, 0]]).mode(1, keepdim=True)
    assert values.tolist() == [[7], [4]] and indices.tolist() == [[4], [2]]
    values, indices = gg.tensor([2.0, np.nan, np.nan, 1.0]).mode(0)  # NaNs never equal each other
    assert values.item() == 1.0 and indices.item() == 3


def test_mode_gradient_goes_to_the_selected_element():
    x = t64([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.mode(0).values.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, 0.0])


@pytest.mark.torch
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 16)),
                  elements=st.sampled_from([0.0, 1.0, 2.0, -1.5, np.nan])))
def test_median_nanmedian_mode_pick_pytorch_cpu_indices(a):
    torch = pytest.importorskip("torch")
    t = torch.tensor(a)
    # Which NaN of an all-NaN slice PyTorch's nanmedian names depends on its selection algorithm (not the
    # first for 4 or more): those indices are left out. PyTorch's mode sorts with a comparison that NaN
    # breaks (mode of [nan, 0] is nan, of [0, nan, 0] at index 0): it is compared without NaN.
    all_nan = np.isnan(a).all(axis=1)
    for name in ("median", "nanmedian", "mode"):
        if name == "mode":
            a = np.nan_to_num(a, nan=3.0)
            t = torch.tensor(a)
        ours, theirs = getattr(gg.tensor(a), name)(1), getattr(torch, name)(t, 1)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        keep = ~all_nan if name == "nanmedian" else np.ones(len(a), bool)
        assert ours.indices.numpy()[keep].tolist() == theirs.indices.numpy()[keep].tolist(), name


@pytest.mark.torch
def test_long_slices_median_indices_match_pytorch_and_mode_values_do(rng):
    torch = pytest.importorskip("torch")
    a = rng.integers(0, 4, (20, 60)).astype(np.float64)
    assert gg.tensor(a).median(1).indices.tolist() == torch.median(torch.tensor(a), 1).indices.tolist()
    ours, theirs = gg.tensor(a).mode(1), torch.mode(torch.tensor(a), 1)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    # Beyond 16 elements PyTorch's index among equal values follows its unstable sort; ours is an occurrence.
    picked = np.take_along_axis(a, ours.indices.numpy()[:, None], 1)[:, 0]
    np.testing.assert_array_equal(picked, ours.values.numpy())


def test_median_of_bool_is_refused():
    with pytest.raises(DTypeError, match="median"):
        gg.tensor([True, False]).median()


# NaN-ignoring reductions, counts, logical ------------------------------------------------------------------------


def test_nansum_and_nanmean_against_numpy(rng):
    a = rng.standard_normal((3, 5))
    a[0, 1] = a[2, :] = np.nan
    np.testing.assert_allclose(t64(a).nansum(1).numpy(), np.nansum(a, 1), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy warns about the all-NaN row
        expected = np.nanmean(a, 1)
    np.testing.assert_allclose(t64(a).nanmean(1).numpy(), expected, rtol=1e-12)
    _, g = values_and_grad(lambda x: x.nansum(), a)
    np.testing.assert_array_equal(g, np.where(np.isnan(a), 0.0, 1.0))


@pytest.mark.torch
def test_nanmean_of_an_all_nan_row_has_nan_gradients_like_pytorch():
    # PyTorch multiplies the cotangent (here 1/0) by the not-NaN mask: inf * 0 is NaN.
    a = [[np.nan, np.nan], [1.0, np.nan]]
    with np.errstate(all="ignore"):
        against_torch(lambda x: x.nanmean(1), a)


def test_logsumexp_over_several_dims_against_numpy(rng):
    a = rng.standard_normal((2, 3, 4)) * 50
    m = a.max(axis=(0, 2), keepdims=True)
    expected = np.log(np.exp(a - m).sum(axis=(0, 2), keepdims=True)) + m
    np.testing.assert_allclose(t64(a).logsumexp(dim=(0, 2), keepdim=True).numpy(), expected, rtol=1e-12)


# Covariance ------------------------------------------------------------------------------------------------------


def test_cov_and_corrcoef_against_numpy(rng):
    a = rng.standard_normal((3, 6))
    np.testing.assert_allclose(gg.cov(t64(a)).numpy(), np.cov(a), rtol=1e-12)
    np.testing.assert_allclose(gg.cov(t64(a), correction=0).numpy(), np.cov(a, ddof=0), rtol=1e-12)
    fw, aw = np.array([1, 2, 1, 3, 1, 2]), rng.uniform(0.5, 2.0, 6)
    np.testing.assert_allclose(gg.cov(t64(a), fweights=gg.tensor(fw), aweights=t64(aw)).numpy(),
                               np.cov(a, fweights=fw, aweights=aw), rtol=1e-12)
    np.testing.assert_allclose(gg.corrcoef(t64(a)).numpy(), np.corrcoef(a), rtol=1e-12)
    np.testing.assert_allclose(gg.cov(t64(a[0])).item(), np.cov(a[0]), rtol=1e-12)
    assert gg.corrcoef(t64(a[0])).item() == 1.0


def test_cov_argument_errors():
    x = gg.ones(2, 3)
    with pytest.raises(ShapeError, match="cov"):
        gg.cov(gg.ones(2, 2, 2))
    with pytest.raises(ShapeError, match="fweights"):
        gg.cov(x, fweights=gg.tensor([1, 2]))
    with pytest.raises(DTypeError, match="fweights"):
        gg.cov(x, fweights=gg.tensor([1.0, 2.0, 1.0]))
    with pytest.raises(ArgumentError, match="aweights"):
        gg.cov(x, aweights=gg.tensor([1.0, -2.0, 1.0]))


# out= --------------------------------------------------------------------------------------------------------------


def test_out_receives_the_result():
    x = gg.tensor([[1.0, 5.0], [3.0, 2.0]])
    out = gg.empty(0)
    assert gg.sum(x, 1, out=out) is out and out.tolist() == [6.0, 5.0]
    assert gg.amax(x, 0, out=out) is out and out.tolist() == [3.0, 5.0]
    values, indices = gg.empty(0), gg.empty(0, dtype=gg.int64)
    result = gg.max(x, 1, out=(values, indices))
    assert result.values is values and values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 0]
    lo, hi = gg.empty(0), gg.empty(0)
    assert gg.aminmax(x, dim=1, out=(lo, hi)).max is hi and lo.tolist() == [1.0, 2.0] and hi.tolist() == [5.0, 3.0]
    flags = gg.empty(0, dtype=gg.bool)
    assert gg.any(x > 4, 1, out=flags).tolist() == [True, False]
    with pytest.raises(TypeError, match="median"):
        gg.median(x, 1, out=values)
    before = values.tolist()
    with pytest.raises(DTypeError, match="min: expected the indices out to be int64"):
        gg.min(x, 0, out=(values, gg.empty(0)))
    assert values.tolist() == before  # nothing written


# softmax and log_softmax ------------------------------------------------------------------------------------------


def test_softmax_over_an_empty_dim_is_empty():
    x = gg.zeros(2, 0, requires_grad=True)
    for fn in (gg.softmax, gg.log_softmax):
        y = fn(x, 1)
        assert y.shape == (2, 0)
        y.sum().backward()
        assert x.grad.shape == (2, 0)


def test_softmax_dtype_casts_first_and_integers_need_it():
    y = gg.softmax(gg.tensor([1, 2]), 0, dtype=gg.float64)
    assert y.dtype is gg.float64
    np.testing.assert_allclose(y.numpy(), np.exp([1, 2]) / np.exp([1, 2]).sum(), rtol=1e-12)
    assert gg.log_softmax(gg.tensor([1.0, 2.0]), 0, dtype="float64").dtype is gg.float64
    with pytest.raises(DTypeError, match="softmax"):
        gg.softmax(gg.tensor([1, 2]), 0)


# A sweep against PyTorch: every reduction, over ordinary, empty and 0-d shapes ------------------------------

SWEEP = {
    "sum": [{}, {"dim": 0}, {"dim": -1, "keepdim": True}, {"dim": (0, -1)}],
    "mean": [{}, {"dim": 0}, {"dim": -1, "keepdim": True}],
    "nansum": [{}, {"dim": 0}], "nanmean": [{}, {"dim": -1}],
    "prod": [{}, {"dim": 0}, {"dim": -1, "keepdim": True}],
    "var": [{}, {"dim": 0}, {"dim": -1, "correction": 0}, {"dim": 0, "keepdim": True}],
    "std": [{}, {"dim": 0}, {"dim": -1, "correction": 2}],
    "amax": [{}, {"dim": 0}, {"dim": (0, -1)}], "amin": [{"dim": -1, "keepdim": True}],
    "max": [{}, {"dim": 0}, {"dim": -1, "keepdim": True}], "min": [{"dim": 0}],
    "argmax": [{}, {"dim": 0}, {"dim": -1, "keepdim": True}], "argmin": [{"dim": 0}],
    "median": [{}, {"dim": 0}, {"dim": -1, "keepdim": True}], "nanmedian": [{}, {"dim": 0}],
    "mode": [{}, {"dim": 0}], "aminmax": [{}, {"dim": 0}],
    "logsumexp": [{"dim": 0}, {"dim": (0, -1), "keepdim": True}],
    "all": [{}, {"dim": 0}], "any": [{"dim": -1, "keepdim": True}], "count_nonzero": [{}, {"dim": 0}],
    "cumsum": [{"dim": 0}, {"dim": -1}], "cumprod": [{"dim": 0}, {"dim": -1}], "cummax": [{"dim": 0}],
    "cummin": [{"dim": -1}], "logcumsumexp": [{"dim": 0}, {"dim": -1}],
    "softmax": [{"dim": 0}, {"dim": -1}], "log_softmax": [{"dim": -1}],
}


def _sweep_run(lib, name, a, kwargs):
    """(outputs, gradient of <1..n, first output>) or the exception's type name."""
    is_float = a.dtype == np.float64
    x = t64(a, requires_grad=True) if lib is gg and is_float else lib.tensor(a, requires_grad=is_float)
    try:
        result = getattr(lib, name)(x, **kwargs)
    except Exception as exc:  # noqa: BLE001  (either library's error type is compared by name only)
        return type(exc).__name__
    outs = list(result) if isinstance(result, tuple) else [result]
    grad = None
    if outs[0].requires_grad:
        u = np.arange(1.0, outs[0].numel() + 1).reshape(tuple(outs[0].shape))
        outs[0].backward(lib.tensor(u) if lib is not gg else t64(u))
        grad = x.grad.numpy()
    return [o.detach().numpy() for o in outs], grad


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(SWEEP))
def test_sweep_of_shapes_matches_pytorch(name, rng):
    torch = pytest.importorskip("torch")
    for shape in [(), (3,), (2, 3), (2, 0, 3), (0,), (1, 4)]:
        for kind in ("normal", "with zeros", "integers"):
            if kind == "integers" and name in ("softmax", "log_softmax"):
                continue  # PyTorch returns an empty int tensor for an empty one, and refuses any other
            a = (rng.integers(-2, 3, shape) if kind == "integers" else rng.integers(-1, 2, shape).astype(np.float64)
                 if kind == "with zeros" else rng.standard_normal(shape))
            for kwargs in SWEEP[name]:
                where = f"{name}{kwargs} of {kind} {shape}"
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    ours, theirs = _sweep_run(gg, name, a, kwargs), _sweep_run(torch, name, a, kwargs)
                assert isinstance(ours, str) == isinstance(theirs, str), f"{where}: {ours} vs {theirs}"
                if isinstance(ours, str):
                    continue
                for mine, reference in zip(ours[0], theirs[0]):
                    assert mine.shape == reference.shape and mine.dtype == reference.dtype, where
                    np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12, err_msg=where)
                assert (ours[1] is None) == (theirs[1] is None), where
                if ours[1] is not None:
                    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12, err_msg=where)


# Every dtype -----------------------------------------------------------------------------------------------------

DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool"]
CALLS_IN_EVERY_DTYPE = {
    "sum": lambda lib, x: lib.sum(x, 0), "prod": lambda lib, x: lib.prod(x, -1), "amax": lambda lib, x: lib.amax(x, 0),
    "max": lambda lib, x: lib.max(x, 0).indices, "all": lambda lib, x: lib.all(x, 0), "any": lambda lib, x: lib.any(x),
    "count_nonzero": lambda lib, x: lib.count_nonzero(x, 0), "cumsum": lambda lib, x: lib.cumsum(x, -1),
    "cumprod": lambda lib, x: lib.cumprod(x, 0), "cummax": lambda lib, x: lib.cummax(x, -1).values,
    "mode": lambda lib, x: lib.mode(x, 0).values, "nansum": lambda lib, x: lib.nansum(x, -1),
}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4),
       values=st.lists(st.integers(0, 3), min_size=16, max_size=16))
def test_result_dtypes_and_values_in_every_dtype_match_pytorch(dtype, shape, values):
    torch = pytest.importorskip("torch")
    a = np.resize(np.array(values, dtype=np.float64), shape).astype(dtype)
    for name, call in CALLS_IN_EVERY_DTYPE.items():
        ours, theirs = call(gg, gg.tensor(a)), call(torch, torch.tensor(a))
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)


NUMPY_REFERENCES = {
    "sum": (lambda x, d, k: x.sum(dim=d, keepdim=k), lambda a, d, k: a.sum(axis=d, keepdims=k)),
    "mean": (lambda x, d, k: x.mean(dim=d, keepdim=k), lambda a, d, k: a.mean(axis=d, keepdims=k)),
    "nansum": (lambda x, d, k: x.nansum(dim=d, keepdim=k), lambda a, d, k: np.nansum(a, axis=d, keepdims=k)),
    "var": (lambda x, d, k: x.var(dim=d, keepdim=k), lambda a, d, k: a.var(axis=d, keepdims=k, ddof=1)),
    "std": (lambda x, d, k: x.std(dim=d, keepdim=k, correction=0), lambda a, d, k: a.std(axis=d, keepdims=k)),
    "amax": (lambda x, d, k: x.amax(dim=d, keepdim=k), lambda a, d, k: a.max(axis=d, keepdims=k)),
    "amin": (lambda x, d, k: x.amin(dim=d, keepdim=k), lambda a, d, k: a.min(axis=d, keepdims=k)),
    "logsumexp": (lambda x, d, k: x.logsumexp(dim=d, keepdim=k),
                  lambda a, d, k: np.log(np.exp(a).sum(axis=d, keepdims=k))),
    "all": (lambda x, d, k: x.all(dim=d, keepdim=k), lambda a, d, k: (a > 0).all(axis=d, keepdims=k)),
    "any": (lambda x, d, k: x.any(dim=d, keepdim=k), lambda a, d, k: (a > 0).any(axis=d, keepdims=k)),
}


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
                  elements=st.floats(-4, 4)), st.data())
def test_reductions_over_any_dims_agree_with_numpy(a, data):
    dims = tuple(data.draw(st.lists(st.integers(0, a.ndim - 1), min_size=1, max_size=a.ndim, unique=True)))
    keepdim = data.draw(st.booleans())
    for name, (ours, reference) in NUMPY_REFERENCES.items():
        if name in ("var", "std") and np.prod([a.shape[d] for d in dims]) < 2:
            continue  # no degrees of freedom: covered above
        x = t64(np.clip(a, 0, None) if name in ("all", "any") else a)
        expected = reference(np.clip(a, 0, None) if name in ("all", "any") else a, dims, keepdim)
        np.testing.assert_allclose(ours(x, dims, keepdim).numpy(), expected, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.torch
def test_float16_accumulates_in_float32_like_pytorch():
    # A float16 running sum of values near 0.5 stalls at 2048 and a sum of squares overflows at 65504.
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).uniform(0, 1, 20000).astype(np.float16)
    calls = {
        "sum": lambda lib, x: x.sum(), "mean": lambda lib, x: x.mean(), "var": lambda lib, x: x.var(),
        "std": lambda lib, x: x.std(), "prod": lambda lib, x: (x[:12] + 0.5).prod(),
        "nansum": lambda lib, x: x.nansum(), "logsumexp": lambda lib, x: x.logsumexp(0),
        "cumsum": lambda lib, x: x.cumsum(0)[-1], "cumprod": lambda lib, x: (x[:12] + 0.5).cumprod(0)[-1],
        "logcumsumexp": lambda lib, x: x.logcumsumexp(0)[-1], "softmax": lambda lib, x: x.softmax(0)[:5],
        "log_softmax": lambda lib, x: x.log_softmax(0)[:5],
    }
    for name, call in calls.items():
        ours, theirs = call(gg, gg.tensor(a)), call(torch, torch.tensor(a))
        assert ours.dtype is gg.float16, name
        np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=2e-3,
                                   err_msg=name)


def test_large_sums_over_the_last_dims_take_the_row_sum_kernel(monkeypatch):
    # sum, mean, var and std over trailing dims of a large float tensor run as gpugrad.kernels.reduce's row
    # sums (Backend.sum); other dims and small tensors keep NumPy's sum. CPU float16 computes in float32
    # (autograd/reduced_float.py): the kernel's float32 sums, rounded.
    from gpugrad.kernels import reduce as kr

    calls = []
    real = kr.sum_rows
    monkeypatch.setattr(kr, "sum_rows", lambda *a, **k: calls.append(a[1].shape) or real(*a, **k))
    rng = np.random.default_rng(3)
    x64 = rng.standard_normal((6, 50, 70)) * 2 + 1
    for dtype, tol in ((np.float32, 3e-6), (np.float64, 1e-13)):
        x = gg.tensor(x64.astype(dtype))
        xd = x64.astype(dtype).astype(np.float64)
        for dim, keepdim in ((-1, False), ((1, 2), True), ((2, 1), False)):
            axes = tuple(d % 3 for d in (dim if isinstance(dim, tuple) else (dim,)))
            for name, want in (("sum", xd.sum(axes, keepdims=keepdim)), ("mean", xd.mean(axes, keepdims=keepdim)),
                               ("var", xd.var(axes, ddof=1, keepdims=keepdim)), ("std", xd.std(axes, ddof=1, keepdims=keepdim))):
                calls.clear()
                got = getattr(x, name)(dim=dim, keepdim=keepdim)
                assert calls, (name, dim)
                assert got.dtype == x.dtype and tuple(got.shape) == want.shape
                np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol * np.abs(want).max(), err_msg=f"{name} {dim}")
    calls.clear()
    x = gg.tensor(x64.astype(np.float32))
    np.testing.assert_allclose(x.sum(dim=1).numpy(), x64.astype(np.float32).sum(1), rtol=1e-5)  # a middle dim
    x.sum(dim=(0, 1, 2))  # everything: one value, NumPy's
    x[:2, :2].sum(dim=-1)  # small
    assert calls == []
    half = x64.astype(np.float16)
    got = gg.tensor(half).sum(dim=-1)
    assert calls and got.dtype == gg.float16
    np.testing.assert_array_equal(got.numpy(), gg.tensor(half.astype(np.float32)).sum(dim=-1).numpy().astype(np.float16))



@gg.kernels.fused(True)  # the kernel's accuracy is what is checked (GPUGRAD_FUSED=0 runs NumPy's sum)
def test_large_sums_over_the_leading_dims_take_the_leading_sum_kernel(monkeypatch):
    # sum and mean over leading dims of a large float tensor, and a broadcast row's gradient (SumTo), run as
    # gpugrad.kernels.reduce's sum_leading: float32 within half an ulp of the exact sum, float64 NumPy's bits.
    # Mixed dims, fewer than 64 rows and small tensors keep NumPy's sum.
    from gpugrad.kernels import reduce as kr

    calls = []
    real = kr.sum_leading
    monkeypatch.setattr(kr, "sum_leading", lambda *a, **k: calls.append(a[1].shape) or real(*a, **k))
    rng = np.random.default_rng(4)
    x64 = rng.standard_normal((70, 30, 17)) * 2 + 1
    for dtype in (np.float32, np.float64):
        a = x64.astype(dtype)
        x = gg.tensor(a)
        for dim, keepdim in ((0, False), ((0, 1), True), ((1, 0), False)):
            axes = dim if isinstance(dim, tuple) else (dim,)
            for name in ("sum", "mean"):
                calls.clear()
                got = getattr(x, name)(dim=dim, keepdim=keepdim).numpy()
                assert calls, (name, dim)
                want = getattr(a.astype(np.float64), name)(axes, keepdims=keepdim)
                assert got.dtype == dtype and got.shape == want.shape
                if dtype == np.float64:
                    assert np.array_equal(got, getattr(a, name)(axes, keepdims=keepdim)), (name, dim)
                else:  # the sum rounded once; the mean divides it, rounding again (the sum's half ulp can
                    ulps = 0.5 if name == "sum" else 1.5  # be most of an ulp of the mean: PyTorch's way too)
                    np.testing.assert_array_less(np.abs(got - want), ulps * np.spacing(np.abs(want).astype(np.float32)) + 1e-12)
    calls.clear()
    b = gg.tensor(rng.standard_normal(17).astype(np.float32), requires_grad=True)
    gy = rng.standard_normal((70, 30, 17)).astype(np.float32)
    (gg.tensor(x64.astype(np.float32)) + b).backward(gg.tensor(gy))
    assert calls == [(2100, 17)]
    exact = gy.astype(np.float64).sum((0, 1))
    np.testing.assert_array_less(np.abs(b.grad.numpy() - exact), 0.5 * np.spacing(np.abs(exact).astype(np.float32)) + 1e-12)
    calls.clear()
    x = gg.tensor(x64.astype(np.float32))
    assert np.array_equal(x.sum(dim=(0, 2)).numpy(), x64.astype(np.float32).sum((0, 2)))  # mixed: NumPy's
    assert np.array_equal(x[:40].sum(dim=0).numpy(), x64[:40].astype(np.float32).sum(0))  # 40 rows: NumPy's
    x[:2, :2].sum(dim=0)  # small
    x.sum()  # everything
    assert calls == []


@pytest.mark.torch
@gg.kernels.fused(True)
def test_float32_sums_over_dim_0_are_closer_to_float64_than_pytorchs():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(5).standard_normal((2048, 64)).astype(np.float32)
    exact = torch.tensor(a, dtype=torch.float64).sum(0).numpy()
    ours, theirs = gg.tensor(a).sum(dim=0).numpy(), torch.tensor(a).sum(0).numpy()
    assert np.all(np.abs(ours - exact) <= 0.5 * np.spacing(np.abs(exact).astype(np.float32)))
    assert np.abs(ours - exact).max() <= np.abs(theirs - exact).max()
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(gg.tensor(a64).sum(dim=0).numpy(), torch.tensor(a64).sum(0).numpy(), rtol=1e-15, atol=1e-13)

def test_trapezoid_by_points_spacing_or_ones():
    y = gg.tensor([1.0, 2.0, 4.0])
    assert gg.trapezoid(y).item() == 4.5 and gg.trapz(y, dx=0.5).item() == 2.25
    assert gg.trapezoid(y, gg.tensor([0.0, 1.0, 3.0])).item() == 7.5
    assert gg.trapezoid(gg.tensor([1, 2, 4])).dtype is gg.float32
    with pytest.raises(gg.ArgumentError, match="trapezoid"):
        gg.trapezoid(y, gg.tensor([0.0, 1.0, 2.0]), dx=1.0)
    with pytest.raises(gg.ShapeError, match="trapezoid"):
        gg.trapezoid(y, gg.tensor([0.0, 1.0]))


# quantile and nanquantile ----------------------------------------------------------------------------------

def test_quantile_interpolations_nans_and_shapes():
    x = gg.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, float("nan"), 7.0, 8.0]])
    np.testing.assert_allclose(gg.quantile(x[0], gg.tensor([0.0, 0.1, 0.5, 1.0])).numpy(), [1.0, 1.3, 2.5, 4.0], rtol=1e-6)
    row = x[0]
    assert [row.quantile(0.5, interpolation=m).item() for m in ("lower", "higher", "nearest", "midpoint")] == [
        2.0, 3.0, 3.0, 2.5]  # rank 1.5: nearest rounds half to even, as PyTorch
    q = gg.quantile(x, 0.4, dim=1)
    assert q[0].item() == pytest.approx(2.2) and math.isnan(q[1].item())  # a NaN in the slice
    nq = gg.nanquantile(x, gg.tensor([0.25, 0.5]), dim=1, keepdim=True)
    assert nq.shape == (2, 2, 1) and nq[:, 1, 0].tolist() == [6.0, 7.0]
    assert math.isnan(gg.nanquantile(gg.tensor([float("nan")] * 3), 0.5).item())
    assert gg.quantile(gg.tensor([[1.0, 2.0], [3.0, 4.0]]), 0.5, keepdim=True).shape == (1, 1)
    assert gg.quantile(gg.tensor(3.0), 0.5).item() == 3.0


def test_quantile_gradient_goes_to_the_two_values_read():
    x = gg.tensor([4.0, 1.0, 3.0, 2.0], dtype=gg.float64, requires_grad=True)
    x.quantile(0.4).backward()  # rank 1.2 between the sorted 2 (index 3) and 3 (index 2)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.2, 0.8])


@pytest.mark.parametrize("bad, error", [
    (lambda x: x.quantile(1.5), "must be in the range"),
    (lambda x: x.long().quantile(0.5), "float or double"),
    (lambda x: x.quantile(gg.tensor([[0.5]])), "scalar or 1D"),
    (lambda x: gg.tensor([]).quantile(0.5), "non-empty"),
    (lambda x: x.quantile(0.5, interpolation="cubic"), "interpolation must be one of"),
    (lambda x: x.quantile(gg.tensor(0.5, dtype=gg.float64)), "same dtype"),
])
def test_quantile_refuses_what_pytorch_refuses(bad, error):
    with pytest.raises(RuntimeError, match=error):
        bad(gg.tensor([1.0, 2.0, 3.0]))


_LAYOUT_OPS = {
    "sum": lambda x: x.sum(1), "mean": lambda x: x.mean(1, keepdim=True), "nansum": lambda x: x.nansum(1),
    "prod": lambda x: x.prod(1), "amax": lambda x: x.amax(1), "max": lambda x: x.max(1).values,
    "median": lambda x: x.median(1).indices, "logsumexp": lambda x: x.logsumexp(1), "norm": lambda x: x.norm(dim=1),
    "count_nonzero": lambda x: x.count_nonzero(1), "any": lambda x: (x > 0.5).any(1),
    "cumsum": lambda x: x.cumsum(1), "cumprod": lambda x: x.cumprod(1), "cummax": lambda x: x.cummax(1).values,
    "softmax": lambda x: x.softmax(1), "log_softmax": lambda x: x.log_softmax(0),
}


@pytest.mark.parametrize("name", sorted(_LAYOUT_OPS))
def test_reductions_and_scans_of_a_permuted_input_are_contiguous(name):
    # As PyTorch's: a later view of the result must not depend on the input's layout.
    x = gg.tensor(np.random.default_rng(0).random((2, 3, 4), dtype=np.float32)).permute(2, 1, 0)
    y = _LAYOUT_OPS[name](x)
    assert y.is_contiguous() and y.view(-1).shape == (y.numel(),)


@pytest.mark.torch
def test_result_layouts_match_pytorchs():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).random((2, 3, 4), dtype=np.float32)
    for name, op in _LAYOUT_OPS.items():
        for perm in ((2, 1, 0), (0, 2, 1), (1, 0, 2)):
            ours, theirs = op(gg.tensor(a).permute(*perm)), op(torch.tensor(a).permute(*perm))
            assert ours.is_contiguous() == theirs.is_contiguous(), (name, perm)


@pytest.mark.parametrize("dtype, dim, keepdim, shape, correction", [
    (np.float32, 1, False, (64, 40), 1), (np.float64, 1, False, (64, 40), 1), (np.float64, (0, 2), True, (6, 5, 7), 0),
    (np.float32, None, False, (5, 3), 1), (np.float64, None, False, (1,), 1), (np.float64, 1, False, (4, 1), 1),
    (np.float32, -1, False, (300, 512), 1)])
def test_std_backward_per_reduced_element_is_the_expanded_formulas_bits(dtype, dim, keepdim, shape, correction):
    # the plain backward takes gy / (2 std) per reduced element and broadcasts it where a graph of the
    # backward expands gy and std first: the same values, bit for bit (constant slices, no degrees of
    # freedom left, and a case large enough for the broadcast kernels included)
    rng = np.random.default_rng(5)
    a = (rng.standard_normal(shape) * 3).astype(dtype)
    if a.ndim == 2 and a.shape[0] > 2:
        a[1] = 2.5  # a constant row: std 0, gradient 0
    x = gg.tensor(a, requires_grad=True)
    y = x.std(dim, keepdim=keepdim, correction=correction)
    g = gg.tensor(rng.standard_normal(tuple(y.shape)).astype(dtype))
    (plain,) = gg.autograd.grad(y, x, g, retain_graph=True)
    (graphed,) = gg.autograd.grad(y, x, g, create_graph=True)
    np.testing.assert_array_equal(plain.numpy(), graphed.detach().numpy())


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_amax_backward_per_reduced_element_is_the_expanded_formulas_bits(name, dtype):
    # the plain backward divides gy by the count of ties per reduced element, then one broadcast product
    # (PyTorch's order); a graph of the backward expands gy first: the same values, bit for bit (ties, a
    # NaN slice, infinite and zero gradients)
    rng = np.random.default_rng(6)
    a = rng.integers(-3, 4, (300, 512)).astype(dtype)  # many ties
    a[2, 7] = np.nan
    for dim, keepdim in ((1, False), (0, True), ((0, 1), False)):
        x = gg.tensor(a, requires_grad=True)
        y = getattr(x, name)(dim, keepdim=keepdim)
        g = rng.standard_normal(tuple(y.shape)).astype(dtype)
        g.reshape(-1)[:3] = [np.inf, -0.0, 0.0][:g.size]
        (plain,) = gg.autograd.grad(y, x, gg.tensor(g), retain_graph=True)
        (graphed,) = gg.autograd.grad(y, x, gg.tensor(g), create_graph=True)
        np.testing.assert_array_equal(plain.numpy(), graphed.detach().numpy())
        np.testing.assert_array_equal(np.signbit(plain.numpy()), np.signbit(graphed.detach().numpy()))


@pytest.mark.parametrize("dim, keepdim, shape", [(1, False, (64, 40)), ((1, 2), True, (6, 5, 7)), (-1, False, (1025, 2048)),
                                                 (0, False, (30, 4)), (1, False, (3, 0))])
def test_float32_logsumexp_by_rows_is_the_composite_formulas_bits(dim, keepdim, shape):
    # over the last dims, e**(x - m) and the backward gy e**(x - y) run as one row loop each (the last shape
    # large: over the threads); the composite's float32 operations in order, so the same bits as NumPy
    # and the graphed backward compute them
    from gpugrad._vmath_ufuncs import math_ufunc

    rng = np.random.default_rng(3)
    a = (rng.standard_normal(shape) * 4).astype(np.float32)
    a.reshape(-1)[:3] = [-np.inf, np.inf, 50.0][:a.size]
    if a.ndim == 2 and a.shape[0] > 5 and a.shape[1]:
        a[5] = -np.inf  # an all -inf row
    x = gg.tensor(a, requires_grad=True)
    y = x.logsumexp(dim, keepdim=keepdim)
    exp32 = math_ufunc(np, "exp", np.dtype(np.float32))
    with np.errstate(all="ignore"):
        m = a.max(axis=dim, keepdims=True) if a.size else np.zeros(_keepdim_shape_of(a.shape, dim), np.float32)
        m = np.where(np.isfinite(m), m, np.float32(0))
        total = exp32(a - m).sum(axis=dim, keepdims=True, dtype=np.float32)
        expected = (np.log(total) + m).astype(np.float32)
    np.testing.assert_array_equal(y.detach().numpy(), expected if keepdim else expected.reshape(tuple(y.shape)))
    g = gg.tensor(rng.standard_normal(tuple(y.shape)).astype(np.float32))
    (plain,) = gg.autograd.grad(y, x, g, retain_graph=True)
    (graphed,) = gg.autograd.grad(y, x, g, create_graph=True)
    np.testing.assert_array_equal(plain.numpy(), graphed.detach().numpy())


def _keepdim_shape_of(shape, dim):
    dims = {d % len(shape) for d in (dim if isinstance(dim, tuple) else (dim,))}
    return tuple(1 if i in dims else s for i, s in enumerate(shape))
