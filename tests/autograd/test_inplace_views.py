"""In-place ops on views while recording (autograd/views.py): the base takes the write into its history,
earlier views of the same base read the base's new history, and the gradients are PyTorch's."""
import numpy as np
import pytest

import gpugrad as gg


def _run(lib):
    w = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    pe = lib.tensor(np.linspace(0.2, 1.2, 6).reshape(3, 2), requires_grad=True)
    h = w * 2  # a base with a history
    v = h.t()  # a view of it
    earlier = h[0]  # a view made before the writes
    v += pe
    v *= pe
    v[1] = pe[0] * 3  # setitem through the view too
    y = (v * v).sum() + (earlier * 3).sum() + h.sum()
    y.backward()
    return [y.detach().numpy(), w.grad.numpy(), pe.grad.numpy(), h.detach().numpy(), earlier.detach().numpy()]


def test_writes_through_views_have_the_closed_form_gradients():
    y, grad_w, grad_pe, h, earlier = _run(gg)
    w = np.arange(6.0).reshape(2, 3)
    pe = np.linspace(0.2, 1.2, 6).reshape(3, 2)
    expected_h = ((2 * w).T + pe) * pe
    expected_h[1] = pe[0] * 3
    np.testing.assert_allclose(h, expected_h.T)
    np.testing.assert_allclose(earlier, expected_h.T[0])  # the earlier view sees the writes


def test_writes_through_views_are_second_order_differentiable():
    def f(w, pe):
        h = w * 2
        v = h.t()
        v += pe.tanh()
        return (h * h).sum(1)

    inputs = [gg.tensor(np.random.default_rng(0).standard_normal(s), dtype=gg.float64, requires_grad=True)
              for s in ((2, 3), (3, 2))]
    assert gg.autograd.gradcheck(f, inputs) and gg.autograd.gradgradcheck(f, inputs)


def test_refusals():
    leaf = gg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable that requires grad"):
        leaf.t().add_(1.0)
    base = gg.ones(3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="more than one element"):
        base[:1].expand(3).add_(gg.ones(3, requires_grad=True))


@pytest.mark.torch
def test_matches_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_run(gg), _run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.torch
def test_the_vision_transformer_idiom_matches_torch():
    """x = rearrange(conv(img), 'b c h w -> b (h w) c'); x += pos_emb (lucidrains' CCT does this)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    img, kernel, pos = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((5, 3, 3, 3)), rng.standard_normal((1, 16, 5))
    results = []
    for lib in (gg, torch):
        k = lib.tensor(kernel, requires_grad=True)
        p = lib.tensor(pos, requires_grad=True)
        x = lib.nn.functional.conv2d(lib.tensor(img), k, padding=1).flatten(2).transpose(1, 2)
        x += p
        (x.tanh() ** 2).sum().backward()
        results.append((k.grad.numpy(), p.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def _masked_scores(lib, q, k, in_place):
    """Longformer's pattern: a transposed view of an einsum result, written in place while recording."""
    p = lib.einsum("blhd,bshd->blhs", q, k).transpose(1, 3)
    if in_place:
        p[lib.tensor([0]), lib.tensor([0]), :, :] = -1e4
    else:
        keep = lib.ones(p.shape)
        keep[0, 0] = 0
        p = p * keep + (1 - keep) * -1e4
    return p.transpose(1, 3).softmax(-1).mul(lib.arange(16.0).view(2, 8, 1, 1)).sum()


def test_writing_into_a_view_of_a_base_that_is_not_row_major():
    rng = np.random.default_rng(0)
    q_data, k_data = rng.standard_normal((2, 8, 2, 4)), rng.standard_normal((2, 1, 2, 4))
    grads = []
    for in_place in (True, False):
        q, k = gg.tensor(q_data, requires_grad=True), gg.tensor(k_data, requires_grad=True)
        _masked_scores(gg, q, k, in_place).backward()
        grads.append((q.grad.numpy(), k.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_writing_into_a_view_of_a_base_that_is_not_row_major_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((2, 8, 2, 4)).astype(np.float32), rng.standard_normal((2, 1, 2, 4)).astype(np.float32)
    out = {}
    for lib in (gg, torch):
        tq, tk = lib.tensor(q, requires_grad=True), lib.tensor(k, requires_grad=True)
        _masked_scores(lib, tq, tk, True).backward()
        out[lib.__name__] = (tq.grad.numpy(), tk.grad.numpy())
    for a, b in zip(out["gpugrad"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _complex_parts(lib, a, b, w):
    """In-place writes through ``.real`` (transposed) and ``.imag`` of a complex result with a history."""
    z = lib.complex(a * 1, b * 1) * (1 + 2j)
    r = z.real.mT
    r += w.mT * 2
    i = z.imag
    i *= w
    return (z.real * w).sum(-1) + (z.imag ** 2).sum(-1) + (z.abs() ** 2).sum(-1)


def test_writes_through_real_and_imag_views_are_differentiable_twice():
    rng = np.random.default_rng(1)
    inputs = [gg.tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(3)]
    assert gg.autograd.gradcheck(lambda a, b, w: _complex_parts(gg, a, b, w), inputs)
    assert gg.autograd.gradgradcheck(lambda a, b, w: _complex_parts(gg, a, b, w), inputs)


@pytest.mark.torch
def test_writes_through_real_and_imag_views_match_torch():
    torch = pytest.importorskip("torch")
    values = [np.random.default_rng(2).standard_normal((2, 3)) for _ in range(3)]
    grads = []
    for lib in (gg, torch):
        inputs = [lib.tensor(v, requires_grad=True) for v in values]
        _complex_parts(lib, *inputs).sum().backward()
        grads.append([t.grad.numpy() for t in inputs])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
