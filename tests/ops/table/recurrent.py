"""Op-table rows: recurrent cells (gpugrad/ops/recurrent.py)."""
import gpugrad as gg  # noqa: F401

from .row import Row, real  # noqa: F401

ROWS = []
