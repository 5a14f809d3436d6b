"""Op-table rows: activations (gpugrad/ops/activation.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("relu", lambda a: a.relu(), [((3, 5), away_from_zero)]),
    Row("leaky_relu", lambda a: gg.leaky_relu(a, 0.1), [((3, 5), away_from_zero)], torch=lambda torch, a: torch.nn.functional.leaky_relu(a, 0.1)),
    Row("sigmoid", lambda a: a.sigmoid(), [((3, 5), real)]),
    Row("tanh", lambda a: a.tanh(), [((3, 5), real)]),
    Row("gelu", lambda a: gg.gelu(a), [((3, 5), real)], torch=lambda torch, a: torch.nn.functional.gelu(a)),
    Row("gelu_tanh", lambda a: gg.gelu(a, approximate="tanh"), [((3, 5), real)], op="gelu", torch=lambda torch, a: torch.nn.functional.gelu(a, approximate="tanh")),
    Row("silu", lambda a: gg.silu(a), [((3, 5), real)], torch=lambda torch, a: torch.nn.functional.silu(a)),
    Row("softplus", lambda a: gg.softplus(a), [((3, 5), real)], torch=lambda torch, a: torch.nn.functional.softplus(a)),
    Row("softplus_beta", lambda a: gg.softplus(a, beta=2.0, threshold=3.0), [((3, 5), away_from_zero)], op="softplus", torch=lambda torch, a: torch.nn.functional.softplus(a, beta=2.0, threshold=3.0)),
]
