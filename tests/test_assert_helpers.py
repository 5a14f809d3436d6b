"""torch._assert and torch._assert_async: the same errors, in the same words, as PyTorch's (kornia's
adjust_gamma checks its arguments through _assert_async)."""
from __future__ import annotations

import pytest

import gpugrad as gg


def _outcome(lib, call):
    try:
        call(lib)
    except Exception as exc:  # noqa: BLE001  (the outcome compared is the error itself)
        return type(exc).__name__, str(exc)
    return "ok"


CASES = {
    "true": lambda lib: lib._assert_async(lib.tensor(True)),
    "nonzero float": lambda lib: lib._assert_async(lib.tensor(2.5)),
    "nan": lambda lib: lib._assert_async(lib.tensor(float("nan"))),
    "one-element vector": lambda lib: lib._assert_async(lib.tensor([3])),
    "false": lambda lib: lib._assert_async(lib.tensor(False)),
    "zero with message": lambda lib: lib._assert_async(lib.tensor(0.0), "gamma must be non-negative"),
    "empty": lambda lib: lib._assert_async(lib.tensor([])),
    "two values": lambda lib: lib._assert_async(lib.tensor([1, 1])),
    "not a tensor": lambda lib: lib._assert_async(1),
    "message not a str": lambda lib: lib._assert_async(lib.tensor(1), None),
    "_assert holds": lambda lib: lib._assert(lib.tensor(1.0) > 0, "fine"),
    "_assert fails": lambda lib: lib._assert(False, "broken"),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", list(CASES))
def test_assert_helpers_match_pytorch(case):
    torch = pytest.importorskip("torch")
    assert _outcome(gg, CASES[case]) == _outcome(torch, CASES[case])
