"""Lazy modules: the input size comes from the first input; the module then becomes its concrete class,
keeping its parameter objects (an optimizer built before holds them) and the user's hooks."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim


def test_lazy_linear_materialises_in_place_and_becomes_linear():
    gg.manual_seed(0)
    model = nn.Sequential(nn.LazyLinear(5), nn.ReLU(), nn.LazyLinear(2))
    weight = model[0].weight
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert model[0].has_uninitialized_params() and repr(model[0]) == "LazyLinear(in_features=0, out_features=5, bias=True)"
    with pytest.raises(ValueError, match="uninitialized parameter"):
        model[0].weight.shape
    seen = []
    model[2].register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    model(gg.randn(4, 3)).sum().backward()
    assert type(model[0]) is nn.Linear and model[0].in_features == 3 and model[0].weight is weight
    assert type(weight) is nn.Parameter and weight.shape == (5, 3) and model[2].weight.shape == (2, 5)
    before = weight.detach().numpy().copy()
    opt.step()
    assert not np.array_equal(weight.detach().numpy(), before) and seen == [(4, 2)]
    assert sorted(model.state_dict()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert nn.LazyLinear(3)(gg.ones(7)).shape == (3,)  # an unbatched input


@pytest.mark.parametrize("make, shape, want", [
    (lambda: nn.LazyConv1d(4, 3), (2, 5, 9), (4, 5, 3)),
    (lambda: nn.LazyConv2d(8, 3, padding=1, groups=2), (2, 6, 5, 5), (8, 3, 3, 3)),
    (lambda: nn.LazyConv2d(8, 3), (6, 5, 5), (8, 6, 3, 3)),  # unbatched
    (lambda: nn.LazyConv3d(2, 1), (1, 3, 2, 2, 2), (2, 3, 1, 1, 1)),
    (lambda: nn.LazyConvTranspose2d(6, 3), (1, 2, 4, 4), (2, 6, 3, 3)),
    (lambda: nn.LazyBatchNorm1d(), (4, 7), (7,)),
    (lambda: nn.LazyBatchNorm2d(momentum=0.5), (2, 4, 3, 3), (4,)),
    (lambda: nn.LazyInstanceNorm1d(affine=True), (2, 3, 7), (3,)),
])
def test_lazy_convolutions_and_norms_take_the_channel_dim(make, shape, want):
    layer = make()
    layer(gg.randn(*shape))
    assert not layer.has_uninitialized_params() if hasattr(layer, "has_uninitialized_params") else True
    assert tuple(layer.weight.shape) == want and not type(layer).__name__.startswith("Lazy")


@pytest.mark.torch
def test_lazy_modules_become_what_pytorchs_become():
    torch = pytest.importorskip("torch")
    cases = [("LazyLinear", (5,), (4, 3)), ("LazyConv2d", (8, 3), (2, 6, 5, 5)), ("LazyConvTranspose1d", (3, 2), (2, 4, 6)),
             ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)), ("LazyInstanceNorm2d", (), (2, 3, 4, 4))]
    for name, args, shape in cases:
        ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(ours) == repr(theirs), name
        ours(gg.randn(*shape))
        theirs(torch.randn(*shape))
        assert type(ours).__name__ == type(theirs).__name__ and repr(ours) == repr(theirs), name
        assert sorted((k, tuple(v.shape)) for k, v in ours.state_dict().items()) == sorted(
            (k, tuple(v.shape)) for k, v in theirs.state_dict().items()), name


def test_placeholders_built_and_materialised_by_hand():
    # PyG's Linear(-1, out) makes its own UninitializedParameter and materializes it on the first input.
    p = nn.parameter.UninitializedParameter(dtype=gg.float64)
    assert nn.parameter.is_lazy(p) and p.requires_grad
    with pytest.raises(ValueError, match="uninitialized"):
        p.size()
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.dtype is gg.float64 and p.requires_grad
    b = nn.parameter.UninitializedBuffer()
    b.materialize(4, dtype=gg.int64)
    assert type(b) is gg.Tensor and tuple(b.shape) == (4,) and b.dtype is gg.int64 and not b.requires_grad


def test_a_placeholder_loads_a_placeholder():
    # As PyTorch: nothing to copy and no shape to compare; the parameter stays lazy.
    def holder():
        m = nn.Module()
        m.weight = nn.parameter.UninitializedParameter()
        return m

    target = holder()
    assert target.load_state_dict(holder().state_dict(keep_vars=True)) is not None
    assert nn.parameter.is_lazy(target.weight)
