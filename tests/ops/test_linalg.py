"""Matrix products: the plain backward's fast path (finite differences are in the op table)."""
from __future__ import annotations

import numpy as np

import gpugrad as gg


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
