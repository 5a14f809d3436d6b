"""Op-table rows: shape ops, clone and to (gpugrad/ops/shape.py, ops/__init__.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("reshape", lambda a: a.reshape(4, -1) * 1.5, [((2, 3, 2), real)]),
    Row("flatten", lambda a: a.flatten(1), [((2, 3, 2), real)]),
    Row("permute", lambda a: a.permute(2, 0, 1), [((2, 3, 4), real)]),
    Row("transpose", lambda a: a.transpose(0, -1), [((2, 3, 4), real)]),
    Row("t", lambda a: a.t(), [((2, 3), real)]),
    Row("expand", lambda a: a.expand(2, 3, 4), [((3, 1), real)]),
    Row("squeeze", lambda a: a.squeeze(1), [((3, 1, 2), real)]),
    Row("unsqueeze", lambda a: a.unsqueeze(-1), [((3, 2), real)]),
    Row("cat", lambda a, b: gg.cat([a, b], dim=1), [((2, 3), real), ((2, 1), real)], torch=lambda torch, a, b: torch.cat([a, b], dim=1)),
    Row("stack", lambda a, b: gg.stack([a, b], dim=-1), [((2, 3), real), ((2, 3), real)], torch=lambda torch, a, b: torch.stack([a, b], dim=-1)),
    Row("unbind", lambda a: gg.unbind(a, 1)[2] * gg.unbind(a, 1)[0], [((2, 3), real)], torch=lambda torch, a: torch.unbind(a, 1)[2] * torch.unbind(a, 1)[0]),
    Row("clone", lambda a: a.clone() * 2.0, [((3,), real)]),
    Row("to", lambda a: a.to("cpu", gg.float64) * a, [((3,), real)], dtypes=(gg.float64,), torch=lambda torch, a: a.to("cpu", torch.float64) * a),
]
