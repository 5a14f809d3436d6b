"""Vectorisable math for the CPU kernels: ``exp`` and ``log`` as branch-free polynomial code LLVM can
vectorise, ``tanh`` and ``normal_cdf_pdf`` (float32) built on it, ``log1p_of_unit`` (log1p on [0, 1], softplus's), and
``row_max``, a maximum that vectorises.

Numba's CPU loops call libm's ``expf``/``exp`` per element: llvmlite from PyPI has no SVML, so LLVM
cannot vectorise those calls. ``exp`` here is Cody-Waite range reduction (x = k ln2 + r, |r| <= ln2/2),
a polynomial for e**r and the scaling by 2**k (AVX-512's vscalef, elsewhere factors built from exponent
bits): only multiplies, adds, conversions and selects, so a loop over it runs on the vector units. Accuracy
(tests/kernels/test_vmath.py, a dense sweep against float64 / long double): within 1 ulp in float32 and 2
ulp in float64, subnormal results included (gradual underflow, as libm's: sigmoid(-88) in float32 is
6e-39, not 0); past the largest finite result they are inf. One caveat, measured before the scaling was
vscalef on AVX-512 (so still elsewhere): compiled with LLVM's ``reassoc`` and ``nsz`` flags together,
float64 results within 0.4 of the overflow bound came out inf; the kernels that set both (activations)
call it on -|x| only, softmax_xent and softmax set reassoc without nsz. With both flags LLVM also merged
the two parts of ln 2 in the range reduction (float64 30 ulp off at x ~ -100, sigmoid 24 ulp at -80), so
the reduction is two explicit fused multiply-adds (``_reduce_by_ln2``), which no flag reassociates and
which still vectorise; under those flags exp is then within 1.5 ulp (float32) and 2 (float64).
``tanh`` is within 0.52 ulp in float32 (computed in float64, rounded once; measured 0.507 over every
float32 in [-10, 10], PyTorch's 0.513) and 2 ulp in float64 (measured 1.53; libm's is the reference),
exactly +-1 where tanh rounds to it, x itself at subnormal and tiny x, the sign of zero kept. Per thread
a loop over it ran 25x (float32) and 10x (float64) faster than over libm's tanh.

``log`` splits x at sqrt(1/2) by its bits and takes a polynomial in f = m - 1 (float32; float64: fdlibm's
rational in s = f / (2 + f)), within 1 ulp in both precisions (measured 0.84 and 0.84); NumPy's float32
log ran 2.4x slower per thread on AVX2 and 3.8 ulp off (gpugrad's float32 ``log`` op takes this one:
gpugrad/_vmath_ufuncs.py).

Each function here is plain Python (the readable specification, and what the CUDA simulator runs);
in CPU kernels its Numba overload is the vectorisable code, in CUDA kernels CUDA's own function
(overloads registered by ``_scalar.register_cuda_overloads``).
"""
from __future__ import annotations

import functools
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable


def exp(x: float) -> float:
    """e**x (in CPU kernels: the vectorisable polynomial below, for float32 and float64 arguments)."""
    return math.exp(x)


# 1.5 * 2**52 and its bits: adding it to a float64 |x| < 2**51 rounds x to an integer k left in the low bits
# of the sum (and subtracting it back turns such bits into the float). AVX2 has no vector conversion
# between float64 and int64, so LLVM makes fptosi and sitofp of <4 x double> four scalar ones; this
# vectorises.
_MAGIC64, _MAGIC64_BITS = 6755399441055744.0, 0x4338000000000000


def _float64_of_small_int64(builder, k):
    """The float64 of an int64 |k| < 2**51."""
    summed = builder.bitcast(builder.add(k, ir.Constant(ir.IntType(64), _MAGIC64_BITS)), ir.DoubleType())
    return builder.fsub(summed, ir.Constant(ir.DoubleType(), _MAGIC64))


@functools.cache
def _targets_avx512() -> bool:
    """Whether Numba's CPU code targets AVX-512 (the features its code generator reads: its config's, or the
    host's), whose vscalefps/vscalefpd multiply by a power of two, rounding once, in one instruction."""
    import llvmlite.binding as llvm
    import numba

    features = numba.config.CPU_FEATURES
    if features is None:
        features = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


@intrinsic
def _times_power_of_two(typingctx, y, k):
    """y * 2**k rounded once (gradual underflow below the normal range, inf past the largest finite value)
    for a float32 or float64 y near 1 (a polynomial's value) and an integer k, |k| <= 250 (float32) or 2000
    (float64). On an AVX-512 target it is LLVM's ldexp: one vscalef instruction per vector (with k's
    conversion to float, 2 where the factors below take 8). Elsewhere (where LLVM would call libm's ldexp
    per element) 2**k is made from exponent bits as two factors, each a normal number, so that only the
    second multiply rounds: the same bits. Numba puts the calling kernel's fast-math flags on those
    multiplies: with ``reassoc`` and ``nsz`` LLVM may combine the two factors into an overflow (the caveat
    in the module's docstring)."""
    if y not in (types.float32, types.float64):
        return None
    is32 = y == types.float32
    if not isinstance(k, types.Integer):
        return None
    ftype, itype = (ir.FloatType(), ir.IntType(32)) if is32 else (ir.DoubleType(), ir.IntType(64))
    bias, shift = (127, 23) if is32 else (1023, 52)

    def codegen(context, builder, signature, args):
        value, power = args
        power = context.cast(builder, power, signature.args[1], types.int32 if is32 else types.int64)
        if _targets_avx512():
            i32 = ir.IntType(32)
            if power.type != i32:
                power = builder.trunc(power, i32)
            ldexp = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ftype, [ftype, i32]), f"llvm.ldexp.{'f32' if is32 else 'f64'}.i32")
            return builder.call(ldexp, [value, power])
        half = builder.ashr(power, ir.Constant(itype, 1))
        rest = builder.sub(power, half)
        factor = lambda e: builder.bitcast(  # noqa: E731
            builder.shl(builder.add(e, ir.Constant(itype, bias)), ir.Constant(itype, shift)), ftype)
        return builder.fmul(builder.fmul(value, factor(half)), factor(rest))

    return y(y, k), codegen


@intrinsic
def _reduce_by_ln2(typingctx, x, k, hi, lo):
    """x - k*hi - k*lo (Cody-Waite: ln 2 = hi + lo, k*hi exact) as two calls of LLVM's fma: Numba puts
    the kernel's fast-math flags on every plain add and multiply, and with ``reassoc`` and ``nsz`` LLVM
    merged the two parts into k*(hi + lo), losing lo's correction (float64 sigmoid 24 ulp off at x ~ -80).
    An fma is neither split nor reassociated, rounds once, and vectorises."""
    if x not in (types.float32, types.float64) or k != x or hi != x or lo != x:
        return None

    def codegen(context, builder, signature, args):
        xv, kv, hv, lv = args
        ftype = xv.type
        fma = builder.module.declare_intrinsic("llvm.fma", [ftype], ir.FunctionType(ftype, [ftype] * 3))
        minus_k = builder.fneg(kv)
        return builder.call(fma, [minus_k, lv, builder.call(fma, [minus_k, hv, xv])])

    return x(x, k, hi, lo), codegen


@register_jitable(inline="always")
def _clamp(x, lo, hi):
    """x limited to [lo, hi], NaN kept: each comparison is false for NaN, which then passes through as x
    (Python's min and max would give lo or hi, and need a NaN select after)."""
    x = lo if x < lo else x
    return hi if x > hi else x


# Below LO e**x rounds to 0, above HI it overflows. Between LO and the smallest normal result the scaling
# by 2**k rounds once, so subnormal results come out right (gradual underflow, as libm's).
_F32_LO, _F32_HI = -104.0, 88.72283
# exp clamps x to +-150 (float32) and +-1100 (float64), past where e**x rounds to 0 or overflows: the scaling
# by 2**k (|k| up to 217 and 1587) then gives the 0 or the inf itself, with no select for either
_F32_EXP_CLAMP, _F64_EXP_CLAMP = 150.0, 1100.0


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (LLVM's fma, which no fast-math flag splits or reassociates)."""
    if a not in (types.float32, types.float64) or b != a or c != a:
        return None

    def codegen(context, builder, signature, args):
        ftype = args[0].type
        fma = builder.module.declare_intrinsic("llvm.fma", [ftype], ir.FunctionType(ftype, [ftype] * 3))
        return builder.call(fma, list(args))

    return a(a, b, c), codegen


@intrinsic
def _round_to_int32(typingctx, x):
    """x rounded to the nearest int32 (ties to even), as one vector conversion (LLVM's lrint: vcvtps2dq,
    vcvtpd2dq) where floor and a float-to-int conversion took two. |x| < 2**31."""
    if x not in (types.float32, types.float64):
        return None

    def codegen(context, builder, signature, args):
        ftype = args[0].type
        name = f"llvm.lrint.i32.{'f32' if ftype == ir.FloatType() else 'f64'}"
        lrint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), [ftype]), name)
        return builder.call(lrint, list(args))

    return types.int32(x), codegen


fma = _fma  # for Numba code outside this module (addcmul's ufunc, gpugrad/ops/elementwise.py)


@intrinsic
def _div(typingctx, a, b):
    """a / b as LLVM's fdiv: inf or NaN for a zero b, as NumPy's loops. Numba's own division checks the
    divisor and raises ZeroDivisionError where the compiling function has Python's error model (a ufunc
    built by numba.vectorize), and that check keeps a loop scalar."""
    if a not in (types.float32, types.float64) or b != a:
        return None

    def codegen(context, builder, signature, args):
        return builder.fdiv(*args)

    return a(a, b), codegen


# Cephes' expf polynomial for e**r on |r| <= ln2/2: e**r = 1 + r + r^2 P(r), highest degree first
_EXPF_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)


@register_jitable
def _exp_of_reduced_float32(r):
    """e**r for a float32 |r| <= ln2/2 (exp's polynomial) in fmas, which no fast-math flag reassociates:
    exp's, and gelu's normal_cdf_pdf's (the plain multiplies and adds measured 1.24 ulp under the
    activation kernels' reassoc)."""
    f = types.float32
    p = f(_EXPF_P[0])
    p = _fma(p, r, f(_EXPF_P[1]))
    p = _fma(p, r, f(_EXPF_P[2]))
    p = _fma(p, r, f(_EXPF_P[3]))
    p = _fma(p, r, f(_EXPF_P[4]))
    p = _fma(p, r, f(_EXPF_P[5]))
    return _fma(_fma(p, r, f(1.0)), r, f(1.0))  # 1 + r (1 + r P): 0.887 ulp, where 1 + (r + r^2 P) was 1.005


def _exp_float32(x):
    f = types.float32
    # Below -104 e**x rounds to 0: selected, with 0 computed in its place, since scaling to 0 (or a
    # subnormal) costs a microcode assist per element on Intel cores: 5.8 ns against 0.23 (a masked
    # attention row's -inf made softmax 3.4x slower).
    zero = x < f(_F32_LO)
    xc = _clamp(f(0.0) if zero else x, f(-_F32_EXP_CLAMP), f(_F32_EXP_CLAMP))
    k = _round_to_int32(xc * f(1.4426950408889634))
    r = _reduce_by_ln2(xc, f(k), f(0.693359375), f(-2.12194440e-4))  # ln 2 in two parts: k * hi is exact
    # in fmas (0.887 ulp), where the plain multiplies and adds (0.973) took 1.25-1.4x the time in a plain loop
    y = _times_power_of_two(_exp_of_reduced_float32(r), k)
    return f(0.0) if zero else y


@register_jitable
def _exp_float64_in_range(x):
    """e**x for |x| <= _F64_EXP_CLAMP (no clamping, no NaN): the core of exp, and tanh's."""
    k = _round_to_int32(x * 1.4426950408889634)
    r = _reduce_by_ln2(x, types.float64(k), 6.93147180369123816490e-01, 1.90821492927058770002e-10)  # fdlibm's ln 2
    # Taylor series of e**r to r**13 / 13!: the truncation error is below 1e-17 on |r| <= ln2/2
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r * r + r + 1.0
    return _times_power_of_two(p, k)


def _exp_float64(x):
    zero = x < -746.0  # e**x rounds to 0: selected, as float32's (a scaling to 0 costs a microcode assist)
    y = _exp_float64_in_range(_clamp(0.0 if zero else x, -_F64_EXP_CLAMP, _F64_EXP_CLAMP))
    return 0.0 if zero else y


@overload(exp, target="cpu")
def _exp_cpu(x):
    if x == types.float32:
        return _exp_float32
    if x == types.float64:
        return _exp_float64
    return None


def exp_on_cuda(x):
    """The CUDA overload of ``exp`` (registered by ``_scalar.register_cuda_overloads``): CUDA's own expf / exp."""
    return lambda x: math.exp(x)


def tanh(x: float) -> float:
    """tanh(x) (in CPU kernels: the vectorisable code below, for float32 and float64 arguments)."""
    return math.tanh(x)


# float32 tanh in float64 arithmetic, rounded once: 0.507 ulp at most over every float32 in [-10, 10]
# (PyTorch's 0.513, NumPy's 1.35 on AVX2). tanh x = 1 - 2 / (e + 1) with e = e**(2x) = 2**k (1 + q),
# 2x = k ln 2 + r, |r| <= ln2/2, q = e**r - 1 = r + r^2 P(r) (P of degree 5, numpy's Chebyshev.fit; q
# within 5.4e-10 relative), and e + 1 = (2**k + 1) + 2**k q by an fma, 2**k + 1 exact. The subtraction
# loses at most ~2**-52 absolute, under 2**-39 of the result wherever |x| >= 2**-13 (below, x itself is
# returned): one formula serves every x (no near-zero branch), both signs included. x is clamped to
# +-9.5, past where tanh rounds to +-1 (9.01); k and 2**k come from the 1.5 * 2**52 rounder's bits. ln 2
# in one part: for |k| <= 28 its error (3e-15 of e) is far below the 3e-9 (0.05 ulp) that would matter.
# The earlier version (1.41 ulp) ran on eight float32 lanes; this one on four float64 lanes takes 0.83x
# its time per thread in a plain loop (the ufunc) and 1.15x under the activation kernels' fast math,
# which contracted the old one's multiplies and adds into fmas. A first float64 try (exp's Taylor
# polynomial to r**13 by Horner's rule, a multiply and an add per step: no fast math, no fmas) ran at
# 2.5x: vectorised, but a chain of 30 dependent operations per element.
_TANH_EXPM1_P = (0.5000000013432849, 0.1666666671905036, 0.04166646499762397, 0.008333298461420896,
                 0.0013933647171059126, 0.00019899291985091353)
_F32_TANH_ONE = 9.5


@intrinsic
def _power_of_two_of_rounded(typingctx, t):
    """2**k for t = k + 1.5 * 2**52 (the rounder's sum, float64, -1022 <= k <= 1023), from its low bits."""
    if t != types.float64:
        return None

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        bits = builder.add(builder.bitcast(args[0], i64), ir.Constant(i64, 1023))  # the rounder's bits shift out
        return builder.bitcast(builder.shl(bits, ir.Constant(i64, 52)), ir.DoubleType())

    return types.float64(t), codegen


def _tanh_float32(x):
    f = types.float32
    c = min(max(x, f(-_F32_TANH_ONE)), f(_F32_TANH_ONE))  # vmaxps and vminps (selects took five instructions)
    v = types.float64(c + c)  # exact
    t = _fma(v, 1.4426950408889634, _MAGIC64)  # k in its low bits
    k = t - _MAGIC64
    s = _power_of_two_of_rounded(t)
    r = _fma(-k, 0.6931471805599453, v)
    r2 = r * r
    p = _TANH_EXPM1_P
    # q = (r + r^2 (p0 + p1 r)) + r^4 (p2 + p3 r + r^2 (p4 + p5 r)): three fmas deep after r (Estrin's scheme
    # and then q = r + r^2 P, four deep, ran 4% slower: the loop is latency-bound)
    lo = _fma(_fma(p[1], r, p[0]), r2, r)
    hi = _fma(_fma(p[5], r, p[4]), r2, _fma(p[3], r, p[2]))
    q = _fma(hi, r2 * r2, lo)
    y = f(1.0 - _div(2.0, _fma(s, q, s + 1.0)))  # (e - 1) / (e + 1) with one operand fewer
    if not abs(x) >= f(2.0 ** -13):  # x itself (within 0.08 ulp): keeps -0.0, whose q is +0.0; and NaN
        y = x
    return y


# float64 tanh(|x|) in two pieces, both computed and one selected (no branches: the loop vectorises).
# Near 0 (|x| < 0.625): x + x^3 P(x^2), P a Chebyshev fit (mpmath.chebyfit, degree 11) of
# (tanh(x) / x - 1) / x^2 on x^2 in [0, 0.625^2], whose own error is below 0.02 ulp; the x^3 P term is under an
# eighth of the result, so its roundings hardly count. Beyond: 1 - 2e / (1 + e) with e = exp(-2|x|) <= 0.29,
# the subtracted term below 0.45 and shrinking fast (the one formula -m / (2 + m), m = expm1(-2|x|), that
# works everywhere was measured 2.6 ulp off: m near -1 carries an ulp of 1). Past _F64_TANH_ONE tanh rounds to 1
# (1 - tanh(a) ~ 2 e**(-2a) is below half an ulp of 1), so |x| is clamped there: infinities (and NaN,
# replaced at the end) take the same path.
_TANH_NEAR = 0.625
_F64_TANH_ONE = 19.5
_TANH_NEAR64 = (
    6.485163482793113e-06, -3.12011014257974e-05, 9.257116129556769e-05, -0.0002375906496055562,
    0.0005896606577757043, -0.0014557754120478055, 0.0035921217511549622, -0.008863235103240878,
    0.021869488519008305, -0.05396825396789699, 0.13333333333333042, -0.3333333333333333,
)


def _tanh_float64(x):
    a = abs(x)
    a = a if a < _F64_TANH_ONE else _F64_TANH_ONE
    z = a * a
    c = _TANH_NEAR64
    p = c[0]
    p = p * z + c[1]
    p = p * z + c[2]
    p = p * z + c[3]
    p = p * z + c[4]
    p = p * z + c[5]
    p = p * z + c[6]
    p = p * z + c[7]
    p = p * z + c[8]
    p = p * z + c[9]
    p = p * z + c[10]
    p = p * z + c[11]
    near = a + a * (z * p)
    # exp's core without its clamps: with them this function outgrew LLVM's inlining threshold, and a
    # call per element kept the activation loop scalar
    e = _exp_float64_in_range(-(a + a))
    far = 1.0 - (e + e) / (1.0 + e)
    t = math.copysign(near if a < _TANH_NEAR else far, x)
    if x != x:
        t = x
    return t


@overload(tanh, target="cpu")
def _tanh_cpu(x):
    if x == types.float32:
        return _tanh_float32
    if x == types.float64:
        return _tanh_float64
    return None


def tanh_on_cuda(x):
    """The CUDA overload of ``tanh``: CUDA's own tanhf / tanh."""
    return lambda x: math.tanh(x)


SQRT1_2 = 0.7071067811865476  # 1/sqrt(2)
INV_SQRT_2PI = 0.3989422804014327  # 1/sqrt(2*pi)


def normal_cdf_pdf(x: float) -> tuple[float, float]:
    """Phi(x) and phi(x), the standard normal distribution and density (gelu's). In CPU kernels, for
    float32: the vectorisable code below, one exp shared by both; float64 is libm's erfc and exp."""
    return 0.5 * math.erfc(-x * SQRT1_2), math.exp(-0.5 * x * x) * INV_SQRT_2PI


# float32: e**(-x^2/2) with x^2/2 carried exactly (hi + lo, lo from an fma) into exp's range reduction, so
# its rounding (an ulp of 50 at x = -10) costs nothing, shared by phi(x) = e**(-x^2/2) / sqrt(2 pi) and the
# tail Phi(-|x|) = e**(-x^2/2) P(|x|) / Q(|x|), P / Q the Mills ratio over sqrt(2 pi) (bench/fit_mills.py:
# relative error 1.3e-8 on 0 <= |x| <= 14.3, past which Phi is below float32's range). All in float32 with
# positive coefficients (no cancellation in Horner's rule), the exp's 2**k applied last (one rounding into
# the subnormals). Relative error of Phi below 4e-7 (6 ulp), of phi below 1.8e-7 (2.2 ulp;
# tests/kernels/test_vmath.py), in the tails too: gelu(x) = x Phi(x) keeps its digits at x << 0, where
# 1 + erf(x / sqrt 2) cancels.
_MILLS_P = (0.500000002876625, 0.43788467539720005, 0.18293102711121678, 0.04053065665847091, 0.004101067699491508)
_MILLS_Q = (1.0, 1.6736543217492394, 1.2012403153177693, 0.4686677425278586, 0.10160187798962975,
            0.010279729025386217)


def _normal_cdf_pdf_float32(x):
    f = types.float32
    square = x * x
    hi, lo = f(0.5) * square, f(0.5) * _fma(x, x, -square)
    a = max(-hi, f(_F32_LO))
    power = _round_to_int32(a * f(1.4426950408889634))
    y = _exp_of_reduced_float32(_reduce_by_ln2(a, f(power), f(0.693359375), f(-2.12194440e-4)) - lo)  # e**-hi / 2**k
    u = abs(x)
    p = f(_MILLS_P[4])
    p = _fma(p, u, f(_MILLS_P[3]))
    p = _fma(p, u, f(_MILLS_P[2]))
    p = _fma(p, u, f(_MILLS_P[1]))
    p = _fma(p, u, f(_MILLS_P[0]))
    q = f(_MILLS_Q[5])
    q = _fma(q, u, f(_MILLS_Q[4]))
    q = _fma(q, u, f(_MILLS_Q[3]))
    q = _fma(q, u, f(_MILLS_Q[2]))
    q = _fma(q, u, f(_MILLS_Q[1]))
    q = _fma(q, u, f(_MILLS_Q[0]))
    tail = _times_power_of_two(y * (p / q), power)
    pdf = _times_power_of_two(y * f(INV_SQRT_2PI), power)
    if hi > -f(_F32_LO):  # below float32's range (also for an infinite hi, whose lo is NaN)
        tail, pdf = f(0.0), f(0.0)
    return (tail if x < f(0.0) else f(1.0) - tail), pdf


def _normal_cdf_pdf_libm(x):
    return 0.5 * math.erfc(-x * SQRT1_2), math.exp(-0.5 * x * x) * INV_SQRT_2PI


@overload(normal_cdf_pdf, target="cpu")
def _normal_cdf_pdf_cpu(x):
    if x == types.float32:
        return _normal_cdf_pdf_float32
    if x == types.float64:
        return _normal_cdf_pdf_libm
    return None


def normal_cdf_pdf_on_cuda(x):
    """The CUDA overload of ``normal_cdf_pdf``: CUDA's own erfc and exp, in x's precision."""
    c = x

    def impl(x):
        return c(0.5) * math.erfc(-x * c(SQRT1_2)), math.exp(c(-0.5) * x * x) * c(INV_SQRT_2PI)

    return impl


def log(x: float) -> float:
    """The natural logarithm (in CPU kernels: the vectorisable code below, for float32 and float64)."""
    return math.log(x)


@intrinsic
def _split_at_root_half(typingctx, x):
    """(m, k) with x = m * 2**k, m in [sqrt(1/2), sqrt(2)) and k a float, for a positive normal float32 or
    float64 x, from its bits: subtracting sqrt(1/2)'s bits makes the exponent field k (an arithmetic
    shift keeps its sign), and taking k out of x's exponent leaves m. Integer adds, shifts and bitcasts,
    which vectorise where frexp's call does not."""
    if x not in (types.float32, types.float64):
        return None
    is32 = x == types.float32
    ftype, itype = (ir.FloatType(), ir.IntType(32)) if is32 else (ir.DoubleType(), ir.IntType(64))
    root_half, shift = (0x3F3504F3, 23) if is32 else (0x3FE6A09E667F3BCD, 52)

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], itype)
        k = builder.ashr(builder.sub(bits, ir.Constant(itype, root_half)), ir.Constant(itype, shift))
        m = builder.bitcast(builder.sub(bits, builder.shl(k, ir.Constant(itype, shift))), ftype)
        kf = builder.sitofp(k, ftype) if is32 else _float64_of_small_int64(builder, k)
        return context.make_tuple(builder, signature.return_type, [m, kf])

    return types.UniTuple(x, 2)(x), codegen


# fdlibm's log (as musl's before its 2018 rewrite): with x = m 2**k and f = m - 1, s = f / (2 + f),
# log(1 + f) = f - hfsq + s (hfsq + R(s^2)), hfsq = f^2 / 2, R a minimax fit; k ln 2 in two parts, k ln2_hi
# exact. Within 1 ulp (tests/kernels/test_vmath.py); no branch, so a loop over it vectorises.
_LOG_LG64 = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
             1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
# float32 log without fdlibm's division: log(1 + f) = f + f^2 (-1/2 + f P(f)), P a Chebyshev fit of degree 8
# to (log(1 + f) - f + f^2 / 2) / f^3 on [sqrt(1/2) - 1, sqrt(2) - 1] (3.8e-9 relative in log, its float32
# coefficients), k ln 2 in fdlibm's two parts. 0.841 ulp over every float32 in [0.5, 2) and a geometric
# sweep of the whole range (logf's rational in s, with a vdivps per 16 elements: 0.835, and 2% more results
# misrounded); its loop takes 0.82x the time.
_LOG_P32 = (0.3333333, -0.2499999, 0.20000708, -0.1666848, 0.14249937, -0.124110505, 0.11661511, -0.11571201,
            0.07149754)


@register_jitable(inline="always")
def _log_split_float32(x):
    """(k, g, p) for a float32 x > 0: x = (1 + g) 2**k, 1 + g in [sqrt(1/2), sqrt(2)), and p = P(g), so that
    log(1 + g) = g + g^2 (g p - 1/2)."""
    f = types.float32
    tiny = x < f(1.17549435e-38)  # subnormal: scaled into the normal range first
    m, k = _split_at_root_half(x * f(33554432.0) if tiny else x)  # 2**25
    k = k - f(25.0) if tiny else k
    g = m - f(1.0)
    c = _LOG_P32
    p = f(c[8])
    p = _fma(p, g, f(c[7]))
    p = _fma(p, g, f(c[6]))
    p = _fma(p, g, f(c[5]))
    p = _fma(p, g, f(c[4]))
    p = _fma(p, g, f(c[3]))
    p = _fma(p, g, f(c[2]))
    p = _fma(p, g, f(c[1]))
    p = _fma(p, g, f(c[0]))
    return k, g, p


@register_jitable(inline="always")
def _log_edges_float32(x, y):
    """y, or the logarithm's value at x's edges: -inf at 0, NaN below, x itself at +inf and NaN."""
    f = types.float32
    if x == f(0.0):
        y = f(-math.inf)
    if x < f(0.0):
        y = f(math.nan)
    if not x < f(math.inf):  # +inf and NaN are their own logarithms: one select for both
        y = x
    return y


def _log_float32(x):
    f = types.float32
    k, g, p = _log_split_float32(x)
    # k ln2_hi last: adding it to g first loses up to an ulp where |k| is large (1.49 ulp measured)
    y = _fma(k, f(6.9313812256e-01), g + _fma(g * g, _fma(g, p, f(-0.5)), k * f(9.0580006145e-06)))
    return _log_edges_float32(x, y)


@register_jitable(inline="always")
def _log_in_base_float32(x, k_hi, k_lo, inv_hi, inv_lo):
    """log(x) / log(b) for float32 x, with log(2) / log(b) = k_hi + k_lo (k k_hi exact for every float32
    exponent k) and 1 / log(b) = inv_hi + inv_lo. log(1 + g) = g - g^2/2 + g^3 P(g): its two large terms are
    carried exactly (sums of two floats: fmas) through the product by 1 / log(b), the large parts added by
    Fast2Sum, then the small ones once: float32 lanes throughout (the float64 route cost 4x per element)."""
    f = types.float32
    k, g, p = _log_split_float32(x)
    square = g * g
    half = f(-0.5) * square  # -g^2/2 and its low part, exactly
    half_lo = f(-0.5) * _fma(g, g, -square)
    cubic = _fma(square, g * p, half_lo)
    lead = g * inv_hi
    second = half * inv_hi
    s1 = lead + second
    small = (_fma(g, inv_hi, -lead) + _fma(half, inv_hi, -second) + (second - (s1 - lead))
             + _fma(g, inv_lo, _fma(half, inv_lo, cubic * inv_hi)) + k * k_lo)
    top = k * k_hi
    s = top + s1
    return _log_edges_float32(x, s + ((s1 - (s - top)) + small))  # Fast2Sum: |top| >= |s1| unless top is 0


def _log_float64(x):
    tiny = x < 2.2250738585072014e-308
    m, k = _split_at_root_half(x * 18014398509481984.0 if tiny else x)  # 2**54
    k = k - 54.0 if tiny else k
    g = m - 1.0
    s = _div(g, 2.0 + g)
    z = s * s
    w = z * z
    c = _LOG_LG64
    r = z * (c[0] + w * (c[2] + w * (c[4] + w * c[6]))) + w * (c[1] + w * (c[3] + w * c[5]))
    hfsq = 0.5 * g * g
    y = s * (hfsq + r) + k * 1.90821492927058770002e-10 - hfsq + g + k * 6.93147180369123816490e-01
    if x == 0.0:
        y = -math.inf
    if x < 0.0:
        y = math.nan
    if not x < math.inf:  # +inf and NaN are their own logarithms: one select for both
        y = x
    return y


@overload(log, target="cpu")
def _log_cpu(x):
    if x == types.float32:
        return _log_float32
    if x == types.float64:
        return _log_float64
    return None


def log_on_cuda(x):
    """The CUDA overload of ``log``: CUDA's own logf / log."""
    return lambda x: math.log(x)


def expm1(x: float) -> float:
    """e**x - 1, accurate near 0 (in CPU kernels, for float32: the vectorisable code below; float64 is
    libm's expm1, whose correctly rounded results PyTorch's float64 comparisons expect)."""
    return math.expm1(x)


# float32 expm1 and log1p in float64 arithmetic, rounded once: near 0 a Taylor polynomial (|x| < 2**-8,
# truncation below 2**-48 relative), elsewhere exp(x) - 1 and log(1 + x) in float64, whose cancellation
# costs at most 8 bits of float64's 53. Within 0.5 ulp and a hair (tests/kernels/test_vmath.py); four lanes
# of float64 per AVX2 vector, but no call: NumPy's float32 expm1 and log1p run libm per element (12 ns).
_NEAR_ZERO = 0.00390625  # 2**-8


def _expm1_float32(x):
    d = types.float64(x)
    near = d * (1.0 + d * (0.5 + d * (1.0 / 6.0 + d * (1.0 / 24.0 + d * (1.0 / 120.0 + d * (1.0 / 720.0))))))
    far = _exp_float64_in_range(min(max(d, -104.0), 89.0)) - 1.0  # float32's range: past 89 the rounding overflows
    y = types.float32(near if abs(d) < _NEAR_ZERO else far)
    if x != x:
        y = x
    return y


def _expm1_libm(x):
    return math.expm1(x)


@overload(expm1, target="cpu")
def _expm1_cpu(x):
    if x == types.float32:
        return _expm1_float32
    if x == types.float64:
        return _expm1_libm
    return None


def expm1_on_cuda(x):
    """The CUDA overload of ``expm1``: CUDA's own expm1f / expm1."""
    return lambda x: math.expm1(x)


def log1p(x: float) -> float:
    """log(1 + x), accurate near 0 (in CPU kernels, for float32: the vectorisable code below; float64 is
    libm's log1p)."""
    return math.log1p(x)


def _log1p_float32(x):
    d = types.float64(x)
    near = d * (1.0 - d * (0.5 - d * (1.0 / 3.0 - d * (0.25 - d * (0.2 - d * (1.0 / 6.0 - d / 7.0))))))
    far = log(1.0 + d)  # 1 + d is exact for |x| >= 2**-8 (float32's 24 bits fit in float64's 53)
    return types.float32(near if abs(d) < _NEAR_ZERO else far)


def _log1p_libm(x):
    return math.log1p(x)


@overload(log1p, target="cpu")
def _log1p_cpu(x):
    if x == types.float32:
        return _log1p_float32
    if x == types.float64:
        return _log1p_libm
    return None


def log1p_on_cuda(x):
    """The CUDA overload of ``log1p``: CUDA's own log1pf / log1p."""
    return lambda x: math.log1p(x)


def log1p_of_unit(u: float) -> float:
    """log(1 + u) for 0 <= u <= 1 (softplus's log1p(exp(-|x|))); in CPU kernels, for float32, the
    vectorisable series below; float64 is libm's log1p."""
    return math.log1p(u)


def _log1p_of_unit_float32(u):
    # log(1 + u) = 2 atanh(s) with s = u / (2 + u) in [0, 1/3]: the odd series to s^19 leaves a relative
    # error below 1e-10, in float64 arithmetic; then rounded to float32.
    s = types.float64(u) / (2.0 + types.float64(u))
    s2 = s * s
    p = 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    return types.float32(2.0 * s * (1.0 + s2 * p))


def _log1p_of_unit_libm(u):
    return math.log1p(u)


@overload(log1p_of_unit, target="cpu")
def _log1p_of_unit_cpu(u):
    if u == types.float32:
        return _log1p_of_unit_float32
    if u == types.float64:
        return _log1p_of_unit_libm
    return None


def log1p_of_unit_on_cuda(u):
    """The CUDA overload of ``log1p_of_unit``: CUDA's own log1p."""
    return lambda u: math.log1p(u)


@njit(inline="always")
def row_max(a):
    """The largest element of the 1-D array ``a`` (non-empty), for CPU kernels. Eight running maxima,
    which LLVM packs into vector max instructions; one running maximum stays a scalar chain (measured:
    4096 rows of 1024 float32, one thread, 2.2 ms with one, 0.6 ms with eight). A NaN in ``a`` may or may
    not come out, so callers must let a NaN row propagate NaN by other means (softmax's exp does)."""
    n = a.size
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = a[0]
    j = 0
    while j + 8 <= n:
        m0 = max(m0, a[j])
        m1 = max(m1, a[j + 1])
        m2 = max(m2, a[j + 2])
        m3 = max(m3, a[j + 3])
        m4 = max(m4, a[j + 4])
        m5 = max(m5, a[j + 5])
        m6 = max(m6, a[j + 6])
        m7 = max(m7, a[j + 7])
        j += 8
    m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    while j < n:
        m = max(m, a[j])
        j += 1
    return m


# float32 transcendental functions in float64 arithmetic, rounded once ------------------------------------
# As expm1 and log1p above: a float32 argument is exact in float64, the function is computed there from
# the vectorisable exp and log (and polynomials) to a relative error near 1e-13, and the one rounding to
# float32 then gives within half an ulp and a hair (tests/kernels/test_vmath.py measures each). Each is
# branch-free (both sides computed, one selected), so a loop over it runs on the vector units, four lanes
# of float64 per AVX2 vector; NumPy's float32 loops of these call libm per element on AVX2 machines.
# float64 arguments take libm's (NumPy's own loops there, so PyTorch's float64 comparisons hold).
_LN2_F64 = 0.6931471805599453


@register_jitable(inline="always")
def _exp_for_float32(x):
    """e**x for a float64 x in [-745, 709] (no clamping, no NaN), to 1e-14 relative: the float32 functions'
    exp. Shorter than _exp_float64_in_range (Taylor to r**11) and in fmas, in Estrin's
    scheme: the loops are latency-bound, and over this one they ran 2x faster."""
    k = _round_to_int32(x * 1.4426950408889634)
    r = _reduce_by_ln2(x, types.float64(k), 6.93147180369123816490e-01, 1.90821492927058770002e-10)
    r2 = r * r
    r4 = r2 * r2
    # e**r = 1 + r + r**2 q(r), q the Taylor series to r**9 / 11!, in Estrin's scheme: a dependency chain
    # of four fmas where Horner's rule has ten, so that more iterations of the loop overlap
    q01 = _fma(1.0 / 6.0, r, 0.5)
    q23 = _fma(1.0 / 120.0, r, 1.0 / 24.0)
    q45 = _fma(1.0 / 5040.0, r, 1.0 / 720.0)
    q67 = _fma(1.0 / 362880.0, r, 1.0 / 40320.0)
    q89 = _fma(1.0 / 39916800.0, r, 1.0 / 3628800.0)
    q = _fma(_fma(q67, r2, q45), r4, _fma(q23, r2, q01))
    p = _fma(_fma(q89, r4 * r4, q), r2, r) + 1.0
    return _times_power_of_two(p, k)


def exp2(x: float) -> float:
    """2**x (in CPU kernels, for float32: the vectorisable code below)."""
    return 2.0 ** x


def _exp2_float32(x):
    d = types.float64(x)
    # 2**-151 rounds to 0 and 2**129 overflows in float32; d * ln 2 is off by 1e-14 relative at most
    y = types.float32(_exp_for_float32(min(max(d, -151.0), 129.0) * _LN2_F64))
    if x != x:
        y = x
    return y


def _exp2_libm(x):
    return 2.0 ** x


@overload(exp2, target="cpu")
def _exp2_cpu(x):
    if x == types.float32:
        return _exp2_float32
    if x == types.float64:
        return _exp2_libm
    return None


def exp2_on_cuda(x):
    """The CUDA overload of ``exp2``: CUDA's own pow, in x's precision."""
    c = x
    return lambda x: math.pow(c(2.0), x)


def log2(x: float) -> float:
    """The base-2 logarithm (in CPU kernels, for float32: the vectorisable code below)."""
    return math.log2(x)


def _log2_float32(x):
    f = types.float32
    return _log_in_base_float32(x, f(1.0), f(0.0), f(1.4426950216293335), f(1.925963033500011e-08))


def _log2_libm(x):
    return math.log2(x)


@overload(log2, target="cpu")
def _log2_cpu(x):
    if x == types.float32:
        return _log2_float32
    if x == types.float64:
        return _log2_libm
    return None


def log2_on_cuda(x):
    """The CUDA overload of ``log2``: CUDA's own log2f / log2."""
    return lambda x: math.log2(x)


def log10(x: float) -> float:
    """The base-10 logarithm (in CPU kernels, for float32: the vectorisable code below)."""
    return math.log10(x)


def _log10_float32(x):
    f = types.float32
    return _log_in_base_float32(x, f(0.301025390625), f(4.605039066518657e-06), f(0.4342944920063019),
                                f(-1.0103049952192578e-08))


def _log10_libm(x):
    return math.log10(x)


@overload(log10, target="cpu")
def _log10_cpu(x):
    if x == types.float32:
        return _log10_float32
    if x == types.float64:
        return _log10_libm
    return None


def log10_on_cuda(x):
    """The CUDA overload of ``log10``: CUDA's own log10f / log10."""
    return lambda x: math.log10(x)


def sinh(x: float) -> float:
    """sinh x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.sinh(x)


# sinh: (e - 1/e) / 2 with e = e**|x|, where the subtraction cancels at most 1.5 bits (|x| >= 1/4); below,
# the Taylor series to x**9 (the next term is under 3e-14 of the result). |x| is clamped at 100, where the
# float64 result already rounds to float32's inf.
_SINH_TAYLOR = (1.0 / 362880.0, 1.0 / 5040.0, 1.0 / 120.0, 1.0 / 6.0)


def _sinh_float32(x):
    d = types.float64(x)
    a = min(abs(d), 100.0)
    z = d * d
    c = _SINH_TAYLOR
    near = d + d * (z * (c[3] + z * (c[2] + z * (c[1] + z * c[0]))))
    e = _exp_for_float32(a)
    far = math.copysign(0.5 * (e - _div(1.0, e)), d)
    y = types.float32(near if a < 0.25 else far)
    if x != x:
        y = x
    return y


def _sinh_libm(x):
    return math.sinh(x)


@overload(sinh, target="cpu")
def _sinh_cpu(x):
    if x == types.float32:
        return _sinh_float32
    if x == types.float64:
        return _sinh_libm
    return None


def sinh_on_cuda(x):
    """The CUDA overload of ``sinh``: CUDA's own sinhf / sinh."""
    return lambda x: math.sinh(x)


def cosh(x: float) -> float:
    """cosh x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.cosh(x)


def _cosh_float32(x):
    e = _exp_for_float32(min(abs(types.float64(x)), 100.0))
    y = types.float32(0.5 * (e + _div(1.0, e)))
    if x != x:
        y = x
    return y


def _cosh_libm(x):
    return math.cosh(x)


@overload(cosh, target="cpu")
def _cosh_cpu(x):
    if x == types.float32:
        return _cosh_float32
    if x == types.float64:
        return _cosh_libm
    return None


def cosh_on_cuda(x):
    """The CUDA overload of ``cosh``: CUDA's own coshf / cosh."""
    return lambda x: math.cosh(x)


def atanh(x: float) -> float:
    """artanh x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.atanh(x)


def _atanh_float32(x):
    d = types.float64(x)
    z = d * d
    # below 2**-8 the odd Taylor series to x**9 (the next term is under 2**-70 relative); elsewhere
    # log((1 + x) / (1 - x)) / 2, both sums exact in float64: the quotient's rounding costs 2.5e-14 of
    # the result at most (one log: with two, the function outgrew LLVM's inlining and the loop stayed scalar)
    near = d + d * (z * (1.0 / 3.0 + z * (0.2 + z * (1.0 / 7.0 + z * (1.0 / 9.0)))))
    far = 0.5 * log(_div(1.0 + d, 1.0 - d))  # +-inf at +-1, NaN beyond
    y = types.float32(near if abs(d) < _NEAR_ZERO else far)
    if x != x:
        y = x
    return y


def _atanh_libm(x):
    return math.atanh(x)


@overload(atanh, target="cpu")
def _atanh_cpu(x):
    if x == types.float32:
        return _atanh_float32
    if x == types.float64:
        return _atanh_libm
    return None


def atanh_on_cuda(x):
    """The CUDA overload of ``atanh``: CUDA's own atanhf / atanh."""
    return lambda x: math.atanh(x)


def asinh(x: float) -> float:
    """arsinh x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.asinh(x)


def _asinh_float32(x):
    d = types.float64(x)
    a = abs(d)
    z = d * d
    # below 2**-8 the Taylor series to x**9; elsewhere log(|x| + sqrt(x**2 + 1)), whose argument's
    # rounding costs at most 8 bits (float32's largest x squared is far inside float64's range)
    near = a + a * (z * (-1.0 / 6.0 + z * (3.0 / 40.0 + z * (-5.0 / 112.0 + z * (35.0 / 1152.0)))))
    far = log(a + math.sqrt(z + 1.0))
    y = types.float32(math.copysign(near if a < _NEAR_ZERO else far, d))  # -0 too
    if x != x:
        y = x
    return y


def _asinh_libm(x):
    return math.asinh(x)


@overload(asinh, target="cpu")
def _asinh_cpu(x):
    if x == types.float32:
        return _asinh_float32
    if x == types.float64:
        return _asinh_libm
    return None


def asinh_on_cuda(x):
    """The CUDA overload of ``asinh``: CUDA's own asinhf / asinh."""
    return lambda x: math.asinh(x)


# arctan in float64: |x| reduced to |t| <= tan(pi/8) by one division (t = -1/|x| past tan(3 pi/8), (|x| - 1) /
# (|x| + 1) past tan(pi/8), with pi/2 or pi/4 added), then t + t z P(z), z = t**2, P interpolated at Chebyshev
# nodes (mpmath; 2.4e-14 off, 4e-15 of the result). Cephes' rational P/Q took a second float64 division: the
# loop's cost (bench/NOTES.md, forty-third session).
_ATAN_P = (-0.027232884043622466, 0.05168834934826018, -0.06550907307277797, 0.07681045202704365,
           -0.09090255952687781, 0.1111108964921094, -0.14285713930378566, 0.19999999997724888,
           -0.3333333333333093)


@register_jitable
def _atan_of_nonnegative(a):
    """arctan a for a float64 a >= 0 (inf included: pi/2)."""
    big = a > 2.414213562373095
    mid = a > 0.41421356237309503
    t = _div(-1.0 if big else (a - 1.0 if mid else a), a if big else (a + 1.0 if mid else 1.0))
    base = 1.5707963267948966 if big else (0.7853981633974483 if mid else 0.0)
    z = t * t
    z2 = z * z
    p = _fma(_estrin8(_ATAN_P, 0, z, z2, z2 * z2), z, _ATAN_P[8])
    return base + _fma(t * z, p, t)


# arcsin in float64 without a division: for a = |x| <= 1/2, a + a z P(z) with z = a**2; beyond, pi/2 - 2 w
# (1 + z P(z)) with z = (1 - a)/2 (exact) and w = sqrt(z), arcsin w being that series too (Cephes' asinf's
# reduction). P interpolated at Chebyshev nodes on [0, 1/4] (mpmath; 5.8e-14 off, 1.5e-14 of the result).
_ASIN_P = (0.0279070314326661, -0.0029397929067241963, 0.015675662527070935, 0.01318791613675373,
           0.017441495685492855, 0.02236606593888501, 0.030382182776212484, 0.04464285243793872,
           0.07500000003584559, 0.1666666666666218)


@register_jitable(inline="always")
def _asin_parts(a):
    """(p, far) for a float64 a = |x|: arcsin a = p where a <= 1/2 (far False), pi/2 - 2p beyond (p is
    arcsin sqrt((1 - a)/2) there); NaN past 1."""
    far = a > 0.5
    z = 0.5 - 0.5 * a if far else a * a
    w = math.sqrt(z) if far else a
    z2 = z * z
    q = _fma(_estrin8(_ASIN_P, 0, z, z2, z2 * z2), z2, _fma(_ASIN_P[8], z, _ASIN_P[9]))
    return _fma(w * z, q, w), far


def atan(x: float) -> float:
    """arctan x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.atan(x)


def _atan_float32(x):
    d = types.float64(x)
    y = types.float32(math.copysign(_atan_of_nonnegative(abs(d)), d))
    if x != x:
        y = x
    return y


def _atan_libm(x):
    return math.atan(x)


@overload(atan, target="cpu")
def _atan_cpu(x):
    if x == types.float32:
        return _atan_float32
    if x == types.float64:
        return _atan_libm
    return None


def atan_on_cuda(x):
    """The CUDA overload of ``atan``: CUDA's own atanf / atan."""
    return lambda x: math.atan(x)


def asin(x: float) -> float:
    """arcsin x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.asin(x)


def _asin_float32(x):
    d = types.float64(x)
    p, far = _asin_parts(abs(d))
    y = types.float32(math.copysign(1.5707963267948966 - 2.0 * p if far else p, d))
    if x != x:
        y = x
    return y


def _asin_libm(x):
    return math.asin(x)


@overload(asin, target="cpu")
def _asin_cpu(x):
    if x == types.float32:
        return _asin_float32
    if x == types.float64:
        return _asin_libm
    return None


def asin_on_cuda(x):
    """The CUDA overload of ``asin``: CUDA's own asinf / asin."""
    return lambda x: math.asin(x)


def acos(x: float) -> float:
    """arccos x (in CPU kernels, for float32: the vectorisable code below)."""
    return math.acos(x)


def _acos_float32(x):
    d = types.float64(x)
    # pi/2 - arcsin x within 1/2, else 2 arcsin sqrt((1 - |x|)/2) from 0 or pi: no cancellation near 1,
    # exactly 0 at 1 and pi at -1, NaN past them
    p, far = _asin_parts(abs(d))
    y = types.float32((3.141592653589793 - 2.0 * p if d < 0.0 else 2.0 * p) if far
                      else 1.5707963267948966 - math.copysign(p, d))
    if x != x:
        y = x
    return y


def _acos_libm(x):
    return math.acos(x)


@overload(acos, target="cpu")
def _acos_cpu(x):
    if x == types.float32:
        return _acos_float32
    if x == types.float64:
        return _acos_libm
    return None


def acos_on_cuda(x):
    """The CUDA overload of ``acos``: CUDA's own acosf / acos."""
    return lambda x: math.acos(x)


# erf and erfc in float64 for float32 arguments. erfc: |x| < 1/2, 1 - erf(x) with erf(x) = x P(x**2), P a
# least-squares fit on Chebyshev nodes (mpmath's erf; relative error 1.3e-15). Beyond, erfc(|x|) =
# t e**(-x**2 + G(t)) with t = 2 / (2 + |x|), as Numerical Recipes' erfccheb, G a degree-14 Chebyshev fit
# (mpmath) on |x| in [1/2, 10.1], 5.7e-13 off in the exponent: x**2 is exact in float64, so the exponent's
# rounding costs 1e-14 at most. Past 10.1 erfc rounds to 0 in float32, and |x| is clamped there.
_ERF_NEAR = (-1.3373443461039653e-05, 0.00011993531550379323, -0.0008547033081050058, 0.0052239625588917935,
             -0.026866169690572542, 0.1128379166798179, -0.3761263890314837, 1.1283791670955114)
_ERFC_G = (-2.7458476299446664e-08, 1.0054561402954435e-07, 1.963890980812166e-07, -1.3123106332540403e-06,
           -2.05483981994606e-07, 1.1572973838280902e-05, -9.508645729542861e-06, -9.442121043215112e-05,
           0.00015179177252537638, 0.0008652532335031234, -0.0018451390288423267, -0.011613839566555675,
           0.02100968788489964, 0.4247413157125222, -0.6950830433299243)


@register_jitable(inline="always")
def _erf_near_zero(d, z):
    """erf(d) for a float64 |d| < 1/2, z = d**2 (Estrin's scheme, as _exp_for_float32)."""
    c = _ERF_NEAR
    z2 = z * z
    p = _fma(_fma(c[0], z, c[1]), z2, _fma(c[2], z, c[3]))
    p = _fma(p, z2 * z2, _fma(_fma(c[4], z, c[5]), z2, _fma(c[6], z, c[7])))
    return d * p


@register_jitable(inline="always")
def _erfc_of_nonnegative(a):
    """erfc(a) for a float64 a >= 1/2 (to 1e-13 relative; 0 for float32 past 10.1)."""
    a = min(a, 10.1)
    t = _div(2.0, 2.0 + a)
    y = t * 3.1510416666666665 - 1.5208333333333333  # [1/2, 10.1] onto [-1, 1]
    return t * _exp_for_float32(_estrin15(_ERFC_G, y) - a * a)


@register_jitable(inline="always")
def _estrin15(c, y):
    """The polynomial of degree 14 with coefficients c (highest degree first) at y, in Estrin's scheme."""
    y2 = y * y
    y4 = y2 * y2
    lo = _fma(_fma(_fma(c[7], y, c[8]), y2, _fma(c[9], y, c[10])), y4,
              _fma(_fma(c[11], y, c[12]), y2, _fma(c[13], y, c[14])))
    hi = _fma(_fma(c[0], y2, _fma(c[1], y, c[2])), y4, _fma(_fma(c[3], y, c[4]), y2, _fma(c[5], y, c[6])))
    return _fma(hi, y4 * y4, lo)


def erf(x: float) -> float:
    """The error function (in CPU kernels, for float32: the vectorisable code below)."""
    return math.erf(x)


# erf alone (which needs no erfc tail): erf(x) = x Q(x**2) on |x| <= 3.95, past which it rounds to +-1 in
# float32 (1 - erf(3.95) = 2.3e-8, under half an ulp of 1), so |x| is clamped there. Q is a Chebyshev fit
# (mpmath.chebyfit, degree 23) of erf(sqrt(z)) / sqrt(z) in u = 2z / 3.95**2 - 1, its coefficients under
# 0.36 (no cancellation in float64); 1.5e-14 off, 2**-45 of erf with the float64 roundings. One polynomial
# and no division, exp or select between branches: 2.2-2.6x faster per thread than erfc's road was.
_ERF_CLAMP = 3.95
_ERF_Q = (-3.138116105886387e-07, 1.0266701617149938e-06, -1.3580865808194652e-06, 3.703240593653772e-06,
          -1.441051557008023e-05, 3.8567256772584354e-05, -9.145545517466591e-05, 0.00021868120654006034,
          -0.0005029697732771602, 0.001086035629021373, -0.002213463287067898, 0.0042609514569263264,
          -0.007722779710872792, 0.013149757022946932, -0.021009323493837835, 0.03148700646415691,
          -0.044327122648973497, 0.05885740948133403, -0.07431601119738364, 0.09049139610389767,
          -0.1086385946557109, 0.13317655496372605, -0.17876950536950723, 0.3580007695938528)


@register_jitable(inline="always")
def _estrin8(c, i, u, u2, u4):
    """c[i] u**7 + c[i + 1] u**6 + ... + c[i + 7] in Estrin's scheme (u2 = u**2, u4 = u**4)."""
    return _fma(_fma(_fma(c[i], u, c[i + 1]), u2, _fma(c[i + 2], u, c[i + 3])), u4,
                _fma(_fma(c[i + 4], u, c[i + 5]), u2, _fma(c[i + 6], u, c[i + 7])))


def _erf_float32(x):
    d = types.float64(x)
    a = abs(d)
    a = a if a < _ERF_CLAMP else _ERF_CLAMP  # NaN becomes the clamp here, and x again at the end
    u = _fma(a, a * (2.0 / (_ERF_CLAMP * _ERF_CLAMP)), -1.0)
    u2 = u * u
    u4 = u2 * u2
    u8 = u4 * u4
    c = _ERF_Q
    q = _fma(_fma(_estrin8(c, 0, u, u2, u4), u8, _estrin8(c, 8, u, u2, u4)), u8, _estrin8(c, 16, u, u2, u4))
    y = types.float32(math.copysign(a * q, d))  # -0.0 kept
    if x != x:
        y = x
    return y


def _erf_libm(x):
    return math.erf(x)


@overload(erf, target="cpu", inline="always")
def _erf_cpu(x):
    if x == types.float32:
        return _erf_float32
    if x == types.float64:
        return _erf_libm
    return None


def erf_on_cuda(x):
    """The CUDA overload of ``erf``: CUDA's own erff / erf."""
    return lambda x: math.erf(x)


def erfc(x: float) -> float:
    """1 - erf(x), accurate where erf is near 1 (in CPU kernels, for float32: the vectorisable code below)."""
    return math.erfc(x)


def _erfc_float32(x):
    d = types.float64(x)
    a = abs(d)
    z = d * d
    tail = _erfc_of_nonnegative(a)
    far = tail if d > 0.0 else 2.0 - tail
    y = types.float32(1.0 - _erf_near_zero(d, z) if a < 0.5 else far)
    if x != x:
        y = x
    return y


def _erfc_libm(x):
    return math.erfc(x)


@overload(erfc, target="cpu", inline="always")
def _erfc_cpu(x):
    if x == types.float32:
        return _erfc_float32
    if x == types.float64:
        return _erfc_libm
    return None


def erfc_on_cuda(x):
    """The CUDA overload of ``erfc``: CUDA's own erfcf / erfc."""
    return lambda x: math.erfc(x)


# erfinv, digamma and trigamma for float32, in float64 arithmetic ----------------------------------------
# (CPU only: no CUDA kernel calls them; their ops take cupyx.scipy.special's on the GPU)
# erfinv(y) = y F(w), w = -log(1 - y**2), with F a degree-14 Chebyshev fit (mpmath's erfinv) in w on
# [0, 5] and in sqrt(w) on [5, 16.2] (as M. Giles' single-precision erfinv, gpugrad/_erf.py's start, whose
# degree-8 fits are 4e-7 off): 1.8e-12 and 5.8e-12 relative. float32's y below 1 reach w = 15.95.
_ERFINV_CENTRAL = (1.6053096122423325e-07, -5.0066454204413104e-08, -1.7855565852630745e-06, 3.093852861880751e-06,
                   8.593227380245365e-06, -4.160383072670067e-05, 2.05007115815659e-05, 0.0002922578163069427,
                   -0.0008341429065053338, -0.0004879120688830519, 0.008525401863700306, -0.019573559821420696,
                   -0.02610823582102515, 0.6166006918277999, 1.5014093511111337)
_ERFINV_TAIL = (-9.434635177146492e-08, -8.570409234073009e-07, 3.3140616752578404e-06, -7.332990005563206e-08,
                -1.959153057891123e-05, 4.9399214571614565e-05, -3.379392528489621e-05, -0.00015254150056967717,
                0.0006389116941698516, -0.0014187289194226296, 0.002384487062684457, -0.003733962714367443,
                0.005568942078153523, 0.897822144033148, 2.963835965527929)


def erfinv(x: float) -> float:
    """The inverse of erf on (-1, 1), +-inf at +-1, NaN beyond (in CPU kernels, for float32: the
    vectorisable code below; plain Python has none, so this is Newton's method on math.erf)."""
    if not abs(x) < 1.0:
        return math.copysign(math.inf, x) if abs(x) == 1.0 else math.nan
    y = 0.0
    for _ in range(100):
        step = (math.erf(y) - x) / (2.0 / math.sqrt(math.pi) * math.exp(-y * y))
        y -= step
        if abs(step) <= 1e-17 * abs(y):
            break
    return y


def _erfinv_float32(x):
    d = types.float64(x)
    a = min(abs(d), 0.99999997)  # float32's largest below 1 (+-1 and beyond are set at the end)
    w = -log(1.0 - a * a)  # 1 - a**2 is exact but where a**2 < 2**-30 (w is a**2 there, F(0) nearly F(w))
    central = _estrin15(_ERFINV_CENTRAL, w * 0.4 - 1.0)
    tail = _estrin15(_ERFINV_TAIL, math.sqrt(w) * 1.1180339887498951 - 3.5000000000000004)
    r = types.float32(math.copysign(a * (central if w < 5.0 else tail), d))
    if abs(d) >= 1.0:
        r = types.float32(math.copysign(math.inf, d)) if abs(d) == 1.0 else types.float32(math.nan)
    if x != x:
        r = x
    return r


@overload(erfinv, target="cpu", inline="always")
def _erfinv_cpu(x):
    if x == types.float32:
        return _erfinv_float32
    return None


# digamma and trigamma for x > 0: shifted up by ten with the recurrences (psi(x) = psi(x + 10) - the sum
# of 1/(x + k), psi'(x) = psi'(x + 10) + the sum of 1/(x + k)**2, k < 10) where x < 10, the sums as two
# quotients of products (five factors each: few roundings and divisions), then the asymptotic series at
# x + 10, whose next terms are below 1e-16 there. x < 0 by reflection: psi(x) = psi(1 - x) - pi cot(pi x),
# psi'(x) = pi**2 / sin(pi x)**2 - psi'(1 - x), with sin and cos of pi times x's distance to the nearest
# integer (exact) by their Taylor series to degree 21 and 20 (below 1e-16 on [-pi/2, pi/2]).
_SINPI = tuple(
    (-1.0) ** k * math.pi ** (2 * k + 1) / math.factorial(2 * k + 1) for k in range(10, -1, -1))
_COSPI = tuple((-1.0) ** k * math.pi ** (2 * k) / math.factorial(2 * k) for k in range(10, -1, -1))


@register_jitable(inline="always")
def _sin_cos_pi(g):
    """(sin(pi g), cos(pi g)) for a float64 |g| <= 1/2."""
    z = g * g
    s = _SINPI[0]
    c = _COSPI[0]
    for i in range(1, 11):  # unrolled by LLVM
        s = _fma(s, z, _SINPI[i])
        c = _fma(c, z, _COSPI[i])
    return s * g, c


@register_jitable(inline="always")
def _shift_sums(x):
    """(sum of 1/(x + k), sum of 1/(x + k)**2) over k < 10, for a float64 x > 0."""
    p1 = x
    d1 = 1.0
    p2 = x + 5.0
    d2 = 1.0
    s1 = _div(1.0, x * x)
    s2 = _div(1.0, p2 * p2)
    for k in range(1, 5):  # p = the product of the factors, d = its derivative (product rule)
        f1 = x + k
        f2 = x + (k + 5)
        d1 = _fma(d1, f1, p1)
        p1 = p1 * f1
        d2 = _fma(d2, f2, p2)
        p2 = p2 * f2
        s1 += _div(1.0, f1 * f1)
        s2 += _div(1.0, f2 * f2)
    return _div(d1, p1) + _div(d2, p2), s1 + s2


@register_jitable(inline="always")
def _digamma_trigamma_positive(x):
    """(psi(x), psi'(x)) for a float64 x > 0 (inf: (inf, 0))."""
    small = x < 10.0
    s1, s2 = _shift_sums(min(x, 10.0))
    z = x + 10.0 if small else x
    inv = _div(1.0, z)
    inv2 = inv * inv
    # -sum B_2k / (2k z**2k), k = 1..7, and sum B_2k / z**(2k+1), k = 1..7 (Bernoulli numbers)
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (
        1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760 - inv2 * (1.0 / 12)))))))
    psi = log(z) - 0.5 * inv - series
    series1 = inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 * (
        1.0 / 30 - inv2 * (5.0 / 66 - inv2 * (691.0 / 2730 - inv2 * (7.0 / 6)))))))
    psi1 = inv + inv * (0.5 * inv + series1)
    if small:
        psi = psi - s1
        psi1 = psi1 + s2
    return psi, psi1


def digamma(x: float) -> float:
    """psi(x) = d/dx ln Gamma(x): -inf at +0, inf at -0, NaN at the negative integers and -inf (in CPU
    kernels, for float32: the vectorisable code below; plain Python: gpugrad/_gamma.py's float64 one)."""
    from .._gamma import digamma_scalar

    return digamma_scalar(x)


def _digamma_float32(x):
    d = types.float64(x)
    positive = d > 0.0
    g = d - np.floor(d + 0.5)  # x's distance to the nearest integer, exact
    s, c = _sin_cos_pi(g)
    psi, _ = _digamma_trigamma_positive(d if positive else 1.0 - d)
    y = psi if positive else psi - _div(math.pi * c, s)
    r = types.float32(y)
    if d == 0.0:
        r = types.float32(math.copysign(math.inf, -d))  # -inf at +0, +inf at -0
    elif not positive and g == 0.0:  # the poles, and -inf
        r = types.float32(math.nan)
    if x != x:
        r = x
    return r


@overload(digamma, target="cpu", inline="always")
def _digamma_cpu(x):
    if x == types.float32:
        return _digamma_float32
    return None


def trigamma(x: float) -> float:
    """psi'(x), the derivative of digamma: inf at 0 and the negative integers, NaN at -inf, 0 at inf (in
    CPU kernels, for float32: the vectorisable code below; plain Python: gpugrad/_gamma.py's float64 one)."""
    from .._gamma import polygamma_scalar

    return polygamma_scalar(1, x)


def _trigamma_float32(x):
    d = types.float64(x)
    positive = d > 0.0
    g = d - np.floor(d + 0.5)
    s, _ = _sin_cos_pi(g)
    _, psi1 = _digamma_trigamma_positive(d if positive else 1.0 - d)
    y = psi1 if positive else _div(math.pi * math.pi, s * s) - psi1
    r = types.float32(y)
    if not positive and g == 0.0:  # 0 and the negative integers (inf), -inf (NaN)
        r = types.float32(math.inf) if d > -math.inf else types.float32(math.nan)
    if x != x:
        r = x
    return r


@overload(trigamma, target="cpu", inline="always")
def _trigamma_cpu(x):
    if x == types.float32:
        return _trigamma_float32
    return None


def tan(x: float) -> float:
    """tan x (in CPU kernels, for float32 |x| <= _TAN_REDUCED: the vectorisable code below; larger
    arguments need more of pi's digits, and the float32 loop of gpugrad/_vmath_ufuncs.py takes libm's tan
    of them)."""
    return math.tan(x)


# tan in float64 for float32 x: x = k pi/2 + r, k = round(2x/pi), |r| <= pi/4, with pi/2 in three parts
# (161 bits), each k * part subtracted by an fma: the products are exact inside it and each rounding is
# relative to what is left, so r keeps float64's relative accuracy however close x is to a multiple of
# pi/2, as far as k fits the first part's exact product (|x| <= 2**20, far inside). tan r is Cephes' tan.c
# rational, x + x**3 P(x**2) / Q(x**2), 2.2e-16 relative; for an odd k, tan x = -1 / tan r. Both as one
# quotient: a float64 division is the loop's costliest instruction.
_TAN_REDUCED = 1048576.0
_PIO2 = (1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33)
_TAN_P = (-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7)
_TAN_Q = (1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7,
          -5.38695755929454629881e7)


def _tan_float32(x):
    d = types.float64(x)
    k = np.floor(min(max(d, -_TAN_REDUCED), _TAN_REDUCED) * 0.6366197723675814 + 0.5)
    r = _fma(-k, _PIO2[2], _fma(-k, _PIO2[1], _fma(-k, _PIO2[0], d)))
    z = r * r
    p, q = _TAN_P, _TAN_Q
    num = (p[0] * z + p[1]) * z + p[2]
    den = (((z + q[0]) * z + q[1]) * z + q[2]) * z + q[3]
    # tan r = r (den + z num) / den, and for an odd k -den / (r (den + z num)): one division either way
    top = r * _fma(z, num, den)
    odd = k - 2.0 * np.floor(0.5 * k) != 0.0
    y = types.float32(_div(-den if odd else top, top if odd else den))
    if abs(d) == math.inf:
        y = types.float32(math.nan)
    if x != x or d == 0.0:  # NaN, and the sign of zero
        y = x
    return y


def _tan_libm(x):
    return math.tan(x)


@overload(tan, target="cpu")
def _tan_cpu(x):
    if x == types.float32:
        return _tan_float32
    if x == types.float64:
        return _tan_libm
    return None


def tan_on_cuda(x):
    """The CUDA overload of ``tan``: CUDA's own tanf / tan."""
    return lambda x: math.tan(x)


def sin(x: float) -> float:
    """sin x (in CPU kernels, for float32 |x| <= _TAN_REDUCED: the vectorisable code below; the float32
    loop of gpugrad/_vmath_ufuncs.py takes libm's float64 sin of larger arguments)."""
    return math.sin(x)


def cos(x: float) -> float:
    """cos x (as ``sin``)."""
    return math.cos(x)


# sin and cos for float32 x, within 1 ulp (measured 0.759 over every float32 up to 2**20; NumPy's float32
# loops on AVX2 are 1.4 ulp off, PyTorch's (SLEEF's u10) within 1): x = k pi/2 + r in float64, k =
# round(2x/pi) by adding and subtracting 1.5 * 2**52, pi/2 in two parts subtracted by fmas (the first
# product and difference exact, the second rounded relative to what is left; the parts' error, 1e-33 per
# multiple, stays below 1e-18 of the smallest |r| a float32 up to _TAN_REDUCED leaves: 4.2e-9, at x =
# 252.89821, over every float32 there). r is then hi + lo, two float32s, and the rest runs in float32 on
# twice the vector lanes: sin(hi + lo) = hi + (lo (1 - z/2) + hi z S(z)) and cos(hi + lo) = w + ((1 - w) -
# z/2 - e/2 + z^2 C(z) - hi lo), z = hi^2 with its exact rounding error e, w = 1 - z/2 (fdlibm's cos
# kernel), S and C degree-2 fits on |r| <= pi/4 (5e-9 and 1.3e-10 relative, float32 coefficients). All in
# float64 took twice as long: slower per thread than NumPy's float32 loops.
_SIN_S = (-0.16666655242443085, 0.008332186378538609, -0.0001951815065694973)
_COS_C = (0.04166664555668831, -0.0013887312961742282, 2.443284392938949e-05)
_ROUNDER = 6755399441055744.0  # 1.5 * 2**52: t + it - it rounds t to an integer, for |t| < 2**51


@register_jitable
def sin_shifted_float32(x, shift):
    """sin(x + shift pi/2) for a float32 x, |x| <= _TAN_REDUCED (larger ones come out wrong), shift a
    float32 0, 1, 2 or 3 (sin, cos, -sin, -cos: one code serves the functions and their derivatives; a
    constant shift folds away): within 1 ulp. inf gives NaN, NaN NaN, +-0 sin's and -sin's signed zeros
    (hi z S(z) would turn -0 into +0). The quadrant k + shift mod 4 picks sin r or cos r and the sign."""
    d = types.float64(x)
    k = _fma(d, 0.6366197723675814, _ROUNDER) - _ROUNDER
    r = _fma(k, -_PIO2[1], _fma(k, -_PIO2[0], d))
    hi = types.float32(r)
    lo = types.float32(r - types.float64(hi))
    half, one = types.float32(0.5), types.float32(1.0)
    s0, s1, s2 = types.float32(_SIN_S[0]), types.float32(_SIN_S[1]), types.float32(_SIN_S[2])
    c0, c1, c2 = types.float32(_COS_C[0]), types.float32(_COS_C[1]), types.float32(_COS_C[2])
    z = hi * hi
    e = _fma(hi, hi, -z)
    sin_r = hi + _fma(hi * z, _fma(_fma(s2, z, s1), z, s0), lo * _fma(-half, z, one))
    hz = half * z
    w = one - hz
    cos_r = w + _fma(z * z, _fma(_fma(c2, z, c1), z, c0), ((one - w) - hz) - _fma(half, e, hi * lo))
    h = half * (types.float32(k) + shift)
    odd = np.floor(h)
    v = cos_r if h != odd else sin_r  # an odd quadrant: cos r
    y = -v if half * odd != np.floor(half * odd) else v  # the third and fourth: negated
    if (shift == 0.0 or shift == 2.0) and not abs(d) > 0.0:  # 0 (and NaN, which stays itself)
        y = x if shift == 0.0 else -x
    return y


def _sin_float32(x):
    return sin_shifted_float32(x, types.float32(0.0))


def _cos_float32(x):
    return sin_shifted_float32(x, types.float32(1.0))


def _sin_libm(x):
    return math.sin(x)


def _cos_libm(x):
    return math.cos(x)


@overload(sin, target="cpu")
def _sin_cpu(x):
    if x == types.float32:
        return _sin_float32
    if x == types.float64:
        return _sin_libm
    return None


@overload(cos, target="cpu")
def _cos_cpu(x):
    if x == types.float32:
        return _cos_float32
    if x == types.float64:
        return _cos_libm
    return None


def sin_on_cuda(x):
    """The CUDA overload of ``sin``: CUDA's own sinf / sin."""
    return lambda x: math.sin(x)


def cos_on_cuda(x):
    """The CUDA overload of ``cos``: CUDA's own cosf / cos."""
    return lambda x: math.cos(x)


def erf_slope(x: float) -> float:
    """2/sqrt(pi) e**(-x**2), erf's derivative (in CPU kernels, for float32: the vectorisable code below,
    x**2 exact in float64, rounded once: within 0.5 ulp and a hair)."""
    return 1.1283791670955126 * math.exp(-x * x)


def _erf_slope_float32(x):
    d = types.float64(x)
    y = types.float32(1.1283791670955126 * _exp_for_float32(max(-(d * d), -745.0)))
    if x != x:
        y = x
    return y


def _erf_slope_libm(x):
    return 1.1283791670955126 * math.exp(-x * x)


@overload(erf_slope, target="cpu")
def _erf_slope_cpu(x):
    if x == types.float32:
        return _erf_slope_float32
    if x == types.float64:
        return _erf_slope_libm
    return None


def erf_slope_on_cuda(x):
    """The CUDA overload of ``erf_slope``: CUDA's own exp, in x's precision."""
    c = x
    return lambda x: c(1.1283791670955126) * math.exp(-x * x)


def erfc_slope(x: float) -> float:
    """-2/sqrt(pi) e**(-x**2), erfc's derivative (as erf_slope)."""
    return -erf_slope(x)


def _erfc_slope_float32(x):
    return -erf_slope(x)


@overload(erfc_slope, target="cpu")
def _erfc_slope_cpu(x):
    if x in (types.float32, types.float64):
        return _erfc_slope_float32
    return None


def erfc_slope_on_cuda(x):
    """The CUDA overload of ``erfc_slope``: CUDA's own exp, in x's precision."""
    c = x
    return lambda x: c(-1.1283791670955126) * math.exp(-x * x)


# The inverse functions' derivatives (and erfinv's and tan's, from their results) for float32, each in one
# pass: computed in float64 from x's exact
# float64 square (or (1 - x)(1 + x), exact too) and rounded once, within 0.5 ulp and a hair; inf at the
# domain's ends, NaN outside, as the Tensor-op formulas they replace. (float64: those formulas.)
def asin_slope(x: float) -> float:
    """1 / sqrt(1 - x**2), arcsin's derivative."""
    return 1.0 / math.sqrt((1.0 - x) * (1.0 + x))


def acos_slope(x: float) -> float:
    """-1 / sqrt(1 - x**2), arccos's derivative."""
    return -1.0 / math.sqrt((1.0 - x) * (1.0 + x))


def asinh_slope(x: float) -> float:
    """1 / sqrt(x**2 + 1), arsinh's derivative."""
    return 1.0 / math.sqrt(x * x + 1.0)


def atan_slope(x: float) -> float:
    """1 / (x**2 + 1), arctan's derivative."""
    return 1.0 / (x * x + 1.0)


def atanh_slope(x: float) -> float:
    """1 / (1 - x**2), artanh's derivative."""
    return 1.0 / ((1.0 - x) * (1.0 + x))


def erfinv_slope(x: float) -> float:
    """sqrt(pi)/2 e**(x**2), erfinv's derivative where erfinv's result is x."""
    return 0.886226925452758 * math.exp(x * x)


def tan_slope(x: float) -> float:
    """1 + x**2, tan's derivative where tan's result is x."""
    return 1.0 + x * x


def _erfinv_slope_float32(x):
    d = types.float64(x)
    r = types.float32(0.886226925452758 * _exp_for_float32(min(d * d, 709.0)))  # inf past float32's range
    if x != x:
        r = x
    return r


def _tan_slope_float32(x):
    d = types.float64(x)
    return types.float32(1.0 + d * d)


def _asin_slope_float32(x):
    d = types.float64(x)
    return types.float32(_div(1.0, math.sqrt((1.0 - d) * (1.0 + d))))


def _acos_slope_float32(x):
    d = types.float64(x)
    return types.float32(_div(-1.0, math.sqrt((1.0 - d) * (1.0 + d))))


def _asinh_slope_float32(x):
    d = types.float64(x)
    return types.float32(_div(1.0, math.sqrt(d * d + 1.0)))


def _atan_slope_float32(x):
    d = types.float64(x)
    return types.float32(_div(1.0, d * d + 1.0))


def _atanh_slope_float32(x):
    d = types.float64(x)
    return types.float32(_div(1.0, (1.0 - d) * (1.0 + d)))


def _register_slope(spec, float32_impl):
    formula = type(spec)(spec.__code__, spec.__globals__, spec.__name__)  # a copy: the spec is the overloaded

    def typer(x):
        if x == types.float32:
            return float32_impl
        if x == types.float64:
            return formula
        return None

    overload(spec, target="cpu")(typer)


for _spec, _impl in ((asin_slope, _asin_slope_float32), (acos_slope, _acos_slope_float32),
                     (asinh_slope, _asinh_slope_float32), (atan_slope, _atan_slope_float32),
                     (atanh_slope, _atanh_slope_float32), (erfinv_slope, _erfinv_slope_float32),
                     (tan_slope, _tan_slope_float32)):
    _register_slope(_spec, _impl)
