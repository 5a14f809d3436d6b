"""torch's top-level copies of functional ops and methods (gpugrad/top_level.py), the memory formats and
layouts, the default device, gg.jit and gg.testing."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F


def _pair(rng, shape):
    return rng.standard_normal(shape)


# name, arguments builder (lib, arrays) -> args, input shapes
ALIASES = [
    ("conv2d", lambda lib, x, w: (x, w, None, 1, 1), [(2, 3, 5, 5), (4, 3, 3, 3)]),
    ("conv1d", lambda lib, x, w: (x, w), [(2, 3, 7), (4, 3, 3)]),
    ("conv_transpose2d", lambda lib, x, w: (x, w, None, 2, 1, 1), [(1, 3, 4, 4), (3, 2, 3, 3)]),
    ("max_pool2d", lambda lib, x: (x, 2), [(2, 3, 6, 6)]),
    ("max_pool1d", lambda lib, x: (x, 3, 2, 1), [(2, 3, 9)]),
    ("avg_pool1d", lambda lib, x: (x, 2), [(2, 3, 8)]),
    ("adaptive_avg_pool1d", lambda lib, x: (x, 3), [(2, 3, 8)]),
    ("layer_norm", lambda lib, x, w, b: (x, (5,), w, b), [(3, 5), (5,), (5,)]),
    ("group_norm", lambda lib, x: (x, 2), [(2, 4, 3)]),
    ("batch_norm", lambda lib, x, w, b: (x, w, b, None, None, True, 0.1, 1e-5, False), [(4, 3), (3,), (3,)]),
    ("instance_norm", lambda lib, x: (x, None, None, None, None, True, 0.1, 1e-5, False), [(2, 3, 5)]),
    ("cosine_similarity", lambda lib, a, b: (a, b), [(4, 5), (4, 5)]),
    ("pairwise_distance", lambda lib, a, b: (a, b), [(4, 5), (4, 5)]),
    ("pixel_shuffle", lambda lib, x: (x, 2), [(1, 8, 2, 3)]),
    ("pixel_unshuffle", lambda lib, x: (x, 2), [(1, 2, 4, 6)]),
    ("channel_shuffle", lambda lib, x: (x, 2), [(1, 4, 2, 2)]),
    ("constant_pad_nd", lambda lib, x: (x, [1, 2], 0.5), [(2, 3)]),
    ("bilinear", lambda lib, a, b, w: (a, b, w), [(3, 4), (3, 5), (2, 4, 5)]),
    ("rms_norm", lambda lib, x: (x, (4,)), [(3, 4)]),
    ("kl_div", lambda lib, a, b: (a, b.abs()), [(3, 4), (3, 4)]),
    ("kl_div", lambda lib, a, b: (a, b.abs(), 1), [(3, 4), (3, 4)]),
    ("kl_div", lambda lib, a, b: (a, b, 2), [(3, 4), (3, 4)]),
    ("binary_cross_entropy_with_logits", lambda lib, a, b: (a, b.sigmoid(), None, None, 0), [(3, 4), (3, 4)]),
    ("margin_ranking_loss", lambda lib, a, b: (a, b, lib.ones(5)), [(5,), (5,)]),
    ("hinge_embedding_loss", lambda lib, a: (a, -lib.ones(5), 1.0, 2), [(5,)]),
    ("cosine_embedding_loss", lambda lib, a, b: (a, b, lib.ones(3)), [(3, 4), (3, 4)]),
    ("triplet_margin_loss", lambda lib, a, b, c: (a, b, c), [(3, 4), (3, 4), (3, 4)]),
    ("poisson_nll_loss", lambda lib, a, b: (a, b.abs(), True, False, 1e-8, 1), [(3, 4), (3, 4)]),
    ("adaptive_max_pool1d", lambda lib, x: (x, 3), [(2, 3, 9)]),
    ("max_pool1d_with_indices", lambda lib, x: (x, 2), [(2, 3, 8)]),
]


def _run(lib, name, build, arrays):
    tensors = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    out = getattr(lib, name)(*build(lib, *tensors))
    values = out if isinstance(out, tuple) else (out,)
    values[0].sum().backward()
    return [np.asarray(v.detach().numpy()) for v in values], [t.grad.numpy() for t in tensors if t.grad is not None]


@pytest.mark.torch
@pytest.mark.parametrize("name,build,shapes", ALIASES, ids=[a[0] for a in ALIASES])
def test_aliases_match_torch(name, build, shapes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours, our_grads = _run(gg, name, build, arrays)
    theirs, their_grads = _run(torch, name, build, arrays)
    for a, b in zip(ours + our_grads, theirs + their_grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert len(our_grads) == len(their_grads)


def test_aten_argument_orders():
    x = gg.randn(4, 3)
    w, b = gg.randn(3), gg.randn(3)
    np.testing.assert_allclose(gg.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False).numpy(),
                               F.batch_norm(x, None, None, w, b, True).numpy())
    table = gg.randn(5, 2)
    ids = gg.tensor([0, 4, 4])
    np.testing.assert_array_equal(gg.embedding(table, ids).numpy(), table.numpy()[[0, 4, 4]])
    np.testing.assert_array_equal(gg.dropout(x, 0.5, False).numpy(), x.numpy())
    a, t = gg.randn(3, 4).log_softmax(-1), gg.rand(3, 4)
    with pytest.warns(UserWarning, match="batchmean"):
        expected = F.kl_div(a, t, reduction="mean").item()
    assert gg.kl_div(a, t, 1).item() == pytest.approx(expected)
    assert gg.kl_div(a, t).shape == (3, 4)  # torch.kl_div's default is no reduction
    with pytest.raises(gg.ArgumentError, match="kl_div: reduction"):
        gg.kl_div(a, t, 3)
    y = gg.ones(2, 4, 3)
    dropped = gg.feature_dropout(y, 0.5, True).numpy()
    assert set(np.unique(dropped)) <= {0.0, 2.0} and (dropped == dropped[:, :, :1]).all()  # whole channels


def test_in_place_method_functions():
    x = gg.tensor([-1.5, 2.0])
    assert gg.abs_(x) is x and x.tolist() == [1.5, 2.0]
    gg.zero_(x)
    assert x.tolist() == [0.0, 0.0]
    assert gg.is_signed(x) and not gg.is_signed(gg.tensor([1], dtype=gg.uint8))
    assert gg.resize_as_(x, gg.zeros(1, 2)) is x and x.shape == (1, 2)


def test_small_helpers():
    with pytest.warns(UserWarning, match="deprecated"):
        r = gg.range(0, 1, 0.25)
    assert r.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and r.dtype is gg.float32
    s = gg.scalar_tensor(3)
    assert s.shape == () and s.dtype is gg.float32
    base = np.arange(3.0)
    shared = gg.asarray(base)
    base[0] = 7.0
    assert shared[0].item() == 7.0  # shares the NumPy array's memory
    t = gg.ones(2)
    assert gg.asarray(t) is t and gg.asarray(t, copy=True) is not t
    with pytest.raises(gg.ArgumentError, match="copy=False"):
        gg.asarray(t, dtype=gg.float64, copy=False)
    assert gg.asarray([1, 2]).dtype is gg.int64
    assert not gg.can_cast(gg.float32, gg.int32) and gg.can_cast(gg.int32, gg.float32)
    assert not gg.can_cast(gg.int64, gg.bool) and gg.can_cast(gg.bool, gg.uint8)
    assert gg.can_cast(gg.float32, gg.bfloat16) and not gg.can_cast(gg.bfloat16, gg.int8)
    assert gg.can_cast(gg.float64, gg.complex64) and not gg.can_cast(gg.complex64, gg.float64)
    assert gg.typename(gg.ones(2)).endswith("FloatTensor") and gg.typename(3) == "int"
    assert gg.empty_strided((2, 3), (1, 2)).shape == (2, 3)
    seed = gg.seed()
    assert gg.initial_seed() == seed
    with pytest.warns(UserWarning, match="deprecated"):
        assert gg.chain_matmul(gg.eye(2), gg.ones(2, 3)).shape == (2, 3)
    try:
        gg.set_default_tensor_type("torch.DoubleTensor")
        assert gg.get_default_dtype() is gg.float64
    finally:
        gg.set_default_dtype(gg.float32)


@pytest.mark.torch
def test_small_helpers_match_torch():
    torch = pytest.importorskip("torch")
    for a in (torch, gg):
        a.pi, a.e, a.inf, a.nan  # noqa: B018  (the names exist)
    assert gg.pi == torch.pi and gg.e == torch.e and gg.inf == torch.inf
    pairs = [(gg.float32, torch.float32), (gg.int64, torch.int64), (gg.bool, torch.bool), (gg.uint8, torch.uint8),
             (gg.float64, torch.float64), (gg.bfloat16, torch.bfloat16), (gg.float16, torch.float16),
             (gg.complex64, torch.complex64)]
    for g_from, t_from in pairs:
        for g_to, t_to in pairs:
            assert gg.can_cast(g_from, g_to) == torch.can_cast(t_from, t_to), (t_from, t_to)
    with pytest.warns(UserWarning):
        np.testing.assert_allclose(gg.range(1, 2.5, 0.5).numpy(), torch.range(1, 2.5, 0.5).numpy())


def test_memory_formats_and_layouts():
    x = gg.randn(2, 3, 4, 5)
    assert x.layout is gg.strided and repr(gg.channels_last) == "torch.channels_last"
    assert x.to(memory_format=gg.channels_last).shape == x.shape
    assert x.contiguous(memory_format=gg.channels_last) is x  # row-major memory is kept
    assert not x.is_contiguous(memory_format=gg.channels_last)
    nhwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    assert nhwc.is_contiguous(memory_format=gg.channels_last) and not nhwc.is_contiguous()
    assert gg.zeros_like(x, memory_format=gg.preserve_format).shape == x.shape
    assert x.clone(memory_format=gg.contiguous_format).shape == x.shape
    assert x.to(copy=True) is not x and x.to() is x
    assert pickle.loads(pickle.dumps(gg.channels_last)) is gg.channels_last
    with pytest.raises(TypeError, match="memory_format"):
        x.contiguous(memory_format="channels_last")
    with pytest.raises(NotImplementedError, match="sparse_coo"):
        gg.zeros_like(x, layout=gg.sparse_coo)
    m = gg.nn.Conv2d(3, 4, 3).to(memory_format=gg.channels_last)
    assert m(x).shape == (2, 4, 2, 3)


@pytest.mark.torch
def test_channels_last_question_matches_torch():
    torch = pytest.importorskip("torch")
    for shape, perm in [((2, 3, 4, 5), (0, 2, 3, 1)), ((1, 3, 1, 1), (0, 2, 3, 1)), ((2, 1, 4, 5), (0, 2, 3, 1))]:
        ours = gg.zeros(*[shape[p] for p in perm]).permute(0, 3, 1, 2)
        theirs = torch.zeros(*[shape[p] for p in perm]).permute(0, 3, 1, 2)
        assert ours.is_contiguous(memory_format=gg.channels_last) == theirs.is_contiguous(
            memory_format=torch.channels_last)


def test_default_device():
    try:
        gg.set_default_device("cpu")
        assert gg.get_default_device() == gg.device("cpu") and gg.zeros(2).device == gg.device("cpu")
        with pytest.raises(gg.DeviceError):
            gg.set_default_device("cuda:7")
    finally:
        gg.set_default_device(None)
    assert gg.get_default_device() == gg.device("cpu")


def test_jit_runs_eager_code():
    @gg.jit.script
    def double(x):
        return x * 2

    @gg.jit.ignore(drop=True)
    def plain(x):
        return x

    layer = gg.nn.Linear(2, 2)
    scripted = gg.jit.script(layer)
    assert isinstance(scripted, gg.jit.ScriptModule) and scripted.weight is layer.weight
    assert isinstance(gg.jit.trace(layer, gg.ones(1, 2)), gg.jit.RecursiveScriptModule)
    assert double(gg.ones(2)).tolist() == [2.0, 2.0] and plain(3) == 3
    assert not gg.jit.is_scripting() and not gg.jit.is_tracing()
    with pytest.raises(NotImplementedError, match="state_dict"):
        gg.jit.save(layer, "m.pt")


def test_assert_close():
    from gpugrad.testing import assert_close

    assert_close(gg.ones(3), gg.ones(3) + 1e-6)
    assert_close({"a": [gg.ones(2), 1.0]}, {"a": [gg.ones(2), 1.0]})
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 3 \(33.3%\)"):
        assert_close(gg.tensor([1.0, 2.0, 3.0]), gg.tensor([1.0, 2.1, 3.0]))
    with pytest.raises(AssertionError, match="'dtype' do not match"):
        assert_close(gg.ones(2), gg.ones(2, dtype=gg.float64))
    assert_close(gg.ones(2), gg.ones(2, dtype=gg.float64), check_dtype=False)
    with pytest.raises(AssertionError, match="'shape' do not match"):
        assert_close(gg.ones(2), gg.ones(3))
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(gg.tensor([1, 2]), gg.tensor([1, 3]))
    with pytest.raises(AssertionError, match="not close"):
        assert_close(gg.tensor([float("nan")]), gg.tensor([float("nan")]))
    assert_close(gg.tensor([float("nan")]), gg.tensor([float("nan")]), equal_nan=True)
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(gg.ones(1), gg.zeros(1), msg="custom")
    with pytest.raises(AssertionError, match="Scalars are not close"):
        assert_close(1.0, 1.1)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(gg.ones(1), 1.0)
    with pytest.raises(ValueError, match="'rtol' and 'atol'"):
        assert_close(1.0, 1.0, rtol=1e-3)
    assert_close(1.0, 1.05, rtol=0.1, atol=0.0)


def test_make_tensor():
    from gpugrad.testing import make_tensor

    x = make_tensor(3, 4, dtype=gg.float64, low=-1, high=1)
    assert x.shape == (3, 4) and x.dtype is gg.float64 and (x.abs() <= 1).all()
    ids = make_tensor((50,), dtype=gg.int64, low=0, high=3, exclude_zero=True)
    assert set(ids.tolist()) <= {1, 2}
    assert not make_tensor(2, 3, dtype=gg.float32, noncontiguous=True).is_contiguous()
    assert make_tensor(2, dtype=gg.float32, requires_grad=True).requires_grad


def test_factories_take_pytorchs_tensor_options():
    assert gg.empty(3, dtype=gg.int64, pin_memory=False).shape == (3,)
    assert gg.zeros(2, layout=gg.strided, pin_memory=False).tolist() == [0.0, 0.0]
    assert gg.tensor([1.5], pin_memory=False).tolist() == [1.5]
    dst = gg.empty(3, dtype=gg.int64)
    assert dst.copy_(gg.arange(3), non_blocking=True).tolist() == [0, 1, 2]
    if not gg.cuda.is_available():
        with pytest.raises(RuntimeError, match="randn: pinned memory needs a CUDA device"):
            gg.randn(2, pin_memory=True)
        with pytest.raises(RuntimeError, match="pin_memory: pinned memory needs a CUDA device"):
            gg.ones(2).pin_memory()


def test_histogram_counts_weights_and_densities():
    x = gg.tensor([1.0, 2.0, 1.0, 4.0])
    hist, edges = gg.histogram(x, bins=4, range=(0.0, 4.0))
    assert hist.tolist() == [0.0, 2.0, 1.0, 1.0] and edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    dens = gg.histogram(x, bins=gg.tensor([0.0, 1.0, 2.0, 5.0]), weight=gg.tensor([1.0, 2.0, 3.0, 4.0]), density=True)
    np.testing.assert_allclose(dens.hist.numpy(), [0.0, 0.4, 0.2], rtol=1e-6)
    assert gg.histogram(gg.ones(3), 2).bin_edges.tolist() == [0.5, 1.0, 1.5]  # one value: widened by 0.5
    assert x.histogram(3).hist.dtype is gg.float32
    with pytest.raises(gg.DTypeError, match="histogram: expects a floating point tensor"):
        gg.histogram(gg.tensor([1, 2]), 3)
    with pytest.raises(gg.ArgumentError, match="min should not exceed max"):
        gg.histogram(x, 2, range=(6.0, 5.0))


def test_small_top_level_helpers():
    assert gg.fill(gg.ones(2, 3), 7.0).tolist() == [[7.0] * 3] * 2
    v = gg.tensor(2.0, requires_grad=True)
    gg.fill(gg.ones(3), v).sum().backward()
    assert v.grad.item() == 3.0
    buf = bytearray(np.arange(3, dtype=np.float32).tobytes())
    shared = gg.frombuffer(buf, dtype=gg.float32, count=2, offset=4)
    assert shared.tolist() == [1.0, 2.0]
    buf[4:8] = np.float32(9).tobytes()
    assert shared.tolist() == [9.0, 2.0]  # the buffer's memory, as numpy.frombuffer
    x = gg.arange(6.0).reshape(2, 3)
    y = gg.permute_copy(x, (1, 0))
    assert y.tolist() == x.t().tolist() and not np.shares_memory(y.numpy(), x.numpy())
    assert [p.tolist() for p in gg.split_copy(x, 1)] == [[[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]]]
    assert gg.slice_copy(x, 1, 1, 3).tolist() == [[1.0, 2.0], [4.0, 5.0]]
    gg.set_num_interop_threads(2)
    assert gg.get_num_interop_threads() == 2
    with pytest.raises(RuntimeError):
        gg.set_num_interop_threads(0)
    gg.set_warn_always(True)
    assert gg.is_warn_always_enabled()
    gg.set_warn_always(False)
    assert gg.default_generator is gg.random.default_generator
    assert gg.cpu.is_available() and gg.cpu.device_count() == 1 and gg.version.hip is None
    with pytest.warns(FutureWarning, match="deprecated"), gg.cpu.amp.autocast():  # as PyTorch's
        assert gg.is_autocast_cpu_enabled() and (gg.ones(2, 2) @ gg.ones(2, 2)).dtype is gg.bfloat16
    assert not gg.is_autocast_cpu_enabled()


@pytest.mark.torch
def test_helpers_match_pytorch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    for kwargs in ({"bins": 5}, {"bins": 4, "range": (-1.0, 1.0)}, {"bins": 3, "density": True}):
        ours, theirs = gg.histogram(gg.tensor(data), **kwargs), torch.histogram(torch.tensor(data), **kwargs)
        np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-5)
        np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy(), rtol=1e-6)
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    for name, args in (("permute_copy", ((2, 0, 1),)), ("transpose_copy", (0, 2)), ("expand_copy", ((3, 2, 3, 4),)),
                       ("select_copy", (1, 2)), ("slice_copy", (2, 1, 3)), ("diagonal_copy", ()),
                       ("unfold_copy", (2, 2, 1)), ("view_copy", ((6, 4),)), ("as_strided_copy", ((2, 2), (1, 2)))):
        np.testing.assert_array_equal(getattr(gg, name)(gg.tensor(x), *args).numpy(),
                                      getattr(torch, name)(torch.tensor(x), *args).numpy(), err_msg=name)
    assert gg.fill(gg.ones(2), 3.0).tolist() == torch.fill(torch.ones(2), 3.0).tolist()
    raw = bytearray(np.arange(4, dtype=np.float32).tobytes())
    assert gg.frombuffer(raw, dtype=gg.float32, offset=4).tolist() == torch.frombuffer(raw, dtype=torch.float32, offset=4).tolist()
    assert gg.get_num_interop_threads() >= 1 and isinstance(torch.get_num_interop_threads(), int)
    assert torch.cpu.is_available() == gg.cpu.is_available() and torch.cpu.device_count() == gg.cpu.device_count()


def test_an_integer_device_is_a_cuda_index_as_in_pytorch():
    # ddp-tutorial-series: ``model.to(gpu_id)`` with gpu_id = 0.
    assert gg.device(0) == gg.device("cuda:0") and str(gg.device(2)) == "cuda:2"
    with pytest.raises(gg.DeviceError, match="must not be negative"):
        gg.device(-1)
    with pytest.raises(gg.DeviceError, match="or a CUDA index, got True"):
        gg.device(True)
    if not gg.cuda.is_available():
        with pytest.raises(gg.DeviceError, match="cannot use device 'cuda:0'"):
            gg.nn.Linear(2, 2).to(0)
        with pytest.raises(gg.DeviceError, match="cannot use device 'cuda:0'"):
            gg.zeros(2, device=0)


def test_sym_helpers_are_the_plain_operations():
    assert gg.sym_int(-3.7) == -3 and gg.sym_float(3) == 3.0 and gg.sym_sqrt(9) == 3.0
    assert gg.sym_max(2, 3.5) == 3.5 and gg.sym_min(2, 3) == 2 and gg.sym_sum([1, 2, 3]) == 6
    assert gg.sym_not(0) is True and gg.sym_ite(False, "t", "f") == "f"
    assert gg.get_device(gg.ones(1)) == -1 and gg.adjoint(gg.ones(2, 3)).shape == (3, 2)
    assert gg.GradScaler is gg.amp.GradScaler


@pytest.mark.torch
def test_sym_helpers_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, args in (("sym_int", (-3.7,)), ("sym_int", (gg.tensor(3.5),)), ("sym_float", (3,)), ("sym_max", (2, 3.5)),
                       ("sym_min", (2, 3)), ("sym_not", (1,)), ("sym_ite", (True, 1, 2)), ("sym_sqrt", (4,)),
                       ("sym_sum", ([1, 2, 3],))):
        theirs = tuple(torch.tensor(a.item()) if isinstance(a, gg.Tensor) else a for a in args)
        ours, expected = getattr(gg, name)(*args), getattr(torch, name)(*theirs)
        assert ours == expected and type(ours) is type(expected), name


def test_checks_containment_and_numbers_as_pytorch():
    gg._check_tensor_all_with(ValueError, gg.tensor([True, True]), lambda: "bad")
    with pytest.raises(ValueError, match="bad"):
        gg._check_tensor_all_with(ValueError, gg.tensor([True, False]), lambda: "bad")
    with pytest.raises(IndexError, match="Expected cond"):
        gg._check_index(False)
    with pytest.raises(TypeError, match="cond must be a bool"):
        gg._check(gg.tensor(True))
    assert 5 in gg.tensor([[1, 5]]) and 7 not in gg.tensor([1, 2]) and gg.tensor(2) in gg.tensor([1, 2])
    # two Python numbers: the first becomes a 0-d tensor, as PyTorch wraps it
    assert gg.div(8, 4, rounding_mode="trunc").tolist() == 2 and gg.div(7, 2).item() == 3.5
    assert gg.add(2, 3).dtype == gg.int64 and gg.mul(2, 3.5).dtype == gg.float32
    cudnn = gg.backends.cudnn
    before = (cudnn.enabled, cudnn.benchmark)
    with cudnn.flags(enabled=False, benchmark=not before[1]):
        assert cudnn.enabled is False and cudnn.benchmark is (not before[1])
    assert (cudnn.enabled, cudnn.benchmark) == before
