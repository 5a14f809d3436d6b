"""Layers: gradients of layer forwards in float64, train/eval behaviour, and outputs and gradients
against PyTorch given the same weights (torch-marked)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck


def _params_as_inputs(module, x):
    """(fn, inputs) so that gradcheck differentiates w.r.t. x and every parameter of the module."""
    names = [n for n, _ in module.named_parameters()]
    params = [p for _, p in module.named_parameters()]

    def fn(x, *values):
        # Run the module with the checked values swapped in for its parameters; restore afterwards.
        for name, v in zip(names, values):
            owner = module.get_submodule(name.rpartition(".")[0])
            owner._parameters[name.rpartition(".")[2]] = v
        try:
            return module(x)
        finally:
            for name, p in zip(names, params):
                owner = module.get_submodule(name.rpartition(".")[0])
                owner._parameters[name.rpartition(".")[2]] = p

    inputs = [x] + [gg.tensor(p.detach().numpy(), dtype=gg.float64, requires_grad=True) for p in params]
    return fn, inputs


def _out(fn):
    def first(*args):
        out = fn(*args)
        return out[0] if isinstance(out, tuple) else out

    return first


LAYERS = [
    ("linear", lambda: nn.Linear(5, 3), (2, 5)),
    ("conv2d", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=2), (1, 2, 5, 6)),
    ("layernorm", lambda: nn.LayerNorm(4), (3, 4)),
    ("batchnorm1d", lambda: nn.BatchNorm1d(3), (4, 3, 2)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    ("rnn", lambda: nn.RNN(3, 4), (3, 2, 3)),
    ("lstm", lambda: nn.LSTM(3, 2), (3, 2, 3)),
    ("lstm_2layer_bidir_batch_first", lambda: nn.LSTM(2, 2, num_layers=2, bidirectional=True, batch_first=True), (2, 3, 2)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_gradcheck(name, make, shape, rng):
    gg.manual_seed(0)
    module = make().double()
    x = gg.tensor(rng.standard_normal(shape), dtype=gg.float64, requires_grad=True)
    fn, inputs = _params_as_inputs(module, x)
    fn = _out(fn)
    assert gradcheck(fn, inputs)
    if name.startswith("batchnorm"):
        module.eval()  # training updates running stats per call; eval mode is a fixed function
        assert gradgradcheck(fn, inputs)
        module.train()
    assert gradgradcheck(fn, inputs)


def test_embedding_layer(rng):
    gg.manual_seed(0)
    emb = nn.Embedding(10, 3, padding_idx=0)
    assert not emb.weight.detach().numpy()[0].any()
    out = emb(gg.tensor([[1, 0], [9, 1]]))
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[[0, 1, 9], 0], [0, 2, 1])
    with pytest.raises(IndexError, match="num_embeddings=10"):
        emb(gg.tensor([10]))
    frozen = nn.Embedding.from_pretrained(gg.eye(3))
    assert not frozen.weight.requires_grad


def test_dropout_train_eval():
    gg.manual_seed(0)
    d = nn.Dropout(0.4)
    x = gg.ones(50, 40)
    y = d(x)
    assert 0.55 < (y.numpy() != 0).mean() < 0.65
    d.eval()
    assert d(x) is x


def test_batchnorm_running_stats_and_eval(rng):
    bn = nn.BatchNorm1d(3, momentum=0.2)
    xs = [rng.standard_normal((5, 3)) * 2 + 1 for _ in range(3)]
    rm, rv = np.zeros(3), np.ones(3)
    for x in xs:
        out = bn(gg.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-4, atol=1e-5)
        rm = 0.8 * rm + 0.2 * x.mean(0)
        rv = 0.8 * rv + 0.2 * x.var(0, ddof=1)  # the running variance is the unbiased one
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3
    bn.eval()
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(bn(gg.tensor(x)).detach().numpy(), (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-4)
    assert bn.num_batches_tracked.item() == 3
    cumulative = nn.BatchNorm1d(3, momentum=None)
    for x in xs:
        cumulative(gg.tensor(x))
    np.testing.assert_allclose(cumulative.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-5)
    with pytest.raises(gg.ShapeError, match="expected 4D"):
        nn.BatchNorm2d(3)(gg.randn(2, 3))
    with pytest.raises(gg.ShapeError, match="3 channels"):
        nn.BatchNorm1d(3)(gg.randn(2, 4))


def test_layernorm_matches_numpy(rng):
    ln = nn.LayerNorm((3, 4))
    x = rng.standard_normal((2, 3, 4))
    out = ln(gg.tensor(x)).detach().numpy()
    mu = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, (x - mu) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5), rtol=1e-4, atol=1e-5)


def test_rnn_shapes_and_state_errors():
    rnn = nn.RNN(3, 4, num_layers=2, batch_first=True)
    out, h = rnn(gg.randn(5, 7, 3))
    assert out.shape == (5, 7, 4) and h.shape == (2, 5, 4)
    out, h = rnn(gg.randn(7, 3))  # unbatched
    assert out.shape == (7, 4) and h.shape == (2, 4)
    lstm = nn.LSTM(3, 4, bidirectional=True)
    assert [n for n, _ in lstm.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
    ]
    assert lstm.weight_ih_l0.shape == (16, 3)
    out, (h, c) = lstm(gg.randn(6, 2, 3))
    assert out.shape == (6, 2, 8) and h.shape == c.shape == (2, 2, 4)
    with pytest.raises(gg.ShapeError, match="h_0"):
        lstm(gg.randn(6, 2, 3), (gg.zeros(1, 2, 4), gg.zeros(2, 2, 4)))
    with pytest.raises(gg.ShapeError, match="input_size"):
        lstm(gg.randn(6, 2, 5))
    bound = 1 / math.sqrt(4)
    assert all(np.abs(p.detach().numpy()).max() <= bound for p in lstm.parameters())


# PyTorch comparisons ------------------------------------------------------------------------------


def _copy_into_torch(ours, theirs):
    import torch

    with torch.no_grad():
        for name, p in ours.named_parameters():
            theirs.get_parameter(name).copy_(torch.tensor(p.detach().numpy()))


def _compare(ours_out, theirs_out, ours_inputs, theirs_inputs, rng, rtol=1e-8):
    import torch

    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy(), rtol=rtol, atol=1e-10)
    u = rng.standard_normal(ours_out.shape)
    ours_out.backward(gg.tensor(u))
    theirs_out.backward(torch.tensor(u))
    for a, b in zip(ours_inputs, theirs_inputs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-10)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2},
        {"in_channels": 4, "out_channels": 6, "kernel_size": (2, 3), "stride": (1, 2), "padding": (0, 1), "groups": 2},
        {"in_channels": 3, "out_channels": 2, "kernel_size": (3, 2), "padding": "same", "bias": False},
        {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": (2, 1), "padding_mode": "reflect"},
        {"in_channels": 2, "out_channels": 2, "kernel_size": 4, "padding": "same", "padding_mode": "replicate"},
        {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1, "padding_mode": "circular"},
    ],
)
def test_conv2d_matches_torch(kwargs, rng):
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(**kwargs).double()
    theirs = torch.nn.Conv2d(**kwargs).double()
    _copy_into_torch(ours, theirs)
    x = rng.standard_normal((2, kwargs["in_channels"], 7, 6))
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _compare(ours(ox), theirs(tx), [ox, *ours.parameters()], [tx, *theirs.parameters()], rng)
    assert repr(ours) == repr(theirs)


@pytest.mark.torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1},
        {"in_channels": 4, "out_channels": 6, "kernel_size": 4, "padding": "same", "dilation": 2, "groups": 2},
        {"in_channels": 4, "out_channels": 2, "kernel_size": 3, "padding": 2, "padding_mode": "reflect", "bias": False},
    ],
)
def test_conv1d_matches_torch(kwargs, rng):
    torch = pytest.importorskip("torch")
    ours = nn.Conv1d(**kwargs).double()
    theirs = torch.nn.Conv1d(**kwargs).double()
    _copy_into_torch(ours, theirs)
    x = rng.standard_normal((2, 4, 9))
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _compare(ours(ox), theirs(tx), [ox, *ours.parameters()], [tx, *theirs.parameters()], rng)
    assert repr(ours) == repr(theirs)


def test_conv1d_is_conv2d_over_a_height_of_one(rng):
    x, w = gg.tensor(rng.standard_normal((2, 3, 8))), gg.tensor(rng.standard_normal((5, 3, 3)))
    expected = F.conv2d(x.unsqueeze(2), w.unsqueeze(2), padding=(0, 1)).squeeze(2)
    np.testing.assert_allclose(F.conv1d(x, w, padding=1).numpy(), expected.numpy())
    assert nn.Conv1d(3, 5, 3).weight.shape == (5, 3, 3)
    with pytest.raises(gg.ShapeError, match=r"conv1d: input of shape \(2, 4, 8\) has 4 channels"):
        F.conv1d(gg.ones(2, 4, 8), w)
    with pytest.raises(gg.ShapeError, match="conv1d: expected a 3-D weight"):
        F.conv1d(x, w.unsqueeze(2))


def test_conv2d_padding_modes_pad_then_convolve(rng):
    conv = nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False).double()
    x = gg.tensor(rng.standard_normal((1, 1, 4, 5)), requires_grad=True)
    wrapped = F.pad(x, (1, 1, 1, 1), mode="circular")
    np.testing.assert_allclose(conv(x).detach().numpy(), F.conv2d(wrapped, conv.weight).detach().numpy())
    assert gradgradcheck(conv, [x])
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of .*got padding_mode='mirror'"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


@pytest.mark.torch
def test_pooling_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    cases = [
        (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
        (lambda t: F.max_pool2d(t, (2, 3), (1, 2), dilation=(2, 1)), lambda t: torch.nn.functional.max_pool2d(t, (2, 3), (1, 2), dilation=(2, 1))),
        (lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True), lambda t: torch.nn.functional.avg_pool2d(t, 3, 2, 1, ceil_mode=True)),
        (lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), lambda t: torch.nn.functional.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
        (lambda t: F.avg_pool2d(t, (2, 2), padding=1, divisor_override=3), lambda t: torch.nn.functional.avg_pool2d(t, (2, 2), padding=1, divisor_override=3)),
    ]
    for ours_fn, theirs_fn in cases:
        ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        _compare(ours_fn(ox), theirs_fn(tx), [ox], [tx], rng)
    _, idx = F.max_pool2d(gg.tensor(x), 2, return_indices=True)
    _, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    # Ties go to the first maximum; a window of -inf points at its first element inside the input.
    x = np.round(rng.standard_normal((2, 3, 7, 6)))
    x[0, 0, :3, :3] = -np.inf
    for args in ((3, 2, 1), (2, 1, 0)):
        out, idx = F.max_pool2d(gg.tensor(x), *args, return_indices=True)
        tout, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), *args, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy(), err_msg=str(args))
        np.testing.assert_array_equal(out.numpy(), tout.numpy(), err_msg=str(args))


@pytest.mark.torch
@pytest.mark.parametrize("cls", ["RNN", "LSTM"])
@pytest.mark.parametrize("opts", [{}, {"num_layers": 2, "bidirectional": True, "batch_first": True}])
def test_recurrent_matches_torch(cls, opts, rng):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, cls)(3, 4, **opts).double()
    theirs = getattr(torch.nn, cls)(3, 4, **opts).double()
    _copy_into_torch(ours, theirs)
    x = rng.standard_normal((2, 5, 3))
    dirs = 2 if opts.get("bidirectional") else 1
    h0 = rng.standard_normal((opts.get("num_layers", 1) * dirs, 5 if not opts.get("batch_first") else 2, 4))
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oh, th = gg.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
    if cls == "LSTM":
        c0 = rng.standard_normal(h0.shape)
        oc, tc = gg.tensor(c0, requires_grad=True), torch.tensor(c0, requires_grad=True)
        o_out, (o_h, o_c) = ours(ox, (oh, oc))
        t_out, (t_h, t_c) = theirs(tx, (th, tc))
        np.testing.assert_allclose(o_c.detach().numpy(), t_c.detach().numpy(), rtol=1e-8)
        extra_o, extra_t = [oc], [tc]
        o_total = o_out.sum() * 0.5 + (o_h * o_c).sum()
        t_total = t_out.sum() * 0.5 + (t_h * t_c).sum()
    else:
        o_out, o_h = ours(ox, oh)
        t_out, t_h = theirs(tx, th)
        extra_o, extra_t = [], []
        o_total = o_out.sum() * 0.5 + (o_h * o_h).sum()
        t_total = t_out.sum() * 0.5 + (t_h * t_h).sum()
    np.testing.assert_allclose(o_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(o_h.detach().numpy(), t_h.detach().numpy(), rtol=1e-8, atol=1e-12)
    o_total.backward()
    t_total.backward()
    for a, b in zip([ox, oh, *extra_o, *ours.parameters()], [tx, th, *extra_t, *theirs.parameters()]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.torch
def test_norms_match_torch(rng):
    torch = pytest.importorskip("torch")
    for ours, theirs, shape in [
        (nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3), (4, 3, 2, 3)),
        (nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None), (4, 3, 5)),
        (nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3)), (4, 2, 3)),
    ]:
        ours.double(), theirs.double()
        with torch.no_grad():
            for p in theirs.parameters():
                p.uniform_(0.5, 1.5)
        _copy_into_torch(ours, theirs)
        for step in range(2):
            x = rng.standard_normal(shape) * 3 + 1
            ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            for p in list(ours.parameters()):
                p.grad = None
            theirs.zero_grad()
            _compare(ours(ox), theirs(tx), [ox, *ours.parameters()], [tx, *theirs.parameters()], rng, rtol=1e-7)
        for (name, b), tb in zip(ours.named_buffers(), theirs.buffers()):
            np.testing.assert_allclose(b.numpy(), tb.numpy(), rtol=1e-10, err_msg=name)
        ours.eval(), theirs.eval()
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(ours(gg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-8)


@pytest.mark.torch
def test_embedding_and_activations_match_torch(rng):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((6, 3))
    idx = np.array([[0, 5, 2], [2, 2, 1]])
    ow, tw = gg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    _compare(F.embedding(gg.tensor(idx), ow, padding_idx=2), torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=2), [ow], [tw], rng)
    x = rng.standard_normal((3, 4)) * 3
    pairs = [
        (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.GELU(), torch.nn.GELU()), (nn.SiLU(), torch.nn.SiLU()),
        (nn.Softplus(2.0, 3.0), torch.nn.Softplus(2.0, 3.0)), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.Softmax(0), torch.nn.Softmax(0)), (nn.LogSoftmax(1), torch.nn.LogSoftmax(1)), (nn.Tanh(), torch.nn.Tanh()),
        (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.ReLU(), torch.nn.ReLU()),
    ]
    for ours, theirs in pairs:
        ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        _compare(ours(ox), theirs(tx), [ox], [tx], rng, rtol=1e-7)
