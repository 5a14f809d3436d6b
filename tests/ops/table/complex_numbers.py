"""Op-table rows for complex numbers (gpugrad/ops/complex_numbers.py) and the ops that take them.

The table's inputs and outputs are real: each row reads pairs along a last dim of 2 as complex numbers
(``view_as_complex``) and returns a real tensor (``view_as_real``, a part or a modulus), so that gradcheck
in float64 checks the complex gradient convention itself: the gradient of z = a + ib is dL/da + i dL/db.
"""
import gpugrad as gg

from .row import Row, away_from_zero, positive, real  # noqa: F401


def _both(fn):
    """A row written once for gpugrad and for torch: fn(lib, *tensors)."""
    return dict(fn=lambda *ts: fn(gg, *ts), torch=lambda torch, *ts: fn(torch, *ts))


def c(lib, a):
    return lib.view_as_complex(a)


def r(lib, z):
    return lib.view_as_real(z.resolve_conj())  # PyTorch's conj() is a lazy bit that view_as_real refuses


def nonzero_pairs(rng, shape):
    """(real, imag) pairs away from 0 + 0i, where abs, angle, sgn, log and division are smooth."""
    return away_from_zero(rng, shape)


def right_half_plane(rng, shape):
    """Pairs with a positive real part: log and sqrt are smooth there (their cut is the negative axis)."""
    x = real(rng, shape)
    x[..., 0] = positive(rng, shape[:-1])
    return x


ROWS = [
    Row("view_as_complex", **_both(lambda lib, a: r(lib, c(lib, a) * c(lib, a))), inputs=[((3, 2), real)]),
    Row("view_as_real", **_both(lambda lib, a: r(lib, c(lib, a).exp()) * 1.5), inputs=[((2, 3, 2), real)]),
    Row("real", **_both(lambda lib, a: (c(lib, a) * c(lib, a)).real), inputs=[((4, 2), real)]),
    Row("imag", **_both(lambda lib, a: (c(lib, a) * c(lib, a)).imag), inputs=[((4, 2), real)]),
    Row("conj", **_both(lambda lib, a, b: r(lib, c(lib, a).conj() * c(lib, b))), inputs=[((3, 2), real), ((3, 2), real)]),
    Row("conj_physical", **_both(lambda lib, a: r(lib, lib.conj_physical(c(lib, a)) * c(lib, a).exp())),
        inputs=[((3, 2), real)]),
    Row("complex", **_both(lambda lib, a, b: r(lib, lib.complex(a, b) * lib.complex(b, a))), inputs=[((3,), real), ((3,), real)]),
    Row("polar", **_both(lambda lib, a, b: r(lib, lib.polar(a, b))), inputs=[((4,), positive), ((4,), real)]),
    # Arithmetic and math on complex tensors (their backward takes the conjugates).
    Row("complex_mul", **_both(lambda lib, a, b: r(lib, c(lib, a) * c(lib, b))), inputs=[((2, 3, 2), real), ((3, 2), real)], op="mul"),
    Row("complex_mul_real", **_both(lambda lib, a, b: r(lib, c(lib, a) * b)), inputs=[((3, 2), real), ((3,), real)], op="mul"),
    Row("complex_div", **_both(lambda lib, a, b: r(lib, c(lib, a) / c(lib, b))), inputs=[((3, 2), real), ((3, 2), nonzero_pairs)], op="div"),
    Row("complex_scalar", **_both(lambda lib, a: r(lib, (2 - 1j) * c(lib, a) + 0.5j)), inputs=[((3, 2), real)], op="mul"),
    Row("complex_pow", **_both(lambda lib, a: r(lib, c(lib, a) ** 3)), inputs=[((3, 2), real)], op="pow"),
    Row("complex_pow_complex", **_both(lambda lib, a, b: r(lib, c(lib, a) ** c(lib, b))),
        inputs=[((3, 2), right_half_plane), ((3, 2), real)], op="pow"),
    Row("complex_exp", **_both(lambda lib, a: r(lib, c(lib, a).exp())), inputs=[((3, 2), real)], op="exp"),
    Row("complex_log", **_both(lambda lib, a: r(lib, c(lib, a).log())), inputs=[((3, 2), right_half_plane)], op="log"),
    Row("complex_sqrt", **_both(lambda lib, a: r(lib, c(lib, a).sqrt())), inputs=[((3, 2), right_half_plane)], op="sqrt"),
    Row("complex_sin_cos", **_both(lambda lib, a: r(lib, c(lib, a).sin() * c(lib, a).cos())), inputs=[((3, 2), real)], op="sin"),
    Row("complex_tanh", **_both(lambda lib, a: r(lib, c(lib, a).tanh())), inputs=[((3, 2), real)], op="tanh"),
    Row("complex_sigmoid", **_both(lambda lib, a: r(lib, c(lib, a).sigmoid())), inputs=[((3, 2), real)], op="sigmoid"),
    Row("complex_linear", **_both(lambda lib, a, w, b: r(lib, lib.nn.functional.linear(c(lib, a), c(lib, w), c(lib, b)))),
        inputs=[((4, 3, 2), real), ((2, 3, 2), real), ((2, 2), real)], op="matmul"),
    Row("complex_solve", **_both(lambda lib, a, b: r(lib, lib.linalg.solve(c(lib, a) + 3 * lib.eye(3), c(lib, b)))),
        inputs=[((3, 3, 2), real), ((3, 2, 2), real)], op="solve"),
    Row("complex_abs", **_both(lambda lib, a: c(lib, a).abs()), inputs=[((4, 2), nonzero_pairs)], op="abs"),
    Row("complex_angle", **_both(lambda lib, a: c(lib, a).angle()), inputs=[((4, 2), nonzero_pairs)], op="angle"),
    Row("complex_sgn", **_both(lambda lib, a: r(lib, c(lib, a).sgn())), inputs=[((4, 2), nonzero_pairs)], op="sgn"),
    Row("complex_sum_mean", **_both(lambda lib, a: r(lib, c(lib, a).sum(0) * c(lib, a).mean(1, keepdim=True))),
        inputs=[((3, 4, 2), real)], op="sum"),
    Row("complex_matmul", **_both(lambda lib, a, b: r(lib, c(lib, a) @ c(lib, b))), inputs=[((3, 4, 2), real), ((4, 2, 2), real)],
        op="matmul"),
    Row("complex_matmul_vec", **_both(lambda lib, a, b: r(lib, c(lib, a) @ c(lib, b))), inputs=[((4, 2), real), ((4, 2), real)],
        op="matmul"),
    Row("complex_mH", **_both(lambda lib, a: r(lib, c(lib, a).mH @ c(lib, a))), inputs=[((3, 2, 2), real)], op="matmul"),
    Row("complex_einsum", **_both(lambda lib, a, b: r(lib, lib.einsum("ij,kj->ik", c(lib, a), c(lib, b)))),
        inputs=[((2, 3, 2), real), ((4, 3, 2), real)], op="einsum"),
    Row("complex_vdot", **_both(lambda lib, a, b: r(lib, lib.vdot(c(lib, a), c(lib, b)))), inputs=[((3, 2), real), ((3, 2), real)],
        op="vdot"),
    Row("complex_shape_ops", **_both(lambda lib, a: r(lib, lib.cat([c(lib, a).t(), c(lib, a).flip(1).t()]).reshape(-1)[1::2]
                                                      .roll(1) * 2)), inputs=[((2, 3, 2), real)], op="cat"),
    Row("complex_cast", **_both(lambda lib, a: (a.to(lib.complex128) * (1 + 2j)).imag), inputs=[((3,), real)], op="to",
        dtypes=(gg.float64,)),
]
