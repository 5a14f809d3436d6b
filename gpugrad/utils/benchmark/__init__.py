"""``gpugrad.utils.benchmark``: PyTorch's ``torch.utils.benchmark`` for timing Python statements: ``Timer``
(``timeit``, ``blocked_autorange``, ``adaptive_autorange``) on the standard library's ``timeit``,
``Measurement`` with its statistics and text, and ``Compare``'s table of measurements.

Times are host wall-clock times. On a GPU, CuPy runs asynchronously: synchronise in the statement
(``gg.cuda.synchronize()``) to time the device's work, as PyTorch's Timer does for CUDA itself.
"""
from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable
from typing import Any

from ...threads import get_num_threads, set_num_threads

__all__ = ["Compare", "Measurement", "Timer"]


class Measurement:
    """The times of a statement: ``times`` holds seconds per run, one entry per measurement (each the
    mean over ``number_per_run`` runs)."""

    def __init__(self, number_per_run: int, raw_times: list[float], task_spec: "_Task", metadata=None) -> None:
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.task_spec = task_spec
        self.metadata = metadata

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def iqr(self) -> float:
        low, high = self._quartiles()
        return high - low

    def _quartiles(self) -> tuple[float, float]:
        times = sorted(self.times)
        if len(times) < 2:
            return times[0], times[0]
        q = statistics.quantiles(times, n=4, method="inclusive")
        return q[0], q[2]

    label = property(lambda self: self.task_spec.label)
    sub_label = property(lambda self: self.task_spec.sub_label)
    description = property(lambda self: self.task_spec.description)
    num_threads = property(lambda self: self.task_spec.num_threads)
    stmt = property(lambda self: self.task_spec.stmt)

    def __repr__(self) -> str:
        unit, scale = _unit(self.median)
        lines = [f"<gpugrad.utils.benchmark.Measurement object at {hex(id(self))}>", self.task_spec.title]
        if self.task_spec.setup.strip() not in ("", "pass"):
            lines.append(f"setup: {self.task_spec.setup}")
        n = len(self.raw_times)
        if n == 1:
            lines.append(f"  {self.median * scale:.2f} {unit}")
            lines.append(f"  1 measurement, {self.number_per_run} runs , {self.num_threads} thread"
                         f"{'s' if self.num_threads > 1 else ''}")
        else:
            low, high = self._quartiles()
            lines.append(f"  Median: {self.median * scale:.2f} {unit}")
            lines.append(f"  IQR:    {(high - low) * scale:.2f} {unit} ({low * scale:.2f} to {high * scale:.2f})")
            lines.append(f"  {n} measurements, {self.number_per_run} runs per measurement, {self.num_threads} thread"
                         f"{'s' if self.num_threads > 1 else ''}")
        return "\n".join(lines)


class _Task:
    def __init__(self, stmt: str, setup: str, label, sub_label, description, num_threads: int) -> None:
        self.stmt, self.setup = stmt, setup
        self.label, self.sub_label, self.description, self.num_threads = label, sub_label, description, num_threads

    @property
    def title(self) -> str:
        if self.label is None:
            return self.stmt
        head = f"{self.label}: {self.sub_label}" if self.sub_label else self.label
        return f"{head}\n{self.description}" if self.description else head


def _unit(seconds: float) -> tuple[str, float]:
    if seconds >= 1:
        return "s", 1.0
    if seconds >= 1e-3:
        return "ms", 1e3
    if seconds >= 1e-6:
        return "us", 1e6
    return "ns", 1e9


class Timer:
    """Time ``stmt`` (a string of Python, run with ``globals``, after ``setup`` once), as
    ``torch.utils.benchmark.Timer``, with ``num_threads`` gpugrad threads::

        t = Timer("x @ x", globals={"x": gg.randn(64, 64)})
        print(t.blocked_autorange())
    """

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timeit.default_timer, globals: dict | None = None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1, language: Any = "python") -> None:
        if str(language).lower().split(".")[-1] not in ("python", "py"):
            raise ValueError("Timer: only Python statements can be timed by gpugrad (no C++ timing)")
        if not isinstance(stmt, str):
            raise ValueError(f"Timer: stmt must be a string, got {type(stmt).__name__}")
        self._task = _Task(stmt, setup, label, sub_label, description, num_threads)
        namespace = dict(globals or {})
        if global_setup:
            exec(global_setup, namespace)  # noqa: S102 - the user's own setup code, as PyTorch runs it
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=namespace)

    def _measure(self, number: int) -> float:
        previous = get_num_threads()
        set_num_threads(self._task.num_threads)
        try:
            return self._timer.timeit(number)
        finally:
            set_num_threads(previous)

    def timeit(self, number: int = 1000000) -> Measurement:
        """One measurement of ``number`` runs (after one warm-up run)."""
        self._measure(1)
        return Measurement(number, [self._measure(number)], self._task)

    def _runs_per_block(self, target: float) -> int:
        number = 1
        while True:
            elapsed = self._measure(number)
            if elapsed >= target or number >= 10 ** 9:
                return number
            number *= 10

    def blocked_autorange(self, callback: Callable | None = None, min_run_time: float = 0.2) -> Measurement:
        """Blocks of runs, each long enough to time well (about 10 ms), until ``min_run_time`` has passed."""
        number = self._runs_per_block(0.01)
        times, total = [], 0.0
        while total < min_run_time or not times:
            t = self._measure(number)
            times.append(t)
            total += t
            if callback is not None:
                callback(number, t)
        return Measurement(number, times, self._task)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01, max_run_time: float = 10.0,
                           callback: Callable | None = None) -> Measurement:
        """Blocks until the IQR is within ``threshold`` of the median (after ``min_run_time``) or
        ``max_run_time`` has passed."""
        number = self._runs_per_block(0.01)
        times, total = [], 0.0
        while True:
            t = self._measure(number)
            times.append(t)
            total += t
            if callback is not None:
                callback(number, t)
            m = Measurement(number, times, self._task)
            if total >= max_run_time or (total >= min_run_time and len(times) > 3 and m.iqr <= threshold * m.median):
                return m


class Compare:
    """A table of measurements, as ``torch.utils.benchmark.Compare``: a block per label, a row per
    sub_label, a column per description, each cell the median."""

    def __init__(self, results: list[Measurement]) -> None:
        self._results = list(results)
        self._trim = False

    def trim_significant_figures(self) -> None:
        self._trim = True

    def colorize(self, rowwise: bool = False) -> None:
        """Accepted; the table is plain text."""

    def highlight_warnings(self) -> None:
        """Accepted; the table is plain text."""

    def extend_results(self, results: list[Measurement]) -> None:
        self._results.extend(results)

    def __str__(self) -> str:
        if not self._results:
            return ""
        unit, scale = _unit(min(m.median for m in self._results))
        blocks = []
        for label in dict.fromkeys(m.label for m in self._results):
            group = [m for m in self._results if m.label == label]
            columns = list(dict.fromkeys(m.description or "" for m in group))
            rows = list(dict.fromkeys(m.sub_label or m.stmt for m in group))
            cells = {(m.sub_label or m.stmt, m.description or ""): m.median * scale for m in group}
            width = max(len(r) for r in rows) + 6
            col_widths = [max(len(c), 7) for c in columns]
            header = " " * width + "|" + "|".join(f"  {c:^{w - 2}}  " for c, w in zip(columns, col_widths))
            title = f" {label} " if label else " "
            lines = [f"[{title.center(len(header) - 2, '-')}]", header]
            threads = group[0].num_threads
            lines.append(f"{threads} threads: ".ljust(width, " ") + "-" * (len(header) - width))
            for r in rows:
                values = []
                for c, w in zip(columns, col_widths):
                    v = cells.get((r, c))
                    text = "" if v is None else (f"{v:.1f}" if v >= 10 or self._trim else f"{v:.2f}").rstrip("0").rstrip(".")
                    values.append(f"  {text:^{w - 2}}  ")
                lines.append(r.rjust(width - 2) + "  |" + "|".join(values))
            blocks.append("\n".join(lines))
        name = {"s": "seconds (s)", "ms": "milliseconds (ms)", "us": "microseconds (us)", "ns": "nanoseconds (ns)"}[unit]
        return "\n\n".join(blocks) + f"\n\nTimes are in {name}.\n"

    def print(self) -> None:
        print(str(self))
