"""Binary arithmetic (+ - * /) where one operand repeats along the other's leading and trailing dims: a
bias row added to every row, a column scaling every row, a per-channel value over an (N, C, H, W) batch;
and of two large operands of one shape, or of a large one and one value (a number, which the backend
passes as an array of one element), which the flat loops share out over Numba's threads (their handover
costs less than gpugrad's own pool's: bench/NOTES.md, thirty-seventh and forty-first sessions).

NumPy's broadcasting iterator runs these at half its memory speed: 2048 x 2048 + (2048,) took 1.5 ms on one
core, against 0.7 ms for 2048 x 2048 + 1.0 (the same bytes), and 0.9-1.0 ms in the serial loop below. The
operands are described as the full one viewed as (P, Q, R) and the repeated one as (Q,): element (p, q, r)
of the result is ``full[p, q, r] op part[q]`` (or ``part[q] op full[p, q, r]``). Every element is one IEEE
operation, as NumPy's, so the result has NumPy's bits.

CPU only: on a GPU the launcher calls CuPy's own broadcasting, which runs at memory speed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange
from numba.extending import register_jitable

from ._launch import check_arrays_for, contiguous, cpu_kernel_per_code, float_dtype_and_impl

OPS: tuple[str, ...] = ("add", "sub", "mul", "div")
# The kernels' codes: the four ops with the full operand first, then sub and div with it second
# (add and mul commute, bit for bit).
_CODE_NAMES = OPS + ("rsub", "rdiv")
ADD, SUB, MUL, DIV, RSUB, RDIV = range(6)
_REVERSED = {ADD: ADD, SUB: RSUB, MUL: MUL, DIV: RDIV}


# ============================================================== reference

def reference_binary(xp: Any, op: str, a: Any, b: Any) -> Any:
    """``a op b`` with the array module's broadcasting."""
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    raise ValueError(f"broadcast.binary: op must be one of {OPS}, got {op!r}")


def layout(full_shape: tuple[int, ...], part_shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """(P, Q, R) when an array of ``part_shape`` broadcasts against one of ``full_shape`` by repeating
    along leading and trailing dims only (its dims, aligned right, are 1 outside one run where they
    equal ``full_shape``'s); else None. A ``part`` of one element repeats along all: (1, 1, size)."""
    n = len(full_shape)
    if len(part_shape) > n:
        return None
    part = (1,) * (n - len(part_shape)) + tuple(part_shape)
    used = [d for d in range(n) if part[d] != 1]
    if not used:
        return 1, 1, math.prod(full_shape)
    first, last = used[0], used[-1]
    for d in range(first, last + 1):
        if part[d] != full_shape[d]:
            return None
    return (math.prod(full_shape[:first]), math.prod(full_shape[first:last + 1]),
            math.prod(full_shape[last + 1:]))


# ============================================================== CPU kernel

@register_jitable
def _apply(code, a, b):
    """``a op b`` for the op ``code`` (a constant in each kernel: LLVM keeps only its branch), a the full
    operand's element."""
    if code == ADD:
        return a + b
    if code == SUB:
        return a - b
    if code == MUL:
        return a * b
    if code == DIV:
        return a / b
    if code == RSUB:
        return b - a
    return b / a


@cpu_kernel_per_code(_CODE_NAMES, fastmath=False)  # no flags: each element is exactly NumPy's operation
def _binary_cpu(code):
    def binary(full, part, out, p_count, q_count, r_count):
        if p_count == 1 and r_count == 1:  # operands of one shape: one flat loop over the threads
            for i in prange(q_count):
                out[i] = _apply(code, full[i], part[i])
        elif p_count == 1 and q_count == 1:  # one value (a number) for all: one flat loop over the threads
            b = part[0]
            for i in prange(r_count):
                out[i] = _apply(code, full[i], b)
        elif r_count == 1:  # part is a row repeated P times: the inner loop runs along it
            for p in prange(p_count):
                x = full[p * q_count:(p + 1) * q_count]
                y = out[p * q_count:(p + 1) * q_count]
                for q in range(q_count):
                    y[q] = _apply(code, x[q], part[q])
        else:  # one value of part per run of R elements
            for pq in prange(p_count * q_count):
                b = part[pq % q_count]
                x = full[pq * r_count:(pq + 1) * r_count]
                y = out[pq * r_count:(pq + 1) * r_count]
                for r in range(r_count):
                    y[r] = _apply(code, x[r], b)
    return binary


# ============================================================== launcher

def plan(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> tuple[bool, tuple[int, int, int]] | None:
    """How ``binary`` runs ``a op b`` for these shapes: (whether a is the full operand, its (P, Q, R)
    ``layout``), or None when neither operand has the result's shape with the other fitting ``layout``."""
    if len(a_shape) >= len(b_shape):
        dims = layout(a_shape, b_shape)
        if dims is not None:
            return True, dims
    dims = layout(b_shape, a_shape)
    return None if dims is None else (False, dims)


def binary(xp: Any, op: str, a: Any, b: Any, *, impl: str | None = None, how: Any = None) -> Any:
    """``a op b`` (op: "add", "sub", "mul" or "div") for arrays of one float dtype, one of them of the
    result's shape and the other repeating along its leading and trailing dims (``plan``); other
    operands raise ValueError. The reference's bits. ``how``: ``plan(a.shape, b.shape)`` where the
    caller has it already (Backend.arithmetic)."""
    name = "broadcast.binary"
    if op not in OPS:
        raise ValueError(f"{name}: op must be one of {OPS}, got {op!r}")
    _, impl = float_dtype_and_impl(name, xp, impl, a=a, b=b)
    if how is None:
        how = plan(tuple(a.shape), tuple(b.shape))
    if how is None:
        raise ValueError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)}: neither is the result's shape "
                         "with the other repeated along its leading and trailing dims")
    if impl != "cpu":
        return reference_binary(xp, op, a, b)
    check_arrays_for(name, xp, impl, a=a, b=b)
    a_is_full, dims = how
    full, part = (a, b) if a_is_full else (b, a)
    code = OPS.index(op) if a_is_full else _REVERSED[OPS.index(op)]
    full = contiguous(xp, full)
    out = np.empty(full.shape, dtype=full.dtype)
    # the elements read and written that decide serial or parallel: both operands in full for one shape, the
    # full one and the result for one value (a number's loop is worth the threads where one shape's is)
    work = full.size + (part.size if dims[0] == dims[2] == 1 else full.size if dims[0] == dims[1] == 1 else 0)
    _binary_cpu(work, code, full.reshape(-1), contiguous(xp, part).reshape(-1), out.reshape(-1), *dims)
    return out
