"""Transposed convolutions F.conv_transpose1d/2d/3d, F.conv3d, and their layers nn.ConvTranspose1d/2d/3d, nn.Conv3d.

NumPy loops are the references; a transposed convolution must also be the adjoint of the convolution;
first and second derivatives against finite differences; values and gradients against PyTorch.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ArgumentError, DTypeError, ShapeError


def reference_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation):
    """Every input pixel scatters its kernel-weighted copy into the output (the definition, as loops)."""
    n, c_in, h, wd = x.shape
    _, c_out_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = np.zeros((n, c_out_g * groups, oh, ow))
    c_in_g = c_in // groups
    for ci in range(c_in):
        g = ci // c_in_g
        for co in range(c_out_g):
            for y, xx, i, j in itertools.product(range(h), range(wd), range(kh), range(kw)):
                r, q = y * sh - ph + i * dh, xx * sw - pw + j * dw
                if 0 <= r < oh and 0 <= q < ow:
                    out[:, g * c_out_g + co, r, q] += x[:, ci, y, xx] * w[ci, co, i, j]
    if b is not None:
        out += b[None, :, None, None]
    return out


# (C_in, C_out/groups, groups, kernel, stride, padding, output_padding, dilation, (H, W))
GEOMETRIES = [
    (3, 2, 1, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), (5, 4)),
    (4, 3, 2, (3, 2), (2, 3), (1, 0), (1, 2), (1, 1), (3, 5)),
    (2, 1, 1, (2, 3), (1, 1), (0, 1), (1, 1), (2, 2), (4, 3)),  # output_padding >= stride, below dilation
    (6, 1, 3, (3, 1), (3, 2), (2, 0), (0, 1), (2, 1), (3, 3)),
    (2, 2, 2, (1, 1), (2, 2), (0, 0), (1, 0), (1, 1), (3, 2)),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv_transpose2d_matches_scatter_reference(geometry, rng):
    c_in, c_out_g, groups, kernel, stride, padding, out_pad, dilation, hw = geometry
    x = rng.standard_normal((2, c_in, *hw))
    w = rng.standard_normal((c_in, c_out_g, *kernel))
    b = rng.standard_normal(c_out_g * groups)
    y = F.conv_transpose2d(gg.tensor(x), gg.tensor(w), gg.tensor(b), stride, padding, out_pad, groups, dilation)
    expected = reference_conv_transpose2d(x, w, b, stride, padding, out_pad, groups, dilation)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>: the same weight read the other way round."""
    x = gg.tensor(rng.standard_normal((2, 4, 9, 8)))
    w = gg.tensor(rng.standard_normal((6, 2, 3, 2)))  # conv2d: 4 -> 6 channels in 2 groups
    geometry = dict(stride=(2, 3), padding=(1, 1), dilation=(2, 1), groups=2)
    z = F.conv2d(x, w, **geometry)
    y = gg.tensor(rng.standard_normal(tuple(z.shape)))
    # output_padding recovers the input size that strided conv2d rounded away
    back = F.conv_transpose2d(y, w, output_padding=(0, 2), **geometry)
    assert back.shape == x.shape
    np.testing.assert_allclose((z.numpy() * y.numpy()).sum(), (x.numpy() * back.numpy()).sum(), rtol=1e-12)


def test_conv_transpose1d_is_conv_transpose2d_over_a_height_of_one(rng):
    x = rng.standard_normal((2, 4, 7))
    w = rng.standard_normal((4, 3, 3))
    y = F.conv_transpose1d(gg.tensor(x), gg.tensor(w), None, 2, 1, 1, 2, 2)
    expected = reference_conv_transpose2d(x[:, :, None], w[:, :, None], None, (1, 2), (0, 1), (0, 1), 2, (1, 2))
    np.testing.assert_allclose(y.numpy(), expected[:, :, 0], rtol=1e-12, atol=1e-12)


def test_numpy_integers_are_accepted_as_sizes(rng):
    x, w = gg.tensor(rng.standard_normal((1, 2, 3, 3))), gg.tensor(rng.standard_normal((2, 1, 2, 2)))
    y = F.conv_transpose2d(x, w, stride=np.int64(2), padding=(np.int32(1), 0))
    np.testing.assert_array_equal(y.numpy(), F.conv_transpose2d(x, w, stride=2, padding=(1, 0)).numpy())


def test_unbatched_input_gives_unbatched_output(rng):
    w = gg.tensor(rng.standard_normal((3, 2, 2, 2)))
    x = gg.tensor(rng.standard_normal((3, 4, 5)))
    np.testing.assert_allclose(F.conv_transpose2d(x, w, stride=2).numpy(),
                               F.conv_transpose2d(x.unsqueeze(0), w, stride=2)[0].numpy(), rtol=1e-6)
    assert F.conv_transpose1d(x[:, :, 0], w[..., 0]).shape == (2, 5)


def reference_conv3d(x, w, b, stride, pads, dilation, groups):
    """Cross-correlation as a sum over the kernel taps of strided slices of the zero-padded input."""
    x = np.pad(x, ((0, 0), (0, 0), *pads))
    n, c = x.shape[:2]
    c_out, c_g, *kernel = w.shape
    out_size = [(size - d * (k - 1) - 1) // s + 1 for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation)]
    out = np.zeros((n, c_out, *out_size))
    o_g = c_out // groups
    for tap in itertools.product(*(range(k) for k in kernel)):
        window = x[(slice(None), slice(None), *(slice(t * d, t * d + s * (o - 1) + 1, s)
                                                  for t, d, s, o in zip(tap, dilation, stride, out_size)))]
        for g in range(groups):
            out[:, g * o_g:(g + 1) * o_g] += np.einsum("ncdhw,oc->nodhw", window[:, g * c_g:(g + 1) * c_g],
                                                      w[(slice(g * o_g, (g + 1) * o_g), slice(None), *tap)])
    return out + b[None, :, None, None, None] if b is not None else out


@pytest.mark.parametrize("stride,padding,dilation,groups,pads", [
    ((1, 2, 1), (1, 0, 2), (2, 1, 1), 2, ((1, 1), (0, 0), (2, 2))),
    (1, "same", (1, 2, 1), 1, ((1, 1), (1, 1), (0, 1))),  # an odd total puts the extra one after
])
def test_conv3d_matches_loop_reference_and_conv_transpose3d_is_its_adjoint(stride, padding, dilation, groups, pads, rng):
    x = rng.standard_normal((2, 4, 5, 4, 3))
    w = rng.standard_normal((6, 4 // groups, 3, 2, 2))
    b = rng.standard_normal(6)
    y = F.conv3d(gg.tensor(x), gg.tensor(w), gg.tensor(b), stride, padding, dilation, groups)
    strides = (stride,) * 3 if isinstance(stride, int) else stride
    np.testing.assert_allclose(y.numpy(), reference_conv3d(x, w, b, strides, pads, dilation, groups), rtol=1e-12, atol=1e-12)
    if padding == "same":
        return  # asymmetric padding has no transposed counterpart
    z = F.conv3d(gg.tensor(x), gg.tensor(w), None, stride, padding, dilation, groups)
    u = rng.standard_normal(tuple(z.shape))
    back = F.conv_transpose3d(gg.tensor(u), gg.tensor(w), None, stride, padding, 0, groups, dilation)
    assert back.shape == x.shape
    np.testing.assert_allclose((z.numpy() * u).sum(), (x * back.numpy()).sum(), rtol=1e-12)


def test_conv_transpose3d_with_output_padding_below_dilation(rng):
    """output_padding >= stride (allowed below dilation): the extra depth planes read zeros, as torch's."""
    x = rng.standard_normal((1, 2, 3, 2, 2))
    w = rng.standard_normal((2, 1, 2, 1, 1))
    y = F.conv_transpose3d(gg.tensor(x), gg.tensor(w), None, 1, 0, (1, 0, 0), 1, (2, 1, 1))
    expected = np.zeros((1, 1, 6, 2, 2))  # depth (3-1) + 2*(2-1) + 1 + 1
    for i in range(2):
        expected[0, 0, 2 * i:2 * i + 3] += np.einsum("cdhw,c->dhw", x[0], w[:, 0, i, 0, 0])
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)



# Derivatives: float64, tiny odd sizes; the pieces (Col2Im, matmul, pads) must differentiate twice.
GRAD_CASES = [
    ("2d_stride_groups", lambda x, w, b: F.conv_transpose2d(x, w, b, (2, 1), (1, 0), (1, 0), 2, (1, 2)),
     [(1, 4, 3, 3), (4, 1, 3, 2), (2,)]),
    ("2d_outpad_below_dilation", lambda x, w: F.conv_transpose2d(x, w, None, 1, 0, 1, 1, 2), [(2, 1, 2, 3), (1, 2, 2, 2)]),
    ("1d", lambda x, w, b: F.conv_transpose1d(x, w, b, stride=3, padding=1, output_padding=2), [(2, 2, 3), (2, 3, 3), (3,)]),
    ("3d_transposed", lambda x, w, b: F.conv_transpose3d(x, w, b, (2, 1, 1), (0, 1, 0), (1, 0, 0), 2, (1, 1, 2)),
     [(1, 2, 2, 2, 2), (2, 1, 2, 2, 2), (2,)]),
    ("conv3d", lambda x, w, b: F.conv3d(x, w, b, (2, 1, 1), (1, 0, 1), (1, 2, 1), 2), [(1, 2, 3, 3, 2), (2, 1, 2, 1, 2), (2,)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(name, fn, shapes, rng):
    inputs = [gg.tensor(rng.standard_normal(s), dtype=gg.float64, requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_layer_gradgradcheck(rng):
    layer = nn.ConvTranspose2d(2, 3, 2, stride=2, output_padding=1, dtype=gg.float64)
    x = gg.tensor(rng.standard_normal((1, 2, 2, 3)), dtype=gg.float64, requires_grad=True)
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, layer.bias, 2, 0, 1), [x, layer.weight])


# Errors name the function and the offending values.


@pytest.mark.parametrize("call,error,match", [
    (lambda x, w: F.conv_transpose2d(x[:, :3], w), ShapeError, r"conv_transpose2d: weight of shape \(4, 2, 3, 3\) expects input with 4 channels"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=2), ArgumentError, "conv_transpose2d: output padding must be smaller than either stride or dilation"),
    (lambda x, w: F.conv_transpose2d(x, w, dilation=2, output_padding=(0, 2)), ArgumentError, "output_padding=.0, 2., stride=.1, 1., dilation=.2, 2."),
    (lambda x, w: F.conv_transpose2d(x, w, output_padding=-1, stride=2), ArgumentError, "conv_transpose2d: negative"),
    (lambda x, w: F.conv_transpose2d(x, w, groups=3), ValueError, "conv_transpose2d: groups=3 must divide"),
    (lambda x, w: F.conv_transpose2d(x, w, gg.zeros(4)), ShapeError, r"conv_transpose2d: bias must have shape \(2,\)"),
    (lambda x, w: F.conv_transpose2d(x, w, padding=4), ShapeError, "conv_transpose2d: .* too small"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=0), ArgumentError, "conv_transpose2d: stride"),
    (lambda x, w: F.conv_transpose2d(x, w, stride=(1, 1, 1)), ValueError, "conv_transpose2d: stride must be"),
    (lambda x, w: F.conv_transpose2d(x, w, padding="same"), TypeError, "conv_transpose2d: padding must be an int or a sequence of 2 ints, not str"),
    (lambda x, w: F.conv_transpose2d(x[0, 0], w), ShapeError, "conv_transpose2d: expected 3-D .* or 4-D"),
    (lambda x, w: F.conv_transpose2d(x, w[0]), ShapeError, "conv_transpose2d: expected a 4-D weight"),
    (lambda x, w: F.conv_transpose2d(x, w.double()), DTypeError, r"conv_transpose2d: input \(torch.float32\) and weight \(torch.float64\)"),
    (lambda x, w: F.conv_transpose1d(x[:, :, 0], w[..., 0], stride=(2, 2)), ValueError, "conv_transpose1d: stride"),
    (lambda x, w: F.conv_transpose1d(x[:, :, 0], w[..., 0], stride=2, output_padding=3), ArgumentError, "conv_transpose1d: output padding"),
    (lambda x, w: F.conv_transpose3d(x.unsqueeze(2), w.unsqueeze(2), stride=(1, 2, 1), output_padding=(0, 2, 0)), ArgumentError, "conv_transpose3d: output padding"),
    (lambda x, w: F.conv_transpose3d(x.unsqueeze(2)[:, 1:], w.unsqueeze(2)), ShapeError, "conv_transpose3d: weight of shape .* expects input with 4 channels"),
    (lambda x, w: F.conv3d(x.unsqueeze(2), w.unsqueeze(2)), ShapeError, r"conv3d: input of shape \(2, 4, 1, 5, 5\) has 4 channels, but weight"),
    (lambda x, w: F.conv3d(x.unsqueeze(2), w.unsqueeze(2).transpose(0, 1), stride=2, padding="same"), ValueError, "conv3d: padding='same' is not supported for strided"),
    (lambda x, w: F.conv3d(x.unsqueeze(2), w.unsqueeze(2).transpose(0, 1), padding="full"), ValueError, "conv3d: invalid padding string"),
    (lambda x, w: F.conv3d(x.unsqueeze(2), gg.randn(2, 4, 2, 3, 3)), ShapeError, "conv3d: kernel .* is larger than the padded input"),
    (lambda x, w: F.conv3d(x[0, 0], w.unsqueeze(2)), ShapeError, "conv3d: expected 4-D .* or 5-D"),
])
def test_bad_arguments_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call(gg.randn(2, 4, 5, 5), gg.randn(4, 2, 3, 3))


def test_layer_refuses_other_padding_modes_and_bad_output_size():
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="ConvTranspose1d: padding"):
        nn.ConvTranspose1d(2, 2, 3, padding="same")
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2)
    x = gg.randn(2, 4, 5, 5)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[13, 11\], but valid sizes range from \[11, 11\] to \[12, 12\]"):
        layer(x, output_size=(13, 11))
    with pytest.raises(ValueError, match="ConvTranspose2d: for 4-D input, output_size must have 2 or 4 elements"):
        layer(x, output_size=(6, 11, 11))
    with pytest.raises(ShapeError, match="conv_transpose2d: weight of shape"):
        layer(gg.randn(2, 3, 5, 5))
    layer.padding_mode = "circular"
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        layer(x)


def test_layer_output_size_picks_output_padding():
    layer = nn.ConvTranspose2d(4, 6, 3, stride=(2, 3), padding=1)
    x = gg.randn(2, 4, 5, 4)
    assert layer(x).shape == (2, 6, 9, 10)
    assert layer(x, output_size=(10, 12)).shape == (2, 6, 10, 12)
    assert layer(x, output_size=gg.Size([2, 6, 9, 11])).shape == (2, 6, 9, 11)
    assert layer(x[0], output_size=[6, 10, 10]).shape == (6, 10, 10)
    assert layer.output_padding == (0, 0)  # output_size does not change the layer
    layer1 = nn.ConvTranspose1d(2, 3, 4, stride=3)
    assert layer1(gg.randn(1, 2, 5), output_size=[17]).shape == (1, 3, 17)


def test_layer_init_uses_pytorch_fan_in():
    """Weight (C_in, C_out/groups, k, k); kaiming_uniform(a=sqrt(5)) and the bias bound use
    fan_in = weight.shape[1] * k * k = 2 * 9 (not C_in * 9 = 72)."""
    gg.manual_seed(0)
    layer = nn.ConvTranspose2d(8, 2, 3)
    bound = 1 / np.sqrt(18)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.shape == (8, 2, 3, 3) and b.shape == (2,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    grouped = nn.ConvTranspose1d(6, 4, 5, groups=2, bias=False)
    assert grouped.weight.shape == (6, 2, 5) and grouped.bias is None


# PyTorch: values and gradients over a grid, and the layers' state_dict and repr.

TORCH_GRID = [
    (stride, padding, output_padding, dilation, groups)
    for stride, padding, output_padding, dilation, groups in itertools.product(
        [(1, 1), (2, 3)], [(0, 0), (1, 2)], [(0, 0), (1, 1)], [(1, 1), (2, 2)], [1, 2])
    # output_padding must be below stride or dilation (the other cases are errors, tested above)
    if all(o < s or o < d for o, s, d in zip(output_padding, stride, dilation))
]


def assert_matches_pytorch(name, arrays, args, rng):
    """F.<name>(*arrays, *args) against PyTorch's in float64: the value, then every input's gradient for
    a random cotangent."""
    torch = pytest.importorskip("torch")
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, y_t = getattr(F, name)(*ours, *args), getattr(torch.nn.functional, name)(*theirs, *args)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(tuple(y_t.shape))
    y.backward(gg.tensor(u))
    y_t.backward(torch.tensor(u))
    for a, a_t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), a_t.grad.numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.torch
@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", TORCH_GRID)
def test_conv_transpose2d_matches_pytorch(stride, padding, output_padding, dilation, groups, rng):
    arrays = rng.standard_normal((2, 4, 5, 7)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(3 * groups)
    assert_matches_pytorch("conv_transpose2d", arrays, (stride, padding, output_padding, groups, dilation), rng)


@pytest.mark.torch
@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups",
                         [(1, 0, 0, 1, 1), (2, 1, 1, 1, 2), (3, 2, 1, 2, 1), (1, 1, 1, 3, 2), (2, 0, 0, 3, 1)])
def test_conv_transpose1d_matches_pytorch(stride, padding, output_padding, dilation, groups, rng):
    arrays = rng.standard_normal((3, 4, 7)), rng.standard_normal((4, 1, 3)), rng.standard_normal(groups)
    assert_matches_pytorch("conv_transpose1d", arrays, (stride, padding, output_padding, groups, dilation), rng)


@pytest.mark.torch
@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), ((2, 1, 3), (1, 0, 2), (1, 0, 2), (1, 2, 1), 2), (2, 1, 1, 2, 1), ((1, 3, 2), 0, (1, 2, 0), (2, 1, 3), 2),
])
def test_conv_transpose3d_matches_pytorch(stride, padding, output_padding, dilation, groups, rng):
    arrays = rng.standard_normal((2, 4, 3, 5, 4)), rng.standard_normal((4, 2, 2, 3, 2)), rng.standard_normal(2 * groups)
    assert_matches_pytorch("conv_transpose3d", arrays, (stride, padding, output_padding, groups, dilation), rng)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note about its own zero-padded copy
@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), ((2, 1, 3), (1, 0, 2), (1, 2, 1), 2), (1, "same", (2, 1, 2), 2), (2, "valid", 1, 1), ((1, 3, 2), 1, (2, 1, 1), 2),
])
def test_conv3d_matches_pytorch(stride, padding, dilation, groups, rng):
    arrays = rng.standard_normal((2, 4, 5, 7, 6)), rng.standard_normal((6, 4 // groups, 3, 2, 3)), rng.standard_normal(6)
    assert_matches_pytorch("conv3d", arrays, (stride, padding, dilation, groups), rng)


@pytest.mark.torch
@pytest.mark.parametrize("cls,kwargs,shape", [
    ("ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 4)),
    ("ConvTranspose2d", dict(in_channels=3, out_channels=2, kernel_size=3, dilation=2, bias=False), (1, 3, 4, 4)),
    ("ConvTranspose1d", dict(in_channels=2, out_channels=4, kernel_size=4, stride=3, output_padding=2), (2, 2, 6)),
    ("ConvTranspose3d", dict(in_channels=4, out_channels=2, kernel_size=2, stride=2, output_padding=1, groups=2, dilation=(1, 2, 1)), (1, 4, 3, 2, 3)),
    ("Conv3d", dict(in_channels=4, out_channels=6, kernel_size=(3, 2, 1), padding="same", padding_mode="reflect", groups=2), (1, 4, 3, 4, 5)),
    ("Conv3d", dict(in_channels=2, out_channels=3, kernel_size=3, stride=(1, 2, 2), padding=1, dilation=(2, 1, 1)), (2, 2, 5, 4, 3)),
])
def test_layers_match_pytorch(cls, kwargs, shape, rng):
    """Same state_dict keys and shapes and repr; with PyTorch's parameters loaded, the same outputs and grads."""
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, cls)(**kwargs).double(), getattr(torch.nn, cls)(**kwargs).double()
    assert repr(ours) == repr(theirs)
    sd, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(sd_t)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in sd_t.values()]
    ours.load_state_dict({k: gg.tensor(v.numpy()) for k, v in sd_t.items()})
    x = rng.standard_normal(shape)
    x_ours, x_t = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, y_t = ours(x_ours), theirs(x_t)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y * y).sum().backward()
    (y_t * y_t).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_t.grad.numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_forward_goes_through_conv_forward_as_in_pytorch(dims):
    # Weight standardisation and whisper's cast to the input's dtype override _conv_forward, not forward.
    base = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]

    class Standardised(base):
        def _conv_forward(self, x, weight, bias):
            axes = tuple(range(1, weight.ndim))
            w = (weight - weight.mean(dim=axes, keepdim=True)) / (weight.std(dim=axes, keepdim=True) + 1e-5)
            return super()._conv_forward(x, w, bias)

    conv = Standardised(2, 3, 3, padding=1, padding_mode="circular")
    x = gg.randn(2, 2, *(5,) * dims)
    w = conv.weight.detach()
    axes = tuple(range(1, w.ndim))
    w = (w - w.mean(dim=axes, keepdim=True)) / (w.std(dim=axes, keepdim=True) + 1e-5)
    plain = base(2, 3, 3, padding=1, padding_mode="circular")
    with gg.no_grad():
        plain.weight.copy_(w)
        plain.bias.copy_(conv.bias)
    np.testing.assert_allclose(conv(x).detach().numpy(), plain(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.shape == conv.weight.shape
