"""``gg.nested`` (PyTorch's ``torch.nested``): nested tensors with the jagged layout (``layout=gg.jagged``).

A nested tensor holds B tensors of shapes (j_i, *rest) (the ragged dim may also be another one, the
same in each) as one packed values tensor plus offsets; its shape is (B, j1, *rest) with "j1" the ragged
size. It runs the ops that transformers over variable-length sequences use (elementwise math,
activations, Linear, LayerNorm, dropout, softmax, reshaping of the trailing dims, transpose and
scaled_dot_product_attention) on the packed values, differentiably; any other op raises
NotImplementedError saying so. See gpugrad/nested/_tensor.py for the representation and the full list::

    nt = gg.nested.nested_tensor([gg.randn(3, 8), gg.randn(5, 8)], layout=gg.jagged)
    nt.shape                        # torch.Size([2, j1, 8])
    y = F.gelu(nn.Linear(8, 8)(nt))  # a nested tensor of the same offsets
    padded = y.to_padded_tensor(0.0)  # (2, 5, 8)

Only the jagged layout exists: the strided layout (PyTorch's default for ``nested_tensor``) is refused.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy

from .. import layouts
from ..autograd.grad_mode import no_grad
from ..errors import DeviceError, DTypeError, ShapeError
from ..factory import as_tensor
from ..ops import cat, to
from ..ops._operands import write_out
from ..tensor import Tensor
from ._tensor import NestedInt, NestedSize, NestedTensor, NestedTensorError, ragged_of

__all__ = [
    "NestedInt",
    "NestedSize",
    "NestedTensor",
    "NestedTensorError",
    "as_nested_tensor",
    "masked_select",
    "narrow",
    "nested_tensor",
    "nested_tensor_from_jagged",
    "to_padded_tensor",
]


def _check_jagged(op: str, layout) -> None:
    if layout is layouts.jagged:
        return
    if layout is None or layout is layouts.strided:
        raise NestedTensorError(f"{op}: gpugrad.nested has only the jagged layout; pass layout=gpugrad.jagged "
                                "(PyTorch's default, the strided layout, is not supported)")
    raise NestedTensorError(f"{op}: layout {layout} is not supported for nested tensors; use layout=gpugrad.jagged")


def _offsets_tensor(lens: numpy.ndarray, like: Tensor) -> tuple[Tensor, numpy.ndarray]:
    """int64 offsets (B + 1,) on like's device for these lengths, and the starts on the host."""
    offsets = numpy.concatenate([[0], numpy.cumsum(lens)]).astype(numpy.int64)
    return Tensor._make(like._backend.asarray(offsets), like._backend), offsets[:-1]


def _from_list(op: str, tensors: list, dtype, device) -> NestedTensor:
    """The packed nested tensor of ``tensors`` (concatenated: differentiable unless under no_grad)."""
    if not tensors:
        raise RuntimeError(f"{op}: cannot construct a nested tensor from an empty tensor list")
    first = tensors[0]
    for name, get in (("dtype", lambda t: t.dtype), ("device", lambda t: t.device), ("dim", lambda t: t.dim())):
        if len({get(t) for t in tensors}) != 1:
            error = DTypeError if name == "dtype" else DeviceError if name == "device" else ShapeError
            raise error(f"{op}: all tensors in the list must have the same {name}, got "
                        f"{[str(get(t)) for t in tensors]}")
    if first.dim() == 0:
        raise ShapeError(f"{op}: cannot construct a nested tensor from a list of zero-dim tensors")
    ragged = [d for d in range(first.dim()) if len({t.shape[d] for t in tensors}) > 1]
    if len(ragged) > 1:
        raise ShapeError(f"{op}: the jagged layout allows one ragged dim, but the tensors differ in dims {ragged} "
                         f"(shapes {[tuple(t.shape) for t in tensors]})")
    axis = ragged[0] if ragged else 0  # a rectangular list is ragged next to the batch dim
    values = cat(tensors, dim=axis) if len(tensors) > 1 else tensors[0]
    if values is first:
        values = values.clone()  # the values are a copy of the components, as PyTorch's cat makes
    if device is not None or dtype is not None:
        values = to(values, device=device, dtype=dtype)
    lens = numpy.array([t.shape[axis] for t in tensors], numpy.int64)
    offsets, starts = _offsets_tensor(lens, values)
    return NestedTensor._wrap(values, ragged_of(offsets, None, starts, lens), axis + 1)


def _as_tensors(items) -> list:
    if isinstance(items, Tensor) or not hasattr(items, "__iter__"):
        raise TypeError(f"expected a list or tuple of tensors, got {type(items).__name__}")
    return [t if isinstance(t, Tensor) else as_tensor(t) for t in items]


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> NestedTensor:
    """A nested tensor holding copies of the tensors (or array-likes) in ``tensor_list``, with no autograd
    history: a leaf, needing gradients when ``requires_grad`` (as PyTorch's). ``layout=gg.jagged`` only."""
    _check_jagged("nested_tensor", layout)
    with no_grad():
        nt = _from_list("nested_tensor", [t.detach() for t in _as_tensors(tensor_list)], dtype, device)
    if pin_memory:
        from ..factory import check_pin_memory

        check_pin_memory("nested_tensor", True)
    nt._values.requires_grad_(requires_grad)
    return nt


def as_nested_tensor(ts, dtype=None, device=None, layout=None) -> NestedTensor:
    """A nested tensor that keeps autograd history: from a list of tensors (copied into the values, the
    gradients flowing back to them), from a dense (B, L, *rest) tensor (B components of length L, its
    storage used when no move or cast is asked for), or a nested tensor (moved or cast if asked)."""
    _check_jagged("as_nested_tensor", layout)
    if isinstance(ts, NestedTensor):
        return ts.to(device=device, dtype=dtype)
    if isinstance(ts, Tensor):
        if ts.dim() < 2:
            raise ShapeError("as_nested_tensor: expected a tensor argument of at least 2 dims")
        batch, length = int(ts.shape[0]), int(ts.shape[1])
        values = ts.contiguous().flatten(0, 1)
        if device is not None or dtype is not None:
            values = to(values, device=device, dtype=dtype)
        lens = numpy.full(batch, length, numpy.int64)
        offsets, starts = _offsets_tensor(lens, values)
        return NestedTensor._wrap(values, ragged_of(offsets, None, starts, lens))
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError("as_nested_tensor: expected a tensor or a list / tuple of tensors")
    return _from_list("as_nested_tensor", list(ts), dtype, device)


def nested_tensor_from_jagged(values: Tensor, offsets: Tensor | None = None, lengths: Tensor | None = None,
                              jagged_dim: int | None = None, min_seqlen: int | None = None,
                              max_seqlen: int | None = None) -> NestedTensor:
    """A nested tensor viewing ``values``, whose dim ``jagged_dim - 1`` (default 0) packs the components:
    by ``offsets`` (B + 1,), by ``lengths`` (B,) alone, or by both (component i is rows offsets[i] ..
    offsets[i] + lengths[i]; the rest are holes). Gradients flow to ``values``. Nested tensors made on one
    offsets tensor share their ragged size and combine. ``min_seqlen`` / ``max_seqlen`` are accepted for
    PyTorch's signature; gpugrad reads the lengths on the host when it needs them."""
    if not isinstance(values, Tensor) or isinstance(values, NestedTensor):
        raise TypeError("nested_tensor_from_jagged: values must be a dense tensor")
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged: at least one of offsets or lengths is required")
        lens = numpy.asarray(lengths._backend.to_numpy(lengths._array, "nested lengths"), numpy.int64)
        offsets, starts = _offsets_tensor(lens, values)
        lengths, known = None, (starts, lens)
    else:
        known = (None, None)
    jagged_dim = 1 if jagged_dim is None else jagged_dim
    if jagged_dim < 1 or jagged_dim > values.dim():
        raise ValueError(f"nested_tensor_from_jagged: expected 1 <= jagged_dim <= values.dim() ({values.dim()}), got "
                         f"{jagged_dim}")
    if offsets.dim() != 1 or offsets.dtype.is_floating_point:
        raise ShapeError(f"nested_tensor_from_jagged: offsets must be a 1-D integer tensor, got {offsets.dtype} of "
                         f"shape {tuple(offsets.shape)}")
    if offsets.device != values.device or (lengths is not None and lengths.device != values.device):
        raise DeviceError(f"nested_tensor_from_jagged: values ({values.device}) and offsets / lengths "
                          f"({offsets.device}) must be on one device")
    if lengths is not None and tuple(lengths.shape) != (offsets.shape[0] - 1,):
        raise ShapeError(f"nested_tensor_from_jagged: offsets of {offsets.shape[0]} entries need lengths of "
                         f"{offsets.shape[0] - 1}, got shape {tuple(lengths.shape)}")
    return NestedTensor._wrap(values, ragged_of(offsets, lengths, *known), jagged_dim)


def narrow(tensor: Tensor, dim: int, start, length, layout=layouts.strided) -> NestedTensor:
    """The nested tensor of rows ``start[i] .. start[i] + length[i]`` of each ``tensor[i]`` along dim 1
    (``start`` and ``length`` ints or tensors broadcasting to (B,)): a view of ``tensor``, with holes
    unless the rows happen to be contiguous (as PyTorch's). ``layout=gg.jagged`` only."""
    _check_jagged("narrow", layout)
    if dim != 1:
        raise NestedTensorError(f"narrow: the jagged layout supports only dim=1, got {dim}")
    if tensor.dim() < 2:
        raise ShapeError("narrow: the tensor must have at least 2 dims")
    batch, width = int(tensor.shape[0]), int(tensor.shape[1])

    def host(v, name: str) -> numpy.ndarray:
        a = numpy.asarray(v._backend.to_numpy(v._array, "nested narrow") if isinstance(v, Tensor) else v, numpy.int64)
        try:
            return numpy.broadcast_to(a, (batch,))
        except ValueError:
            raise ShapeError(f"narrow: {name} must broadcast to the batch size {batch}, got shape {a.shape}") from None

    starts = host(start, "start") + numpy.arange(batch, dtype=numpy.int64) * width
    lens = host(length, "length").copy()
    values = tensor.reshape(batch * width, *tensor.shape[2:])
    contiguous = bool(numpy.array_equal(starts[1:], (starts + lens)[:-1]))
    if contiguous:
        first = int(starts[0])
        offsets, _ = _offsets_tensor(lens, values)
        return NestedTensor._wrap(values.narrow(0, first, int(lens.sum())),
                                  ragged_of(offsets, None, starts - first, lens))
    offsets = numpy.concatenate([starts, [starts[-1] + lens[-1]]]).astype(numpy.int64)
    offsets_t = Tensor._make(values._backend.asarray(offsets), values._backend)
    lengths_t = Tensor._make(values._backend.asarray(lens), values._backend)
    return NestedTensor._wrap(values, ragged_of(offsets_t, lengths_t, starts.copy(), lens))


def masked_select(tensor: Tensor, mask: Tensor) -> NestedTensor:
    """A nested tensor of the elements of ``tensor`` where ``mask`` (broadcasting to it) is True: one
    component per row of the last dim (shape (prod(leading dims), j)); differentiable for ``tensor``."""
    if isinstance(tensor, NestedTensor) or isinstance(mask, NestedTensor):
        raise TypeError("masked_select: tensor and mask must be dense tensors")
    values = tensor.masked_select(mask)
    full = numpy.broadcast_to(numpy.asarray(mask._backend.to_numpy(mask._array, "nested masked_select"), bool),
                              tuple(tensor.shape))
    lens = full.sum(axis=-1).reshape(-1).astype(numpy.int64) if full.ndim else numpy.array([int(full)], numpy.int64)
    offsets, starts = _offsets_tensor(lens, values)
    return NestedTensor._wrap(values, ragged_of(offsets, None, starts, lens))


def to_padded_tensor(input: NestedTensor, padding: float, output_size: Sequence[int] | None = None, *,
                     out: Tensor | None = None) -> Tensor:
    """The dense tensor of ``input`` padded with ``padding`` to the longest component (or to
    ``output_size``'s ragged size): see ``NestedTensor.to_padded_tensor``."""
    if not isinstance(input, NestedTensor):
        raise TypeError(f"to_padded_tensor: expected a nested tensor, got {type(input).__name__}")
    return write_out("to_padded_tensor", input.to_padded_tensor(padding, output_size), out)
