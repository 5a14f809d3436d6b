"""Discrete Fourier transforms (``gpugrad.fft``, as ``torch.fft``) and the short-time transform (``stft``,
``istft``), on the backend's FFT (numpy.fft, cupy.fft / cuFFT).

Three ops carry the gradients: complex-to-complex (``FFTN``), real-to-half-spectrum (``RFFTN``) and its
inverse (``IRFFTN``); everything else is composed of them. Each transform is linear, so its backward is
its adjoint: the transform the other way with the "dual" normalisation (``backward`` <-> ``forward``,
``ortho`` itself), then the gradient cut or zero-padded back to the input's sizes where ``n``/``s`` padded
or cut the input. The half-spectrum transforms add the one-sidedness: rfft's adjoint zero-fills the
missing half; irfft's doubles the bins that stand for two (all but DC and, for even n, Nyquist).
"""
from __future__ import annotations

import warnings

import numpy

from .. import dtypes
from .._caller import user_stacklevel
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError, dim_out_of_range
from ..tensor import Tensor
from .complex_numbers import conj, view_as_real
from .shape import cat, roll

_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# The three differentiable transforms -------------------------------------------------------------------
class FFTN(Op):
    """fftn (or ifftn, ``inverse``) of a complex array over ``axes`` at sizes ``s``."""

    complex_ok = True

    @staticmethod
    def forward(ctx, z, s=(), axes=(), norm="backward", inverse=False):
        ctx.sizes, ctx.s, ctx.axes, ctx.norm, ctx.inverse = [z.shape[a] for a in axes], s, axes, norm, inverse
        fft = ctx.xp.fft.ifftn if inverse else ctx.xp.fft.fftn
        return fft(z, s=s, axes=axes, norm=norm).astype(z.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        adjoint = FFTN.apply_one(g, s=ctx.s, axes=ctx.axes, norm=_DUAL[ctx.norm], inverse=not ctx.inverse)
        return _resize(adjoint, ctx.axes, ctx.sizes)


class RFFTN(Op):
    """rfftn of a real array: the half spectrum along the last of ``axes``."""

    complex_ok = True

    @staticmethod
    def forward(ctx, x, s=(), axes=(), norm="backward"):
        ctx.sizes, ctx.s, ctx.axes, ctx.norm = [x.shape[a] for a in axes], s, axes, norm
        return ctx.xp.fft.rfftn(x, s=s, axes=axes, norm=norm).astype(dtypes.complex_of(dtypes.of_array(x)).np, copy=False)

    @staticmethod
    def backward(ctx, g):
        full = _resize(g, ctx.axes[-1:], ctx.s[-1:])  # the half left out: zeros
        adjoint = FFTN.apply_one(full, s=ctx.s, axes=ctx.axes, norm=_DUAL[ctx.norm], inverse=True)
        return _resize(adjoint, ctx.axes, ctx.sizes)  # complex: autograd keeps its real part for the real input


class IRFFTN(Op):
    """irfftn of a half spectrum: a real array of sizes ``s`` over ``axes``."""

    complex_ok = True

    @staticmethod
    def forward(ctx, z, s=(), axes=(), norm="backward"):
        ctx.sizes, ctx.s, ctx.axes, ctx.norm = [z.shape[a] for a in axes], s, axes, norm
        return ctx.xp.fft.irfftn(z, s=s, axes=axes, norm=norm).astype(dtypes.real_of(dtypes.of_array(z)).np, copy=False)

    @staticmethod
    def backward(ctx, g):
        half = RFFTN.apply_one(g, s=ctx.s, axes=ctx.axes, norm=_DUAL[ctx.norm])
        n, axis = ctx.s[-1], ctx.axes[-1]
        doubled = n - (n // 2 + 1)  # bins 1 .. doubled stand for themselves and their mirror images
        if doubled > 0:
            weights = half._backend.xp.ones(n // 2 + 1, dtype=dtypes.real_of(dtypes.of_array(half._array)).np)
            weights[1:1 + doubled] = 2.0
            shape = [1] * half.ndim
            shape[axis] = weights.size
            half = half * Tensor._make(weights.reshape(shape), half._backend)
        return _resize(half, ctx.axes, ctx.sizes)


def _resize(t: Tensor, axes, sizes) -> Tensor:
    """``t`` cut or zero-padded at the end of each axis to the given size (where n or s changed it)."""
    for axis, size in zip(axes, sizes):
        have = t.shape[axis]
        if have > size:
            t = t.narrow(axis, 0, size)
        elif have < size:
            shape = list(t.shape)
            shape[axis] = size - have
            t = cat([t, t.new_zeros(shape)], axis)
    return t


# Arguments ---------------------------------------------------------------------------------------------
def _norm(name: str, norm) -> str:
    norm = "backward" if norm is None else norm
    if norm not in _DUAL:
        raise ArgumentError(f"{name}: invalid normalization mode {norm!r}: expected 'forward', 'backward' or 'ortho'")
    return norm


def _as_complex(name: str, x: Tensor) -> Tensor:
    """The input of a complex transform: complex as is, real (or integer) as the matching complex dtype."""
    _check_tensor(name, x)
    kind = x._array.dtype.kind
    if kind == "c":
        return x
    return x.to(dtypes.complex_of(dtypes.default_float if kind not in FLOAT_KINDS or x._array.dtype.itemsize < 4 else x.dtype))


def _as_real(name: str, x: Tensor) -> Tensor:
    """The input of a real-to-complex transform: float32/float64 (integers as the default float)."""
    _check_tensor(name, x)
    kind = x._array.dtype.kind
    if kind == "c":
        raise DTypeError(f"{name}: expects a real input tensor, but got {x.dtype.name}")
    return x if kind in FLOAT_KINDS and x._array.dtype.itemsize >= 4 else x.to(dtypes.default_float)


def _check_tensor(name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _axes(name: str, x: Tensor, s, dim, default_all: bool = True) -> tuple[tuple, tuple | None]:
    """(axes, s) as torch.fft reads them: dim None with s given means the last len(s) dims; both None all
    dims (or the last two, for the 2-D transforms, which pass their own default dim)."""
    ndim = x.ndim
    if dim is None:
        axes = tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = []
        for d in dims:
            if not -ndim <= d < ndim or ndim == 0:
                raise IndexError(f"{name}: {dim_out_of_range(d, ndim)}")
            axes.append(d % ndim)
        axes = tuple(axes)
        if len(set(axes)) != len(axes):
            raise ArgumentError(f"{name}: dims must be unique, got {dims}")
    if s is not None:
        s = tuple(int(n) for n in s)
        if len(s) != len(axes):
            raise ShapeError(f"{name}: when given, dim and shape arguments must have the same length (s={s}, dim={dim})")
        for n in s:
            if n < 1 and n != -1:
                raise ArgumentError(f"{name}: invalid number of data points ({n}) specified")
    if not axes:
        raise ShapeError(f"{name}: must transform at least one axis")
    return axes, s


def _sizes(x: Tensor, axes, s) -> tuple:
    """The transform's sizes: s where given (-1 meaning the input's own), else the input's."""
    return tuple(x.shape[a] if s is None or s[i] == -1 else s[i] for i, a in enumerate(axes))


def _one(n, dim) -> tuple:
    return (None if n is None else (n,)), (dim,)


# The transforms ------------------------------------------------------------------------------------------
def _c2c(name: str, input: Tensor, s, dim, norm, inverse: bool) -> Tensor:
    z = _as_complex(name, input)
    axes, s = _axes(name, z, s, dim)
    return FFTN.apply_one(z, s=_sizes(z, axes, s), axes=axes, norm=_norm(name, norm), inverse=inverse)


def _r2c(name: str, input: Tensor, s, dim, norm) -> Tensor:
    x = _as_real(name, input)
    axes, s = _axes(name, x, s, dim)
    return RFFTN.apply_one(x, s=_sizes(x, axes, s), axes=axes, norm=_norm(name, norm))


def _c2r(name: str, input: Tensor, s, dim, norm) -> Tensor:
    z = _as_complex(name, input)
    axes, s = _axes(name, z, s, dim)
    sizes = list(_sizes(z, axes, s))
    if s is None or s[-1] == -1:
        sizes[-1] = 2 * (z.shape[axes[-1]] - 1)  # the even length whose half spectrum z is
        if sizes[-1] < 1:
            raise ArgumentError(f"{name}: invalid number of data points ({sizes[-1]}) specified")
    return IRFFTN.apply_one(z, s=tuple(sizes), axes=axes, norm=_norm(name, norm))


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-D discrete Fourier transform along ``dim``, of length ``n`` (input cut or zero-padded)."""
    return _c2c("fft", input, *_one(n, dim), norm, False)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``fft`` (1/n by default)."""
    return _c2c("ifft", input, *_one(n, dim), norm, True)


def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The 2-D transform over the last two dims (or ``dim``)."""
    return _c2c("fft2", input, s, dim, norm, False)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    return _c2c("ifft2", input, s, dim, norm, True)


def fftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The N-D transform over ``dim`` (all dims, or the last len(s))."""
    return _c2c("fftn", input, s, dim, norm, False)


def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    return _c2c("ifftn", input, s, dim, norm, True)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The transform of a real signal: its n // 2 + 1 non-negative frequencies."""
    return _r2c("rfft", input, *_one(n, dim), norm)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The real signal of length n (2 (m - 1) by default) whose half spectrum ``input`` is."""
    return _c2r("irfft", input, *_one(n, dim), norm)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    return _r2c("rfft2", input, s, dim, norm)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    return _c2r("irfft2", input, s, dim, norm)


def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    return _r2c("rfftn", input, s, dim, norm)


def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    return _c2r("irfftn", input, s, dim, norm)


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The transform of a Hermitian-symmetric signal given by its first half: real, of length n."""
    return _c2r("hfft", conj(_as_complex("hfft", input)), *_one(n, dim), _DUAL[_norm("hfft", norm)])


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``hfft``: the half of a real signal's inverse transform."""
    return conj(_r2c("ihfft", input, *_one(n, dim), _DUAL[_norm("ihfft", norm)]))


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    return _c2r("hfft2", conj(_as_complex("hfft2", input)), s, dim, _DUAL[_norm("hfft2", norm)])


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    return conj(_r2c("ihfft2", input, s, dim, _DUAL[_norm("ihfft2", norm)]))


def hfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    return _c2r("hfftn", conj(_as_complex("hfftn", input)), s, dim, _DUAL[_norm("hfftn", norm)])


def ihfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    return conj(_r2c("ihfftn", input, s, dim, _DUAL[_norm("ihfftn", norm)]))


def _shift(name: str, input: Tensor, dim, sign: int) -> Tensor:
    _check_tensor(name, input)
    dims = tuple(range(input.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if not dims:
        return input
    return roll(input, tuple(sign * (input.shape[d] // 2) for d in dims), dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """The zero frequency moved to the middle (a roll by n // 2 along ``dim``, all dims by default)."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """The inverse of ``fftshift``."""
    return _shift("ifftshift", input, dim, -1)


def _frequencies(values, d: float, dtype, device, requires_grad: bool) -> Tensor:
    from ..factory import tensor

    return tensor(values / d, dtype=dtype or dtypes.default_float, device=device, requires_grad=requires_grad)


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an n-point transform: [0, 1, ..., n/2 - 1, -n/2, ..., -1] / (d n)."""
    return _frequencies(numpy.fft.fftfreq(n), d, dtype, device, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The sample frequencies of rfft's n // 2 + 1 outputs: [0, 1, ..., n // 2] / (d n)."""
    return _frequencies(numpy.fft.rfftfreq(n), d, dtype, device, requires_grad)


# Short-time transforms -----------------------------------------------------------------------------------
def _window(name: str, window, n_fft: int, win_length: int, like: Tensor) -> Tensor:
    """The window, zero-padded on both sides to n_fft (centred), as PyTorch's."""
    if window is None:
        warnings.warn(f"{name}: a window was not provided; a rectangular window is applied, which is known to cause "
                      "spectral leakage (pass window=gg.hann_window(...), or gg.ones(...) to keep it)", UserWarning,
                      stacklevel=user_stacklevel())
        window = like.new_ones(win_length, dtype=dtypes.real_of(like.dtype))
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise ShapeError(f"{name}: expected a 1D window tensor of size equal to win_length={win_length}, but got window "
                         f"with size {tuple(window.shape)}")
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = cat([window.new_zeros(left), window, window.new_zeros(n_fft - win_length - left)])
    return window


def _stft_lengths(name: str, n_fft: int, hop_length, win_length) -> tuple[int, int]:
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if n_fft <= 0 or hop <= 0 or not 0 < win <= n_fft:
        raise ArgumentError(f"{name}: expected 0 < n_fft, 0 < hop_length and 0 < win_length <= n_fft, got n_fft={n_fft}, "
                            f"hop_length={hop}, win_length={win}")
    return hop, win


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None, window=None,
         center: bool = True, pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None) -> Tensor:
    """The short-time Fourier transform of a real signal (L,) or batch (B, L): frames of n_fft samples every
    hop_length, each times the window, transformed; (B?, n_fft // 2 + 1, frames) complex (onesided).
    Composed of pad, unfold, a product and rfft, so it differentiates in the signal and the window."""
    from ..nn.functional import pad

    _check_tensor("stft", input)
    complex_signal = input._array.dtype.kind == "c" or window is not None and window._array.dtype.kind == "c"
    if return_complex is None:
        if not complex_signal:
            raise ArgumentError("stft requires the return_complex parameter be given for real inputs, and will "
                                "further require that return_complex=True in a future PyTorch release")
        return_complex = True  # a complex input or window gives a complex result by default, as PyTorch's
    if input.ndim not in (1, 2):
        raise ShapeError(f"stft: expected a 1D or 2D tensor, got shape {tuple(input.shape)}")
    hop, win = _stft_lengths("stft", n_fft, hop_length, win_length)
    if complex_signal and onesided:
        raise ArgumentError("stft: cannot have onesided output if window or input is complex")
    x = input if input._array.dtype.kind == "c" else _as_real("stft", input)
    batched = x.ndim == 2
    x = x if batched else x.unsqueeze(0)
    if center:
        x = pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise ShapeError(f"stft: input of length {x.shape[-1]} (after padding) is shorter than n_fft={n_fft}")
    frames = x.unfold(-1, n_fft, hop) * _window("stft", window, n_fft, win, x)
    norm = "ortho" if normalized else "backward"
    two_sided = onesided is False or complex_signal  # a complex signal's spectrum has no mirror half
    spectrum = fft(frames, norm=norm) if two_sided else rfft(frames, norm=norm)
    spectrum = spectrum.transpose(-1, -2)
    spectrum = spectrum if batched else spectrum.squeeze(0)
    return spectrum if return_complex else view_as_real(spectrum)


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None, window=None,
          center: bool = True, normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """The inverse of ``stft``: each frame transformed back, windowed, overlap-added and divided by the
    overlap-added squared window (which must not vanish where the signal is kept: NOLA)."""
    _check_tensor("istft", input)
    if input._array.dtype.kind != "c":
        raise DTypeError(f"istft: requires a complex-valued input tensor, got {input.dtype.name}")
    if return_complex and onesided:
        raise ArgumentError("istft: cannot have onesided output if return_complex=True (a complex signal's spectrum "
                            "is two-sided)")
    if input.ndim not in (2, 3):
        raise ShapeError(f"istft: expected a 2D or 3D complex tensor (freq, frames), got shape {tuple(input.shape)}")
    hop, win = _stft_lengths("istft", n_fft, hop_length, win_length)
    batched = input.ndim == 3
    spectrum = (input if batched else input.unsqueeze(0)).transpose(-1, -2)
    n_frames = spectrum.shape[1]
    norm = "ortho" if normalized else "backward"
    if return_complex:
        frames = ifft(spectrum, n=n_fft, norm=norm)
    else:  # a real signal: PyTorch's irfft, which reads the first n_fft // 2 + 1 rows, whatever onesided says
        frames = irfft(spectrum, n=n_fft, norm=norm)
    w = _window("istft", window, n_fft, win, frames)
    total = n_fft + hop * (n_frames - 1)
    xp = frames._backend.xp
    where = Tensor._make((xp.arange(n_frames)[:, None] * hop + xp.arange(n_fft)).reshape(-1), frames._backend)
    signal = frames.new_zeros(frames.shape[0], total).index_add(-1, where, (frames * w).reshape(frames.shape[0], -1))
    envelope = w.new_zeros(total).index_add(0, where, (w * w).expand(n_frames, n_fft).reshape(-1))  # w^2, as PyTorch
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (total - n_fft // 2 if center else total)
    kept = envelope.narrow(0, start, min(end, total) - start)
    if bool((kept.abs() < 1e-11).any()):
        raise ArgumentError(f"istft: window overlap add min: {float(kept.abs().min()):.3g}: the window and hop_length do "
                            "not satisfy the NOLA condition (the squared windows' overlap-add must not vanish)")
    signal = signal.narrow(-1, start, kept.shape[0]) / kept
    if end > total:  # a requested length beyond the frames: zeros, as PyTorch
        signal = _resize(signal, (signal.ndim - 1,), (end - start,))
    return signal if batched else signal.squeeze(0)


TRANSFORMS = (fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2, irfft2, rfftn, irfftn, hfft, ihfft, hfft2, ihfft2,
              hfftn, ihfftn, fftshift, ifftshift)
FUNCTIONS = (stft, istft)
DIFFERENTIABLE = TRANSFORMS + FUNCTIONS
METHODS = {"stft": stft, "istft": istft}
