"""What runs inside a DataLoader worker process, and what it sends back.

Tensors cross process boundaries through multiprocessing's pickler, with gg.multiprocessing's reductions
(registered when gpugrad is imported): batches, and data sets under the spawn start method, travel
through ordinary multiprocessing queues, as copies unless they are in shared memory.
"""
from __future__ import annotations

import pickle
import random
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy

from ... import random as _random



@dataclass(frozen=True)
class WorkerInfo:
    """Inside a worker: its ``id`` (0-based), ``num_workers``, its ``seed`` and its copy of ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; ``None`` in the main process."""
    return _worker_info


class WorkerError:
    """An exception caught in a worker, sent back to be re-raised in the main process."""

    def __init__(self, worker_id: int, exc: BaseException, where: str = "") -> None:
        self.worker_id = worker_id
        self.exc_name = type(exc).__name__
        self.where = where
        self.text = traceback.format_exc()
        try:  # the class itself when it can travel (a class defined inside a function cannot)
            self.exc_type = pickle.loads(pickle.dumps(type(exc)))
        except Exception:
            self.exc_type = RuntimeError

    def reraise(self) -> None:
        """Raise the worker's exception type with a message naming the worker and its traceback text."""
        msg = f"Caught {self.exc_name}{self.where} in DataLoader worker process {self.worker_id}.\n" \
              f"Original {self.text}"
        try:
            err = self.exc_type(msg)
        except Exception:  # an exception class whose constructor wants more than a message
            err = RuntimeError(msg)
        raise err


class StreamEnd:
    """A worker's answer once its copy of an iterable data set is exhausted for this epoch."""


def _dumps(obj: Any) -> bytes:
    return bytes(ForkingPickler.dumps(obj))


def _seed_worker(seed: int, worker_id: int, base_seed: int) -> None:
    # PyTorch seeds its own generator and Python's with base_seed + worker_id, and NumPy's global one
    # from both numbers, so that workers never share a random stream.
    _random.manual_seed(seed)
    random.seed(seed)
    numpy.random.seed(numpy.random.SeedSequence([worker_id, base_seed]).generate_state(4))


def worker_loop(dataset, fetch, is_iterable: bool, index_queue, result_queue, base_seed: int,
                worker_id: int, num_workers: int, worker_init_fn) -> None:
    """Answer ``(epoch, send_idx, indices)`` tasks with ``(epoch, send_idx, pickled data)`` until sent ``None``.

    ``("reset", epoch)`` restarts an iterable data set for a new epoch (persistent workers). For an
    iterable data set ``indices`` is unused and ``fetch`` draws the next batch from the stream.
    """
    global _worker_info
    seed = base_seed + worker_id
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    _seed_worker(seed, worker_id, base_seed)
    init_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as exc:
        init_error = WorkerError(worker_id, exc, " in worker_init_fn")
    stream = iter(dataset) if is_iterable and init_error is None else None
    while True:
        task = index_queue.get()
        if task is None:
            return
        if task[0] == "reset":
            stream = iter(dataset) if init_error is None else None
            continue
        epoch, send_idx, indices = task
        if init_error is not None:
            result_queue.put((epoch, send_idx, _dumps(init_error)))
            continue
        # Pickled here rather than in the queue's feeder thread, so that a sample that cannot travel is
        # reported as this batch's error instead of being lost (and the main process waiting forever).
        try:
            data = fetch(stream) if is_iterable else fetch(indices)
            payload = _dumps(data)
        except StopIteration:
            payload = _dumps(StreamEnd())
        except Exception as exc:
            payload = _dumps(WorkerError(worker_id, exc))
        result_queue.put((epoch, send_idx, payload))
