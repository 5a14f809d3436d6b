"""The training job and `gpugrad train`: accuracy targets, determinism, exact resume, errors."""
import pytest

from gpugrad import cli
from gpugrad.train import TrainConfig, run


def test_default_job_reaches_97_percent_on_held_out_digits():
    result = run(TrainConfig(progress=False))  # what `gpugrad train` with no arguments runs
    assert result["test_accuracy"] >= 0.97, result["test_accuracy"]


def test_cnn_reaches_98_percent_on_held_out_digits():
    result = run(TrainConfig(model="cnn", progress=False))
    assert result["test_accuracy"] >= 0.98, result["test_accuracy"]


def test_same_seed_same_numbers():
    a = run(TrainConfig(epochs=2, progress=False, seed=3))["history"]
    b = run(TrainConfig(epochs=2, progress=False, seed=3))["history"]
    c = run(TrainConfig(epochs=2, progress=False, seed=4))["history"]
    assert a == b
    assert a["loss"] != c["loss"]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_resume_continues_exactly(tmp_path, optimizer):
    ckpt = str(tmp_path / "run.safetensors")
    whole = run(TrainConfig(epochs=4, progress=False, optimizer=optimizer))["history"]
    run(TrainConfig(epochs=2, progress=False, optimizer=optimizer, save=ckpt))
    resumed = run(TrainConfig(epochs=4, progress=False, optimizer=optimizer, resume=ckpt))["history"]
    assert resumed["loss"] == whole["loss"]  # bit for bit, epochs 3 and 4 included
    assert resumed["test_accuracy"] == whole["test_accuracy"]


def test_spirals_and_every_optimizer_train(capsys):
    for optimizer in ("nesterov", "rmsprop", "adamw"):
        assert cli.main(["train", "--dataset", "spirals", "--epochs", "2", "--optimizer", optimizer, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("mlp on spirals: test accuracy") == 3 and "on cpu" in out


def test_command_line_errors_are_clear(capsys, tmp_path):
    assert cli.main(["train", "--dataset", "mnist", "--epochs", "1", "--quiet"]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--quiet"]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err
    assert cli.main(["train", "--model", "cnn", "--dataset", "spirals", "--quiet"]) == 2
    assert "image data" in capsys.readouterr().err


def test_plot_needs_matplotlib_or_draws(tmp_path, capsys):
    path = tmp_path / "curves.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert cli.main(["train", "--epochs", "1", "--quiet", "--plot", str(path)]) == 2
        assert "matplotlib" in capsys.readouterr().err
    else:
        assert cli.main(["train", "--epochs", "1", "--quiet", "--plot", str(path)]) == 0
        assert path.stat().st_size > 1000
