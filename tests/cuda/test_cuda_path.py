"""The "cuda" device path: on a real GPU (mark cuda) or, in CI, in Numba's CUDA simulator with NumPy
arrays standing in for device memory (mark cudasim; its own process with GPUGRAD_SIMULATE_CUDA=1 and
NUMBA_ENABLE_CUDASIM=1, see .ci/run). The same tests run in both."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, nn, optim

usable = gg.cuda.is_available() or backend.simulating_cuda()
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.cudasim,
    pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1"),
]


def test_placement_and_round_trip():
    x = gg.randn(5, 3)
    y = x.to("cuda")
    assert y.device == "cuda:0" and y.is_cuda
    np.testing.assert_array_equal(y.cpu().numpy(), x.numpy())
    z = gg.zeros(2, device="cuda")
    assert z.device == gg.device("cuda:0")


def test_gradient_flows_back_across_a_transfer():
    x = gg.randn(4, requires_grad=True)
    y = (x.to("cuda") * 3.0).tanh().sum()
    y.backward()
    assert x.grad.device == "cpu"
    # 3 / cosh(3x)^2 in float64; the backward's 1 - tanh^2 in float32 is good to 3 float32 epsilons, absolute
    np.testing.assert_allclose(x.grad.numpy(), 3 / np.cosh(3 * x.detach().numpy().astype(np.float64)) ** 2,
                               rtol=1e-5, atol=1e-6)


def test_mixing_devices_names_both():
    a, b = gg.randn(3), gg.randn(3).to("cuda")
    with pytest.raises(RuntimeError, match="cpu and cuda:0"):
        a + b
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        b @ a


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh", "gelu", "silu", "softplus"])
def test_activation_kernels_launch_on_the_cuda_path(kind):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((5, 37)).astype(np.float32)
    x = gg.tensor(x_np, device="cuda", requires_grad=True)
    y = getattr(gg, kind)(x)
    y.backward(gg.ones(5, 37, device="cuda"))
    ref = gg.tensor(x_np, requires_grad=True)
    getattr(gg, kind)(ref).backward(gg.ones(5, 37))
    np.testing.assert_allclose(y.detach().cpu().numpy(), getattr(gg, kind)(gg.tensor(x_np)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.cpu().numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_fused_optimizer_and_a_training_step_on_the_cuda_path():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    gg.manual_seed(0)
    model_cpu = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    model.to("cuda")
    opt, opt_cpu = optim.Adam(model.parameters(), lr=1e-2), optim.Adam(model_cpu.parameters(), lr=1e-2)
    x, y = gg.randn(9, 6), gg.randint(0, 3, (9,))
    for m, o, dev in ((model, opt, "cuda"), (model_cpu, opt_cpu, "cpu")):
        for _ in range(3):
            loss = nn.functional.cross_entropy(m(x.to(dev)), y.to(dev))
            o.zero_grad()
            loss.backward()
            o.step()
    for p, q in zip(model.parameters(), model_cpu.parameters()):
        assert p.device == "cuda:0"
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_a_cnn_step_launches_one_kernel_per_im2col_col2im_and_pool(monkeypatch):
    """The convolution and pooling gathers run as kernels on the "cuda" path (one launch each, forward
    and backward), and a CNN step there matches the same step on the CPU."""
    from gpugrad.kernels import conv, pool

    launched = []
    for mod in (conv, pool):
        real = mod.launch
        monkeypatch.setattr(mod, "launch", lambda kernel, *a, _real=real, **k: (launched.append(kernel), _real(kernel, *a, **k)))

    def build():
        gg.manual_seed(0)
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 2 * 3, 4))

    x, y = gg.randn(5, 2, 5, 7), gg.randint(0, 4, (5,))
    grads = {}
    for dev in ("cuda", "cpu"):
        model = build().to(dev)
        x_dev = x.to(dev).requires_grad_()
        nn.functional.cross_entropy(model(x_dev), y.to(dev)).backward()
        grads[dev] = [x_dev.grad.cpu().numpy()] + [p.grad.cpu().numpy() for p in model.parameters()]
        if dev == "cuda":
            f32 = np.dtype(np.float32)
            expected = [conv._cuda_kernel("im2col", f32), pool._cuda_kernel("max_pool", f32),
                        pool._cuda_kernel("max_pool_backward", f32), conv._cuda_kernel("col2im", f32)]
            assert launched == expected
    for a, b in zip(grads["cuda"], grads["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
