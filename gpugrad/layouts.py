"""``gg.memory_format`` and ``gg.layout``: PyTorch's names for how a tensor's elements sit in memory.

gpugrad's dense tensors are NumPy or CuPy arrays; a new tensor is always row-major (``contiguous_format``).
A ``memory_format`` argument is a layout hint in PyTorch that never changes values or shapes, so gpugrad
accepts and checks it and keeps row-major memory: ``x.is_contiguous(memory_format=gg.channels_last)``
answers for the memory gpugrad actually has.
"""
from __future__ import annotations


class _Named:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"  # PyTorch's text, as dtypes' repr

    def __reduce__(self):
        return self.name  # pickled as the module-level instance of that name


class memory_format(_Named):
    """One of ``gg.contiguous_format``, ``channels_last``, ``channels_last_3d``, ``preserve_format``."""

    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


class layout(_Named):
    """``gg.strided`` (every dense tensor), ``gg.sparse_coo``, ``gg.sparse_csr``, ``gg.sparse_csc`` or ``gg.jagged``
    (nested tensors, gpugrad.nested)."""

    __slots__ = ()


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")  # gpugrad.sparse.compressed's matrices
sparse_csc = layout("sparse_csc")
jagged = layout("jagged")  # gpugrad.nested's tensors: packed values plus offsets


def check_memory_format(op: str, value) -> None:
    """Raise as PyTorch does for anything that is not a memory format (None means the op's default)."""
    if value is not None and not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be torch.memory_format, not {type(value).__name__}")


def check_layout(op: str, value) -> None:
    """Dense factories make strided tensors only; ``gg.sparse_coo_tensor`` makes sparse ones."""
    if value is not None and value is not strided:
        if isinstance(value, layout):
            raise NotImplementedError(f"{op}: layout={value} is not supported here; only torch.strided")
        raise TypeError(f"{op}(): argument 'layout' must be torch.layout, not {type(value).__name__}")
