"""``torch.multiprocessing.pool``: a ``multiprocessing.pool.Pool`` whose task and result queues are this
package's ``SimpleQueue`` (tensors cross as gpugrad's reductions say) and whose workers collect garbage
when they finish, so that shared tensors they held are released. (PyTorch's own class predates Python
3.8's context argument and fails to start there; this one starts.)"""
from __future__ import annotations

import gc
import multiprocessing.pool
from multiprocessing import util
from typing import Any

from .queue import SimpleQueue

__all__ = ["Pool", "SimpleQueue", "clean_worker"]


def clean_worker(*args: Any, **kwargs: Any) -> None:
    """The standard pool worker, then a garbage collection (its last tasks' objects freed at once)."""
    multiprocessing.pool.worker(*args, **kwargs)
    gc.collect()


class Pool(multiprocessing.pool.Pool):
    """``multiprocessing.Pool`` with ``SimpleQueue`` queues and ``clean_worker`` workers."""

    def _setup_queues(self) -> None:
        self._inqueue = SimpleQueue(ctx=self._ctx)
        self._outqueue = SimpleQueue(ctx=self._ctx)
        self._quick_put = self._inqueue._writer.send
        self._quick_get = self._outqueue._reader.recv

    def _repopulate_pool(self) -> None:
        for _ in range(self._processes - len(self._pool)):
            args = (self._inqueue, self._outqueue, self._initializer, self._initargs, self._maxtasksperchild)
            if hasattr(self, "_wrap_exception"):
                args += (self._wrap_exception,)
            worker = self.Process(self._ctx, target=clean_worker, args=args)
            self._pool.append(worker)
            worker.name = worker.name.replace("Process", "PoolWorker")
            worker.daemon = True
            worker.start()
            util.debug("added worker")
