"""PyTorch's once-per-process warnings: the deprecated ops warn on their first call only, unless
set_warn_always(True)."""
from __future__ import annotations

import warnings

import pytest

import gpugrad as gg


def _deprecated_calls(lib):
    a = lib.eye(3, dtype=lib.float64)
    return {
        "qr": lambda: lib.qr(a),
        "cholesky": lambda: a.cholesky(),
        "lu": lambda: lib.lu(a),
        "lu_solve": lambda: lib.lu_solve(a, *lib.linalg.lu_factor(a)),
        "triangular_solve": lambda: lib.triangular_solve(a, a),
        "chain_matmul": lambda: lib.chain_matmul(a, a),
        "meshgrid": lambda: lib.meshgrid(a[0], a[1]),
        "frobenius_norm": lambda: lib.frobenius_norm(a, (0, 1)),
        "nuclear_norm": lambda: lib.nuclear_norm(a),
    }


def _warnings_given(call) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return len(caught)


def _counts(lib, call) -> list[int]:
    """Warnings given by two calls, then by one under set_warn_always(True)."""
    counts = [_warnings_given(call), _warnings_given(call)]
    lib.set_warn_always(True)
    try:
        counts.append(_warnings_given(call))
    finally:
        lib.set_warn_always(False)
    return counts


@pytest.mark.parametrize("name", sorted(_deprecated_calls(gg)))
def test_deprecated_ops_warn_once_unless_warn_always(name):
    assert _counts(gg, _deprecated_calls(gg)[name]) == [1, 0, 1]
    assert not gg.is_warn_always_enabled()


def test_each_op_warns_once_for_itself():
    calls = _deprecated_calls(gg)
    assert _warnings_given(calls["qr"]) == 1
    assert _warnings_given(calls["lu"]) == 1  # another op's warning is still to come
    assert _warnings_given(calls["qr"]) == 0


def test_the_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gg.qr(gg.eye(2))
    assert caught[0].filename == __file__


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(_deprecated_calls(gg)))
def test_pytorch_gives_the_same_warnings_once(name):
    torch = pytest.importorskip("torch")
    ours = _counts(gg, _deprecated_calls(gg)[name])
    theirs = _counts(torch, _deprecated_calls(torch)[name])
    # PyTorch's first call may already have been made earlier in this process: compare from the second.
    assert ours[1:] == theirs[1:] == [0, 1]
