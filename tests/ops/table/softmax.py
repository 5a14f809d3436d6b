"""Op-table rows: softmax and log_softmax (gpugrad/ops/softmax.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("softmax", lambda a: a.softmax(dim=-1), [((3, 5), real)]),
    Row("softmax_0d", lambda a: a.softmax(dim=0), [((), real)], op="softmax"),
    Row("log_softmax", lambda a: a.log_softmax(dim=0), [((4, 3), real)]),
    Row("log_softmax_0d", lambda a: a.log_softmax(dim=-1), [((), real)], op="log_softmax"),
]
