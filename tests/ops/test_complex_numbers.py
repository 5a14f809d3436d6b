"""Complex tensors: dtypes and promotion, creation and printing, the gradient convention, and the refusals.
(Gradients of each op against finite differences and PyTorch: the op table's complex rows.)"""
import numpy as np
import pytest

import gpugrad as gg

try:
    import torch
except ImportError:  # pragma: no cover - PyTorch is optional
    torch = None


# Dtypes, promotion, creation ----------------------------------------------------------------------------
def test_complex_dtypes_and_their_names():
    assert gg.cfloat is gg.complex64 and gg.cdouble is gg.complex128
    assert gg.complex64.is_complex and not gg.complex64.is_floating_point
    assert gg.tensor([1.0]).to("cdouble").dtype is gg.complex128
    assert gg.finfo(gg.complex64).eps == gg.finfo(gg.float32).eps  # the parts' limits, as PyTorch's


@pytest.mark.parametrize("a, b, expected", [
    (gg.complex64, gg.float32, gg.complex64),
    (gg.complex64, gg.float64, gg.complex128),  # the wider part wins
    (gg.complex128, gg.float16, gg.complex128),
    (gg.int64, gg.complex64, gg.complex64),
    (gg.bool, gg.complex128, gg.complex128),
])
def test_promotion_keeps_the_wider_part(a, b, expected):
    assert gg.promote_types(a, b) is expected
    assert gg.promote_types(b, a) is expected


def test_python_complex_numbers_take_the_default_complex_dtype():
    assert gg.tensor([1 + 2j]).dtype is gg.complex64
    assert (gg.ones(2) * 1j).dtype is gg.complex64
    assert (gg.ones(2, dtype=gg.float64) + 1j).dtype is gg.complex128
    assert (gg.arange(3) * 1j).tolist() == [0j, 1j, 2j]
    assert gg.full((2,), 1 - 1j).dtype is gg.complex64
    gg.set_default_dtype(gg.float64)
    try:
        assert gg.tensor([1j]).dtype is gg.complex128
    finally:
        gg.set_default_dtype(gg.float32)


def test_random_complex_parts_are_independent_with_unit_mean_square():
    gg.manual_seed(0)
    z = gg.randn(200_000, dtype=gg.cfloat)
    assert z.dtype is gg.complex64
    assert abs(float((z.abs() ** 2).mean()) - 1.0) < 0.02  # each part of variance 1/2, as PyTorch's
    assert abs(float((z.real * z.imag).mean())) < 0.01
    u = gg.rand(1000, dtype=gg.cdouble)
    assert 0 <= float(u.real.min()) and float(u.imag.max()) < 1


def test_complex_values_print_as_pytorch_does():
    assert repr(gg.tensor([1 + 2j, 3 - 1j])) == "tensor([1.+2.j, 3.-1.j])"
    assert repr(gg.tensor([1.5 + 2j, 3 - 1.25j])) == "tensor([1.5000+2.0000j, 3.0000-1.2500j])"
    assert repr(gg.tensor(1 + 2j, dtype=gg.complex128)) == "tensor(1.+2.j, dtype=torch.complex128)"


# Parts and views ------------------------------------------------------------------------------------------
def test_real_and_imag_are_views_that_write_through():
    z = gg.tensor([1 + 2j, 3 - 1j])
    z.real.mul_(10)
    z.imag[0] = -5.0
    assert z.tolist() == [10 - 5j, 30 - 1j]
    assert gg.tensor([1.0]).real.tolist() == [1.0]  # a real tensor is its own real part
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        gg.tensor([1.0]).imag


def test_view_as_real_and_view_as_complex_share_memory():
    z = gg.tensor([[1 + 2j, 3 - 1j], [0.5j, 2]])
    pairs = gg.view_as_real(z)
    assert pairs.shape == (2, 2, 2) and pairs[0, 1].tolist() == [3.0, -1.0]
    pairs[1, 1, 1] = 7.0
    assert z[1, 1].item() == 2 + 7j
    w = gg.view_as_real(z.t())  # strided: still a view
    assert w[1, 0].tolist() == [3.0, -1.0]
    back = gg.view_as_complex(pairs)
    back[0, 0] = 9j
    assert z[0, 0].item() == 9j


def test_view_as_complex_refuses_what_it_cannot_view():
    with pytest.raises(gg.ShapeError, match="last dimension of size 2"):
        gg.view_as_complex(gg.zeros(3, 3))
    with pytest.raises(RuntimeError, match="stride 1"):
        gg.view_as_complex(gg.zeros(2, 3).t())
    with pytest.raises(gg.DTypeError, match="float and double"):
        gg.view_as_complex(gg.zeros(3, 2, dtype=gg.int64))
    with pytest.raises(gg.DTypeError, match="expected a complex tensor"):
        gg.view_as_real(gg.zeros(3))


def test_complex_and_polar_build_from_parts():
    r, theta = gg.tensor([2.0, 1.0]), gg.tensor([0.0, np.pi / 2])
    np.testing.assert_allclose(gg.polar(r, theta).numpy(), [2, 1j], atol=1e-7)
    assert gg.complex(gg.tensor([1.0]), gg.tensor([2.0])).tolist() == [1 + 2j]
    with pytest.raises(gg.DTypeError, match="float or double"):
        gg.complex(gg.tensor([1]), gg.tensor([2]))
    with pytest.raises(gg.DTypeError, match="float32 but got float64"):
        gg.complex(gg.tensor([1.0]), gg.tensor([2.0], dtype=gg.float64))


def test_modulus_argument_and_sign_match_numpy():
    values = np.array([3 + 4j, -1 + 0j, 0j, -2 - 2j], np.complex64)
    z = gg.tensor(values)
    np.testing.assert_allclose(z.abs().numpy(), np.abs(values))
    np.testing.assert_allclose(z.angle().numpy(), np.angle(values))
    np.testing.assert_allclose(z.sgn().numpy(), [0.6 + 0.8j, -1, 0, (-1 - 1j) / np.sqrt(2)], rtol=1e-6)
    assert z.abs().dtype is gg.float32
    np.testing.assert_array_equal(gg.isreal(z).numpy(), [False, True, True, False])
    assert gg.tensor([1j]).conj().tolist() == [-1j]


# The gradient convention -------------------------------------------------------------------------------
def test_gradient_is_dL_da_plus_i_dL_db():
    z = gg.tensor([1 + 2j, -3 + 0.5j], dtype=gg.complex128, requires_grad=True)
    (z.abs() ** 2).sum().backward()  # L = a^2 + b^2
    np.testing.assert_allclose(z.grad.numpy(), [2 + 4j, -6 + 1j])
    z.grad = None
    (z * z).real.sum().backward()  # L = a^2 - b^2
    np.testing.assert_allclose(z.grad.numpy(), [2 - 4j, -6 - 1j])


def test_a_real_input_of_a_complex_computation_gets_the_real_part():
    x = gg.tensor([0.5, -2.0], dtype=gg.float64, requires_grad=True)
    w = gg.tensor([1 + 1j, 2 - 3j], dtype=gg.complex128)
    (x * w).imag.sum().backward()  # L = x . Im(w)
    assert x.grad.dtype is gg.float64
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -3.0])


def test_holomorphic_ops_multiply_by_the_conjugate_derivative():
    z0 = np.array([0.3 + 0.4j, -1.1 + 0.2j])
    for fn, derivative in ((gg.exp, np.exp), (gg.sin, np.cos), (lambda z: z ** 3, lambda z: 3 * z ** 2)):
        z = gg.tensor(z0, requires_grad=True)
        g = gg.tensor([1 - 2j, 0.5 + 1j], dtype=gg.complex128)
        fn(z).backward(g)
        np.testing.assert_allclose(z.grad.numpy(), g.numpy() * np.conj(derivative(z0)), rtol=1e-12)


def test_backward_of_a_complex_scalar_needs_an_explicit_gradient():
    z = gg.tensor([1j], requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * z).sum().backward()


def test_an_op_without_complex_gradients_refuses_them_while_recording():
    z = gg.tensor([1 + 1j, 2j], requires_grad=True)
    with pytest.raises(gg.DTypeError, match="prod: gradients for complex tensors are not implemented"):
        z.prod()
    with gg.no_grad():  # the values alone are fine
        assert z.prod().item() == (1 + 1j) * 2j


# Refusals ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda z: z < 1, lambda z: z.max(), lambda z: z.argmax(), lambda z: z.sort(), lambda z: z.clamp(0, 1),
    lambda z: gg.maximum(z, z), lambda z: z.floor(), lambda z: z.sign(), lambda z: z.topk(1), lambda z: z.amax(),
])
def test_ordering_ops_refuse_complex_numbers(call):
    with pytest.raises(gg.DTypeError, match="complex"):
        call(gg.tensor([1 + 1j, 2 - 1j]))


def test_complex_parameters_train_as_pytorch_trains_their_parts():
    """Adam on a complex parameter updates (real, imag) as two real parameters would be updated: on the
    fused and the per-parameter path alike."""
    def loss(re, im):
        return ((re - 3) ** 2 + (im + 1) ** 2 * re.abs()).sum()

    a, b = gg.nn.Parameter(gg.tensor([1.0, -0.5])), gg.nn.Parameter(gg.tensor([2.0, 0.25]))
    twin = gg.optim.Adam([a, b], lr=0.1, weight_decay=0.01)
    for fused in (True, False):
        p = gg.nn.Parameter(gg.complex(gg.tensor([1.0, -0.5]), gg.tensor([2.0, 0.25])))
        opt = gg.optim.Adam([p], lr=0.1, weight_decay=0.01, fused=fused)
        for step in range(3):
            opt.zero_grad()
            loss(p.real, p.imag).backward()
            opt.step()
            if fused:
                twin.zero_grad()
                loss(a, b).backward()
                twin.step()
        assert opt.state[p]["exp_avg"].dtype is gg.complex64
        np.testing.assert_allclose(p.detach().real.numpy(), a.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(p.detach().imag.numpy(), b.detach().numpy(), rtol=1e-6)


def test_optimizers_whose_update_is_not_elementwise_refuse_complex_parameters():
    with pytest.raises(gg.DTypeError, match="Adafactor: can only optimize floating point Tensors"):
        gg.optim.Adafactor([gg.nn.Parameter(gg.zeros(2, 2, dtype=gg.cfloat))])


def test_clip_grad_norm_reads_the_moduli():
    p = gg.nn.Parameter(gg.zeros(2, dtype=gg.cfloat))
    p.grad = gg.tensor([3 + 4j, 0j])
    norm = gg.nn.utils.clip_grad_norm_([p], 1.0)
    assert norm.dtype is gg.float32 and abs(norm.item() - 5.0) < 1e-6
    np.testing.assert_allclose(p.grad.numpy(), [0.6 + 0.8j, 0], rtol=1e-5)


def test_complex64_checkpoints_round_trip_and_complex128_is_refused(tmp_path):
    z = gg.randn(3, dtype=gg.cfloat)
    gg.save({"z": z}, tmp_path / "c.safetensors")
    np.testing.assert_array_equal(gg.load(tmp_path / "c.safetensors")["z"].numpy(), z.numpy())
    with pytest.raises(TypeError, match="complex128, which safetensors cannot hold"):
        gg.save({"z": z.to(gg.cdouble)}, tmp_path / "d.safetensors")


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_rotary_embedding_idiom_matches_pytorch():
    """llama's RoPE: pairs as complex numbers, rotated by polar(1, m theta), read back as pairs."""
    rng = np.random.default_rng(0)
    q0 = rng.standard_normal((2, 5, 4, 8)).astype(np.float32)
    out = []
    for lib in (gg, torch):
        freqs = 1.0 / (10000 ** (lib.arange(0, 8, 2).float() / 8))
        cis = lib.polar(lib.ones(5, 4), lib.outer(lib.arange(5).float(), freqs)).view(1, 5, 1, 4)
        q = lib.tensor(q0, requires_grad=True)
        rotated = lib.view_as_real(lib.view_as_complex(q.float().reshape(2, 5, 4, -1, 2)) * cis).flatten(3).type_as(q)
        (rotated * rotated.detach().roll(1, -1)).sum().backward()
        out.append((rotated.detach().numpy(), q.grad.numpy()))
    for mine, theirs in zip(*out):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_assert_close_compares_complex_values():
    z = gg.tensor([1 + 2j, 3j])
    gg.testing.assert_close(z, z + 1e-9)
    with pytest.raises(AssertionError, match="Greatest absolute difference: 1.0"):
        gg.testing.assert_close(z, z + 1j)


def test_eig_refuses_a_loss_that_depends_on_the_eigenvectors_phase():
    a = gg.tensor([[2.0, 1.0], [0.5, -1.0]], dtype=gg.float64, requires_grad=True)
    w, v = gg.linalg.eig(a)
    assert w.dtype is gg.complex128 and v.dtype is gg.complex128
    np.testing.assert_allclose((a.detach().to(gg.complex128) @ v).detach().numpy(), (v * w).detach().numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="defined up to a phase"):
        v.imag.sum().backward()
