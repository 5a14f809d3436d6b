"""optim.adam_capturable (step counts and lr read on the device) against the plain optim.adam."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import optim

from .conftest import SIM, tolerances

# Slots of a flat buffer: odd sizes, an empty one, and (not in the slow simulator) one spanning CPU chunks.
SLOTS = [7, 1, 0, 13] + ([] if SIM else [2 * optim.CPU_CHUNK + 5])
CONFIGS = [
    dict(),
    dict(weight_decay=0.1),
    dict(weight_decay=0.1, decoupled_weight_decay=True),
    dict(amsgrad=True),
    dict(weight_decay=0.05, decoupled_weight_decay=True, amsgrad=True, maximize=True),
    dict(weight_decay=0.1, maximize=True),
]
HYPER = dict(beta1=0.9, beta2=0.99, eps=1e-8)


def _state(rng, n, dtype):
    p = rng.standard_normal(n).astype(dtype)
    return [p, np.zeros(n, dtype), np.zeros(n, dtype), np.zeros(n, dtype)]


def _same(backend, dtype, got, want, exact):
    for i, (a, b) in enumerate(zip(got, want)):
        if exact:
            np.testing.assert_array_equal(backend.host(a), backend.host(b), err_msg=f"buffer {i}")
        else:
            np.testing.assert_allclose(backend.host(a), backend.host(b), **tolerances(dtype), err_msg=f"buffer {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tensor_lr", [False, True], ids=["float-lr", "array-lr"])
def test_steps_match_the_plain_kernel_slot_by_slot(backend, rng, dtype, tensor_lr):
    """N capturable calls over all slots == N plain calls on each slot alone with the host step count.
    One slot starts 3 steps behind (its parameter had no gradient), so the slots' counts differ."""
    xp = backend.xp
    ends = tuple(int(e) for e in np.cumsum(SLOTS))
    n = ends[-1]
    for kw in CONFIGS:
        start = _state(rng, n, dtype)
        cap = [backend.dev(a.copy()) for a in start]
        plain = [backend.dev(a.copy()) for a in start]
        counts = np.array([3.0] + [0.0] * (len(SLOTS) - 1), np.float32)  # slot 0 is 3 steps ahead
        steps = backend.dev(counts.copy())
        lr = backend.dev(np.array([0.01], np.float32)) if tensor_lr else 0.01
        host_lr = float(np.float32(0.01)) if tensor_lr else 0.01
        for _ in range(4):
            g = backend.dev(rng.standard_normal(n).astype(dtype))
            steps += 1
            counts += 1
            optim.adam_capturable(xp, cap[0], g, *cap[1:], steps=steps, lr=lr, bounds=ends, impl=backend.impl,
                                  **HYPER, **kw)
            lo = 0
            for hi, step in zip(ends, counts):
                if hi > lo:
                    optim.adam(xp, *(a[lo:hi] for a in plain[:1] + [g] + plain[1:]), lr=host_lr, step=int(step),
                               impl=backend.impl, **HYPER, **kw)
                lo = hi
        # The simulator runs both kernels' scalar code as Python: the same bits. Compiled kernels may
        # contract multiply-adds differently in two loops (fastmath on the CPU): within the kernel tolerance.
        _same(backend, dtype, cap, plain, exact=SIM and backend.impl == "cuda")
        np.testing.assert_array_equal(backend.host(steps), counts)  # the launcher never moves the counts


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_reference_gives_the_plain_references_bits(rng, dtype):
    ends = (5, 5, 12)
    for kw in CONFIGS:
        cap = _state(rng, 12, dtype)
        plain = [a.copy() for a in cap]
        steps = np.zeros(3, np.float32)
        lr = np.array([0.003], np.float64)
        for t in range(1, 4):
            g = rng.standard_normal(12).astype(dtype)
            steps += 1
            optim.adam_capturable(np, cap[0], g, *cap[1:], steps=steps, lr=lr, bounds=ends, impl="reference",
                                  **HYPER, **kw)
            for lo, hi in ((0, 5), (5, 12)):
                optim.reference_adam(np, *(a[lo:hi] for a in plain[:1] + [g] + plain[1:]), lr=0.003, step=t,
                                     **HYPER, **kw)
        for i, (a, b) in enumerate(zip(cap, plain)):
            np.testing.assert_array_equal(a, b, err_msg=f"buffer {i} {kw}")


def test_float16_runs_the_reference():
    p, m, v, vmax = _state(np.random.default_rng(0), 9, np.float16)
    want = [a.copy() for a in (p, m, v)]
    g = np.linspace(-1, 1, 9).astype(np.float16) + np.float16(0.125)  # no zero: 0/0 in float16 (eps rounds to 0)
    optim.adam_capturable(np, p, g, m, v, None, steps=np.ones(1, np.float32), lr=0.01, **HYPER)
    optim.reference_adam(np, want[0], g, want[1], want[2], None, lr=0.01, step=1, **HYPER)
    for a, b in zip((p, m, v), want):
        np.testing.assert_array_equal(a, b)


def test_array_lr_is_read_at_every_call(backend):
    """Changing the lr array in place changes the next step (a replayed graph sees the new value)."""
    xp = backend.xp
    p = backend.dev(np.ones(5))
    g = backend.dev(np.full(5, 0.5))
    m, v = backend.dev(np.zeros(5)), backend.dev(np.zeros(5))
    lr = backend.dev(np.array([0.1]))
    steps = backend.dev(np.ones(1, np.float32))
    optim.adam_capturable(xp, p, g, m, v, None, steps=steps, lr=lr, impl=backend.impl, **HYPER)
    # Step 1 of Adam moves by lr * sign(g) (up to eps): 1 - 0.1.
    np.testing.assert_allclose(backend.host(p), 0.9, rtol=1e-6)
    lr[...] = 0.0
    steps += 1
    optim.adam_capturable(xp, p, g, m, v, None, steps=steps, lr=lr, impl=backend.impl, **HYPER)
    np.testing.assert_allclose(backend.host(p), 0.9, rtol=1e-6)


def _ptr(a):
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


def test_calls_reuse_their_device_buffers(backend, monkeypatch):
    """Two calls with different float lrs launch with the same arguments: every array (the caller's, and
    the lr copy, slot bounds and per-slot scalars the launcher keeps) at the same address, every scalar
    equal. A graph captured on the first call therefore replays the second (its lr fill aside)."""
    xp = backend.xp
    seen = []
    real_cpu, real_launch = optim._adam_capturable_cpu, optim.launch
    monkeypatch.setattr(optim, "_adam_capturable_cpu", lambda work, *a: (seen.append(a), real_cpu(work, *a)))
    monkeypatch.setattr(optim, "launch", lambda k, w, b, s, *a, **kw: (seen.append(a), real_launch(k, w, b, s, *a, **kw)))
    bufs = [backend.dev(np.ones(6, np.float32)) for _ in range(4)]
    steps = backend.dev(np.zeros(2, np.float32))
    for lr in (0.1, 0.2):
        steps += 1
        optim.adam_capturable(xp, *bufs, None, steps=steps, lr=lr, bounds=(2, 6), impl=backend.impl, **HYPER)
    assert len(seen) == (2 if backend.impl == "cpu" else 4)
    half = len(seen) // 2
    for a, b in zip(seen[:half], seen[half:]):
        for x, y in zip(a, b):
            if hasattr(x, "shape") and x.ndim:
                assert _ptr(x) == _ptr(y)
            else:
                assert x == y
    assert float(backend.host(bufs[0])[0]) < 1.0


ERRORS = [
    (dict(steps=np.ones(2, np.float32)), "one count per slot"),
    (dict(steps=np.ones(1, np.float64)), "1-D float32"),
    (dict(steps=np.ones((1, 1), np.float32)), "1-D float32"),
    (dict(bounds=(3, 2, 5)), "non-decreasing"),
    (dict(bounds=(4,)), "finishing at p.size=5"),
    (dict(lr=np.array([0.1, 0.2])), "one-element"),
    (dict(lr=np.array([1], np.int64)), "one-element float"),
    (dict(beta1=1.0), "betas"),
    (dict(eps=-1.0), "eps"),
    (dict(amsgrad=True), "max_exp_avg_sq is required"),
]


@pytest.mark.parametrize("bad,match", ERRORS, ids=[m for _, m in ERRORS])
def test_bad_input_raises_before_any_launch(no_launch, bad, match):
    p = np.ones(5, np.float32)
    before = p.copy()
    kw = dict(steps=np.ones(1, np.float32), lr=0.1, **HYPER)
    kw.update(bad)
    with pytest.raises(ValueError, match=f"optim.adam_capturable: .*{match}"):
        optim.adam_capturable(np, p, np.ones(5, np.float32), np.zeros(5, np.float32), np.zeros(5, np.float32),
                              None, impl="cpu", **kw)
    np.testing.assert_array_equal(p, before)
