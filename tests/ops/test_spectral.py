"""gpugrad.fft and stft/istft: values against NumPy's transforms, sizes and norms, adjoint gradients
against finite differences on odd and even lengths, and the errors. (Every transform's first and second
derivatives are also in the op table, where PyTorch compares too.)"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg

NORMS = (None, "backward", "ortho", "forward")


def _complex(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("norm", NORMS)
def test_one_dimensional_transforms_match_numpy(norm):
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal((3, 7)), _complex(rng, (3, 6))
    cases = [
        (gg.fft.fft(gg.tensor(x), norm=norm), np.fft.fft(x, norm=norm)),
        (gg.fft.fft(gg.tensor(z), n=9, dim=0, norm=norm), np.fft.fft(z, n=9, axis=0, norm=norm)),
        (gg.fft.ifft(gg.tensor(z), n=4, norm=norm), np.fft.ifft(z, n=4, norm=norm)),
        (gg.fft.rfft(gg.tensor(x), norm=norm), np.fft.rfft(x, norm=norm)),
        (gg.fft.irfft(gg.tensor(z), norm=norm), np.fft.irfft(z, norm=norm)),
        (gg.fft.irfft(gg.tensor(z), n=7, norm=norm), np.fft.irfft(z, n=7, norm=norm)),
        (gg.fft.hfft(gg.tensor(z), norm=norm), np.fft.hfft(z, norm=norm)),
        (gg.fft.ihfft(gg.tensor(x), norm=norm), np.fft.ihfft(x, norm=norm)),
    ]
    for mine, expected in cases:
        np.testing.assert_allclose(mine.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_multi_dimensional_transforms_match_numpy():
    rng = np.random.default_rng(1)
    x, z = rng.standard_normal((2, 5, 6)), _complex(rng, (2, 5, 4))
    cases = [
        (gg.fft.fft2(gg.tensor(x)), np.fft.fft2(x)),
        (gg.fft.ifft2(gg.tensor(z), s=(3, 7)), np.fft.ifft2(z, s=(3, 7))),
        (gg.fft.fftn(gg.tensor(z), dim=(0, 2), norm="ortho"), np.fft.fftn(z, axes=(0, 2), norm="ortho")),
        (gg.fft.fftn(gg.tensor(x), s=(4, 4)), np.fft.fftn(x, s=(4, 4), axes=(1, 2))),  # s alone: the last dims
        (gg.fft.ifftn(gg.tensor(z)), np.fft.ifftn(z)),
        (gg.fft.rfft2(gg.tensor(x)), np.fft.rfft2(x)),
        (gg.fft.irfft2(gg.tensor(z), s=(5, 7)), np.fft.irfft2(z, s=(5, 7))),
        (gg.fft.rfftn(gg.tensor(x), norm="forward"), np.fft.rfftn(x, norm="forward")),
        (gg.fft.irfftn(gg.tensor(z)), np.fft.irfftn(z)),
    ]
    for mine, expected in cases:
        np.testing.assert_allclose(mine.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_dtypes_follow_the_input_precision():
    assert gg.fft.fft(gg.zeros(4)).dtype is gg.complex64
    assert gg.fft.fft(gg.zeros(4, dtype=gg.float64)).dtype is gg.complex128
    assert gg.fft.fft(gg.arange(4)).dtype is gg.complex64  # integers: the default float's complex
    assert gg.fft.rfft(gg.zeros(4, dtype=gg.float16)).dtype is gg.complex64
    assert gg.fft.irfft(gg.zeros(3, dtype=gg.complex128)).dtype is gg.float64
    assert gg.fft.irfft(gg.zeros(3, dtype=gg.complex64)).shape == (4,)


def test_shifts_and_frequencies_match_numpy():
    x = np.arange(15.0).reshape(3, 5)
    np.testing.assert_array_equal(gg.fft.fftshift(gg.tensor(x)).numpy(), np.fft.fftshift(x))
    np.testing.assert_array_equal(gg.fft.ifftshift(gg.tensor(x), dim=1).numpy(), np.fft.ifftshift(x, axes=1))
    np.testing.assert_allclose(gg.fft.fftfreq(7, d=0.5).numpy(), np.fft.fftfreq(7, d=0.5), rtol=1e-6)
    np.testing.assert_allclose(gg.fft.rfftfreq(8).numpy(), np.fft.rfftfreq(8), rtol=1e-6)
    assert gg.fft.fftfreq(4).dtype is gg.float32


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 7), n=st.integers(1, 9), kind=st.sampled_from(["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]),
       norm=st.sampled_from(NORMS))
def test_transform_gradients_are_adjoints_on_any_length(m, n, kind, norm):
    """Any input length m and transform length n (cut or padded), checked by finite differences on the
    real and imaginary parts."""
    if kind in ("irfft", "hfft") and n < 1:
        return
    rng = np.random.default_rng(m * 10 + n)
    complex_input = kind in ("ifft", "irfft", "hfft")
    shape = (2, m, 2) if complex_input else (2, m)
    x = gg.tensor(rng.standard_normal(shape), requires_grad=True)
    fn = getattr(gg.fft, kind)

    def f(t):
        out = fn(gg.view_as_complex(t) if complex_input else t, n=n, norm=norm)
        return gg.view_as_real(out) if out.is_complex() else out

    assert gg.autograd.gradcheck(f, (x,))


def test_stft_frames_match_a_direct_computation():
    rng = np.random.default_rng(2)
    signal = rng.standard_normal(40)
    window = np.hanning(17)[:16]  # periodic Hann of 16
    spec = gg.stft(gg.tensor(signal), 16, hop_length=4, window=gg.tensor(window), return_complex=True)
    padded = np.pad(signal, 8, mode="reflect")
    frames = np.stack([padded[i:i + 16] * window for i in range(0, len(padded) - 15, 4)])
    np.testing.assert_allclose(spec.numpy(), np.fft.rfft(frames).T, rtol=1e-10, atol=1e-12)
    assert gg.stft(gg.tensor(signal), 16, window=gg.tensor(window), return_complex=False).shape == spec.shape + (2,)


def test_istft_inverts_stft():
    rng = np.random.default_rng(3)
    x = gg.tensor(rng.standard_normal((2, 50)))
    w = gg.hamming_window(16, dtype=gg.float64)  # nowhere 0: without centring, Hann's first sample would be lost
    for center, length in ((True, 50), (False, None)):
        spec = gg.stft(x, 16, hop_length=4, window=w, center=center, return_complex=True)
        back = gg.istft(spec, 16, hop_length=4, window=w, center=center, length=length)
        keep = back.shape[-1]
        np.testing.assert_allclose(back.numpy(), x.numpy()[:, :keep], rtol=1e-9, atol=1e-10)


def test_spectral_errors_name_the_function():
    with pytest.raises(gg.ArgumentError, match="fft: invalid normalization mode 'unit'"):
        gg.fft.fft(gg.zeros(4), norm="unit")
    with pytest.raises(gg.ArgumentError, match=r"rfft: invalid number of data points \(0\)"):
        gg.fft.rfft(gg.zeros(4), n=0)
    with pytest.raises(gg.DTypeError, match="rfft: expects a real input tensor"):
        gg.fft.rfft(gg.zeros(4, dtype=gg.cfloat))
    with pytest.raises(IndexError, match="fft2: dimension 2 out of range"):
        gg.fft.fft2(gg.zeros(4, 4), dim=(0, 2))
    with pytest.raises(gg.ShapeError, match="fftn: when given, dim and shape"):
        gg.fft.fftn(gg.zeros(4, 4), s=(2,), dim=(0, 1))
    with pytest.raises(gg.ArgumentError, match="stft requires the return_complex parameter"):
        gg.stft(gg.zeros(32), 8)
    with pytest.raises(gg.DTypeError, match="istft: requires a complex-valued input"):
        gg.istft(gg.zeros(5, 3), 8)
    with pytest.raises(gg.ArgumentError, match="NOLA"):
        gg.istft(gg.zeros(5, 4, dtype=gg.cfloat), 8, hop_length=8, window=gg.tensor([0, 0, 0, 0, 1.0, 1, 1, 1]),
                 center=False)
    with pytest.warns(UserWarning, match="window was not provided"):
        gg.stft(gg.zeros(32), 8, return_complex=True)


def test_complex_signals_take_two_sided_spectra_and_come_back():
    rng = np.random.default_rng(4)
    signal = rng.standard_normal((2, 40)) + 1j * rng.standard_normal((2, 40))
    window = gg.hann_window(16, dtype=gg.float64)
    spec = gg.stft(gg.tensor(signal), 16, hop_length=4, window=window, return_complex=True)
    assert spec.shape == (2, 16, 11)  # all 16 frequencies: no mirror half to leave out
    back = gg.istft(spec, 16, hop_length=4, window=window, return_complex=True, length=40)
    np.testing.assert_allclose(back.numpy(), signal, atol=1e-12)
    with pytest.raises(gg.ArgumentError, match="onesided output if window or input is complex"):
        gg.stft(gg.tensor(signal), 16, window=window, onesided=True, return_complex=True)
    with pytest.raises(gg.ArgumentError, match="onesided output if return_complex=True"):
        gg.istft(spec, 16, window=window, onesided=True, return_complex=True)
