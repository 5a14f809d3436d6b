"""Transformer layers and stacks: a NumPy reference of the encoder layer, float64 gradients, deep-copied
stacks, errors, and outputs and gradients against PyTorch given the same weights (torch-marked)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck

from .test_attention import _copy_state, _sdpa_reference, _torch_grads


def _layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def _encoder_layer_reference(layer, x, pad, act):
    """The encoder layer on one unbatched sequence x (L, E) in NumPy; pad (L,) bool, True = padding."""
    p = {n: t.detach().numpy() for n, t in layer.named_parameters()}
    heads, eps = layer.self_attn.num_heads, layer.norm1.eps

    def attention(h):
        qkv = h @ p["self_attn.in_proj_weight"].T + p["self_attn.in_proj_bias"]
        q, k, v = (a.reshape(len(h), heads, -1).transpose(1, 0, 2) for a in np.split(qkv, 3, axis=-1))
        o = _sdpa_reference(q, k, v, ~pad[None, None, :]).transpose(1, 0, 2).reshape(len(h), -1)
        return o @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"]

    def feed_forward(h):
        return act(h @ p["linear1.weight"].T + p["linear1.bias"]) @ p["linear2.weight"].T + p["linear2.bias"]

    def norm(i, h):
        return _layer_norm(h, p[f"norm{i}.weight"], p[f"norm{i}.bias"], eps)

    if layer.norm_first:
        x = x + attention(norm(1, x))
        return x + feed_forward(norm(2, x))
    x = norm(1, x + attention(x))
    return norm(2, x + feed_forward(x))


def _randomise(module, rng):
    """Non-trivial values for every parameter (LayerNorm's ones and zeros and zero biases hide mistakes)."""
    for p in module.parameters():
        p.data.copy_(gg.tensor(rng.standard_normal(tuple(p.shape)) * 0.5, dtype=p.dtype))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh_callable"])
def test_encoder_layer_matches_numpy_reference(norm_first, activation, rng):
    acts = {
        "relu": (lambda x: np.maximum(x, 0)),
        "gelu": (lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
        "tanh_callable": np.tanh,
    }
    gg_act = (lambda t: t.tanh()) if activation == "tanh_callable" else activation
    layer = nn.TransformerEncoderLayer(6, 2, 7, dropout=0.3, activation=gg_act, norm_first=norm_first, layer_norm_eps=1e-3).double()
    _randomise(layer, rng)
    layer.eval()
    x = rng.standard_normal((5, 6))
    pad = np.array([0, 0, 1, 0, 1], bool)
    out = layer(gg.tensor(x), src_key_padding_mask=gg.tensor(pad))
    expected = _encoder_layer_reference(layer, x, pad, acts[activation])
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    # Batched, sequence first: the same numbers per batch entry.
    batch = layer(gg.tensor(np.stack([x, x], 1)), src_key_padding_mask=gg.tensor(np.stack([pad, pad])))
    np.testing.assert_allclose(batch.detach().numpy()[:, 1], expected, rtol=1e-10, atol=1e-10)


def test_generate_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    assert m.dtype == gg.float32 and m.shape == (4, 4)
    expected = np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, 0.0)
    np.testing.assert_array_equal(m.numpy(), expected)
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=gg.float64).dtype == gg.float64


def test_encoder_deep_copies_the_layer(rng):
    layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)
    enc = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(4))
    assert len(enc.layers) == 3 and enc.num_layers == 3
    params = [dict(m.named_parameters()) for m in enc.layers]
    for name, p in layer.named_parameters():
        ids = {id(p)} | {id(ps[name]) for ps in params}
        assert len(ids) == 4  # the original and three independent copies
        for ps in params:
            np.testing.assert_array_equal(ps[name].detach().numpy(), p.detach().numpy())
    with gg.no_grad():
        enc.layers[0].linear1.weight.add_(1.0)
    assert not np.allclose(enc.layers[0].linear1.weight.detach().numpy(), enc.layers[1].linear1.weight.detach().numpy())
    keys = list(enc.state_dict())
    assert keys[:2] == ["layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias"]
    assert keys[-2:] == ["norm.weight", "norm.bias"] and len(keys) == 3 * 12 + 2


def test_transformer_parameter_names_and_init():
    gg.manual_seed(0)
    model = nn.Transformer(8, 2, 2, 1, 16, dropout=0.0)
    names = [n for n, _ in model.named_parameters()]
    assert "encoder.layers.1.linear2.bias" in names and "decoder.layers.0.multihead_attn.in_proj_weight" in names
    assert "encoder.norm.weight" in names and "decoder.norm.bias" in names
    for name, p in model.named_parameters():
        v = p.detach().numpy()
        if p.ndim > 1:  # xavier_uniform_ everywhere
            fan_out, fan_in = p.shape
            assert np.abs(v).max() <= math.sqrt(6 / (fan_in + fan_out)), name
        elif "norm" in name:
            np.testing.assert_array_equal(v, 1.0 if name.endswith("weight") else 0.0)


def test_bias_false_drops_every_bias():
    layer = nn.TransformerDecoderLayer(4, 2, 8, bias=False)
    assert not [n for n, _ in layer.named_parameters() if "bias" in n]


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_and_decoder_layers_gradcheck(norm_first, rng):
    gg.manual_seed(0)
    enc = nn.TransformerEncoderLayer(4, 2, 5, dropout=0.0, norm_first=norm_first, activation="gelu").double()
    dec = nn.TransformerDecoderLayer(4, 2, 5, dropout=0.0, norm_first=norm_first).double()
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype=gg.float64)
    pad = gg.tensor(np.array([[0, 1, 0], [0, 0, 0]], bool))
    x = gg.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    mem = gg.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    assert gradcheck(lambda s: enc(s, src_key_padding_mask=pad), [x])
    assert gradgradcheck(lambda s: enc(s, src_mask=causal), [x])
    assert gradcheck(lambda t, m: dec(t, m, tgt_mask=causal, memory_key_padding_mask=pad), [x, mem])


def test_dropout_runs_while_training_only(rng):
    model = nn.Transformer(4, 2, 1, 1, 8, dropout=0.5).double()
    src, tgt = gg.tensor(rng.standard_normal((3, 2, 4))), gg.tensor(rng.standard_normal((2, 2, 4)))
    gg.manual_seed(7)
    a = model(src, tgt).detach().numpy()
    gg.manual_seed(7)
    b = model(src, tgt).detach().numpy()
    np.testing.assert_array_equal(a, b)
    model.eval()
    c = model(src, tgt).detach().numpy()
    np.testing.assert_array_equal(c, model(src, tgt).detach().numpy())
    assert not np.allclose(a, c)


def test_errors_name_the_module():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(AssertionError, match="MultiheadAttention.*divisible"):
        nn.TransformerDecoderLayer(6, 4)
    model = nn.Transformer(4, 2, 1, 1, 8)
    with pytest.raises(RuntimeError, match="Transformer: the batch number of src and tgt must be equal"):
        model(gg.randn(3, 2, 4), gg.randn(3, 3, 4))
    with pytest.raises(RuntimeError, match="Transformer: the feature number of src and tgt must be equal to d_model=4"):
        model(gg.randn(3, 2, 4), gg.randn(3, 2, 5))
    with pytest.raises(RuntimeError, match=r"attn_mask is \(4, 4\), but should be \(3, 3\)"):
        model.encoder(gg.randn(3, 2, 4), mask=gg.zeros(4, 4))
    with pytest.raises(TypeError, match="TransformerEncoderLayer: only bool and floating types of src_key_padding_mask"):
        model.encoder.layers[0](gg.randn(3, 2, 4), src_key_padding_mask=gg.zeros(2, 3, dtype=gg.int64))


# Against PyTorch -----------------------------------------------------------------------------------


def _pair(torch, name, *args, **kwargs):
    """The same module in both libraries, float64, the torch weights copied into gpugrad's."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes about its nested-tensor fast path
        tm = getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs)
    gm = getattr(nn, name)(*args, dtype=gg.float64, **kwargs)
    _copy_state(tm, gm)
    return tm, gm


def _both(torch, array):
    return torch.tensor(array), gg.tensor(array)


def _seq(rng, batch_first, L, N, E):
    return rng.standard_normal((N, L, E) if batch_first else (L, N, E))


ACTIVATIONS = ["relu", "gelu", "callable"]


def _activation(torch, which):
    if which != "callable":
        return which, which
    return (lambda x: torch.nn.functional.silu(x)), (lambda x: F.silu(x))


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "bool", "float"])
def test_encoder_layer_matches_torch(batch_first, norm_first, masks, rng):
    torch = pytest.importorskip("torch")
    L, N, E = 5, 3, 6
    act = ACTIVATIONS[(batch_first + 2 * norm_first + len(masks)) % 3]
    t_act, g_act = _activation(torch, act)
    torch.manual_seed(0)
    tm = torch.nn.TransformerEncoderLayer(E, 2, 7, dropout=0.0, activation=t_act, batch_first=batch_first, norm_first=norm_first, dtype=torch.float64)
    gm = nn.TransformerEncoderLayer(E, 2, 7, dropout=0.0, activation=g_act, batch_first=batch_first, norm_first=norm_first, dtype=gg.float64)
    _copy_state(tm, gm)
    tkw, gkw = {}, {}
    if masks != "none":
        attn = rng.random((L, L)) > 0.7
        pad = np.zeros((N, L), bool)
        pad[0, 3:] = True
        if masks == "float":
            attn, pad = np.where(attn, -1e9, rng.standard_normal((L, L))), np.where(pad, -np.inf, 0.0)
        tkw["src_mask"], gkw["src_mask"] = _both(torch, attn)
        tkw["src_key_padding_mask"], gkw["src_key_padding_mask"] = _both(torch, pad)
    _torch_grads(torch, [_seq(rng, batch_first, L, N, E)], lambda x: tm(x, **tkw), lambda x: gm(x, **gkw), rng, (tm, gm))


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(batch_first, norm_first, rng):
    torch = pytest.importorskip("torch")
    T, S, N, E = 4, 5, 2, 6
    tm, gm = _pair(torch, "TransformerDecoderLayer", E, 3, 5, dropout=0.0, batch_first=batch_first, norm_first=norm_first, activation="gelu")
    tc, gc = _both(torch, np.triu(np.full((T, T), -np.inf), 1))
    tpad, gpad = _both(torch, np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], bool))
    tmm, gmm = _both(torch, rng.random((T, S)) > 0.8)
    arrays = [_seq(rng, batch_first, T, N, E), _seq(rng, batch_first, S, N, E)]
    _torch_grads(
        torch, arrays,
        lambda t, m: tm(t, m, tgt_mask=tc, tgt_is_causal=True, memory_mask=tmm, memory_key_padding_mask=tpad),
        lambda t, m: gm(t, m, tgt_mask=gc, tgt_is_causal=True, memory_mask=gmm, memory_key_padding_mask=gpad),
        rng, (tm, gm),
    )


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_stacks_match_torch(batch_first, rng):
    torch = pytest.importorskip("torch")
    L, N, E = 4, 2, 4
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_enc = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(E, 2, 6, dropout=0.0, batch_first=batch_first, dtype=torch.float64),
            num_layers=2, norm=torch.nn.LayerNorm(E, dtype=torch.float64),
        )
    g_enc = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(E, 2, 6, dropout=0.0, batch_first=batch_first, dtype=gg.float64),
        num_layers=2, norm=nn.LayerNorm(E, dtype=gg.float64),
    )
    _copy_state(t_enc, g_enc)
    # A bool causal mask: torch spots it as causal; the result must not depend on that.
    tcm, gcm = _both(torch, np.triu(np.ones((L, L), bool), 1))
    tpad, gpad = _both(torch, np.array([[0, 0, 0, 1], [0, 0, 0, 0]], bool))
    x = _seq(rng, batch_first, L, N, E)
    _torch_grads(torch, [x], lambda s: t_enc(s, mask=tcm, src_key_padding_mask=tpad), lambda s: g_enc(s, mask=gcm, src_key_padding_mask=gpad), rng, (t_enc, g_enc))

    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, 2, 6, dropout=0.0, batch_first=batch_first, dtype=torch.float64), num_layers=2)
    g_dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, 2, 6, dropout=0.0, batch_first=batch_first, dtype=gg.float64), num_layers=2)
    _copy_state(t_dec, g_dec)
    tc, gc = _both(torch, np.triu(np.full((3, 3), -np.inf), 1))
    arrays = [_seq(rng, batch_first, 3, N, E), x]
    _torch_grads(torch, arrays, lambda t, m: t_dec(t, m, tgt_mask=tc), lambda t, m: g_dec(t, m, tgt_mask=gc), rng, (t_dec, g_dec))


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(batch_first, norm_first, rng):
    torch = pytest.importorskip("torch")
    S, T, N, E = 5, 3, 2, 6
    tm, gm = _pair(torch, "Transformer", E, 2, 2, 1, 7, dropout=0.1, batch_first=batch_first, norm_first=norm_first)
    tm.eval()
    gm.eval()
    tc = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    gc = nn.Transformer.generate_square_subsequent_mask(T, dtype=gg.float64)
    np.testing.assert_array_equal(gc.numpy(), tc.numpy())
    tpad, gpad = _both(torch, np.array([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], bool))
    arrays = [_seq(rng, batch_first, S, N, E), _seq(rng, batch_first, T, N, E)]
    _torch_grads(
        torch, arrays,
        lambda s, t: tm(s, t, tgt_mask=tc, src_key_padding_mask=tpad, memory_key_padding_mask=tpad),
        lambda s, t: gm(s, t, tgt_mask=gc, src_key_padding_mask=gpad, memory_key_padding_mask=gpad),
        rng, (tm, gm),
    )


@pytest.mark.torch
def test_unbatched_transformer_without_bias_matches_torch(rng):
    torch = pytest.importorskip("torch")
    tm, gm = _pair(torch, "Transformer", 4, 2, 1, 2, 5, dropout=0.0, bias=False, activation="gelu")
    tpad, gpad = _both(torch, np.array([0, 0, 1, 0]))
    tpad, gpad = tpad.bool(), gpad.bool()
    _torch_grads(
        torch, [rng.standard_normal((4, 4)), rng.standard_normal((3, 4))],
        lambda s, t: tm(s, t, src_key_padding_mask=tpad, tgt_is_causal=False),
        lambda s, t: gm(s, t, src_key_padding_mask=gpad, tgt_is_causal=False),
        rng, (tm, gm),
    )


def test_encoder_inference_leaves_trailing_padding_at_zero(rng):
    # PyTorch's nested-tensor inference path: padded positions come out as norm(0), i.e. the norm's bias.
    gg.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, batch_first=True), 2, norm=nn.LayerNorm(4)).double()
    nn.init.normal_(enc.norm.bias)
    enc.eval()
    x = gg.tensor(rng.standard_normal((2, 5, 4)))
    pad = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], bool)
    with gg.no_grad():
        out = enc(x, src_key_padding_mask=gg.tensor(pad)).numpy()
    plain = enc(x, src_key_padding_mask=gg.tensor(pad)).detach().numpy()  # gradients recorded: the plain path
    np.testing.assert_allclose(out[pad], np.broadcast_to(enc.norm.bias.detach().numpy(), (2, 4)), rtol=1e-12)
    np.testing.assert_allclose(out[~pad], plain[~pad], rtol=1e-12, atol=1e-12)
    assert not np.allclose(plain[pad], out[pad])
    gaps = gg.tensor(np.array([[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]], bool))
    with gg.no_grad():  # padding inside a row: no nested tensors, the plain values everywhere
        out = enc(x, src_key_padding_mask=gaps).numpy()
    np.testing.assert_allclose(out, enc(x, src_key_padding_mask=gaps).detach().numpy(), rtol=1e-12, atol=1e-12)

@pytest.mark.torch
@pytest.mark.parametrize("batch_first,norm_first,pad", [
    (True, False, [[0, 0, 1, 1], [0, 0, 0, 0]]),
    (True, False, [[0, 1, 0, 1], [0, 0, 0, 0]]),
    (True, True, [[0, 0, 1, 1], [0, 0, 0, 0]]),
    (False, False, [[0, 0, 0, 1], [0, 0, 1, 1]]),
])
def test_encoder_inference_with_padding_matches_torch(batch_first, norm_first, pad, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=batch_first, norm_first=norm_first), 2, norm=torch.nn.LayerNorm(8))
    g_enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=batch_first, norm_first=norm_first), 2, norm=nn.LayerNorm(8))
    _copy_state(t_enc, g_enc)
    t_enc.eval()
    g_enc.eval()
    assert g_enc.use_nested_tensor == t_enc.use_nested_tensor
    x = _seq(rng, batch_first, 4, 2, 8).astype(np.float32)
    tp, gp = _both(torch, np.array(pad, bool))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nested tensors are a prototype, says torch
        expected = t_enc(torch.tensor(x), src_key_padding_mask=tp).numpy()
    with gg.no_grad():
        out = g_enc(gg.tensor(x), src_key_padding_mask=gp).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
