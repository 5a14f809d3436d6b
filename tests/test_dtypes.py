"""Dtypes: the table, aliases, PyTorch's type promotion, casts, tensor creation, printing, float16 on
the reference kernels, and checkpoints that keep every dtype."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.kernels import activation, conv, linear, pool, softmax_xent

ALL = [gg.bool, gg.uint8, gg.int8, gg.int16, gg.int32, gg.int64, gg.float16, gg.float32, gg.float64]
INTS = [gg.uint8, gg.int8, gg.int16, gg.int32, gg.int64]


def _torch_dtype(torch, dtype):
    return getattr(torch, dtype.name)


def _sample(dtype, shape, rng):
    """Small values every dtype holds (bool: True/False; uint8: non-negative)."""
    if dtype is gg.bool:
        return rng.integers(0, 2, shape).astype(bool)
    low = 0 if dtype is gg.uint8 else -5
    return rng.integers(low, 6, shape).astype(dtype.np)


# The table and its names ---------------------------------------------------------------------------------
def test_pytorch_names_and_aliases_are_the_table_entries():
    assert (gg.half, gg.float, gg.double) == (gg.float16, gg.float32, gg.float64)
    assert (gg.byte, gg.char, gg.short, gg.int, gg.long) == (gg.uint8, gg.int8, gg.int16, gg.int32, gg.int64)
    assert [d.itemsize for d in ALL] == [1, 1, 1, 2, 4, 8, 2, 4, 8]
    assert [d.is_floating_point for d in ALL] == [False] * 6 + [True] * 3
    assert gg.uint8.is_signed is False and gg.int8.is_signed and gg.float16.is_signed


def test_to_dtype_accepts_names_numpy_dtypes_and_python_types():
    assert gg.dtypes.to_dtype("half") is gg.float16
    assert gg.dtypes.to_dtype("short") is gg.int16
    assert gg.dtypes.to_dtype(np.int8) is gg.int8
    assert gg.dtypes.to_dtype(np.dtype("uint8")) is gg.uint8
    # Python's float is float64 whatever the default dtype, as in PyTorch (torch.tensor(3, dtype=float))
    assert gg.dtypes.to_dtype(float) is gg.float64 and gg.dtypes.to_dtype(int) is gg.int64
    assert gg.dtypes.to_dtype(bool) is gg.bool and gg.dtypes.to_dtype(complex) is gg.complex128
    assert gg.tensor(3, dtype=float).dtype is gg.float64 and gg.zeros(2, dtype=float).dtype is gg.float64
    assert gg.ones(2).to(float).dtype is gg.float64 and gg.ones(2, dtype=float).double().dtype is gg.float64
    with pytest.raises(gg.DTypeError, match="uint16"):
        gg.dtypes.to_dtype(np.uint16)


def test_python_types_as_dtypes_match_pytorch():
    torch = pytest.importorskip("torch")
    for t in (float, int, bool, complex):
        assert str(gg.tensor(3, dtype=t).dtype).split(".")[1] == str(torch.tensor(3, dtype=t).dtype).split(".")[1]
        assert str(gg.ones(2).to(t).dtype).split(".")[1] == str(torch.ones(2).to(t).dtype).split(".")[1]


def test_tensor_cast_methods():
    x = gg.tensor([1.7, -2.2, 3.0])
    assert x.half().dtype is gg.float16
    assert x.int().tolist() == [1, -2, 3] and x.int().dtype is gg.int32
    assert x.short().dtype is gg.int16 and x.char().dtype is gg.int8 and x.byte().dtype is gg.uint8
    assert x.to("half").dtype is gg.float16 and x.to(np.int8).dtype is gg.int8
    assert x.to(gg.int16).to(gg.float64).tolist() == [1.0, -2.0, 3.0]
    assert x.byte().is_signed() is False and x.is_signed() is True


def test_a_float16_cast_is_differentiable_and_half_leaves_can_require_grad():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    x.half().sum().backward()
    assert x.grad.dtype is gg.float32 and x.grad.tolist() == [1.0, 1.0]
    h = gg.tensor([1.0, 2.0], dtype=gg.half, requires_grad=True)
    (h * h).sum().backward()
    assert h.grad.dtype is gg.float16 and h.grad.tolist() == [2.0, 4.0]
    with pytest.raises(gg.DTypeError, match="floating point"):
        gg.tensor([1, 2], dtype=gg.int8, requires_grad=True)


# Promotion ------------------------------------------------------------------------------------------------
def test_promote_types_known_pairs():
    assert gg.promote_types(gg.uint8, gg.int8) is gg.int16
    assert gg.promote_types(gg.uint8, gg.int16) is gg.int16
    assert gg.promote_types(gg.uint8, gg.int32) is gg.int32
    assert gg.promote_types(gg.bool, gg.int8) is gg.int8
    assert gg.promote_types(gg.int64, gg.float16) is gg.float16
    assert gg.promote_types(gg.float16, gg.float32) is gg.float32
    assert gg.promote_types(gg.int32, gg.int16) is gg.int32


@pytest.mark.torch
def test_promote_types_matches_pytorch_for_every_pair():
    torch = pytest.importorskip("torch")
    for a in ALL:
        for b in ALL:
            expected = torch.promote_types(_torch_dtype(torch, a), _torch_dtype(torch, b))
            assert gg.promote_types(a, b).name == str(expected).split(".")[1], (a, b)


def test_result_type_scalars_and_zero_dim_tensors_only_lift_the_category():
    i8 = gg.tensor([1], dtype=gg.int8)
    assert gg.result_type(i8, 1000) is gg.int8
    assert gg.result_type(i8, gg.tensor(1000)) is gg.int8  # a 0-d int64 tensor counts as a scalar
    assert gg.result_type(i8, 1.5) is gg.float32
    assert gg.result_type(i8, gg.tensor(1.5, dtype=gg.float64)) is gg.float64
    assert gg.result_type(gg.tensor([1.0], dtype=gg.half), gg.tensor(1.5, dtype=gg.float64)) is gg.float16
    assert gg.result_type(gg.tensor([True]), 2) is gg.int64
    assert gg.result_type(gg.tensor(1, dtype=gg.int8), gg.tensor(2, dtype=gg.uint8)) is gg.int16


SCALARS = [True, 3, -200, 2.5]


@pytest.mark.torch
@given(a=st.sampled_from(ALL), b=st.sampled_from(ALL), a_dims=st.booleans(), b_dims=st.booleans())
def test_add_and_mul_of_two_tensors_match_pytorch(a, b, a_dims, b_dims):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xa, xb = _sample(a, (3,) if a_dims else (), rng), _sample(b, (3,) if b_dims else (), rng)
    for op in ("add", "mul"):
        ours = getattr(gg, op)(gg.tensor(xa), gg.tensor(xb))
        if {a, b} == {gg.bool} and op == "add":
            theirs = torch.tensor(xa) | torch.tensor(xb)  # bool + bool is logical or in both
        else:
            theirs = getattr(torch, op)(torch.tensor(xa), torch.tensor(xb))
        assert ours.dtype.name == str(theirs.dtype).split(".")[1], (op, a, b)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch
@given(a=st.sampled_from(ALL), scalar=st.sampled_from(SCALARS), reflected=st.booleans())
def test_tensor_and_python_scalar_match_pytorch(a, scalar, reflected):
    torch = pytest.importorskip("torch")
    xa = _sample(a, (4,), np.random.default_rng(1))
    ours_t, theirs_t = gg.tensor(xa), torch.tensor(xa)
    ours = scalar * ours_t if reflected else ours_t * scalar
    theirs = scalar * theirs_t if reflected else theirs_t * scalar
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-3)


def test_integer_overflow_wraps():
    assert (gg.tensor([127], dtype=gg.int8) + 1).tolist() == [-128]
    assert (gg.tensor([0], dtype=gg.uint8) - 1).tolist() == [255]
    assert (gg.tensor([1], dtype=gg.int8) + gg.tensor(1000)).tolist() == [-23]  # 1000 wraps to -24 first
    assert (gg.tensor([100], dtype=gg.int8) * gg.tensor([3], dtype=gg.int8)).tolist() == [44]
    assert (gg.tensor([200], dtype=gg.uint8) + gg.tensor([-1], dtype=gg.int8)).tolist() == [199]  # int16


@pytest.mark.torch
def test_integer_overflow_wraps_as_pytorch():
    torch = pytest.importorskip("torch")
    for dtype in INTS:
        info = np.iinfo(dtype.np)
        for value, other in ((info.max, 1), (info.min, -1), (info.max, 1000), (info.min, -70000)):
            ours = gg.tensor([value], dtype=dtype) + other
            theirs = torch.tensor([value], dtype=_torch_dtype(torch, dtype)) + other
            assert ours.tolist() == theirs.tolist(), (dtype, value, other)


def test_cat_promotes_across_the_new_dtypes():
    out = gg.cat([gg.tensor([1], dtype=gg.uint8), gg.tensor([-1], dtype=gg.int8)])
    assert out.dtype is gg.int16 and out.tolist() == [1, -1]


# Creation ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_tensor_and_from_numpy_keep_numpy_dtypes(dtype):
    array = _sample(dtype, (2, 3), np.random.default_rng(2))
    t = gg.tensor(array)
    assert t.dtype is dtype and np.array_equal(t.numpy(), array)
    shared = gg.from_numpy(array)
    assert shared.dtype is dtype
    shared.numpy()[0, 0] = 1
    assert array[0, 0] == 1  # from_numpy shares memory
    assert gg.tensor(array[0, 0]).dtype is dtype  # a NumPy scalar keeps its dtype too
    assert gg.zeros(2, dtype=dtype).dtype is dtype and gg.ones_like(t).dtype is dtype


def test_python_data_takes_pytorch_default_dtypes():
    assert gg.tensor([1.5, 2]).dtype is gg.float32
    assert gg.tensor([1, 2]).dtype is gg.int64
    assert gg.tensor([True, False]).dtype is gg.bool
    assert gg.tensor([True, 2]).dtype is gg.int64
    assert gg.tensor(0.1, dtype=gg.float64).item() == 0.1  # not rounded through float32 first
    assert gg.tensor([1, 2], dtype=gg.half).dtype is gg.float16


@pytest.mark.torch
def test_numpy_dtype_inference_matches_pytorch():
    torch = pytest.importorskip("torch")
    for dtype in ALL:
        array = _sample(dtype, (3,), np.random.default_rng(3))
        assert gg.tensor(array).dtype.name == str(torch.tensor(array).dtype).split(".")[1]
        assert gg.from_numpy(array).dtype.name == str(torch.from_numpy(array).dtype).split(".")[1]


def test_dtypes_gpugrad_lacks_are_refused_by_name():
    for bad in (np.zeros(2, np.uint16), np.zeros(2, np.uint32), np.zeros(2, np.clongdouble)):
        with pytest.raises(gg.DTypeError, match=f"{bad.dtype}"):
            gg.tensor(bad)
    with pytest.raises(gg.DTypeError, match="from_numpy: unsupported dtype uint16"):
        gg.from_numpy(np.zeros(2, np.uint16))
    with pytest.raises(gg.DTypeError, match="byte order"):
        gg.from_numpy(np.zeros(2, ">i4"))


def test_bad_data_gets_clear_errors():
    with pytest.raises(gg.DTypeError, match="strings are not supported"):
        gg.tensor(["a"])
    with pytest.raises(gg.DTypeError, match="strings are not supported"):
        gg.tensor([1, "a"])
    with pytest.raises(gg.DTypeError, match="strings are not supported"):
        gg.tensor("abc")
    with pytest.raises(gg.ShapeError, match="rectangular"):
        gg.tensor([[1, 2], [3]])
    for bad in ([object()], {"a": 1}, None):
        with pytest.raises(gg.DTypeError, match="could not infer a dtype"):
            gg.tensor(bad)
    assert gg.tensor([1 + 2j]).dtype is gg.complex64  # Python complex numbers: the default complex dtype
    with pytest.raises(gg.ArgumentError, match="300 cannot be converted to type int8"):
        gg.tensor([300], dtype=gg.int8)
    assert gg.tensor(np.array([300]), dtype=gg.int8).tolist() == [44]  # an array wraps, as in PyTorch


def test_integer_linspace_truncates_toward_zero():
    out = gg.linspace(5, -5, 20, dtype=gg.int64)
    exact = 5 - 10 * np.arange(20) / 19
    assert out.tolist() == np.trunc(exact).astype(int).tolist()
    assert out.tolist()[8:12] == [0, 0, 0, 0]  # 0.79, 0.26, -0.26, -0.79: toward zero, not down
    assert gg.linspace(0, 10, 5, dtype=gg.int8).tolist() == [0, 2, 5, 7, 10]
    assert gg.linspace(0, 1, 3, dtype=gg.half).dtype is gg.float16
    with pytest.raises(gg.DTypeError, match="linspace.*bool"):
        gg.linspace(0, 1, 3, dtype=gg.bool)
    with pytest.raises(gg.ArgumentError, match="non-negative"):
        gg.linspace(0, 1, -1)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [gg.float16, gg.float32, gg.float64])
def test_float_linspace_matches_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rtol = 1e-3 if dtype is gg.float16 else 1e-6  # PyTorch's vectorised loop may differ by an ulp
    for start, end, steps in ((5, -5, 20), (-3, 7, 13), (0, 100, 7), (2, 2, 4), (1, 0, 1), (0, 1, 0), (-7.25, 0.3, 33)):
        ours = gg.linspace(start, end, steps, dtype=dtype)
        theirs = torch.linspace(start, end, steps, dtype=_torch_dtype(torch, dtype))
        assert ours.dtype is dtype
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=1e-6)
        if steps:
            assert ours.numpy()[0] == theirs.numpy()[0] and ours.numpy()[-1] == theirs.numpy()[-1]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [gg.int64, gg.int32, gg.int16, gg.int8])
def test_integer_linspace_truncates_as_pytorch(dtype):
    torch = pytest.importorskip("torch")
    for start, end, steps in ((5, -5, 20), (-9, 9, 10), (0, 100, 7), (3, -3, 1)):
        ours = gg.linspace(start, end, steps, dtype=dtype)
        theirs = torch.linspace(start, end, steps, dtype=_torch_dtype(torch, dtype))
        assert ours.tolist() == theirs.tolist()


def test_random_factories_refuse_integer_dtypes_and_draw_float16():
    with pytest.raises(gg.DTypeError, match="rand: expected a floating point or complex dtype"):
        gg.rand(2, dtype=gg.int64)
    with pytest.raises(gg.DTypeError, match="randn"):
        gg.randn_like(gg.zeros(2, dtype=gg.int8))
    assert gg.randn(3, dtype=gg.half).dtype is gg.float16
    assert gg.randint(0, 5, (3,), dtype=gg.uint8).dtype is gg.uint8


# Printing ------------------------------------------------------------------------------------------------
def test_repr_names_non_default_dtypes_only():
    assert repr(gg.tensor([1, 2], dtype=gg.int8)) == "tensor([1, 2], dtype=torch.int8)"
    assert repr(gg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(gg.tensor([1.5], dtype=gg.half)) == "tensor([1.5000], dtype=torch.float16)"
    assert repr(gg.tensor([1.5], dtype=gg.half, requires_grad=True)) == (
        "tensor([1.5000], dtype=torch.float16, requires_grad=True)")
    assert repr(gg.tensor([True])) == "tensor([True])"
    assert repr(gg.zeros(0, 3, dtype=gg.uint8)) == "tensor([], size=(0, 3), dtype=torch.uint8)"


def test_names_print_as_pytorchs_text_that_code_reads_back():
    # Libraries slice (`str(dtype)[6:]`), strip ("torch.") and eval these texts; under the README's
    # `import gpugrad as torch` each evaluates back to the same object.
    x = gg.ones(2, 3, dtype=gg.float64)
    assert str(x.dtype)[6:] == "float64" and str(x.dtype).replace("torch.", "") == x.dtype.name
    assert eval(str(x.dtype), {"torch": gg}) is gg.float64
    assert eval(repr(x.shape), {"torch": gg}) == x.shape == gg.Size([2, 3])
    assert eval(repr(gg.channels_last), {"torch": gg}) is gg.channels_last and repr(gg.strided) == "torch.strided"
    assert x.type() == "torch.DoubleTensor" and x.float().type("torch.DoubleTensor").dtype is gg.float64
    assert x.type("gpugrad.FloatTensor").dtype is gg.float32  # gpugrad's own prefix is read too


@pytest.mark.torch
def test_names_print_as_pytorchs():
    torch = pytest.importorskip("torch")
    for name in ("float32", "bfloat16", "int64", "bool", "complex64"):
        assert str(getattr(gg, name)) == str(getattr(torch, name))
    assert repr(gg.ones(2, 3).shape) == repr(torch.ones(2, 3).shape)
    assert gg.ones(2).long().type() == torch.ones(2).long().type()
    assert repr(gg.FloatTensor) == repr(torch.FloatTensor) and repr(gg.sparse_coo) == repr(torch.sparse_coo)

# float16 through the ops, against PyTorch's float16 --------------------------------------------------------
FLOAT16_OPS = {
    "add": lambda m, x, w, t: x + w[:, :1].T,
    "mul": lambda m, x, w, t: x * 1.5,
    "exp": lambda m, x, w, t: x.exp(),
    "sum": lambda m, x, w, t: x.sum(dim=1),
    "matmul": lambda m, x, w, t: x @ w,
    "softmax": lambda m, x, w, t: m.softmax(x, dim=1),
    "cross_entropy": lambda m, x, w, t: m.cross_entropy(x, t),
    "linear": lambda m, x, w, t: m.linear(x, w.T),
    "relu": lambda m, x, w, t: m.relu(x),
    "tanh": lambda m, x, w, t: m.tanh(x),
    "sigmoid": lambda m, x, w, t: m.sigmoid(x),
    "gelu": lambda m, x, w, t: m.gelu(x),
    "silu": lambda m, x, w, t: m.silu(x),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(FLOAT16_OPS))
def test_float16_ops_match_pytorch_float16(name):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 5)).astype(np.float16)
    w = rng.standard_normal((5, 3)).astype(np.float16)
    target = np.array([0, 4, 1, 3])
    fn = FLOAT16_OPS[name]
    gx = gg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ours = fn(F, gx, gg.tensor(w), gg.tensor(target))
    theirs = fn(TF, tx, torch.tensor(w), torch.tensor(target))
    assert ours.dtype is gg.float16 and theirs.dtype == torch.float16
    # float16 has 11 significant bits: PyTorch accumulates in float32 where NumPy may not.
    np.testing.assert_allclose(ours.detach().numpy().astype(np.float64), theirs.detach().numpy().astype(np.float64),
                               rtol=4e-3, atol=4e-3)
    u = rng.standard_normal(tuple(theirs.shape)).astype(np.float16)
    ours.backward(gg.tensor(u))
    theirs.backward(torch.tensor(u))
    assert gx.grad.dtype is gg.float16
    np.testing.assert_allclose(gx.grad.numpy().astype(np.float64), tx.grad.numpy().astype(np.float64),
                               rtol=4e-3, atol=4e-3)


@pytest.mark.torch
def test_float16_conv_pool_and_a_fused_sequential_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float16)
    w = (0.3 * rng.standard_normal((4, 3, 3, 3))).astype(np.float16)
    gx, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = F.max_pool2d(F.conv2d(gx, gg.tensor(w), padding=1), 2).relu()
    theirs = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, torch.tensor(w), padding=1), 2).relu()
    assert ours.dtype is gg.float16
    np.testing.assert_allclose(ours.detach().numpy().astype(np.float64), theirs.detach().numpy().astype(np.float64),
                               rtol=1e-2, atol=1e-2)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(gx.grad.numpy().astype(np.float64), tx.grad.numpy().astype(np.float64), rtol=1e-2, atol=2e-2)
    model = gg.nn.Sequential(gg.nn.Linear(6, 5), gg.nn.ReLU(), gg.nn.Linear(5, 2), gg.nn.Tanh()).to(gg.half)
    y = model(gg.tensor(x))
    with gg.no_grad():
        expected = model[3](model[2](model[1](model[0](gg.tensor(x)))))
    assert y.dtype is gg.float16 and np.array_equal(y.detach().numpy(), expected.numpy())


def test_float16_runs_the_reference_whatever_kernel_was_asked_for():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float16)
    geometry = ((2, 2), (1, 1), (0, 0, 0, 0), (1, 1))
    cols = conv.im2col(np, x, *geometry, impl="cpu")
    assert cols.dtype == np.float16
    np.testing.assert_array_equal(cols, conv.reference_im2col(np, x, *geometry))
    y, _ = pool.max_pool2d(np, x, *geometry, impl="cpu")
    np.testing.assert_array_equal(y, pool.reference_max_pool2d(np, x, *geometry)[0])
    z = x.reshape(10, 5)
    pre, out = linear.bias_act_forward(np, "relu", z, None, impl="cpu")
    assert out.dtype == np.float16 and np.array_equal(out, np.maximum(z, 0))
    np.testing.assert_array_equal(activation.forward(np, "tanh", z, impl="cpu"), activation.reference_forward(np, "tanh", z))
    loss, _, _ = softmax_xent.softmax_cross_entropy(np, z, np.zeros(10, np.int64), impl="cpu")
    assert loss.dtype == np.float16
    with pytest.raises(TypeError, match="only float32 and float64 .*float16.*int64"):
        conv.im2col(np, x.astype(np.int64), *geometry, impl="cpu")


def test_a_float16_model_trains_a_step():
    gg.manual_seed(0)
    model = gg.nn.Linear(4, 3).to(gg.half)
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    x = gg.randn(8, 4, dtype=gg.half)
    loss = F.cross_entropy(model(x), gg.randint(0, 3, (8,)))
    loss.backward()
    before = model.weight.detach().clone()
    opt.step()
    assert model.weight.dtype is gg.float16
    assert not np.array_equal(model.weight.detach().numpy(), before.numpy())


# Checkpoints ---------------------------------------------------------------------------------------------
def test_checkpoints_keep_every_dtype(tmp_path):
    rng = np.random.default_rng(6)
    state = {d.name: gg.tensor(_sample(d, (2, 3), rng)) for d in ALL}
    path = tmp_path / "all.safetensors"
    gg.save(state, path)
    back = gg.load(path)
    for name, t in state.items():
        assert back[name].dtype is t.dtype and np.array_equal(back[name].numpy(), t.numpy())


@pytest.mark.torch
def test_pytorch_reads_the_new_dtypes_from_our_checkpoints(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file

    path = tmp_path / "small.safetensors"
    gg.save({"h": gg.tensor([1.5], dtype=gg.half), "b": gg.tensor([255], dtype=gg.uint8)}, path)
    loaded = load_file(str(path))
    assert str(loaded["h"].dtype) == "torch.float16" and loaded["h"].tolist() == [1.5]
    assert str(loaded["b"].dtype) == "torch.uint8" and loaded["b"].tolist() == [255]


def test_triangle_indices_and_logspace():
    assert gg.tril_indices(3, 4, 1).tolist() == [[0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 2, 0, 1, 2, 3]]
    up = gg.triu_indices(3, 3)
    assert up.tolist() == [[0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]] and up.dtype is gg.int64
    assert gg.triu_indices(2, 2, dtype=gg.int32).dtype is gg.int32 and gg.tril_indices(0, 3).shape == (2, 0)
    with pytest.raises(gg.ArgumentError, match="tril_indices"):
        gg.tril_indices(-1, 2)
    assert gg.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0] and gg.logspace(0, 2, 3).dtype is gg.float32
    assert gg.logspace(0, 3, 4, base=2, dtype=gg.float64).tolist() == [1.0, 2.0, 4.0, 8.0]


def test_finfo_and_iinfo_give_the_machine_limits():
    f32 = gg.finfo(gg.float32)
    assert (f32.bits, f32.eps, f32.max, f32.tiny, f32.resolution, f32.dtype) == (
        32, float(np.finfo(np.float32).eps), float(np.finfo(np.float32).max), 2.0**-126, 1e-6, "float32")
    assert f32.min == -f32.max and f32.smallest_normal == f32.tiny
    assert gg.finfo().dtype == gg.get_default_dtype().name and gg.finfo("double").bits == 64
    assert (gg.iinfo(gg.int64).max, gg.iinfo(gg.uint8).min, gg.iinfo(gg.int8).min) == (2**63 - 1, 0, -128)
    with pytest.raises(TypeError, match="iinfo"):
        gg.finfo(gg.int32)
    with pytest.raises(TypeError, match="finfo"):
        gg.iinfo(gg.float32)
    with pytest.raises(TypeError, match="not an integer"):
        gg.iinfo(gg.bool)


@pytest.mark.torch
def test_finfo_and_iinfo_match_pytorchs():
    torch = pytest.importorskip("torch")
    for dtype in (gg.float16, gg.float32, gg.float64):
        ours, theirs = gg.finfo(dtype), torch.finfo(_torch_dtype(torch, dtype))
        for name in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(ours, name) == getattr(theirs, name), (dtype, name)
        assert repr(ours) == repr(theirs)
    for dtype in (gg.uint8, gg.int8, gg.int16, gg.int32, gg.int64):
        ours, theirs = gg.iinfo(dtype), torch.iinfo(_torch_dtype(torch, dtype))
        assert (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min, theirs.dtype)


def test_bfloat16_is_a_dtype_of_the_table():
    """(Its ops: tests/autograd/test_bfloat16.py.)"""
    import pickle

    assert gg.bfloat16.is_floating_point and gg.bfloat16.itemsize == 2 and repr(gg.bfloat16) == "torch.bfloat16"
    assert gg.bfloat16.is_signed and not gg.uint8.is_signed and gg.int8.is_signed
    assert pickle.loads(pickle.dumps(gg.bfloat16)) is gg.bfloat16
    for make in (lambda: gg.zeros(2, dtype=gg.bfloat16), lambda: gg.ones(2).to(gg.bfloat16),
                 lambda: gg.tensor([1.0], dtype="bfloat16")):
        assert make().dtype is gg.bfloat16


def test_dtypes_without_tensors_yet_are_named_and_described():
    # transformers' cache_utils reads finfo(float8_e4m3fn).max in a class body; its dtype table names uint16.
    assert gg.finfo(gg.float8_e4m3fn).max == 448.0 and gg.finfo(gg.float8_e5m2).max == 57344.0
    assert gg.finfo(gg.bfloat16).eps == 2.0 ** -7 and gg.finfo(gg.bfloat16).bits == 16
    assert gg.iinfo(gg.uint16).max == 65535 and gg.iinfo(gg.uint64).min == 0
    assert isinstance(gg.uint3, gg.dtype) and isinstance(gg.int7, gg.dtype)
    for dtype in (gg.uint16, gg.float8_e5m2, gg.uint1):
        with pytest.raises(gg.DTypeError, match=f"{dtype.name} is not supported by gpugrad yet"):
            gg.zeros(2, dtype=dtype)


@pytest.mark.torch
def test_their_limits_are_pytorchs():
    torch = pytest.importorskip("torch")
    for name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        ours, theirs = gg.finfo(getattr(gg, name)), torch.finfo(getattr(torch, name))
        assert (ours.bits, ours.eps, ours.max, ours.min, ours.tiny, ours.resolution) == (
            theirs.bits, theirs.eps, theirs.max, theirs.min, theirs.tiny, theirs.resolution), name
    for name in ("uint16", "uint32", "uint64"):
        assert (gg.iinfo(getattr(gg, name)).max, gg.iinfo(getattr(gg, name)).bits) == (
            torch.iinfo(getattr(torch, name)).max, torch.iinfo(getattr(torch, name)).bits)


def test_ml_dtypes_is_imported_when_bfloat16_is_first_used():
    # Run in a fresh interpreter: this process has read bfloat16 long ago.
    import subprocess
    import sys

    script = """
import sys
import gpugrad as gg
assert "ml_dtypes" not in sys.modules, "imported with gpugrad"
import ml_dtypes, numpy as np                     # a user's own bfloat16 array, made after gpugrad's import
t = gg.from_numpy(np.ones(1000, dtype=ml_dtypes.bfloat16))
assert t.dtype is gg.bfloat16 and t.sum().item() == 1000.0   # summed in float32 (bfloat16 stalls at 256)
assert (t * 3).dtype is gg.bfloat16 and gg.tensor([1.5], dtype="bfloat16").item() == 1.5
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


def test_float64_to_half_and_bfloat16_round_through_float32_as_pytorch():
    # 1 + 2**-11 + 2**-40 lies just above float16's halfway point between 1 and 1 + 2**-10: rounded
    # directly it goes up; through float32 (PyTorch's conversion) the 2**-40 is lost first and the tie
    # rounds to even, down to 1.
    x = np.array([1 + 2.0 ** -11 + 2.0 ** -40, 1 + 2.0 ** -8 + 2.0 ** -40])
    assert gg.tensor(x).half().tolist()[0] == 1.0
    assert gg.tensor(x, dtype=gg.float16).tolist()[0] == 1.0
    assert gg.tensor(x).to(gg.bfloat16).float().tolist()[1] == 1.0  # bfloat16's halfway point: 1 + 2**-8
    assert gg.tensor(x).float().tolist() == [1.0 + 2.0 ** -11, 1.0 + 2.0 ** -8]
