"""bfloat16 ops compute in float32 and round each result once, as PyTorch's CPU kernels do.

NumPy has no bfloat16 of its own; gpugrad's bfloat16 arrays are ml_dtypes'. gpugrad's own ops never
see them: ``Function.apply`` hands an op that ``widens_bfloat16`` (every ``Op`` but views and casts)
its bfloat16 inputs as float32 arrays, and rounds the op's float32 results back to bfloat16 when the
op's first floating-point input was bfloat16 (``layer_norm`` of a bfloat16 input with float32 weights
is bfloat16, as in PyTorch). So every kernel, reduction (accumulated in float32) and Python number
(``x * 0.1`` multiplies by float32's 0.1, not bfloat16's) behaves as PyTorch's opmath does. Saved
inputs and outputs are the tensors themselves, in bfloat16 as in PyTorch, so backward works from the
rounded values, each of its ops in float32 again. A user's Function gets its bfloat16 tensors as they
are. Views run on the bfloat16 arrays themselves: they must share memory.
"""
from __future__ import annotations

import numpy

from ..dtypes import BFLOAT16_NP

FLOAT32_NP = numpy.dtype(numpy.float32)


def float32_of(array):
    """``array`` as float32 when it is bfloat16, else itself: for a backward that runs a kernel on its
    tensors' arrays (the engine rounds what it returns to each input's dtype)."""
    return array.astype(FLOAT32_NP) if array.dtype is BFLOAT16_NP else array


def widen(arrays: list) -> tuple[list, bool]:
    """``arrays`` with every bfloat16 array as float32, and whether the first floating-point one was
    bfloat16 (then the op's float32 results are rounded back: ``round_results``)."""
    wide = []
    first = None
    for a in arrays:
        dtype = getattr(a, "dtype", None)
        if dtype is BFLOAT16_NP:
            a = a.astype(FLOAT32_NP)
            first = True if first is None else first
        elif first is None and dtype is not None and dtype.kind == "f":
            first = False
        wide.append(a)
    return wide, bool(first)


def round_results(ctx, out, single: bool, arrays: list, wide: list):
    """The op's float32 results rounded to bfloat16; what forward saved of its widened inputs and of
    its results now points at the arrays the tensors hold (apply resolves saved values by identity)."""
    outs = (out,) if single else out
    rounded = tuple(o.astype(BFLOAT16_NP) if o is not None and o.dtype == FLOAT32_NP else o for o in outs)
    if ctx._to_save:
        by_id = {id(w): a for w, a in zip(wide, arrays) if w is not a}
        by_id.update((id(o), r) for o, r in zip(outs, rounded) if o is not r)
        ctx._to_save = tuple(by_id.get(id(v), v) for v in ctx._to_save)
    if ctx._non_differentiable:
        marked = {id(o): r for o, r in zip(outs, rounded)}
        ctx._non_differentiable = tuple(marked.get(id(v), v) for v in ctx._non_differentiable)
    return rounded[0] if single else rounded
