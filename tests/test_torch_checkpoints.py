"""gg.load of the zip checkpoints torch.save writes, by torch.load(weights_only=True)'s rules."""
import collections
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.serialization import SerializationError


def _write_torch_layout(path, obj, monkeypatch, location="cpu"):
    """A checkpoint in PyTorch's zip layout without PyTorch: the pickle names torch's rebuild function and
    storage types, which stand-in modules provide while it is written."""
    torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage_types = {}
    for name in ("FloatStorage", "LongStorage", "DoubleStorage"):
        storage_types[name] = type(name, (), {"__module__": "torch"})
        setattr(torch_mod, name, storage_types[name])
    torch_mod._utils = utils_mod
    monkeypatch.setitem(sys.modules, "torch", torch_mod)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_mod)
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
