"""The fused ops' backwards are ops of their own (gpugrad/ops/{activation,conv,pool,linear,layer_norm,loss}.py):
their forward runs once in a plain backward (an op that names it as its derivative: on the arrays, with
no application), the same op is applied once under create_graph, and their own backward is right to the
third order (gradgradcheck of the first derivative)."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.autograd.function import Op
from gpugrad.ops.conv import ConvGeometry, conv2d
from gpugrad.ops.layer_norm import layer_norm
from gpugrad.ops.linear import linear_act
from gpugrad.ops.loss import softmax_cross_entropy


def _t(rng, *shape, grad=True):
    return gg.tensor(rng.standard_normal(shape), dtype=gg.float64, requires_grad=grad)


TARGET = gg.tensor([2, 0, -100, 1, 3])
CLASS_WEIGHT = gg.tensor([0.5, 1.5, 1.0, 2.0], dtype=gg.float64)
GEOMETRY = ConvGeometry(kernel=(2, 3), stride=(2, 1), pads=(1, 0, 2, 1), dilation=(1, 2))

# name: (the backward op's class, the function, its input shapes)
OPS = {
    "silu": ("ActivationBackward", lambda x: F.silu(x), [(3, 4)]),
    "max_pool2d": ("MaxPool2dBackward", lambda x: F.max_pool2d(x, 2), [(1, 2, 4, 5)]),
    "avg_pool2d": ("AvgPool2dBackward", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                                             count_include_pad=False), [(1, 2, 6, 5)]),
    "softmax": ("SoftmaxBackward", lambda x: F.softmax(x, dim=1), [(3, 4)]),
    "conv2d": ("Conv2dBackward", lambda x, w, b: conv2d(x, w, b, GEOMETRY), [(2, 2, 5, 6), (3, 2, 2, 3), (3,)]),
    # An activation whose derivative reads the output (tanh), and one that reads the pre-activation (gelu)
    "conv2d_tanh": ("Conv2dBackward", lambda x, w, b: conv2d(x, w, b, GEOMETRY, "tanh"), [(2, 2, 5, 6), (3, 2, 2, 3), (3,)]),
    "conv2d_gelu_no_bias": ("Conv2dBackward", lambda x, w: conv2d(x, w, None, GEOMETRY, "gelu"), [(1, 2, 5, 6), (3, 2, 2, 3)]),
    "linear_gelu": ("LinearActBackward", lambda x, w, b: linear_act(x, w, b, "gelu"), [(2, 3, 4), (5, 4), (5,)]),
    "linear_tanh_no_bias": ("LinearActBackward", lambda x, w: linear_act(x, w, None, "tanh"), [(3, 4), (5, 4)]),
    "linear_identity": ("LinearActBackward", lambda x, w, b: linear_act(x, w, b), [(3, 4), (5, 4), (5,)]),
    "layer_norm": ("LayerNormBackward", lambda x, w, b: layer_norm(x, 6, w, b, 1e-5), [(3, 2, 3), (2, 3), (2, 3)]),
    "layer_norm_bias_only": ("LayerNormBackward", lambda x, b: layer_norm(x, 5, None, b, 1e-5), [(3, 5), (5,)]),
    "rms_norm": ("LayerNormBackward", lambda x, w: F.rms_norm(x, (2, 3), w, eps=1e-3), [(3, 2, 3), (2, 3)]),
    "rms_norm_no_weight": ("LayerNormBackward", lambda x: F.rms_norm(x, 4), [(3, 4)]),
    "cross_entropy_mean": ("SoftmaxCrossEntropyBackward",
                           lambda x: softmax_cross_entropy(x, TARGET, CLASS_WEIGHT, -100, 0.2, "mean"), [(5, 4)]),
    "cross_entropy_none": ("SoftmaxCrossEntropyBackward",
                           lambda x: softmax_cross_entropy(x, TARGET, None, -100, 0.0, "none"), [(5, 4)]),
}


def _backward_op(name):
    return next(c for c in _subclasses(Op) if c.__name__ == name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _count_forwards(monkeypatch, cls):
    runs = [0]
    original = cls.__dict__["forward"].__func__

    def forward(*args, **kwargs):
        runs[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(cls, "forward", staticmethod(forward))
    return runs


@pytest.mark.parametrize("name", list(OPS))
def test_backward_is_one_op_plain_or_recorded(name, rng, count_applies, monkeypatch):
    op, fn, shapes = OPS[name]
    inputs = [_t(rng, *s) for s in shapes]
    y = fn(*inputs)
    u = gg.tensor(rng.standard_normal(y.shape), dtype=gg.float64)
    forwards = _count_forwards(monkeypatch, _backward_op(op))
    counts = count_applies()
    plain = gg.grad(y, inputs, u, retain_graph=True)
    assert forwards[0] == 1
    named = y.grad_fn.fn.derivative is not None  # the plain pass calls the derivative's forward: no application
    assert dict(counts) == ({} if named else {op: 1})
    counts.clear()
    forwards[0] = 0
    recorded = gg.grad(y, inputs, u.requires_grad_(), create_graph=True)
    assert forwards[0] == 1
    assert dict(counts) == {op: 1}
    assert all(g.requires_grad for g in recorded)  # each depends on u at least
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(OPS))
def test_third_derivatives(name, rng):
    """gradgradcheck of the first derivative: the backward op's own backward, differentiated again."""
    _, fn, shapes = OPS[name]
    inputs = [_t(rng, *s) for s in shapes]
    u = gg.tensor(rng.standard_normal(fn(*inputs).shape), dtype=gg.float64)

    def first_derivative(*args):
        with gg.enable_grad():  # gradcheck's finite differences run without grad mode
            return gg.grad(fn(*args), args, u, create_graph=True)

    assert gradcheck(first_derivative, inputs)
    assert gradgradcheck(first_derivative, inputs)


def test_second_derivatives_when_only_some_inputs_need_a_gradient(rng):
    """The backward ops leave out what is not needed; their own backward must not depend on it."""
    x, w, b = _t(rng, 2, 2, 5, 6), _t(rng, 3, 2, 2, 3, grad=False), _t(rng, 3)
    assert gradgradcheck(lambda x, b: conv2d(x, w, b, GEOMETRY), [x, b])
    x2, w2 = _t(rng, 3, 4, grad=False), _t(rng, 5, 4)
    assert gradgradcheck(lambda w: linear_act(x2, w, None, "silu"), [w2])
    x3, g3 = _t(rng, 4, 6), _t(rng, 6, grad=False)
    assert gradgradcheck(lambda x: layer_norm(x, 6, g3, None, 1e-5), [x3])


def test_conv_geometry_output_size_and_checks():
    g = ConvGeometry((3, 2), (2, 1), (1, 1, 0, 2), (1, 2))
    # (7 + 2 - 3) // 2 + 1 = 4 rows; (5 + 2 - 2 * 1 - 1) // 1 + 1 = 5 columns
    assert g.output_hw(7, 5) == (4, 5)
    assert g.check("op", (1, 1, 7, 5)) == (4, 5)
    kernel, stride, pads, dilation = g  # unpacks as the kernels' loose arguments
    assert (kernel, stride, pads, dilation) == ((3, 2), (2, 1), (1, 1, 0, 2), (1, 2))
    assert hash(g) == hash(ConvGeometry([3, 2], [2, 1], [1, 1, 0, 2], [1, 2]))  # lists become tuples
    with pytest.raises(ValueError, match=r"op: the kernel \(3, 2\) .* larger than the padded input"):
        g.check("op", (1, 1, 0, 5))
    with pytest.raises(ValueError, match="must be positive"):
        ConvGeometry((3, 3), (0, 1)).check("op", (1, 1, 5, 5))


@pytest.mark.torch
def test_conv_geometry_output_size_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    for _ in range(20):
        k, s, d = rng.integers(1, 4, 2), rng.integers(1, 4, 2), rng.integers(1, 3, 2)
        p = rng.integers(0, 3, 2)
        h, w = rng.integers(8, 14, 2)
        g = ConvGeometry(k, s, (p[0], p[0], p[1], p[1]), d)
        out = torch.nn.functional.conv2d(torch.zeros(1, 1, h, w), torch.zeros(1, 1, *k), stride=tuple(s),
                                         padding=tuple(p), dilation=tuple(d))
        assert g.output_hw(h, w) == tuple(out.shape[2:])
