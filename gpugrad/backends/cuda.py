"""``torch.backends.cuda``, and the float32 matmul precision setting (``gg.set_float32_matmul_precision``)
that ``matmul.allow_tf32`` reads and writes.

gpugrad's float32 GEMMs (NumPy's BLAS, cuBLAS through CuPy) run in full float32 whatever these say: no
TF32 or bfloat16 path is taken. The settings are kept and reported, so that scripts that set them run,
and what they read back is what they wrote."""
from __future__ import annotations

import importlib.util
import warnings

__all__ = ["get_float32_matmul_precision", "is_built", "matmul", "set_float32_matmul_precision"]

_PRECISIONS = ("highest", "high", "medium")
_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """Record PyTorch's float32 matmul precision ("highest", "high" or "medium"); as PyTorch, anything
    else warns and changes nothing."""
    global _precision
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _precision = precision


def get_float32_matmul_precision() -> str:
    return _precision


class _MatmulSettings:
    """``torch.backends.cuda.matmul``: ``allow_tf32`` is the precision setting seen as a flag."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return _precision != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        set_float32_matmul_precision("high" if value else "highest")


matmul = _MatmulSettings()


def is_built() -> bool:
    """Whether gpugrad can reach CUDA here: CuPy (its GPU array library) is installed."""
    return importlib.util.find_spec("cupy") is not None
