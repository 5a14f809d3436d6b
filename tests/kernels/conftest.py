"""Backends for the kernel tests.

Every operation test takes the `backend` fixture, parameterised over
impl "cpu" and "cuda". The "cuda" case runs under Numba's CUDA simulator
(a separate process: NUMBA_ENABLE_CUDASIM=1 must be set before numba is
imported; it is then marked `cudasim`) or on a real GPU with CuPy (marked
`cuda`, which the top-level conftest skips without a usable device; on a
GPU machine: ``python -m pytest -m cuda tests``).

In the "cuda" case every array the launchers allocate starts filled with
NaN (all bits set: NaN for floats, -1 or the maximum for integers), on the
GPU through CuPy's allocator, in the simulator through np.empty: an
element a kernel never writes then fails the comparison instead of
passing by luck with stale memory.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def _real_gpu() -> bool:
    if SIM:
        return False
    try:
        import cupy

        from gpugrad.kernels import cuda_available

        return cuda_available() and cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


HAS_GPU = _real_gpu()


@dataclass
class Backend:
    impl: str
    xp: Any

    def dev(self, a: Any) -> Any:
        return a if self.xp is np else self.xp.asarray(a)

    def host(self, a: Any) -> Any:
        if a is None or isinstance(a, np.ndarray):
            return a
        return self.xp.asnumpy(a)


def _fill_unwritten(a: np.ndarray) -> np.ndarray:
    """`a` with every bit set, as the GPU's NaN-filled allocations: NaN, -1 or the unsigned maximum."""
    kind = a.dtype.kind
    if kind in "fc":
        a.fill(np.nan)
    elif kind == "i":
        a.fill(-1)
    elif kind == "u":
        a.fill(np.iinfo(a.dtype).max)
    return a


@contextlib.contextmanager
def nan_filled_allocations() -> Iterator[None]:
    """Every array allocated inside starts NaN-filled (see the module docstring). On a GPU: CuPy's
    allocator wrapped to memset each new block to 0xFF on the current stream. In the simulator (NumPy
    arrays): np.empty and np.empty_like wrapped; only Python code sees them, and nothing compiles for
    the CPU while a simulator "cuda" test runs. The simulator's own allocations (shared and local
    arrays) are left alone: it makes a block's shared array with an unlocked get-then-set, and a
    slower np.empty there widens that race until two threads of a block hold different arrays."""
    if SIM:
        empty, empty_like = np.empty, np.empty_like

        def filled(make):
            def allocate(*args: Any, **kwargs: Any) -> np.ndarray:
                a = make(*args, **kwargs)
                caller = sys._getframe(1).f_globals.get("__name__", "")
                return a if caller.startswith("numba") else _fill_unwritten(a)
            return allocate

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(np, "empty", filled(empty))
            mp.setattr(np, "empty_like", filled(empty_like))
            yield
        return
    import cupy

    pool = cupy.get_default_memory_pool()
    previous = cupy.cuda.get_allocator()

    def allocate(size: int) -> Any:
        mem = pool.malloc(size)
        if size:
            cupy.cuda.runtime.memsetAsync(mem.ptr, 0xFF, size, cupy.cuda.get_current_stream().ptr)
        return mem

    pool.free_all_blocks()  # blocks cached by earlier tests would come back without the fill
    cupy.cuda.set_allocator(allocate)
    try:
        yield
    finally:
        cupy.cuda.set_allocator(previous)


@pytest.fixture(
    params=[
        pytest.param("cpu"),
        pytest.param("cuda", marks=[pytest.mark.cudasim if SIM else pytest.mark.cuda]),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "cpu":
        yield Backend("cpu", np)
        return
    if SIM or HAS_GPU:
        xp = np
        if not SIM:
            import cupy as xp
        with nan_filled_allocations():
            yield Backend("cuda", xp)
        return
    pytest.skip(
        "impl='cuda' needs the CUDA simulator (NUMBA_ENABLE_CUDASIM=1 python -m pytest "
        "tests/kernels -m cudasim, in its own process) or an NVIDIA GPU with CuPy"
    )


def _forbidden(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("kernel launched despite invalid input")


@pytest.fixture
def no_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any kernel launch fails the test: checks must raise before."""
    from gpugrad.kernels import FAMILIES

    for mod in FAMILIES:
        monkeypatch.setattr(mod, "launch", _forbidden)
        for name in dir(mod):
            if name.startswith("_") and name.endswith("_cpu"):
                monkeypatch.setattr(mod, name, _forbidden)


@pytest.fixture
def rng() -> np.random.Generator:
    # Fresh inputs each run; the seed is printed so a failure can be replayed.
    seed = int(np.random.SeedSequence().entropy % (2**63))
    print(f"rng seed: {seed}")
    return np.random.default_rng(seed)


def tolerances(dtype: Any) -> dict[str, float]:
    if np.dtype(dtype) == np.float32:
        return {"rtol": 2e-5, "atol": 2e-6}
    return {"rtol": 1e-11, "atol": 1e-13}
