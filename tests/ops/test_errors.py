"""Bad input: clear errors that name the op and the shapes/dtypes/devices, and change nothing."""
import numpy as np
import pytest

import gpugrad as gg


def snapshot(*tensors):
    return [(t.detach().numpy().copy(), None if t.grad is None else t.grad.numpy().copy(), t._version) for t in tensors]


def assert_unchanged(before, *tensors):
    for (data, grad, version), t in zip(before, tensors):
        np.testing.assert_array_equal(t.detach().numpy(), data)
        assert (t.grad is None) == (grad is None)
        if grad is not None:
            np.testing.assert_array_equal(t.grad.numpy(), grad)
        assert t._version == version


def test_matmul_shape_mismatch_names_both_shapes():
    a, b = gg.randn(3, 4, requires_grad=True), gg.randn(5, 2, requires_grad=True)
    before = snapshot(a, b)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) cannot be multiplied"):
        a @ b
    assert_unchanged(before, a, b)


def test_matmul_dtype_mismatch_is_a_type_error_and_a_runtime_error():
    with pytest.raises(TypeError, match="matmul.*float32.*float64"):
        gg.randn(2, 2) @ gg.randn(2, 2, dtype=gg.float64)
    with pytest.raises(RuntimeError):
        gg.randn(2, 2) @ gg.randn(2, 2, dtype=gg.float64)


def test_broadcast_mismatch_names_the_op_and_shapes():
    a, b = gg.randn(3, requires_grad=True), gg.randn(4)
    a.grad = gg.ones(3)
    before = snapshot(a, b)
    with pytest.raises(ValueError, match=r"add: .*\(3,\), \(4,\)"):
        a + b
    with pytest.raises(ValueError, match=r"mul: .*\(3,\), \(4,\)"):
        a * b
    assert_unchanged(before, a, b)


def test_inplace_with_a_bad_shape_changes_nothing():
    x = gg.randn(3)
    before = snapshot(x)
    with pytest.raises(ValueError, match="add_"):
        x.add_(gg.randn(2, 3))
    with pytest.raises(ValueError, match="mul_"):
        x.mul_(gg.randn(4))
    assert_unchanged(before, x)


def test_inplace_float_into_int_is_a_dtype_error():
    x = gg.arange(3)
    with pytest.raises(TypeError, match="add_.*int64"):
        x.add_(0.5)


def test_reshape_to_an_impossible_shape():
    with pytest.raises(ValueError, match=r"reshape: shape \[4, 4\] is invalid for input of shape \(3, 5\)"):
        gg.randn(3, 5).reshape(4, 4)


def test_dims_out_of_range():
    with pytest.raises(IndexError, match="sum: dimension 2 out of range"):
        gg.randn(3, 4).sum(dim=2)
    with pytest.raises(IndexError, match="softmax: dimension -3"):
        gg.randn(3, 4).softmax(dim=-3)


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"index: .*\(3, 4\)"):
        gg.randn(3, 4)[gg.tensor([0, 5])]


def test_float_only_ops_refuse_integer_tensors():
    # Math functions promote integers to float (exp of an int tensor is float32, as PyTorch); a reduction
    # whose result dtype PyTorch cannot infer from an integer input refuses it, as PyTorch.
    assert gg.arange(3).exp().dtype is gg.float32
    with pytest.raises(TypeError, match="mean: expected a floating point or complex tensor, got torch.int64"):
        gg.arange(3).mean()


def test_cat_with_mismatched_shapes():
    with pytest.raises(ValueError, match=r"cat: sizes must match except in dim 0.*\(2, 3\).*\(2, 4\)"):
        gg.cat([gg.randn(2, 3), gg.randn(2, 4)])


def test_moving_to_an_unusable_cuda_device_says_why():
    if gg.cuda.is_available():
        pytest.skip("a CUDA device is usable here")
    with pytest.raises(RuntimeError, match="cannot use device 'cuda:0': "):
        gg.randn(2).to("cuda")


def test_unknown_device_and_dtype():
    with pytest.raises(RuntimeError, match="unknown device 'tpu'"):
        gg.zeros(2, device="tpu")
    with pytest.raises(TypeError, match="unsupported dtype"):
        gg.zeros(2, dtype="complex32")


def test_pytorchs_other_device_types_are_names_that_hold_no_tensor():
    # peft compares a tensor's device with torch.device("mps") on any machine.
    mps, xpu1 = gg.device("mps"), gg.device("xpu:1")
    assert (mps.type, mps.index, xpu1.type, xpu1.index) == ("mps", None, "xpu", 1)
    assert (repr(mps), str(xpu1)) == ("device(type='mps')", "xpu:1")
    assert mps == gg.device("mps") and mps != gg.device("cpu") and gg.ones(1).device != mps
    for place in (lambda: gg.zeros(2, device="mps"), lambda: gg.ones(2).to(mps), lambda: gg.nn.Linear(2, 2).to("xpu")):
        with pytest.raises(RuntimeError, match="cannot use device '(mps|xpu)': gpugrad runs on 'cpu' and 'cuda'"):
            place()
    for bad in ("mps:x", "cpu:01", "cuda:", "cpu:-1", "tpu"):
        with pytest.raises(RuntimeError, match="(invalid|unknown) device"):
            gg.device(bad)


def test_an_indexed_cpu_device_places_on_the_cpu():
    # PyTorch takes "cpu:0" (and "meta:0") as names; a tensor put there reports the plain device.
    cpu0 = gg.device("cpu:0")
    assert (cpu0.type, cpu0.index, repr(cpu0)) == ("cpu", 0, "device(type='cpu', index=0)")
    assert cpu0 != gg.device("cpu") and len({cpu0, gg.device("cpu")}) == 2
    assert gg.empty(0, device=cpu0).device == gg.device("cpu") and gg.ones(2).to("cpu:1").device.index is None
    assert gg.zeros(1, device="meta:0").device == gg.device("meta")


def test_device_types_as_torch():
    torch = pytest.importorskip("torch")
    for spec in ("mps", "xpu:1", "hpu", "privateuseone", "cuda:2", "meta", "cpu:0", "meta:3"):
        assert repr(gg.device(spec)) == repr(torch.device(spec))
    with pytest.raises(RuntimeError):
        torch.device("tpu")


def test_backward_gradient_of_the_wrong_shape():
    x = gg.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient of shape \(2,\) does not match output of shape \(3,\)"):
        (x * 2).backward(gg.ones(2))
    assert x.grad is None


def test_numpy_on_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="detach"):
        gg.randn(2, requires_grad=True).numpy()


@pytest.mark.parametrize(
    "bad, err, match",
    [
        (lambda: gg.ones(2), gg.ShapeError, r"grad: .*different size \(\(2,\)\).*\(\(3,\)\)"),
        (lambda: gg.ones(3, dtype=gg.float64), gg.DTypeError, r"grad: .*float64.*float32"),
        (lambda: [1.0, 2.0, 3.0], TypeError, r"grad: .*Tensor or None.*list"),
    ],
)
def test_assigning_a_mismatched_grad_is_refused_and_keeps_the_old_one(bad, err, match):
    a = gg.randn(3, requires_grad=True)
    a.grad = gg.ones(3)
    with pytest.raises(err, match=match):
        a.grad = bad()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones(3))
    a.grad = None
    assert a.grad is None


# Calls PyTorch refuses, refused here too (and the error names the function) -----------------------------
REFUSED = [
    ("where", lambda lib, t: lib.where(t > 3, t, 1000), r"where: value 1000 cannot be converted to type uint8"),
    ("clamp", lambda lib, t: t.clamp(-1, 300), r"clamp: value -1 cannot be converted to type uint8"),
    ("matmul_bool", lambda lib, t: (t > 3).reshape(3, 1) @ (t > 3).reshape(1, 3), r"matmul: .*Bool"),
    ("sub__bool", lambda lib, t: t.clone().sub_(t > 3), r"sub: .*bool"),
    ("square__bool", lambda lib, t: (t > 3).square_(), r"square_: .*int64.*bool"),
    ("add__int_into_bool", lambda lib, t: (t > 3).add_(1), r"add_: .*bool"),
    ("add_out_int_into_bool", lambda lib, t: lib.add(t, 1, out=lib.zeros(3, dtype=lib.bool)), r"add: .*uint8.*bool"),
]


def _uint8(lib):
    return lib.tensor([1, 5, 200], dtype=lib.uint8)


@pytest.mark.parametrize("call, match", [(c, m) for _, c, m in REFUSED], ids=[n for n, _, _ in REFUSED])
def test_calls_pytorch_refuses_are_refused(call, match):
    t = _uint8(gg)
    with pytest.raises(RuntimeError, match=match):
        call(gg, t)
    np.testing.assert_array_equal(t.numpy(), [1, 5, 200])


@pytest.mark.torch
@pytest.mark.parametrize("call", [c for _, c, _ in REFUSED], ids=[n for n, _, _ in REFUSED])
def test_pytorch_refuses_them_too(call):
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, NotImplementedError)):
        call(torch, _uint8(torch))


def test_in_range_scalars_and_in_place_rounding_division_still_work():
    t = _uint8(gg)
    np.testing.assert_array_equal(gg.where(t > 3, t, 255).numpy(), [255, 5, 200])
    np.testing.assert_array_equal(t.clamp(2, 100).numpy(), [2, 5, 100])
    x = gg.tensor([5.0, -7.0])
    np.testing.assert_array_equal(x.div_(2, rounding_mode="floor").numpy(), [2.0, -4.0])
    np.testing.assert_array_equal(x.div_(3, rounding_mode="trunc").numpy(), [0.0, -1.0])


@pytest.mark.torch
@pytest.mark.parametrize("case", ["add", "mul", "sub", "where", "lt", "maximum", "atan2", "expand dims"])
def test_broadcast_mismatch_reads_as_pytorchs_sentence(case):
    """The dims that do not match, named as PyTorch names them (libraries match its words)."""
    torch = pytest.importorskip("torch")
    calls = {
        "add": lambda lib: lib.ones(1, 2) + lib.ones(3, 1, 3),
        "mul": lambda lib: lib.ones(2, 5) * lib.ones(3, 1),
        "sub": lambda lib: lib.ones(4) - lib.ones(2, 3),
        "where": lambda lib: lib.where(lib.ones(1, 2) > 0, lib.ones(1, 2), lib.ones(4)),
        "lt": lambda lib: lib.ones(1, 2) < lib.ones(3),
        "maximum": lambda lib: lib.maximum(lib.ones(2, 3, 4), lib.ones(3, 5)),
        "atan2": lambda lib: lib.atan2(lib.ones(2, 1, 6), lib.ones(7, 5)),
        "expand dims": lambda lib: lib.ones(2, 3, 1) + lib.ones(1, 4, 5),
    }
    _says_pytorchs_sentence(torch, calls[case], RuntimeError)


@pytest.mark.torch
@pytest.mark.parametrize("case", ["unbind", "sum of 0-d", "sum -3", "linalg.cross", "fft", "softmax", "cumsum"])
def test_dim_out_of_range_reads_as_pytorchs_sentence(case):
    torch = pytest.importorskip("torch")
    calls = {
        "unbind": lambda lib: lib.ones(3).unbind(1),
        "sum of 0-d": lambda lib: lib.ones(()).sum(1),
        "sum -3": lambda lib: lib.ones(2, 3).sum(-3),
        "linalg.cross": lambda lib: lib.linalg.cross(lib.ones(3), lib.ones(3), dim=2),
        "fft": lambda lib: lib.fft.fft(lib.ones(3), dim=2),
        "softmax": lambda lib: lib.ones(2, 3).softmax(2),
        "cumsum": lambda lib: lib.ones(2, 3).cumsum(-3),
    }
    _says_pytorchs_sentence(torch, calls[case], IndexError)


def _says_pytorchs_sentence(torch, call, error: type) -> None:
    """``call(gg)`` raises ``error`` with PyTorch's message for ``call(torch)`` among its words."""
    messages = []
    for lib in (gg, torch):
        with pytest.raises(error) as info:
            call(lib)
        messages.append(str(info.value))
    assert messages[1] in messages[0], messages
