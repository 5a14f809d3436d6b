"""Op-table rows: reductions (gpugrad/ops/reduce.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("sum", lambda a: a.sum(), [((3, 4), real)]),
    Row("sum_dim_keepdim", lambda a: a.sum(dim=(0, 2), keepdim=True), [((2, 3, 4), real)], op="sum"),
    Row("mean", lambda a: a.mean(dim=1), [((3, 4), real)]),
    Row("var", lambda a: a.var(dim=-1), [((3, 5), real)]),
    Row("std", lambda a: a.std(dim=0, keepdim=True), [((4, 3), real)]),
    Row("max_all", lambda a: a.max(), [((3, 4), distinct)], op="max"),
    Row("max_dim", lambda a: a.max(dim=1).values, [((3, 4), distinct)], op="max"),
    Row("min_dim", lambda a: a.min(dim=0, keepdim=True).values, [((3, 4), distinct)], op="min"),
    Row("amax", lambda a: gg.amax(a, dim=-1), [((3, 4), distinct)], torch=lambda torch, a: torch.amax(a, dim=-1)),
    Row("logsumexp", lambda a: a.logsumexp(dim=1), [((3, 5), real)]),
]
