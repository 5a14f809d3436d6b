"""Module hooks beyond the plain forward ones: full backward hooks and pre-hooks, forward hooks with
keyword arguments, prepended or always called, against closed forms and PyTorch."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn

W1 = np.linspace(-1, 1, 12).reshape(4, 3)
W2 = np.linspace(-1, 1, 8).reshape(2, 4)


def _mlp(lib):
    m = lib.nn.Sequential(lib.nn.Linear(3, 4, bias=False), lib.nn.ReLU(), lib.nn.Linear(4, 2, bias=False))
    with lib.no_grad():
        m[0].weight.copy_(lib.tensor(W1, dtype=lib.float32))
        m[2].weight.copy_(lib.tensor(W2, dtype=lib.float32))
    return m


def _run(lib, input_requires_grad=True):
    m = _mlp(lib)
    seen = []
    m[0].register_full_backward_hook(
        lambda mod, gi, go: seen.append(([None if g is None else g.numpy().copy() for g in gi], go[0].numpy().copy())))
    m[2].register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
    x = lib.tensor(np.linspace(0.5, 1.5, 6).reshape(2, 3), dtype=lib.float32, requires_grad=input_requires_grad)
    m(x).sum().backward()
    return seen, (x.grad.numpy() if input_requires_grad else None), m[0].weight.grad.numpy()


def test_backward_hooks_see_and_replace_gradients():
    seen, grad_x, grad_w = _run(gg)
    (grad_input, grad_output), = seen
    np.testing.assert_allclose(grad_input[0], grad_x)  # the hook saw the input's gradient
    # the pre-hook doubled the second layer's grad_output: every gradient below it is doubled
    plain = _mlp(gg)
    x = gg.tensor(np.linspace(0.5, 1.5, 6).reshape(2, 3), dtype=gg.float32, requires_grad=True)
    plain(x).sum().backward()
    np.testing.assert_allclose(grad_x, 2 * x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grad_w, 2 * plain[0].weight.grad.numpy(), rtol=1e-6)

    layer = nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    y = gg.ones(1, 3, requires_grad=True)
    layer(y).sum().backward()
    assert y.grad.tolist() == [[0.0, 0.0, 0.0]]  # the returned grad_input replaced the gradient
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        seen, _, _ = _run(gg, input_requires_grad=False)
    assert seen[0][0] == [None]


@pytest.mark.torch
def test_backward_hooks_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _run(gg), _run(torch)
    (gi, go), = ours[0]
    (tgi, tgo), = theirs[0]
    np.testing.assert_allclose(gi[0], tgi[0], rtol=1e-6)
    np.testing.assert_allclose(go, tgo, rtol=1e-6)
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_forward_hooks_with_kwargs_prepend_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            if factor < 0:
                raise ValueError("negative")
            return x * factor

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": kwargs.get("factor", 1.0) * 3}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("second"))
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("kwargs", kwargs["factor"])), with_kwargs=True)
    assert m(gg.ones(2), factor=2.0).tolist() == [6.0, 6.0]
    assert order == ["first", "second", ("kwargs", 6.0)]
    called = []
    m.register_forward_hook(lambda mod, args, out: called.append(out), always_call=True)
    with pytest.raises(ValueError):
        m(gg.ones(2), factor=-1.0)
    assert called == [None]


def test_a_backward_hook_keeps_sequential_from_fusing(count_applies):
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    m[0].register_full_backward_hook(lambda mod, gi, go: None)
    counts = count_applies()
    m(gg.ones(2, 3, requires_grad=True))
    assert counts["Relu"] == 1  # ReLU ran on its own: the hook sees the Linear layer's own gradients
    plain = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    counts = count_applies()
    plain(gg.ones(2, 3, requires_grad=True))
    assert counts["Relu"] == 0  # without hooks the two fuse


def test_the_old_backward_hook_registers_with_a_user_warning_not_a_future_warning():
    import warnings

    lin = gg.nn.Linear(2, 1)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        with pytest.warns(UserWarning, match="register_full_backward_hook"):
            lin.register_backward_hook(lambda m, gi, go: seen.append(len(go)))
    lin(gg.ones(1, 2, requires_grad=True)).sum().backward()
    assert seen == [1]
