"""CSR and CSC matrices (gpugrad/sparse/compressed.py): construction, parts, layouts and conversions,
compared with PyTorch where it is installed. Their gradients are op-table rows (tests/ops/table/sparse.py)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import ShapeError

CROW, COL, VALUES = [0, 2, 2, 5], [0, 3, 0, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0]
DENSE = np.array([[1.0, 0, 0, 2], [0, 0, 0, 0], [3, 4, 5, 0]])


def _csr(lib):
    return lib.sparse_csr_tensor(lib.tensor(CROW), lib.tensor(COL), lib.tensor(VALUES), (3, 4))


def test_parts_and_layouts():
    a = _csr(gg)
    assert a.layout is gg.sparse_csr and a.is_sparse_csr and not a.is_sparse
    assert a.crow_indices().tolist() == CROW and a.col_indices().tolist() == COL
    np.testing.assert_array_equal(a.to_dense().numpy(), DENSE)
    t = a.t()  # CSC of the transpose, the same arrays
    assert t.layout is gg.sparse_csc and tuple(t.shape) == (4, 3)
    assert t.ccol_indices().tolist() == CROW and t.row_indices().tolist() == COL
    np.testing.assert_array_equal(t.to_dense().numpy(), DENSE.T)
    with pytest.raises(RuntimeError, match="ccol_indices"):
        a.ccol_indices()
    assert not gg.ones(2).is_sparse_csr


def test_conversions_between_layouts():
    dense = gg.tensor(DENSE)
    csc = dense.to_sparse_csc()
    assert csc.ccol_indices().tolist() == [0, 2, 3, 4, 5] and csc.row_indices().tolist() == [0, 2, 2, 2, 0]
    assert csc.values().tolist() == [1.0, 3.0, 4.0, 5.0, 2.0]
    csr = csc.to_sparse_csr()
    assert csr.crow_indices().tolist() == CROW and csr.values().tolist() == VALUES
    coo = csr.to_sparse_coo()
    assert coo.layout is gg.sparse_coo and coo.is_coalesced()
    for x in (coo.to_sparse_csr(), dense.to_sparse(layout=gg.sparse_csr), csr.to(gg.float64)):
        assert x.layout is gg.sparse_csr
        np.testing.assert_array_equal(x.to_dense().numpy(), DENSE)


def test_invalid_pointers_are_refused():
    with pytest.raises(RuntimeError, match="compressed indices"):
        gg.sparse_csr_tensor(gg.tensor([0, 3, 2]), gg.tensor([0, 1]), gg.ones(2))
    with pytest.raises(RuntimeError, match="plain indices"):
        gg.sparse_csr_tensor(gg.tensor([0, 1]), gg.tensor([5]), gg.ones(1), (1, 2))


def test_index_conversions_and_coalesced_flag():
    rows = gg.tensor([0, 0, 2])
    assert gg._convert_indices_from_coo_to_csr(rows, 4).tolist() == [0, 2, 2, 3, 3]
    assert gg._convert_indices_from_coo_to_csr(rows, 4, out_int32=True).dtype is gg.int32
    out = gg._convert_indices_from_csr_to_coo(gg.tensor([0, 2, 2, 3]), gg.tensor([1, 2, 0]), transpose=True)
    assert out.tolist() == [[1, 2, 0], [0, 0, 2]]
    coo = gg.sparse_coo_tensor(gg.tensor([[0, 1], [1, 0]]), gg.ones(2))
    assert not coo.is_coalesced() and coo._coalesced_(True) is coo and coo.is_coalesced()


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's beta-state and invariant-check warnings
        ours, theirs = _csr(gg), _csr(torch)
        assert repr(ours) == repr(theirs) and repr(ours.t()) == repr(theirs.t())
        dense = np.arange(8.0, dtype=np.float32).reshape(4, 2) - 3
        for reduce in ("sum", "mean", "max", "min"):
            np.testing.assert_allclose(gg.sparse.mm(ours, gg.tensor(dense), reduce).numpy(),
                                       torch.sparse.mm(theirs, torch.tensor(dense), reduce).numpy())
        rows = torch.tensor([0, 1, 1, 3])
        assert gg._convert_indices_from_coo_to_csr(gg.tensor(rows.numpy()), 5).tolist() == \
            torch._convert_indices_from_coo_to_csr(rows, 5).tolist()


def test_hybrid_matrix_holds_a_vector_per_entry():
    # PyG returns attention weights with one value per head as a CSR/CSC matrix of size (n, n, heads).
    values = gg.arange(10.0).view(5, 2)
    a = gg.sparse_csr_tensor(gg.tensor(CROW), gg.tensor(COL), values)
    assert tuple(a.shape) == (3, 4, 2) and a.dense_dim() == 1 and a._nnz() == 5
    dense = a.to_dense()
    np.testing.assert_array_equal(dense[..., 1].numpy(), (DENSE != 0) * (2 * np.cumsum(DENSE != 0).reshape(3, 4) - 1))
    np.testing.assert_array_equal(a.to_sparse_csc().to_dense().numpy(), dense.numpy())
    with pytest.raises(RuntimeError, match="<= 2 dimensions"):
        a.t()
    with pytest.raises(ShapeError, match="dense dims"):
        gg.sparse_csr_tensor(gg.tensor(CROW), gg.tensor(COL), values, (3, 4))


def test_hybrid_coo_converts_to_compressed():
    indices = gg.tensor([[2, 0, 0], [1, 3, 0]])
    coo = gg.sparse_coo_tensor(indices, gg.arange(6.0).view(3, 2), (3, 4, 2))
    for layout in ("csr", "csc"):
        out = getattr(coo, f"to_sparse_{layout}")()
        assert tuple(out.shape) == (3, 4, 2) and out.dense_dim() == 1
        np.testing.assert_array_equal(out.to_dense().numpy(), coo.to_dense().numpy())
    assert coo.to_sparse_csr().crow_indices().tolist() == [0, 2, 2, 3]


def test_pickles_with_its_layout():
    import pickle

    for a in (_csr(gg), _csr(gg).t()):
        b = pickle.loads(pickle.dumps(a))
        assert b.layout is a.layout and tuple(b.shape) == tuple(a.shape)
        np.testing.assert_array_equal(b.to_dense().numpy(), a.to_dense().numpy())
