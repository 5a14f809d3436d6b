"""``Tensor.data``: PyTorch's detached view that autograd does not watch."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


def test_data_is_a_detached_tensor_sharing_storage():
    p = nn.Parameter(gg.tensor([1.0, 2.0, 3.0]))
    d = p.data
    assert isinstance(d, gg.Tensor) and not isinstance(d, nn.Parameter)
    assert not d.requires_grad and d.grad_fn is None
    assert d.size(0) == 3 and d.shape == (3,)
    d.add_(1.0)  # in place on a leaf that requires grad: allowed through .data
    np.testing.assert_array_equal(p.detach().numpy(), [2.0, 3.0, 4.0])


def test_changes_through_data_are_invisible_to_the_version_check():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x  # saves x
    x.data.mul_(10.0)
    y.sum().backward()  # PyTorch does not complain either: the gradient uses the new values
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 40.0])
    z = x * x
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        x.detach().mul_(2.0)  # detach() shares the counter, so this one is caught
        z.sum().backward()


def test_assigning_data_replaces_values_shape_and_dtype():
    p = nn.Parameter(gg.zeros(2, 3))
    p.data = gg.ones(4)
    assert p.shape == (4,) and p.requires_grad and p.is_leaf
    p.data = gg.arange(3)
    assert p.dtype == gg.int64
    with pytest.raises(TypeError, match="data: assigned data expected to be a Tensor"):
        p.data = np.ones(3)


def test_optimizer_follows_a_parameter_whose_data_was_assigned():
    layer = nn.Linear(3, 2)
    opt = gg.optim.SGD(layer.parameters(), lr=0.5)
    layer(gg.ones(1, 3)).sum().backward()
    opt.step()  # the parameters now live in the optimizer's flat buffer
    layer.weight.data = gg.zeros(2, 3)
    opt.zero_grad()
    layer(gg.ones(1, 3)).sum().backward()
    opt.step()
    np.testing.assert_allclose(layer.weight.detach().numpy(), np.full((2, 3), -0.5))
    layer.weight.data.fill_(1.0)  # written through the view, seen by the next step
    opt.zero_grad()
    layer(gg.ones(1, 3)).sum().backward()
    opt.step()
    np.testing.assert_allclose(layer.weight.detach().numpy(), np.full((2, 3), 0.5))


@pytest.mark.torch
def test_data_idioms_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = gg.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0], requires_grad=True)
    for x, lib in ((ours, gg), (theirs, torch)):
        y = (x * 3).sum()
        y.backward()
        x.data.sub_(0.1 * x.grad.data)  # the classic hand-written SGD step
        x.grad.data.zero_()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_deepcopy_of_a_model_copies_parameters_and_grads():
    import copy

    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model(gg.ones(4, 3)).sum().backward()
    twin = copy.deepcopy(model)
    for (name, a), (_, b) in zip(model.named_parameters(), twin.named_parameters()):
        assert type(b) is nn.Parameter and b.requires_grad and b is not a, name
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    twin[0].weight.data.add_(1.0)
    assert not np.array_equal(model[0].weight.detach().numpy(), twin[0].weight.detach().numpy())
    np.testing.assert_array_equal(model[1].running_mean.numpy(), twin[1].running_mean.numpy())
    with pytest.raises(RuntimeError, match="deepcopy: only tensors created explicitly"):
        copy.deepcopy(model[0].weight * 2)


def test_device_and_layout_predicates_for_a_dense_cpu_tensor():
    x = gg.ones(2)
    assert x.is_cpu and not x.is_cuda
    assert not (x.is_xpu or x.is_mps or x.is_meta or x.is_sparse or x.is_quantized or x.is_nested)


def test_module_level_tensor_questions():
    x = gg.ones(2, 3)
    assert gg.is_tensor(x) and gg.is_tensor(gg.nn.Parameter(x)) and not gg.is_tensor(x.numpy())
    assert gg.is_floating_point(x) and not gg.is_floating_point(gg.tensor([1]))
    assert not gg.is_complex(x) and not x.is_complex()
    assert gg.numel(x) == 6 == x.nelement()


def test_real_tensors_are_their_own_conjugate_and_real_part():
    x = gg.tensor([1.0, -2.0])
    assert gg.conj(x) is x and x.conj() is x and gg.resolve_conj(x) is x and gg.resolve_neg(x) is x
    assert gg.real(x) is x and x.real is x
    assert gg.is_nonzero(gg.tensor([2])) and not gg.tensor(0.0).is_nonzero()
    with pytest.raises(RuntimeError, match="is_nonzero"):
        gg.is_nonzero(x)


@pytest.mark.torch
def test_questions_conjugates_triangle_indices_logspace_and_signbit_match_pytorch():
    torch = pytest.importorskip("torch")
    values = np.array([-0.0, 0.0, -2.5, 3.0, -np.inf, np.nan, -np.nan], np.float32)
    mine, theirs = gg.tensor(values), torch.tensor(values)
    np.testing.assert_array_equal(gg.signbit(mine).numpy(), torch.signbit(theirs).numpy())
    np.testing.assert_array_equal(gg.signbit(gg.tensor([-3, 0, 4])).numpy(), torch.signbit(torch.tensor([-3, 0, 4])).numpy())
    for name in ("is_tensor", "is_floating_point", "is_complex", "numel"):
        assert getattr(gg, name)(mine) == getattr(torch, name)(theirs), name
    assert gg.is_nonzero(gg.tensor([0.5])) == torch.is_nonzero(torch.tensor([0.5]))
    for name in ("conj", "resolve_conj", "resolve_neg", "real"):
        np.testing.assert_array_equal(getattr(gg, name)(mine).numpy(), getattr(torch, name)(theirs).numpy())
    for args in ((3, 4, 1), (4, 3, -1), (5, 5, 0), (0, 2, 0)):
        np.testing.assert_array_equal(gg.tril_indices(*args).numpy(), torch.tril_indices(*args).numpy())
        np.testing.assert_array_equal(gg.triu_indices(*args).numpy(), torch.triu_indices(*args).numpy())
    for args, kwargs in (((-2, 3, 11), {}), ((0, 5, 6), {"base": 2.0}), ((1, -1, 4), {"dtype": "float64"})):
        kw_torch = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
        kw_gg = {k: getattr(gg, v) if k == "dtype" else v for k, v in kwargs.items()}
        np.testing.assert_allclose(gg.logspace(*args, **kw_gg).numpy(), torch.logspace(*args, **kw_torch).numpy(), rtol=1e-6)


def test_window_functions():
    assert gg.hann_window(5, periodic=False).tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0], abs=1e-7)
    assert gg.hann_window(4).tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5], abs=1e-7)  # periodic: 5 points, last dropped
    assert gg.bartlett_window(5, False).tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
    assert gg.hamming_window(3, False).tolist() == pytest.approx([0.08, 1.0, 0.08])
    assert gg.blackman_window(1).tolist() == [1.0] and gg.kaiser_window(0).shape == (0,)
    k = gg.kaiser_window(5, False, beta=0.0)  # beta 0: all ones
    assert k.tolist() == pytest.approx([1.0] * 5)
    assert gg.hann_window(4, dtype=gg.float64).dtype is gg.float64
    with pytest.raises(TypeError, match="floating point"):
        gg.hann_window(4, dtype=gg.int64)
    with pytest.raises(ValueError, match="non-negative"):
        gg.hann_window(-1)


@pytest.mark.torch
def test_window_functions_match_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
        for length in (0, 1, 2, 5, 8):
            for periodic in (True, False):
                ours = getattr(gg, name)(length, periodic, dtype=gg.float64).numpy()
                theirs = getattr(torch, name)(length, periodic, dtype=torch.float64).numpy()
                np.testing.assert_allclose(ours, theirs, atol=1e-12, err_msg=f"{name}({length}, {periodic})")


def test_small_tensor_methods_pytorch_has():
    x = gg.ones(2, 3)
    assert x.ndimension() == 2 and x.nbytes == 24 and x.itemsize == 4
    assert x.H.shape == (3, 2) and x.adjoint().shape == (3, 2)
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        gg.ones(2, 2, 2).H
    y = gg.tensor([1.0, 2.0, 3.0])
    y.gt_(1.5)
    assert y.tolist() == [0.0, 1.0, 1.0] and y.dtype is gg.float32
    z = gg.tensor([1, 0, 2])
    z.logical_not_()
    assert z.tolist() == [0, 1, 0] and gg.tensor([1, 0]).logical_or(gg.tensor([0, 0])).tolist() == [True, False]
    d = gg.zeros(5, 3)
    d.fill_diagonal_(2.0, wrap=True)
    assert d[:, 0].tolist() == [2.0, 0.0, 0.0, 0.0, 2.0] and d.sum().item() == 8.0
    with pytest.raises(ValueError, match="equal length"):
        gg.zeros(2, 3, 3).fill_diagonal_(1.0)


@pytest.mark.torch
def test_fill_diagonal_matches_pytorch():
    torch = pytest.importorskip("torch")
    for shape in ((4, 4), (6, 3), (3, 6), (3, 3, 3)):
        for wrap in (False, True):
            ours, theirs = gg.zeros(*shape), torch.zeros(*shape)
            ours.fill_diagonal_(7.0, wrap=wrap)
            theirs.fill_diagonal_(7.0, wrap=wrap)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_memory_questions_and_legacy_methods():
    x = gg.ones(2, 3)
    view = x[:, 1:]
    assert view.storage_offset() == 1 and x.storage_offset() == 0
    assert view.data_ptr() == x.data_ptr() + view.storage_offset() * x.element_size()
    assert x.get_device() == -1 and not x.is_pinned() and not x.is_shared() and x.output_nr == 0
    assert x.new(2).shape == (2,) and x.new([1, 2]).dtype is gg.float32 and x.new().shape == (0,)
    with pytest.raises(gg.DTypeError):
        x.new(gg.tensor([1, 2]))  # a tensor of another dtype, as PyTorch refuses
    z = gg.arange(3.0)
    assert z.resize_(2, 2) is z and z.shape == (2, 2) and z.reshape(-1)[:3].tolist() == [0.0, 1.0, 2.0]
    assert z.resize_as_(gg.ones(4)).shape == (4,)
    with pytest.raises(RuntimeError, match="requires grad"):
        gg.ones(3, requires_grad=True).resize_(2)
    a = gg.arange(6.0).reshape(2, 3)
    a.put_(gg.tensor([0, -1]), gg.tensor([9.0, 8.0]))
    assert a.reshape(-1).tolist() == [9.0, 1.0, 2.0, 3.0, 4.0, 8.0]
    assert a.put(gg.tensor([1, 1]), gg.tensor([1.0, 2.0]), accumulate=True)[0, 1].item() == 4.0
    with pytest.raises(gg.ShapeError, match="put"):
        a.put(gg.tensor([1]), gg.tensor([1.0, 2.0]))
    a.map_(gg.ones(3), lambda u, v: u + v)
    a.apply_(lambda u: u * 2)
    assert a.reshape(-1).tolist() == [20.0, 4.0, 6.0, 8.0, 10.0, 18.0]
    copy = a.narrow_copy(1, 0, 2)
    copy[0, 0] = -1.0
    assert a[0, 0].item() == 20.0  # its own memory, unlike narrow


def test_dim_order_conj_physical_and_new_empty_strided():
    x = gg.ones(2, 3)
    assert x.dim_order() == (0, 1) and x.t().dim_order() == (1, 0)
    assert x.conj_physical() is x and gg.conj_physical(x) is x  # a real tensor is its own conjugate
    assert x.new_empty_strided((4, 2), (2, 1)).shape == (4, 2)
    y = gg.tensor([-1.0, 0.0, 2.0])
    assert y.heaviside_(gg.tensor([0.5, 0.5, 0.5])) is y and y.tolist() == [0.0, 0.5, 1.0]


def test_dict_holds_only_the_attributes_set_from_outside():
    # accelerate's and peft's init_empty_weights rebuild a parameter as type(p)(p.to("meta"), **p.__dict__).
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2)[1:]
    y.retain_grad()
    y.sum().backward()
    for t in (x, y, x.grad, nn.Linear(2, 2).weight):
        assert dict(t.__dict__) == {} and vars(t) == {} and len(t.__dict__) == 0
    p = nn.Parameter(gg.ones(2))
    p._is_hf_initialized = True
    assert p.__dict__ == {"_is_hf_initialized": True} and list(p.__dict__) == ["_is_hf_initialized"]
    kwargs = p.__dict__
    kwargs["requires_grad"] = False  # written through, as in PyTorch: the property still answers
    assert kwargs.pop("_is_hf_initialized") is True and not hasattr(p, "_is_hf_initialized")
    q = type(p)(p.to("meta"), **kwargs)
    assert type(q) is nn.Parameter and q.device.type == "meta" and not q.requires_grad and p.requires_grad
    p.__dict__["note"] = "set through the view"
    assert p.note == "set through the view"
    del p.__dict__["note"]
    assert not hasattr(p, "note")
    with pytest.raises(KeyError, match="own state"):
        p.__dict__["_array"] = None
    with pytest.raises(KeyError):
        p.__dict__["_version_ref"]
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 1.0])


def test_dict_as_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda m: m.nn.Parameter(m.ones(2)), lambda m: (m.ones(2, requires_grad=True) * 2)):
        mine, theirs = make(gg), make(torch)
        assert dict(mine.__dict__) == dict(theirs.__dict__) == {}
        mine.tag = theirs.tag = 1
        assert dict(mine.__dict__) == dict(theirs.__dict__) == {"tag": 1}


def test_assigning_dict_replaces_the_attributes_and_keeps_the_tensor():
    p = nn.Parameter(gg.tensor([1.0, 2.0]))
    p.old = 1
    p.__dict__ = {"new": 2}
    assert dict(p.__dict__) == {"new": 2} and not hasattr(p, "old") and p.new == 2
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])
    assert p.requires_grad and p.is_leaf
    with pytest.raises(KeyError, match="own state"):
        p.__dict__ = {"_array": None}
    assert p.new == 2 and p.shape == (2,)
