"""gpugrad.nested (jagged layout): construction and accessors, each op against the same op on every component
separately, gradients through the packed values against per-component gradients (and gradcheck in float64),
what nested tensors refuse, and (torch-marked) values, offsets, shapes, padding, attention outputs and
gradients against torch.nested."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck
from gpugrad.nested import NestedTensorError

LENGTHS = (3, 1, 4)


def _parts(rng, lengths=LENGTHS, rest=(5,), dtype=np.float64):
    return [rng.standard_normal((n, *rest)).astype(dtype) for n in lengths]


def _nt(parts, requires_grad=False):
    return gg.nested.nested_tensor([gg.tensor(p) for p in parts], layout=gg.jagged, requires_grad=requires_grad)


def _np(t):
    return t.detach().numpy()


def _assert_components(nt, expected, rtol=1e-10, atol=1e-12):
    got = nt.unbind()
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(_np(g), e, rtol=rtol, atol=atol)


# Construction and accessors ----------------------------------------------------------------------------------
def test_nested_tensor_packs_copies_and_reports_its_shape(rng):
    parts = _parts(rng)
    sources = [gg.tensor(p, requires_grad=True) for p in parts]
    nt = gg.nested.nested_tensor(sources, layout=gg.jagged)
    assert isinstance(nt, gg.Tensor) and nt.is_nested and nt.layout is gg.jagged and not gg.ones(1).is_nested
    assert nt.dim() == nt.ndim == 3 and len(nt) == 3 and nt.size(0) == 3 and nt.size(-1) == 5
    assert nt.shape == (3, nt.size(1), 5) and str(nt.shape).startswith("torch.Size([3, j") and nt.shape[2:] == (5,)
    assert nt.offsets().tolist() == [0, 3, 4, 8] and nt.offsets().dtype is gg.int64 and nt.lengths() is None
    assert tuple(nt.values().shape) == (8, 5) and nt.numel() == 40 and nt.dtype is gg.float64
    assert nt.device == gg.device("cpu") and nt.is_contiguous() and nt._ragged_idx == 1
    np.testing.assert_array_equal(_np(nt.values()), np.concatenate(parts))
    _assert_components(nt, parts, 0, 0)
    # a copy with no history: a leaf that needs no gradient unless asked, whatever its sources needed
    assert nt.is_leaf and not nt.requires_grad and nt.grad_fn is None
    sources[0].data.mul_(0.0)
    np.testing.assert_array_equal(_np(nt.unbind()[0]), parts[0])
    asked = gg.nested.nested_tensor(sources, layout=gg.jagged, requires_grad=True)
    assert asked.requires_grad and asked.is_leaf
    assert "NestedTensor(size=(3, j" in repr(asked) and "offsets=tensor([0, 3, 4, 8])" in repr(asked)
    assert gg.nested.nested_tensor([[1.0, 2.0], [3.0]], layout=gg.jagged, dtype=gg.float64).dtype is gg.float64


def test_ragged_size_is_a_nested_int_equal_only_to_itself(rng):
    parts = _parts(rng)
    a, b = _nt(parts), _nt(parts)
    j = a.size(1)
    assert repr(j).startswith("j") and str(j) == repr(j) and j == a.shape[1] and j != b.size(1) and j != 3
    assert (a + 1).size(1) is j and a.shape == (a + a).shape and a.shape != b.shape
    assert j >= 2 and j > 1 and not j < 2
    with pytest.raises(TypeError, match="not a number"):
        int(j)
    shared = gg.nested.nested_tensor_from_jagged(b.values(), a.offsets())
    assert shared.size(1) is j  # the same offsets tensor: the same ragged size, so they combine
    np.testing.assert_allclose(_np((a + shared).values()), 2 * np.concatenate(parts))
    with pytest.raises(gg.ShapeError, match="different ragged structure"):
        a + b


def test_as_nested_tensor_keeps_history(rng):
    parts = _parts(rng)
    leaves = [gg.tensor(p, requires_grad=True) for p in parts]
    nt = gg.nested.as_nested_tensor(leaves, layout=gg.jagged)
    assert not nt.is_leaf and nt.requires_grad
    weights = _parts(np.random.default_rng(5))
    nt.backward(gg.nested.nested_tensor_from_jagged(gg.tensor(np.concatenate(weights)), nt.offsets()))
    for leaf, w in zip(leaves, weights):
        np.testing.assert_array_equal(_np(leaf.grad), w)
    dense = gg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    view = gg.nested.as_nested_tensor(dense, layout=gg.jagged)
    assert view.offsets().tolist() == [0, 3, 6] and tuple(view.values().shape) == (6, 4)
    view.sum().backward()
    np.testing.assert_array_equal(_np(dense.grad), np.ones((2, 3, 4)))
    assert gg.nested.as_nested_tensor(view, layout=gg.jagged) is view
    assert gg.nested.as_nested_tensor(view, dtype=gg.float32, layout=gg.jagged).dtype is gg.float32


def test_from_jagged_views_values_with_offsets_lengths_and_holes(rng):
    values = gg.tensor(rng.standard_normal((6, 2)), requires_grad=True)
    offsets = gg.tensor([0, 2, 3, 6])
    nt = gg.nested.nested_tensor_from_jagged(values, offsets)
    assert nt.values() is values and [tuple(c.shape) for c in nt.unbind()] == [(2, 2), (1, 2), (3, 2)]
    by_lengths = gg.nested.nested_tensor_from_jagged(values, lengths=gg.tensor([2, 1, 3]))
    assert by_lengths.offsets().tolist() == [0, 2, 3, 6] and by_lengths.lengths() is None
    holes = gg.nested.nested_tensor_from_jagged(values, offsets, gg.tensor([1, 1, 2]))
    assert not holes.is_contiguous() and holes.lengths().tolist() == [1, 1, 2] and holes.numel() == 8
    a, b, c = holes.unbind()
    v = _np(values)
    np.testing.assert_array_equal(_np(a), v[0:1])
    np.testing.assert_array_equal(_np(b), v[2:3])
    np.testing.assert_array_equal(_np(c), v[3:5])
    _assert_components(holes * 2.0, [2 * v[0:1], 2 * v[2:3], 2 * v[3:5]])
    padded = holes.to_padded_tensor(-1.0)
    assert tuple(padded.shape) == (3, 2, 2) and _np(padded)[0, 1].tolist() == [-1.0, -1.0]
    packed = holes.contiguous()
    assert packed.is_contiguous() and packed.offsets().tolist() == [0, 1, 2, 4]
    _assert_components(packed, [v[0:1], v[2:3], v[3:5]], 0, 0)
    (holes.sum(dim=(0, 1)) * gg.tensor([1.0, 2.0])).sum().backward()
    expected = np.zeros((6, 2))
    expected[[0, 2, 3, 4]] = [1.0, 2.0]
    np.testing.assert_array_equal(_np(values.grad), expected)
    with pytest.raises(RuntimeError, match="at least one of offsets or lengths"):
        gg.nested.nested_tensor_from_jagged(values)
    transposed = gg.nested.nested_tensor_from_jagged(gg.tensor(rng.standard_normal((3, 6))), offsets, jagged_dim=2)
    assert transposed._ragged_idx == 2 and tuple(transposed.unbind()[2].shape) == (3, 3)


def test_narrow_and_masked_select(rng):
    base = gg.tensor(rng.standard_normal((3, 5, 2)))
    nt = gg.nested.narrow(base, 1, gg.tensor([0, 1, 2]), gg.tensor([2, 3, 1]), layout=gg.jagged)
    assert not nt.is_contiguous() and nt.offsets().tolist() == [0, 6, 12, 13] and nt.lengths().tolist() == [2, 3, 1]
    b = _np(base)
    _assert_components(nt, [b[0, 0:2], b[1, 1:4], b[2, 2:3]], 0, 0)
    whole = gg.nested.narrow(base, 1, 0, 5, layout=gg.jagged)
    assert whole.is_contiguous() and whole.offsets().tolist() == [0, 5, 10, 15]
    mask = gg.tensor(rng.standard_normal((3, 4)) > 0)
    x = gg.tensor(rng.standard_normal((3, 4)))
    picked = gg.nested.masked_select(x, mask)
    m = _np(mask)
    _assert_components(picked, [_np(x)[i][m[i]] for i in range(3)], 0, 0)


def test_construction_errors(rng):
    with pytest.raises(NotImplementedError, match="only the jagged layout"):
        gg.nested.nested_tensor([gg.ones(2, 3)])
    with pytest.raises(RuntimeError, match="empty tensor list"):
        gg.nested.nested_tensor([], layout=gg.jagged)
    with pytest.raises(gg.ShapeError, match="one ragged dim"):
        gg.nested.nested_tensor([gg.ones(2, 3), gg.ones(3, 4)], layout=gg.jagged)
    with pytest.raises(gg.DTypeError, match="same dtype"):
        gg.nested.nested_tensor([gg.ones(2, 3), gg.ones(3, 3, dtype=gg.float64)], layout=gg.jagged)
    with pytest.raises(gg.ShapeError, match="zero-dim"):
        gg.nested.nested_tensor([gg.tensor(1.0), gg.tensor(2.0)], layout=gg.jagged)
    with pytest.raises(NotImplementedError, match="jagged"):
        gg.zeros(2, layout=gg.jagged)
    with pytest.raises(TypeError, match="nested_tensor"):
        gg.nested.NestedTensor(gg.ones(2), gg.tensor([0, 2]))


# Ops against the same op on every component --------------------------------------------------------------
UNARY = [
    ("exp", lambda t: t.exp(), np.exp),
    ("neg", lambda t: -t, np.negative),
    ("abs", lambda t: abs(t), np.abs),
    ("tanh", lambda t: t.tanh(), np.tanh),
    ("sqrt of square", lambda t: (t * t).sqrt(), np.abs),
    ("clamp", lambda t: t.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    ("pow", lambda t: t ** 2, np.square),
    ("rpow", lambda t: 2.0 ** t, lambda x: 2.0 ** x),
    ("rsub", lambda t: 1.0 - t, lambda x: 1.0 - x),
    ("rdiv", lambda t: 1.0 / (t * t + 1), lambda x: 1.0 / (x * x + 1)),
    ("gt", lambda t: t > 0, lambda x: x > 0),
    ("float cast", lambda t: t.float(), lambda x: x.astype(np.float32)),
]


@pytest.mark.parametrize("name,op,ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary_on_each_component(rng, name, op, ref):
    parts = _parts(rng)
    out = op(_nt(parts))
    assert out.is_nested and out.offsets().tolist() == [0, 3, 4, 8]
    _assert_components(out, [ref(p) for p in parts], rtol=1e-6)


def test_binary_with_nested_scalar_and_dense_operands(rng):
    parts, others = _parts(rng), _parts(np.random.default_rng(9))
    nt = _nt(parts)
    other = gg.nested.nested_tensor_from_jagged(gg.tensor(np.concatenate(others)), nt.offsets())
    row = rng.standard_normal(5)
    per_batch = rng.standard_normal((3, 1, 5))
    cases = [
        (nt + other, [p + o for p, o in zip(parts, others)]),
        (nt * other - nt / (other * other + 1), [p * o - p / (o * o + 1) for p, o in zip(parts, others)]),
        (nt.maximum(other), [np.maximum(p, o) for p, o in zip(parts, others)]),
        (nt * 3 + 1, [p * 3 + 1 for p in parts]),
        (nt + gg.tensor(row), [p + row for p in parts]),
        (gg.tensor(row) * nt, [row * p for p in parts]),
        (nt - gg.tensor(row[None, None]), [p - row for p in parts]),
        (nt * gg.tensor(per_batch), [p * per_batch[b] for b, p in enumerate(parts)]),
        (gg.tensor(per_batch) - nt, [per_batch[b] - p for b, p in enumerate(parts)]),
        (nt.add(other, alpha=2.0), [p + 2 * o for p, o in zip(parts, others)]),
        (nt == nt.clone(), [np.ones_like(p, dtype=bool) for p in parts]),
    ]
    for out, expected in cases:
        assert out.is_nested and out.size(1) is nt.size(1)
        _assert_components(out, expected)
    inplace = nt.clone()
    inplace += other
    inplace.mul_(2.0)
    _assert_components(inplace, [2 * (p + o) for p, o in zip(parts, others)])
    with pytest.raises(gg.ShapeError, match="span the ragged dim"):
        nt + gg.ones(4, 5, dtype=gg.float64)
    with pytest.raises(gg.ShapeError, match="does not broadcast"):
        nt + gg.ones(3, 2, 5, dtype=gg.float64)


def test_binary_gradients_reach_both_sides_per_component(rng):
    parts = _parts(rng)
    nt = _nt(parts, requires_grad=True)
    per_batch = gg.tensor(rng.standard_normal((3, 1, 5)), requires_grad=True)
    row = gg.tensor(rng.standard_normal(5), requires_grad=True)
    ((nt * per_batch + row) ** 2).sum().backward()
    dense_parts = [gg.tensor(p, requires_grad=True) for p in parts]
    pb, rw = gg.tensor(_np(per_batch), requires_grad=True), gg.tensor(_np(row), requires_grad=True)
    sum(((p * pb[b] + rw) ** 2).sum() for b, p in enumerate(dense_parts)).backward()
    assert nt.grad.is_nested and nt.grad.size(1) is nt.size(1)
    _assert_components(nt.grad, [_np(p.grad) for p in dense_parts])
    np.testing.assert_allclose(_np(per_batch.grad), _np(pb.grad), rtol=1e-12)
    np.testing.assert_allclose(_np(row.grad), _np(rw.grad), rtol=1e-12)


ACTIVATIONS = [
    ("gelu", lambda t: F.gelu(t)), ("gelu tanh", lambda t: F.gelu(t, approximate="tanh")), ("relu", F.relu),
    ("silu", F.silu), ("sigmoid", F.sigmoid), ("tanh", F.tanh), ("softplus", F.softplus), ("elu", F.elu),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.2)), ("hardswish", F.hardswish), ("mish", F.mish),
    ("nn.GELU", nn.GELU()), ("nn.SiLU", nn.SiLU()), ("nn.ReLU", nn.ReLU()),
]


@pytest.mark.parametrize("name,act", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_on_each_component(rng, name, act):
    parts = _parts(rng)
    _assert_components(act(_nt(parts)), [_np(act(gg.tensor(p))) for p in parts])


def test_inplace_activation_and_dropout(rng):
    parts = _parts(rng)
    nt = _nt(parts)
    assert F.relu(nt, inplace=True) is nt
    _assert_components(nt, [np.maximum(p, 0) for p in parts])
    x = _nt(_parts(rng, rest=(200,)))
    dropped = F.dropout(x, 0.5, training=True)
    v, d = _np(x.values()), _np(dropped.values())
    assert dropped.size(1) is x.size(1) and np.all((d == 0) | np.isclose(d, 2 * v)) and 0.3 < (d == 0).mean() < 0.7
    assert nn.Dropout(0.5).eval()(x) is x and F.dropout(x, 0.0) is x


def test_linear_norms_and_softmax_on_each_component(rng):
    parts = _parts(rng, rest=(2, 6))
    nt = _nt(parts)
    lin = nn.Linear(6, 4).double()
    ln = nn.LayerNorm(6).double()
    ln2 = nn.LayerNorm((2, 6), bias=False).double()
    rms = nn.RMSNorm(6).double()
    for layer in (lin, ln, ln2, rms, nn.Sequential(nn.Linear(6, 6), nn.GELU(), nn.Linear(6, 3)).double(),
                  lambda t: F.normalize(t, dim=-1), lambda t: F.softmax(t, dim=-1), lambda t: t.log_softmax(-2),
                  lambda t: F.softmin(t, dim=-1), lambda t: t @ gg.tensor(np.ones((6, 2))),
                  lambda t: gg.tensor(np.arange(6.0).reshape(3, 2)) @ t):
        _assert_components(layer(nt), [_np(layer(gg.tensor(p))) for p in parts])
    # softmax over the ragged dim: within each component
    _assert_components(F.softmax(nt, dim=1), [_np(F.softmax(gg.tensor(p), dim=0)) for p in parts])
    with pytest.raises(NotImplementedError, match="include the ragged dim"):
        F.layer_norm(nt.transpose(1, 3), (4,))  # (B, 6, 2, j): the last dim is the ragged one
    with pytest.raises(NotImplementedError, match="batch"):
        F.softmax(nt, dim=0)


def test_shape_ops_move_the_ragged_dim(rng):
    parts = _parts(rng, rest=(6,))
    nt = _nt(parts)
    heads = nt.unflatten(-1, (2, 3))
    assert heads._ragged_idx == 1 and heads.shape[2:] == (2, 3)
    t = heads.transpose(1, 2)  # (B, H, j, D) as attention wants it
    assert t._ragged_idx == 2 and t.shape[1] == 2 and t.shape[2] is nt.size(1) and tuple(t.values().shape) == (2, 8, 3)
    assert not t.is_contiguous()
    _assert_components(t, [p.reshape(-1, 2, 3).transpose(1, 0, 2) for p in parts], 0, 0)
    back = t.transpose(1, 2).flatten(-2)
    assert back._ragged_idx == 1 and back.size(1) is nt.size(1)
    _assert_components(back, parts, 0, 0)
    perm = heads.permute(0, 3, 1, 2)
    assert perm._ragged_idx == 2
    _assert_components(perm, [p.reshape(-1, 2, 3).transpose(2, 0, 1) for p in parts], 0, 0)
    assert nt.unsqueeze(1)._ragged_idx == 2 and nt.unsqueeze(-1).squeeze(-1).shape == nt.shape
    _assert_components(nt.unsqueeze(1), [p[None] for p in parts], 0, 0)
    with pytest.raises(NotImplementedError, match="batch dim"):
        nt.transpose(0, 1)
    with pytest.raises(NotImplementedError, match="ragged dim"):
        nt.flatten(1, 2)
    with pytest.raises(NotImplementedError, match="ragged dim"):
        nt.unflatten(1, (1, -1))


def test_sum_and_mean(rng):
    parts = _parts(rng, rest=(2, 3))
    nt = _nt(parts)
    _assert_components(nt.sum(-1), [p.sum(-1) for p in parts])
    kept = nt.mean(dim=2, keepdim=True)
    assert kept._ragged_idx == 1
    _assert_components(kept, [p.mean(1, keepdims=True) for p in parts])
    moved = nt.transpose(1, 2).sum(1)  # reduces a dim before the ragged one: the ragged dim moves up
    assert moved._ragged_idx == 1
    _assert_components(moved, [p.sum(1) for p in parts])
    over_ragged = nt.mean(1)
    assert not over_ragged.is_nested
    np.testing.assert_allclose(_np(over_ragged), np.stack([p.mean(0) for p in parts]))
    np.testing.assert_allclose(_np(nt.sum(dim=(0, 1))), np.concatenate(parts).sum(0))
    np.testing.assert_allclose(_np(nt.sum()), sum(p.sum() for p in parts))
    with pytest.raises(NotImplementedError, match="ragged dim and other"):
        nt.sum((1, 2))
    with pytest.raises(NotImplementedError, match="batch dim but not the ragged"):
        nt.sum(0)


def test_to_padded_tensor(rng):
    parts = _parts(rng, rest=(2,))
    nt = _nt(parts, requires_grad=True)
    padded = gg.nested.to_padded_tensor(nt, 7.0)
    expected = np.full((3, 4, 2), 7.0)
    for b, p in enumerate(parts):
        expected[b, : len(p)] = p
    np.testing.assert_array_equal(_np(padded), expected)
    assert tuple(nt.to_padded_tensor(0.0, output_size=(3, 6, 2)).shape) == (3, 6, 2)
    with pytest.raises(gg.ShapeError, match="truncation"):
        nt.to_padded_tensor(0.0, output_size=(3, 2, 2))
    with pytest.raises(gg.ShapeError, match="every dim but the ragged one"):
        nt.to_padded_tensor(0.0, output_size=(3, 4, 3))
    weights = rng.standard_normal((3, 4, 2))
    (padded * gg.tensor(weights)).sum().backward()
    _assert_components(nt.grad, [weights[b, : len(p)] for b, p in enumerate(parts)], 0, 0)
    t = gg.nested.nested_tensor([gg.tensor(p) for p in _parts(rng, rest=(2, 3))], layout=gg.jagged).transpose(1, 2)
    assert tuple(t.to_padded_tensor(0.0).shape) == (3, 2, 4, 3)


def test_unbind_stack_and_indexing_are_differentiable(rng):
    parts = _parts(rng, lengths=(2, 2, 2))
    nt = _nt(parts, requires_grad=True)
    stacked = gg.stack(nt.unbind())
    assert tuple(stacked.shape) == (3, 2, 5)
    (stacked * gg.tensor(np.arange(3.0)[:, None, None])).sum().backward()
    _assert_components(nt.grad, [np.full((2, 5), float(b)) for b in range(3)], 0, 0)
    np.testing.assert_array_equal(_np(nt[-1]), parts[2])
    assert [tuple(c.shape) for c in nt] == [(2, 5)] * 3


def _sdpa_components(qp, kp, vp, **kw):
    return [_np(F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), gg.tensor(v), **kw))
            for q, k, v in zip(qp, kp, vp)]


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}], ids=["plain", "causal", "scale"])
def test_sdpa_on_each_component(rng, kw):
    # (B, H, j, D) after transpose(1, 2); key / value with other lengths (cross attention), two equal lengths
    lq, lk, heads, d = (3, 1, 3, 2), (4, 2, 4, 5), 2, 4
    qp = [rng.standard_normal((heads, n, d)) for n in lq]
    kp = [rng.standard_normal((heads, n, d)) for n in lk]
    vp = [rng.standard_normal((heads, n, 3)) for n in lk]

    def nested(parts):
        return gg.nested.nested_tensor([gg.tensor(p.transpose(1, 0, 2)) for p in parts], layout=gg.jagged,
                                       requires_grad=True)

    q, k, v = nested(qp), nested(kp), nested(vp)
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), **kw)
    assert out._ragged_idx == 2 and out.size(2) is q.size(1)
    _assert_components(out, _sdpa_components(qp, kp, vp, **kw))
    weights = [rng.standard_normal(o.shape) for o in _sdpa_components(qp, kp, vp, **kw)]
    (out * gg.nested.nested_tensor_from_jagged(gg.tensor(np.concatenate(weights, axis=1)), q.offsets(),
                                               jagged_dim=2)).sum().backward()
    dense = [[gg.tensor(p, requires_grad=True) for p in parts] for parts in (qp, kp, vp)]
    sum((F.scaled_dot_product_attention(a, b, c, **kw) * gg.tensor(w)).sum()
        for a, b, c, w in zip(*dense, weights)).backward()
    for nested_leaf, leaves in zip((q, k, v), dense):
        _assert_components(nested_leaf.grad, [_np(leaf.grad).transpose(1, 0, 2) for leaf in leaves])


def test_sdpa_refusals(rng):
    q = _nt(_parts(rng, rest=(2, 4))).transpose(1, 2)
    with pytest.raises(ValueError, match="nested tensors"):
        F.scaled_dot_product_attention(q, gg.ones(3, 2, 4, 4, dtype=gg.float64), gg.ones(3, 2, 4, 4, dtype=gg.float64))
    with pytest.raises(ValueError, match="masks are not supported"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=gg.ones(4, 4, dtype=gg.bool))


def test_gradcheck_through_the_packed_values(rng):
    offsets = gg.tensor([0, 2, 3, 6])
    w = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    per_batch = gg.tensor(rng.standard_normal((3, 1, 3)), requires_grad=True)

    def block(values, weight, pb):
        nt = gg.nested.nested_tensor_from_jagged(values, offsets)
        y = F.gelu(F.linear(nt, weight)) * pb
        y = F.layer_norm(y, (3,)).softmax(1)
        return y.to_padded_tensor(0.5)

    assert gradcheck(block, (gg.tensor(rng.standard_normal((6, 4)), requires_grad=True), w, per_batch))

    kv_offsets = gg.tensor([0, 3, 4, 6])

    def attention(qv, kv, vv):
        q = gg.nested.nested_tensor_from_jagged(qv, offsets).unflatten(-1, (2, 2)).transpose(1, 2)
        k = gg.nested.nested_tensor_from_jagged(kv, kv_offsets).unflatten(-1, (2, 2)).transpose(1, 2)
        v = gg.nested.nested_tensor_from_jagged(vv, kv_offsets).unflatten(-1, (2, 2)).transpose(1, 2)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).flatten(-2).values()

    qkv = [gg.tensor(rng.standard_normal((6, 4)), requires_grad=True) for _ in range(3)]
    assert gradcheck(attention, tuple(qkv))


def test_transformer_block_matches_components(rng):
    """A NaViT-style pre-norm attention + feed-forward block on a nested batch equals it on each image."""
    gg.manual_seed(3)
    dim, heads = 8, 2

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(dim, bias=False)
            self.qkv = nn.Linear(dim, 3 * dim, bias=False)
            self.out = nn.Linear(dim, dim)
            self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 16), nn.GELU(), nn.Dropout(0.0),
                                    nn.Linear(16, dim))

        def forward(self, x):
            h = self.norm(x)
            q, k, v = (F.linear(h, w).unflatten(-1, (heads, dim // heads)).transpose(1, 2)
                       for w in self.qkv.weight.chunk(3, dim=0))
            o = F.scaled_dot_product_attention(q, k, v)
            x = self.out(o.transpose(1, 2).flatten(-2)) + x
            return self.ff(x) + x

    block = Block().double()
    parts = _parts(rng, lengths=(5, 2, 5, 1), rest=(dim,))
    nt = _nt(parts, requires_grad=True)
    out = block(nt)
    # the same module on a dense (1, j, D) batch per image, through the ordinary dense code paths
    _assert_components(out, [_np(block(gg.tensor(p[None])))[0] for p in parts])
    out.sum().backward()
    assert nt.grad.size(1) is nt.size(1) and block.qkv.weight.grad is not None


# What nested tensors refuse ---------------------------------------------------------------------------------
def test_unsupported_ops_raise_naming_the_op(rng):
    nt = _nt(_parts(rng))
    for call, name in [
        (lambda: nt.cumsum(1), "cumsum"),
        (lambda: nt.reshape(-1), "reshape"),
        (lambda: gg.exp(nt), "exp"),
        (lambda: gg.cat([nt, nt]), "cat"),
        (lambda: nt[0:1], "__getitem__"),
        (lambda: nt.T, "T"),
        (lambda: F.glu(nt), "glu"),
        (lambda: nt.numpy(), "numpy"),
        (lambda: bool(nt), "__bool__"),
        (lambda: nt @ nt, "matmul"),
        (lambda: gg.ones(2, 3, dtype=gg.float64) @ nt, "matmul"),
        (lambda: nt.unbind(1), "unbind"),
    ]:
        with pytest.raises(NestedTensorError, match=f"^{name}: .*gpugrad.nested supports") as info:
            call()
        assert isinstance(info.value, NotImplementedError) and isinstance(info.value, RuntimeError)
    # a Parameter's operator runs first: it hands over to the nested tensor's reflected one
    p = nn.Parameter(gg.ones(5, dtype=gg.float64))
    _assert_components(p * nt, [_np(c) for c in nt.unbind()], 0, 0)
    _assert_components(nt * p, [_np(c) for c in nt.unbind()], 0, 0)


def test_autograd_accessors_and_moves(rng):
    parts = _parts(rng)
    nt = _nt(parts, requires_grad=True)
    seen = []
    nt.register_hook(lambda g: seen.append(g.is_nested))
    y = (nt * 2).to(gg.float32)
    assert y.dtype is gg.float32 and y.size(1) is nt.size(1) and y.grad_fn is not None and not y.is_leaf
    y.backward(gg.nested.nested_tensor_from_jagged(gg.ones(8, 5), nt.offsets()))
    assert seen == [True]
    _assert_components(nt.grad, [np.full(p.shape, 2.0) for p in parts], 0, 0)
    d = nt.detach()
    assert not d.requires_grad and d.size(1) is nt.size(1) and nt.clone().values() is not nt.values()
    assert nt.cpu() is nt and nt.double() is nt and nt.half().dtype is gg.float16
    import copy

    c = copy.deepcopy(nt)
    _assert_components(c, parts, 0, 0)


# Against torch.nested ---------------------------------------------------------------------------------------
@pytest.mark.torch
def test_against_torch_nested(rng):
    torch = pytest.importorskip("torch")
    parts = _parts(rng, rest=(2, 4))
    ours = _nt(parts)
    theirs = torch.nested.nested_tensor([torch.tensor(p) for p in parts], layout=torch.jagged)
    assert ours.offsets().tolist() == theirs.offsets().tolist() and ours.dim() == theirs.dim()
    assert [str(s) if i != 1 else "j" for i, s in enumerate(ours.shape)] == \
        [str(s) if i != 1 else "j" for i, s in enumerate(theirs.shape)]
    np.testing.assert_array_equal(_np(ours.values()), theirs.values().numpy())
    cases = [
        lambda m, t: m.nested.to_padded_tensor(t, -2.0),
        lambda m, t: t.transpose(1, 2).to_padded_tensor(0.0),
        lambda m, t: t.transpose(1, 2).values(),
        lambda m, t: t.sum(dim=1),
        lambda m, t: t.mean(dim=-1).to_padded_tensor(0.0),
        lambda m, t: t.softmax(dim=1).to_padded_tensor(0.0),
        lambda m, t: (t * 2 + 1).exp().values(),
        lambda m, t: (t + m.tensor(np.arange(12.0).reshape(3, 1, 1, 4))).values(),
        lambda m, t: m.nn.functional.layer_norm(t, (4,)).values(),
        lambda m, t: m.nn.functional.gelu(t).flatten(-2).values(),
        lambda m, t: m.cat(t.unbind()),
    ]
    for fn in cases:
        np.testing.assert_allclose(_np(fn(gg, ours)), fn(torch, theirs).detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")  # torch's math path, inside
@pytest.mark.parametrize("scale", [None, 0.7])
def test_sdpa_outputs_and_gradients_against_torch(rng, scale):
    """(PyTorch's CPU path refuses is_causal for nested inputs: causal attention is checked against the
    per-component dense op above.)"""
    torch = pytest.importorskip("torch")
    heads, d = 2, 4
    lq, lk = (3, 1, 4, 3), (5, 2, 4, 5)
    qv, kv, vv = (rng.standard_normal((sum(ls), heads * d)) for ls in (lq, lk, lk))
    proj = rng.standard_normal((sum(lq), heads * d))
    results = []
    for lib in (gg, torch):
        leaves = [lib.tensor(a, requires_grad=True) for a in (qv, kv, vv)]
        offs = [lib.tensor(np.concatenate([[0], np.cumsum(ls)])) for ls in (lq, lk)]
        q = lib.nested.nested_tensor_from_jagged(leaves[0], offs[0])
        k = lib.nested.nested_tensor_from_jagged(leaves[1], offs[1])
        v = lib.nested.nested_tensor_from_jagged(leaves[2], offs[1])
        q, k, v = (t.unflatten(-1, (heads, d)).transpose(1, 2) for t in (q, k, v))
        out = lib.nn.functional.scaled_dot_product_attention(q, k, v, scale=scale)
        out = out.transpose(1, 2).flatten(-2)
        (out.values() * lib.tensor(proj)).sum().backward()
        results.append([out.values().detach().numpy()] + [leaf.grad.numpy() for leaf in leaves])
        assert out.offsets().tolist() == np.concatenate([[0], np.cumsum(lq)]).tolist()
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_linear_layer_norm_gradients_against_torch(rng):
    torch = pytest.importorskip("torch")
    parts = _parts(rng, rest=(6,))
    w, b = rng.standard_normal((3, 6)), rng.standard_normal(3)
    grads = []
    for lib in (gg, torch):
        nt = lib.nested.nested_tensor([lib.tensor(p) for p in parts], layout=lib.jagged, requires_grad=True)
        weight, bias = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        y = lib.nn.functional.layer_norm(lib.nn.functional.silu(lib.nn.functional.linear(nt, weight, bias)), (3,))
        (y * y).to_padded_tensor(0.0).sum().backward()  # (torch has no backward for a nested sum)
        grads.append([nt.grad.values().numpy(), weight.grad.numpy(), bias.grad.numpy()])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
