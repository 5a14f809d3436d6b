"""``gg.set_default_dtype`` / ``gg.get_default_dtype``: the dtype of float factories and Python floats."""
from __future__ import annotations

from . import dtypes
from .errors import DTypeError


def get_default_dtype() -> dtypes.DType:
    """The dtype ``gg.tensor(1.0)``, ``gg.zeros(...)``, ``gg.randn(...)`` and Python floats get."""
    return dtypes.default_float


def set_default_dtype(d) -> None:
    """Make ``d`` (a floating dtype: float16, bfloat16, float32 or float64, as in PyTorch) the default
    floating dtype (transformers' ``from_pretrained(dtype=...)`` sets it while it builds a model)."""
    dtype = dtypes.to_dtype(d)
    if not dtype.is_floating_point:
        raise DTypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {dtype}")
    dtypes.default_float = dtype
