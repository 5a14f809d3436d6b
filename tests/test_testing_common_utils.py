"""gg.testing._internal.common_utils.TestCase: the assertEqual of PyTorch's test base class, which
library test suites use to compare tensors, numbers and optimizer state dicts."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.testing._internal.common_utils import TestCase


def cases(lib):
    """(x, y, keywords) triples; the same values built with gpugrad or with torch."""
    t = lib.tensor
    return [
        (t([1.0, 2.0]), t([1.0, 2.0 + 1e-6]), {}),                       # within float32's tolerance
        (t([1.0, 2.0]), t([1.0, 2.1]), {}),
        (t([1.0, 2.0]), t([1.0, 2.1]), {"atol": 0.2, "rtol": 0.0}),
        (t([1.0]), t([1.0], dtype=lib.float64), {}),                     # dtypes must match ...
        (t([1.0]), t([1.0], dtype=lib.float64), {"exact_dtype": False}),  # ... unless told
        (t([[1, 2]]), t([1, 2]), {}),                                    # shapes must match
        (t([float("nan")]), t([float("nan")]), {}),                      # NaNs are equal by default
        (t([float("nan")]), t([float("nan")]), {"equal_nan": False}),
        (t([3]), 3, {}), (t([1.0, 2.0]), 1.0, {}), (1, 1.0, {}), (1.0, 1.00001, {}), (1.0, 1.1, {}),
        (True, t([True]), {}), (True, 0, {}), (None, None, {}), (None, 0, {}), ("a", "b", {}),
        (t([1.0, 2.0]), [1.0, 2.0], {}), (t([1.0, 2.0]), [1.0, 3.0], {}),
        ({"a": [1, t([2.0])], "b": 1}, {"a": [1, t([2.5])], "b": 1}, {}),
        ({"a": 1}, {"a": 1, "b": 2}, {}), ([1, 2], [1, 2, 3], {}), ((1, {2}), (1, {3}), {}),
        (np.array([1.0, 2.0]), t([1.0, 2.0], dtype=lib.float64), {}), (int, float, {}),
    ]


def outcome(case, x, y, kw):
    try:
        case.assertEqual(x, y, **kw)
    except (AssertionError, ValueError) as exc:
        return type(exc).__name__, str(exc)
    return "ok"


def test_assert_equal_follows_pytorchs_rules():
    case = TestCase()
    results = [outcome(case, *c) for c in cases(gg)]
    assert results[0] == "ok" and results[1][0] == "AssertionError" and results[2] == "ok"
    assert results[3] == ("AssertionError", ("The values for attribute 'dtype' do not match: torch.float32 != "
                                             "torch.float64."))
    assert results[4] == "ok" and results[6] == "ok" and results[7][0] == "AssertionError"
    assert results[9] == ("ValueError", ("Only single element tensor-likes can be compared against a number. Got 2 "
                                         "elements instead."))
    assert results[10] == "ok" and results[11] == "ok" and results[12][1].startswith("Scalars are not close!")
    assert results[20][1].endswith("The failure occurred for item ['a'][1]")


def test_message_and_not_equal():
    case = TestCase()
    with pytest.raises(AssertionError, match=r"(?s)^Scalars are not equal!.*\nsteps differ$"):
        case.assertEqual(1, 2, "steps differ")
    case.assertNotEqual(gg.ones(2), gg.zeros(2))
    with pytest.raises(AssertionError):
        case.assertNotEqual(gg.ones(2), gg.ones(2))

    class Loose(TestCase):
        precision = 0.5

    Loose().assertEqual(gg.tensor([1.0]), gg.tensor([1.4]))


@pytest.mark.torch
def test_assert_equal_matches_pytorch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("expecttest")  # PyTorch's test module imports it; CI installs torch alone
    from torch.testing._internal.common_utils import TestCase as TorchTestCase

    def brief(result):  # type, headline and where (the digits of a float32 relative difference may differ)
        if result == "ok":
            return result
        lines = result[1].splitlines()
        return result[0], lines[0], len(lines), [line for line in lines if line.startswith("The failure")]

    ours = [brief(outcome(TestCase(), *c)) for c in cases(gg)]
    theirs = [brief(outcome(TorchTestCase(), *c)) for c in cases(torch)]
    assert ours == theirs
