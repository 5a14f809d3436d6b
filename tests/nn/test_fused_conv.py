"""Conv2d + activation as one op (nn.Sequential fuses them, as it fuses Linear + activation): the same
values and derivatives as the two run apart, in each of conv2d's layouts, and never where fusing would
skip what the user wrote."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn, threads
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.ops import conv as conv_ops
from gpugrad.ops.conv import ConvGeometry, conv2d

from .test_fused_linear import KINDS, MODULES, assert_sequential_matches_its_modules_one_by_one

# Odd sizes: stride 2 on one axis, uneven pads, a dilated and a non-square kernel.
GEOMETRY = ConvGeometry(kernel=(2, 3), stride=(2, 1), pads=(1, 0, 2, 1), dilation=(1, 2))

LAYOUTS = {
    "columns": dict(WINOGRAD_MIN_CHANNELS=1 << 30, ROWS_MIN_CHANNELS=1 << 30),
    "rows": dict(WINOGRAD_MIN_CHANNELS=1 << 30, ROWS_MIN_CHANNELS=1),
    "winograd": dict(WINOGRAD_MIN_CHANNELS=1, WINOGRAD_MIN_PLANE=1),
}


@pytest.fixture(params=list(LAYOUTS))
def layout(request, monkeypatch):
    """conv2d takes the named layout for every case below (thresholds lowered or raised)."""
    for name, value in LAYOUTS[request.param].items():
        monkeypatch.setattr(conv_ops, name, value)
    monkeypatch.setattr(threads, "SMALL_GEMM_MACS", 1 << 62)  # the rows layout's GEMM bound
    return request.param


def _t(rng, *shape):
    return gg.tensor(rng.standard_normal(shape), dtype=gg.float64, requires_grad=True)


@pytest.mark.parametrize("kind", KINDS)
def test_fused_conv_first_and_second_derivatives(kind, rng):
    x, w, b = _t(rng, 2, 2, 5, 6), _t(rng, 3, 2, 2, 3), _t(rng, 3)

    def f(x, w, b):
        return conv2d(x, w, b, GEOMETRY, kind, 0.2)

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("kind", ["relu", "gelu", "tanh"])
def test_fused_conv_equals_conv_then_activation_in_every_layout(layout, kind, rng):
    """3x3 stride 1 (Winograd's case) on 3 channels: each layout, fused and apart, bit for bit in value
    and within float64 rounding in the gradients."""
    geometry = ConvGeometry(kernel=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1), dilation=(1, 1))
    x, w, b = _t(rng, 2, 3, 5, 6), _t(rng, 4, 3, 3, 3), _t(rng, 4)
    up = gg.tensor(rng.standard_normal((2, 4, 5, 6)))
    fused = conv2d(x, w, b, geometry, kind)
    assert fused.grad_fn.layout == layout
    fused_grads = gg.grad(fused, (x, w, b), up)
    apart = conv2d(x, w, b, geometry)
    apart = {"relu": F.relu, "gelu": F.gelu, "tanh": gg.tanh}[kind](apart)
    apart_grads = gg.grad(apart, (x, w, b), up)
    np.testing.assert_array_equal(fused.detach().numpy(), apart.detach().numpy())
    for got, want in zip(fused_grads, apart_grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["relu", "silu"])
def test_fused_conv_derivatives_when_only_some_inputs_need_them(kind, rng):
    x, b = _t(rng, 2, 2, 5, 6), _t(rng, 3)
    w = gg.tensor(rng.standard_normal((3, 2, 2, 3)), dtype=gg.float64)
    assert gradgradcheck(lambda x, b: conv2d(x, w, b, GEOMETRY, kind), (x, b))
    assert gradgradcheck(lambda w: conv2d(x.detach(), w, None, GEOMETRY, kind), (_t(rng, 3, 2, 2, 3),))


def test_plain_backward_of_a_fused_conv_is_one_op(rng, count_applies):
    x, w, b = _t(rng, 2, 2, 5, 6), _t(rng, 3, 2, 2, 3), _t(rng, 3)
    y = conv2d(x, w, b, GEOMETRY, "gelu")
    counts = count_applies()
    y.backward(gg.ones(*y.shape, dtype=gg.float64))
    assert dict(counts) == {"Conv2dBackward": 1}  # the activation's derivative runs on arrays inside it


@pytest.mark.parametrize("kind", list(MODULES))
def test_sequential_fuses_conv2d_and_matches_the_modules_run_one_by_one(kind):
    gg.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), MODULES[kind], nn.Conv2d(6, 2, (2, 3), stride=(2, 1)))
    x = gg.randn(4, 3, 7, 9)
    assert _ops_of_first_layer(model, x) == "conv2d"  # the pair runs as one op
    assert_sequential_matches_its_modules_one_by_one(model, x, grad_atol=1e-5)


def _ops_of_first_layer(model, x) -> str:
    """The op whose output the model's second module produced, run as Sequential runs it."""
    return nn.Sequential(*list(model)[:2])(x).grad_fn.op_name


def test_sequential_fuses_only_what_it_can_run_as_one_op():
    x = gg.randn(2, 4, 6, 6)
    assert _ops_of_first_layer(nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU()), x) == "conv2d"
    # Grouped, padded by reflection, 1-D and transposed convolutions run the two modules.
    for conv in (nn.Conv2d(4, 4, 3, groups=2), nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
                 nn.ConvTranspose2d(4, 4, 3)):
        model = nn.Sequential(conv, nn.ReLU())
        assert _ops_of_first_layer(model, x) == "relu"
        np.testing.assert_array_equal(model(x).detach().numpy(), F.relu(conv(x)).detach().numpy())
    model = nn.Sequential(nn.Conv1d(4, 4, 3), nn.Tanh())
    line = x[:, :, 0]
    np.testing.assert_array_equal(model(line).detach().numpy(), model[0](line).tanh().detach().numpy())


def test_a_conv2d_subclass_with_its_own_weight_runs_unfused():
    """A subclass that changes the weight it convolves with (weight standardisation) keeps its meaning."""

    class Standardised(nn.Conv2d):
        def _conv_forward(self, input, weight, bias):
            w = (weight - weight.mean(dim=(1, 2, 3), keepdim=True)) / weight.std(dim=(1, 2, 3), keepdim=True)
            return super()._conv_forward(input, w, bias)

    class Doubled(nn.Conv2d):
        def forward(self, input):
            return super().forward(input) * 2.0

    gg.manual_seed(0)
    x = gg.randn(2, 3, 6, 6)
    for conv in (Standardised(3, 4, 3), Doubled(3, 4, 3)):
        got = nn.Sequential(conv, nn.ReLU())(x)
        np.testing.assert_array_equal(got.detach().numpy(), F.relu(conv(x)).detach().numpy())


def test_hooks_turn_conv_fusion_off():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    seen = []
    model[0].register_forward_hook(lambda mod, args, out: seen.append(out.min().item()))
    model(gg.randn(1, 2, 5, 5))
    assert len(seen) == 1 and seen[0] < 0  # the hook saw the convolution's output, before the ReLU


def test_fused_conv_errors_name_conv2d():
    model = nn.Sequential(nn.Conv2d(4, 5, 3), nn.ReLU())
    with pytest.raises(Exception, match=r"conv2d.*3 channels"):
        model(gg.randn(1, 3, 6, 6))
    with pytest.raises(ValueError, match="groups=2"):
        F._conv2d_activation(gg.randn(1, 4, 6, 6), gg.randn(4, 2, 3, 3), None, 1, 0, 1, 2, "relu", 0.0)
