"""``torch._inductor.config``: the compiler's settings at PyTorch's defaults. gpugrad compiles nothing, so
they change nothing; scripts may set and read them as under PyTorch."""
import types

coordinate_descent_tuning = False
max_autotune = False
max_autotune_gemm = False
freezing = False
fx_graph_cache = True
epilogue_fusion = True
aggressive_fusion = False
triton = types.SimpleNamespace(unique_kernel_names=True, cudagraphs=False, cudagraph_trees=True)
