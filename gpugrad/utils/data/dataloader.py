"""DataLoader, as ``torch.utils.data``'s: batches from map-style or iterable data sets, in this process or
in worker processes.

Shuffling follows PyTorch's RandomSampler: with ``generator=None`` every epoch draws a fresh seed from
``gg.random.default_generator`` and permutes with a new generator seeded by it, so ``gg.manual_seed(s)``
fixes the whole sequence of epoch orders; with a ``gg.Generator`` the permutations come from it directly.

Resuming a run exactly (checkpoints)
------------------------------------
The order of every later epoch is decided by generator state, so a checkpoint saves that state:

* ``generator=None``: save ``gg.get_rng_state()`` and restore it with ``gg.set_rng_state(state)``;
* ``generator=g``: save ``g.get_state()`` and restore it with ``g.set_state(state)``.

Taken between epochs, that is all. To resume in the middle of an epoch, also save ``loader.state_dict()``
(JSON-able: the state of the generator that drew this epoch's order and how many batches were handed
out) and call ``loader.load_state_dict(sd)`` before iterating again: the next ``iter(loader)`` then
redraws the same order and continues with the next batch. Batch ``k`` of an epoch is the same whether or
not the run was interrupted::

    for epoch in range(start_epoch, epochs):
        for x, y in loader:
            ...
            ckpt = {"rng": gg.get_rng_state(), "loader": loader.state_dict(), ...}
    # after a restart:
    gg.set_rng_state(ckpt["rng"]); loader.load_state_dict(ckpt["loader"])
"""
from __future__ import annotations

import copy
import itertools
import multiprocessing
import pickle
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from ... import random as _random
from ._iterators import _BaseDataLoaderIter, _MultiProcessingDataLoaderIter, _SingleProcessDataLoaderIter
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, T_co
from .fetch import IterableFetcher, MapFetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, draw_seed
from .worker import StreamEnd, WorkerError, worker_loop

_T = TypeVar("_T")
# PyTorch's type aliases of this module, which code annotating its own loaders imports (opacus' DPDataLoader)
_collate_fn_t = Callable[[list[_T]], Any]
_worker_init_fn_t = Callable[[int], None]

_STATE_VERSION = 1
_STATUS_CHECK_INTERVAL = 1.0
_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")  # seconds between checks that the workers are alive while waiting


class _DatasetKind:
    """PyTorch's names for the two kinds of data set (``loader._dataset_kind``, which libraries read)."""

    Map = 0
    Iterable = 1


class _InfiniteConstantSampler(Sampler):
    """The sampler of a loader over an IterableDataset, as PyTorch's: None, forever (the data set decides)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class DataLoader(Generic[T_co]):
    """Iterate over a data set in batches, as ``torch.utils.data.DataLoader``.

        loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, num_workers=2)
        for epoch in range(10):
            for xb, yb in loader:
                ...

    Arguments, their checks and their meaning are PyTorch's. ``len(loader)`` is the number of batches
    (for an iterable data set, estimated from ``len(dataset)`` as PyTorch does). ``batch_size=None``
    turns batching off: each sample goes through ``default_convert`` (or ``collate_fn``) alone.
    ``num_workers > 0`` fetches batches in worker processes of ``multiprocessing_context`` (default: the
    platform's start method), each seeded with ``base_seed + worker_id`` where ``base_seed`` is drawn
    once per iterator from ``generator`` (or the default generator); batches keep the sampler's order.
    ``pin_memory`` is accepted and changes nothing: batches are made on the CPU.
    With no ``collate_fn`` and a ``TensorDataset`` (or a ``Subset`` of one), each batch is taken with one
    indexing per tensor instead of collating samples one by one; the result is the same.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[Any], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: _random.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be non-negative, got {num_workers!r}; "
                "use num_workers=0 to disable multiprocessing"
            )
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in multiprocessing; let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None"
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(f"DataLoader: prefetch_factor option should be non-negative, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(f"DataLoader: generator must be a gg.Generator or None, got {type(generator).__name__}")
        if isinstance(multiprocessing_context, str):
            multiprocessing_context = multiprocessing.get_context(multiprocessing_context)

        is_iterable = isinstance(dataset, IterableDataset)
        if is_iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False) if name == "shuffle" else value is not None:
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, but got {name}={value!r}"
                    )
        else:
            if not hasattr(dataset, "__getitem__"):
                raise TypeError(
                    f"DataLoader: dataset must define __getitem__ (or be an IterableDataset), got {type(dataset).__name__}"
                )
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                    f"and drop_last (got batch_size={batch_size!r}, shuffle={shuffle!r}, "
                    f"sampler={type(sampler).__name__ if sampler is not None else None}, drop_last={drop_last!r})"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value or None, got {batch_size!r}")

        if sampler is None:
            if is_iterable:  # as PyTorch's: a sampler of Nones, read by code that inspects loaders
                sampler = _InfiniteConstantSampler()
            else:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))

        self.dataset = dataset
        self.batch_size = batch_size
        self._shuffle = bool(shuffle)  # private, as PyTorch keeps it: no public attribute of that name
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        # PyTorch's in_order=False lets batches arrive as workers finish them; they always arrive in order
        # here, which that allows too.
        self.in_order = bool(in_order)
        self.drop_last = bool(drop_last)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.collate_fn = collate_fn
        self._is_iterable = is_iterable
        self._dataset_kind = _DatasetKind.Iterable if is_iterable else _DatasetKind.Map
        self._workers: _WorkerPool | None = None  # the persistent workers, once started
        self._epoch = 0
        self._batches_yielded = 0
        self._in_epoch = False
        self._resume: dict | None = None
        self._iterator: _BaseDataLoaderIter | None = None  # the latest pass with persistent workers, as PyTorch's
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        # As PyTorch: these decide the samplers made in __init__, so changing one later would be ignored.
        if getattr(self, "_initialized", False) and name in _FIXED_AFTER_INIT:
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._is_iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._is_iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def _fetcher(self):
        collate = self.collate_fn or (default_collate if self._auto_collation else default_convert)
        if self._is_iterable:
            return IterableFetcher(self.batch_size, self.drop_last, collate)
        return MapFetcher(self.dataset, self._auto_collation, collate, use_batch_fetch=self.collate_fn is None)

    @property
    def _own_random_sampler(self) -> RandomSampler | None:
        """The RandomSampler made for ``shuffle=True``, whose epochs a checkpoint can redraw."""
        return self.sampler if self._shuffle and isinstance(self.sampler, RandomSampler) else None

    # Iteration -----------------------------------------------------------------------------------
    def __iter__(self) -> _BaseDataLoaderIter:
        resume, self._resume = self._resume, None
        start = resume["batches_yielded"] if resume else 0
        # The workers' base seed comes first, as PyTorch draws it before the sampler's epoch seed, and in a
        # single process too (unused there), so that the batches a seed gives do not depend on
        # num_workers; with persistent workers, once. A single process resuming an epoch draws nothing:
        # the epoch's draws were made before its checkpoint.
        pool = self._workers if self.num_workers > 0 and self.persistent_workers else None
        if pool is None and (self.num_workers > 0 or not resume):
            base_seed = draw_seed(self.generator or _random.default_generator)
            if self.num_workers > 0:
                pool = _WorkerPool(self, base_seed)
                if self.persistent_workers:
                    self._workers = pool
        own = self._own_random_sampler
        if own is not None:
            own._epoch_state = None
            own._replay_state = resume["epoch_generator_state"] if resume else None
        self._epoch += 1
        self._batches_yielded, self._in_epoch = start, True
        if pool is None:
            return _SingleProcessDataLoaderIter(self, self._single_process(start), start)
        batches = self._multi_process(pool, start)
        next(batches)  # the first tasks go out now, as PyTorch's iterator sends them when it is made
        it = _MultiProcessingDataLoaderIter(self, batches, start)
        if pool is self._workers:
            self._iterator = it
        return it

    def _index_batches(self, start: int) -> Iterator:
        if self._is_iterable:
            return itertools.repeat(None)
        return itertools.islice(iter(self._index_sampler), start, None)

    def _single_process(self, start: int) -> Iterator[Any]:
        fetch = self._fetcher()
        if self._is_iterable:
            stream = iter(self.dataset)
            for _ in range(start):
                fetch(stream)
        count = start
        for indices in self._index_batches(start):
            try:
                batch = fetch(stream) if self._is_iterable else fetch(indices)
            except StopIteration:
                break
            count += 1
            self._batches_yielded = count
            yield batch
        self._in_epoch = False

    def _multi_process(self, pool: _WorkerPool, start: int) -> Iterator[Any]:
        """The batches of a pass with worker processes. The first ``next`` sends the first tasks (so the
        sampler draws its order then) and yields None; from then on closing the pass stops its workers."""
        epoch = self._epoch
        try:
            batches = pool.run_epoch(epoch, self._index_batches(start), skip=start if self._is_iterable else 0)
            yield None
            count = start
            for batch in batches:
                count += 1
                self._batches_yielded = count
                yield batch
            self._in_epoch = False
        finally:
            if pool is not self._workers:  # this iterator's own workers (not persistent ones)
                pool.shutdown()

    def _shutdown_workers(self) -> None:
        if getattr(self, "_workers", None) is not None:  # absent when __init__ failed
            self._workers.shutdown()
            self._workers = None

    def __del__(self) -> None:
        self._shutdown_workers()

    # Checkpointing -------------------------------------------------------------------------------
    def _epoch_generator_state(self) -> dict | None:
        """The state that drew this epoch's order; None when the sampler has not drawn it yet (resuming
        then starts the epoch afresh, which draws the same order from the saved generator state)."""
        own = self._own_random_sampler
        return own._epoch_state if own is not None else None

    def _dataset_len(self) -> int | None:
        """The data set's length; None for an iterable data set without one (its stream has no end to check)."""
        return len(self.dataset) if hasattr(self.dataset, "__len__") else None

    def state_dict(self) -> dict:
        """JSON-able state for resuming mid-epoch (see the module docstring). Between epochs it records
        only the explicit generator's state; the default generator is the training loop's to save."""
        return {
            "version": _STATE_VERSION,
            "dataset_len": self._dataset_len(),
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
            "shuffle": self._shuffle,
            "in_epoch": self._in_epoch,
            "batches_yielded": self._batches_yielded if self._in_epoch else 0,
            "epoch_generator_state": copy.deepcopy(self._epoch_generator_state()) if self._in_epoch else None,
            "generator_state": self.generator._json_state() if self.generator is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; the next ``iter(self)`` continues the saved epoch, if one was running."""
        missing = [k for k in ("version", "dataset_len", "batch_size", "drop_last", "shuffle", "in_epoch",
                               "batches_yielded", "epoch_generator_state", "generator_state") if k not in state]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing keys {missing}")
        if state["version"] != _STATE_VERSION:
            raise ValueError(f"DataLoader.load_state_dict: unknown state version {state['version']!r}")
        mine = {"dataset_len": self._dataset_len(), "batch_size": self.batch_size, "drop_last": self.drop_last,
                "shuffle": self._shuffle}
        differ = {k: (state[k], v) for k, v in mine.items() if state[k] != v}
        if differ:
            listed = ", ".join(f"{k}: saved {a!r}, loader has {b!r}" for k, (a, b) in differ.items())
            raise ValueError(f"DataLoader.load_state_dict: the saved loader differs from this one ({listed})")
        if (state["generator_state"] is None) != (self.generator is None):
            raise ValueError(
                "DataLoader.load_state_dict: the saved loader "
                + ("had no generator but this one has one" if state["generator_state"] is None
                   else "had its own generator but this one uses the default generator")
            )
        most = len(self) if self._dataset_len() is not None else None  # a stream without a length: no bound
        yielded = state["batches_yielded"]
        if state["in_epoch"] and (yielded < 0 or most is not None and yielded > most):
            raise ValueError(f"DataLoader.load_state_dict: batches_yielded={yielded} is outside 0..{most}")
        if state["in_epoch"] and state["batches_yielded"] and self._shuffle and state["epoch_generator_state"] is None:
            raise ValueError("DataLoader.load_state_dict: a shuffled epoch in progress needs epoch_generator_state")
        if self.generator is not None:
            self.generator.set_state(state["generator_state"])
        self._resume = (
            {"epoch_generator_state": copy.deepcopy(state["epoch_generator_state"]),
             "batches_yielded": int(state["batches_yielded"])}
            if state["in_epoch"] else None
        )
        self._in_epoch = False


class _WorkerPool:
    """The worker processes of one loader (of one epoch, or of all epochs with persistent workers)."""

    def __init__(self, loader: DataLoader, base_seed: int) -> None:
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self.num_workers = loader.num_workers
        self.in_flight = max(1, loader.prefetch_factor * loader.num_workers)
        self.timeout = loader.timeout
        self.is_iterable = loader._is_iterable
        self.epochs_run = 0
        self.result_queue = ctx.Queue()
        self.index_queues = []
        self.workers = []
        fetch = loader._fetcher()
        for worker_id in range(self.num_workers):
            index_queue = ctx.Queue()
            worker = ctx.Process(
                target=worker_loop,
                args=(loader.dataset, fetch, self.is_iterable, index_queue, self.result_queue, base_seed,
                      worker_id, self.num_workers, loader.worker_init_fn),
                daemon=True,
            )
            worker.start()
            self.index_queues.append(index_queue)
            self.workers.append(worker)

    def run_epoch(self, epoch: int, index_batches: Iterator, skip: int) -> Iterator[Any]:
        """Send the first ``in_flight`` tasks of ``index_batches`` now, and return an iterator of the batches
        in order, keeping ``in_flight`` tasks with the workers.

        Tasks go to the workers in turn, skipping those whose stream has ended (iterable data sets), as
        PyTorch's; a worker's error is re-raised here when its batch is next."""
        if self.epochs_run and self.is_iterable:
            for index_queue in self.index_queues:
                index_queue.put(("reset", epoch))
        self.epochs_run += 1
        tasks = _EpochTasks(self, epoch, index_batches)
        for _ in range(self.in_flight):
            tasks.send_next()
        return self._results(tasks, skip)

    def _results(self, tasks: _EpochTasks, skip: int) -> Iterator[Any]:
        received: dict[int, bytes] = {}
        done = 0
        while done < tasks.sent:
            while done not in received:
                result_epoch, index, payload = self._next_result()
                if result_epoch == tasks.epoch:  # results of an abandoned epoch are dropped
                    received[index] = payload
            data = pickle.loads(received.pop(done))
            worker_id = tasks.owner.pop(done)
            done += 1
            if isinstance(data, WorkerError):
                data.reraise()
            if isinstance(data, StreamEnd):
                tasks.active[worker_id] = False
                tasks.send_next()
                continue
            tasks.send_next()
            if skip:
                skip -= 1
                continue
            yield data

    def _next_result(self) -> tuple:
        deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
        while True:
            wait = _STATUS_CHECK_INTERVAL if deadline is None else max(0.0, min(_STATUS_CHECK_INTERVAL, deadline - time.monotonic()))
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [f"worker {i} (pid {w.pid}, exit code {w.exitcode})"
                        for i, w in enumerate(self.workers) if not w.is_alive()]
                if dead:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader: {', '.join(dead)} exited unexpectedly") from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None

    def shutdown(self) -> None:
        for index_queue, worker in zip(self.index_queues, self.workers):
            if worker.is_alive():
                try:
                    index_queue.put(None)
                except (OSError, ValueError):  # the queue is already closed
                    pass
        for worker in self.workers:
            worker.join(timeout=_STATUS_CHECK_INTERVAL)
            if worker.is_alive():  # stuck in user code: it has had its chance to finish
                worker.terminate()
                worker.join()
        for q in (*self.index_queues, self.result_queue):
            q.cancel_join_thread()
            q.close()
        self.workers, self.index_queues = [], []


class _EpochTasks:
    """One epoch's tasks: the index batches sent to the workers in turn, and which worker has which."""

    def __init__(self, pool: _WorkerPool, epoch: int, index_batches: Iterator) -> None:
        self.pool, self.epoch, self.index_batches = pool, epoch, index_batches
        self.active = [True] * pool.num_workers  # False once a worker's stream has ended (iterable data sets)
        self.turn = itertools.cycle(range(pool.num_workers))
        self.owner: dict[int, int] = {}  # send index -> the worker it went to
        self.sent = 0

    def send_next(self) -> None:
        if not any(self.active):
            return
        indices = next(self.index_batches, _NO_MORE)
        if indices is _NO_MORE:
            return
        worker_id = next(w for w in self.turn if self.active[w])
        self.pool.index_queues[worker_id].put((self.epoch, self.sent, indices))
        self.owner[self.sent] = worker_id
        self.sent += 1


_NO_MORE = object()
