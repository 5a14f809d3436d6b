"""The training loop's progress bar and host reads: the bar counts batches as they finish, the running figures
are read from the device only when the bar redraws (never per batch), and the epoch's figures equal a plain
per-batch computation."""
import io
import re

import pytest
import tqdm.auto
import tqdm.std

import gpugrad as gg
from gpugrad import Tensor
from gpugrad.train import TrainConfig, run


def _recording_tqdm(monkeypatch, **options):
    """Make the loop's bars write into a StringIO with the given tqdm options; returns (text buffer, bars)."""
    buf, bars = io.StringIO(), []

    class Recording(tqdm.std.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "file": buf, **options})
            self.postfix_at = []  # the counter at each postfix update
            bars.append(self)

        def set_postfix(self, *args, **kwargs):
            self.postfix_at.append(self.n)
            super().set_postfix(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    return buf, bars


def test_bar_counts_each_batch_as_it_finishes(monkeypatch):
    # Redraw after every batch; 800 spiral points in batches of 48 make 17 batches, the last one of 32.
    buf, bars = _recording_tqdm(monkeypatch, mininterval=0, miniters=1)
    run(TrainConfig(dataset="spirals", epochs=2, batch_size=48))
    assert len(bars) == 2
    for bar in bars:
        assert bar.total == 17 and bar.n == 17
        assert bar.postfix_at == list(range(1, 18))  # k batches done when the k-th figures are shown
    # tqdm draws the new count, then the new figures beside it at once: the counter a user sees with figures
    frames = [f for f in buf.getvalue().split("\r") if "loss=" in f]
    counts = [int(re.search(r"(\d+)/17", f).group(1)) for f in frames]
    shown = [k for i, k in enumerate(counts) if i == 0 or counts[i - 1] != k]
    assert shown == list(range(1, 18)) * 2, counts


def _count_host_reads(monkeypatch):
    calls = []
    for name in ("item", "tolist", "__float__", "__int__", "__bool__"):
        real = getattr(Tensor, name, None)
        if real is not None:
            def spy(self, *args, _real=real, _name=name):
                calls.append(_name)
                return _real(self, *args)
            monkeypatch.setattr(Tensor, name, spy)
    return calls


@pytest.mark.parametrize("progress", [False, True])
def test_no_host_read_per_batch(monkeypatch, progress):
    # The bar never comes due for a redraw here (mininterval of a day), so the only reads left are the
    # epoch's: its two sums and the test set's evaluation (one batch of 512). The old loop read two a batch.
    _recording_tqdm(monkeypatch, mininterval=86400)
    calls = _count_host_reads(monkeypatch)
    run(TrainConfig(dataset="spirals", epochs=2, batch_size=48, progress=progress))
    assert len(calls) <= 2 * 3, calls  # 17 batches an epoch


def test_epoch_figures_equal_a_per_batch_reference(monkeypatch, capsys):
    # Record every batch's loss and correct count the plain way (a host read each) as the loop computes them.
    batches = []
    real_ce = gg.nn.functional.cross_entropy

    def cross_entropy(logits, target, *args, **kwargs):
        loss = real_ce(logits, target, *args, **kwargs)
        correct = (logits.detach().argmax(dim=1) == target).sum().item()
        batches.append((loss.item(), int(correct), len(target)))
        return loss

    monkeypatch.setattr(gg.nn.functional, "cross_entropy", cross_entropy)
    _recording_tqdm(monkeypatch, mininterval=0, miniters=1)
    history = run(TrainConfig(epochs=2))["history"]  # the main job's MLP on digits: 1438 samples, 45 batches
    assert len(batches) == 2 * 45 and batches[44][2] == 1438 - 44 * 32  # a short last batch weighs less
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    for epoch in range(2):
        mine = batches[45 * epoch: 45 * (epoch + 1)]
        seen = sum(n for _, _, n in mine)
        loss = sum(value * n for value, _, n in mine) / seen
        accuracy = sum(c for _, c, _ in mine) / seen
        assert history["loss"][epoch] == pytest.approx(loss, rel=1e-12, abs=0)
        assert history["train_accuracy"][epoch] == accuracy
        assert printed[epoch].startswith(f"epoch {epoch + 1:>3}/2  loss {loss:.4f}  train acc {accuracy:.4f}  test acc")
