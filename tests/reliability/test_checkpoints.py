"""Crash-safe checkpoints: a process SIGKILLed in the middle of gg.save leaves the old or the new file,
never a mix; gg.load never unpickles; truncated or corrupted files raise SerializationError naming the path."""
from __future__ import annotations

import io
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.serialization import SerializationError

# The child saves {"step": k, "a": k..., "b": k...} (about 160 MB) over and over, printing k after each.
CHILD = textwrap.dedent(
    """
    import sys
    import gpugrad as gg

    path = sys.argv[1]
    a, b = gg.zeros(30_000_000), gg.zeros(10_000_000, dtype=gg.float64)
    k = 0
    while True:
        k += 1
        a._array.fill(k)
        b._array.fill(-k)
        gg.save({"step": k, "a": a, "b": b, "history": list(range(k))}, path)
        print(k, flush=True)
    """
)


def _check_whole(state, path):
    k = state["step"]
    assert state["history"] == list(range(k)), f"{path}: metadata of step {k} with another step's history"
    a, b = state["a"].numpy(), state["b"].numpy()
    assert a.shape == (30_000_000,) and b.shape == (10_000_000,)
    # Every element of every tensor from the same save as the metadata: min and max both equal k.
    assert a.min() == a.max() == k, f"tensor 'a' mixes saves: {a.min()}..{a.max()} with step {k}"
    assert b.min() == b.max() == -k, f"tensor 'b' mixes saves: {b.min()}..{b.max()} with step {k}"
    return k


def test_sigkill_during_save_leaves_the_old_or_the_new_checkpoint(tmp_path):
    rng = random.Random(20240601)
    path = tmp_path / "ckpt.safetensors"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env)
        try:
            t0 = time.monotonic()
            first = int(proc.stdout.readline())  # one save is complete: a previous state exists from here on
            save_time = time.monotonic() - t0
            # Kill at a random point of the next saves (within about one and a half of them).
            time.sleep(rng.uniform(0.0, 1.5) * min(save_time, 1.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            done = [first] + [int(line) for line in proc.stdout.read().split()]
        finally:
            if proc.poll() is None:  # pragma: no cover - only when the test itself failed above
                proc.kill()
                proc.wait()
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        state = gg.load(path)
        k = _check_whole(state, path)
        # The last save that reported completion, or the one it was killed in after its rename.
        assert k in (done[-1], done[-1] + 1), (round_, k, done)
        del state
    # Leftovers of killed saves are hidden temporary files next to the checkpoint (gg.save's own
    # ".ckpt.safetensors.*.tmp" and the ".tmp*" safetensors writes before renaming into it), never a
    # file under the checkpoint's name.
    others = sorted(p.name for p in tmp_path.iterdir() if p != path)
    assert all(name.startswith((".ckpt.safetensors.", ".tmp")) for name in others), others


# gg.load never unpickles ---------------------------------------------------------------------------
class _Payload:
    """Unpickling this creates the marker file (by calling open): proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_file(path, marker):
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0], "x": _Payload(marker)}))


def _torch_style_zip(path, marker):
    # The layout torch.save writes: a zip whose data.pkl is a pickle.
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(_Payload(marker)))
        z.writestr("archive/version", "3\n")


def _npy_object_array(path, marker):
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(marker)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    path.write_bytes(buf.getvalue())


def _safetensors_with_pickle_in_metadata(path, marker):
    import json

    blob = pickle.dumps(_Payload(marker)).decode("latin-1")
    header = json.dumps({"__metadata__": {"gpugrad": blob, "format": "pt"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + np.float32(1).tobytes())


def _safetensors_with_pickle_as_tensor_bytes(path, marker):
    import json

    raw = pickle.dumps(_Payload(marker))
    raw += b"\0" * (-len(raw) % 4)
    header = json.dumps({"w": {"dtype": "U8", "shape": [len(raw)], "data_offsets": [0, len(raw)]}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + raw)
    return raw


@pytest.mark.parametrize(
    "make", [_pickle_file, _torch_style_zip, _npy_object_array, _safetensors_with_pickle_in_metadata],
    ids=lambda f: f.__name__.strip("_"),
)
def test_load_refuses_pickles_without_running_them(tmp_path, make):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    make(path, marker)
    with pytest.raises(SerializationError) as info:
        gg.load(path)
    assert str(path) in str(info.value)
    assert not marker.exists(), "gg.load executed code from the file"


def test_pickle_bytes_stored_as_a_tensor_stay_bytes(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "bytes.safetensors"
    raw = _safetensors_with_pickle_as_tensor_bytes(path, marker)
    out = gg.load(path)
    assert out["w"].numpy().astype(np.uint8).tobytes() == raw  # loaded as plain integer data
    assert not marker.exists()


# Truncated and corrupted files ---------------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    gg.manual_seed(0)
    gg.save({"model": {"w": gg.randn(64, 32), "b": gg.zeros(32, dtype=gg.float64)}, "step": 7, "lr": 1e-3}, path)
    return path


def test_every_truncation_raises_naming_the_path(good_file):
    data = good_file.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    cuts = sorted(set([0, 1, 7, 8, 9, 8 + header_len // 2, 8 + header_len - 1, 8 + header_len, 8 + header_len + 1,
                       len(data) - 4 * 33, len(data) - 1] + list(range(0, len(data), max(1, len(data) // 25)))))
    cut_path = good_file.with_name("cut.safetensors")
    for n in cuts:
        if n >= len(data):
            continue
        cut_path.write_bytes(data[:n])
        with pytest.raises(SerializationError) as info:
            gg.load(cut_path)
        assert str(cut_path) in str(info.value), (n, str(info.value))


def test_header_corruption_raises_naming_the_path_or_loads(good_file):
    """Flip each byte of the length and the JSON header: the load either raises SerializationError naming
    the file, or (a flip the format cannot detect, e.g. a digit of a stored number) returns a value; it
    never raises anything else and never crashes."""
    data = bytearray(good_file.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    bad_path = good_file.with_name("bad.safetensors")
    raised = 0
    for pos in range(0, 8 + header_len, 3):
        corrupt = bytearray(data)
        corrupt[pos] ^= 0x5A
        bad_path.write_bytes(bytes(corrupt))
        try:
            gg.load(bad_path)
        except SerializationError as exc:
            assert str(bad_path) in str(exc), (pos, str(exc))
            raised += 1
    assert raised > (8 + header_len) // 3 // 2, "most header corruptions should be detected"


def test_data_section_length_mismatch_is_detected(good_file):
    data = good_file.read_bytes()
    longer = good_file.with_name("long.safetensors")
    longer.write_bytes(data + b"\0" * 16)  # trailing junk: safetensors refuses it
    with pytest.raises(SerializationError, match="long.safetensors"):
        gg.load(longer)


def test_a_directory_and_an_empty_file(tmp_path):
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(SerializationError, match="empty.safetensors"):
        gg.load(empty)
    with pytest.raises((FileNotFoundError, IsADirectoryError), match=str(tmp_path)):
        gg.load(tmp_path)
