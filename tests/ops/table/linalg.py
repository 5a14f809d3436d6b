"""Op-table rows: matrix products (gpugrad/ops/linalg.py)."""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

ROWS = [
    Row("matmul_2d", lambda a, b: a @ b, [((3, 4), real), ((4, 2), real)], op="matmul"),
    Row("matmul_vec_vec", lambda a, b: a @ b, [((4,), real), ((4,), real)], op="matmul"),
    Row("matmul_mat_vec", lambda a, b: a @ b, [((3, 4), real), ((4,), real)], op="matmul"),
    Row("matmul_vec_mat", lambda a, b: a @ b, [((4,), real), ((4, 2), real)], op="matmul"),
    Row("matmul_batched_broadcast", lambda a, b: a @ b, [((2, 1, 3, 4), real), ((3, 4, 2), real)], op="matmul"),
    Row("matmul_batched_vec", lambda a, b: a @ b, [((2, 3, 4), real), ((4,), real)], op="matmul"),
    Row("dot", gg.dot, [((5,), real), ((5,), real)], torch=lambda torch, a, b: torch.dot(a, b)),
]
