"""Number arguments (add's ``alpha``, addcmul's ``value``, addmm's ``beta`` and ``alpha``) given as 0-d
tensors: read as numbers, as PyTorch's argument parser reads them. Optimizers pass their step size this way
(``p.add_(update, alpha=-step_size)`` with a tensor ``step_size``); an in-place add that ignored it would
leave the parameters where they were, silently."""
import numpy as np
import pytest

import gpugrad as gg

A = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
B = np.array([[0.25, 4.0], [-1.0, 2.0]], np.float32)

# (name, call(lib, a, b, scale) with scale a number or a 0-d tensor, the value NumPy gives for scale 0.5)
CALLS = [
    ("add_", lambda lib, a, b, s: a.clone().add_(b, alpha=s), A + 0.5 * B),
    ("sub_", lambda lib, a, b, s: a.clone().sub_(b, alpha=s), A - 0.5 * B),
    ("add", lambda lib, a, b, s: lib.add(a, b, alpha=s), A + 0.5 * B),
    ("sub", lambda lib, a, b, s: lib.sub(a, b, alpha=s), A - 0.5 * B),
    ("addcmul_", lambda lib, a, b, s: a.clone().addcmul_(b, b, value=s), A + 0.5 * B * B),
    ("addcdiv", lambda lib, a, b, s: lib.addcdiv(a, a, b, value=s), A + 0.5 * A / B),
    ("addmm", lambda lib, a, b, s: lib.addmm(a, a, b, beta=s, alpha=s), 0.5 * A + 0.5 * (A @ B)),
    ("index_add", lambda lib, a, b, s: a.index_add(0, lib.tensor([1, 0]), b, alpha=s), A + 0.5 * B[::-1]),
]


@pytest.mark.parametrize("name, call, want", CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "recorded"])
def test_a_zero_dim_tensor_is_read_as_its_number(name, call, want, grad):
    a = gg.tensor(A, requires_grad=grad)
    base = a * 1 if grad else a  # in-place ops need a non-leaf while recording
    with gg.set_grad_enabled(grad):
        got = call(gg, base, gg.tensor(B), gg.tensor(0.5))
        same = call(gg, base, gg.tensor(B), 0.5)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-6)
    np.testing.assert_array_equal(got.detach().numpy(), same.detach().numpy())
    if grad:
        got.sum().backward()
        assert a.grad is not None


@pytest.mark.parametrize("scale, kind", [(gg.tensor([0.5]), "Tensor"), (gg.tensor(0.5, requires_grad=True), "Tensor"),
                                         ("0.5", "str")], ids=["one_element", "requires_grad", "str"])
@pytest.mark.parametrize("name, call", [(c[0], c[1]) for c in CALLS], ids=[c[0] for c in CALLS])
def test_other_values_are_refused_naming_the_argument(name, call, scale, kind):
    arg = {"addcmul_": "value", "addcdiv": "value", "addmm": "beta"}.get(name, "alpha")
    with pytest.raises(TypeError, match=rf"\(\): argument '{arg}' must be Number, not {kind}"):
        call(gg, gg.tensor(A), gg.tensor(B), scale)


def test_a_refused_in_place_add_leaves_the_tensor_as_it_was():
    a = gg.tensor(A)
    with pytest.raises(TypeError):
        a.add_(gg.tensor(B), alpha=gg.tensor([2.0]))
    np.testing.assert_array_equal(a.numpy(), A)
    assert a._version == 0


@pytest.mark.torch
@pytest.mark.parametrize("name, call, want", CALLS, ids=[c[0] for c in CALLS])
def test_zero_dim_arguments_match_pytorch(name, call, want):
    torch = pytest.importorskip("torch")
    ours = call(gg, gg.tensor(A), gg.tensor(B), gg.tensor(0.5)).numpy()
    theirs = call(torch, torch.tensor(A), torch.tensor(B), torch.tensor(0.5)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    with pytest.raises(TypeError):
        call(torch, torch.tensor(A), torch.tensor(B), torch.tensor([0.5]))


DIM_CALLS = {
    "index_select": lambda lib, x, d: x.index_select(dim=d, index=lib.tensor([0])),
    "sum": lambda lib, x, d: x.sum(dim=d),
    "sum over a tuple": lambda lib, x, d: x.sum(dim=(0, d)),
    "softmax": lambda lib, x, d: x.softmax(dim=d),
    "cat": lambda lib, x, d: lib.cat([x, x], dim=d),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(DIM_CALLS))
def test_dims_given_as_integer_tensors_or_numpy_ints_as_pytorch(name):
    """botorch's pathwise samplers keep index_select's dim in a 0-d tensor; PyTorch reads anything with
    __index__ as a dim and refuses a float tensor."""
    torch = pytest.importorskip("torch")
    values = np.arange(6.0).reshape(2, 3)
    for make_dim in (lambda lib: lib.tensor(1), lambda lib: np.int64(1)):
        ours = DIM_CALLS[name](gg, gg.tensor(values), make_dim(gg))
        theirs = DIM_CALLS[name](torch, torch.tensor(values), make_dim(torch))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(TypeError, match="must be int, not Tensor"):
        gg.tensor(values).index_select(gg.tensor(0.0), gg.tensor([0]))


def test_a_reduction_takes_a_one_element_tensor_as_its_dims():
    assert gg.ones(2, 3).sum(dim=gg.tensor([1])).tolist() == [3.0, 3.0]  # as PyTorch's sum does
