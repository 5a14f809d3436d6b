"""Op-table rows for the Fourier transforms and stft/istft (gpugrad/ops/spectral.py).

Complex inputs are read from pairs along a last dim of 2 and complex outputs returned as such pairs, so that
gradcheck in float64 sees real tensors (see complex_numbers.py); lengths are odd and even, cut and padded.
"""
import gpugrad as gg

from .complex_numbers import c, r
from .row import Row, real


def _both(fn):
    return dict(fn=lambda *ts: fn(gg, *ts), torch=lambda torch, *ts: fn(torch, *ts))


def _hann(lib, n, like):
    return lib.hann_window(n, dtype=like.dtype)


ROWS = [
    Row("fft", **_both(lambda lib, a: r(lib, lib.fft.fft(a))), inputs=[((3, 6), real)]),
    Row("fft_complex_cut", **_both(lambda lib, a: r(lib, lib.fft.fft(c(lib, a), n=4, dim=0, norm="ortho"))),
        inputs=[((5, 3, 2), real)], op="fft"),
    Row("ifft", **_both(lambda lib, a: r(lib, lib.fft.ifft(c(lib, a), n=7))), inputs=[((2, 5, 2), real)]),
    Row("fft2", **_both(lambda lib, a: r(lib, lib.fft.fft2(a, norm="forward"))), inputs=[((2, 3, 5), real)]),
    Row("ifft2", **_both(lambda lib, a: r(lib, lib.fft.ifft2(c(lib, a), s=(4, 2)))), inputs=[((3, 3, 2), real)]),
    Row("fftn", **_both(lambda lib, a: r(lib, lib.fft.fftn(c(lib, a), dim=(0, 2)))), inputs=[((3, 2, 4, 2), real)]),
    Row("ifftn", **_both(lambda lib, a: r(lib, lib.fft.ifftn(a, norm="ortho"))), inputs=[((3, 4), real)]),
    Row("rfft", **_both(lambda lib, a: r(lib, lib.fft.rfft(a))), inputs=[((2, 7), real)]),
    Row("rfft_padded", **_both(lambda lib, a: r(lib, lib.fft.rfft(a, n=8, norm="ortho"))), inputs=[((2, 5), real)], op="rfft"),
    Row("irfft", **_both(lambda lib, a: lib.fft.irfft(c(lib, a))), inputs=[((2, 5, 2), real)]),
    Row("irfft_odd", **_both(lambda lib, a: lib.fft.irfft(c(lib, a), n=7, norm="forward")), inputs=[((4, 2), real)], op="irfft"),
    Row("irfft_cut", **_both(lambda lib, a: lib.fft.irfft(c(lib, a), n=4)), inputs=[((6, 2), real)], op="irfft"),
    Row("rfft2", **_both(lambda lib, a: r(lib, lib.fft.rfft2(a))), inputs=[((3, 4, 5), real)]),
    Row("irfft2", **_both(lambda lib, a: lib.fft.irfft2(c(lib, a), s=(3, 5))), inputs=[((3, 3, 2), real)]),
    Row("rfftn", **_both(lambda lib, a: r(lib, lib.fft.rfftn(a, s=(4, 3), norm="ortho"))), inputs=[((2, 3, 4), real)]),
    Row("irfftn", **_both(lambda lib, a: lib.fft.irfftn(c(lib, a), dim=(0, 1))), inputs=[((3, 4, 2), real)]),
    Row("hfft", **_both(lambda lib, a: lib.fft.hfft(c(lib, a), n=5)), inputs=[((4, 2), real)]),
    Row("ihfft", **_both(lambda lib, a: r(lib, lib.fft.ihfft(a))), inputs=[((2, 6), real)]),
    Row("hfft2", **_both(lambda lib, a: lib.fft.hfft2(c(lib, a))), inputs=[((3, 3, 2), real)]),
    Row("ihfft2", **_both(lambda lib, a: r(lib, lib.fft.ihfft2(a, norm="ortho"))), inputs=[((3, 4), real)]),
    Row("hfftn", **_both(lambda lib, a: lib.fft.hfftn(c(lib, a), s=(2, 4))), inputs=[((3, 3, 2), real)]),
    Row("ihfftn", **_both(lambda lib, a: r(lib, lib.fft.ihfftn(a))), inputs=[((2, 3, 5), real)]),
    Row("fftshift", **_both(lambda lib, a: lib.fft.fftshift(a) * a), inputs=[((3, 5), real)]),
    Row("ifftshift", **_both(lambda lib, a: lib.fft.ifftshift(a, dim=1) * a), inputs=[((3, 4), real)]),
    Row("stft", **_both(lambda lib, a: r(lib, lib.stft(a, 8, 3, window=_hann(lib, 8, a), return_complex=True))),
        inputs=[((2, 20), real)]),
    Row("istft", **_both(lambda lib, a: lib.istft(lib.stft(a, 8, 2, window=_hann(lib, 8, a), return_complex=True), 8, 2,
                                                  window=_hann(lib, 8, a), length=17) * a), inputs=[((17,), real)]),
    Row("stft_complex", **_both(lambda lib, a: r(lib, lib.istft(lib.stft(c(lib, a), 8, 2, window=_hann(lib, 8, a),
                                                               return_complex=True), 8, 2, window=_hann(lib, 8, a),
                                                      return_complex=True, length=12) * 1.5)),
        inputs=[((12, 2), real)], op="stft"),
]
