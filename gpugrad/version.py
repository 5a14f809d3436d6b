"""torch.version's fields, which scripts read to choose a path: ``cuda`` is the CUDA version CuPy was built
for when a GPU can be used (else None, as in a CPU build of PyTorch); gpugrad has no ROCm build.

``__version__`` (also ``gg.__version__``) is the PyTorch release whose names and semantics gpugrad follows
(the one its tests compare with), with gpugrad's own release as the local part: libraries that gate a
feature on ``torch.__version__ >= "2.0"`` take the path they take under that PyTorch. ``release`` is
gpugrad's own version alone (the package's, as pip knows it)."""
from __future__ import annotations

__all__ = ["__version__", "release", "cuda", "hip", "debug", "git_version"]

release = "0.1.0"
__version__ = f"2.13.0+gpugrad.{release}"
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
