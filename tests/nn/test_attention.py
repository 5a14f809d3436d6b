"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention: values against a
NumPy reference, first and second derivatives in float64, error cases, and outputs and gradients against
PyTorch given the same weights (torch-marked)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck

# need_weights=True keeps PyTorch's plain softmax, whose fully masked rows are NaN (NumPy says so aloud).
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _sdpa_reference(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T scale + mask) v in NumPy; bool masks mark with True what takes part; rows with nothing
    left give zeros."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        mask = np.tril(np.ones(scores.shape[-2:], dtype=bool))
    if mask is not None:
        scores = scores + (np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask)
    dead = np.all(np.isneginf(scores), axis=-1, keepdims=True)
    scores = np.where(dead, 0.0, scores)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w = np.where(dead, 0.0, e / e.sum(axis=-1, keepdims=True))
    return w @ v


def _qkv(rng, qshape, kshape, vshape):
    return rng.standard_normal(qshape), rng.standard_normal(kshape), rng.standard_normal(vshape)


SDPA_CASES = [
    # name, q, k, v shapes, mask builder (rng, L, S) -> array or None, keyword arguments
    ("plain_4d", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    ("plain_2d", (4, 5), (6, 5), (6, 3), None, {}),
    ("broadcast_batch", (2, 3, 4, 5), (1, 3, 6, 5), (1, 3, 6, 7), None, {}),
    ("bool_mask_LS", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), lambda r: r.random((4, 6)) > 0.4, {}),
    ("bool_mask_per_batch", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), lambda r: r.random((2, 1, 4, 6)) > 0.4, {}),
    ("float_mask", (3, 4, 5), (3, 6, 5), (3, 6, 2), lambda r: r.standard_normal((3, 4, 6)), {}),
    ("causal_square", (2, 5, 3), (2, 5, 3), (2, 5, 4), None, {"is_causal": True}),
    ("causal_tall", (1, 6, 3), (1, 4, 3), (1, 4, 2), None, {"is_causal": True}),
    ("causal_wide", (1, 3, 3), (1, 5, 3), (1, 5, 2), None, {"is_causal": True}),
    ("scale", (2, 4, 5), (2, 6, 5), (2, 6, 3), None, {"scale": 0.37}),
]


def _mask(build, rng):
    if build is None:
        return None
    m = build(rng)
    if m.dtype == bool:
        m[..., 1, :] = False  # a row with every key masked out
    return m


@pytest.mark.parametrize("name,qs,ks,vs,build,kw", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_numpy_reference(name, qs, ks, vs, build, kw, rng):
    q, k, v = _qkv(rng, qs, ks, vs)
    mask = _mask(build, rng)
    out = F.scaled_dot_product_attention(
        gg.tensor(q), gg.tensor(k), gg.tensor(v), attn_mask=None if mask is None else gg.tensor(mask), **kw
    )
    expected = _sdpa_reference(q, k, v, mask, kw.get("is_causal", False), kw.get("scale"))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_sdpa_causal_is_top_left_aligned():
    # Lq > Lk: query i sees keys 0..min(i, S-1); with value = identity the output is the weights themselves.
    q = gg.zeros(5, 2, dtype=gg.float64)  # equal scores: uniform weights over the visible keys
    out = F.scaled_dot_product_attention(q, gg.zeros(3, 2, dtype=gg.float64), gg.eye(3, dtype=gg.float64), is_causal=True)
    expected = np.array([[1, 0, 0], [0.5, 0.5, 0], [1 / 3] * 3, [1 / 3] * 3, [1 / 3] * 3])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_sdpa_fully_masked_rows_are_zero_with_zero_gradients(rng):
    q, k, v = (gg.tensor(a, requires_grad=True) for a in _qkv(rng, (3, 4), (5, 4), (5, 2)))
    mask = rng.random((3, 5)) > 0.3
    mask[0] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=gg.tensor(mask))
    np.testing.assert_array_equal(out.detach().numpy()[0], 0.0)
    (out * gg.tensor(rng.standard_normal(out.shape))).sum().backward()
    assert np.isfinite(q.grad.numpy()).all() and np.isfinite(k.grad.numpy()).all()
    np.testing.assert_array_equal(q.grad.numpy()[0], 0.0)
    assert np.abs(q.grad.numpy()[1:]).sum() > 0


def test_sdpa_gqa_repeats_key_heads(rng):
    q, k, v = _qkv(rng, (2, 6, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3))
    out = F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), gg.tensor(v), enable_gqa=True)
    # Query heads 0-2 share key head 0, heads 3-5 key head 1.
    expected = _sdpa_reference(q, np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_sdpa_dropout_drops_weights_from_gpugrads_generator(rng):
    q, k = _qkv(rng, (4, 40, 3), (4, 30, 3), (1,))[:2]
    v = gg.eye(30, dtype=gg.float64)  # output = the (dropped) weights
    plain = F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), v).numpy()
    gg.manual_seed(3)
    dropped = F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), v, dropout_p=0.25).numpy()
    gg.manual_seed(3)
    again = F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), v, dropout_p=0.25).numpy()
    np.testing.assert_array_equal(dropped, again)
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], plain[kept] / 0.75, rtol=1e-12)
    assert 0.2 < 1 - kept.mean() < 0.3


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal"])
def test_sdpa_gradcheck_and_gradgradcheck(kind, rng):
    q, k, v = (gg.tensor(a, requires_grad=True) for a in _qkv(rng, (2, 3, 2), (2, 4, 2), (2, 4, 3)))
    inputs = [q, k, v]
    if kind == "bool":
        m = rng.random((3, 4)) > 0.4
        m[0] = False
        m[1, 0] = True
        mask = gg.tensor(m)

        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    elif kind == "float":
        inputs.append(gg.tensor(rng.standard_normal((2, 1, 4)), requires_grad=True))

        def fn(q, k, v, m):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.8)
    else:

        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=kind == "causal")

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.ones(4, 6, dtype=gg.bool), is_causal=True), "attn_mask"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.ones(5, 6, dtype=gg.bool)), r"\(5, 6\)"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.ones(6, dtype=gg.bool)), "attn_mask"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.ones(3, 2, 4, 6, dtype=gg.bool)), "broadcast"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.ones(4, 6, dtype=gg.int64)), "int64"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.ones(4, 6, dtype=gg.float64)), "float64"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v.double()), "dtype"),
        (lambda q, k, v: F.scaled_dot_product_attention(q[0, 0, 0], k, v), "2-D"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k[..., :4], v), "last dim"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v[:, :, :5]), "sequence length"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k[:, :2], v[:, :2], enable_gqa=True), "divide"),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=1.5), "dropout"),
    ],
)
def test_sdpa_errors_name_the_function(call, match):
    q, k, v = gg.randn(2, 3, 4, 5), gg.randn(2, 3, 6, 5), gg.randn(2, 3, 6, 7)
    with pytest.raises((RuntimeError, ValueError, TypeError), match=match) as info:
        call(q, k, v)
    assert "scaled_dot_product_attention" in str(info.value)


def test_sdpa_mask_with_is_causal_is_a_runtime_error():
    q = gg.randn(3, 2)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=gg.ones(3, 3, dtype=gg.bool), is_causal=True)


# MultiheadAttention ------------------------------------------------------------------------------------


def test_mha_parameter_names_and_shapes():
    same = nn.MultiheadAttention(6, 3)
    assert [(n, tuple(p.shape)) for n, p in same.named_parameters()] == [
        ("in_proj_weight", (18, 6)), ("in_proj_bias", (18,)), ("out_proj.weight", (6, 6)), ("out_proj.bias", (6,)),
    ]
    other = nn.MultiheadAttention(6, 2, bias=False, add_bias_kv=True, kdim=4, vdim=5)
    assert {n: tuple(p.shape) for n, p in other.named_parameters()} == {
        "q_proj_weight": (6, 6), "k_proj_weight": (6, 4), "v_proj_weight": (6, 5),
        "bias_k": (1, 1, 6), "bias_v": (1, 1, 6), "out_proj.weight": (6, 6),
    }
    assert other.in_proj_weight is None and other.in_proj_bias is None and other.head_dim == 3
    assert isinstance(same.out_proj, nn.Linear)


def test_mha_init_follows_pytorch():
    gg.manual_seed(0)
    mha = nn.MultiheadAttention(32, 4, add_bias_kv=True)
    w = mha.in_proj_weight.detach().numpy()
    bound = math.sqrt(6.0 / (32 + 96))  # xavier_uniform_ on (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    np.testing.assert_array_equal(mha.in_proj_bias.detach().numpy(), 0.0)
    np.testing.assert_array_equal(mha.out_proj.bias.detach().numpy(), 0.0)
    assert np.abs(mha.out_proj.weight.detach().numpy()).max() <= 1 / math.sqrt(32)
    assert 0.1 < mha.bias_k.detach().numpy().std() < 0.4  # xavier_normal_ on (1, 1, 32): std 0.25


def test_mha_embed_dim_must_divide_by_heads():
    with pytest.raises(AssertionError, match="MultiheadAttention.*divisible") as info:
        nn.MultiheadAttention(10, 3)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 1)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"attn_mask": gg.zeros(4, 4)}, r"attn_mask is \(4, 4\), but should be \(3, 5\)"),
        ({"attn_mask": gg.zeros(3, 3, 5)}, r"attn_mask is \(3, 3, 5\), but should be \(4, 3, 5\)"),
        ({"attn_mask": gg.zeros(1, 1, 3, 5)}, "2-D or 3-D"),
        ({"key_padding_mask": gg.zeros(2, 4, dtype=gg.bool)}, r"key_padding_mask of shape \(2, 5\)"),
        ({"key_padding_mask": gg.zeros(2, dtype=gg.bool)}, "2-D"),
        ({"key_padding_mask": gg.zeros(2, 5, dtype=gg.int64)}, "bool and floating"),
        ({"is_causal": True}, "Need attn_mask"),
    ],
)
def test_mha_mask_errors_name_the_function(kwargs, match):
    mha = nn.MultiheadAttention(4, 2)
    q, kv = gg.randn(3, 2, 4), gg.randn(5, 2, 4)
    with pytest.raises((RuntimeError, AssertionError, TypeError), match=match) as info:
        mha(q, kv, kv, **kwargs)
    assert "multi_head_attention_forward" in str(info.value)


def test_mha_input_rank_errors():
    mha = nn.MultiheadAttention(4, 2)
    with pytest.raises(AssertionError, match="multi_head_attention_forward.*3-D"):
        mha(gg.randn(3, 2, 4), gg.randn(5, 4), gg.randn(5, 4))
    with pytest.raises(AssertionError, match=r"\(2, 3, 5\)"):
        mha(gg.randn(3, 4), gg.randn(5, 4), gg.randn(5, 4), attn_mask=gg.zeros(3, 3, 5))
    with pytest.raises(AssertionError, match="embedding dimension of 4"):
        mha(gg.randn(3, 2, 6), gg.randn(5, 2, 6), gg.randn(5, 2, 6))


def test_mha_weights_paths_agree_and_unbatched_is_batch_of_one(rng):
    gg.manual_seed(1)
    mha = nn.MultiheadAttention(6, 3, batch_first=True).double()
    x = gg.tensor(rng.standard_normal((1, 4, 6)))
    mask = gg.tensor(rng.random((4, 4)) > 0.7)
    out, w = mha(x, x, x, attn_mask=mask, average_attn_weights=False)
    fast, none = mha(x, x, x, attn_mask=mask, need_weights=False)
    assert none is None and w.shape == (1, 3, 4, 4)
    np.testing.assert_allclose(out.detach().numpy(), fast.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    assert (w.detach().numpy()[:, :, mask.numpy()] == 0).all()  # True = not attended
    single, avg = mha(x[0], x[0], x[0], attn_mask=mask)
    np.testing.assert_allclose(single.detach().numpy(), out.detach().numpy()[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(avg.detach().numpy(), w.detach().numpy()[0].mean(0), rtol=1e-12, atol=1e-12)


def test_mha_single_head_matches_reference(rng):
    # One head with the projections written out in NumPy: out = softmax(q k^T / sqrt(E) + pad) v W_o^T + b_o.
    gg.manual_seed(2)
    mha = nn.MultiheadAttention(4, 1, kdim=3, vdim=2).double()
    nn.init.normal_(mha.in_proj_bias)
    nn.init.normal_(mha.out_proj.bias)
    q, k, v = rng.standard_normal((5, 4)), rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    pad = np.array([0, 1, 0, 0, 1, 0], bool)
    out, w = mha(gg.tensor(q), gg.tensor(k), gg.tensor(v), key_padding_mask=gg.tensor(pad))
    p = {n: t.detach().numpy() for n, t in mha.named_parameters()}
    bq, bk, bv = np.split(p["in_proj_bias"], 3)
    qp, kp, vp = q @ p["q_proj_weight"].T + bq, k @ p["k_proj_weight"].T + bk, v @ p["v_proj_weight"].T + bv
    expected = _sdpa_reference(qp, kp, vp, ~pad[None, :]) @ p["out_proj.weight"].T + p["out_proj.bias"]
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    assert (w.detach().numpy()[:, pad] == 0).all()


def test_multi_head_attention_forward_gradcheck(rng):
    E, H = 4, 2
    t = lambda *s: gg.tensor(rng.standard_normal(s), requires_grad=True)  # noqa: E731
    inputs = [t(3, 2, E), t(4, 2, E), t(3 * E, E), t(3 * E), t(E, E), t(E), t(1, 1, E), t(1, 1, E)]
    pad = gg.tensor(np.array([[0, 0, 1, 0], [0, 0, 0, 0]], bool))
    mask = gg.tensor(rng.random((3, 4)) > 0.7)

    def fn(q, kv, w_in, b_in, w_out, b_out, bias_k, bias_v):
        return F.multi_head_attention_forward(
            q, kv, kv, E, H, w_in, b_in, bias_k, bias_v, True, 0.0, w_out, b_out,
            key_padding_mask=pad, attn_mask=mask, need_weights=False,
        )[0]

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)

    def weights(q, kv, w_in, b_in, w_out, b_out, bias_k, bias_v):  # the need_weights path
        return F.multi_head_attention_forward(
            q, kv, kv, E, H, w_in, b_in, bias_k, bias_v, False, 0.0, w_out, b_out, attn_mask=mask, average_attn_weights=False,
        )[1]

    assert gradcheck(weights, inputs[:4] + [inputs[4].detach(), inputs[5].detach()] + inputs[6:])


def test_mha_dropout_only_while_training(rng):
    mha = nn.MultiheadAttention(4, 2, dropout=0.5).double()
    x = gg.tensor(rng.standard_normal((3, 2, 4)))
    mha.eval()
    a, b = mha(x, x, x)[0], mha(x, x, x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    mha.train()
    gg.manual_seed(5)
    c, wc = mha(x, x, x)
    gg.manual_seed(5)
    d = mha(x, x, x)[0]
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())
    assert not np.allclose(c.detach().numpy(), a.detach().numpy())
    assert (wc.detach().numpy() == 0).any()


# Against PyTorch -----------------------------------------------------------------------------------


def _torch_grads(torch, arrays, run_torch, run_gg, rng, params=None):
    """Run both sides on the same float64 arrays; compare outputs and every input (and parameter) gradient
    under one random cotangent per output."""
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    gx = [gg.tensor(a, requires_grad=True) for a in arrays]
    touts, gouts = run_torch(*tx), run_gg(*gx)
    touts = touts if isinstance(touts, tuple) else (touts,)
    gouts = gouts if isinstance(gouts, tuple) else (gouts,)
    tloss, gloss = 0, 0
    for to, go in zip(touts, gouts):
        if to is None:
            assert go is None
            continue
        assert tuple(to.shape) == tuple(go.shape)
        np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-10)
        w = rng.standard_normal(tuple(to.shape))
        tloss = tloss + (to * torch.tensor(w)).nansum()
        gloss = gloss + (go.nan_to_num() * gg.tensor(w)).sum()
    tloss.backward()
    gloss.backward()
    for a, b in zip(tx, gx):
        if a.grad is None:  # not used by the output (a key replaced by static_k, say)
            assert b.grad is None
            continue
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-8, atol=1e-10)
    if params is not None:
        tm, gm = params
        gp = dict(gm.named_parameters())
        for name, p in tm.named_parameters():
            np.testing.assert_allclose(gp[name].grad.numpy(), p.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("name,qs,ks,vs,build,kw", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_torch(name, qs, ks, vs, build, kw, rng):
    torch = pytest.importorskip("torch")
    arrays = list(_qkv(rng, qs, ks, vs))
    mask = _mask(build, rng)
    if mask is not None and mask.dtype != bool:
        arrays.append(mask)  # a float mask is differentiable too

        def run_t(q, k, v, m):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)

        def run_g(q, k, v, m):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)
    else:
        tm = None if mask is None else torch.tensor(mask)
        gm = None if mask is None else gg.tensor(mask)

        def run_t(q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=tm, **kw)

        def run_g(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=gm, **kw)

    _torch_grads(torch, arrays, run_t, run_g, rng)


@pytest.mark.torch
def test_sdpa_gqa_matches_torch(rng):
    torch = pytest.importorskip("torch")
    arrays = list(_qkv(rng, (2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 3)))
    _torch_grads(
        torch, arrays,
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True, is_causal=True),
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True, is_causal=True),
        rng,
    )


def _copy_state(torch_module, gg_module):
    """The torch module's state_dict into the gpugrad one: same names, same shapes, same order."""
    state = {k: gg.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    mine = gg_module.state_dict()
    assert list(state) == list(mine)
    assert all(tuple(state[k].shape) == tuple(mine[k].shape) for k in state)
    gg_module.load_state_dict(state)


MHA_CASES = [
    # name, constructor kwargs, batched, forward kwargs builder (rng, L, S, N) -> dict of arrays/flags
    ("plain", {}, True, lambda r, L, S, N: {}),
    ("batch_first_bool_masks", {"batch_first": True}, True,
     lambda r, L, S, N: {"attn_mask": r.random((L, S)) > 0.7, "key_padding_mask": np.eye(N, S, dtype=bool)}),
    ("float_3d_mask_per_head", {}, True, lambda r, L, S, N: {"attn_mask": r.standard_normal((N * 3, L, S)), "average_attn_weights": False}),
    ("no_weights_masks", {"batch_first": True}, True,
     lambda r, L, S, N: {"attn_mask": r.random((L, S)) > 0.7, "key_padding_mask": np.eye(N, S, dtype=bool), "need_weights": False}),
    ("kdim_vdim_bias_kv_zero_attn", {"kdim": 4, "vdim": 5, "add_bias_kv": True, "add_zero_attn": True}, True,
     lambda r, L, S, N: {"key_padding_mask": np.eye(N, S, dtype=bool), "attn_mask": r.random((L, S)) > 0.7}),
    ("no_bias", {"bias": False, "batch_first": True}, True, lambda r, L, S, N: {"need_weights": False}),
    ("unbatched", {"kdim": 4, "vdim": 5}, False, lambda r, L, S, N: {"key_padding_mask": np.eye(1, S, dtype=bool)[0]}),
    ("unbatched_3d_mask", {}, False, lambda r, L, S, N: {"attn_mask": r.random((3, L, S)) > 0.7, "need_weights": False}),
    ("fully_masked_row", {}, True, lambda r, L, S, N: {"attn_mask": np.eye(L, S, dtype=bool) | (np.arange(L) == 1)[:, None]}),
    ("fully_masked_row_no_weights", {}, True,
     lambda r, L, S, N: {"attn_mask": np.eye(L, S, dtype=bool) | (np.arange(L) == 1)[:, None], "need_weights": False}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,ctor,batched,fwd", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_mha_matches_torch(name, ctor, batched, fwd, rng):
    torch = pytest.importorskip("torch")
    E, H, L, S, N = 6, 3, 4, 5, 2
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **ctor)
    gm = nn.MultiheadAttention(E, H, dtype=gg.float64, **ctor)
    _copy_state(tm, gm)
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)

    def shape(seq, feat):
        if not batched:
            return (seq, feat)
        return (N, seq, feat) if ctor.get("batch_first") else (seq, N, feat)

    arrays = [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kdim)), rng.standard_normal(shape(S, vdim))]
    kw = fwd(rng, L, S, N)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    gkw = {k: gg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    _torch_grads(torch, arrays, lambda q, k, v: tm(q, k, v, **tkw), lambda q, k, v: gm(q, k, v, **gkw), rng, (tm, gm))


@pytest.mark.torch
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_causal_hint_matches_torch(need_weights, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    tm = torch.nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    gm = nn.MultiheadAttention(4, 2, batch_first=True, dtype=gg.float64)
    _copy_state(tm, gm)
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    tc, gc = torch.tensor(causal), gg.tensor(causal)
    _torch_grads(
        torch, [rng.standard_normal((2, 5, 4))],
        lambda x: tm(x, x, x, attn_mask=tc, is_causal=True, need_weights=need_weights),
        lambda x: gm(x, x, x, attn_mask=gc, is_causal=True, need_weights=need_weights),
        rng, (tm, gm),
    )


@pytest.mark.torch
def test_mha_mismatched_mask_types_warn_as_torch(rng):
    torch = pytest.importorskip("torch")
    gm = nn.MultiheadAttention(4, 2)
    x = gg.randn(3, 1, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm(x, x, x, attn_mask=gg.zeros(3, 3, dtype=gg.bool), key_padding_mask=gg.zeros(1, 3))
    assert any("mismatched key_padding_mask and attn_mask" in str(w.message) for w in caught)
    assert repr(gm) == repr(torch.nn.MultiheadAttention(4, 2))


@pytest.mark.torch
def test_mha_merge_masks_matches_torch(rng):
    torch = pytest.importorskip("torch")
    tm, gm = torch.nn.MultiheadAttention(4, 2, batch_first=True), nn.MultiheadAttention(4, 2, batch_first=True)
    q = rng.standard_normal((3, 5, 4)).astype(np.float32)
    attn2, attn3 = rng.standard_normal((5, 5)).astype(np.float32), rng.standard_normal((6, 5, 5)).astype(np.float32)
    pad = np.where(rng.random((3, 5)) > 0.7, -np.inf, 0.0).astype(np.float32)
    for a, p in [(None, None), (None, pad), (attn2, None), (attn2, pad), (attn3, pad)]:
        t = lambda v: None if v is None else torch.tensor(v)  # noqa: E731
        g = lambda v: None if v is None else gg.tensor(v)  # noqa: E731
        t_mask, t_type = tm.merge_masks(t(a), t(p), torch.tensor(q))
        g_mask, g_type = gm.merge_masks(g(a), g(p), gg.tensor(q))
        assert g_type == t_type
        if t_mask is None:
            assert g_mask is None
        else:
            np.testing.assert_array_equal(g_mask.numpy(), t_mask.numpy())


@pytest.mark.torch
def test_multi_head_attention_forward_static_kv_and_separate_weights_match_torch(rng):
    torch = pytest.importorskip("torch")
    E, H, L, S, N = 4, 2, 3, 5, 2
    arrays = [
        rng.standard_normal((L, N, E)), rng.standard_normal((S, N, 3)), rng.standard_normal((S, N, 5)),
        rng.standard_normal((E, E)), rng.standard_normal((E, 3)), rng.standard_normal((E, 5)), rng.standard_normal(3 * E),
        rng.standard_normal((E, E)), rng.standard_normal((N * H, 6, E // H)), rng.standard_normal((N * H, 6, E // H)),
    ]

    def run(lib_f, q, k, v, wq, wk, wv, b_in, w_out, sk, sv):
        out, weights = lib_f.multi_head_attention_forward(
            q, k, v, E, H, None, b_in, None, None, False, 0.0, w_out, None, training=False,
            use_separate_proj_weight=True, q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv,
            static_k=sk, static_v=sv, average_attn_weights=False,
        )
        return out, weights

    _torch_grads(torch, arrays, lambda *a: run(torch.nn.functional, *a), lambda *a: run(F, *a), rng)
