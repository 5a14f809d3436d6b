"""Op-table rows: arithmetic, math and clamp/maximum/minimum/where (gpugrad/ops/elementwise.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("add", lambda a, b: a + b, [((3, 4), real), ((4,), real)]),
    Row("add_scalar_alpha", lambda a, b: gg.add(a, b, alpha=2.5) + 1.5, [((2, 3), real), ((2, 1), real)], op="add", torch=lambda torch, a, b: torch.add(a, b, alpha=2.5) + 1.5),
    Row("sub", lambda a, b: a - b, [((3, 1), real), ((1, 4), real)]),
    Row("rsub", lambda a: 2.0 - a, [((5,), real)], op="sub"),
    Row("mul", lambda a, b: a * b, [((2, 3, 4), real), ((3, 1), real)]),
    Row("div", lambda a, b: a / b, [((3, 4), real), ((3, 4), positive)]),
    Row("rdiv", lambda a: 1.0 / a, [((6,), positive)], op="div"),
    Row("pow_scalar", lambda a: a**2.5, [((3, 4), positive)], op="pow"),
    Row("pow_tensor", lambda a, b: a**b, [((3, 4), positive), ((4,), real)], op="pow"),
    Row("rpow", lambda b: 2.0**b, [((5,), real)], op="pow"),
    Row("neg", lambda a: -a, [((4,), real)]),
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
    Row("minimum", gg.minimum, [((3, 4), distinct), ((4,), distinct)], torch=lambda torch, a, b: torch.minimum(a, b)),
    Row("where", lambda a, b: gg.where(a > 0, a, b), [((3, 4), away_from_zero), ((4,), real)], torch=lambda torch, a, b: torch.where(a > 0, a, b)),
]
