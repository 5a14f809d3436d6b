"""``F.grouped_mm``: PyTorch 2.13's grouped matrix product (mixture-of-experts layers), as one matmul per
group joined by ``cat`` / ``stack``, so that it is differentiable (to every order) through those ops.

The four forms, with ``offs`` the int32 ends of consecutive groups along one dimension:

    2-D (M, K) x 3-D (G, K, N), offs (G,) over M:  rows offs[g-1]:offs[g] of a times b[g]   -> (M, N)
    3-D (G, M, K) x 3-D (G, K, N), no offs:        a[g] @ b[g]                               -> (G, M, N)
    2-D (M, K) x 2-D (K, N), offs (G,) over K:     a[:, s:e] @ b[s:e] for each group         -> (G, M, N)
    3-D (G, M, K) x 2-D (K, N), offs (G,) over N:  a[g] @ b[:, offs[g-1]:offs[g]]            -> (M, N)

The results past the last offset are zeros (PyTorch leaves them unwritten); an empty group gives zeros.
"""
from __future__ import annotations

from .. import dtypes, factory
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from .linalg import matmul
from .shape import cat, stack

# PyTorch's CPU kernel takes float32, bfloat16 and float16; gpugrad takes float64 too (its gradchecks).
_DTYPES = (dtypes.float32, dtypes.bfloat16, dtypes.float16, dtypes.float64)


def _group_bounds(offs: Tensor, groups: int, total: int, what: str) -> list[tuple[int, int]]:
    """[(start, end)] of each group from the int32 ends in ``offs``, checked against the dim's size."""
    if offs.dtype is not dtypes.int32:
        raise DTypeError(f"grouped_mm: offsets have to be int32, got {offs.dtype}")
    if offs.ndim != 1:
        raise ShapeError(f"grouped_mm: offs has to be 1D, got shape {tuple(offs.shape)}")
    if offs.shape[0] != groups:
        raise ShapeError(f"grouped_mm: matrix batch sizes have to match: offs has {offs.shape[0]} groups, the 3-d "
                         f"operand {groups}")
    ends = [int(v) for v in offs.tolist()]
    start = 0
    bounds = []
    for end in ends:
        if end < start or end > total:
            raise ArgumentError(f"grouped_mm: offs must be non-decreasing and at most the size of {what} ({total}), "
                                f"got {ends}")
        bounds.append((start, end))
        start = end
    return bounds


def grouped_mm(mat_a: Tensor, mat_b: Tensor, *, offs: Tensor | None = None, bias: Tensor | None = None,
               out_dtype=None) -> Tensor:
    """The grouped matrix product of ``mat_a`` and ``mat_b`` (module docstring: the four forms). ``offs``
    (int32, 1-D) is needed when either operand is 2-D and refused when both are 3-D; ``bias`` is refused
    and ``out_dtype`` must be the inputs' dtype, as PyTorch's CPU kernel has them."""
    for name, m in (("mat_a", mat_a), ("mat_b", mat_b)):
        if not isinstance(m, Tensor):
            raise TypeError(f"grouped_mm(): {name} must be a Tensor, got {type(m).__name__}")
        if m.ndim not in (2, 3):
            raise ShapeError(f"grouped_mm: {name} has to be 2 or 3d, got shape {tuple(m.shape)}")
        if m.dtype not in _DTYPES:
            raise DTypeError(f"grouped_mm: expected {name} to be a float32, bfloat16, float16 or float64 matrix, "
                             f"got {m.dtype}")
    if mat_a.dtype is not mat_b.dtype:
        raise DTypeError(f"grouped_mm: expected mat_a and mat_b to have the same dtype, got {mat_a.dtype} and "
                         f"{mat_b.dtype}")
    if bias is not None:
        raise NotImplementedError("grouped_mm: bias is not supported (as in PyTorch 2.13)")
    if out_dtype is not None and dtypes.to_dtype(out_dtype) is not mat_a.dtype:
        raise DTypeError(f"grouped_mm: the output dtype must match mat_a's dtype ({mat_a.dtype}), got {out_dtype}")
    if (offs is None) != (mat_a.ndim == 3 and mat_b.ndim == 3):
        raise ArgumentError("grouped_mm: have to provide offsets if there is a 2d matrix, or no offset if both "
                            "matrices are 3d")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise ShapeError(f"grouped_mm: contraction dimension of mat_a and mat_b must match, got shapes "
                         f"{tuple(mat_a.shape)} and {tuple(mat_b.shape)}")
    if mat_a.ndim == 3 and mat_b.ndim == 3:
        if mat_a.shape[0] != mat_b.shape[0]:
            raise ShapeError(f"grouped_mm: batched dimension has to match, got shapes {tuple(mat_a.shape)} and "
                             f"{tuple(mat_b.shape)}")
        return matmul(mat_a, mat_b)
    if mat_a.ndim == 2 and mat_b.ndim == 3:  # groups of rows of a
        bounds = _group_bounds(offs, mat_b.shape[0], mat_a.shape[0], "mat_a's rows")
        pieces = [matmul(mat_a[s:e], mat_b[g]) for g, (s, e) in enumerate(bounds)]
        return _with_tail(pieces, mat_a.shape[0] - bounds[-1][1] if bounds else mat_a.shape[0],
                          (mat_b.shape[2],), 0, mat_a)
    if mat_a.ndim == 3:  # 3-d x 2-d: groups of columns of b
        bounds = _group_bounds(offs, mat_a.shape[0], mat_b.shape[1], "mat_b's columns")
        pieces = [matmul(mat_a[g], mat_b[:, s:e]) for g, (s, e) in enumerate(bounds)]
        return _with_tail(pieces, mat_b.shape[1] - bounds[-1][1] if bounds else mat_b.shape[1],
                          (mat_a.shape[1],), 1, mat_a)
    # 2-d x 2-d: groups along the contraction dim, one (M, N) product each
    bounds = _group_bounds(offs, offs.shape[0] if offs.ndim == 1 else -1, mat_a.shape[1], "the contraction dim")
    m, n = mat_a.shape[0], mat_b.shape[1]
    products = [matmul(mat_a[:, s:e], mat_b[s:e]) if e > s else _zeros((m, n), mat_a) for s, e in bounds]
    return stack(products) if products else _zeros((0, m, n), mat_a)


def _zeros(shape: tuple, like: Tensor) -> Tensor:
    return factory.zeros(shape, dtype=like.dtype, device=like.device)


def _with_tail(pieces: list, rest: int, other: tuple, dim: int, like: Tensor) -> Tensor:
    """``pieces`` joined along ``dim``, then ``rest`` zeros along it (the part past the last offset)."""
    if rest:
        pieces.append(_zeros((rest,) + other if dim == 0 else other + (rest,), like))
    if not pieces:
        return _zeros((0,) + other if dim == 0 else other + (0,), like)
    return cat(pieces, dim) if len(pieces) > 1 else pieces[0]
