"""gradcheck and gradgradcheck (float64) for every nn.functional function and the ops behind them."""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ArgumentError, ShapeError
from gpugrad.ops import conv as convops
from gpugrad.ops.conv import ConvGeometry
from gpugrad.ops.loss import softmax_cross_entropy


def real(rng, shape):
    return rng.standard_normal(shape)


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def distinct(rng, shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05 + rng.uniform(0, 0.01, n)).reshape(shape)


def positive(rng, shape):
    return rng.uniform(0.2, 1.0, shape)


def labels(shape, c, seed=0):
    return gg.tensor(np.random.default_rng(seed).integers(0, c, shape))


def _seeded_dropout(x):
    gg.manual_seed(3)  # the same mask on every evaluation, so finite differences see one function
    return F.dropout(x, 0.3)


def _seeded_rrelu(x):
    gg.manual_seed(5)  # the same slopes on every evaluation
    return F.rrelu(x, 0.1, 0.4, training=True)


T = labels((5,), 4)
T_IGN = gg.tensor([0, -100, 3, 1, -100])
T_ND = labels((2, 3, 2), 4, seed=1)
W4 = gg.tensor([0.5, 1.0, 2.0, 1.5], dtype=gg.float64)
IDX = gg.tensor([[0, 2, 4], [4, 1, 0]])
SDPA_MASK = gg.tensor([[True, False, True, True], [False] * 4, [True] * 4])  # row 1: no key left (zeros)


def _mha_self_attention(x, w_in, w_out):
    return F.multi_head_attention_forward(x, x, x, 4, 2, w_in, None, None, None, False, 0.0, w_out, None, need_weights=False)[0]

def _seeded(fn, x, *args):
    gg.manual_seed(3)
    return fn(x, *args)


CASES = [
    ("relu", lambda x: F.relu(x), [(3, 4)], away_from_zero),
    ("relu6", lambda x: F.relu6(x * 4), [(3, 4)], away_from_zero),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [(3, 4)], away_from_zero),
    ("gelu", lambda x: F.gelu(x), [(3, 4)], real),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [(3, 4)], real),
    ("silu", F.silu, [(3, 4)], real),
    ("sigmoid", F.sigmoid, [(3, 4)], real),
    ("tanh", F.tanh, [(3, 4)], real),
    ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), [(3, 4)], real),
    ("softmax", lambda x: F.softmax(x, dim=1), [(3, 5)], real),
    ("log_softmax", lambda x: F.log_softmax(x, dim=0), [(3, 5)], real),
    ("linear", F.linear, [(3, 5), (4, 5), (4,)], real),
    ("linear_3d_nobias", lambda x, w: F.linear(x, w), [(2, 3, 5), (4, 5)], real),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=2), [(1, 2, 5, 6), (3, 2, 3, 3), (3,)], real),
    ("conv2d_groups", lambda x, w: F.conv2d(x, w, None, stride=(1, 2), padding=(0, 1), groups=2), [(2, 4, 5, 5), (4, 2, 2, 3)], real),
    ("conv2d_same", lambda x, w: F.conv2d(x, w, padding="same"), [(1, 2, 4, 5), (2, 2, 2, 3)], real),
    ("conv2d_unbatched", lambda x, w, b: F.conv2d(x, w, b), [(2, 4, 4), (3, 2, 2, 2), (3,)], real),
    ("im2col", lambda x: convops.im2col(x, ConvGeometry((2, 3), (2, 1), (1, 0, 2, 1), (1, 2))), [(2, 2, 5, 6)], real),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [(1, 2, 5, 6)], distinct),
    ("max_pool2d_dil_ceil", lambda x: F.max_pool2d(x, 2, stride=2, dilation=2, ceil_mode=True), [(2, 1, 6, 7)], distinct),
    ("max_pool2d_overlap", lambda x: F.max_pool2d(x, 3, stride=1), [(1, 1, 5, 5)], distinct),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, (2, 3), stride=(2, 1), padding=1), [(2, 2, 5, 6)], real),
    ("avg_pool2d_ceil_nopad", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [(1, 2, 6, 5)], real),
    ("dropout", _seeded_dropout, [(4, 5)], real),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4, 5), w, b), [(3, 4, 5), (4, 5), (4, 5)], real),
    ("layer_norm_plain", lambda x: F.layer_norm(x, (7,)), [(2, 3, 7)], real),
    ("layer_norm_weight_only", lambda x, w: F.layer_norm(x, 5, w), [(4, 5), (5,)], real),
    ("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 2, 2), (3,), (3,)], real),
    ("batch_norm_eval", lambda x, w, b: F.batch_norm(x, gg.tensor([0.1, -0.2, 0.3], dtype=gg.float64), gg.tensor([1.5, 0.5, 2.0], dtype=gg.float64), w, b), [(4, 3), (3,), (3,)], real),
    ("embedding", lambda w: F.embedding(IDX, w), [(5, 3)], real),  # padding_idx: tested below
    ("cross_entropy", lambda x: F.cross_entropy(x, T), [(5, 4)], real),
    ("cross_entropy_all_options", lambda x: F.cross_entropy(x, T_IGN, weight=W4, label_smoothing=0.2), [(5, 4)], real),
    ("cross_entropy_sum_nd", lambda x: F.cross_entropy(x, T_ND, reduction="sum", label_smoothing=0.1), [(2, 4, 3, 2)], real),
    ("cross_entropy_none", lambda x: F.cross_entropy(x, T_IGN, weight=W4, reduction="none"), [(5, 4)], real),
    ("cross_entropy_grad_weight", lambda x, w: F.cross_entropy(x, T_IGN, weight=w, label_smoothing=0.3), [(5, 4), (4,)], positive),
    ("fused_xent_op", lambda x: softmax_cross_entropy(x, T_IGN, W4, -100, 0.25), [(5, 4)], real),
    ("nll_loss", lambda x: F.nll_loss(x, T_IGN, weight=W4), [(5, 4)], real),
    ("nll_loss_nd_none", lambda x: F.nll_loss(x, T_ND, reduction="none"), [(2, 4, 3, 2)], real),
    ("mse_loss", F.mse_loss, [(3, 4), (3, 4)], real),
    ("mse_loss_sum", lambda a, b: F.mse_loss(a, b, reduction="sum"), [(3, 4), (3, 4)], real),
    ("bce_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t), [(3, 4), (3, 4)], real),
    ("bce_with_logits_weights", lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction="sum", pos_weight=pw), [(3, 4), (3, 4), (4,), (4,)], positive),
    ("pad", lambda x: F.pad(x, (1, 2, 0, -1), value=0.5), [(2, 3, 4)], real),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2), [(2, 4, 9), (6, 4, 3), (6,)], real),
    ("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1, dilation=2), [(2, 2, 4), (2, 3, 3), (3,)], real),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2), [(1, 4, 3, 3), (4, 1, 2, 3), (2,)], real),
    ("conv_transpose3d", lambda x, w: F.conv_transpose3d(x, w, stride=(2, 1, 1), output_padding=(1, 0, 0)), [(1, 2, 2, 2, 2), (2, 1, 2, 1, 2)], real),
    ("conv3d", lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=(1, 0, 1), groups=2), [(1, 2, 3, 3, 2), (2, 1, 2, 1, 2), (2,)], real),
    ("unfold", lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)), [(2, 2, 5, 5)], real),
    ("fold", lambda x: F.fold(x, (5, 4), (2, 3), padding=(1, 1), stride=(2, 1)), [(1, 12, 12)], real),
    ("conv1d_groups_same", lambda x, w: F.conv1d(x, w, padding="same", groups=2), [(4, 7), (6, 2, 4)], real),
    ("pad_reflect", lambda x: F.pad(x, (2, 1, 1, 0), mode="reflect"), [(2, 3, 4)], real),
    ("pad_replicate", lambda x: F.pad(x, (3, 0), mode="replicate"), [(2, 3)], real),
    ("pad_circular", lambda x: F.pad(x, (-1, 2, 1, 1), mode="circular"), [(1, 2, 3, 4)], real),
    ("l1_loss", F.l1_loss, [(3, 4), (3, 4)], away_from_zero),
    ("mse_loss_weighted", lambda a, b, w: F.mse_loss(a, b, weight=w), [(3, 4), (3, 4), (3, 4)], positive),
    ("l1_loss_weighted", lambda a, b, w: F.l1_loss(a, b, weight=w), [(3, 4), (3, 4), (3, 4)], positive),
    ("smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a * 3, b, beta=0.5), [(3, 4), (3, 4)], real),
    ("huber_loss", lambda a, b, w: F.huber_loss(a * 3, b, delta=0.7, weight=w), [(3, 4), (3, 4), (3, 4)], real),
    ("binary_cross_entropy", lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="sum"), [(3, 4), (3, 4), (4,)], positive),
    # Activations (their values and gradients against PyTorch: tests/ops/table/activation.py).
    ("elu", lambda x: F.elu(x * 3, alpha=0.7), [(3, 4)], away_from_zero),
    ("selu", lambda x: F.selu(x * 3), [(3, 4)], away_from_zero),
    ("celu", lambda x: F.celu(x * 3, alpha=1.5), [(3, 4)], away_from_zero),
    ("hardswish", lambda x: F.hardswish(x * 2), [(3, 4)], away_from_zero),
    ("hardsigmoid", lambda x: F.hardsigmoid(x * 2), [(3, 4)], away_from_zero),
    ("hardtanh", lambda x: F.hardtanh(x, -0.1, 0.3), [(3, 4)], away_from_zero),
    ("mish", lambda x: F.mish(x * 3), [(3, 4)], real),
    ("logsigmoid", F.logsigmoid, [(3, 4)], real),
    ("softsign", F.softsign, [(3, 4)], away_from_zero),
    ("tanhshrink", F.tanhshrink, [(3, 4)], real),
    ("hardshrink", lambda x: F.hardshrink(x, 0.1), [(3, 4)], away_from_zero),
    ("softshrink", lambda x: F.softshrink(x, 0.1), [(3, 4)], away_from_zero),
    ("threshold", lambda x: F.threshold(x, 0.1, 5.0), [(3, 4)], away_from_zero),
    ("softmin", lambda x: F.softmin(x, dim=0), [(3, 4)], real),
    ("glu", lambda x: F.glu(x, 0), [(4, 3)], real),
    ("prelu", F.prelu, [(2, 3, 2), (3,)], away_from_zero),
    ("rrelu_eval", lambda x: F.rrelu(x), [(3, 4)], away_from_zero),
    ("rrelu_training", lambda x: _seeded_rrelu(x), [(3, 4)], away_from_zero),
    ("normalize", lambda x: F.normalize(x, dim=-1), [(3, 4)], real),
    # The in-place forms, on a non-leaf (a leaf that requires grad is refused, as in PyTorch).
    ("relu_inplace", lambda x: F.relu_(x * 1.0), [(3, 4)], away_from_zero),
    ("leaky_relu_inplace", lambda x: F.leaky_relu_(x * 1.0, 0.3), [(3, 4)], away_from_zero),
    ("elu_inplace", lambda x: F.elu_(x * 1.0), [(3, 4)], away_from_zero),
    ("selu_inplace", lambda x: F.selu_(x * 1.0), [(3, 4)], away_from_zero),
    ("celu_inplace", lambda x: F.celu_(x * 1.0, 2.0), [(3, 4)], away_from_zero),
    ("hardtanh_inplace", lambda x: F.hardtanh_(x * 1.0, -0.1, 0.1), [(3, 4)], away_from_zero),
    ("threshold_inplace", lambda x: F.threshold_(x * 1.0, 0.1, 2.0), [(3, 4)], away_from_zero),
    ("rrelu_inplace", lambda x: F.rrelu_(x * 1.0), [(3, 4)], away_from_zero),
    # Losses (their values and gradients against PyTorch: tests/nn/test_losses.py).
    ("kl_div", lambda x, t: F.kl_div(x, t.exp(), reduction="batchmean"), [(3, 4), (3, 4)], real),
    ("cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=-1), [(3, 4), (3, 4)], real),
    ("pairwise_distance", lambda a, b: F.pairwise_distance(a, b, p=3.0), [(3, 4), (3, 4)], real),
    ("cosine_embedding_loss", lambda a, b: F.cosine_embedding_loss(a, b, gg.tensor([1, -1, 1]), margin=-0.9), [(3, 4), (3, 4)], real),
    ("margin_ranking_loss", lambda a, b: F.margin_ranking_loss(a, b, gg.tensor([1.0, -1.0, 1.0]), margin=3.0), [(3,), (3,)], real),
    ("hinge_embedding_loss", lambda x: F.hinge_embedding_loss(x, gg.tensor([[1.0, -1.0, 1.0, -1.0]] * 3), margin=5.0), [(3, 4)], real),
    ("triplet_margin_loss", lambda a, b, c: F.triplet_margin_loss(a, b * 3, c, margin=5.0), [(3, 4), (3, 4), (3, 4)], real),
    ("poisson_nll_loss", lambda x, t: F.poisson_nll_loss(x, t.abs() * 2 + 1.5, full=True), [(3, 4), (3, 4)], real),
    ("gaussian_nll_loss", lambda x, t, v: F.gaussian_nll_loss(x, t, v.abs() + 0.5), [(3, 4), (3, 4), (3, 4)], real),
    ("soft_margin_loss", lambda x: F.soft_margin_loss(x, gg.tensor([[1.0, -1.0, 1.0, -1.0]] * 3)), [(3, 4)], real),
    ("multilabel_soft_margin_loss", lambda x, w: F.multilabel_soft_margin_loss(x, gg.tensor([[1.0, 0.0, 1.0, 0.0]] * 3), w), [(3, 4), (4,)], real),
    ("multi_margin_loss_p2", lambda x: F.multi_margin_loss(x, gg.tensor([0, 3, 1]), p=2, margin=5.0), [(3, 4)], real),
    ("multilabel_margin_loss", lambda x: F.multilabel_margin_loss(x * 0.1, gg.tensor([[0, 2, -1, 1]] * 3)), [(3, 4)], real),
    ("cross_entropy_probabilities", lambda x, t: F.cross_entropy(x, t.softmax(dim=1), label_smoothing=0.2), [(3, 4), (3, 4)], real),
    ("ctc_loss", lambda x: F.ctc_loss(x.log_softmax(dim=2), gg.tensor([[1, 2], [2, 2]]), [4, 5], [2, 2]), [(5, 2, 3)], real),
    ("bilinear", lambda a, b, w, c: F.bilinear(a, b, w, c), [(2, 3), (2, 2), (4, 3, 2), (4,)], real),
    ("channel_shuffle", lambda x: F.channel_shuffle(x, 2), [(1, 4, 3)], real),
    ("pdist", lambda x: F.pdist(x, p=3), [(4, 3)], distinct),
    ("gumbel_softmax", lambda x: _seeded(F.gumbel_softmax, x, 0.7), [(2, 5)], real),
    ("triplet_margin_with_distance_loss", lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, margin=3.0), [(3, 4), (3, 4), (3, 4)], real),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1), [(1, 2, 7)], distinct),
    ("max_pool3d", lambda x: F.max_pool3d(x, 2, 1), [(1, 1, 3, 3, 3)], distinct),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True), [(1, 2, 7)], real),
    ("avg_pool3d", lambda x: F.avg_pool3d(x, 2, 1, 1, count_include_pad=False), [(1, 1, 3, 3, 3)], real),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), [(1, 2, 7)], real),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(1, 2, 5, 4)], real),
    ("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, 2), [(1, 1, 3, 3, 3)], real),
    ("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3), [(1, 2, 7)], distinct),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)), [(1, 2, 5, 4)], distinct),
    ("max_pool1d_with_indices", lambda x: F.max_pool1d_with_indices(x, 3, 2, 1)[0], [(1, 2, 7)], distinct),
    ("max_pool2d_with_indices", lambda x: F.max_pool2d_with_indices(x, 3, 2, 1)[0], [(1, 2, 5, 6)], distinct),
    ("max_pool3d_with_indices", lambda x: F.max_pool3d_with_indices(x, 2, 1)[0], [(1, 1, 3, 3, 3)], distinct),
    ("adaptive_max_pool1d_with_indices", lambda x: F.adaptive_max_pool1d_with_indices(x, 3)[0], [(1, 2, 7)], distinct),
    ("adaptive_max_pool2d_with_indices", lambda x: F.adaptive_max_pool2d_with_indices(x, (2, 3))[0], [(1, 2, 5, 4)],
     distinct),
    ("adaptive_max_pool3d_with_indices", lambda x: F.adaptive_max_pool3d_with_indices(x, 2)[0], [(1, 1, 3, 3, 3)],
     distinct),
    ("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, 2), [(1, 1, 3, 3, 3)], distinct),
    ("max_unpool1d", lambda x: F.max_unpool1d(x, gg.tensor([[[1, 2, 5]]]), 2), [(1, 1, 3)], real),
    ("max_unpool2d", lambda x: F.max_unpool2d(x, gg.tensor([[[[0, 3], [9, 11]]]]), 2), [(1, 1, 2, 2)], real),
    ("max_unpool3d", lambda x: F.max_unpool3d(x, gg.tensor([[[[[0]], [[13]]]]]), 2), [(1, 1, 2, 1, 1)], real),
    ("lp_pool1d", lambda x: F.lp_pool1d(x, 3, 2), [(1, 2, 7)], positive),
    ("lp_pool2d", lambda x: F.lp_pool2d(x, 1.5, (2, 3), 1), [(1, 1, 3, 5)], positive),
    ("lp_pool3d", lambda x: F.lp_pool3d(x, 2, 2), [(1, 1, 2, 2, 4)], positive),
    ("interpolate_bilinear", lambda x: F.interpolate(x, scale_factor=(1.6, 0.7), mode="bilinear"), [(1, 1, 3, 4)], real),
    ("upsample", lambda x: F.upsample(x, size=5, mode="linear"), [(1, 2, 3)], real),
    ("upsample_nearest", lambda x: F.upsample_nearest(x, scale_factor=2), [(1, 1, 2, 3)], real),
    ("upsample_bilinear", lambda x: F.upsample_bilinear(x, size=(3, 4)), [(1, 1, 2, 3)], real),
    ("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), [(1, 4, 2, 3)], real),
    ("affine_grid", lambda t: F.affine_grid(t, (2, 1, 3, 4)), [(2, 2, 3)], real),
    # the grid squashed inside the image, away from the borders where zero padding has kinks
    ("grid_sample", lambda x, g: F.grid_sample(x, g.tanh() * 0.8, padding_mode="reflection"), [(1, 2, 3, 4), (1, 2, 3, 2)], real),
    ("grid_sample_bicubic", lambda x, g: F.grid_sample(x, g.tanh() * 0.8, mode="bicubic", padding_mode="border"),
     [(1, 2, 3, 4), (1, 2, 3, 2)], real),
    ("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), [(1, 1, 2, 4)], real),
    ("scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=SDPA_MASK), [(2, 3, 2), (2, 4, 2), (2, 4, 3)], real),
    ("multi_head_attention_forward", _mha_self_attention, [(3, 2, 4), (12, 4), (4, 4)], real),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [(3, 4, 5), (4,), (4,)], real),
    ("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)], real),
    ("local_response_norm", lambda x: F.local_response_norm(x, 3, alpha=0.5, beta=0.7, k=1.2), [(2, 5, 3)], real),
    ("rms_norm", lambda x, w: F.rms_norm(x, (2, 3), w, eps=1e-3), [(3, 2, 3), (2, 3)], real),
    ("dropout1d", lambda x: _seeded(F.dropout1d, x, 0.3), [(2, 5, 3)], real),
    ("dropout2d", lambda x: _seeded(F.dropout2d, x, 0.3), [(2, 5, 2, 2)], real),
    ("dropout3d", lambda x: _seeded(F.dropout3d, x, 0.3), [(2, 5, 2, 1, 2)], real),
    ("alpha_dropout", lambda x: _seeded(F.alpha_dropout, x, 0.3, True), [(4, 5)], real),
    ("feature_alpha_dropout", lambda x: _seeded(F.feature_alpha_dropout, x, 0.3, True), [(2, 5, 3)], real),
    ("fractional_max_pool2d_with_indices", lambda x: F.fractional_max_pool2d_with_indices(
        x, 2, output_size=(3, 2), _random_samples=gg.tensor([[[0.3, 0.7], [0.6, 0.1]]]))[0], [(1, 2, 5, 4)], distinct),
    ("fractional_max_pool3d_with_indices", lambda x: F.fractional_max_pool3d_with_indices(
        x, 2, output_size=2, _random_samples=gg.tensor([[[0.2, 0.5, 0.8]]]))[0], [(1, 1, 4, 4, 4)], distinct),
    # the chunked form (options given) has no second derivative: tests/nn/test_linear_cross_entropy.py
    ("linear_cross_entropy", lambda x, w, b: F.linear_cross_entropy(x, w, T_IGN, linear_bias=b, weight=W4),
     [(5, 3), (4, 3), (4,)], real),
    ("grouped_mm", lambda a, b: F.grouped_mm(a, b, offs=gg.tensor([2, 2, 5], dtype=gg.int32)), [(6, 4), (3, 4, 2)], real),
    ("grouped_mm_3d_2d", lambda a, b: F.grouped_mm(a, b, offs=gg.tensor([1, 3], dtype=gg.int32)), [(2, 3, 2), (2, 4)], real),
    ("embedding_bag", lambda w, p: F.embedding_bag(gg.tensor([1, 2, 0, 3, 1]), w, gg.tensor([0, 2, 2]), mode="sum", per_sample_weights=p), [(4, 3), (5,)], real),
]

ALIASES = {
    "bce_with_logits": "binary_cross_entropy_with_logits", "fused_xent_op": "cross_entropy", "im2col": "conv2d",
    "interpolate_bilinear": "interpolate", "layer_norm_plain": "layer_norm", "layer_norm_weight_only": "layer_norm",
}
NOT_DIFFERENTIABLE = {"one_hot"}


def test_every_functional_has_a_gradcheck_case():
    covered = {ALIASES.get(name, name) for name, *_ in CASES}
    covered |= {c for c in F.__all__ for name in covered if name.startswith(c)}
    missing = sorted(set(F.__all__) - covered - NOT_DIFFERENTIABLE)
    assert not missing, f"nn.functional functions without a gradcheck case: {missing}"


@pytest.mark.parametrize("name,fn,shapes,domain", CASES, ids=[c[0] for c in CASES])
def test_gradcheck_and_gradgradcheck(name, fn, shapes, domain):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    inputs = [gg.tensor(domain(rng, s), dtype=gg.float64, requires_grad=True) for s in shapes]
    if name.startswith("bce") or name.startswith("binary"):  # targets are probabilities
        inputs[1] = gg.tensor(rng.uniform(0, 1, shapes[1]), dtype=gg.float64, requires_grad=True)
    if name == "binary_cross_entropy":  # and so are its inputs, away from 0 and 1
        inputs[0] = gg.tensor(rng.uniform(0.1, 0.9, shapes[0]), dtype=gg.float64, requires_grad=True)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_composite_cross_entropy_matches_fused(monkeypatch):
    rng = np.random.default_rng(0)
    x = gg.tensor(rng.standard_normal((6, 5)), dtype=gg.float64, requires_grad=True)
    t = gg.tensor([0, 4, -1, 2, 2, 1])
    w = gg.tensor(rng.uniform(0.5, 2, 5), dtype=gg.float64)
    fused = F.cross_entropy(x, t, weight=w, ignore_index=-1, label_smoothing=0.15)
    (g_fused,) = gg.grad(fused, [x])
    monkeypatch.setattr(F, "_fused_cross_entropy", lambda weight: False)
    composite = F.cross_entropy(x, t, weight=w, ignore_index=-1, label_smoothing=0.15)
    (g_comp,) = gg.grad(composite, [x])
    np.testing.assert_allclose(fused.item(), composite.item(), rtol=1e-12)
    np.testing.assert_allclose(g_fused.numpy(), g_comp.numpy(), rtol=1e-10, atol=1e-12)
    assert gradgradcheck(lambda x: F.cross_entropy(x, t, weight=w, ignore_index=-1, label_smoothing=0.15), [x])


def test_im2col_col2im_are_adjoint(rng):
    """<im2col(x), c> == <x, col2im(c)> for random x and c: col2im really is im2col's transpose."""
    x = gg.tensor(rng.standard_normal((2, 3, 7, 6)), dtype=gg.float64)
    geometry = ConvGeometry(kernel=(3, 2), stride=(2, 2), pads=(1, 2, 0, 1), dilation=(2, 1))
    cols = convops.im2col(x, geometry)
    c = rng.standard_normal(cols.shape)
    back = convops.col2im(gg.tensor(c, dtype=gg.float64), tuple(x.shape), geometry)
    assert cols.shape == (3 * 3 * 2, 2 * 3 * 3)
    np.testing.assert_allclose((cols.numpy() * c).sum(), (x.numpy() * back.numpy()).sum(), rtol=1e-12)


def test_conv2d_matches_direct_loop(rng):
    """Against a plain sum over the kernel taps, written independently of im2col."""
    x = rng.standard_normal((2, 2, 6, 7))
    w = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    stride, pad, dil = (2, 1), (1, 2), (1, 2)
    out = F.conv2d(gg.tensor(x), gg.tensor(w), gg.tensor(b), stride, pad, dil).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (6 + 2 * pad[0] - dil[0] * 2 - 1) // stride[0] + 1
    ow = (7 + 2 * pad[1] - dil[1] * 1 - 1) // stride[1] + 1
    ref = np.zeros((2, 3, oh, ow)) + b[None, :, None, None]
    for i in range(3):
        for j in range(2):
            patch = xp[:, :, i * dil[0] : i * dil[0] + stride[0] * (oh - 1) + 1 : stride[0], j * dil[1] : j * dil[1] + stride[1] * (ow - 1) + 1 : stride[1]]
            ref += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_conv2d_and_its_backward_are_one_op_each(rng, count_applies):
    """The direct-loop reference's gradients (finite differences are checked by the gradcheck table):
    dx, dw and db of sum(conv2d * u), with and without create_graph."""
    x = gg.tensor(rng.standard_normal((2, 3, 5, 6)), requires_grad=True)
    w = gg.tensor(rng.standard_normal((4, 3, 3, 2)), requires_grad=True)
    b = gg.tensor(rng.standard_normal(4), requires_grad=True)
    counts = count_applies()
    out = F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2))
    assert dict(counts) == {"Conv2d": 1}
    u = gg.tensor(rng.standard_normal(out.shape))
    counts.clear()
    plain = gg.grad(out, [x, w, b], u, retain_graph=True)
    assert dict(counts) == {"Conv2dBackward": 1}
    counts.clear()
    composite = gg.grad(out, [x, w, b], u, create_graph=True)
    assert dict(counts) == {"Conv2dBackward": 1}  # the same op, recorded this time
    assert composite[0].requires_grad and composite[1].requires_grad  # dx depends on w, dw on x
    for a, c in zip(plain, composite):
        np.testing.assert_allclose(a.numpy(), c.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(plain[2].numpy(), u.numpy().sum(axis=(0, 2, 3)), rtol=1e-12)


def test_backward_of_activation_and_max_pool_is_their_backward_ops(rng, count_applies):
    x = gg.tensor(rng.standard_normal((2, 3, 4, 4)), requires_grad=True)
    y = F.max_pool2d(F.gelu(x), 2)
    u = gg.tensor(rng.standard_normal(y.shape))
    counts = count_applies()
    (plain,) = gg.grad(y, [x], u, retain_graph=True)
    # gelu names ActivationBackward as its derivative: the plain pass runs its forward on the arrays.
    assert dict(counts) == {"MaxPool2dBackward": 1}
    counts.clear()
    (composite,) = gg.grad(y, [x], u, create_graph=True)
    assert dict(counts) == {"ActivationBackward": 1, "MaxPool2dBackward": 1}
    np.testing.assert_allclose(plain.numpy(), composite.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_conv2d_refuses_a_bias_of_another_dtype_shape_or_type():
    with pytest.raises(gg.DTypeError, match=r"conv2d: bias \(.*float64\) must have the input's dtype \(.*float32\)"):
        F.conv2d(gg.randn(1, 1, 3, 3), gg.randn(1, 1, 2, 2), gg.zeros(1, dtype=gg.float64))
    with pytest.raises(gg.ShapeError, match=r"conv2d: bias must have shape \(1,\), got \(2,\)"):
        F.conv2d(gg.randn(1, 1, 3, 3), gg.randn(1, 1, 2, 2), gg.zeros(2))
    with pytest.raises(TypeError, match="conv2d: weight must be a Tensor, got ndarray"):  # as PyTorch's TypeError
        F.conv2d(gg.randn(1, 1, 3, 3), np.ones((1, 1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="conv2d: bias must be a Tensor, got ndarray"):
        F.conv2d(gg.randn(1, 1, 3, 3), gg.randn(1, 1, 2, 2), np.zeros(1, np.float32))


def test_max_pool2d_indices_and_values(rng):
    x = gg.tensor(distinct(rng, (2, 3, 5, 4)))
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), 2).reshape(out.shape), out.numpy())
    ref = x.numpy()[:, :, :4, :4].reshape(2, 3, 2, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(out.numpy(), ref)
    assert idx.dtype == gg.int64


def test_avg_pool_divisors():
    x = gg.ones(1, 1, 3, 3)
    np.testing.assert_allclose(F.avg_pool2d(x, 2, stride=2, padding=1).numpy(), np.full((1, 1, 2, 2), 0.25) * [[1, 2], [2, 4]])
    np.testing.assert_allclose(F.avg_pool2d(x, 2, stride=2, padding=1, count_include_pad=False).numpy(), np.ones((1, 1, 2, 2)))
    np.testing.assert_allclose(F.avg_pool2d(x, 2, divisor_override=1).numpy(), [[[[4.0]]]])


def test_dropout_statistics_and_modes():
    gg.manual_seed(0)
    x = gg.ones(200, 100)
    y = F.dropout(x, 0.3)
    kept = (y.numpy() != 0).mean()
    assert abs(kept - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[y.numpy() != 0], 1 / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    gg.manual_seed(5)
    a = F.dropout(x, 0.5).numpy()
    gg.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


def test_embedding_padding_idx_gets_no_gradient_and_range_errors():
    w = gg.randn(5, 3, dtype=gg.float64, requires_grad=True)
    out = F.embedding(gg.tensor([0, 2, 2, 4]), w, padding_idx=2)
    np.testing.assert_array_equal(out.detach().numpy()[1], w.detach().numpy()[2])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 0, 0, 0, 1])
    with pytest.raises(IndexError, match="num_embeddings=5"):
        F.embedding(gg.tensor([1, 5]), w)
    with pytest.raises(IndexError, match="num_embeddings=5"):
        F.embedding(gg.tensor([-1]), w)
    with pytest.raises(gg.DTypeError, match="int64"):
        F.embedding(gg.tensor([1.0]), w)


def test_one_hot_and_pad():
    oh = F.one_hot(gg.tensor([2, 0, 1]))
    assert oh.dtype == gg.int64
    np.testing.assert_array_equal(oh.numpy(), np.eye(3, dtype=np.int64)[[2, 0, 1]])
    assert F.one_hot(gg.tensor([[1]]), num_classes=4).shape == (1, 1, 4)
    with pytest.raises(ValueError, match="num_classes=2"):
        F.one_hot(gg.tensor([2]), 2)
    x = gg.arange(6).reshape(2, 3).double()
    np.testing.assert_array_equal(F.pad(x, (1, -1), value=9).numpy(), [[9, 0, 1], [9, 3, 4]])
    np.testing.assert_array_equal(F.pad(x, (0, 0, 1, 0)).numpy(), [[0, 0, 0], [0, 1, 2], [3, 4, 5]])


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(gg.ShapeError, match="expects 4"):
        F.linear(gg.randn(2, 5), gg.randn(3, 4))
    with pytest.raises(gg.ShapeError, match="3 channels"):
        F.conv2d(gg.randn(1, 3, 5, 5), gg.randn(2, 2, 3, 3))
    with pytest.raises(gg.ShapeError, match="larger than the padded input"):
        F.conv2d(gg.randn(1, 1, 2, 2), gg.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="half of effective kernel"):
        F.max_pool2d(gg.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(gg.ShapeError, match="normalized_shape"):
        F.layer_norm(gg.randn(2, 3), (4,))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(gg.randn(1, 3), None, None, training=True)


# The elementwise losses against PyTorch, and their errors in their own words ------------------------

LOSSES = [
    ("mse_loss", {}), ("mse_loss", {"reduction": "sum"}), ("l1_loss", {"reduction": "none"}),
    ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 2.5, "reduction": "sum"}),
    ("huber_loss", {}), ("huber_loss", {"delta": 0.3, "reduction": "none"}),
    ("binary_cross_entropy", {}), ("binary_cross_entropy", {"reduction": "none"}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", LOSSES, ids=[f"{n}-{k}" for n, k in LOSSES])
def test_losses_match_pytorch_at_their_kinks(name, kwargs):
    """Values and both gradients, with differences exactly at 0 and at the quadratic/linear switch."""
    torch = pytest.importorskip("torch")
    if name == "binary_cross_entropy":
        a, b = [0.2, 0.5, 0.9, 0.3, 0.01, 0.7], [0.0, 1.0, 0.4, 0.3, 1.0, 0.25]
    else:
        a, b = [1.0, -1.0, 0.0, 2.5, 3.0, -0.3], [0.0, 0.0, 0.0, 0.0, 0.5, 0.0]
    x, t = (gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in (a, b))
    xt, tt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    y, y_t = getattr(F, name)(x, t, **kwargs), getattr(torch.nn.functional, name)(xt, tt, **kwargs)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-12)
    u = np.linspace(0.5, 1.5, int(np.prod(y_t.shape)) or 1).reshape(tuple(y_t.shape))
    y.backward(gg.tensor(u, dtype=gg.float64))
    y_t.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.torch
def test_binary_cross_entropy_at_0_and_1_matches_pytorch():
    """Logs clamped at -100: finite loss; the input gradient is divided by max(x (1 - x), 1e-12), which
    PyTorch takes in float32 (hence rtol 1e-7); the target gradient is +-inf there, as PyTorch's."""
    torch = pytest.importorskip("torch")
    a, b = [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]
    x, t = (gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in (a, b))
    xt, tt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    y, y_t = F.binary_cross_entropy(x, t), torch.nn.functional.binary_cross_entropy(xt, tt)
    np.testing.assert_allclose(y.item(), y_t.item(), rtol=1e-12)
    assert y.item() == 50.0
    y.backward()
    y_t.backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7)
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())


@pytest.mark.torch
def test_weighted_and_legacy_reductions_match_pytorch():
    torch = pytest.importorskip("torch")
    a, b, w = [1.0, 2.0, -1.0], [0.0, 0.5, 1.0], [1.0, 3.0, 0.5]
    ours = [gg.tensor(v, dtype=gg.float64) for v in (a, b, w)]
    theirs = [torch.tensor(v, dtype=torch.float64) for v in (a, b, w)]
    for name in ("mse_loss", "l1_loss", "huber_loss"):  # weighted means differ: sum(w) or count
        np.testing.assert_allclose(getattr(F, name)(ours[0], ours[1], weight=ours[2]).item(),
                                   getattr(torch.nn.functional, name)(*theirs[:2], weight=theirs[2]).item(), rtol=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy(gg.tensor([0.2, 0.6]), gg.tensor([0.0, 1.0]), gg.tensor([2.0, 3.0])).item(),
                               torch.nn.functional.binary_cross_entropy(torch.tensor([0.2, 0.6]), torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0])).item(), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size_average, reduce in ((False, None), (None, False), (True, True)):
            np.testing.assert_allclose(
                F.mse_loss(ours[0], ours[1], size_average, reduce).detach().numpy(),
                torch.nn.functional.mse_loss(theirs[0], theirs[1], size_average, reduce).numpy(), rtol=1e-12)


def test_loss_errors_name_the_loss():
    x = gg.ones(3, 4)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.raises(ShapeError, match=rf"{name}: input of shape \(3, 4\) and target of shape \(2, 5\)"):
            getattr(F, name)(x, gg.zeros(2, 5))
    with pytest.raises(ShapeError, match=r"binary_cross_entropy: target of shape \(3,\) must have the input's shape \(3, 1\)"):
        F.binary_cross_entropy(gg.ones(3, 1) * 0.5, gg.ones(3))
    with pytest.raises(ArgumentError, match="binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(gg.tensor([1.5]), gg.tensor([1.0]))
    with pytest.raises(ArgumentError, match="smooth_l1_loss: beta must not be negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ArgumentError, match="huber_loss: delta must be positive"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ShapeError, match=r"mse_loss: weight of shape \(4,\) must have the input's shape \(3, 4\)"):
        F.mse_loss(x, x, weight=gg.ones(4))
    with pytest.raises(ValueError, match="mse_loss: reduction must be one of"):
        F.mse_loss(x, x, reduction="avg")


def test_elementwise_losses_known_values():
    d = gg.tensor([0.5, -2.0, 0.0])
    zero = gg.zeros(3)
    np.testing.assert_allclose(F.smooth_l1_loss(d, zero, reduction="none").numpy(), [0.125, 1.5, 0.0])
    np.testing.assert_allclose(F.huber_loss(d, zero, reduction="none", delta=2.0).numpy(), [0.125, 2.0, 0.0])
    np.testing.assert_allclose(F.binary_cross_entropy(gg.tensor([0.5]), gg.tensor([1.0])).item(), np.log(2), rtol=1e-6)


def test_pad_modes_known_values():
    x = gg.tensor([[0.0, 1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(F.pad(x, (2, 1), mode="reflect").numpy(), [[2, 1, 0, 1, 2, 3, 2]])
    np.testing.assert_array_equal(F.pad(x, (2, 1), mode="replicate").numpy(), [[0, 0, 0, 1, 2, 3, 3]])
    np.testing.assert_array_equal(F.pad(x, (2, 1), mode="circular").numpy(), [[2, 3, 0, 1, 2, 3, 0]])
    np.testing.assert_array_equal(F.pad(x, (-1, 1), mode="circular").numpy(), [[1, 2, 3, 1]])  # crop, then wrap
    with pytest.raises(ShapeError, match=r"pad: reflect padding \(0, 4\) must be less than the size 4"):
        F.pad(x, (0, 4), mode="reflect")
    with pytest.raises(ShapeError, match="pad: padding size 4 is not supported for 2D input"):
        F.pad(x, (1, 1, 1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="pad: mode must be"):  # PyTorch's exception type
        F.pad(x, (1, 1), mode="mirror")


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_match_pytorch(mode, rng):
    torch = pytest.importorskip("torch")
    for pads in [(1, 2), (2, -1, 0, 1), (-1, 1), (0, 3), (1, 1, 1, 1, 1, 1)]:
        for shape in [(2, 3, 4), (1, 2, 3, 4), (1, 1, 2, 3, 4)]:
            a = rng.standard_normal(shape)
            theirs_in, ours_in = torch.tensor(a, requires_grad=True), gg.tensor(a, requires_grad=True)
            try:
                theirs = torch.nn.functional.pad(theirs_in, pads, mode=mode)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    F.pad(ours_in, pads, mode=mode)
                continue
            ours = F.pad(ours_in, pads, mode=mode)
            np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
            u = rng.standard_normal(tuple(theirs.shape))
            theirs.backward(torch.tensor(u))
            ours.backward(gg.tensor(u))
            np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-12)
