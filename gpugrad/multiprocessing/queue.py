"""``torch.multiprocessing.queue``: queues whose pipe ends pickle with multiprocessing's ``ForkingPickler``,
on which gpugrad registers how tensors cross (reductions.py: by reference in shared memory, else by value).

``ConnectionWrapper`` makes a connection pickle so; ``Queue`` and ``SimpleQueue`` are the standard
library's queues over such connections (what ``torch.multiprocessing.Pool`` and data loaders use)."""
from __future__ import annotations

import io
import multiprocessing.queues
import pickle
from multiprocessing.reduction import ForkingPickler
from typing import Any

__all__ = ["ConnectionWrapper", "Queue", "SimpleQueue"]


class ConnectionWrapper:
    """A ``multiprocessing`` connection whose ``send`` and ``recv`` pickle with ``ForkingPickler``; every
    other attribute is the connection's."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def send(self, obj: Any) -> None:
        buffer = io.BytesIO()
        ForkingPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(obj)
        self.send_bytes(buffer.getvalue())

    def recv(self) -> Any:
        return pickle.loads(self.recv_bytes())

    def __getattr__(self, name: str) -> Any:
        if "conn" in self.__dict__:
            return getattr(self.conn, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute 'conn'")


class Queue(multiprocessing.queues.Queue):
    """``multiprocessing.Queue`` over wrapped connections (pass ``ctx=multiprocessing.get_context()``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader = ConnectionWrapper(self._reader)
        self._writer = ConnectionWrapper(self._writer)
        self._send = self._writer.send
        self._recv = self._reader.recv


class SimpleQueue(multiprocessing.queues.SimpleQueue):
    """``multiprocessing.SimpleQueue`` over wrapped connections."""

    def _make_methods(self) -> None:
        if not isinstance(self._reader, ConnectionWrapper):
            self._reader = ConnectionWrapper(self._reader)
            self._writer = ConnectionWrapper(self._writer)
        super()._make_methods()
