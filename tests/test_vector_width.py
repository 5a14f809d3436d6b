"""gpugrad/_vector_width.py: Numba's CPU code in 512-bit vectors on an AVX-512 machine, unless Numba came
first or the environment chose the CPU's features; each case in a fresh interpreter (Numba's code
generator starts once per process)."""
from __future__ import annotations

import os
import subprocess
import sys

import llvmlite.binding as llvm

_PROBE = """
import sys
if sys.argv[1] == "numba-first":
    import numba
import gpugrad, numba, numpy
@numba.njit
def axpy(a, b):
    for i in range(a.size):
        a[i] += numpy.float32(2.0) * b[i]  # float32 alone (a float64 step takes zmm for its conversions)
x = numpy.ones(1000, numpy.float32)
axpy(x, x)
assert x[0] == 3.0
print(gpugrad._vector_width.wide_vectors, "zmm" in axpy.inspect_asm(axpy.signatures[0]),
      repr(numba.config.CPU_FEATURES is not None and numba.config.CPU_FEATURES.endswith(",-prefer-256-bit")))
"""

AVX512 = bool(llvm.get_host_cpu_features().get("avx512f"))


def _probe(order: str, **env_extra: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", _PROBE, order], env=env, capture_output=True, text=True,
                         check=True, timeout=300)
    return out.stdout.split()


def test_gpugrad_first_compiles_wide_vectors_exactly_on_avx512():
    wide, zmm, ours = _probe("gpugrad-first")
    assert wide == ours == str(AVX512)
    assert zmm == str(AVX512)  # the loop really runs in 512-bit registers there, and in none elsewhere


def test_left_to_numba_when_it_came_first_or_the_environment_chose():
    features = llvm.get_host_cpu_features().flatten()
    for order, env in (("numba-first", {}), ("gpugrad-first", {"NUMBA_CPU_FEATURES": features}),
                       ("gpugrad-first", {"NUMBA_CPU_NAME": "generic"})):
        wide, zmm, ours = _probe(order, **env)
        assert (wide, ours) == ("False", "False")
        if order == "numba-first" and llvm.get_host_cpu_name() == "icelake-server":
            assert zmm == "False"  # the control: LLVM's own preference there is 256-bit
