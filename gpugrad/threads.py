"""``set_num_threads`` / ``get_num_threads``, as PyTorch's: the threads gpugrad's CPU kernels run on.

The CPU kernels are Numba ``prange`` loops; their thread count is Numba's (``numba.set_num_threads``).
At import, ``OMP_NUM_THREADS`` (then ``MKL_NUM_THREADS``), the variables PyTorch's intra-op pool reads,
set it when ``NUMBA_NUM_THREADS`` does not (Numba reads that one itself). Small tensors run on the calling
thread whatever the count (kernels/_launch.py: PARALLEL_MIN_WORK), and every kernel splits its sums into
fixed chunks, so results are the same bits on any thread count.

Differences from PyTorch, from Numba: the count can be lowered but not raised above the pool Numba
started with (NUMBA_NUM_THREADS, by default the number of cores): a larger request is capped there. It
applies to the calling thread (Numba keeps it per thread; a new Python thread starts with the full
pool). NumPy's BLAS (the GEMMs) keeps its own threads, which OMP_NUM_THREADS or OPENBLAS_NUM_THREADS set
before start-up.
"""
from __future__ import annotations

import os

import numba

__all__ = ["get_num_threads", "set_num_threads"]

_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _check(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    return n


def set_num_threads(n: int) -> None:
    """Run the CPU kernels on ``n`` threads (at most the pool's size, NUMBA_NUM_THREADS: capped there)."""
    numba.set_num_threads(min(_check(n), int(numba.config.NUMBA_NUM_THREADS)))


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


_env_threads = _threads_from_env()
if _env_threads is not None:
    set_num_threads(_env_threads)
