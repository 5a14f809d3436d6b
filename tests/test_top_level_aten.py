"""torch's top-level aten ops with extra outputs (gpugrad/top_level_aten.py): native_layer_norm,
native_batch_norm, native_group_norm, native_dropout, native_norm, convolution, embedding_bag,
frobenius_norm, nuclear_norm, is_inference. NumPy float64 references always; PyTorch where installed."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F


def _np(t) -> np.ndarray:
    return np.asarray(t.detach().numpy())


@pytest.fixture
def rng():
    return np.random.default_rng(11)


# --- always-on checks against NumPy float64 -----------------------------------------------------------
def test_native_layer_norm_statistics_and_output(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    w, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    out, mean, rstd = gg.native_layer_norm(gg.tensor(x, requires_grad=True), [4, 5], gg.tensor(w), gg.tensor(b), 1e-5)
    ref_mean = x.mean(axis=(2, 3), keepdims=True)
    ref_rstd = 1 / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(_np(mean), ref_mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_np(rstd), ref_rstd, rtol=1e-12)
    np.testing.assert_allclose(_np(out), (x - ref_mean) * ref_rstd * w + b, rtol=1e-10, atol=1e-12)
    assert mean.shape == (2, 3, 1, 1) and not mean.requires_grad and not rstd.requires_grad
    assert out.requires_grad
    with pytest.raises(ValueError):
        gg.native_layer_norm(gg.tensor(x), [3], None, None, 1e-5)
    with pytest.raises(TypeError):
        gg.native_layer_norm(gg.tensor(x), [5], None, None)  # eps has no default, as in PyTorch


def test_native_layer_norm_reduced_floats_round_statistics_once():
    x = gg.tensor([[1.0, 2.0, 4.0, 8.0]]).to(gg.bfloat16)
    _, mean, rstd = gg.native_layer_norm(x, [4], None, None, 1e-5)
    assert mean.dtype is gg.bfloat16 and rstd.dtype is gg.bfloat16
    wide = x.float().numpy()
    np.testing.assert_array_equal(mean.float().numpy(), gg.tensor(wide.mean(keepdims=True, axis=1)).to(gg.bfloat16)
                                  .float().numpy())


def test_native_batch_norm_training_and_eval(rng):
    x = rng.standard_normal((4, 3, 5))
    rm, rv = gg.zeros(3, dtype=gg.float64), gg.ones(3, dtype=gg.float64)
    out, mean, invstd = gg.native_batch_norm(gg.tensor(x), None, None, rm, rv, True, 0.1, 1e-5)
    m, v = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    np.testing.assert_allclose(_np(mean), m, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_np(invstd), 1 / np.sqrt(v + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(_np(out), (x - m[:, None]) / np.sqrt(v[:, None] + 1e-5), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(rm), 0.1 * m, rtol=1e-12, atol=1e-14)  # the running statistics moved
    np.testing.assert_allclose(_np(rv), 0.9 + 0.1 * x.var(axis=(0, 2), ddof=1), rtol=1e-12)
    out, mean, invstd = gg.native_batch_norm(gg.tensor(x), None, None, rm, rv, False, 0.1, 1e-5)
    assert mean.shape == (0,) and invstd.shape == (0,)
    np.testing.assert_allclose(_np(out), (x - _np(rm)[:, None]) / np.sqrt(_np(rv)[:, None] + 1e-5), rtol=1e-10)
    with pytest.raises(ValueError, match="running_mean"):
        gg.native_batch_norm(gg.tensor(x), None, None, None, None, False, 0.1, 1e-5)


def test_native_group_norm_reads_input_as_n_c_hxw(rng):
    x = rng.standard_normal((4, 3, 5))
    xt = gg.tensor(x, requires_grad=True)
    out, mean, rstd = gg.native_group_norm(xt, None, None, 2, 6, 5, 3, 1e-5)  # (4, 3, 5) read as (2, 6, 5)
    groups = x.reshape(2, 3, 10)
    np.testing.assert_allclose(_np(mean), groups.mean(axis=2), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_np(rstd), 1 / np.sqrt(groups.var(axis=2) + 1e-5), rtol=1e-12)
    ref = ((groups - groups.mean(axis=2, keepdims=True)) / np.sqrt(groups.var(axis=2, keepdims=True) + 1e-5))
    np.testing.assert_allclose(_np(out), ref.reshape(4, 3, 5), rtol=1e-10, atol=1e-12)
    assert out.shape == (4, 3, 5) and mean.shape == (2, 3)
    # The statistics are differentiable, as PyTorch's: the mean's gradient is 1 / (group size 10) each.
    assert mean.requires_grad and rstd.requires_grad
    mean.sum().backward()
    np.testing.assert_allclose(_np(xt.grad), np.full((4, 3, 5), 1 / 10), rtol=1e-12)
    with pytest.raises(ValueError):
        gg.native_group_norm(xt, None, None, 4, 3, 4, 1, 1e-5)
    with pytest.raises(ValueError, match="weight"):
        gg.native_group_norm(xt, gg.ones(4, dtype=gg.float64), None, 4, 3, 5, 1, 1e-5)


def test_native_dropout_mask_and_scale():
    x = gg.tensor(np.arange(1.0, 201.0).reshape(10, 20), requires_grad=True)
    gg.manual_seed(0)
    out, mask = gg.native_dropout(x, 0.25, True)
    assert mask.dtype is gg.bool and mask.shape == x.shape and 0.6 < mask.float().mean().item() < 0.9
    np.testing.assert_allclose(_np(out), np.where(mask.numpy(), x.detach().numpy() / 0.75, 0.0))
    out.sum().backward()
    np.testing.assert_allclose(_np(x.grad), np.where(mask.numpy(), 1 / 0.75, 0.0))
    same, everything = gg.native_dropout(x, 0.25, False)
    assert same is not x and np.array_equal(_np(same), _np(x)) and everything.numpy().all()
    zeros, none = gg.native_dropout(x, 1.0, True)
    assert not np.any(_np(zeros)) and not none.numpy().any()
    ints, kept = gg.native_dropout(gg.tensor([1, 2]), 0.5, False)  # an integer tensor outside training
    assert ints.tolist() == [1, 2] and kept.tolist() == [True, True]
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            gg.native_dropout(x, p, True)
    with pytest.raises(TypeError):
        gg.native_dropout(gg.tensor([1, 2]), 0.5, True)


def test_native_norm_is_for_sparse_tensors():
    s = gg.sparse_coo_tensor(gg.tensor([[0, 1, 1, 1], [2, 0, 3, 0]]), gg.tensor([1.0, -2.0, 3.0, 4.0]), (3, 4))
    values = np.array([1.0, 2.0, 3.0])  # (1, 0) appears twice: -2 + 4
    for p, ref in [(2, np.linalg.norm(values)), (1, 6.0), (3, np.sum(values**3) ** (1 / 3)), (float("inf"), 3.0),
                   (0, 3.0), (None, np.linalg.norm(values))]:
        assert gg.native_norm(s, p).item() == pytest.approx(ref, rel=1e-6)
    assert gg.native_norm(s, 1, [0, 1], False, None).item() == pytest.approx(6.0)
    with pytest.raises(NotImplementedError, match="sparse"):
        gg.native_norm(gg.ones(3))
    for kwargs in ({"dim": [1]}, {"dim": [0, 1], "keepdim": True}, {"dim": [0, 1], "dtype": gg.float64}):
        with pytest.raises(ValueError):
            gg.native_norm(s, 2, **kwargs)


def test_convolution_dispatches_on_weight_dims(rng):
    # (input shape, weight shape, aten's (stride, padding, dilation, transposed, output_padding, groups), F's call)
    cases = [
        ((2, 4, 9), (6, 2, 3), ([2], [1], [1], False, [0], 2), lambda x, w: F.conv1d(x, w, None, 2, 1, 1, 2)),
        ((1, 2, 5, 6), (3, 2, 3, 3), ([1, 2], [1], [2, 1], False, [1, 1], 1),  # output_padding unread here
         lambda x, w: F.conv2d(x, w, None, (1, 2), 1, (2, 1))),
        ((1, 2, 3, 3, 2), (2, 1, 2, 2, 2), ([2], [0], [1], True, [1], 1),
         lambda x, w: F.conv_transpose3d(x, w, None, 2, 0, 1)),
    ]
    for xs, ws, args, direct in cases:
        x, w = gg.tensor(rng.standard_normal(xs)), gg.tensor(rng.standard_normal(ws))
        np.testing.assert_allclose(_np(gg.convolution(x, w, None, *args)), _np(direct(x, w)), rtol=1e-12)
    x, w = gg.ones(2, 4, 7), gg.ones(3, 4, 2)
    good = {"stride": [1], "padding": [0], "dilation": [1], "transposed": False, "output_padding": [0], "groups": 1}
    for bad, exc in [({"stride": 1}, TypeError), ({"stride": [1, 1, 1]}, ValueError), ({"padding": [-1]}, ValueError),
                     ({"stride": [0]}, ValueError), ({"groups": 0}, ValueError)]:
        with pytest.raises(exc):
            gg.convolution(x, w, None, **(good | bad))
    with pytest.raises(ValueError, match="3-dimensional input"):
        gg.convolution(gg.ones(4, 7), w, None, [1], [0], [1], False, [0], 1)
    with pytest.raises(ValueError, match="three dimensions"):
        gg.convolution(gg.ones(2, 4), gg.ones(3, 4), None, [], [], [], False, [], 1)


def test_embedding_bag_four_results_by_hand():
    w = gg.tensor([[1.0, 9.0], [5.0, 2.0], [3.0, 3.0], [0.0, 7.0]])
    idx, off = gg.tensor([1, 2, 0, 3, 2]), gg.tensor([0, 2, 2])  # bags [1, 2], [], [0, 3, 2]
    out, offset2bag, bag_size, max_indices = gg.embedding_bag(w, idx, off, False, 2)
    assert out.tolist() == [[5.0, 3.0], [0.0, 0.0], [3.0, 9.0]]
    assert offset2bag.tolist() == [0, 0, 2, 2, 2] and bag_size.tolist() == [2, 0, 3]
    assert max_indices.tolist() == [[1, 2], [0, 0], [2, 0]]
    out, offset2bag, bag_size, max_indices = gg.embedding_bag(w, idx, off, False, 1, False, None, False, 2)
    assert bag_size.tolist() == [1, 0, 2] and max_indices.tolist() == [1, 0, 2]  # mean: bag_size again
    assert out.tolist() == [[5.0, 2.0], [0.0, 0.0], [0.5, 8.0]]
    out, offset2bag, bag_size, max_indices = gg.embedding_bag(w, idx, off)  # sum, float32: offset2bag empty
    assert offset2bag.shape == (0,) and bag_size.tolist() == [0, 0, 0] == max_indices.tolist()
    _, offset2bag, *_ = gg.embedding_bag(w.double(), idx, off)
    assert offset2bag.tolist() == [0, 0, 2, 2, 2]
    for bad in (3, -1):
        with pytest.raises(ValueError, match="mode"):
            gg.embedding_bag(w, idx, off, False, bad)
    with pytest.raises(ValueError, match="1D"):
        gg.embedding_bag(w, idx.reshape(1, 5), off)


def test_frobenius_and_nuclear_norms(rng):
    x = rng.standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="deprecated"):  # the first call of the process (as PyTorch's)
        gg.frobenius_norm(gg.tensor(x), [0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(_np(gg.frobenius_norm(gg.tensor(x), [1, 2])), np.sqrt((x**2).sum(axis=(1, 2))))
        assert gg.frobenius_norm(gg.tensor(x), []).item() == pytest.approx(np.sqrt((x**2).sum()))
        assert gg.frobenius_norm(gg.tensor(x), 1, keepdim=True).shape == (2, 1, 4)
        nuc = np.linalg.svd(x, compute_uv=False).sum(axis=-1)
        np.testing.assert_allclose(_np(gg.nuclear_norm(gg.tensor(x))), nuc, rtol=1e-12)
        assert gg.nuclear_norm(gg.tensor(x[0]), True).shape == (1, 1)  # the bool overload: keepdim
        np.testing.assert_allclose(_np(gg.nuclear_norm(gg.tensor(x), [0, 2], True)).reshape(3),
                                   np.linalg.svd(x.transpose(1, 0, 2), compute_uv=False).sum(axis=-1), rtol=1e-12)
        for bad in ([0, 1, 2], [1, 1]):
            with pytest.raises(ValueError):
                gg.frobenius_norm(gg.tensor(x), bad)
        with pytest.raises(TypeError):
            gg.frobenius_norm(gg.tensor([1, 2]), [0])
        with pytest.raises(ValueError, match="2-tuple"):
            gg.nuclear_norm(gg.tensor(x), [1])


def test_is_inference_outside_inference_mode():
    x = gg.ones(3)
    assert gg.is_inference(x) is False and x.is_inference() is False and x[1:].is_inference() is False
    with gg.no_grad():
        assert gg.ones(2).is_inference() is False
    with pytest.raises(TypeError):
        gg.is_inference(3)


def test_is_inference_inside_inference_mode():
    outside = gg.ones(4)
    with gg.inference_mode():
        made = gg.ones(2)
        derived = made * 2  # the arithmetic operators' short road
        activated = made.tanh()
        view_of_outside = outside[1:]
    assert made.is_inference() and derived.is_inference() and activated.is_inference()
    assert made[0].is_inference()  # a view of an inference tensor, made outside the mode
    assert not view_of_outside.is_inference() and not outside.is_inference()
    with gg.no_grad():
        assert not gg.ones(2).is_inference()


# --- against PyTorch ---------------------------------------------------------------------------------------
def _pair(torch, x):
    return gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_native_norms_match_pytorch(dtype, rng):
    torch = pytest.importorskip("torch")
    tol = {"float32": 1e-5, "float64": 1e-12, "bfloat16": 1e-2}[dtype]
    x = rng.standard_normal((3, 4, 6))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    results = []
    for lib in (gg, torch):
        d = getattr(lib, dtype)
        t = lib.tensor(x, dtype=d, requires_grad=True)
        wt, bt = lib.tensor(w, dtype=d), lib.tensor(b, dtype=d)
        ln = lib.native_layer_norm(t, [6], wt, bt, 1e-5)
        gn = lib.native_group_norm(t, None, None, 3, 4, 6, 2, 1e-5)
        bn = lib.native_batch_norm(t, lib.tensor(w[:4], dtype=d), None, None, None, True, 0.1, 1e-5)
        outs = list(ln) + list(gn) + list(bn)
        (ln[0].float().pow(2).sum() + gn[0].float().sum() * 0.5 + bn[0].float().pow(3).sum()).backward()
        results.append(([o.detach().float().numpy() for o in outs], t.grad.float().numpy(),
                        [str(o.dtype).split(".")[-1] for o in outs], [tuple(o.shape) for o in outs],
                        [o.requires_grad for o in outs]))
    ours, theirs = results
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    # bfloat16 gradients differ by the order of their many roundings: compared relative to their size
    scale = np.abs(theirs[1]).max() if dtype == "bfloat16" else 1.0
    np.testing.assert_allclose(ours[1], theirs[1], rtol=tol, atol=tol * scale)
    assert ours[2:] == theirs[2:]


@pytest.mark.torch
def test_native_batch_norm_running_statistics_and_eval_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 3, 2))
    state = []
    for lib in (gg, torch):
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        lib.native_batch_norm(lib.tensor(x), None, None, rm, rv, True, 0.3, 1e-5)
        ev = lib.native_batch_norm(lib.tensor(x), None, None, rm, rv, False, 0.3, 1e-5)
        state.append([rm.numpy(), rv.numpy()] + [o.numpy() for o in ev])
    for a, b in zip(*state):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_native_dropout_and_native_norm_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(1.0, 7.0).reshape(2, 3)
    for lib in (gg, torch):
        out, mask = lib.native_dropout(lib.tensor(x), 0.5, False)
        assert out.tolist() == x.tolist() and mask.tolist() == [[True] * 3] * 2
        out, mask = lib.native_dropout(lib.tensor(x), 1.0, True)
        assert not out.any().item() and not mask.any().item()
    idx, vals = [[0, 1, 1, 2], [2, 0, 0, 3]], [1.0, -2.0, 5.0, 0.5]
    for p in (2, 1, 0, 3, 0.5, -1, float("inf"), float("-inf")):
        ours = gg.native_norm(gg.sparse_coo_tensor(gg.tensor(idx), gg.tensor(vals), (3, 4)), p).item()
        theirs = torch.native_norm(torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals), (3, 4),
                                                           check_invariants=True), p).item()
        assert ours == pytest.approx(theirs, rel=1e-6), p


@pytest.mark.torch
def test_convolution_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    cases = [
        ((2, 4, 9), (6, 4, 3), True, ([2], [1], [2], False, [0], 1)),
        ((1, 4, 5, 6), (4, 2, 3, 2), False, ([1, 2], [1, 0], [1], False, [0, 0], 2)),
        ((1, 4, 3, 3), (4, 1, 2, 3), True, ([2, 1], [1, 0], [1, 2], True, [1, 0], 2)),
        ((2, 2, 3), (2, 3, 3), True, ([3], [1], [1], True, [2], 1)),
        ((1, 2, 3, 2, 3), (4, 2, 2, 1, 2), True, ([1], [1], [1], False, [0], 1)),
    ]
    for xs, ws, with_bias, args in cases:
        arrays = [rng.standard_normal(xs), rng.standard_normal(ws)]
        if with_bias:
            transposed, groups = args[3], args[5]
            arrays.append(rng.standard_normal(ws[1] * groups if transposed else ws[0]))
        results = []
        for lib in (gg, torch):
            ts = [lib.tensor(a, requires_grad=True) for a in arrays]
            out = lib.convolution(ts[0], ts[1], ts[2] if with_bias else None, *args)
            out.backward(lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape))))
            results.append([_np(out)] + [_np(t.grad) for t in ts])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_embedding_bag_results_match_pytorch():
    """Random bags, modes, padding, per-sample weights and include_last_offset (with offsets ending at the
    input's end, where the two kernels agree); float32 (PyTorch's fast sum path) and float64; a table that
    requires grad (gradients compared too) or not."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for _ in range(150):
        num, dim, n = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(0, 9))
        w, idx = rng.standard_normal((num, dim)), rng.integers(0, num, n)
        off = np.sort(rng.integers(0, n + 1, int(rng.integers(1, 5))))
        off[0] = 0
        mode, last = int(rng.integers(0, 3)), bool(rng.integers(0, 2))
        if last:
            off = np.append(off, n)
        pad = None if rng.integers(0, 2) else int(rng.integers(-num, num))
        psw = rng.standard_normal(n) if mode == 0 and rng.integers(0, 2) else None
        dtype = ("float32", "float64")[int(rng.integers(0, 2))]
        grad = bool(rng.integers(0, 2))  # PyTorch's kernel without gradients sizes sum mode's bag_size otherwise
        results = []
        for lib in (gg, torch):
            d = getattr(lib, dtype)
            table = lib.tensor(w, dtype=d, requires_grad=grad)
            outs = lib.embedding_bag(table, lib.tensor(idx, dtype=lib.int64), lib.tensor(off, dtype=lib.int64), False,
                                     mode, False, None if psw is None else lib.tensor(psw, dtype=d), last, pad)
            results.append([_np(o) for o in outs])
            if grad:
                outs[0].backward(lib.tensor(np.cos(np.arange(outs[0].numel())).reshape(tuple(outs[0].shape)), dtype=d))
                results[-1].append(_np(table.grad))
        for a, b in zip(*results):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_frobenius_and_nuclear_norms_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for call in (lambda lib, t: lib.frobenius_norm(t, [1, 2]), lambda lib, t: lib.frobenius_norm(t, [], True),
                     lambda lib, t: lib.frobenius_norm(input=t, dim=[-1], keepdim=True),
                     lambda lib, t: lib.nuclear_norm(t), lambda lib, t: lib.nuclear_norm(t[0], True),
                     lambda lib, t: lib.nuclear_norm(t, [2, 0], True), lambda lib, t: lib.nuclear_norm(input=t[1])):
            results = []
            for lib in (gg, torch):
                t = lib.tensor(x, requires_grad=True)
                out = call(lib, t)
                out.sum().backward()
                results.append((_np(out), _np(t.grad)))
            for a, b in zip(*results):
                assert a.shape == b.shape
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_is_inference_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        x = lib.ones(3, requires_grad=True)
        assert [lib.is_inference(x), (x * 2).is_inference(), lib.is_inference(input=x[1:])] == [False] * 3
        with lib.inference_mode():
            made, view_of_outside = lib.ones(2) * 2, x[1:]
        assert [made.is_inference(), made[0].is_inference(), view_of_outside.is_inference()] == [True, True, False]


@pytest.mark.torch
def test_errors_are_pytorchs_kinds():
    torch = pytest.importorskip("torch")
    calls = [
        lambda lib: lib.native_layer_norm(lib.ones(2, 3), [2], None, None, 1e-5),
        lambda lib: lib.native_group_norm(lib.ones(4, 3, 5), None, None, 4, 3, 5, 2, 1e-5),
        lambda lib: lib.native_dropout(lib.ones(3), 1.5, True),
        lambda lib: lib.convolution(lib.ones(2, 4, 7), lib.ones(3, 4, 2), None, [1], [-1], [1], False, [0], 1),
        lambda lib: lib.convolution(lib.ones(2, 4, 7), lib.ones(3, 4, 2), None, 1, [0], [1], False, [0], 1),
        lambda lib: lib.embedding_bag(lib.ones(3, 2), lib.tensor([0, 1]), lib.tensor([1]), False, 1),
        lambda lib: lib.embedding_bag(lib.ones(3, 2), lib.tensor([0, 1]), lib.tensor([0]), False, 1, False,
                                      lib.ones(2)),
        lambda lib: lib.nuclear_norm(lib.ones(2, 3), [1]),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for call in calls:
            kinds = []
            for lib in (gg, torch):
                with pytest.raises(Exception) as info:
                    call(lib)
                kinds.append(info.type)
            ours, theirs = kinds
            assert issubclass(ours, theirs), (ours, theirs)


@pytest.mark.torch
def test_keyword_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    x = np.arange(24.0).reshape(2, 3, 4) / 7
    calls = [
        lambda lib, t: lib.native_layer_norm(input=t, normalized_shape=[4], weight=None, bias=None, eps=1e-5)[0],
        lambda lib, t: lib.native_batch_norm(input=t, weight=None, bias=None, running_mean=None, running_var=None,
                                             training=True, momentum=0.1, eps=1e-5)[0],
        lambda lib, t: lib.native_group_norm(input=t, weight=None, bias=None, N=2, C=3, HxW=4, group=3, eps=1e-5)[0],
        lambda lib, t: lib.native_dropout(input=t, p=0.5, train=False)[0],
        lambda lib, t: lib.convolution(input=t, weight=t[:, :, :2], bias=None, stride=[1], padding=[0], dilation=[1],
                                       transposed=False, output_padding=[0], groups=1),
        lambda lib, t: lib.embedding_bag(weight=t[0], indices=lib.tensor([0, 2, 1]), offsets=lib.tensor([0, 1]),
                                         scale_grad_by_freq=False, mode=1, sparse=False, per_sample_weights=None,
                                         include_last_offset=False, padding_idx=None)[0],
        lambda lib, t: lib.segment_reduce(data=t, reduce="sum", lengths=lib.tensor([1, 1]), axis=0, unsafe=False,
                                          initial=None),
        lambda lib, t: lib.nonzero_static(input=t, size=3, fill_value=-1),
    ]
    for call in calls:
        ours, theirs = call(gg, gg.tensor(x)), call(torch, torch.tensor(x))
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10, atol=1e-12)
