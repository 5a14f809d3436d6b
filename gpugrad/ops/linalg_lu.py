"""LU factorisation and what is built on it: ``linalg.lu_factor`` (and ``_ex``), ``linalg.lu``,
``linalg.lu_solve``, ``lu_unpack``, the deprecated ``torch.lu_solve``, and ``linalg.solve_ex`` /
``linalg.inv_ex``.

NumPy has no LU, so the factorisation is our own: Gaussian elimination with partial pivoting as LAPACK's
getrf does it (pivots 1-based, int32; a zero pivot is left in place and reported in ``info``), over the
whole batch at once with a loop over the columns, on ``xp`` so that it runs on CuPy too. One Function,
LUFactor, records it; its backward is PyTorch's ``linalg_lu_backward`` written in Tensor ops (triangular
solves, products), so second derivatives come from differentiating it. Everything else here is composed
of differentiable ops: ``lu`` unpacks the factor with tril/triu, ``lu_solve`` is two triangular solves
and a permutation, so gradients reach LU and B alike.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy

from .._warn_once import warn_once
from ..autograd.function import Op
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from ._operands import write_out
from .linalg import (
    LinAlgError,
    _batch_prefix,
    _require_float,
    _require_matrices,
    _require_same_dtype,
    linalg_inv,
    solve,
    solve_triangular,
)

LUFactorResult = namedtuple("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LUResult = namedtuple("linalg_lu", ["P", "L", "U"])
LUUnpackResult = namedtuple("lu_unpack", ["P", "L", "U"])
SolveExResult = namedtuple("linalg_solve_ex", ["result", "info"])
InvExResult = namedtuple("linalg_inv_ex", ["inverse", "info"])


# Arrays: the factorisation and its permutation -------------------------------------------------------


def _lu_arrays(xp, a, pivot: bool):
    """(LU, pivots, info) of a batch of (m, n) matrices, as LAPACK's getrf: row-swapping Gaussian
    elimination with the largest |entry| of each column as pivot (the first of equals, as idamax). A zero
    pivot (with pivoting: a column already zero below the diagonal) is skipped, not divided by, and its
    1-based column is the info; without pivoting a zero pivot divides (inf/NaN, as cuSOLVER's)."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    count = math.prod(batch)  # not reshape(-1, ...): that is ambiguous for empty matrices
    lu = a.reshape((count, m, n)).copy()
    rows = xp.arange(count)
    piv = xp.empty((count, k), dtype=xp.int32)
    piv[...] = xp.arange(1, k + 1, dtype=xp.int32)
    info = xp.zeros(count, dtype=xp.int32)
    for j in range(k):
        if pivot:
            p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=-1)
            piv[:, j] = p + 1
            row = lu[:, j, :].copy()
            lu[:, j, :] = lu[rows, p, :]
            lu[rows, p, :] = row
        d = lu[:, j, j]
        zero = d == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(xp.int32)
        if j + 1 < m:
            lu[:, j + 1 :, j] /= (xp.where(zero, 1, d) if pivot else d)[:, None]
            lu[:, j + 1 :, j + 1 :] -= lu[:, j + 1 :, j, None] * lu[:, j, None, j + 1 :]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def _permutation(xp, piv, m: int):
    """The row order the pivots' swaps give: perm (*, m) with row i of P^T A = row perm[i] of A."""
    batch, k = piv.shape[:-1], piv.shape[-1]
    count = math.prod(batch)
    flat = piv.reshape((count, k)).astype(xp.int64) - 1
    rows = xp.arange(count)
    perm = xp.empty((count, m), dtype=xp.int64)
    perm[...] = xp.arange(m)
    for j in range(k):
        p = flat[:, j]
        here = perm[:, j].copy()
        perm[:, j] = perm[rows, p]
        perm[rows, p] = here
    return perm.reshape(batch + (m,))


def _permutation_matrix(like: Tensor, piv, m: int) -> Tensor:
    """P (*, m, m) with A = P L U, as a constant in like's dtype: P[perm[i], i] = 1."""
    xp = like._backend.xp
    perm = _permutation(xp, piv, m)
    count = math.prod(perm.shape[:-1])
    flat = perm.reshape((count, m))
    p = xp.zeros((count, m, m), dtype=like._array.dtype)
    p[xp.arange(count)[:, None], flat, xp.arange(m)[None, :]] = 1
    return Tensor._make(p.reshape(perm.shape + (m,)), like._backend)


def _check_pivots(op: str, piv, m: int, backend) -> None:
    """Pivots a user passed must index rows of LU (1-based). Skipped while capturing a CUDA graph (the
    check reads a device value on the host)."""
    if backend.capture is None and piv.size and bool(backend.xp.any((piv < 1) | (piv > m))):
        raise ArgumentError(f"{op}: pivots must be between 1 and LU.size(-2) = {m} inclusive; did you pass the "
                            "result of linalg.lu_factor?")


# The recorded factorisation ---------------------------------------------------------------------------


def _unpack_data(lu: Tensor) -> tuple[Tensor, Tensor]:
    """L (*, m, k), unit lower triangular, and U (*, k, n), upper triangular, from the packed factor."""
    m, n = lu.shape[-2], lu.shape[-1]
    k = min(m, n)
    eye = Tensor._make(lu._backend.xp.eye(m, k, dtype=lu._array.dtype), lu._backend)
    return lu[..., :, :k].tril(-1) + eye, lu[..., :k, :].triu()


class LUFactor(Op):
    @staticmethod
    def forward(ctx, a, pivot=True):
        lu, piv, info = _lu_arrays(ctx.xp, a, pivot)
        ctx.pivot = pivot
        ctx.save_for_backward(lu, piv)
        return lu, piv, info

    @staticmethod
    def backward(ctx, glu, gpiv=None, ginfo=None):
        lu, piv = ctx.saved_tensors
        if glu is None:
            return None
        k = min(lu.shape[-2], lu.shape[-1])
        p = _permutation_matrix(lu, piv._array, lu.shape[-2]) if ctx.pivot else None
        low, up = _unpack_data(lu)
        # The packed factor's gradient splits as PyTorch's lu_factor_ex_backward splits it: its first k
        # columns hold L's (strictly lower part), its first k rows U's (upper part).
        return _lu_backward(glu[..., :, :k], glu[..., :k, :], p, low, up)


def _lu_backward(gl: Tensor, gu: Tensor, p: Tensor | None, low: Tensor, up: Tensor) -> Tensor:
    """PyTorch's linalg_lu_backward for A = P L U (real case), L (*, m, k) unit lower, U (*, k, n) upper:
    square:  gA = P L^-T [L^T gL o 1_L + gU U^T o 1_U] U^-T
    wide:    gA = P L^-T [(L^T gL - gU U^T) o 1_L U1^-T + gU1 | gU2]
    tall:    gA = P [L^-T (gU U^T - L^T gL) o 1_U + gL1 ; gL2] U^-T
    (1_L: strictly lower, 1_U: upper; only those parts of gL and gU count, as L and U have no others)."""
    from .shape import cat

    m, n = low.shape[-2], up.shape[-1]
    k = min(m, n)
    gl, gu = gl.tril(-1), gu.triu()
    if m == n:
        x = (low.mT @ gl).tril(-1) + (gu @ up.mT).triu()
        x = solve_triangular(up.mT, x, upper=False, left=False)
        x = solve_triangular(low.mT, x, upper=True, unitriangular=True)
    elif m < n:
        x = solve_triangular(up[..., :, :k].mT, (low.mT @ gl - gu @ up.mT).tril(-1), upper=False, left=False)
        x = cat([x + gu[..., :, :k], gu[..., :, k:]], -1)
        x = solve_triangular(low.mT, x, upper=True, unitriangular=True)
    else:
        x = solve_triangular(low[..., :k, :].mT, (gu @ up.mT - low.mT @ gl).triu(), upper=True, unitriangular=True)
        x = cat([x + gl[..., :k, :], gl[..., k:, :]], -2)
        x = solve_triangular(up.mT, x, upper=False, left=False)
    return x if p is None else p @ x


def _require_lu_input(op: str, A: Tensor) -> None:
    _require_float(op, A)
    if A.ndim < 2:
        raise ShapeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")


def _zero_pivot_message(op: str, info, batch: tuple) -> str | None:
    """PyTorch's error for the first factor with a zero pivot (None when there is none)."""
    host = info.get() if hasattr(info, "get") else info
    flat = host.reshape(-1)
    bad = [i for i, v in enumerate(flat.tolist()) if v > 0]
    if not bad:
        return None
    b, j = bad[0], int(flat[bad[0]])
    return (f"{op}: {_batch_prefix(batch, b)}U[{j},{j}] is zero and using it on lu_solve would result in a division "
            "by zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
            "linalg.lu_factor_ex(A, pivot)")


def _write_tuple(op: str, result: tuple, out, cls):
    if out is None:
        return result
    for dst, src in zip(out, result):
        write_out(op, src, dst)
    return cls(*out)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None) -> LUFactorExResult:
    """(LU, pivots, info): the packed LU factorisation with partial pivoting of each (*, m, n) matrix,
    pivots (*, min(m, n)) int32 and 1-based (row i was swapped with row pivots[i] at step i), info (*)
    int32: 0, or the 1-based index of the first zero pivot (U[i, i] == 0). check_errors raises a
    LinAlgError instead. pivot=False (only on CUDA in PyTorch) factors without row swaps; pivots are then
    1..k. Differentiable in A (LU's gradient as PyTorch's, valid for full-rank A)."""
    op = "torch.linalg.lu_factor_ex"
    _require_lu_input(op, A)
    lu, piv, info = LUFactor.apply(A, pivot=bool(pivot))
    if check_errors:
        message = _zero_pivot_message(op, info._array, tuple(A.shape[:-2]))
        if message:
            raise LinAlgError(message)
    return _write_tuple("linalg.lu_factor_ex", LUFactorExResult(lu, piv, info), out, LUFactorExResult)


def lu_factor(A: Tensor, *, pivot: bool = True, out=None) -> LUFactorResult:
    """(LU, pivots) as ``lu_factor_ex``, raising a LinAlgError (naming the batch element and the zero
    pivot, as PyTorch) when a matrix is singular."""
    op = "torch.linalg.lu_factor"
    _require_lu_input(op, A)
    lu, piv, info = LUFactor.apply(A, pivot=bool(pivot))
    message = _zero_pivot_message(op, info._array, tuple(A.shape[:-2]))
    if message:
        raise LinAlgError(message)
    return _write_tuple("linalg.lu_factor", LUFactorResult(lu, piv), out, LUFactorResult)


def linalg_lu(A: Tensor, *, pivot: bool = True, out=None) -> LUResult:
    """``torch.linalg.lu``: (P, L, U) with A = P L U, P (*, m, m) a permutation matrix, L (*, m, k) unit
    lower triangular, U (*, k, n) upper triangular, k = min(m, n); pivot=False gives A = L U and an empty
    P. Singular matrices do not raise. Differentiable through L and U (square, wide and tall A)."""
    op = "linalg.lu"
    _require_lu_input(op, A)
    lu, piv, _ = LUFactor.apply(A, pivot=bool(pivot))
    low, up = _unpack_data(lu)
    if pivot:
        p = _permutation_matrix(A, piv._array, A.shape[-2])
    else:
        p = Tensor._make(A._backend.xp.zeros((0,), dtype=A._array.dtype), A._backend)
    return _write_tuple(op, LUResult(p, low, up), out, LUResult)


def _require_pivots(op: str, pivots: Tensor) -> None:
    if not isinstance(pivots, Tensor) or pivots._array.dtype.name != "int32":
        got = pivots.dtype if isinstance(pivots, Tensor) else type(pivots).__name__
        raise DTypeError(f"{op}: pivots should be a Tensor of scalar type int32 (as linalg.lu_factor returns), "
                         f"got {got}")


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out=None) -> LUUnpackResult:
    """(P, L, U) from ``lu_factor``'s (LU, pivots): A = P L U. ``unpack_data=False`` gives empty L and U,
    ``unpack_pivots=False`` an empty P. L and U are differentiable in LU_data; P is a constant."""
    op = "torch.lu_unpack"
    if LU_data.ndim < 2:
        raise ShapeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(LU_data.shape)} instead")
    _require_pivots(op, LU_pivots)
    m, n = LU_data.shape[-2], LU_data.shape[-1]
    k = min(m, n)
    if LU_pivots.ndim < 1 or LU_pivots.shape[-1] != k:
        raise ShapeError(f"{op}: expected pivots of shape (*, {k}) for LU of shape {tuple(LU_data.shape)}, got "
                         f"{tuple(LU_pivots.shape)}")
    xp, backend = LU_data._backend.xp, LU_data._backend
    empty = Tensor._make(xp.zeros((0,), dtype=LU_data._array.dtype), backend)
    p = empty
    if unpack_pivots:
        _check_pivots(op, LU_pivots._array, m, backend)
        try:
            batch = tuple(numpy.broadcast_shapes(tuple(LU_data.shape[:-2]), tuple(LU_pivots.shape[:-1])))
        except ValueError:
            raise ShapeError(f"{op}: the batch dims of LU {tuple(LU_data.shape)} and pivots "
                             f"{tuple(LU_pivots.shape)} do not broadcast") from None
        piv = xp.broadcast_to(LU_pivots._array, batch + (k,))
        p = _permutation_matrix(LU_data, piv, m)
    low, up = _unpack_data(LU_data) if unpack_data else (empty, empty)
    return _write_tuple("lu_unpack", LUUnpackResult(p, low, up), out, LUUnpackResult)


# Solves -----------------------------------------------------------------------------------------------


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False,
                    out: Tensor | None = None) -> Tensor:
    """X with A X = B from A's ``lu_factor`` (A^T X = B with adjoint; X A = B, X A^T = B with
    left=False), batch dims of LU and B broadcast. Two triangular solves and a permutation, so
    differentiable in B and in LU (as PyTorch's)."""
    op = "linalg.lu_solve"
    _require_float(op, LU)
    _require_matrices("torch.linalg.lu_solve", LU, square=True)
    if not isinstance(B, Tensor):
        raise TypeError(f"{op}: B must be a Tensor, got {type(B).__name__}")
    if B._array.dtype != LU._array.dtype:
        raise DTypeError(f"{op}: Expected LU and B to have the same dtype, but found LU of type {LU.dtype} and B "
                         f"of type {B.dtype} instead")
    _require_pivots(op, pivots)
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise ShapeError(f"{op}: Expected LU.shape[:-1] and pivots.shape to be the same, but got pivots with shape "
                         f"{list(pivots.shape)} instead (LU has shape {list(LU.shape)})")
    if B.ndim < 2:
        raise ShapeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    n = LU.shape[-1]
    if B.shape[-2 if left else -1] != n:
        raise ShapeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                         f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    _check_pivots(op, pivots._array, n, LU._backend)
    if left:
        x = _lu_solve_left(LU, pivots, B, adjoint)
    else:  # X A = B is A^T X^T = B^T; X A^T = B is A X^T = B^T
        x = _lu_solve_left(LU, pivots, B.mT, not adjoint).mT
    return write_out(op, x, out)


def _lu_solve_left(lu: Tensor, pivots: Tensor, b: Tensor, adjoint: bool) -> Tensor:
    """A X = B is U X = L^-1 P^T B; A^T X = B is X = P L^-T U^-T B. solve_triangular reads only the
    triangle it is told to (and not the diagonal when unitriangular), so the packed factor serves as
    both L and U."""
    p = _permutation_matrix(lu, pivots._array, lu.shape[-1])
    if not adjoint:
        y = solve_triangular(lu, p.mT @ b, upper=False, unitriangular=True)
        return solve_triangular(lu, y, upper=True)
    y = solve_triangular(lu.mT, b, upper=False)
    return p @ solve_triangular(lu.mT, y, upper=True, unitriangular=True)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``torch.lu_solve`` (deprecated there, and here with the same warning): ``linalg.lu_solve(LU_data,
    LU_pivots, b)``."""
    warn_once("lu_solve", "gg.lu_solve is deprecated (as torch.lu_solve) in favor of gg.linalg.lu_solve, which "
                          "takes its arguments in the order (LU, pivots, B)")
    return write_out("lu_solve", linalg_lu_solve(LU_data, LU_pivots, b), out)


TriangularSolveResult = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out=None):
    """``torch.lu`` (deprecated there, and here with the same warning): ``(LU, pivots)`` of
    ``linalg.lu_factor``, with ``info`` too when ``get_infos`` (then a singular matrix does not raise)."""
    warn_once("lu", "gg.lu is deprecated (as torch.lu) in favor of gg.linalg.lu_factor / lu_factor_ex")
    if get_infos:
        return lu_factor_ex(A, pivot=pivot, out=out)
    return lu_factor(A, pivot=pivot, out=out)


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out=None) -> TriangularSolveResult:
    """``torch.triangular_solve`` (deprecated there, and here with the same warning): the solution of
    A X = b (A^T X = b with ``transpose``) and a copy of A."""
    warn_once("triangular_solve", "gg.triangular_solve is deprecated (as torch.triangular_solve) in favor of "
                                  "gg.linalg.solve_triangular, which takes (A, B) and returns the solution alone")
    matrix = A.mT if transpose else A
    solution = solve_triangular(matrix, b, upper=upper != transpose, unitriangular=unitriangular)
    return _write_tuple("triangular_solve", TriangularSolveResult(solution, A.clone()), out, TriangularSolveResult)


def _solve_vector(A: Tensor, B: Tensor) -> bool:
    """linalg.solve's rule for a batch of vectors B (the shape of A without its last dim, or 1-D)."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None) -> SolveExResult:
    """(result, info): ``linalg.solve`` that reports singular matrices in info (A's batch shape, int32: the
    first zero pivot of A's LU, or 0) instead of raising; their results hold inf/NaN. check_errors raises
    as solve does. Differentiable as solve."""
    op = "torch.linalg.solve_ex"
    _require_float(op, A, B)
    _require_same_dtype(op, A, B)
    _require_matrices(op, A, square=True)
    xp, backend = A._backend.xp, A._backend
    try:
        x = solve(A, B, left=left)
        info = Tensor._make(xp.zeros(tuple(A.shape[:-2]), dtype=xp.int32), backend)
    except LinAlgError:
        # Some matrix is singular: factor them all, to say which, and solve with the singular factors.
        lu, piv, info = lu_factor_ex(A)
        if check_errors:
            flat = [i for i, v in enumerate(backend.to_numpy(info._array, op).reshape(-1).tolist()) if v > 0]
            raise LinAlgError(f"{op}: {_batch_prefix(tuple(A.shape[:-2]), flat[0])}The solver failed because the "
                              "input matrix is singular.") from None
        vector = _solve_vector(A, B)
        x = linalg_lu_solve(lu, piv, B.unsqueeze(-1) if vector else B, left=left)
        x = x.squeeze(-1) if vector else x
    return _write_tuple("linalg.solve_ex", SolveExResult(x, info), out, SolveExResult)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None) -> InvExResult:
    """(inverse, info): ``linalg.inv`` that reports singular matrices in info (the first zero pivot of
    the LU, int32, or 0) instead of raising; their inverses hold inf/NaN. check_errors raises as inv does.
    Differentiable as inv."""
    op = "linalg.inv_ex"
    _require_float(op, A)
    _require_matrices(op, A, square=True)
    xp, backend = A._backend.xp, A._backend
    try:
        inverse = linalg_inv(A)
        info = Tensor._make(xp.zeros(tuple(A.shape[:-2]), dtype=xp.int32), backend)
    except LinAlgError:
        lu, piv, info = lu_factor_ex(A)
        if check_errors:
            host = backend.to_numpy(info._array, op).reshape(-1).tolist()
            b = next(i for i, v in enumerate(host) if v > 0)
            raise LinAlgError(f"{op}: {_batch_prefix(tuple(A.shape[:-2]), b)}The diagonal element {host[b]} is zero, "
                              "the inversion could not be completed because the input matrix is singular.") from None
        eye = Tensor._make(xp.eye(A.shape[-1], dtype=A._array.dtype), backend)
        inverse = linalg_lu_solve(lu, piv, eye)
    return _write_tuple(op, InvExResult(inverse, info), out, InvExResult)


# What this family exports; gpugrad.ops gathers it (the linalg-only ones reach gg.linalg through
# gpugrad/linalg.py).
FUNCTIONS = (lu_unpack, lu_solve, lu, triangular_solve)
_LINALG_ONLY = (lu_factor, lu_factor_ex, linalg_lu, linalg_lu_solve, solve_ex, inv_ex)
DIFFERENTIABLE = FUNCTIONS + _LINALG_ONLY
METHODS = {"lu_solve": lu_solve, "lu": lu, "triangular_solve": triangular_solve}
