"""The legacy sparse types (gg.sparse.FloatTensor, ...: constructors, isinstance, x.type()) and dsmm, the
sparse-times-dense product; against NumPy, and PyTorch where it is installed."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.sparse.coo import dsmm

INDICES = [[0, 1, 1], [2, 0, 0]]


def _legacy(cls, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the constructor's deprecation notice
        return cls(*args, **kwargs)


def test_indices_and_values_make_a_sparse_coo_tensor():
    s = _legacy(gg.sparse.FloatTensor, gg.tensor(INDICES), gg.tensor([1.0, 2.0, 3.0]), gg.Size([2, 3]))
    assert s.is_sparse and s.shape == (2, 3) and s.dtype is gg.float32 and not s.is_coalesced()
    np.testing.assert_array_equal(s.to_dense().numpy(), [[0, 0, 1], [5, 0, 0]])
    assert _legacy(gg.sparse.DoubleTensor, gg.tensor(INDICES), gg.tensor([1.0, 2.0, 3.0]), (2, 3)).dtype is gg.float32
    assert _legacy(gg.sparse.FloatTensor, gg.tensor(INDICES), gg.tensor([1, 2, 3])).shape == (2, 3)  # size inferred


def test_sizes_make_an_empty_one_of_the_types_dtype():
    for s, shape in ((_legacy(gg.sparse.FloatTensor, 2, 3), (2, 3)), (_legacy(gg.sparse.LongTensor, gg.Size([4])), (4,)),
                     (_legacy(gg.sparse.FloatTensor), (0,))):
        assert s.is_sparse and s.shape == shape and s._nnz() == 0
    assert _legacy(gg.sparse.LongTensor, 2).dtype is gg.int64
    assert _legacy(gg.sparse.DoubleTensor, 2, device="cpu").dtype is gg.float64


def test_constructor_errors():
    indices, values = gg.tensor(INDICES), gg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="indices must be an int64 tensor"):
        _legacy(gg.sparse.FloatTensor, indices.int(), values, (2, 3))
    with pytest.raises(TypeError, match="FloatTensor: expected .* got \\(list, list\\)"):
        _legacy(gg.sparse.FloatTensor, [[0]], [1.0])
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        _legacy(gg.sparse.FloatTensor, indices, values, 3)
    with pytest.raises(RuntimeError, match="legacy constructor expects device type: cpu but device type: cuda"):
        _legacy(gg.sparse.FloatTensor, 2, device="cuda")
    for args in ((indices, values, (2, 3)), (2, 3), ()):
        with pytest.warns(UserWarning, match=r"sparse.FloatTensor\(...\) is deprecated. Please use torch.sparse_coo"):
            gg.sparse.FloatTensor(*args)
    assert not hasattr(gg.sparse, "BoolTensor")  # as PyTorch


def test_isinstance_and_type_ask_about_the_layout():
    s = gg.sparse_coo_tensor(INDICES, [1.0, 2.0, 3.0], (2, 3))
    assert isinstance(s, gg.sparse.FloatTensor) and not isinstance(s, gg.FloatTensor)
    assert not isinstance(gg.ones(2), gg.sparse.FloatTensor) and not isinstance(s, gg.sparse.DoubleTensor)
    assert s.type() == "torch.sparse.FloatTensor" and s.double().type() == "torch.sparse.DoubleTensor"
    assert s.type("torch.sparse.DoubleTensor").dtype is gg.float64 and s.type("torch.sparse.DoubleTensor").is_sparse
    assert repr(gg.sparse.FloatTensor) == "<class 'torch.sparse.FloatTensor'>"


def test_dsmm_is_the_dense_product():
    rng = np.random.default_rng(0)
    dense = gg.tensor(rng.standard_normal((3, 4)))
    s = gg.sparse_coo_tensor(INDICES, gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64), (2, 3))
    out = dsmm(s, dense)
    assert not out.is_sparse
    np.testing.assert_allclose(out.numpy(), s.to_dense().numpy() @ dense.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dsmm(s.to_dense(), dense).numpy(), out.numpy(), rtol=1e-12)
    with pytest.raises(gg.ShapeError, match="dsmm: expects 2-d operands"):
        dsmm(s, dense[0])
    with pytest.raises(gg.ShapeError, match="dsmm: shapes .* cannot be multiplied"):
        dsmm(s, dense.t())
    with pytest.raises(gg.DTypeError, match="dsmm: expected both arguments to have the same dtype"):
        dsmm(s, dense.float())


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.sparse.FloatTensor(torch.tensor(INDICES), torch.tensor([1.0, 2.0, 3.0]), torch.Size([2, 3]))
        mine = gg.sparse.FloatTensor(gg.tensor(INDICES), gg.tensor([1.0, 2.0, 3.0]), gg.Size([2, 3]))
        assert torch.sparse.LongTensor(2, 3).dtype == torch.int64 and gg.sparse.LongTensor(2, 3).dtype is gg.int64
    assert mine.type() == theirs.type()
    assert (mine.is_coalesced(), mine._nnz()) == (theirs.is_coalesced(), theirs._nnz())
    dense = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(dsmm(mine, gg.tensor(dense, dtype=gg.float32)).numpy(),
                               torch.dsmm(theirs, torch.tensor(dense, dtype=torch.float32)).numpy())


def test_cuda_sparse_types_are_the_same_on_the_gpu():
    s = gg.sparse_coo_tensor(INDICES, [1.0, 2.0, 3.0], (2, 3))
    assert not isinstance(s, gg.cuda.sparse.FloatTensor)  # a CPU tensor
    assert repr(gg.cuda.sparse.LongTensor) == "<class 'torch.cuda.sparse.LongTensor'>"
    assert not hasattr(gg.cuda.sparse, "BoolTensor")
    if not gg.cuda.is_available():
        with pytest.raises(gg.DeviceError):
            _legacy(gg.cuda.sparse.FloatTensor, 2, 3)
