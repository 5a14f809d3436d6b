"""torch.__config__: text describing how the framework was built, which libraries grep for settings
(PyG looks for ``USE_MKL=OFF`` in ``show()``). gpugrad has no build of its own: its CPU kernels are NumPy
and Numba, its GPU ones CuPy, so the text names those and the versions installed."""
from __future__ import annotations

import numpy as _np

from . import version as _version
from .threads import get_num_threads as _get_num_threads

__all__ = ["parallel_info", "show"]


def show() -> str:
    """The build's description, in PyTorch's layout (a header, then ``  - `` lines and the settings)."""
    cuda = _version.cuda
    lines = [
        "gpugrad built with:",
        f"  - NumPy {_np.__version__}",
        f"  - CUDA (CuPy) {cuda}" if cuda else "  - CUDA not available",
        (f"  - Build settings: TORCH_VERSION={_version.__version__}, USE_CUDA={int(cuda is not None)}, "
         "USE_MKL=OFF, USE_MKLDNN=OFF, USE_OPENMP=OFF, USE_ROCM=OFF, "),
    ]
    return "\n".join(lines) + "\n"


def parallel_info() -> str:
    """The thread settings, as PyTorch's ``parallel_info()`` reports its intra-op pool."""
    return f"gpugrad parallel info:\n\tget_num_threads() : {_get_num_threads()}\n"
