"""Op-table rows: sampling (gpugrad/ops/sampling.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
]
