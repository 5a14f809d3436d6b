"""bfloat16, and float16 on the CPU, compute in float32 and round each result once, as PyTorch's CPU kernels do.

NumPy has no bfloat16 of its own; gpugrad's bfloat16 arrays are ml_dtypes'. gpugrad's own ops never see
these reduced floats on the CPU: ``Function.apply`` hands an op that ``widens_reduced_floats`` (every
``Op`` but views and casts) its bfloat16 and float16 inputs as float32 arrays, and rounds the op's float32
results back to the dtype of its first floating-point input when that was one of them (``layer_norm`` of
a bfloat16 input with float32 weights is bfloat16, as in PyTorch). So every kernel, reduction
(accumulated in float32), matmul (BLAS's float32 GEMM) and Python number (``x * 0.1`` multiplies by
float32's 0.1) behaves as PyTorch's opmath does. Saved inputs and outputs are the tensors themselves, in
their reduced dtype as in PyTorch, so backward works from the rounded values, each of its ops in float32
again. A user's Function gets its tensors as they are. Views run on the arrays themselves: they must
share memory. CuPy's float16 stays native: the GPU computes it at speed, rounding as PyTorch's does.
"""
from __future__ import annotations

import numpy

from .. import dtypes as _dtypes

FLOAT16_NP = numpy.dtype(numpy.float16)
FLOAT32_NP = numpy.dtype(numpy.float32)


def is_reduced(array) -> bool:
    """Whether ``array`` computes in float32: bfloat16 (CPU only), or float16 on the CPU."""
    dtype = array.dtype
    return dtype is _dtypes.BFLOAT16_NP or dtype is FLOAT16_NP and array.__class__ is numpy.ndarray


def float32_of(array):
    """``array`` as float32 when it is a reduced float on the CPU, else itself: for a backward that runs a
    kernel on its tensors' arrays (the engine rounds what it returns to each input's dtype)."""
    return array.astype(FLOAT32_NP) if is_reduced(array) else array


def widen(arrays: list) -> tuple[list, numpy.dtype | None]:
    """``arrays`` with every reduced float as float32, and the dtype the op's float32 results round to: the
    first floating-point array's, when it was reduced (None otherwise)."""
    wide = []
    target = None
    decided = False
    for a in arrays:
        dtype = getattr(a, "dtype", None)
        if dtype is not None and is_reduced(a):
            if not decided:
                target, decided = dtype, True
            a = a.astype(FLOAT32_NP)
        elif not decided and dtype is not None and dtype.kind == "f":
            decided = True
        wide.append(a)
    return wide, target


def round_results(ctx, out, single: bool, arrays: list, wide: list, target: numpy.dtype):
    """The op's float32 results rounded to ``target``; what forward saved of its widened inputs and of its
    results now points at the arrays the tensors hold (apply resolves saved values by identity)."""
    outs = (out,) if single else out
    rounded = tuple(o.astype(target) if o is not None and o.dtype == FLOAT32_NP else o for o in outs)
    if ctx._to_save:
        by_id = {id(w): a for w, a in zip(wide, arrays) if w is not a}
        by_id.update((id(o), r) for o, r in zip(outs, rounded) if o is not r)
        ctx._to_save = tuple(by_id.get(id(v), v) for v in ctx._to_save)
    if ctx._non_differentiable:
        marked = {id(o): r for o, r in zip(outs, rounded)}
        ctx._non_differentiable = tuple(marked.get(id(v), v) for v in ctx._non_differentiable)
    return rounded[0] if single else rounded
