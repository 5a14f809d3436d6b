"""gg.testing.assert_close on numbers: NumPy scalars compare as the Python numbers they hold, as PyTorch's
(botorch compares tensor.item() with a NumPy float64); an int against a float is still a dtype mismatch."""
import numpy as np
import pytest

import gpugrad as gg

PAIRS = [(1.0, np.float64(1.0)), (np.float64(1.0), 1.0), (1.0, np.float32(1.0)), (1, np.int64(1)),
         (1.0, 1), (np.float64(1.0), 1.5), (True, np.bool_(True))]


def outcome(lib, actual, expected):
    try:
        lib.testing.assert_close(actual, expected)
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    return "ok"


def test_numpy_scalars_compare_as_numbers():
    assert outcome(gg, 0.5, np.float64(0.5)) == "ok"
    assert outcome(gg, 2, np.int32(2)) == "ok"
    assert outcome(gg, 1.0, 1) == "The (d)types do not match: <class 'float'> != <class 'int'>."
    with pytest.raises(AssertionError, match="not close"):
        gg.testing.assert_close(np.float64(1.0), 1.5)


@pytest.mark.torch
@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_numbers_compare_as_pytorch(pair):
    torch = pytest.importorskip("torch")
    assert outcome(gg, *pair) == outcome(torch, *pair)
