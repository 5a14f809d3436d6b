import numpy as np

from gpugrad.examples import newton


def test_newton_converges_quadratically_and_beats_gradient_descent(capsys):
    out = newton.main(["--gd-iters", "300"])
    hist = out["newton"]
    assert hist[-1][1] < 1e-8
    assert len(hist) - 1 < 15
    # Quadratic convergence: once close, each step at least squares the gradient norm's scale.
    norms = [g for _, g in hist]
    assert norms[-1] < norms[-2] ** 1.5
    assert out["gd"][-1][1] > 1e-4  # the same budget leaves gradient descent far from the optimum
    assert "converged in" in capsys.readouterr().out


def test_newton_solution_is_the_minimum():
    X, y = newton.make_problem(200)
    loss = newton.loss_fn(X, y, 1e-3)
    w, _ = newton.newton(loss, np.zeros(X.shape[1]))
    assert np.linalg.norm(newton.gradient(loss, newton.gg.tensor(w, dtype=newton.gg.float64))) < 1e-8
