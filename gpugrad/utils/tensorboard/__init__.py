"""``gpugrad.utils.tensorboard``: PyTorch's ``torch.utils.tensorboard.SummaryWriter``, writing TensorBoard
event files through tensorboardX (a maintained writer with PyTorch's API: ``add_scalar``, ``add_scalars``,
``add_histogram``, ``add_image(s)``, ``add_text``, ``add_hparams``, ``add_embedding``, ``add_pr_curve`` ...).
gpugrad's part is handing it Tensors as NumPy arrays. As in PyTorch, the writer is an optional install:
``pip install tensorboardX`` (and ``tensorboard`` to view the logs).

``add_graph`` traces a model with TorchScript in PyTorch; gpugrad has no tracer, and says so.
"""
from __future__ import annotations

import functools
import importlib.util
from typing import Any

from ...tensor import Tensor

try:
    import tensorboardX as _tensorboardX
except ImportError as exc:  # pragma: no cover - the test extra installs it
    raise ImportError("gpugrad.utils.tensorboard writes its event files through the tensorboardX package, which is "
                      "not installed: pip install tensorboardX") from exc

__all__ = ["SummaryWriter"]


def _host(value: Any) -> Any:
    """``value`` with every Tensor in it (inside lists, tuples and dicts too) as a NumPy array."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: _host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_host(v) for v in value)
    return value


def _with_host_arrays(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return method(self, *_host(args), **_host(kwargs))

    return call


class SummaryWriter(_tensorboardX.SummaryWriter):
    """Writes scalars, histograms, images, text, hyper-parameters ... to ``log_dir`` (``runs/<date>_<host>``
    by default) for TensorBoard, as ``torch.utils.tensorboard.SummaryWriter``; Tensors may be passed
    wherever PyTorch takes them."""

    def flush(self) -> None:
        """Writes every record logged so far to the event files before returning, as PyTorch's flush (a
        reader may open them next); tensorboardX's flushes the file but leaves the records still queued
        for its writer thread."""
        if self.all_writers is None:  # closed
            return
        for writer in self.all_writers.values():
            _drain(writer.event_writer)
            writer.flush()

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None) -> None:
        """A clip of ``vid_tensor`` (N, T, C, H, W) as an animated GIF, made with moviepy where installed."""
        if importlib.util.find_spec("moviepy") is None:
            print("add_video needs package moviepy")  # PyTorch's word, on stdout; the record is written empty
        _tensorboardX.SummaryWriter.add_video(self, tag, _host(vid_tensor), global_step, fps, walltime)

    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True):
        raise NotImplementedError("SummaryWriter.add_graph: gpugrad has no TorchScript tracer to draw a model's graph "
                                  "with; log its scalars, histograms and images instead")


def _drain(events) -> None:
    """Waits until tensorboardX's writer thread has written every queued record: a stop signal queued
    behind them ends the thread once they are written; a new thread then takes the queue."""
    worker = getattr(events, "_worker", None)
    if events._closed or worker is None:
        return
    worker.stop()
    events._worker = type(worker)(events._event_queue, events._ev_writer, events._flush_secs)
    events._worker.start()


# Every method that takes data gets it as NumPy arrays (tensorboardX reads NumPy, not gpugrad's Tensors).
for _name in ("add_scalar", "add_scalars", "add_histogram", "add_histogram_raw", "add_image", "add_images",
              "add_image_with_boxes", "add_figure", "add_audio", "add_text", "add_embedding",
              "add_pr_curve", "add_pr_curve_raw", "add_mesh", "add_hparams", "add_custom_scalars"):
    setattr(SummaryWriter, _name, _with_host_arrays(getattr(_tensorboardX.SummaryWriter, _name)))
