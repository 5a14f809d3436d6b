"""Op-table rows: linear algebra (gpugrad/ops/linalg.py, linalg_lu.py and linalg_extra.py).

Decompositions are checked on well-conditioned inputs (eigen and singular values well apart, matrices
far from singular) and, where their factors are only defined up to sign, through quantities that do not
depend on the sign: eigenvalues, singular values, squared entries of the vectors.
"""
import warnings

import numpy as np

import gpugrad as gg

from .row import Row, real


def invertible(rng, shape):
    """Random matrices plus 3 I: far from singular."""
    return rng.standard_normal(shape) + 3.0 * np.eye(shape[-1])


def spread(rng, shape):
    """Matrices whose symmetric part a + a^T has eigenvalues at least ~1.5 apart (for eigh), and whose
    singular values are distinct (for svd): a small random part on a diagonal with distinct entries."""
    k = min(shape[-2:])
    diag = np.zeros(shape[-2:])
    diag[range(k), range(k)] = 1.5 * np.arange(1, k + 1)
    return 0.15 * rng.standard_normal(shape) + diag


def repeated_eigenvalues(rng, shape):
    """Symmetric matrices Q diag(0.5, 0.5, 1.5, 2.5, ...) Q^T in a random orthonormal basis: a + a^T has the
    eigenvalue 1 twice and the rest well apart."""
    q = np.linalg.qr(rng.standard_normal(shape))[0]
    n = shape[-1]
    return (q * np.array([0.5, 0.5] + [0.5 + i for i in range(1, n - 1)])[..., None, :]) @ np.swapaxes(q, -1, -2)


def cholesky_factor(rng, shape):
    """Lower-triangular matrices with diagonal entries in [1, 2] (far from singular), and random entries above
    the diagonal that a reader of the lower triangle must not see."""
    n = shape[-1]
    return np.tril(0.5 * rng.standard_normal(shape), -1) + rng.uniform(1.0, 2.0, shape) * np.eye(n) \
        + np.triu(rng.standard_normal(shape), 1)


def unit_vectors_apart(rng, shape):
    """Vectors whose entries have distinct absolute values (no ties for the inf norms) and no zeros."""
    n = int(np.prod(shape))
    magnitudes = 0.5 + 0.1 * rng.permutation(n) + rng.uniform(0, 0.01, n)
    return (rng.choice([-1.0, 1.0], n) * magnitudes).reshape(shape)


def _sym(a):
    return a + a.mT


def _eigh_invariants(lib, a, uplo="L"):
    w, v = lib.linalg.eigh(_sym(a), UPLO=uplo)
    return lib.cat([w.unsqueeze(-2), v * v], -2)


def _eigenvalue_clusters(w):
    """The two copies of a repeated eigenvalue (repeated_eigenvalues: the first two) summed, the rest as they
    are: a function of the eigenvalues that is differentiable (to every order) where they repeat."""
    return w[..., 1:] + (w[..., :1] * w.new_tensor([1.0] + [0.0] * (w.shape[-1] - 2)))


def _svd_invariants(lib, a, full_matrices=False):
    u, s, vh = lib.linalg.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    return lib.cat([(u * u).flatten(-2), s, (vh * vh).flatten(-2), (u * s.unsqueeze(-2) @ vh).flatten(-2)], -1)


def _qr_invariants(lib, a, mode="reduced"):
    q, r = lib.linalg.qr(a, mode=mode)
    return lib.cat([(q * q).flatten(-2), (r * r).flatten(-2), (q @ r).flatten(-2)], -1)


def _spd_of(lib, a):
    n = a.shape[-1]
    return a @ a.mT + lib.eye(n, dtype=a.dtype)


def pivoted(rng, shape):
    """Matrices of full rank (random plus 3 I) whose rows are rolled by one, so that partial pivoting swaps rows (and the
    largest entry of each column stands well clear of the rest: the pivots do not move under the
    finite-difference steps)."""
    return np.roll(rng.standard_normal(shape) + 3.0 * np.eye(*shape[-2:]), 1, axis=-2)


def _lu_factors(lib, a, **kwargs):
    """L and U of linalg.lu (P is a constant), flattened into one tensor."""
    _, low, up = lib.linalg.lu(a, **kwargs)
    return lib.cat([low.flatten(-2), up.flatten(-2)], -1)


def _deprecated_lu_solve(lib, b, a):
    with warnings.catch_warnings():  # torch.lu_solve and gg.lu_solve warn that they are deprecated
        warnings.simplefilter("ignore")
        return lib.lu_solve(b, *lib.linalg.lu_factor(a))


def _deprecated_lu(lib, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.lu(a)[0]


def _deprecated_triangular_solve(lib, b, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.triangular_solve(b, a.triu() + 3 * lib.eye(3, dtype=a.dtype), transpose=True).solution


def _deprecated_cholesky(lib, a):
    with warnings.catch_warnings():  # torch.cholesky and gg.cholesky warn that they are deprecated
        warnings.simplefilter("ignore")
        return _spd_of(lib, a).cholesky()


def _deprecated_qr_squares(lib, a):
    with warnings.catch_warnings():  # as do torch.qr and gg.qr
        warnings.simplefilter("ignore")
        factors = a.qr()
    return lib.cat([(f * f).flatten(-2) for f in factors], -1)


def _cond_fro(lib, a):
    if lib is gg:
        return gg.linalg.cond(a, "fro")
    # PyTorch's own cond(ord='fro') writes into a saved tensor in place and cannot be differentiated: its
    # definition, spelled out, is the twin.
    return lib.linalg.matrix_norm(a) * lib.linalg.matrix_norm(lib.linalg.inv(a))


def _both(fn):
    """A row whose body is written once for gpugrad and for torch: fn(lib, *tensors)."""
    return dict(fn=lambda *ts: fn(gg, *ts), torch=lambda torch, *ts: fn(torch, *ts))


ROWS = [
    Row("matmul_2d", lambda a, b: a @ b, [((3, 4), real), ((4, 2), real)], op="matmul"),
    Row("matmul_vec_vec", lambda a, b: a @ b, [((4,), real), ((4,), real)], op="matmul"),
    Row("matmul_mat_vec", lambda a, b: a @ b, [((3, 4), real), ((4,), real)], op="matmul"),
    Row("matmul_vec_mat", lambda a, b: a @ b, [((4,), real), ((4, 2), real)], op="matmul"),
    Row("matmul_batched_broadcast", lambda a, b: a @ b, [((2, 1, 3, 4), real), ((3, 4, 2), real)], op="matmul"),
    Row("matmul_batched_vec", lambda a, b: a @ b, [((2, 3, 4), real), ((4,), real)], op="matmul"),
    Row("dot", gg.dot, [((5,), real), ((5,), real)], torch=lambda torch, a, b: torch.dot(a, b)),
    Row("mm", lambda a, b: a.mm(b), [((3, 4), real), ((4, 2), real)]),
    Row("bmm", lambda a, b: a.bmm(b), [((2, 3, 4), real), ((2, 4, 2), real)]),
    Row("mv", lambda a, v: a.mv(v), [((3, 4), real), ((4,), real)]),
    Row("outer", lambda u, v: u.outer(v), [((3,), real), ((4,), real)]),
    Row("inner", lambda a, b: a.inner(b), [((2, 3), real), ((4, 3), real)]),
    Row("addbmm", lambda m, a, b: m.addbmm(a, b, beta=0.5, alpha=2.0), [((2, 4), real), ((3, 2, 5), real), ((3, 5, 4), real)]),
    Row("pdist", lambda a: gg.pdist(a), [((4, 3), real)], torch=lambda torch, a: torch.pdist(a)),
    Row("renorm", lambda a: a.renorm(2, 0, 1.5), [((4, 3), real)]),
    Row("renorm_p1_dim1", lambda a: a.renorm(1, 1, 2.0), [((3, 2, 2), real)], op="renorm"),
    Row("vdot", lambda a, b: a.vdot(b), [((4,), real), ((4,), real)]),
    Row("dist", lambda a, b: a.dist(b, 3), [((3, 4), real), ((4,), real)]),
    Row("cdist", lambda a, b: gg.cdist(a, b), [((2, 3, 4), real), ((2, 5, 4), real)], torch=lambda torch, a, b: torch.cdist(a, b)),
    Row("cdist_p1", lambda a, b: gg.cdist(a, b, p=1.0), [((3, 4), real), ((5, 4), real)], op="cdist",
        torch=lambda torch, a, b: torch.cdist(a, b, p=1.0)),
    # more than 25 rows: PyTorch's matrix-product form (EuclideanDist)
    Row("cdist_mm", lambda a, b: gg.cdist(a, b), [((26, 3), real), ((2, 4, 3), real)], op="cdist",
        torch=lambda torch, a, b: torch.cdist(a, b)),
    Row("ger", lambda u, v: u.ger(v), [((3,), real), ((2,), real)]),
    Row("addmm", lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2.0), [((4,), real), ((3, 2), real), ((2, 4), real)]),
    Row("addmm_beta_zero", lambda c, a, b: c.addmm(a, b, beta=0), [((3, 4), real), ((3, 2), real), ((2, 4), real)], op="addmm"),
    Row("addmv", lambda c, a, v: c.addmv(a, v, beta=-1.5, alpha=0.5), [((3,), real), ((3, 2), real), ((2,), real)]),
    Row("addr", lambda c, u, v: c.addr(u, v, alpha=3.0), [((3, 1), real), ((3,), real), ((4,), real)]),
    Row("baddbmm", lambda c, a, b: c.baddbmm(a, b, beta=2.0, alpha=-1.0), [((2, 3, 4), real), ((2, 3, 2), real), ((2, 2, 4), real)]),
    Row("einsum_matmul", **_both(lambda lib, a, b: lib.einsum("ij,jk->ik", a, b)), inputs=[((3, 4), real), ((4, 2), real)], op="einsum"),
    Row("einsum_implicit_trace_diag", **_both(lambda lib, a, b: lib.einsum("ii,Bi", a, b)), inputs=[((3, 3), real), ((2, 3), real)], op="einsum"),
    Row("einsum_ellipsis_broadcast", **_both(lambda lib, a, b: lib.einsum("...ij,...jk->...ik", a, b)), inputs=[((2, 1, 2, 3), real), ((3, 3, 2), real)], op="einsum"),
    Row("einsum_sum_out_and_three_operands", **_both(lambda lib, a, b, c: lib.einsum("ijk,j,kl->l", a, b, c)), inputs=[((2, 3, 4), real), ((3,), real), ((4, 2), real)], op="einsum"),
    Row("einsum_diagonal_out", **_both(lambda lib, a: lib.einsum("...ii->...i", a)), inputs=[((2, 3, 3), real)], op="einsum"),
    Row("einsum_size_one_broadcast", **_both(lambda lib, a, b: lib.einsum("ij,jk->ik", a, b)), inputs=[((2, 1), real), ((3, 4), real)], op="einsum"),
    Row("einsum_sublists", **_both(lambda lib, a, b: lib.einsum(a, [..., 0], b, [..., 0, 1, 27], [..., 1, 27])), inputs=[((2, 3), real), ((2, 3, 2, 4), real)], op="einsum"),
    Row("einsum_sublists_implicit_out", **_both(lambda lib, a, b: lib.einsum(a, [0, 1], b, [1, 2])), inputs=[((3, 4), real), ((4, 2), real)], op="einsum"),
    Row("tensordot_int", **_both(lambda lib, a, b: lib.tensordot(a, b, dims=2)), inputs=[((2, 3, 4), real), ((3, 4, 2), real)], op="tensordot"),
    Row("tensordot_lists", **_both(lambda lib, a, b: lib.tensordot(a, b, dims=([0, 2], [2, 0]))), inputs=[((2, 3, 4), real), ((4, 5, 2), real)], op="tensordot"),
    Row("kron", lambda a, b: a.kron(b), [((2, 3), real), ((4,), real)]),
    Row("kron_3d", lambda a, b: a.kron(b), [((2, 1, 2), real), ((2, 3, 1), real)], op="kron"),
    Row("cross", lambda a, b: a.cross(b, dim=0), [((3, 4), real), ((3, 4), real)]),
    Row("linalg_cross", **_both(lambda lib, a, b: lib.linalg.cross(a, b)), inputs=[((2, 3), real), ((1, 3), real)]),
    Row("vecdot", **_both(lambda lib, a, b: lib.linalg.vecdot(a, b, dim=0)), inputs=[((3, 2), real), ((3, 1), real)]),
    Row("trace", lambda a: a.trace(), [((3, 4), real)]),
    Row("det", lambda a: a.det(), [((2, 3, 3), invertible)]),
    Row("linalg_det", **_both(lambda lib, a: lib.linalg.det(a)), inputs=[((4, 4), real)]),
    Row("logdet", lambda a: (a @ a.mT).logdet(), [((3, 3), invertible)]),
    Row("slogdet", lambda a: a.slogdet()[1], [((2, 3, 3), real)]),
    Row("linalg_slogdet", **_both(lambda lib, a: lib.linalg.slogdet(a).logabsdet), inputs=[((3, 3), invertible)]),
    Row("inverse", lambda a: a.inverse(), [((3, 3), invertible)]),
    Row("linalg_inv", **_both(lambda lib, a: lib.linalg.inv(a)), inputs=[((2, 3, 3), invertible)]),
    Row("solve_matrix_rhs", **_both(lambda lib, a, b: lib.linalg.solve(a, b)), inputs=[((2, 3, 3), invertible), ((3, 2), real)], op="solve"),
    Row("solve_vector_rhs", **_both(lambda lib, a, b: lib.linalg.solve(a, b)), inputs=[((2, 3, 3), invertible), ((2, 3), real)], op="solve"),
    Row("solve_left_false", **_both(lambda lib, a, b: lib.linalg.solve(a, b, left=False)), inputs=[((3, 3), invertible), ((2, 3), real)], op="solve"),
    Row("cholesky_solve", **_both(lambda lib, b, a: lib.cholesky_solve(b, lib.linalg.cholesky(_spd_of(lib, a)))),
        inputs=[((3, 2), real), ((2, 3, 3), real)]),
    Row("cholesky_solve_upper", **_both(lambda lib, b, a: b.cholesky_solve(lib.linalg.cholesky(_spd_of(lib, a)).mT, upper=True)),
        inputs=[((3, 2), real), ((3, 3), real)], op="cholesky_solve"),
    # The factor as an input of its own (batched, broadcast against B): finite differences see only the
    # triangle read, so the rows read it through tril / triu (test_linalg.py holds the whole gradient in L,
    # PyTorch's, to torch.autograd's).
    Row("cholesky_solve_factor_lower", **_both(lambda lib, b, a: lib.cholesky_solve(b, a.tril())),
        inputs=[((2, 1, 3, 2), real), ((2, 3, 3), cholesky_factor)], op="cholesky_solve"),
    Row("cholesky_solve_factor_upper", **_both(lambda lib, b, a: lib.cholesky_solve(b, a.mT.triu(), upper=True)),
        inputs=[((2, 3, 2), real), ((2, 3, 3), cholesky_factor)], op="cholesky_solve"),
    Row("cholesky_inverse", **_both(lambda lib, a: lib.cholesky_inverse(lib.linalg.cholesky(_spd_of(lib, a)))),
        inputs=[((3, 3), real)]),
    Row("matrix_exp", **_both(lambda lib, a: lib.linalg.matrix_exp(a)), inputs=[((2, 3, 3), real)], op="linalg_matrix_exp"),
    Row("matrix_exp_scaled", **_both(lambda lib, a: lib.matrix_exp(a * 4.0)), inputs=[((3, 3), real)], op="matrix_exp"),
    Row("lstsq_tall", **_both(lambda lib, a, b: lib.linalg.lstsq(a, b).solution), inputs=[((5, 3), real), ((5, 2), real)],
        op="linalg_lstsq"),
    Row("lstsq_vector_gelsd", **_both(lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelsd").residuals),
        inputs=[((2, 5, 3), real), ((2, 5), real)], op="linalg_lstsq"),
    Row("solve_triangular_lower", **_both(lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False)),
        inputs=[((2, 3, 3), invertible), ((3, 2), real)], op="solve_triangular"),
    Row("solve_triangular_upper_right", **_both(lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True, left=False)),
        inputs=[((3, 3), invertible), ((2, 3), real)], op="solve_triangular"),
    Row("solve_triangular_unit", **_both(lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True, unitriangular=True)),
        inputs=[((3, 3), invertible), ((3, 4), real)], op="solve_triangular"),
    Row("cholesky", **_both(_deprecated_cholesky), inputs=[((3, 3), real)]),
    Row("linalg_cholesky_upper", **_both(lambda lib, a: lib.linalg.cholesky(_spd_of(lib, a), upper=True)), inputs=[((2, 3, 3), real)], op="linalg_cholesky"),
    Row("qr", **_both(_deprecated_qr_squares), inputs=[((4, 3), real)]),
    Row("linalg_qr_tall", **_both(lambda lib, a: _qr_invariants(lib, a)), inputs=[((2, 4, 3), real)], op="linalg_qr"),
    Row("linalg_qr_wide", **_both(lambda lib, a: _qr_invariants(lib, a)), inputs=[((3, 5), real)], op="linalg_qr"),
    Row("linalg_qr_complete_square", **_both(lambda lib, a: _qr_invariants(lib, a, "complete")), inputs=[((3, 3), invertible)], op="linalg_qr"),
    Row("svd", **_both(lambda lib, a: lib.cat([(f * f).flatten() for f in a.svd()], -1)), inputs=[((4, 3), spread)]),
    Row("linalg_svd_tall", **_both(lambda lib, a: _svd_invariants(lib, a)), inputs=[((2, 4, 3), spread)], op="linalg_svd"),
    Row("linalg_svd_wide_full", **_both(lambda lib, a: _svd_invariants(lib, a, True)), inputs=[((3, 5), spread)], op="linalg_svd"),
    Row("linalg_svdvals", **_both(lambda lib, a: lib.linalg.svdvals(a)), inputs=[((2, 3, 4), spread)]),
    Row("linalg_eigh", **_both(lambda lib, a: _eigh_invariants(lib, a)), inputs=[((2, 3, 3), spread)]),
    Row("linalg_eigh_upper", **_both(lambda lib, a: _eigh_invariants(lib, a, "U")), inputs=[((4, 4), spread)], op="linalg_eigh"),
    Row("linalg_eigvalsh", **_both(lambda lib, a: lib.linalg.eigvalsh(_sym(a))), inputs=[((3, 3), spread)]),
    # Gradients on the eigenvalues only where one repeats: V diag(gw) V^T, not 0 / 0 from the eigenvector term.
    Row("linalg_eigvalsh_repeated", **_both(lambda lib, a: _eigenvalue_clusters(lib.linalg.eigvalsh(_sym(a)))),
        inputs=[((2, 3, 3), repeated_eigenvalues)], op="linalg_eigvalsh"),
    Row("linalg_eigh_values_repeated", **_both(lambda lib, a: _eigenvalue_clusters(lib.linalg.eigh(_sym(a), UPLO="U")[0])),
        inputs=[((4, 4), repeated_eigenvalues)], op="linalg_eigh"),
    Row("matrix_power", lambda a: a.matrix_power(3), [((2, 3, 3), real)]),
    Row("linalg_matrix_power_negative", **_both(lambda lib, a: lib.linalg.matrix_power(a, -2)), inputs=[((3, 3), invertible)], op="linalg_matrix_power"),
    Row("linalg_matrix_power_zero", **_both(lambda lib, a: lib.linalg.matrix_power(a, 0) + a), inputs=[((3, 3), real)], op="linalg_matrix_power"),
    Row("pinverse", lambda a: a.pinverse(), [((4, 3), spread)]),
    Row("linalg_pinv_wide", **_both(lambda lib, a: lib.linalg.pinv(a)), inputs=[((2, 3, 5), spread)], op="linalg_pinv"),
    Row("linalg_pinv_hermitian", **_both(lambda lib, a: lib.linalg.pinv(_sym(a), hermitian=True)), inputs=[((3, 3), spread)], op="linalg_pinv"),
    Row("vector_norm_2", **_both(lambda lib, x: lib.linalg.vector_norm(x, dim=1)), inputs=[((3, 4), real)], op="vector_norm"),
    Row("vector_norm_p3_keepdim", **_both(lambda lib, x: lib.linalg.vector_norm(x, 3, (0, 2), keepdim=True)), inputs=[((2, 3, 2), real)], op="vector_norm"),
    Row("vector_norm_p1_5", **_both(lambda lib, x: lib.linalg.vector_norm(x, 1.5)), inputs=[((5,), real)], op="vector_norm"),
    Row("vector_norm_p1", **_both(lambda lib, x: lib.linalg.vector_norm(x, 1, -1)), inputs=[((2, 4), unit_vectors_apart)], op="vector_norm"),
    Row("vector_norm_p_half", **_both(lambda lib, x: lib.linalg.vector_norm(x, 0.5, -1)), inputs=[((2, 4), unit_vectors_apart)], op="vector_norm"),
    Row("vector_norm_p_negative", **_both(lambda lib, x: lib.linalg.vector_norm(x, -2)), inputs=[((2, 3), unit_vectors_apart)], op="vector_norm"),
    Row("vector_norm_inf", **_both(lambda lib, x: lib.linalg.vector_norm(x, float("inf"), 0)), inputs=[((4, 3), unit_vectors_apart)], op="vector_norm"),
    Row("vector_norm_minus_inf", **_both(lambda lib, x: lib.linalg.vector_norm(x, float("-inf"))), inputs=[((4, 3), unit_vectors_apart)], op="vector_norm"),
    Row("matrix_norm_fro", **_both(lambda lib, a: lib.linalg.matrix_norm(a)), inputs=[((2, 3, 4), real)], op="matrix_norm"),
    Row("matrix_norm_nuc", **_both(lambda lib, a: lib.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True)), inputs=[((3, 2, 4), spread)], op="matrix_norm"),
    Row("matrix_norm_2", **_both(lambda lib, a: lib.linalg.matrix_norm(a, 2)), inputs=[((3, 4), spread)], op="matrix_norm"),
    Row("matrix_norm_minus_2", **_both(lambda lib, a: lib.linalg.matrix_norm(a, -2)), inputs=[((4, 3), spread)], op="matrix_norm"),
    Row("matrix_norm_1", **_both(lambda lib, a: lib.linalg.matrix_norm(a, 1)), inputs=[((2, 3, 4), unit_vectors_apart)], op="matrix_norm"),
    Row("matrix_norm_minus_1", **_both(lambda lib, a: lib.linalg.matrix_norm(a, -1)), inputs=[((3, 4), unit_vectors_apart)], op="matrix_norm"),
    Row("matrix_norm_inf", **_both(lambda lib, a: lib.linalg.matrix_norm(a, float("inf"))), inputs=[((3, 4), unit_vectors_apart)], op="matrix_norm"),
    Row("matrix_norm_minus_inf", **_both(lambda lib, a: lib.linalg.matrix_norm(a, float("-inf"), dim=(1, 0))), inputs=[((3, 4), unit_vectors_apart)], op="matrix_norm"),
    Row("linalg_norm_flat", **_both(lambda lib, a: lib.linalg.norm(a)), inputs=[((2, 3, 2), real)]),
    Row("linalg_norm_matrix_ord", **_both(lambda lib, a: lib.linalg.norm(a, "nuc")), inputs=[((3, 3), spread)], op="linalg_norm"),
    Row("linalg_norm_vector_dim", **_both(lambda lib, a: lib.linalg.norm(a, 3, dim=-1)), inputs=[((2, 3), real)], op="linalg_norm"),
    Row("norm", lambda a: a.norm(), [((3, 4), real)]),
    Row("norm_p_dims", lambda a: a.norm(p=4, dim=(0, 2), keepdim=True), [((2, 3, 2), real)], op="norm"),
    Row("norm_nuc", lambda a: a.norm(p="nuc"), [((3, 4), spread)], op="norm"),
    # LU and what is built on it (gpugrad/ops/linalg_lu.py)
    Row("lu_factor", **_both(lambda lib, a: lib.linalg.lu_factor(a).LU), inputs=[((2, 3, 3), pivoted)]),
    Row("lu_factor_ex_wide", **_both(lambda lib, a: lib.linalg.lu_factor_ex(a).LU), inputs=[((3, 4), pivoted)],
        op="lu_factor_ex"),
    Row("linalg_lu", **_both(lambda lib, a: _lu_factors(lib, a)), inputs=[((2, 3, 3), pivoted)]),
    Row("linalg_lu_tall", **_both(lambda lib, a: _lu_factors(lib, a)), inputs=[((5, 3), pivoted)], op="linalg_lu"),
    Row("linalg_lu_wide", **_both(lambda lib, a: _lu_factors(lib, a)), inputs=[((2, 3, 5), pivoted)], op="linalg_lu"),
    Row("linalg_lu_solve", **_both(lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b)),
        inputs=[((2, 3, 3), pivoted), ((3, 2), real)]),
    Row("linalg_lu_solve_adjoint_right", **_both(lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b, left=False, adjoint=True)),
        inputs=[((3, 3), pivoted), ((2, 3), real)], op="linalg_lu_solve"),
    Row("lu_unpack", **_both(lambda lib, a: lib.cat([t.flatten(-2) for t in lib.lu_unpack(*lib.linalg.lu_factor(a))[1:]], -1)),
        inputs=[((4, 3), pivoted)]),
    Row("lu_solve", **_both(_deprecated_lu_solve), inputs=[((3, 2), real), ((3, 3), pivoted)]),
    Row("lu", **_both(_deprecated_lu), inputs=[((3, 3), pivoted)]),
    Row("triangular_solve", **_both(_deprecated_triangular_solve), inputs=[((3, 2), real), ((3, 3), real)]),
    Row("solve_ex", **_both(lambda lib, a, b: lib.linalg.solve_ex(a, b).result), inputs=[((2, 3, 3), invertible), ((2, 3), real)]),
    Row("inv_ex", **_both(lambda lib, a: lib.linalg.inv_ex(a).inverse), inputs=[((3, 3), invertible)]),
    # Composed of other ops (gpugrad/ops/linalg_extra.py)
    Row("cholesky_ex", **_both(lambda lib, a: lib.linalg.cholesky_ex(_spd_of(lib, a), upper=True).L), inputs=[((2, 3, 3), real)]),
    Row("multi_dot", **_both(lambda lib, v, a, b, c: lib.linalg.multi_dot([v, a, b, c])),
        inputs=[((3,), real), ((3, 4), real), ((4, 2), real), ((2, 5), real)]),
    Row("linalg_cond", **_both(lambda lib, a: lib.linalg.cond(a)), inputs=[((2, 4, 3), spread)]),
    Row("linalg_cond_fro", **_both(_cond_fro), inputs=[((3, 3), invertible)], op="linalg_cond"),
    Row("linalg_vander", **_both(lambda lib, x: lib.linalg.vander(x, N=4)), inputs=[((2, 3), real)]),
    Row("linalg_diagonal", **_both(lambda lib, a: lib.linalg.diagonal(a, offset=1, dim1=0)), inputs=[((3, 2, 4), real)]),
    Row("tensorinv", **_both(lambda lib, a: lib.linalg.tensorinv(a.reshape(2, 2, 4))), inputs=[((4, 4), invertible)]),
    Row("tensorsolve", **_both(lambda lib, a, b: lib.linalg.tensorsolve(a.reshape(2, 3, 3, 2), b, dims=(1,))),
        inputs=[((6, 6), invertible), ((2, 3), real)]),
    Row("householder_product", **_both(lambda lib, a, tau: lib.linalg.householder_product(a, tau)),
        inputs=[((2, 4, 3), real), ((2, 2), real)]),
    # Full rank (q = min(m, n)): PyTorch's randomized result is then the exact one too.
    Row("svd_lowrank", **_both(lambda lib, a: (lambda u, s, v: u @ lib.diag_embed(s) @ v.mT)(*lib.svd_lowrank(a, q=3))),
        inputs=[((5, 3), real)]),
    Row("pca_lowrank", **_both(lambda lib, a: (lambda u, s, v: (u * s.unsqueeze(-2)) @ v.mT)(*lib.pca_lowrank(a))),
        inputs=[((2, 5, 3), real)]),
    # eig: phase-free functions of the (complex) results; a random 3x3 has distinct eigenvalues.
    Row("linalg_eig", **_both(lambda lib, a: (lambda w, v: lib.cat([lib.view_as_real(w * w).flatten(), v.abs().flatten()]))(
        *lib.linalg.eig(a))), inputs=[((3, 3), real)], dtypes=(gg.float64,)),
    Row("linalg_eigvals", **_both(lambda lib, a: lib.view_as_real(lib.linalg.eigvals(a).exp())),
        inputs=[((2, 3, 3), real)], dtypes=(gg.float64,)),
]
