"""``torch.nn.parallel.scatter_gather``: ``scatter`` slices tensors into chunks along ``dim``, one per target
GPU, and duplicates references to everything else; ``gather`` brings one output per GPU back onto one device,
concatenated along ``dim``. Both are differentiable (``chunk``, ``to`` and ``cat`` are), and both are GPU-only,
as PyTorch's are: a CPU tensor given to ``gather`` or a ``"cpu"`` target of ``scatter`` is refused."""
from __future__ import annotations

import warnings
from typing import Any

from ...backend import Device
from ...errors import DeviceError
from ...tensor import Tensor

__all__ = ["scatter", "scatter_kwargs", "gather"]


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _gpu(device, op: str) -> Device:
    """A target given as PyTorch takes it (an index, "cuda:1", a device) as a CUDA device."""
    d = Device("cuda", device) if isinstance(device, int) else Device(device)
    if d.type != "cuda":
        raise DeviceError(f"{op}: expected a CUDA device, got {d} (scatter and gather move tensors between GPUs)")
    return d


def scatter(inputs, target_gpus, dim: int = 0):
    """Slice every tensor in ``inputs`` into ``len(target_gpus)`` chunks along ``dim`` (``Tensor.chunk``'s sizes)
    and put chunk i on GPU ``target_gpus[i]``; tuples, lists, dicts and namedtuples are walked, other objects
    duplicated. Returns one element per GPU (fewer if a tensor has fewer chunks than GPUs)."""
    devices = [_gpu(g, "scatter") for g in target_gpus]

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return tuple(c.to(d) for c, d in zip(obj.chunk(len(devices), dim), devices))
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in devices]

    return scatter_map(inputs)


def scatter_kwargs(inputs: tuple, kwargs: dict | None, target_gpus, dim: int = 0) -> tuple[tuple, tuple]:
    """``scatter`` of the positional and the keyword arguments, padded to the same number of GPUs with ``()``
    and ``{}``."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(scattered_inputs):
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def _gather_tensors(tensors, target_device, dim: int) -> Tensor:
    for t in tensors:
        if t.device.type != "cuda":
            raise DeviceError("gather: the outputs must be CUDA tensors (one per GPU), got one on "
                              f"{t.device}, as PyTorch's Gather refuses CPU tensors")
    target = Device("cpu") if target_device in (-1, "cpu") else _gpu(target_device, "gather")
    if all(t.ndim == 0 for t in tensors):
        warnings.warn("Was asked to gather along dimension 0, but all input tensors were scalars; will instead "
                      "unsqueeze and return a vector.", stacklevel=3)
        tensors = [t.reshape(1) for t in tensors]
        dim = 0
    from ...ops import cat
    return cat([t.to(target) for t in tensors], dim)


def gather(outputs, target_device, dim: int = 0):
    """Concatenate one output per GPU along ``dim`` on ``target_device`` (an index, a CUDA device, or -1 /
    "cpu"); tuples, lists, dicts and namedtuples are walked element by element, None stays None."""
    def gather_map(outputs):
        out = outputs[0]
        if isinstance(out, Tensor):
            return _gather_tensors(outputs, target_device, dim)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outputs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outputs])) for k in out)
        if _is_namedtuple(out):
            return type(out)._make(map(gather_map, zip(*outputs, strict=True)))
        return type(out)(map(gather_map, zip(*outputs, strict=True)))

    return gather_map(outputs)
