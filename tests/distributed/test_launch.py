"""The launcher's command line and the rank environment, the TCPStore, and the NCCL backend's pieces that
run without a GPU (all in one process: no MPI needed)."""
import os
import threading

import pytest

from gpugrad.distributed import TCPStore
from gpugrad.distributed.launch import build_command
from gpugrad.distributed.nccl import NCCLProcessGroup, StoreChannel, exchange_unique_id, nccl_or_none
from gpugrad.distributed.run import set_rank_environment


def test_hydra_command():
    cmd, env = build_command(4, ["train.py", "--lr", "0.1"], hosts="a:2,b:2", master_port=1234,
                             mpiexec="/x/mpiexec", flavor="hydra")
    assert cmd[:5] == ["/x/mpiexec", "-n", "4", "-hosts", "a:2,b:2"]
    assert cmd[cmd.index("-m") + 1 :] == ["gpugrad.distributed.run", "train.py", "--lr", "0.1"]
    assert env == {"MASTER_ADDR": "a", "MASTER_PORT": "1234"}
    assert ["-genv", "MASTER_ADDR", "a"] == cmd[cmd.index("-genv") : cmd.index("-genv") + 3]


def test_openmpi_command_allows_root():
    cmd, _ = build_command(2, ["-m", "x"][1:], hostfile="hosts.txt", mpiexec="mpirun", flavor="openmpi", module=True)
    assert "--allow-run-as-root" in cmd and "--oversubscribe" in cmd
    assert cmd[cmd.index("--hostfile") + 1] == "hosts.txt"
    assert cmd[-3:] == ["gpugrad.distributed.run", "-m", "x"]


def test_bad_launch_arguments():
    with pytest.raises(ValueError, match="--nproc must be a positive integer"):
        build_command(0, ["s.py"], mpiexec="m", flavor="hydra")
    with pytest.raises(ValueError, match="name the script"):
        build_command(2, [], mpiexec="m", flavor="hydra")


def test_rank_environment_from_the_mpi_launcher():
    env = {"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}
    set_rank_environment(env)
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["LOCAL_WORLD_SIZE"]) == ("3", "4", "1", "2")
    env = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "RANK": "1"}
    set_rank_environment(env)
    assert env["WORLD_SIZE"] == "2" and env["LOCAL_RANK"] == "1"


def test_tcp_store_and_unique_id_exchange_between_threads():
    master = TCPStore("127.0.0.1", 0, 3, is_master=True, timeout=10)
    clients = [TCPStore("127.0.0.1", master.port, 3, timeout=10) for _ in range(2)]
    stores = [master] + clients
    got = [None] * 3

    def rank(r):
        chan = StoreChannel(stores[r], r, 3)
        got[r] = (exchange_unique_id(r, lambda: ("uid", 7), chan), chan.allgather_object(r * r))

    threads = [threading.Thread(target=rank, args=(r,)) for r in (2, 1, 0)]  # rank 0 last: the others wait
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert got == [(("uid", 7), [0, 1, 4])] * 3
    assert master.add("n", 2) == 2 and clients[0].add("n", 3) == 5
    for s in stores:
        s.close()


def test_store_timeouts():
    master = TCPStore("127.0.0.1", 0, 1, is_master=True, timeout=0.5)
    with pytest.raises(TimeoutError, match="'never' was not set"):
        master.get("never")
    master.close()
    with pytest.raises(TimeoutError, match="no store at"):
        TCPStore("127.0.0.1", master.port, timeout=0.3)


def test_nccl_group_without_nccl_says_how_to_install():
    if nccl_or_none() is not None:
        pytest.skip("NCCL is installed here")
    with pytest.raises(RuntimeError, match="CuPy with NCCL is not installed"):
        NCCLProcessGroup(0, 1, [0], 10.0, channel=None)


def test_init_nccl_needs_rank_and_size(monkeypatch):
    import gpugrad.distributed as dist

    for k in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ValueError, match="rank and world_size are unknown"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_init_rejects_unknown_backend():
    import gpugrad.distributed as dist

    with pytest.raises(ValueError, match="backend must be 'mpi' or 'nccl'"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()
    assert os.environ.get("GPUGRAD_LAUNCH_DIR") is None
