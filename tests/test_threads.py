"""gpugrad.threads: set_num_threads / get_num_threads as PyTorch's, and results independent of the count."""
from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.threads import get_num_threads, set_num_threads

POOL = int(numba.config.NUMBA_NUM_THREADS)


@pytest.fixture
def restore_threads():
    before = get_num_threads()
    yield
    set_num_threads(before)


def test_set_and_get(restore_threads):
    set_num_threads(1)
    assert get_num_threads() == 1
    set_num_threads(POOL + 5)  # capped at the pool Numba started
    assert get_num_threads() == POOL


@pytest.mark.parametrize("bad,message", [(0, "positive integer"), (-2, "positive integer"), (2.0, "expects an int"),
                                         (True, "expects an int")])
def test_bad_counts_raise_as_torch(bad, message):
    with pytest.raises(RuntimeError, match=message):
        set_num_threads(bad)


def test_omp_num_threads_is_honoured_at_import():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["OMP_NUM_THREADS"] = "1"
    code = "import gpugrad.threads as t; print(t.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def _train(steps: int, optimizer: str = "adam") -> list[np.ndarray]:
    """A few steps of a small MLP (embedding, linear layers, batch norm, group norm) from a fixed start."""
    gg.manual_seed(0)
    emb = nn.Embedding(50, 16)
    model = nn.Sequential(nn.Linear(16 * 4, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 48), nn.GroupNorm(4, 48),
                          nn.GELU(), nn.Linear(48, 10))
    params = list(emb.parameters()) + list(model.parameters())
    opt = optim.Adam(params, lr=1e-2) if optimizer == "adam" else optim.SGD(params, lr=1e-2, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        ids = gg.tensor(rng.integers(0, 50, (96, 4)))
        target = gg.tensor(rng.integers(0, 10, 96))
        opt.zero_grad()
        logits = model(emb(ids).reshape(96, -1))
        nn.functional.cross_entropy(logits, target).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params] + [b.numpy().copy() for b in model.buffers()]


def _one_and_two_threads(monkeypatch, optimizer: str) -> None:
    from gpugrad.kernels import embedding

    # Every kernel's parallel build, even at this size (the threshold lives where the dispatch class is).
    monkeypatch.setattr(sys.modules[type(embedding._scatter_cpu).__module__], "PARALLEL_MIN_WORK", 0)
    set_num_threads(1)
    one = _train(3, optimizer)
    set_num_threads(2)
    two = _train(3, optimizer)
    assert embedding._scatter_cpu.parallel.signatures  # the parallel builds ran
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
    assert not np.array_equal(one[0], _train(4, optimizer)[0])  # the check can see a difference


@pytest.mark.skipif(POOL < 2, reason="needs a pool of at least 2 threads")
def test_sgd_training_steps_give_the_same_bits_on_one_and_two_threads(restore_threads, monkeypatch):
    _one_and_two_threads(monkeypatch, "sgd")


@pytest.mark.skipif(POOL < 2, reason="needs a pool of at least 2 threads")
def test_adam_training_steps_give_the_same_bits_on_one_and_two_threads(restore_threads, monkeypatch):
    _one_and_two_threads(monkeypatch, "adam")


def _blas_threads_after(a: np.ndarray, b: np.ndarray) -> int:
    """The BLAS's thread count right after gpugrad multiplies a and b (as threadpoolctl reads it)."""
    from threadpoolctl import ThreadpoolController

    (gg.tensor(a) @ gg.tensor(b)).numpy()
    return ThreadpoolController().select(user_api="blas").lib_controllers[0].num_threads


@pytest.fixture
def blas_with_threads(restore_threads):
    """The BLAS gpugrad controls, with 2 threads for large GEMMs (skips where there is none to control)."""
    from gpugrad import threads

    a = np.ones((2, 2), np.float32)
    gg.tensor(a) @ gg.tensor(a)  # looks the BLAS up
    if threads._blas() is None:
        pytest.skip("no BLAS that threadpoolctl can control")
    set_num_threads(2)
    if threads._blas().threads < 2:
        pytest.skip("needs 2 threads")
    return threads


def test_small_gemms_run_on_one_blas_thread_and_large_ones_on_all(blas_with_threads):
    n_small = 64  # 64^3 multiply-adds: well under SMALL_GEMM_MACS
    n_large = 1 + round(blas_with_threads.SMALL_GEMM_MACS ** (1 / 3))
    small = np.ones((n_small, n_small), np.float32)
    large = np.ones((n_large, n_large), np.float32)
    assert _blas_threads_after(large, large) == 2
    assert _blas_threads_after(small, small) == 1
    assert _blas_threads_after(large, large) == 2
    assert _blas_threads_after(np.ones((3, n_small, n_small), np.float32), small) == 1  # per matrix of a batch


def test_set_num_threads_sets_the_blas_threads_of_large_gemms(blas_with_threads):
    large = np.ones((300, 300), np.float32)
    set_num_threads(1)
    assert _blas_threads_after(large, large) == 1
    set_num_threads(2)
    assert _blas_threads_after(large, large) == 2


@pytest.mark.parametrize("shape, copied", [((300, 40), True), ((6, 50, 25), True), ((120, 60), True),
                                            ((100, 60), False), ((40, 300), False)])
def test_a_matrix_times_its_own_transpose_is_a_gemm_where_the_inner_dim_is_the_smaller(shape, copied):
    # NumPy's syrk road for a @ a.T lost 2-3x to the GEMM at these shapes (bench/NOTES.md, forty-third session)
    from gpugrad.backend import _not_its_own_transpose, cpu

    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    at = a.swapaxes(-1, -2)
    b = _not_its_own_transpose(a, at)
    assert (b is not at) == copied
    if copied:
        assert not np.shares_memory(b, a) and b.strides == at.strides and np.array_equal(b, at)
    other = a.copy().swapaxes(-1, -2)
    assert _not_its_own_transpose(a, other) is other  # another array's transpose: as it is
    got = cpu.matmul(a, at)
    assert np.array_equal(got, np.matmul(a, a.copy().swapaxes(-1, -2)) if copied else np.matmul(a, at))
    assert np.array_equal(got, got.swapaxes(-1, -2))  # symmetric, as syrk's


@pytest.mark.torch
@pytest.mark.parametrize("bad", [0, -2, 2.0, True])
def test_bad_counts_raise_what_pytorch_raises(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.set_num_threads(bad)
    with pytest.raises(Exception) as ours:
        set_num_threads(bad)
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value))


@pytest.mark.torch
def test_set_then_get_as_pytorch(restore_threads):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        set_num_threads(1)
        assert get_num_threads() == torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# NumPy's calls split over the threads (threads.split, Backend.ufunc / Backend.sum) -----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gpugrad import threads  # noqa: E402


@pytest.fixture
def split_everything(monkeypatch, restore_threads):
    """Every call large enough to split, on two threads (the pool's workers exist even on one core)."""
    monkeypatch.setattr(threads, "PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(threads, "_split_threads", 2)


def _ran_split(monkeypatch) -> list:
    calls = []
    real = threads.split

    def counting(fn, n, elements, minimum=None):
        done = real(fn, n, elements, minimum)
        calls.append(done)
        return done

    monkeypatch.setattr(threads, "split", counting)
    return calls


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(2, 40), cols=st.integers(1, 33), dtype=st.sampled_from([np.float32, np.float64]),
       broadcast=st.sampled_from(["same", "row", "column", "scalar"]))
def test_split_ufuncs_give_the_bits_of_one_call(rows, cols, dtype, broadcast):
    rng = np.random.default_rng(rows * 100 + cols)
    a = rng.standard_normal((rows, cols)).astype(dtype)
    b = {"same": rng.standard_normal((rows, cols)), "row": rng.standard_normal(cols),
         "column": rng.standard_normal((rows, 1)), "scalar": 1.7}[broadcast]
    b = b if broadcast == "scalar" else b.astype(dtype)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threads, "PARALLEL_MIN_ELEMENTS", 1)
        mp.setattr(threads, "_split_threads", 2)
        for fn in (np.add, np.multiply, np.true_divide, np.subtract):
            out = threads.ufunc(fn, (a, b))
            assert out is not None and out.dtype == dtype
            assert np.array_equal(out, fn(a, b), equal_nan=True)
        for fn in (np.exp, np.negative):
            assert np.array_equal(threads.ufunc(fn, (a,)), fn(a))
        total = threads.sum_rows(a, (1,), False, None)
        assert total is not None and np.array_equal(total, a.sum(axis=1))
        assert np.array_equal(threads.sum_rows(a, (1,), True, None), a.sum(axis=1, keepdims=True))


def test_ops_split_large_calls_and_keep_their_values(split_everything, monkeypatch):
    calls = _ran_split(monkeypatch)
    rng = np.random.default_rng(0)
    x = gg.tensor(rng.standard_normal((64, 48)).astype(np.float32), requires_grad=True)
    w = gg.tensor(rng.uniform(1, 2, (64, 48)).astype(np.float32), requires_grad=True)
    b = gg.tensor(rng.standard_normal(48).astype(np.float32), requires_grad=True)
    y = ((x * w + b) / w).exp().sum(dim=1)
    y.backward(gg.ones(64))
    assert calls and all(calls)  # the ops above went through the split path
    got = [y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]
    threads_before = threads._split_threads
    monkeypatch.setattr(threads, "_split_threads", 1)
    x.grad = w.grad = b.grad = None
    y1 = ((x * w + b) / w).exp().sum(dim=1)
    y1.backward(gg.ones(64))
    want = [y1.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]
    assert threads_before == 2
    for g_, w_ in zip(got, want):
        assert np.array_equal(g_, w_)


def test_large_arithmetic_and_grad_copies_split_with_the_bits_and_layout_of_one_call(split_everything, monkeypatch):
    """float16 arrays: float32 and float64 ones take Numba's threads instead (kernels.broadcast's flat loop,
    kernels.rows_copy), tested in tests/kernels."""
    import operator

    from gpugrad.backend import cpu

    calls = _ran_split(monkeypatch)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((301, 257)).astype(np.float16)
    b = rng.uniform(1, 2, (301, 257)).astype(np.float16)
    for fn in (operator.add, operator.sub, operator.mul, operator.truediv):
        before = len(calls)
        out = cpu.arithmetic(fn, a, b)
        assert len(calls) > before and all(calls)
        assert np.array_equal(out, fn(a, b)) and out.flags.c_contiguous
        # Transposed operands keep NumPy's own call, and with it the layout NumPy gives (Fortran order).
        before = len(calls)
        out_t = cpu.arithmetic(fn, a.T, b.T)
        assert len(calls) == before and out_t.flags.f_contiguous and np.array_equal(out_t, fn(a.T, b.T))
    copied = cpu.copy(a)
    assert np.array_equal(copied, a) and not np.shares_memory(copied, a)
    # A gradient the pass does not own (add hands the caller's to both leaves) lands as a split copy.
    x = gg.tensor(a, requires_grad=True)
    w = gg.tensor(b, requires_grad=True)
    up = gg.tensor(rng.standard_normal((301, 257)).astype(np.float16))
    before = len(calls)
    (x + w).backward(up)
    assert len(calls) >= before + 2  # the two copies (the add computes in float32)
    for leaf in (x, w):
        assert np.array_equal(leaf.grad.numpy(), up.numpy()) and not np.shares_memory(leaf.grad.numpy(), up.numpy())


@pytest.mark.parametrize("make", [
    lambda a: np.broadcast_to(a[:, :1], a.shape),  # a reduction's expanded gradient
    lambda a: a.T,
    lambda a: a[::2, 1::3],
    lambda a: np.broadcast_to(a[0], (5,) + a.shape[1:]),
])
def test_strided_copies_split_by_rows_into_a_c_contiguous_copy(split_everything, monkeypatch, make):
    from gpugrad.backend import cpu

    calls = _ran_split(monkeypatch)
    view = make(np.random.default_rng(2).standard_normal((37, 23)).astype(np.float32))
    copied = cpu.copy(view)
    assert calls == [True]
    assert np.array_equal(copied, view) and copied.flags.c_contiguous and not np.shares_memory(copied, view)
    monkeypatch.setattr(threads, "_split_threads", 1)  # one call: the same values and layout
    alone = cpu.copy(view)
    assert np.array_equal(alone, copied) and alone.flags.c_contiguous and calls == [True]


def test_a_sum_over_rows_hands_its_leaf_a_split_copy_of_the_expanded_gradient(split_everything, monkeypatch):
    calls = _ran_split(monkeypatch)
    x = gg.tensor(np.ones((40, 30), np.float32), requires_grad=True)
    up = gg.tensor(np.arange(40, dtype=np.float32))
    x.sum(dim=1).backward(up)
    assert calls and calls[-1]
    assert np.array_equal(x.grad.numpy(), np.repeat(np.arange(40, dtype=np.float32)[:, None], 30, axis=1))
    assert x.grad.numpy().flags.c_contiguous and not np.shares_memory(x.grad.numpy(), up.numpy())


def test_split_calls_keep_numpys_error_state_and_raise_what_a_chunk_raises(split_everything):
    a = np.zeros((8, 4), np.float32)
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            threads.ufunc(np.true_divide, (np.ones((8, 4), np.float32), a))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = threads.ufunc(np.true_divide, (np.ones((8, 4), np.float32), a))
    assert np.isinf(out).all()

    def fails(lo, hi):
        if lo > 0:
            raise ValueError("chunk")

    with pytest.raises(ValueError, match="chunk"):
        threads.split(fails, 8, 10**9)


def test_one_thread_and_small_calls_do_not_split(monkeypatch, restore_threads):
    a = np.ones((4, 4), np.float32)
    assert threads.ufunc(np.add, (a, a)) is None  # small
    monkeypatch.setattr(threads, "PARALLEL_MIN_ELEMENTS", 1)
    set_num_threads(1)
    assert threads.ufunc(np.add, (a, a)) is None
    set_num_threads(2)
    assert threads._split_threads == min(2, POOL)
    # Integer operands, NumPy scalars and mixed dtypes keep NumPy's own call (its promotion rules).
    monkeypatch.setattr(threads, "_split_threads", 2)
    assert threads.ufunc(np.add, (a.astype(np.int32), a.astype(np.int32))) is None
    assert threads.ufunc(np.add, (a, np.float64(2.0))) is None
    assert threads.ufunc(np.add, (a, a.astype(np.float64))) is None


def _stacked(rng, shape, dtype, transposed=False):
    x = rng.standard_normal(shape[:-2] + shape[:-3:-1] if transposed else shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape)
    x = x.astype(dtype)
    return np.swapaxes(x, -1, -2) if transposed else x


@pytest.mark.parametrize("a_shape,b_shape,transposed", [
    ((5, 7, 3), (5, 3, 4), False),
    ((2, 3, 7, 5), (2, 3, 5, 6), True),   # shared out along axis 0, transposed views as the backward's
    ((1, 4, 6, 5), (1, 4, 5, 3), False),  # along axis 1: axis 0 has one matrix
    ((6, 5, 4), (4, 3), False),           # a matrix against a stack
    ((5, 4), (3, 4, 2), True),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
def test_stacked_products_split_over_their_matrices_with_the_bits_of_one_call(
        split_everything, monkeypatch, a_shape, b_shape, transposed, dtype):
    monkeypatch.setattr(threads, "BATCH_SPLIT_MIN_MACS", 1)
    calls = _ran_split(monkeypatch)
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    a, b = _stacked(rng, a_shape, dtype, transposed), _stacked(rng, b_shape, dtype)
    macs = a.shape[-2] * a.shape[-1] * b.shape[-1]
    out = threads.batched_matmul(a, b, macs)
    assert calls == [True] and out is not None and out.dtype == dtype and out.flags.c_contiguous
    assert np.array_equal(out, np.matmul(a, b))


def test_stacked_products_that_one_call_should_make_are_left_to_it(split_everything, monkeypatch):
    monkeypatch.setattr(threads, "BATCH_SPLIT_MIN_MACS", 1)
    a, b = np.ones((4, 3, 5), np.float32), np.ones((4, 5, 2), np.float32)
    assert threads.batched_matmul(a, b, 30) is not None
    assert threads.batched_matmul(a, b, threads.SMALL_GEMM_MACS) is None  # takes the BLAS's own threads
    assert threads.batched_matmul(a, b.astype(np.float64), 30) is None  # NumPy's promotion
    assert threads.batched_matmul(a.astype(np.int64), b.astype(np.int64), 30) is None
    assert threads.batched_matmul(a, np.ones((1, 5, 2), np.float32), 30) is None  # batch dims that broadcast
    assert threads.batched_matmul(a, np.ones((4, 3, 2), np.float32), 30) is None  # NumPy raises the mismatch
    assert threads.batched_matmul(np.ones((1, 1, 3, 5), np.float32), np.ones((1, 1, 5, 2), np.float32), 30) is None
    monkeypatch.setattr(threads, "BATCH_SPLIT_MIN_MACS", 4 * 30 + 1)
    assert threads.batched_matmul(a, b, 30) is None  # too little work


def test_bmm_forward_and_backward_split_with_the_bits_of_one_thread(split_everything, monkeypatch):
    monkeypatch.setattr(threads, "BATCH_SPLIT_MIN_MACS", 1)
    calls = _ran_split(monkeypatch)
    rng = np.random.default_rng(3)
    a, b, up = (rng.standard_normal(s).astype(np.float32) for s in ((6, 40, 30), (6, 30, 50), (6, 40, 50)))

    def run():
        x, y = gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)
        z = gg.bmm(x, y)
        z.backward(gg.tensor(up))
        return [z.detach().numpy(), x.grad.numpy(), y.grad.numpy()]

    got = run()
    assert len(calls) == 3 and all(calls)  # the forward's product and both gradients'
    monkeypatch.setattr(threads, "_split_threads", 1)
    for g_, w_ in zip(got, run()):
        assert np.array_equal(g_, w_)


_SPIN_PROBE = """
import os, sys, time
if sys.argv[1] == "numpy-first":
    import numpy
import gpugrad, numpy
from threadpoolctl import threadpool_info
blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
if not blas or blas[0]["internal_api"] != "openblas" or blas[0]["num_threads"] < 2:
    print("skip"); sys.exit()
def running_threads():
    states = []
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != os.getpid():
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
            states.append(stat[stat.rindex(")") + 2])
    return states.count("R")
a = numpy.ones((600, 600), numpy.float32)
gpugrad.threads.set_num_threads(2)
(gpugrad.tensor(a) @ gpugrad.tensor(a)).numpy()  # on two BLAS threads
time.sleep(0.02)
samples = []
for _ in range(5):
    samples.append(running_threads())
    time.sleep(0.002)
print(gpugrad._blas_spin.short_spin, min(samples), "OPENBLAS_THREAD_TIMEOUT" in os.environ)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads thread states from /proc")
def test_openblas_threads_sleep_soon_after_a_gemm_when_gpugrad_loads_numpy():
    """20 ms after a two-thread GEMM, no OpenBLAS thread still spins when gpugrad imported NumPy (a short
    spin, and the environment left as it was); with NumPy imported first, OpenBLAS's default spin shows
    (the probe can see a spinning thread)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = "2"

    def probe(order):
        out = subprocess.run([sys.executable, "-c", _SPIN_PROBE, order], env=env, capture_output=True, text=True,
                             check=True, timeout=120)
        return out.stdout.split()

    control = probe("numpy-first")
    if control == ["skip"]:
        pytest.skip("needs OpenBLAS with two threads")
    if control != ["False", "1", "False"]:
        pytest.skip(f"this OpenBLAS does not spin for long after a GEMM (probe: {control})")
    assert probe("gpugrad-first") == ["True", "0", "False"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_still_splits(split_everything):
    a = np.arange(64, dtype=np.float32).reshape(16, 4)
    threads.ufunc(np.add, (a, a))  # the parent's pool exists
    code = (
        "import os, numpy as np\n"
        "from gpugrad import threads\n"
        "threads.PARALLEL_MIN_ELEMENTS = 1; threads._split_threads = 2\n"
        "a = np.arange(64, dtype=np.float32).reshape(16, 4)\n"
        "threads.ufunc(np.add, (a, a))\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = np.array_equal(threads.ufunc(np.multiply, (a, a)), a * a)\n"
        "    os._exit(0 if ok else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert done.returncode == 0


def test_numba_threads_start_with_a_short_openmp_spin(monkeypatch):
    """Numba's OpenMP runtime reads GOMP_SPINCOUNT when its threads start: gpugrad sets it for that moment
    only, and leaves a wait policy the environment chose alone."""
    from gpugrad import threads

    seen = []
    monkeypatch.setattr(threads.numba, "get_num_threads", lambda: seen.append(os.environ.get("GOMP_SPINCOUNT")) or 2)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert threads._start_numba_threads() == 2
    assert seen == [threads.OPENMP_SPIN_COUNT] and "GOMP_SPINCOUNT" not in os.environ
    for var, value in (("GOMP_SPINCOUNT", "300000"), ("OMP_WAIT_POLICY", "ACTIVE")):
        seen.clear()
        with monkeypatch.context() as m:
            m.setenv(var, value)
            threads._start_numba_threads()
            assert os.environ[var] == value
        assert seen == [None if var == "OMP_WAIT_POLICY" else value]


def test_the_import_leaves_no_openmp_setting_behind():
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = "import os, gpugrad; print('GOMP_SPINCOUNT' in os.environ)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


_LAYOUT_DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int8, np.bool_, np.complex64]


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 7), min_size=1, max_size=4), dtype=st.sampled_from(_LAYOUT_DTYPES),
       seed=st.integers(0, 2**16), transposed=st.booleans())
def test_layout_copies_split_with_the_bits_of_numpys_one_call(shape, dtype, seed, transposed):
    """Backend.concatenate, pad, tile and roll (cat, F.pad, repeat, roll): each slice of the result filled
    over the threads gives NumPy's result, bit for bit, C-contiguous, for any layout of the input."""
    from gpugrad.backend import cpu

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    if transposed:
        x = x.T
    ndim = x.ndim
    axis = int(rng.integers(0, ndim))
    other = (rng.standard_normal(x.shape[:axis] + (3,) + x.shape[axis + 1:]) * 50).astype(dtype)
    widths = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(ndim))
    repeats = tuple(int(rng.integers(1, 4)) for _ in range(ndim))
    axes = tuple(int(a) for a in rng.integers(0, ndim, int(rng.integers(1, 4))))
    shifts = tuple(int(s) for s in rng.integers(-9, 10, len(axes)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threads, "PARALLEL_MIN_ELEMENTS", 1)
        mp.setattr(threads, "_split_threads", 2)
        got = [cpu.concatenate([x, other, x], axis), cpu.pad(x, widths, 7), cpu.tile(x, repeats),
               cpu.roll(x, shifts, axes), cpu.roll(x, shifts[:1], None)]
    want = [np.concatenate([x, other, x], axis), np.pad(x, widths, constant_values=7), np.tile(x, repeats),
            np.roll(x, shifts, axes), np.roll(x, shifts[0])]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape and g.flags.c_contiguous
        assert g.tobytes() == np.ascontiguousarray(w).tobytes()


def test_cat_pad_repeat_and_roll_split_large_calls_with_their_gradients(split_everything, monkeypatch):
    import gpugrad.nn.functional as F

    calls = _ran_split(monkeypatch)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    up = {}

    def run():
        x = gg.tensor(a, requires_grad=True)
        outs = [gg.cat([x, x * 2.0], 1), F.pad(x, (1, 2, 0, 1), value=-1.5), x.repeat(2, 1, 1, 3), x.roll((2, -1), (3, 2))]
        for i, y in enumerate(outs):
            up.setdefault(i, rng.standard_normal(tuple(y.shape)).astype(np.float32))
            y.backward(gg.tensor(up[i]))
        return [y.detach().numpy() for y in outs] + [x.grad.numpy()]

    split = run()
    assert calls and all(calls)
    monkeypatch.setattr(threads, "_split_threads", 1)
    for got, want in zip(split, run()):
        assert np.array_equal(got, want)
