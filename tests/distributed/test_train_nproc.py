"""``gpugrad train --nproc 2``: rank 0 alone prints and writes the checkpoint, which a single process then
resumes (--resume works with any N)."""
import subprocess
import sys

from ._common import ROOT, env, mpiexec


def _train(*args, timeout=150):
    cmd = [sys.executable, "-m", "gpugrad.cli", "train", "--dataset", "spirals", "--quiet", "--batch-size", "64", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=ROOT)


def test_train_two_ranks_then_resume_with_one(tmp_path):
    mpiexec()
    import gpugrad as gg

    ckpt = str(tmp_path / "ck.safetensors")
    out = _train("--nproc", "2", "--epochs", "1", "--save", ckpt)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("test accuracy") == 1  # rank 0 only
    saved = gg.load(ckpt)
    assert int(saved["epoch"]) == 1 and not any(k.startswith("module.") for k in saved["model"])
    assert saved["config"]["nproc"] == 2
    out = _train("--epochs", "2", "--resume", ckpt)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "test accuracy" in out.stdout
