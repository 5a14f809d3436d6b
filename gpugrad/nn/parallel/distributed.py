"""DistributedDataParallel: data-parallel training over a process group (gpugrad.distributed).

At construction every rank checks that all ranks hold the same parameters (names, shapes, dtypes) and
takes rank 0's parameter and buffer values. During backward each parameter's post-accumulate-grad hook
marks it ready; parameters are grouped into buckets of about ``bucket_cap_mb`` in reverse registration
order (the order backward produces them), and a bucket's all-reduce (average over the ranks) starts as
soon as its last gradient is in, so communication overlaps the rest of backward. Buckets are started in
index order on every rank: collectives must be issued in the same order everywhere.

Where the bucket's gradients live: a fused optimizer keeps every ``.grad`` as a view of one flat gradient
buffer per parameter group (gpugrad/optim/flat.py), in registration order, so a bucket (consecutive
parameters) is usually one contiguous stretch of that buffer. When it is, the all-reduce runs on that
stretch in place, with no copy; this is found per bucket and step from the arrays' addresses (the
optimizer re-allocates its buffer whenever a ``.grad`` is let go, as ``zero_grad()`` does, so it cannot be
fixed once at construction, and DDP is built before the optimizer anyway). Otherwise (the first step,
non-fused optimizers, parameters split across groups or dtypes) the gradients are copied into the
bucket's own flat buffer and the averaged values copied back into each ``.grad`` in place.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy

from ...autograd import grad_mode
from ...tensor import Tensor
from ..module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's first bucket is small, so that communication starts early


def _address(arr: Any) -> int:
    if isinstance(arr, numpy.ndarray):
        return arr.__array_interface__["data"][0]
    return arr.data.ptr  # CuPy


def _root(arr: Any) -> Any:
    while getattr(arr, "base", None) is not None:
        arr = arr.base
    return arr


class _Bucket:
    __slots__ = ("index", "params", "names", "offsets", "size", "dtype", "flat", "pending", "work", "view", "copied")

    def __init__(self, index: int, params: list, names: list[str]) -> None:
        self.index = index
        self.params = params
        self.names = names
        self.offsets = []
        lo = 0
        for p in params:
            self.offsets.append((lo, lo + int(p._array.size)))
            lo += int(p._array.size)
        self.size = lo
        self.dtype = params[0]._array.dtype
        self.flat = None
        self.pending = len(params)
        self.work = None
        self.view = None
        self.copied = False


def _in_place_stretch(bucket: _Bucket) -> Any:
    """The bucket's gradients as one contiguous stretch of a common flat buffer (see the module docstring),
    or None when they are not laid out so."""
    grads = [p.grad._array for p in bucket.params]
    if any(g is None or not g.flags.c_contiguous or g.dtype != bucket.dtype for g in grads):
        return None
    if len(grads) == 1:
        return grads[0].reshape(-1)
    root = _root(grads[0])
    if getattr(root, "ndim", 0) != 1 or not root.flags.c_contiguous or any(_root(g) is not root for g in grads[1:]):
        return None
    item = root.dtype.itemsize
    start = _address(root)
    spans = sorted(((_address(g) - start) // item, g.size) for g in grads)
    for (lo, n), (lo2, _) in zip(spans, spans[1:]):
        if lo + n != lo2:
            return None
    first, last = spans[0][0], spans[-1][0] + spans[-1][1]
    return root[first:last]


def _tensors(obj) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)


def _reachable_leaves(outputs) -> set[int]:
    """ids of the leaf tensors the outputs' autograd graph reaches (for find_unused_parameters)."""
    seen_nodes: set[int] = set()
    leaves: set[int] = set()
    stack = []
    for t in _tensors(outputs):
        if t._node is not None:
            stack.append(t._node)
        elif t._requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for edge in node.next_edges:
            if edge is None:
                continue
            if isinstance(edge, tuple):
                stack.append(edge[0])
            else:
                leaves.add(id(edge))
    return leaves


class DistributedDataParallel(Module):
    """``DistributedDataParallel(module, device_ids=None, ..., bucket_cap_mb=25, find_unused_parameters=False,
    broadcast_buffers=True)``: ``module`` replicated on every rank of ``process_group`` (the world by
    default), gradients averaged over the ranks during backward. ``model.module`` is the wrapped module;
    ``no_sync()`` skips the averaging (gradient accumulation) until the next backward outside it.

    ``check_reduction``, ``gradient_as_bucket_view`` and ``static_graph`` are accepted for PyTorch's
    signature and change nothing: with a fused optimizer the gradients already are the reduced buffer."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False) -> None:
        super().__init__()
        from ...distributed.process_group import _pg

        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        if device_ids is not None and len(list(device_ids)) > 1:
            raise ValueError(f"DistributedDataParallel: device_ids must name one device per process, got {list(device_ids)}")
        pg = _pg(process_group, "DistributedDataParallel")
        self.module = module
        self.device_ids = None if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = True if broadcast_buffers is None else bool(broadcast_buffers)
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        self.require_backward_grad_sync = True
        object.__setattr__(self, "process_group", pg)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module has no parameter that requires a gradient")
        self._check_same_everywhere(pg, named, module)
        if init_sync:  # rank 0's parameters and buffers everywhere (False: the caller has made them equal)
            self._sync_from_rank0(pg, [p for _, p in module.named_parameters()] + [b for _, b in module.named_buffers()])
        object.__setattr__(self, "_buckets", self._make_buckets(named))
        self._param_bucket = {}
        for b in self._buckets:
            for j, p in enumerate(b.params):
                self._param_bucket[id(p)] = (b, j)
        self._marked: set[int] = set()
        self._next_launch = 0
        self._in_flight: list[_Bucket] = []
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for _, p in named]

    # ---- construction --------------------------------------------------------------------------------
    @staticmethod
    def _check_same_everywhere(pg, named, module) -> None:
        mine = [(n, tuple(p.shape), str(p._array.dtype)) for n, p in named]
        everyone = pg.allgather_object(mine)
        for r, theirs in enumerate(everyone):
            if theirs == mine:
                continue
            if len(theirs) != len(mine):
                raise RuntimeError(
                    f"DistributedDataParallel: rank {pg.ranks[pg.rank]} has {len(mine)} parameters but rank "
                    f"{pg.ranks[r]} has {len(theirs)}; every rank must build the same model")
            for (n, s, d), (n2, s2, d2) in zip(mine, theirs):
                if (n, s, d) != (n2, s2, d2):
                    raise RuntimeError(
                        f"DistributedDataParallel: parameter {n!r} has shape {s} ({d}) on rank {pg.ranks[pg.rank]} "
                        f"but {n2!r} has shape {s2} ({d2}) on rank {pg.ranks[r]}; every rank must build the same model")

    @staticmethod
    def _sync_from_rank0(pg, tensors: list[Tensor]) -> None:
        works = [pg.broadcast(t._array, 0) for t in tensors]
        for w in works:
            w.wait()
        if pg.rank != 0:
            for t in tensors:
                t._version_ref[0] += 1

    def _make_buckets(self, named) -> list[_Bucket]:
        cap = int(self.bucket_cap_mb * 1024 * 1024)
        buckets, cur, names, nbytes, limit = [], [], [], 0, min(_FIRST_BUCKET_BYTES, cap)
        for n, p in reversed(named):
            if cur and (nbytes >= limit or p._array.dtype != cur[0]._array.dtype or p._backend is not cur[0]._backend):
                buckets.append(_Bucket(len(buckets), cur, names))
                cur, names, nbytes, limit = [], [], 0, cap
            cur.append(p)
            names.append(n)
            nbytes += p._array.nbytes
        buckets.append(_Bucket(len(buckets), cur, names))
        return buckets

    # ---- forward -------------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        self._check_previous_reduction()
        if self.broadcast_buffers:  # every forward, as PyTorch: rank 0's running statistics win
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers and self.process_group.size > 1:
                self._sync_from_rank0(self.process_group, buffers)
        out = self.module(*inputs, **kwargs)
        if self.find_unused_parameters and self.require_backward_grad_sync and grad_mode.is_grad_enabled():
            reached = _reachable_leaves(out)
            for b in self._buckets:
                for p in b.params:
                    if id(p) not in reached:
                        self._mark(p)
        return out

    def _check_previous_reduction(self) -> None:
        if not self._marked:
            return
        missing = [n for b in self._buckets for p, n in zip(b.params, b.names) if id(p) not in self._marked]
        self._reset()
        raise RuntimeError(
            "DistributedDataParallel: the last backward finished without a gradient for parameter(s) "
            f"{missing}, so their buckets were never averaged across ranks. Pass find_unused_parameters=True "
            "when some parameters do not take part in the loss, or make every output take part in it")

    # ---- backward: hooks and buckets -----------------------------------------------------------------
    def _on_grad(self, param: Tensor) -> None:
        if not self.require_backward_grad_sync:
            return
        self._mark(param)

    def _mark(self, param: Tensor) -> None:
        if id(param) in self._marked:
            name = next(n for b in self._buckets for p, n in zip(b.params, b.names) if p is param)
            self._reset()
            raise RuntimeError(
                f"DistributedDataParallel: parameter {name!r} was marked ready twice in one iteration (a second "
                "backward through the same forward, or a parameter used by a re-entrant backward)")
        self._marked.add(id(param))
        bucket, _ = self._param_bucket[id(param)]
        bucket.pending -= 1
        # Start every bucket that is complete, in index order (the same on every rank).
        while self._next_launch < len(self._buckets) and self._buckets[self._next_launch].pending == 0:
            self._launch(self._buckets[self._next_launch])
            self._next_launch += 1
        for b in self._in_flight:  # let MPI move the started collectives on while backward runs
            b.work.is_completed()
        if self._next_launch == len(self._buckets):
            self._finish()

    def _launch(self, bucket: _Bucket) -> None:
        from ...distributed.work import ReduceOp

        grads_present = all(p.grad is not None for p in bucket.params)
        view = _in_place_stretch(bucket) if grads_present else None
        if view is None:
            if bucket.flat is None:
                p0 = bucket.params[0]
                bucket.flat = p0._backend.xp.empty(bucket.size, dtype=bucket.dtype)
            flat = bucket.flat
            for p, (lo, hi) in zip(bucket.params, bucket.offsets):
                if p.grad is None:
                    flat[lo:hi] = 0  # unused here (find_unused_parameters): contributes nothing
                else:
                    flat[lo:hi] = p.grad._array.reshape(-1)
            view, bucket.copied = flat, True
        else:
            bucket.copied = False
        bucket.view = view
        bucket.work = self.process_group.allreduce(view, ReduceOp.AVG)
        self._in_flight.append(bucket)

    def _finish(self) -> None:
        """End of the reduction: wait for every bucket, put averaged values into the ``.grad``s."""
        try:
            for b in self._buckets:
                b.work.wait()
                for p, (lo, hi) in zip(b.params, b.offsets):
                    if b.copied:
                        avg = b.view[lo:hi].reshape(p._array.shape)
                        if p.grad is None:
                            if not bool((avg != 0).any()):
                                continue  # unused on every rank: no gradient, as PyTorch leaves it
                            p.grad = Tensor._make(avg.copy(), p._backend)
                        else:
                            p.grad._array[...] = avg
                    p.grad._version_ref[0] += 1
        finally:
            self._reset()

    def _reset(self) -> None:
        self._marked = set()
        self._next_launch = 0
        self._in_flight = []
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None
            b.view = None

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates local gradients without averaging them; the first backward after it
        averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def __del__(self) -> None:
        for h in getattr(self, "_handles", ()):
            h.remove()
