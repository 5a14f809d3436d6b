"""Edge arguments PyTorch's own op samples reach (bench/compat/opinfo_sweep.py found each of these
differing from PyTorch): 0-d inputs, an order of 0, a spacing of None, one variable."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.nn import functional as F


def test_masked_select_of_a_0d_input_is_a_vector():
    x = gg.tensor(2.0, requires_grad=True)
    y = gg.masked_select(x, gg.tensor(True))
    assert y.shape == (1,) and y.tolist() == [2.0]
    y.sum().backward()
    assert x.grad.shape == () and x.grad.item() == 1.0
    assert gg.masked_select(gg.tensor(2.0), gg.tensor(False)).shape == (0,)
    assert gg.masked_select(gg.tensor(3.0), gg.tensor([True, False, True])).tolist() == [3.0, 3.0]


@pytest.mark.parametrize("fn", [gg.quantile, gg.nanquantile])
def test_quantile_of_a_0d_input_keeps_no_dim(fn):
    x = gg.tensor(1.5)
    for dim in (0, -1, None):
        assert fn(x, 0.5, dim=dim, keepdim=True).shape == ()
    assert fn(x, gg.tensor([0.25, 0.75], dtype=gg.float32), dim=0, keepdim=True).shape == (2,)
    assert fn(gg.tensor([[1.0, 3.0]]), 0.5, dim=1, keepdim=True).tolist() == [[2.0]]


def test_cov_and_corrcoef_of_one_variable_are_0d():
    rows = gg.tensor([[1.0, 2.0, 4.0]])
    assert gg.cov(rows).shape == () and gg.cov(rows).item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert gg.corrcoef(rows).shape == () and gg.corrcoef(rows).item() == 1.0
    assert gg.cov(gg.tensor([[1.0, 2.0], [0.0, 1.0]])).shape == (2, 2)


def test_diff_of_order_0_is_the_input_without_prepend_or_append():
    x = gg.tensor([[1.0, 2.0], [4.0, 8.0]])
    out = gg.diff(x, n=0, dim=0, prepend=gg.zeros(1, 2), append=gg.zeros(2, 2))
    assert out.tolist() == x.tolist()
    assert gg.diff(x, n=1, dim=0, prepend=gg.zeros(1, 2)).tolist() == [[1.0, 2.0], [3.0, 6.0]]


def test_gradient_takes_a_spacing_of_none_as_1():
    (g,) = gg.gradient(gg.tensor([0.0, 1.0, 4.0, 9.0]), spacing=None)
    assert g.tolist() == [1.0, 2.0, 4.0, 5.0]


@pytest.mark.parametrize("loss", [F.multi_margin_loss, F.multilabel_margin_loss])
def test_margin_losses_take_a_0d_score_as_one_class(loss):
    x = gg.tensor(0.3, requires_grad=True)
    out = loss(x, gg.tensor(0))
    assert out.shape == () and out.item() == 0.0  # one class: no other class to compare with
    assert loss(x, gg.tensor(0), reduction="none").shape == ()
    out.backward()
    assert x.grad.item() == 0.0


def test_to_takes_non_blocking_and_copy_by_position():
    x = gg.ones(2)
    assert x.to("cpu", gg.float32, False, True) is not x  # copy=True
    assert x.to("cpu", gg.float32, True) is x  # non_blocking alone
    assert x.to(gg.float32, False, False) is x
    assert x.to(x, False, True) is not x
    assert x.to("cpu", gg.float64, True, True).dtype is gg.float64


def test_take_along_dim_counts_negative_indices_from_the_end_along_a_dim():
    x = gg.arange(6.0).reshape(2, 3)
    assert gg.take_along_dim(x, gg.tensor([[-1], [-3]]), 1).tolist() == [[2.0], [3.0]]
    assert gg.take_along_dim(x, gg.tensor([[-1, -2, -1]]), 0).tolist() == [[3.0, 1.0, 5.0]]
    with pytest.raises(Exception, match="out of bounds"):
        gg.take_along_dim(x, gg.tensor([[-4], [0]]), 1)


def test_normal_takes_the_factories_layout_option():
    assert gg.normal(1.6, 0.3, (2, 2), dtype=gg.float64, layout=gg.strided).shape == (2, 2)
    with pytest.raises(Exception, match="layout"):
        gg.normal(1.6, 0.3, (2, 2), layout=gg.sparse_coo)


def test_integer_logspace_truncates_its_ends_first():
    assert gg.logspace(0, 1.2, 2, dtype=gg.int64).tolist() == [1, 10]
    assert gg.logspace(0.5, 3.7, 4, base=2.5, dtype=gg.int64).tolist() == [1, 2, 6, 15]
    assert gg.logspace(-1.5, 2.5, 5, dtype=gg.int64).tolist() == [0, 0, 3, 17, 100]
    assert gg.logspace(0, 1.2, 2).tolist() == pytest.approx([1.0, 10 ** 1.2])


def test_integer_arange_from_float_bounds_truncates_as_pytorch():
    assert gg.arange(0.0, -8.000001, -4.0, dtype=gg.int64).tolist() == [0, -4]  # int64 divides integers
    assert gg.arange(0.0, -8.000001, -4.0, dtype=gg.int32).tolist() == [0, -4, -8]  # others: the float length
    assert gg.arange(1.9, 7.2, 2.9, dtype=gg.int64).tolist() == [1, 3, 5]
    assert gg.arange(-3.5, 3.5, 0.7, dtype=gg.int16).tolist() == [-3] * 10  # a step truncated to 0 repeats start
    with pytest.raises(Exception, match="step must be nonzero"):
        gg.arange(-3.5, 3.5, 0.7, dtype=gg.int64)
    assert gg.arange(0.5, 2.5, 0.5).tolist() == [0.5, 1.0, 1.5, 2.0]  # float dtypes as before


def test_integer_matrix_products_truncate_float_scale_factors():
    m = gg.tensor([[1, 2], [3, 4]])
    v = gg.tensor([1, -1])
    a = gg.tensor([5, 7])
    assert gg.addmv(a, m, v, beta=1.7, alpha=2.6).tolist() == [5 - 2, 7 - 2]  # beta 1, alpha 2
    assert gg.addmv(a, m, v, beta=0.2, alpha=0.6).tolist() == [0, 0]
    assert gg.addmm(m, m, m, beta=0.5, alpha=1.5).tolist() == (m @ m).tolist()
    assert gg.baddbmm(m[None], m[None], m[None], beta=2.9, alpha=0.9).tolist() == [(m * 2).tolist()]
    with pytest.raises(Exception, match="floating point"):
        gg.addr(m, v, v, alpha=2.0)
    assert gg.addmv(a.double(), m.double(), v.double(), beta=0.5, alpha=0.5).tolist() == [2.0, 3.0]


def test_bincount_weights_sum_in_float32_or_float64():
    x = gg.tensor([0, 1, 1])
    assert gg.bincount(x, weights=gg.tensor([1.0, 2.0, 3.0])).dtype is gg.float32
    for w in (gg.tensor([1, 2, 3]), gg.tensor([1.0, 2.0, 3.0], dtype=gg.float16), gg.tensor([True, False, True])):
        out = gg.bincount(x, weights=w)
        assert out.dtype is gg.float64 and out.tolist() == pytest.approx(np.bincount([0, 1, 1], w.double().numpy()))


def test_hermitian_pinv_of_empty_matrices():
    assert gg.linalg.pinv(gg.zeros(0, 0), hermitian=True).shape == (0, 0)
    assert gg.linalg.pinv(gg.zeros(2, 0, 0), hermitian=True).shape == (2, 0, 0)


def test_alpha_dropouts_pass_any_dtype_through_outside_training():
    ints = gg.tensor([[1, 2]])
    assert F.alpha_dropout(ints, 0.5, False) is ints and F.feature_alpha_dropout(ints, 0.5, False) is ints
    with pytest.raises(Exception, match="floating point"):
        F.alpha_dropout(ints, 0.5, True)


@pytest.mark.parametrize("pool, shape", [(F.fractional_max_pool2d, (0, 1, 4, 5)), (F.fractional_max_pool3d, (0, 1, 4, 5, 4))])
def test_fractional_max_pool_of_an_empty_batch(pool, shape):
    values, indices = pool(gg.zeros(*shape), 2, output_size=2, return_indices=True)
    assert values.shape == indices.shape == (0, 1) + (2,) * (len(shape) - 2)


def test_multi_margin_loss_of_one_sample_keeps_the_targets_shape():
    x = gg.tensor([0.1, 0.7, 0.3])
    assert F.multi_margin_loss(x, gg.tensor([1]), reduction="none").shape == (1,)
    assert F.multi_margin_loss(x, gg.tensor(1), reduction="none").shape == ()


@pytest.mark.parametrize("ord, diagonal", [("nuc", 1.0), (2, 1 / 3), (-2, 1 / 3)])
def test_singular_value_norms_have_pytorchs_subgradient_at_zero(ord, diagonal):
    # the singular values alone take U diag(g) Vh, defined at the zero matrix (PyTorch's subgradient);
    # the singular vectors' terms divide by differences of singular values and were NaN there
    x = gg.zeros(3, 3, dtype=gg.float64, requires_grad=True)
    gg.linalg.norm(x, ord).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3) * diagonal)


def test_tensordot_broadcasts_a_contracted_dim_of_size_1():
    a = gg.arange(12.0).reshape(3, 4)
    b = gg.arange(5.0).reshape(1, 5)
    np.testing.assert_allclose(gg.tensordot(a, b, dims=([0], [0])).numpy(), np.outer(a.numpy().sum(0), b.numpy()[0]))
    with pytest.raises(Exception, match="contracted dimensions need to match"):
        gg.tensordot(gg.ones(2, 3), gg.ones(3, 2), dims=2)


def test_gather_with_an_empty_index_of_any_shape_reads_nothing():
    x = gg.randn(5, requires_grad=True)
    y = gg.gather(x, 0, gg.zeros(2, 0, dtype=gg.int64))
    assert y.shape == (2, 0)
    y.sum().backward()
    assert x.grad.tolist() == [0.0] * 5


def test_nextafter_passes_the_gradient_to_input_alone():
    x, other = gg.randn(3, requires_grad=True), gg.randn(3, requires_grad=True)
    gg.nextafter(x, other).sum().backward()
    assert x.grad.tolist() == [1.0] * 3 and other.grad.tolist() == [0.0] * 3


def test_complex_inputs_stay_complex_in_cov_gradient_and_float_power():
    z = gg.tensor([[1 + 2j, 3 - 1j, -2 + 0.5j]])
    c = gg.cov(z)
    zn = z.numpy()[0]
    assert c.dtype is gg.complex64 and c.item() == pytest.approx(np.cov(zn))  # (z - mean)(z - mean)^H
    (g,) = gg.gradient(gg.tensor([1j, 2 + 1j, 4 + 3j]))
    assert g.dtype is gg.complex64 and g.tolist() == pytest.approx([2 + 0j, 2 + 1j, 2 + 2j])
    assert gg.float_power(gg.tensor(1 + 2j), 2).item() == pytest.approx(-3 + 4j)
    assert gg.float_power(gg.tensor(2.0), 1j).dtype is gg.complex128


def test_complex_matrices_are_refused_by_name_where_unsupported():
    with pytest.raises(gg.DTypeError, match="complex matrices are not supported"):
        gg.linalg.qr(gg.tensor([[1 + 1j, 0], [0, 1]]))


def test_istft_of_a_real_signal_reads_the_first_half_of_the_spectrum_whatever_onesided_says():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 3)) + 1j * rng.standard_normal((6, 3))
    w = gg.ones(6, dtype=gg.float64)
    full = gg.istft(gg.tensor(z), n_fft=6, window=w, onesided=False)
    half = gg.istft(gg.tensor(z[:4]), n_fft=6, window=w, onesided=True)
    np.testing.assert_allclose(full.numpy(), half.numpy())  # PyTorch's irfft path for return_complex=False
    assert gg.istft(gg.tensor(z), n_fft=6, window=w, onesided=False, return_complex=True).dtype is gg.complex128


def test_stft_of_a_complex_signal_is_complex_by_default():
    z = gg.tensor(np.random.default_rng(1).standard_normal(40) + 1j, dtype=gg.complex128)
    out = gg.stft(z, 8, window=gg.ones(8, dtype=gg.float64))
    assert out.dtype is gg.complex128 and out.shape == (8, 21)
    with pytest.raises(Exception, match="return_complex"):
        gg.stft(z.real, 8)


def test_index_put_accumulating_through_an_all_false_mask():
    x, v = gg.randn(5, 5, requires_grad=True), gg.randn(5, requires_grad=True)
    y = x.index_put((gg.tensor([False] * 5),), v, accumulate=True)
    y.sum().backward()
    assert v.grad.tolist() == [0.0] * 5 and x.grad.tolist() == [[1.0] * 5] * 5
    assert gg.index_select(gg.ones(3, 4), 0, gg.tensor([], dtype=gg.int64)).shape == (0, 4)
