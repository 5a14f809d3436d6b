"""empty_permuted (gpugrad/factory.py): the strides of a memory order given dim by dim, as PyTorch's."""
from __future__ import annotations

import itertools

import pytest

import gpugrad as gg


def _strides_of(size, layout):
    """The strides of a row-major block holding the dims in ``layout`` order, read back per logical dim."""
    strides, step = [0] * len(size), 1
    for d in reversed(layout):
        strides[d] = step
        step *= size[d]
    return tuple(strides)


def test_strides_shape_and_options():
    size = (2, 3, 4)
    for layout in itertools.permutations(range(3)):
        t = gg.empty_permuted(size, layout)
        assert t.shape == size and t.stride() == _strides_of(size, layout) and t.dtype is gg.float32
    nhwc = gg.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1))
    assert nhwc.is_contiguous(memory_format=gg.channels_last) and not nhwc.is_contiguous()
    t = gg.empty_permuted([2, 3], [1, 0], dtype=gg.float64, requires_grad=True, layout=gg.strided, device="cpu")
    assert t.dtype is gg.float64 and t.requires_grad and t.is_leaf
    assert gg.empty_permuted(size=[], physical_layout=[]).shape == ()
    filled = gg.empty_permuted((2, 3), (1, 0)).fill_(2.0)
    assert filled.tolist() == [[2.0] * 3] * 2


def test_errors():
    with pytest.raises(ValueError, match="physical_layout"):
        gg.empty_permuted((2, 3, 4), (0, 1))
    with pytest.raises(ValueError, match="duplicate"):
        gg.empty_permuted((2, 3, 4), (0, 1, 1))
    with pytest.raises(IndexError):
        gg.empty_permuted((2, 3, 4), (0, 1, 3))
    with pytest.raises(IndexError):
        gg.empty_permuted((2, 3, 4), (0, 1, -1))
    with pytest.raises(ValueError, match="negative"):
        gg.empty_permuted((2, -1), (0, 1))
    with pytest.raises(TypeError):
        gg.empty_permuted(5, [0])


@pytest.mark.torch
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    for size in ((2, 3, 4), (1, 5, 1, 2), (3,)):
        for layout in itertools.permutations(range(len(size))):
            ours, theirs = gg.empty_permuted(size, layout), torch.empty_permuted(size, layout)
            assert ours.stride() == theirs.stride() and tuple(ours.shape) == tuple(theirs.shape)
            assert ours.is_contiguous() == theirs.is_contiguous()
    for lib in (gg, torch):
        t = lib.empty_permuted((2, 3), (1, 0), dtype=lib.int32)
        assert str(t.dtype).endswith("int32")
