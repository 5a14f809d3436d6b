"""The launcher's command line and the rank environment, the TCPStore, and the NCCL backend's pieces that
run without a GPU (all in one process: no MPI needed)."""
import os
import threading

import pytest

from gpugrad.distributed import TCPStore
from gpugrad.distributed.launch import build_command
from gpugrad.distributed.nccl import NCCLProcessGroup, StoreChannel, exchange_unique_id, nccl_or_none
from gpugrad.distributed.run import set_rank_environment


def test_hydra_command(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice: passed through, not overridden
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


def test_ranks_sharing_a_machine_get_one_thread_each(monkeypatch, tmp_path):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def threads(nproc, **where):
        cmd, env = build_command(nproc, ["s.py"], mpiexec="m", flavor="hydra", **where)
        if "OMP_NUM_THREADS" in env:
            i = cmd.index("OMP_NUM_THREADS")
            assert cmd[i - 1 : i + 2] == ["-genv", "OMP_NUM_THREADS", env["OMP_NUM_THREADS"]]
        return env.get("OMP_NUM_THREADS")

    assert threads(1) is None
    assert threads(2) == "1"
    assert threads(2, hosts="a,b") is None and threads(2, hosts="a:2,b:2") is None  # a rank per machine
    assert threads(3, hosts="a:2,b:2") == "1" and threads(2, hosts="a:1,a:1") == "1"
    hostfile = tmp_path / "hosts"
    hostfile.write_text("# two machines\nnode1:4\n\nnode2:4\n")
    assert threads(2, hostfile=str(hostfile)) is None and threads(8, hostfile=str(hostfile)) == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads(2) is None


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

    from gpugrad.distributed import process_group

    for k in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    if not dist.is_nccl_available():
        with pytest.raises(RuntimeError, match="CuPy with NCCL is not installed"):
            dist.init_process_group("nccl", rank=0, world_size=1)
        monkeypatch.setattr(process_group, "is_nccl_available", lambda: True)
    with pytest.raises(ValueError, match="rank and world_size are unknown"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_init_rejects_unknown_backend():
    import gpugrad.distributed as dist

    with pytest.raises(ValueError, match="backend must be 'mpi', 'gloo' or 'nccl'"):
        dist.init_process_group("ucc")
    assert not dist.is_initialized()
    assert os.environ.get("GPUGRAD_LAUNCH_DIR") is None


def test_gloo_is_served_by_mpi(monkeypatch):
    import gpugrad as gg
    import gpugrad.distributed as dist

    if not dist.is_mpi_available():
        pytest.skip("needs mpi4py")
    for k in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ValueError, match="serves backend 'gloo' with MPI, so start the ranks with mpiexec"):
        dist.init_process_group("gloo", rank=0, world_size=2)  # a torchrun-style job without mpiexec
    assert not dist.is_initialized()
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        assert dist.get_backend() == "gloo" and dist.get_world_size() == 1
        t = gg.ones(3)
        dist.all_reduce(t)
        assert t.tolist() == [1.0, 1.0, 1.0]
    finally:
        dist.destroy_process_group()


class _FakeCupy:
    """Just enough of CuPy for NCCLProcessGroup on host arrays: streams and events that are always done."""

    class cuda:
        class Event:
            def __init__(self, disable_timing=False):
                self.done = True

            def record(self, stream=None):
                pass

        class Stream:
            ptr = 0

            def __init__(self, non_blocking=False):
                pass

            def wait_event(self, event):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        class Device:
            used = None

            def __init__(self, index):
                self.index = index

            def use(self):
                _FakeCupy.cuda.Device.used = self.index

        @staticmethod
        def get_current_stream():
            return _FakeCupy.cuda.Stream()

    float32 = "float32"

    @staticmethod
    def zeros(n, dtype):
        import numpy as np

        return _Arr(np.zeros(n, dtype=dtype))


import numpy as _np  # noqa: E402


class _Arr(_np.ndarray):
    """A host array that shows its address as CuPy's ``a.data.ptr``."""

    def __new__(cls, a):
        return _np.ascontiguousarray(a).view(cls)

    @property
    def data(self):
        class _Mem:
            ptr = self.__array_interface__["data"][0]
        return _Mem()


class _FakeNccl:
    """cupy.cuda.nccl for a world of one rank, moving bytes by address (the real signatures)."""

    NCCL_FLOAT32, NCCL_FLOAT64, NCCL_INT64 = 7, 8, 5
    NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
    calls = []

    @staticmethod
    def get_unique_id():
        return tuple(range(128))

    @staticmethod
    def groupStart():
        _FakeNccl.calls.append("groupStart")

    @staticmethod
    def groupEnd():
        _FakeNccl.calls.append("groupEnd")

    class NcclCommunicator:
        def __init__(self, ndev, commId, rank):
            assert (ndev, rank, len(commId)) == (1, 0, 128)
            self.pending = []

        def _move(self, dst, src, count, dtype):
            import ctypes

            if dst != src:
                ctypes.memmove(dst, src, count * {7: 4, 8: 8, 5: 8}[dtype])

        def allReduce(self, send, recv, count, dtype, op, stream):
            _FakeNccl.calls.append("allReduce")
            self._move(recv, send, count, dtype)

        def reduce(self, send, recv, count, dtype, op, root, stream):
            _FakeNccl.calls.append("reduce")
            self._move(recv, send, count, dtype)

        def broadcast(self, send, recv, count, dtype, root, stream):
            _FakeNccl.calls.append("broadcast")
            self._move(recv, send, count, dtype)

        def allGather(self, send, recv, count, dtype, stream):
            _FakeNccl.calls.append("allGather")
            self._move(recv, send, count, dtype)

        def reduceScatter(self, send, recv, recvcount, dtype, op, stream):
            _FakeNccl.calls.append("reduceScatter")
            self._move(recv, send, recvcount, dtype)

        def send(self, buf, count, dtype, peer, stream):
            self.pending.append((buf, count, dtype))

        def recv(self, buf, count, dtype, peer, stream):
            self.recv_at = (buf, count, dtype)

        def abort(self):
            pass

        def destroy(self):
            pass


def test_nccl_group_plumbing_with_stand_ins():
    """Every NCCL collective runs through to CuPy's NCCL calls with the right buffers and counts (a world
    of one rank on host memory: what can be checked without a GPU)."""
    import numpy as np

    from gpugrad.distributed.work import ReduceOp

    class Chan:
        def broadcast_object(self, obj, root):
            return obj

    pg = NCCLProcessGroup(0, 1, [0], 10.0, Chan(), nccl=_FakeNccl, cupy=_FakeCupy, device=0)
    assert _FakeCupy.cuda.Device.used == 0
    a = _Arr(np.arange(6, dtype=np.float32))
    pg.allreduce(a, ReduceOp.AVG).wait()
    np.testing.assert_array_equal(a, np.arange(6))  # AVG over one rank: divided by 1
    out = _Arr(np.zeros(6, dtype=np.float32))
    pg.allgather(a, out).wait()
    np.testing.assert_array_equal(out, a)
    small = _Arr(np.zeros(6, dtype=np.float32))
    pg.reduce_scatter(a, small, ReduceOp.SUM).wait()
    np.testing.assert_array_equal(small, a)
    pg.broadcast(a, 0).wait()
    pg.reduce(a, 0, ReduceOp.MAX).wait()
    pg.gather(a, out, 0).wait()
    pg.scatter(out, small, 0).wait()
    pg.barrier().wait()
    assert [c for c in _FakeNccl.calls if c != "groupStart" and c != "groupEnd"][:4] == [
        "allReduce", "allGather", "reduceScatter", "broadcast"]
    assert _FakeNccl.calls.count("groupStart") == 2
    with pytest.raises(Exception, match="not supported by NCCL"):
        pg.allreduce(_Arr(np.zeros(2, dtype=np.int16)), ReduceOp.SUM)
    with pytest.raises(Exception, match="contiguous"):
        pg.allreduce(_Arr(np.zeros((2, 2), dtype=np.float32)).T, ReduceOp.SUM)
    for op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):  # NCCL has no bitwise reductions
        with pytest.raises(ValueError, match=f"cannot use ReduceOp.{op.name} with NCCL"):
            pg.allreduce(_Arr(np.zeros(2, dtype=np.int64)), op)


def test_queries_before_init_raise_pytorchs_value_error():
    import gpugrad.distributed as dist

    for call in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
