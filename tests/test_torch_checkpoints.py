"""gg.load of the zip checkpoints torch.save writes, by torch.load(weights_only=True)'s rules."""
import collections
import pickle
import sys
import types
import warnings
import zipfile

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.serialization import SerializationError


def _write_torch_layout(path, obj, monkeypatch, location="cpu"):
    """A checkpoint in PyTorch's zip layout without PyTorch: the pickle names torch's rebuild functions and
    storage types, which stand-in modules provide while it is written. ``obj(Storage, TensorLike)`` builds
    the object; ``TensorLike.Sparse(indices, values, size, is_coalesced)`` is a sparse tensor."""
    torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
    serialization_mod = types.ModuleType("torch.serialization")

    def _rebuild_sparse_tensor(*args):
        raise AssertionError("only pickled, never called")

    def _get_layout(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_sparse_tensor.__module__, _rebuild_sparse_tensor.__qualname__ = "torch._utils", "_rebuild_sparse_tensor"
    _get_layout.__module__, _get_layout.__qualname__ = "torch.serialization", "_get_layout"
    utils_mod._rebuild_sparse_tensor, serialization_mod._get_layout = _rebuild_sparse_tensor, _get_layout
    storage_types = {}
    for name in ("FloatStorage", "LongStorage", "DoubleStorage"):
        storage_types[name] = type(name, (), {"__module__": "torch"})
        setattr(torch_mod, name, storage_types[name])
    torch_mod._utils = utils_mod
    monkeypatch.setitem(sys.modules, "torch", torch_mod)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_mod)
    monkeypatch.setitem(sys.modules, "torch.serialization", serialization_mod)
    storages = []

    class Storage:
        def __init__(self, array):
            self.array = array

    class TensorLike:
        """A tensor as torch pickles one: a strided view of a flat storage."""

        def __init__(self, storage, offset, shape, strides):
            self.args = (storage, offset, shape, strides)

        def __reduce__(self):
            storage, offset, shape, strides = self.args
            return (_rebuild_tensor_v2, (storage, offset, shape, strides, False, collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, value):
            if isinstance(value, Storage):
                if value not in storages:
                    storages.append(value)
                kind = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage",
                        np.dtype(np.float64): "DoubleStorage"}[value.array.dtype]
                return ("storage", storage_types[kind], str(storages.index(value)), location, value.array.size)
            return None

    class LayoutLike:
        def __init__(self, name):
            self.name = name

        def __reduce__(self):
            return (_get_layout, (self.name,))

    class SparseLike:
        """A sparse tensor as torch pickles one: its layout and (indices, values, size, is_coalesced)."""

        def __init__(self, *parts, layout="torch.sparse_coo"):
            self.parts, self.layout = parts, LayoutLike(layout)

        def __reduce__(self):
            return (_rebuild_sparse_tensor, (self.layout, self.parts))

    TensorLike.Sparse = SparseLike
    built = obj(Storage, TensorLike)
    import io

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(built)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ckpt/data.pkl", buffer.getvalue())
        z.writestr("ckpt/byteorder", "little")
        for i, s in enumerate(storages):
            z.writestr(f"ckpt/data/{i}", s.array.tobytes())
    monkeypatch.undo()


def test_tensors_views_and_containers_load_from_pytorchs_layout(tmp_path, monkeypatch):
    flat = np.arange(12, dtype=np.float32)
    ids = np.array([3, 1, 4], dtype=np.int64)

    def make(Storage, TensorLike):
        shared = Storage(flat)
        return collections.OrderedDict([
            ("weight", TensorLike(shared, 0, (3, 4), (4, 1))),
            ("transposed", TensorLike(shared, 0, (4, 3), (1, 4))),
            ("every_other", TensorLike(shared, 1, (3,), (4,))),
            ("ids", TensorLike(Storage(ids), 0, (3,), (1,))),
            ("meta", {"step": 7, "lr": 0.5, "names": ["a", "b"], "pair": (1, 2)}),
        ])

    path = tmp_path / "ckpt.pt"
    _write_torch_layout(path, make, monkeypatch)
    got = gg.load(path)
    assert isinstance(got, collections.OrderedDict) and list(got) == ["weight", "transposed", "every_other", "ids", "meta"]
    np.testing.assert_array_equal(got["weight"].numpy(), flat.reshape(3, 4))
    np.testing.assert_array_equal(got["transposed"].numpy(), flat.reshape(3, 4).T)
    np.testing.assert_array_equal(got["every_other"].numpy(), flat[1::4])
    assert got["ids"].dtype is gg.int64 and got["ids"].tolist() == [3, 1, 4]
    assert got["meta"] == {"step": 7, "lr": 0.5, "names": ["a", "b"], "pair": (1, 2)}
    got["weight"].add_(1.0)  # each tensor owns its memory
    np.testing.assert_array_equal(got["transposed"].numpy(), flat.reshape(3, 4).T)
    assert not got["weight"].requires_grad
    with open(path, "rb") as f:
        np.testing.assert_array_equal(gg.load(f)["ids"].numpy(), ids)


def test_a_truncated_storage_is_named(tmp_path, monkeypatch):
    path = tmp_path / "short.pt"
    _write_torch_layout(path, lambda Storage, TensorLike: TensorLike(Storage(np.zeros(4, np.float32)), 0, (4,), (1,)),
                        monkeypatch)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries["ckpt/data/0"] = entries["ckpt/data/0"][:8]
    with zipfile.ZipFile(path, "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    with pytest.raises(SerializationError, match="truncated: storage 0 holds 8 bytes"):
        gg.load(path)


@pytest.mark.torch
def test_what_torch_save_writes_loads_as_torch_load_gives_it(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    model(torch.randn(5, 3)).sum().backward()
    opt = torch.optim.Adam(model.parameters())
    opt.step()
    saved = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
             "view": torch.arange(10.0)[2:8:2], "t": torch.arange(6.0).reshape(2, 3).t(),
             "half": torch.ones(2, dtype=torch.float16), "mask": torch.tensor([True, False]),
             "c": torch.tensor([1 + 2j]), "p": torch.nn.Parameter(torch.ones(2)), "size": torch.Size([2, 3]),
             "dtype": torch.float64, "device": torch.device("cpu"), "empty": torch.zeros(0, 3)}
    torch.save(saved, tmp_path / "ckpt.pt")
    want = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    got = gg.load(tmp_path / "ckpt.pt")

    def same(a, b):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, gg.Tensor) and str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
            assert tuple(a.shape) == tuple(b.shape) and a.requires_grad == b.requires_grad
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        elif isinstance(b, dict):
            assert list(a) == list(b)
            for k in b:
                same(a[k], b[k])
        elif isinstance(b, (list, tuple)):
            assert len(a) == len(b)
            for x, y in zip(a, b):
                same(x, y)
        elif isinstance(b, (torch.dtype, torch.device)):
            assert str(a).split(".")[-1] == str(b).split(".")[-1]
        else:
            assert a == b

    same(got, want)
    ours = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.BatchNorm1d(4), gg.nn.Linear(4, 2))
    ours.load_state_dict(got["model"])
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    model.eval()
    ours.eval()
    np.testing.assert_allclose(ours(gg.tensor(x)).detach().numpy(), model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    on_meta = gg.load(tmp_path / "ckpt.pt", map_location="meta")
    assert on_meta["model"]["0.weight"].is_meta


@pytest.mark.torch
def test_objects_a_weights_only_load_refuses_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    with pytest.raises(SerializationError, match="holding torch.nn.modules.linear.Linear, which a weights-only"):
        gg.load(tmp_path / "module.pt")
    with pytest.raises(Exception):
        torch.load(tmp_path / "module.pt", weights_only=True)


def test_map_location_as_a_dict_or_a_function_sees_the_saved_location(tmp_path, monkeypatch):
    def make(Storage, TensorLike):
        return {"w": TensorLike(Storage(np.arange(4, dtype=np.float32)), 0, (2, 2), (2, 1))}

    path = tmp_path / "saved_on_gpu.pt"
    _write_torch_layout(path, make, monkeypatch, location="cuda:1")
    seen = []
    got = gg.load(path, map_location=lambda storage, loc: seen.append(loc) or storage)
    assert seen == ["cuda:1"] and got["w"].device == "cpu" and got["w"].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert gg.load(path, map_location={"cuda:1": "meta"})["w"].is_meta
    assert gg.load(path, map_location={"cuda:0": "meta"})["w"].device == "cpu"  # unmapped: the CPU, gpugrad's default
    assert gg.load(path, map_location=lambda storage, loc: None)["w"].device == "cpu"
    assert gg.load(path, map_location=lambda storage, loc: storage.to("meta"))["w"].is_meta
    with pytest.raises(TypeError, match="map_location returned a str"):
        gg.load(path, map_location=lambda storage, loc: loc)
    with pytest.raises(ValueError, match="not both"):
        gg.load(path, map_location={}, device="cpu")
    gg.save({"w": gg.ones(2)}, tmp_path / "ours.safetensors")  # gpugrad's files were saved at "cpu"
    assert gg.load(tmp_path / "ours.safetensors", map_location={"cpu": "meta"})["w"].is_meta


@pytest.mark.torch
def test_safe_globals_allow_what_they_name(tmp_path):
    import argparse

    torch = pytest.importorskip("torch")
    torch.save({"args": argparse.Namespace(lr=0.5), "w": torch.ones(2)}, tmp_path / "ckpt.pt")
    with pytest.raises(SerializationError, match="holding argparse.Namespace"):
        gg.load(tmp_path / "ckpt.pt")
    with gg.serialization.safe_globals([argparse.Namespace]):
        got = gg.load(tmp_path / "ckpt.pt")
    assert got["args"].lr == 0.5 and got["w"].tolist() == [1.0, 1.0]
    assert gg.serialization.get_safe_globals() == []
    gg.serialization.add_safe_globals([(argparse.Namespace, "argparse.Namespace")])
    try:
        assert gg.load(tmp_path / "ckpt.pt")["args"].lr == 0.5
    finally:
        gg.serialization.clear_safe_globals()


def test_sparse_tensors_load_from_pytorchs_layout(tmp_path, monkeypatch):
    ids = np.array([[2, 0, 2]], dtype=np.int64)
    values = np.arange(6, dtype=np.float32)

    def make(Storage, TensorLike):
        idx, val = TensorLike(Storage(ids.reshape(-1)), 0, (1, 3), (3, 1)), TensorLike(Storage(values), 0, (3, 2), (2, 1))
        return {"g": TensorLike.Sparse(idx, val, (4, 2), False),
                "old": TensorLike.Sparse(idx, val, (4, 2)),  # PyTorch before is_coalesced was saved
                "c": TensorLike.Sparse(TensorLike(Storage(np.array([0, 3], np.int64)), 0, (1, 2), (2, 1)),
                                       TensorLike(Storage(np.ones(2, np.float64)), 0, (2,), (1,)), (5,), True)}

    path = tmp_path / "sparse.pt"
    _write_torch_layout(path, make, monkeypatch, location="cuda:0")
    seen = []
    got = gg.load(path, map_location=lambda t, loc: seen.append((t.is_sparse, loc)) or t)
    assert seen == [(True, "cuda:0")] * 3  # a sparse tensor's location is its values'
    for name in ("g", "old"):
        g = got[name]
        assert g.is_sparse and tuple(g.shape) == (4, 2) and g.dtype is gg.float32 and not g.is_coalesced()
        np.testing.assert_array_equal(g._indices().numpy(), ids)
        np.testing.assert_array_equal(g._values().numpy(), values.reshape(3, 2))
    assert got["c"].is_coalesced() and got["c"].dtype is gg.float64 and got["c"].to_dense().tolist() == [1, 0, 0, 1, 0]

    def out_of_range(Storage, TensorLike):
        return TensorLike.Sparse(TensorLike(Storage(np.array([0, 9], np.int64)), 0, (1, 2), (2, 1)),
                                 TensorLike(Storage(np.ones(2, np.float32)), 0, (2,), (1,)), (5,), False)

    _write_torch_layout(path, out_of_range, monkeypatch)
    with pytest.raises(SerializationError, match="corrupted PyTorch checkpoint: .*size is inconsistent with indices"):
        gg.load(path)

    def csr(Storage, TensorLike):
        one = TensorLike(Storage(np.zeros(1, np.int64)), 0, (1,), (1,))
        return TensorLike.Sparse(one, one, one, (1, 1), layout="torch.sparse_csr")

    _write_torch_layout(path, csr, monkeypatch)
    with pytest.raises(SerializationError, match="holds a torch.sparse_csr tensor, which gpugrad cannot hold"):
        gg.load(path)


@pytest.mark.torch
def test_pytorchs_sparse_tensors_and_sparse_momentum_resume_here(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(6, 3)).astype(np.float32)
    batches = [rng.integers(0, 6, size=(2, 3)) for _ in range(4)]

    def run(lib, bag, opt, steps):
        for idx in steps:
            opt.zero_grad()
            (bag(lib.tensor(idx)) ** 2).sum().backward()
            opt.step()

    bag = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w0), freeze=False, mode="mean", sparse=True)
    opt = torch.optim.SGD(bag.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    run(torch, bag, opt, batches[:2])
    two_d = torch.sparse_coo_tensor([[0, 1, 0], [2, 0, 2]], torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), (2, 3),
                                   check_invariants=True)
    torch.save({"model": bag.state_dict(), "optimizer": opt.state_dict(), "grad": bag.weight.grad,
                "two_d": two_d, "two_d_coalesced": two_d.coalesce()}, tmp_path / "ckpt.pt")
    want = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    got = gg.load(tmp_path / "ckpt.pt")
    for name in ("grad", "two_d", "two_d_coalesced"):
        a, b = got[name], want[name]
        assert a.is_sparse and a.is_coalesced() == b.is_coalesced() and tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
        np.testing.assert_array_equal(a._indices().numpy(), b._indices().numpy())
        np.testing.assert_array_equal(a._values().numpy(), b._values().numpy())
    ours = gg.nn.EmbeddingBag(6, 3, mode="mean", sparse=True)
    ours.load_state_dict(got["model"])
    ours_opt = gg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    ours_opt.load_state_dict(got["optimizer"])
    assert ours_opt.state[ours.weight]["momentum_buffer"].is_sparse
    run(torch, bag, opt, batches[2:])
    run(gg, ours, ours_opt, batches[2:])
    np.testing.assert_allclose(ours.weight.detach().numpy(), bag.weight.detach().numpy(), rtol=1e-6, atol=1e-7)
    buf_ours, buf_theirs = ours_opt.state[ours.weight]["momentum_buffer"], opt.state[bag.weight]["momentum_buffer"]
    np.testing.assert_allclose(buf_ours.to_dense().numpy(), buf_theirs.to_dense().numpy(), rtol=1e-6, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's "CSR support is in beta"
        torch.save({"csr": two_d.to_dense().to_sparse_csr()}, tmp_path / "csr.pt")
    with pytest.raises(SerializationError, match="torch.sparse_csr tensor, which gpugrad cannot hold"):
        gg.load(tmp_path / "csr.pt")
