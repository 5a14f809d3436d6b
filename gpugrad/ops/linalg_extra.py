"""The rest of ``torch.linalg`` that is built from other ops: ``multi_dot``, ``cond``, ``cholesky_ex``,
``vander``, ``diagonal``, ``tensorinv``, ``tensorsolve`` and ``householder_product``.

Each is a composition of differentiable ops (matmul, solves, norms, cumprod, reshapes), so none has a
backward of its own and second derivatives come for free.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy

from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from ._operands import write_out
from .linalg import (
    LinAlgError,
    _batch_prefix,
    _constant,
    _ignored,
    _require_float,
    _require_matrices,
    linalg_cholesky,
    linalg_inv,
    linalg_svd,
    linalg_svdvals,
    matrix_norm,
    solve,
)
from .linalg_lu import inv_ex

CholeskyExResult = namedtuple("linalg_cholesky_ex", ["L", "info"])


def multi_dot(tensors, *, out: Tensor | None = None) -> Tensor:
    """The product of a chain of matrices, multiplied in the order that costs fewest flops (the classic
    matrix-chain dynamic programme, as PyTorch). The first may be a 1-D row vector and the last a 1-D
    column vector; their dim is dropped from the result. Differentiable as matmul."""
    mats = list(tensors)
    n = len(mats)
    if n < 2:
        raise ArgumentError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(mats):
        if not isinstance(t, Tensor):
            raise TypeError(f"multi_dot(): tensor {i} must be a Tensor, got {type(t).__name__}")
    for i, t in enumerate(mats):
        label = "the first tensor" if i == 0 else "the last tensor" if i == n - 1 else f"tensor {i}"
        allowed = (1, 2) if i in (0, n - 1) else (2,)
        if t.ndim not in allowed:
            raise ShapeError(f"multi_dot(): {label} must be {' or '.join(f'{d}D' for d in allowed)} but got {t.ndim}D")
        if t._array.dtype != mats[0]._array.dtype:
            raise DTypeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is {mats[0].dtype} "
                             f"and tensor {i} is {t.dtype}")
    row, column = mats[0].ndim == 1, mats[-1].ndim == 1
    if row:
        mats[0] = mats[0].unsqueeze(0)
    if column:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i in range(n - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise ShapeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(mats[i].shape)} and "
                             f"{list(mats[i + 1].shape)} cannot be multiplied")
    split = _chain_order([mats[0].shape[0]] + [t.shape[1] for t in mats])

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        s = split[i][j]
        return product(i, s) @ product(s + 1, j)

    result = product(0, n - 1)
    if row:
        result = result.squeeze(0)
    if column:
        result = result.squeeze(-1)
    return write_out("linalg.multi_dot", result, out)


def _chain_order(dims: list) -> list:
    """split[i][j]: where the cheapest product of matrices i..j (matrix t is dims[t] x dims[t + 1]) is
    cut in two; the first of equally cheap cuts."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


_COND_ORDS = (2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc")


def _ord_name(p) -> str:
    if isinstance(p, str):
        return p
    return str(int(p)) if math.isfinite(p) else ("inf" if p > 0 else "-inf")


def linalg_cond(A: Tensor, p=None, *, out: Tensor | None = None) -> Tensor:
    """The condition number of each matrix in the norm p: None and 2 (the default) s_max / s_min, -2
    s_min / s_max (from the singular values, any shape), else (square A) ||A||_p ||A^-1||_p, which is inf
    for a singular A ('nuc': sum(s) sum(1 / s)), as PyTorch. 0 for empty matrices. Differentiable (svdvals,
    inv and norms)."""
    op = "linalg.cond"
    if A.ndim < 2:
        raise ShapeError(f"{op}: The input tensor must have at least 2 dimensions.")
    p = 2 if p is None else p
    if isinstance(p, bool) or (not isinstance(p, str) and not isinstance(p, (int, float))) or p not in _COND_ORDS:
        raise ArgumentError(f"{op} got an invalid norm type: {p}")
    _require_float(op, A)
    square = A.shape[-1] == A.shape[-2]
    if isinstance(p, str) and not square:  # PyTorch checks the string orders' shape before emptiness
        raise ShapeError(f"{op}(ord={p}): A must be batches of square matrices, but they are {A.shape[-2]} by "
                         f"{A.shape[-1]} matrices")
    if A.numel() == 0:  # NumPy does not define it; PyTorch gives 0
        return write_out(op, _constant(A, A._backend.xp.zeros(tuple(A.shape[:-2]), dtype=A._array.dtype)), out)
    if p == "nuc":  # from the singular values, as PyTorch (matrix_norm would meet inf entries)
        s = linalg_svdvals(A)
        return write_out(op, s.sum(-1) * s.reciprocal().sum(-1), out)
    if not isinstance(p, str) and abs(p) == 2:
        s = linalg_svdvals(A)
        largest, smallest = s[..., 0], s[..., -1]
        return write_out(op, largest / smallest if p == 2 else smallest / largest, out)
    if not square:
        raise ShapeError(f"{op}(ord={_ord_name(p)}): A must be batches of square matrices, but they are "
                         f"{A.shape[-2]} by {A.shape[-1]} matrices")
    from .elementwise import where

    inverse, info = inv_ex(A)
    singular = info._array > 0
    if bool(singular.any()):
        inverse = where(_constant(A, singular[..., None, None]), math.inf, inverse)
    result = matrix_norm(A, p) * matrix_norm(inverse, p)
    return write_out(op, where(result.isnan(), math.inf, result), out)  # 0 * inf: inf, as NumPy


def _potf2(m) -> tuple:
    """LAPACK's unblocked Cholesky (potf2) of one host matrix's lower triangle, stopping where it fails:
    (the factor so far, info). At failure, column info-1 holds the non-positive pivot, the columns after
    it A's own entries: what PyTorch's cholesky_ex returns there."""
    n = m.shape[0]
    a = numpy.tril(m).copy()
    for j in range(n):
        ajj = a[j, j] - a[j, :j] @ a[j, :j]
        if not ajj > 0:  # NaN fails too
            a[j, j] = ajj
            return a, j + 1
        a[j, j] = math.sqrt(ajj)
        a[j + 1 :, j] = (a[j + 1 :, j] - a[j + 1 :, :j] @ a[j, :j]) / a[j, j]
    return a, 0


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None) -> CholeskyExResult:
    """(L, info): ``linalg.cholesky`` that reports matrices that are not positive-definite in info (the
    order of the first leading minor that is not, int32; 0 for the others) instead of raising; their L is
    LAPACK's partial factor (a constant, no gradient). check_errors raises as cholesky does.
    Differentiable as cholesky where info is 0."""
    op = "linalg.cholesky_ex"
    _require_float(op, A)
    _require_matrices(op, A, square=True)
    xp, backend = A._backend.xp, A._backend
    batch = tuple(A.shape[:-2])
    try:
        factor = linalg_cholesky(A, upper=upper)
        info = _constant(A, xp.zeros(batch, dtype=xp.int32))
    except LinAlgError:
        source = A.mT if upper else A  # the triangle cholesky reads, as a lower one
        n = A.shape[-1]
        mats = backend.to_numpy(source._array, op).reshape((-1, n, n))
        partial, infos = numpy.empty_like(mats), numpy.zeros(len(mats), dtype=numpy.int32)
        for b, m in enumerate(mats):
            partial[b], infos[b] = _potf2(m)
            if infos[b] == 0:
                try:
                    numpy.linalg.cholesky(m)
                except numpy.linalg.LinAlgError:  # LAPACK's rounding failed where ours did not
                    infos[b] = n
        if check_errors:
            b = int(numpy.flatnonzero(infos)[0])
            raise LinAlgError(f"{op}: {_batch_prefix(batch, b)}The factorization could not be completed because the "
                              f"input is not positive-definite (the leading minor of order {infos[b]} is not "
                              "positive-definite).") from None
        from .elementwise import where

        # The good matrices through the recorded factorisation (their gradient); identities stand in for
        # the failed ones, whose result is the constant partial factor.
        failed = _constant(A, xp.asarray(infos.reshape(batch + (1, 1)) != 0))
        eye = _constant(A, xp.eye(n, dtype=A._array.dtype))
        good = linalg_cholesky(where(failed, eye, source))
        factor = where(failed, _constant(A, xp.asarray(partial.reshape(tuple(A.shape)))), good)
        factor = factor.mT if upper else factor
        info = _constant(A, xp.asarray(infos.reshape(batch)))
    if out is not None:
        write_out(op, factor, out[0])
        write_out(op, info, out[1])
        return CholeskyExResult(out[0], out[1])
    return CholeskyExResult(factor, info)


def linalg_vander(x: Tensor, N: int | None = None) -> Tensor:
    """``torch.linalg.vander``: (*, n) -> (*, n, N), column j the j-th powers x^j (increasing, from
    x^0 = 1); N defaults to n and must exceed 1. Integer inputs give int64 (as cumprod). Made with
    cumprod, so differentiable."""
    from .cumulative import cumprod
    from .shape import cat

    dtype = x._array.dtype
    if dtype.kind not in "fiu" or (dtype.kind in FLOAT_KINDS and dtype.itemsize < 4):
        raise DTypeError(f"linalg.vander supports floating point, complex, and integer tensors, but got {x.dtype}")
    base = x.unsqueeze(-1) if x.ndim == 0 else x
    n = base.shape[-1] if N is None else N
    if not isinstance(n, int) or isinstance(n, bool) or n <= 1:
        raise ArgumentError(f"linalg.vander: N must be greater than 1, got {n}")
    powers = cumprod(base.unsqueeze(-1).expand(*base.shape, n - 1), -1)
    ones = _constant(powers, base._backend.xp.ones(tuple(base.shape) + (1,), dtype=powers._array.dtype))
    return cat([ones, powers], -1)


def linalg_diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.linalg.diagonal``: ``diagonal`` over the last two dims by default (a view)."""
    from .shape import diagonal

    return diagonal(A, offset, dim1, dim2)


def tensorinv(A: Tensor, ind: int = 2, *, out: Tensor | None = None) -> Tensor:
    """The inverse of A read as a map from its last dims to its first ``ind`` dims: X of shape
    A.shape[ind:] + A.shape[:ind] with tensordot(X, A, ind) the identity. linalg.inv of A reshaped to a
    square matrix, so differentiable."""
    op = "linalg.tensorinv"
    if not isinstance(ind, int) or isinstance(ind, bool) or ind <= 0:
        raise ArgumentError(f"{op}: Expected a strictly positive integer for 'ind', but got {ind}")
    _require_float(op, A)
    head, tail = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    rows, cols = math.prod(head), math.prod(tail)
    if rows != cols:
        raise ShapeError(f"{op}: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                         f"prod(self.shape[:ind]), but got {cols} != {rows} (shape {tuple(A.shape)}, ind={ind})")
    try:
        inverse = linalg_inv(A.reshape(rows, cols))
    except LinAlgError as exc:
        raise LinAlgError(str(exc).replace("linalg.inv:", f"{op}:", 1)) from None
    return write_out(op, inverse.reshape(tail + head), out)


def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out: Tensor | None = None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B: X has shape A.shape[B.ndim:] (after the dims in ``dims`` are
    moved to the end of A). linalg.solve of A reshaped to a square matrix, so differentiable."""
    op = "linalg.tensorsolve"
    from .shape import movedim

    a = A
    if dims is not None:
        source = [dims] if isinstance(dims, int) else list(dims)
        a = movedim(A, source, list(range(A.ndim - len(source), A.ndim)))
    result_shape = tuple(a.shape[B.ndim :])
    size, rhs = math.prod(result_shape), B.numel()
    if size != rhs:
        raise ShapeError(f"{op}: Expected prod(A.shape[B.ndim:]) == prod(B.shape), but got {size} != {rhs} "
                         f"(shapes {tuple(A.shape)} and {tuple(B.shape)}, dims={dims})")
    x = solve(a.reshape(size, size), B.flatten())
    return write_out(op, x.reshape(result_shape), out)


def householder_product(A: Tensor, tau: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i column i of A (*, m, n) below
    the diagonal with 1 on it (what geqrf leaves: then this is QR's Q), k = tau.shape[-1] <= n <= m.
    Applied reflector by reflector to the identity, in products, so differentiable in A and tau (A's
    diagonal and upper triangle get zero gradients: they are not read)."""
    op = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dimensions.")
    m, n = A.shape[-2], A.shape[-1]
    if m < n:
        raise ShapeError(f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if tau.ndim >= 1 and n < tau.shape[-1]:
        raise ShapeError(f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise ShapeError(f"{op}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                         f"{tau.ndim} and input.ndim is equal to {A.ndim}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise ShapeError(f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                         f"{list(tau.shape[:-1])}")
    _require_float(op, A)
    if tau._array.dtype != A._array.dtype:
        raise DTypeError(f"{op}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    xp, k = A._backend.xp, tau.shape[-1]
    q = _constant(A, xp.eye(m, n, dtype=A._array.dtype))
    if k == 0:
        return write_out(op, _ignored(A) + q, out)
    reflectors = A[..., :, :k].tril(-1) + _constant(A, xp.eye(m, k, dtype=A._array.dtype))
    for i in reversed(range(k)):  # H_1 (H_2 (... (H_k I)))
        v = reflectors[..., :, i : i + 1]
        q = q - (v * tau[..., i : i + 1].unsqueeze(-1)) @ (v.mT @ q)
    return write_out(op, q, out)


# What this family exports (all through gg.linalg: none has a top-level torch namesake of this form).
def svd_lowrank(A: Tensor, q: int | None = 6, niter: int = 2, M: Tensor | None = None):
    """(U, S, V) of rank q with A - M ~ U diag(S) V^T. PyTorch computes them by randomized subspace
    iteration (``niter`` steps); gpugrad takes the exact truncated SVD, the limit that iteration tends to
    (so its values are as good or better, and not random). Differentiable as ``linalg.svd``."""
    if A.ndim < 2:
        raise ShapeError(f"svd_lowrank: expected a matrix or a batch of matrices, got shape {tuple(A.shape)}")
    X = A if M is None else A - M
    q = min(X.shape[-2:]) if q is None else q
    if not 0 <= q <= min(X.shape[-2:]):
        raise ArgumentError(f"svd_lowrank: q={q} must be in [0, {min(X.shape[-2:])}] for shape {tuple(X.shape)}")
    U, S, Vh = linalg_svd(X, full_matrices=False)
    return U[..., :q], S[..., :q], Vh.mT[..., :q]


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2):
    """(U, S, V) of the principal components of the rows of A (its columns centred first, by default);
    q defaults to min(6, m, n). The exact truncated SVD, as ``svd_lowrank``."""
    if A.ndim < 2:
        raise ShapeError(f"pca_lowrank: expected a matrix or a batch of matrices, got shape {tuple(A.shape)}")
    q = min(6, *A.shape[-2:]) if q is None else q
    return svd_lowrank(A - A.mean(dim=-2, keepdim=True) if center else A, q, niter)


FUNCTIONS = (svd_lowrank, pca_lowrank)
DIFFERENTIABLE = (multi_dot, linalg_cond, cholesky_ex, linalg_vander, linalg_diagonal, tensorinv, tensorsolve,
                  householder_product, svd_lowrank, pca_lowrank)
METHODS = {}
