"""Variable-length sequences for the recurrent layers, as ``torch.nn.utils.rnn``::

    packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    out, h_n = gru(packed)                      # h_n: each sequence's state at its own last step
    out, lengths = pad_packed_sequence(out, batch_first=True)

A ``PackedSequence`` holds the steps of all sequences, sorted by decreasing length, time-major:
``data`` (sum of batch_sizes, *), ``batch_sizes[t]`` = how many sequences are longer than t (an int64
tensor on the CPU), ``sorted_indices`` / ``unsorted_indices`` the permutation to and from the caller's
order (None when the input was already sorted). Packing and padding are one ``index_select`` each, so
they are differentiable and cost one gather (and one scatter-add in backward) whatever the lengths.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

import numpy

from ... import dtypes, factory
from ...errors import ArgumentError, ShapeError
from ...ops.shape import cat, unbind
from ...tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]

_Fields = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of the permutation vector ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    xp = permutation._backend.xp
    inverse = xp.empty_like(permutation._array)
    inverse[permutation._array] = xp.arange(permutation._array.size, dtype=permutation._array.dtype)
    return Tensor._make(inverse, permutation._backend)


class PackedSequence(_Fields):
    """The packed steps of a batch of sequences (see the module docstring). Construct it with
    ``pack_padded_sequence`` or ``pack_sequence``; the recurrent layers take it and return one."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PyTorch's second form: PackedSequence((data, batch_sizes))
            if not isinstance(data, (list, tuple)) or len(data) != 2:
                raise TypeError("PackedSequence: expected data and batch_sizes, or a (data, batch_sizes) pair")
            data, batch_sizes = data
        if str(batch_sizes.device) != "cpu":
            raise ArgumentError(
                "PackedSequence: batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like pack_sequence and "
                "pack_padded_sequences in nn.utils.rnn."
            )
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequence with ``data`` converted as ``Tensor.to``; the indices follow its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self.to(dtype=dtypes.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=dtypes.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=dtypes.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=dtypes.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=dtypes.int32)

    @property
    def is_cuda(self) -> bool:
        return str(self.data.device).startswith("cuda")

    def is_pinned(self) -> bool:
        return False


def _lengths(op: str, lengths) -> numpy.ndarray:
    """``lengths`` (a list or a 1-D integer tensor) as a NumPy int64 vector."""
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise ShapeError(f"{op}: 'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D tensor")
        lengths = lengths.tolist()
    arr = numpy.asarray(lengths)
    if arr.ndim != 1:
        raise ShapeError(f"{op}: 'lengths' argument should be 1-D, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu" and not numpy.all(arr == numpy.floor(arr)):
        raise ArgumentError(f"{op}: lengths must be integers, got {lengths}")
    return arr.astype(numpy.int64)


def _index(indices: numpy.ndarray, like: Tensor) -> Tensor:
    return factory.tensor(numpy.ascontiguousarray(indices, dtype=numpy.int64), device=like.device)


def _gather_rows(rows: Tensor, indices: numpy.ndarray, padding_value) -> Tensor:
    """rows[indices] along dim 0, where index len(rows) means a row of ``padding_value``."""
    if padding_value is not None:
        pad = factory.full((1, *rows.shape[1:]), padding_value, dtype=rows.dtype, device=rows.device)
        rows = cat([rows, pad], 0)
    return rows.index_select(0, _index(indices.ravel(), rows))


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of the given lengths.

    With ``enforce_sorted=True`` the lengths must be in decreasing order; otherwise the batch is sorted
    here and the permutation kept in the result, so that outputs come back in the caller's order."""
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dimensions (time and batch), got shape {tuple(input.shape)}")
    lengths = _lengths(op, lengths)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if enforce_sorted:
        if numpy.any(lengths[1:] > lengths[:-1]):
            raise ArgumentError(
                f"{op}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                "requirement if you do not need ONNX exportability."
            )
        order, sorted_indices = numpy.arange(lengths.size), None
    else:
        order = numpy.argsort(-lengths, kind="stable")
        sorted_indices = _index(order, input)
    if lengths.size != batch:
        raise ShapeError(f"{op}: Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size={batch})")
    if lengths.size and lengths.min() <= 0:
        raise ArgumentError(
            f"{op}: Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
        )
    if lengths.size and lengths.max() > steps:
        raise ShapeError(f"{op}: a length of {lengths.max()} exceeds the {steps} time steps of input of shape {tuple(input.shape)}")
    sorted_lengths = lengths[order]
    max_len = int(sorted_lengths[0]) if sorted_lengths.size else 0
    batch_sizes = (sorted_lengths[None, :] > numpy.arange(max_len)[:, None]).sum(1)
    t, p = numpy.nonzero(numpy.arange(batch)[None, :] < batch_sizes[:, None])  # time-major, then sorted order
    rows = order[p] * steps + t if batch_first else t * batch + order[p]
    data = _gather_rows(input.reshape(steps * batch, *input.shape[2:]), rows, None)
    return PackedSequence(data, factory.tensor(batch_sizes.astype(numpy.int64)), sorted_indices, invert_permutation(sorted_indices))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: (padded (T, B, *) or (B, T, *), lengths), in the caller's
    order; positions past a sequence's end hold ``padding_value``; ``total_length`` pads T further."""
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{op}: expected a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    batch_sizes = numpy.asarray(sequence.batch_sizes.tolist(), dtype=numpy.int64)
    steps, batch = batch_sizes.size, int(batch_sizes[0]) if batch_sizes.size else 0
    if total_length is not None:
        if total_length < steps:
            raise ArgumentError(
                f"{op}: Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {steps}"
            )
        out_steps = total_length
    else:
        out_steps = steps
    unsorted = numpy.arange(batch) if sequence.unsorted_indices is None else numpy.asarray(sequence.unsorted_indices.tolist())
    offsets = numpy.concatenate([[0], numpy.cumsum(batch_sizes)[:-1]]).astype(numpy.int64)
    t = numpy.arange(out_steps)[:, None]
    p = unsorted[None, :]  # column j of the result is sorted position unsorted[j]
    t_in = numpy.minimum(t, steps - 1)
    valid = (t < steps) & (p < batch_sizes[t_in])
    src = numpy.where(valid, offsets[t_in] + p, data.shape[0])
    if batch_first:
        src = src.T
    padded = _gather_rows(data, src, padding_value).reshape(*src.shape, *data.shape[1:])
    sorted_lengths = (batch_sizes[None, :] > numpy.arange(batch)[:, None]).sum(1)
    return padded, factory.tensor(sorted_lengths[unsorted].astype(numpy.int64))


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *) with ``batch_first``),
    filling with ``padding_value`` after each sequence (``padding_side="right"``) or before it ("left")."""
    op = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"{op}: Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = unbind(sequences, 0)
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError(f"{op}: received an empty list of sequences")
    for s in sequences:
        if not isinstance(s, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, got {type(s).__name__}")
        if s.ndim == 0 or s.shape[1:] != sequences[0].shape[1:]:
            raise ShapeError(
                f"{op}: every sequence must have shape (L, *) with the same trailing dims, got "
                f"{[tuple(x.shape) for x in sequences]}"
            )
    lengths = numpy.array([s.shape[0] for s in sequences], dtype=numpy.int64)
    steps = int(lengths.max())
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]]).astype(numpy.int64)
    t = numpy.arange(steps)[:, None]
    start = 0 if padding_side == "right" else steps - lengths[None, :]  # where each sequence begins
    valid = (t >= start) & (t < start + lengths[None, :])
    src = numpy.where(valid, offsets[None, :] + t - start, int(lengths.sum()))
    if batch_first:
        src = src.T
    padded = _gather_rows(cat(sequences, 0), src, padding_value)
    return padded.reshape(*src.shape, *sequences[0].shape[1:])


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """The inverse of ``pad_sequence`` (right padding): the list of (L_i, *) sequences."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = _lengths("unpad_sequence", lengths)
    return [seq[: int(n)] for seq, n in zip(unbind(padded_sequences, 0), lengths)]


def pack_sequence(sequences: Iterable[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences (``enforce_sorted``: given by decreasing length)."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of ``pack_sequence``: the list of (L_i, *) sequences, in the caller's order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
