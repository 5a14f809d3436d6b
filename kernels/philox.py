"""Counter-based uniform random numbers (Philox4x32-10) whose generator state lives on the device.

Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC11) maps a 128-bit
counter and a 64-bit key to four 32-bit words through ten rounds of multiply/xor. The stream of words
for a seed is word w = philox(key=seed, counter=(w // 4 low 32 bits, w // 4 high 32 bits, 0, 0))[w % 4].

The state is a uint64[2] array (seed, offset) on the arrays' device; offset counts the words already
used and is a multiple of 4 (whole Philox blocks). A draw of n numbers takes

    float32: element i = (word[offset + i] >> 8) * 2^-24                          (24 bits)
    float64: element i = ((word[offset + 2i] << 21) | (word[offset + 2i + 1] >> 11)) * 2^-53   (53 bits)

so each value depends on (seed, offset + its index) only: the NumPy/CuPy reference, the CPU kernel and
the CUDA kernel give the same bits for any size and any thread layout, and every value is in [0, 1)
(exact in the float type, never 1.0). Then the offset advances by the words used, rounded up to a whole
block. Nothing is read back to the host: the CUDA path reads (seed, offset) in the kernel and advances
the offset with a one-thread kernel on the same stream, so a draw captured in a CUDA graph draws fresh
numbers on every replay.

An offset that is not a multiple of 4 (only set_rng_state could write one) is rounded up first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._launch import (
    check_arrays_for,
    cpu_kernel,
    cuda_family,
    cuda_stream,
    get_cuda,
    launch,
    like,
    numba_type,
    resolve_impl,
    scalar_fn,
)

# Random123's Philox4x32 multipliers and Weyl key increments.
M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
# As typed constants, so that the compiled kernels do every integer step in uint64 (Numba would make
# floats of uint64 mixed with int64) and the simulator's NumPy scalars stay uint64 too.
_M0, _M1, _W0, _W1 = np.uint64(M0), np.uint64(M1), np.uint64(W0), np.uint64(W1)
_MASK = np.uint64(0xFFFFFFFF)
_U32 = np.uint64(32)
_U0, _U1, _U2, _U3 = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3)
_U8, _U11, _U21 = np.uint64(8), np.uint64(11), np.uint64(21)

WORDS_PER_DRAW = {np.dtype(np.float32): 1, np.dtype(np.float64): 2}
SCALE = {np.dtype(np.float32): 2.0 ** -24, np.dtype(np.float64): 2.0 ** -53}


def blocks_for(n: int, dtype: Any) -> int:
    """Philox blocks (4 words each) that a draw of n numbers of ``dtype`` uses."""
    return -(-n * WORDS_PER_DRAW[np.dtype(dtype)] // 4)


# ============================================================== reference

def reference_philox4x32(xp: Any, counter: tuple, key: tuple) -> tuple:
    """Philox4x32-10 of the counter words (c0, c1, c2, c3) under the key words (k0, k1): four words.
    Arguments are integer arrays (or scalars) holding 32-bit values; the arithmetic is done in uint64."""
    c0, c1, c2, c3 = (xp.asarray(c, dtype=xp.uint64) for c in counter)
    k0, k1 = (xp.asarray(k, dtype=xp.uint64) for k in key)
    mask, s32 = xp.uint64(0xFFFFFFFF), xp.uint64(32)
    for r in range(ROUNDS):
        if r:
            k0 = (k0 + xp.uint64(W0)) & mask
            k1 = (k1 + xp.uint64(W1)) & mask
        p0 = xp.uint64(M0) * c0  # < 2^64: the full 64-bit product of two 32-bit words
        p1 = xp.uint64(M1) * c2
        c0, c1, c2, c3 = (p1 >> s32) ^ c1 ^ k0, p1 & mask, (p0 >> s32) ^ c3 ^ k1, p0 & mask
    return c0, c1, c2, c3


def _check_state(op: str, state: Any) -> None:
    if getattr(state, "dtype", None) != np.uint64 or tuple(state.shape) != (2,):
        raise TypeError(f"{op}: state must be a uint64 array of shape (2,) holding (seed, offset), got "
                        f"{getattr(state, 'dtype', type(state).__name__)} of shape {tuple(getattr(state, 'shape', ()))}")


def reference_uniform(xp: Any, state: Any, n: int, dtype: Any = np.float32, *, out: Any = None) -> Any:
    """n uniform numbers in [0, 1) of ``dtype`` from the generator state (seed, offset), then the offset
    advanced; written with xp array operations on the state (no host read: capturable on CuPy too)."""
    dtype = np.dtype(dtype)
    nb = blocks_for(n, dtype)
    seed, offset = state[0], state[1]
    base = (offset + xp.uint64(3)) >> xp.uint64(2)  # the first unused block
    blocks = base + xp.arange(nb, dtype=xp.uint64)
    mask, s32 = xp.uint64(0xFFFFFFFF), xp.uint64(32)
    zero = xp.zeros(nb, dtype=xp.uint64)
    words = xp.stack(reference_philox4x32(xp, (blocks & mask, blocks >> s32, zero, zero),
                                          (seed & mask, seed >> s32)), axis=1).reshape(-1)  # word order
    if dtype == np.float32:
        bits = words[:n] >> xp.uint64(8)
    else:
        pairs = words.reshape(-1, 2)[:n]
        bits = (pairs[:, 0] << xp.uint64(21)) | (pairs[:, 1] >> xp.uint64(11))
    u = bits.astype(dtype) * dtype.type(SCALE[dtype])  # exact: bits < 2^24 (2^53)
    state[1:] = (base + xp.uint64(nb)) << xp.uint64(2)
    if out is not None:
        out[...] = u
        return out
    return u


# ============================================================== scalar math

@scalar_fn
def philox_block(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of one counter under one key, on uint64 values holding 32-bit words."""
    for r in range(10):
        if r > 0:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        p0 = _M0 * c0
        p1 = _M1 * c2
        n0 = (p1 >> _U32) ^ c1 ^ k0
        n2 = (p0 >> _U32) ^ c3 ^ k1
        c1 = p1 & _MASK
        c3 = p0 & _MASK
        c0 = n0
        c2 = n2
    return c0, c1, c2, c3


@scalar_fn
def block_words(seed, block):
    """The four words of Philox block ``block`` (a uint64) for ``seed`` (a uint64 key)."""
    return philox_block(block & _MASK, block >> _U32, _U0, _U0, seed & _MASK, seed >> _U32)


@scalar_fn
def unit24(w, scale):
    """A float32 in [0, 1) from the top 24 bits of a word (scale = 2^-24 as the output type)."""
    return like(scale, w >> _U8) * scale


@scalar_fn
def unit53(hi, lo, scale):
    """A float64 in [0, 1) from 53 bits of two words (scale = 2^-53)."""
    return like(scale, (hi << _U21) | (lo >> _U11)) * scale


# ============================================================== CPU kernels

@cpu_kernel(False)  # integer work: no fast-math to allow, and the float conversions must be exact
def _uniform32_cpu(state, out, scale):
    n = out.shape[0]
    seed = state[0]
    base = (state[1] + _U3) >> np.uint64(2)
    for q in prange((n + 3) // 4):
        j = like(n, q)  # prange's index is unsigned; signed for the indexing below
        w0, w1, w2, w3 = block_words(seed, base + np.uint64(j))
        i = 4 * j
        out[i] = unit24(w0, scale)
        if i + 1 < n:
            out[i + 1] = unit24(w1, scale)
        if i + 2 < n:
            out[i + 2] = unit24(w2, scale)
        if i + 3 < n:
            out[i + 3] = unit24(w3, scale)


@cpu_kernel(False)
def _uniform64_cpu(state, out, scale):
    n = out.shape[0]
    seed = state[0]
    base = (state[1] + _U3) >> np.uint64(2)
    for q in prange((n + 1) // 2):
        j = like(n, q)
        w0, w1, w2, w3 = block_words(seed, base + np.uint64(j))
        i = 2 * j
        out[i] = unit53(w0, w1, scale)
        if i + 1 < n:
            out[i + 1] = unit53(w2, w3, scale)


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import int64, uint64, void

    T = numba_type(dtype)

    # One Philox block per thread and grid-stride trip: 4 float32 or 2 float64 outputs from one call
    # (the words are the costly part; the stores of a warp still cover one contiguous stretch). Integer
    # bound: Numba does the word arithmetic in 64 bits; on the H200, 1e7 float32 took 38.6 us with the
    # advance (26% of the copy bandwidth), 1e7 float64 47.9 us.
    def uniform32_kernel(state, out, scale):
        n = out.shape[0]
        seed = state[0]
        base = (state[1] + _U3) >> _U2
        step = int64(cuda.gridsize(1))
        for j in range(int64(cuda.grid(1)), (n + 3) // 4, step):
            w0, w1, w2, w3 = block_words(seed, base + uint64(j))
            i = 4 * j
            if i + 3 < n:
                out[i] = unit24(w0, scale)
                out[i + 1] = unit24(w1, scale)
                out[i + 2] = unit24(w2, scale)
                out[i + 3] = unit24(w3, scale)
            else:
                out[i] = unit24(w0, scale)
                if i + 1 < n:
                    out[i + 1] = unit24(w1, scale)
                if i + 2 < n:
                    out[i + 2] = unit24(w2, scale)

    def uniform64_kernel(state, out, scale):
        n = out.shape[0]
        seed = state[0]
        base = (state[1] + _U3) >> _U2
        step = int64(cuda.gridsize(1))
        for j in range(int64(cuda.grid(1)), (n + 1) // 2, step):
            w0, w1, w2, w3 = block_words(seed, base + uint64(j))
            i = 2 * j
            out[i] = unit53(w0, w1, scale)
            if i + 1 < n:
                out[i + 1] = unit53(w2, w3, scale)

    # Launched after the draw on the same stream: every thread of the draw has read the old offset.
    def advance_kernel(state, blocks):
        if cuda.grid(1) == 0:
            state[1] = (((state[1] + _U3) >> _U2) + blocks) << _U2

    uniform = uniform32_kernel if np.dtype(dtype) == np.float32 else uniform64_kernel
    return {
        "uniform": (uniform, void(uint64[::1], T[::1], T)),
        "advance": (advance_kernel, void(uint64[::1], uint64)),
    }


_cuda_kernel, _specs = cuda_family("philox", _cuda_sources)


def cuda_kernel_specs() -> list:
    # "advance" has no float type: compiled once, with the float32 specs.
    return [s for s in _specs() if not (s[0].startswith("philox.advance") and s[3] == np.float64)]


# ============================================================== launcher

def uniform(xp: Any, state: Any, n: int, dtype: Any = np.float32, *, out: Any = None, impl: str | None = None,
            stream: Any = None) -> Any:
    """n uniform numbers in [0, 1) (float32 or float64, shape (n,)) from the generator state ``state``
    (uint64[2]: seed, offset, on the arrays' device), whose offset is advanced on the device. ``out``
    ((n,), ``dtype``, C-contiguous) receives them."""
    op = "philox.uniform"
    impl = resolve_impl(xp, impl, op)
    _check_state(op, state)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{op}: n must be a non-negative integer, got {n!r}")
    n = int(n)
    dt = np.dtype(dtype)
    if dt not in WORDS_PER_DRAW:
        raise TypeError(f"{op}: only float32 and float64 are supported, got dtype={dt}")
    if out is not None and (out.dtype != dt or tuple(out.shape) != (n,) or not out.flags.c_contiguous):
        raise ValueError(f"{op}: out must be a C-contiguous ({n},) {dt} array, got {out.dtype} of shape "
                         f"{tuple(out.shape)}")
    if impl == "reference":
        return reference_uniform(xp, state, n, dt, out=out)
    check_arrays_for(op, xp, impl, state=state, out=out)
    u = xp.empty(n, dtype=dt) if out is None else out
    scale = dt.type(SCALE[dt])
    nb = blocks_for(n, dt)
    if impl == "cpu":
        if not state.flags.c_contiguous:
            raise ValueError(f"{op}: state must be C-contiguous")
        # Work counted as 4 per draw: ten Philox rounds per block cost more than a plain elementwise pass.
        (_uniform32_cpu if dt == np.float32 else _uniform64_cpu)(n * 4, state, u, scale)
        state[1] = (((state[1] + _U3) >> _U2) + np.uint64(nb)) << _U2
    else:
        s = cuda_stream(xp, stream)
        launch(_cuda_kernel("uniform", dt), nb, 256, s, state, u, scale)
        if nb:
            launch(_cuda_kernel("advance", np.float32), 1, 1, s, state, np.uint64(nb), grid_stride=False)
    return u
