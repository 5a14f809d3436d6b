"""``gpugrad.profiler``: PyTorch's ``torch.profiler`` (activities, schedules, trace handlers) on the recorder
of ``gpugrad.autograd.profiler``, which says what is recorded: host times of ops, backward nodes and
``record_function`` ranges.
"""
from __future__ import annotations

import enum
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable

from .autograd.profiler import EventList, FunctionEvent, FunctionEventAvg, Recorder, record_function, warn_unrecorded

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction", "ProfilerActivity", "kineto_available",
           "profile", "record_function", "schedule", "tensorboard_trace_handler"]


def kineto_available() -> bool:
    """True: this module's ``profile`` (PyTorch's Kineto-backed API: activities, schedules, trace handlers)
    is there, so code need not fall back to ``autograd.profiler.profile``."""
    return True


class ProfilerActivity(enum.Enum):
    """What a profile records: gpugrad records CPU (host) activity only."""

    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


def _default_schedule_fn(_: int) -> ProfilerAction:
    """The schedule of a profile made without one: record every step."""
    return ProfilerAction.RECORD


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """PyTorch's schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup`` and ``active``
    recorded steps (the last one saves: ``on_trace_ready`` runs), ``repeat`` times (0: for ever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("schedule: wait, warmup, repeat and skip_first must be >= 0 and active > 0")
    if warmup == 0:
        warnings.warn("schedule: profiler won't be using warmup, this can skew profiler results", UserWarning,
                      stacklevel=2)

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:  # the first cycle starts without its wait
            step += wait
        cycle = wait + warmup + active
        if repeat and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


class profile(Recorder):
    """Record op, backward and ``record_function`` times while active, as ``torch.profiler.profile``::

        with gg.profiler.profile(activities=[gg.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
            with gg.profiler.record_function("step"):
                loss = model(x).sum()
            loss.backward()
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

    With ``schedule``, ``prof.step()`` after each training step moves through its cycle, and
    ``on_trace_ready(prof)`` runs at the end of each recorded stretch (and at exit, if recording).
    """

    def __init__(self, activities=None, *, schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable | None = None, record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config=None, execution_trace_observer=None, acc_events: bool = False,
                 use_cuda: bool | None = None, custom_trace_id_callback=None) -> None:
        super().__init__(record_shapes)
        self.activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        warn_unrecorded(profile_memory=profile_memory, with_stack=with_stack, with_flops=with_flops,
                        with_modules=with_modules, use_cuda=bool(use_cuda),
                        **{f"activity {a.name}": True for a in self.activities if a is not ProfilerActivity.CPU})
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self._active = False
        self._action = ProfilerAction.RECORD if schedule is None else schedule(0)

    def __enter__(self) -> "profile":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._active = True
        self._events = []
        self._listen(self._action in _RECORDING)

    def stop(self) -> None:
        if not self._active:
            return
        self._listen(False)
        self._active = False
        if self._action in _RECORDING and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self) -> None:
        """One training step done: with a schedule, move to the next step's action (a stretch that ends
        with RECORD_AND_SAVE is handed to ``on_trace_ready``; warm-up steps are not kept)."""
        self.step_num += 1
        if self.schedule is None:
            return
        previous, self._action = self._action, self.schedule(self.step_num)
        if previous is ProfilerAction.RECORD_AND_SAVE:
            self._listen(False)
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        recording = self._action in _RECORDING
        if recording and previous is not ProfilerAction.RECORD:  # a new stretch starts
            self._events = []
        if self._active:
            self._listen(recording)


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False) -> Callable:
    """An ``on_trace_ready`` that writes each trace to ``dir_name/<worker>.<ms>.pt.trace.json[.gz]``, where
    TensorBoard's profiler plugin finds it."""
    def handler(prof: Recorder) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler


# torch.profiler.profiler, the module where PyTorch defines profile and its default schedule: here this one.
profiler = sys.modules[__name__]
