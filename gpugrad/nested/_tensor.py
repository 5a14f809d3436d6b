"""NestedTensor: a batch of B tensors of shapes (j_i, *rest), PyTorch's jagged layout (NJT).

The components live in one packed ``values`` tensor of shape (sum j_i, *rest) (a dense gpugrad Tensor, which
carries the autograd graph) plus ``offsets`` (B + 1,) int64: component i is rows offsets[i]:offsets[i+1]
of the packed dim. With ``lengths`` (B,) as well, component i is rows offsets[i]:offsets[i] + lengths[i]
and the rows between are holes (``nested_tensor_from_jagged(values, offsets, lengths)``, ``narrow``).

The logical shape is (B, j1, *rest): the ragged size is a ``NestedInt`` printed "j1" as PyTorch prints it,
equal only to itself, so that two nested tensors combine only when they share offsets (as in PyTorch).
The ragged dim sits at ``_ragged_idx`` (1 at first; ``transpose`` moves it), and the values' dims are
the outer dims without the batch dim: outer dim d (d >= 1) is values dim d - 1, always.

Every op computes on the packed values, so one dense op serves the whole batch where the ragged dim is
not involved (elementwise math, Linear, LayerNorm over trailing dims, softmax over a fixed dim); ops along
the ragged dim (unbind, softmax or sum over it, attention) go per component. Gradients flow through the
dense ops on the values. What a nested tensor does not support raises ``NestedTensorError`` (a
NotImplementedError) naming the op: its methods are replaced by ones that say so, and its ``_array`` (which
every dense op reads) raises the same, naming the calling op.

Where this differs from PyTorch 2.13's NJT: a ragged size lives as long as some nested tensor uses its
offsets (PyTorch ties it to the offsets tensor itself); ``values()`` of a leaf is the leaf values tensor
(PyTorch returns a view of it); ``to_padded_tensor`` pads to the longest component (PyTorch, when it
has no cached maximum length, as after ``nested_tensor_from_jagged`` without ``max_seqlen``, pads to the
packed length) and refuses an ``output_size`` that truncates or changes a fixed dim (PyTorch truncates and
ignores those); scaled_dot_product_attention takes ``is_causal`` (top-left, within each component, as
the dense op), which PyTorch's CPU path refuses; the module-level forms of elementwise ops (``gg.exp(nt)``)
take dense tensors only (the methods and F's functions take nested ones).
"""
from __future__ import annotations

import itertools
import math
import sys
import weakref
from collections.abc import Callable, Sequence

import numpy

from .. import dtypes, layouts
from .._caller import public_caller, stack_from
from ..errors import ShapeError
from ..overrides import _disabled_torch_function_impl
from ..size import Size
from ..tensor import Tensor

SUPPORTED = (
    "construction (gpugrad.nested.nested_tensor, as_nested_tensor, nested_tensor_from_jagged, narrow, "
    "masked_select), values() / offsets() / lengths() / unbind() / nt[i] / to_padded_tensor(), elementwise "
    "math and comparisons (with a nested tensor of the same offsets, a number, or a dense tensor that "
    "broadcasts over the trailing dims or is (B, 1, ...)), activations (F.relu, F.gelu, F.silu ...), "
    "F.dropout, F.linear / nn.Linear, matmul by a dense matrix, F.layer_norm / F.rms_norm / F.normalize over "
    "non-ragged dims, softmax / log_softmax, sum / mean, transpose / permute / unflatten / flatten / "
    "unsqueeze / squeeze away from the batch dim, F.scaled_dot_product_attention, casts and moves (to, "
    "float, cuda ...), clone, detach, backward"
)


class NestedTensorError(NotImplementedError):
    """An op that nested tensors do not support (a NotImplementedError, hence also a RuntimeError)."""


def unsupported(op: str, detail: str = "") -> NestedTensorError:
    """The error for ``op`` on a nested tensor; ``detail`` says what about the call is not supported."""
    what = f"{op}: {detail}" if detail else f"{op}: not supported for nested tensors (layout=gpugrad.jagged)"
    return NestedTensorError(
        f"{what}. gpugrad.nested supports {SUPPORTED}; for anything else, work on nt.values(), nt.unbind() or "
        "nt.to_padded_tensor()")


def _calling_op() -> str:
    """The op that read a nested tensor's array, for the error (gpugrad/_caller.py)."""
    return public_caller(stack_from(sys._getframe(2))) or "this op"


class NestedInt:
    """The size of a nested tensor's ragged dim: printed ``j<n>`` (PyTorch's nested int), equal only to
    itself, so shapes compare equal exactly when the tensors share offsets. It is not a number: ``int()``
    refuses it; comparisons with numbers answer only where PyTorch's do (a ragged size counts as >= 2)."""

    __slots__ = ("__weakref__", "_id")
    _counter = itertools.count(1)

    def __init__(self) -> None:
        self._id = next(NestedInt._counter)

    def __repr__(self) -> str:
        return f"j{self._id}"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return other is self

    def __ne__(self, other) -> bool:
        return other is not self

    __hash__ = object.__hash__

    def _order(self, other, relation: str, holds: Callable[[int], bool]) -> bool:
        if other is self:
            return relation in ("<=", ">=")
        if isinstance(other, int) and not isinstance(other, bool) and other <= 2:
            return holds(other)
        raise ValueError(f"{self} {relation} {other}: the relation is indeterminate for a ragged size")

    def __ge__(self, other) -> bool:
        return self._order(other, ">=", lambda n: True)

    def __gt__(self, other) -> bool:
        return self._order(other, ">", lambda n: n < 2)

    def __le__(self, other) -> bool:
        return self._order(other, "<=", lambda n: False)

    def __lt__(self, other) -> bool:
        return self._order(other, "<", lambda n: False)

    def __int__(self) -> int:
        raise TypeError(f"int(): the ragged size {self} of a nested tensor is not a number; read nt.offsets() "
                        "or nt.lengths()")

    def __index__(self) -> int:
        return self.__int__()


class NestedSize(Size):
    """A nested tensor's shape (``gg.Size``, holding one ``NestedInt``); slices stay shapes."""

    __slots__ = ()

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return tuple.__new__(NestedSize, out) if isinstance(index, slice) else out

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(NestedSize, tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return tuple.__new__(NestedSize, tuple(other) + tuple(self)) if isinstance(other, tuple) else NotImplemented

    def numel(self) -> int:
        raise TypeError("numel(): a nested tensor's shape has a ragged size; use nt.numel()")


class Ragged:
    """How a packed dim splits into components: ``offsets`` (B + 1,), ``lengths`` (B,) or None, the NestedInt
    naming the ragged size, and host copies of each component's start and length (read once, on first
    use: per-component ops and broadcasting need them on the host)."""

    __slots__ = ("__weakref__", "_batch_index", "_lens", "_starts", "lengths", "offsets", "size")

    def __init__(self, offsets: Tensor, lengths: Tensor | None, size: NestedInt,
                 starts: numpy.ndarray | None = None, lens: numpy.ndarray | None = None) -> None:
        self.offsets, self.lengths, self.size = offsets, lengths, size
        self._starts, self._lens = starts, lens
        self._batch_index = None

    @property
    def batch(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def host(self) -> tuple[numpy.ndarray, numpy.ndarray]:
        """(starts, lengths) of the components, as int64 NumPy arrays."""
        if self._starts is None:
            offsets = numpy.array(self.offsets._backend.to_numpy(self.offsets._array, "nested offsets"), numpy.int64)
            self._starts = offsets[:-1]  # a copy: the host arrays never alias the offsets' memory
            if self.lengths is None:
                self._lens = numpy.diff(offsets)
            else:
                lengths = self.lengths._backend.to_numpy(self.lengths._array, "nested lengths")
                self._lens = numpy.array(lengths, numpy.int64)
        return self._starts, self._lens

    def packed(self, rows: int) -> bool:
        """Whether the components fill ``rows`` packed rows exactly, in order and without holes."""
        starts, lens = self.host()
        ends = starts + lens
        return bool(starts[0] == 0 and ends[-1] == rows and numpy.array_equal(starts[1:], ends[:-1]))

    def batch_index(self, rows: int) -> Tensor:
        """(rows,) int64 on the offsets' device: the component each packed row belongs to (0 in holes)."""
        cached = self._batch_index
        if cached is None or cached.shape[0] != rows:
            starts, lens = self.host()
            index = numpy.zeros(rows, numpy.int64)
            for b, (s, n) in enumerate(zip(starts.tolist(), lens.tolist())):
                index[s:s + n] = b
            cached = self._batch_index = Tensor._make(self.offsets._backend.asarray(index), self.offsets._backend)
        return cached


# The live Ragged of each offsets (or lengths) tensor, by the tensor's id: weakly held, so a Ragged (and the
# tensors it holds) goes when the last nested tensor using it does, with no reference cycle to wait for.
_LIVE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def ragged_of(offsets: Tensor, lengths: Tensor | None = None, starts=None, lens=None) -> Ragged:
    """The Ragged for these offsets (and lengths): one per tensor (``lengths`` when given, else ``offsets``,
    as PyTorch keys its nested ints) while nested tensors use it, so tensors built on one offsets tensor
    share a ragged size and combine."""
    source = offsets if lengths is None else lengths
    known = _LIVE.get(id(source))
    if known is not None and known.offsets is offsets and known.lengths is lengths:
        return known
    ragged = Ragged(offsets, lengths, NestedInt(), starts, lens)
    _LIVE[id(source)] = ragged
    return ragged


def _dims(value) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


class NestedTensor(Tensor):
    """A jagged nested tensor (``layout == gg.jagged``): see gpugrad/nested/_tensor.py's docstring. Make one
    with ``gg.nested.nested_tensor``, ``as_nested_tensor`` or ``nested_tensor_from_jagged``."""

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)

    is_nested = True
    layout = layouts.jagged
    __hash__ = Tensor.__hash__  # defining __eq__ (elementwise) would otherwise unset it

    def __new__(cls, *args, **kwargs):
        raise TypeError("NestedTensor: make nested tensors with gpugrad.nested.nested_tensor, as_nested_tensor or "
                        "nested_tensor_from_jagged")

    @classmethod
    def _wrap(cls, values: Tensor, ragged: Ragged, ragged_idx: int = 1) -> NestedTensor:
        t = object.__new__(cls)
        t._values = values
        t._ragged = ragged
        t._ragged_idx = ragged_idx
        t._backend = values._backend
        t._version_ref = values._version_ref
        return t

    def _with_values(self, values: Tensor, ragged_idx: int | None = None) -> NestedTensor:
        """A nested tensor of these offsets holding ``values`` (the result of an op on ours)."""
        return NestedTensor._wrap(values, self._ragged, self._ragged_idx if ragged_idx is None else ragged_idx)

    @property
    def _array(self):
        op = _calling_op()
        raise unsupported(op)

    # What it is ----------------------------------------------------------------------------------------
    def values(self) -> Tensor:
        """The packed values (sum j, *rest): a dense tensor in the graph (gradients reach the components)."""
        return self._values

    def offsets(self) -> Tensor:
        """(B + 1,) int64: component i starts at row offsets[i] of the packed dim."""
        return self._ragged.offsets

    def lengths(self) -> Tensor | None:
        """(B,) component lengths for a tensor with holes, else None (as PyTorch)."""
        return self._ragged.lengths

    @property
    def shape(self) -> NestedSize:
        vs = tuple(self._values.shape)
        r = self._ragged_idx
        return tuple.__new__(NestedSize, (self._ragged.batch, *vs[:r - 1], self._ragged.size, *vs[r:]))

    def size(self, dim: int | None = None):
        shape = self.shape
        return shape if dim is None else shape[self._dim(dim, "size")]

    @property
    def ndim(self) -> int:
        return self._values.ndim + 1

    def dim(self) -> int:
        return self._values.ndim + 1

    ndimension = dim

    def numel(self) -> int:
        if self._ragged.lengths is None:
            return self._values.numel()
        fixed = math.prod(s for d, s in enumerate(self._values.shape) if d != self._ragged_idx - 1)
        return int(self._ragged.host()[1].sum()) * fixed

    nelement = numel

    @property
    def dtype(self) -> dtypes.DType:
        return self._values.dtype

    @property
    def itemsize(self) -> int:
        return self._values.itemsize

    def element_size(self) -> int:
        return self._values.element_size()

    def is_floating_point(self) -> bool:
        return self._values.is_floating_point()

    def is_complex(self) -> bool:
        return self._values.is_complex()

    def is_signed(self) -> bool:
        return self._values.is_signed()

    def is_contiguous(self, memory_format=None) -> bool:
        """No holes and contiguous values (a transposed one is not, as in PyTorch)."""
        layouts.check_memory_format("is_contiguous", memory_format)
        return self._ragged.lengths is None and self._values.is_contiguous()

    def _dim(self, dim: int, op: str, ndim: int | None = None) -> int:
        n = self.ndim if ndim is None else ndim
        if not isinstance(dim, int) or not -n <= dim < n:
            raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                             f"{dim})")
        return dim % n

    def __len__(self) -> int:
        return self._ragged.batch

    def __repr__(self) -> str:
        parts = [f"size=({', '.join(map(str, self.shape))})", f"offsets={self._ragged.offsets!r}"]
        if self._ragged.lengths is not None:
            parts.append(f"lengths={self._ragged.lengths!r}")
        if self._values.grad_fn is not None:
            parts.append(f"grad_fn=<{self._values.grad_fn.name()}>")
        elif self._values.requires_grad:
            parts.append("requires_grad=True")
        parts.append(f"contiguous={self.is_contiguous()}")
        return f"NestedTensor({', '.join(parts)})"

    def __format__(self, format_spec: str) -> str:
        return object.__format__(self, format_spec)

    # Autograd ----------------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._values.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> NestedTensor:
        self._values.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._values.is_leaf

    @property
    def grad_fn(self):
        return self._values.grad_fn

    @property
    def output_nr(self) -> int:
        return self._values.output_nr

    @property
    def grad(self) -> NestedTensor | None:
        """The gradient, a nested tensor of these offsets (the packed values' gradient)."""
        g = self._values.grad
        return None if g is None else self._with_values(g)

    @grad.setter
    def grad(self, value) -> None:
        self._values.grad = value._values if isinstance(value, NestedTensor) else value

    @property
    def retains_grad(self) -> bool:
        return self._values.retains_grad

    def retain_grad(self) -> None:
        self._values.retain_grad()

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Backward from the packed values; ``gradient`` is a nested tensor of these offsets."""
        if isinstance(gradient, NestedTensor):
            self._check_same_ragged(gradient, "backward")
            gradient = gradient._values
        if inputs is not None:
            inputs = [t._values if isinstance(t, NestedTensor) else t
                      for t in (inputs if isinstance(inputs, (list, tuple)) else (inputs,))]
        self._values.backward(gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook: Callable):
        """``hook(grad)`` with the gradient as a nested tensor; a returned nested tensor replaces it."""
        ragged, r = self._ragged, self._ragged_idx  # not self: the values' hook must not hold their nested tensor

        def on_values(g: Tensor):
            out = hook(NestedTensor._wrap(g, ragged, r))
            return out._values if isinstance(out, NestedTensor) else out

        return self._values.register_hook(on_values)

    def detach(self) -> NestedTensor:
        return self._with_values(self._values.detach())

    def detach_(self) -> NestedTensor:
        self._values = self._values.detach()
        self._version_ref = self._values._version_ref
        return self

    @property
    def data(self) -> NestedTensor:
        return self._with_values(self._values.data)

    @data.setter
    def data(self, value: NestedTensor) -> None:
        if not isinstance(value, NestedTensor):
            raise TypeError(f"data: a nested tensor's data must be a nested tensor, got {type(value).__name__}")
        self._values, self._ragged, self._ragged_idx = value._values.data, value._ragged, value._ragged_idx

    def clone(self, *, memory_format=None) -> NestedTensor:
        layouts.check_memory_format("clone", memory_format)
        return self._with_values(self._values.clone())

    def contiguous(self, memory_format=None) -> NestedTensor:
        """Contiguous values; a tensor with holes gets packed components and new offsets (as PyTorch)."""
        layouts.check_memory_format("contiguous", memory_format)
        if self._ragged.lengths is None:
            return self._with_values(self._values.contiguous())
        from ..ops import cat

        _, lens = self._ragged.host()
        offsets = numpy.concatenate([[0], numpy.cumsum(lens)]).astype(numpy.int64)
        ragged = ragged_of(Tensor._make(self._backend.asarray(offsets), self._backend), None, offsets[:-1], lens)
        values = cat(self._components(), dim=self._ragged_idx - 1).contiguous()
        return NestedTensor._wrap(values, ragged, self._ragged_idx)

    def __deepcopy__(self, memo: dict) -> NestedTensor:
        copied = memo.get(id(self))
        if copied is None:
            ragged = self._ragged
            offsets = ragged.offsets.__deepcopy__(memo)
            lengths = None if ragged.lengths is None else ragged.lengths.__deepcopy__(memo)
            copied = memo[id(self)] = NestedTensor._wrap(self._values.__deepcopy__(memo), ragged_of(offsets, lengths),
                                                         self._ragged_idx)
        return copied

    # Moves and casts -------------------------------------------------------------------------------
    def to(self, *args, **kwargs) -> NestedTensor:
        """``to(device)``, ``to(dtype)``, ...: the values move or cast (differentiably); the offsets move
        with them (new offsets on another device, so a new ragged size, as in PyTorch)."""
        from ..ops import parse_to_args, to

        copy = kwargs.pop("copy", False)
        device, dtype = parse_to_args("to", args, kwargs)
        values = to(self._values, device=device, dtype=dtype, copy=copy)
        if values._backend is self._backend:
            return self if values is self._values else self._with_values(values)
        ragged = self._ragged
        lengths = None if ragged.lengths is None else to(ragged.lengths, device=device)
        moved = ragged_of(to(ragged.offsets, device=device), lengths, ragged._starts, ragged._lens)
        return NestedTensor._wrap(values, moved, self._ragged_idx)

    def cpu(self, memory_format=None) -> NestedTensor:
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> NestedTensor:
        return self.to("cuda" if device is None else device, memory_format=memory_format)

    def type_as(self, other: Tensor) -> NestedTensor:
        return self.to(other.dtype)

    # Components --------------------------------------------------------------------------------------
    def _components(self) -> list:
        """Each component as a view of the values (their packed dim is values dim ragged_idx - 1)."""
        axis = self._ragged_idx - 1
        starts, lens = self._ragged.host()
        if self._ragged.packed(self._values.shape[axis]):
            return list(self._values.split(lens.tolist(), dim=axis))
        return [self._values.narrow(axis, s, n) for s, n in zip(starts.tolist(), lens.tolist())]

    def _assemble(self, pieces: Sequence[Tensor]) -> Tensor:
        """Per-component results, each as long as its component along the packed dim, laid out as these
        values are (in offset order; zeros in holes), so that the result has these offsets."""
        from ..factory import zeros
        from ..ops import cat

        axis = self._ragged_idx - 1
        rows = self._values.shape[axis]
        if self._ragged.packed(rows):
            return cat(list(pieces), dim=axis) if len(pieces) > 1 else pieces[0]
        like = pieces[0]

        def gap(n: int) -> Tensor:
            shape = list(like.shape)
            shape[axis] = n
            return zeros(*shape, dtype=like.dtype, device=like.device)

        starts, lens = self._ragged.host()
        parts, at = [], 0
        for piece, s, n in zip(pieces, starts.tolist(), lens.tolist()):
            if s < at:
                raise unsupported("nested op", "components that overlap in the packed values are not supported")
            if s > at:
                parts.append(gap(s - at))
            parts.append(piece)
            at = s + n
        if rows > at:
            parts.append(gap(rows - at))
        return cat(parts, dim=axis)

    def unbind(self, dim: int = 0) -> tuple:
        """The components, as views of the values (differentiable)."""
        if self._dim(dim, "unbind") != 0:
            raise unsupported("unbind", f"unbind along dim {dim} (only dim 0, the batch dim, is supported)")
        return tuple(self._components())

    def __getitem__(self, index):
        """``nt[i]``: component i (a view of the values)."""
        if isinstance(index, int) and not isinstance(index, bool):
            batch = self._ragged.batch
            if not -batch <= index < batch:
                raise IndexError(f"index {index} is out of bounds for a nested tensor of {batch} components")
            b = index % batch
            starts, lens = self._ragged.host()
            return self._values.narrow(self._ragged_idx - 1, int(starts[b]), int(lens[b]))
        raise unsupported("__getitem__", f"indexing with {type(index).__name__} (only nt[i], a component, is "
                          "supported)")

    def __iter__(self):
        return iter(self._components())

    def to_padded_tensor(self, padding: float, output_size: Sequence[int] | None = None) -> Tensor:
        """A dense (B, max j, *rest) tensor (the ragged dim where it sits), ``padding`` past each component's
        end; differentiable. ``output_size`` may lengthen the ragged dim; its other sizes must be ours."""
        from ..factory import full
        from ..ops import cat

        r = self._ragged_idx
        starts, lens = self._ragged.host()
        width = int(lens.max()) if lens.size else 0
        if output_size is not None:
            output_size = tuple(int(s) for s in output_size)
            shape = self.shape
            if len(output_size) != len(shape) or any(o != s for d, (o, s) in enumerate(zip(output_size, shape))
                                                     if d != r):
                raise ShapeError(f"to_padded_tensor: output_size {output_size} must match the nested tensor's shape "
                                 f"({', '.join(map(str, shape))}) in every dim but the ragged one")
            if output_size[r] < width:
                raise ShapeError(f"to_padded_tensor: output_size {output_size} is shorter than the longest component "
                                 f"({width}) along the ragged dim; truncation is not supported")
            width = output_size[r]
        values = self._values.movedim(r - 1, 0) if r > 1 else self._values
        rows = values.shape[0]
        # Row b * width + i of the padded tensor is packed row starts[b] + i, or the padding row (appended
        # last) past the component's end: one gather, whose gradient is the scatter back.
        index = numpy.full((len(lens), width), rows, numpy.int64)
        for b, (s, n) in enumerate(zip(starts.tolist(), lens.tolist())):
            index[b, :n] = numpy.arange(s, s + n)
        pad_row = full((1, *values.shape[1:]), padding, dtype=values.dtype, device=values.device)
        gathered = cat([values, pad_row]).index_select(0, Tensor._make(self._backend.asarray(index.reshape(-1)),
                                                                       self._backend))
        padded = gathered.reshape(len(lens), width, *values.shape[1:])
        return padded.movedim(1, r) if r > 1 else padded

    # Operands --------------------------------------------------------------------------------------
    def _check_same_ragged(self, other: NestedTensor, op: str) -> None:
        if other._ragged.size is not self._ragged.size or other._ragged_idx != self._ragged_idx:
            raise ShapeError(
                f"{op}: nested tensors of shapes ({', '.join(map(str, self.shape))}) and "
                f"({', '.join(map(str, other.shape))}) have different ragged structure; they combine only when "
                "built on the same offsets (nested_tensor_from_jagged(values, nt.offsets()) shares them)")

    def _operand(self, other, op: str):
        """``other`` as something that broadcasts against our values the way it broadcasts against us."""
        if isinstance(other, NestedTensor):
            self._check_same_ragged(other, op)
            if other.ndim != self.ndim:
                raise ShapeError(f"{op}: nested tensors of {self.ndim} and {other.ndim} dims do not combine")
            return other._values
        if not isinstance(other, Tensor) or other.ndim == 0:
            return other
        n, r = self.ndim, self._ragged_idx
        if other.ndim > n:
            raise ShapeError(f"{op}: a dense tensor of shape {tuple(other.shape)} has more dims than the nested "
                             f"tensor ({', '.join(map(str, self.shape))})")
        if other.ndim == n and other.shape[0] != 1:
            # One slice per component: gather it for every packed row (the ragged dim must be 1 to broadcast).
            if other.shape[0] != self._ragged.batch or other.shape[r] != 1:
                raise ShapeError(f"{op}: a dense tensor of shape {tuple(other.shape)} does not broadcast to the nested "
                                 f"shape ({', '.join(map(str, self.shape))}) (its dim {r} must be 1 and dim 0 "
                                 f"{self._ragged.batch} or 1)")
            rows = self._ragged.batch_index(self._values.shape[r - 1])
            return other.index_select(0, rows).squeeze(r).movedim(0, r - 1)
        dense = other.squeeze(0) if other.ndim == n else other
        at = r - (n - dense.ndim)  # the ragged dim's place in dense, if dense reaches that far
        if at >= 0 and dense.shape[at] != 1:
            raise ShapeError(f"{op}: a dense tensor of shape {tuple(other.shape)} does not broadcast to the nested "
                             f"shape ({', '.join(map(str, self.shape))}): it would span the ragged dim")
        return dense

    def matmul(self, other: Tensor) -> NestedTensor:
        """``nt @ m`` for a dense matrix m: (B, j, ..., D) @ (D, E) on the values, the ragged dim anywhere but
        last (the contracted dim); ``m @ nt`` likewise with the ragged dim anywhere but second to last."""
        if isinstance(other, NestedTensor) or not isinstance(other, Tensor) or other.ndim != 2 \
                or self._ragged_idx >= self.ndim - 1:
            raise unsupported("matmul", "only a nested tensor whose ragged dim is not last times a dense matrix is "
                              "supported")
        return self._with_values(self._values @ other)

    __matmul__ = matmul

    def __rmatmul__(self, other: Tensor) -> NestedTensor:
        if not isinstance(other, Tensor) or other.ndim != 2 or self._ragged_idx == self.ndim - 2:
            raise unsupported("matmul", "only a dense matrix times a nested tensor whose ragged dim is not the "
                              "contracted one (second to last) is supported")
        return self._with_values(other @ self._values)

    # Shape ops away from the batch dim -----------------------------------------------------------
    def _not_batch(self, op: str, *dims: int) -> None:
        if 0 in dims:
            raise unsupported(op, "the batch dim (dim 0) of a nested tensor cannot take part")

    def transpose(self, dim0: int, dim1: int) -> NestedTensor:
        """Swap two non-batch dims (the ragged dim may be one: ``(B, j, H, D).transpose(1, 2)`` is
        (B, H, j, D), values (H, sum j, D), as PyTorch's)."""
        d0, d1 = self._dim(dim0, "transpose"), self._dim(dim1, "transpose")
        self._not_batch("transpose", d0, d1)
        r = self._ragged_idx
        r = d1 if r == d0 else d0 if r == d1 else r
        return self._with_values(self._values.transpose(d0 - 1, d1 - 1), r)

    swapaxes = swapdims = transpose

    def permute(self, *dims) -> NestedTensor:
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims
        dims = tuple(self._dim(d, "permute") for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ShapeError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        if dims[0] != 0:
            raise unsupported("permute", "the batch dim must stay first")
        return self._with_values(self._values.permute(*(d - 1 for d in dims[1:])), dims.index(self._ragged_idx))

    def unflatten(self, dim: int, sizes) -> NestedTensor:
        d = self._dim(dim, "unflatten")
        self._not_batch("unflatten", d)
        if d == self._ragged_idx:
            raise unsupported("unflatten", "the ragged dim cannot be unflattened")
        r = self._ragged_idx + (len(sizes) - 1 if d < self._ragged_idx else 0)
        return self._with_values(self._values.unflatten(d - 1, sizes), r)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> NestedTensor:
        s, e = self._dim(start_dim, "flatten"), self._dim(end_dim, "flatten")
        if s > e:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        self._not_batch("flatten", s)
        if s <= self._ragged_idx <= e and s != e:
            raise unsupported("flatten", "the ragged dim cannot be flattened with others")
        r = self._ragged_idx - (e - s if e < self._ragged_idx else 0)
        return self._with_values(self._values.flatten(s - 1, e - 1), r)

    def unsqueeze(self, dim: int) -> NestedTensor:
        d = self._dim(dim, "unsqueeze", self.ndim + 1)
        self._not_batch("unsqueeze", d)
        return self._with_values(self._values.unsqueeze(d - 1), self._ragged_idx + (d <= self._ragged_idx))

    def squeeze(self, dim=None) -> NestedTensor:
        if dim is None:
            raise unsupported("squeeze", "squeeze() without dim (name the non-batch, non-ragged dims)")
        dims = sorted({self._dim(d, "squeeze") for d in _dims(dim)}, reverse=True)
        self._not_batch("squeeze", *dims)
        if self._ragged_idx in dims:
            raise unsupported("squeeze", "the ragged dim cannot be squeezed")
        values, r = self._values, self._ragged_idx
        for d in dims:
            if values.shape[d - 1] == 1:
                values = values.squeeze(d - 1)
                r -= d < r
        return self._with_values(values, r)

    # Softmax and reductions ---------------------------------------------------------------------------
    def _per_component(self, fn: Callable[[Tensor], Tensor]) -> NestedTensor:
        return self._with_values(self._assemble([fn(c) for c in self._components()]))

    def softmax(self, dim: int, dtype=None) -> NestedTensor:
        """softmax along a non-batch dim; along the ragged dim, within each component."""
        return self._softmax("softmax", dim, dtype)

    def log_softmax(self, dim: int, dtype=None) -> NestedTensor:
        return self._softmax("log_softmax", dim, dtype)

    def _softmax(self, op: str, dim: int, dtype) -> NestedTensor:
        source = self if dtype is None else self.to(dtype)
        d = self._dim(dim, op)
        self._not_batch(op, d)
        fn = getattr(Tensor, op)
        if d == self._ragged_idx:
            return source._per_component(lambda c: fn(c, d - 1))
        return source._with_values(fn(source._values, d - 1))

    def sum(self, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
        """Over non-batch dims: a nested tensor. Over the ragged dim (alone, or with the batch dim and
        others): a dense tensor, as PyTorch's."""
        return self._reduce("sum", dim, keepdim, dtype)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
        return self._reduce("mean", dim, keepdim, dtype)

    def _packed_values(self) -> Tensor:
        """The values without holes (themselves when there are none)."""
        axis = self._ragged_idx - 1
        if self._ragged.packed(self._values.shape[axis]):
            return self._values
        from ..ops import cat

        return cat(self._components(), dim=axis)

    def _reduce(self, op: str, dim, keepdim: bool, dtype) -> Tensor:
        fn = getattr(Tensor, op)
        kw = {} if dtype is None else {"dtype": dtype}
        if dim is None or dim == () or dim == []:
            out = fn(self._packed_values(), **kw)
            return out.reshape((1,) * self.ndim) if keepdim else out
        dims = sorted({self._dim(d, op) for d in _dims(dim)})
        r = self._ragged_idx
        on_batch, on_ragged = 0 in dims, r in dims
        inner = [d - 1 for d in dims if d != 0]
        if on_ragged and on_batch:
            out = fn(self._packed_values(), dim=inner, keepdim=keepdim, **kw)
            return out.unsqueeze(0) if keepdim else out
        if on_ragged:
            if len(dims) > 1:
                raise unsupported(op, "reducing along the ragged dim and other non-batch dims together is not "
                                  "supported (as in PyTorch)")
            from ..ops import stack

            out = stack([fn(c, dim=r - 1, **kw) for c in self._components()])
            return out.unsqueeze(r) if keepdim else out
        if on_batch:
            raise unsupported(op, "reducing along the batch dim but not the ragged dim is not supported (as in "
                              "PyTorch)")
        new_r = r if keepdim else r - sum(d < r for d in dims)
        return self._with_values(fn(self._values, dim=inner, keepdim=keepdim, **kw), new_r)


# Elementwise methods and operators: the dense method on the values -----------------------------------
_UNARY = (
    "abs", "absolute", "neg", "negative", "positive", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10",
    "sqrt", "rsqrt", "square", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh",
    "cosh", "tanh", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "sigmoid", "relu", "erf", "erfc",
    "erfinv", "sign", "sgn", "signbit", "floor", "ceil", "round", "trunc", "fix", "frac", "reciprocal", "clamp",
    "clip", "clamp_min", "clamp_max", "nan_to_num", "logit", "isnan", "isinf", "isfinite", "isposinf", "isneginf",
    "isreal", "logical_not", "bitwise_not", "deg2rad", "rad2deg", "lgamma", "digamma", "sinc", "i0", "angle", "conj",
)
_UNARY_INPLACE = (
    "abs_", "neg_", "exp_", "expm1_", "log_", "log1p_", "log2_", "log10_", "sqrt_", "rsqrt_", "square_", "sin_",
    "cos_", "tan_", "tanh_", "sigmoid_", "relu_", "erf_", "sign_", "floor_", "ceil_", "round_", "trunc_", "frac_",
    "reciprocal_", "clamp_", "clip_", "clamp_min_", "clamp_max_", "nan_to_num_", "logit_", "zero_", "fill_",
    "normal_", "uniform_",
)
_BINARY = (
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
    "fmod", "pow", "float_power", "maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "hypot", "copysign",
    "xlogy", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
)
_BINARY_INPLACE = ("add_", "sub_", "mul_", "div_", "pow_", "__iadd__", "__isub__", "__imul__", "__itruediv__",
                   "__ipow__")
_OPERATOR_UNARY = ("__neg__", "__pos__", "__abs__")
_CASTS = ("half", "bfloat16", "float", "double", "cfloat", "cdouble", "bool", "byte", "char", "short", "int", "long")


def _unary(name: str, base: Callable) -> Callable:
    def method(self: NestedTensor, *args, **kwargs) -> NestedTensor:
        return self._with_values(base(self._values, *args, **kwargs))

    method.__name__ = name
    method.__doc__ = f"``{name}`` on the packed values (elementwise)."
    return method


def _unary_inplace(name: str, base: Callable) -> Callable:
    def method(self: NestedTensor, *args, **kwargs) -> NestedTensor:
        base(self._values, *args, **kwargs)
        return self

    method.__name__ = name
    method.__doc__ = f"``{name}`` on the packed values, in place."
    return method


def _binary(name: str, base: Callable) -> Callable:
    def method(self: NestedTensor, other, *args, **kwargs) -> NestedTensor:
        return self._with_values(base(self._values, self._operand(other, name), *args, **kwargs))

    method.__name__ = name
    method.__doc__ = f"``{name}`` elementwise: with a nested tensor of the same offsets, a number or a dense tensor."
    return method


def _binary_inplace(name: str, base: Callable) -> Callable:
    def method(self: NestedTensor, other, *args, **kwargs) -> NestedTensor:
        base(self._values, self._operand(other, name), *args, **kwargs)
        return self

    method.__name__ = name
    method.__doc__ = f"``{name}`` elementwise, in place."
    return method


def _cast(name: str) -> Callable:
    dtype = getattr(dtypes, "bool_" if name == "bool" else {"half": "float16", "float": "float32", "double": "float64",
                                                            "cfloat": "complex64", "cdouble": "complex128",
                                                            "byte": "uint8", "char": "int8", "short": "int16",
                                                            "int": "int32", "long": "int64"}.get(name, name))

    def method(self: NestedTensor, memory_format=None) -> NestedTensor:
        return self.to(dtype, memory_format=memory_format)

    method.__name__ = name
    method.__doc__ = f"``to({dtype})``."
    return method


def _refuse(name: str) -> Callable:
    def method(self, *args, **kwargs):
        raise unsupported(name)

    method.__name__ = name
    method.__doc__ = "Not supported for nested tensors (raises NestedTensorError)."
    return method


def _refuse_property(name: str) -> property:
    def get(self):
        raise unsupported(name)

    return property(get, doc="Not supported for nested tensors (raises NestedTensorError).")


def _no_cuda_interface(self):
    raise AttributeError("__cuda_array_interface__: a nested tensor has no single array; use nt.values()")


def _bind() -> None:
    """Give NestedTensor its elementwise methods, and make every other Tensor method it inherits raise
    NestedTensorError naming itself (rather than a dense op failing somewhere inside)."""
    own = set(vars(NestedTensor))
    for names, make in ((_UNARY, _unary), (_UNARY_INPLACE, _unary_inplace), (_BINARY, _binary),
                        (_BINARY_INPLACE, _binary_inplace), (_OPERATOR_UNARY, _unary)):
        for name in names:
            base = getattr(Tensor, name, None)
            if base is not None and name not in own:
                setattr(NestedTensor, name, make(name, base))
    for name in _CASTS:
        setattr(NestedTensor, name, _cast(name))
    NestedTensor.__cuda_array_interface__ = property(_no_cuda_interface)
    keep = {"__init__", "__new__", "__hash__", "__init_subclass__", "__class_getitem__", "__subclasshook__",
            "__getattr__", "__setattr__", "__delattr__", "__dir__", "__sizeof__", "__reduce__", "__reduce_ex__",
            "__getstate__", "__setstate__", "__dict__"}
    defined = set(vars(NestedTensor))
    for name, attr in vars(Tensor).items():
        if name in defined or name in keep or (name.startswith("_") and not name.startswith("__")):
            continue
        if isinstance(attr, property):
            if name not in ("is_cuda", "is_cpu", "is_meta", "is_xpu", "is_mps", "is_sparse", "is_quantized",
                            "device", "_version"):
                setattr(NestedTensor, name, _refuse_property(name))
        elif callable(attr) and not isinstance(attr, (classmethod, staticmethod, type)):
            setattr(NestedTensor, name, _refuse(name))


_bind()
