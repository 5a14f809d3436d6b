"""``gg.sparse``: torch.sparse's functions on gpugrad's sparse COO tensors (coo.py) and CSR / CSC matrices
(compressed.py)."""
from __future__ import annotations

from ..legacy import SPARSE_TYPES
from ..tensor import Tensor
from .compressed import SparseCompressedTensor, mm  # noqa: F401
from .coo import SparseTensor, matmul, sparse_coo_tensor  # noqa: F401

globals().update(SPARSE_TYPES)  # FloatTensor, DoubleTensor, LongTensor ...: the legacy sparse types


def sum(input: SparseTensor, dim=None, dtype=None) -> Tensor:  # noqa: A001  (torch.sparse.sum)
    """All values' sum (dense 0-d), or over ``dim`` as a sparse tensor."""
    return input.sum(dim, dtype=dtype)


def addmm(mat: Tensor, mat1: SparseTensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with ``mat1`` sparse."""
    return mat * beta + mm(mat1, mat2) * alpha


def spmm(input: SparseTensor, mat2: Tensor) -> Tensor:
    """torch.spmm: the sparse-dense matrix product."""
    return mm(input, mat2)
