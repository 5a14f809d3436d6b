"""Run by test_faults.py: rank 1 fails (raises, exits non-zero, is killed, or hangs) while rank 0 waits in
an all-reduce; the job must end quickly with an error naming the failed rank (for a hang: the waiting rank
gives up after the group's timeout)."""
import os
import signal
import sys
import time

import gpugrad as gg
import gpugrad.distributed as dist

how = sys.argv[1]
dist.init_process_group("mpi", timeout=2 if how == "hang" else 60)
rank = dist.get_rank()
t = gg.ones(4)
dist.all_reduce(t)  # both alive here
if rank == 1:
    if how == "raise":
        raise ValueError("rank one gives up")
    if how == "exit":
        sys.exit(3)
    if how == "hang":
        time.sleep(60)
    os.kill(os.getpid(), signal.SIGKILL)
dist.all_reduce(t)  # rank 0 waits here for a peer that is gone
print("rank 0 was not stopped", flush=True)
