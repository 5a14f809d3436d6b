"""The backward engine: graph shapes, accumulation, retain_graph, hooks, grad modes, memory."""
import gc
import threading
import weakref

import numpy as np
import pytest

import gpugrad as gg


def test_diamond_reuses_a_node():
    x = gg.tensor([1.5, -2.0], dtype=gg.float64, requires_grad=True)
    a = x * 3.0
    y = (a.sin() + a * a).sum()  # a feeds two branches that meet again
    y.backward()
    a_np = 3.0 * np.array([1.5, -2.0])
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * (np.cos(a_np) + 2 * a_np), rtol=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])


def test_chain_of_50000_ops_needs_no_recursion():
    x = gg.tensor(1.0, dtype=gg.float64, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001**50_000, rel=1e-9)


def test_second_backward_through_freed_graph_raises():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_non_scalar_backward_needs_a_gradient():
    x = gg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(gg.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, -2.0])


def test_create_graph_gives_higher_derivatives():
    x = gg.tensor(0.7, dtype=gg.float64, requires_grad=True)
    y = x.sin() * x**3
    (d1,) = gg.grad(y, x, create_graph=True)
    (d2,) = gg.grad(d1, x, create_graph=True)
    (d3,) = gg.grad(d2, x)
    v = 0.7
    exact = [
        np.cos(v) * v**3 + 3 * v**2 * np.sin(v),
        -np.sin(v) * v**3 + 6 * v**2 * np.cos(v) + 6 * v * np.sin(v),
        -np.cos(v) * v**3 - 9 * v**2 * np.sin(v) + 18 * v * np.cos(v) + 6 * np.sin(v),
    ]
    np.testing.assert_allclose([d1.item(), d2.item(), d3.item()], exact, rtol=1e-12)


def test_grad_leaves_dot_grad_alone_and_reports_unused_inputs():
    x = gg.randn(3, requires_grad=True)
    z = gg.randn(3, requires_grad=True)
    (g,) = gg.grad((x * x).sum(), x)
    assert x.grad is None
    np.testing.assert_allclose(g.numpy(), 2 * x.detach().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="not have been used"):
        gg.grad((x * 2).sum(), [x, z])
    gx, gz = gg.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None


def test_grad_with_respect_to_an_intermediate():
    x = gg.randn(4, dtype=gg.float64, requires_grad=True)
    h = x.exp()
    y = (h * h).sum()
    (gh,) = gg.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-12)


def test_hooks_see_and_replace_gradients():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = x.register_hook(lambda g: g * 10.0)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [80.0, 160.0])
    handle.remove()
    x.grad = None
    (h.detach() * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_leaf_hook_runs_once_on_the_summed_gradient():
    x = gg.tensor([1.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 2.0 + x * 3.0).sum().backward()
    assert calls == [5.0]


def test_retain_grad_keeps_an_intermediate_gradient():
    x = gg.tensor([1.0, -1.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, -6.0])
    assert h.retains_grad


def test_no_grad_and_enable_grad():
    x = gg.randn(2, requires_grad=True)
    with gg.no_grad():
        y = x * 2
        with gg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @gg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_grad_mode_is_thread_local():
    x = gg.randn(2, requires_grad=True)
    inside, results = threading.Event(), {}

    def worker():
        inside.wait()
        results["other"] = (x * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    with gg.no_grad():
        inside.set()
        t.join()
        results["here"] = (x * 2).requires_grad
    assert results == {"other": True, "here": False}


def test_detach_and_requires_grad_():
    x = gg.randn(3, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    with pytest.raises(gg.DTypeError, match="floating point"):
        gg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)


def test_intermediates_are_freed_after_backward_without_gc():
    gc.disable()
    try:
        x = gg.randn(100, requires_grad=True)
        h = x.exp()
        y = (h * h).sum()
        ref = weakref.ref(h)
        del h
        assert ref() is not None  # the graph still saves it
        y.backward()
        assert ref() is None  # freed by reference counting alone, as soon as backward is done
    finally:
        gc.enable()


def test_whole_graph_is_freed_when_its_output_goes():
    gc.disable()
    try:
        x = gg.randn(10, requires_grad=True)
        y = (x.sin() * x).sum()
        node_ref = weakref.ref(y.grad_fn)
        del y
        assert node_ref() is None
    finally:
        gc.enable()


def test_inplace_change_of_a_saved_tensor_raises_at_backward():
    x = gg.randn(3, requires_grad=True)
    h = x * 1.0
    y = h.exp()  # saves its output
    z = (h * h).sum()  # saves h
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="mul.*modified by an inplace operation"):
        z.backward()
    with pytest.raises(RuntimeError, match="inplace"):
        y.add_(1.0)
        y.sum().backward()


def test_inplace_ops_record_gradients():
    x = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64, requires_grad=True)
    h = x * 1.0
    h += 1.0
    h *= x
    h[1] = 0.0
    h.sum().backward()
    # h = (x + 1) * x except h[1] = 0
    np.testing.assert_allclose(x.grad.numpy(), [2 * 1 + 1, 0, 2 * 3 + 1])


def test_setitem_with_a_tensor_value_routes_gradient_to_it():
    v = gg.tensor([5.0, 6.0], dtype=gg.float64, requires_grad=True)
    buf = gg.zeros(4, dtype=gg.float64)
    buf[gg.tensor([0, 3])] = v
    (buf * gg.tensor([1.0, 2.0, 3.0, 4.0], dtype=gg.float64)).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [1.0, 4.0])


def test_inplace_on_a_leaf_that_requires_grad_raises_unless_no_grad():
    w = gg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.add_(1.0)
    before = w.detach().numpy().copy()
    with gg.no_grad():
        w -= 0.5
        w.zero_()
        w.add_(gg.ones(3))
    np.testing.assert_allclose(w.detach().numpy(), np.ones(3))
    assert not np.allclose(before, 1.0)


def test_inplace_updates_bump_the_version_counter_and_views_share_it():
    x = gg.zeros(4)
    v = x[1:3]
    assert x._version == 0
    v.add_(1.0)
    assert x._version == v._version == 1
    np.testing.assert_allclose(x.numpy(), [0, 1, 1, 0])
    x.copy_(gg.ones(4))
    x.fill_(2.0)
    assert v._version == 3


def test_repeated_integer_indices_accumulate():
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[gg.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_broadcast_gradients_are_summed_to_input_shapes():
    a = gg.randn(2, 1, 3, requires_grad=True)
    b = gg.randn(4, 1, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.detach().numpy().sum(), (2, 1, 3)), rtol=1e-5)


def test_mixed_dtypes_promote_like_pytorch_and_grads_keep_input_dtype():
    a = gg.randn(3, requires_grad=True)
    b = gg.randn(3, dtype=gg.float64, requires_grad=True)
    y = a * b
    assert y.dtype is gg.float64
    y.sum().backward()
    assert a.grad.dtype is gg.float32 and b.grad.dtype is gg.float64
    assert (gg.arange(3) * 0.5).dtype is gg.float32
    assert (gg.arange(3) / 2).dtype is gg.float32
    assert (gg.arange(3) + gg.ones(3)).dtype is gg.float32


class Cube(gg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * gy


def test_custom_function_first_and_second_order():
    x = gg.tensor([0.5, -1.5], dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(Cube.apply, (x,))
    assert gg.autograd.gradgradcheck(Cube.apply, (x,))
    (g,) = gg.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = gg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.detach().numpy())


def test_custom_function_returning_a_wrong_number_of_gradients_is_named():
    class Bad(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, gy):
            return (gy,)

    x = gg.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="bad: backward returned 1 gradients, expected 2"):
        Bad.apply(x, x).sum().backward()


def test_post_accumulate_hook_runs_when_that_leaf_is_complete_not_at_the_end():
    # w1 is used only by the last op of the forward, so its gradient is final first: its hook must run
    # while the backward of the earlier ops is still ahead (data-parallel training overlaps there).
    w0 = gg.tensor([1.0, 2.0], requires_grad=True)
    w1 = gg.tensor([3.0, -1.0], requires_grad=True)
    order = []
    w1.register_post_accumulate_grad_hook(lambda p: order.append(("w1", p.grad.tolist(), w0.grad)))
    w0.register_post_accumulate_grad_hook(lambda p: order.append(("w0", p.grad.tolist(), None)))
    h = (w0 * w0).tanh()
    (h * w1).sum().backward()
    assert [o[0] for o in order] == ["w1", "w0"]
    assert order[0][2] is None  # w0's gradient was not there yet when w1's hook ran
    np.testing.assert_allclose(order[0][1], np.tanh([1.0, 4.0]), rtol=1e-6)
    np.testing.assert_allclose(order[1][1], w0.grad.numpy())


def test_post_accumulate_hook_sees_the_summed_gradient_once_and_can_be_removed():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 2 + w * 3).sum().backward()
    assert seen == [[5.0, 5.0]]
    handle.remove()
    (w * 2).sum().backward()
    assert seen == [[5.0, 5.0]] and w.grad.tolist() == [7.0, 7.0]


def test_post_accumulate_hook_does_not_run_for_grad_and_refuses_non_leaves():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(1))
    (g,) = gg.autograd.grad((w * w).sum(), w)
    assert seen == [] and g.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gg.zeros(2).register_post_accumulate_grad_hook(lambda p: None)


def test_editing_max_pool_indices_in_place_before_backward_raises():
    # The indices are what max-pool's backward reads; PyTorch's version counter refuses the edit, and so
    # does ours (it changed the gradient silently before).
    x = gg.randn(1, 2, 4, 4, requires_grad=True)
    y, idx = gg.nn.functional.max_pool2d(x, 2, return_indices=True)
    idx.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x2 = gg.randn(1, 2, 4, 4, requires_grad=True)
    y2, idx2 = gg.nn.functional.max_pool2d(x2, 2, return_indices=True)
    y2.sum().backward()  # untouched indices: fine
    assert x2.grad.sum().item() == 8.0


@pytest.mark.torch
def test_post_accumulate_hooks_run_in_pytorchs_order_with_its_gradients():
    torch = pytest.importorskip("torch")

    def run(lib):
        w0 = lib.tensor([1.0, 2.0, -0.5], dtype=lib.float64, requires_grad=True)
        w1 = lib.tensor([3.0, -1.0, 0.25], dtype=lib.float64, requires_grad=True)
        seen = []
        for name, w in (("w0", w0), ("w1", w1)):
            w.register_post_accumulate_grad_hook(lambda p, name=name: seen.append((name, p.grad.tolist())))
        h = (w0 * w0).tanh() * w1
        (h.sum() + (w1 * 2).sum()).backward()
        return seen

    ours, theirs = run(gg), run(torch)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (_, g_ours), (_, g_theirs) in zip(ours, theirs):
        np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-12)
    with pytest.raises(RuntimeError):
        (torch.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError):
        (gg.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda p: None)


# .grad without a copy: the engine's one rule (engine.py, _owned) ------------------------------------------


def _shares(a, b) -> bool:
    return np.shares_memory(a._array, b._array)


def test_a_fresh_gradient_becomes_grad_without_a_copy_and_shared_ones_are_copied():
    x = gg.randn(5, 3, requires_grad=True)
    w = gg.randn(5, 3, requires_grad=True)
    upstream = gg.randn(5, 3)
    (x * w).backward(upstream)
    assert np.allclose(x.grad.numpy(), upstream.numpy() * w.detach().numpy())
    # Made by mul's backward for x alone: its own memory, shared with nothing the caller can see.
    assert x.grad._array.base is None
    for other in (w.grad, upstream, w, x):
        assert not _shares(x.grad, other)
    # add hands the caller's gradient to both inputs: each .grad is a copy of its own.
    a = gg.randn(4, requires_grad=True)
    b = gg.randn(4, requires_grad=True)
    up = gg.randn(4)
    (a + b).backward(up)
    assert not _shares(a.grad, b.grad) and not _shares(a.grad, up) and not _shares(b.grad, up)
    a.grad.add_(1.0)  # an in-place edit of one reaches nothing else
    assert np.allclose(b.grad.numpy(), up.numpy()) and np.allclose(a.grad.numpy(), up.numpy() + 1)


def test_a_gradient_a_hook_or_a_users_function_could_keep_is_copied():
    kept = []
    x = gg.randn(3, requires_grad=True)
    x.register_hook(lambda g: kept.append(g))
    (x * 2.0).backward(gg.ones(3))
    assert not _shares(x.grad, kept[0])

    store = {}

    class KeepsItsGradient(gg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, gy):
            store["g"] = gy * 2
            return store["g"]

    y = gg.randn(3, requires_grad=True)
    KeepsItsGradient.apply(y).sum().backward()
    assert not _shares(y.grad, store["g"])
    y.grad.zero_()
    assert np.allclose(store["g"].numpy(), 2.0)


def test_an_owned_gradient_takes_later_gradients_in_place_without_touching_a_shared_one():
    x = gg.randn(6, requires_grad=True)
    up = gg.randn(6)
    (x * 3.0 + x).backward(up)  # mul's fresh array first, then add's pass-through of the caller's
    assert np.allclose(x.grad.numpy(), 4.0 * up.numpy(), rtol=1e-6)
    assert not _shares(x.grad, up)


def test_views_of_one_fresh_array_returned_for_two_inputs_are_copied():
    from gpugrad.autograd.function import Op

    class SameMemoryTwice(Op):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, gy):
            made = gy * 2.0  # fresh, then handed to both inputs as views of the whole of it
            return made.reshape(-1).reshape(gy.shape), made.reshape(gy.shape)

    a = gg.randn(2, 3, requires_grad=True)
    b = gg.randn(2, 3, requires_grad=True)
    SameMemoryTwice.apply(a, b).backward(gg.ones(2, 3))
    assert not _shares(a.grad, b.grad)
    # A reshape of the whole of a fresh array is the pass's own: layer_norm's gradients take no copy.
    x = gg.randn(4, 6, requires_grad=True)
    gg.nn.functional.layer_norm(x, (6,)).backward(gg.randn(4, 6))
    assert x.grad._array.base is not None and x.grad._array.flags.c_contiguous


def test_second_order_through_a_leaf_whose_first_gradient_was_summed_to_its_shape():
    """Under create_graph a leaf's gradients are summed as recorded ops: the first one, summed down from
    a broadcast by the engine, must not take the later ones in place (that lost their graph)."""
    a = gg.tensor(np.arange(6.0).reshape(2, 3), dtype=gg.float64)

    def f(x):
        return (x.exp() * a).sum() + (x ** 3).sum() + ((x * a) ** 2).sum()

    assert gg.autograd.gradgradcheck(f, [gg.tensor([0.5, -1.0, 2.0], dtype=gg.float64, requires_grad=True)])


def test_grad_fn_exposes_pytorchs_graph_walk():
    """The tutorials' walk from a loss back to the leaves: name(), next_functions, AccumulateGrad."""
    x = gg.randn(3, requires_grad=True)
    w = gg.randn(3)
    loss = ((x * w).exp() + 1.0).sum()
    assert loss.grad_fn.name() == "SumBackward" and repr(loss.grad_fn) == "<SumBackward>"
    (add, index), = loss.grad_fn.next_functions
    assert add.name() == "AddBackward" and index == 0
    exp = add.next_functions[0][0]
    (mul, _), = exp.next_functions
    (leaf, _), (nothing, _) = mul.next_functions
    assert leaf.name() == "torch::autograd::AccumulateGrad" and leaf.variable is x and leaf.next_functions == ()
    assert nothing is None  # w needs no gradient
    loss.grad_fn.metadata["step"] = 3
    assert loss.grad_fn.metadata == {"step": 3}


def test_grad_fn_hooks_see_and_replace_gradients_as_pytorchs():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    seen = []
    y.grad_fn.register_prehook(lambda grad_outputs: seen.append(grad_outputs[0].tolist()))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] * 10, None))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] + 1, None))  # sees the first's
    (y * gg.tensor([1.0, 2.0])).sum().backward()
    assert seen == [[1.0, 2.0]] and x.grad.tolist() == [31.0, 61.0]
    z = x * 2.0
    handle = z.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0] * 0,))
    handle.remove()
    z.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0],))  # one of two: refused
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        z.sum().backward()
