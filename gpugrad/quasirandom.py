"""``torch.quasirandom``: ``SobolEngine``, which draws (scrambled) Sobol' sequences, low-discrepancy points
in the unit cube [0, 1)^d for d up to 21201.

The direction numbers are Joe and Kuo's (new-joe-kuo-6.21201, criterion D(6)), shipped in
gpugrad/data/sobol_new_joe_kuo_6_21201.npz (their BSD-style licence and the file's layout:
gpugrad/data/SOBOL_LICENSE.txt). Points follow the Gray-code order: point k is point k - 1 with the
direction numbers of the lowest zero bit of k - 1 XOR-ed in, each coordinate a 30-bit integer over 2^30,
as PyTorch's engine computes them; the draws equal PyTorch's bit for bit.

Scrambling (``scramble=True``) is Owen's linear matrix scramble with a digital shift, as PyTorch's: a random
lower-triangular bit matrix per dimension multiplies the direction numbers, and a random 30-bit shift
starts the sequence. Its random bits come from a Mersenne Twister seeded with ``seed`` and read as
PyTorch's CPU generator reads them (one 32-bit draw per bit), so a seeded scrambled engine also equals
PyTorch's bit for bit. Without a seed the shift and matrices come from gpugrad's default generator
(``gg.manual_seed`` makes them reproducible).
"""
from __future__ import annotations

import functools
import os

import numpy

from . import dtypes as _dtypes
from .default_dtype import get_default_dtype
from .tensor import Tensor

__all__ = ["SobolEngine"]

_MAXBIT = 30
_MAXDIM = 21201
_TABLE = os.path.join(os.path.dirname(__file__), "data", "sobol_new_joe_kuo_6_21201.npz")


@functools.lru_cache(maxsize=1)
def _joe_kuo() -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The table: each dimension's polynomial, its degree s, and its initial direction numbers m_1 .. m_s
    as a (21201, 18) array (zeros past s)."""
    with numpy.load(_TABLE) as table:
        poly = table["poly"].astype(numpy.int64)
        bits = numpy.unpackbits(table["m_bits"])[: int(table["n_bits"][0])].astype(numpy.int64)
    degree = numpy.array([int(p).bit_length() - 1 for p in poly], dtype=numpy.int64)
    m = numpy.zeros((len(poly), int(degree.max())), dtype=numpy.int64)
    # Field k of dimension i (k = 0 .. s_i - 1) holds (m_{k+1} - 1) / 2 in k bits, dimensions 2, 3, ... in order.
    dims = numpy.repeat(numpy.arange(1, len(poly)), degree[1:])
    ks = numpy.concatenate([numpy.arange(s) for s in degree[1:]])
    starts = numpy.concatenate([[0], numpy.cumsum(ks)[:-1]])
    for width in range(int(degree.max())):
        sel = ks == width
        if width == 0:
            values = numpy.zeros(int(sel.sum()), dtype=numpy.int64)
        else:
            positions = starts[sel, None] + numpy.arange(width)
            values = (bits[positions] << numpy.arange(width - 1, -1, -1)).sum(axis=1)
        m[dims[sel], ks[sel]] = 2 * values + 1
    return poly, degree, m


def _direction_numbers(dimension: int) -> numpy.ndarray:
    """The (dimension, 30) int64 direction numbers, scaled by 2^(29 - j) for bit j, as PyTorch's
    ``_sobol_engine_initialize_state_`` makes them: the first dimension all ones, each other one's first s
    from the table and the rest by Bratley and Fox's recurrence v_j = v_{j-s} XOR 2^s v_{j-s} XOR
    (XOR over k < s of a_k 2^k v_{j-k})."""
    poly, degree, m = _joe_kuo()
    v = numpy.zeros((dimension, _MAXBIT), dtype=numpy.int64)
    v[0] = 1
    for s in range(1, int(degree[:dimension].max(initial=0)) + 1):
        rows = numpy.nonzero(degree[:dimension] == s)[0]
        if rows.size == 0:
            continue
        p = poly[rows]
        block = numpy.zeros((rows.size, _MAXBIT), dtype=numpy.int64)
        block[:, :s] = m[rows, :s]
        for j in range(s, _MAXBIT):
            new = block[:, j - s].copy()
            for k in range(s):
                tap = (p >> (s - 1 - k)) & 1
                new ^= tap * ((2 << k) * block[:, j - k - 1])
            block[:, j] = new
        v[rows] = block
    return v << numpy.arange(_MAXBIT - 1, -1, -1)


def _scrambled(state: numpy.ndarray, ltm: numpy.ndarray) -> numpy.ndarray:
    """The direction numbers multiplied (over GF(2)) by the lower-triangular bit matrices ``ltm``
    (dimension, 30, 30), diagonals set to one: bit 29 - p of the new number is the parity of row p of the
    matrix (column k weighing bit 29 - k) against the old number's bits."""
    ltm = ltm.astype(numpy.float32)
    index = numpy.arange(_MAXBIT)
    ltm[:, index, index] = 1.0
    old_bits = ((state[:, :, None] >> index) & 1).astype(numpy.float32)  # (d, j, bit k)
    parity = numpy.matmul(old_bits, ltm[:, :, ::-1].transpose(0, 2, 1)).astype(numpy.int64) & 1  # (d, j, p)
    return (parity << (_MAXBIT - 1 - index)).sum(axis=-1)


def _uses_below(end: int, bit: int) -> int:
    """How many counters c in [0, end) have ``bit`` as their lowest zero bit: c = 2^bit - 1 (mod 2^(bit+1))."""
    period, first = 1 << (bit + 1), (1 << bit) - 1
    return (end - first + period - 1) // period if end > first else 0


def _rightmost_zero(counters: numpy.ndarray) -> numpy.ndarray:
    """The position of the lowest zero bit of each counter (the direction number the next point uses)."""
    low = (~counters) & (counters + 1)  # the lowest zero bit, alone
    return numpy.log2(low.astype(numpy.float64)).astype(numpy.int64)


class SobolEngine:
    r"""An engine that draws (optionally scrambled) Sobol' sequences in ``dimension`` dimensions
    (1 to 21201), as ``torch.quasirandom.SobolEngine``::

        engine = SobolEngine(dimension=5, scramble=True, seed=0)
        points = engine.draw(16)          # (16, 5) in [0, 1)

    Successive draws continue the sequence; ``draw_base2(m)`` draws 2^m points and checks that the total
    stays a power of two (the sequence's balance properties need it); ``fast_forward(n)`` skips n points;
    ``reset()`` returns to the first one.
    """

    MAXBIT = _MAXBIT
    MAXDIM = _MAXDIM

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None) -> None:
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        self._state = _direction_numbers(dimension)
        if not self.scramble:
            self._shift = numpy.zeros(dimension, dtype=numpy.int64)
        else:
            self._scramble()
        self._quasi = self._shift.copy()
        # The first point is the shift over 2^30 in the default dtype (PyTorch divides its int64 shift),
        # then converted to the dtype each draw asks for.
        default = get_default_dtype().np
        self._first = (self._shift.astype(default) / default.type(2**self.MAXBIT)).reshape(1, -1)
        self.num_generated = 0

    # PyTorch's attributes, as int64 CPU tensors over the engine's own arrays ----------------------------
    @property
    def sobolstate(self) -> Tensor:
        """The (dimension, 30) direction numbers (scrambled when ``scramble``)."""
        return _cpu_tensor(self._state)

    @property
    def shift(self) -> Tensor:
        """The (dimension,) digital shift: the first point times 2^30 (zeros unscrambled)."""
        return _cpu_tensor(self._shift)

    @property
    def quasi(self) -> Tensor:
        """The (dimension,) last point drawn, times 2^30."""
        return _cpu_tensor(self._quasi)

    def _scramble(self) -> None:
        if self.seed is not None:
            stream = numpy.random.RandomState(int(self.seed) & 0xFFFFFFFF)
        else:
            from .random import default_generator

            stream = numpy.random.RandomState(int(default_generator.rng.integers(0, 2**32)))
        raw = stream._bit_generator.random_raw  # the Mersenne Twister's 32-bit outputs, one per bit drawn
        shift_bits = (raw(self.dimension * self.MAXBIT) & 1).astype(numpy.int64).reshape(self.dimension, self.MAXBIT)
        self._shift = shift_bits @ (numpy.int64(1) << numpy.arange(self.MAXBIT, dtype=numpy.int64))
        ltm = (raw(self.dimension * self.MAXBIT * self.MAXBIT) & 1).astype(numpy.uint8)
        ltm = numpy.tril(ltm.reshape(self.dimension, self.MAXBIT, self.MAXBIT))
        self._state = _scrambled(self._state, ltm)

    def _advance(self, count: int, counter: int, np_dtype) -> numpy.ndarray:
        """The next ``count`` points after the current one (whose Gray-code counter is ``counter``), over
        2^30 in ``np_dtype``; the engine's current point becomes the last of them. Made in blocks of rows,
        so that the integer work arrays stay small beside the result."""
        result = numpy.empty((count, self.dimension), dtype=np_dtype)
        by_bit = numpy.ascontiguousarray(self._state.T)  # (30, dimension): a point's step is one row
        rows = max(1, (1 << 20) // self.dimension)
        for start in range(0, count, rows):
            stop = min(count, start + rows)
            columns = _rightmost_zero(numpy.arange(counter + start, counter + stop, dtype=numpy.int64))
            points = numpy.bitwise_xor.accumulate(by_bit[columns], axis=0)
            points ^= self._quasi
            self._quasi = points[-1].copy()
            result[start:stop] = points  # int64 to np_dtype, rounded to nearest as PyTorch's kernel does
        result *= np_dtype.type(1.0 / 2**self.MAXBIT)
        return result

    def draw(self, n: int = 1, out: Tensor | None = None, dtype=None) -> Tensor:
        """The next ``n`` points of the sequence, an (n, dimension) tensor of ``dtype`` (the default dtype
        when None); written into ``out`` (resized) when given."""
        dtype = get_default_dtype() if dtype is None else _dtypes.to_dtype(dtype)
        np_dtype = dtype.np
        if self.num_generated == 0 and n == 1:
            result = self._first.astype(np_dtype)
        else:
            if dtype not in (_dtypes.float32, _dtypes.float64):
                raise RuntimeError(f'"_sobol_engine_draw" not implemented for {dtype}')
            first = self.num_generated == 0
            result = self._advance(n - 1 if first else n, 0 if first else self.num_generated - 1, np_dtype)
            if first:
                result = numpy.concatenate([self._first.astype(np_dtype), result])
        self.num_generated += n
        tensor = _cpu_tensor(numpy.ascontiguousarray(result))
        if out is not None:
            out.resize_as_(tensor).copy_(tensor)
            return out
        return tensor

    def draw_base2(self, m: int, out: Tensor | None = None, dtype=None) -> Tensor:
        """The next 2^m points; the points drawn in all must stay a power of two (else ValueError: use
        ``draw``)."""
        n = 2**m
        total_n = self.num_generated + n
        if total_n & (total_n - 1) != 0:
            raise ValueError(
                "The balance properties of Sobol' points require n to be a power of 2. "
                f"{self.num_generated} points have been previously generated, then: "
                f"n={self.num_generated}+2**{m}={total_n}. If you still want to do this, please use "
                "'SobolEngine.draw()' instead."
            )
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        """Back to the first point (the scrambling is kept)."""
        self._quasi = self._shift.copy()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip the next ``n`` points, as drawing them would, without making them."""
        start = 0 if self.num_generated == 0 else self.num_generated - 1
        stop = start + (n - 1 if self.num_generated == 0 else n)
        for bit in range(self.MAXBIT):
            if (_uses_below(stop, bit) - _uses_below(start, bit)) % 2:  # an even count of XORs cancels
                self._quasi ^= self._state[:, bit]
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        parts = [f"dimension={self.dimension}"]
        if self.scramble:
            parts.append("scramble=True")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _cpu_tensor(array: numpy.ndarray) -> Tensor:
    from .backend import get

    return Tensor._make(array, get("cpu"))
