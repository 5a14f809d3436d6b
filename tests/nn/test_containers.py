"""ParameterList and ParameterDict (registration, state_dict keys, to(), optimizers), and the small
layers Unflatten and Softmax2d; torch-marked tests compare names, keys and values with PyTorch's."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn, optim
from gpugrad.autograd import gradcheck, gradgradcheck


class _Holder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.plist = nn.ParameterList([nn.Parameter(gg.eye(3) * 0.5), gg.zeros(3)])
        self.pdict = nn.ParameterDict({"scale": nn.Parameter(gg.ones(3)), "shift": gg.zeros(3)})

    def forward(self, x):
        return (x @ self.plist[0].T + self.plist[1]) * self.pdict["scale"] + self.pdict["shift"]


def test_parameter_list_registers_and_indexes():
    pl = nn.ParameterList([gg.ones(2), nn.Parameter(gg.zeros(3)), "not a tensor"])
    assert len(pl) == 3
    assert isinstance(pl[0], nn.Parameter) and pl[0].requires_grad  # a Tensor becomes a Parameter
    assert pl[2] == "not a tensor" and pl[-1] == "not a tensor"
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    assert list(pl.state_dict()) == ["0", "1"]
    pl.append(gg.ones(4))
    pl.extend([gg.ones(1)])
    pl += [gg.ones(5)]
    assert [tuple(p.shape) for p in pl.parameters()] == [(2,), (3,), (4,), (1,), (5,)]
    pl[1] = gg.full((3,), 7.0)
    assert isinstance(pl[1], nn.Parameter) and pl[1].detach().numpy().tolist() == [7.0] * 3
    sliced = pl[1:3]
    assert isinstance(sliced, nn.ParameterList) and len(sliced) == 2 and sliced[0] is pl[1]
    assert [x is y for x, y in zip(pl, [pl[i] for i in range(len(pl))])] == [True] * 6
    with pytest.raises(IndexError, match="ParameterList.*out of range"):
        pl[6]
    with pytest.raises(TypeError, match="ParameterList.extend.*iterable"):
        pl.extend(gg.ones(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        pl(gg.ones(1))


def test_parameter_dict_registers_and_behaves_as_a_dict():
    pd = nn.ParameterDict({"b": gg.ones(1), "a": gg.ones(2)})
    assert list(pd.keys()) == ["a", "b"]  # a plain dict is added in sorted order, as PyTorch
    pd.update(OrderedDict([("z", gg.ones(3)), ("c", gg.ones(4))]))  # an OrderedDict keeps its order
    assert list(pd) == ["a", "b", "z", "c"]
    assert isinstance(pd["z"], nn.Parameter) and "z" in pd and "y" not in pd
    assert list(pd.state_dict()) == ["a", "b", "z", "c"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "z", "c"]
    pd["note"] = 3
    assert pd["note"] == 3 and list(pd.state_dict()) == ["a", "b", "z", "c"]
    assert tuple(pd.pop("z").shape) == (3,)
    assert "z" not in pd and "z" not in dict(pd.named_parameters())
    assert pd.get("missing", 5) == 5
    assert pd.setdefault("d", gg.zeros(2)) is pd["d"]
    key, value = pd.popitem()
    assert key == "d" and tuple(value.shape) == (2,)
    with pytest.raises(KeyError):
        pd["missing"]
    with pytest.raises(TypeError, match="ParameterDict.*strings"):
        pd[1] = gg.ones(1)
    merged = pd | nn.ParameterDict({"e": gg.ones(1)})
    assert list(merged) == ["a", "b", "c", "note", "e"] and merged["a"] is pd["a"]
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []
    pairs = nn.ParameterDict([("y", gg.ones(1)), ("x", gg.ones(1))])  # pairs keep their order
    assert list(pairs) == ["y", "x"]
    with pytest.raises(ValueError, match="ParameterDict.update.*length 3"):
        pairs.update([("a", 1, 2)])


def test_containers_inside_a_model_train_move_and_load():
    gg.manual_seed(0)
    model = _Holder()
    assert list(model.state_dict()) == ["plist.0", "plist.1", "pdict.scale", "pdict.shift"]
    opt = optim.SGD(model.parameters(), lr=0.5)
    x = gg.randn(4, 3)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    model(x).square().sum().backward()
    opt.step()
    after = [p.detach().numpy() for p in model.parameters()]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))  # the optimizer moved every one
    model.to(gg.float64)
    assert all(p.dtype == gg.float64 for p in model.parameters())
    assert model.plist[0] is model.plist._parameters["0"]
    fresh = _Holder()
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(fresh.pdict["scale"].detach().numpy(), model.pdict["scale"].detach().numpy())


def test_container_reprs():
    pl = nn.ParameterList([gg.ones(2, 3), "x"])
    assert repr(pl) == (
        "ParameterList(\n  (0): Parameter containing: [torch.float32 of size 2x3]\n  (1): Object of type: str\n)"
    )
    assert repr(nn.ParameterDict()) == "ParameterDict()"


@pytest.mark.torch
def test_container_keys_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterDict({"b": gg.ones(1), "a": gg.ones(2), "c": 1})
    theirs = torch.nn.ParameterDict({"b": torch.ones(1), "a": torch.ones(2), "c": 1})
    assert list(ours.keys()) == list(theirs.keys())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours_l = nn.ParameterList([gg.ones(1), "s", gg.ones(2)])
    theirs_l = torch.nn.ParameterList([torch.ones(1), "s", torch.ones(2)])
    assert list(ours_l.state_dict()) == list(theirs_l.state_dict())
    assert [n for n, _ in ours_l.named_parameters()] == [n for n, _ in theirs_l.named_parameters()]


# Unflatten and Softmax2d -------------------------------------------------------------------------------


def test_unflatten():
    x = gg.arange(60.0).reshape(3, 20)
    out = nn.Unflatten(1, (4, -1))(x)
    assert tuple(out.shape) == (3, 4, 5)
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(3, 4, 5))
    assert tuple(nn.Unflatten(-1, [2, 2, 5])(x).shape) == (3, 2, 2, 5)
    assert repr(nn.Unflatten(1, (4, 5))) == "Unflatten(dim=1, unflattened_size=(4, 5))"
    seq = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (2, 3)))
    assert tuple(seq(gg.randn(4, 2, 3)).shape) == (4, 2, 3)
    with pytest.raises(TypeError, match="Unflatten.*tuple of ints.*found type int"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="Unflatten.*element of type float at pos 1"):
        nn.Unflatten(1, (2, 3.0))


def test_softmax2d(rng):
    x = rng.normal(size=(2, 3, 4, 5))
    out = nn.Softmax2d()(gg.tensor(x)).numpy()
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=1e-5)
    assert tuple(nn.Softmax2d()(gg.randn(3, 4, 5)).shape) == (3, 4, 5)
    xg = gg.tensor(rng.normal(size=(3, 2, 3)), dtype=gg.float64, requires_grad=True)
    assert gradcheck(nn.Softmax2d(), [xg]) and gradgradcheck(nn.Softmax2d(), [xg])
    with pytest.raises(ValueError, match="Softmax2d.*3D or 4D"):
        nn.Softmax2d()(gg.randn(3, 4))
    assert repr(nn.Softmax2d()) == "Softmax2d()"


@pytest.mark.torch
def test_softmax2d_and_unflatten_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(2, 5, 3, 3))
    xg, xt = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cot = rng.normal(size=x.shape)
    og, ot = nn.Softmax2d()(xg), torch.nn.Softmax2d()(xt)
    np.testing.assert_allclose(og.detach().numpy(), ot.detach().numpy(), rtol=1e-12)
    og.backward(gg.tensor(cot))
    ot.backward(torch.tensor(cot))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    y = rng.normal(size=(2, 12))
    np.testing.assert_array_equal(nn.Unflatten(1, (3, -1))(gg.tensor(y)).numpy(), torch.nn.Unflatten(1, (3, -1))(torch.tensor(y)).numpy())
    assert repr(nn.Unflatten(1, (3, 4))) == repr(torch.nn.Unflatten(1, (3, 4)))
    assert F.softmax(gg.tensor(x), -3).shape == og.shape
