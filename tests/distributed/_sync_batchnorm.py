"""Run by test_sync_batchnorm.py under ``mpiexec -n 2``: SyncBatchNorm on each rank's share of a batch equals
one process's BatchNorm over the whole batch: outputs, running statistics, the input's gradient (of the
sum of every rank's loss) and the parameters' gradients (each rank's own share, as in PyTorch, summing to
the whole batch's). The ranks' shares differ in size (and one is empty), as SyncBatchNorm allows."""
import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn

dist.init_process_group("mpi")
rank, N = dist.get_rank(), dist.get_world_size()
assert N == 2, N


def close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"rank {rank}: {what}")


def check(shape_tail, sizes, kw, reference_cls, group=None, steps=2):
    rng = np.random.default_rng(1)  # the same on every rank: every rank knows the whole batch
    c = shape_tail[0]
    weight, bias = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
    sync = nn.SyncBatchNorm(c, process_group=group, dtype=gg.float64, **kw)
    ref = reference_cls(c, dtype=gg.float64, **kw)
    for m in (sync, ref):
        if m.affine:
            m.weight.data.copy_(gg.tensor(weight))
            m.bias.data.copy_(gg.tensor(bias))
    for step in range(steps):
        x = rng.standard_normal((sum(sizes),) + shape_tail) * 3.0 + 5.0  # a large mean: a stable variance shows
        g = rng.standard_normal(x.shape)
        x_ref, x_mine = gg.tensor(x, requires_grad=True), gg.tensor(x[lo:hi], requires_grad=True)
        y_ref, y_mine = ref(x_ref), sync(x_mine)
        close(y_mine.detach().numpy(), y_ref.detach().numpy()[lo:hi], f"output, step {step}")
        # Every rank's loss counts for every input (the statistics are shared) ...
        (y_ref * gg.tensor(g)).sum().backward(retain_graph=True)
        (y_mine * gg.tensor(g[lo:hi])).sum().backward()
        close(x_mine.grad.numpy(), x_ref.grad.numpy()[lo:hi], f"input gradient, step {step}")
        if ref.affine:  # ... while a parameter's gradient is this rank's share, the total of which is the whole
            mask = np.zeros(x.shape)
            mask[lo:hi] = 1.0
            share = gg.grad((y_ref * gg.tensor(g * mask)).sum(), [ref.weight, ref.bias]) if hi > lo else None
            for p, name, want in zip((sync.weight, sync.bias), ("weight", "bias"), share or (None, None)):
                got = p.grad.numpy() if p.grad is not None else np.zeros(c)
                close(got, np.zeros(c) if want is None else want.numpy(), f"{name} gradient, step {step}")
                total = gg.tensor(got.copy())
                dist.all_reduce(total)
                full = (ref.weight if name == "weight" else ref.bias).grad.numpy()
                close(total.numpy(), full, f"{name} gradient summed over the ranks, step {step}")
                p.grad = None
            ref.weight.grad = ref.bias.grad = None
    if ref.track_running_stats:
        close(sync.running_mean.numpy(), ref.running_mean.numpy(), "running_mean")
        close(sync.running_var.numpy(), ref.running_var.numpy(), "running_var")
        assert sync.num_batches_tracked.item() == ref.num_batches_tracked.item() == steps
    # eval: each rank alone, with its running statistics (no collective: rank 1 skips it here)
    sync.eval()
    ref.eval()
    if hi > lo:
        x = rng.standard_normal((hi - lo,) + shape_tail)
        close(sync(gg.tensor(x)).detach().numpy(), ref(gg.tensor(x)).detach().numpy(), "eval output")


check((3, 4), (3, 5), {}, nn.BatchNorm1d)
check((2,), (4, 2), {"momentum": None}, nn.BatchNorm1d)
check((3, 2, 3), (2, 1), {}, nn.BatchNorm2d, group=dist.new_group([0, 1]))
check((2, 3), (4, 0), {"affine": False, "track_running_stats": False}, nn.BatchNorm1d, steps=1)

# convert_sync_batchnorm, then a training step of a small model equals the whole batch in one process
gg.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)).double()
twin = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)).double()
twin.load_state_dict(model.state_dict())
model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
assert isinstance(model[1], nn.SyncBatchNorm)
x = np.random.default_rng(2).standard_normal((6, 4))
model(gg.tensor(x[3 * rank: 3 * rank + 3])).pow(2).sum().backward()
twin(gg.tensor(x)).pow(2).sum().backward()
for (name, p), q in zip(model.named_parameters(), twin.parameters()):
    total = p.grad.detach().clone()
    dist.all_reduce(total)
    close(total.numpy(), q.grad.numpy(), f"converted model: {name} gradient summed over the ranks")
close(model[1].running_var.numpy(), twin[1].running_var.numpy(), "converted model: running_var")

dist.barrier()
print(f"rank {rank}: sync_batchnorm OK", flush=True)
dist.destroy_process_group()
