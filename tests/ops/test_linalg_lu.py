"""LU and the rest of torch.linalg added with it (gpugrad/ops/linalg_lu.py, linalg_extra.py): values against
NumPy and hand-worked factors, LAPACK's pivot convention, shapes, batching, info and error cases, and (marked
torch) the same calls against PyTorch. Gradients are in the op table (tests/ops/table/linalg.py)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError

SINGULAR = [[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]  # its LU: a zero pivot at step 2, then a non-zero one
NOT_PD = [[4.0, 2, 1], [2, 1, 3], [1, 3, 5]]  # leading minor of order 2 is singular


def t64(a, requires_grad=False):
    return gg.tensor(np.asarray(a, dtype=np.float64), dtype=gg.float64, requires_grad=requires_grad)


def close(x, expected, tol=1e-10):
    np.testing.assert_allclose(x.detach().numpy() if isinstance(x, gg.Tensor) else x, expected, rtol=tol, atol=tol)


# LU ---------------------------------------------------------------------------------------------------


def test_lu_factor_of_a_hand_worked_matrix_follows_lapacks_convention():
    # Column 0's largest entry is in row 2 (1-based): swap, l = 1/3, u22 = 2 - 4/3.
    lu, pivots = gg.linalg.lu_factor(t64([[1.0, 2.0], [3.0, 4.0]]))
    close(lu, [[3.0, 4.0], [1 / 3, 2 / 3]], 1e-15)
    assert pivots.dtype is gg.int32 and pivots.tolist() == [2, 2]
    # A zero pivot is left in place (no swap, no division) and reported; elimination goes on after it.
    lu, pivots, info = gg.linalg.lu_factor_ex(t64(SINGULAR))
    close(lu, [[2.0, 4, 6], [0.5, 0, 0], [0, 0, 1]], 0)
    assert pivots.tolist() == [2, 2, 3] and info.dtype is gg.int32 and info.item() == 2
    _, _, info = gg.linalg.lu_factor_ex(gg.zeros(3, 4))
    assert info.item() == 1


@pytest.mark.parametrize("shape", [(2, 4, 4), (5, 3), (2, 3, 5)])
def test_lu_reconstructs_the_matrix_with_bounded_multipliers(rng, shape):
    a = rng.standard_normal(shape)
    m, n = shape[-2:]
    k = min(m, n)
    lu, pivots = gg.linalg.lu_factor(t64(a))
    p, low, up = gg.linalg.lu(t64(a))
    assert tuple(lu.shape) == shape and tuple(pivots.shape) == shape[:-2] + (k,)
    assert p.shape == shape[:-2] + (m, m) and low.shape == shape[:-2] + (m, k) and up.shape == shape[:-2] + (k, n)
    close(p.numpy() @ low.numpy() @ up.numpy(), a)
    assert np.all(np.abs(low.numpy()) <= 1 + 1e-15)  # partial pivoting: no multiplier exceeds 1
    close(low, np.tril(low.numpy()), 0)
    close(up, np.triu(up.numpy()), 0)
    np.testing.assert_array_equal(np.diagonal(low.numpy(), axis1=-2, axis2=-1), 1.0)
    piv = pivots.numpy()
    assert piv.min() >= 1 and piv.max() <= m and np.all(piv >= np.arange(1, k + 1))  # row i swaps with one below
    for got, expected in zip(gg.lu_unpack(lu, pivots), (p, low, up)):
        close(got, expected.numpy(), 0)


def test_lu_factor_refuses_singular_matrices_but_lu_and_the_ex_form_do_not():
    batch = t64([np.eye(3), SINGULAR])
    with pytest.raises(gg.linalg.LinAlgError, match=r"^torch.linalg.lu_factor: U\[2,2\] is zero"):
        gg.linalg.lu_factor(t64(SINGULAR))
    with pytest.raises(gg.linalg.LinAlgError, match=r"\(Batch element 1\): U\[2,2\] is zero"):
        gg.linalg.lu_factor(batch)
    with pytest.raises(gg.linalg.LinAlgError, match=r"^torch.linalg.lu_factor_ex: \(Batch element 1\)"):
        gg.linalg.lu_factor_ex(batch, check_errors=True)
    assert gg.linalg.lu_factor_ex(batch).info.tolist() == [0, 2]
    p, low, up = gg.linalg.lu(t64(SINGULAR))
    close(p.numpy() @ low.numpy() @ up.numpy(), SINGULAR)


def test_lu_without_pivoting():
    a = np.array([[2.0, 1.0], [4.0, 5.0]])  # partial pivoting would swap these rows
    p, low, up = gg.linalg.lu(t64(a), pivot=False)
    assert p.shape == (0,)
    close(low, [[1.0, 0.0], [2.0, 1.0]], 0)
    close(up, [[2.0, 1.0], [0.0, 3.0]], 0)
    lu, pivots, info = gg.linalg.lu_factor_ex(t64([[0.0, 1.0], [1.0, 0.0]]), pivot=False)
    assert pivots.tolist() == [1, 2] and info.item() == 1  # no LU without pivoting: inf/NaN, reported


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 3), (2, 3, 0), (0, 3, 3)])
def test_lu_of_empty_matrices(shape):
    m, n = shape[-2:]
    lu, pivots, info = gg.linalg.lu_factor_ex(gg.zeros(*shape))
    assert lu.shape == shape and pivots.shape == shape[:-2] + (min(m, n),) and info.shape == shape[:-2]
    p, low, up = gg.linalg.lu(gg.zeros(*shape))
    assert p.shape == shape[:-2] + (m, m) and low.shape == shape[:-2] + (m, min(m, n))


def test_lu_errors_name_the_function():
    with pytest.raises(ShapeError, match="lu_factor: Expected tensor with 2 or more dimensions"):
        gg.linalg.lu_factor(gg.ones(3))
    with pytest.raises(DTypeError, match="lu_factor_ex: Expected a floating point"):
        gg.linalg.lu_factor_ex(gg.ones(2, 2, dtype=gg.int64))
    with pytest.raises(DTypeError, match="linalg.lu: Expected a floating point"):
        gg.linalg.lu(gg.ones(2, 2, dtype=gg.int64))


def test_lu_solve_in_every_form_matches_numpy(rng):
    a = rng.standard_normal((2, 3, 3))
    lu, pivots = gg.linalg.lu_factor(t64(a))
    b = rng.standard_normal((4, 1, 3, 2))  # batch dims broadcast against LU's
    close(gg.linalg.lu_solve(lu, pivots, t64(b)), np.linalg.solve(a, b))
    close(gg.linalg.lu_solve(lu, pivots, t64(b), adjoint=True), np.linalg.solve(np.swapaxes(a, -1, -2), b))
    c = rng.standard_normal((2, 3))
    expected = np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), c.T), -1, -2)  # X A = C
    close(gg.linalg.lu_solve(lu, pivots, t64(c), left=False), expected)
    close(gg.linalg.lu_solve(lu, pivots, t64(c), left=False, adjoint=True),
          np.swapaxes(np.linalg.solve(a, c.T), -1, -2))
    with pytest.warns(UserWarning, match="deprecated"):
        close(gg.lu_solve(t64(b[0, 0]), lu[0], pivots[0]), np.linalg.solve(a[0], b[0, 0]))
    # The method is the same op, whose warning (as PyTorch's) is given once per process.
    close(t64(b[0, 0]).lu_solve(lu[0], pivots[0]), np.linalg.solve(a[0], b[0, 0]))


def test_lu_solve_errors(rng):
    lu, pivots = gg.linalg.lu_factor(t64(rng.standard_normal((2, 3, 3))))
    b = t64(rng.standard_normal((2, 3, 2)))
    cases = [
        (lambda: gg.linalg.lu_solve(lu[..., :2], pivots, b), ShapeError, "square matrices"),
        (lambda: gg.linalg.lu_solve(lu, pivots, b.float()), DTypeError, "same dtype"),
        (lambda: gg.linalg.lu_solve(lu, pivots.long(), b), DTypeError, "int32"),
        (lambda: gg.linalg.lu_solve(lu, pivots[0], b), ShapeError, r"pivots.shape to be the same"),
        (lambda: gg.linalg.lu_solve(lu, pivots, b[0, 0]), ShapeError, "at least 2 dimensions"),
        (lambda: gg.linalg.lu_solve(lu, pivots, b.mT), ShapeError, r"AX = B \(3x3 and 2x3\)"),
        (lambda: gg.linalg.lu_solve(lu, pivots, b, left=False), ShapeError, r"XA = B \(3x3 and 3x2\)"),
        (lambda: gg.linalg.lu_solve(lu, pivots + 3, b), ArgumentError, "between 1 and"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match="lu_solve"):
            call()
        with pytest.raises(error, match=match):
            call()


def test_lu_unpack_flags_and_errors(rng):
    lu, pivots = gg.linalg.lu_factor(t64(rng.standard_normal((2, 4, 3))))
    p, low, up = gg.lu_unpack(lu, pivots, unpack_data=False)
    assert p.shape == (2, 4, 4) and low.shape == (0,) and up.shape == (0,)
    p, low, up = gg.lu_unpack(lu, pivots, unpack_pivots=False)
    assert p.shape == (0,) and low.shape == (2, 4, 3) and up.shape == (2, 3, 3)
    assert gg.lu_unpack(lu, pivots[0]).P.shape == (2, 4, 4)  # pivots' batch dims broadcast
    with pytest.raises(DTypeError, match="lu_unpack: .*int32"):
        gg.lu_unpack(lu, pivots.long())
    with pytest.raises(ArgumentError, match="between 1 and"):
        gg.lu_unpack(lu, pivots * 0)
    with pytest.raises(ShapeError, match=r"pivots of shape \(\*, 3\)"):
        gg.lu_unpack(lu, pivots[..., :2])


def test_solve_ex_and_inv_ex_report_singular_matrices(rng):
    a = rng.standard_normal((2, 3, 3))
    b = rng.standard_normal((3, 2))
    x, info = gg.linalg.solve_ex(t64(a), t64(b))
    close(x, np.linalg.solve(a, b))
    assert info.dtype is gg.int32 and info.tolist() == [0, 0]
    inverse, info = gg.linalg.inv_ex(t64(a))
    close(inverse, np.linalg.inv(a))
    batch = t64([np.eye(3), SINGULAR])
    x, info = gg.linalg.solve_ex(batch, t64(np.ones(3)))
    assert info.tolist() == [0, 2] and x.shape == (2, 3)
    close(x[0], np.ones(3))
    assert not np.isfinite(x[1].numpy()).all()  # inf/NaN, not an exception
    inverse, info = gg.linalg.inv_ex(batch)
    assert info.tolist() == [0, 2] and not np.isfinite(inverse[1].numpy()).all()
    close(inverse[0], np.eye(3))
    with pytest.raises(gg.linalg.LinAlgError, match=r"solve_ex: \(Batch element 1\): The solver failed"):
        gg.linalg.solve_ex(batch, t64(np.ones(3)), check_errors=True)
    with pytest.raises(gg.linalg.LinAlgError, match=r"inv_ex: \(Batch element 1\): The diagonal element 2 is zero"):
        gg.linalg.inv_ex(batch, check_errors=True)
    with pytest.raises(ShapeError, match="inv_ex: A must be batches of square matrices"):
        gg.linalg.inv_ex(gg.ones(2, 3))
    with pytest.raises(DTypeError, match="solve_ex"):
        gg.linalg.solve_ex(gg.ones(2, 2), gg.ones(2, dtype=gg.float64))


def test_cholesky_ex_reports_the_failing_minor_and_keeps_the_others_differentiable():
    a = t64([np.eye(3) * 4.0, NOT_PD], requires_grad=True)
    factor, info = gg.linalg.cholesky_ex(a)
    assert info.dtype is gg.int32 and info.tolist() == [0, 2]
    close(factor[0], np.eye(3) * 2.0)
    close(factor[1], [[2.0, 0, 0], [1, 0, 0], [0.5, 3, 5]])  # LAPACK's partial factor: column 2 stopped
    factor[0].sum().backward()
    ref = t64(np.eye(3) * 4.0, requires_grad=True)
    gg.linalg.cholesky(ref).sum().backward()
    close(a.grad[0], ref.grad.numpy())
    close(a.grad[1], np.zeros((3, 3)), 0)
    upper, _ = gg.linalg.cholesky_ex(t64(NOT_PD), upper=True)
    close(upper, np.array([[2.0, 0, 0], [1, 0, 0], [0.5, 3, 5]]).T)
    with pytest.raises(gg.linalg.LinAlgError, match=r"cholesky_ex: \(Batch element 1\): .* order 2 "):
        gg.linalg.cholesky_ex(a, check_errors=True)
    with pytest.raises(ShapeError, match="cholesky_ex: A must be batches of square matrices"):
        gg.linalg.cholesky_ex(gg.ones(2, 3))


# The composed ones ----------------------------------------------------------------------------------------


def test_multi_dot_matches_numpy_with_vector_ends(rng):
    v, a, b, c, w = (rng.standard_normal(s) for s in [(3,), (3, 6), (6, 2), (2, 5), (5,)])
    close(gg.linalg.multi_dot([t64(v), t64(a), t64(b), t64(c), t64(w)]), np.linalg.multi_dot([v, a, b, c, w]))
    close(gg.linalg.multi_dot([t64(a), t64(b), t64(c)]), a @ b @ c)
    assert gg.linalg.multi_dot([t64(v), t64(v)]).shape == ()
    assert gg.linalg.multi_dot([gg.ones(2, 2, dtype=gg.int64)] * 3).tolist() == [[4, 4], [4, 4]]
    cases = [
        ([t64(a)], ArgumentError, "at least 2 tensors but got 1"),
        ([t64(a[None]), t64(b)], ShapeError, "the first tensor must be 1D or 2D but got 3D"),
        ([t64(a), t64(v), t64(a)], ShapeError, "tensor 1 must be 2D but got 1D"),
        ([t64(a), t64(a)], ShapeError, r"tensors 0 and 1 with shapes \[3, 6\] and \[3, 6\] cannot be multiplied"),
        ([t64(a), gg.tensor(b, dtype=gg.float32)], DTypeError, "same dtype"),
    ]
    for tensors, error, match in cases:
        with pytest.raises(error, match="multi_dot"):
            gg.linalg.multi_dot(tensors)
        with pytest.raises(error, match=match):
            gg.linalg.multi_dot(tensors)


@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc"])
def test_cond_matches_numpy(rng, p):
    a = rng.standard_normal((2, 3, 3))
    close(gg.linalg.cond(t64(a), p), np.linalg.cond(a, p), 1e-9)


def test_cond_of_singular_empty_and_non_square_matrices(rng):
    a = rng.standard_normal((4, 3))
    close(gg.linalg.cond(t64(a)), np.linalg.cond(a))
    for p in (1, math.inf, "fro"):
        assert gg.linalg.cond(t64(SINGULAR), p).item() == math.inf
    assert gg.linalg.cond(gg.zeros(2, 0, 0)).tolist() == [0.0, 0.0]
    with pytest.raises(ShapeError, match=r"linalg.cond\(ord=1\): A must be batches of square matrices"):
        gg.linalg.cond(t64(a), 1)
    with pytest.raises(ArgumentError, match="linalg.cond got an invalid norm type: 3"):
        gg.linalg.cond(t64(SINGULAR), 3)
    with pytest.raises(ShapeError, match="linalg.cond: The input tensor must have at least 2 dimensions"):
        gg.linalg.cond(gg.ones(3))
    with pytest.raises(DTypeError, match="linalg.cond"):
        gg.linalg.cond(gg.ones(2, 2, dtype=gg.int64))


def test_vander_increasing_powers():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    close(gg.linalg.vander(t64(x)), np.stack([np.vander(r, increasing=True) for r in x]), 0)
    close(gg.linalg.vander(t64(x[0]), N=5), np.vander(x[0], 5, increasing=True), 0)
    assert gg.linalg.vander(t64(2.0), N=3).tolist() == [[1.0, 2.0, 4.0]]  # 0-d: one point
    ints = gg.linalg.vander(gg.tensor([1, 2], dtype=gg.int8))
    assert ints.dtype is gg.int64 and ints.tolist() == [[1, 1], [1, 2]]
    for x_, n in ((t64([1.0, 2.0]), 1), (t64(2.0), None)):
        with pytest.raises(ArgumentError, match="N must be greater than 1"):
            gg.linalg.vander(x_, N=n)
    with pytest.raises(DTypeError, match="linalg.vander .* but got torch.bool"):
        gg.linalg.vander(gg.tensor([True, False]))


def test_diagonal_defaults_to_the_last_two_dims(rng):
    a = rng.standard_normal((2, 3, 4))
    close(gg.linalg.diagonal(t64(a)), np.diagonal(a, axis1=-2, axis2=-1), 0)
    close(gg.linalg.diagonal(t64(a), offset=-1, dim1=0, dim2=2), np.diagonal(a, -1, 0, 2), 0)


def test_tensorinv_and_tensorsolve_match_numpy(rng):
    a = rng.standard_normal((4, 6, 8, 3))
    close(gg.linalg.tensorinv(t64(a)), np.linalg.tensorinv(a), 1e-9)
    b = rng.standard_normal((6, 2, 3))
    close(gg.linalg.tensorinv(t64(b), ind=1), np.linalg.tensorinv(b, ind=1), 1e-9)
    a, b = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    close(gg.linalg.tensorsolve(t64(a), t64(b)), np.linalg.tensorsolve(a, b))
    a, b = rng.standard_normal((6, 4, 2, 3)), rng.standard_normal((4, 3))
    close(gg.linalg.tensorsolve(t64(a), t64(b), dims=(0, 2)), np.linalg.tensorsolve(a, b, axes=(0, 2)))
    with pytest.raises(ArgumentError, match="strictly positive integer for 'ind'"):
        gg.linalg.tensorinv(t64(a), ind=0)
    with pytest.raises(ShapeError, match=r"tensorinv: .* but got 144 != 4"):
        gg.linalg.tensorinv(t64(rng.standard_normal((4, 6, 8, 3))), ind=1)
    with pytest.raises(gg.linalg.LinAlgError, match="^linalg.tensorinv: The diagonal element 1 is zero"):
        gg.linalg.tensorinv(gg.zeros(2, 2, 2, 2, dtype=gg.float64))
    with pytest.raises(ShapeError, match=r"tensorsolve: .* 18 != 6"):
        gg.linalg.tensorsolve(t64(rng.standard_normal((2, 3, 6))), t64(np.ones(6)))


def test_householder_product_rebuilds_q_from_geqrf_output(rng):
    a = rng.standard_normal((5, 3))
    h, tau = np.linalg.qr(a, mode="raw")  # LAPACK's geqrf output, transposed
    q = gg.linalg.householder_product(t64(h.T), t64(tau))
    close(q, np.linalg.qr(a)[0])
    close(gg.linalg.householder_product(t64(h.T), t64(tau[:0])), np.eye(5, 3), 0)  # no reflectors
    batch = gg.linalg.householder_product(t64(np.stack([h.T, h.T])), t64(np.stack([tau, tau])))
    close(batch[1], np.linalg.qr(a)[0])
    cases = [
        ((3,), (2,), ShapeError, "input must have at least 2 dimensions"),
        ((3, 4), (2,), ShapeError, r"input.shape\[-2\] must be greater than or equal to input.shape\[-1\]"),
        ((4, 3), (4,), ShapeError, r"input.shape\[-1\] must be greater than or equal to tau.shape\[-1\]"),
        ((2, 4, 3), (3,), ShapeError, "tau to have one dimension less than input"),
        ((2, 4, 3), (1, 3), ShapeError, "batch dimensions of tau"),
    ]
    for a_shape, tau_shape, error, match in cases:
        with pytest.raises(error, match=match):
            gg.linalg.householder_product(gg.ones(*a_shape), gg.ones(*tau_shape))
    with pytest.raises(DTypeError, match="householder_product: tau dtype"):
        gg.linalg.householder_product(gg.ones(4, 3), gg.ones(2, dtype=gg.float64))


def test_results_are_named_tuples_with_pytorchs_fields(rng):
    a = t64(rng.standard_normal((3, 3)) + 3 * np.eye(3))
    assert gg.linalg.lu_factor(a)._fields == ("LU", "pivots")
    assert gg.linalg.lu_factor_ex(a)._fields == ("LU", "pivots", "info")
    assert gg.linalg.lu(a)._fields == ("P", "L", "U")
    assert gg.lu_unpack(*gg.linalg.lu_factor(a))._fields == ("P", "L", "U")
    assert gg.linalg.solve_ex(a, a)._fields == ("result", "info")
    assert gg.linalg.inv_ex(a)._fields == ("inverse", "info")
    assert gg.linalg.cholesky_ex(a @ a.mT)._fields == ("L", "info")
    out = (t64(np.zeros(0)), gg.zeros(0, dtype=gg.int32))
    result = gg.linalg.lu_factor(a, out=out)
    assert result.LU is out[0] and result.pivots is out[1]
    close(out[0], gg.linalg.lu_factor(a).LU.numpy(), 0)


cuda_usable = gg.cuda.is_available() or gg.backend.simulating_cuda()


@pytest.mark.cuda
@pytest.mark.cudasim
@pytest.mark.skipif(not cuda_usable, reason="needs a GPU or the CUDA simulator")
def test_lu_family_on_the_cuda_device_matches_the_cpu(rng):
    a = np.roll(rng.standard_normal((2, 4, 4)) + 3 * np.eye(4), 1, axis=-2)
    b = rng.standard_normal((4, 2))
    results = []
    for device in ("cpu", "cuda"):
        x = gg.tensor(a, dtype=gg.float64, device=device, requires_grad=True)
        y = gg.tensor(b, dtype=gg.float64, device=device, requires_grad=True)
        lu, pivots, info = gg.linalg.lu_factor_ex(x)
        p, low, up = gg.linalg.lu(x)
        sol = gg.linalg.lu_solve(lu, pivots, y)
        (sol.sum() + (low * up).sum() + gg.linalg.cond(x).sum() + gg.linalg.solve_ex(x, y).result.sum()).backward()
        results.append([t.detach().cpu().numpy() for t in (lu, pivots, info, p, low, up, sol, x.grad, y.grad)])
    for on_cpu, on_gpu in zip(*results):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-10, atol=1e-12)


# Against PyTorch --------------------------------------------------------------------------------------------


@pytest.mark.torch
def test_lu_factor_ex_matches_pytorch_bit_for_bit_on_pivots_and_info(rng):
    torch = pytest.importorskip("torch")
    matrices = [SINGULAR, np.zeros((3, 3)), [[0.0, 0, 1], [0, 0, 2], [1, 1, 1]], rng.standard_normal((4, 4)),
                rng.standard_normal((3, 5)), rng.standard_normal((5, 2)), np.ones((3, 3))]
    for a in matrices:
        ours = gg.linalg.lu_factor_ex(t64(a))
        theirs = torch.linalg.lu_factor_ex(torch.tensor(np.asarray(a, dtype=np.float64)))
        close(ours.LU, theirs.LU.numpy(), 1e-14)
        assert ours.pivots.tolist() == theirs.pivots.tolist() and ours.info.tolist() == theirs.info.tolist()
        for mine, th in zip(gg.linalg.lu(t64(a)), torch.linalg.lu(torch.tensor(np.asarray(a, dtype=np.float64)))):
            close(mine, th.numpy(), 1e-14)


@pytest.mark.torch
def test_error_messages_and_partial_factors_match_pytorch():
    torch = pytest.importorskip("torch")
    batch = [np.eye(3), SINGULAR]
    cases = [
        lambda lib, t: lib.linalg.lu_factor(t(SINGULAR)),
        lambda lib, t: lib.linalg.lu_factor(t(batch)),
        lambda lib, t: lib.linalg.lu_factor_ex(t(batch), check_errors=True),
        lambda lib, t: lib.linalg.inv_ex(t(batch), check_errors=True),
        lambda lib, t: lib.linalg.solve_ex(t(SINGULAR), t(np.ones(3)), check_errors=True),
        lambda lib, t: lib.linalg.cholesky_ex(t([np.eye(3), NOT_PD]), check_errors=True),
        lambda lib, t: lib.linalg.multi_dot([t(np.ones((2, 3))), t(np.ones((2, 3)))]),
        lambda lib, t: lib.linalg.cond(t(np.ones((3, 4))), 1),
        lambda lib, t: lib.linalg.householder_product(t(np.ones((4, 3))), t(np.ones(4))),
    ]
    for call in cases:
        with pytest.raises(RuntimeError) as ours:
            call(gg, t64)
        with pytest.raises(RuntimeError) as theirs:
            call(torch, lambda a: torch.tensor(np.asarray(a, dtype=np.float64)))
        assert str(ours.value) == str(theirs.value)
    for matrix in (NOT_PD, np.diag([1.0, 2.0, -1.0]) + 0.1):
        for upper in (False, True):
            ours = gg.linalg.cholesky_ex(t64(matrix), upper=upper)
            theirs = torch.linalg.cholesky_ex(torch.tensor(matrix), upper=upper)
            close(ours.L, theirs.L.numpy(), 1e-12)
            assert ours.info.item() == theirs.info.item()


@pytest.mark.torch
def test_values_of_the_composed_functions_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 3, 3))
    calls = [
        lambda lib, t: lib.linalg.cond(t(a), "nuc"),
        lambda lib, t: lib.linalg.cond(t(SINGULAR), "fro"),
        lambda lib, t: lib.linalg.vander(t(a[0]), N=4),
        lambda lib, t: lib.linalg.inv_ex(t(SINGULAR)).info,
        lambda lib, t: lib.linalg.solve_ex(t(a), t(a[0])).result,
        lambda lib, t: lib.linalg.lu_solve(*lib.linalg.lu_factor(t(a)), t(a[1]), left=False, adjoint=True),
    ]
    for call in calls:
        ours = call(gg, t64)
        theirs = call(torch, lambda x: torch.tensor(np.asarray(x, dtype=np.float64)))
        assert tuple(ours.shape) == tuple(theirs.shape)
        close(ours, theirs.numpy(), 1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lu, piv = torch.linalg.lu_factor(torch.tensor(a))
        expected = torch.lu_solve(torch.tensor(a), lu, piv).numpy()
    with pytest.warns(UserWarning):
        close(gg.lu_solve(t64(a), *gg.linalg.lu_factor(t64(a))), expected)
