"""``gpugrad.linalg``: PyTorch's ``torch.linalg`` namespace (norms, solves and decompositions).

The functions live in gpugrad.ops.linalg; those whose ``torch.linalg`` form differs from the top-level
``torch`` one (``linalg.norm`` and ``torch.norm``, ``linalg.svd`` and ``torch.svd``, ...) are named
``linalg_<name>`` there and get their short name here. The LU family lives in gpugrad.ops.linalg_lu, the
LDL family (ldl_factor, ldl_solve) in gpugrad.ops.linalg_ldl, the functions composed of other ops
(multi_dot, cond, vander, ...) in gpugrad.ops.linalg_extra.
"""
from .ops.linalg import (
    LinAlgError,
    matmul,
    matrix_norm,
    solve,
    solve_triangular,
    vecdot,
    vector_norm,
)
from .ops.linalg import linalg_cholesky as cholesky
from .ops.linalg import linalg_cross as cross
from .ops.linalg import linalg_det as det
from .ops.linalg import linalg_eig as eig
from .ops.linalg import linalg_eigh as eigh
from .ops.linalg import linalg_eigvals as eigvals
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
from .ops.linalg_extra import (
    cholesky_ex,
    householder_product,
    multi_dot,
    tensorinv,
    tensorsolve,
)
from .ops.linalg_extra import linalg_cond as cond
from .ops.linalg_extra import linalg_diagonal as diagonal
from .ops.linalg_extra import linalg_vander as vander
from .ops.linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .ops.linalg_lu import inv_ex, lu_factor, lu_factor_ex, solve_ex
from .ops.linalg_lu import linalg_lu as lu
from .ops.linalg_lu import linalg_lu_solve as lu_solve
from .overrides import make_overridable as _make_overridable

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh",
    "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul",
    "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet",
    "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot",
    "vector_norm",
]


_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
