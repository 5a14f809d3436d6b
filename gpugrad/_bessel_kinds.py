"""Bessel functions of the first and second kinds J0, J1, Y0, Y1, the modified ones I0, I1 (_bessel.py's)
and K0, K1 (and their scaled forms e^x K), and the spherical j0, vectorised over NumPy or CuPy arrays (no
SciPy: not a dependency). Each computes in float64 and rounds its result once to the input's float dtype, so
float32 results are float64's rounded (PyTorch's float32 kernels compute in float32).

The algorithms are Cephes' (Moshier's), which PyTorch's kernels follow. J and Y: rational approximations in
x^2 up to 5 (Y adds the (2/pi) log(x) J term of its expansion); beyond, the Hankel asymptotic form
sqrt(2 / (pi x)) (P cos(phase) - (5/x) Q sin(phase)), P and Q rational in 25/x^2. PyTorch drops the leading
1 of the monic denominators Cephes evaluates with p1evl, which costs it up to ~2e-6 of the envelope
sqrt(2 / (pi x)) just above 5 (~1e-5 relative away from the zeros); here they are kept, for Cephes' full
accuracy. The phase x - pi/4 (3pi/4) enters as sin x and cos x, so large arguments keep their phase. At
+-inf J and Y are 0, their limits (PyTorch gives NaN). K: Chebyshev series, with the log(x/2) I(x) term up
to 2.
"""
from __future__ import annotations

import math

import numpy

from . import _bessel

_TWO_OVER_PI = 2.0 / math.pi
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)

# J0 below 5: (x^2 - j01^2)(x^2 - j02^2) RP(x^2) / RQ(x^2), j0k the zeros of J0.
_J0_ZERO1_SQUARED = 5.78318596294678452118e+00
_J0_ZERO2_SQUARED = 3.04712623436620863991e+01

_J0_RP = (
    -4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14, 9.70862251047306323952e+15,
)

# RQ is monic (its leading 1 left out).
_J0_RQ = (
    4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07, 1.11855537045356834862e+10,
    2.11277520115489217587e+12, 3.10518229857422583814e+14, 3.18121955943204943306e+16, 1.71086294081043136091e+18,
)

# J0 and Y0 beyond 5: P = PP / PQ and Q = QP / QQ (QQ monic) in 25/x^2.
_J0_PP = (
    7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00, 5.44725003058768775090e+00,
    8.74716500199817011941e+00, 5.30324038235394892183e+00, 9.99999999999999997821e-01,
)

_J0_PQ = (
    9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00, 5.47097740330417105182e+00,
    8.76190883237069594232e+00, 5.30605288235394617618e+00, 1.00000000000000000218e+00,
)

_J0_QP = (
    -1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01,
    -9.32060152123768231369e+01, -1.77681167980488050595e+02, -1.47077505154951170175e+02,
    -5.14105326766599330220e+01, -6.05014350600728481186e+00,
)

_J0_QQ = (
    6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03, 7.24046774195652478189e+03,
    5.93072701187316984827e+03, 2.06209331660327847417e+03, 2.42005740240291393179e+02,
)

# Y0 below 5: YP(x^2) / YQ(x^2) (YQ monic) + (2/pi) log(x) J0(x).
_Y0_YP = (
    1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09, -9.82136065717911466409e+11,
    8.75906394395366999549e+13, -3.46628303384729719441e+15, 4.42733268572569800351e+16, -1.84950800436986690637e+16,
)

_Y0_YQ = (
    1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08, 8.64002487103935000337e+10,
    2.02979612750105546709e+13, 3.17157752842975028269e+15, 2.50596256172653059228e+17,
)

# J1 below 5: x (x^2 - j11^2)(x^2 - j12^2) RP(x^2) / RQ(x^2) (RQ monic), j1k the zeros of J1.
_J1_ZERO1_SQUARED = 1.46819706421238932572e+01
_J1_ZERO2_SQUARED = 4.92184563216946036703e+01

_J1_RP = (
    -8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13, 3.68295732863852883286e+15,
)

_J1_RQ = (
    6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07, 2.21511595479792499675e+10,
    4.74914122079991414898e+12, 7.84369607876235854894e+14, 8.95222336184627338078e+16, 5.32278620332680085395e+18,
)

# J1 and Y1 beyond 5, as J0's.
_J1_PP = (
    7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00, 5.11207951146807644818e+00,
    8.42404590141772420927e+00, 5.21451598682361504063e+00, 1.00000000000000000254e+00,
)

_J1_PQ = (
    5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00, 5.07386386128601488557e+00,
    8.39985554327604159757e+00, 5.20982848682361821619e+00, 9.99999999999999997461e-01,
)

_J1_QP = (
    5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01, 3.66779609360150777800e+02,
    7.10856304998926107277e+02, 5.97489612400613639965e+02, 2.11688757100572135698e+02, 2.52070205858023719784e+01,
)

_J1_QQ = (
    7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03, 9.56231892404756170795e+03,
    7.99704160447350683650e+03, 2.82619278517639096600e+03, 3.36093607810698293419e+02,
)

# Y1 below 5: x YP(x^2) / YQ(x^2) (YQ monic) + (2/pi) (J1(x) log(x) - 1/x).
_Y1_YP = (
    1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14, -8.12770255501325109621e+15,
    2.02439475713594898196e+17, -7.78877196265950026825e+17,
)

_Y1_YQ = (
    5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07, 1.87601316108706159478e+10,
    3.88231277496238566008e+12, 6.20557727146953693363e+14, 6.87141087355300489866e+16, 3.97270608116560655612e+18,
)

# K0 up to 2: A (Chebyshev in x^2 - 2) - log(x/2) I0(x); beyond: e^-x B (Chebyshev in 8/x - 2) / sqrt(x).
_K0_A = (
    1.37446543561352307156e-16, 4.25981614279661018399e-14, 1.03496952576338420167e-11, 1.90451637722020886025e-09,
    2.53479107902614945675e-07, 2.28621210311945178607e-05, 1.26461541144692592338e-03, 3.59799365153615016266e-02,
    3.44289899924628486886e-01, -5.35327393233902768720e-01,
)

_K0_B = (
    5.30043377268626276149e-18, -1.64758043015242134646e-17, 5.21039150503902756861e-17, -1.67823109680541210385e-16,
    5.51205597852431940784e-16, -1.84859337734377901440e-15, 6.34007647740507060557e-15, -2.22751332699166985548e-14,
    8.03289077536357521100e-14, -2.98009692317273043925e-13, 1.14034058820847496303e-12, -4.51459788337394416547e-12,
    1.85594911495471785253e-11, -7.95748924447710747776e-11, 3.57739728140030116597e-10, -1.69753450938905987466e-09,
    8.57403401741422608519e-09, -4.66048989768794782956e-08, 2.76681363944501510342e-07, -1.83175552271911948767e-06,
    1.39498137188764993662e-05, -1.28495495816278026384e-04, 1.56988388573005337491e-03, -3.14481013119645005427e-02,
    2.44030308206595545468e+00,
)

# K1 up to 2: log(x/2) I1(x) + A (in x^2 - 2) / x; beyond as K0.
_K1_A = (
    -7.02386347938628759343e-18, -2.42744985051936593393e-15, -6.66690169419932900609e-13,
    -1.41148839263352776110e-10, -2.21338763073472585583e-08, -2.43340614156596823496e-06,
    -1.73028895751305206302e-04, -6.97572385963986435018e-03, -1.22611180822657148235e-01,
    -3.53155960776544875667e-01, 1.52530022733894777053e+00,
)

_K1_B = (
    -5.75674448366501715755e-18, 1.79405087314755922667e-17, -5.68946255844285935196e-17, 1.83809354436663880070e-16,
    -6.05704724837331885336e-16, 2.03870316562433424052e-15, -7.01983709041831346144e-15, 2.47715442448130437068e-14,
    -8.97670518232499435011e-14, 3.34841966607842919884e-13, -1.28917396095102890680e-12, 5.13963967348173025100e-12,
    -2.12996783842756842877e-11, 9.21831518760500529508e-11, -4.19035475934189648750e-10, 2.01504975519703286596e-09,
    -1.03457624656780970260e-08, 5.74108412545004946722e-08, -3.50196060308781257119e-07, 2.40648494783721712015e-06,
    -1.93619797416608296024e-05, 1.95215518471351631108e-04, -2.85781685962277938680e-03, 1.03923736576817238437e-01,
    2.72062619048444266945e+00,
)


def polevl(z, coefs):
    """c0 z^n + c1 z^(n-1) + ... + cn, by Horner's rule."""
    acc = z * 0.0 + coefs[0]
    for c in coefs[1:]:
        acc = acc * z + c
    return acc


def p1evl(z, coefs):
    """z^n + c0 z^(n-1) + ... + c(n-1): a monic polynomial whose leading 1 the table leaves out."""
    acc = z + coefs[0]
    for c in coefs[1:]:
        acc = acc * z + c
    return acc


def chbevl(t, coefs):
    """The Chebyshev series sum' c_k T_k(t / 2), by Clenshaw's recurrence (Cephes' chbevl)."""
    b0, b1, b2 = t * 0.0 + coefs[0], t * 0.0, t * 0.0
    for c in coefs[1:]:
        b2, b1 = b1, b0
        b0 = t * b1 - b2 + c
    return 0.5 * (b0 - b2)


def piecewise(xp, x, dtype, pieces):
    """An array of float64 x's shape in ``dtype``: fn(x[mask]) for each (mask, fn) of ``pieces`` (constants
    too), NaN where no mask holds (NaN inputs, domain errors). Each piece computes on its own elements alone,
    so none wastes work or meets arguments outside its range."""
    out = xp.full(x.shape, numpy.nan)
    for mask, fn in pieces:
        if bool(mask.any()):
            out[mask] = fn(x[mask]) if callable(fn) else fn
    return xp.asarray(out.astype(dtype, copy=False))


def _j0_near(xp, x):
    """J0 for 0 <= x <= 5 (1 - x^2/4 below 1e-5, where that is exact to rounding)."""
    z = x * x
    value = (z - _J0_ZERO1_SQUARED) * (z - _J0_ZERO2_SQUARED) * polevl(z, _J0_RP) / p1evl(z, _J0_RQ)
    return xp.where(x < 1e-5, 1.0 - z / 4.0, value)


def _j1_near(x):
    """J1 for |x| <= 5 (odd in x, so -0 stays -0)."""
    z = x * x
    return x * (z - _J1_ZERO1_SQUARED) * (z - _J1_ZERO2_SQUARED) * polevl(z, _J1_RP) / p1evl(z, _J1_RQ)


def _far(xp, x, order: int, second_kind: bool):
    """J (Y with ``second_kind``) of order 0 or 1 for 5 < x < inf by the Hankel asymptotic form. The phase
    x - (2 order + 1) pi/4 is expanded into sin x and cos x, whose argument reduction is exact: no bits of
    x are lost to the subtraction."""
    pp, pq, qp, qq = (_J0_PP, _J0_PQ, _J0_QP, _J0_QQ) if order == 0 else (_J1_PP, _J1_PQ, _J1_QP, _J1_QQ)
    w = 5.0 / x
    z = w * w
    p = polevl(z, pp) / polevl(z, pq)
    q = w * polevl(z, qp) / p1evl(z, qq)
    s, c = xp.sin(x), xp.cos(x)
    # sqrt(2) cos(phase) and sqrt(2) sin(phase): cos x + sin x and sin x - cos x for order 0;
    # sin x - cos x and -(sin x + cos x) for order 1.
    cos_phase, sin_phase = (c + s, s - c) if order == 0 else (s - c, -(s + c))
    scale = _INV_SQRT_PI / xp.sqrt(x)  # sqrt(2 / (pi x)) / sqrt(2)
    if second_kind:
        return (p * sin_phase + q * cos_phase) * scale
    return (p * cos_phase - q * sin_phase) * scale


def bessel_j0(xp, x):
    """J0(x), the Bessel function of the first kind of order 0 (even; 0 at +-inf)."""
    a = xp.abs(x.astype(numpy.float64))
    return piecewise(xp, a, x.dtype, [
        (a <= 5.0, lambda v: _j0_near(xp, v)),
        ((a > 5.0) & (a < numpy.inf), lambda v: _far(xp, v, 0, False)),
        (a == numpy.inf, 0.0),
    ])


def bessel_j1(xp, x):
    """J1(x), the Bessel function of the first kind of order 1 (odd; 0 at +-inf)."""
    x64 = x.astype(numpy.float64)
    a = xp.abs(x64)
    return piecewise(xp, x64, x.dtype, [
        (a <= 5.0, _j1_near),
        ((a > 5.0) & (a < numpy.inf), lambda v: xp.sign(v) * _far(xp, xp.abs(v), 1, False)),
        (a == numpy.inf, 0.0),
    ])


def bessel_y0(xp, x):
    """Y0(x), the Bessel function of the second kind of order 0: -inf at 0, NaN for x < 0, 0 at inf."""
    x64 = x.astype(numpy.float64)
    return piecewise(xp, x64, x.dtype, [
        (x64 == 0, -numpy.inf),
        ((x64 > 0) & (x64 <= 5.0),
         lambda v: polevl(v * v, _Y0_YP) / p1evl(v * v, _Y0_YQ) + _TWO_OVER_PI * xp.log(v) * _j0_near(xp, v)),
        ((x64 > 5.0) & (x64 < numpy.inf), lambda v: _far(xp, v, 0, True)),
        (x64 == numpy.inf, 0.0),
    ])


def bessel_y1(xp, x):
    """Y1(x), the Bessel function of the second kind of order 1: -inf at 0, NaN for x < 0, 0 at inf."""
    x64 = x.astype(numpy.float64)
    return piecewise(xp, x64, x.dtype, [
        (x64 == 0, -numpy.inf),
        ((x64 > 0) & (x64 <= 5.0), lambda v: v * polevl(v * v, _Y1_YP) / p1evl(v * v, _Y1_YQ)
         + _TWO_OVER_PI * (_j1_near(v) * xp.log(v) - 1.0 / v)),
        ((x64 > 5.0) & (x64 < numpy.inf), lambda v: _far(xp, v, 1, True)),
        (x64 == numpy.inf, 0.0),
    ])


def modified_bessel_i0(xp, x):
    """I0(x), the modified Bessel function of the first kind of order 0: gpugrad's ``i0`` (_bessel.py)."""
    return _bessel.bessel(xp, 0, x)


def modified_bessel_i1(xp, x):
    """I1(x), of order 1: gpugrad's ``special.i1`` (_bessel.py)."""
    return _bessel.bessel(xp, 1, x)


def _modified_k(xp, x, order: int, scaled: bool):
    """K0 or K1 (e^x K with ``scaled``): inf at 0, NaN for x < 0, 0 at inf."""
    a, b = (_K0_A, _K0_B) if order == 0 else (_K1_A, _K1_B)

    def near(v):  # 0 < v <= 2
        series = chbevl(v * v - 2.0, a)
        i = _bessel.bessel(xp, order, v)
        value = series - xp.log(0.5 * v) * i if order == 0 else xp.log(0.5 * v) * i + series / v
        return value * xp.exp(v) if scaled else value

    def far(v):  # v > 2 (at inf: 0)
        value = chbevl(8.0 / v - 2.0, b) / xp.sqrt(v)
        return value if scaled else value * xp.exp(-v)

    x64 = x.astype(numpy.float64)
    return piecewise(xp, x64, x.dtype, [(x64 == 0, numpy.inf), ((x64 > 0) & (x64 <= 2.0), near), (x64 > 2.0, far)])


def modified_bessel_k0(xp, x):
    """K0(x), the modified Bessel function of the second kind of order 0."""
    return _modified_k(xp, x, 0, False)


def modified_bessel_k1(xp, x):
    """K1(x), the modified Bessel function of the second kind of order 1."""
    return _modified_k(xp, x, 1, False)


def scaled_modified_bessel_k0(xp, x):
    """e^x K0(x), finite where K0 underflows."""
    return _modified_k(xp, x, 0, True)


def scaled_modified_bessel_k1(xp, x):
    """e^x K1(x), finite where K1 underflows."""
    return _modified_k(xp, x, 1, True)


def _spherical_taylor(v):
    z = v * v
    return 1.0 + z * (-1.0 / 6 + z * (1.0 / 120 + z * (-1.0 / 5040 + z * (
        1.0 / 362880 + z * (-1.0 / 39916800 + z * (1.0 / 6227020800))))))


def spherical_bessel_j0(xp, x):
    """j0(x) = sin(x) / x (1 at 0, 0 at +-inf); its Taylor polynomial below 1/2, as PyTorch's."""
    x64 = x.astype(numpy.float64)
    a = xp.abs(x64)
    return piecewise(xp, x64, x.dtype, [
        (a < 0.5, _spherical_taylor),
        ((a >= 0.5) & (a < numpy.inf), lambda v: xp.sin(v) / v),
        (a == numpy.inf, 0.0),
    ])
