"""Op-table rows: cumulative (gpugrad/ops/cumulative.py)."""
import gpugrad as gg

from .reduce import with_zeros
from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("cumsum", lambda a: a.cumsum(1), [((3, 4), real)]),
    Row("cumsum_0d", lambda a: gg.cumsum(a, -1), [((), real)], op="cumsum", torch=lambda torch, a: torch.cumsum(a, -1)),
    Row("cumprod", lambda a: a.cumprod(0), [((4, 3), away_from_zero)]),
    Row("cumprod_zeros", lambda a: a.cumprod(-1), [((3, 5), with_zeros)], op="cumprod"),
    Row("cummax", lambda a: a.cummax(1).values, [((3, 5), distinct)]),
    Row("cummin", lambda a: a.cummin(0).values, [((5, 3), distinct)]),
    Row("logcumsumexp", lambda a: a.logcumsumexp(1), [((3, 5), real)]),
]
