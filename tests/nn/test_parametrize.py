"""nn.utils.parametrize and nn.utils.parametrizations (orthogonal, weight_norm, spectral_norm), and the
smaller nn.utils pieces beside them (stateless, fusion, skip_init, the clip_grad / convert_parameters
module paths): closed forms and error cases, and PyTorch running the same thing."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.nn.utils import parametrizations as PZ
from gpugrad.nn.utils import parametrize as P


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class NoInverse(nn.Module):
    def forward(self, X):
        return X * 2.0


class Split(nn.Module):
    """weight = a + b, from two tensors: right_inverse returns a tuple."""

    def forward(self, a, b):
        return a + b

    def right_inverse(self, W):
        return W * 0.25, W * 0.75


class Transpose(nn.Module):
    def forward(self, X):
        return X.mT


class Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, X):
        self.calls += 1
        return X + 0.0


def _np(t):
    return t.detach().numpy()


def test_register_parametrization_moves_the_tensor_and_computes_it_on_each_read():
    layer = nn.Linear(3, 3)
    weight = layer.weight
    P.register_parametrization(layer, "weight", Symmetric())
    assert type(layer).__name__ == "ParametrizedLinear" and isinstance(layer, nn.Linear)
    assert P.type_before_parametrizations(layer) is nn.Linear
    assert P.is_parametrized(layer) and P.is_parametrized(layer, "weight") and not P.is_parametrized(layer, "bias")
    assert [n for n, _ in layer.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert layer.parametrizations.weight.original is weight  # the same Parameter: optimizers keep it
    assert isinstance(layer.parametrizations.weight, P.ParametrizationList)
    np.testing.assert_allclose(_np(layer.weight), _np(layer.weight).T)
    # An optimizer trains the original; the weight stays symmetric.
    opt = optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        layer(gg.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    assert weight.grad is not None
    np.testing.assert_allclose(_np(layer.weight), _np(layer.weight).T)
    # Assignment goes through right_inverse into the same original.
    target = gg.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]])
    layer.weight = target
    np.testing.assert_allclose(_np(layer.weight), target.numpy())
    np.testing.assert_allclose(_np(weight), np.triu(target.numpy()))
    with pytest.raises(KeyError, match="already exists"):
        layer.weight = nn.Parameter(gg.zeros(3, 3))
    assert "ParametrizedLinear(" in repr(layer) and "(0): Symmetric()" in repr(layer)


def test_remove_parametrizations_restores_the_class_and_keeps_the_parameter_object():
    for leave in (True, False):
        layer = nn.Linear(3, 3)
        weight = layer.weight
        P.register_parametrization(layer, "weight", Symmetric())
        value, original = _np(layer.weight).copy(), _np(weight).copy()
        P.remove_parametrizations(layer, "weight", leave_parametrized=leave)
        assert type(layer) is nn.Linear and not hasattr(layer, "parametrizations")
        assert layer.weight is weight and [n for n, _ in layer.named_parameters()] == ["bias", "weight"]  # as PyTorch
        np.testing.assert_allclose(_np(layer.weight), value if leave else original)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        P.remove_parametrizations(nn.Linear(2, 2), "weight")


def test_chained_parametrizations_and_buffers():
    layer = nn.Linear(3, 3)
    P.register_parametrization(layer, "weight", Symmetric())
    P.register_parametrization(layer, "weight", NoInverse())
    np.testing.assert_allclose(_np(layer.weight), 2 * _np(Symmetric()(layer.parametrizations.weight.original)))
    assert len(layer.parametrizations.weight) == 2
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        layer.weight = gg.eye(3)
    # A buffer can be parametrized too: its original is a buffer.
    bn = nn.BatchNorm1d(3)
    P.register_parametrization(bn, "running_var", NoInverse())
    assert "parametrizations.running_var.original" in dict(bn.named_buffers())
    np.testing.assert_allclose(_np(bn.running_var), 2 * np.ones(3))
    # Removing one tensor's parametrization keeps the other one's class.
    P.register_parametrization(layer, "bias", NoInverse())
    P.remove_parametrizations(layer, "bias")
    assert type(layer).__name__ == "ParametrizedLinear" and P.is_parametrized(layer, "weight")


def test_tuple_right_inverse_registers_original0_original1():
    layer = nn.Linear(2, 2)
    before = _np(layer.weight).copy()
    P.register_parametrization(layer, "weight", Split())
    plist = layer.parametrizations.weight
    assert not plist.is_tensor and plist.ntensors == 2
    assert [n for n, _ in layer.named_parameters()] == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    np.testing.assert_allclose(_np(plist.original0), 0.25 * before, rtol=1e-6)
    np.testing.assert_allclose(_np(layer.weight), before, rtol=1e-6)
    layer.weight = gg.ones(2, 2)
    np.testing.assert_allclose(_np(plist.original1), 0.75 * np.ones((2, 2)))
    with pytest.raises(ValueError, match="leave_parametrized"):
        P.remove_parametrizations(layer, "weight", leave_parametrized=False)
    P.remove_parametrizations(layer, "weight")
    assert isinstance(layer.weight, nn.Parameter) and type(layer) is nn.Linear
    np.testing.assert_allclose(_np(layer.weight), np.ones((2, 2)))


def test_register_errors_leave_the_module_unchanged():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(layer, "nope", Symmetric())
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(layer, "weight", Transpose())
    assert type(layer) is nn.Linear and [n for n, _ in layer.named_parameters()] == ["weight", "bias"]

    class ToDouble(nn.Module):
        def forward(self, X):
            return X.double()

    with pytest.raises(ValueError, match="may not change the dtype"):
        P.register_parametrization(nn.Linear(2, 2), "weight", ToDouble())
    P.register_parametrization(layer, "weight", Split())
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(layer, "weight", Transpose())  # checked against the current weight
    P.register_parametrization(layer, "weight", Transpose(), unsafe=True)  # unsafe skips the checks
    assert tuple(layer.weight.shape) == (3, 2)
    assert layer.parametrizations.weight.unsafe


def test_cached_computes_each_parametrized_tensor_once():
    layer = nn.Linear(2, 2)
    counter = Counting()
    P.register_parametrization(layer, "weight", counter)
    counter.calls = 0
    with P.cached():
        first = layer.weight
        with P.cached():
            assert layer.weight is first
        assert layer.weight is first
    assert counter.calls == 1
    layer.weight  # noqa: B018 - a read outside the context computes again
    assert counter.calls == 2


def test_deepcopy_gives_an_independent_module_and_pickling_is_refused():
    layer = nn.Linear(3, 3)
    P.register_parametrization(layer, "weight", Symmetric())
    twin = copy.deepcopy(layer)
    assert type(twin).__name__ == "ParametrizedLinear" and P.type_before_parametrizations(twin) is nn.Linear
    assert twin.parametrizations.weight.original is not layer.parametrizations.weight.original
    np.testing.assert_allclose(_np(twin.weight), _np(layer.weight))
    P.remove_parametrizations(twin, "weight")  # must not disturb the original module's class
    assert type(twin) is nn.Linear and type(layer).__name__ == "ParametrizedLinear"
    np.testing.assert_allclose(_np(layer.weight), _np(layer.weight).T)
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(layer)


def test_state_dict_round_trip_and_transfer():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    for m in (a, b):
        P.register_parametrization(m, "weight", Symmetric())
    b.load_state_dict(a.state_dict())
    np.testing.assert_allclose(_np(b.weight), _np(a.weight))
    c = nn.Linear(3, 3)
    P.transfer_parametrizations_and_params(a, c)
    assert P.is_parametrized(c, "weight") and c.parametrizations.weight.original is a.parametrizations.weight.original
    np.testing.assert_allclose(_np(c.weight), _np(a.weight))
    assert P.transfer_parametrizations_and_params(nn.Linear(2, 2), c) is c  # nothing to transfer


def test_parametrized_linear_in_sequential_and_functional_call():
    layer = nn.Linear(3, 3)
    P.register_parametrization(layer, "weight", Symmetric())
    model = nn.Sequential(layer, nn.ReLU())  # Linear + ReLU may fuse: it must read the parametrized weight
    x = gg.randn(2, 3)
    w = _np(layer.weight)
    np.testing.assert_allclose(_np(model(x)), np.maximum(x.numpy() @ w.T + _np(layer.bias), 0), rtol=1e-5, atol=1e-6)
    zeros = {"0.parametrizations.weight.original": gg.zeros(3, 3)}
    np.testing.assert_allclose(_np(gg.func.functional_call(model, zeros, (x,))),
                               np.maximum(np.broadcast_to(_np(layer.bias), (2, 3)), 0), atol=1e-7)
    with pytest.warns(FutureWarning, match="functional_call"):
        out = nn.utils.stateless.functional_call(model, zeros, x)
    np.testing.assert_allclose(_np(out), np.maximum(np.broadcast_to(_np(layer.bias), (2, 3)), 0), atol=1e-7)
    np.testing.assert_allclose(_np(layer.weight), w)  # the module is unchanged afterwards


# parametrizations ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal_stays_orthogonal_under_training(shape, orthogonal_map, use_trivialization):
    gg.manual_seed(0)
    layer = PZ.orthogonal(nn.Linear(shape[1], shape[0]), orthogonal_map=orthogonal_map,
                          use_trivialization=use_trivialization)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        layer(gg.randn(3, shape[1])).pow(2).sum().backward()
        opt.step()
    W = _np(layer.weight).astype(np.float64)
    gram = W @ W.T if shape[0] <= shape[1] else W.T @ W  # orthonormal rows when wide, columns when tall
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)
    keys = list(layer.state_dict())
    assert ("parametrizations.weight.0.base" in keys) == use_trivialization


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_batch_of_matrices(orthogonal_map):
    gg.manual_seed(1)
    holder = nn.Module()
    holder.w = nn.Parameter(gg.randn(2, 5, 3))
    PZ.orthogonal(holder, "w", orthogonal_map=orthogonal_map)
    holder.w.pow(3).sum().backward()
    assert holder.parametrizations.w.original.grad is not None
    W = _np(holder.w).astype(np.float64)
    np.testing.assert_allclose(np.swapaxes(W, -1, -2) @ W, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-5)


def test_householder_product_fallback_is_the_product_of_reflectors(monkeypatch):
    # The composite used when gg.linalg has no householder_product: H_1 ... H_k, first n columns.
    monkeypatch.delattr(gg.linalg, "householder_product", raising=False)
    rng = np.random.default_rng(5)
    A, tau = rng.standard_normal((5, 3)), rng.standard_normal(2)
    a = gg.tensor(A, requires_grad=True)
    Q = PZ._householder_product(a, gg.tensor(tau))
    expected = np.eye(5)
    for i in range(2):
        v = np.concatenate([np.zeros(i), [1.0], A[i + 1:, i]])
        expected = expected @ (np.eye(5) - tau[i] * np.outer(v, v))
    np.testing.assert_allclose(_np(Q), expected[:, :3], atol=1e-12)
    Q.sum().backward()
    assert a.grad is not None
    layer = PZ.orthogonal(nn.Linear(3, 5), orthogonal_map="householder", use_trivialization=False)
    W = _np(layer.weight).astype(np.float64)
    np.testing.assert_allclose(W.T @ W, np.eye(3), atol=1e-5)


def test_orthogonal_assignment_and_errors():
    layer = PZ.orthogonal(nn.Linear(3, 3))  # square: matrix_exp by default
    assert layer.parametrizations.weight[0].orthogonal_map.name == "matrix_exp"
    assert PZ.orthogonal(nn.Linear(3, 5)).parametrizations.weight[0].orthogonal_map.name == "householder"
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    layer.weight = gg.tensor(Q.astype(np.float32))  # already orthogonal: kept as it is
    np.testing.assert_allclose(_np(layer.weight), Q, atol=1e-5)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices of shape"):
        layer.weight = gg.eye(2)
    no_triv = PZ.orthogonal(nn.Linear(3, 3), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        no_triv.weight = gg.eye(3)
    with pytest.raises(ValueError, match="Expected a matrix"):
        PZ.orthogonal(nn.Linear(3, 3), name="bias")
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        PZ.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="no parameter or buffer"):
        PZ.orthogonal(nn.Linear(3, 3), name="nope")


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_is_g_v_over_norm_v(dim):
    layer = nn.Linear(4, 3)
    before = _np(layer.weight).copy()
    PZ.weight_norm(layer, dim=dim)
    plist = layer.parametrizations.weight
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    g, v = _np(plist.original0).copy(), _np(plist.original1).copy()
    axis = None if dim is None else 1 - dim
    np.testing.assert_allclose(g, np.linalg.norm(before, axis=axis, keepdims=dim is not None), rtol=1e-6)
    np.testing.assert_allclose(_np(layer.weight), before, rtol=1e-5)
    with gg.no_grad():
        plist.original0.mul_(3.0)
    norm = np.linalg.norm(v, axis=axis, keepdims=dim is not None)
    np.testing.assert_allclose(_np(layer.weight), 3 * g * v / norm, rtol=1e-5)
    layer(gg.randn(2, 4)).sum().backward()
    assert plist.original0.grad is not None and plist.original1.grad is not None


def test_spectral_norm_top_singular_value_is_one():
    gg.manual_seed(0)
    layer = PZ.spectral_norm(nn.Linear(6, 4))
    sn = layer.parametrizations.weight[0]
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                                        "parametrizations.weight.0._v"]
    for _ in range(5):
        layer.weight  # noqa: B018 - each read in training mode runs a power iteration
    assert np.linalg.svd(_np(layer.weight), compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    layer.eval()
    u = sn._u.numpy().copy()
    layer(gg.randn(1, 6))
    np.testing.assert_array_equal(sn._u.numpy(), u)  # no power iteration outside training
    conv = PZ.spectral_norm(nn.ConvTranspose2d(2, 3, 3))
    assert conv.parametrizations.weight[0].dim == 1  # the transposed convolutions normalise over dim 1
    vec = nn.Module()
    vec.w = nn.Parameter(gg.tensor([3.0, 4.0]))
    PZ.spectral_norm(vec, "w")
    np.testing.assert_allclose(_np(vec.w), [0.6, 0.8], rtol=1e-6)  # a vector is just normalised
    with pytest.raises(ValueError, match="n_power_iterations"):
        PZ.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        PZ.spectral_norm(nn.Linear(2, 2), dim=2)


# fusion, skip_init, module paths ------------------------------------------------------------------
def _trained_bn(bn, x):
    bn.train()
    bn(x)
    bn.eval()
    with gg.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.normal_()
    return bn


def test_fused_conv_bn_and_linear_bn_equal_the_pair_in_eval():
    gg.manual_seed(0)
    x = gg.randn(2, 2, 5, 5)
    for conv, transpose in ((nn.Conv2d(2, 3, 3), False), (nn.Conv2d(2, 3, 3, bias=False), False),
                            (nn.ConvTranspose2d(2, 3, 3), True)):
        conv.eval()
        bn = _trained_bn(nn.BatchNorm2d(3), conv(x))
        fused = nn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
        assert fused is not conv and type(fused) is type(conv)
        np.testing.assert_allclose(_np(fused(x)), _np(bn(conv(x))), rtol=1e-4, atol=1e-5)
    linear = nn.Linear(4, 3).eval()
    xl = gg.randn(6, 4)
    bn = _trained_bn(nn.BatchNorm1d(3), linear(xl))
    fused = nn.utils.fuse_linear_bn_eval(linear, bn)
    np.testing.assert_allclose(_np(fused(xl)), _np(bn(linear(xl))), rtol=1e-4, atol=1e-5)
    with pytest.raises(AssertionError, match="only for eval"):
        nn.utils.fuse_conv_bn_eval(nn.Conv2d(2, 3, 3), bn)
    with pytest.raises(AssertionError, match="num_features"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(4, 2).eval(), bn)


def test_skip_init_and_module_paths():
    state = gg.random.default_generator.get_state()
    layer = nn.utils.skip_init(nn.Linear, 3, out_features=2)
    assert gg.equal(gg.random.default_generator.get_state(), state)  # nothing drawn from the generator
    assert tuple(layer.weight.shape) == (2, 3) and layer.weight.device.type == "cpu"
    with pytest.raises(RuntimeError, match="device"):
        nn.utils.skip_init(nn.ReLU)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)
    from gpugrad.nn.utils import clip_grad, convert_parameters

    assert clip_grad.clip_grad_norm_ is nn.utils.clip_grad_norm_ and clip_grad.clip_grad_value_ is nn.utils.clip_grad_value_
    assert convert_parameters.parameters_to_vector is nn.utils.parameters_to_vector
    assert convert_parameters.vector_to_parameters is nn.utils.vector_to_parameters
    p = gg.ones(2, requires_grad=True)
    p.grad = gg.full((2,), 4.0)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm([p], 1.0)
    assert float(total) == pytest.approx(np.sqrt(32.0))


# against PyTorch ----------------------------------------------------------------------------------
def _pair(ours, theirs):
    """Give ``ours`` the parameters of ``theirs`` (float64 both)."""
    ours.double()
    theirs.double()
    with gg.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.copy_(gg.tensor(q.detach().numpy()))


@pytest.mark.torch
def test_register_parametrization_matches_pytorch():
    torch = pytest.importorskip("torch")

    class TorchSymmetric(torch.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    rng = np.random.default_rng(0)
    ours, theirs = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    _pair(ours, theirs)
    P.register_parametrization(ours, "weight", Symmetric())
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", TorchSymmetric())
    assert type(ours).__name__ == type(theirs).__name__
    assert list(ours.state_dict()) == list(theirs.state_dict())
    opt_a, opt_b = optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(2):
        x = rng.standard_normal((2, 3))
        opt_a.zero_grad()
        opt_b.zero_grad()
        ours(gg.tensor(x)).pow(3).sum().backward()
        theirs(torch.tensor(x)).pow(3).sum().backward()
        np.testing.assert_allclose(ours.parametrizations.weight.original.grad.numpy(),
                                   theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-10)
        opt_a.step()
        opt_b.step()
    target = rng.standard_normal((3, 3))
    ours.weight, theirs.weight = gg.tensor(target), torch.tensor(target)
    for leave in (True,):
        P.remove_parametrizations(ours, "weight", leave_parametrized=leave)
        torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight", leave_parametrized=leave)
    np.testing.assert_allclose(_np(ours.weight), theirs.weight.detach().numpy(), rtol=1e-12)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_matches_pytorch(shape, orthogonal_map):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, shape[1]))
    for triv in (True, False):
        ours, theirs = nn.Linear(shape[1], shape[0], bias=False), torch.nn.Linear(shape[1], shape[0], bias=False)
        _pair(ours, theirs)
        PZ.orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=triv)
        torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map, use_trivialization=triv)
        if triv and shape[0] != shape[1]:  # base was completed with random columns: take PyTorch's
            with gg.no_grad():
                ours.parametrizations.weight[0].base.copy_(gg.tensor(theirs.parametrizations.weight[0].base.numpy()))
        assert list(ours.state_dict()) == list(theirs.state_dict())
        np.testing.assert_allclose(_np(ours.parametrizations.weight.original),
                                   theirs.parametrizations.weight.original.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(_np(ours.weight), theirs.weight.detach().numpy(), atol=1e-12)
        ours(gg.tensor(x)).pow(3).sum().backward()
        theirs(torch.tensor(x)).pow(3).sum().backward()
        np.testing.assert_allclose(ours.parametrizations.weight.original.grad.numpy(),
                                   theirs.parametrizations.weight.original.grad.numpy(), atol=1e-12)


@pytest.mark.torch
def test_weight_norm_and_spectral_norm_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5))
    for dim in (0, 1, None):
        ours, theirs = nn.Linear(5, 3), torch.nn.Linear(5, 3)
        _pair(ours, theirs)
        PZ.weight_norm(ours, dim=dim)
        torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours(gg.tensor(x)).pow(2).sum().backward()
        theirs(torch.tensor(x)).pow(2).sum().backward()
        for name in ("original0", "original1"):
            a, b = getattr(ours.parametrizations.weight, name), getattr(theirs.parametrizations.weight, name)
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in ((nn.Linear(5, 3), torch.nn.Linear(5, 3)),
                         (nn.ConvTranspose2d(2, 3, 3), torch.nn.ConvTranspose2d(2, 3, 3))):
        _pair(ours, theirs)
        PZ.spectral_norm(ours)
        torch.nn.utils.parametrizations.spectral_norm(theirs)
        a, b = ours.parametrizations.weight[0], theirs.parametrizations.weight[0]
        with gg.no_grad():  # the starting vectors are random: take PyTorch's
            a._u.copy_(gg.tensor(b._u.numpy()))
            a._v.copy_(gg.tensor(b._v.numpy()))
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for _ in range(2):
            np.testing.assert_allclose(_np(ours.weight), theirs.weight.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(a._u.numpy(), b._u.numpy(), atol=1e-12)
        ours.weight.pow(2).sum().backward()
        theirs.weight.pow(2).sum().backward()
        np.testing.assert_allclose(ours.parametrizations.weight.original.grad.numpy(),
                                   theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.torch
def test_fusion_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    conv_b, rm, rv = rng.standard_normal(3), rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    bw, bb = rng.standard_normal(3), rng.standard_normal(3)
    for transpose in (False, True):
        conv_w = rng.standard_normal((2, 3, 3, 3) if transpose else (3, 2, 3, 3))  # output channels: dim 1 or 0
        ours = nn.utils.fuse_conv_bn_weights(*(gg.tensor(a) for a in (conv_w, conv_b, rm, rv)), 1e-5,
                                             gg.tensor(bw), None, transpose)
        theirs = torch.nn.utils.fuse_conv_bn_weights(*(torch.tensor(a) for a in (conv_w, conv_b, rm, rv)), 1e-5,
                                                     torch.tensor(bw), None, transpose)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    lin_w = rng.standard_normal((3, 4))
    ours = nn.utils.fuse_linear_bn_weights(gg.tensor(lin_w), None, *(gg.tensor(a) for a in (rm, rv)), 1e-5,
                                           gg.tensor(bw), gg.tensor(bb))
    theirs = torch.nn.utils.fuse_linear_bn_weights(torch.tensor(lin_w), None, *(torch.tensor(a) for a in (rm, rv)),
                                                   1e-5, torch.tensor(bw), torch.tensor(bb))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
        assert a.requires_grad == b.requires_grad
