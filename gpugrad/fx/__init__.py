"""``torch.fx``: a module's forward recorded as a Graph of nodes by running it on Proxies
(``symbolic_trace``), edited as data, and turned back into Python (``GraphModule``); ``Interpreter`` runs
a graph node by node. Proxies reach gpugrad's functions through ``__torch_function__`` (gpugrad/overrides.py),
as PyTorch's reach torch's."""
from . import immutable_collections, node, passes, proxy, subgraph_rewriter
from ._symbolic_trace import Tracer, is_fx_tracing, symbolic_trace, wrap
from .graph import Graph, PythonCode
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, has_side_effect, map_arg
from .proxy import Proxy
from .subgraph_rewriter import replace_pattern

__all__ = ["Graph", "GraphModule", "Interpreter", "Node", "Proxy", "PythonCode", "Tracer", "Transformer",
           "has_side_effect", "immutable_collections", "is_fx_tracing", "map_arg", "node", "passes", "proxy",
           "replace_pattern", "subgraph_rewriter", "symbolic_trace", "wrap"]
