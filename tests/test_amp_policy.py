"""autocast's op policies (gpugrad/amp/policy.py): which ops cast their inputs to what, as PyTorch's lists."""
import threading

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 6)).astype(np.float32)
B = rng.standard_normal((6, 5)).astype(np.float32)
V = rng.standard_normal(6).astype(np.float32)
X = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
T = np.array([0, 1, 5, 2])

# (name, fn(lib, F, tensor)) run under both frameworks: lib is gpugrad or torch, tensor makes a float32 tensor.
CASES = [
    ("matmul", lambda L, F, t: L.matmul(t(A), t(B))),
    ("operator @", lambda L, F, t: t(A) @ t(B)),
    ("mm", lambda L, F, t: L.mm(t(A), t(B))),
    ("bmm", lambda L, F, t: L.bmm(t(A)[None], t(B)[None])),
    ("addmm", lambda L, F, t: L.addmm(t(B[0]), t(A), t(B))),
    ("baddbmm", lambda L, F, t: L.baddbmm(t(np.ones((1, 4, 5), np.float32)), t(A)[None], t(B)[None])),
    ("einsum", lambda L, F, t: L.einsum("ij,jk->ik", t(A), t(B))),
    ("tensordot", lambda L, F, t: L.tensordot(t(A), t(B), dims=1)),
    ("linear", lambda L, F, t: F.linear(t(A), t(B.T), t(B[0]))),
    ("conv2d", lambda L, F, t: F.conv2d(t(X), t(W), padding=1)),
    ("conv1d", lambda L, F, t: F.conv1d(t(X[:, :, 0]), t(W[:, :, 0]))),
    ("sdpa", lambda L, F, t: F.scaled_dot_product_attention(t(X), t(X), t(X))),
    ("mv (not listed: stays float32)", lambda L, F, t: L.mv(t(A), t(V))),
    ("dot (not listed)", lambda L, F, t: L.dot(t(V), t(V))),
    ("relu of a product", lambda L, F, t: F.relu(t(A) @ t(B))),
    ("exp (not listed)", lambda L, F, t: t(A).exp()),
    ("float64 matmul (never cast)", lambda L, F, t: t(A).double() @ t(B).double()),
    ("cross_entropy of half logits", lambda L, F, t: F.cross_entropy(t(A).half(), L.tensor(T))),
    ("mse_loss", lambda L, F, t: F.mse_loss(t(A).half(), t(A))),
    ("nll_loss", lambda L, F, t: F.nll_loss(t(A).half(), L.tensor(T))),
    ("kl_div", lambda L, F, t: F.kl_div(t(A).half(), t(A).half())),
    ("bce_with_logits", lambda L, F, t: F.binary_cross_entropy_with_logits(t(A).half(), t(A).sigmoid().half())),
    ("cdist", lambda L, F, t: L.cdist(t(A).half(), t(A).half())),
    ("prod", lambda L, F, t: t(A).half().prod()),
    ("softmax (CUDA's list only)", lambda L, F, t: F.softmax(t(A).half(), -1)),
    ("cat promotes", lambda L, F, t: L.cat([t(A).to(L.get_autocast_dtype("cpu")), t(A)])),
    ("stack of one dtype", lambda L, F, t: L.stack([t(A).to(L.get_autocast_dtype("cpu"))] * 2)),
]


def _ours(fn, dtype=gg.bfloat16):
    with gg.autocast("cpu", dtype=dtype):
        return fn(gg, F, gg.tensor)


def _expected_dtype(name: str, dtype):
    if name in ("matmul", "operator @", "mm", "bmm", "addmm", "baddbmm", "einsum", "tensordot", "linear", "conv2d",
                "conv1d", "sdpa", "relu of a product"):
        return dtype
    if name in ("mv (not listed: stays float32)", "dot (not listed)", "exp (not listed)", "cat promotes"):
        return gg.float32
    if name == "float64 matmul (never cast)":
        return gg.float64
    if name == "softmax (CUDA's list only)":
        return gg.float16
    if name == "stack of one dtype":
        return dtype
    return gg.float32  # the losses, cdist and prod: float32 on the CPU's list


@pytest.mark.parametrize("dtype", [gg.bfloat16, gg.float16])
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_each_op_takes_its_lists_dtype(name, fn, dtype):
    assert _ours(fn, dtype).dtype is _expected_dtype(name, dtype)


def test_a_lower_precision_op_computes_as_on_cast_inputs():
    with gg.autocast("cpu"):
        y = gg.tensor(A) @ gg.tensor(B)
    np.testing.assert_array_equal(y.float().numpy(), (gg.tensor(A).bfloat16() @ gg.tensor(B).bfloat16()).float().numpy())


def test_gradients_reach_float32_parameters_in_float32():
    gg.manual_seed(0)
    model = gg.nn.Sequential(gg.nn.Linear(6, 16), gg.nn.ReLU(), gg.nn.Linear(16, 6))
    opt = gg.optim.SGD(model.parameters(), lr=0.3)
    x, t = gg.tensor(A), gg.tensor(T)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        with gg.autocast("cpu", dtype=gg.bfloat16):
            logits = model(x)
            loss = F.cross_entropy(logits, t)
        assert logits.dtype is gg.bfloat16 and loss.dtype is gg.float32
        loss.backward()
        assert all(p.grad.dtype is gg.float32 and p.dtype is gg.float32 for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_a_region_belongs_to_its_thread():
    seen = []
    with gg.autocast("cpu"):
        worker = threading.Thread(target=lambda: seen.append((gg.tensor(A) @ gg.tensor(B)).dtype))
        worker.start()
        worker.join()
        assert (gg.tensor(A) @ gg.tensor(B)).dtype is gg.bfloat16
    assert seen == [gg.float32]


def test_decorated_functions_keep_their_names_and_signatures():
    import inspect

    assert gg.matmul.__name__ == "matmul" and "input" in inspect.signature(gg.matmul).parameters
    assert F.cross_entropy.__name__ == "cross_entropy"


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_dtypes_and_values_match_pytorchs_cpu_autocast(dtype):
    torch = pytest.importorskip("torch")
    for name, fn in CASES:
        with torch.autocast("cpu", dtype=getattr(torch, dtype)):
            theirs = fn(torch, torch.nn.functional, torch.tensor)
        ours = _ours(fn, getattr(gg, dtype))
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
        mine, ref = ours.detach().float().numpy(), theirs.detach().float().numpy()
        np.testing.assert_allclose(mine, ref, rtol=2 ** -6, atol=2 ** -6 * np.abs(ref).max(), err_msg=name)
