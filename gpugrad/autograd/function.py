"""Function and its context: how one op records itself for backward.

``Function.apply`` runs ``forward`` (on backend arrays for gpugrad's own ops, on the Tensors for a user's
Function, as PyTorch's) and, when any input requires grad and grad mode is on, records a Node (which doubles as the ``ctx`` handed to forward and backward). A Node keeps, per
positional input, where that input's gradient goes next: the Node that made it, the leaf Tensor itself,
or nothing. It never refers to its own outputs, so a graph holds no reference cycles and is freed by
reference counting alone.
"""
from __future__ import annotations

import functools

import numpy

from ..backend import cpu as _cpu_backend
from .. import dtypes as _dtypes
from ..dtypes import FLOAT_KINDS, INEXACT_KINDS
from ..errors import CaptureError, DeviceError, DTypeError, ShapeError, broadcast_mismatch
from . import anomaly, reduced_float
from .reduced_float import FLOAT16_NP
from .watch import state as _watch
from .grad_mode import _state as _grad_state
from .grad_mode import no_grad

_Tensor = None  # set by gpugrad.tensor at import: autograd sits below tensor.py and must not import it


def _bind_tensor_class(cls) -> None:
    global _Tensor
    _Tensor = cls


# How a saved value is kept: an input, an output, a constant, a non-differentiable output (max-pool's
# indices), or any of them packed by saved_tensors_hooks (graph.py).
_IN, _OUT, _CONST, _OUT_CONST, _PACKED = 0, 1, 2, 3, 4


class RemovableHandle:
    """Returned by ``register_hook`` (of a Tensor or a node); ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        try:
            self._hooks.remove(self._hook)
        except ValueError:
            pass


class NodeHooks:
    """A node's own hooks (``grad_fn.register_prehook`` / ``register_hook``), run by the engine around
    its backward: pre(grad_outputs) and post(grad_inputs, grad_outputs), each may return replacements."""

    def __init__(self) -> None:
        self.pre: list = []
        self.post: list = []


class Node:
    """One recorded op application; also the ``ctx`` of its Function's forward and backward."""

    # What most nodes never change: class attributes, so that making a Node (every op application does)
    # stores only its function, backend and input flags; assigning one shadows it for that node alone.
    next_edges = ()  # per positional input: (node, output index), the leaf Tensor, or None
    input_meta = ()  # per positional input: (shape, dtype) its gradient must have, or None
    n_outputs = 1
    output_meta = ()  # per output when there are several: (shape, dtype), to materialise a missing gradient
    pre_hooks = None  # per output index: the hooks of the Tensors that output is (Tensor.register_hook)
    hooks = None  # the node's own hooks (NodeHooks)
    retained = None
    materialize_grads = True  # set_materialize_grads
    created_at = None
    output_backend = None  # set by forward when outputs live on another device (``.to``)
    _to_save = ()
    _saved = None
    _freed = False
    _non_differentiable = ()
    derivative_kwargs = None  # an op with a derivative: that op's keyword arguments, if any (Op.derivative)

    def __init__(self, fn, backend, needs_input_grad) -> None:
        self.fn = fn
        self.backend = backend
        self.xp = backend.xp
        self.needs_input_grad = needs_input_grad

    @property
    def op_name(self) -> str:
        """The op's name, for messages (``mul``)."""
        return self.fn.op_name()

    def name(self) -> str:
        """PyTorch's name of this backward node (``MulBackward``), as ``grad_fn.name()``."""
        return f"{self.fn.__name__}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple:
        """Per input of the op: (the node its gradient goes to, that node's output index); a leaf's is
        its ``AccumulateGrad``, an input that needs no gradient's is (None, 0)."""
        return tuple((None, 0) if e is None else e if e.__class__ is tuple else (AccumulateGrad(e), 0)
                     for e in self.next_edges)

    def register_prehook(self, hook) -> RemovableHandle:
        """``hook(grad_outputs) -> tuple | None`` before this node's backward; a tuple replaces them."""
        if self.hooks is None:
            self.hooks = NodeHooks()
        self.hooks.pre.append(hook)
        return RemovableHandle(self.hooks.pre, hook)

    def register_hook(self, hook) -> RemovableHandle:
        """``hook(grad_inputs, grad_outputs) -> tuple | None`` after this node's backward; a tuple
        replaces the gradients it passes on (one per input of the op)."""
        if self.hooks is None:
            self.hooks = NodeHooks()
        self.hooks.post.append(hook)
        return RemovableHandle(self.hooks.post, hook)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own notes on this node, as PyTorch's."""
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

    # Used from forward ----------------------------------------------------------------------------
    def save_for_backward(self, *values) -> None:
        """Keep arrays (or Tensors) for backward; inputs and outputs come back as graph-connected Tensors."""
        self._to_save = values

    def mark_non_differentiable(self, *arrays) -> None:
        self._non_differentiable = arrays

    def set_materialize_grads(self, value: bool) -> None:
        """Whether an output that got no gradient reaches backward as zeros (the default) or as None."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        raise NotImplementedError("mark_dirty: custom Functions that modify their inputs in place are not supported "
                                  "by gpugrad; return a new tensor instead")

    # Used from backward ---------------------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            self._raise_freed()
        saved = self._saved
        if saved is None:
            return tuple(_Tensor._make(v, self.backend) if v is not None else None for v in self._to_save)
        out = []
        for entry in saved:
            if entry is None:
                out.append(None)
                continue
            kind = entry[0]
            if kind == _IN:
                tensor = entry[1]
                if tensor._version_ref[0] != entry[2]:
                    self._raise_modified(entry)
                out.append(tensor)
            elif kind == _OUT or kind == _OUT_CONST:
                _, array, index, vref, version = entry
                if vref[0] != version:
                    self._raise_modified(entry)
                node = self if kind == _OUT else None  # a non-differentiable output stays a constant
                out.append(_Tensor._make(array, self.backend, node, index))
            elif kind == _PACKED:
                from . import graph  # saved_tensors_hooks: graph.py builds on this module

                out.append(graph.unpack(entry, self))
            else:
                value = entry[1]
                out.append(_Tensor._make(value, self.backend) if hasattr(value, "shape") else value)
        return tuple(out)

    def saved_arrays(self) -> tuple | None:
        """The saved values as backend arrays, checked as ``saved_tensors`` checks them: what a derivative
        op's forward takes in the engine's plain pass (Op.derivative). None where one was packed by
        saved_tensors_hooks, whose unpack makes a Tensor: the caller takes ``saved_tensors``' road."""
        if self._freed:
            self._raise_freed()
        saved = self._saved
        if saved is None:
            return tuple(v._array if v.__class__ is _Tensor else v for v in self._to_save)
        out = []
        for entry in saved:
            if entry is None:
                out.append(None)
                continue
            kind = entry[0]
            if kind == _IN:
                if entry[1]._version_ref[0] != entry[2]:
                    self._raise_modified(entry)
                out.append(entry[1]._array)
            elif kind == _OUT or kind == _OUT_CONST:
                if entry[3][0] != entry[4]:
                    self._raise_modified(entry)
                out.append(entry[1])
            elif kind == _PACKED:
                return None
            else:
                out.append(entry[1])
        return tuple(out)

    def _raise_freed(self):
        raise RuntimeError(
            f"{self.op_name}: trying to backward through the graph a second time (or to use saved values "
            "after they were freed). Saved values are freed when backward is done with them; pass "
            "retain_graph=True to the first backward if you need to run backward twice."
        )

    def _raise_modified(self, entry):
        if entry[0] == _IN:
            tensor, version = entry[1], entry[2]
            raise RuntimeError(
                f"{self.op_name}: one of the variables needed for gradient computation has been modified "
                f"by an inplace operation: a tensor of shape {tuple(tensor.shape)} saved at version "
                f"{version} is now at version {tensor._version_ref[0]}"
            )
        _, array, _, vref, version = entry
        raise RuntimeError(
            f"{self.op_name}: its output (shape {tuple(array.shape)}), saved for backward, has been "
            f"modified by an inplace operation (version {version} -> {vref[0]})"
        )

    def release(self) -> None:
        """Drop saved values once backward no longer needs them."""
        if self._saved or self._to_save:
            self._freed = True
        self._saved = None
        self._to_save = ()


# PyTorch's name for the ctx a Function's forward and backward receive (a type hint in user code:
# ``def forward(ctx: FunctionCtx, x)``); gpugrad's ctx is the op's node.
FunctionCtx = Node


class AccumulateGrad:
    """Where a leaf's gradient goes (``grad_fn.next_functions`` shows one per leaf input), as PyTorch's."""

    next_functions = ()

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


class Function:
    """Base of every differentiable op, and of user-defined ones (as ``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args)``, which receives the Tensors (run with grad mode off, as in
    PyTorch) and returns a Tensor or a tuple of them, and ``backward(ctx, *grads)``, which receives Tensors
    and returns one Tensor or None per positional argument of forward, written in Tensor ops so that it
    is differentiable itself. PyTorch's other form works too: ``forward(*args)`` without ctx, and
    ``setup_context(ctx, inputs, output)`` to save what backward needs. Call ``MyOp.apply(*args)``::

        class Cube(gg.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, gy):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * gy
    """

    is_view = False  # every output shares memory and the version counter with input 0
    # gpugrad's own ops (Op, and a few Functions of its own) work on the backend arrays: their forward
    # receives arrays and returns arrays. A user's Function gets and returns Tensors, as in PyTorch.
    forward_on_arrays = False
    # Whether forward gets bfloat16 (and CPU float16) inputs as float32 arrays and its float32 results are
    # rounded back (reduced_float.py): gpugrad's own ops but views and casts; a user's Function sees its
    # tensors as they are.
    widens_reduced_floats = False
    # Whether every array backward returns is one it made, a gradient it was handed, or a view of either
    # (never an array it keeps elsewhere, a saved value or a cache, nor a view of one). Then the engine may
    # make a gradient the pass owns a leaf's .grad without a copy (engine.py, `_owned`). False for a
    # user's Function: its gradients are copied into .grad, as one may return an array it also holds.
    fresh_gradients = False
    # Whether backward follows PyTorch's convention for complex tensors (the gradient of a real loss L in
    # z = a + ib is dL/da + i dL/db, so a holomorphic f's backward multiplies by conj(f'(z))). A complex
    # output of an op without it is refused while recording (``_records_complex``). A user's Function
    # answers for its own backward, as in PyTorch.
    complex_ok = True
    # gpugrad's ops only: the op whose application is this op's backward (Op's docstring). A user's
    # Function may have an attribute of this name for its own use: the engine reads it from Ops alone.
    derivative = None
    derivative_op = None  # what the engine reads: ``derivative`` on an Op's class (Op.__init_subclass__), else None

    @classmethod
    def op_name(cls) -> str:
        return getattr(cls, "name", None) or cls.__name__.lower()

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(
            f"{getattr(ctx, 'fn', Function).__name__}: you must implement the backward method for your custom "
            "autograd.Function to use it with backward mode AD (gpugrad's forward mode, and so a Function's jvp, "
            "runs through backward too)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch's separate context setup: defined, it makes ``forward`` take no ctx."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        watched = _watch.watched  # anomaly mode, a profiler, saved-tensor hooks or ExpandedWeights (watch.py)
        if watched and _watch.expanded:  # an op given an ExpandedWeight (nn/_expanded_weights.py): PyTorch's error
            for a in args:
                if getattr(a, "_expanded_weight", False):
                    raise RuntimeError(f"Expanded Weights encountered but cannot handle function {cls.op_name()}")
        if watched and _watch.profiler is not None:  # the profiler times the whole application
            return _watch.profiler.time_op(cls, args, kwargs)
        Tensor = _Tensor
        grad_on = _grad_state.enabled
        backend = None
        requires = False
        arrays = []
        needs = []
        edges = []  # built in the same pass while grad mode is on: what a recorded node keeps per input
        metas = []
        reduced = sparse = False
        for a in args:  # one plain loop: comprehensions and a second pass cost more here
            if isinstance(a, Tensor):
                if a._base is not None and a._view_version != a._version_ref[0]:
                    from . import views  # views.py builds on this module

                    views.refresh(a)  # its base changed in place since its history was recorded (views.py)
                try:
                    array = a._array
                except NotImplementedError:  # a sparse tensor has no array (try costs nothing until it raises)
                    if cls.forward_on_arrays or not a.is_sparse:
                        raise
                    sparse = True
                    break
                arrays.append(array)
                if array.dtype is _dtypes.BFLOAT16_NP or array.dtype is FLOAT16_NP and a._backend is _cpu_backend:
                    reduced = True  # CuPy's float16 stays native (reduced_float.py)
                if a._backend is not backend:
                    if backend is not None:
                        raise DeviceError(
                            f"{cls.op_name()}: expected all tensors on the same device, got {backend.device} and {a._backend.device}"
                        )
                    backend = a._backend
                node = a._node
                if node is not None or a._requires_grad:
                    needs.append(True)
                    requires = True
                    if grad_on:
                        edges.append(a if node is None else (node, a._output_index))
                        metas.append((array.shape, array.dtype))
                    continue
                needs.append(False)
            else:
                arrays.append(a)
                needs.append(False)
            if grad_on:
                edges.append(None)
                metas.append(None)
        if sparse:  # a user's Function given a sparse tensor, run outside the handler so its errors are its own
            from ..sparse import function_inputs  # the sparse package builds on this module

            return function_inputs.apply(cls, args, kwargs)
        if backend is None:
            backend = _cpu_backend
        ctx = Node(cls, backend, tuple(needs))
        wide = target = None
        try:
            try:
                if reduced and cls.widens_reduced_floats and not cls.is_view:  # in float32, rounded once (reduced_float.py)
                    wide, target = reduced_float.widen(arrays)
                    out = cls.forward(ctx, *wide, **kwargs) if kwargs else cls.forward(ctx, *wide)
                elif cls.forward_on_arrays:
                    out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
                else:
                    out = _forward_on_tensors(cls, ctx, args, kwargs)
            except (RuntimeWarning, FloatingPointError):
                # NumPy's report of an inf or NaN (1 / 0, log 0, inf - inf) raised as an error: warnings
                # as errors (pytest -W error, a library's filterwarnings = error) or np.seterr(all="raise")
                # in the user's code. PyTorch computes those values silently: compute again, with NumPy's
                # floating-point errors ignored (numpy_warnings.py). The short roads and the engine's
                # array road hand such an error to apply. A user's Function is not run again: the gpugrad
                # ops it calls have done this themselves, so the error is its own NumPy call's, as asked.
                if not cls.forward_on_arrays:
                    raise
                inputs = arrays if target is None else wide
                with numpy.errstate(all="ignore"):
                    out = cls.forward(ctx, *inputs, **kwargs) if kwargs else cls.forward(ctx, *inputs)
        except (ShapeError, DTypeError, DeviceError, CaptureError):
            raise
        except ValueError as exc:
            shapes = [tuple(a.shape) for a in args if isinstance(a, Tensor)]
            mismatch = broadcast_mismatch(shapes) if "broadcast" in str(exc) else None  # in PyTorch's words
            listed = ", ".join(str(s) for s in shapes)
            raise ShapeError(f"{cls.op_name()}: {mismatch or exc} (input shapes {listed})") from exc
        except RuntimeError as exc:
            if backend.capture is None:
                raise
            # CuPy's refusal of a host read or sync inside the op, say: name the op the user called.
            raise CaptureError(f"{cls.op_name()}: cannot run inside a CUDA graph capture ({exc})") from exc

        if ctx.output_backend is not None:
            backend = ctx.output_backend
        ndarray = backend.ndarray
        single = not isinstance(out, tuple)
        if not isinstance(out, ndarray) if single else not all(isinstance(o, ndarray) or o is None for o in out):
            out = _wrap_scalars(ctx, backend.xp, out, single)
        if target is not None:
            out = reduced_float.round_results(ctx, out, single, arrays, wide, target)
        anomaly_on = watched and _watch.anomaly

        if not (requires and grad_on):
            if single:
                result = Tensor._make(out, backend)
                if cls.is_view:
                    _share_version((result,), args[0])
                return result
            results = tuple([Tensor._make(o, backend) if o is not None else None for o in out])
            if cls.is_view:
                _share_version(results, args[0])
            return results

        ctx.next_edges = tuple(edges)
        ctx.input_meta = tuple(metas)
        non_diff = ctx._non_differentiable
        if single:
            outs = (out,)
            kind = out.dtype.kind
            if (kind in FLOAT_KINDS or kind == "c" and _records_complex(cls)) and not (non_diff and any(out is n for n in non_diff)):
                results = (Tensor._make(out, backend, ctx, 0),)
            else:
                results = (Tensor._make(out, backend),)
        else:
            outs = out
            ctx.n_outputs = len(outs)
            ctx.output_meta = tuple((o.shape, o.dtype) if o is not None else ((), "f8") for o in outs)
            results = tuple([
                None if o is None
                else Tensor._make(o, backend, ctx, j)
                if (o.dtype.kind in FLOAT_KINDS or o.dtype.kind == "c" and _records_complex(cls)) and not (non_diff and any(o is n for n in non_diff))
                else Tensor._make(o, backend)
                for j, o in enumerate(outs)
            ])
        if cls.is_view:
            _share_version(results, args[0])
        if ctx._to_save:
            ctx._saved = _resolve_saved(ctx._to_save, args, arrays, outs, results)
            ctx._to_save = ()
            if watched and _watch.saved_hooks:
                from . import graph  # graph.py builds on this module

                ctx._saved = graph.pack(ctx._saved, _watch.saved_hooks[-1], backend)
        if anomaly_on:
            ctx.created_at = anomaly.creation_site()
        return results[0] if single else results

    # The hot path's shapes of apply: one or two Tensor arguments. Each gives what apply gives, graph
    # and errors included (tests/autograd/test_apply_paths.py compares them), for ops whose forward
    # returns one array on its inputs' device. On the common case (exactly gpugrad's Tensors, on one
    # device, no graph capture, no anomaly mode) they skip apply's general loop, about 1 us of its
    # 1.6 us; anything else goes to apply itself.
    @classmethod
    def apply_one(cls, a, /, **kwargs):
        """``apply(a, **kwargs)`` for a Tensor ``a``, without apply's general loop."""
        Tensor = _Tensor
        backend = a._backend
        if (a.__class__ is not Tensor and not getattr(a, "_plain", False) or backend.capture is not None
                or _watch.watched
                or a._base is not None and a._view_version != a._version_ref[0]):  # a stale view: apply refreshes it
            return cls.apply(a, **kwargs)
        x = a._array
        dtype = x.dtype
        if dtype is _dtypes.BFLOAT16_NP or dtype is FLOAT16_NP and backend is _cpu_backend:  # apply widens it
            return cls.apply(a, **kwargs)
        node_a = a._node
        need_a = node_a is not None or a._requires_grad
        ctx = Node(cls, backend, (need_a,))
        try:
            out = cls.forward(ctx, x, **kwargs) if kwargs else cls.forward(ctx, x)
        except (ValueError, RuntimeWarning, FloatingPointError):  # apply names the op, or computes quietly
            return cls.apply(a, **kwargs)
        if out.__class__ is not backend.ndarray:  # a 0-d result as a NumPy scalar
            out = _wrap_scalars(ctx, backend.xp, out, True)
        if (need_a and _grad_state.enabled
                and (out.dtype.kind in FLOAT_KINDS or out.dtype.kind == "c" and _records_complex(cls))
                and not ctx._non_differentiable):
            ctx.next_edges = ((a if node_a is None else (node_a, a._output_index)),)
            ctx.input_meta = ((x.shape, dtype),)
            result = Tensor._make(out, backend, ctx)
            to_save = ctx._to_save
            if to_save:
                if len(to_save) == 1 and to_save[0] is out and out is not x:  # the output alone (tanh, exp):
                    ctx._saved = [(_OUT, out, 0, result._version_ref, 0)]  # _resolve_saved's entry, made here
                else:
                    ctx._saved = _resolve_saved(to_save, (a,), (x,), (out,), (result,))
                ctx._to_save = ()
        else:
            result = Tensor._make(out, backend)
        if cls.is_view:
            _share_version((result,), a)
        return result

    @classmethod
    def apply_pair(cls, a, b, /, **kwargs):
        """``apply(a, b, **kwargs)`` for Tensors ``a`` and ``b``, without apply's general loop."""
        Tensor = _Tensor
        if (a.__class__ is not Tensor and not getattr(a, "_plain", False)
                or b.__class__ is not Tensor and not getattr(b, "_plain", False) or b._backend is not a._backend
                or a._backend.capture is not None or _watch.watched
                or a._base is not None and a._view_version != a._version_ref[0]
                or b._base is not None and b._view_version != b._version_ref[0]):  # stale views: apply refreshes them
            return cls.apply(a, b, **kwargs)
        x, y = a._array, b._array
        if (x.dtype is _dtypes.BFLOAT16_NP or y.dtype is _dtypes.BFLOAT16_NP  # computed in float32: apply widens them
                or (x.dtype is FLOAT16_NP or y.dtype is FLOAT16_NP) and a._backend is _cpu_backend):
            return cls.apply(a, b, **kwargs)
        return pair_applied(cls, a, b, kwargs)


def pair_applied(cls, a, b, kwargs=None):
    """``cls.apply(a, b, **kwargs)`` past apply_pair's checks, which the caller has made: ``a`` and ``b``
    gpugrad's Tensors (or ``_plain`` subclasses) on one backend, neither bfloat16 nor CPU float16, no graph capture, nothing
    watching (watch.py), neither a stale view. The arithmetic operators' short road (ops/elementwise.py)
    makes those checks on the way and comes here without apply_pair's second look."""
    x, y = a._array, b._array
    node_a, node_b = a._node, b._node
    need_a = node_a is not None or a._requires_grad
    need_b = node_b is not None or b._requires_grad
    backend = a._backend
    ctx = Node(cls, backend, (need_a, need_b))
    try:
        out = cls.forward(ctx, x, y, **kwargs) if kwargs else cls.forward(ctx, x, y)
    except (ValueError, RuntimeWarning, FloatingPointError):  # apply names the op and shapes, or computes quietly
        return cls.apply(a, b, **kwargs) if kwargs else cls.apply(a, b)
    if out.__class__ is not backend.ndarray:
        out = _wrap_scalars(ctx, backend.xp, out, True)
    if ((need_a or need_b) and _grad_state.enabled
            and (out.dtype.kind in FLOAT_KINDS or out.dtype.kind == "c" and _records_complex(cls))
            and not ctx._non_differentiable):
        ctx.next_edges = (
            ((a if node_a is None else (node_a, a._output_index)) if need_a else None),
            ((b if node_b is None else (node_b, b._output_index)) if need_b else None),
        )
        ctx.input_meta = ((x.shape, x.dtype) if need_a else None, (y.shape, y.dtype) if need_b else None)
        result = _Tensor._make(out, backend, ctx)
        to_save = ctx._to_save
        if to_save:
            saved = []
            for v in to_save:  # the inputs (mul, div): _resolve_saved's entries, made here
                if v is x:
                    saved.append((_IN, a, a._version_ref[0]))
                elif v is y:
                    saved.append((_IN, b, b._version_ref[0]))
                elif v is None:
                    saved.append(None)
                else:
                    saved = _resolve_saved(to_save, (a, b), (x, y), (out,), (result,))
                    break
            ctx._saved = saved
            ctx._to_save = ()
    else:
        result = _Tensor._make(out, backend)
    if cls.is_view:
        _share_version((result,), a)
    return result


def scalar_applied(cls, a, value, swap=False):
    """``cls.apply(a, value)`` (``cls.apply(value, a)`` when ``swap``) for a Tensor ``a`` and a Python
    number ``value``, past the checks that the arithmetic operators' short road has made on ``a`` as on
    pair_applied's operands: ``x * 2.0`` and ``1.0 - x`` recorded, without apply's general loop."""
    x = a._array
    node_a = a._node
    need_a = node_a is not None or a._requires_grad
    backend = a._backend
    ctx = Node(cls, backend, (False, need_a) if swap else (need_a, False))
    try:
        out = cls.forward(ctx, value, x) if swap else cls.forward(ctx, x, value)
    except (ValueError, RuntimeWarning, FloatingPointError):  # apply names the op, or computes quietly
        return cls.apply(value, a) if swap else cls.apply(a, value)
    if out.__class__ is not backend.ndarray:
        out = _wrap_scalars(ctx, backend.xp, out, True)
    if (need_a and _grad_state.enabled and out.dtype.kind in FLOAT_KINDS and not ctx._non_differentiable):
        edge, meta = (a if node_a is None else (node_a, a._output_index)), (x.shape, x.dtype)
        ctx.next_edges, ctx.input_meta = ((None, edge), (None, meta)) if swap else ((edge, None), (meta, None))
        result = _Tensor._make(out, backend, ctx)
        if ctx._to_save:
            args, arrays = ((value, a), (value, x)) if swap else ((a, value), (x, value))
            ctx._saved = _resolve_saved(ctx._to_save, args, arrays, (out,), (result,))
            ctx._to_save = ()
        return result
    return _Tensor._make(out, backend)


class Op(Function):
    """Base of gpugrad's own ops: Functions on backend arrays whose backward keeps none of the arrays it
    returns. An op whose backward is right for complex tensors says so (``complex_ok = True``).

    An op whose backward is one application of another op, its ``derivative`` (an Op taking the
    upstream gradient, then what forward saved, then the keywords forward left in
    ``ctx.derivative_kwargs``), names it rather than write a backward: the backward below applies it
    (recorded under create_graph, so every order differentiates), and the engine's plain pass calls the
    derivative's forward on the arrays, with no Tensor made on the way in (engine.py)."""

    forward_on_arrays = True
    fresh_gradients = True
    widens_reduced_floats = True
    complex_ok = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.derivative is not None and "backward" in cls.__dict__:  # the plain pass would skip it
            raise TypeError(f"{cls.__name__}: an op with a derivative has that op as its backward; "
                            "it cannot define backward as well")
        cls.derivative_op = cls.derivative

    @staticmethod
    def backward(ctx, *grads):
        derivative = ctx.fn.derivative
        if derivative is None:
            return Function.backward(ctx, *grads)
        return derivative.apply(*grads, *ctx.saved_tensors, **(ctx.derivative_kwargs or {}))


def _records_complex(cls) -> bool:
    """Whether a complex output of ``cls`` joins the graph: yes for an op that handles complex gradients;
    an op that does not refuses, rather than record a backward that would be silently wrong."""
    if cls.complex_ok:
        return True
    raise DTypeError(f"{cls.op_name()}: gradients for complex tensors are not implemented for this op "
                     "(gpugrad.fft, arithmetic, matmul, reductions by sum and the shape ops have them); "
                     "compute under gg.no_grad() or on view_as_real(...)")


class _DelayedError(Function):
    """Stands for a once-differentiable backward's result: differentiating through it again raises."""

    forward_on_arrays = True

    @staticmethod
    def forward(ctx, value):
        return value

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(backward):
    """Decorates a custom Function's ``backward`` written in operations that need not be differentiable:
    it runs with grad mode off, and with ``create_graph=True`` its results stand behind a node that raises
    if they are ever differentiated (as ``torch.autograd.function.once_differentiable``)."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            outputs = backward(ctx, *grads)
        if not _grad_state.enabled or not any(isinstance(g, _Tensor) and g.requires_grad for g in grads):
            return outputs
        single = not isinstance(outputs, tuple)
        marked = tuple(None if o is None else _DelayedError.apply(o.detach().requires_grad_()) if o._array.dtype.kind in INEXACT_KINDS
                       else o for o in ((outputs,) if single else outputs))
        return marked[0] if single else marked

    return wrapper


def _forward_on_tensors(cls, ctx, args, kwargs):
    """A user's Function's forward, on the Tensors themselves with grad mode off, as PyTorch runs it; its
    outputs, and the outputs it saved or marked, become arrays for apply (which makes the outputs anew,
    in the graph)."""
    with no_grad():
        if cls.setup_context is not Function.setup_context:  # forward(*args), then setup_context(ctx, ...)
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    Tensor = _Tensor
    outs = out if isinstance(out, tuple) else (out,)
    if ctx._to_save:
        ctx._to_save = tuple(v._array if isinstance(v, Tensor) and any(v is o for o in outs) else v
                             for v in ctx._to_save)
    if ctx._non_differentiable:
        ctx._non_differentiable = tuple(v._array if isinstance(v, Tensor) else v for v in ctx._non_differentiable)
    arrays = tuple(o._array if isinstance(o, Tensor) else o for o in outs)
    return arrays if isinstance(out, tuple) else arrays[0]


def _wrap_scalars(ctx, xp, out, single):
    """NumPy returns scalars, not arrays, for 0-d results: wrap them, and point saved values at the
    wrapped arrays too, or a saved output would be taken for a constant (wrong second order)."""
    outs = (out,) if single else out
    if single:  # a full reduction's scalar, the common case
        wrapped = (xp.asarray(out),)
    else:
        wrapped = tuple([o if o is None or isinstance(o, xp.ndarray) else xp.asarray(o) for o in outs])
    if ctx._to_save:
        by_id = {id(o): w for o, w in zip(outs, wrapped)}
        ctx._to_save = tuple(v if isinstance(v, _Tensor) else by_id.get(id(v), v) for v in ctx._to_save)
    return wrapped[0] if single else wrapped


def _share_version(outs, base) -> None:
    root = base._base if base._base is not None else base
    several = len(outs) > 1
    for out in outs:
        if out is not None:
            out._version_ref = base._version_ref
            out._base = root
            out._view_version = base._version_ref[0]  # the base's version this history is true to (views.py)
            if several:
                out._one_of_several_views = True  # split's pieces, say: in place while recording is refused


def _resolve_saved(values, args, arrays, outs, results):
    Tensor = _Tensor
    saved = []
    for v in values:
        if v is None:
            saved.append(None)
            continue
        i = 0
        for arr in arrays:  # an input's array (the common case): save the input; indices, not zip
            if v is arr and isinstance(args[i], Tensor):
                a = args[i]
                saved.append((_IN, a, a._version_ref[0]))
                break
            i += 1
        else:
            if isinstance(v, Tensor):
                saved.append((_IN, v, v._version_ref[0]))
                continue
            for j, o in enumerate(outs):
                if v is o:
                    r = results[j]
                    # A non-differentiable output is a constant for backward, but the user holds it and may
                    # edit it in place: its version is checked like any saved output's.
                    saved.append((_OUT if r._node is not None else _OUT_CONST, o, j, r._version_ref, r._version_ref[0]))
                    break
            else:
                saved.append((_CONST, v))
    return saved



