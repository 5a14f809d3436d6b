"""randperm's dtype=, requires_grad= and out= as PyTorch's (the permutation itself is drawn from gpugrad's
own stream, so only its values as a set are compared)."""
from __future__ import annotations

import pytest

import gpugrad as gg


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "float32", "float64", "float16"])
def test_randperm_dtype_matches_pytorch(dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = gg.randperm(50, dtype=getattr(gg, dtype)), torch.randperm(50, dtype=getattr(torch, dtype))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert sorted(ours.tolist()) == sorted(theirs.tolist())


@pytest.mark.torch
@pytest.mark.parametrize("case", ["bool", "complex64", "uint8 too small", "negative n"])
def test_randperm_refuses_as_pytorch(case):
    torch = pytest.importorskip("torch")
    calls = {
        "bool": lambda lib: lib.randperm(3, dtype=lib.bool),
        "complex64": lambda lib: lib.randperm(3, dtype=lib.complex64),
        "uint8 too small": lambda lib: lib.randperm(300, dtype=lib.uint8),
        "negative n": lambda lib: lib.randperm(-1),
    }
    kinds = []
    for lib in (gg, torch):
        with pytest.raises((RuntimeError, NotImplementedError)) as info:
            calls[case](lib)
        kinds.append(isinstance(info.value, NotImplementedError))
    assert kinds[0] == kinds[1]


def test_randperm_requires_grad_and_out():
    assert gg.randperm(4, dtype=gg.float32, requires_grad=True).requires_grad
    out = gg.empty(6, dtype=gg.int32)
    assert gg.randperm(6, out=out) is out
    assert out.dtype is gg.int32 and sorted(out.tolist()) == list(range(6))
    first = gg.randperm(8, generator=gg.Generator().manual_seed(3))
    assert first.tolist() == gg.randperm(8, generator=gg.Generator().manual_seed(3)).tolist()
