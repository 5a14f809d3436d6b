"""Numba's CPU code in 512-bit vectors on a machine with AVX-512, where LLVM would choose 256.

LLVM tunes its Intel AVX-512 targets to prefer 256-bit vectors (icelake-server, where this was measured,
among them), so the loops of gpugrad's CPU kernels ran 8 float32 lanes wide there, where PyTorch's
elementwise kernels run 16: the transcendental ones (exp, log, erf, tanh and the activations made of them)
took twice the vector instructions per element. With 512-bit vectors, on an icelake-server VM beside PyTorch
(forward + backward at issue 19's sizes, float32, bench/NOTES.md, thirty-eighth session): gelu 1.26x -> 0.97x,
softplus 1.10x -> 0.82x, log_softmax 1.07x -> 0.88x, exp 1.43x -> 1.15x; the memory-bound rows and the
training steps did not move beyond their noise.

Numba reads the features its code generator targets from its config (``NUMBA_CPU_FEATURES``) when the
generator starts, at the process's first compile. So this module, imported by gpugrad/__init__.py before
anything imports Numba, sets them to the host's own plus ``-prefer-256-bit`` on a machine with AVX-512 (a
tuning preference, not an instruction set: the code runs where it was compiled, as Numba's always does).
It leaves them alone when Numba was imported before gpugrad (its generator may have started), when the
environment names a CPU or features itself (``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES``: the way to opt
out), and on other machines. It applies to every Numba compile in the process, the user's own included;
Numba's disk cache keys its entries by these features, so nothing compiled for the other width loads.
"""
import os
import sys

NARROW_PREFERENCE = "prefer-256-bit"  # LLVM's tuning flag for those targets


def _prefer_wide_vectors() -> bool:
    """Set Numba's CPU features to the host's without the 256-bit preference; whether that was done."""
    if "numba" in sys.modules or "NUMBA_CPU_NAME" in os.environ or "NUMBA_CPU_FEATURES" in os.environ:
        return False
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if not features.get("avx512f"):
        return False
    import numba

    numba.config.CPU_FEATURES = f"{features.flatten()},-{NARROW_PREFERENCE}"
    return True


wide_vectors = _prefer_wide_vectors()  # False: left to Numba (see the module docstring)
