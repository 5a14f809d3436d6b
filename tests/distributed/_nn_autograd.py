"""Run by test_collectives.py under ``mpiexec -n 2``: torch.distributed.nn's differentiable collectives and
_functional_collectives' all_to_all_single, values and gradients against what the ranks compute by hand."""
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

# _functional_collectives.all_to_all_single: rank r has 1 + r rows for each rank s (rows of 3); rank s
# receives rank r's block for s. Rank k's loss weighs what it received from rank r by (k + 1) * (r + 1).
from gpugrad.distributed import _functional_collectives as fc  # noqa: E402

blocks = [[np.random.default_rng(10 * r + s).standard_normal((1 + r, 3)).astype(np.float32) for s in range(n)]
          for r in range(n)]
x = gg.tensor(np.concatenate(blocks[rank]), requires_grad=True)
got = fc.all_to_all_single_autograd(x, [1 + r for r in range(n)], [1 + rank] * n, None)
assert fc.wait_tensor(got) is got
np.testing.assert_array_equal(got.detach().numpy(), np.concatenate([blocks[r][rank] for r in range(n)]))
np.testing.assert_array_equal(x.detach().numpy(), np.concatenate(blocks[rank]))  # the input is left as it was
scale = np.concatenate([np.full((1 + r, 3), (rank + 1) * (r + 1), np.float32) for r in range(n)])
(got * gg.tensor(scale)).sum().backward()
# My block for rank s reached rank s, which weighs it by (s + 1) * (rank + 1).
want = np.concatenate([np.full((1 + rank, 3), (s + 1) * (rank + 1), np.float32) for s in range(n)])
np.testing.assert_array_equal(x.grad.numpy(), want)
print(f"rank {rank}: distributed.nn OK", flush=True)
