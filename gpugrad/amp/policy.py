"""What an op does with its floating-point tensors inside an enabled autocast region, as PyTorch's op lists.

Three policies, each a decorator on the op's function:

- ``lower_precision`` (matmul, linear, convolutions, attention): float32 tensors are cast to the
  region's dtype (bfloat16 or float16), where the speed is;
- ``float32`` (losses, and on CUDA softmax, log_softmax and the norms): bfloat16 and float16 tensors
  are cast to float32, where the range and precision are;
- ``promote`` (cat, stack): all to the widest floating dtype among them.

float64 tensors are never cast, as in PyTorch. PyTorch's CPU and CUDA lists differ: the decorator takes
the op's policy on each device type, and on a device whose list does not hold it the op runs in its
inputs' dtypes. Either way it runs its body with autocast suspended on its thread, so that the ops it
calls keep the dtypes it chose (PyTorch excludes its autocast key inside an op the same way: ``mv``
stays float32 on the CPU though gpugrad's calls matmul). Outside every region the decorator costs one
global read.
"""
from __future__ import annotations

import contextlib
import functools
import threading

from .. import dtypes

LOWER_PRECISION, FLOAT32, PROMOTE = "lower_precision", "float32", "promote"
BOTH = ("cpu", "cuda")

_local = threading.local()  # .regions: {device type: [(enabled, dtype), ...]}; .suspended: inside an op
open_regions = [0]  # enabled regions open on any thread: the decorators' one check
_open_lock = threading.Lock()


def count_region(change: int) -> None:
    """An enabled region opens (+1) or closes (-1) on some thread."""
    with _open_lock:
        open_regions[0] += change


@contextlib.contextmanager
def suspended():
    """Run a block with autocast off on this thread, as inside an op (its ops keep their inputs' dtypes)."""
    outer = getattr(_local, "suspended", False)
    _local.suspended = True
    try:
        yield
    finally:
        _local.suspended = outer


def regions(device_type: str) -> list:
    stacks = getattr(_local, "regions", None)
    if stacks is None:
        stacks = _local.regions = {d: [] for d in BOTH}
    return stacks[device_type]


def autocast_policy(both: str | None = None, *, cpu: str | None = None, cuda: str | None = None):
    """Decorate an op's function with its autocast policy: ``both`` on the CPU and CUDA, or one per
    device type (None: not on that device's list)."""
    policies = {"cpu": cpu or both, "cuda": cuda or both}

    def decorate(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if not open_regions[0]:
                return fn(*args, **kwargs)
            return _run(fn, policies, args, kwargs)

        return op

    return decorate


def _run(fn, policies: dict, args: tuple, kwargs: dict):
    from ..tensor import Tensor

    tensors = list(_tensors(args, kwargs, Tensor))
    device_type = tensors[0]._backend.device.type if tensors else "cpu"
    stack = regions(device_type) if device_type in BOTH else ()
    if getattr(_local, "suspended", False) or not stack or not stack[-1][0]:
        return fn(*args, **kwargs)
    policy = policies[device_type]
    target = None if policy is None else _target(policy, stack[-1][1], tensors)
    if target is not None:
        cast = functools.partial(_cast, target=target)
        args = tuple(_map(cast, a, Tensor) for a in args)
        kwargs = {k: _map(cast, v, Tensor) for k, v in kwargs.items()}
    _local.suspended = True
    try:
        return fn(*args, **kwargs)
    finally:
        _local.suspended = False


def _tensors(args, kwargs, Tensor):
    for v in (*args, *kwargs.values()):
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):  # cat's and stack's sequences
            yield from (t for t in v if isinstance(t, Tensor))


def _eligible(t) -> bool:
    dtype = t.dtype
    return dtype.is_floating_point and dtype is not dtypes.float64


def _target(policy: str, region_dtype, tensors: list):
    if policy == LOWER_PRECISION:
        return region_dtype
    if policy == FLOAT32:
        return dtypes.float32
    floats = [t.dtype for t in tensors if _eligible(t)]  # promote: the widest of them
    widest = None
    for d in floats:
        widest = d if widest is None else dtypes.promote_types(widest, d)
    return widest


def _cast(t, target):
    return t.to(target) if _eligible(t) and t.dtype is not target else t


def _map(cast, value, Tensor):
    if isinstance(value, Tensor):
        return cast(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        return type(value)(cast(v) if isinstance(v, Tensor) else v for v in value)
    return value
