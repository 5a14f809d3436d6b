"""LDL factorisation of symmetric or Hermitian indefinite matrices: ``linalg.ldl_factor`` (and ``_ex``)
and ``linalg.ldl_solve``, as PyTorch's.

PyTorch's factor is LAPACK's ``?sytrf`` / ``?hetrf`` with ``uplo='L'`` (Bunch-Kaufman diagonal pivoting),
and its ``LD`` and ``pivots`` are that routine's compact output; ``ldl_solve`` is ``?sytrs`` / ``?hetrs``.
NumPy has no sytrf, so both are our own, written step for step as LAPACK's unblocked ``?sytf2`` /
``?hetf2`` and ``?sytrs`` / ``?hetrs`` (lower triangle): the same pivot tests (alpha = (1 + sqrt 17) / 8,
the first largest |entry| as i?amax picks it, |re| + |im| for complex), the same interchanges within
the trailing matrix, the same 2x2 block formulas. So the pivots are LAPACK's choice, not merely a valid
one (tests/ops/test_linalg_ldl.py compares them with PyTorch's), and for real matrices up to 64 rows,
which LAPACK factors unblocked, LD agrees with PyTorch's bit for bit in our checks.

Each matrix is factored on the host, one column (or 2x2 block) at a time: the choice of a 1x1 or 2x2
pivot depends on the values, so matrices of a batch do not step together. A CuPy tensor is copied to
the host and back (PyTorch's CUDA ldl_factor synchronises with the host too).

Neither function is differentiable in PyTorch ("derivative for linalg_ldl_factor_ex is not
implemented"): here, as there, a result computed from inputs that require grad is in the graph, and
backward through it raises.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy

from ..autograd.function import Op
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from ._operands import write_out
from .linalg import LinAlgError, _batch_prefix
from .linalg_lu import _write_tuple

LDLFactorResult = namedtuple("linalg_ldl_factor", ["LD", "pivots"])
LDLFactorExResult = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])

# Bunch and Kaufman's threshold: it bounds the growth of the entries of the factors.
_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0
_DTYPES = ("float32", "float64", "complex64", "complex128")


# Arrays: one matrix at a time, on the host ------------------------------------------------------------


def _cabs1(z):
    """LAPACK's measure for pivot choices: |x| for reals, |re| + |im| for complex numbers."""
    return numpy.abs(z.real) + numpy.abs(z.imag) if numpy.iscomplexobj(z) else numpy.abs(z)


def _sytf2_lower(a: numpy.ndarray, hermitian: bool) -> tuple[numpy.ndarray, numpy.ndarray, int]:
    """(LD, pivots, info) of one n x n matrix, of which only the lower triangle is read: LAPACK's
    ?sytf2 / ?hetf2 with uplo='L'. Pivots are 1-based; a 2x2 block at k, k+1 has both pivots negative.
    info is the 1-based column of the first zero (or NaN) pivot, the factorisation going on past it."""
    n = a.shape[-1]
    a = numpy.array(a, copy=True)
    herm = hermitian and numpy.iscomplexobj(a)
    piv = numpy.empty(n, numpy.int32)
    info = 0

    def diag_abs(z):
        # A Hermitian matrix's diagonal is real: LAPACK reads only its real part.
        return abs(z.real) if herm else _cabs1(z)

    k = 0
    while k < n:
        kstep = 1
        absakk = diag_abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(numpy.argmax(_cabs1(a[k + 1:, k])))  # argmax: the first of equals, as i?amax
            colmax = _cabs1(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or numpy.isnan(absakk):
            # A zero (or NaN) column: nothing to eliminate; report it and go on, as LAPACK.
            info = info or k + 1
            kp = k
            if herm:
                a[k, k] = a[k, k].real
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                # The largest off-diagonal |entry| of row/column imax (its lower-triangle part: row imax
                # left of the diagonal, column imax below it).
                jmax = k + int(numpy.argmax(_cabs1(a[imax, k:imax])))
                rowmax = _cabs1(a[imax, jmax])
                if imax < n - 1:
                    jmax = imax + 1 + int(numpy.argmax(_cabs1(a[imax + 1:, imax])))
                    rowmax = max(rowmax, _cabs1(a[jmax, imax]))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif diag_abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:
                _interchange(a, k, kk, kp, kstep, herm)
            elif herm:
                a[k, k] = a[k, k].real
                if kstep == 2:
                    a[k + 1, k + 1] = a[k + 1, k + 1].real
            if kstep == 1:
                _eliminate_1x1(a, k, herm)
            else:
                _eliminate_2x2(a, k, herm)
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return numpy.tril(a), piv, info


def _interchange(a, k: int, kk: int, kp: int, kstep: int, herm: bool) -> None:
    """Swap rows and columns kk and kp of the trailing matrix a[k:, k:], touching only its lower
    triangle (the columns left of k, L's finished part, are not swapped: LAPACK's storage)."""
    n = a.shape[-1]
    if kp < n - 1:
        a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
    between = a[kk + 1:kp, kk].copy()  # column kk between the two, and row kp between them, trade places
    if herm:
        a[kk + 1:kp, kk] = numpy.conj(a[kp, kk + 1:kp])
        a[kp, kk + 1:kp] = numpy.conj(between)
        a[kp, kk] = numpy.conj(a[kp, kk])
        a[kk, kk], a[kp, kp] = a[kp, kp].real, a[kk, kk].real
    else:
        a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
        a[kp, kk + 1:kp] = between
        a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
    if kstep == 2:
        if herm:
            a[k, k] = a[k, k].real
        a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]


def _eliminate_1x1(a, k: int, herm: bool) -> None:
    """A 1x1 pivot d = a[k, k]: A22 -= w w^T / d (w^H for Hermitian), then L's column is w / d. The whole
    trailing square is updated (only its lower triangle is ever read), in ?syr's order of operations."""
    n = a.shape[-1]
    if k == n - 1:
        return
    r1 = 1.0 / (a[k, k].real if herm else a[k, k])
    w = a[k + 1:, k].copy()
    a[k + 1:, k + 1:] += w[:, None] * (-r1 * (numpy.conj(w) if herm else w))[None, :]
    if herm:
        rest = numpy.arange(k + 1, n)
        a[rest, rest] = a[rest, rest].real
    a[k + 1:, k] = w * r1


def _eliminate_2x2(a, k: int, herm: bool) -> None:
    """A 2x2 pivot D on rows k, k+1: A22 -= W D^-1 W^T, L's two columns W D^-1, with ?sytf2's (?hetf2's)
    formulas for D^-1 (scaled by the off-diagonal entry, so that nothing overflows)."""
    n = a.shape[-1]
    if k >= n - 2:
        return
    wk0, wk1 = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
    if herm:
        d = abs(a[k + 1, k])
        d11 = a[k + 1, k + 1].real / d
        d22 = a[k, k].real / d
        tt = 1.0 / (d11 * d22 - 1.0)
        d21 = a[k + 1, k] / d
        d = tt / d
        lk0 = d * (d11 * wk0 - d21 * wk1)
        lk1 = d * (d22 * wk1 - numpy.conj(d21) * wk0)
        a[k + 2:, k + 2:] = a[k + 2:, k + 2:] - wk0[:, None] * numpy.conj(lk0)[None, :] - wk1[:, None] * numpy.conj(lk1)[None, :]
        rest = numpy.arange(k + 2, n)
        a[rest, rest] = a[rest, rest].real
    else:
        d21 = a[k + 1, k]
        d11 = a[k + 1, k + 1] / d21
        d22 = a[k, k] / d21
        t = 1.0 / (d11 * d22 - 1.0)
        d21 = t / d21
        lk0 = d21 * (d11 * wk0 - wk1)
        lk1 = d21 * (d22 * wk1 - wk0)
        a[k + 2:, k + 2:] = a[k + 2:, k + 2:] - wk0[:, None] * lk0[None, :] - wk1[:, None] * lk1[None, :]
    a[k + 2:, k] = lk0
    a[k + 2:, k + 1] = lk1


def _sytrs_lower(ld: numpy.ndarray, piv: numpy.ndarray, b: numpy.ndarray, hermitian: bool) -> numpy.ndarray:
    """X with A X = B for A = L D L^T (L D L^H) in ?sytrf's compact form: LAPACK's ?sytrs / ?hetrs, lower.
    First L D Y = P B, row by row (or 2x2 block by block) downwards, then L^T X = Y upwards, undoing the
    interchanges as they come."""
    n = ld.shape[-1]
    herm = hermitian and numpy.iscomplexobj(ld)
    conj = numpy.conj if herm else (lambda z: z)
    b = b.copy()
    k = 0
    while k < n:
        if piv[k] > 0:
            kp = piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            if k < n - 1:
                b[k + 1:] -= ld[k + 1:, k, None] * b[k]
            b[k] *= 1.0 / (ld[k, k].real if herm else ld[k, k])
            k += 1
        else:
            kp = -piv[k] - 1
            if kp != k + 1:
                b[[k + 1, kp]] = b[[kp, k + 1]]
            if k < n - 2:
                b[k + 2:] -= ld[k + 2:, k, None] * b[k]
                b[k + 2:] -= ld[k + 2:, k + 1, None] * b[k + 1]
            akm1k = ld[k + 1, k]
            akm1 = ld[k, k] / conj(akm1k)
            ak = ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1 = b[k] / conj(akm1k)
            bk = b[k + 1] / akm1k
            b[k] = (ak * bkm1 - bk) / denom
            b[k + 1] = (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:
        if k < n - 1:
            b[k] -= conj(ld[k + 1:, k]) @ b[k + 1:]
        if piv[k] > 0:
            kp = piv[k] - 1
            k_next = k - 1
        else:
            if k < n - 1:
                b[k - 1] -= conj(ld[k + 1:, k - 1]) @ b[k + 1:]
            kp = -piv[k] - 1
            k_next = k - 2
        if kp != k:
            b[[k, kp]] = b[[kp, k]]
        k = k_next
    return b


# The recorded ops ------------------------------------------------------------------------------------


def _not_differentiable(name: str):
    raise RuntimeError(f"derivative for aten::{name} is not implemented (in PyTorch either: the LDL "
                       "factorisation and its solve have no gradient)")


class LDLFactor(Op):
    """The factorisation of a batch, on the host; in the graph only to refuse backward, as PyTorch's."""

    complex_ok = True  # its backward raises for every dtype alike

    @staticmethod
    def forward(ctx, a, hermitian=False):
        backend = ctx.backend
        host = backend.to_numpy(a, "linalg.ldl_factor")
        batch, n = host.shape[:-2], host.shape[-1]
        count = math.prod(batch)
        flat = host.reshape((count, n, n))
        ld = numpy.empty_like(flat)
        piv = numpy.empty((count, n), numpy.int32)
        info = numpy.zeros(count, numpy.int32)
        for i in range(count):
            ld[i], piv[i], info[i] = _sytf2_lower(flat[i], hermitian)
        return (backend.asarray(ld.reshape(host.shape)), backend.asarray(piv.reshape(batch + (n,))),
                backend.asarray(info.reshape(batch)))

    @staticmethod
    def backward(ctx, gld, gpiv=None, ginfo=None):
        _not_differentiable("linalg_ldl_factor_ex")


class LDLSolve(Op):
    """The two substitutions of ?sytrs, matrix by matrix on the host (all of B's columns, and its batch
    when the factor is one matrix, at once); in the graph only to refuse backward."""

    complex_ok = True

    @staticmethod
    def forward(ctx, ld, b, piv=None, hermitian=False):
        backend = ctx.backend
        ld_h, piv_h, b_h = (backend.to_numpy(v, "linalg.ldl_solve") for v in (ld, piv, b))
        n, k = ld_h.shape[-1], b_h.shape[-1]
        batch = numpy.broadcast_shapes(ld_h.shape[:-2], b_h.shape[:-2])
        b_full = numpy.broadcast_to(b_h, batch + (n, k))
        count = math.prod(batch)  # not reshape(-1, ...): that is ambiguous for empty arrays
        if math.prod(ld_h.shape[:-2]) == 1:
            # One factor for the whole batch: B's batch joins its columns, one solve.
            cols = numpy.moveaxis(b_full.reshape((count, n, k)), 1, 0).reshape((n, count * k))
            x = _sytrs_lower(ld_h.reshape((n, n)), piv_h.reshape(n), cols, hermitian)
            x = numpy.moveaxis(x.reshape((n, count, k)), 0, 1).reshape(batch + (n, k))
        else:
            lds = numpy.broadcast_to(ld_h, batch + (n, n)).reshape((count, n, n))
            pivs = numpy.broadcast_to(piv_h, batch + (n,)).reshape((count, n))
            bs = b_full.reshape((count, n, k))
            x = numpy.empty((count, n, k), dtype=b_h.dtype)
            for i in range(count):
                x[i] = _sytrs_lower(lds[i], pivs[i], bs[i], hermitian)
            x = x.reshape(batch + (n, k))
        return backend.asarray(numpy.ascontiguousarray(x))

    @staticmethod
    def backward(ctx, gx):
        _not_differentiable("linalg_ldl_solve")


# Public functions -------------------------------------------------------------------------------------


def _require_input(op: str, name: str, t: Tensor) -> None:
    """PyTorch's checks on LD / A: a tensor of square matrices in float32/64 or complex64/128."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    dtype = t._array.dtype
    if dtype.kind not in "fcV":
        raise DTypeError(f"{op}: Expected a floating point or complex tensor as input. Got {t.dtype}")
    if dtype.name not in _DTYPES:
        raise DTypeError(f"{op}: not implemented for {t.dtype} tensors (as in PyTorch: float32, float64, complex64 "
                         "and complex128)")
    if t.ndim < 2:
        raise ShapeError(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    if t.shape[-1] != t.shape[-2]:
        raise ShapeError(f"{op}: {name} must be batches of square matrices, but they are {t.shape[-2]} by "
                         f"{t.shape[-1]} matrices")


def _factor(op: str, A: Tensor, hermitian: bool) -> tuple[Tensor, Tensor, Tensor]:
    _require_input(op, "A", A)
    return LDLFactor.apply(A, hermitian=bool(hermitian))


def _zero_pivot_message(op: str, info: Tensor, batch: tuple) -> str | None:
    host = info._backend.to_numpy(info._array, op).reshape(-1)
    bad = numpy.flatnonzero(host > 0)
    if bad.size == 0:
        return None
    b = int(bad[0])
    j = int(host[b])
    return (f"{op}: {_batch_prefix(batch, b)}D[{j},{j}] is zero (or NaN): the factorization was completed, but "
            "using it in ldl_solve would divide by zero. Call linalg.ldl_factor_ex to get the factors and info "
            "without this error")


def ldl_factor_ex(input: Tensor, *, hermitian: bool = False, check_errors: bool = False,
                  out=None) -> LDLFactorExResult:
    """(LD, pivots, info): the compact LDL factorisation of symmetric (``hermitian=True``: Hermitian)
    indefinite matrices (*, n, n), LAPACK sytrf's (Bunch-Kaufman, lower triangle; only A's lower triangle
    is read). LD holds L (unit lower, below the diagonal) and the 1x1 and 2x2 blocks of D; pivots (*, n)
    int32 are 1-based, a positive p at k: rows k and p were swapped and D has a 1x1 block there, a
    negative pair at k, k+1: rows k+1 and -p were swapped and D has a 2x2 block there. info (*) int32 is 0,
    or the 1-based index of a zero diagonal block of D; ``check_errors`` raises a LinAlgError then. Not
    differentiable (as in PyTorch). The matrix argument is ``input`` (PyTorch's documentation says A, its
    binding takes ``input=``)."""
    op = "torch.linalg.ldl_factor_ex"
    ld, piv, info = _factor(op, input, hermitian)
    if check_errors:
        message = _zero_pivot_message(op, info, tuple(input.shape[:-2]))
        if message:
            raise LinAlgError(message)
    return _write_tuple("linalg.ldl_factor_ex", LDLFactorExResult(ld, piv, info), out, LDLFactorExResult)


def ldl_factor(input: Tensor, *, hermitian: bool = False, out=None) -> LDLFactorResult:
    """(LD, pivots) as ``ldl_factor_ex``, raising a LinAlgError (naming the batch element and the zero
    block of D) when a matrix is singular. PyTorch 2.13 raises there too, with an internal-assert message
    ("Unknown error code: 1") rather than this one."""
    op = "torch.linalg.ldl_factor_ex"
    ld, piv, info = _factor(op, input, hermitian)
    message = _zero_pivot_message("torch.linalg.ldl_factor", info, tuple(input.shape[:-2]))
    if message:
        raise LinAlgError(message)
    return _write_tuple("linalg.ldl_factor", LDLFactorResult(ld, piv), out, LDLFactorResult)


def _check_pivots(op: str, pivots: Tensor, n: int) -> None:
    host = pivots._backend.to_numpy(pivots._array, op)
    if host.size == 0:
        return
    magnitude = numpy.abs(host.astype(numpy.int64))
    if bool((magnitude > n).any()):
        raise ArgumentError("Pivots given to ldl_solve must all satisfy |pivot| <= LD.size(-2). Did you properly pass "
                            "the result of ldl_factor?")
    if bool((magnitude < 1).any()):
        raise ArgumentError("Pivots given to ldl_solve must all satisfy |pivot| >= 1. Did you properly pass the "
                            "result of ldl_factor?")
    # A 2x2 block is a pair of equal negative pivots (sytrf writes both): anything else would make the
    # substitutions read outside the matrix or mix up blocks (LAPACK does not check; neither does PyTorch).
    for row in host.reshape((-1, n)).tolist():
        k = 0
        while k < n:
            if row[k] < 0:
                if k == n - 1 or row[k + 1] != row[k]:
                    raise ArgumentError(f"ldl_solve: pivots {row[k:k + 2]} at {k}: a 2x2 block of D has two equal "
                                        "negative pivots. Did you properly pass the result of ldl_factor?")
                k += 2
            else:
                k += 1


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out: Tensor | None = None) -> Tensor:
    """X with A X = B, from A's ``ldl_factor`` (LD, pivots) (``hermitian`` as it was factored); B (*, n, k)
    and LD's batch dims broadcast, pivots shaped LD.shape[:-1]. LAPACK sytrs's substitutions. Not
    differentiable (as in PyTorch)."""
    op = "torch.linalg.ldl_solve"
    _require_input(op, "A", LD)
    if not isinstance(pivots, Tensor) or pivots._array.dtype.kind not in "iu":
        got = pivots.dtype if isinstance(pivots, Tensor) else type(pivots).__name__
        raise DTypeError(f"{op}: Expected pivots to be integers. Got {got}")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise ShapeError(f"{op}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with shape "
                         f"{list(pivots.shape)} instead")
    if not isinstance(B, Tensor):
        raise TypeError(f"{op}: B must be a Tensor, got {type(B).__name__}")
    if B.ndim < 2:
        raise ShapeError(f"{op}: The input tensor B must have at least 2 dimensions, got shape {tuple(B.shape)}.")
    if B._array.dtype != LD._array.dtype:
        raise DTypeError(f"Expected b and A to have the same dtype, but found b of type {B.dtype} and A of type "
                         f"{LD.dtype} instead.")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise ShapeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {n} by {n} but each "
                         f"b matrix is {B.shape[-2]} by {B.shape[-1]}")
    try:
        numpy.broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of LD {tuple(LD.shape)} and B {tuple(B.shape)} do not broadcast") from None
    _check_pivots(op, pivots, n)
    x = LDLSolve.apply(LD, B, piv=pivots._array, hermitian=bool(hermitian))
    return write_out("linalg.ldl_solve", x, out)


# Exported through gpugrad/linalg.py only (torch has them as torch.linalg.* alone); not a family of
# gpugrad.ops: none is differentiable (in PyTorch either), so the op table has no rows for them.
