"""``set_num_threads`` / ``get_num_threads``, as PyTorch's: the threads gpugrad's CPU work runs on.

The CPU kernels are Numba ``prange`` loops; their thread count is Numba's (``numba.set_num_threads``).
NumPy's own calls on large arrays (elementwise ufuncs and sums that keep axis 0: ``Backend.ufunc`` and
``Backend.sum``) are split by rows or flat ranges into chunks that the calling thread and a pool share
here (``split``); NumPy releases the GIL inside each. Every chunk computes exactly what the whole call
computes for its elements, so the bits do not depend on the thread count.

At import, ``OMP_NUM_THREADS`` (then ``MKL_NUM_THREADS``), the variables PyTorch's intra-op pool reads,
set it when ``NUMBA_NUM_THREADS`` does not (Numba reads that one itself). Small tensors run on the calling
thread whatever the count (kernels/_launch.py: PARALLEL_MIN_WORK), and every kernel splits its sums into
fixed chunks, so results are the same bits on any thread count.

Differences from PyTorch, from Numba: the count can be lowered but not raised above the pool Numba
started with (NUMBA_NUM_THREADS, by default the number of cores): a larger request is capped there. It
applies to the calling thread (Numba keeps it per thread; a new Python thread starts with the full
pool).

NumPy's BLAS (the GEMMs) has its own threads, as many as it started with (OMP_NUM_THREADS or
OPENBLAS_NUM_THREADS before start-up) or as ``set_num_threads`` last asked. ``gemm_threads`` gives a GEMM
under SMALL_GEMM_MACS multiply-adds one of them: between GEMMs OpenBLAS's other threads spin on the other
cores, and there they slowed the calling thread's own work between GEMMs by up to 2.3x, or, with another
process busy on a core, made a whole step 4x slower (bench/NOTES.md). Through threadpoolctl, which finds
the BLAS NumPy loaded (OpenBLAS, MKL or BLIS); with threadpoolctl's own limits in force, gpugrad's next
GEMM may undo them: use ``set_num_threads`` instead. A stack of such products (``bmm``, attention's
``q @ k.mT``) shares its matrices out over the pool instead (``batched_matmul``), one BLAS thread each.
When gpugrad is imported before NumPy, OpenBLAS's idle threads spin only briefly (gpugrad/_blas_spin.py).
"""
from __future__ import annotations

from .dtypes import FLOAT_KINDS
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numba
import numpy

__all__ = ["get_num_threads", "set_num_threads"]

# Below this many elements one thread wins: a split costs 14 us with nothing to do on an idle 2-core
# machine, 30-40 us on a busy one, and the cache lines the cores trade cost more (bench/split_calls.py).
PARALLEL_MIN_ELEMENTS = 1 << 21

# Numba's OpenMP workers (libgomp) spin for about a millisecond after each parallel loop unless told
# otherwise. On a small machine that spin holds the cores the next multithreaded GEMM needs, and the
# GEMM's spinning threads the next loop's: a 5x5 convolution's forward + backward, 64x16x16x16 -> 32,
# took 35.7 ms against 16-17 ms with a spin of 0-1,000 and 19.4 ms with the 10,000 below; a transformer
# MLP block at 2048x768 (Linear, GELU, Linear, LayerNorm) 349-351 ms against 313-320 with 10,000 and
# 320-324 with 0 (medians; bench/NOTES.md). libgomp reads its spin count once, when it loads, which is
# when Numba starts its threads: here, at gpugrad's import.
OPENMP_SPIN_COUNT = "10000"  # tens of microseconds


def _start_numba_threads() -> int:
    """Start Numba's threads (their count), its OpenMP runtime with a short spin unless the environment
    chooses a wait policy itself. The environment is restored at once, so that other libraries' OpenMP
    runtimes, loaded later, keep their own defaults."""
    if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
        return int(numba.get_num_threads())
    os.environ["GOMP_SPINCOUNT"] = OPENMP_SPIN_COUNT
    try:
        return int(numba.get_num_threads())
    finally:
        del os.environ["GOMP_SPINCOUNT"]


_split_threads = _start_numba_threads()  # the count ``split`` uses: set_num_threads's, all threads
CHUNKS_PER_THREAD = 4  # smaller chunks than one per thread, so that a late thread's share is taken by others
_pool: ThreadPoolExecutor | None = None
_pool_pid = _pool_size = 0

_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _check(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    return n


def set_num_threads(n: int) -> None:
    """Run the CPU kernels on ``n`` threads (at most the pool's size, NUMBA_NUM_THREADS: capped there),
    and large GEMMs on ``n`` of the BLAS's threads."""
    global _split_threads, _blas_threads
    n = min(_check(n), int(numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    _split_threads = _blas_threads = n
    if _blas_state and _blas_state[0] is not None:
        _blas_state[0].threads = n
        _blas_state[0].apply(n)


def get_num_threads() -> int:
    """The number of threads the CPU kernels run on (from the calling thread)."""
    return int(numba.get_num_threads())


def _threads_from_env() -> int | None:
    """The thread count the environment asks for (OMP_NUM_THREADS, MKL_NUM_THREADS), or None."""
    if os.environ.get("NUMBA_NUM_THREADS", "").strip():
        return None  # Numba has sized its pool from it already
    for var in _ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            try:  # OpenMP allows a list ("4,2") for nested levels: the first is the outer one
                n = int(value.split(",")[0])
            except ValueError:
                return None
            return n if n > 0 else None
    return None


# GEMMs under this many multiply-adds (per matrix) run on one BLAS thread. On 2 cores the digits CNN's
# 4.7M ones took 85-116 us on two threads and 133-170 on one when the cores were quiet, but with the
# other thread spinning the step ran 1.7-1.9 ms against 1.37 on one; the MLP's 205M ones need both.
SMALL_GEMM_MACS = 1 << 24
TINY_GEMM_MACS = 1 << 18  # OpenBLAS's own bound (interface/gemm.c: 65536 * GEMM_MULTITHREAD_THRESHOLD 4)


class _Blas:
    """The BLAS libraries loaded when the first GEMM ran (NumPy's, and any other package's: all are set
    alike), as threadpoolctl controls them: ``threads`` for large GEMMs, ``current`` as last set."""

    def __init__(self, libs: list) -> None:
        self.libs = libs
        self.current = max(int(lib.num_threads) for lib in libs)
        self.threads = _blas_threads or self.current

    def apply(self, n: int) -> None:
        if n != self.current:
            for lib in self.libs:
                lib.set_num_threads(n)
            self.current = n


_blas_threads: int | None = None  # set_num_threads's count; None: what the BLAS started with
_blas_state: list = []  # [] until the first GEMM looks the BLAS up, then [_Blas or None]


def _blas() -> _Blas | None:
    """The BLAS, looked up once (None where threadpoolctl finds none it can control)."""
    if not _blas_state:
        try:
            from threadpoolctl import ThreadpoolController

            libs = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # noqa: BLE001 - then GEMMs keep the BLAS's own threads
            libs = []
        _blas_state.append(_Blas(libs) if libs else None)
    return _blas_state[0]


def gemm_threads(macs: int) -> None:
    """Before NumPy's GEMMs of ``macs`` multiply-adds each: one BLAS thread under SMALL_GEMM_MACS, all of
    them (set_num_threads's count) from there up. Below TINY_GEMM_MACS nothing is set: OpenBLAS runs
    those on one thread whatever its count (the op hot path's small products pay only this test)."""
    if macs < TINY_GEMM_MACS:
        return
    blas = _blas_state[0] if _blas_state else _blas()
    if blas is not None and blas.threads > 1:
        blas.apply(1 if macs < SMALL_GEMM_MACS else blas.threads)


# Below this many multiply-adds in all, a stack of products stays one call: split over two threads, 8M and
# 16M ran slower than on one (bench/NOTES.md, thirty-seventh session), 33M and more faster.
BATCH_SPLIT_MIN_MACS = 1 << 25


def batched_matmul(a: numpy.ndarray, b: numpy.ndarray, macs: int) -> numpy.ndarray | None:
    """``numpy.matmul(a, b)`` for a stack of products of ``macs`` multiply-adds each, with its matrices
    shared out over the threads, one BLAS thread each; None when one call should compute it (products
    that take the BLAS's threads, a small stack, batch dims that broadcast, mixed dtypes). NumPy calls
    the BLAS once per matrix either way, with the same strides, so the bits are one call's."""
    if (_split_threads < 2 or macs >= SMALL_GEMM_MACS or type(a) is not numpy.ndarray or type(b) is not numpy.ndarray
            or a.dtype != b.dtype or a.dtype.kind not in "fc" or a.shape[-1] != b.shape[-2]):
        return None
    batch = (a if a.ndim > 2 else b).shape[:-2]
    if a.ndim > 2 and b.ndim > 2 and a.shape[:-2] != b.shape[:-2]:
        return None
    axis = next((i for i, s in enumerate(batch) if s > 1), None)  # the first batch axis to share out
    work = macs * math.prod(batch)
    if axis is None or batch[axis] < _split_threads or work < BATCH_SPLIT_MIN_MACS:
        return None
    out = numpy.empty(batch + (a.shape[-2], b.shape[-1]), a.dtype)
    lead = (slice(None),) * axis

    def chunk(lo: int, hi: int) -> None:
        part = lead + (slice(lo, hi),)
        numpy.matmul(a[part] if a.ndim > 2 else a, b[part] if b.ndim > 2 else b, out=out[part])

    gemm_threads(macs)  # one BLAS thread per matrix
    return out if split(chunk, batch[axis], work, BATCH_SPLIT_MIN_MACS) else None


_env_threads = _threads_from_env()
if _env_threads is not None:
    set_num_threads(_env_threads)


def _workers() -> ThreadPoolExecutor:
    """The pool that helps the calling thread; a new one after the count changes or a fork (a forked child
    has none of its parent's threads)."""
    global _pool, _pool_pid, _pool_size
    if _pool is None or _pool_pid != os.getpid() or _pool_size != _split_threads - 1:
        _pool = ThreadPoolExecutor(_split_threads - 1, thread_name_prefix="gpugrad-split")
        _pool_pid, _pool_size = os.getpid(), _split_threads - 1
    return _pool


class _Job:
    """One split call's chunks, each taken by whichever thread is free first. When another process keeps
    a worker from running, the caller does that worker's chunks too: a loaded machine costs a split call
    little more than one thread would take."""

    __slots__ = ("fn", "bounds", "taken", "left", "error", "lock", "done", "errstate")

    def __init__(self, fn: Callable[[int, int], None], bounds: list[int]) -> None:
        self.fn, self.bounds = fn, bounds
        self.taken, self.left = 0, len(bounds) - 1
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.errstate = numpy.geterr()  # NumPy's error state is per thread: the caller's holds in every chunk

    def work(self) -> None:
        with numpy.errstate(**self.errstate):
            while True:
                with self.lock:
                    i = self.taken
                    if i == len(self.bounds) - 1:
                        return
                    self.taken = i + 1
                try:
                    if self.error is None:
                        self.fn(self.bounds[i], self.bounds[i + 1])
                except BaseException as exc:  # re-raised in the caller
                    self.error = exc
                with self.lock:
                    self.left -= 1
                    if not self.left:
                        self.done.set()


def split(fn: Callable[[int, int], None], n: int, elements: int, minimum: int | None = None) -> bool:
    """Run ``fn(lo, hi)`` over consecutive ranges covering ``[0, n)`` on the threads when ``elements``
    (the work's size) is at least ``minimum`` (PARALLEL_MIN_ELEMENTS unless given); False (and nothing
    run) when one thread should do it all."""
    threads = _split_threads
    if threads < 2 or elements < (PARALLEL_MIN_ELEMENTS if minimum is None else minimum) or n < threads:
        return False
    chunks = min(n, CHUNKS_PER_THREAD * threads)
    job = _Job(fn, [n * i // chunks for i in range(chunks + 1)])
    pool = _workers()
    for _ in range(threads - 1):
        pool.submit(job.work)
    job.work()
    job.done.wait()
    if job.error is not None:
        raise job.error
    return True


def ufunc(fn: Callable, operands: tuple) -> Any:
    """``fn(*operands)`` for a NumPy ufunc that keeps its operands' float dtype, split over the threads;
    None when it should run as one call (small, mixed dtypes, NumPy scalars, ...)."""
    if _split_threads < 2:
        return None
    arrays = [a for a in operands if type(a) is numpy.ndarray]
    if any(type(a) not in (float, int, bool) for a in operands if type(a) is not numpy.ndarray):
        return None  # a NumPy scalar's own dtype could change the result's (NEP 50)
    dtype = arrays[0].dtype
    if dtype.kind not in FLOAT_KINDS or any(a.dtype != dtype for a in arrays):
        return None
    shape = numpy.broadcast_shapes(*[a.shape for a in arrays])
    if not shape:
        return None
    out = numpy.empty(shape, dtype)
    if all(a.shape == shape and a.flags.c_contiguous for a in arrays):  # split flat ranges
        parts, target = [a.reshape(-1) if type(a) is numpy.ndarray else a for a in operands], out.reshape(-1)
    else:  # split rows: an operand with the result's leading axis is sliced, one broadcast along it is whole
        parts, target = operands, out
    sliced = [type(a) is numpy.ndarray and a.ndim == target.ndim and a.shape[0] == target.shape[0] for a in parts]

    def chunk(lo: int, hi: int) -> None:
        fn(*[a[lo:hi] if cut else a for a, cut in zip(parts, sliced)], out=target[lo:hi])

    return out if split(chunk, target.shape[0], out.size) else None


def copy(x: numpy.ndarray) -> numpy.ndarray | None:
    """A C-contiguous copy of ``x`` made on the threads: by flat ranges when ``x`` is C-contiguous, else by
    blocks of its leading axis (an expanded gradient, a transpose); None when one call should make it
    (small, or one thread)."""
    if _split_threads < 2 or x.size < PARALLEL_MIN_ELEMENTS:
        return None
    out = numpy.empty(x.shape, x.dtype)
    src, dst = (x.reshape(-1), out.reshape(-1)) if x.flags.c_contiguous else (x, out)

    def chunk(lo: int, hi: int) -> None:
        numpy.copyto(dst[lo:hi], src[lo:hi])

    return out if split(chunk, dst.shape[0], dst.size) else None


def assign(dst: numpy.ndarray, src: numpy.ndarray) -> None:
    """``dst[...] = src`` (``src`` broadcast to ``dst``'s shape, of its dtype, sharing no memory with it), split
    over the threads by blocks of ``dst``'s longest axis but its last when large: a slice of a concatenation,
    a padded array's interior, the tiles of a repeat. One call when small or on one thread."""
    if _split_threads < 2 or dst.size < PARALLEL_MIN_ELEMENTS:  # x[i]'s gradient on the hot path: nothing else
        numpy.copyto(dst, src)
        return
    src = numpy.broadcast_to(src, dst.shape)
    axis = max(range(max(dst.ndim - 1, 1)), key=dst.shape.__getitem__) if dst.ndim else 0
    lead = (slice(None),) * axis

    def chunk(lo: int, hi: int) -> None:
        part = lead + (slice(lo, hi),)
        numpy.copyto(dst[part], src[part])

    if not split(chunk, dst.shape[axis], dst.size):
        numpy.copyto(dst, src)


def sum_rows(x: numpy.ndarray, axes: tuple, keepdims: bool, dtype: Any) -> numpy.ndarray | None:
    """``x.sum(axes, keepdims=keepdims, dtype=dtype)`` by blocks of rows, for ``axes`` that keep axis 0
    (each row's sum is then the same bits as in one call); None when one call should do it. (Sums over
    axis 0 are not split here: NumPy adds whole rows there, and column blocks of NumPy's sum measured slower;
    Backend.sum sends float ones over leading dims to ``gpugrad.kernels.reduce.sum_leading``, which tiles them.)"""
    if _split_threads < 2 or x.size < PARALLEL_MIN_ELEMENTS or not axes or 0 in axes or not x.flags.c_contiguous:
        return None
    out = numpy.empty(tuple(1 if i in axes else s for i, s in enumerate(x.shape)), dtype or x.dtype)

    def chunk(lo: int, hi: int) -> None:
        x[lo:hi].sum(axis=axes, keepdims=True, dtype=dtype, out=out[lo:hi])

    if not split(chunk, x.shape[0], x.size):
        return None
    return out if keepdims else out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))
