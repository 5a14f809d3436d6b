"""torch.version's fields, which scripts read to choose a path: ``cuda`` is the CUDA version CuPy was built
for when a GPU can be used (else None, as in a CPU build of PyTorch); gpugrad has no ROCm build."""
from __future__ import annotations

__all__ = ["__version__", "cuda", "hip", "debug", "git_version"]

__version__ = "0.1.0"
hip = None
debug = False
git_version = "unknown"


def _cuda_version() -> str | None:
    from .backend import cuda_unavailable_reason

    if cuda_unavailable_reason() is not None:
        return None
    import cupy  # pragma: no cover - needs a GPU

    major, minor = divmod(cupy.cuda.runtime.runtimeGetVersion() // 10, 100)  # pragma: no cover
    return f"{major}.{minor}"  # pragma: no cover


cuda = _cuda_version()
