"""flex_attention with score and mask functions: against attention written out with a masked softmax,
finite differences in float64, and PyTorch's forward (its CPU path has no backward)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck
from gpugrad.nn.attention import flex_attention as fa


def _inputs(dtype=np.float32, heads=(4, 2)):
    rng = np.random.default_rng(0)
    shapes = [(2, heads[0], 5, 8), (2, heads[1], 7, 8), (2, heads[1], 7, 8)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def causal(b, h, q_idx, kv_idx):
    return q_idx + 2 >= kv_idx


def relative_bias(score, b, h, q_idx, kv_idx):
    return score + (q_idx - kv_idx) * 0.1 + h * 0.05


def test_matches_attention_written_out():
    q, k, v = (gg.tensor(a) for a in _inputs(heads=(2, 2)))
    mask = fa.create_block_mask(causal, None, None, 5, 7)
    out, lse = fa.flex_attention(q, k, v, score_mod=relative_bias, block_mask=mask, return_lse=True)
    qi, ki = gg.arange(5).view(5, 1), gg.arange(7).view(1, 7)
    scores = q @ k.transpose(-2, -1) / np.sqrt(8) + (qi - ki) * 0.1 + gg.arange(2).view(1, 2, 1, 1) * 0.05
    scores = scores.masked_fill(~(qi + 2 >= ki), float("-inf"))
    np.testing.assert_allclose(out.numpy(), (scores.softmax(-1) @ v).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lse.numpy(), scores.logsumexp(-1).numpy(), rtol=1e-5)


def test_grouped_query_heads_and_fully_masked_rows():
    q, k, v = (gg.tensor(a) for a in _inputs())
    with pytest.raises(gg.ShapeError, match="enable_gqa"):
        fa.flex_attention(q, k, v)
    nothing = fa.create_block_mask(lambda b, h, qi, ki: ki > 10, None, None, 5, 7)
    out, aux = fa.flex_attention(q, k, v, block_mask=nothing, enable_gqa=True, return_aux=fa.AuxRequest(lse=True))
    assert out.abs().sum().item() == 0.0 and bool((aux.lse == float("-inf")).all()) and aux.max_scores is None
    kept = fa.create_block_mask(fa.or_masks(causal, fa.noop_mask), 2, None, 5, 7, BLOCK_SIZE=4)
    assert kept.to_dense().tolist() == [[[[1, 1], [1, 1]]]] * 2 and kept.shape == (2, 1, 5, 7)


def test_gradients_against_finite_differences():
    q, k, v = (gg.tensor(a, requires_grad=True) for a in _inputs(np.float64, heads=(2, 1)))
    mask = fa.create_block_mask(fa.and_masks(causal, lambda b, h, qi, ki: ki >= 1), None, None, 5, 7)
    assert gradcheck(lambda q, k, v: fa.flex_attention(q, k, v, score_mod=relative_bias, block_mask=mask,
                                                       enable_gqa=True), (q, k, v))


@pytest.mark.torch
def test_forward_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.nn.attention import flex_attention as tfa

    results = {}
    for name, lib, mod in (("torch", torch, tfa), ("gpugrad", gg, fa)):
        q, k, v = (lib.tensor(a) for a in _inputs())
        mask = mod.create_block_mask(mod.and_masks(causal, lambda b, h, qi, ki: ki >= 1), None, None, 5, 7,
                                     device="cpu")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, lse = mod.flex_attention(q, k, v, score_mod=relative_bias, block_mask=mask, enable_gqa=True,
                                          return_lse=True)
        results[name] = (out.numpy(), lse.numpy(), mask.to_dense().numpy(), mod.create_mask(causal, 1, 1, 5, 7).numpy())
    for ours, theirs in zip(results["gpugrad"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
