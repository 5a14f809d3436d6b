"""gg.signal.windows (torch.signal.windows): each window against its closed form in float64 NumPy, the
shared argument checks, and PyTorch's values in float64 and float32 where it is installed."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.signal import windows

LENGTHS = [0, 1, 2, 3, 4, 7, 16, 33]
# name -> keyword arguments beyond sym (the shapes not at their defaults too)
KWARGS = {
    "bartlett": {}, "blackman": {}, "cosine": {}, "hamming": {}, "hann": {}, "nuttall": {},
    "exponential": {"tau": 2.5}, "gaussian": {"std": 1.7}, "kaiser": {"beta": 5.0},
    "general_cosine": {"a": [0.46, 0.23, 0.31]}, "general_hamming": {"alpha": 0.6},
}


def _cosine_sum(n: np.ndarray, denominator: float, coefficients) -> np.ndarray:
    return sum((-1) ** i * c * np.cos(2 * math.pi * i * n / denominator) for i, c in enumerate(coefficients))


def _reference(name: str, M: int, sym: bool, kw: dict) -> np.ndarray:
    """The window from its textbook formula, evaluated at n = 0 .. M-1 in float64."""
    n = np.arange(M, dtype=np.float64)
    N = M - 1 if sym else M  # the periodic window is the symmetric one of length M + 1, cut
    if M == 0:
        return n
    if M == 1 and name in ("bartlett", "kaiser", "general_cosine", "general_hamming", "hamming", "hann",
                           "blackman", "nuttall"):
        return np.ones(1)
    coefficients = {"hann": [0.5, 0.5], "hamming": [0.54, 0.46], "blackman": [0.42, 0.5, 0.08],
                    "nuttall": [0.3635819, 0.4891775, 0.1365995, 0.0106411]}
    if name in coefficients:
        return _cosine_sum(n, N, coefficients[name])
    if name == "general_cosine":
        return _cosine_sum(n, N, kw["a"])
    if name == "general_hamming":
        return _cosine_sum(n, N, [kw["alpha"], 1 - kw["alpha"]])
    if name == "bartlett":
        return 1 - np.abs(2 * n / N - 1)
    centre = (M - 1 if sym or M == 1 else M) / 2
    if name == "exponential":
        return np.exp(-np.abs(n - centre) / kw["tau"])
    if name == "gaussian":
        return np.exp(-((n - centre) ** 2) / (2 * kw["std"] ** 2))
    if name == "cosine":
        return np.sin(math.pi * (n + 0.5) / (M + 1 if not sym and M > 1 else M))
    if name == "kaiser":
        beta = kw["beta"]
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - N / 2) / (N / 2)) ** 2, 0, None))) / np.i0(beta)
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(KWARGS))
@pytest.mark.parametrize("sym", [True, False])
def test_windows_follow_their_formulas_in_float64(name, sym):
    for M in LENGTHS:
        got = getattr(windows, name)(M, sym=sym, dtype=gg.float64, **KWARGS[name])
        assert got.dtype is gg.float64 and tuple(got.shape) == (M,)
        np.testing.assert_allclose(got.numpy(), _reference(name, M, sym, KWARGS[name]), rtol=1e-13, atol=1e-15,
                                   err_msg=f"{name} M={M} sym={sym}")


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_float32_windows_are_the_float64_ones_rounded_once(name):
    for M in (5, 16, 33):
        wide = getattr(windows, name)(M, dtype=gg.float64, **KWARGS[name]).numpy()
        narrow = getattr(windows, name)(M, dtype=gg.float32, **KWARGS[name]).numpy()
        assert narrow.dtype == np.float32
        np.testing.assert_array_equal(narrow, wide.astype(np.float32))


def test_symmetry_and_the_periodic_window_is_the_longer_symmetric_one_cut():
    for name, kw in KWARGS.items():
        if name in ("exponential", "cosine"):  # cosine's periodic form is SciPy's, not a cut window
            continue
        sym = getattr(windows, name)(9, dtype=gg.float64, **kw).numpy()
        np.testing.assert_allclose(sym, sym[::-1], atol=1e-15, err_msg=name)
        periodic = getattr(windows, name)(8, sym=False, dtype=gg.float64, **kw).numpy()
        np.testing.assert_allclose(periodic, sym[:8], rtol=1e-13, atol=1e-15, err_msg=name)


def test_hann_and_hamming_equal_the_top_level_window_functions():
    for M in (1, 6, 11):
        np.testing.assert_allclose(windows.hann(M, sym=False).numpy(), gg.hann_window(M).numpy(), atol=1e-7)
        np.testing.assert_allclose(windows.hamming(M).numpy(), gg.hamming_window(M, periodic=False).numpy(),
                                   atol=1e-7)


def test_defaults_and_factory_arguments():
    w = windows.hann(5)
    assert w.dtype is gg.get_default_dtype() and w.device == gg.device("cpu") and not w.requires_grad
    assert windows.kaiser(5, requires_grad=True).requires_grad
    gg.set_default_dtype(gg.float64)
    try:
        assert windows.gaussian(4).dtype is gg.float64
    finally:
        gg.set_default_dtype(gg.float32)


def test_argument_checks_are_pytorchs():
    with pytest.raises(ValueError, match="non-negative window length"):
        windows.hann(-1)
    with pytest.raises(ValueError, match="float32 or float64"):
        windows.bartlett(4, dtype=gg.float16)
    with pytest.raises(ValueError, match="strided tensors only"):
        windows.cosine(4, layout=gg.sparse_coo)
    with pytest.raises(ValueError, match="Tau must be positive"):
        windows.exponential(4, tau=0)
    with pytest.raises(ValueError, match="Center must be None for symmetric windows"):
        windows.exponential(4, center=1.0)
    with pytest.raises(ValueError, match="Standard deviation must be positive"):
        windows.gaussian(4, std=-1.0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        windows.kaiser(4, beta=-0.5)
    with pytest.raises(TypeError, match="Coefficients must be a list/tuple"):
        windows.general_cosine(4, a=3)
    with pytest.raises(ValueError, match="Coefficients cannot be empty"):
        windows.general_cosine(4, a=[])
    with pytest.raises(TypeError):
        windows.hann(4, True)  # sym is keyword-only
    # Length 0 and 1 return before the coefficients are read, as PyTorch's do.
    assert windows.general_cosine(1, a=3).tolist() == [1.0]


def test_periodic_exponential_takes_a_centre():
    got = windows.exponential(6, sym=False, center=1.0, tau=0.5, dtype=gg.float64).numpy()
    np.testing.assert_allclose(got, np.exp(-np.abs(np.arange(6) - 1.0) / 0.5), rtol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(KWARGS))
def test_windows_match_pytorch(name):
    torch = pytest.importorskip("torch")
    import torch.signal.windows as theirs

    for M in LENGTHS + [64, 257]:
        for sym in (True, False):
            kw = dict(KWARGS[name])
            if name == "exponential" and not sym:
                kw["center"] = 2.0
            for ours_dtype, their_dtype, rtol, atol in ((gg.float64, torch.float64, 1e-12, 1e-14),
                                                         (gg.float32, torch.float32, 2e-5, 2e-6)):
                got = getattr(windows, name)(M, sym=sym, dtype=ours_dtype, **kw).numpy()
                want = getattr(theirs, name)(M, sym=sym, dtype=their_dtype, **kw).numpy()
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{name} M={M} sym={sym}")
