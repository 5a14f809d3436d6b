"""Run by test_collectives.py under ``mpiexec -n 2``: torch.distributed.nn's differentiable collectives,
values and gradients against what the ranks compute by hand."""
import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
import gpugrad.distributed.nn as dist_nn

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
mine = np.random.default_rng(rank).standard_normal((2, 3)).astype(np.float32)
every = [np.random.default_rng(r).standard_normal((2, 3)).astype(np.float32) for r in range(n)]
weights = [float(r + 1) for r in range(n)]  # rank r's loss weighs the result by r + 1

x = gg.tensor(mine, requires_grad=True)
total = dist_nn.all_reduce(x)
np.testing.assert_allclose(total.detach().numpy(), sum(every), rtol=1e-6)
np.testing.assert_array_equal(x.detach().numpy(), mine)  # the input is left as it was
(total * weights[rank]).sum().backward()
np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), sum(weights)), rtol=1e-6)

x = gg.tensor(mine, requires_grad=True)
parts = dist_nn.all_gather(x)
assert len(parts) == n
for r in range(n):
    np.testing.assert_array_equal(parts[r].detach().numpy(), every[r])
# Rank k's loss: weights[k] * (sum of part 0) + 2 * (sum of part 1): x on rank r gets the sum over ranks.
loss = weights[rank] * parts[0].sum() + 2.0 * parts[1].sum()
loss.backward()
want = sum(weights) if rank == 0 else 2.0 * n
np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), want), rtol=1e-6)
print(f"rank {rank}: distributed.nn OK", flush=True)
