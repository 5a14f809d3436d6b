"""Op-table rows: activations (gpugrad/ops/activation.py), including those reached only through
nn.functional (as in PyTorch)."""
import numpy as np

import gpugrad as gg
import gpugrad.nn.functional as F

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401


def away_from_three(rng, shape):
    """Over [-4.5, 4.5], away from +-3 (hardswish's and hardsigmoid's kinks)."""
    x = rng.uniform(-4.5, 4.5, shape)
    return np.where(np.abs(np.abs(x) - 3.0) < 0.1, x * 0.9, x)


def _tf(torch):
    return torch.nn.functional


ROWS = [
    Row("relu", lambda a: a.relu(), [((3, 5), away_from_zero)]),
    Row("leaky_relu", lambda a: gg.leaky_relu(a, 0.1), [((3, 5), away_from_zero)], torch=lambda torch, a: torch.nn.functional.leaky_relu(a, 0.1)),
    Row("sigmoid", lambda a: a.sigmoid(), [((3, 5), real)]),
    Row("tanh", lambda a: a.tanh(), [((3, 5), real)]),
    Row("gelu", lambda a: gg.gelu(a), [((3, 5), real)], torch=lambda torch, a: torch.nn.functional.gelu(a)),
    Row("gelu_tanh", lambda a: gg.gelu(a, approximate="tanh"), [((3, 5), real)], op="gelu", torch=lambda torch, a: torch.nn.functional.gelu(a, approximate="tanh")),
    Row("gelu_tanh_wide", lambda a: gg.gelu(a * 6.0, approximate="tanh"), [((4, 5), real)], op="gelu", torch=lambda torch, a: _tf(torch).gelu(a * 6.0, approximate="tanh")),
    Row("silu", lambda a: gg.silu(a), [((3, 5), real)], torch=lambda torch, a: torch.nn.functional.silu(a)),
    Row("softplus", lambda a: gg.softplus(a), [((3, 5), real)], torch=lambda torch, a: torch.nn.functional.softplus(a)),
    Row("softplus_beta", lambda a: gg.softplus(a, beta=2.0, threshold=3.0), [((3, 5), away_from_zero)], op="softplus", torch=lambda torch, a: torch.nn.functional.softplus(a, beta=2.0, threshold=3.0)),
    # The fused ELU family, hardswish and mish (wide inputs reach the saturated and linear regions).
    Row("elu", lambda a: F.elu(a * 3.0), [((3, 5), away_from_zero)], torch=lambda torch, a: _tf(torch).elu(a * 3.0)),
    Row("elu_alpha", lambda a: F.elu(a, alpha=0.4), [((3, 5), away_from_zero)], op="elu", torch=lambda torch, a: _tf(torch).elu(a, alpha=0.4)),
    Row("selu", lambda a: gg.selu(a * 3.0), [((3, 5), away_from_zero)], torch=lambda torch, a: torch.selu(a * 3.0)),
    # alpha with an exact reciprocal: PyTorch's celu backward uses 1/alpha rounded to float32.
    Row("celu", lambda a: gg.celu(a * 3.0, alpha=2.0), [((3, 5), away_from_zero)], torch=lambda torch, a: torch.celu(a * 3.0, alpha=2.0)),
    Row("celu_negative_alpha", lambda a: gg.celu(a, alpha=-0.5), [((3, 5), away_from_zero)], op="celu", torch=lambda torch, a: torch.celu(a, alpha=-0.5)),
    Row("hardswish", lambda a: F.hardswish(a), [((4, 5), away_from_three)], torch=lambda torch, a: _tf(torch).hardswish(a)),
    Row("mish", lambda a: F.mish(a * 4.0), [((4, 5), real)], torch=lambda torch, a: _tf(torch).mish(a * 4.0)),
    # Piecewise linear ones: gradients are constants per element; the domains avoid the kinks.
    # PyTorch's own hardsigmoid backward multiplies by 1/6 rounded to float32 (3e-8 off in float64), so the
    # row compares with its documented definition; tests/nn/test_activations.py checks F.hardsigmoid itself.
    Row("hardsigmoid", lambda a: F.hardsigmoid(a), [((4, 5), away_from_three)], torch=lambda torch, a: _tf(torch).relu6(a + 3.0) / 6.0),
    Row("hardtanh", lambda a: F.hardtanh(a, -0.5, 0.5), [((4, 5), away_from_half)], torch=lambda torch, a: _tf(torch).hardtanh(a, -0.5, 0.5)),
    Row("relu6", lambda a: F.relu6(a * 4.0 + 3.0), [((4, 5), away_from_half)], torch=lambda torch, a: _tf(torch).relu6(a * 4.0 + 3.0)),
    Row("hardshrink", lambda a: a.hardshrink(), [((4, 5), away_from_half)]),
    Row("hardshrink_lambd", lambda a: gg.hardshrink(a, 0.5), [((4, 5), away_from_half)], op="hardshrink", torch=lambda torch, a: torch.hardshrink(a, 0.5)),
    Row("softshrink", lambda a: F.softshrink(a), [((4, 5), away_from_half)], torch=lambda torch, a: _tf(torch).softshrink(a)),
    Row("threshold", lambda a: gg.threshold(a, 0.5, -2.0), [((4, 5), away_from_half)], torch=lambda torch, a: torch.threshold(a, 0.5, -2.0)),
    # Compositions.
    Row("logsigmoid", lambda a: F.logsigmoid(a * 10.0), [((4, 5), real)], torch=lambda torch, a: _tf(torch).logsigmoid(a * 10.0)),
    Row("softsign", lambda a: F.softsign(a), [((4, 5), away_from_zero)], torch=lambda torch, a: _tf(torch).softsign(a)),
    Row("tanhshrink", lambda a: F.tanhshrink(a), [((4, 5), real)], torch=lambda torch, a: _tf(torch).tanhshrink(a)),
    Row("softmin", lambda a: F.softmin(a, dim=1), [((3, 5), real)], torch=lambda torch, a: _tf(torch).softmin(a, dim=1)),
    Row("glu", lambda a: F.glu(a, dim=1), [((3, 4, 2), real)], torch=lambda torch, a: _tf(torch).glu(a, dim=1)),
    Row("prelu", lambda a, w: a.prelu(w), [((2, 3, 4), away_from_zero), ((3,), real)]),
    Row("prelu_shared", lambda a, w: gg.prelu(a, w), [((5, 2), away_from_zero), ((1,), real)], op="prelu", torch=lambda torch, a, w: torch.prelu(a, w)),
    Row("rrelu", lambda a: gg.rrelu(a, 0.1, 0.3), [((4, 5), away_from_zero)], torch=lambda torch, a: torch.rrelu(a, 0.1, 0.3)),
    Row("normalize", lambda a: F.normalize(a, dim=1), [((3, 4), real)], torch=lambda torch, a: _tf(torch).normalize(a, dim=1)),
    Row("normalize_p1", lambda a: F.normalize(a, p=1.0, dim=0), [((3, 4), away_from_zero)], op="normalize", torch=lambda torch, a: _tf(torch).normalize(a, p=1.0, dim=0)),
    Row("normalize_p3", lambda a: F.normalize(a, p=3.0, dim=-1), [((3, 4), away_from_zero)], op="normalize", torch=lambda torch, a: _tf(torch).normalize(a, p=3.0, dim=-1)),
    Row("normalize_inf", lambda a: F.normalize(a, p=float("inf"), dim=1), [((3, 4), distinct)], op="normalize", torch=lambda torch, a: _tf(torch).normalize(a, p=float("inf"), dim=1)),
]
