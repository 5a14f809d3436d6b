"""gg.multiprocessing: shared tensors seen and written by other processes (Hogwild's pattern), tensors
crossing by value otherwise, spawn's error reporting, and the shared files' clean-up."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.multiprocessing as mp
from gpugrad import nn


def _add_one(index, t, done):
    t.add_(1.0)  # in place: lands in the parent's memory when t is shared
    done.put(float(t.sum().item()))


def _hogwild_worker(index, model):
    optimizer = gg.optim.SGD(model.parameters(), lr=0.5)
    model(gg.ones(1, 2)).sum().backward()
    optimizer.step()


def _raises(index):
    raise ValueError(f"worker {index} fails")


def _exits(index):
    os._exit(3)


def test_shared_tensors_in_one_process():
    t = gg.arange(6.0).reshape(2, 3)
    assert not t.is_shared() and t.share_memory_() is t and t.is_shared()
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert t[1].is_shared() and not (t + 1).is_shared()  # views share; results are new memory
    base = gg.arange(4.0)
    view = base[1:]
    view.share_memory_()
    assert view.is_shared() and base.is_shared() and view.tolist() == [1.0, 2.0, 3.0]
    view.add_(10.0)
    assert base.tolist() == [0.0, 11.0, 12.0, 13.0]  # the view moved with the tensor it views
    layer = nn.Linear(2, 2)
    assert layer.share_memory() is layer and all(p.is_shared() for p in layer.parameters())
    with pytest.raises(RuntimeError, match="Cowardly"):
        mp.reductions.reduce_tensor(gg.ones(2, requires_grad=True) * 2)


def test_spawned_processes_write_shared_tensors_and_read_copies():
    ctx = mp.get_context("spawn")
    shared, copied = gg.zeros(3).share_memory_(), gg.zeros(3)
    done = ctx.SimpleQueue()
    mp.spawn(_add_one, args=(shared, done), nprocs=2)
    mp.spawn(_add_one, args=(copied, done), nprocs=1)
    assert shared.tolist() == [2.0, 2.0, 2.0]  # both processes wrote the parent's memory
    assert copied.tolist() == [0.0, 0.0, 0.0]  # a tensor not in shared memory crossed by value
    assert sorted(done.get() for _ in range(3))[-1] in (3.0, 6.0)

    gg.manual_seed(0)
    model = nn.Linear(2, 1).share_memory()
    before = model.weight.detach().numpy().copy()
    process = ctx.Process(target=_hogwild_worker, args=(0, model))
    process.start()
    process.join()
    assert process.exitcode == 0
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.5)  # the child's SGD step, here


def test_spawn_reports_failures():
    with pytest.raises(mp.ProcessRaisedException, match="worker 0 fails"):
        mp.spawn(_raises, nprocs=1)
    with pytest.raises(mp.ProcessExitedException, match="exit code 3") as info:
        mp.spawn(_exits, nprocs=1, start_method="fork")
    assert info.value.exit_code == 3
    assert mp.get_sharing_strategy() == "file_system"
    with pytest.raises(ValueError, match="file_system"):
        mp.set_sharing_strategy("file_descriptor")


def test_the_shared_files_go_when_their_process_exits(tmp_path):
    code = ("import gpugrad as gg; from gpugrad.multiprocessing import shared; "
            "t = gg.ones(3).share_memory_(); print(shared.location(t._array)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    path = out.stdout.strip().splitlines()[-1]
    assert os.path.basename(path).startswith("gpugrad-shm-") and not os.path.exists(path)
