"""linalg.ldl_factor, ldl_factor_ex and ldl_solve (gpugrad/ops/linalg_ldl.py): hand-worked factors in
LAPACK's compact form, the factorisation rebuilt from that form as LAPACK documents it, solves against
NumPy, batching, info and error cases, no gradient; and (marked torch) pivots, info, LD and solutions
beside PyTorch's on the same matrices."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError


def t64(a, requires_grad=False):
    return gg.tensor(np.asarray(a), dtype=gg.float64, requires_grad=requires_grad)


def symmetric(rng, n, batch=(), kind="real"):
    """Random indefinite matrices: real symmetric, complex symmetric ('csym') or Hermitian ('herm')."""
    a = rng.standard_normal(batch + (n, n))
    if kind != "real":
        a = a + 1j * rng.standard_normal(batch + (n, n))
    other = np.conj(np.swapaxes(a, -1, -2)) if kind == "herm" else np.swapaxes(a, -1, -2)
    return a + other


def rebuild(ld: np.ndarray, piv: np.ndarray, hermitian: bool) -> np.ndarray:
    """A from ?sytrf's lower compact form, as LAPACK's documentation defines it: A = L D L^T (L^H), with
    L = P(1) L(1) P(2) L(2) ..., P(k) swapping rows k and piv[k] (a 1x1 block) or k+1 and -piv[k] (a 2x2
    block at k, k+1), L(k) the identity with the multipliers below the block in the block's columns, and
    D block diagonal. Written from that description alone (1-based pivots)."""
    n = ld.shape[-1]
    lower = np.eye(n, dtype=ld.dtype)
    d = np.zeros_like(ld)
    k = 0
    while k < n:
        s = 1 if piv[k] > 0 else 2
        p = np.eye(n, dtype=ld.dtype)
        row, other = (k, piv[k] - 1) if s == 1 else (k + 1, -piv[k] - 1)
        p[[row, other]] = p[[other, row]]
        step = np.eye(n, dtype=ld.dtype)
        step[k + s:, k:k + s] = ld[k + s:, k:k + s]
        lower = lower @ p @ step
        d[k:k + s, k:k + s] = ld[k:k + s, k:k + s]
        if s == 2:  # D's block is symmetric (Hermitian): its upper entry mirrors the stored lower one
            d[k, k + 1] = np.conj(ld[k + 1, k]) if hermitian else ld[k + 1, k]
        k += s
    transpose = np.conj(lower.T) if hermitian else lower.T
    return lower @ d @ transpose


# Hand-worked factors ----------------------------------------------------------------------------------


def test_a_dominant_diagonal_takes_one_by_one_pivots_without_swaps():
    # |a00| = 4 >= alpha * |a10| = 0.64 * 2: a 1x1 pivot in place; l10 = 2/4, d11 = 3 - 2 * 2 / 4.
    ld, piv = gg.linalg.ldl_factor(t64([[4.0, 2.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(ld.numpy(), [[4.0, 0.0], [0.5, 2.0]])
    assert piv.dtype is gg.int32 and piv.tolist() == [1, 2]


def test_a_small_corner_is_swapped_for_the_larger_diagonal_entry():
    # |a00| = 1 < alpha * 4, and |a11| = 10 >= alpha * 4: swap rows and columns 0 and 1, then a 1x1
    # pivot on 10: l = 4/10, d = 1 - 16/10. Both pivots say "row 2" (1-based).
    ld, piv = gg.linalg.ldl_factor(t64([[1.0, 4.0], [4.0, 10.0]]))
    np.testing.assert_allclose(ld.numpy(), [[10.0, 0.0], [0.4, -0.6]], rtol=1e-15)
    assert piv.tolist() == [2, 2]


def test_a_zero_diagonal_takes_a_two_by_two_block():
    # Neither diagonal entry can pivot: one 2x2 block, both pivots negative; LD holds the block as is.
    ld, piv, info = gg.linalg.ldl_factor_ex(t64([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(ld.numpy(), [[0.0, 0.0], [1.0, 0.0]])
    assert piv.tolist() == [-2, -2] and info.item() == 0
    # Three rows: the block takes rows 0 and 2 (the largest entry of column 0 is in row 2), and row 1
    # is eliminated against it.
    a = np.array([[0.0, 1.0, 3.0], [1.0, 2.0, 1.0], [3.0, 1.0, 0.0]])
    ld, piv = gg.linalg.ldl_factor(t64(a))
    assert piv.tolist() == [-3, -3, 3]
    np.testing.assert_allclose(rebuild(ld.numpy(), piv.numpy(), False), a, atol=1e-14)


# Reconstruction and solves ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["real", "csym", "herm"])
def test_the_compact_form_rebuilds_the_matrix(rng, kind):
    for n in (1, 2, 3, 5, 8, 17):
        for zero_diagonal in (False, True) if n > 1 else (False,):  # a 1x1 zero is singular
            a = symmetric(rng, n, kind=kind)
            if zero_diagonal:  # forces 2x2 blocks and interchanges
                a[np.arange(n), np.arange(n)] = 0
            hermitian = kind == "herm"
            ld, piv, info = gg.linalg.ldl_factor_ex(gg.tensor(a), hermitian=hermitian)
            assert info.item() == 0
            assert ld.dtype is (gg.float64 if kind == "real" else gg.complex128)
            np.testing.assert_array_equal(np.triu(ld.numpy(), 1), 0)  # only the lower triangle is written
            np.testing.assert_allclose(rebuild(ld.numpy(), piv.numpy(), hermitian), a, atol=1e-12 * n)


@pytest.mark.parametrize("kind", ["real", "csym", "herm"])
def test_ldl_solve_solves_batched_indefinite_systems(rng, kind):
    a = symmetric(rng, 6, (2, 3), kind)
    b = rng.standard_normal((2, 3, 6, 4)) + (1j * rng.standard_normal((2, 3, 6, 4)) if kind != "real" else 0)
    hermitian = kind == "herm"
    ld, piv = gg.linalg.ldl_factor(gg.tensor(a), hermitian=hermitian)
    x = gg.linalg.ldl_solve(ld, piv, gg.tensor(b), hermitian=hermitian)
    assert tuple(x.shape) == (2, 3, 6, 4)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-9, atol=1e-9)


def test_float32_factors_and_solves_in_float32(rng):
    a = symmetric(rng, 5).astype(np.float32)
    b = rng.standard_normal((5, 2)).astype(np.float32)
    ld, piv, info = gg.linalg.ldl_factor_ex(gg.tensor(a))
    assert ld.dtype is gg.float32 and piv.dtype is gg.int32 and info.dtype is gg.int32 and info.shape == ()
    x = gg.linalg.ldl_solve(ld, piv, gg.tensor(b))
    assert x.dtype is gg.float32
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a.astype(np.float64), b), rtol=1e-3, atol=1e-4)


def test_batch_dims_of_the_factor_and_the_right_side_broadcast(rng):
    a = symmetric(rng, 4, (3,))
    ld, piv = gg.linalg.ldl_factor(gg.tensor(a))
    one_b = rng.standard_normal((4, 2))
    x = gg.linalg.ldl_solve(ld, piv, gg.tensor(one_b))  # one B for three factors
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, one_b), rtol=1e-10, atol=1e-10)
    many_b = rng.standard_normal((5, 3, 4, 2))  # more batch dims on B than on the factor
    x = gg.linalg.ldl_solve(ld, piv, gg.tensor(many_b))
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, many_b), rtol=1e-10, atol=1e-10)
    ld0, piv0 = gg.linalg.ldl_factor(gg.tensor(a[0]))
    x = gg.linalg.ldl_solve(ld0, piv0, gg.tensor(many_b))  # one factor, a batch of B (solved as one)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a[0], many_b), rtol=1e-10, atol=1e-10)


def test_only_the_lower_triangle_is_read(rng):
    a = symmetric(rng, 5)
    junk = a + np.triu(rng.standard_normal((5, 5)) * 100, 1)
    for hermitian in (False, True):
        mine, theirs = gg.linalg.ldl_factor(t64(a), hermitian=hermitian), gg.linalg.ldl_factor(t64(junk))
        np.testing.assert_array_equal(mine.LD.numpy(), theirs.LD.numpy())
        np.testing.assert_array_equal(mine.pivots.numpy(), theirs.pivots.numpy())


def test_hermitian_reads_the_real_part_of_the_diagonal(rng):
    a = symmetric(rng, 4, kind="herm")
    noisy = a + 1j * np.diag(rng.standard_normal(4))
    ld, piv = gg.linalg.ldl_factor(gg.tensor(noisy), hermitian=True)
    np.testing.assert_allclose(rebuild(ld.numpy(), piv.numpy(), True), a, atol=1e-12)


# info, errors, results ---------------------------------------------------------------------------------


def test_a_zero_column_is_reported_in_info_and_by_ldl_factor(rng):
    a = np.stack([symmetric(rng, 3), np.diag([1.0, 0.0, 2.0])])
    _, piv, info = gg.linalg.ldl_factor_ex(t64(a))
    assert info.tolist() == [0, 2] and piv[1].tolist() == [1, 2, 3]
    with pytest.raises(gg.linalg.LinAlgError, match=r"^torch.linalg.ldl_factor: \(Batch element 1\): D\[2,2\] is zero"):
        gg.linalg.ldl_factor(t64(a))
    with pytest.raises(gg.linalg.LinAlgError, match=r"ldl_factor_ex: \(Batch element 1\)"):
        gg.linalg.ldl_factor_ex(t64(a), check_errors=True)
    _, _, info = gg.linalg.ldl_factor_ex(t64([[np.nan]]))
    assert info.item() == 1  # a NaN pivot is reported as LAPACK does


def test_empty_inputs():
    ld, piv = gg.linalg.ldl_factor(gg.zeros(0, 3, 3))
    assert tuple(ld.shape) == (0, 3, 3) and tuple(piv.shape) == (0, 3)
    ld, piv, info = gg.linalg.ldl_factor_ex(gg.zeros(0, 0))
    assert tuple(ld.shape) == (0, 0) and tuple(piv.shape) == (0,) and info.item() == 0
    ld, piv = gg.linalg.ldl_factor(gg.eye(3))
    assert tuple(gg.linalg.ldl_solve(ld, piv, gg.zeros(3, 0)).shape) == (3, 0)


def test_input_checks():
    with pytest.raises(ShapeError, match="square matrices"):
        gg.linalg.ldl_factor(gg.zeros(3, 4))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        gg.linalg.ldl_factor(gg.zeros(3))
    with pytest.raises(DTypeError, match="floating point or complex"):
        gg.linalg.ldl_factor(gg.zeros(2, 2, dtype=gg.int64))
    with pytest.raises(DTypeError, match="not implemented for"):
        gg.linalg.ldl_factor(gg.eye(2, dtype=gg.float16))
    ld, piv = gg.linalg.ldl_factor(gg.eye(3))
    b = gg.ones(3, 2)
    with pytest.raises(DTypeError, match="pivots to be integers"):
        gg.linalg.ldl_solve(ld, piv.float(), b)
    with pytest.raises(ShapeError, match=r"LD.shape\[:-1\] and pivots.shape"):
        gg.linalg.ldl_solve(ld, piv[:2], b)
    with pytest.raises(ArgumentError, match=r"\|pivot\| <= LD.size\(-2\)"):
        gg.linalg.ldl_solve(ld, gg.tensor([1, 2, 7], dtype=gg.int32), b)
    with pytest.raises(ArgumentError, match=r"\|pivot\| >= 1"):
        gg.linalg.ldl_solve(ld, gg.tensor([1, 0, 3], dtype=gg.int32), b)
    for broken in ([1, 2, -3], [-2, 2, 3], [-2, -3, 3]):  # a 2x2 block is two equal negative pivots
        with pytest.raises(ArgumentError, match="2x2 block of D has two equal negative pivots"):
            gg.linalg.ldl_solve(ld, gg.tensor(broken, dtype=gg.int32), b)
    with pytest.raises(DTypeError, match="same dtype"):
        gg.linalg.ldl_solve(ld, piv, b.double())
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        gg.linalg.ldl_solve(ld, piv, gg.ones(3))
    with pytest.raises(ShapeError, match="Incompatible matrix sizes"):
        gg.linalg.ldl_solve(ld, piv, gg.ones(4, 2))
    # int64 pivots are taken, as PyTorch takes them
    np.testing.assert_allclose(gg.linalg.ldl_solve(ld, piv.long(), b).numpy(), np.ones((3, 2)))


def test_named_results_and_out(rng):
    a = t64(symmetric(rng, 3))
    result = gg.linalg.ldl_factor(a)
    assert type(result).__name__ == "linalg_ldl_factor" and result._fields == ("LD", "pivots")
    assert gg.linalg.ldl_factor_ex(a)._fields == ("LD", "pivots", "info")
    outs = (gg.empty(0, dtype=gg.float64), gg.empty(0, dtype=gg.int32))
    written = gg.linalg.ldl_factor(a, out=outs)
    assert written.LD is outs[0] and np.array_equal(outs[0].numpy(), result.LD.numpy())
    target = gg.empty(0, dtype=gg.float64)
    x = gg.linalg.ldl_solve(result.LD, result.pivots, t64(np.eye(3)), out=target)
    assert x is target
    np.testing.assert_allclose(target.numpy() @ a.numpy(), np.eye(3), atol=1e-12)


def test_neither_function_has_a_derivative_as_in_pytorch(rng):
    a = t64(symmetric(rng, 3), requires_grad=True)
    ld, piv = gg.linalg.ldl_factor(a)
    assert ld.requires_grad and not piv.requires_grad  # in the graph, as PyTorch's result is
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        ld.sum().backward()
    b = t64(np.ones((3, 1)), requires_grad=True)
    x = gg.linalg.ldl_solve(ld.detach(), piv, b)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not implemented"):
        x.sum().backward()
    with gg.no_grad():
        assert not gg.linalg.ldl_factor(a).LD.requires_grad


# Beside PyTorch -----------------------------------------------------------------------------------------


def _cases(rng):
    """Matrices whose pivot choices differ: random (some badly scaled), zero diagonals, integer entries
    with ties between candidates, singular ones; real, complex symmetric and Hermitian; n past 64, where
    LAPACK switches to its blocked code. Not ties past 64: the blocked code updates the column it searches
    with other roundings, so candidates equal in exact arithmetic can come out unequal there (seen: a
    complex64 tie at 70 rows decided the other way)."""
    for kind in ("real", "csym", "herm"):
        for n in (1, 2, 3, 4, 7, 12, 33, 70):
            a = symmetric(rng, n, kind=kind)
            yield kind, a
            scaled = a * 10.0 ** rng.integers(-3, 4, size=(n, n))
            yield kind, np.tril(scaled) + np.conj(np.tril(scaled, -1).T) if kind == "herm" else np.tril(scaled) + np.tril(scaled, -1).T
            b = a.copy()
            b[np.arange(n), np.arange(n)] = 0
            yield kind, b
            if n > 64:
                continue
            c = np.tril(rng.integers(-2, 3, size=(n, n)).astype(float))
            if kind != "real":
                c = c + 1j * np.tril(rng.integers(-1, 2, size=(n, n)))
            c[:, rng.integers(0, n)] *= rng.integers(0, 2)  # sometimes a zero column: singular
            full = c + (np.conj(np.tril(c, -1).T) if kind == "herm" else np.tril(c, -1).T)
            if kind == "herm":
                full[np.arange(n), np.arange(n)] = full.diagonal().real
            yield kind, full


@pytest.mark.torch
def test_pivots_info_and_factors_match_pytorchs(rng):
    torch = pytest.importorskip("torch")
    for kind, a in _cases(rng):
        hermitian = kind == "herm"
        for dtype in ((np.float32, np.float64) if kind == "real" else (np.complex64, np.complex128)):
            m = a.astype(dtype)
            ours = gg.linalg.ldl_factor_ex(gg.tensor(m), hermitian=hermitian)
            theirs = torch.linalg.ldl_factor_ex(torch.tensor(m), hermitian=hermitian)
            what = f"{kind} n={m.shape[-1]} {np.dtype(dtype).name}"
            np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy(), err_msg=what)
            assert ours.info.item() == theirs.info.item(), what
            single = np.dtype(dtype) in (np.float32, np.complex64)
            scale = max(1.0, float(np.abs(theirs.LD.numpy()).max()))
            np.testing.assert_allclose(ours.LD.numpy(), theirs.LD.numpy(), rtol=0,
                                       atol=(1e-4 if single else 1e-11) * scale, err_msg=what)


@pytest.mark.torch
def test_solutions_match_pytorchs(rng):
    torch = pytest.importorskip("torch")
    for kind in ("real", "csym", "herm"):
        hermitian = kind == "herm"
        a = symmetric(rng, 9, (4,), kind)
        a[1, np.arange(9), np.arange(9)] = 0  # one member factored with 2x2 blocks
        b = rng.standard_normal((4, 9, 3)) + (1j * rng.standard_normal((4, 9, 3)) if kind != "real" else 0)
        ld, piv = torch.linalg.ldl_factor(torch.tensor(a), hermitian=hermitian)
        theirs = torch.linalg.ldl_solve(ld, piv, torch.tensor(b), hermitian=hermitian).numpy()
        # Our solve on PyTorch's factors, and our solve on our factors
        ours = gg.linalg.ldl_solve(gg.tensor(ld.numpy()), gg.tensor(piv.numpy()), gg.tensor(b), hermitian=hermitian)
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10, atol=1e-10)
        mine = gg.linalg.ldl_factor(gg.tensor(a), hermitian=hermitian)
        ours = gg.linalg.ldl_solve(mine.LD, mine.pivots, gg.tensor(b), hermitian=hermitian)
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10, atol=1e-10)


@pytest.mark.torch
def test_errors_and_gradients_are_pytorchs_kinds():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        # PyTorch's keyword names (``input``, though its documentation says A)
        ld, piv = lib.linalg.ldl_factor(input=lib.eye(2))
        assert lib.linalg.ldl_factor_ex(input=lib.eye(2), hermitian=False, check_errors=True).info.item() == 0
        assert lib.linalg.ldl_solve(LD=ld, pivots=piv, B=lib.ones(2, 1), hermitian=False).tolist() == [[1.0], [1.0]]
        with pytest.raises(RuntimeError, match="square matrices"):
            lib.linalg.ldl_factor(lib.zeros(3, 4))
        with pytest.raises(RuntimeError, match="floating point or complex"):
            lib.linalg.ldl_factor(lib.zeros(2, 2, dtype=lib.int64))
        ld, piv = lib.linalg.ldl_factor(lib.eye(3))
        with pytest.raises(RuntimeError, match=r"\|pivot\| <= LD.size\(-2\)"):
            lib.linalg.ldl_solve(ld, lib.tensor([1, 2, 7], dtype=lib.int32), lib.ones(3, 1))
        with pytest.raises(RuntimeError, match="same dtype"):
            lib.linalg.ldl_solve(ld, piv, lib.ones(3, 1, dtype=lib.float64))
        a = lib.tensor([[2.0, 1.0], [1.0, -3.0]], requires_grad=True)
        ld = lib.linalg.ldl_factor(a).LD
        assert ld.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
            ld.sum().backward()
