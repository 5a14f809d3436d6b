"""nn.utils.rnn: packing and padding against hand-built expectations, round trips, gradients through
both, the error cases, and agreement with torch.nn.utils.rnn (torch-marked)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck
from gpugrad.nn.utils.rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

# Three sequences a (len 2), b (len 3), c (len 1) of one feature; values name their position: 10*seq + t.
A, B, C = [10.0, 11.0], [20.0, 21.0, 22.0], [30.0]
PADDED = np.array([[10.0, 20.0, 30.0], [11.0, 21.0, 0.0], [0.0, 22.0, 0.0]])  # (T, B)


def test_pack_padded_by_hand():
    packed = pack_padded_sequence(gg.tensor(PADDED), [2, 3, 1], enforce_sorted=False)
    # sorted by length: b, a, c; steps time-major
    assert packed.data.tolist() == [20.0, 10.0, 30.0, 21.0, 11.0, 22.0]
    assert packed.batch_sizes.tolist() == [3, 2, 1] and packed.batch_sizes.dtype == gg.int64
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    bf = pack_padded_sequence(gg.tensor(PADDED.T.copy()), gg.tensor([2, 3, 1]), batch_first=True, enforce_sorted=False)
    assert bf.data.tolist() == packed.data.tolist()
    assert isinstance(packed, tuple) and packed._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")


def test_sorted_pack_has_no_permutation():
    packed = pack_padded_sequence(gg.tensor(PADDED[:, [1, 0, 2]]), [3, 2, 1])
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    assert packed.data.tolist() == [20.0, 10.0, 30.0, 21.0, 11.0, 22.0]


def test_pad_packed_by_hand_with_value_and_total_length():
    packed = pack_padded_sequence(gg.tensor(PADDED), [2, 3, 1], enforce_sorted=False)
    padded, lengths = pad_packed_sequence(packed, padding_value=-1.0, total_length=4)
    expected = np.array([[10, 20, 30], [11, 21, -1], [-1, 22, -1], [-1, -1, -1]], dtype=float)
    np.testing.assert_array_equal(padded.numpy(), expected)
    assert lengths.tolist() == [2, 3, 1] and lengths.dtype == gg.int64
    padded, _ = pad_packed_sequence(packed, batch_first=True)
    np.testing.assert_array_equal(padded.numpy(), PADDED.T)


def test_pad_sequence_right_and_left():
    seqs = [gg.tensor(A), gg.tensor(B), gg.tensor(C)]
    np.testing.assert_array_equal(pad_sequence(seqs).numpy(), PADDED)
    left = pad_sequence(seqs, batch_first=True, padding_value=9.0, padding_side="left")
    np.testing.assert_array_equal(left.numpy(), [[9, 10, 11], [20, 21, 22], [9, 9, 30]])
    features = [gg.tensor(np.arange(6.0).reshape(3, 2)), gg.tensor([[7.0, 8.0]])]
    out = pad_sequence(features, batch_first=True)
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out.numpy()[1], [[7, 8], [0, 0], [0, 0]])


def test_round_trips(rng):
    seqs = [gg.tensor(rng.standard_normal((n, 2))) for n in (3, 5, 1, 4)]
    for a, b in zip(unpack_sequence(pack_sequence(seqs, enforce_sorted=False)), seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    padded = pad_sequence(seqs, batch_first=True)
    for a, b in zip(unpad_sequence(padded, gg.tensor([3, 5, 1, 4]), batch_first=True), seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = rng.standard_normal((5, 4, 2))
    lengths = [3, 5, 1, 4]
    back, got = pad_packed_sequence(pack_padded_sequence(gg.tensor(x), lengths, enforce_sorted=False))
    assert got.tolist() == lengths
    mask = np.arange(5)[:, None] < np.array(lengths)[None, :]
    np.testing.assert_array_equal(back.numpy(), np.where(mask[..., None], x, 0.0))


def test_invert_permutation_and_to():
    assert invert_permutation(gg.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert invert_permutation(None) is None
    packed = pack_sequence([gg.tensor(B), gg.tensor(A)])
    as64 = packed.double()
    assert isinstance(as64, PackedSequence) and as64.data.dtype == gg.float64 and not as64.is_cuda
    assert as64.batch_sizes.tolist() == [2, 2, 1]
    rebuilt = PackedSequence(packed.data, packed.batch_sizes, gg.tensor([1, 0]))
    assert rebuilt.unsorted_indices.tolist() == [1, 0]


def test_gradients_flow_through_pack_and_pad(rng):
    x = gg.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)

    def round_trip(x):
        packed = pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
        return pad_packed_sequence(PackedSequence(packed.data.sin(), *packed[1:]), padding_value=0.5)[0]

    assert gradcheck(round_trip, [x])
    seqs = [gg.tensor(rng.standard_normal((n, 2)), requires_grad=True) for n in (2, 4)]
    assert gradcheck(lambda a, b: pad_sequence([a, b], padding_side="left"), seqs)


def test_errors_name_the_function():
    x = gg.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="pack_padded_sequence: `lengths` array must be sorted in decreasing order"):
        pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: Expected `len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(RuntimeError, match="pack_padded_sequence: Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(RuntimeError, match="pack_padded_sequence: a length of 5 exceeds the 4 time steps"):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="pad_packed_sequence: Expected total_length to be at least .* total_length=2 and max sequence length being 3"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 2, 1]), total_length=2)
    with pytest.raises(ValueError, match="pad_sequence: Expected padding_side to be one of left or right, but got up."):
        pad_sequence([x[0]], padding_side="up")
    with pytest.raises(RuntimeError, match="pad_sequence: received an empty list of sequences"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match="pad_sequence: every sequence must have shape"):
        pad_sequence([gg.zeros(2, 3), gg.zeros(1, 4)])


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_torch(batch_first, rng):
    torch = pytest.importorskip("torch")
    tu = torch.nn.utils.rnn
    x = rng.standard_normal((6, 5, 3))  # 6 steps (one more than the longest), 5 sequences
    lengths = [3, 5, 1, 4, 2]
    if batch_first:
        x = x.transpose(1, 0, 2).copy()
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    o = pack_padded_sequence(ox, lengths, batch_first=batch_first, enforce_sorted=False)
    t = tu.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    for a, b in zip(o, t):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    o_pad, o_len = pad_packed_sequence(o, batch_first=batch_first, padding_value=-2.0, total_length=8)
    t_pad, t_len = tu.pad_packed_sequence(t, batch_first=batch_first, padding_value=-2.0, total_length=8)
    np.testing.assert_array_equal(o_pad.detach().numpy(), t_pad.detach().numpy())
    np.testing.assert_array_equal(o_len.numpy(), t_len.numpy())
    w = rng.standard_normal(tuple(o_pad.shape))
    (o_pad * gg.tensor(w)).sum().backward()
    (t_pad * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(ox.grad.numpy(), tx.grad.numpy())
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    for side in ("left", "right"):
        np.testing.assert_array_equal(
            pad_sequence([gg.tensor(s) for s in seqs], batch_first, 1.5, side).numpy(),
            tu.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 1.5, side).numpy(),
        )
