"""Determinism on the CPU: gg.manual_seed(s) then the same training gives bit-identical losses and
parameters, in one process and across processes (with different hash seeds); DataLoader order follows the seed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import gpugrad as gg
from gpugrad.data import DataLoader, TensorDataset
from gpugrad.train import TrainConfig
from gpugrad.train import run as train_run

from . import determinism_job

ROOT = Path(__file__).resolve().parents[2]


def test_same_seed_same_bits_in_one_process():
    a = determinism_job.run(3)
    b = determinism_job.run(3)
    assert a == b
    c = determinism_job.run(4)
    assert c["losses"] != a["losses"] and c["params"] != a["params"]


def test_same_seed_same_bits_across_processes():
    here = determinism_job.run(5)
    outs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        proc = subprocess.run([sys.executable, "-m", "tests.reliability.determinism_job", "5"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1] == here


def test_training_job_is_reproducible():
    cfg = {"model": "mlp", "dataset": "spirals", "epochs": 2, "batch_size": 64, "seed": 11, "progress": False, "device": "cpu"}
    a, b = train_run(TrainConfig(**cfg)), train_run(TrainConfig(**cfg))
    bits = lambda h: [np.float64(v).view(np.uint64) for v in h["loss"]]
    assert bits(a["history"]) == bits(b["history"]) and a["history"] == b["history"]
    for (n, p), (_, q) in zip(a["model"].state_dict().items(), b["model"].state_dict().items()):
        assert p.numpy().tobytes() == q.numpy().tobytes(), n
    c = train_run(TrainConfig(**dict(cfg, seed=12)))
    assert c["history"]["loss"] != a["history"]["loss"]


def _order(loader):
    return np.concatenate([xb.numpy() for (xb,) in loader]).tolist()


def test_loader_shuffling_follows_the_default_seed():
    ds = TensorDataset(gg.arange(50))
    gg.manual_seed(7)
    first = [_order(DataLoader(ds, batch_size=8, shuffle=True)) for _ in range(3)]
    gg.manual_seed(7)
    again = [_order(DataLoader(ds, batch_size=8, shuffle=True)) for _ in range(3)]
    assert first == again
    assert len({tuple(o) for o in first}) == 3  # each epoch draws a new order
    assert all(sorted(o) == list(range(50)) for o in first)
    gg.manual_seed(8)
    assert _order(DataLoader(ds, batch_size=8, shuffle=True)) != first[0]


def test_loader_with_its_own_generator_ignores_the_default_one():
    ds = TensorDataset(gg.arange(50))
    orders = []
    for default_seed in (1, 2):
        gg.manual_seed(default_seed)
        loader = DataLoader(ds, batch_size=8, shuffle=True, generator=gg.Generator(seed=99))
        orders.append([_order(loader) for _ in range(2)])
    assert orders[0] == orders[1] and orders[0][0] != orders[0][1]
    assert orders[0][0] != _order(DataLoader(ds, batch_size=8, shuffle=True, generator=gg.Generator(seed=100)))


def test_rng_state_round_trip_replays_the_same_draws():
    gg.manual_seed(0)
    gg.randn(3)
    state = gg.get_rng_state()
    a = (gg.randn(4).numpy(), gg.rand(2).numpy(), gg.randperm(6).numpy())
    gg.set_rng_state(state)
    b = (gg.randn(4).numpy(), gg.rand(2).numpy(), gg.randperm(6).numpy())
    gg.set_rng_state(state)
    gg.random.default_generator._set_json_state(json.loads(json.dumps(gg.random.default_generator._json_state())))
    c = (gg.randn(4).numpy(), gg.rand(2).numpy(), gg.randperm(6).numpy())  # through the JSON form too
    for x, y, z in zip(a, b, c):
        assert x.tobytes() == y.tobytes() == z.tobytes()
