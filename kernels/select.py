"""``where(cond, a, b)``: a's element where cond holds, else b's, as one select per element (the where and
masked_fill ops and their gradients, for a large condition of the result's shape).

NumPy's where branches on each element: on a random condition the branch mispredicts half the time, and a
2048 x 2048 float32 where took 19 ms on one core (4.5 ns per element; PyTorch's, with the comparison and a
product beside it, 12 ms). A select has no branch: LLVM vectorises it (a mask from the condition's bytes and
a blend), and large ones go over the threads. A select moves bits: the result is NumPy's, whatever the
dtype (NaN payloads, signed zeros).

CPU only: on a GPU the op calls CuPy's own where.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._checks import number_as_value
from ._launch import cpu_kernel_per_code
from .transpose import _DTYPES  # the dtypes Numba compiles copies for

# How a and b come: both of cond's shape, or one of them a single value (a number, masked_fill's value)
_FORMS = ("arrays", "value_first", "value_second")
ARRAYS, VALUE_FIRST, VALUE_SECOND = range(3)

# Below this many elements NumPy's where costs less than the kernel's call and checks.
MIN_ELEMENTS = 1 << 15


# ============================================================== reference

def reference_where(xp: Any, cond: Any, a: Any, b: Any) -> Any:
    """a where cond holds, else b (the array module's broadcasting)."""
    return xp.where(cond, a, b)


# ============================================================== CPU kernel

@cpu_kernel_per_code(_FORMS, fastmath=False)
def _where_cpu(form):
    def kernel(cond, a, b, out):
        for i in prange(cond.size):
            x = a[0] if form == VALUE_FIRST else a[i]
            y = b[0] if form == VALUE_SECOND else b[i]
            out[i] = x if cond[i] else y
    return kernel


# ============================================================== launcher

def where(cond: np.ndarray, a: Any, b: Any) -> np.ndarray | None:
    """``a`` where ``cond`` holds, else ``b``: ``cond`` a C-contiguous bool NumPy array of the result's shape,
    ``a`` and ``b`` NumPy arrays of one dtype, each C-contiguous of that shape or a single value (0-d; one
    of them may be a Python number beside a float array). None for anything else, or a small ``cond`` (the
    caller calls NumPy's where)."""
    n = cond.size
    if n < MIN_ELEMENTS or cond.dtype != np.bool_ or not cond.flags.c_contiguous:
        return None
    if a.__class__ is not np.ndarray:
        a = number_as_value(a, b.dtype) if b.__class__ is np.ndarray else None
    elif b.__class__ is not np.ndarray:
        b = number_as_value(b, a.dtype)
    if a is None or b is None or a.dtype != b.dtype or a.dtype not in _DTYPES:
        return None
    full_a = a.shape == cond.shape and a.flags.c_contiguous
    full_b = b.shape == cond.shape and b.flags.c_contiguous
    if full_a and full_b:
        form = ARRAYS
    elif full_a and b.ndim == 0:
        form = VALUE_SECOND
    elif full_b and a.ndim == 0:
        form = VALUE_FIRST
    else:
        return None
    out = np.empty(cond.shape, a.dtype)
    work = n * (2 + full_a + full_b)  # the condition and the result, and each operand read in full
    _where_cpu(work, form, cond.reshape(-1), a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out
