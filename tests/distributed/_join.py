"""Run by test_join.py under ``mpiexec -n 2``: a joinable that all-reduces a running sum each iteration,
with rank 0 holding 3 inputs and rank 1 holding 5; the joined rank's hook shadows the all-reduces, so both
ranks finish, and the sums are what every rank's inputs (zeros for a joined rank) give."""
import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.distributed.algorithms.join import Join, Joinable, JoinHook

dist.init_process_group("mpi")
rank = dist.get_rank()


class Shadow(JoinHook):
    def __init__(self, summer):
        self.summer = summer

    def main_hook(self):
        self.summer.total += self.summer.reduce(gg.zeros(1))  # this rank's share: nothing

    def post_hook(self, is_last_joiner):
        self.summer.last_joiner = is_last_joiner


class Summer(Joinable):
    def __init__(self):
        super().__init__()
        self.total, self.last_joiner = 0.0, None

    def reduce(self, x):
        dist.all_reduce(x)
        return x.item()

    def step(self, value):
        Join.notify_join_context(self)
        self.total += self.reduce(gg.tensor([value]))

    def join_hook(self, **kwargs):
        return Shadow(self)

    @property
    def join_device(self):
        return gg.device("cpu")

    @property
    def join_process_group(self):
        return None


inputs = {0: [1.0, 2.0, 3.0], 1: [10.0, 20.0, 30.0, 40.0, 50.0]}[rank]
summer = Summer()
with Join([summer]):
    for v in inputs:
        summer.step(v)
assert summer.total == 1 + 2 + 3 + 10 + 20 + 30 + 40 + 50, summer.total
assert summer.last_joiner is (rank == 1), (rank, summer.last_joiner)

# throw_on_early_termination: the rank that runs out raises, and so does the other at its next iteration
summer = Summer()
raised = None
try:
    with Join([summer], throw_on_early_termination=True):
        for v in inputs:
            summer.step(v)
except RuntimeError as exc:
    raised = str(exc)
assert raised is not None and ("exhausted all inputs" if rank == 0 else "exhausted inputs") in raised, raised

# outside a Join, notify_join_context does nothing; a DistributedDataParallel model is refused by name
assert Join.notify_join_context(Summer()) is None
model = gg.nn.parallel.DistributedDataParallel(gg.nn.Linear(2, 2))
try:
    Join([model])
except TypeError as exc:
    assert "not a Joinable" in str(exc)
else:
    raise AssertionError("Join took a model that is not a Joinable")
print(f"rank {rank}: join OK", flush=True)
