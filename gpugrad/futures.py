"""PyTorch's ``torch.futures``: a ``Future`` holds the result (or the error) of work that completes later, with
callbacks run when it does; ``collect_all`` / ``wait_all`` combine several.

Nothing in gpugrad runs asynchronously behind a Future: a library (captum's attribution of asynchronous
forward functions, say) makes them, completes them with ``set_result`` (from any thread) and chains them with
``then``. As PyTorch's, a callback given to a completed Future runs at once, inline; an error raised by a
``then`` callback completes the Future it returned with a RuntimeError that names it; an error raised by an
``add_done_callback`` callback is reported (a warning) and dropped.
"""
from __future__ import annotations

import threading
import traceback
import warnings
from typing import Any, Callable, Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")


class Future(Generic[T]):
    """``torch.futures.Future`` (also ``gg.Future``): an unset Future, completed once by ``set_result`` or
    ``set_exception``. ``devices`` (the CUDA devices its tensors may live on) is recorded, not needed: gpugrad
    has no per-Future stream synchronisation to do."""

    def __init__(self, *, devices: list | None = None):
        from .backend import Device
        self._devices = [Device(d) if not isinstance(d, int) else Device("cuda", d) for d in (devices or [])]
        self._cond = threading.Condition()
        self._done = False
        self._result: Any = None
        self._error: BaseException | None = None
        self._callbacks: list = []

    def done(self) -> bool:
        """True once the Future holds a result or an error."""
        return self._done

    def wait(self) -> T:
        """Block until the Future is complete; return its value, or raise its error."""
        with self._cond:
            while not self._done:
                self._cond.wait()
        return self.value()

    def value(self) -> T:
        """The value of a completed Future (its error raised); RuntimeError while it is not complete."""
        if not self._done:
            raise RuntimeError("Future.value() called on a Future that is not completed yet: call wait() first, "
                               "or read value() inside a callback")
        if self._error is not None:
            raise self._error
        return self._result

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new Future completed with ``callback(self)`` once this one is complete (at once, inline, if it is
        already). An error raised by the callback completes the new Future with a RuntimeError."""
        child: Future[S] = Future(devices=self._devices)

        def run(fut):
            try:
                result = callback(fut)
            except Exception as e:  # noqa: BLE001  (the child Future carries it to whoever waits)
                err = RuntimeError(f"Got the following error when running the callback: {type(e).__name__}: {e}")
                err.__cause__ = e
                child._complete(None, err)
            else:
                child.set_result(result)

        self._add(run)
        return child

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Run ``callback(self)`` once this Future is complete (inline if it is already); its return value is
        dropped, and an error it raises is reported as a warning, not raised."""
        def run(fut):
            try:
                callback(fut)
            except Exception as e:  # noqa: BLE001  (PyTorch logs it and goes on)
                warnings.warn("Got the following error when running the callback: "
                              + "".join(traceback.format_exception_only(type(e), e)).strip(), RuntimeWarning,
                              stacklevel=2)

        self._add(run)

    def set_result(self, result: T) -> None:
        """Complete the Future with ``result`` and run its callbacks; RuntimeError if it is complete already."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the Future with an error: ``wait()`` and ``value()`` raise it."""
        if not isinstance(result, Exception):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def _add(self, run) -> None:
        with self._cond:
            if not self._done:
                self._callbacks.append(run)
                return
        run(self)

    def _complete(self, result, error) -> None:
        with self._cond:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future "
                                   "can only be marked completed once.")
            self._result, self._error, self._done = result, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for run in callbacks:
            run(self)

    def __repr__(self) -> str:
        state = "done" if self._done else "pending"
        return f"<gpugrad.futures.Future object at {id(self):#x} ({state})>"


def collect_all(futures: list[Future]) -> Future[list[Future]]:
    """A Future completed with the list of ``futures`` once all of them are complete; if one completes with an
    error, the combined Future completes with that error."""
    futures = list(futures)
    for f in futures:
        if not isinstance(f, Future):
            raise TypeError(f"collect_all() takes a list of Futures, got an element of type {type(f).__name__}")
    combined: Future[list[Future]] = Future()
    if not futures:
        combined.set_result([])
        return combined
    lock = threading.Lock()
    left = [len(futures)]

    def one_done(fut):
        with lock:
            if combined.done():
                return
            if fut._error is not None:
                combined._complete(None, fut._error)
                return
            left[0] -= 1
            if left[0]:
                return
        combined.set_result(futures)

    for f in futures:
        f._add(one_done)
    return combined


def wait_all(futures: list[Future]) -> list:
    """Wait for every Future and return their values, in order; the first error met is raised."""
    return [f.wait() for f in collect_all(futures).wait()]
