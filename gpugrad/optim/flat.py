"""Flat buffers behind the fused optimizer step (design.md, "Optimizer step").

For one parameter group, parameters are bucketed by (dtype, device). Each bucket owns one contiguous
array for the parameters, one for the gradients and one per state name (exp_avg, ...); every parameter's
``.data`` and every state Tensor is a view at the parameter's offset. A complex parameter sits in the
bucket of its parts' dtype as (real, imag) pairs, its views reading them as complex numbers: the update
treats it as PyTorch's does, as ``view_as_real`` of the parameter, gradient and state. A step then is a single kernel
launch per bucket that reads p, g and the state once and writes them back, with no temporaries.

The optimizer stays the owner of the truth a user can touch (``p.data``, ``p.grad``, ``state[p]``); the
buckets notice when any of those stop being their views (``p.data = new``, a ``.grad`` set by hand,
state from ``load_state_dict``) and copy the current values in, by an identity check per array per step.

Sparse gradients (``nn.Embedding(sparse=True)``) never enter these buffers: a group with one takes the
per-parameter path for that step (optimizer.py), writing into the same parameter views.

Gradients follow one rule, PyTorch's: a ``.grad`` that was cleared or replaced (``zero_grad()``,
``p.grad = None``) is the caller's from then on and never changes again. So each bucket's gradient
buffer serves one generation of gradients: backward copies a parameter's new gradient straight into its
view of the buffer (the engine asks the parameter's ``_grad_sink``, its slot here), and once any of
those views is let go (the Tensor.grad setter tells the slot), the next gradient starts a fresh buffer.
``zero_grad(set_to_none=False)`` zeroes in place and keeps the views, as PyTorch keeps its tensors.

A parameter's memory moves into a buffer only when nothing else holds it (``take_over``). PyTorch updates
every parameter in place, so a ``p.detach()``, ``p.data``, ``state_dict()`` entry or NumPy view taken
before the optimizer was made sees each step; a group where any such alias is alive (asked of a weak
reference to each parameter's array once the buffers hold the values), or whose parameters view other
tensors' memory, stays where it is and is updated parameter by parameter (``InPlace``).
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy

from .. import storage
from ..errors import ShapeError
from ..tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from .optimizer import Optimizer

__all__ = ["DeviceSteps", "FlatGroup", "InPlace", "check_state", "full", "state_like", "step_tensor", "take_over"]


def _on_device(backend, fn):
    if backend.xp is numpy:
        return fn()
    with backend.xp.cuda.Device(backend.device.index):  # pragma: no cover - needs a GPU
        return fn()


def empty(backend, n: int, dtype) -> Any:
    return _on_device(backend, lambda: backend.xp.empty(n, dtype=dtype))


def full(backend, shape, fill: float, dtype) -> Any:
    return _on_device(backend, lambda: backend.xp.full(shape, fill_for(fill, dtype), dtype=dtype))


def fill_for(fill: float, dtype) -> float | complex:
    """A state's starting value in an array of ``dtype``: for a complex parameter in both parts, whose
    update treats them as two independent reals (PyTorch's Adagrad and Rprop start at complex(v, v))."""
    return complex(fill, fill) if numpy.dtype(dtype).kind == "c" else fill


def _to_backend(backend, t: Tensor) -> Any:
    if t._backend is backend:
        return t._array
    return backend.asarray(t._backend.to_numpy(t._array))


def state_like(t: Tensor, p: Tensor) -> Tensor:
    """A copy of state tensor ``t`` with ``p``'s dtype, device and shape."""
    data = _to_backend(p._backend, t).astype(p._array.dtype, copy=True).reshape(p._array.shape)
    return Tensor._make(data, p._backend)


class DeviceSteps(NamedTuple):
    """What a capturable step passes ``Optimizer._apply`` as ``step``: the float32 device array of the
    step counts (after this step's increment), one per parameter of the run, and each parameter's end
    offset in the run's flat buffers (None: one parameter)."""

    counts: Any
    bounds: tuple[int, ...] | None


def step_tensor(backend, value: Any = 0.0) -> Tensor:
    """A capturable step count: a 0-d float32 tensor on ``backend``'s device, as PyTorch keeps it."""
    if isinstance(value, Tensor):
        data = _to_backend(backend, value).astype(numpy.float32).reshape(())
        if data is value._array:
            data = data.copy()
        return Tensor._make(data, backend)
    return Tensor._make(full(backend, (), float(value), numpy.float32), backend)


def check_state(params, state, opt_name: str, index_base: int) -> None:
    """Every state tensor still has its parameter's size (a parameter replaced by one of another size
    while the optimizer holds state for it cannot be continued)."""
    for i, p in enumerate(params, index_base):
        st = state.get(p)
        if not st:
            continue
        n = p._array.size
        for k, v in st.items():
            if not isinstance(v, Tensor) or k == "step":
                continue
            size = v.numel() if v.is_sparse else v._array.size  # sparse: SGD's momentum from sparse gradients
            if size != n:
                raise ShapeError(
                    f"{opt_name}.step: parameter {i} now has shape {tuple(p.shape)} but its optimizer state "
                    f"'{k}' has shape {tuple(v.shape)}; the parameter was replaced by one of another size"
                )


def parts_dtype(dtype) -> Any:
    """The dtype a flat buffer holds ``dtype`` in: a complex dtype as its parts' (complex64 as float32 pairs)."""
    return numpy.dtype(dtype).type(0).real.dtype if numpy.dtype(dtype).kind == "c" else numpy.dtype(dtype)


class _Slot:
    __slots__ = ("param", "bucket", "index", "lo", "hi", "shape", "dtype", "pview", "gview", "sview", "__weakref__")

    def __init__(self, param: Tensor, bucket: "_Bucket", index: int, lo: int, hi: int) -> None:
        self.param = param
        self.index = index
        self.bucket = bucket
        self.lo, self.hi = lo, hi
        self.shape = param._array.shape
        self.dtype = param._array.dtype  # complex: two buffer elements per element
        self.sview: dict[str, Any] = {}

    def view(self, buffer: Any) -> Any:
        """This parameter's piece of a flat buffer, in its shape and dtype."""
        piece = buffer[self.lo : self.hi]
        return (piece if piece.dtype == self.dtype else piece.view(self.dtype)).reshape(self.shape)

    def take_grad(self, leaf: Tensor, g: Any) -> Any:
        """The gradient view holding a copy of ``g``, for the engine to make ``leaf.grad`` (see
        ``Tensor._grad_sink``); None when the parameter left the buffer or ``g`` does not fit."""
        if leaf is not self.param or leaf._array is not self.pview:
            return None
        if self.bucket.let_go:
            self.bucket.new_grad_buffer()
        view = self.gview
        if g.shape != view.shape or g.dtype != view.dtype:
            return None
        view[...] = g
        return view

    def release(self, grad: Tensor) -> None:
        """Called when ``grad`` stops being the parameter's ``.grad``: if it is this slot's view, the
        caller may keep it, so the next gradients go to a fresh buffer."""
        if not grad.is_sparse and grad._array is self.gview:  # a sparse gradient is never in a flat buffer
            self.bucket.let_go = True


class _Run:
    __slots__ = ("lo", "hi", "key", "slots")

    def __init__(self, slot: _Slot, key: tuple) -> None:
        self.lo, self.hi, self.key, self.slots = slot.lo, slot.hi, key, [slot]


class _Bucket:
    """The flat arrays for the parameters of one group that share a dtype and a device."""

    def __init__(self, backend, dtype, params: list[Tensor]) -> None:
        self.backend = backend
        self.xp = backend.xp
        self.dtype = dtype
        self.slots: list[_Slot] = []
        lo = 0
        for i, p in enumerate(params):
            hi = lo + int(p._array.size) * (2 if p._array.dtype.kind == "c" else 1)
            self.slots.append(_Slot(p, self, i, lo, hi))
            lo = hi
        self.size = lo
        self.p = self._pieces(empty(backend, lo, dtype))
        self.s: dict[str, Any] = {}
        self.steps: Any = None  # capturable: the step counts, one per slot (see step_view)
        for slot in self.slots:
            slot.pview = slot.view(self.p)
            slot.pview[...] = slot.param._array
        self.new_grad_buffer()
        # Only after every value is in: a failure above leaves the parameters untouched.
        for slot in self.slots:
            slot.param._array = slot.pview
            # Weak: a dropped optimizer must not keep its buffers alive through its parameters.
            slot.param._grad_sink = weakref.ref(slot)

    def _pieces(self, buffer: Any) -> Any:
        """``buffer``, each parameter's piece of it registered as a storage of its own (gpugrad/storage.py:
        PyTorch's parameters, gradients and states do not share storages)."""
        storage.register_pieces(buffer, [(s.lo * buffer.itemsize, s.hi * buffer.itemsize) for s in self.slots])
        return buffer

    def new_grad_buffer(self) -> None:
        """Start a fresh gradient buffer: the old one belongs to whoever still holds its views."""
        self.g = self._pieces(empty(self.backend, self.size, self.dtype))
        self.let_go = False
        for slot in self.slots:
            slot.gview = slot.view(self.g)

    def _state_array(self, key: str) -> Any:
        arr = self.s.get(key)
        if arr is None:
            arr = self.s[key] = self._pieces(empty(self.backend, self.size, self.dtype))
        return arr

    def _state_view(self, slot: _Slot, key: str) -> Any:
        view = slot.sview.get(key)
        if view is None:
            view = slot.sview[key] = slot.view(self._state_array(key))
        return view

    def step_view(self, slot: _Slot) -> Any:
        """Slot's element of the capturable step counts: every slot's "step" state is a 0-d view of one
        float32 array, so one array op advances a run of parameters and one kernel reads their counts."""
        if self.steps is None:
            self.steps = full(self.backend, len(self.slots), 0.0, numpy.float32)
        view = slot.sview.get("step")
        if view is None:
            view = slot.sview["step"] = self.steps[slot.index : slot.index + 1].reshape(())
        return view

    def _adopt_step(self, slot: _Slot, st: dict) -> None:
        v = st.get("step")
        if isinstance(v, Tensor) and v._array is slot.sview.get("step"):
            return
        view = self.step_view(slot)
        if isinstance(v, Tensor):
            view[...] = _to_backend(self.backend, v).reshape(())  # on the device when it already is there
        else:
            view.fill(0.0 if v is None else float(v))
        st["step"] = Tensor._make(view, self.backend)

    def _adopt(self, slot: _Slot, st: dict, capturable: bool = False) -> None:
        """Copy state tensors that are not our views (loaded, or from before a rebuild) into the buffers."""
        for k, v in list(st.items()):
            if k == "step" and capturable:
                self._adopt_step(slot, st)
                continue
            if not isinstance(v, Tensor):
                if v is None and k != "step":
                    del st[k]  # PyTorch's "no buffer yet"
                continue
            if v._array is slot.sview.get(k):
                continue
            view = self._state_view(slot, k)
            view[...] = _to_backend(self.backend, v).reshape(slot.shape)
            st[k] = Tensor._make(view, self.backend)

    def step(self, opt: Optimizer, group: dict, spec: dict, sspec: dict) -> None:
        backend = self.backend
        counts = opt._counts_steps
        capturable = bool(group.get("capturable"))
        state = opt.state
        runs: list[_Run] = []
        if self.let_go:  # a .grad was let go since the last backward: its memory must not be written
            self.new_grad_buffer()
        for slot in self.slots:
            p = slot.param
            st = state.get(p)
            if st:
                self._adopt(slot, st, capturable)
            g = p.grad
            if g is None:
                continue
            if g._array is not slot.gview:
                slot.gview[...] = g._array
                if not g.requires_grad:
                    # From now on backward writes straight into the flat buffer (the engine accumulates
                    # into the view, or after zero_grad() copies into it through `take_grad`), and the
                    # copy above is skipped.
                    p.grad = Tensor._make(slot.gview, backend)
            if st is None and (spec or sspec or counts):
                st = state[p]
                if counts:
                    st["step"] = 0  # first, as PyTorch orders its state
                    if capturable:
                        self._adopt_step(slot, st)
            if st is None:
                key = (1, True, ())
            else:
                first = opt._is_first(st)
                for k, start in sspec.items():
                    st.setdefault(k, start)
                for k, fill in spec.items():
                    if st.get(k) is None:
                        view = self._state_view(slot, k)
                        view.fill(fill_for(fill, view.dtype))
                        st[k] = Tensor._make(view, backend)
                # Parameters share one launch only when their scalar state is the same too.
                # Capturable: the counts stay on the device, and each parameter's is read by the kernel.
                step = 1 if capturable or not counts else int(st.get("step", 0)) + 1
                key = (step, first, tuple(st[k] for k in sspec))
            if runs and runs[-1].hi == slot.lo and runs[-1].key == key:
                run = runs[-1]
                run.hi = slot.hi
                run.slots.append(slot)
            else:
                runs.append(_Run(slot, key))
        for run in runs:
            whole = run.lo == 0 and run.hi == self.size
            sl = slice(run.lo, run.hi)
            P = self.p if whole else self.p[sl]
            G = self.g if whole else self.g[sl]
            bufs = {k: (self._state_array(k) if whole else self._state_array(k)[sl]) for k in spec}
            step, first, scalar_values = run.key
            scalars = dict(zip(sspec, scalar_values))
            if capturable:
                a, b = run.slots[0].index, run.slots[-1].index + 1
                counts_ = self.steps[a:b]
                counts_ += 1  # one array op on the device, never read back
                bounds = None if b - a == 1 else tuple(s.hi - run.lo for s in run.slots)
                step = DeviceSteps(counts_, bounds)
            opt._update(self.xp, P, G, bufs, group, step=step, first=first, scalars=scalars, impl=backend.kernel_impl)
            for slot in run.slots:
                p = slot.param
                if counts and not capturable:
                    state[p]["step"] = step
                if scalars:
                    state[p].update(scalars)
                p._version_ref[0] += 1


class FlatGroup:
    """The buckets of one parameter group, built from the parameters' current values."""

    def __init__(self, params: list[Tensor]) -> None:
        buckets: dict[tuple, list[Tensor]] = {}
        for p in params:
            buckets.setdefault((parts_dtype(p._array.dtype), p._backend), []).append(p)
        self.buckets = [_Bucket(backend, dtype, ps) for (dtype, backend), ps in buckets.items()]
        by_id = {id(s.param): s for b in self.buckets for s in b.slots}
        self._order = [by_id[id(p)] for p in params]

    def matches(self, params: list[Tensor]) -> bool:
        """Whether the group still holds exactly these parameters, each still viewing its buffer."""
        if len(params) != len(self._order):
            return False
        for p, slot in zip(params, self._order):
            if slot.param is not p or p._array is not slot.pview:
                return False
        return True

    def step(self, opt: Optimizer, group: dict) -> None:
        spec = opt._state_spec(group)
        sspec = opt._scalar_spec(group)
        for bucket in self.buckets:
            bucket.step(opt, group, spec, sspec)


class InPlace:
    """A group left in its parameters' own memory (see the module's docstring): each step takes the
    per-parameter path, which writes into every parameter where it is."""

    def __init__(self, params: list[Tensor]) -> None:
        self._held = [(p, p._array) for p in params]

    def matches(self, params: list[Tensor]) -> bool:
        """Whether the group still holds exactly these parameters, each in the memory it had."""
        return len(params) == len(self._held) and all(p is q and p._array is a for p, (q, a) in zip(params, self._held))

    def step(self, opt: Optimizer, group: dict) -> None:
        opt._step_reference(group)


def take_over(params: list[Tensor]) -> FlatGroup | InPlace:
    """The group's parameters moved into flat buffers when nothing else holds their memory; else left where
    they are. The caller must hold no reference to the parameters' arrays."""
    refs = []
    for p in params:
        if p._array.base is not None:  # a view: whatever owns the memory may be the user's
            return InPlace(params)
        try:
            refs.append(weakref.ref(p._array))
        except TypeError:  # an array type without weak references: no way to know who else holds it
            return InPlace(params)
    group = FlatGroup(params)
    held_elsewhere = [r() for r in refs]
    if all(a is None for a in held_elsewhere):
        return group
    for p, a in zip(params, held_elsewhere):  # back to their own memory, with the values they had
        p._array = a if a is not None else p._array.copy()
        p._grad_sink = None
    return InPlace(params)
