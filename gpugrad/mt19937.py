"""The host's random stream: a Mersenne Twister seeded, and turned into numbers, as PyTorch's CPU generator,
so that ``gg.manual_seed(s)`` followed by the same calls gives PyTorch's numbers (``rand``, ``randn``,
``randint``, ``randperm``, ``uniform_``, ``normal_``, ``bernoulli``, so every ``nn.init``, every layer's
initial weights and dropout's masks).

The bits are NumPy's MT19937 (``random_raw`` gives its 32-bit outputs; many at once come from the same
algorithm compiled here, on its state's words, which go back to it); what is built on them here follows
PyTorch's CPU kernels:
- a float32 (float16, bfloat16) uniform takes 24 bits of one output, a float64 53 bits of two outputs,
  scaled in double precision: ``u * (high - low) + low``;
- normal draws for 16 or more contiguous elements fill them with uniforms and turn each block of 16 into 16
  normals by Box-Muller (a ragged end draws 16 more for the last 16); fewer, or a strided tensor in memory
  order, are drawn in pairs whose second value is kept for the next draw;
- integers in [low, high) are ``bits % (high - low) + low`` (one output, two past 2^32), a permutation is a
  Fisher-Yates shuffle from the front.
Bernoulli draws (and dropout's masks) compare a uniform with p, exponential draws are ``-log1p(-u) / rate``,
as PyTorch's (multinomial builds on both). The scalar math is the C library's, compiled, as PyTorch's.
Float64 results equal PyTorch's. Float32 normals from a block of 16 can differ in the last bit: PyTorch
computes them with its own vectorised log, sin and cos. Other draws (poisson, gamma, binomial, geometric
...) take NumPy's methods on the same bits, so they follow the seed but not PyTorch's numbers.
"""
from __future__ import annotations

import math

import numba
import numpy

# What a Generator built without a seed starts from, as PyTorch's torch.Generator().
DEFAULT_SEED = 67280421310721
_BLOCK = 16  # normals drawn in blocks of this many (_box_muller_blocks)
_COMPILED_MIN_OUTPUTS = 1 << 16  # from this many outputs, _twister_outputs (below, NumPy's random_raw)


def _key(seed: int) -> numpy.ndarray:
    """The 624 words of the Twister's state for a seed: the reference initialisation (init_genrand) of its
    low 32 bits, as PyTorch seeds its CPU generator."""
    key = numpy.empty(624, numpy.uint32)
    s = seed & 0xFFFFFFFF
    for i in range(624):
        key[i] = s
        s = (1812433253 * (s ^ (s >> 30)) + i + 1) & 0xFFFFFFFF
    return key


class Stream:
    """One Mersenne Twister stream and the draws PyTorch makes from it. ``numpy`` is a NumPy Generator on the
    same bits, for the draws that do not follow PyTorch's numbers."""

    def __init__(self, seed: int) -> None:
        self.bits = numpy.random.MT19937()
        self.numpy = numpy.random.Generator(self.bits)
        self.seed(seed)

    def seed(self, seed: int) -> None:
        key = _key(int(seed) % (1 << 64))
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
        self.next_normal: float | None = None  # the second value of the last pair drawn one at a time
        self._seed_key: numpy.ndarray | None = key  # a fresh stream's words (fresh())
        self._seeded_with = int(seed)

    def fresh(self, key: numpy.ndarray, pos: int) -> bool:
        """Whether the words ``key`` at ``pos`` (this stream's) are those of its seed, nothing drawn since (a
        twisted state equal to the seed's words is never met)."""
        if pos != 624:
            return False
        if self._seed_key is None:
            self._seed_key = _key(self._seeded_with % (1 << 64))
        return numpy.array_equal(key, self._seed_key)

    def raw_state(self) -> tuple[numpy.ndarray, int]:
        """The Twister's 624 words and the position of the next one (NumPy's MT19937 state)."""
        state = self.bits.state["state"]
        return state["key"], int(state["pos"])

    def get_state(self) -> dict:
        key, pos = self.raw_state()
        return {"key": [int(k) for k in key], "pos": pos, "next_normal": self.next_normal}

    def set_state(self, state: dict, seed: int) -> None:
        """Restore ``get_state``'s form (``key`` a list or an array of the 624 words); ``seed``: the seed the
        state descends from."""
        key = numpy.asarray(state["key"], dtype=numpy.uint32)
        if key.shape != (624,) or not 0 <= int(state["pos"]) <= 624:
            raise ValueError("set_rng_state: not a state of gpugrad's generator (624 key words and a position)")
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": int(state["pos"])}}
        nxt = state.get("next_normal")
        self.next_normal = None if nxt is None else float(nxt)
        self._seed_key, self._seeded_with = None, int(seed)

    # Bits and uniforms -------------------------------------------------------------------------------
    def _raw(self, n: int) -> numpy.ndarray:
        """The next n 32-bit outputs (as NumPy's ``random_raw``: uint64). Many are drawn by _twister_outputs
        on the state's words, which go back to NumPy's bit generator after: NumPy's random_raw makes a call
        per output (7 ns each; dropout's mask of 4M elements spent 29 ms there), its state's round trip
        costs ~0.2 ms."""
        if n < _COMPILED_MIN_OUTPUTS:
            return self.bits.random_raw(n)
        out = numpy.empty(n, numpy.uint64)
        self._on_words(_twister_outputs, out)
        return out

    def _on_words(self, draw, *args) -> None:
        """``draw(key, pos, *args)``, a compiled draw, on a copy of the state's words; the words and the new
        position it returns go back to NumPy's bit generator."""
        key, pos = self.raw_state()
        key = numpy.array(key, dtype=numpy.uint32)
        pos = draw(key, pos, *args)
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": int(pos)}}

    def _bits32(self, n: int) -> numpy.ndarray:
        return self._raw(n)

    def _bits64(self, n: int) -> numpy.ndarray:
        pairs = self._raw(2 * n).reshape(n, 2)
        return (pairs[:, 0] << numpy.uint64(32)) | pairs[:, 1]

    def uniform(self, n: int, low: float, high: float, np_dtype) -> numpy.ndarray:
        """n draws from [low, high) in ``np_dtype`` (a float dtype)."""
        np_dtype = numpy.dtype(np_dtype)
        wide = np_dtype == numpy.float64
        if wide:
            start, span, out = float(low), float(high) - float(low), numpy.empty(n, numpy.float64)
        else:
            low32, high32 = numpy.float32(low), numpy.float32(high)
            start, span, out = float(low32), float(high32 - low32), numpy.empty(n, numpy.float32)
        if n * (2 if wide else 1) >= _COMPILED_MIN_OUTPUTS:  # the outputs made and used a chunk at a time
            self._on_words(_twister_uniform, wide, start, span, out)
        elif wide:
            _uniform53(self._raw(2 * n), start, span, out)
        else:
            _uniform24(self._raw(n), start, span, out)
        return out if wide or np_dtype == numpy.float32 else _below(out.astype(np_dtype), low, high)

    # Normals -----------------------------------------------------------------------------------------
    def normal(self, shape: tuple, mean: float, std: float, np_dtype, strides: tuple | None = None) -> numpy.ndarray:
        """Normal draws of ``shape`` in ``np_dtype``. ``strides`` (in elements) are those of the tensor the
        draws will fill when it is not contiguous: PyTorch then draws one at a time, in memory order."""
        n = math.prod(shape)
        np_dtype = numpy.dtype(np_dtype)
        if n >= _BLOCK and strides is None:
            return self._normal_blocks(n, mean, std, np_dtype).reshape(shape)
        return in_memory_order(self._normal_pairs(n, mean, std).astype(np_dtype), shape, strides)

    def _normal_blocks(self, n: int, mean: float, std: float, np_dtype) -> numpy.ndarray:
        work = numpy.dtype(numpy.float64 if np_dtype == numpy.float64 else numpy.float32)
        # n uniforms, then 16 more for a ragged end, which redoes the last 16 from them
        u = self.uniform(n + (_BLOCK if n % _BLOCK else 0), 0.0, 1.0, work)
        one = work.type(1.0)
        _box_muller_blocks(u, n, work.type(mean), work.type(std), one, work.type(-2.0), work.type(2.0 * math.pi))
        out = u[:n]
        return out if work == np_dtype else out.astype(np_dtype)

    def _normal_pairs(self, n: int, mean: float, std: float) -> numpy.ndarray:
        out = numpy.empty(n, numpy.float64)
        start = 0
        if n and self.next_normal is not None:
            out[0] = self.next_normal * std + mean
            self.next_normal, start = None, 1
        pairs = (n - start + 1) // 2
        if pairs:
            drawn = numpy.empty(2 * pairs, numpy.float64)
            _box_muller_pairs(self.uniform(2 * pairs, 0.0, 1.0, numpy.float64), drawn)
            out[start:] = drawn[: n - start] * std + mean
            if (n - start) % 2:
                self.next_normal = float(drawn[-1])
        return out

    def exponential(self, n: int, rate: float) -> numpy.ndarray:
        """n exponential draws of the given rate, in float64: ``-log1p(-u) / rate``, as PyTorch's."""
        out = self.uniform(n, 0.0, 1.0, numpy.float64)
        _exponential(out, -1.0 / rate)
        return out

    # Integers ----------------------------------------------------------------------------------------
    def integers(self, low: int, high: int, n: int) -> numpy.ndarray:
        """n integers from [low, high), as int64."""
        span = high - low
        bits = self._bits64(n) if span >= 1 << 32 else self._bits32(n)
        return (bits % numpy.uint64(span)).astype(numpy.int64) + numpy.int64(low)

    def permutation(self, n: int) -> numpy.ndarray:
        """A random order of range(n): swap each place with one drawn from it to the end."""
        picks = (self._bits32(max(n - 1, 0)) % numpy.arange(n, 1, -1, dtype=numpy.uint64)).astype(numpy.int64)
        order = numpy.arange(n, dtype=numpy.int64)
        _swap_forward(order, picks)
        return order


@numba.njit(cache=True)
def _swap_forward(order: numpy.ndarray, picks: numpy.ndarray) -> None:
    """Fisher-Yates from the front: place i swaps with place i + picks[i], in turn (a loop each of whose
    steps reads the last one's result: compiled, as NumPy has no way to write it)."""
    for i in range(picks.shape[0]):
        j = i + picks[i]
        order[i], order[j] = order[j], order[i]


def _below(narrow: numpy.ndarray, low: float, high: float) -> numpy.ndarray:
    """float16 and bfloat16 draws, rounded from float32's, kept below ``high`` (rounding takes 1 - 2^-24 up to
    1.0), so that ``rand`` keeps to [0, 1) and ``log(1 - u)`` stays finite."""
    if not low < high:
        return narrow
    ceiling = narrow.dtype.type(high)
    if ceiling >= high:
        ceiling = numpy.nextafter(ceiling, narrow.dtype.type(low))
    return numpy.where(narrow >= high, ceiling, narrow)


def in_memory_order(flat: numpy.ndarray, shape: tuple, strides: tuple | None) -> numpy.ndarray:
    """Draws made one after another, placed in ``shape`` in the order of memory of a tensor with ``strides``
    (C order when None): the order in which PyTorch's kernels fill a strided tensor."""
    if strides is None:
        return flat.reshape(shape)
    order = sorted(range(len(shape)), key=lambda d: -strides[d])  # outermost in memory first
    return numpy.moveaxis(flat.reshape([shape[d] for d in order]), list(range(len(order))), order)


@numba.njit(cache=True)
def _uniform24(bits: numpy.ndarray, low: float, span: float, out: numpy.ndarray) -> None:
    """float32 uniforms from 24 bits of each output, scaled in double precision (PyTorch's float draw)."""
    for i in range(out.shape[0]):
        out[i] = (bits[i] & 0xFFFFFF) * 2.0**-24 * span + low


@numba.njit(cache=True, inline="always")
def _twisted(upper, lower, far):
    y = (upper & numpy.uint32(0x80000000)) | (lower & numpy.uint32(0x7FFFFFFF))
    mag = numpy.uint32(0x9908B0DF) if y & numpy.uint32(1) else numpy.uint32(0)
    return far ^ (y >> numpy.uint32(1)) ^ mag


@numba.njit(cache=True)
def _twist(key: numpy.ndarray) -> None:
    """The reference generator's next 624 words in place of the last (genrand_int32's regeneration)."""
    for k in range(227):
        key[k] = _twisted(key[k], key[k + 1], key[k + 397])
    for k in range(227, 623):
        key[k] = _twisted(key[k], key[k + 1], key[k - 227])
    key[623] = _twisted(key[623], key[0], key[396])


@numba.njit(cache=True)
def _twister_outputs(key: numpy.ndarray, pos: int, out: numpy.ndarray) -> int:
    """The Mersenne Twister's next out.size outputs (tempered words) from the 624 words ``key`` at ``pos``,
    into ``out``; ``key`` advanced in place; the new position returned. The same outputs as NumPy's MT19937
    (the reference algorithm both)."""
    i, n = 0, out.shape[0]
    while i < n:
        if pos >= 624:
            _twist(key)
            pos = 0
        take = min(624 - pos, n - i)
        words = key[pos:pos + take]
        dst = out[i:i + take]
        for j in range(take):  # the tempering, in 32-bit words: vectorised
            y = words[j]
            y ^= y >> numpy.uint32(11)
            y ^= (y << numpy.uint32(7)) & numpy.uint32(0x9D2C5680)
            y ^= (y << numpy.uint32(15)) & numpy.uint32(0xEFC60000)
            y ^= y >> numpy.uint32(18)
            dst[j] = y
        i += take
        pos += take
    return pos


@numba.njit(cache=True)
def _twister_uniform(key: numpy.ndarray, pos: int, wide: bool, low: float, span: float, out: numpy.ndarray) -> int:
    """out.size uniforms (_uniform53's from pairs of outputs when ``wide``, else _uniform24's) straight from
    the Twister's words at ``pos``, its outputs made a chunk at a time (no array of them all: 8 bytes an
    output, 64 MiB for dropout's mask of 4M float64 draws); the new position returned."""
    per = 2 if wide else 1
    chunk = numpy.empty(4096 * per, numpy.uint64)
    n = out.shape[0]
    for start in range(0, n, 4096):
        m = min(4096, n - start)
        pos = _twister_outputs(key, pos, chunk[:m * per])
        if wide:
            _uniform53(chunk[:m * per], low, span, out[start:start + m])
        else:
            _uniform24(chunk[:m], low, span, out[start:start + m])
    return pos


@numba.njit(cache=True)
def _uniform53(bits: numpy.ndarray, low: float, span: float, out: numpy.ndarray) -> None:
    """float64 uniforms from 53 bits of each pair of outputs, the first the high half (PyTorch's random64)."""
    for i in range(out.shape[0]):
        word = (bits[2 * i] << 32) | bits[2 * i + 1]
        out[i] = (word & 0x1FFFFFFFFFFFFF) * 2.0**-53 * span + low


@numba.njit(cache=True)
def _box_muller_blocks(u, n, mean, std, one, minus_two, two_pi) -> None:
    """Blocks of 16 uniforms in place to 16 normals each, in u's dtype (the constants are of it, so that
    float32 stays float32): in a block the first eight give the radii, the last eight the angles. When n is
    not a multiple of 16, u holds 16 more uniforms after the first n, which become u[n - 16:n]."""
    for start in range(0, n - n % 16, 16):
        _box_muller_16(u, start, mean, std, one, minus_two, two_pi)
    if n % 16:
        u[n - 16 : n] = u[n : n + 16]
        _box_muller_16(u, n - 16, mean, std, one, minus_two, two_pi)


@numba.njit(cache=True)
def _box_muller_pairs(u, out) -> None:
    """Pairs of float64 uniforms (an angle's, then a radius's) to pairs of normals (cos, then sin)."""
    for i in range(0, u.shape[0], 2):
        radius = math.sqrt(-2.0 * math.log1p(-u[i + 1]))
        theta = 2.0 * math.pi * u[i]
        out[i] = radius * math.cos(theta)
        out[i + 1] = radius * math.sin(theta)


@numba.njit(cache=True)
def _exponential(u, scale) -> None:
    """Uniforms in place to exponential draws: scale * log1p(-u), scale being -1 / rate."""
    for i in range(u.shape[0]):
        u[i] = scale * math.log1p(-u[i])


@numba.njit(cache=True, inline="always")
def _box_muller_16(u, start, mean, std, one, minus_two, two_pi) -> None:
    for j in range(start, start + 8):
        radius = math.sqrt(minus_two * math.log(one - u[j]))
        theta = two_pi * u[j + 8]
        u[j] = radius * math.cos(theta) * std + mean
        u[j + 8] = radius * math.sin(theta) * std + mean
