"""``torch.backends.cuda``, and the float32 matmul precision setting (``gg.set_float32_matmul_precision``)
that ``matmul.allow_tf32`` reads and writes.

gpugrad's float32 GEMMs (NumPy's BLAS, cuBLAS through CuPy) run in full float32 whatever these say: no
TF32 or bfloat16 path is taken. The settings are kept and reported, so that scripts that set them run,
and what they read back is what they wrote."""
from __future__ import annotations

import contextlib
import enum
import importlib.util
import warnings

__all__ = ["get_float32_matmul_precision", "is_built", "matmul", "set_float32_matmul_precision", "SDPBackend",
           "sdp_kernel", "flash_sdp_enabled", "enable_flash_sdp", "math_sdp_enabled", "enable_math_sdp",
           "mem_efficient_sdp_enabled", "enable_mem_efficient_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp"]

_PRECISIONS = ("highest", "high", "medium")
_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """Record PyTorch's float32 matmul precision ("highest", "high" or "medium"); as PyTorch, anything
    else warns and changes nothing."""
    global _precision
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _precision = precision


def get_float32_matmul_precision() -> str:
    return _precision


class _MatmulSettings:
    """``torch.backends.cuda.matmul``: ``allow_tf32`` is the precision setting seen as a flag."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return _precision != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        set_float32_matmul_precision("high" if value else "highest")


matmul = _MatmulSettings()


def is_built() -> bool:
    """Whether gpugrad can reach CUDA here: CuPy (its GPU array library) is installed."""
    return importlib.util.find_spec("cupy") is not None


# Scaled dot-product attention's backends. gpugrad has one implementation of
# F.scaled_dot_product_attention, the math one, which runs whichever backends a script enables: the
# switches are kept and read back (torch.nn.attention.sdpa_kernel sets them for a block), as above.
class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_sdp_enabled = {SDPBackend.MATH: True, SDPBackend.FLASH_ATTENTION: True, SDPBackend.EFFICIENT_ATTENTION: True,
                SDPBackend.CUDNN_ATTENTION: True, SDPBackend.OVERRIDEABLE: True}


def _switch(backend: SDPBackend):
    def enabled() -> bool:
        return _sdp_enabled[backend]

    def enable(value: bool) -> None:
        _sdp_enabled[backend] = bool(value)

    return enabled, enable


flash_sdp_enabled, enable_flash_sdp = _switch(SDPBackend.FLASH_ATTENTION)
math_sdp_enabled, enable_math_sdp = _switch(SDPBackend.MATH)
mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _switch(SDPBackend.EFFICIENT_ATTENTION)
cudnn_sdp_enabled, enable_cudnn_sdp = _switch(SDPBackend.CUDNN_ATTENTION)


@contextlib.contextmanager
def sdp_backends(enabled: set):
    """Within the block, exactly the backends in ``enabled`` are on; restored after."""
    saved = dict(_sdp_enabled)
    for backend in _sdp_enabled:
        _sdp_enabled[backend] = backend in enabled
    try:
        yield
    finally:
        _sdp_enabled.update(saved)


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True):
    """PyTorch's older form of ``torch.nn.attention.sdpa_kernel`` (deprecated there too)."""
    warnings.warn("torch.backends.cuda.sdp_kernel() is deprecated; use torch.nn.attention.sdpa_kernel() instead",
                  FutureWarning, stacklevel=2)
    chosen = {b for b, on in ((SDPBackend.FLASH_ATTENTION, enable_flash), (SDPBackend.MATH, enable_math),
                              (SDPBackend.EFFICIENT_ATTENTION, enable_mem_efficient),
                              (SDPBackend.CUDNN_ATTENTION, enable_cudnn)) if on}
    return sdp_backends(chosen)
