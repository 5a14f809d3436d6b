"""``gpugrad.linalg``: PyTorch's ``torch.linalg`` namespace (norms, solves and decompositions).

The functions live in gpugrad.ops.linalg; those whose ``torch.linalg`` form differs from the top-level
``torch`` one (``linalg.norm`` and ``torch.norm``, ``linalg.svd`` and ``torch.svd``, ...) are named
``linalg_<name>`` there and get their short name here.
"""
from .ops.linalg import LinAlgError, matmul, matrix_norm, solve, solve_triangular, vecdot, vector_norm
from .ops.linalg import linalg_cholesky as cholesky
from .ops.linalg import linalg_cross as cross
from .ops.linalg import linalg_det as det
from .ops.linalg import linalg_eigh as eigh
from .ops.linalg import linalg_eigvalsh as eigvalsh
from .ops.linalg import linalg_inv as inv
from .ops.linalg import linalg_lstsq as lstsq
from .ops.linalg import linalg_matrix_exp as matrix_exp
from .ops.linalg import linalg_matrix_power as matrix_power
from .ops.linalg import linalg_matrix_rank as matrix_rank
from .ops.linalg import linalg_norm as norm
from .ops.linalg import linalg_pinv as pinv
from .ops.linalg import linalg_qr as qr
from .ops.linalg import linalg_slogdet as slogdet
from .ops.linalg import linalg_svd as svd
from .ops.linalg import linalg_svdvals as svdvals

__all__ = [
    "LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "lstsq", "matmul", "matrix_exp",
    "matrix_norm", "matrix_power", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular",
    "svd", "svdvals", "vecdot", "vector_norm",
]
