"""``gpugrad.autograd.profiler``: the events a profiler records, and PyTorch's older profiler API
(``torch.autograd.profiler.profile`` and ``record_function``); ``gpugrad.profiler`` builds PyTorch's newer
one (activities, schedules, trace handlers) on the same recorder.

While a profile records, every op application (``gpugrad::<op>``), every backward node the engine runs
(``<Op>Backward``) and every ``record_function`` range is an event with its start and end on this thread's
``perf_counter_ns`` (the hook: ``autograd/watch.py``). An event's self time is its time less its direct
children's (the ops a backward node or a ``record_function`` range ran). ``key_averages().table(...)``
prints PyTorch's table; ``export_chrome_trace`` writes the Chrome trace format that Perfetto,
chrome://tracing and TensorBoard's profiler plugin read.

Not recorded, and said so: device time (on a GPU the host times are launch times, and a synchronising op
carries the wait), memory, call stacks and FLOPs (asking for them warns).
"""
from __future__ import annotations

import functools
import gzip
import json
import os
import threading
import time
import warnings
from collections.abc import Callable

from . import watch
from .profiler_emit import emit_itt, emit_nvtx, load_nvprof

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "emit_itt", "emit_nvtx", "load_nvprof", "profile",
           "record_function"]


class FunctionEvent:
    """One recorded op, backward node or range; times in microseconds, as PyTorch's."""

    def __init__(self, id: int, name: str, thread: int, start_ns: int, end_ns: int, input_shapes: list) -> None:
        self.id, self.name, self.thread = id, name, thread
        self.start_ns, self.end_ns = start_ns, end_ns
        self.input_shapes = input_shapes
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.count = 1

    key = property(lambda self: self.name)
    cpu_time_total = property(lambda self: (self.end_ns - self.start_ns) / 1000.0)
    self_cpu_time_total = property(lambda self: self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children))
    device_time_total = self_device_time_total = property(lambda self: 0.0)
    cpu_memory_usage = self_cpu_memory_usage = property(lambda self: 0)

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """Events of one name (and input shapes, when grouped by them) summed."""

    def __init__(self, key: str, input_shapes) -> None:
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.device_time_total = self.self_device_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0

    def add(self, event) -> "FunctionEventAvg":
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us "
                f"cpu_time={self.cpu_time:.3f}us count={self.count} input_shapes={self.input_shapes}>")


_SORT_KEYS = {"cpu_time_total", "self_cpu_time_total", "cpu_time", "count", "device_time_total",
              "self_device_time_total", "cuda_time_total", "self_cuda_time_total", "cpu_memory_usage",
              "self_cpu_memory_usage"}


class EventList(list):
    """A list of events (or of averages) with PyTorch's ``table``, ``key_averages`` and
    ``export_chrome_trace``."""

    def __init__(self, events=(), by_input_shapes: bool = False) -> None:
        super().__init__(events)
        self.by_input_shapes = by_input_shapes  # averages grouped by shapes: the table shows them

    def key_averages(self, group_by_input_shapes: bool = False) -> "EventList":
        groups: dict[tuple, FunctionEventAvg] = {}
        for e in self:
            shapes = str(e.input_shapes) if group_by_input_shapes else None
            key = (e.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(e.key, e.input_shapes if group_by_input_shapes else None)
            groups[key].add(e)
        return EventList(groups.values(), by_input_shapes=group_by_input_shapes)

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total", None)
        for e in self:
            total.add(e)
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        """PyTorch's table: name, self and total CPU time (and their shares), the average, the calls."""
        rows = list(self)
        if top_level_events_only:
            rows = [e for e in rows if getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"table: sort_by={sort_by!r} is not one of {sorted(_SORT_KEYS)}")
            attribute = sort_by.replace("cuda", "device")
            rows.sort(key=lambda e: getattr(e, attribute), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        total_self = self.self_cpu_time_total
        shapes = self.by_input_shapes
        name_width = min(max([len(e.key) for e in rows] + [4]) + 4, max_name_column_width)
        shapes_width = min(max([len(str(e.input_shapes)) for e in rows] + [12]) + 4, max_shapes_column_width) if shapes else 0
        headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        widths = [name_width] + [12] * 6
        if shapes:
            headers.append("Input Shapes")
            widths.append(shapes_width)
        line = "".join("-" * w + "  " for w in widths)
        out = [] if header is None else [header]
        out += [line, "".join(h.rjust(w) + "  " for h, w in zip(headers, widths)), line]
        for e in rows:
            name = e.key if len(e.key) <= name_width else e.key[: name_width - 3] + "..."
            cells = [name, _percent(e.self_cpu_time_total, total_self), _time(e.self_cpu_time_total),
                     _percent(e.cpu_time_total, total_self), _time(e.cpu_time_total),
                     _time(e.cpu_time_total / e.count if e.count else 0.0), str(e.count)]
            if shapes:
                text = str(e.input_shapes)
                cells.append(text if len(text) <= shapes_width else text[: shapes_width - 3] + "...")
            out.append("".join(c.rjust(w) + "  " for c, w in zip(cells, widths)))
        out += [line, f"Self CPU time total: {_time(total_self)}", ""]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """The events in the Chrome trace format (complete events, microseconds), one process."""
        pid = os.getpid()
        trace = [{"name": e.name, "ph": "X", "cat": "cpu_op", "ts": e.start_ns / 1000.0,
                  "dur": (e.end_ns - e.start_ns) / 1000.0, "pid": pid, "tid": e.thread,
                  "args": {"Input Dims": e.input_shapes}} for e in self if isinstance(e, FunctionEvent)]
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "wt") as f:
            json.dump({"schemaVersion": 1, "traceEvents": trace, "displayTimeUnit": "ms"}, f)


def _time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole else "0.00%"


def _shapes(args) -> list:
    return [list(a.shape) if hasattr(a, "shape") else [] for a in args]


class Recorder:
    """What every profile shares: the events, and the hooks Function.apply and the engine call."""

    def __init__(self, record_shapes: bool = False) -> None:
        self.record_shapes = record_shapes
        self._events: list[FunctionEvent] = []
        self._previous = None

    def _listen(self, on: bool) -> None:
        state = watch.state
        if on and state.profiler is not self:
            self._previous = state.profiler
            state.profiler = self
        elif not on and state.profiler is self:
            state.profiler = self._previous
            self._previous = None
        watch.refresh()

    # Recording (called by Function.apply, the engine and record_function) ------------------------------
    def _add(self, name: str, start_ns: int, end_ns: int, args=()) -> None:
        shapes = _shapes(args) if self.record_shapes else []
        self._events.append(FunctionEvent(len(self._events), name, threading.get_ident(), start_ns, end_ns, shapes))

    def time_op(self, cls, args, kwargs):
        """Apply the op ``cls`` unwatched by this profiler (its own event is this one) and record it."""
        state = watch.state
        state.profiler = None
        watch.refresh()
        start = time.perf_counter_ns()
        try:
            return cls.apply(*args, **kwargs)
        finally:
            end = time.perf_counter_ns()
            state.profiler = self
            watch.refresh()
            self._add(f"gpugrad::{cls.op_name()}", start, end, args)

    def time_backward(self, node, call):
        """Run a backward node's ``call`` (the ops it runs are recorded inside it) and record it."""
        start = time.perf_counter_ns()
        try:
            return call()
        finally:
            self._add(node.name(), start, time.perf_counter_ns())

    # Results --------------------------------------------------------------------------------------
    def events(self) -> EventList:
        """Every recorded event, in start order, each with its parent and children (by time nesting)."""
        events = sorted(self._events, key=lambda e: (e.thread, e.start_ns, -e.end_ns))
        open_: list[FunctionEvent] = []
        for e in events:
            e.cpu_children, e.cpu_parent = [], None
            while open_ and (open_[-1].thread != e.thread or open_[-1].end_ns < e.end_ns):
                open_.pop()
            if open_:
                e.cpu_parent = open_[-1]
                open_[-1].cpu_children.append(e)
            open_.append(e)
        return EventList(events)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.events().key_averages(group_by_input_shapes=group_by_input_shape)

    def table(self, *args, **kwargs) -> str:
        return self.key_averages().table(*args, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        self.events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        raise NotImplementedError("profile.export_stacks: gpugrad's profiler records no call stacks")

    def add_metadata(self, key: str, value: str) -> None:
        """Accepted for PyTorch's signature; gpugrad's traces carry no metadata."""

    def add_metadata_json(self, key: str, value: str) -> None:
        """Accepted for PyTorch's signature; gpugrad's traces carry no metadata."""


class record_function:
    """A named range in the profile being recorded on this thread (none: nothing), as a context manager
    or a decorator: ``with record_function("data"): ...``."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self._start = None

    def __enter__(self) -> "record_function":
        self._profiler = watch.state.profiler
        self._start = time.perf_counter_ns() if self._profiler is not None else None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is not None:
            self._profiler._add(self.name, self._start, time.perf_counter_ns())
            self._start = None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def ranged(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)

        return ranged



class profile(Recorder):
    """PyTorch's older profiler: records while active (when ``enabled``) on the host clock::

        with gg.autograd.profiler.profile(record_shapes=True) as prof:
            model(x).sum().backward()
        print(prof.key_averages().table(sort_by="self_cpu_time_total"))
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None, record_shapes: bool = False,
                 with_flops: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True, experimental_config=None,
                 acc_events: bool = False, custom_trace_id_callback=None) -> None:
        super().__init__(record_shapes)
        self.enabled = enabled
        warn_unrecorded(use_cuda=use_cuda or use_device is not None, with_flops=with_flops, profile_memory=profile_memory,
                        with_stack=with_stack, with_modules=with_modules)

    def __enter__(self) -> "profile":
        if self.enabled:
            self._events = []
            self._listen(True)
        return self

    def __exit__(self, *exc) -> None:
        self._listen(False)

    @property
    def function_events(self) -> EventList:
        return self.events()

    @property
    def self_cpu_time_total(self) -> float:
        return self.events().self_cpu_time_total

    def total_average(self) -> FunctionEventAvg:
        return self.events().total_average()


def warn_unrecorded(stacklevel: int = 3, **asked: bool) -> None:
    """Warn, once per profile, of what was asked for that gpugrad's host-clock profiler does not record."""
    names = [name for name, on in asked.items() if on]
    if names:
        warnings.warn(f"profile: gpugrad's profiler records host (CPU) times only; {', '.join(names)} not recorded",
                      UserWarning, stacklevel=stacklevel)
