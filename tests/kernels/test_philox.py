"""kernels.philox: Philox4x32-10 against Random123's known answers, the CPU and CUDA kernels equal to the
reference bit for bit (odd sizes, both dtypes, any offset), the offset advanced on the device by the words
used, values uniform in [0, 1) and never 1."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import philox as ph
from gpugrad.kernels._scalar import cpu_twin

# Random123's known-answer vectors for Philox4x32-10: (counter, key, the four output words).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def state(seed=0, offset=0):
    return np.array([seed, offset], dtype=np.uint64)


@pytest.mark.parametrize("ctr, key, want", KAT)
def test_known_answers_reference_and_compiled_scalar(ctr, key, want):
    assert tuple(int(w) for w in ph.reference_philox4x32(np, ctr, key)) == want
    args = [np.uint64(v) for v in ctr + key]
    assert tuple(int(w) for w in ph.philox_block(*args)) == want  # as the simulator runs it
    assert tuple(int(w) for w in cpu_twin(ph.philox_block)(*args)) == want  # as the CPU kernels call it


def test_reference_is_vectorised_over_counters():
    ctrs = np.array([k[0] for k in KAT], dtype=np.uint64)  # (3, 4)
    keys = np.array([k[1] for k in KAT], dtype=np.uint64)
    words = np.stack(ph.reference_philox4x32(np, tuple(ctrs.T), tuple(keys.T)), axis=1)
    np.testing.assert_array_equal(words, np.array([k[2] for k in KAT], dtype=np.uint64))


def test_the_first_draws_of_seed_zero_are_the_known_words():
    # seed 0, offset 0: block 0 is Philox(counter 0, key 0), the first known answer.
    w = KAT[0][2]
    u32 = ph.uniform(np, state(), 4, np.float32, impl="reference")
    np.testing.assert_array_equal(u32, np.array([(x >> 8) * 2.0 ** -24 for x in w], np.float32))
    u64 = ph.uniform(np, state(), 2, np.float64, impl="reference")
    want = [((w[0] << 21) | (w[1] >> 11)) * 2.0 ** -53, ((w[2] << 21) | (w[3] >> 11)) * 2.0 ** -53]
    np.testing.assert_array_equal(u64, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, offset", [(1, 0), (7, 4), (133, 1 << 40), (517, 12), (31, 6)])
def test_kernels_equal_the_reference_bit_for_bit(backend, dtype, n, offset):
    seed = 0xDEADBEEF_12345678  # both key words non-zero
    want_state, got_state = state(seed, offset), backend.dev(state(seed, offset))
    want = ph.uniform(np, want_state, n, dtype, impl="reference")
    got = ph.uniform(backend.xp, got_state, n, dtype, impl=backend.impl)
    assert got.dtype == dtype and got.shape == (n,)
    np.testing.assert_array_equal(backend.host(got), want)
    np.testing.assert_array_equal(backend.host(got_state), want_state)


@pytest.mark.parametrize("dtype, words", [(np.float32, 1), (np.float64, 2)])
@pytest.mark.parametrize("n", [0, 1, 4, 5, 130])
def test_the_offset_advances_by_the_words_drawn_in_whole_blocks(backend, dtype, words, n):
    s = backend.dev(state(9, 8))
    ph.uniform(backend.xp, s, n, dtype, impl=backend.impl)
    assert int(backend.host(s)[1]) == 8 + 4 * -(-n * words // 4)
    assert int(backend.host(s)[0]) == 9  # the seed stays


def test_an_offset_between_blocks_is_rounded_up_to_the_next_block(backend):
    a = ph.uniform(backend.xp, backend.dev(state(3, 5)), 6, impl=backend.impl)
    b = ph.uniform(backend.xp, backend.dev(state(3, 8)), 6, impl=backend.impl)
    np.testing.assert_array_equal(backend.host(a), backend.host(b))


def test_values_depend_on_seed_and_position_only(backend):
    # One draw of 300 equals draws of 100 and 200 in turn (100 float32 words fill whole blocks), and the
    # float64 draws follow the same words.
    s = backend.dev(state(77))
    whole = backend.host(ph.uniform(backend.xp, s, 300, impl=backend.impl))
    s = backend.dev(state(77))
    parts = [backend.host(ph.uniform(backend.xp, s, k, impl=backend.impl)) for k in (100, 200)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    other = backend.host(ph.uniform(backend.xp, backend.dev(state(78)), 300, impl=backend.impl))
    assert np.mean(other == whole) < 0.01


def test_serial_and_parallel_cpu_kernels_agree(monkeypatch):
    import sys

    module = sys.modules[type(ph._uniform32_cpu).__module__]
    out = {}
    for name, threshold in (("serial", 1 << 40), ("parallel", 0)):
        monkeypatch.setattr(module, "PARALLEL_MIN_WORK", threshold)
        out[name] = (ph.uniform(np, state(5), 1001, impl="cpu"), ph.uniform(np, state(5), 1001, np.float64, impl="cpu"))
    assert ph._uniform32_cpu.parallel.signatures  # the parallel build ran
    for a, b in zip(out["serial"], out["parallel"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniformity(dtype):
    u = ph.uniform(np, state(2024), 200_000, dtype, impl="cpu")
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    counts = np.bincount((u * 16).astype(np.int64), minlength=16)
    chi2 = ((counts - u.size / 16) ** 2 / (u.size / 16)).sum()
    assert chi2 < 50  # 15 degrees of freedom: above 50 has probability ~1e-5
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.02  # neighbours (words of one block) uncorrelated


def test_the_largest_words_stay_below_one():
    top = np.uint64(0xFFFFFFFF)
    for fn24, fn53 in ((ph.unit24, ph.unit53), (cpu_twin(ph.unit24), cpu_twin(ph.unit53))):
        assert fn24(top, np.float32(2.0 ** -24)) == np.float32(1 - 2.0 ** -24)
        assert fn53(top, top, 2.0 ** -53) == 1 - 2.0 ** -53


def test_out_receives_the_draw(backend):
    out = backend.xp.zeros(9, dtype=np.float64)
    got = ph.uniform(backend.xp, backend.dev(state(4)), 9, np.float64, out=out, impl=backend.impl)
    assert got is out
    np.testing.assert_array_equal(backend.host(out), ph.uniform(np, state(4), 9, np.float64, impl="reference"))


def test_launcher_refuses_bad_input(no_launch):
    with pytest.raises(TypeError, match=r"philox.uniform: state must be a uint64 array of shape \(2,\)"):
        ph.uniform(np, np.zeros(2, np.int64), 3, impl="cpu")
    with pytest.raises(TypeError, match="state must be"):
        ph.uniform(np, np.zeros(3, np.uint64), 3, impl="cpu")
    with pytest.raises(ValueError, match="n must be a non-negative integer, got -1"):
        ph.uniform(np, state(), -1, impl="cpu")
    with pytest.raises(TypeError, match="only float32 and float64 are supported, got dtype=float16"):
        ph.uniform(np, state(), 3, np.float16, impl="cpu")
    with pytest.raises(ValueError, match=r"out must be a C-contiguous \(3,\) float32 array"):
        ph.uniform(np, state(), 3, out=np.zeros(4, np.float32), impl="cpu")
    with pytest.raises(ValueError, match="impl must be one of"):
        ph.uniform(np, state(), 3, impl="gpu")
