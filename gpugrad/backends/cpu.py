"""``torch.backends.cpu``: which vector instructions the CPU kernels use. gpugrad's are compiled by Numba
(LLVM) for the host processor, so they use what it has; the answer is PyTorch's spelling of that."""
from __future__ import annotations

import platform


def get_cpu_capability() -> str:
    """"AVX512" or "AVX2" on x86 processors that have them (else "DEFAULT"); "DEFAULT" elsewhere, as
    PyTorch's names go."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return "DEFAULT"
    from numpy._core._multiarray_umath import __cpu_features__ as has

    if all(has.get(f) for f in ("AVX512F", "AVX512CD", "AVX512BW", "AVX512DQ", "AVX512VL")):
        return "AVX512"
    return "AVX2" if has.get("AVX2") and has.get("FMA3") else "DEFAULT"
