"""Shape and movement ops beyond the op table: forward values against NumPy, which results are views
(shared memory and version counter) and which are copies, in-place view ops, edge shapes (empty, 0-d),
argument errors, gg.Size, and the same calls against PyTorch where it is installed."""
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg
from gpugrad.errors import ArgumentError, ShapeError

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4, 5))
M = RNG.standard_normal((4, 6))


def g(array):
    return gg.tensor(array, dtype=gg.float64)


def shares(a: gg.Tensor, b: gg.Tensor) -> bool:
    return np.shares_memory(np.asarray(a), np.asarray(b))


# Forward values against NumPy ---------------------------------------------------------------------
NUMPY_CASES = {
    "split": (lambda x: x.split(2, 1), lambda a: np.split(a, [2], 1)),
    "split_sizes": (lambda x: x.split([1, 3, 1], -1), lambda a: np.split(a, [1, 4], -1)),
    "chunk": (lambda x: x.chunk(2, 2), lambda a: np.split(a, [3], 2)),
    "tensor_split": (lambda x: x.tensor_split(3, 1), lambda a: np.array_split(a, 3, 1)),
    "tensor_split_indices": (lambda x: x.tensor_split([1, 3], 2), lambda a: np.split(a, [1, 3], 2)),
    "unbind": (lambda x: x.unbind(1), lambda a: [a[:, i] for i in range(4)]),
    "repeat": (lambda x: x.repeat(2, 1, 2, 1), lambda a: np.tile(a, (2, 1, 2, 1))),
    "tile": (lambda x: x.tile(2, 1), lambda a: np.tile(a, (2, 1))),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1), lambda a: np.repeat(a, 2, 1)),
    "repeat_interleave_counts": (lambda x: x.repeat_interleave(gg.tensor([0, 2, 1]), dim=0),
                                 lambda a: np.repeat(a, [0, 2, 1], 0)),
    "repeat_interleave_flat": (lambda x: x.repeat_interleave(3), lambda a: np.repeat(a, 3)),
    "flip": (lambda x: x.flip(0, 2), lambda a: np.flip(a, (0, 2))),
    "fliplr": (lambda x: x.fliplr(), np.fliplr),
    "flipud": (lambda x: x.flipud(), np.flipud),
    "roll": (lambda x: x.roll((1, -7), (0, 2)), lambda a: np.roll(a, (1, -7), (0, 2))),
    "roll_flat": (lambda x: x.roll(11), lambda a: np.roll(a, 11)),
    "rot90": (lambda x: x.rot90(1, (0, 2)), lambda a: np.rot90(a, 1, (0, 2))),
    "rot90_3": (lambda x: x.rot90(3, (2, 1)), lambda a: np.rot90(a, 3, (2, 1))),
    "rot90_neg": (lambda x: x.rot90(-2), lambda a: np.rot90(a, -2)),
    "tril": (lambda x: x.tril(1), lambda a: np.tril(a, 1)),
    "triu": (lambda x: x.triu(-2), lambda a: np.triu(a, -2)),
    "diagonal": (lambda x: x.diagonal(1, 2, 0), lambda a: np.diagonal(a, 1, 2, 0)),
    "diagonal_empty": (lambda x: x.diagonal(-9, 1, 2), lambda a: np.diagonal(a, -9, 1, 2)),
    "diag_of_matrix": (lambda x: x[0].diag(-2), lambda a: np.diag(a[0], -2)),
    "diag_of_vector": (lambda x: x[0, 0].diag(2), lambda a: np.diag(a[0, 0], 2)),
    "unfold": (lambda x: x.unfold(2, 2, 2),
               lambda a: np.lib.stride_tricks.sliding_window_view(a, 2, axis=2)[:, :, ::2]),
    "narrow": (lambda x: x.narrow(2, -4, 3), lambda a: a[:, :, 1:4]),
    "movedim": (lambda x: x.movedim((0, 1), (2, 0)), lambda a: np.moveaxis(a, (0, 1), (2, 0))),
    "swapaxes": (lambda x: x.swapaxes(0, -1), lambda a: np.swapaxes(a, 0, -1)),
    "unflatten": (lambda x: x.unflatten(1, (2, -1)), lambda a: a.reshape(3, 2, 2, 5)),
    "broadcast_to": (lambda x: x[:, :1].broadcast_to(2, -1, 4, 5), lambda a: np.broadcast_to(a[:, :1], (2, 3, 4, 5))),
    "hstack": (lambda x: gg.hstack([x, x[:, :1]]), lambda a: np.hstack([a, a[:, :1]])),
    "vstack": (lambda x: gg.vstack([x[0, 0], x[0]]), lambda a: np.vstack([a[0, 0], a[0]])),
    "dstack": (lambda x: gg.dstack([x[0], x[1, :, :, None]]), lambda a: np.dstack([a[0], a[1, :, :, None]])),
    "column_stack": (lambda x: gg.column_stack([x[0, 0], x[0].t()]), lambda a: np.column_stack([a[0, 0], a[0].T])),
    "meshgrid_xy": (lambda x: gg.meshgrid(x[0, 0], x[0, :, 0], x[:, 0, 0], indexing="xy"),
                    lambda a: np.meshgrid(a[0, 0], a[0, :, 0], a[:, 0, 0], indexing="xy")),
    "meshgrid_ij": (lambda x: gg.meshgrid([x[0, 0], x[0, :, 0]], indexing="ij"),
                    lambda a: np.meshgrid(a[0, 0], a[0, :, 0], indexing="ij")),
}


@pytest.mark.parametrize("name", sorted(NUMPY_CASES))
def test_forward_matches_numpy(name):
    ours, reference = NUMPY_CASES[name]
    out, expected = ours(g(A)), reference(A)
    if isinstance(expected, (list, tuple)):
        assert isinstance(out, tuple) and len(out) == len(expected)
        pairs = zip(out, expected)
    else:
        pairs = [(out, expected)]
    for o, e in pairs:
        assert o.shape == e.shape
        np.testing.assert_array_equal(o.numpy(), e)


def test_atleast_shapes_follow_numpy():
    for x in (np.float64(2.0), np.arange(3.0), np.ones((2, 3)), np.ones((2, 3, 4, 1))):
        for ours, theirs in ((gg.atleast_1d, np.atleast_1d), (gg.atleast_2d, np.atleast_2d), (gg.atleast_3d, np.atleast_3d)):
            assert ours(g(x)).shape == theirs(x).shape
    pair = gg.atleast_2d(g(1.0), g([1.0, 2.0]))
    assert isinstance(pair, tuple) and [p.shape for p in pair] == [(1, 1), (1, 2)]
    assert gg.atleast_3d([g(1.0)])[0].shape == (1, 1, 1)
    assert gg.atleast_1d() == ()


def test_repeat_interleave_of_counts_alone_gives_repeated_indices():
    out = gg.repeat_interleave(gg.tensor([2, 0, 3]))
    assert out.dtype is gg.int64
    assert out.tolist() == [0, 0, 2, 2, 2]


def test_broadcast_shapes():
    assert gg.broadcast_shapes((2, 1), (3,), 1) == gg.Size([2, 3])
    assert isinstance(gg.broadcast_shapes((2, 1)), gg.Size)
    assert gg.broadcast_shapes() == ()
    assert gg.broadcast_shapes((0, 1), (5,)) == (0, 5)


BROADCAST_MISMATCHES = [((2,), (3,)), ((4, 3), (2, 1, 3), (5,)), ((2, 1), (3, 4)), ((1, 4), (3, 1), (2, 3, 5))]


@pytest.mark.torch
@pytest.mark.parametrize("shapes", BROADCAST_MISMATCHES, ids=str)
def test_broadcast_errors_say_what_pytorch_says(shapes):
    """botorch matches broadcast_shapes' sentence ('Attempting to broadcast a dimension of length ...')."""
    torch = pytest.importorskip("torch")
    for call in (lambda lib: lib.broadcast_shapes(*shapes),
                 lambda lib: lib.broadcast_tensors(*[lib.ones(shape) for shape in shapes])):
        with pytest.raises(RuntimeError) as theirs:
            call(torch)
        with pytest.raises(RuntimeError) as ours:
            call(gg)
        assert str(ours.value).split(": ", 1)[1] == str(theirs.value)


def test_integer_and_bool_tensors_keep_their_dtype():
    ints = gg.arange(12).reshape(3, 4)
    bools = ints > 5
    for x in (ints, bools):
        for out in (x.tril(), x.flip(0), x.roll(1), x.repeat(2, 1), x.diagonal(), x.diag(), x.unfold(1, 2, 1),
                    x.repeat_interleave(2, dim=0), gg.hstack([x, x]), x.split(1)[0], x.rot90()):
            assert out.dtype is x.dtype


# Views and copies ---------------------------------------------------------------------------------
VIEWS = {
    "narrow": lambda x: x.narrow(1, 1, 2),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "unfold": lambda x: x.unfold(2, 2, 2),  # windows that do not overlap, so each element is written once
    "movedim": lambda x: x.movedim(0, 2),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "swapdims": lambda x: x.swapdims(0, 1),
    "split_piece": lambda x: x.split(2, 2)[1],
    "chunk_piece": lambda x: x.chunk(2, 2)[1],
    "tensor_split_piece": lambda x: x.tensor_split([1, 3], 2)[2],
    "unbind_piece": lambda x: x.unbind(1)[2],
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "view_of_strided": lambda x: x[:, :, :2].view(6, 2),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "atleast_3d": lambda x: gg.atleast_3d(x[0, 0]),
}
COPIES = {
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1),
    "repeat": lambda x: x.repeat(1, 1, 1),
    "tile": lambda x: x.tile((1,)),
    "tril": lambda x: x.tril(),
    "diag": lambda x: x[0].diag(),
    "rot90_zero_turns": lambda x: x.rot90(0),
    "repeat_interleave_once": lambda x: x.repeat_interleave(1, dim=0),
    "reshape_of_transposed": lambda x: x.transpose(1, 2).reshape(-1),
    "hstack": lambda x: gg.hstack([x]),
    "diag_embed": lambda x: x.diag_embed(),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_memory_and_version_counter(name):
    base = gg.arange(24.0).reshape(2, 3, 4)
    v = VIEWS[name](base)
    assert shares(v, base)
    before = base._version
    v.add_(1.0)
    assert base._version == before + 1 == v._version
    assert np.asarray(base).sum() == np.arange(24.0).sum() + v.numel()


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_own_their_memory(name):
    base = gg.arange(24.0).reshape(2, 3, 4)
    c = COPIES[name](base)
    assert not shares(c, base)
    c.add_(1.0)
    assert base._version == 0


def test_broadcast_views_share_memory():
    base = gg.arange(3.0)
    for v in (base.broadcast_to(2, 3), base.expand(4, -1), gg.broadcast_tensors(base, gg.zeros(2, 1))[0],
              gg.meshgrid(base, base[:2], indexing="ij")[0]):
        assert shares(v, base) and v._version_ref is base._version_ref


def test_a_saved_base_changed_through_a_split_piece_is_detected():
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    z = y.exp()  # saves y's output... and exp's output, which is what changes below
    piece = z.split(1)[0]
    with gg.no_grad():
        piece.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_pieces_of_a_split_cannot_be_changed_in_place_while_recording():
    y = gg.ones(3, requires_grad=True) * 1.0
    with pytest.raises(RuntimeError, match="view"):
        y.split(1)[0].mul_(2.0)


# Gradients of pieces that were not all used --------------------------------------------------------
def test_unused_pieces_contribute_zero_gradient():
    x = gg.tensor(np.arange(6.0), requires_grad=True)
    pieces = x.tensor_split([4, 2])  # [0:4], [4:4] (empty), [2:6]: overlapping
    (pieces[0].sum() * 2.0 + (pieces[2] * pieces[2]).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0 + 4.0, 2.0 + 6.0, 8.0, 10.0])
    x.grad = None
    x.chunk(3)[1].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 1, 1, 0, 0])


def test_unfold_gradient_counts_each_element_once_per_window():
    x = gg.tensor(np.arange(7.0), requires_grad=True)
    x.unfold(0, 3, 2).sum().backward()  # windows 0-2, 2-4, 4-6
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 2, 1, 2, 1, 1])


# In-place view ops --------------------------------------------------------------------------------
def test_in_place_view_ops_change_the_shape_and_record_the_view():
    x = gg.tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    y = x * 2.0
    assert y.squeeze_() is y and y.shape == (3,)
    y.unsqueeze_(0).t_()
    assert y.shape == (3, 1)
    y.transpose_(0, 1).swapaxes_(0, 1).swapdims_(1, 0)
    assert y.shape == (1, 3) and y._version == 6
    (y * gg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0], [4.0], [6.0]])


def test_in_place_view_ops_without_gradients_keep_the_memory():
    x = gg.zeros(2, 1, 3)
    data = np.asarray(x)
    x.squeeze_(1)
    assert x.shape == (2, 3) and np.shares_memory(np.asarray(x), data)


@pytest.mark.parametrize("op", ["squeeze_", "unsqueeze_", "t_", "tril_"])
def test_in_place_ops_refuse_a_leaf_that_requires_grad(op):
    x = gg.ones(2, 2, requires_grad=True)
    args = (0,) if op == "unsqueeze_" else ()
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(x, op)(*args)


def test_tril_and_triu_in_place():
    x = gg.ones(3, 3)
    x.tril_()
    x.triu_(0)
    np.testing.assert_array_equal(x.numpy(), np.eye(3))
    assert x._version == 2
    ints = gg.arange(9).reshape(3, 3)
    ints.triu_(1)
    assert ints.tolist() == [[0, 1, 2], [0, 0, 5], [0, 0, 0]]
    y = gg.ones(3, 3, requires_grad=True)
    z = y * 1.0
    z.tril_(-1)
    z.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.tril(np.ones((3, 3)), -1))


# Edge shapes --------------------------------------------------------------------------------------
def test_empty_and_zero_dim_edges():
    empty = gg.zeros(0, 3)
    assert [p.shape for p in empty.chunk(3)] == [(0, 3)] * 3
    assert [p.shape for p in empty.split(0)] == [(0, 3)]
    assert empty.unbind() == ()
    assert empty.repeat(2, 2).shape == (0, 6)
    assert empty.flip(0).shape == (0, 3) and empty.roll(1, 1).shape == (0, 3)
    assert empty.t().tril().shape == (3, 0) and empty.diagonal().shape == (0,)
    scalar = g(2.0)
    assert scalar.flip(0).shape == () and scalar.roll(3).shape == ()
    assert scalar.squeeze(0).shape == () and scalar.unsqueeze(-1).shape == (1,)
    assert scalar.unfold(0, 1, 1).shape == (1,) and scalar.unfold(0, 0, 1).shape == (0,)
    assert scalar.repeat(()).shape == () and scalar.repeat(2, 1).shape == (2, 1)
    assert scalar.repeat_interleave(3).tolist() == [2.0, 2.0, 2.0]
    assert scalar.flatten().shape == (1,) and scalar.movedim(0, 0).shape == ()
    assert gg.tensor([1.0]).split([1, 0])[1].shape == (0,)


def test_gradient_through_empty_pieces_and_repeats():
    x = gg.tensor([[1.0, 2.0]], requires_grad=True)
    (x.repeat(0, 1).sum() + x.repeat_interleave(gg.tensor([0, 2]), dim=1).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 2.0]])


# Reshape and view ---------------------------------------------------------------------------------
def test_permute_takes_dims_as_varargs_a_sequence_or_a_keyword():
    x = gg.zeros(2, 3, 4)
    assert x.permute(2, 0, 1).shape == x.permute((2, 0, 1)).shape == gg.permute(x, dims=[2, 0, 1]).shape == (4, 2, 3)


def test_reshape_and_view_take_a_size():
    x = gg.arange(12.0)
    assert x.reshape(gg.Size([3, 4])).shape == (3, 4)
    assert x.view(gg.Size([2, 6])).shape == (2, 6)
    assert x.view([4, -1]).shape == (4, 3)
    assert x.expand(gg.Size([2, 12])).shape == (2, 12)


def test_view_of_non_viewable_strides_raises_and_reshape_copies():
    x = gg.arange(12.0).reshape(3, 4).t()
    with pytest.raises(RuntimeError, match=r"view: view size is not compatible.*\(4, 3\)"):
        x.view(12)
    y = x.reshape(12)
    assert not shares(y, x) and y._version_ref is not x._version_ref
    assert x.view(4, 1, 3).shape == (4, 1, 3) and shares(x.view(4, 1, 3), x)


def test_a_reshape_that_copies_makes_the_backends_copy(monkeypatch):
    # (a large one then goes over the threads: pixel_shuffle's permuted view, NumPy's reshape ran on one core)
    from gpugrad.backend import Backend

    copied = []
    real = Backend.copy
    monkeypatch.setattr(Backend, "copy", lambda self, a: copied.append(a.shape) or real(self, a))
    a = np.random.default_rng(0).standard_normal((2, 8, 5, 3)).astype(np.float32)
    x = gg.tensor(a, requires_grad=True)
    y = gg.nn.functional.pixel_shuffle(x, 2)
    assert copied == [(2, 2, 5, 2, 3, 2)]
    expected = a.reshape(2, 2, 2, 2, 5, 3).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 10, 6)
    assert np.array_equal(y.detach().numpy(), expected) and y._array.flags.c_contiguous
    up = np.random.default_rng(1).standard_normal((2, 2, 10, 6)).astype(np.float32)
    y.backward(gg.tensor(up))
    assert len(copied) == 2  # the gradient's way back is the inverse permutation, copied too
    assert np.array_equal(x.grad.numpy(), up.reshape(2, 2, 5, 2, 3, 2).transpose(0, 1, 3, 5, 2, 4).reshape(a.shape))


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_view_over_any_slice_agrees_with_numpy(shape, data):
    """Where NumPy reshapes a strided slice without a copy, view succeeds and shares memory; where it
    cannot, view raises; reshape's values equal NumPy's in both cases."""
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    index = tuple(data.draw(st.sampled_from([slice(None), slice(None, None, 2), slice(1, None)])) for _ in shape)
    sliced = a.transpose(perm)[index]
    s = sliced.shape
    merged = [s[:i] + (s[i] * s[i + 1],) + s[i + 2 :] for i in range(len(s) - 1)]
    new_shape = data.draw(st.sampled_from([tuple(data.draw(st.permutations(s))), (sliced.size,)] + merged))
    x = gg.from_numpy(a).permute(*perm)[index]
    try:
        expected_view = np.reshape(sliced, new_shape, copy=False)
    except ValueError:
        expected_view = None
    np.testing.assert_array_equal(x.reshape(new_shape).numpy(), sliced.reshape(new_shape))
    if expected_view is None and sliced.size > 1:
        with pytest.raises(RuntimeError):
            x.view(new_shape)
    elif expected_view is not None:
        v = x.view(new_shape)
        np.testing.assert_array_equal(v.numpy(), expected_view)
        assert sliced.size == 0 or shares(v, x)


# Property tests over shapes -----------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6), data=st.data())
def test_split_chunk_and_tensor_split_partition_the_dim(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = g(a)
    size = data.draw(st.integers(1, 7))
    chunks = data.draw(st.integers(1, 7))
    for pieces in (x.split(size, dim), x.chunk(chunks, dim), x.tensor_split(chunks, dim)):
        assert sum(p.shape[dim] for p in pieces) == n
        if pieces:
            np.testing.assert_array_equal(gg.cat(pieces, dim).numpy(), a)
    assert len(x.tensor_split(chunks, dim)) == chunks
    assert [p.shape[dim] for p in x.tensor_split(chunks, dim)] == [q.shape[dim] for q in np.array_split(a, chunks, dim)]


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), data=st.data(),
       dtype=st.sampled_from([gg.float32, gg.float64, gg.int64, gg.bool]))
def test_repeat_roll_flip_and_movedim_match_numpy(shape, data, dtype):
    a = np.arange(int(np.prod(shape))).reshape(shape) % 3
    x = gg.tensor(a, dtype=dtype)
    a = np.asarray(x)
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 2)))
    np.testing.assert_array_equal(x.repeat(reps).numpy(), np.tile(a.reshape((1,) * (len(reps) - a.ndim) + shape), reps))
    shift = data.draw(st.integers(-9, 9))
    np.testing.assert_array_equal(x.roll(shift).numpy(), np.roll(a, shift))
    if a.ndim:
        dims = tuple(data.draw(st.sets(st.integers(0, a.ndim - 1), min_size=1)))
        np.testing.assert_array_equal(x.flip(dims).numpy(), np.flip(a, dims))
        src, dst = data.draw(st.permutations(range(a.ndim))), data.draw(st.permutations(range(a.ndim)))
        k = data.draw(st.integers(0, a.ndim))
        np.testing.assert_array_equal(x.movedim(tuple(src[:k]), tuple(dst[:k])).numpy(),
                                      np.moveaxis(a, src[:k], dst[:k]))


# gg.Size ------------------------------------------------------------------------------------------
def test_size_behaves_as_a_tuple_of_ints():
    s = gg.Size([2, 3])
    assert s == (2, 3) and s != [2, 3] and hash(s) == hash((2, 3))
    assert repr(s) == str(s) == "torch.Size([2, 3])"
    assert s.numel() == 6 and gg.Size().numel() == 1 and gg.Size([4, 0]).numel() == 0
    for value in (s[1:], s[::-1], s + (4,), (4,) + s, s + s, s * 2, 2 * s):
        assert isinstance(value, gg.Size)
    assert (4,) + s == (4, 2, 3) and s * 2 == (2, 3, 2, 3)
    assert isinstance(s[0], int) and s[-1] == 3
    assert gg.Size([True, 2]) == (1, 2) and gg.Size(iter([1, 2])) == (1, 2)
    assert gg.Size([gg.tensor(5)]) == (5,)
    assert isinstance(gg.zeros(2, 3).shape, gg.Size) and gg.zeros(2, 3).size() == s
    restored = pickle.loads(pickle.dumps(s))
    assert restored == s and isinstance(restored, gg.Size)


@pytest.mark.parametrize("bad", [[2.0], [1, [2]], "ab", 5, [None]])
def test_size_refuses_non_integers(bad):
    with pytest.raises(TypeError, match="Size"):
        gg.Size(bad)


def test_size_plus_a_list_is_an_error():
    with pytest.raises(TypeError):
        gg.Size([2]) + [3]


# Errors -------------------------------------------------------------------------------------------
# (call on a module: torch or gpugrad, PyTorch's exception type, the start of our message)
ERRORS = [
    (lambda m, x: x.split([2, 2]), RuntimeError, "split: split_with_sizes expects split_sizes to sum exactly to 3"),
    (lambda m, x: x.split(0), RuntimeError, "split: split_size can only be 0"),
    (lambda m, x: x.split(-1), RuntimeError, "split: expects split_size be non-negative"),
    (lambda m, x: x.split((1.0, 2)), TypeError, "split: split_sizes must be a tuple of ints"),
    (lambda m, x: x.split(1, dim=2), IndexError, "split: dimension 2 out of range"),
    (lambda m, x: x[0, 0].split(1), RuntimeError, "split: expects at least a 1-dimensional tensor"),
    (lambda m, x: x.chunk(0), RuntimeError, "chunk: expects `chunks` to be greater than 0"),
    (lambda m, x: x.tensor_split(0), RuntimeError, "tensor_split: number of sections must be larger than 0"),
    (lambda m, x: x.tensor_split(m.tensor([[1]])), RuntimeError, "tensor_split: expected tensor_indices_or_sections"),
    (lambda m, x: x.tensor_split(m.tensor([1.0])), RuntimeError, "tensor_split: expected tensor_indices_or_sections to have dtype of long"),
    (lambda m, x: x[0, 0].unbind(), IndexError, "unbind: dimension specified as 0"),
    (lambda m, x: x.repeat(2), RuntimeError, "repeat: number of dimensions of repeat dims (1) can not be smaller"),
    (lambda m, x: x.repeat(1, -1), RuntimeError, "repeat: repeats must be non-negative"),
    (lambda m, x: x.repeat_interleave(-1), RuntimeError, "repeat_interleave: repeats must be non-negative"),
    (lambda m, x: x.repeat_interleave(m.tensor([1, 2]), dim=0), RuntimeError, "repeat_interleave: repeats must have the same size"),
    (lambda m, x: x.repeat_interleave(m.tensor([1, -1, 1]), dim=0), RuntimeError, "repeat_interleave: repeats can not be negative"),
    (lambda m, x: x.repeat_interleave(m.tensor([[1, 1, 1]]), dim=0), RuntimeError, "repeat_interleave: repeats must be a 0-dim or 1-dim"),
    (lambda m, x: x.repeat_interleave(2, dim=0, output_size=5), RuntimeError, "repeat_interleave: invalid output_size"),
    (lambda m, x: x.flip(0, 0), RuntimeError, "flip: dim 0 appears multiple times"),
    (lambda m, x: x[0].fliplr(), RuntimeError, "fliplr: expected a tensor with at least 2"),
    (lambda m, x: x[0, 0].flipud(), RuntimeError, "flipud: expected a tensor with at least 1"),
    (lambda m, x: x.roll(1, (0, 1)), RuntimeError, "roll: shifts and dimensions must align"),
    (lambda m, x: x.roll((1, 2)), RuntimeError, "roll: shifts and dimensions must align"),
    (lambda m, x: x.roll(1, 5), IndexError, "roll: dimension 5 out of range"),
    (lambda m, x: x[0].rot90(), RuntimeError, "rot90: expected total dims >= 2"),
    (lambda m, x: x.rot90(1, (0, 0)), RuntimeError, "rot90: expected rotation dims to be different"),
    (lambda m, x: x.rot90(1, (0,)), RuntimeError, "rot90: expected total rotation dims == 2"),
    (lambda m, x: x.rot90(1, (0, 2)), IndexError, "rot90: dimension 2 out of range"),
    (lambda m, x: x[0].tril(), RuntimeError, "tril: expected a tensor with at least 2"),
    (lambda m, x: x.triu(1.0), TypeError, "triu: argument 'diagonal' must be int"),
    (lambda m, x: x.unsqueeze(0).diag(), RuntimeError, "diag: supports 1D or 2D tensors, got 3D"),
    (lambda m, x: x.diagonal(0, 1, -1), RuntimeError, "diagonal: diagonal dimensions cannot be identical"),
    (lambda m, x: x[0, 0].diag_embed(), IndexError, "diag_embed: dimension -2 out of range"),
    (lambda m, x: x.unflatten(1, (3, -1)), RuntimeError, "unflatten: provided sizes [3, -1] don't multiply up"),
    (lambda m, x: x.unflatten(1, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda m, x: x.unfold(0, 4, 1), RuntimeError, "unfold: maximum size for tensor at dimension 0 is 3 but size is 4"),
    (lambda m, x: x.unfold(0, 2, 0), RuntimeError, "unfold: step is 0 but must be > 0"),
    (lambda m, x: x.unfold(0, -1, 1), RuntimeError, "unfold: size is -1 but must be >= 0"),
    (lambda m, x: x.narrow(1, 3, 2), RuntimeError, "narrow: start (3) + length (2) exceeds dimension size (4)"),
    (lambda m, x: x.narrow(1, 5, 0), IndexError, "narrow: start out of range"),
    (lambda m, x: x.narrow(1, 0, -1), RuntimeError, "narrow: length must be non-negative"),
    (lambda m, x: x[0, 0].narrow(0, 0, 1), RuntimeError, "narrow: cannot be applied to a 0-dim tensor"),
    (lambda m, x: x.movedim((0, 1), (1,)), RuntimeError, "movedim: invalid source or destination dims"),
    (lambda m, x: x.movedim((0, 0), (1, 0)), RuntimeError, "movedim: repeated dim in `source`"),
    (lambda m, x: x.swapaxes(0, 2), IndexError, "swapaxes: dimension 2 out of range"),
    (lambda m, x: m.meshgrid(x, indexing="ij"), RuntimeError, "meshgrid: expected 0D or 1D tensors"),
    (lambda m, x: m.meshgrid(x[0], indexing="foo"), RuntimeError, 'meshgrid: indexing must be one of "xy" or "ij"'),
    (lambda m, x: m.meshgrid(x[0], x[0].long(), indexing="ij"), RuntimeError, "meshgrid: expects all tensors to have the same dtype"),
    (lambda m, x: m.meshgrid(indexing="ij"), RuntimeError, "meshgrid: expects a non-empty sequence"),
    (lambda m, x: x.broadcast_to((-1, 3, 4)), RuntimeError, "broadcast_to: the expanded size of the tensor (-1) isn't allowed"),
    (lambda m, x: m.broadcast_shapes((2, 1), (3, 2)), RuntimeError, "broadcast_shapes: Attempting to broadcast a dimension of length 3 at -2"),
    (lambda m, x: m.broadcast_shapes((-1, 2)), ValueError, "broadcast_shapes: attempting to broadcast a dimension with negative length"),
    (lambda m, x: m.broadcast_tensors(x, x[:, :2]), RuntimeError, "broadcast_tensors: The size of tensor a (4) must match the size of tensor b (2)"),
    (lambda m, x: m.hstack([]), RuntimeError, "hstack: expects a non-empty sequence"),
    (lambda m, x: m.vstack(x), TypeError, "vstack: argument 'tensors' must be a sequence of Tensors"),
    (lambda m, x: m.cat([x[0, 0], x[0, 0]]), RuntimeError, "cat: zero-dimensional tensor"),
    (lambda m, x: m.atleast_2d(1.0), TypeError, "atleast_2d: expected a sequence of Tensors"),
    (lambda m, x: x.squeeze((0, 0)), RuntimeError, "squeeze: dim 0 appears multiple times"),
    (lambda m, x: x.squeeze(2), IndexError, "squeeze: dimension 2 out of range"),
    (lambda m, x: x.unsqueeze(3), IndexError, "unsqueeze: dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda m, x: x.unsqueeze(1.0), TypeError, "unsqueeze: argument 'dim' must be int, not float"),
    (lambda m, x: x.unsqueeze(True), TypeError, "unsqueeze: argument 'dim' must be int, not bool"),
    (lambda m, x: x.expand(-1, 3, 4), RuntimeError, "expand: the expanded size of the tensor (-1) isn't allowed in a leading"),
    (lambda m, x: x.expand(3, 5), RuntimeError, "expand: the expanded size of the tensor (5) must match the existing size (4)"),
    (lambda m, x: x.expand(4), RuntimeError, "expand: the number of sizes provided (1) must be greater or equal"),
    (lambda m, x: x.flatten(1, 0), RuntimeError, "flatten: invalid args: start_dim (1) cannot come after end_dim (0)"),
    (lambda m, x: x.flatten(0, 2), IndexError, "flatten: dimension 2 out of range"),
    (lambda m, x: x.view(2, -1, -1), RuntimeError, "view: only one dimension can be inferred"),
    (lambda m, x: x.reshape(5, -1), RuntimeError, "reshape: shape [5, -1] is invalid for input of shape (3, 4)"),
    (lambda m, x: x[:0].reshape(0, -1), RuntimeError, "reshape: cannot reshape a tensor of 0 elements"),
    (lambda m, x: x.reshape(3.0, 4), TypeError, "reshape: size must be a tuple of ints"),
]
ERROR_IDS = [e[2].split(":")[0] + "-" + str(i) for i, e in enumerate(ERRORS)]


@pytest.mark.parametrize("call,kind,message", ERRORS, ids=ERROR_IDS)
def test_errors_name_the_function_with_pytorchs_exception_type(call, kind, message):
    x = gg.arange(12.0).reshape(3, 4)
    with pytest.raises(kind) as info:
        call(gg, x)
    assert str(info.value).startswith(message)


@pytest.mark.torch
@pytest.mark.parametrize("call,kind,message", ERRORS, ids=ERROR_IDS)
def test_pytorch_raises_the_same_exception_type(call, kind, message):
    torch = pytest.importorskip("torch")
    if message.startswith("repeat_interleave: repeats must be non-negative"):
        kind = RuntimeError
    with pytest.raises(kind):
        call(torch, torch.arange(12.0).reshape(3, 4))


def test_meshgrid_without_indexing_warns_and_uses_ij():
    with pytest.warns(UserWarning, match="indexing"):
        grids = gg.meshgrid(gg.arange(2.0), gg.arange(3.0))
    assert grids[0].shape == (2, 3)


def test_out_argument_of_joins():
    a, b = gg.ones(2), gg.zeros(2)
    for fn, expected in ((gg.cat, (4,)), (gg.stack, (2, 2)), (gg.hstack, (4,)), (gg.vstack, (2, 2)),
                         (gg.row_stack, (2, 2)), (gg.dstack, (1, 2, 2)), (gg.column_stack, (2, 2))):
        out = gg.zeros(0)
        assert fn([a, b], out=out) is out and out.shape == expected


# Against PyTorch: values and shapes of edge calls ------------------------------------------------
EDGE_CALLS = [
    lambda m, x: x.tensor_split([3, 1, 20], 1),
    lambda m, x: x.tensor_split([-3], 1),
    lambda m, x: x.tensor_split(m.tensor([1, 3]), 1),
    lambda m, x: x.tensor_split(m.tensor(3), 1),
    lambda m, x: x.tensor_split(5, 0),
    lambda m, x: x[:0].chunk(3),
    lambda m, x: x.chunk(4, 1),
    lambda m, x: x.split(5, 1),
    lambda m, x: x.unfold(1, 0, 1),
    lambda m, x: x.unfold(-1, 2, 3),
    lambda m, x: x.diagonal(-3),
    lambda m, x: x.diagonal(2, 1, 0),
    lambda m, x: x.diag(5),
    lambda m, x: x.diag_embed(-1, -1, 0),
    lambda m, x: x.narrow(1, 4, 0),
    lambda m, x: x.narrow(0, m.tensor(1), 2),
    lambda m, x: x.roll(m.tensor(2), 1),
    lambda m, x: x.roll([1, 2], [0, 0]),
    lambda m, x: x.rot90(5),
    lambda m, x: x.rot90(-3, (1, 0)),
    lambda m, x: x.repeat_interleave(m.tensor(2), dim=1),
    lambda m, x: x.repeat_interleave(m.tensor([3]), dim=0),
    lambda m, x: x[0, 0].repeat_interleave(2),
    lambda m, x: x.tile(2),
    lambda m, x: x[0, 0].repeat(2, 1),
    lambda m, x: x.tril(m.tensor(-1)),
    lambda m, x: x.triu(10),
    lambda m, x: x.squeeze(()),
    lambda m, x: x.unsqueeze(-3),
    lambda m, x: x[0, 0].flatten(0, -1),
    lambda m, x: x.unflatten(-1, (1, 2, -1)),
    lambda m, x: x.movedim(-1, 0),
    lambda m, x: x.swapdims(1, 1),
    lambda m, x: x[:1].expand(0, 4),
    lambda m, x: m.broadcast_tensors(x, x[0, 0]),
    lambda m, x: m.meshgrid([x[0], x[0, 0]], indexing="xy"),
    lambda m, x: m.atleast_3d(x[0]),
    lambda m, x: m.hstack([x[0, 0], x[1]]),
    lambda m, x: m.column_stack([x[0, 0], x[0, 1]]),
    lambda m, x: m.dstack([x[0, 0]]),
    lambda m, x: m.hstack([x, x.long()]),
]


@pytest.mark.torch
@pytest.mark.parametrize("index", range(len(EDGE_CALLS)))
def test_edge_calls_match_pytorch(index):
    torch = pytest.importorskip("torch")
    call = EDGE_CALLS[index]
    ours = call(gg, gg.arange(12.0).reshape(3, 4))
    theirs = call(torch, torch.arange(12.0).reshape(3, 4))
    if isinstance(theirs, torch.Tensor):
        ours, theirs = (ours,), (theirs,)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape)
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_array_equal(o.numpy(), t.numpy())


@pytest.mark.torch
def test_size_matches_torch_size():
    torch = pytest.importorskip("torch")
    for ours, theirs in ((gg.Size([2, 3]), torch.Size([2, 3])), (gg.Size(), torch.Size())):
        for op in (lambda s: s[1:], lambda s: s + (4,), lambda s: (4,) + s, lambda s: s * 2, lambda s: s.numel(),
                   lambda s: s == (2, 3), lambda s: s == [2, 3], lambda s: repr(s).split("(")[1]):
            a, b = op(ours), op(theirs)
            assert a == b and type(a).__name__ == type(b).__name__


@pytest.mark.torch
def test_in_place_view_ops_bump_the_version_as_pytorch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (gg, torch):
            y = lib.ones(3, 1) * 1.0
            y.squeeze_().unsqueeze_(1).t_()
            assert y._version == 3 and tuple(y.shape) == (1, 3)


def test_view_as_dtype_reinterprets_the_bytes():
    x = gg.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    bits = x.view(gg.int32)
    np.testing.assert_array_equal(bits.numpy(), x.detach().numpy().view(np.int32))
    assert not bits.requires_grad
    halves = x.detach().view(gg.int16)
    assert halves.shape == (2, 4)
    halves[0, 0] = 7  # the same memory, and the same version counter
    assert x.detach().numpy().view(np.int16)[0, 0] == 7 and x._version == halves._version
    with pytest.raises(gg.ShapeError, match="view: the last dim must be contiguous"):
        x.detach().T.view(gg.int16)
    with pytest.raises(gg.ShapeError, match="view: .*whole number"):
        gg.zeros(3, dtype=gg.int8).view(gg.int16)


@pytest.mark.torch
def test_view_as_dtype_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = [[1.5, -2.0, 0.25], [3.0, 1e-3, -7.0]]
    for dtype in ("int32", "int16", "uint8", "float16"):
        ours = gg.tensor(data).view(getattr(gg, dtype))
        theirs = torch.tensor(data).view(getattr(torch, dtype))
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_contiguous_copies_a_transposed_tensor_so_that_view_works():
    x = gg.arange(24.0, requires_grad=True)
    t = x.view(4, 6).t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.view(-1).shape == (24,)
    np.testing.assert_array_equal(c.detach().numpy(), np.arange(24.0).reshape(4, 6).T)
    c.view(-1)[:6].sum().backward()  # the gradient flows through the copy
    assert x.grad.numpy().sum() == 6
    same = gg.zeros(2, 3)
    assert same.contiguous() is same


def test_select_ravel_and_diff():
    x = gg.arange(24).reshape(2, 3, 4)
    assert x.select(1, -1).tolist() == x[:, 2].tolist() and gg.select(x, 0, 1).shape == (3, 4)
    v = x.select(2, 0)
    v.add_(100)  # a view, as PyTorch's
    assert x[0, 0, 0].item() == 100
    with pytest.raises(IndexError, match="select: index 3 out of range"):
        x.select(1, 3)
    with pytest.raises(IndexError, match="select"):
        gg.tensor(1.0).select(0, 0)
    assert x.transpose(0, 2).ravel().tolist() == x.transpose(0, 2).reshape(-1).tolist()
    y = gg.tensor([1, 4, 9, 16])
    assert y.diff().tolist() == [3, 5, 7] and y.diff(n=2).tolist() == [2, 2] and y.diff(n=0).tolist() == y.tolist()
    assert gg.diff(y, prepend=gg.tensor([0]), append=gg.tensor([20])).tolist() == [1, 3, 5, 7, 4]
    assert y.diff(n=5).shape == (0,)
    with pytest.raises(ArgumentError, match="diff"):
        y.diff(n=-1)
    with pytest.raises(ShapeError, match="diff"):
        gg.tensor(2.0).diff()


def test_hsplit_vsplit_dsplit_block_diag_and_cartesian_prod():
    x = gg.arange(12).reshape(3, 4)
    assert [t.shape for t in gg.hsplit(x, 2)] == [(3, 2), (3, 2)] and [t.shape for t in x.hsplit([1])] == [(3, 1), (3, 3)]
    assert [t.tolist() for t in gg.hsplit(gg.arange(4), 2)] == [[0, 1], [2, 3]]
    with pytest.raises(ShapeError, match="hsplit"):
        gg.hsplit(x, 3)
    with pytest.raises(ShapeError, match="vsplit"):
        gg.vsplit(gg.arange(4), 2)
    with pytest.raises(ShapeError, match="dsplit"):
        gg.dsplit(x, 2)
    assert gg.block_diag(gg.ones(1, 2), gg.tensor([3, 4])).tolist() == [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 3.0, 4.0]]
    assert gg.block_diag().shape == (1, 0)
    with pytest.raises(ShapeError, match="block_diag"):
        gg.block_diag(gg.ones(1, 1, 1))
    assert gg.cartesian_prod(gg.tensor([1, 2]), gg.tensor([3, 4])).tolist() == [[1, 3], [1, 4], [2, 3], [2, 4]]
    with pytest.raises(ShapeError, match="cartesian_prod"):
        gg.cartesian_prod(gg.ones(2, 2), gg.ones(2))


def test_combinations_and_vander():
    x = gg.tensor([1.0, 2.0, 3.0])
    assert gg.combinations(x).tolist() == [[1.0, 2.0], [1.0, 3.0], [2.0, 3.0]]
    assert gg.combinations(x, r=3, with_replacement=True).shape == (10, 3)
    assert gg.combinations(x, r=0).shape == (0,) and gg.combinations(x, r=4).shape == (0, 4)
    with pytest.raises(ValueError, match="1D vector"):
        gg.combinations(gg.ones(2, 2))
    assert gg.vander(x).tolist() == [[1.0, 1.0, 1.0], [4.0, 2.0, 1.0], [9.0, 3.0, 1.0]]
    assert gg.vander(x, N=2, increasing=True).tolist() == [[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]]
    assert gg.vander(gg.tensor([1, 2])).dtype is gg.int64 and gg.vander(x, N=0).shape == (3, 0)
    with pytest.raises(ValueError, match="one-dimensional"):
        gg.vander(gg.ones(2, 2))


@pytest.mark.torch
def test_combinations_and_vander_values_match_pytorch():
    torch = pytest.importorskip("torch")
    data = [0.5, -1.0, 2.0, 3.0]
    for r in (1, 2, 3):
        for rep in (False, True):
            np.testing.assert_array_equal(gg.combinations(gg.tensor(data), r, rep).numpy(),
                                          torch.combinations(torch.tensor(data), r, rep).numpy())
    for n in (None, 1, 3, 6):
        for inc in (False, True):
            np.testing.assert_allclose(gg.vander(gg.tensor(data), n, inc).numpy(),
                                       torch.vander(torch.tensor(data), n, inc).numpy(), rtol=1e-6)


def test_gradient_errors():
    with pytest.raises(ValueError, match="at least edge_order"):
        gg.gradient(gg.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(ValueError, match="edge_order=1 and edge_order=2"):
        gg.gradient(gg.ones(5), edge_order=3)
    with pytest.raises(ValueError, match="length 2"):
        gg.gradient(gg.ones(3, 3), spacing=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="coordinates"):
        gg.gradient(gg.ones(3), spacing=(gg.tensor([0.0, 1.0]),))
    assert gg.gradient(gg.tensor([1, 4, 9]))[0].tolist() == [3.0, 4.0, 5.0]


def test_as_strided_is_a_view_of_the_storage():
    x = gg.arange(6.0)
    windows = x.as_strided((4, 3), (1, 1))
    assert windows.tolist()[1] == [1.0, 2.0, 3.0]
    windows[0, 0] = 10.0  # writes reach x, as through any view
    assert x[0].item() == 10.0
    assert x[2:].as_strided((2,), (2,)).tolist() == [2.0, 4.0]  # the offset defaults to the view's own
    assert x[2:].as_strided((2,), (1,), 0).tolist() == [10.0, 1.0]  # an explicit offset counts from the storage
    with pytest.raises(RuntimeError, match="storage of 7 elements"):
        x.as_strided((2, 3), (3, 1), 1)
    with pytest.raises(gg.ShapeError, match="length"):
        x.as_strided((2, 3), (1,))


def test_cat_skips_one_dimensional_empty_tensors_as_pytorch():
    # dino's MultiCropWrapper starts from ``output = torch.empty(0)`` and cats each crop's batch onto it.
    x = gg.randn(4, 3, requires_grad=True)
    out = gg.cat((gg.empty(0), x))
    assert out.shape == (4, 3) and out.tolist() == x.tolist()
    out.sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 4
    assert gg.cat([gg.empty(0), gg.tensor([1, 2])]).dtype == gg.float32  # still promotes, as PyTorch
    assert gg.cat([gg.empty(0), gg.empty(0)]).shape == (0,)
    with pytest.raises(ShapeError, match="sizes must match"):
        gg.cat([gg.empty(0, 3), x[:, :2]])  # only the 1-d (0,) placeholder is skipped


def test_expanding_by_new_unit_dims_gives_a_writable_view():
    # transformers fills ``arange(n).expand((1, -1))`` buffers with copy_: no element repeats there.
    x = gg.arange(4.0)
    x.expand(1, 1, -1).copy_(gg.ones(1, 1, 4))
    assert x.tolist() == [1.0] * 4
    with pytest.raises(ShapeError, match="read-only"):
        x.expand(3, 4).copy_(gg.zeros(3, 4))  # repeated elements stay read-only, as PyTorch refuses the write


@pytest.mark.parametrize("make", [
    lambda: [gg.randn(3, 2).t(), gg.randn(3, 2).t()],  # transposed
    lambda: [gg.randn(2).expand(2, 2), gg.randn(2).expand(2, 2)],  # expanded (stride 0)
    lambda: [gg.randn(4, 3, 2).permute(2, 0, 1), gg.randn(2, 4, 3)],  # mixed layouts
], ids=["transposed", "expanded", "mixed"])
def test_cat_and_stack_give_contiguous_results_that_view_takes(make):
    parts = make()
    for dim in range(parts[0].ndim):
        out = gg.cat(parts, dim)
        assert out.is_contiguous()
        np.testing.assert_array_equal(out.numpy(), np.concatenate([p.numpy() for p in parts], dim))
    for dim in range(parts[0].ndim + 1):
        out = gg.stack(parts, dim)
        assert out.is_contiguous() and out.view(-1).shape == (out.numel(),)
        np.testing.assert_array_equal(out.numpy(), np.stack([p.numpy() for p in parts], dim))


def test_cat_and_stack_strides_match_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 2))
    for lib in (torch, gg):
        t = lib.tensor(a).t()
        e = lib.tensor(a[0]).expand(3, 2)
        assert lib.stack((t, t)).stride() == (6, 3, 1) and lib.cat((t, t), 1).stride() == (6, 1)
        assert lib.stack((e, e), 1).stride() == (4, 2, 1)
