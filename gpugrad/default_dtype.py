"""``gg.set_default_dtype`` / ``gg.get_default_dtype``: the dtype of float factories and Python floats."""
from __future__ import annotations

from . import dtypes
from .errors import DTypeError


def get_default_dtype() -> dtypes.DType:
    """The dtype ``gg.tensor(1.0)``, ``gg.zeros(...)``, ``gg.randn(...)`` and Python floats get."""
    return dtypes.default_float


def set_default_dtype(d) -> None:
    """Make ``d`` (float32 or float64, as PyTorch allows on the CPU) the default floating dtype."""
    dtype = dtypes.to_dtype(d)
    if dtype not in (dtypes.float32, dtypes.float64):
        raise DTypeError(
            f"set_default_dtype: only floating-point types float32 and float64 are supported as the default "
            f"type, got {dtype}"
        )
    dtypes.default_float = dtype
