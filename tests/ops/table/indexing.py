"""Op-table rows: indexing (gpugrad/ops/indexing.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("getitem_basic", lambda a: a[1:, ::2, None, 0], [((3, 5, 2), real)], op="getitem"),
    Row("getitem_int_array", lambda a: a[gg.tensor([0, 2, 2, 1])], [((3, 4), real)], op="getitem", torch=lambda torch, a: a[torch.tensor([0, 2, 2, 1])]),
    Row("getitem_bool_mask", lambda a: a[a > 0], [((3, 4), away_from_zero)], op="getitem"),
]
