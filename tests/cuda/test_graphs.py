"""CUDA graphs (gg.cuda.CUDAGraph, graph, graph_pool_handle): on a GPU (mark cuda) a captured training
step replays equal to eager steps, bit for bit; in the simulator (mark cudasim, CI) a capture runs the step
once with every capture rule in force, which proves the MLP and CNN steps capture-safe, and replay says it
needs a GPU. Both: what a capture refuses raises at once, naming the call, and leaves no capture behind."""
import re

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, nn, optim

SIM = backend.simulating_cuda()
usable = gg.cuda.is_available() or SIM
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.cudasim,
    pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1"),
]


def side_stream():
    return None if SIM else gg.cuda.Stream()


def mlp_step(opt_kind="sgd", loss_kind="ce", seed=0):
    """A small MLP, its optimizer and a step on fixed data, all on cuda."""
    gg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 24), nn.Tanh(), nn.Linear(24, 5)).to("cuda")
    x, y = gg.randn(17, 13).to("cuda"), gg.randint(0, 5, (17,)).to("cuda")
    opt = (optim.SGD(model.parameters(), lr=0.05, momentum=0.9) if opt_kind == "sgd"
           else optim.Adam(model.parameters(), lr=1e-2, capturable=True))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, step


def cnn_step(seed=0):
    gg.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                          nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 3)).to("cuda")
    x, y = gg.randn(5, 1, 8, 8).to("cuda"), gg.randint(0, 3, (5,)).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, step


def warm_up(*steps, n=1 if SIM else 3):
    s = side_stream()
    with gg.cuda.stream(s):
        for _ in range(n):
            for step in steps:
                step()
    gg.cuda.synchronize()


def params(model):
    return [p.detach().cpu().numpy() for p in model.parameters()]


def no_capture_left():
    return backend.get("cuda").capture is None


@pytest.mark.parametrize("make", [mlp_step, lambda: mlp_step("adam"), cnn_step], ids=["mlp", "mlp-adam", "cnn"])
def test_a_training_step_captures_and_replays_like_eager_steps(make):
    """With capturable Adam the step counts live on the device: each replay advances them, so three
    replays give what three eager steps give."""
    model_g, step_g = make()
    model_e, step_e = make()
    warm_up(step_g, step_e)
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        loss = step_g()
    assert no_capture_left()
    if SIM:  # the capture ran the step once, eagerly: one more eager step gives the same parameters
        step_e()
        for a, b in zip(params(model_g), params(model_e)):
            np.testing.assert_array_equal(a, b)
        with pytest.raises(NotImplementedError, match="replaying needs a GPU"):
            g.replay()
        return
    for _ in range(3):
        g.replay()
        eager_loss = step_e()
    gg.cuda.synchronize()
    for a, b in zip(params(model_g), params(model_e)):
        np.testing.assert_array_equal(a, b)
    assert loss.item() == eager_loss.item()  # the captured loss tensor holds the last replay's value


@pytest.mark.parametrize("read, name", [
    (lambda t: t.item(), "item"),
    (lambda t: t.tolist(), "tolist"),
    (lambda t: t.detach().numpy(), "numpy"),
    (lambda t: repr(t), "print"),
    (lambda t: t.cpu(), "to(cpu)"),
    (lambda t: gg.cuda.synchronize(), "synchronize"),
    (lambda t: t + gg.ones(3).to("cuda"), "copy to the device"),
])
def test_host_reads_inside_a_capture_raise_naming_the_call_and_end_the_capture(read, name):
    x = gg.randn(4).to("cuda")
    (x * 2).sum()  # warm-up
    g = gg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match=rf"^{re.escape(name)}: not allowed while a CUDA graph is being captured"):
        with gg.cuda.graph(g):
            read((x * 2).sum())
    assert no_capture_left()
    with pytest.raises(RuntimeError, match="nothing captured"):
        g.replay()
    with gg.cuda.graph(g):  # the failed capture left nothing behind: the same graph captures again
        y = (x * 2).sum()
    assert no_capture_left()
    if not SIM:
        g.replay()
        assert y.item() == (x * 2).sum().item()


def test_a_bad_target_inside_a_capture_is_reported_at_the_next_host_read():
    gg.manual_seed(0)
    logits = gg.randn(6, 4).to("cuda")
    target = gg.tensor([0, 1, 2, 3, 9, 1]).to("cuda")  # 9 is out of range
    loss_fn = nn.CrossEntropyLoss()
    g = gg.cuda.CUDAGraph()
    if SIM:  # the step ran at capture: its check runs when the capture ends
        with pytest.raises(IndexError, match="cross_entropy.*9"):
            with gg.cuda.graph(g):
                loss_fn(logits, target)
        assert no_capture_left()
        return
    warm_target = gg.tensor([0, 1, 2, 3, 0, 1]).to("cuda")
    loss_fn(logits, warm_target)
    with gg.cuda.graph(g):
        loss = loss_fn(logits, target)  # no error yet: the flag is not read inside the capture
    g.replay()
    with pytest.raises(IndexError, match="cross_entropy.*9"):
        loss.item()
    loss.item()  # reported once


def test_capture_misuse_raises():
    g = gg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="nothing captured"):
        g.replay()
    with pytest.raises(RuntimeError, match="not capturing"):
        g.capture_end()
    with pytest.raises(RuntimeError, match="no pool until capture_begin"):
        g.pool()
    with pytest.raises(gg.errors.ArgumentError, match="capture_error_mode"):
        with gg.cuda.graph(g, capture_error_mode="strict"):
            pass
    with pytest.raises(gg.errors.ArgumentError, match="expected a CUDAGraph"):
        gg.cuda.graph(object())
    x = gg.randn(4).to("cuda")
    ((x * 2 + 1) * 3).sum()  # warm-up: CuPy compiles a kernel on first use, which a capture cannot hold
    with gg.cuda.graph(g):
        y = x * 2
        with pytest.raises(RuntimeError, match="another capture is under way"):
            gg.cuda.CUDAGraph().capture_begin()
    with pytest.raises(RuntimeError, match="already holds a capture"):
        g.capture_begin()
    g2 = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g2, pool=g.pool()):  # two graphs share one pool
        z = y + 1
    assert g2.pool() is g.pool()
    g.reset()
    with gg.cuda.graph(g, pool=gg.cuda.graph_pool_handle()):
        z = z * 3
    assert no_capture_left()


@pytest.mark.cuda
@pytest.mark.skipif(SIM or not gg.cuda.is_available(), reason="needs a GPU")
def test_matmuls_inside_a_capture_go_to_cublas_directly():
    gg.manual_seed(0)
    a = gg.randn(7, 33, 19).to("cuda")
    b = gg.randn(19, 5).to("cuda")
    bt = gg.randn(5, 19).to("cuda")
    eager = (a @ b, a @ bt.T, a[0] @ b, (a[0].T @ a[1]))
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        captured = (a @ b, a @ bt.T, a[0] @ b, (a[0].T @ a[1]))
        with pytest.raises(RuntimeError, match=r"matmul: shapes \(7, 33, 19\) and \(7, 19, 33\)"):
            a @ a.mT
    g.replay()
    for got, want in zip(captured, eager):
        np.testing.assert_array_equal(got.cpu().numpy(), want.cpu().numpy())


@pytest.mark.skipif(SIM, reason="replaying a graph needs a GPU")
def test_graphed_callables_train_like_the_eager_module_inside_an_eager_loop():
    def make():
        gg.manual_seed(0)
        return nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 5)).to("cuda")

    graphed, eager = make(), make()
    sample = gg.randn(17, 13).to("cuda")
    assert gg.cuda.make_graphed_callables(graphed, (sample,)) is graphed
    opts = [optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (graphed, eager)]
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):
        x, y = gg.randn(17, 13).to("cuda"), gg.randint(0, 5, (17,)).to("cuda")
        for model, opt in zip((graphed, eager), opts):
            opt.zero_grad()
            loss_fn(model(x) * 2, y).backward()  # an eager op after the graphed module, as in a real loop
            opt.step()
    for a, b in zip(params(graphed), params(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    graphed.eval()  # another training flag than at capture: the module's own forward runs
    np.testing.assert_array_equal(graphed(sample).detach().cpu().numpy(), eager(sample).detach().cpu().numpy())
    with pytest.raises(gg.errors.ArgumentError, match="shape and dtype of its sample arg"):
        graphed.train()
        graphed(gg.randn(4, 13).to("cuda"))


@pytest.mark.skipif(SIM, reason="replaying a graph needs a GPU")
def test_a_graphed_function_gives_the_input_gradient():
    x = gg.randn(9, 7).to("cuda").requires_grad_()
    fn = gg.cuda.make_graphed_callables(lambda t: (t.tanh() * 3).sum(dim=1), (x,))
    z = gg.randn(9, 7).to("cuda").requires_grad_()
    fn(z).sum().backward()
    want = 3 * (1 - np.tanh(z.detach().cpu().numpy()) ** 2)
    np.testing.assert_allclose(z.grad.cpu().numpy(), want, rtol=1e-5, atol=1e-6)


def test_an_op_that_fails_inside_a_capture_is_named():
    """CuPy refuses a host read inside an op with its own RuntimeError; the error the user sees names the
    op (a stand-in op raises as CuPy would)."""

    class SyncsInside(gg.autograd.Function):
        name = "syncs_inside"

        @staticmethod
        def forward(ctx, x):
            raise RuntimeError("the current stream is capturing, so D2H transfers are disallowed")

    x = gg.randn(3).to("cuda")
    with pytest.raises(gg.CaptureError, match=r"^syncs_inside: cannot run inside a CUDA graph capture \(the current"):
        with gg.cuda.graph(gg.cuda.CUDAGraph()):
            SyncsInside.apply(x)
    with pytest.raises(RuntimeError, match="^the current stream"):  # outside a capture: unchanged
        SyncsInside.apply(x)


@pytest.mark.skipif(not SIM, reason="the simulator's behaviour (on a GPU the graphed tests above run)")
def test_graphed_callables_in_the_simulator_check_capture_safety_and_say_replay_needs_a_gpu():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2)).to("cuda")
    sample = gg.randn(3, 5).to("cuda")
    graphed = gg.cuda.make_graphed_callables(model, (sample,))  # forward and backward captured: both safe
    with pytest.raises(NotImplementedError, match="replaying needs a GPU"):
        graphed(sample)

    def reads_back(t):
        return t * t.sum().item()

    with pytest.raises(gg.CaptureError, match="^item: not allowed while a CUDA graph is being captured"):
        gg.cuda.make_graphed_callables(reads_back, (sample,))
    assert no_capture_left()
