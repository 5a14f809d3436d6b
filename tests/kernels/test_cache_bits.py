"""A kernel loaded from Numba's disk cache computes the same bits as the fresh compile that wrote it.

Numba links a prange body into the kernel's library and optimises it there a second time; a fresh
compile ran the body's first copy, a cached load the second, and with reassoc the two summed in other
orders (see kernels/_numba_internals.py, cache_consistent). The test below runs the reduction kernels' parallel
builds in a new process on an empty cache directory (compiling, and writing the cache), then in another
process on that directory (loading), and compares every output bit for bit. The compiles are the cost
(about a second per kernel and dtype): both dtypes for group_norm and layer_norm, float64 for the rest
(the kernels whose bits a cached load changed before, and softmax's and reduce's sums).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gpugrad.kernels._numba_internals import unchecked_reason

from .conftest import SIM

pytestmark = pytest.mark.skipif(SIM, reason="CPU kernels and Numba's CPU cache; nothing to simulate")

# Run in a child process: the kernels at their parallel builds (PARALLEL_MIN_WORK 0, on Numba's threads),
# outputs saved to argv[1]; prints the parallel builds' cache hits and misses.
CHILD = r"""
import json, sys
import numpy as np
from gpugrad.kernels import (_dispatch, batch_norm as bn, conv, group_norm as gn, layer_norm as ln, reduce as red,
                             softmax as sm, softmax_xent as sx)

_dispatch.PARALLEL_MIN_WORK = 0
gn.PARALLEL_MIN_WORK = 0  # group_norm's one build runs on every thread
out = {}
for dt in (np.float32, np.float64):
    r = np.random.default_rng(11)
    f = lambda *shape: r.standard_normal(shape).astype(dt)
    name = np.dtype(dt).name
    x3, g3, w8 = f(5, 8, 75) + 3, f(5, 8, 75), f(8)  # rows of 150 and 300 values: vector loops and tails
    y, mean, rstd = gn.group_norm_forward(np, x3, 4, w8, w8, 1e-5, impl="cpu")
    out.update({f"gn.y.{name}": y, f"gn.mean.{name}": mean, f"gn.rstd.{name}": rstd})
    for i, a in enumerate(gn.group_norm_backward(np, g3, x3, 4, mean, rstd, w8, impl="cpu")):
        out[f"gn.grad{i}.{name}"] = a
    x2, g2, w = f(21, 203) + 1, f(21, 203), f(203)
    y, mean, rstd = ln.layer_norm_forward(np, x2, w, w, 1e-5, impl="cpu")
    out.update({f"ln.y.{name}": y, f"ln.mean.{name}": mean, f"ln.rstd.{name}": rstd})
    for i, a in enumerate(ln.layer_norm_backward(np, g2, x2, mean, rstd, w, impl="cpu")):
        out[f"ln.grad{i}.{name}"] = a
    if dt is np.float32:
        continue  # the rest once: a compile each
    for i, a in enumerate(bn.batch_norm_forward(np, x3, w8, w8, 1e-5, impl="cpu")[:3]):
        out[f"bn.out{i}"] = a
    y, mean, invstd = bn.batch_norm_forward(np, x3, w8, w8, 1e-5, impl="cpu")[:3]
    for i, a in enumerate(bn.batch_norm_backward(np, g3, x3, mean, invstd, w8, impl="cpu")):
        out[f"bn.grad{i}"] = a
    for log in (False, True):
        y = sm.softmax_forward(np, x2, log=log, impl="cpu")
        out[f"sm.y.{log}"] = y
        out[f"sm.grad.{log}"] = sm.softmax_backward(np, g2, y, log=log, impl="cpu")
    out["sum_rows"] = red.sum_rows(np, x2, impl="cpu")
    out["sum_leading"] = red.sum_leading(np, x2, impl="cpu")
    target = np.random.default_rng(12).integers(0, 203, 21)
    for i, a in enumerate(sx.softmax_cross_entropy(np, x2, target, reduction="mean", weight=np.abs(w), impl="cpu")):
        out[f"xent{i}"] = a
    for i, a in enumerate(conv.nchw_to_columns(np, g3.reshape(5, 8, 5, 15), impl="cpu")):
        out[f"conv_columns{i}"] = a
np.savez(sys.argv[1], **out)

dispatchers = []
for mod in (bn, conv, gn, ln, red, sm, sx):
    for v in vars(mod).values():
        if isinstance(v, _dispatch.CpuKernel) and v.parallel is not None:
            dispatchers.append(v.parallel)
        elif type(v).__name__ == "CPUDispatcher" and v.targetoptions.get("parallel"):
            dispatchers.append(v)
stats = [d.stats for d in dispatchers]
print(json.dumps({"hits": sum(sum(s.cache_hits.values()) for s in stats),
                  "misses": sum(sum(s.cache_misses.values()) for s in stats)}))
"""


def _run(cache_dir, out_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", CHILD, str(out_path)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cached_load_gives_the_fresh_compiles_bits(tmp_path):
    cache = tmp_path / "numba-cache"
    fresh = _run(cache, tmp_path / "fresh.npz")
    loaded = _run(cache, tmp_path / "loaded.npz")
    # The first run compiled every parallel build, the second loaded every one (else nothing was compared).
    assert fresh["misses"] > 0 and fresh["hits"] == 0, fresh
    assert loaded["misses"] == 0 and loaded["hits"] == fresh["misses"], loaded
    a, b = np.load(tmp_path / "fresh.npz"), np.load(tmp_path / "loaded.npz")
    assert sorted(a.files) == sorted(b.files)
    differ = [k for k in a.files if a[k].dtype != b[k].dtype or a[k].tobytes() != b[k].tobytes()]
    assert not differ, f"a cached load changed the bits of {differ}" + (
        f"; {unchecked_reason()}: if the fix still applies here, add the version to CHECKED_VERSIONS"
        if unchecked_reason() else "")
