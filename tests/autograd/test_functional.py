"""jacobian, hessian, hvp, vjp and gradcheck's own behaviour."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import functional as AF


def rosenbrock(x):
    return ((1.0 - x[:-1]) ** 2 + 100.0 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def rosenbrock_hessian(v):
    n = len(v)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 2 - 400 * (v[i + 1] - 3 * v[i] ** 2)
        h[i, i + 1] += -400 * v[i]
        h[i + 1, i] += -400 * v[i]
        h[i + 1, i + 1] += 200
    return h


def test_hessian_of_rosenbrock_is_exact():
    v = np.array([-1.2, 1.0, 0.3, 2.0])
    H = AF.hessian(rosenbrock, gg.tensor(v, dtype=gg.float64))
    np.testing.assert_allclose(H.numpy(), rosenbrock_hessian(v), rtol=0, atol=1e-10)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 5))
    b = rng.standard_normal(5)
    At, bt = gg.tensor(A, dtype=gg.float64), gg.tensor(b, dtype=gg.float64)
    H = AF.hessian(lambda x: x @ (At @ x) + bt @ x, gg.tensor(rng.standard_normal(5), dtype=gg.float64))
    np.testing.assert_allclose(H.numpy(), A + A.T, rtol=0, atol=1e-10)


def test_hvp_matches_hessian_times_vector():
    v = np.array([0.5, -0.3, 1.1])
    d = np.array([1.0, 2.0, -1.0])
    value, hv = AF.hvp(rosenbrock, gg.tensor(v, dtype=gg.float64), gg.tensor(d, dtype=gg.float64))
    np.testing.assert_allclose(hv.numpy(), rosenbrock_hessian(v) @ d, atol=1e-10)
    assert value.item() == pytest.approx(rosenbrock(gg.tensor(v, dtype=gg.float64)).item())


def test_jacobian_shapes_and_values():
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=gg.float64)
    J = AF.jacobian(lambda t: t.sin().sum(dim=1), x)
    assert J.shape == (2, 2, 2)
    expected = np.zeros((2, 2, 2))
    expected[0, 0] = np.cos([1.0, 2.0])
    expected[1, 1] = np.cos([3.0, 4.0])
    np.testing.assert_allclose(J.numpy(), expected, atol=1e-14)
    Ja, Jb = AF.jacobian(lambda a, b: a * b, (gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0])))
    np.testing.assert_allclose(Ja.numpy(), np.diag([3.0, 4.0]))
    np.testing.assert_allclose(Jb.numpy(), np.diag([1.0, 2.0]))


def test_jacobian_and_hessian_take_pytorchs_strategy_arguments():
    x = gg.tensor([1.0, 2.0], dtype=gg.float64)
    plain = AF.jacobian(lambda t: t**2, x).tolist()
    assert AF.jacobian(lambda t: t**2, x, vectorize=True, strategy="forward-mode").tolist() == plain == [[2, 0], [0, 4]]
    assert AF.hessian(lambda t: (t**3).sum(), x, vectorize=True, outer_jacobian_strategy="forward-mode").tolist() == \
        [[6, 0], [0, 12]]
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        AF.jacobian(lambda t: t, x, strategy="forward-mode")
    with pytest.raises(ValueError, match="forward-mode"):
        AF.hessian(lambda t: t.sum(), x, outer_jacobian_strategy="sideways")


def test_vjp():
    x = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64)
    out, g = AF.vjp(lambda t: t**2, x, gg.tensor([1.0, 0.0, 2.0], dtype=gg.float64))
    np.testing.assert_allclose(out.numpy(), [1, 4, 9])
    np.testing.assert_allclose(g.numpy(), [2.0, 0.0, 12.0])


def test_gradcheck_reports_the_worst_element():
    class WrongGrad(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, gy):
            mask = gg.ones(gy.shape, dtype=gg.float64)
            mask[1, 2] = 5.0  # wrong at exactly one element
            return gy * 2 * mask

    x = gg.randn(3, 4, dtype=gg.float64, requires_grad=True)
    with pytest.raises(gg.autograd.gradcheck_module.GradcheckError, match=r"input 0 at index \(1, 2\)"):
        gg.autograd.gradcheck(WrongGrad.apply, (x,))
    assert gg.autograd.gradcheck(WrongGrad.apply, (x,), raise_exception=False) is False


def test_gradcheck_refuses_float32():
    with pytest.raises(ValueError, match="float64"):
        gg.autograd.gradcheck(lambda t: t * 2, (gg.randn(3, requires_grad=True),))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class FirstOrderOnly(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * (3 * x.detach() ** 2)  # detached: right first derivative, second one lost

    x = gg.randn(4, dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(FirstOrderOnly.apply, (x,))
    with pytest.raises(gg.autograd.gradcheck_module.GradcheckError):
        gg.autograd.gradgradcheck(FirstOrderOnly.apply, (x,))


def test_detect_anomaly_names_the_backward_op_and_where_it_was_made():
    x = gg.tensor([0.0, 1.0], requires_grad=True)
    with gg.autograd.detect_anomaly(), np.errstate(all="ignore"):
        y = x.sqrt() * 0.0  # finite forward; sqrt's backward makes 0 / 0 at 0
        with pytest.warns(UserWarning, match="Error detected in SqrtBackward"), pytest.raises(
                RuntimeError, match=r"'SqrtBackward' returned nan.*test_functional.py:\d+.*x.sqrt\(\)"):
            y.sum().backward()


def test_without_anomaly_mode_division_by_zero_follows_numpy():
    with np.errstate(divide="ignore", invalid="ignore"):
        y = gg.tensor([1.0, -1.0, 0.0]) / gg.tensor([0.0, 0.0, 0.0])
    assert np.isposinf(y.numpy()[0]) and np.isneginf(y.numpy()[1]) and np.isnan(y.numpy()[2])


def test_gradcheck_decides_element_by_element_unless_fast_mode():
    """|x - y| with x 1.5 eps above y: each element's own step stays on one side of the kink, the fast
    check's direction (seed 0: x and y stepped in opposite directions, 2 eps apart) crosses it. PyTorch's
    default (fast_mode=False) checks element by element and passes; fast_mode=True keeps the one
    projection and fails; a wrong gradient fails both."""
    x = gg.tensor([0.25], dtype=gg.float64, requires_grad=True)
    y = (x.detach() - 1.5e-6).requires_grad_()

    def gap(a, b):
        return (a - b).abs()

    assert gg.autograd.gradcheck(gap, (x, y))
    assert gg.autograd.gradcheck(gap, (x, y), fast_mode=True, raise_exception=False) is False

    class Halved(gg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, gy):
            return gy * 1.5

    assert gg.autograd.gradcheck(Halved.apply, (x,), raise_exception=False) is False
