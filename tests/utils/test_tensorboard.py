"""gpugrad.utils.tensorboard: the SummaryWriter takes Tensors where PyTorch's does, and the event file
holds what was logged (read back record by record)."""
import struct

import numpy as np
import pytest

import gpugrad as gg

tensorboard = pytest.importorskip("gpugrad.utils.tensorboard", exc_type=ImportError)


def _events(log_dir):
    """Every Event in the event files under ``log_dir`` (TFRecord framing: length, its CRC, data, CRC)."""
    from tensorboardX.proto import event_pb2

    events = []
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            events.append(event_pb2.Event.FromString(data[at + 12:at + 12 + length]))
            at += 12 + length + 4
    return events


def _scalars(events):
    return [(e.step, v.tag, v.simple_value) for e in events for v in e.summary.value if v.HasField("simple_value")]


def test_scalars_histograms_and_text_from_tensors(tmp_path):
    with tensorboard.SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalar("loss", gg.tensor(1.0 / (step + 1)), step)
        writer.add_scalars("parts", {"a": gg.tensor(2.0), "b": 3.0}, 0)
        writer.add_histogram("weights", gg.arange(10.0), 0)
        writer.add_text("note", "gpugrad", 0)
    events = _events(tmp_path)
    assert [s for s in _scalars(events) if s[1] == "loss"] == [(0, "loss", 1.0), (1, "loss", 0.5),
                                                                (2, "loss", pytest.approx(1 / 3))]
    for name, value in (("a", 2.0), ("b", 3.0)):  # add_scalars: one run per key, as PyTorch's
        assert _scalars(_events(tmp_path / "parts" / name)) == [(0, "parts", value)]
    histogram = next(v.histo for e in events for v in e.summary.value if v.tag == "weights")
    assert histogram.num == 10 and histogram.sum == 45.0 and histogram.max == 9.0


def test_hparams_and_embeddings_take_tensors(tmp_path):
    with tensorboard.SummaryWriter(tmp_path) as writer:
        writer.add_hparams({"lr": 0.1}, {"hparam/accuracy": gg.tensor(0.75)})
        writer.add_embedding(gg.tensor(np.eye(3)), metadata=["x", "y", "z"])
    assert any(s[1] == "hparam/accuracy" and s[2] == 0.75 for s in _scalars(_events(tmp_path)))
    assert (tmp_path / "projector_config.pbtxt").exists()


def test_add_graph_says_it_is_not_there(tmp_path):
    with tensorboard.SummaryWriter(tmp_path) as writer:
        with pytest.raises(NotImplementedError, match="add_graph"):
            writer.add_graph(gg.nn.Linear(2, 2), gg.zeros(1, 2))
