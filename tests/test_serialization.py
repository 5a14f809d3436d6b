"""gg.save / gg.load: round trips, PyTorch interop, atomic writes, and files that must be refused."""
from __future__ import annotations

import io
import json
import math
import os
import pickle

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import serialization
from gpugrad.serialization import SerializationError, load, save


def test_nested_round_trip_keeps_tensors_arrays_and_plain_values(tmp_path):
    w = gg.randn(3, 4)
    obj = {
        "model": {"fc1.weight": w, "fc1.bias": gg.zeros(4, dtype=gg.float64), "mask": gg.tensor([True, False])},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": gg.ones(3, 4)}, 1: {}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False}]},
        "epoch": 3,
        "loader_seed": 2**40 + 1,
        "labels": gg.tensor([1, 2, 3]),
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "history": [1.5, float("inf"), float("-inf"), None, "text", True],
        "scalar": np.float32(0.25),
        "dtype": gg.float64,
        "nan": float("nan"),
        "empty": gg.zeros(0, 3),
        "zero_d": gg.tensor(2.5),
        "mixed_keys": {1: "a", "1": "b", None: 2.0, 2.5: [gg.ones(1)]},
    }
    path = tmp_path / "ckpt.safetensors"
    save(obj, path)
    back = load(path)
    np.testing.assert_array_equal(back["model"]["fc1.weight"].numpy(), w.numpy())
    assert back["model"]["fc1.weight"].dtype is gg.float32 and not back["model"]["fc1.weight"].requires_grad
    assert back["model"]["fc1.bias"].dtype is gg.float64
    assert back["model"]["mask"].tolist() == [True, False] and back["model"]["mask"].dtype is gg.bool
    assert back["labels"].dtype is gg.int64 and back["labels"].tolist() == [1, 2, 3]
    opt = back["optimizer"]
    assert list(opt["state"]) == [0, 1] and opt["state"][0]["step"] == 3 and opt["state"][1] == {}
    assert opt["param_groups"][0]["betas"] == (0.9, 0.999) and opt["param_groups"][0]["params"] == [0, 1]
    assert back["epoch"] == 3 and back["loader_seed"] == 2**40 + 1
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int32
    np.testing.assert_array_equal(back["array"], obj["array"])
    assert back["history"] == [1.5, math.inf, -math.inf, None, "text", True]
    assert back["scalar"] == 0.25 and back["dtype"] is gg.float64 and math.isnan(back["nan"])
    assert back["empty"].shape == (0, 3) and back["zero_d"].shape == () and back["zero_d"].item() == 2.5
    assert back["mixed_keys"][1] == "a" and back["mixed_keys"]["1"] == "b" and back["mixed_keys"][None] == 2.0
    assert back["mixed_keys"][2.5][0].tolist() == [1.0]
    # Loaded tensors own writable memory (an optimizer may update them in place).
    back["model"]["fc1.weight"]._array += 1


def test_tensor_keys_are_the_dotted_paths(tmp_path):
    from safetensors.numpy import load_file

    path = tmp_path / "c.safetensors"
    save({"model": {"fc1.weight": gg.ones(2)}, "optimizer": {"state": {0: {"exp_avg": gg.ones(2)}}},
          "a.b": gg.ones(1), "a": {"b": gg.zeros(1)}}, path)
    keys = set(load_file(str(path)))
    assert {"model.fc1.weight", "optimizer.state.0.exp_avg", "a.b"} <= keys and len(keys) == 4
    back = load(path)
    assert back["a.b"].tolist() == [1.0] and back["a"]["b"].tolist() == [0.0]


def test_a_bare_tensor_and_non_contiguous_views(tmp_path):
    x = gg.tensor(np.arange(12.0).reshape(3, 4)).T
    save(x, tmp_path / "t.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "t.safetensors").numpy(), np.arange(12.0).reshape(3, 4).T)


def test_unstorable_values_raise_before_any_file_is_written(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"cannot store a set at 'model.extra'"):
        save({"model": {"extra": {1, 2}}}, path)
    with pytest.raises(TypeError, match="dict keys"):
        save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="object"):
        save({"a": np.array([object()])}, path)
    assert os.listdir(tmp_path) == []


def test_load_onto_a_device(tmp_path):
    save({"w": gg.ones(2)}, tmp_path / "c.safetensors")
    assert load(tmp_path / "c.safetensors", map_location="cpu")["w"].device == "cpu"
    assert load(tmp_path / "c.safetensors", device="cpu")["w"].device == "cpu"
    if not gg.cuda.is_available():
        with pytest.raises(gg.DeviceError, match="cuda"):
            load(tmp_path / "c.safetensors", map_location="cuda")


# Atomic writes ---------------------------------------------------------------------------------------
def test_a_crash_mid_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": gg.ones(1000)}, path)
    good = path.read_bytes()

    def crash(tensors, filename, metadata):
        with open(filename, "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"partial")  # half a file, then the process dies
        raise KeyboardInterrupt("simulated crash mid-write")

    monkeypatch.setattr(serialization, "_write_safetensors", crash)
    with pytest.raises(KeyboardInterrupt):
        save({"epoch": 2, "w": gg.zeros(1000)}, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind
    monkeypatch.undo()
    assert load(path)["epoch"] == 1


def test_save_replaces_an_existing_file_with_an_ordinary_mode(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1}, path)
    save({"epoch": 2}, path)
    assert load(path) == {"epoch": 2}
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


# Bad files -----------------------------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load(missing)


@pytest.mark.parametrize("keep", [0, 5, 8, 20, -1, -7])
def test_truncated_files_are_refused(tmp_path, keep):
    path = tmp_path / "ckpt.safetensors"
    save({"model": {"w": gg.randn(64)}, "epoch": 1}, path)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(SerializationError, match="ckpt.safetensors") as info:
        load(path)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kind, says", [("text", "not a safetensors checkpoint"), ("pickle", "is a pickle"),
                                        ("zip", "corrupted zip archive"), ("json", "not a safetensors checkpoint"),
                                        ("torch_zip", r"holding \w+\.system, which a weights-only load refuses")])
def test_foreign_files_are_refused_without_running_anything(tmp_path, kind, says):
    path = tmp_path / f"foreign.{kind}"

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    content = {
        "text": b"hello, this is not a checkpoint\n" * 4,
        "pickle": pickle.dumps({"w": Boom()}),
        "zip": b"PK\x03\x04" + bytes(200),
        "json": json.dumps({"w": [1, 2, 3]}).encode(),
        "torch_zip": None,  # PyTorch's layout, its pickle asking for os.system
    }[kind]
    if content is None:
        import zipfile

        with zipfile.ZipFile(path, "w") as z:
            z.writestr("foreign/data.pkl", pickle.dumps({"w": Boom()}, protocol=2))
            z.writestr("foreign/byteorder", "little")
    else:
        path.write_bytes(content)
    with pytest.raises(SerializationError, match=says):
        load(path)
    assert not (tmp_path / "pwned").exists()


def test_corrupted_metadata_and_dangling_tensor_references(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "bad.safetensors"
    save_file({"w": np.ones(2, np.float32)}, str(path), metadata={"gpugrad": "{not json"})
    with pytest.raises(SerializationError, match="metadata is not valid"):
        load(path)
    doc = {"version": 1, "object": {"w": {"__gg__": "tensor", "key": "missing"}}}
    save_file({"w": np.ones(2, np.float32)}, str(path), metadata={"gpugrad": json.dumps(doc)})
    with pytest.raises(SerializationError, match="'missing'"):
        load(path)
    doc = {"version": 99, "object": {}}
    save_file({"w": np.ones(2, np.float32)}, str(path), metadata={"gpugrad": json.dumps(doc)})
    with pytest.raises(SerializationError, match="newer gpugrad"):
        load(path)


def test_a_plain_safetensors_file_loads_as_a_dict_of_tensors(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"a": np.arange(3, dtype=np.float16), "b": np.arange(2, dtype=np.int32),
               "c": np.array([65535], dtype=np.uint16)}, str(path))
    back = load(path)
    assert back["a"].dtype is gg.float16 and back["a"].tolist() == [0.0, 1.0, 2.0]
    assert back["b"].dtype is gg.int32
    assert back["c"].dtype is gg.int64 and back["c"].tolist() == [65535]  # no uint16 in gpugrad: widened


# PyTorch interop -----------------------------------------------------------------------------------
@pytest.mark.torch
def test_a_gpugrad_state_dict_loads_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    sd = {"fc1.weight": gg.randn(4, 3), "fc1.bias": gg.randn(4), "fc2.weight": gg.randn(2, 4, dtype=gg.float64),
          "steps": gg.tensor([7])}
    path = tmp_path / "model.safetensors"
    save(sd, path)
    tsd = load_file(str(path))
    assert set(tsd) == set(sd)
    for k, v in sd.items():
        assert tsd[k].dtype == {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64}[v.dtype.name]
        np.testing.assert_array_equal(tsd[k].numpy(), v.numpy())
    model = torch.nn.Sequential()
    model.add_module("fc1", torch.nn.Linear(3, 4))
    model.load_state_dict({k: tsd[k] for k in ("fc1.weight", "fc1.bias")})


@pytest.mark.torch
def test_a_pytorch_state_dict_loads_here(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    path = tmp_path / "torch.safetensors"
    save_file(model.state_dict(), str(path))
    back = load(path)
    assert set(back) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert isinstance(back[k], gg.Tensor) and back[k].dtype is gg.float32
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())


@pytest.mark.torch
def test_float8_from_pytorch_is_refused_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    path = tmp_path / "f8.safetensors"
    save_file({"w": torch.ones(3, dtype=torch.float8_e5m2)}, str(path))
    with pytest.raises(SerializationError, match="'w'.*F8_E5M2"):
        load(path)


def test_file_objects_round_trip_in_memory_and_on_disk(tmp_path):
    import io

    obj = {"w": gg.arange(6.0).reshape(2, 3), "step": 4, "betas": (0.9, 0.99)}
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    back = load(buffer, map_location="cpu", weights_only=True)
    assert back["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and back["step"] == 4 and back["betas"] == (0.9, 0.99)
    with open(tmp_path / "c.safetensors", "wb") as f:
        save(obj, f)
    with open(tmp_path / "c.safetensors", "rb") as f:
        assert load(f, weights_only=False)["w"].shape == (2, 3)
    assert load(tmp_path / "c.safetensors")["step"] == 4  # the file object wrote an ordinary checkpoint


def test_file_object_errors(tmp_path):
    import io

    with pytest.raises(SerializationError, match="'<file object>' is not a safetensors checkpoint"):
        load(io.BytesIO(b"\x01\x02"))
    with open(tmp_path / "t.txt", "w") as f:
        f.write("text")
    with open(tmp_path / "t.txt") as f, pytest.raises(TypeError, match="binary mode"):
        load(f)
    with pytest.raises(TypeError, match="gg.load: f must be"):
        load(3)
    with pytest.raises(TypeError, match="never unpickles"):
        load(io.BytesIO(), pickle_module=pickle)


def test_saving_a_module_or_optimizer_says_to_save_its_state_dict():
    import io

    model = gg.nn.Linear(2, 1)
    buffer = io.BytesIO()
    with pytest.raises(TypeError, match=r"cannot store a Linear at '<root>': gpugrad never pickles.*save its state_dict\(\)"):
        save(model, buffer)
    with pytest.raises(TypeError, match="never pickles"):
        save({"opt": gg.optim.SGD(model.parameters(), lr=0.1)}, buffer)
    with pytest.raises(TypeError, match="never pickles"):
        save(object(), buffer)
    assert buffer.getvalue() == b""  # nothing half-written


@pytest.mark.torch
def test_torch_reads_a_state_dict_saved_to_a_file_object():
    import io

    torch = pytest.importorskip("torch")
    from safetensors.torch import load as torch_load

    model = gg.nn.Linear(3, 2)
    buffer = io.BytesIO()
    save(model.state_dict(), buffer)
    state = torch_load(buffer.getvalue())
    reference = torch.nn.Linear(3, 2)
    reference.load_state_dict(state)
    np.testing.assert_array_equal(reference.weight.detach().numpy(), model.weight.detach().numpy())


def test_a_header_length_that_starts_like_a_pickle_still_loads(tmp_path):
    # 640 = 0x0280: the file's first bytes are b"\x80\x02", a protocol-2 pickle's opening; the header says
    # otherwise, and wins.
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (640 - len(header))
    path = tmp_path / "padded.safetensors"
    path.write_bytes((640).to_bytes(8, "little") + header + np.array([1.5, 2.5], np.float32).tobytes())
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert load(path)["w"].tolist() == [1.5, 2.5]


# Sparse COO tensors ---------------------------------------------------------------------------------
def _sparse_cases():
    rng = np.random.default_rng(3)
    uncoalesced = gg.sparse_coo_tensor([[1, 4, 1]], gg.tensor(rng.normal(size=(3, 2))), (6, 2))  # hybrid, repeats
    two_dims = gg.sparse_coo_tensor([[0, 2, 1], [3, 0, 3]], gg.tensor([1.5, -2.0, 4.0], dtype=gg.float16), (3, 4))
    empty = gg.sparse_coo_tensor(np.zeros((1, 0), np.int64), gg.zeros(0, 3), (5, 3))
    return {"uncoalesced": uncoalesced, "coalesced": uncoalesced.coalesce(), "two_dims": two_dims,
            "two_dims_coalesced": two_dims.coalesce(), "empty": empty, "dense": gg.ones(2)}


def _same_sparse(a, b):
    assert a.is_sparse and b.is_sparse and tuple(a.shape) == tuple(b.shape) and a.dtype is b.dtype
    assert a.is_coalesced() == b.is_coalesced() and a.sparse_dim() == b.sparse_dim()
    np.testing.assert_array_equal(a._indices().numpy(), b._indices().numpy())
    np.testing.assert_array_equal(a._values().detach().numpy(), b._values().detach().numpy())


def test_sparse_tensors_round_trip_as_they_were(tmp_path):
    cases = _sparse_cases()
    path = tmp_path / "sparse.safetensors"
    save(cases, path)
    buffer = io.BytesIO()
    save(cases["uncoalesced"], buffer)  # a bare one, to a file object
    buffer.seek(0)
    for back in (load(path), {"uncoalesced": load(buffer)}):
        for name, got in back.items():
            if name == "dense":
                assert not got.is_sparse and got.tolist() == [1.0, 1.0]
                continue
            _same_sparse(got, cases[name])
            assert not got.requires_grad and got._indices().dtype is gg.int64
    # an ordinary safetensors file: the parts under the sparse tensor's dotted path
    from safetensors.numpy import load_file

    flat = load_file(str(path))
    np.testing.assert_array_equal(flat["uncoalesced.indices"], [[1, 4, 1]])
    assert flat["two_dims.values"].dtype == np.float16 and flat["empty.indices"].shape == (1, 0)
    got = load(path)["coalesced"]
    got._values().add_(1.0)  # each loaded part owns writable memory
    assert got.to_dense().numpy()[1].tolist() == (cases["coalesced"].to_dense().numpy()[1] + 1).tolist()


def test_an_optimizer_with_a_sparse_momentum_buffer_resumes_as_if_never_stopped(tmp_path):
    def model_and_opt():
        gg.manual_seed(0)
        bag = gg.nn.EmbeddingBag(6, 3, mode="sum", sparse=True)
        return bag, gg.optim.SGD(bag.parameters(), lr=0.1, momentum=0.9, dampening=0.1)

    def step(bag, opt, i):
        opt.zero_grad()
        (bag(gg.tensor([[1, 2, 1], [5, i % 6, 2]])) ** 2).sum().backward()
        opt.step()

    bag, opt = model_and_opt()
    for i in range(2):
        step(bag, opt, i)
    assert opt.state[bag.weight]["momentum_buffer"].is_sparse
    save({"model": bag.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    for i in range(2, 4):
        step(bag, opt, i)
    resumed, resumed_opt = model_and_opt()
    ckpt = load(tmp_path / "ckpt.safetensors")
    resumed.load_state_dict(ckpt["model"])
    resumed_opt.load_state_dict(ckpt["optimizer"])
    buf = resumed_opt.state[resumed.weight]["momentum_buffer"]
    assert buf.is_sparse and buf.dtype is gg.float32
    for i in range(2, 4):
        step(resumed, resumed_opt, i)
    np.testing.assert_array_equal(resumed.weight.detach().numpy(), bag.weight.detach().numpy())
    _same_sparse(resumed_opt.state[resumed.weight]["momentum_buffer"], opt.state[bag.weight]["momentum_buffer"])


def test_inconsistent_sparse_entries_are_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "bad.safetensors"

    def write(indices, size, coalesced, values=None):
        doc = {"version": 1, "object": {"__gg__": "sparse_coo", "indices": {"__gg__": "tensor", "key": "i"},
                                        "values": {"__gg__": "tensor", "key": "v"}, "size": size,
                                        "coalesced": coalesced}}
        values = np.ones((np.asarray(indices).shape[1], 2), np.float32) if values is None else values
        save_file({"i": np.asarray(indices, np.int64), "v": values}, str(path), metadata={"gpugrad": json.dumps(doc)})

    write([[0, 5]], [5, 2], False)
    with pytest.raises(SerializationError, match="sparse tensor is inconsistent: size is inconsistent with indices"):
        load(path)
    write([[2, 0]], [5, 2], True)
    with pytest.raises(SerializationError, match="claims to be coalesced"):
        load(path)
    write([[0, 1]], [5, 3], False)
    with pytest.raises(SerializationError, match="inconsistent"):
        load(path)
    write([[0, 1]], "5", False)
    with pytest.raises(SerializationError, match="lacks its indices, values or size"):
        load(path)
    write([[2, 0]], [5, 2], False)
    assert not load(path).is_coalesced()  # not claimed: any order


@pytest.mark.torch
def test_sparse_tensors_saved_here_rebuild_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    cases = _sparse_cases()
    save(cases, tmp_path / "sparse.safetensors")
    flat = load_file(str(tmp_path / "sparse.safetensors"))
    for name, ours in cases.items():
        if not ours.is_sparse:
            continue
        theirs = torch.sparse_coo_tensor(flat[name + ".indices"], flat[name + ".values"], tuple(ours.shape),
                                         is_coalesced=ours.is_coalesced(), check_invariants=True)
        np.testing.assert_array_equal(theirs.to_dense().numpy(), ours.to_dense().numpy())


def test_map_location_type_alias_names_what_load_takes(tmp_path):
    import typing

    args = typing.get_args(serialization.MAP_LOCATION)
    assert str in args and gg.device in args and dict[str, str] in args and type(None) in args
    (func,) = [a for a in args if typing.get_origin(a) is not None and typing.get_origin(a).__name__ == "Callable"]
    assert typing.get_args(func) == ([gg.Tensor, str], gg.Tensor)

    def annotated(path, map_location: serialization.MAP_LOCATION = None):  # as pyro's ParamStore.load
        return load(path, map_location=map_location)

    save({"w": gg.arange(3.0)}, str(tmp_path / "w.safetensors"))
    for where in (None, "cpu", gg.device("cpu"), {"cpu": "cpu"}, lambda t, loc: t * 2):
        out = annotated(str(tmp_path / "w.safetensors"), where)["w"]
        assert out.tolist() == ([0.0, 2.0, 4.0] if callable(where) else [0.0, 1.0, 2.0])



def _header_and_data(path):
    """A safetensors file as its parsed header and its data bytes: the header's key order is not fixed
    (safetensors writes its metadata from a hash map)."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def test_save_takes_pytorchs_arguments_and_writes_the_same_file(tmp_path):
    # Code written for PyTorch passes these (older checkpoints were asked for the legacy format this way);
    # nothing is pickled here, so they change nothing.
    obj = {"w": gg.arange(6.0).reshape(2, 3), "step": 3}
    save(obj, tmp_path / "plain.pt")
    save(obj, tmp_path / "args.pt", pickle, 4, _use_new_zipfile_serialization=False, _disable_byteorder_record=True)
    assert _header_and_data(tmp_path / "plain.pt") == _header_and_data(tmp_path / "args.pt")
    back = load(tmp_path / "args.pt")
    assert back["step"] == 3 and back["w"].tolist() == obj["w"].tolist()
    with pytest.raises(TypeError, match="save its state_dict"):
        save({"m": gg.nn.Linear(2, 2)}, tmp_path / "m.pt", _use_new_zipfile_serialization=False)
