"""Run by test_ddp.py under ``mpiexec -n 2``: N ranks with per-rank batch B end with the same parameters as
one process with batch N*B over the same samples; no_sync; unused parameters; mismatched models. On the
device GPUGRAD_TEST_DEVICE names ("cuda": both ranks on one GPU, the MPI backend staging CuPy arrays
through the host), the CPU by default."""
import os

import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn, optim
from gpugrad.data import load_digits
from gpugrad.nn.parallel import DistributedDataParallel as DDP
from gpugrad.train import build_model

dist.init_process_group("mpi")
rank, N = dist.get_rank(), dist.get_world_size()
F = nn.functional
B, STEPS = 8, 3
DEVICE = os.environ.get("GPUGRAD_TEST_DEVICE", "cpu")


def mlp():
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 10))


def cnn():
    return build_model("cnn", (1, 8, 8), 10)


def make(kind, seed):
    gg.manual_seed(seed)
    return (mlp() if kind == "mlp" else cnn()).to(DEVICE)


def make_opt(name, params):
    return optim.SGD(params, lr=0.05, momentum=0.9) if name == "momentum" else optim.Adam(params, lr=1e-3)


X_flat, Y = load_digits().tensors
X_img = load_digits(images=True).tensors[0]


def batch(kind, lo, hi):
    return (X_flat if kind == "mlp" else X_img)[lo:hi].to(DEVICE), Y[lo:hi].to(DEVICE)


def params_of(model):
    return [p.detach().cpu().numpy().copy() for p in model.parameters()]


def check_close(got, want, what):
    """Relative 1e-5 per tensor, in norm: Adam divides by sqrt(v), so an entry whose gradient is ~0 can
    move by lr * (rounding noise) / |g| alone; the tensor as a whole cannot."""
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        rel = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)
        assert rel <= 1e-5, f"{what}: parameter {i} differs by {rel:.2e} (relative, in norm)"


for kind in ("mlp", "cnn"):
    for opt_name in ("momentum", "adam"):
        for cap in (25, 0.002):  # one bucket per dtype, or many small ones
            # Every rank starts from its own random init: DDP must take rank 0's.
            model = DDP(make(kind, seed=rank), bucket_cap_mb=cap)
            opt = make_opt(opt_name, model.parameters())
            ref = make(kind, seed=0)
            ref_opt = make_opt(opt_name, ref.parameters())
            in_place = 0
            for step in range(STEPS):
                base = step * N * B
                xb, yb = batch(kind, base + rank * B, base + (rank + 1) * B)
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                in_place += sum(not b.copied for b in model._buckets)
                opt.step()
                xa, ya = batch(kind, base, base + N * B)
                ref_opt.zero_grad()
                F.cross_entropy(ref(xa), ya).backward()
                ref_opt.step()
            check_close(params_of(model.module), params_of(ref), f"{kind}/{opt_name}/cap={cap}")
            assert in_place > 0, "the fused optimizer's flat gradient buffer was never reduced in place"
            assert len(model._buckets) > (1 if cap < 1 else 0)

# no_sync: M micro-batches accumulated locally, averaged once = one batch of N*M*B with loss scaled by M.
M = 3
model = DDP(make("mlp", seed=rank))
ref = make("mlp", seed=0)
for m in range(M):
    lo = (rank * M + m) * B
    xb, yb = batch("mlp", lo, lo + B)
    if m < M - 1:
        with model.no_sync():
            F.cross_entropy(model(xb), yb).backward()
        assert model._next_launch == 0 and not model._marked
    else:
        F.cross_entropy(model(xb), yb).backward()
xa, ya = batch("mlp", 0, N * M * B)
(F.cross_entropy(ref(xa), ya) * M).backward()
check_close([p.grad.cpu().numpy() for p in model.module.parameters()], [p.grad.cpu().numpy() for p in ref.parameters()], "no_sync")


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 16)
        self.used = nn.Linear(16, 10)
        self.unused = nn.Linear(16, 10)

    def forward(self, x):
        return self.used(self.body(x).relu())


# A parameter without a gradient is an error naming it (at the next forward, as PyTorch) ...
model = DDP(TwoHeads().to(DEVICE))
xb, yb = batch("mlp", rank * B, (rank + 1) * B)
F.cross_entropy(model(xb), yb).backward()
try:
    model(xb)
except RuntimeError as exc:
    assert "unused.weight" in str(exc) and "find_unused_parameters" in str(exc), str(exc)
else:
    raise AssertionError("no error for a parameter that got no gradient")

# ... unless find_unused_parameters=True: then the others are averaged and the unused one has no grad.
gg.manual_seed(0)
plain = TwoHeads().to(DEVICE)
model = DDP(TwoHeads().to(DEVICE), find_unused_parameters=True)
model.module.load_state_dict(plain.state_dict())
for _ in range(2):
    model.zero_grad()
    F.cross_entropy(model(xb), yb).backward()
assert model.module.unused.weight.grad is None
xa, ya = batch("mlp", 0, N * B)
F.cross_entropy(plain(xa), ya).backward()
check_close([model.module.used.weight.grad.cpu().numpy(), model.module.body.bias.grad.cpu().numpy()],
            [plain.used.weight.grad.cpu().numpy(), plain.body.bias.grad.cpu().numpy()], "find_unused_parameters")

# Different models on different ranks are found at construction, naming the parameter and both ranks.
try:
    DDP(nn.Sequential(nn.Linear(4, 5 + rank)).to(DEVICE))
except RuntimeError as exc:
    msg = str(exc)
    assert "'0.weight'" in msg and "rank 0" in msg and "rank 1" in msg, msg
else:
    raise AssertionError("no error for mismatched parameter shapes")

# init_sync=False leaves each rank's own values (the caller vouches for them).
mine = DDP(make("mlp", seed=rank), init_sync=False).module[0].weight.detach().cpu().numpy()
firsts = [None] * N
dist.all_gather_object(firsts, float(mine[0, 0]))
assert firsts[0] != firsts[1]

# Buffers follow rank 0 at construction and at every forward.
bn = DDP(nn.Sequential(nn.Linear(64, 8), nn.BatchNorm1d(8)).to(DEVICE))
bn(batch("mlp", rank * B, (rank + 1) * B)[0])  # different batches: the running stats differ ...
bn(batch("mlp", 100, 108)[0])  # ... until a forward broadcasts rank 0's, then updates with the same batch
others = [None] * N
dist.all_gather_object(others, bn.module[1].running_mean.cpu().numpy().copy())
np.testing.assert_array_equal(others[0], others[1])

dist.destroy_process_group()
print(f"rank {rank}: ddp OK on {DEVICE}", flush=True)
