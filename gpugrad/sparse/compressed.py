"""Sparse compressed tensors: CSR and CSC matrices (``gg.sparse_csr_tensor``, ``gg.sparse_csc_tensor``,
``x.to_sparse_csr()`` / ``x.to_sparse_csc()``), as graph libraries build adjacency matrices.

A ``SparseCompressedTensor`` is a 2-d sparse matrix kept as coo.py's ``SparseTensor`` keeps one: an
int64 ``(2, nnz)`` array of (row, column) indices and a values Tensor that carries the autograd graph,
here in the layout's order (row by row for CSR, column by column for CSC). The compressed pointers
(``crow_indices`` / ``ccol_indices``) are computed from those indices when asked for. So everything coo.py
does with the indices and values (``to_dense``, the products with a dense matrix, ``sum``, scaling by a
number, the moves and casts) works unchanged; ``t()`` turns CSR into CSC and back without moving data,
as PyTorch's does. ``gg.sparse.mm`` takes PyTorch's ``reduce`` ("sum", "mean", "amax"/"max",
"amin"/"min"), computed with ``scatter_reduce`` (so it is differentiable in both operands).

Differences from PyTorch: no batch dimensions; dense dimensions (hybrid matrices, one vector per
entry) are built, converted and made dense, but not multiplied; no block layouts
(``sparse_bsr`` / ``sparse_bsc``), and the invariants are always checked at construction.
"""
from __future__ import annotations

import numpy

from .. import dtypes, factory, layouts
from ..errors import ShapeError
from ..tensor import Tensor
from .coo import SparseLayoutError, SparseTensor, _runs, to_sparse, values_tensor
from .coo import index_select as coo_index_select
from .coo import mm as _mm_sum

sparse_csr, sparse_csc = layouts.sparse_csr, layouts.sparse_csc


class SparseCompressedTensor(SparseTensor):
    """A 2-d CSR or CSC matrix (``layout`` says which); see the module's docstring."""

    is_sparse = False  # as PyTorch's: only COO tensors answer True

    @classmethod
    def _compressed(cls, layout, indices, values: Tensor, size: tuple) -> SparseCompressedTensor:
        """From (row, column) ``indices`` already in ``layout``'s order."""
        t = cls._from_parts(indices, values, size, False)
        t._layout = layout
        return t

    @property
    def layout(self):
        return self._layout

    @property
    def is_sparse_csr(self) -> bool:
        return self._layout is sparse_csr

    def _with_values(self, values: Tensor) -> SparseCompressedTensor:
        return SparseCompressedTensor._compressed(self._layout, self._sparse_indices, values, self._sparse_size)

    def clone(self, *, memory_format=None) -> SparseCompressedTensor:
        return SparseCompressedTensor._compressed(self._layout, self._sparse_indices.copy(),
                                                  self._sparse_values.clone(), self._sparse_size)

    def __deepcopy__(self, memo: dict) -> SparseCompressedTensor:
        copied = memo.get(id(self))
        if copied is None:
            copied = memo[id(self)] = SparseCompressedTensor._compressed(
                self._layout, self._sparse_indices.copy(), self._sparse_values.__deepcopy__(memo), self._sparse_size)
        return copied

    def to(self, *args, **kwargs) -> SparseCompressedTensor:
        moved = SparseTensor.to(self, *args, **kwargs)
        if moved is self:
            return self
        return SparseCompressedTensor._compressed(self._layout, moved._sparse_indices, moved._sparse_values,
                                                  self._sparse_size)

    # --- parts, by layout ---
    def _pointers(self, axis: int, what: str) -> Tensor:
        """The compressed pointers along ``axis`` (0: rows, CSR's; 1: columns, CSC's)."""
        if (axis == 0) != (self._layout is sparse_csr):
            raise RuntimeError(f"{what} expected sparse {'row' if axis == 0 else 'column'} compressed tensor "
                               f"layout but got {self._layout.name.replace('sparse_', '').capitalize()}")
        xp = self._backend.xp
        counts = xp.bincount(self._sparse_indices[axis], minlength=self._sparse_size[axis])
        pointers = xp.concatenate([xp.zeros(1, xp.int64), xp.cumsum(counts).astype(xp.int64)])
        return Tensor._make(pointers, self._backend)

    def _plain(self, axis: int, what: str) -> Tensor:
        if (axis == 1) != (self._layout is sparse_csr):
            raise RuntimeError(f"{what} expected sparse {'row' if axis == 1 else 'column'} compressed tensor "
                               f"layout but got {self._layout.name.replace('sparse_', '').capitalize()}")
        return Tensor._make(self._sparse_indices[axis].copy(), self._backend)

    def crow_indices(self) -> Tensor:
        """CSR's row pointers: row ``i``'s entries are ``col_indices()[crow[i]:crow[i + 1]]``."""
        return self._pointers(0, "crow_indices")

    def col_indices(self) -> Tensor:
        return self._plain(1, "col_indices")

    def ccol_indices(self) -> Tensor:
        """CSC's column pointers: column ``j``'s entries are ``row_indices()[ccol[j]:ccol[j + 1]]``."""
        return self._pointers(1, "ccol_indices")

    def row_indices(self) -> Tensor:
        return self._plain(0, "row_indices")

    def values(self) -> Tensor:
        """The nnz values in the layout's order (differentiable)."""
        return self._sparse_values

    def indices(self) -> Tensor:
        raise RuntimeError(f"indices: expected a sparse COO tensor, got layout {self._layout}")

    def coalesce(self) -> SparseTensor:
        raise RuntimeError(f"coalesce: expected a sparse COO tensor, got layout {self._layout}")

    def is_coalesced(self) -> bool:
        raise RuntimeError(f"is_coalesced: expected a sparse COO tensor, got layout {self._layout}")

    # --- between layouts ---
    def to_sparse(self, sparse_dim: int | None = None, *, layout=None, blocksize=None, dense_dim=None) -> SparseTensor:
        return _to_layout(self, layouts.sparse_coo if layout is None else layout, "to_sparse")

    def to_sparse_coo(self) -> SparseTensor:
        return SparseTensor._from_parts(self._sparse_indices, self._sparse_values, self._sparse_size, False).coalesce()

    def index_select(self, dim: int, index: Tensor) -> SparseCompressedTensor:
        """The rows (dim 0) or columns (dim 1) at ``index``, in this layout."""
        return _to_layout(coo_index_select(self, dim, index), self._layout, "index_select")

    def t(self) -> SparseCompressedTensor:
        """The transpose in the other layout, the same arrays (CSR's row order is CSC's column order)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        other = sparse_csc if self._layout is sparse_csr else sparse_csr
        return SparseCompressedTensor._compressed(other, self._sparse_indices[::-1].copy(), self._sparse_values,
                                                  self._sparse_size[::-1])

    def transpose(self, dim0: int, dim1: int) -> SparseCompressedTensor:
        return self if dim0 % 2 == dim1 % 2 else self.t()

    def __repr__(self) -> str:
        compressed, plain = (("crow_indices", "col_indices") if self._layout is sparse_csr
                             else ("ccol_indices", "row_indices"))
        pointers, other = getattr(self, compressed)(), getattr(self, plain)()
        dtype = "" if self.dtype is dtypes.default_float else f", dtype={self.dtype}"
        grad = ", requires_grad=True" if self.requires_grad and self.is_leaf else ""
        return (f"tensor({compressed}={pointers!r},\n       {plain}={other!r},\n"
                f"       values={self._sparse_values.detach()!r}, size={self._sparse_size}, nnz={self._nnz()}{dtype},\n"
                f"       layout=torch.{self._layout.name}{grad})")


def _in_order(indices, values: Tensor, backend, by_column: bool):
    """The (row, column) indices and values sorted by row (or by column), stably."""
    xp = backend.xp
    key = indices[1] if by_column else indices[0]
    order = xp.argsort(key, kind="stable")
    return indices[:, order], values.index_select(0, Tensor._make(order.astype(xp.int64), backend))


def _to_layout(x: Tensor, layout, op: str) -> Tensor:
    """``x`` (dense, COO or compressed) as a sparse tensor of ``layout``."""
    if layout is layouts.sparse_coo:
        return x.to_sparse_coo() if isinstance(x, SparseTensor) else to_sparse(x)
    if layout not in (sparse_csr, sparse_csc):
        raise NotImplementedError(f"{op}: layout={layout} is not supported here; only torch.sparse_coo, "
                                  "torch.sparse_csr and torch.sparse_csc")
    if isinstance(x, SparseCompressedTensor):
        if x._layout is layout:
            return x
        indices, values = _in_order(x._sparse_indices, x._sparse_values, x._backend, layout is sparse_csc)
        return SparseCompressedTensor._compressed(layout, indices, values, x._sparse_size)
    if (x.sparse_dim() if isinstance(x, SparseTensor) else x.ndim) != 2:
        raise SparseLayoutError(f"{op}: only matrices (2 sparse dims, no batch dims; a COO tensor may have dense "
                                f"dims) can be made {layout.name} here, got shape {tuple(x.shape)}")
    coo = x.coalesce() if isinstance(x, SparseTensor) else to_sparse(x)  # row-major: CSR's order
    indices, values = coo._sparse_indices, coo._sparse_values
    if layout is sparse_csc:
        indices, values = _in_order(indices, values, coo._backend, True)
    return SparseCompressedTensor._compressed(layout, indices, values, tuple(x.shape))


def to_sparse_csr(x: Tensor, dense_dim: int | None = None) -> Tensor:
    """``x`` as a CSR matrix (from a dense matrix, a COO or a CSC one); differentiable in the values."""
    if dense_dim:
        raise NotImplementedError("to_sparse_csr: dense dimensions are not supported here")
    return _to_layout(x, sparse_csr, "to_sparse_csr")


def to_sparse_csc(x: Tensor, dense_dim: int | None = None) -> Tensor:
    """``x`` as a CSC matrix (from a dense matrix, a COO or a CSR one); differentiable in the values."""
    if dense_dim:
        raise NotImplementedError("to_sparse_csc: dense dimensions are not supported here")
    return _to_layout(x, sparse_csc, "to_sparse_csc")


def _host(x, op: str, what: str) -> numpy.ndarray:
    array = x._backend.to_numpy(x._array, op) if isinstance(x, Tensor) else numpy.asarray(x)
    if array.ndim != 1:
        raise ShapeError(f"{op}: {what} must be 1-d (batch dimensions are not supported here), got shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: {what} must be an int32 or int64 tensor, got {array.dtype}")
    return array.astype(numpy.int64)


def _compressed_tensor(op: str, layout, pointers, plain, values, size, dtype, device,
                       requires_grad: bool) -> SparseCompressedTensor:
    ptr, other = _host(pointers, op, "the compressed indices"), _host(plain, op, "the plain indices")
    compressed_axis = 0 if layout is sparse_csr else 1
    value_tensor = values_tensor(values, dtype, device)
    if value_tensor.ndim == 0:
        raise ShapeError(f"{op}: values must have at least one dim (nnz, *dense dims), got a 0-d tensor")
    dense_shape = tuple(value_tensor.shape[1:])  # each entry's own dims: a hybrid matrix's dense dims
    if ptr.size == 0 or ptr[0] != 0 or (numpy.diff(ptr) < 0).any() or ptr[-1] != other.size:
        raise RuntimeError(f"{op}: the compressed indices must start at 0, not decrease and end at nnz ({other.size})")
    if value_tensor.shape[0] != other.size:
        raise RuntimeError(f"{op}: the plain indices have {other.size} entries and the values {value_tensor.shape[0]}")
    if size is None:
        extent = int(other.max()) + 1 if other.size else 0
        size = ((ptr.size - 1, extent) if compressed_axis == 0 else (extent, ptr.size - 1)) + dense_shape
    size = tuple(int(n) for n in size)
    if len(size) != 2 + len(dense_shape) or size[2:] != dense_shape:
        raise ShapeError(f"{op}: the size must be 2 sparse dims then the values' dense dims {dense_shape} "
                         f"(no batch dims here), got size {size}")
    if size[compressed_axis] != ptr.size - 1:
        raise RuntimeError(f"{op}: the compressed indices have {ptr.size} entries for size {size}: expected "
                           f"{size[compressed_axis] + 1}")
    if other.size and (other.min() < 0 or other.max() >= size[1 - compressed_axis]):
        raise RuntimeError(f"{op}: the plain indices must lie in [0, {size[1 - compressed_axis]}) for size {size}")
    along = numpy.repeat(numpy.arange(ptr.size - 1, dtype=numpy.int64), numpy.diff(ptr))
    rows_cols = (along, other) if compressed_axis == 0 else (other, along)
    backend = value_tensor._backend
    out = SparseCompressedTensor._compressed(layout, backend.asarray(numpy.stack(rows_cols)), value_tensor, size)
    if requires_grad:
        out.requires_grad_(True)
    return out


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad: bool = False, check_invariants=None) -> SparseCompressedTensor:
    """A CSR matrix: row ``i`` holds ``values[crow[i]:crow[i + 1]]`` at columns ``col_indices[crow[i]:crow[i + 1]]``."""
    return _compressed_tensor("sparse_csr_tensor", sparse_csr, crow_indices, col_indices, values, size, dtype, device,
                              requires_grad)


def sparse_csc_tensor(ccol_indices, row_indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad: bool = False, check_invariants=None) -> SparseCompressedTensor:
    """A CSC matrix: column ``j`` holds ``values[ccol[j]:ccol[j + 1]]`` at rows ``row_indices[ccol[j]:ccol[j + 1]]``."""
    return _compressed_tensor("sparse_csc_tensor", sparse_csc, ccol_indices, row_indices, values, size, dtype, device,
                              requires_grad)


def _convert_indices_from_coo_to_csr(input: Tensor, size: int, *, out_int32: bool = False) -> Tensor:
    """The ``size + 1`` pointers of sorted row indices ``input``: entry ``i`` counts the indices below ``i``."""
    xp = input._backend.xp
    counts = xp.bincount(input._array.astype(xp.int64), minlength=size)[:size]
    pointers = xp.concatenate([xp.zeros(1, xp.int64), xp.cumsum(counts)])
    return Tensor._make(pointers.astype(xp.int32 if out_int32 else xp.int64), input._backend)


def _convert_indices_from_csr_to_coo(crow_indices: Tensor, col_indices: Tensor, *, out_int32: bool = False,
                                     transpose: bool = False) -> Tensor:
    """The (2, nnz) row and column indices of CSR pointers and columns (columns first when ``transpose``)."""
    xp = crow_indices._backend.xp
    pointers = crow_indices._array.astype(xp.int64)
    rows, _ = _runs(xp, xp.diff(pointers))
    cols = col_indices._array.astype(xp.int64)
    out = xp.stack([cols, rows] if transpose else [rows, cols])
    return Tensor._make(out.astype(xp.int32 if out_int32 else xp.int64), crow_indices._backend)


# torch.sparse.mm's reduce names -> scatter_reduce's
_REDUCE = {"sum": "sum", "mean": "mean", "amax": "amax", "max": "amax", "amin": "amin", "min": "amin"}


def mm_reduce(sparse: SparseTensor, dense: Tensor, reduce: str) -> Tensor:
    """Row ``i`` of the result reduces ``value * dense[col]`` over row ``i``'s entries by ``reduce``; rows
    without entries are 0 (``torch.sparse.mm(sparse, dense, reduce)``)."""
    if reduce not in _REDUCE:
        raise RuntimeError(f"sparse_mm_reduce: reduce type of {reduce} has not been enabled.")
    if sparse.ndim != 2 or dense.ndim != 2 or sparse.shape[1] != dense.shape[0]:
        raise ShapeError(f"sparse.mm: shapes {tuple(sparse.shape)} and {tuple(dense.shape)} cannot be multiplied")
    rows, cols = sparse._indices().unbind(0)
    contributions = dense.index_select(0, cols) * sparse._sparse_values.unsqueeze(1)
    out = factory.zeros(sparse.shape[0], dense.shape[1], dtype=contributions.dtype, device=dense.device)
    index = rows.unsqueeze(1).expand(-1, dense.shape[1])
    return out.scatter_reduce(0, index, contributions, _REDUCE[reduce], include_self=False)


def mm(mat1: Tensor, mat2: Tensor, reduce: str = "sum") -> Tensor:
    """``gg.sparse.mm``: the product of a sparse matrix and a dense one; with ``reduce`` other than "sum",
    the reduction ``mm_reduce`` computes (the sparse operand first)."""
    if reduce == "sum":
        return _mm_sum(mat1, mat2)
    if not isinstance(mat1, SparseTensor) or isinstance(mat2, SparseTensor):
        raise SparseLayoutError(f"sparse.mm: reduce={reduce!r} takes a sparse matrix times a dense one")
    return mm_reduce(mat1, mat2, reduce)


def _to_sparse(x: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None, dense_dim=None) -> Tensor:
    """``x.to_sparse()``: COO by default, CSR or CSC when ``layout`` says so."""
    if layout in (sparse_csr, sparse_csc):
        return _to_layout(x, layout, "to_sparse")
    if isinstance(x, SparseTensor):
        return x if layout in (None, layouts.sparse_coo) else _to_layout(x, layout, "to_sparse")
    return to_sparse(x, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)


Tensor.to_sparse = SparseTensor.to_sparse = _to_sparse
Tensor.to_sparse_csr = SparseTensor.to_sparse_csr = to_sparse_csr
Tensor.to_sparse_csc = SparseTensor.to_sparse_csc = to_sparse_csc
