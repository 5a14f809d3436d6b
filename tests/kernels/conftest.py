"""Backends for the kernel tests.

Every operation test takes the `backend` fixture, parameterised over
impl "cpu" and "cuda". The "cuda" case runs under Numba's CUDA simulator
(a separate process: NUMBA_ENABLE_CUDASIM=1 must be set before numba is
imported; it is then marked `cudasim`) or on a real GPU with CuPy (marked
`cuda`, which the top-level conftest skips without a usable device).
"""

from __future__ import annotations

import os
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


@pytest.fixture(
    params=[
        pytest.param("cpu"),
        pytest.param("cuda", marks=[pytest.mark.cudasim if SIM else pytest.mark.cuda]),
    ]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "cpu":
        return Backend("cpu", np)
    if SIM:
        return Backend("cuda", np)
    if HAS_GPU:
        import cupy

        return Backend("cuda", cupy)
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
