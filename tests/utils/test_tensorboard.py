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


def test_summary_hparams_records_go_through_the_file_writer(tmp_path):
    """summary.hparams makes the three HParams-tab records a caller writes itself (no sub-folder per call)."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    from gpugrad.utils.tensorboard.summary import hparams

    experiment, start, end = hparams({"lr": 3e-4, "policy": "mlp", "clip": gg.tensor([0.2]), "skip": None},
                                     {"reward": 0}, hparam_domain_discrete={"policy": ["mlp", "cnn"]})
    with tensorboard.SummaryWriter(tmp_path) as writer:
        for record in (experiment, start, end):
            writer.file_writer.add_summary(record)
    tags = [v.tag for e in _events(tmp_path) for v in e.summary.value]
    assert tags == ["_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"]
    data = HParamsPluginData.FromString(start.value[0].metadata.plugin_data.content).session_start_info
    assert data.hparams["lr"].number_value == 3e-4 and data.hparams["policy"].string_value == "mlp"
    assert data.hparams["clip"].number_value == pytest.approx(0.2) and "skip" not in data.hparams
    exp = HParamsPluginData.FromString(experiment.value[0].metadata.plugin_data.content).experiment
    assert [i.name for i in exp.hparam_infos] == ["lr", "policy", "clip"]
    assert [v.string_value for v in exp.hparam_infos[1].domain_discrete.values] == ["mlp", "cnn"]
    assert [m.name.tag for m in exp.metric_infos] == ["reward"]


def test_summary_hparams_refuses_what_pytorch_refuses():
    from gpugrad.utils.tensorboard.summary import hparams

    with pytest.raises(TypeError, match="hparam_dict should be a dictionary"):
        hparams(None, {})
    with pytest.raises(TypeError, match="metric_dict should be a dictionary"):
        hparams({}, None)
    with pytest.raises(ValueError, match="value should be one of int, float, str, bool, or torch.Tensor"):
        hparams({"layers": [64, 64]}, {})
    with pytest.raises(TypeError, match=r"hparam_domain_discrete\[lr\] should be a list of same type"):
        hparams({"lr": 0.1}, {}, {"lr": ["fast"]})


def test_flush_writes_every_record_before_it_returns(tmp_path):
    """A reader may open the event file right after flush (PyTorch's flush waits for its writer thread)."""
    writer = tensorboard.SummaryWriter(tmp_path)
    for step in range(3):
        writer.add_scalar("loss", float(step), step)
        writer.add_histogram("weights", gg.arange(5.0) * step, step)
        writer.flush()
        assert [s[0] for s in _scalars(_events(tmp_path))] == list(range(step + 1))
        assert sum(v.tag == "weights" for e in _events(tmp_path) for v in e.summary.value) == step + 1
    writer.close()
    writer.flush()  # closed: nothing to do, as PyTorch's
    writer.add_scalar("loss", 9.0, 9)  # a closed writer opens its files again, as tensorboardX's and PyTorch's
    writer.close()


def test_add_video_without_moviepy_says_so_on_stdout(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("moviepy") is not None:
        pytest.skip("moviepy is installed: the clip is made")
    with tensorboard.SummaryWriter(tmp_path) as writer:
        writer.add_video("clip", gg.rand(1, 4, 3, 8, 8), 0, fps=4)
    assert "add_video needs package moviepy" in capsys.readouterr().out
