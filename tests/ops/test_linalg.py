"""Linear algebra: values against NumPy, identities the factors must satisfy, edge points, errors, out= and
in-place forms, and (marked torch) the same calls against PyTorch. Gradients are in the op table."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError


def t64(a, requires_grad=False):
    return gg.tensor(np.asarray(a, dtype=np.float64), dtype=gg.float64, requires_grad=requires_grad)


def close(x, expected, tol=1e-10):
    np.testing.assert_allclose(x.detach().numpy() if isinstance(x, gg.Tensor) else x, expected, rtol=tol, atol=tol)


# Matrix products ------------------------------------------------------------------------------------------


def test_plain_backward_of_a_matrix_product_runs_no_ops(rng, count_applies):
    a = gg.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    b = gg.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    u = gg.tensor(rng.standard_normal((3, 4)))
    y = a @ b
    counts = count_applies()
    plain = gg.grad(y, [a, b], u, retain_graph=True)
    assert not counts, dict(counts)
    np.testing.assert_allclose(plain[0].numpy(), u.numpy() @ b.detach().numpy().T, rtol=1e-12)
    np.testing.assert_allclose(plain[1].numpy(), a.detach().numpy().T @ u.numpy(), rtol=1e-12)
    composite = gg.grad(y, [a, b], u, create_graph=True)  # differentiable again: Tensor ops
    assert counts["MatMul"] == 2 and all(g.requires_grad for g in composite)
    for p, c in zip(plain, composite):
        np.testing.assert_array_equal(p.numpy(), c.detach().numpy())


def test_products_and_their_scaled_sums_match_numpy(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    v, w = rng.standard_normal(4), rng.standard_normal(3)
    c = rng.standard_normal((3, 2))
    batch1, batch2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2))
    close(gg.mm(t64(a), t64(b)), a @ b)
    close(t64(a).mv(t64(v)), a @ v)
    close(gg.outer(t64(w), t64(v)), np.outer(w, v))
    close(gg.ger(t64(w), t64(v)), np.outer(w, v))
    close(gg.bmm(t64(batch1), t64(batch2)), batch1 @ batch2)
    close(gg.addmm(t64(c), t64(a), t64(b), beta=0.5, alpha=-2), 0.5 * c - 2 * (a @ b))
    close(gg.addmv(t64(w), t64(a), t64(v), beta=2), 2 * w + a @ v)
    close(gg.addr(t64(a), t64(w), t64(v), alpha=3), a + 3 * np.outer(w, v))
    close(gg.baddbmm(t64(c), t64(batch1), t64(batch2), beta=-1), -c + batch1 @ batch2)


def test_integer_products_stay_integer():
    a = gg.tensor([[1, 2], [3, 4]])
    assert gg.mm(a, a).dtype is gg.int64 and gg.mm(a, a).tolist() == [[7, 10], [15, 22]]
    assert gg.trace(a).dtype is gg.int64 and gg.trace(a).item() == 5
    assert gg.trace(a.int()).dtype is gg.int64 and gg.trace(a.to(gg.uint8)).dtype is gg.int64  # PyTorch's
    assert gg.addmm(a, a, a, beta=2).tolist() == [[9, 14], [21, 30]]


def test_trace_gradient_is_the_upstream_gradient_on_the_diagonal():
    for shape in ((4, 4), (5, 3), (2, 6)):
        x = gg.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
        y = gg.trace(x)
        y.backward(gg.tensor(2.5, dtype=gg.float64))
        expected = np.zeros(shape)
        np.fill_diagonal(expected, 2.5)
        assert np.array_equal(x.grad.numpy(), expected)
        assert gg.autograd.gradgradcheck(gg.trace, (x,))


def test_dtype_rules_of_products():
    i, f = gg.ones(2, 2, dtype=gg.int64), gg.ones(2, 2)
    assert gg.kron(i, f).dtype is gg.float32 and gg.outer(i[0], f[0].double()).dtype is gg.float64  # promoted
    assert gg.addmm(i, i, i, beta=0.5).tolist() == [[2, 2], [2, 2]]  # 2.5 truncated, the result stays int64
    for call in (lambda: gg.addmm(f, i, i), lambda: gg.tensordot(i, f), lambda: gg.mm(i, f),
                 lambda: gg.linalg.vecdot(f, f.double()), lambda: gg.trace(gg.ones(2, 2, dtype=gg.bool)),
                 lambda: gg.linalg.solve(f, f.double())):
        with pytest.raises(DTypeError):
            call()


def test_beta_zero_ignores_input_values_but_gives_it_a_zero_gradient():
    c = t64([[math.nan]], requires_grad=True)
    a = t64(np.eye(2), requires_grad=True)
    y = gg.addmm(c, a, a, beta=0)
    close(y, np.eye(2))
    y.sum().backward()
    close(c.grad, [[0.0]])


def test_inplace_forms_match_the_functions(rng):
    c, a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x = t64(c)
    assert x.addmm_(t64(a), t64(b), alpha=2) is x
    close(x, c + 2 * (a @ b))
    y = t64(c[:, 0])
    y.addmv_(t64(a), t64(b[:, 0]), beta=0.5)
    close(y, 0.5 * c[:, 0] + a @ b[:, 0])
    z = t64(np.zeros((3, 4)))
    z.addr_(t64(a[:, 0]), t64(b[:, 0]))
    close(z, np.outer(a[:, 0], b[:, 0]))
    w = t64(np.ones((2, 3, 2)))
    w.baddbmm_(t64(np.stack([a, a])), t64(np.stack([b, b])))
    close(w, 1 + np.stack([a @ b] * 2))


def test_out_argument_receives_the_result(rng):
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    out = t64(np.zeros(1))
    assert gg.mm(t64(a), t64(a), out=out) is out
    close(out, a @ a)
    dot_out = t64(np.zeros(0))
    gg.dot(t64(a[0]), t64(a[1]), out=dot_out)
    close(dot_out, a[0] @ a[1])
    inv_out = t64(np.zeros((3, 3)))
    gg.linalg.inv(t64(a), out=inv_out)
    close(inv_out, np.linalg.inv(a))
    u, s, vh = t64(np.zeros(0)), t64(np.zeros(0)), t64(np.zeros(0))
    result = gg.linalg.svd(t64(a), out=(u, s, vh))
    assert result.U is u and result.S is s and result.Vh is vh
    close(u.numpy() * s.numpy() @ vh.numpy(), a)
    with pytest.raises(RuntimeError, match="out="):
        gg.mm(t64(a, requires_grad=True), t64(a), out=t64(np.zeros((3, 3))))


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ij,jk", [(2, 3), (3, 4)]),
        ("ba", [(2, 3)]),
        ("Ba,aC", [(2, 3), (3, 4)]),
        ("ii", [(3, 3)]),
        ("ii->i", [(3, 3)]),
        ("iii->i", [(2, 2, 2)]),
        ("ij->", [(2, 3)]),
        ("i,i->", [(4,), (4,)]),
        ("i,j", [(2,), (3,)]),
        (",i->i", [(), (3,)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
        ("...ij", [(2, 3, 4)]),
        ("...ii->...i", [(2, 3, 3)]),
        ("bij,bjk,bkl->bil", [(2, 2, 3), (2, 3, 4), (2, 4, 2)]),
        (" i j , j k -> k i ", [(2, 3), (3, 4)]),
        ("ijk,j,kl->l", [(2, 3, 4), (3,), (4, 2)]),
    ],
)
def test_einsum_matches_numpy_and_its_gradients_pass_gradcheck(rng, equation, shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    tensors = [t64(a, requires_grad=True) for a in arrays]
    close(gg.einsum(equation, *tensors), np.einsum(equation.replace(" ", ""), *arrays))
    assert gg.autograd.gradcheck(lambda *ts: gg.einsum(equation, *ts), tensors)


@st.composite
def einsum_problems(draw):
    """An equation over letters a-d (fixed sizes), 1 to 3 operands, explicit or implicit output, sometimes
    with a shared ellipsis; and the operands' shapes."""
    sizes = {"a": 2, "b": 3, "c": 1, "d": 2}
    n_ell = draw(st.integers(0, 2))
    terms, shapes = [], []
    for _ in range(draw(st.integers(1, 3))):
        letters = draw(st.lists(st.sampled_from("abcd"), max_size=3))
        ell = n_ell and draw(st.booleans())
        terms.append(("..." if ell else "") + "".join(letters))
        shapes.append(((2, 3)[2 - n_ell:] if ell else ()) + tuple(sizes[c] for c in letters))
    equation = ",".join(terms)
    if draw(st.booleans()):
        seen = sorted(set("".join(terms).replace(".", "")))
        output = draw(st.permutations(seen)).__getitem__(slice(draw(st.integers(0, len(seen)))))
        equation += "->" + ("..." if n_ell and any("..." in t for t in terms) else "") + "".join(output)
    return equation, shapes


@given(problem=einsum_problems())
def test_einsum_of_random_equations_matches_numpy_with_correct_gradients(problem):
    equation, shapes = problem
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in shapes]
    tensors = [t64(a, requires_grad=True) for a in arrays]
    close(gg.einsum(equation, *tensors), np.einsum(equation, *arrays))
    assert gg.autograd.gradcheck(lambda *ts: gg.einsum(equation, *ts), tensors)


def test_einsum_sublist_subscripts_outside_0_to_51_are_refused(rng):
    a = t64(rng.standard_normal((2, 2)))
    for bad in (52, -1, "i"):
        with pytest.raises(ValueError, match=r"not within the valid range \[0, 52\)"):
            gg.einsum(a, [0, bad])


def test_einsum_takes_a_list_of_operands_and_broadcasts_size_one_subscripts(rng):
    a, b = rng.standard_normal((2, 1)), rng.standard_normal((3, 4))
    close(gg.einsum("ij,jk->ik", [t64(a), t64(b)]), a @ np.ones((1, 3)) @ b)


def test_einsum_stretches_a_size_one_subscript_to_an_empty_one(rng):
    """0 is a size like any other: a subscript of size 1 in one operand and 0 in another is 0 (a batch
    that happens to be empty), with empty gradients, as PyTorch's."""
    x, codebook = t64(rng.standard_normal((0, 1, 4))).requires_grad_(), t64(rng.standard_normal((5, 4))).requires_grad_()
    y = gg.einsum("... i d, j d -> ... i j", x, codebook)
    assert y.shape == (0, 1, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 1, 4) and codebook.grad.tolist() == [[0.0] * 4] * 5
    assert gg.einsum("bi,bi->b", t64(np.ones((1, 3))), t64(np.ones((0, 3)))).shape == (0,)


@pytest.mark.parametrize(
    "equation, shapes, error, match",
    [
        ("ij,jk->ik", [(2, 3), (4, 2)], ShapeError, "subscript j has size 4"),
        ("ij,jk", [(2, 3)], ArgumentError, "2 operands"),
        ("ijk", [(2, 3)], ShapeError, "3 subscripts"),
        ("i1", [(2, 3)], ArgumentError, "invalid subscript"),
        ("ij->ii", [(2, 3)], ArgumentError, "more than once"),
        ("ij->k", [(2, 3)], ArgumentError, "in no input"),
        ("......", [(2, 3)], ArgumentError, "ellipsis"),
    ],
)
def test_einsum_rejects_bad_equations(equation, shapes, error, match):
    with pytest.raises(error, match=match):
        gg.einsum(equation, *[gg.zeros(s) for s in shapes])


def test_einsum_rejects_mixed_dtypes():
    with pytest.raises(DTypeError, match="same dtype"):
        gg.einsum("ij,jk", gg.zeros(2, 2), gg.zeros(2, 2, dtype=gg.float64))


@pytest.mark.parametrize("equation, shapes, by_matmul", [
    ("bhtd,bhsd->bhts", [(2, 3, 5, 4), (2, 3, 6, 4)], True),  # attention's scores: batch letters b and h
    ("bhts,bhsd->bhtd", [(2, 3, 5, 6), (2, 3, 6, 4)], True),
    ("ij,jk->ki", [(3, 4), (4, 5)], True),  # the roles swapped: the product in the output's order
    ("bij,bjk->kbi", [(2, 3, 4), (2, 4, 5)], True),  # a permuted result, laid out in C order
    ("abc,cd->bd", [(2, 3, 4), (4, 5)], True),  # a summed first
    ("ii,ij->j", [(3, 3), (3, 4)], False),  # a diagonal: NumPy's einsum
])
def test_einsum_of_two_operands_is_one_matrix_product(rng, monkeypatch, equation, shapes, by_matmul):
    products = []
    real = gg.backend.cpu.matmul
    monkeypatch.setattr(gg.backend.cpu, "matmul", lambda a, b: products.append((a.shape, b.shape)) or real(a, b))
    arrays = [rng.standard_normal(s) for s in shapes]
    tensors = [t64(a, requires_grad=True) for a in arrays]
    y = gg.einsum(equation, *tensors)
    assert len(products) == by_matmul
    close(y, np.einsum(equation, *arrays))
    assert y.is_contiguous()
    assert gg.autograd.gradcheck(lambda *ts: gg.einsum(equation, *ts), tensors)


def test_tensordot_kron_cross_vecdot_trace_match_numpy(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 5))
    close(gg.tensordot(t64(a), t64(b)), np.tensordot(a, b))
    close(gg.tensordot(t64(a), t64(b), dims=0), np.tensordot(a, b, 0))
    close(gg.tensordot(t64(a), t64(b), dims=([1, 2], [0, 1])), np.tensordot(a, b, ([1, 2], [0, 1])))
    close(gg.tensordot(t64(a), t64(b), dims=[[-1], [1]]), np.tensordot(a, b, ([-1], [1])))
    m, v = rng.standard_normal((2, 3)), rng.standard_normal(4)
    close(gg.kron(t64(m), t64(v)), np.kron(m, v))
    close(gg.kron(t64(a), t64(m)), np.kron(a, m))
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
    close(gg.linalg.cross(t64(x), t64(y)), np.cross(x, y))
    close(gg.cross(t64(x.T), t64(np.repeat(y.T, 4, 1))), np.cross(x, y).T)  # the first dim of size 3
    close(gg.cross(t64(x), t64(np.repeat(y, 4, 0)), dim=1), np.cross(x, y))
    close(gg.linalg.vecdot(t64(x), t64(y)), (x * y).sum(-1))
    close(gg.trace(t64(m)), np.trace(m))


def test_shape_errors_name_the_function_and_shapes():
    cases = [
        (lambda: gg.mm(gg.zeros(2, 3), gg.zeros(2, 3)), "mm: mat1 and mat2 shapes cannot be multiplied \\(2x3 and 2x3\\)"),
        (lambda: gg.mm(gg.zeros(2, 3, 1), gg.zeros(3, 2)), "mm: expected self to be a 2-D"),
        (lambda: gg.bmm(gg.zeros(2, 3), gg.zeros(2, 3)), "bmm: expected batch1 to be a 3-D"),
        (lambda: gg.bmm(gg.zeros(2, 2, 3), gg.zeros(3, 3, 3)), "bmm: expected size .* \\[2, 3\\] but got: \\[3, 3\\]"),
        (lambda: gg.mv(gg.zeros(3, 3), gg.zeros(4)), "mv: size mismatch"),
        (lambda: gg.outer(gg.zeros(2, 2), gg.zeros(2)), "outer: expected self to be a 1-D"),
        (lambda: gg.addmm(gg.zeros(4), gg.zeros(2, 3), gg.zeros(3, 2)), "addmm: input of shape \\(4,\\)"),
        (lambda: gg.tensordot(gg.zeros(2, 3), gg.zeros(2, 3), dims=([1], [0])), "tensordot: contracted dimensions"),
        (lambda: gg.linalg.cross(gg.zeros(2, 4), gg.zeros(2, 4)), "linalg.cross: inputs dimension -1 must have length 3"),
        (lambda: gg.trace(gg.zeros(2, 3, 3)), "trace: expected a matrix"),
        (lambda: gg.linalg.inv(gg.zeros(2, 3)), "linalg.inv: A must be batches of square matrices, but they are 2 by 3"),
        (lambda: gg.linalg.det(gg.zeros(3)), "linalg.det: The input tensor A must have at least 2 dimensions"),
        (lambda: gg.linalg.solve(gg.zeros(3, 3), gg.zeros(4)), "linalg.solve: Incompatible shapes .* AX = B \\(3x3 and 4x1\\)"),
        (lambda: gg.linalg.solve(gg.zeros(3, 3), gg.zeros(3, 2), left=False), "XA = B"),
        (lambda: gg.linalg.matrix_norm(gg.zeros(3)), "linalg.matrix_norm: The input tensor A must have at least 2"),
        (lambda: gg.linalg.norm(gg.zeros(2, 3, 4), ord=2), "If dim is not specified but ord is, the input must be 1D or 2D"),
    ]
    for call, match in cases:
        with pytest.raises(ShapeError, match=match):
            call()


def test_argument_errors():
    with pytest.raises(ArgumentError, match="Order 3 not supported"):
        gg.linalg.matrix_norm(gg.zeros(2, 2), ord=3)
    with pytest.raises(ArgumentError, match=r"linalg.norm: If dim is specified, it must be of length 1 or 2. Got \[0, 1, 2\]"):
        gg.linalg.norm(gg.zeros(2, 3, 4), dim=(0, 1, 2))
    with pytest.raises(ArgumentError, match="dim must be a 2-tuple"):
        gg.norm(gg.zeros(2, 3, 4), p="nuc")
    with pytest.raises(ArgumentError, match="UPLO"):
        gg.linalg.eigh(gg.zeros(2, 2), UPLO="X")
    with pytest.raises(ArgumentError, match="unrecognized mode 'full'"):
        gg.linalg.qr(gg.zeros(2, 2), mode="full")
    with pytest.raises(ArgumentError, match="tensordot: both dimension lists"):
        gg.tensordot(gg.zeros(2, 3), gg.zeros(2, 3), dims=([1], [1, 0]))
    with pytest.raises(ArgumentError, match="cannot compute the inf norm on an empty tensor"):
        gg.linalg.vector_norm(gg.zeros(0, 3), float("inf"))


@pytest.mark.parametrize(
    "call",
    [gg.linalg.det, gg.linalg.inv, gg.linalg.cholesky, gg.linalg.svd, gg.linalg.svdvals, gg.linalg.eigh,
     gg.linalg.eigvalsh, gg.linalg.qr, gg.linalg.slogdet, gg.logdet, gg.linalg.vector_norm, gg.linalg.matrix_norm,
     gg.norm, lambda a: gg.linalg.solve(a, a), lambda a: gg.linalg.vecdot(a, a), gg.linalg.pinv,
     gg.linalg.matrix_rank],
)
def test_integer_input_is_refused_by_floating_point_functions(call):
    with pytest.raises(DTypeError, match="(?i)floating point|float"):
        call(gg.tensor([[2, 1], [1, 2]]))


# Inverses, solves, determinants ---------------------------------------------------------------------


def test_inverse_solve_det_match_numpy(rng):
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b, vec = rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    close(gg.linalg.inv(t64(a)), np.linalg.inv(a))
    close(gg.inverse(t64(a)), np.linalg.inv(a))
    close(gg.linalg.solve(t64(a), t64(b)), np.linalg.solve(a, np.broadcast_to(b, (2, 3, 2))))
    close(gg.linalg.solve(t64(a), t64(vec)), np.einsum("bij,bj->bi", np.linalg.inv(a), vec))
    close(gg.linalg.solve(t64(a), t64(vec[0])), np.linalg.inv(a) @ vec[0])
    rows = rng.standard_normal((4, 3))
    close(gg.linalg.solve(t64(a), t64(rows), left=False), rows @ np.linalg.inv(a))
    close(gg.linalg.det(t64(a)), np.linalg.det(a))
    sign, logabs = gg.linalg.slogdet(t64(a))
    close(sign, np.linalg.slogdet(a)[0])
    close(logabs, np.linalg.slogdet(a)[1])
    close(gg.linalg.matrix_power(t64(a), 5), np.linalg.matrix_power(a, 5))
    close(gg.matrix_power(t64(a), -3), np.linalg.matrix_power(a, -3))


def test_solve_broadcasts_batches_of_a_and_b(rng):
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((5, 1, 3, 4))
    x = gg.linalg.solve(t64(a), t64(b))
    assert tuple(x.shape) == (5, 2, 3, 4)
    close(t64(a) @ x, np.broadcast_to(b, (5, 2, 3, 4)))


def test_singular_matrices_raise_naming_the_batch_element():
    singular = np.array([[1.0, 2, 3], [2, 4, 6], [0, 0, 1]])
    with pytest.raises(gg.linalg.LinAlgError, match="^linalg.inv: The diagonal element 2 is zero"):
        gg.linalg.inv(t64(singular))
    with pytest.raises(gg.linalg.LinAlgError, match=r"^linalg.inv: \(Batch element 1\): The diagonal element 1 is zero"):
        gg.linalg.inv(t64(np.stack([np.eye(3), np.zeros((3, 3))])))
    with pytest.raises(gg.linalg.LinAlgError, match=r"\(Batch element 1\): The solver failed because the input matrix is singular"):
        gg.linalg.solve(t64(np.stack([np.eye(3), singular])), t64(np.ones((3, 1))))
    with pytest.raises(RuntimeError):  # torch.linalg.LinAlgError is a RuntimeError; ours is too
        gg.linalg.solve(t64(np.zeros((2, 2))), t64(np.ones(2)))


def test_not_positive_definite_names_the_leading_minor():
    with pytest.raises(gg.linalg.LinAlgError, match="the leading minor of order 2 is not positive-definite"):
        gg.linalg.cholesky(t64(np.diag([1.0, -1.0, 1.0])))
    with pytest.raises(gg.linalg.LinAlgError, match=r"\(Batch element 1\): .* order 1 "):
        gg.linalg.cholesky(t64(np.stack([np.eye(2), -np.eye(2)])))


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix():
    a = t64([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], requires_grad=True)  # rank 2: cofactors are not all zero
    gg.linalg.det(a).backward()
    cofactors = [[4.0, 4, -4], [-2, -2, 2], [0, 0, 0]]
    close(a.grad, cofactors, tol=1e-9)


def test_det_of_empty_and_one_by_one_matrices():
    close(gg.linalg.det(t64(np.zeros((0, 0)))), 1.0)
    a = t64([[[2.0]], [[-3.0]]], requires_grad=True)
    y = gg.linalg.det(a)
    close(y, [2.0, -3.0])
    y.sum().backward()
    close(a.grad, np.ones((2, 1, 1)))


def test_logdet_is_nan_for_negative_determinants_and_minus_inf_for_zero():
    assert math.isnan(gg.logdet(t64([[0.0, 1], [1, 0]])).item())
    assert gg.logdet(t64([[0.0, 0], [1, 0]])).item() == -math.inf
    close(gg.logdet(t64([[2.0, 0], [0, 3]])), math.log(6))


def test_matrix_power_zero_is_the_identity_with_a_zero_gradient():
    a = t64(np.full((2, 3, 3), math.nan), requires_grad=True)  # values do not matter, NaN included
    y = gg.linalg.matrix_power(a, 0)
    close(y, np.broadcast_to(np.eye(3), (2, 3, 3)))
    y.sum().backward()
    close(a.grad, np.zeros((2, 3, 3)))
    b = t64(np.eye(2))
    assert gg.linalg.matrix_power(b, 1) is not b  # a new tensor, as PyTorch's


def test_pinv_and_matrix_rank_match_numpy_on_rank_deficient_matrices(rng):
    low_rank = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4))
    close(gg.linalg.pinv(t64(low_rank)), np.linalg.pinv(low_rank), tol=1e-8)
    close(gg.pinverse(t64(low_rank)), np.linalg.pinv(low_rank, rcond=1e-15), tol=1e-8)
    sym = low_rank @ low_rank.T
    close(gg.linalg.pinv(t64(sym), hermitian=True), np.linalg.pinv(sym, hermitian=True), tol=1e-8)
    assert gg.linalg.matrix_rank(t64(low_rank)).item() == 2
    assert gg.linalg.matrix_rank(t64(sym), hermitian=True).item() == 2
    ranks = gg.linalg.matrix_rank(t64(np.stack([np.eye(3), np.zeros((3, 3)), np.diag([3.0, 2, 1])])), atol=1.5)
    assert ranks.dtype is gg.int64 and ranks.tolist() == [0, 0, 2]
    assert gg.linalg.matrix_rank(t64(np.diag([3.0, 2, 1])), rtol=0.5).item() == 2


# Decompositions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3)])
def test_factors_reconstruct_the_matrix(rng, shape):
    a = rng.standard_normal(shape)
    k = min(shape[-2:])
    q, r = gg.linalg.qr(t64(a))
    close(q @ r, a)
    close(q.mT @ q, np.broadcast_to(np.eye(k), shape[:-2] + (k, k)))
    close(r, np.triu(r.numpy()))
    u, s, vh = gg.linalg.svd(t64(a), full_matrices=False)
    close((u * s.unsqueeze(-2)) @ vh, a)
    close(s, np.linalg.svd(a, compute_uv=False))
    close(gg.linalg.svdvals(t64(a)), np.linalg.svd(a, compute_uv=False))
    uf, _, vhf = gg.linalg.svd(t64(a))
    assert tuple(uf.shape[-2:]) == (shape[-2],) * 2 and tuple(vhf.shape[-2:]) == (shape[-1],) * 2
    legacy = gg.svd(t64(a))
    close((legacy.U * legacy.S.unsqueeze(-2)) @ legacy.V.mT, a)


def test_eigh_and_cholesky_of_symmetric_matrices(rng):
    m = rng.standard_normal((2, 4, 4))
    spd = m @ np.swapaxes(m, -1, -2) + np.eye(4)
    w, v = gg.linalg.eigh(t64(spd))
    close(t64(spd) @ v, v * w.unsqueeze(-2))
    close(w, np.linalg.eigvalsh(spd))
    close(gg.linalg.eigvalsh(t64(spd)), np.linalg.eigvalsh(spd))
    lower_only = np.tril(spd)  # UPLO='L' reads the lower triangle only, 'U' the upper
    close(gg.linalg.eigvalsh(t64(lower_only)), np.linalg.eigvalsh(spd))
    close(gg.linalg.eigvalsh(t64(np.swapaxes(lower_only, -1, -2)), UPLO="U"), np.linalg.eigvalsh(spd))
    low = gg.linalg.cholesky(t64(spd))
    close(low @ low.mT, spd)
    with pytest.warns(UserWarning, match=r"gg.cholesky is deprecated \(as torch.cholesky\)"):
        close(gg.cholesky(t64(spd), upper=True), np.swapaxes(np.linalg.cholesky(spd), -1, -2))


def test_cholesky_reads_the_lower_triangle_or_with_upper_the_upper_one():
    lower_only = t64([[4.0, 100.0], [2.0, 5.0]])  # 100 is never read for L; read for U it breaks definiteness
    close(gg.linalg.cholesky(lower_only), [[2.0, 0.0], [1.0, 2.0]])
    close(gg.linalg.cholesky(t64([[4.0, 2.0], [100.0, 5.0]]), upper=True), [[2.0, 1.0], [0.0, 2.0]])
    with pytest.raises(gg.linalg.LinAlgError, match="order 2"):
        gg.linalg.cholesky(lower_only, upper=True)


def test_qr_modes():
    a = t64(np.arange(15.0).reshape(3, 5) ** 1.5)
    q, r = gg.linalg.qr(a, mode="complete")
    assert tuple(q.shape) == (3, 3) and tuple(r.shape) == (3, 5)
    q_r, r_only = gg.linalg.qr(a, mode="r")
    assert tuple(q_r.shape) == (0,)
    close(r_only, r)
    with pytest.warns(UserWarning, match=r"gg.qr is deprecated \(as torch.qr\)"):
        q2, r2 = gg.qr(a.mT, some=False)
    assert tuple(q2.shape) == (5, 5) and tuple(r2.shape) == (5, 3)
    q3, _ = a.mT.qr()  # the same op, whose warning (as PyTorch's) is given once per process
    close(q3.abs(), gg.linalg.qr(a.mT).Q.abs())


@pytest.mark.torch
def test_the_deprecated_qr_and_cholesky_warn_as_pytorch_does():
    torch = pytest.importorskip("torch")
    spd = np.array([[4.0, 2.0], [2.0, 5.0]])
    for name, call in (("qr", lambda t: t.qr()), ("cholesky", lambda t: t.cholesky())):
        for lib in (torch, gg):
            lib.set_warn_always(True)  # PyTorch's warning may have been given earlier in this process
            try:
                with pytest.warns(UserWarning, match=f"{name} is deprecated"):
                    call(lib.tensor(spd))
            finally:
                lib.set_warn_always(False)
        with warnings.catch_warnings():  # the linalg spellings stay quiet in both
            warnings.simplefilter("error")
            getattr(gg.linalg, name)(gg.tensor(spd))
            getattr(torch.linalg, name)(torch.tensor(spd))


def test_qr_gradients_that_pytorch_refuses_are_refused():
    a = t64(np.arange(6.0).reshape(3, 2) ** 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        gg.linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        gg.linalg.qr(a, mode="complete").Q.sum().backward()


def test_values_only_paths_agree_with_the_recorded_ones(rng):
    a = rng.standard_normal((3, 4))
    with gg.no_grad():
        plain = gg.linalg.svdvals(t64(a, requires_grad=True))
    recorded = gg.linalg.svdvals(t64(a, requires_grad=True))
    assert not plain.requires_grad and recorded.requires_grad
    close(plain, recorded.detach().numpy())
    sym = a @ a.T
    close(gg.linalg.eigvalsh(t64(sym)), gg.linalg.eigvalsh(t64(sym, requires_grad=True)).detach().numpy())


def test_svd_without_vectors_gives_zero_filled_u_and_v():
    u, s, v = gg.svd(t64(np.diag([3.0, 1.0])), compute_uv=False)
    close(s, [3.0, 1.0])
    close(u, np.zeros((2, 2)))
    close(v, np.zeros((2, 2)))


@pytest.mark.parametrize("fn", [
    gg.linalg.inv, gg.linalg.det, gg.linalg.cholesky, gg.linalg.eigvalsh, gg.linalg.svdvals, gg.linalg.pinv,
    lambda a: gg.linalg.svd(a).U, lambda a: gg.linalg.qr(a).R, lambda a: gg.linalg.eigh(a).eigenvectors,
    lambda a: gg.linalg.slogdet(a).logabsdet, lambda a: gg.linalg.matrix_norm(a, "nuc"),
    lambda a: gg.linalg.solve(a, a[0]), lambda a: gg.linalg.vector_norm(a, 3),
])
def test_float32_stays_float32(fn):
    a = gg.tensor(np.eye(3) * 2 + 0.1, dtype=gg.float32)
    assert fn(a).dtype is gg.float32


# Norms ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, 0, math.inf, -math.inf, -1])
def test_vector_norm_matches_numpy(rng, ord):
    x = rng.standard_normal((3, 4))
    close(gg.linalg.vector_norm(t64(x), ord, dim=1), np.linalg.norm(x, ord, axis=1))
    close(gg.linalg.vector_norm(t64(x), ord, dim=(0, 1), keepdim=True),
          np.linalg.norm(x.ravel(), ord).reshape(1, 1))


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
def test_matrix_norm_matches_numpy(rng, ord):
    a = rng.standard_normal((2, 3, 4))
    close(gg.linalg.matrix_norm(t64(a), ord), np.linalg.norm(a, ord, axis=(-2, -1)))
    close(gg.linalg.matrix_norm(t64(a), ord, dim=(0, 2), keepdim=True),
          np.linalg.norm(a, ord, axis=(0, 2), keepdims=True))
    close(gg.linalg.norm(t64(a), ord, dim=(1, 2)), np.linalg.norm(a, ord, axis=(1, 2)))


def test_norm_forms_choose_vector_or_matrix_norms(rng):
    a = rng.standard_normal((2, 3, 4))
    close(gg.norm(t64(a)), np.linalg.norm(a.ravel()))
    close(gg.linalg.norm(t64(a)), np.linalg.norm(a.ravel()))
    close(gg.norm(t64(a), p=3, dim=(0, 2)), (np.abs(a) ** 3).sum((0, 2)) ** (1 / 3))
    close(gg.norm(t64(a[0]), p="nuc"), np.linalg.norm(a[0], "nuc"))
    close(gg.linalg.norm(t64(a[0]), 2), np.linalg.norm(a[0], 2))  # 2-D input with ord: a matrix norm
    close(gg.linalg.norm(t64(a[0, 0]), math.inf), np.abs(a[0, 0]).max())
    close(t64(a).norm(dim=-1, keepdim=True), np.linalg.norm(a, axis=-1, keepdims=True))


@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, 0.5, math.inf, -1])
def test_vector_norm_gradient_at_the_zero_vector_is_zero(ord):
    x = t64(np.zeros((2, 3)), requires_grad=True)
    gg.linalg.vector_norm(x, ord, dim=1).sum().backward()
    close(x.grad, np.zeros((2, 3)))


def test_vector_norm_of_zero_order_counts_and_has_no_gradient():
    x = t64([[0.0, 2, -1], [0, 0, 0]], requires_grad=True)
    y = gg.linalg.vector_norm(x, 0, dim=1)
    close(y, [2.0, 0.0])
    y.sum().backward()
    assert x.grad is None


def test_inf_norm_maxima_share_the_gradient():
    x = t64([3.0, -3.0, 1.0], requires_grad=True)
    gg.linalg.vector_norm(x, math.inf).backward()
    close(x.grad, [0.5, -0.5, 0.0])
    a = t64([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    gg.linalg.matrix_norm(a, 1).backward()
    close(a.grad, np.full((2, 2), 0.5))


def test_norms_of_empty_matrices():
    for ord in ("fro", "nuc", 2, 1, math.inf):
        close(gg.linalg.matrix_norm(gg.zeros(2, 0, 3, dtype=gg.float64), ord), np.zeros(2))
    with pytest.raises(ShapeError, match="empty"):
        gg.linalg.matrix_norm(gg.zeros(0, 3), -2)


def test_vector_norm_of_empty_and_0d_tensors():
    close(gg.linalg.vector_norm(gg.zeros(0, 3, dtype=gg.float64)), 0.0)
    close(gg.linalg.vector_norm(gg.zeros(0, 3, dtype=gg.float64), dim=0), np.zeros(3))
    close(gg.linalg.vector_norm(t64(-3.0)), 3.0)
    assert gg.linalg.vector_norm(gg.zeros(2, dtype=gg.float32), dtype=gg.float64).dtype is gg.float64


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), ord=st.sampled_from([1, 2, 3, math.inf, -math.inf, 0.5]),
       data=st.data())
def test_vector_norm_over_random_dims_matches_numpy(shape, ord, data):
    x = np.random.default_rng(len(shape)).standard_normal(shape)
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda d: d % len(shape), max_size=len(shape)))
    keepdim = data.draw(st.booleans())
    axes = tuple(d % len(shape) for d in dims) or None
    a = np.abs(x)
    if ord == math.inf:
        expected = a.max(axis=axes, keepdims=keepdim)
    elif ord == -math.inf:
        expected = a.min(axis=axes, keepdims=keepdim)
    else:
        expected = (a**ord).sum(axis=axes, keepdims=keepdim) ** (1 / ord)
    close(gg.linalg.vector_norm(t64(x), ord, dims if dims else None, keepdim), expected)


# Against PyTorch --------------------------------------------------------------------------------------------


@pytest.mark.torch
def test_error_messages_match_pytorch():
    torch = pytest.importorskip("torch")
    singular = [[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]
    cases = [
        (lambda lib, t: lib.linalg.inv(t(singular)), "singular"),
        (lambda lib, t: lib.linalg.inv(t([np.eye(3), np.zeros((3, 3))])), "singular"),
        (lambda lib, t: lib.linalg.solve(t([np.eye(3), singular]), t(np.ones((3, 1)))), "singular"),
        (lambda lib, t: lib.linalg.cholesky(t(np.diag([1.0, 2.0, -1.0]))), "positive"),
        (lambda lib, t: lib.linalg.cholesky(t([np.eye(2), -np.eye(2)])), "positive"),
    ]
    for call, _ in cases:
        with pytest.raises(RuntimeError) as ours:
            call(gg, lambda a: t64(a))
        with pytest.raises(RuntimeError) as theirs:
            call(torch, lambda a: torch.tensor(np.asarray(a, dtype=np.float64)))
        assert str(ours.value) == str(theirs.value)


@pytest.mark.torch
@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, 0.5, 0, math.inf, -math.inf, -1, -2])
@pytest.mark.parametrize("values", [[0.0, 0.0, 0.0], [0.0, 2.0, -2.0], [1.0, math.nan, 0.0], [3.0, math.inf, 1.0]])
def test_vector_norm_edge_points_match_pytorch(ord, values):
    torch = pytest.importorskip("torch")
    x = t64(values, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, yt = gg.linalg.vector_norm(x, ord), torch.linalg.vector_norm(t, ord)
    np.testing.assert_allclose(y.item(), yt.item(), equal_nan=True)
    with np.errstate(invalid="ignore"):  # inf / inf is NaN in both, as the comparison checks
        y.backward()
    yt.backward()
    if t.grad is None:
        assert x.grad is None
    else:
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), equal_nan=True)


@pytest.mark.torch
def test_det_gradient_at_a_singular_matrix_matches_pytorch_differentiable_backward():
    # PyTorch's first-order-only backward returns zeros here; with create_graph=True it takes the SVD
    # path and returns the cofactor matrix, the true derivative, which is what we give in both modes.
    torch = pytest.importorskip("torch")
    values = [[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
    for create_graph in (False, True):
        x = t64(values, requires_grad=True)
        (g,) = gg.grad(gg.linalg.det(x), x, create_graph=create_graph)
        close(g, expected.detach().numpy(), tol=1e-9)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"atol": 1.5}, {"rtol": 0.4}, {"atol": 0.5, "rtol": 0.9}, {"hermitian": True}])
def test_matrix_rank_and_pinv_tolerances_match_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    a = np.diag([3.0, 2.0, 1.0, 0.0]) + np.ones((4, 4)) * 1e-3
    a = a + a.T
    assert gg.linalg.matrix_rank(t64(a), **kwargs).item() == torch.linalg.matrix_rank(torch.tensor(a), **kwargs).item()
    close(gg.linalg.pinv(t64(a), **kwargs), torch.linalg.pinv(torch.tensor(a), **kwargs).numpy(), tol=1e-8)


@pytest.mark.torch
@pytest.mark.parametrize(
    "equation, shapes",
    [("ij,jk", [(2, 3), (3, 4)]), ("Ba,aC", [(2, 3), (3, 4)]), ("bA", [(2, 3)]), ("...ij->ij", [(2, 3, 3)]),
     ("i...->i", [(2, 3, 4)]), ("ij,jk", [(2, 1), (3, 4)]), ("ii", [(3, 3)]), (",i", [(), (3,)])],
)
def test_einsum_matches_pytorch(rng, equation, shapes):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = gg.einsum(equation, *[t64(a) for a in arrays])
    theirs = torch.einsum(equation, *[torch.tensor(a) for a in arrays])
    assert tuple(ours.shape) == tuple(theirs.shape)
    close(ours, theirs.numpy())


@pytest.mark.torch
def test_result_dtypes_match_pytorch():
    torch = pytest.importorskip("torch")
    calls = [
        lambda lib, a: lib.linalg.matrix_rank(a), lambda lib, a: lib.linalg.slogdet(a).sign,
        lambda lib, a: lib.linalg.svd(a).S, lambda lib, a: lib.linalg.eigh(a).eigenvalues,
        lambda lib, a: lib.linalg.vector_norm(a, 0), lambda lib, a: lib.linalg.qr(a, mode="r").Q,
    ]
    a = np.eye(3) * 2.0
    for dtype, tdtype in ((gg.float32, torch.float32), (gg.float64, torch.float64)):
        for call in calls:
            ours = call(gg, gg.tensor(a, dtype=dtype))
            theirs = call(torch, torch.tensor(a, dtype=tdtype))
            assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            assert tuple(ours.shape) == tuple(theirs.shape)


@pytest.mark.torch
@pytest.mark.parametrize("function", ["norm", "linalg.norm"])
def test_norm_forms_over_every_ord_and_dim_match_pytorch(function):
    """Every (ord, dim, keepdim) of torch.norm / torch.linalg.norm on a 3-D input: same value and shape, or
    an error in both."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))

    def call(lib, tensor, p, dim, keepdim):
        if function == "norm":
            return lib.norm(tensor, dim=dim, keepdim=keepdim) if p is None else lib.norm(tensor, p, dim, keepdim)
        return lib.linalg.norm(tensor, p, dim, keepdim)

    def outcome(lib, tensor, *args):
        try:
            return call(lib, tensor, *args)
        except (RuntimeError, ValueError, TypeError, IndexError):
            return None

    for p in (None, "fro", "nuc", 0, 1, 2, 3, -1, -2, math.inf, -math.inf, 0.5):
        for dim in (None, 0, -1, (0, 1), (1, 2), (2, 0), (0, 1, 2), ()):
            for keepdim in (False, True):
                ours = outcome(gg, t64(x), p, dim, keepdim)
                theirs = outcome(torch, torch.tensor(x), p, dim, keepdim)
                assert (ours is None) == (theirs is None), (p, dim, keepdim)
                if ours is not None:
                    assert tuple(ours.shape) == tuple(theirs.shape), (p, dim, keepdim)
                    close(ours, theirs.numpy())


@pytest.mark.torch
def test_recorded_inplace_forms_have_pytorchs_gradients(rng):
    torch = pytest.importorskip("torch")
    a, v = rng.standard_normal((3, 3)), rng.standard_normal(3)
    for name, args in (("addmm_", lambda m, w: (m, m)), ("addmv_", lambda m, w: (m, w)), ("addr_", lambda m, w: (w, w))):
        grads = []
        for lib, make in ((gg, lambda x: t64(x, requires_grad=True)), (torch, lambda x: torch.tensor(x, requires_grad=True))):
            m, w = make(a), make(v)
            target = m * 1 if name != "addmv_" else w * 1
            getattr(target, name)(*args(m, w), beta=2, alpha=-0.5)
            (target * target).sum().backward()
            grads.append((m.grad.numpy() if m.grad is not None else 0, w.grad.numpy() if w.grad is not None else 0))
        for ours, theirs in zip(*grads):
            close(ours, theirs)


def test_cdist_by_a_matrix_product_where_pytorch_uses_one():
    # PyTorch's form for p = 2 past 25 rows (or when asked): |a|^2 - 2 a.b + |b|^2, clamped at 0. Both
    # forms agree away from zero distances; the gradient at a zero distance is 0 in either.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 4)), rng.standard_normal((3, 4))
    direct = gg.cdist(gg.tensor(a), gg.tensor(b), compute_mode="donot_use_mm_for_euclid_dist").numpy()
    for mode in (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist"):
        np.testing.assert_allclose(gg.cdist(gg.tensor(a), gg.tensor(b), compute_mode=mode).numpy(), direct, rtol=1e-12)
    x = gg.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    d = gg.cdist(x, x.detach(), compute_mode="use_mm_for_euclid_dist")
    assert d.tolist() == [[0.0, 5.0], [5.0, 0.0]]
    d.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[-0.6, -0.8], [0.6, 0.8]])


def test_cdist_dist_and_inner():
    a = gg.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    d = gg.cdist(a, a.detach())
    assert d.tolist() == [[0.0, 5.0], [5.0, 0.0]]
    d.sum().backward()  # a zero distance takes no gradient, as PyTorch's
    np.testing.assert_allclose(a.grad.numpy(), [[-0.6, -0.8], [0.6, 0.8]])
    with pytest.raises(ShapeError, match="cdist"):
        gg.cdist(gg.ones(3), gg.ones(2, 3))
    with pytest.raises(ShapeError, match="columns"):
        gg.cdist(gg.ones(2, 3), gg.ones(2, 4))
    with pytest.raises(ArgumentError, match="non-negative"):
        gg.cdist(gg.ones(2, 3), gg.ones(2, 3), p=-1)
    with pytest.raises(ArgumentError, match="compute_mode"):
        gg.cdist(gg.ones(2, 3), gg.ones(2, 3), compute_mode="fast")
    assert gg.dist(gg.tensor([1.0, 1.0]), gg.tensor([4.0, 5.0])).item() == pytest.approx(5.0)
    assert gg.inner(gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0])).item() == 11.0
    assert gg.inner(gg.tensor(2.0), gg.ones(2, 2)).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    with pytest.raises(ShapeError, match="inner"):
        gg.inner(gg.ones(2, 3), gg.ones(3, 2))


def test_renorm_scales_only_the_slices_above_maxnorm():
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert gg.renorm(x, 2, 0, 3).numpy() == pytest.approx(np.array([[1.0, 2.0], [1.8, 2.4]]), rel=1e-6)
    y = x.clone()
    y.renorm_(1, 1, 4)
    assert y.numpy() == pytest.approx(np.array([[1.0, 4 / 3], [3.0, 8 / 3]]), rel=1e-6)
    with pytest.raises(ValueError, match="non-positive"):
        x.renorm(0, 0, 1.0)
    with pytest.raises(ValueError, match="maxnorm"):
        x.renorm(2, 0, -1.0)


def test_is_same_size_is_conj_is_neg():
    a = gg.ones(2, 3)
    assert gg.is_same_size(a, gg.zeros(2, 3)) and not a.is_same_size(gg.ones(3, 2))
    assert not gg.is_conj(a) and not a.is_neg() and not gg.is_neg(a)


def test_matrix_exp_and_lstsq():
    theta = 0.7
    rotation = gg.linalg.matrix_exp(gg.tensor([[0.0, -theta], [theta, 0.0]], dtype=gg.float64))
    np.testing.assert_allclose(rotation.numpy(), [[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]],
                               rtol=1e-14, atol=1e-15)
    big = gg.tensor([[50.0, 0.0], [0.0, -3.0]], dtype=gg.float64)  # scaled and squared
    np.testing.assert_allclose(gg.matrix_exp(big).numpy(), np.diag([math.exp(50.0), math.exp(-3.0)]), rtol=1e-12)
    assert gg.linalg.matrix_exp(gg.zeros(0, 0)).shape == (0, 0)
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    result = gg.linalg.lstsq(gg.tensor(a), gg.tensor(b))
    np.testing.assert_allclose(result.solution.numpy(), np.linalg.lstsq(a, b, rcond=None)[0], rtol=1e-12)
    assert result.rank.item() == 3 and result.residuals.shape == (0,) and result.singular_values.shape == (0,)
    with pytest.raises(ValueError, match="driver"):
        gg.linalg.lstsq(gg.tensor(a), gg.tensor(b), driver="lapack")
    with pytest.raises(ValueError, match="size"):
        gg.linalg.lstsq(gg.tensor(a), gg.tensor(b[:5]))


_COMPLEX_NORMS = [dict(), dict(ord="fro"), dict(ord=1), dict(ord=-1), dict(ord=math.inf), dict(ord=-math.inf),
                  dict(dim=1), dict(ord=3, dim=0), dict(ord=math.inf, dim=(0, 1))]


@pytest.mark.parametrize("kwargs", _COMPLEX_NORMS, ids=str)
def test_linalg_norm_of_a_complex_tensor_is_the_real_norm_of_its_moduli(kwargs):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    ours = gg.linalg.norm(gg.tensor(a), **kwargs)
    np_kwargs = {"ord": kwargs.get("ord"), "axis": kwargs.get("dim")}
    if np_kwargs["ord"] is not None and np_kwargs["axis"] is None and kwargs.get("ord") not in ("fro",):
        np_kwargs["axis"] = (0, 1)
    assert ours.dtype == gg.float64
    np.testing.assert_allclose(ours.numpy(), np.linalg.norm(a, **np_kwargs), rtol=1e-12)
    # the gradient of the Frobenius norm of a complex A is A / ||A|| (PyTorch's convention for real outputs)
    t = gg.tensor(a, requires_grad=True)
    gg.linalg.norm(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), a / np.linalg.norm(a), rtol=1e-12)


def test_singular_value_norms_of_a_complex_matrix_are_refused():
    a = gg.tensor([[1 + 1j, 2], [0, 1j]])
    for ord in ("nuc", 2, -2):
        with pytest.raises(DTypeError, match="complex"):
            gg.linalg.matrix_norm(a, ord)


@pytest.mark.parametrize("kwargs", _COMPLEX_NORMS, ids=str)
def test_linalg_norm_of_a_complex_tensor_matches_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a = (rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))).astype(np.complex64)
    ours, theirs = gg.linalg.norm(gg.tensor(a), **kwargs), torch.linalg.norm(torch.tensor(a), **kwargs)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)
    t, tt = gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    gg.linalg.norm(t, **kwargs).sum().backward()
    torch.linalg.norm(tt, **kwargs).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-4, atol=1e-6)


# cholesky_solve's gradient in the factor -------------------------------------------------------------------
def _factor_with_junk(rng, shape, upper):
    """A Cholesky factor of a random SPD matrix, with random entries in the triangle that is not read."""
    m = rng.standard_normal(shape)
    lower = np.linalg.cholesky(m @ np.swapaxes(m, -1, -2) + np.eye(shape[-1]))
    junk = rng.standard_normal(shape)
    return np.swapaxes(lower, -1, -2) + np.tril(junk, -1) if upper else lower + np.triu(junk, 1)


@pytest.mark.torch
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("b_shape, l_shape", [((3, 2), (3, 3)), ((2, 3, 1), (2, 3, 3)), ((4, 1, 3, 2), (2, 3, 3))])
def test_cholesky_solve_gradients_in_the_whole_factor_match_pytorch(upper, b_shape, l_shape):
    """PyTorch differentiates X = (L L^T)^-1 B as a function of the whole of L, so the triangle that is not
    read gets a gradient too (gpytorch relies on it): first and second derivatives against torch.autograd."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    b, factor = rng.standard_normal(b_shape), _factor_with_junk(rng, l_shape, upper)
    batch = np.broadcast_shapes(b_shape[:-2], l_shape[:-2])
    weight = rng.standard_normal(batch + b_shape[-2:])
    found = []
    for lib in (gg, torch):
        bb = lib.tensor(b, dtype=lib.float64, requires_grad=True)
        ll = lib.tensor(factor, dtype=lib.float64, requires_grad=True)
        x = lib.cholesky_solve(bb, ll, upper=upper)
        gb, gl = lib.autograd.grad((x * lib.tensor(weight)).sum(), (bb, ll), create_graph=True)
        # second order: the gradient of a weighted sum of the first gradients
        ggb, ggl = lib.autograd.grad((gb * gb).sum() + (gl * lib.tensor(factor)).sum(), (bb, ll))
        found.append([t.detach().numpy() for t in (x, gb, gl, ggb, ggl)])
    for ours, theirs in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    unread = np.tril(np.ones(l_shape[-2:]), -1) if upper else np.triu(np.ones(l_shape[-2:]), 1)
    assert np.abs(found[0][2] * unread).max() > 1e-3  # the unread triangle does get a gradient


def test_cholesky_solve_errors():
    eye = gg.eye(3, dtype=gg.float64)
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        gg.cholesky_solve(gg.ones(3, dtype=gg.float64), eye)
    with pytest.raises(ShapeError, match="square"):
        gg.cholesky_solve(gg.ones(3, 2, dtype=gg.float64), gg.ones(3, 4, dtype=gg.float64))
    with pytest.raises(ShapeError, match="Incompatible matrix sizes"):
        gg.cholesky_solve(gg.ones(4, 2, dtype=gg.float64), eye)
    with pytest.raises(DTypeError, match="same dtype"):
        gg.cholesky_solve(gg.ones(3, 2), eye)
    with pytest.raises(DTypeError):
        gg.cholesky_solve(gg.ones(3, 2, dtype=gg.int64), gg.eye(3, dtype=gg.int64))
