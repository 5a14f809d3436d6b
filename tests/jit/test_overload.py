"""gg.jit._overload: TorchScript's typed signature declarations; in eager code the plain definition
that follows the declarations is the function Python calls."""
from __future__ import annotations

import gpugrad as gg


@gg.jit._overload
def pick(x: int) -> int:
    pass


@gg.jit._overload
def pick(x: str) -> str:  # noqa: F811  (overload declarations redefine the name, as in PyTorch)
    pass


def pick(x):  # noqa: F811
    return x * 2


def test_the_last_definition_runs_and_declarations_are_returned_unchanged():
    assert pick(3) == 6 and pick("a") == "aa"

    def declared(y: float) -> float:
        return y

    assert gg.jit._overload(declared) is declared
    assert gg.jit._overload_method(declared) is declared
