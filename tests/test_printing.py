"""Tensor repr/str and format, and set_printoptions: PyTorch's text, character for character."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


@pytest.fixture(autouse=True)
def default_options():
    yield
    gg.set_printoptions(profile="default")


@pytest.mark.parametrize(
    "values, dtype, text",
    [
        ([1.0, 2.718281828], None, "tensor([1.0000, 2.7183])"),
        ([1, 2], None, "tensor([1, 2])"),
        ([1.0, 2.0], None, "tensor([1., 2.])"),
        ([1e-5, 1.0], None, "tensor([1.0000e-05, 1.0000e+00])"),
        ([-1.0, 1000.0], None, "tensor([  -1., 1000.])"),
        ([-1.0, 1001.0], None, "tensor([-1.0000e+00,  1.0010e+03])"),
        ([float("nan"), float("inf"), 1.5], None, "tensor([   nan,    inf, 1.5000])"),
        ([0.0, 0.0], None, "tensor([0., 0.])"),
        ([True, False], None, "tensor([ True, False])"),
        ([1, 2], gg.int8, "tensor([1, 2], dtype=torch.int8)"),
        ([0.5], gg.float64, "tensor([0.5000], dtype=torch.float64)"),
        ([[1.0, 2.5], [3.0, -4.0]], None, "tensor([[ 1.0000,  2.5000],\n        [ 3.0000, -4.0000]])"),
        (3.25, None, "tensor(3.2500)"),
        (7, None, "tensor(7)"),
    ],
)
def test_known_texts(values, dtype, text):
    t = gg.tensor(values, dtype=dtype)
    assert repr(t) == str(t) == text


def test_empty_tensors_name_their_size_and_non_default_dtype():
    assert repr(gg.zeros(0)) == "tensor([])"
    assert repr(gg.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(gg.zeros(0, dtype=gg.int64)) == "tensor([], dtype=torch.int64)"


def test_autograd_suffixes():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2).startswith("tensor([2., 4.], grad_fn=<") and repr(x * 2).endswith("Backward>)")


def test_large_tensors_are_summarised_and_lines_wrap():
    text = repr(gg.arange(2000))
    assert text == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"
    grid = repr(gg.arange(40.0).reshape(2, 20))
    assert grid == (  # 80 columns hold 14 elements of width 3 after the 9-column indent
        "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "         14., 15., 16., 17., 18., 19.],\n"
        "        [20., 21., 22., 23., 24., 25., 26., 27., 28., 29., 30., 31., 32., 33.,\n"
        "         34., 35., 36., 37., 38., 39.]])"
    )


def test_printoptions():
    x = gg.tensor([1.0, 2.718281828])
    gg.set_printoptions(precision=2)
    assert repr(x) == "tensor([1.00, 2.72])"
    gg.set_printoptions(sci_mode=True)  # precision stays; sci_mode forced
    assert repr(x) == "tensor([1.00e+00, 2.72e+00])"
    gg.set_printoptions(threshold=5, edgeitems=1)  # sci_mode back to automatic
    assert repr(gg.arange(10)) == "tensor([0,  ..., 9])"
    gg.set_printoptions(profile="default")
    assert repr(x) == "tensor([1.0000, 2.7183])"
    with pytest.raises(ValueError, match="set_printoptions: profile"):
        gg.set_printoptions(profile="long")


def test_format_of_zero_d_tensors():
    loss = gg.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{gg.tensor(3):>3}" == "  3" and f"{loss}" == str(loss.item())
    with pytest.raises(TypeError):
        f"{gg.tensor([1.0]):.2f}"
    assert f"{gg.tensor([1.0])}" == "tensor([1.])"


@pytest.mark.torch
@pytest.mark.parametrize("options", [{}, {"precision": 2}, {"sci_mode": False}, {"threshold": 20, "edgeitems": 2},
                                     {"linewidth": 40}, {"profile": "short"}])
def test_matches_torch(options, rng):
    torch = pytest.importorskip("torch")
    cases = [
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal((2, 3, 30)).astype(np.float32),
        rng.standard_normal(50) * 1e5,
        np.array([1e-9, 1.0, np.nan, -np.inf], dtype=np.float32),
        rng.integers(-1000, 1000, (4, 25)),
        np.arange(30.0, dtype=np.float32).reshape(3, 10),
        np.array([True, False]),
        np.zeros((2, 0), dtype=np.float32),
    ]
    torch.set_printoptions(**options)
    gg.set_printoptions(**options)
    try:
        for a in cases:
            assert repr(gg.from_numpy(a.copy())) == repr(torch.from_numpy(a.copy()))
    finally:
        torch.set_printoptions(profile="default")


def test_the_dtype_suffix_follows_the_default_dtype():
    gg.set_default_dtype(gg.float64)
    try:
        assert repr(gg.tensor([0.5])) == "tensor([0.5000])"
        assert repr(gg.tensor([0.5], dtype=gg.float32)) == "tensor([0.5000], dtype=torch.float32)"
        assert repr(gg.zeros(0)) == "tensor([])"
    finally:
        gg.set_default_dtype(gg.float32)
