"""The limits of the machine, measured in the same run as everything else.

- memory bandwidth: a large array copy, counting bytes read + written (2 x nbytes): NumPy's copy (one
  thread) and a Numba parallel copy (every core: what a fused multi-threaded kernel can reach), or CuPy's
  copy on the GPU. Memory-bound kernels (the optimizer steps, activations) report the fraction of the best
  of these that they reach.
- compute rate: a large float32 GEMM (n x n @ n x n, 2 n^3 flops) through the array module's BLAS (the
  GEMM gpugrad itself calls) and through PyTorch's. Training steps report the fraction of the faster one.

The runner takes, for each limit, the best variant measured (rows tagged ``limit=``). The copy is larger
than the last-level cache so that it measures DRAM, not cache, bandwidth.

The copy is larger than the last-level cache so that it measures DRAM, not cache, bandwidth.
"""
# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import numpy as np
import pytest
from conftest import pick, record, run, torch_sync
from numba import njit, prange

COPY_ELEMS = pick(32 * 1024 * 1024, 1 << 16)   # 128 MiB of float32 per array
GEMM_N = pick(2048, 64)


def test_copy(benchmark, dev):
    xp = dev.xp
    src = xp.asarray(np.random.default_rng(0).standard_normal(COPY_ELEMS, dtype=np.float32))
    dst = xp.empty_like(src)
    benchmark.group = "limits:memory"
    record(benchmark, "copy-" + ("numpy" if xp is np else "cupy"), bytes=2 * src.nbytes, roof="memory", limit="bandwidth")
    run(benchmark, dev.timed(lambda: xp.copyto(dst, src)))


@njit(parallel=True, cache=True)
def _parallel_copy(dst, src):
    for i in prange(src.size):
        dst[i] = src[i]


def test_copy_parallel(benchmark, dev):
    if dev.xp is not np:
        pytest.skip("the parallel copy is the CPU's multi-threaded limit; on cuda the CuPy copy is")
    src = np.random.default_rng(0).standard_normal(COPY_ELEMS, dtype=np.float32)
    dst = np.empty_like(src)
    benchmark.group = "limits:memory"
    record(benchmark, "copy-numba-parallel", bytes=2 * src.nbytes, roof="memory", limit="bandwidth")
    run(benchmark, lambda: _parallel_copy(dst, src))


def test_gemm(benchmark, dev):
    xp = dev.xp
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((GEMM_N, GEMM_N), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((GEMM_N, GEMM_N), dtype=np.float32))
    out = xp.empty((GEMM_N, GEMM_N), dtype=np.float32)
    benchmark.group = "limits:compute"
    record(benchmark, "gemm-" + ("numpy" if xp is np else "cupy"), flops=2.0 * GEMM_N**3, roof="compute",
           limit="gemm")
    run(benchmark, dev.timed(lambda: xp.matmul(a, b, out=out)))


def test_gemm_torch(benchmark, dev, torch_mod):
    torch = torch_mod
    device = "cuda" if dev.name == "cuda" else "cpu"
    a = torch.randn(GEMM_N, GEMM_N, device=device)
    b = torch.randn(GEMM_N, GEMM_N, device=device)
    out = torch.empty(GEMM_N, GEMM_N, device=device)
    benchmark.group = "limits:compute"
    record(benchmark, "gemm-torch", flops=2.0 * GEMM_N**3, roof="compute", limit="gemm")

    def step():
        torch.matmul(a, b, out=out)
        torch_sync(torch)

    run(benchmark, step)


@pytest.mark.parametrize("n", [pick(1 << 24, 1 << 12)])
def test_triad(benchmark, dev, n):
    """a = b + s*c (STREAM triad, 3 arrays): the bandwidth a fused elementwise kernel can see, through
    NumPy's two passes (one temporary), for comparison with the fused kernels' single pass."""
    xp = dev.xp
    rng = np.random.default_rng(0)
    b = xp.asarray(rng.standard_normal(n, dtype=np.float32))
    c = xp.asarray(rng.standard_normal(n, dtype=np.float32))
    a = xp.empty_like(b)
    benchmark.group = "limits:memory"
    # Two NumPy passes: a = s*c (read c, write a), a += b (read a, b, write a).
    record(benchmark, "triad-numpy-2pass", bytes=5 * b.nbytes, roof="memory")

    def step():
        xp.multiply(c, np.float32(3.0), out=a)
        xp.add(a, b, out=a)

    run(benchmark, dev.timed(step))
