"""``torch.distributed`` for gpugrad: process groups and collectives over MPI (mpi4py) and NCCL (CuPy).

    import gpugrad.distributed as dist
    dist.init_process_group("mpi")            # under `gpugrad launch --nproc 2 script.py` or mpiexec
    t = gg.ones(4) * dist.get_rank()
    dist.all_reduce(t)                        # in place, summed over the ranks
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    ...                                       # overlap other work
    work.wait()

Files, one job each: process_group.py (init/destroy/new_group and queries), collectives.py (the collectives on
Tensors and objects), p2p.py (send/recv, isend/irecv, batch_isend_irecv, send/recv_object_list), work.py (ReduceOp, Work), mpi.py and nccl.py (the backends), store.py (TCPStore for NCCL's
rendezvous), launch.py and run.py (``gpugrad launch``).
"""
from .collectives import (
    all_gather,
    all_gather_coalesced,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_reduce_coalesced,
    all_to_all,
    all_to_all_single,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    gather_object,
    monitored_barrier,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
)
from .p2p import P2POp, batch_isend_irecv, irecv, isend, recv, recv_object_list, send, send_object_list
from .process_group import (
    Backend,
    GroupMember,
    default_pg_timeout,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
)
from .store import TCPStore
from .work import DistBackendError, ProcessGroup, ReduceOp, Work

__all__ = [
    "Backend", "DistBackendError", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "TCPStore", "Work", "all_gather",
    "all_gather_coalesced", "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_reduce_coalesced",
    "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "default_pg_timeout", "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank",
    "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group",
    "irecv", "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available", "is_torchelastic_launched",
    "isend",
    "monitored_barrier", "new_group", "recv", "recv_object_list", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "scatter_object_list", "send", "send_object_list",
]
from . import nn  # noqa: E402  (torch.distributed.nn: the differentiable collectives)
from . import _functional_collectives, constants, device_mesh, fsdp, optim, tensor  # noqa: E402,F401  (names libraries import; what they hold says what is absent)
