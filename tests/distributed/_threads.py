"""A rank that reports the threads it was started with (test_launch.py)."""
import os

import gpugrad as gg

print(f"rank {os.environ['RANK']}: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} "
      f"threads={gg.get_num_threads()}", flush=True)
