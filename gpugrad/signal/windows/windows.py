"""The window functions of ``torch.signal.windows``.

Each takes the length ``M`` and keyword-only ``sym`` (True: symmetric, for filter design; False: periodic,
the symmetric window of length M + 1 without its last sample, for spectral analysis), ``dtype`` (float32 or
float64; the default dtype when None), ``layout`` (strided only), ``device`` and ``requires_grad``. Values
are computed in float64 from the closed forms below and rounded once to ``dtype``; PyTorch computes them in
the dtype itself, so float32 windows agree with its to within a few units in the last place. With
``requires_grad`` the window is a leaf that requires grad (PyTorch's is the output of the ops that made it).
"""
from __future__ import annotations

import math
import operator
from collections.abc import Iterable

import numpy

from ... import dtypes as _dtypes
from ...default_dtype import get_default_dtype
from ...factory import tensor as _tensor
from ...layouts import strided
from ...tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checked(name: str, M: int, dtype, layout):
    """The checks every window makes (PyTorch's order and messages); returns (M, dtype)."""
    M = operator.index(M)
    dtype = get_default_dtype() if dtype is None else _dtypes.to_dtype(dtype)
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (_dtypes.float32, _dtypes.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return M, dtype


def _finish(values: numpy.ndarray, dtype, device, requires_grad: bool) -> Tensor:
    return _tensor(numpy.asarray(values, dtype=numpy.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def _positions(M: int, start: float, step: float) -> numpy.ndarray:
    """start, start + step, ..., start + (M - 1) step: the points PyTorch's linspace places."""
    return start + step * numpy.arange(M, dtype=numpy.float64)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype=None,
                layout=strided, device=None, requires_grad: bool = False) -> Tensor:
    r"""The exponential (Poisson) window :math:`w_n = \exp(-|n - c| / \tau)`; ``center`` c defaults to
    (M - 1) / 2 (M / 2 for a periodic window) and may be given for a periodic window only."""
    M, dtype = _checked("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _finish(numpy.empty(0), dtype, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    k = _positions(M, -center / tau, 1.0 / tau)
    return _finish(numpy.exp(-numpy.abs(k)), dtype, device, requires_grad)


def cosine(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
           requires_grad: bool = False) -> Tensor:
    r"""The cosine (sine) window :math:`w_n = \sin(\pi (n + 1/2) / M)` (M + 1 for a periodic window), as
    SciPy's: its ends are not zero."""
    M, dtype = _checked("cosine", M, dtype, layout)
    if M == 0:
        return _finish(numpy.empty(0), dtype, device, requires_grad)
    step = math.pi / (M + 1 if not sym and M > 1 else M)
    return _finish(numpy.sin(_positions(M, 0.5 * step, step)), dtype, device, requires_grad)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=strided, device=None,
             requires_grad: bool = False) -> Tensor:
    r"""The Gaussian window :math:`w_n = \exp(-(n - c)^2 / (2 \sigma^2))`, centred on the window
    (c = (M - 1) / 2, or M / 2 for a periodic window), :math:`\sigma` = ``std``."""
    M, dtype = _checked("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _finish(numpy.empty(0), dtype, device, requires_grad)
    scale = 1.0 / (std * math.sqrt(2))
    k = _positions(M, -(M if not sym and M > 1 else M - 1) / 2.0 * scale, scale)
    return _finish(numpy.exp(-(k**2)), dtype, device, requires_grad)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=strided, device=None,
           requires_grad: bool = False) -> Tensor:
    r"""The Kaiser window :math:`w_n = I_0(\beta \sqrt{1 - ((n - N/2) / (N/2))^2}) / I_0(\beta)`, N = M - 1
    (M for a periodic window), :math:`I_0` the modified Bessel function of order 0."""
    M, dtype = _checked("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M <= 1:
        return _finish(numpy.ones(M), dtype, device, requires_grad)
    beta = float(beta)
    k = numpy.minimum(_positions(M, -beta, 2.0 * beta / (M if not sym else M - 1)), beta)
    return _finish(numpy.i0(numpy.sqrt(numpy.maximum(beta * beta - k * k, 0.0))) / numpy.i0(beta), dtype, device,
                   requires_grad)


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype=None, layout=strided, device=None,
                   requires_grad: bool = False) -> Tensor:
    r"""The sum of cosines :math:`w_n = \sum_i (-1)^i a_i \cos(2 \pi i n / N)`, N = M - 1 (M for a periodic
    window), for the coefficients ``a``."""
    M, dtype = _checked("general_cosine", M, dtype, layout)
    if M <= 1:
        return _finish(numpy.ones(M), dtype, device, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    coefficients = [float(w) for w in a]
    if not coefficients:
        raise ValueError("Coefficients cannot be empty")
    z = _positions(M, 0.0, 2 * math.pi / (M if not sym else M - 1))
    values = sum((-1) ** i * w * numpy.cos(i * z) for i, w in enumerate(coefficients))
    return _finish(values, dtype, device, requires_grad)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=strided, device=None,
                    requires_grad: bool = False) -> Tensor:
    r"""The generalised Hamming window :math:`w_n = \alpha - (1 - \alpha) \cos(2 \pi n / N)`."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
            requires_grad: bool = False) -> Tensor:
    r"""The Hamming window :math:`w_n = 0.54 - 0.46 \cos(2 \pi n / N)`."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
         requires_grad: bool = False) -> Tensor:
    r"""The Hann window :math:`w_n = \sin^2(\pi n / N)`."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
             requires_grad: bool = False) -> Tensor:
    r"""The Blackman window :math:`w_n = 0.42 - 0.5 \cos(2 \pi n / N) + 0.08 \cos(4 \pi n / N)`."""
    _checked("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
             requires_grad: bool = False) -> Tensor:
    r"""The Bartlett (triangular) window :math:`w_n = 1 - |2n / N - 1|`."""
    M, dtype = _checked("bartlett", M, dtype, layout)
    if M <= 1:
        return _finish(numpy.ones(M), dtype, device, requires_grad)
    k = _positions(M, -1.0, 2.0 / (M if not sym else M - 1))
    return _finish(1.0 - numpy.abs(k), dtype, device, requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=strided, device=None,
            requires_grad: bool = False) -> Tensor:
    r"""Nuttall's minimum four-term Blackman-Harris window, the general cosine window with coefficients
    0.3635819, 0.4891775, 0.1365995, 0.0106411."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)
