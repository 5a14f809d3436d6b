"""gg.quasirandom.SobolEngine (torch.quasirandom.SobolEngine): the shipped Joe-Kuo table, the net
properties of the points (unscrambled and scrambled), the engine's bookkeeping (draw, draw_base2,
fast_forward, reset, out=), and PyTorch's draws bit for bit where it is installed."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tomllib

import gpugrad as gg
from gpugrad.quasirandom import SobolEngine, _direction_numbers, _joe_kuo


def test_the_table_holds_joe_and_kuos_first_rows():
    poly, degree, m = _joe_kuo()
    assert len(poly) == SobolEngine.MAXDIM == 21201 and degree.max() == 18
    # d, s, a, m_1 .. m_s as new-joe-kuo-6.21201 lists them (dimensions 2 to 10)
    rows = [(2, 1, 0, [1]), (3, 2, 1, [1, 3]), (4, 3, 1, [1, 3, 1]), (5, 3, 2, [1, 1, 1]), (6, 4, 1, [1, 1, 3, 3]),
            (7, 4, 4, [1, 3, 5, 13]), (8, 5, 2, [1, 1, 5, 5, 17]), (9, 5, 4, [1, 1, 5, 5, 5]),
            (10, 5, 7, [1, 1, 7, 11, 19])]
    for d, s, a, ms in rows:
        assert degree[d - 1] == s and int(poly[d - 1]) == (1 << s) | (a << 1) | 1
        assert m[d - 1, :s].tolist() == ms and not m[d - 1, s:].any()
    # Every initial direction number m_k is odd and below 2^k.
    k = np.arange(1, m.shape[1] + 1)
    used = k <= degree[:, None]
    assert (m[used] % 2 == 1).all() and (m < 2**k)[used].all()


def test_the_data_file_is_package_data():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["gpugrad.data"]
    assert "sobol_new_joe_kuo_6_21201.npz" in data and "SOBOL_LICENSE.txt" in data


def test_direction_numbers_are_odd_multiples_of_their_bit():
    v = _direction_numbers(300)
    bit = 1 << np.arange(29, -1, -1)
    assert (v % bit == 0).all() and ((v // bit) % 2 == 1).all() and (v < 2 * bit * (1 << np.arange(30))).all()


def _elementary_counts(points: np.ndarray, bits_x: int, bits_y: int) -> np.ndarray:
    cells = (np.floor(points[:, 0] * 2**bits_x).astype(int) * 2**bits_y
             + np.floor(points[:, 1] * 2**bits_y).astype(int))
    return np.bincount(cells, minlength=2 ** (bits_x + bits_y))


@pytest.mark.parametrize("scramble", [False, True])
def test_points_form_nets(scramble):
    m = 8
    engine = SobolEngine(6, scramble=scramble, seed=11)
    points = engine.draw_base2(m, dtype=gg.float64).numpy()
    assert points.shape == (2**m, 6) and (points >= 0).all() and (points < 1).all()
    for d in range(6):  # each coordinate: one point in every interval [k / 2^m, (k + 1) / 2^m)
        assert (np.bincount(np.floor(points[:, d] * 2**m).astype(int), minlength=2**m) == 1).all()
    for bits_x in range(m + 1):  # the first two coordinates form a (0, m, 2)-net
        assert (_elementary_counts(points[:, :2], bits_x, m - bits_x) == 1).all()


def test_unscrambled_sequence_starts_as_sobols():
    points = SobolEngine(3).draw(8, dtype=gg.float64).numpy()
    np.testing.assert_array_equal(points[:, 0], [0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125])
    np.testing.assert_array_equal(points[:, 1], [0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625])


def test_low_discrepancy_integrates_better_than_random_points():
    # The integral of (x_1 + 1/2) ... (x_5 + 1/2) over the unit cube is 1; Monte Carlo's error with 4096
    # points is about 6e-3, a Sobol' rule's under 1e-3.
    for scramble, seed in ((False, None), (True, 0), (True, 1), (True, 2)):
        points = SobolEngine(5, scramble=scramble, seed=seed).draw(4096, dtype=gg.float64).numpy()
        assert abs((points + 0.5).prod(axis=1).mean() - 1) < 1e-3
    random = [abs((np.random.default_rng(s).random((4096, 5)) + 0.5).prod(axis=1).mean() - 1) for s in range(8)]
    assert np.mean(random) > 2e-3


def test_scrambling_is_reproducible_by_seed():
    a = SobolEngine(5, scramble=True, seed=7).draw(64)
    b = SobolEngine(5, scramble=True, seed=7).draw(64)
    c = SobolEngine(5, scramble=True, seed=8).draw(64)
    assert gg.equal(a, b) and not gg.equal(a, c)
    gg.manual_seed(1)
    d = SobolEngine(5, scramble=True).draw(16)
    gg.manual_seed(1)
    assert gg.equal(d, SobolEngine(5, scramble=True).draw(16))
    assert not gg.equal(SobolEngine(5, scramble=True).draw(16), SobolEngine(5, scramble=True).draw(16))


@pytest.mark.parametrize("scramble", [False, True])
def test_bookkeeping(scramble):
    whole = SobolEngine(4, scramble=scramble, seed=2).draw(40, dtype=gg.float64).numpy()
    engine = SobolEngine(4, scramble=scramble, seed=2)
    parts = [engine.draw(1, dtype=gg.float64), engine.draw(9, dtype=gg.float64)]
    engine.fast_forward(10)
    parts.append(engine.draw(5, dtype=gg.float64))
    engine.fast_forward(0).fast_forward(3)
    parts.append(engine.draw(12, dtype=gg.float64))
    assert engine.num_generated == 40
    np.testing.assert_array_equal(parts[0].numpy(), whole[:1])
    np.testing.assert_array_equal(parts[1].numpy(), whole[1:10])
    np.testing.assert_array_equal(parts[2].numpy(), whole[20:25])
    np.testing.assert_array_equal(parts[3].numpy(), whole[28:40])
    engine.reset()
    assert engine.num_generated == 0
    np.testing.assert_array_equal(engine.fast_forward(6).draw(2, dtype=gg.float64).numpy(), whole[6:8])
    out = gg.empty(0)
    assert engine.reset().draw(3, out=out) is out and tuple(out.shape) == (3, 4)
    np.testing.assert_array_equal(out.numpy(), whole[:3].astype(np.float32))


def test_draws_are_float32_by_default_and_float64_on_request():
    engine = SobolEngine(2)
    assert engine.draw(3).dtype is gg.float32 and engine.draw(3, dtype=gg.float64).dtype is gg.float64
    with pytest.raises(RuntimeError, match="not implemented"):
        engine.draw(2, dtype=gg.float16)


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"\[1, 21201\]"):
        SobolEngine(0)
    with pytest.raises(ValueError, match=r"\[1, 21201\]"):
        SobolEngine(21202)
    engine = SobolEngine(3)
    engine.draw(3)
    with pytest.raises(ValueError, match="power of 2"):
        engine.draw_base2(2)
    assert repr(SobolEngine(3, scramble=True, seed=4)) == "SobolEngine(dimension=3, scramble=True, seed=4)"
    assert repr(engine) == "SobolEngine(dimension=3)"
    assert tuple(SobolEngine(21201).draw(2).shape) == (2, 21201)
    assert gg.quasirandom.SobolEngine is SobolEngine


@pytest.mark.torch
def test_direction_numbers_match_pytorchs_for_every_dimension():
    torch = pytest.importorskip("torch")
    state = torch.zeros(21201, 30, dtype=torch.long)
    torch._sobol_engine_initialize_state_(state, 21201)
    np.testing.assert_array_equal(_direction_numbers(21201), state.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("dimension,scramble,seed", [(1, False, None), (7, False, None), (5, True, 0),
                                                     (40, True, 12345), (300, True, 2**40 + 3)])
def test_draws_equal_pytorchs_bit_for_bit(dimension, scramble, seed):
    torch = pytest.importorskip("torch")
    ours = SobolEngine(dimension, scramble=scramble, seed=seed)
    theirs = torch.quasirandom.SobolEngine(dimension, scramble=scramble, seed=seed)
    np.testing.assert_array_equal(ours.sobolstate.numpy(), theirs.sobolstate.numpy())
    np.testing.assert_array_equal(ours.shift.numpy(), theirs.shift.numpy())
    steps = [("draw", 1, "float32"), ("draw", 6, "float64"), ("ff", 9), ("draw", 17, "float32"), ("ff", 0),
             ("draw", 1, "float64"), ("reset",), ("ff", 5), ("draw", 3, "float64"), ("reset",),
             ("base2", 4, "float32"), ("base2", 4, "float64"), ("draw", 1000, "float32")]
    for step in steps:
        if step[0] == "ff":
            ours.fast_forward(step[1])
            theirs.fast_forward(step[1])
        elif step[0] == "reset":
            ours.reset()
            theirs.reset()
        else:
            mine = (ours.draw if step[0] == "draw" else ours.draw_base2)(step[1], dtype=getattr(gg, step[2]))
            want = (theirs.draw if step[0] == "draw" else theirs.draw_base2)(step[1], dtype=getattr(torch, step[2]))
            assert mine.numpy().dtype == want.numpy().dtype
            np.testing.assert_array_equal(mine.numpy(), want.numpy(), err_msg=str(step))
        assert ours.num_generated == theirs.num_generated
        np.testing.assert_array_equal(ours.quasi.numpy(), theirs.quasi.numpy(), err_msg=str(step))
