"""Op-table rows: sparse COO tensors (gpugrad/sparse/coo.py), differentiated through their values and
their dense operands. The sparse tensors are built inside each row from a values input, so gradcheck
perturbs the values as it does any dense input."""
import gpugrad as gg
from gpugrad.sparse.coo import dsmm

from .row import Row, distinct, real

# A 3 x 4 pattern with a repeated index (1, 2), so the uncoalesced paths add duplicates.
INDICES = [[0, 1, 2, 1, 0], [3, 2, 0, 2, 1]]


def _coo(lib, values):
    return lib.sparse_coo_tensor(lib.tensor(INDICES), values, (3, 4), check_invariants=True)


def _both(fn):
    return dict(fn=lambda *t: fn(gg, *t), torch=fn)


ROWS = [
    Row("sparse_matmul", **_both(lambda lib, v, d: _coo(lib, v) @ d), inputs=[((5,), real), ((4, 2), real)],
        op="sparse.matmul"),
    Row("sparse_matmul_vector", **_both(lambda lib, v, d: lib.mv(_coo(lib, v).to_dense(), d) + _coo(lib, v) @ d),
        inputs=[((5,), real), ((4,), real)], op="sparse.matmul"),
    Row("dense_matmul_sparse", **_both(lambda lib, d, v: d @ _coo(lib, v)), inputs=[((2, 3), real), ((5,), real)],
        op="sparse.matmul"),
    Row("sparse_mm", **_both(lambda lib, v, d: lib.mm(_coo(lib, v), d)), inputs=[((5,), real), ((4, 3), real)],
        op="sparse.mm"),
    Row("sparse_dsmm", fn=lambda v, d: dsmm(_coo(gg, v), d), torch=lambda lib, v, d: lib.dsmm(_coo(lib, v), d),
        inputs=[((5,), real), ((4, 3), real)], op="dsmm"),
    Row("sparse_to_dense", **_both(lambda lib, v: _coo(lib, v).to_dense() * 2.0), inputs=[((5,), real)],
        op="sparse.to_dense"),
    Row("dense_plus_sparse", **_both(lambda lib, d, v: d + _coo(lib, v)), inputs=[((3, 4), real), ((5,), real)],
        op="sparse.add"),
    Row("sparse_coalesce", **_both(lambda lib, v: _coo(lib, v).coalesce().values() * 3.0), inputs=[((5,), real)],
        op="sparse.coalesce"),
    Row("to_sparse", **_both(lambda lib, d: (d.to_sparse() * 2.0).to_dense()), inputs=[((3, 4), real)],
        op="sparse.to_sparse"),
    Row("sparse_scaled_sum", **_both(lambda lib, v: (-_coo(lib, v) / 2.0).sum() * _coo(lib, v).sum()),
        inputs=[((5,), real)], op="sparse.sum"),
]

# CSR / CSC matrices (gpugrad/sparse/compressed.py): a 3 x 4 CSR pattern with an empty row, whose
# products with a dense matrix reduce each row's entries by sum, mean, amax or amin.
CROW, COL = [0, 2, 2, 5], [0, 3, 0, 1, 2]


def _csr(lib, values):
    return lib.sparse_csr_tensor(lib.tensor(CROW), lib.tensor(COL), values, (3, 4))


ROWS += [
    Row("sparse_csr_mm", **_both(lambda lib, v, d: lib.sparse.mm(_csr(lib, v), d)),
        inputs=[((5,), real), ((4, 2), real)], op="sparse.mm"),
    Row("sparse_csr_mm_mean", **_both(lambda lib, v, d: lib.sparse.mm(_csr(lib, v), d, "mean")),
        inputs=[((5,), real), ((4, 2), real)], op="sparse.mm"),
    Row("sparse_csr_mm_amax", **_both(lambda lib, v, d: lib.sparse.mm(_csr(lib, v), d, "amax")),
        inputs=[((5,), distinct), ((4, 2), distinct)], op="sparse.mm"),
    Row("sparse_csr_mm_amin", **_both(lambda lib, v, d: lib.sparse.mm(_csr(lib, v), d, "amin")),
        inputs=[((5,), distinct), ((4, 2), distinct)], op="sparse.mm"),
    Row("dense_matmul_sparse_csc", **_both(lambda lib, d, v: d @ _csr(lib, v).t()),
        inputs=[((2, 4), real), ((5,), real)], op="sparse.matmul"),
    Row("to_sparse_csc", **_both(lambda lib, d: d.to_sparse_csc().to_dense() * 2.0), inputs=[((3, 4), real)],
        op="sparse.to_sparse_csc"),
]

# Products of two sparse matrices (sparse results, differentiable in both values) and index_select.
ROWS += [
    Row("sparse_matmul_sparse", **_both(lambda lib, v, w: (_coo(lib, v) @ _coo(lib, w).t()).to_dense()),
        inputs=[((5,), real), ((5,), real)], op="sparse.matmul"),
    Row("sparse_csr_matmul_csr", **_both(lambda lib, v, w: (_csr(lib, v) @ _csr(lib, w).t().to_sparse_csr()).to_dense()),
        inputs=[((5,), real), ((5,), real)], op="sparse.matmul"),
    # PyTorch has no backward for a sparse index_select: it is compared with the dense one.
    Row("sparse_index_select", fn=lambda v: _coo(gg, v).index_select(1, gg.tensor([2, 0, 2])).to_dense(),
        torch=lambda lib, v: _coo(lib, v).to_dense().index_select(1, lib.tensor([2, 0, 2])),
        inputs=[((5,), real)], op="sparse.index_select"),
]
