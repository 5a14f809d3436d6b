"""gg.PyTorchFileReader reads the records of the archives torch.save writes, as PyTorch's reader: names
without the archive's folder, bytes, sizes and the offsets of the raw storages."""
import io
import zipfile

import pytest

import gpugrad as gg


def _archive(folder: str = "archive") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", b"pickle bytes")
        z.writestr(f"{folder}/data/0", bytes(range(16)))
        z.writestr(f"{folder}/.data/serialization_id", b"1234")
    return buf.getvalue()


def test_records_by_name_from_a_file_object_and_a_path(tmp_path):
    raw = _archive()
    path = tmp_path / "m.pt"
    path.write_bytes(raw)
    for source in (io.BytesIO(raw), str(path), path):
        r = gg.PyTorchFileReader(source)
        assert r.get_all_records() == ["data.pkl", "data/0", ".data/serialization_id"]
        assert r.has_record("data/0") and not r.has_record("archive/data/0")
        assert r.get_record("data.pkl") == b"pickle bytes" and r.get_record_size("data/0") == 16
        offset = r.get_record_offset("data/0")
        assert raw[offset:offset + 16] == bytes(range(16))
        assert r.serialization_id() == "1234"
    assert gg._C.PyTorchFileReader is gg.PyTorchFileReader


def test_missing_records_and_non_archives_raise():
    r = gg.PyTorchFileReader(io.BytesIO(_archive()))
    with pytest.raises(RuntimeError, match="not found"):
        r.get_record("nope")
    with pytest.raises(RuntimeError, match="zip archive"):
        gg.PyTorchFileReader(io.BytesIO(b"not a zip"))


@pytest.mark.torch
def test_as_pytorchs_reader_on_a_torch_checkpoint():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"w": torch.arange(5.0), "b": torch.ones(2, dtype=torch.int64)}, buf)
    theirs, ours = torch.PyTorchFileReader(io.BytesIO(buf.getvalue())), gg.PyTorchFileReader(io.BytesIO(buf.getvalue()))
    assert ours.get_all_records() == theirs.get_all_records()
    assert ours.serialization_id() == theirs.serialization_id()
    for name in theirs.get_all_records():
        assert ours.get_record(name) == theirs.get_record(name)
        assert ours.get_record_size(name) == theirs.get_record_size(name)
        assert ours.get_record_offset(name) == theirs.get_record_offset(name)
        assert ours.get_record_header_offset(name) == theirs.get_record_header_offset(name)
