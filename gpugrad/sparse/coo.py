"""Sparse COO tensors: ``gg.sparse_coo_tensor``, ``x.to_sparse()`` and what graph code does with them.

A ``SparseTensor`` holds its ``indices`` (an int64 array of shape ``(ndim, nnz)`` on its device), its
``values`` (a Tensor of ``nnz`` rows, which carries the autograd graph) and its ``size``. The indices
name the first ``sparse_dim`` dims; each row of values fills the remaining ``dense_dim`` dims (torch's
hybrid tensors: an embedding's sparse gradient has one sparse dim, the row, and one dense dim). It is a
Tensor (``isinstance`` holds, as torch's sparse tensors are Tensors) with these operations of its own:
``to_dense``, ``coalesce``, ``indices``/``values``, ``t``, the products with a dense matrix or vector
(``@``, ``mm``, ``matmul``, ``gg.spmm``, ``gg.sparse.mm``; gradients to the dense operand and to the
values), ``+`` with a dense tensor (dense result) or a sparse one, ``*`` and ``/`` by numbers, ``sum``,
the moves and casts (``to``, ``cuda``, ``double`` ...), and what gradients need in place (``add_``,
``mul_``, ``zero_``). Every product and sum is built from dense ops on the values (``index_select``,
``index_add``, ``index_put``), so gradients come from those ops.

Sparse + sparse follows PyTorch: two coalesced tensors merge into a coalesced one; otherwise indices and
values are concatenated, uncoalesced, and coalesced only once nnz exceeds the number of elements (which
bounds the growth of a gradient accumulated over many backward calls).

Any other op raises NotImplementedError (SparseLayoutError) saying what is supported: a sparse tensor
has no dense array (its ``_array`` raises), and every dense op reads its operands' arrays.
"""
from __future__ import annotations

import math
import sys

import numpy

from .. import backend as _backend_mod
from .. import dtypes, factory, layouts
from .._caller import public_caller, stack_from
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..size import Size
from ..overrides import _disabled_torch_function_impl
from ..tensor import Tensor


class SparseLayoutError(NotImplementedError):
    """An op that needs a dense array met a sparse tensor."""


class NoDenseArrayError(SparseLayoutError):
    """What reading a sparse tensor's array raises. Its message names the gpugrad function the user called
    (gpugrad/_caller.py, from the reader's frame), built only when shown: a caller that catches the error
    never pays for it."""

    def __init__(self, size: tuple, reader) -> None:
        super().__init__()
        self._size = size
        self._frames = stack_from(reader)

    def __str__(self) -> str:
        op = public_caller(self._frames)
        return (f"{op + ': ' if op else ''}a sparse tensor (size {self._size}) reached an op that needs a dense one; "
                f"gpugrad's sparse tensors support {_SUPPORTED}: call .to_dense() first")


_SUPPORTED = ("to_dense, coalesce, indices, values, t, index_select, @ / mm / matmul with a dense or sparse matrix, "
              "+ with a dense or sparse tensor, * and / by a number, sum, to, clone, detach, add_, mul_, zero_")


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout == gg.sparse_coo``); see the module's docstring for what it supports."""

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)

    is_sparse = True
    layout = layouts.sparse_coo

    @classmethod
    def _from_parts(cls, indices, values: Tensor, size: tuple, coalesced: bool) -> "SparseTensor":
        t = object.__new__(cls)
        t._sparse_indices = indices
        t._sparse_values = values
        t._sparse_size = tuple(int(n) for n in size)
        t._coalesced = coalesced or indices.shape[1] < 2  # as PyTorch: nothing to sum or sort
        t._backend = values._backend
        t._version_ref = [0]
        return t

    @property
    def _array(self):
        raise NoDenseArrayError(self._sparse_size, sys._getframe(1))

    # --- what a tensor is ---
    @property
    def shape(self) -> Size:
        return Size(self._sparse_size)

    def size(self, dim: int | None = None):
        return Size(self._sparse_size) if dim is None else self._sparse_size[dim]

    @property
    def ndim(self) -> int:
        return len(self._sparse_size)

    def dim(self) -> int:
        return len(self._sparse_size)

    ndimension = dim

    def __len__(self) -> int:
        if not self._sparse_size:
            raise TypeError("len() of a 0-d tensor")
        return self._sparse_size[0]

    def numel(self) -> int:
        return math.prod(self._sparse_size)

    nelement = numel

    @property
    def dtype(self) -> dtypes.DType:
        return self._sparse_values.dtype

    def element_size(self) -> int:
        return self._sparse_values.element_size()

    def is_floating_point(self) -> bool:
        return self._sparse_values.is_floating_point()

    def sparse_dim(self) -> int:
        return int(self._sparse_indices.shape[0])

    def dense_dim(self) -> int:
        return len(self._sparse_size) - int(self._sparse_indices.shape[0])

    def _nnz(self) -> int:
        return int(self._sparse_indices.shape[1])

    def is_coalesced(self) -> bool:
        return self._coalesced

    def _coalesced_(self, coalesced: bool) -> "SparseTensor":
        """Mark the tensor coalesced (or not) without checking, in place: for callers that built sorted,
        unique indices themselves (PyTorch's ``_coalesced_``)."""
        self._coalesced = bool(coalesced)
        return self

    def is_contiguous(self, memory_format=None) -> bool:
        raise SparseLayoutError("is_contiguous: sparse tensors do not have is_contiguous")

    # --- autograd: the values carry the graph ---
    @property
    def requires_grad(self) -> bool:
        return self._sparse_values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "SparseTensor":
        self._sparse_values.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._sparse_values.is_leaf

    @property
    def grad_fn(self):
        return self._sparse_values.grad_fn

    @property
    def grad(self) -> "SparseTensor | None":
        """The gradient as a sparse tensor with this tensor's indices (its values' gradient)."""
        g = self._sparse_values.grad
        return None if g is None else self._with_values(g)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise ArgumentError("grad: only None can be assigned to a sparse tensor's gradient")
        self._sparse_values.grad = None

    def detach(self) -> "SparseTensor":
        return self._with_values(self._sparse_values.detach())

    def clone(self, *, memory_format=None) -> "SparseTensor":
        return SparseTensor._from_parts(self._sparse_indices.copy(), self._sparse_values.clone(), self._sparse_size,
                                        self._coalesced)

    def _with_values(self, values: Tensor) -> "SparseTensor":
        return SparseTensor._from_parts(self._sparse_indices, values, self._sparse_size, self._coalesced)

    # --- parts ---
    def _indices(self) -> Tensor:
        return Tensor._make(self._sparse_indices, self._backend)

    def _values(self) -> Tensor:
        return self._sparse_values

    def indices(self) -> Tensor:
        """The (ndim, nnz) int64 indices of a coalesced tensor."""
        self._require_coalesced("indices")
        return self._indices()

    def values(self) -> Tensor:
        """The nnz values of a coalesced tensor (differentiable)."""
        self._require_coalesced("values")
        return self._sparse_values

    def _require_coalesced(self, what: str) -> None:
        if not self._coalesced:
            raise RuntimeError(f"Cannot get {what} on an uncoalesced tensor, please call .coalesce() first")

    def coalesce(self) -> "SparseTensor":
        """Duplicates summed, indices sorted in row-major order (differentiable in the values)."""
        if self._coalesced:
            return self
        xp = self._backend.xp
        idx = self._sparse_indices
        sparse_size = self._sparse_size[: idx.shape[0]]
        flat = xp.ravel_multi_index(tuple(idx), sparse_size) if idx.shape[0] else xp.zeros(idx.shape[1], xp.int64)
        unique, inverse = xp.unique(flat, return_inverse=True)
        values = self._sparse_values.new_zeros((int(unique.shape[0]),) + tuple(self._sparse_values.shape[1:])).index_add(
            0, Tensor._make(inverse.reshape(-1).astype(xp.int64), self._backend), self._sparse_values)
        indices = xp.stack(xp.unravel_index(unique, sparse_size)).astype(xp.int64) if idx.shape[0] \
            else xp.zeros((0, 1), xp.int64)
        return SparseTensor._from_parts(indices, values, self._sparse_size, True)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (repeated indices add up); differentiable in the values."""
        values = self._sparse_values if dtype is None else self._sparse_values.to(dtypes.to_dtype(dtype))
        dense = factory.zeros(self._sparse_size, dtype=values.dtype, device=self.device)
        return dense.index_put(tuple(self._indices().unbind(0)), values, accumulate=True)

    def to_sparse(self, sparse_dim: int | None = None, *, layout=None, blocksize=None, dense_dim=None) -> "SparseTensor":
        return self

    to_sparse_coo = to_sparse

    # --- moves and casts ---
    def to(self, *args, **kwargs) -> "SparseTensor":
        from ..ops import parse_to_args  # gpugrad.ops imports this module (matmul's sparse operands)

        copy = kwargs.pop("copy", False)
        device, dtype = parse_to_args("to", args, kwargs)
        values = self._sparse_values
        indices = self._sparse_indices
        if device is not None:
            target = _backend_mod.get(device)
            if target is not self._backend:
                values = values.to(target.device)
                indices = target.asarray(self._backend.to_numpy(indices, "to"))
        if dtype is not None:
            values = values.to(dtype)
        if values is self._sparse_values and not copy:
            return self
        return SparseTensor._from_parts(indices, values, self._sparse_size, self._coalesced)

    def cpu(self) -> "SparseTensor":
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> "SparseTensor":
        return self.to("cuda" if device is None else device)

    def float(self) -> "SparseTensor":
        return self.to(dtypes.float32)

    def double(self) -> "SparseTensor":
        return self.to(dtypes.float64)

    def half(self) -> "SparseTensor":
        return self.to(dtypes.float16)

    def long(self) -> "SparseTensor":
        return self.to(dtypes.int64)

    def int(self) -> "SparseTensor":
        return self.to(dtypes.int32)

    def bool(self) -> "SparseTensor":
        return self.to(dtypes.bool_)

    def numpy(self, *, force: bool = False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __repr__(self) -> str:
        idx = repr(self._indices()).replace("\n", "\n" + " " * 15)
        extra = ", requires_grad=True" if self.requires_grad and self.is_leaf else ""
        return (f"tensor(indices={idx},\n       values={self._sparse_values.detach()!r},\n"
                f"       size={self._sparse_size}, nnz={self._nnz()}, layout=torch.sparse_coo{extra})")

    # --- arithmetic ---
    def t(self) -> "SparseTensor":
        if self.sparse_dim() > 2 or self.dense_dim():
            raise ShapeError(f"t: expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                             f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        if self.ndim < 2:
            return self
        return SparseTensor._from_parts(self._sparse_indices[::-1].copy(), self._sparse_values,
                                        self._sparse_size[::-1], False)

    def transpose(self, dim0: int, dim1: int) -> "SparseTensor":
        order = list(range(self.ndim))
        d0, d1 = dim0 % self.ndim, dim1 % self.ndim
        if max(d0, d1) >= self.sparse_dim():
            raise SparseLayoutError(f"transpose: only sparse dims can be swapped here (dims {dim0} and {dim1} of a "
                                    f"tensor with {self.sparse_dim()} sparse dims)")
        order[d0], order[d1] = order[d1], order[d0]
        size = tuple(self._sparse_size[i] for i in order)
        indices = self._sparse_indices[order[:self.sparse_dim()]].copy()  # dense dims stay in the values
        return SparseTensor._from_parts(indices, self._sparse_values, size, d0 == d1 and self._coalesced)

    def _scaled(self, op: str, other, scale) -> "SparseTensor":
        if isinstance(other, Tensor) and not (other.ndim == 0 and not isinstance(other, SparseTensor)):
            raise SparseLayoutError(f"{op}: a sparse tensor times a tensor is not supported here; only numbers "
                                    f"and 0-d tensors (got shape {tuple(other.shape)})")
        return self._with_values(scale(self._sparse_values, other))

    def __mul__(self, other) -> "SparseTensor":
        return self._scaled("mul", other, lambda v, s: v * s)

    __rmul__ = mul = __mul__

    def __truediv__(self, other) -> "SparseTensor":
        return self._scaled("div", other, lambda v, s: v / s)

    div = __truediv__

    def __neg__(self) -> "SparseTensor":
        return self._with_values(-self._sparse_values)

    neg = __neg__

    def __add__(self, other) -> Tensor:
        if isinstance(other, SparseTensor):
            return _add_sparse("add", self, other)
        raise SparseLayoutError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")

    add = __add__

    def __radd__(self, other) -> Tensor:
        """``dense + sparse``: the dense tensor with the values added at their indices."""
        if not isinstance(other, Tensor):
            raise SparseLayoutError(f"add: a number plus a sparse tensor is not supported (got {type(other).__name__})")
        return _add_dense("add", other, self)

    def __sub__(self, other) -> Tensor:
        if isinstance(other, SparseTensor):
            return _add_sparse("sub", self, -other)
        raise SparseLayoutError("sub(sparse, dense) is not supported. Use sub(dense, sparse) instead.")

    sub = __sub__

    def __rsub__(self, other) -> Tensor:
        if not isinstance(other, Tensor):
            raise SparseLayoutError(f"sub: a number minus a sparse tensor is not supported (got {type(other).__name__})")
        return _add_dense("sub", other, -self)

    def __matmul__(self, other) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other) -> Tensor:
        return matmul(other, self)

    def matmul(self, other) -> Tensor:
        return matmul(self, other)

    def mm(self, mat2) -> Tensor:
        return mm(self, mat2)

    def index_select(self, dim: int, index: Tensor) -> SparseTensor:
        return index_select(self, dim, index)

    def sum(self, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        """All values' sum as a dense 0-d tensor; over ``dim``, the dense sum made sparse again (as torch)."""
        if dim is None:
            return self._sparse_values.sum(dtype=dtype)
        return self.to_dense().sum(dim, keepdim=keepdim, dtype=dtype).to_sparse()

    # --- in place: what gradient accumulation and the optimizers do to a sparse gradient ---
    def _replace_parts(self, other: SparseTensor) -> SparseTensor:
        self._sparse_indices, self._sparse_values, self._coalesced = (other._sparse_indices, other._sparse_values,
                                                                      other._coalesced)
        self._version_ref[0] += 1
        return self

    def add_(self, other, *, alpha=1) -> SparseTensor:
        """``self += alpha * other`` for a sparse ``other``, keeping this tensor (PyTorch's sparse add_,
        the sum of ``+``); the result must keep this tensor's dtype."""
        if not isinstance(other, SparseTensor):
            raise SparseLayoutError("add_: add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        if dtypes.promote_types(self.dtype, other.dtype) is not self.dtype:
            raise DTypeError(f"add_: result type {dtypes.promote_types(self.dtype, other.dtype)} can't be cast to the "
                             f"desired output type {self.dtype}")
        return self._replace_parts(_add_sparse("add_", self, other if alpha == 1 else other * alpha))

    def mul_(self, other) -> SparseTensor:
        """Scale the values in place by a number (or a 0-d tensor)."""
        if isinstance(other, Tensor) and (isinstance(other, SparseTensor) or other.ndim):
            raise SparseLayoutError(f"mul_: a sparse tensor times a tensor is not supported here; only numbers and "
                                    f"0-d tensors (got shape {tuple(other.shape)})")
        self._sparse_values.mul_(other)
        self._version_ref[0] += 1
        return self

    def zero_(self) -> SparseTensor:
        """No entries left (nnz 0, coalesced), the size kept: a zeroed sparse gradient, as PyTorch's."""
        xp = self._backend.xp
        values = self._sparse_values
        empty = Tensor._make(xp.zeros((0,) + tuple(values.shape[1:]), dtype=values._array.dtype), self._backend)
        parts = SparseTensor._from_parts(xp.zeros((self.sparse_dim(), 0), xp.int64), empty, self._sparse_size, True)
        return self._replace_parts(parts)

    def __deepcopy__(self, memo: dict) -> SparseTensor:
        copied = memo.get(id(self))
        if copied is None:
            copied = memo[id(self)] = SparseTensor._from_parts(
                self._sparse_indices.copy(), self._sparse_values.__deepcopy__(memo), self._sparse_size, self._coalesced)
        return copied


def _add_dense(op: str, dense: Tensor, sparse: SparseTensor) -> Tensor:
    if tuple(dense.shape) != sparse._sparse_size:
        raise ShapeError(f"{op}: dense shape {tuple(dense.shape)} and sparse shape {sparse._sparse_size} differ")
    if dense._backend is not sparse._backend:
        raise DeviceError(f"{op}: expected both tensors on one device, got {dense.device} and {sparse.device}")
    dtype = dtypes.promote_types(dense.dtype, sparse.dtype)
    values = sparse._sparse_values.to(dtype)
    return dense.to(dtype).index_put(tuple(sparse._indices().unbind(0)), values, accumulate=True)


def add_into_dense_(dense: Tensor, sparse: SparseTensor, alpha: float = 1.0) -> Tensor:
    """``dense += alpha * sparse`` in place on the arrays, outside autograd: what accumulating a sparse
    gradient into a dense ``.grad`` and an optimizer's sparse update do (PyTorch's dense.add_(sparse))."""
    if tuple(dense.shape) != sparse._sparse_size:
        raise ShapeError(f"add_: dense shape {tuple(dense.shape)} and sparse shape {sparse._sparse_size} differ")
    if dense._backend is not sparse._backend:
        raise DeviceError(f"add_: expected both tensors on one device, got {dense.device} and {sparse.device}")
    values = sparse._sparse_values._array
    if alpha != 1:
        values = values * alpha
    dense._backend.index_add(dense._array, tuple(sparse._sparse_indices), values.astype(dense._array.dtype, copy=False))
    dense._version_ref[0] += 1
    return dense


def _add_sparse(op: str, a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """``a + b`` by PyTorch's rule (the module's docstring): merged when both are coalesced, else
    concatenated, uncoalesced, until nnz exceeds the number of elements."""
    if a._sparse_size != b._sparse_size:
        raise ShapeError(f"{op}: sparse shapes {a._sparse_size} and {b._sparse_size} differ")
    if a.sparse_dim() != b.sparse_dim():
        raise ShapeError(f"{op}: expected 'self' and 'other' to have same density, but 'self' has {a.sparse_dim()} "
                         f"sparse dimensions while 'other' has {b.sparse_dim()} sparse dimensions")
    if a._backend is not b._backend:
        raise DeviceError(f"{op}: expected both tensors on one device, got {a.device} and {b.device}")
    dtype = dtypes.promote_types(a.dtype, b.dtype)
    xp = a._backend.xp
    values = _cat([a._sparse_values.to(dtype), b._sparse_values.to(dtype)])
    indices = xp.concatenate([a._sparse_indices, b._sparse_indices], axis=1)
    out = SparseTensor._from_parts(indices, values, a._sparse_size, False)
    if a._coalesced and b._coalesced or out._nnz() > out.numel():
        return out.coalesce()
    return out


def _cat(tensors: list) -> Tensor:
    from ..ops import cat  # gpugrad.ops imports this module (matmul's sparse operands)

    return cat(tensors)


def _sparse_times_dense(sparse: SparseTensor, dense: Tensor) -> Tensor:
    """(m, k) sparse @ (k, n) dense: each nonzero scales its column's row of ``dense`` into its row."""
    rows, cols = sparse._indices().unbind(0)
    contributions = dense.index_select(0, cols) * sparse._sparse_values.unsqueeze(1)
    out = factory.zeros(sparse._sparse_size[0], dense.shape[1], dtype=contributions.dtype, device=dense.device)
    return out.index_add(0, rows, contributions)


def _runs(xp, counts):
    """For runs of ``counts[i]`` positions each, laid end to end, the run each position is in:
    ``numpy.repeat(arange(len(counts)), counts)`` on either backend (CuPy's repeat takes no array of
    counts), and with it each position's offset inside its run."""
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if ends.shape[0] else 0
    run = xp.searchsorted(ends, xp.arange(total), side="right")
    return run, xp.arange(total) - (ends - counts)[run]


def _sparse_times_sparse(op: str, a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """(m, k) sparse @ (k, n) sparse, sparse: every entry (i, k) of ``a`` meets every entry (k, j) of ``b``
    and their product adds into (i, j). COO times COO is a coalesced COO tensor; CSR or CSC times CSR or
    CSC is CSR, as PyTorch's. Differentiable in both tensors' values."""
    a_coo, b_coo = a.layout is layouts.sparse_coo, b.layout is layouts.sparse_coo
    if a_coo != b_coo:
        raise SparseLayoutError(f"{op}: a sparse COO tensor times a compressed (CSR/CSC) one is not supported, as in "
                                f"PyTorch; convert one (got {a.layout} and {b.layout})")
    if a.ndim != 2 or b.ndim != 2 or a.dense_dim() or b.dense_dim():
        raise SparseLayoutError(f"{op}: two sparse matrices (2 sparse dims, no dense dims) are supported, got shapes "
                                f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
                         f"({a.shape[1]} != {b.shape[0]})")
    if a._backend is not b._backend:
        raise DeviceError(f"{op}: expected both tensors on one device, got {a.device} and {b.device}")
    xp, backend = a._backend.xp, a._backend
    a_idx, b_idx = a._sparse_indices, b._sparse_indices
    b_order = xp.argsort(b_idx[0], kind="stable")  # b's entries grouped by row
    b_starts = xp.searchsorted(b_idx[0][b_order], xp.arange(b.shape[0] + 1))
    counts = (b_starts[1:] - b_starts[:-1])[a_idx[1]]  # how many entries of b each entry of a meets
    a_pick, offset = _runs(xp, counts)  # pair p: entry a_pick[p] of a with the offset[p]-th entry of b's row
    b_pick = b_order[b_starts[:-1][a_idx[1]][a_pick] + offset]
    a_rows = Tensor._make(a_pick.astype(xp.int64), backend)
    b_rows = Tensor._make(b_pick.astype(xp.int64), backend)
    values = a._sparse_values.index_select(0, a_rows) * b._sparse_values.index_select(0, b_rows)
    indices = xp.stack([a_idx[0][a_pick], b_idx[1][b_pick]]).astype(xp.int64)
    out = SparseTensor._from_parts(indices, values, (a.shape[0], b.shape[1]), False).coalesce()
    return out if a_coo else out.to_sparse_csr()


def index_select(input: SparseTensor, dim: int, index: Tensor) -> SparseTensor:
    """The slices of a sparse tensor at ``index`` along a sparse dim, in index's order (repeats allowed),
    as PyTorch's: each entry whose coordinate there is ``index[p]`` appears with coordinate ``p``."""
    d = dim % input.ndim
    if d >= input.sparse_dim():
        raise SparseLayoutError(f"index_select: only a sparse dim can be selected here (dim {dim} of a tensor with "
                                f"{input.sparse_dim()} sparse dims)")
    xp, backend = input._backend.xp, input._backend
    wanted = index._array.astype(xp.int64).reshape(-1)
    coords = input._sparse_indices[d]
    order = xp.argsort(coords, kind="stable")
    lo = xp.searchsorted(coords[order], wanted, side="left")
    hi = xp.searchsorted(coords[order], wanted, side="right")
    counts = hi - lo
    position, offset = _runs(xp, counts)
    pick = order[lo[position] + offset]
    indices = input._sparse_indices[:, pick].copy()
    indices[d] = position
    values = input._sparse_values.index_select(0, Tensor._make(pick.astype(xp.int64), backend))
    size = input._sparse_size[:d] + (int(wanted.shape[0]),) + input._sparse_size[d + 1:]
    return SparseTensor._from_parts(indices, values, size, False)


def matmul(a, b) -> Tensor:
    """A product with one sparse 2-d operand and one dense matrix or vector: a dense result."""
    return _product("matmul", a, b)


def _product(op: str, a, b) -> Tensor:
    """``matmul``'s product, its errors naming ``op``, the function the user called."""
    a_sparse, b_sparse = isinstance(a, SparseTensor), isinstance(b, SparseTensor)
    if a_sparse and b_sparse:
        return _sparse_times_sparse(op, a, b)
    sparse, dense = (a, b) if a_sparse else (b, a)
    if sparse.ndim != 2 or sparse.dense_dim() or dense.ndim not in (1, 2):
        raise SparseLayoutError(f"{op}: a 2-d sparse tensor (2 sparse dims) times a dense matrix or vector is "
                                f"supported, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if dense._backend is not sparse._backend:
        raise DeviceError(f"{op}: expected both tensors on one device, got {a.device} and {b.device}")
    if sparse.dtype is not dense.dtype:
        raise DTypeError(f"{op}: expected both arguments to have the same dtype, got {a.dtype} and {b.dtype}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied ({k_a} != {k_b})")
    if a_sparse:
        matrix = dense if dense.ndim == 2 else dense.unsqueeze(1)
        out = _sparse_times_dense(sparse, matrix)
        return out if dense.ndim == 2 else out.squeeze(1)
    # dense @ sparse = (sparse^T @ dense^T)^T
    matrix = dense if dense.ndim == 2 else dense.unsqueeze(0)
    out = _sparse_times_dense(sparse.t(), matrix.t()).t()
    return out if dense.ndim == 2 else out.squeeze(0)


def mm(mat1, mat2) -> Tensor:
    """The product of two matrices, one sparse (``gg.sparse.mm``)."""
    return _matrix_product("mm", mat1, mat2)


def _matrix_product(op: str, mat1, mat2) -> Tensor:
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"{op}: expects 2-d operands, got shapes {tuple(mat1.shape)} and {tuple(mat2.shape)}")
    return _product(op, mat1, mat2)


def dsmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``torch.dsmm``: the dense matrix ``input @ mat2`` of a sparse (or dense) matrix and a dense one."""
    if not isinstance(input, SparseTensor) and not isinstance(mat2, SparseTensor):
        from ..ops import mm as dense_mm  # gpugrad.ops imports this module (matmul's sparse operands)

        return dense_mm(input, mat2)
    return _matrix_product("dsmm", input, mat2)


def values_tensor(values, dtype, device) -> Tensor:
    """A sparse tensor's values as given (a Tensor, cast and moved where asked, or data to make one of)."""
    if not isinstance(values, Tensor):
        return factory.tensor(values, dtype=dtype, device=device)
    out = values if dtype is None else values.to(dtypes.to_dtype(dtype))
    return out if device is None else out.to(device)


def sparse_coo_tensor(indices=None, values=None, size=None, *, dtype=None, device=None, requires_grad: bool = False,
                      check_invariants=None, is_coalesced: bool | None = None) -> SparseTensor:
    """A sparse COO tensor with ``values[i]`` at ``indices[:, i]`` (size inferred from the largest index
    when not given); repeated indices add up when it is coalesced or made dense. Given a size alone
    (``sparse_coo_tensor((5, 3))`` or ``sparse_coo_tensor(size=(5, 3))``), an empty one: no stored
    values, every dim sparse, coalesced."""
    if values is None:
        if indices is not None and size is not None:
            raise TypeError("sparse_coo_tensor(): got indices and a size but no values")
        shape = size if indices is None else indices
        if not isinstance(shape, (tuple, list)) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
            raise TypeError("sparse_coo_tensor(): takes (indices, values, size=None) or a size alone, a tuple of ints; "
                            f"got {type(shape).__name__}")
        if any(n < 0 for n in shape):
            raise RuntimeError(f"sparse_coo_tensor: negative dimension in size {tuple(shape)}")
        empty_values = factory.zeros((0,), dtype=dtype, device=device)
        return sparse_coo_tensor(numpy.zeros((len(shape), 0), numpy.int64), empty_values, tuple(shape),
                                 requires_grad=requires_grad, is_coalesced=True)
    value_tensor = values_tensor(values, dtype, device)
    backend = value_tensor._backend
    host = indices._backend.to_numpy(indices._array, "sparse_coo_tensor") if isinstance(indices, Tensor) \
        else numpy.asarray(indices)
    if host.ndim != 2:
        raise ShapeError(f"sparse_coo_tensor: indices must be 2-d (sparse dims, nnz), got shape {host.shape}")
    if host.size and host.dtype.kind not in "iu":
        raise DTypeError(f"sparse_coo_tensor: indices must be integers, got {host.dtype}")
    if value_tensor.ndim == 0:
        raise ShapeError("sparse_coo_tensor: values must have at least one dim (nnz, *dense dims), got a 0-d tensor")
    if value_tensor.shape[0] != host.shape[1]:
        raise ShapeError(f"sparse_coo_tensor: indices have {host.shape[1]} entries and values {value_tensor.shape[0]}: "
                         "they must match")
    host = host.astype(numpy.int64)
    dense_shape = tuple(value_tensor.shape[1:])  # each value's own dims: the tensor's dense dims
    if size is None:
        size = (tuple(int(n) + 1 for n in host.max(axis=1)) if host.shape[1] else (0,) * host.shape[0]) + dense_shape
    size = tuple(int(n) for n in size)
    if len(size) != host.shape[0] + len(dense_shape):
        raise ShapeError(f"sparse_coo_tensor: number of dimensions must be sparse_dim ({host.shape[0]}) + dense_dim "
                         f"({len(dense_shape)}), but got {len(size)} (size {size})")
    if size[host.shape[0]:] != dense_shape:
        raise ShapeError(f"sparse_coo_tensor: values have dense dims {dense_shape} but size {size} ends in "
                         f"{size[host.shape[0]:]}")
    if host.shape[1]:
        if (host < 0).any():
            raise RuntimeError(f"sparse_coo_tensor: found negative index {int(host.min())}")
        too_big = host.max(axis=1)
        for d, (largest, n) in enumerate(zip(too_big, size)):
            if largest >= n:
                raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {n} but found index {largest}")
    out = SparseTensor._from_parts(backend.asarray(host), value_tensor, size, bool(is_coalesced))
    if requires_grad:
        out.requires_grad_(True)
    return out


def to_sparse(x: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None, dense_dim=None) -> SparseTensor:
    """``x``'s nonzero elements as a coalesced sparse COO tensor (differentiable in ``x``)."""
    if layout is not None and layout is not layouts.sparse_coo:
        raise NotImplementedError(f"to_sparse: layout={layout} is not supported here; only torch.sparse_coo")
    if sparse_dim is not None and sparse_dim != x.ndim or dense_dim:
        raise NotImplementedError("to_sparse: sparse tensors with dense dimensions are not supported here")
    if x.ndim == 0:
        raise ShapeError("to_sparse: expects a tensor of at least 1 dimension")
    xp = x._backend.xp
    where = xp.stack(xp.nonzero(x._array)).astype(xp.int64)
    values = x[tuple(Tensor._make(row, x._backend) for row in where)]
    return SparseTensor._from_parts(where, values, tuple(x.shape), True)


def to_dense(x: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor is its own dense form."""
    return x if dtype is None else x.to(dtype)


for _method in (to_sparse, to_dense):
    setattr(Tensor, _method.__name__, _method)
Tensor.to_sparse_coo = to_sparse
