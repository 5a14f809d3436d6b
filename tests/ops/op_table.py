"""One row per exported differentiable op: the function, its input domain, shapes and dtypes.

Every row is checked by gradcheck and gradgradcheck in float64 (test_op_table.py), and run in each
listed dtype against the float64 result. Domains keep inputs away from points where the op is not
differentiable (kinks, ties, bounds), since finite differences are meaningless there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import gpugrad as gg


def real(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def distinct(rng, shape):
    """Values with no ties and gaps of at least 0.05 (for max, min, maximum, sorting-like ops)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05 - n * 0.025 + rng.uniform(0, 0.01, n)).reshape(shape)


def away_from_half(rng, shape):
    """Away from the clamp bounds +-0.5."""
    x = rng.uniform(-1.5, 1.5, shape)
    return np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.2, x)


@dataclass
class Row:
    name: str
    fn: Callable
    inputs: list  # [(shape, domain)]
    dtypes: tuple = (gg.float32, gg.float64)
    tol: dict = field(default_factory=dict)
    op: str = ""  # the exported function this row covers (defaults to name)

    @property
    def covers(self) -> str:
        return self.op or self.name


ROWS = [
    Row("add", lambda a, b: a + b, [((3, 4), real), ((4,), real)]),
    Row("add_scalar_alpha", lambda a, b: gg.add(a, b, alpha=2.5) + 1.5, [((2, 3), real), ((2, 1), real)], op="add"),
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
    Row("clamp_tensor_bounds", lambda a, lo: gg.clamp(a, min=lo), [((4, 5), distinct), ((5,), distinct)], op="clamp"),
    Row("maximum", gg.maximum, [((3, 4), distinct), ((3, 4), distinct)]),
    Row("minimum", gg.minimum, [((3, 4), distinct), ((4,), distinct)]),
    Row("where", lambda a, b: gg.where(a > 0, a, b), [((3, 4), away_from_zero), ((4,), real)]),
    Row("relu", lambda a: a.relu(), [((3, 5), away_from_zero)]),
    Row("leaky_relu", lambda a: gg.leaky_relu(a, 0.1), [((3, 5), away_from_zero)]),
    Row("sigmoid", lambda a: a.sigmoid(), [((3, 5), real)]),
    Row("tanh", lambda a: a.tanh(), [((3, 5), real)]),
    Row("gelu", lambda a: gg.gelu(a), [((3, 5), real)]),
    Row("gelu_tanh", lambda a: gg.gelu(a, approximate="tanh"), [((3, 5), real)], op="gelu"),
    Row("silu", lambda a: gg.silu(a), [((3, 5), real)]),
    Row("softplus", lambda a: gg.softplus(a), [((3, 5), real)]),
    Row("softplus_beta", lambda a: gg.softplus(a, beta=2.0, threshold=3.0), [((3, 5), away_from_zero)], op="softplus"),
    Row("sum", lambda a: a.sum(), [((3, 4), real)]),
    Row("sum_dim_keepdim", lambda a: a.sum(dim=(0, 2), keepdim=True), [((2, 3, 4), real)], op="sum"),
    Row("mean", lambda a: a.mean(dim=1), [((3, 4), real)]),
    Row("var", lambda a: a.var(dim=-1), [((3, 5), real)]),
    Row("std", lambda a: a.std(dim=0, keepdim=True), [((4, 3), real)]),
    Row("max_all", lambda a: a.max(), [((3, 4), distinct)], op="max"),
    Row("max_dim", lambda a: a.max(dim=1).values, [((3, 4), distinct)], op="max"),
    Row("min_dim", lambda a: a.min(dim=0, keepdim=True).values, [((3, 4), distinct)], op="min"),
    Row("amax", lambda a: gg.amax(a, dim=-1), [((3, 4), distinct)]),
    Row("logsumexp", lambda a: a.logsumexp(dim=1), [((3, 5), real)]),
    Row("softmax", lambda a: a.softmax(dim=-1), [((3, 5), real)]),
    Row("log_softmax", lambda a: a.log_softmax(dim=0), [((4, 3), real)]),
    Row("reshape", lambda a: a.reshape(4, -1) * 1.5, [((2, 3, 2), real)]),
    Row("flatten", lambda a: a.flatten(1), [((2, 3, 2), real)]),
    Row("permute", lambda a: a.permute(2, 0, 1), [((2, 3, 4), real)]),
    Row("transpose", lambda a: a.transpose(0, -1), [((2, 3, 4), real)]),
    Row("t", lambda a: a.t(), [((2, 3), real)]),
    Row("expand", lambda a: a.expand(2, 3, 4), [((3, 1), real)]),
    Row("squeeze", lambda a: a.squeeze(1), [((3, 1, 2), real)]),
    Row("unsqueeze", lambda a: a.unsqueeze(-1), [((3, 2), real)]),
    Row("getitem_basic", lambda a: a[1:, ::2, None, 0], [((3, 5, 2), real)], op="getitem"),
    Row("getitem_int_array", lambda a: a[gg.tensor([0, 2, 2, 1])], [((3, 4), real)], op="getitem"),
    Row("getitem_bool_mask", lambda a: a[a > 0], [((3, 4), away_from_zero)], op="getitem"),
    Row("cat", lambda a, b: gg.cat([a, b], dim=1), [((2, 3), real), ((2, 1), real)]),
    Row("stack", lambda a, b: gg.stack([a, b], dim=-1), [((2, 3), real), ((2, 3), real)]),
    Row("matmul_2d", lambda a, b: a @ b, [((3, 4), real), ((4, 2), real)], op="matmul"),
    Row("matmul_vec_vec", lambda a, b: a @ b, [((4,), real), ((4,), real)], op="matmul"),
    Row("matmul_mat_vec", lambda a, b: a @ b, [((3, 4), real), ((4,), real)], op="matmul"),
    Row("matmul_vec_mat", lambda a, b: a @ b, [((4,), real), ((4, 2), real)], op="matmul"),
    Row("matmul_batched_broadcast", lambda a, b: a @ b, [((2, 1, 3, 4), real), ((3, 4, 2), real)], op="matmul"),
    Row("matmul_batched_vec", lambda a, b: a @ b, [((2, 3, 4), real), ((4,), real)], op="matmul"),
    Row("dot", gg.dot, [((5,), real), ((5,), real)]),
    Row("clone", lambda a: a.clone() * 2.0, [((3,), real)]),
    Row("to", lambda a: a.to("cpu", gg.float64) * a, [((3,), real)], dtypes=(gg.float64,)),
]
