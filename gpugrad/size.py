"""``gg.Size``: the type of ``x.shape`` and ``x.size()``, a tuple subclass as ``torch.Size``."""
from __future__ import annotations


class Size(tuple):
    """A tensor's shape: a tuple of ints that also answers ``numel()``."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"gpugrad.Size({list(self)})"

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))
