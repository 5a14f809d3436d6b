"""torch.distributed's names that code reads without starting a process group (Lightning at import and
when it picks a cluster environment): ReduceOp.RedOpType, constants, is_torchelastic_launched."""
import datetime

import pytest

import gpugrad as gg
import gpugrad.distributed as dist


def test_reduce_ops_are_instances_of_red_op_type():
    assert all(isinstance(op, dist.ReduceOp.RedOpType) for op in dist.ReduceOp)
    assert dist.ReduceOp.RedOpType.SUM is dist.ReduceOp.SUM
    assert "RedOpType" not in dist.ReduceOp.__members__


def test_default_timeouts_are_timedeltas():
    from gpugrad.distributed.constants import (
        default_pg_nccl_timeout,
        default_pg_timeout,
    )

    assert default_pg_timeout == datetime.timedelta(minutes=30) == dist.default_pg_timeout
    assert isinstance(default_pg_nccl_timeout, datetime.timedelta)


def test_torchelastic_launch_is_read_from_its_run_id(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert dist.is_torchelastic_launched() is False
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert dist.is_torchelastic_launched() is True


@pytest.mark.torch
def test_pytorch_has_the_same_names(monkeypatch):
    torch = pytest.importorskip("torch")
    import torch.distributed.constants as tc

    assert isinstance(torch.distributed.ReduceOp.SUM, torch.distributed.ReduceOp.RedOpType)
    assert tc.default_pg_timeout == gg.distributed.constants.default_pg_timeout
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert torch.distributed.is_torchelastic_launched() is dist.is_torchelastic_launched() is True


def test_default_backend_per_device_type():
    assert dist.Backend.default_device_backend_map == {"cpu": "gloo", "cuda": "nccl"}
    assert dist.Backend.GLOO == "gloo"


@pytest.mark.torch
def test_pytorch_maps_the_same_device_types():
    torch = pytest.importorskip("torch")
    theirs = torch.distributed.Backend.default_device_backend_map
    for device, backend in dist.Backend.default_device_backend_map.items():
        assert theirs[device] == backend


def test_gloo_is_reported_absent_while_mpi_answers_for_it():
    # Code that asks for Gloo itself (ignite picks its backends this way) must not be told it is here;
    # the "gloo" name is still accepted by init_process_group and served by MPI (tests/distributed/test_launch.py).
    assert dist.is_gloo_available() is False
    assert dist.is_available() is (dist.is_mpi_available() or dist.is_nccl_available())


@pytest.mark.torch
def test_pytorch_answers_availability_with_booleans():
    torch = pytest.importorskip("torch")
    for name in ("is_available", "is_gloo_available", "is_mpi_available", "is_nccl_available"):
        assert isinstance(getattr(torch.distributed, name)(), bool)
        assert isinstance(getattr(dist, name)(), bool)


def test_rpc_is_the_module_of_a_build_without_rpc():
    # Libraries import torch.distributed.rpc unconditionally and look for its API before using it.
    from gpugrad.distributed import rpc

    assert rpc.is_available() is False
    assert not hasattr(rpc, "api") and not hasattr(rpc, "init_rpc")
