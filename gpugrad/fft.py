"""``gpugrad.fft``: PyTorch's ``torch.fft`` namespace, the discrete Fourier transforms and their helpers.

The transforms live in gpugrad.ops.spectral (with ``stft`` and ``istft``, which are top-level as in PyTorch).
"""
from .ops.spectral import (
                           fft,
                           fft2,
                           fftfreq,
                           fftn,
                           fftshift,
                           hfft,
                           hfft2,
                           hfftn,
                           ifft,
                           ifft2,
                           ifftn,
                           ifftshift,
                           ihfft,
                           ihfft2,
                           ihfftn,
                           irfft,
                           irfft2,
                           irfftn,
                           rfft,
                           rfft2,
                           rfftfreq,
                           rfftn,
)
from .overrides import make_overridable as _make_overridable

__all__ = [
                           "fft",
                           "fft2",
                           "fftfreq",
                           "fftn",
                           "fftshift",
                           "hfft",
                           "hfft2",
                           "hfftn",
                           "ifft",
                           "ifft2",
                           "ifftn",
                           "ifftshift",
                           "ihfft",
                           "ihfft2",
                           "ihfftn",
                           "irfft",
                           "irfft2",
                           "irfftn",
                           "rfft",
                           "rfft2",
                           "rfftfreq",
                           "rfftn",
]


_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
