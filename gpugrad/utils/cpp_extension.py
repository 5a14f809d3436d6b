"""``torch.utils.cpp_extension``: building C++/CUDA extensions against PyTorch's C++ library (ATen,
libtorch), which gpugrad does not have, so none can be built: each builder refuses, naming itself, with a
RuntimeError (what PyTorch raises when a build fails), and code that falls back on failure runs on (peft's
BOFT tries ``load`` for its fused kernel and continues without it). No toolkit is offered to an extension
build: ``CUDA_HOME`` and ``ROCM_HOME`` are None."""
from __future__ import annotations

from typing import Any

__all__ = [
    "CUDA_HOME",
    "ROCM_HOME",
    "BuildExtension",
    "CUDAExtension",
    "CppExtension",
    "include_paths",
    "load",
    "load_inline",
]

CUDA_HOME = None
ROCM_HOME = None
IS_HIP_EXTENSION = False

_ABSENT = ("gpugrad cannot build PyTorch C++/CUDA extensions: they compile against PyTorch's C++ library "
           "(ATen, libtorch), which gpugrad does not have; write the op with gpugrad.autograd.Function "
           "(its kernels in Numba, see gpugrad.kernels)")


def _refuse(name: str):
    raise RuntimeError(f"torch.utils.cpp_extension.{name}: {_ABSENT}")


def load(name: str, sources, *args: Any, **kwargs: Any):
    _refuse("load")


def load_inline(name: str, cpp_sources, *args: Any, **kwargs: Any):
    _refuse("load_inline")


def CppExtension(name: str, sources, *args: Any, **kwargs: Any):
    _refuse("CppExtension")


def CUDAExtension(name: str, sources, *args: Any, **kwargs: Any):
    _refuse("CUDAExtension")


def include_paths(*args: Any, **kwargs: Any):
    _refuse("include_paths")


class BuildExtension:
    """setuptools' build command for extensions in PyTorch; here it refuses when made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("BuildExtension")

    @classmethod
    def with_options(cls, **options: Any):
        _refuse("BuildExtension")
