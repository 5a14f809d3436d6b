"""Point-to-point and the other collectives added after the first set: over 2 ranks under mpiexec (the
checks live in _p2p.py); argument errors in one process against a stand-in group that fails if reached;
the NCCL backend's new calls against a stand-in for CuPy's NCCL (no GPU here)."""
import numpy as np
import pytest

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.distributed import process_group
from gpugrad.distributed.nccl import NCCLProcessGroup

from ._common import run_ranks
from .test_launch import _Arr, _FakeCupy, _FakeNccl


def test_p2p_and_more_collectives_over_two_ranks():
    out = run_ranks("_p2p.py", timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: p2p OK" in out.stdout and "rank 1: p2p OK" in out.stdout, out.stdout + out.stderr


class _Unreached:
    """A world of 2 ranks (this is rank 0) whose backend must never be reached: every check comes first."""

    backend, rank, size, ranks, timeout, max_tag = "mpi", 0, 2, [0, 1], 5.0, 1000

    def __getattr__(self, name):
        raise AssertionError(f"the backend was reached ({name}) before the arguments were refused")


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(process_group, "_world", _Unreached())


@pytest.mark.parametrize("call,kind,text", [
    (lambda: dist.send(gg.ones(2), dst=0), ValueError, "send: Invalid destination rank: destination rank 0 is the rank of the current"),
    (lambda: dist.send(gg.ones(2)), ValueError, "send: dst (a global rank) or group_dst"),
    (lambda: dist.send(gg.ones(2), dst=1, group_dst=1), ValueError, "send: pass dst (a global rank) or group_dst"),
    (lambda: dist.send(gg.ones(2), dst=5), ValueError, "send: dst=5 is not a rank of the group"),
    (lambda: dist.isend(gg.ones(2), group_dst=2), ValueError, "isend: group_dst=2 is not a rank of the group (0..1)"),
    (lambda: dist.isend([1.0], dst=1), TypeError, "isend: tensor must be a Tensor"),
    (lambda: dist.isend(gg.ones(2), dst=1, tag=-1), ValueError, "isend: tag must be in 0..1000"),
    (lambda: dist.irecv(gg.ones(2), src=1, tag=5000), ValueError, "irecv: tag must be in 0..1000"),
    (lambda: dist.recv(gg.ones(2), src=0), ValueError, "recv: Invalid source rank"),
    (lambda: dist.P2POp(dist.send, gg.ones(2), 1), ValueError, "P2POp: op must be gpugrad.distributed.isend"),
    (lambda: dist.P2POp(dist.irecv, gg.ones(2)), ValueError, "P2POp: peer (a global rank) or group_peer"),
    (lambda: dist.batch_isend_irecv([]), ValueError, "batch_isend_irecv: p2p_op_list must be a non-empty list of P2POp"),
    (lambda: dist.batch_isend_irecv([dist.P2POp(dist.isend, gg.ones(1), 1), dist.P2POp(dist.irecv, gg.ones(1), 1, tag=-3)]),
     ValueError, "p2p_op_list[1]: tag must be in"),
    (lambda: dist.send_object_list([1], dst=0), ValueError, "send_object_list: Invalid destination rank"),
    (lambda: dist.recv_object_list((1,), src=1), TypeError, "recv_object_list: object_list must be a list"),
    (lambda: dist.all_to_all_single(gg.zeros(4), gg.zeros(3)), ValueError, "all_to_all_single: input's dim 0 (3) does not divide"),
    (lambda: dist.all_to_all_single(gg.zeros(4), gg.zeros(4), input_split_sizes=[1, 2]), ValueError,
     "input_split_sizes must be 2 non-negative integers (one per rank of the group) summing to input's dim 0 (4), got [1, 2]"),
    (lambda: dist.all_to_all_single(gg.zeros(4), gg.zeros(4), [1, 1, 2]), ValueError, "output_split_sizes must be 2"),
    (lambda: dist.all_to_all_single(gg.zeros(4, 2), gg.zeros(4, 3)), ValueError, "a row of output (shape (2,))"),
    (lambda: dist.all_to_all_single(gg.zeros(4), gg.zeros(4, dtype=gg.int64)), TypeError, "all_to_all_single: input has dtype int64 but output has float32"),
    (lambda: dist.all_to_all_single(gg.zeros(()), gg.zeros(())), ValueError, "need a dim 0"),
    (lambda: dist.all_to_all([gg.zeros(1)], [gg.zeros(1), gg.zeros(1)]), ValueError, "all_to_all: output_tensor_list must hold 2 tensors"),
    (lambda: dist.all_to_all([gg.zeros(1)] * 2, [gg.zeros(1), gg.zeros(1, dtype=gg.float64)]), TypeError, "input_tensor_list[1] has dtype float64"),
    (lambda: dist.all_to_all(gg.zeros(2), [gg.zeros(1)] * 2), TypeError, "all_to_all: output_tensor_list must be a list of Tensors"),
    (lambda: dist.reduce_scatter(gg.zeros(2), [gg.zeros(2)]), ValueError, "reduce_scatter: input_list must hold 2 tensors"),
    (lambda: dist.reduce_scatter(gg.zeros(2), [gg.zeros(2), gg.zeros(3)]), ValueError, "reduce_scatter: input_list[1] has shape (3,), expected (2,)"),
    (lambda: dist.reduce_scatter(gg.zeros(2, dtype=gg.int64), [gg.zeros(2, dtype=gg.int64)] * 2, op=dist.ReduceOp.AVG),
     TypeError, "reduce_scatter: ReduceOp.AVG needs a floating-point tensor"),
    (lambda: dist.all_reduce_coalesced([gg.zeros(2), gg.zeros(2, dtype=gg.int64)]), TypeError, "all_reduce_coalesced: tensors[1] has dtype int64"),
    (lambda: dist.all_reduce_coalesced([]), ValueError, "at least one tensor"),
    (lambda: dist.all_gather_coalesced([[gg.zeros(2)]], [gg.zeros(2)]), ValueError, "output_tensor_lists must hold 2 lists"),
    (lambda: dist.all_gather_coalesced([[gg.zeros(2)], [gg.zeros(3)]], [gg.zeros(2)]), ValueError,
     "output_tensor_lists[1][0] has shape (3,), expected (2,)"),
    (lambda: dist.gather_object(1, None), ValueError, "gather_object: rank 0 (dst) must pass object_gather_list, a list of 2"),
    (lambda: dist.gather_object(1, [None, None], dst=1), ValueError, "object_gather_list must be given on the dst rank (1) only"),
    (lambda: dist.scatter_object_list([], [1, 2]), ValueError, "scatter_object_output_list must be a list of size at least 1"),
    (lambda: dist.scatter_object_list([None], [1]), ValueError, "rank 0 (src) must pass scatter_object_input_list, a list of 2"),
    (lambda: dist.broadcast(gg.zeros(2), src=0, group_src=0), ValueError, "broadcast: pass src (a global rank) or group_src"),
    (lambda: dist.monitored_barrier(timeout=0), ValueError, "monitored_barrier: timeout must be positive"),
    (lambda: dist.monitored_barrier(timeout="1s"), TypeError, "monitored_barrier: timeout must be a datetime.timedelta"),
])
def test_argument_errors_name_the_call_before_any_communication(world, call, kind, text):
    with pytest.raises(kind) as info:
        call()
    assert text in str(info.value)


def test_get_process_group_ranks(world):
    assert dist.get_process_group_ranks(None) == [0, 1]
    with pytest.raises(ValueError, match="not a member"):
        dist.get_process_group_ranks(dist.GroupMember.NON_GROUP_MEMBER)


def test_recv_object_list_keeps_the_list_on_a_length_mismatch(monkeypatch):
    class World(_Unreached):
        def recv_object(self, src):
            return ["a", "b"], 1
    monkeypatch.setattr(process_group, "_world", World())
    objs = [0, 0, 0]
    with pytest.raises(ValueError, match="rank 1 sent 2 objects but object_list has 3 slots"):
        dist.recv_object_list(objs)
    assert objs == [0, 0, 0]


class _Host(_Arr):
    def get(self):
        return np.asarray(self)


class _P2PCupy(_FakeCupy):
    int64, uint8 = np.int64, np.uint8

    @staticmethod
    def zeros(n, dtype):
        return _Host(np.zeros(n, dtype=dtype))

    @staticmethod
    def empty(n, dtype):
        return _Host(np.empty(n, dtype=dtype))

    @staticmethod
    def asarray(a):
        return _Host(a)


class _P2PNccl(_FakeNccl):
    """A world of one rank whose sends wait, in order, for the receives they match (bytes moved by address)."""

    NCCL_UINT8 = 1
    sizes = {7: 4, 8: 8, 5: 8, 1: 1}
    calls = []  # its own: test_launch.py counts _FakeNccl's

    @staticmethod
    def groupStart():
        _P2PNccl.calls.append("groupStart")

    @staticmethod
    def groupEnd():
        _P2PNccl.calls.append("groupEnd")

    class NcclCommunicator(_FakeNccl.NcclCommunicator):
        def send(self, buf, count, dtype, peer, stream):
            import ctypes

            assert peer == 0
            self.pending.append((ctypes.string_at(buf, count * _P2PNccl.sizes[dtype]), count, dtype))

        def recv(self, buf, count, dtype, peer, stream):
            import ctypes

            data, n, t = self.pending.pop(0)
            assert (n, t) == (count, dtype), ((n, t), (count, dtype))
            ctypes.memmove(buf, data, len(data))


def test_nccl_new_calls_with_stand_ins(monkeypatch):
    """Sends, receives, the batch, all_to_all's pattern, objects and the NCCL-only refusals, in a world of
    one rank on host memory (what can be checked without a GPU)."""
    monkeypatch.setattr(_FakeNccl, "calls", [])  # the inherited calls record there: keep test_launch's count clean
    class Chan:
        def broadcast_object(self, obj, root):
            return obj

        def allgather_object(self, obj):
            return [obj]

    pg = NCCLProcessGroup(0, 1, [0], 10.0, Chan(), nccl=_P2PNccl, cupy=_P2PCupy)
    a, b = _Host(np.arange(6, dtype=np.float32)), _Host(np.zeros(6, dtype=np.float32))
    pg.send(a, 0, 0).wait()
    w = pg.recv(b, 0, 0)
    w.wait()
    assert w._source_rank() == 0
    np.testing.assert_array_equal(b, a)
    c = _Host(np.zeros(6, dtype=np.float32))
    works = pg.batch_p2p([("send", a * 2, 0, 0), ("recv", c, 0, 0)])
    assert len(works) == 1
    works[0].wait()
    np.testing.assert_array_equal(c, a * 2)
    d = _Host(np.zeros(6, dtype=np.float32))
    pg.alltoallv(a, [6], [0], d, [6], [0]).wait()
    np.testing.assert_array_equal(d, a)
    assert _P2PNccl.calls[-4:] == ["groupStart", "groupEnd"] * 2  # the batch, and all_to_all's pattern
    pg.send_object({"x": [1, 2]}, 0)
    assert pg.recv_object(0) == ({"x": [1, 2]}, 0)
    assert pg.gather_object("me", 0) == ["me"] and pg.scatter_object(["only"], 0) == "only"
    pg.monitored_barrier(1.0, False)
    with pytest.raises(NotImplementedError, match=r"irecv \(nccl\): receiving from any source"):
        pg.recv(b, None, 0, "irecv")
    with pytest.raises(NotImplementedError, match=r"recv_object_list \(nccl\)"):
        pg.recv_object(None)
