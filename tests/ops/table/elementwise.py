"""Op-table rows: arithmetic, math and clamp/maximum/minimum/where (gpugrad/ops/elementwise.py)."""
import numpy as np

import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401


def off_integer(rng, shape):
    """n + f with n in -2..2 and |f| in [0.3, 0.7]: divided by a near_unit divisor, the quotient stays
    at least 0.2 from an integer, away from the jumps of fmod, remainder and rounded division."""
    return rng.integers(-2, 3, shape) + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 0.7, shape)


def near_unit(rng, shape):
    """+-[0.97, 1.03]: divisors that keep off_integer quotients off the integers."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.97, 1.03, shape)


def nonfinite_free_mix(rng, shape):
    """Values of both signs with a few exact zeros left out (nan_to_num is the identity on them)."""
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0) * rng.uniform(0.1, 3.0, shape)

ROWS = [
    Row("add", lambda a, b: a + b, [((3, 4), real), ((4,), real)]),
    Row("add_scalar_alpha", lambda a, b: gg.add(a, b, alpha=2.5) + 1.5, [((2, 3), real), ((2, 1), real)], op="add", torch=lambda torch, a, b: torch.add(a, b, alpha=2.5) + 1.5),
    Row("sub", lambda a, b: a - b, [((3, 1), real), ((1, 4), real)]),
    Row("rsub", lambda a: 2.0 - a, [((5,), real)], op="sub"),
    Row("rsub_function", lambda a, b: gg.rsub(a, b, alpha=1.5), [((3, 4), real), ((4,), real)], op="rsub",
        torch=lambda torch, a, b: torch.rsub(a, b, alpha=1.5)),
    Row("mul", lambda a, b: a * b, [((2, 3, 4), real), ((3, 1), real)]),
    Row("div", lambda a, b: a / b, [((3, 4), real), ((3, 4), positive)]),
    Row("rdiv", lambda a: 1.0 / a, [((6,), positive)], op="div"),
    Row("pow_scalar", lambda a: a**2.5, [((3, 4), positive)], op="pow"),
    Row("pow_tensor", lambda a, b: a**b, [((3, 4), positive), ((4,), real)], op="pow"),
    Row("rpow", lambda b: 2.0**b, [((5,), real)], op="pow"),
    Row("neg", lambda a: -a, [((4,), real)]),
    Row("positive", lambda a: +a * a, [((4,), real)]),
    Row("negative", lambda a: a.negative(), [((4,), real)]),
    Row("absolute", lambda a: a.absolute(), [((3, 4), away_from_zero)]),
    Row("addcmul", lambda a, b, c: a.addcmul(b, c, value=0.5), [((3, 4), real), ((3, 4), real), ((4,), real)]),
    Row("addcdiv", lambda a, b, c: a.addcdiv(b, c, value=-2.0), [((3, 4), real), ((3, 1), real), ((3, 4), away_from_zero)]),
    Row("float_power", lambda a, b: a.float_power(b), [((3, 4), positive), ((3, 4), real)], dtypes=(gg.float64,)),
    Row("abs", lambda a: a.abs(), [((3, 4), away_from_zero)]),
    Row("exp", lambda a: a.exp(), [((3, 4), real)]),
    Row("log", lambda a: a.log(), [((3, 4), positive)]),
    Row("log1p", lambda a: a.log1p(), [((3, 4), positive)]),
    Row("sqrt", lambda a: a.sqrt(), [((3, 4), positive)]),
    Row("sin", lambda a: a.sin(), [((3, 4), real)]),
    Row("cos", lambda a: a.cos(), [((3, 4), real)]),
    Row("clamp", lambda a: a.clamp(-0.5, 0.5), [((4, 5), away_from_half)]),
    Row("clamp_tensor_bounds", lambda a, lo: gg.clamp(a, min=lo), [((4, 5), distinct), ((5,), distinct)], op="clamp", torch=lambda torch, a, lo: torch.clamp(a, min=lo)),
    Row("maximum", gg.maximum, [((3, 4), distinct), ((3, 4), distinct)], torch=lambda torch, a, b: torch.maximum(a, b)),
    Row("fmax", lambda a, b: a.fmax(b), [((3, 4), distinct), ((3, 4), distinct)]),
    Row("fmin", lambda a, b: a.fmin(b), [((3, 4), distinct), ((4,), distinct)]),
    Row("minimum", gg.minimum, [((3, 4), distinct), ((4,), distinct)], torch=lambda torch, a, b: torch.minimum(a, b)),
    Row("where", lambda a, b: gg.where(a > 0, a, b), [((3, 4), away_from_zero), ((4,), real)], torch=lambda torch, a, b: torch.where(a > 0, a, b)),
    Row("subtract", lambda a, b: gg.subtract(a, b, alpha=0.5), [((3, 4), real), ((4,), real)], torch=lambda torch, a, b: torch.subtract(a, b, alpha=0.5)),
    Row("multiply", gg.multiply, [((3, 4), real), ((3, 1), real)], torch=lambda torch, a, b: torch.multiply(a, b)),
    Row("divide", gg.divide, [((3, 4), real), ((4,), positive)], torch=lambda torch, a, b: torch.divide(a, b)),
    Row("true_divide", gg.true_divide, [((3, 4), real), ((4,), positive)], torch=lambda torch, a, b: torch.true_divide(a, b)),
    Row("div_floor", lambda a, b: gg.div(a, b, rounding_mode="floor") * a, [((3, 4), off_integer), ((4,), near_unit)], op="div", torch=lambda torch, a, b: torch.div(a, b, rounding_mode="floor") * a),
    Row("div_trunc", lambda a, b: gg.div(a, b, rounding_mode="trunc") * b, [((3, 4), off_integer), ((4,), near_unit)], op="div", torch=lambda torch, a, b: torch.div(a, b, rounding_mode="trunc") * b),
    Row("fmod", gg.fmod, [((3, 4), off_integer), ((4,), near_unit)], torch=lambda torch, a, b: torch.fmod(a, b)),
    Row("fmod_scalar", lambda a: gg.fmod(a, 0.75), [((3, 4), real)], op="fmod", torch=lambda torch, a: torch.fmod(a, 0.75)),
    Row("remainder", gg.remainder, [((3, 4), off_integer), ((3, 1), near_unit)], torch=lambda torch, a, b: torch.remainder(a, b)),
    Row("mod_operator", lambda a, b: a % b, [((2, 3), off_integer), ((2, 3), near_unit)], op="remainder"),
    Row("pow_tensor_base_scalar", lambda b: gg.pow(3.0, b) * b, [((4,), real)], op="pow", torch=lambda torch, b: torch.pow(3.0, b) * b),
    Row("sign", lambda a: gg.sign(a) * a, [((3, 4), away_from_zero)], torch=lambda torch, a: torch.sign(a) * a),
    Row("sgn", lambda a: gg.sgn(a) * a * a, [((3, 4), away_from_zero)], torch=lambda torch, a: torch.sgn(a) * a * a),
    Row("copysign", gg.copysign, [((3, 4), away_from_zero), ((4,), away_from_zero)], torch=lambda torch, a, b: torch.copysign(a, b)),
    Row("copysign_scalar", lambda a: gg.copysign(a, -1.0) * a, [((3, 4), away_from_zero)], op="copysign", torch=lambda torch, a: torch.copysign(a, -1.0) * a),
    Row("lerp", lambda a, b: gg.lerp(a, b, 0.3), [((3, 4), real), ((4,), real)], torch=lambda torch, a, b: torch.lerp(a, b, 0.3)),
    Row("lerp_tensor_weight", gg.lerp, [((3, 4), real), ((3, 4), real), ((4,), real)], op="lerp", torch=lambda torch, a, b, w: torch.lerp(a, b, w)),
    Row("nan_to_num", lambda a: gg.nan_to_num(a * a), [((3, 4), nonfinite_free_mix)], torch=lambda torch, a: torch.nan_to_num(a * a)),
    Row("clip", lambda a: a.clip(max=0.5), [((4, 5), away_from_half)], torch=lambda torch, a: torch.clip(a, max=0.5)),
    Row("clamp_min", lambda a: gg.clamp_min(a, -0.5), [((4, 5), away_from_half)], torch=lambda torch, a: torch.clamp_min(a, -0.5)),
    Row("clamp_max_tensor", lambda a, hi: gg.clamp_max(a, hi), [((4, 5), distinct), ((5,), distinct)], op="clamp_max", torch=lambda torch, a, hi: torch.clamp_max(a, hi)),
    Row("clamp_both_tensor_bounds", lambda a, lo, hi: gg.clamp(a, lo, hi), [((3, 4), real), ((4,), distinct), ((3, 1), distinct)], op="clamp", torch=lambda torch, a, lo, hi: torch.clamp(a, lo, hi)),
]
