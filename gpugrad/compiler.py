"""``torch.compile`` and ``torch.compiler``: gpugrad runs a model's Python as written (its speed comes
from fused kernels and, on a GPU, from capturing a whole step as one CUDA graph: ``gg.cuda.graph``), so
compiling returns the model or function itself: the same results, as torch.compile promises, with no
compilation step. The arguments are checked as PyTorch checks them."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["compile", "list_backends", "disable", "is_compiling", "is_dynamo_compiling", "is_exporting", "reset", "allow_in_graph", "assume_constant_result"]

MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable | None = None, mode: str | None = None, options: dict | None = None,
            disable: bool = False, **kwargs: Any):
    """``torch.compile(model)``: ``model`` itself (or, without a model, a decorator that returns the
    function it decorates)."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES)}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                  options=options, disable=disable, **kwargs)
    if not callable(model):
        raise TypeError(f"compile: a callable function is expected, but {type(model)} is provided.")
    return model


# PyTorch's registered backend names, by tag: compile accepts each (and runs the model as written whichever)
_BACKENDS = {"cudagraphs": (), "inductor": (), "openxla": (), "tvm": (), "eager": ("debug",),
             "aot_eager": ("debug",), "aot_eager_default_partitioner": ("debug",), "aot_ts": ("debug",),
             "ts": ("debug",)}


def list_backends(exclude_tags: tuple | None = ("debug", "experimental")) -> list[str]:
    """``torch.compiler.list_backends``: the sorted backend names whose tags avoid ``exclude_tags``
    (None lists them all)."""
    excluded = set(exclude_tags or ())
    return sorted(name for name, tags in _BACKENDS.items() if not excluded.intersection(tags))


def disable(fn: Callable | None = None, recursive: bool = True, **kwargs: Any):
    """``torch.compiler.disable``: nothing is compiled, so ``fn`` (or a decorator returning it)."""
    return fn if fn is not None else (lambda f: f)


def allow_in_graph(fn: Callable) -> Callable:
    """``fn`` itself: nothing is traced, so every function is already "in the graph" (einx registers its
    backend through this)."""
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """``fn`` itself (a hint to a tracer gpugrad does not have)."""
    return fn


def is_compiling() -> bool:
    """False: gpugrad never traces a function for compilation."""
    return False


def is_dynamo_compiling() -> bool:
    """False: no TorchDynamo trace ever runs (tensordict imports this older spelling of is_compiling)."""
    return False


def is_exporting() -> bool:
    """False: gpugrad never exports a program."""
    return False


def reset() -> None:
    """Nothing cached to clear."""
