"""gg.return_types (torch.return_types: the named tuples of ops returning several tensors) and
gg.torch_version (TorchVersion: gg.__version__ compared as a version)."""
from __future__ import annotations

import itertools
import pickle

import pytest

import gpugrad as gg
from gpugrad import return_types as R
from gpugrad.torch_version import TorchVersion
from gpugrad.utils import _pytree


def _results():
    """(return type name, the result of an op PyTorch returns it from)."""
    t = gg.randn(4, 4, dtype=gg.float64)
    spd = t @ t.mT + gg.eye(4, dtype=gg.float64)
    return [
        ("max", gg.max(t, 0)), ("min", t.min(1)), ("median", gg.median(t, 0)), ("nanmedian", gg.nanmedian(t, 1)),
        ("mode", gg.mode(t, 0)), ("cummax", gg.cummax(t, 0)), ("cummin", t.cummin(1)), ("sort", gg.sort(t)),
        ("topk", t.topk(2)), ("kthvalue", gg.kthvalue(t, 2)), ("aminmax", gg.aminmax(t)), ("frexp", gg.frexp(t)),
        ("histogram", gg.histogram(t.reshape(-1))), ("histogramdd", gg.histogramdd(t, bins=2)),
        ("qr", gg.qr(t)), ("linalg_qr", gg.linalg.qr(t)), ("slogdet", gg.slogdet(t)),
        ("linalg_slogdet", gg.linalg.slogdet(t)), ("svd", gg.svd(t)), ("linalg_svd", gg.linalg.svd(t)),
        ("linalg_eigh", gg.linalg.eigh(spd)), ("linalg_eig", gg.linalg.eig(t)),
        ("linalg_cholesky_ex", gg.linalg.cholesky_ex(spd)), ("linalg_inv_ex", gg.linalg.inv_ex(spd)),
        ("linalg_lu_factor", gg.linalg.lu_factor(t)), ("linalg_lu_factor_ex", gg.linalg.lu_factor_ex(t)),
        ("linalg_lu", gg.linalg.lu(t)), ("lu_unpack", gg.lu_unpack(*gg.linalg.lu_factor(t))),
        ("linalg_solve_ex", gg.linalg.solve_ex(spd, t)), ("linalg_lstsq", gg.linalg.lstsq(spd, t)),
        ("linalg_ldl_factor", gg.linalg.ldl_factor(spd)), ("linalg_ldl_factor_ex", gg.linalg.ldl_factor_ex(spd)),
    ]


def test_op_results_are_instances_of_their_return_types():
    for name, result in _results():
        cls = getattr(R, name)
        assert isinstance(result, cls), name
        assert not isinstance(result, getattr(R, name + "_out", ())), name
        assert tuple(getattr(result, f) for f in cls.__match_args__) == tuple(result), name
    assert not isinstance(gg.sort(gg.randn(3)), R.max)  # ops of different classes stay apart
    assert not isinstance((gg.ones(1), gg.zeros(1)), R.max)


def test_struct_sequence_behaviour():
    r = R.max((gg.ones(2), gg.zeros(2, dtype=gg.int64)))
    assert r.values is r[0] and r.indices is r[1] and isinstance(r, tuple) and len(r) == 2
    assert (R.max.n_fields, R.max.n_sequence_fields, R.max.n_unnamed_fields) == (2, 2, 0)
    assert R.max([1, 2], {}) == (1, 2) and hash(R.max((1, 2))) == hash((1, 2))
    with pytest.raises(TypeError, match="takes a 2-sequence"):
        R.max((1, 2, 3))
    with pytest.raises(TypeError):
        R.max(1, 2)
    assert repr(R.topk((1, 2))) == "gpugrad.return_types.topk(\nvalues=1,\nindices=2)"
    assert type(pickle.loads(pickle.dumps(R.sort((1, 2))))) is R.sort
    match R.linalg_svd((1, 2, 3)):
        case R.linalg_svd(U=u, S=s, Vh=vh):
            assert (u, s, vh) == (1, 2, 3)
    leaves, spec = _pytree.tree_flatten({"a": R.qr((gg.ones(1), gg.zeros(1)))})
    rebuilt = _pytree.tree_unflatten(leaves, spec)
    assert len(leaves) == 2 and type(rebuilt["a"]) is R.qr
    assert R.all_return_types and all(issubclass(c, tuple) for c in R.all_return_types)


@pytest.mark.torch
def test_names_and_fields_are_pytorchs():
    torch = pytest.importorskip("torch")
    assert sorted(R.__all__) == sorted(torch.return_types.__all__)
    for cls in torch.return_types.all_return_types:
        assert getattr(R, cls.__name__).__match_args__ == cls.__match_args__, cls.__name__


def test_version_compares_as_a_version():
    v = gg.__version__
    assert isinstance(v, TorchVersion) and isinstance(v, str) and v == gg.version.__version__
    assert v >= "2.0" and v >= (2, 0) and v > "1.13.1" and v < "2.14" and v < (2, 14) and v >= [2, 13, 0]
    assert not v < "2.13.0" and v > "2.13.0"  # a local version sorts after its public one, as PEP 440 says
    assert v.split("+")[0] == "2.13.0" and hash(v) == hash(str(v))
    ordered = ["1.9", "1.10.0", "2.0.0.dev20230101", "2.0.0a0", "2.0.0b1", "2.0.0rc1", "2.0", "2.0.0+cpu",
               "2.0.0.post1", "2.1.0", "1!0.1"]
    for lower, higher in itertools.pairwise(ordered):
        assert TorchVersion(lower) < higher and TorchVersion(higher) > lower, (lower, higher)
    assert TorchVersion("2.0") == "2.0.0" and TorchVersion("2.0") == (2, 0, 0)
    assert TorchVersion("parrot") < "python"  # not a version: compared as strings
    with pytest.raises(TypeError):
        _ = TorchVersion("2.0") < 2


@pytest.mark.torch
def test_version_ordering_matches_pytorchs():
    pytest.importorskip("torch")
    from torch.torch_version import TorchVersion as Theirs

    versions = ["2.13.0+gpugrad.0.1.0", "2.13.0", "2.13", "2", "2.13.0a0", "2.13.0rc1", "2.13.0.dev20250101",
                "2.13.0.post1", "2.13.0a0+git1234", "1!0.1", "2.13.0+cu121", "2.13.0+1.a", "2.13.0+a.1",
                "parrot", "2.13.0-1", "2.13.0rc1.dev3", "1.13.1"]
    others = versions + [(2, 0), (2, 13), (2, 13, 0), (2, 14), [1, 9]]
    for a in versions:
        for b in others:
            for op in ("__lt__", "__le__", "__eq__", "__ge__", "__gt__"):
                assert getattr(TorchVersion(a), op)(b) == getattr(Theirs(a), op)(b), (a, op, b)
