"""Op-table rows: pointwise math (gpugrad/ops/pointwise.py)."""
import numpy as np

import gpugrad as gg

from .row import Row, away_from_zero, positive, real


def inside_unit(rng, shape):
    """Inside (-1, 1), away from the ends where asin, acos, atanh and erfinv have infinite slopes."""
    return rng.uniform(-0.9, 0.9, shape)


def above_one(rng, shape):
    """Above 1, away from acosh's infinite slope at 1."""
    return rng.uniform(1.2, 3.0, shape)


def small(rng, shape):
    """Inside (-1.2, 1.2): tan away from its poles, and sinh/cosh/exp2 of moderate size."""
    return rng.uniform(-1.2, 1.2, shape)


def off_grid(rng, shape):
    """Numbers whose fractional part lies in [0.1, 0.4] or [0.6, 0.9]: away from the integers (where floor,
    ceil, trunc and frac jump) and from the halves (where round jumps)."""
    whole = rng.integers(-3, 4, shape)
    part = rng.uniform(0.1, 0.4, shape) + rng.choice([0.0, 0.5], shape)
    return whole + part


def off_grid_tenths(rng, shape):
    return off_grid(rng, shape) / 10


def off_grid_tens(rng, shape):
    return off_grid(rng, shape) * 10


def gamma_domain(rng, shape):
    """Positive numbers and negative ones between the poles of the gamma family (the negative integers)."""
    return np.where(rng.uniform(size=shape) < 0.7, rng.uniform(0.3, 5.0, shape), off_grid(rng, shape) - 3.0)


def between_powers_of_two(rng, shape):
    """Signed values 1.1 to 1.9 times a power of two: away from frexp's jumps at the powers of two."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(1.1, 1.9, shape) * 2.0 ** rng.integers(-3, 4, shape)


def with_zeros(rng, shape):
    """Real numbers, a third of them exactly 0 (xlogy's special case)."""
    x = rng.standard_normal(shape)
    return np.where(rng.uniform(size=shape) < 1 / 3, 0.0, x)


def probabilities(rng, shape):
    """Inside (0.1, 0.9): logit away from its infinite slopes at 0 and 1."""
    return rng.uniform(0.1, 0.9, shape)


def across_logit_band(rng, shape):
    """In [0.05, 0.15], [0.25, 0.75] or [0.85, 0.95]: on both sides of logit's eps=0.2 clamp, away from it."""
    x = rng.uniform(0.25, 0.75, shape)
    side = rng.choice([0, 1, 2], shape)
    return np.where(side == 0, x / 5, np.where(side == 1, x, 0.8 + x / 5))


ROWS = [
    Row("tan", lambda a: a.tan(), [((3, 4), small)]),
    Row("asin", lambda a: a.asin(), [((3, 4), inside_unit)]),
    Row("arcsin", lambda a: a.arcsin(), [((3,), inside_unit)]),
    Row("acos", lambda a: a.acos(), [((3, 4), inside_unit)]),
    Row("arccos", lambda a: a.arccos(), [((3,), inside_unit)]),
    Row("atan", lambda a: a.atan(), [((3, 4), real)]),
    Row("arctan", lambda a: a.arctan(), [((3,), real)]),
    Row("atan2", lambda a, b: a.atan2(b), [((3, 4), away_from_zero), ((4,), away_from_zero)]),
    Row("arctan2", lambda a, b: a.arctan2(b), [((3,), away_from_zero), ((3,), real)]),
    Row("sinh", lambda a: a.sinh(), [((3, 4), small)]),
    Row("cosh", lambda a: a.cosh(), [((3, 4), small)]),
    Row("asinh", lambda a: a.asinh(), [((3, 4), real)]),
    Row("arcsinh", lambda a: a.arcsinh(), [((3,), real)]),
    Row("acosh", lambda a: a.acosh(), [((3, 4), above_one)]),
    Row("arccosh", lambda a: a.arccosh(), [((3,), above_one)]),
    Row("atanh", lambda a: a.atanh(), [((3, 4), inside_unit)]),
    Row("arctanh", lambda a: a.arctanh(), [((3,), inside_unit)]),
    Row("log2", lambda a: a.log2(), [((3, 4), positive)]),
    Row("log10", lambda a: a.log10(), [((3, 4), positive)]),
    Row("exp2", lambda a: a.exp2(), [((3, 4), small)]),
    Row("expm1", lambda a: a.expm1(), [((3, 4), real)]),
    Row("logaddexp", lambda a, b: a.logaddexp(b), [((3, 4), real), ((3, 1), real)]),
    Row("logaddexp2", lambda a, b: a.logaddexp2(b), [((3, 4), real), ((4,), real)]),
    Row("xlogy", lambda a, b: a.xlogy(b), [((3, 4), real), ((3, 4), positive)]),
    Row("xlogy_at_zero", lambda a, b: a.xlogy(b), [((3, 4), with_zeros), ((4,), positive)], op="xlogy"),
    Row("xlogy_scalar_x", lambda b: gg.xlogy(1.5, b), [((3, 4), positive)], op="xlogy", torch=lambda torch, b: torch.xlogy(1.5, b)),
    Row("xlogy_scalar_y", lambda a: a.xlogy(2.5), [((3, 4), real)], op="xlogy"),
    Row("rsqrt", lambda a: a.rsqrt(), [((3, 4), positive)]),
    Row("reciprocal", lambda a: a.reciprocal(), [((3, 4), away_from_zero)]),
    Row("square", lambda a: a.square(), [((3, 4), real)]),
    Row("erf", lambda a: a.erf(), [((3, 4), real)]),
    Row("erfc", lambda a: a.erfc(), [((3, 4), real)]),
    Row("erfinv", lambda a: a.erfinv(), [((3, 4), inside_unit)]),
    # PyTorch's trigamma (digamma's derivative) is within 3e-10 of the exact value; ours within 1e-15.
    Row("lgamma", lambda a: a.lgamma(), [((3, 4), gamma_domain)], tol={"torch": 1e-8}),
    Row("digamma", lambda a: a.digamma(), [((3, 4), gamma_domain)], tol={"torch": 1e-8}),
    Row("polygamma", lambda a: a.polygamma(1), [((3, 4), gamma_domain)], tol={"torch": 1e-8}),
    Row("polygamma_2", lambda a: gg.polygamma(2, a), [((3, 4), gamma_domain)], op="polygamma",
        torch=lambda torch, a: torch.polygamma(2, a)),
    Row("mvlgamma", lambda a: a.mvlgamma(3), [((3, 4), above_one)]),
    Row("frexp", lambda a: a.frexp().mantissa, [((3, 4), between_powers_of_two)]),
    Row("i0", lambda a: a.i0(), [((3, 4), real)]),
    Row("floor", lambda a: a.floor() * a, [((3, 4), off_grid)]),
    Row("ceil", lambda a: a.ceil() * a, [((3, 4), off_grid)]),
    Row("trunc", lambda a: a.trunc() * a, [((3, 4), off_grid)]),
    Row("fix", lambda a: a.fix() * a, [((3,), off_grid)]),
    Row("round", lambda a: a.round() * a, [((3, 4), off_grid)]),
    Row("round_decimals", lambda a: a.round(decimals=1) * a, [((3, 4), off_grid_tenths)], op="round"),
    Row("round_negative_decimals", lambda a: a.round(decimals=-1) * a, [((3, 4), off_grid_tens)], op="round"),
    Row("frac", lambda a: a.frac() * a, [((3, 4), off_grid)]),
    Row("hypot", lambda a, b: a.hypot(b), [((3, 4), away_from_zero), ((3, 4), real)]),
    # one step of the float grid: d/dinput = 1 (d/dother = 0, PyTorch's choice, tested beside the table)
    Row("nextafter", lambda a: a.nextafter(a.detach() + 1.0), [((3, 4), real)]),
    Row("deg2rad", lambda a: a.deg2rad(), [((3, 4), real)]),
    Row("rad2deg", lambda a: a.rad2deg(), [((3, 4), real)]),
    Row("logit", lambda a: a.logit(), [((3, 4), probabilities)]),
    Row("sinc", lambda a: a.sinc(), [((3, 4), real)]),
    Row("sinc_at_zero", lambda a: (a * 0).sinc() * a, [((3,), real)], op="sinc"),
    Row("angle", lambda a: a.angle() + a, [((3, 4), away_from_zero)]),
    Row("ldexp", lambda a, b: a.ldexp(b), [((3, 4), real), ((4,), small)]),
    Row("logit_eps", lambda a: a.logit(eps=0.2), [((3, 4), across_logit_band)], op="logit"),
]
