"""What watches op applications, per thread: anomaly mode (anomaly.py) checks outputs for NaN and inf;
a profiler (gpugrad/profiler.py) times each op and each backward node; saved-tensor hooks (graph.py) pack
what ops save for backward; a forward of call_for_per_sample_grads (nn/_expanded_weights.py) has every op
refuse the ExpandedWeights it does not know; an entered TorchFunctionMode (gpugrad/overrides.py) is handed
every public call, Tensor's arithmetic operators included.

While any is on, ``state.watched`` is True: Function.apply's short roads (apply_one, apply_pair) check
that one flag and leave the op to apply's general path, where the watchers are; the engine calls each
backward node through its checked call. When nothing watches, that one flag is all an op pays.
"""
from __future__ import annotations

import threading


class _State(threading.local):
    watched = False  # anomaly mode, a profiler or saved-tensor hooks (class attributes: a new thread's defaults)
    anomaly = False  # anomaly mode's NaN check of backward results
    profiler = None  # the profiler recording on this thread, or None
    saved_hooks = ()  # saved_tensors_hooks' (pack, unpack) pairs, innermost last (graph.py)
    saved_hooks_disabled = None  # disable_saved_tensors_hooks' message, or None
    expanded = 0  # call_for_per_sample_grads' forwards running (nn/_expanded_weights.py): ops refuse ExpandedWeights
    modes = 0  # TorchFunctionModes entered and not left, off the stack while one handles a call (overrides.py)


state = _State()


def refresh() -> None:
    """Recompute ``watched`` after a watcher came or went."""
    state.watched = (state.anomaly or state.profiler is not None or bool(state.saved_hooks) or bool(state.expanded)
                     or bool(state.modes))
