"""The backward of a quotient in one pass: div's two gradients from the upstream gradient gy.

For y = a / b, d/da = 1 / b and d/db = -a / b^2, computed as

    ga = gy / b,   gb = -((ga * a) / b)

each step one IEEE operation in this order, so the kernels give the bits of the same formula run as NumPy
passes (the reference), but for a NaN's sign, which IEEE leaves unspecified (LLVM may negate an operand of
the division instead of its result): four passes over arrays of gy's size there (11 arrays read or written), one here
(3 read, 2 written).

CPU: a serial loop without fast-math flags (every element exactly the reference's operations) and without the
GIL, over a range of elements; the launcher takes a ``split(fn, n, work)`` (gpugrad.threads.split) that
shares ranges among a thread pool, as kernels/conv.py's loops do, rather than Numba's prange, whose OpenMP
workers spin between loops and stall when another process holds a core. CUDA: one grid-stride kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from ._launch import (
    check_arrays_for,
    check_same_shape,
    contiguous,
    cuda_family,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    numba_type,
    plain_cpu_call,
)

# ============================================================== reference

def reference_div_backward(xp: Any, gy: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """(ga, gb) = (gy / b, -((gy / b) * a / b)) for arrays of one shape."""
    ga = gy / b
    return ga, -((ga * a) / b)


# ============================================================== CPU kernel

# The elements of the arrays given (each a range's slice: a loop indexed from 0 vectorises, range(lo, hi) of
# whole arrays did not, kernels/reduce.py).
@njit(nogil=True, error_model="numpy", cache=True)
def _div_backward_cpu(gy, a, b, ga, gb):
    for i in range(gy.size):
        q = gy[i] / b[i]
        ga[i] = q
        gb[i] = -((q * a[i]) / b[i])


# ============================================================== CUDA kernel

# numba.cuda, bound on first use (a module global: the CUDA simulator swaps globals that are numba.cuda).
cuda: Any = None


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import int64, void

    T = numba_type(dtype)

    def div_backward_kernel(gy, a, b, ga, gb):
        n = gy.size
        step = int64(cuda.gridsize(1))
        i = int64(cuda.grid(1))
        while i < n:
            q = gy[i] / b[i]
            ga[i] = q
            gb[i] = -((q * a[i]) / b[i])
            i += step

    return {"div_backward": (div_backward_kernel, void(T[::1], T[::1], T[::1], T[::1], T[::1]))}


_cuda_kernel, cuda_kernel_specs = cuda_family("arithmetic", _cuda_sources)


# ============================================================== launcher

def div_backward(xp: Any, gy: Any, a: Any, b: Any, *, impl: str | None = None, stream: Any = None,
                 split: Callable[[Callable[[int, int], None], int, int], bool] | None = None) -> tuple[Any, Any]:
    """(ga, gb), the gradients of a / b in a and b for the upstream gradient gy, gy, a and b of one shape and
    float dtype, in one pass: the reference's bits. ``split``: shares the CPU pass among threads (see the
    module docstring); without it, or where it declines, the calling thread runs it all."""
    if not plain_cpu_call(xp, impl, gy, a, b):  # every check below would pass for that one
        op = "arithmetic.div_backward"
        dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, a=a, b=b)
        check_same_shape(op, gy=gy, a=a, b=b)
        if impl == "reference":
            return reference_div_backward(xp, gy, a, b)
        check_arrays_for(op, xp, impl, gy=gy, a=a, b=b)
        gy, a, b = contiguous(xp, gy), contiguous(xp, a), contiguous(xp, b)
        if impl == "cuda":
            ga, gb = xp.empty_like(gy), xp.empty_like(gy)
            launch(_cuda_kernel("div_backward", dtype), gy.size, 256, cuda_stream(xp, stream),
                   gy.reshape(-1), a.reshape(-1), b.reshape(-1), ga.reshape(-1), gb.reshape(-1))
            return ga, gb
    ga, gb = np.empty(gy.shape, gy.dtype), np.empty(gy.shape, gy.dtype)
    flat = (gy.reshape(-1), a.reshape(-1), b.reshape(-1), ga.reshape(-1), gb.reshape(-1))
    if split is None or not split(lambda lo, hi: _div_backward_cpu(*[v[lo:hi] for v in flat]), gy.size, gy.size):
        _div_backward_cpu(*flat)
    return ga, gb
