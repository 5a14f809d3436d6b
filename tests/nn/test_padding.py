"""Padding layers: F.pad with a fixed mode and padding, reprs and values as PyTorch's."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn

CASES = [
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, 0, 2, 1),), (1, 2, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 1, 3, 3, 3)), ("ReplicationPad1d", ((0, 3),), (2, 4)),
    ("ReplicationPad2d", (1,), (2, 3, 3)), ("ReplicationPad3d", ((1, 0, 0, 1, 2, 0),), (1, 1, 2, 2, 2)),
    ("CircularPad1d", (1,), (1, 2, 4)), ("CircularPad2d", (1,), (1, 1, 3, 3)), ("CircularPad3d", (1,), (1, 1, 2, 2, 2)),
    ("ZeroPad1d", (1,), (2, 3)), ("ZeroPad2d", ((1, 2, 0, 1),), (1, 3, 3)), ("ZeroPad3d", (1,), (1, 1, 1, 1, 1)),
    ("ConstantPad1d", (2, 3.5), (2, 3)), ("ConstantPad2d", ((1, 0, 0, 2), -1.0), (1, 2, 2)),
    ("ConstantPad3d", (1, 0.5), (1, 1, 1, 1)),
]


@pytest.mark.parametrize("name, args, shape", CASES, ids=[c[0] for c in CASES])
def test_padding_layer_pads_as_its_mode(name, args, shape):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    layer = getattr(nn, name)(*args)
    pad = layer.padding
    widths = [(0, 0)] * (x.ndim - len(pad) // 2) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
    mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap", "constant": "constant"}[layer.mode]
    kwargs = {"constant_values": layer.value} if mode == "constant" else {}
    np.testing.assert_array_equal(layer(gg.tensor(x)).numpy(), np.pad(x, widths, mode=mode, **kwargs))


def test_a_wrong_padding_length_is_refused():
    with pytest.raises(ValueError, match="ReflectionPad2d: padding must be an int or 4 ints"):
        nn.ReflectionPad2d((1, 2))


@pytest.mark.torch
@pytest.mark.parametrize("name, args, shape", CASES, ids=[c[0] for c in CASES])
def test_padding_layers_match_pytorch(name, args, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    xt, xg = torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)
    yt, yg = theirs(xt), ours(xg)
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy())
    up = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(up))
    yg.backward(gg.tensor(up))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy())
