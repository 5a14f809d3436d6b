"""``torch._dynamo.explain``: how torch.compile would split a function into graphs. gpugrad traces
nothing (``gg.compile`` returns the function itself), so the function runs once, eagerly, and the report
holds no graphs, no graph breaks and no guards."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExplainOutput:
    """PyTorch's report fields; ``graph_break_count`` 0: nothing splits a function that is not traced."""

    graphs: list = field(default_factory=list)
    graph_count: int = 0
    graph_break_count: int = 0
    break_reasons: list = field(default_factory=list)
    op_count: int = 0
    ops_per_graph: list = field(default_factory=list)
    out_guards: list = field(default_factory=list)
    compile_times: str = ""

    def __str__(self) -> str:
        return (f"Graph Count: {self.graph_count}\nGraph Break Count: {self.graph_break_count}\n"
                f"Op Count: {self.op_count}\n")


def explain(f: Callable, *extra_args: Any, **extra_kwargs: Any) -> Callable[..., ExplainOutput]:
    """``explain(f)(*args, **kwargs)``: runs ``f`` on the arguments and reports on it (see the module)."""

    def inner(*args: Any, **kwargs: Any) -> ExplainOutput:
        f(*extra_args, *args, **extra_kwargs, **kwargs)
        return ExplainOutput()

    return inner
