"""``gg.cuda.CUDAGraph``, ``graph()``, ``graph_pool_handle()``: a training step captured once and replayed
with one launch, as PyTorch's CUDA graphs (built on CuPy's stream capture).

While a graph is being captured, the device's backend holds it (``Backend.capture``), and that one
attribute is what the rest of gpugrad looks at:
- a host read of device data (``.item()``, ``.numpy()``, ``.tolist()``, printing) or a wait for the device
  raises, naming the call (it would stall or break the capture);
- ``Backend.matmul`` sends the GEMMs to cuBLAS directly (``gpugrad.cuda.blas``): CuPy refuses cuBLAS while
  capturing;
- a kernel's error flag (cross-entropy's target check) is not read; the graph keeps the check, each replay
  puts it on the backend's pending list, and the next host read or synchronize runs it;
- CuPy allocates from the graph's private memory pool, so no array made outside the graph is ever given
  memory the graph's replays write (the pool grows with cudaMalloc in the relaxed capture mode, as
  PyTorch's allocator does, so the default global mode works).

On the simulated "cuda" device (tests without a GPU) capture runs the captured code once, eagerly, with
every check above in force, which proves a step capture-safe; replay needs a GPU and says so.
"""
from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable

from .. import backend as _backend
from ..errors import ArgumentError, CaptureError, DeviceError
from ..random import default_generator
from . import blas
from .streams import Stream
from .streams import stream as _stream_context

_MODES = ("global", "thread_local", "relaxed")


class _Pool:
    """A graph's private memory pool (CuPy's MemoryPool); share it between graphs with ``pool=``."""

    def __init__(self) -> None:
        self.memory = None if _backend.simulating_cuda() else _cuda_backend("graph_pool_handle").xp.cuda.MemoryPool()

    def malloc(self, size: int):
        """CuPy's allocation from this pool, in the relaxed capture mode: growing the pool is a cudaMalloc,
        which a capture in the (default) global mode forbids; the allocation is not part of the graph
        either way. PyTorch's allocator makes the same exchange."""
        previous = _exchange_capture_mode(_RELAXED)
        try:
            return self.memory.malloc(size)
        finally:
            _exchange_capture_mode(previous)

    def __repr__(self) -> str:
        used = 0 if self.memory is None else self.memory.total_bytes()
        return f"<gpugrad.cuda graph pool: {used} bytes>"


_RELAXED = 2  # CU_STREAM_CAPTURE_MODE_RELAXED
_libcuda = None


def _exchange_capture_mode(mode: int) -> int:
    """Set this thread's stream-capture interaction mode (the driver's cuThreadExchangeStreamCaptureMode,
    a stable C entry point of libcuda) and return the mode it had."""
    global _libcuda
    if _libcuda is None:
        _libcuda = ctypes.CDLL("libcuda.so.1")
    value = ctypes.c_int(mode)
    status = _libcuda.cuThreadExchangeStreamCaptureMode(ctypes.byref(value))
    if status != 0:
        raise RuntimeError(f"cuThreadExchangeStreamCaptureMode failed (CUresult {status})")
    return value.value


def graph_pool_handle() -> _Pool:
    """A new memory pool for ``CUDAGraph.capture_begin(pool=...)`` / ``graph(g, pool=...)``."""
    return _Pool()


def _cuda_backend(op: str) -> _backend.Backend:
    try:
        return _backend.get("cuda")
    except DeviceError as exc:
        raise DeviceError(f"{op}: {exc}") from None


class CUDAGraph:
    """A captured sequence of device work, as ``torch.cuda.CUDAGraph``.

        g = gg.cuda.CUDAGraph()
        with gg.cuda.graph(g):          # after a few warm-up steps on a side stream
            loss = step()
        g.replay()                      # runs the whole step again, on the current stream
    """

    def __init__(self, keep_graph: bool = False) -> None:  # keep_graph: accepted, as PyTorch's; always kept
        self._graph = None
        self._pool: _Pool | None = None
        self._checks: list[Callable[[], None]] = []
        self._stream = None
        self._allocator = None
        self._backend: _backend.Backend | None = None

    def capture_begin(self, pool: _Pool | None = None, capture_error_mode: str = "global") -> None:
        """Begin capturing the current stream's work (not the default stream: use ``graph()``)."""
        backend = _cuda_backend("CUDAGraph.capture_begin")
        if capture_error_mode not in _MODES:
            raise ArgumentError(f"CUDAGraph.capture_begin: capture_error_mode must be one of {_MODES}, "
                                f"got {capture_error_mode!r}")
        if pool is not None and not isinstance(pool, _Pool):
            raise ArgumentError("CUDAGraph.capture_begin: pool must come from graph_pool_handle() or another "
                                f"graph's pool(), got {type(pool).__name__}")
        if backend.capture is not None:
            raise RuntimeError("CUDAGraph.capture_begin: another capture is under way on this device")
        if self._graph is not None or self._backend is not None:
            raise RuntimeError("CUDAGraph.capture_begin: this graph already holds a capture; call reset() first")
        self._pool = pool if pool is not None else _Pool()
        self._checks = []
        # What captured code uses but must not make inside the capture: the device random state (dropout
        # draws from it) and, below, the cuBLAS handle and workspace of the capturing stream.
        default_generator.device_state(backend)
        if not _backend.simulating_cuda():
            cupy = backend.xp
            stream = cupy.cuda.get_current_stream()
            if int(stream.ptr) == 0 or stream.is_capturing():
                raise RuntimeError("CUDAGraph.capture_begin: cannot capture on the default stream; capture "
                                   "inside gg.cuda.graph(g), or make a gg.cuda.Stream() current first")
            blas.prepare(cupy)
            self._allocator = cupy.cuda.using_allocator(self._pool.malloc)
            self._allocator.__enter__()
            mode = getattr(cupy.cuda.runtime, {"global": "streamCaptureModeGlobal",
                                               "thread_local": "streamCaptureModeThreadLocal",
                                               "relaxed": "streamCaptureModeRelaxed"}[capture_error_mode])
            try:
                stream.begin_capture(mode)
            except BaseException:
                self._release_allocator()
                raise
            self._stream = stream
        self._backend = backend
        backend.capture = self

    def capture_end(self) -> None:
        """End the capture; the graph is ready to replay."""
        backend = self._backend
        if backend is None or backend.capture is not self:
            raise RuntimeError("CUDAGraph.capture_end: this graph is not capturing")
        backend.capture = None
        if self._stream is None:  # the simulated device ran the work eagerly: check its flags now
            self._graph = "simulated"
            self._run_checks()
            return
        try:
            self._graph = self._stream.end_capture()
        finally:
            self._stream = None
            self._release_allocator()

    def _abort(self) -> None:
        """End a capture that failed part-way, leaving the device as it was before capture_begin."""
        backend = self._backend
        if backend is not None and backend.capture is self:
            backend.capture = None
        if self._stream is not None:
            try:
                self._stream.end_capture()
            except Exception:  # an invalidated capture says so when ended; the original error matters
                pass
            self._stream = None
        self._release_allocator()
        self._graph, self._backend, self._checks = None, None, []

    def _release_allocator(self) -> None:
        if self._allocator is not None:
            self._allocator.__exit__(None, None, None)
            self._allocator = None

    def replay(self) -> None:
        """Run the captured work again on the current stream; returns at once (no synchronisation)."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay: nothing captured; capture with gg.cuda.graph(g) first")
        if self._stream is None and self._graph == "simulated":
            raise NotImplementedError(
                "CUDAGraph.replay: replaying needs a GPU; on the simulated cuda device a capture runs the "
                "work once, eagerly, to check that it is capture-safe")
        self._graph.launch(stream=self._backend.xp.cuda.get_current_stream())
        if self._checks:
            self._backend.pending_checks.update(self._checks)

    def reset(self) -> None:
        """Forget the captured graph (and this graph's hold on its memory pool)."""
        if self._backend is not None and self._backend.capture is self:
            raise RuntimeError("CUDAGraph.reset: the graph is still capturing; call capture_end() first")
        self._graph, self._pool, self._backend, self._checks = None, None, None, []

    def pool(self) -> _Pool:
        """This graph's memory pool, to share with another capture (``graph(g2, pool=g1.pool())``)."""
        if self._pool is None:
            raise RuntimeError("CUDAGraph.pool: the graph has no pool until capture_begin")
        return self._pool

    def defer(self, check: Callable[[], None]) -> None:
        """Keep ``check`` (a host read of a kernel's error flag, raising if it is set) to run after each
        replay at the next host read or synchronize, instead of reading the flag inside the capture."""
        self._checks.append(check)

    def _run_checks(self) -> None:
        for check in self._checks:
            check()

    def refuse(self, op: str) -> CaptureError:
        """The error for ``op``, a call that cannot happen while this graph captures."""
        return CaptureError(
            f"{op}: not allowed while a CUDA graph is being captured (it would read device data on the host "
            "or wait for the device); move it before or after the captured region")


class graph:
    """``with gg.cuda.graph(g, pool=None, stream=None, capture_error_mode="global"):`` capture the block's
    device work into ``g``, as ``torch.cuda.graph``. Synchronises first; captures on ``stream`` or a side
    stream of its own (never the default stream). Warm the code up on a side stream before capturing
    (kernels compiled, optimizer state made), as PyTorch requires."""

    _default_stream: Stream | None = None

    def __init__(self, cuda_graph: CUDAGraph, pool: _Pool | None = None, stream: Stream | None = None,
                 capture_error_mode: str = "global") -> None:
        if not isinstance(cuda_graph, CUDAGraph):
            raise ArgumentError(f"cuda.graph: expected a CUDAGraph, got {type(cuda_graph).__name__}")
        self.cuda_graph, self.pool, self.capture_error_mode = cuda_graph, pool, capture_error_mode
        self.stream = stream
        if stream is None and not _backend.simulating_cuda():
            if graph._default_stream is None:
                graph._default_stream = Stream()
            self.stream = graph._default_stream
        self._context = _stream_context(self.stream)

    def __enter__(self) -> None:
        backend = _cuda_backend("cuda.graph")
        backend.synchronize()  # every stream: warm-up work on a side stream is done before capturing
        gc.collect()  # arrays freed before capture go back to their pools now, not during it
        self._context.__enter__()
        try:
            self.cuda_graph.capture_begin(pool=self.pool, capture_error_mode=self.capture_error_mode)
        except BaseException:
            self._context.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.cuda_graph.capture_end()
            else:
                self.cuda_graph._abort()
        finally:
            self._context.__exit__(None, None, None)


def make_graphed_callables(callables, sample_args, num_warmup_iters: int = 3, allow_unused_input: bool = False,
                           pool: _Pool | None = None):
    """Graphed versions of ``callables`` (a Module or function, or a tuple of them), as
    ``torch.cuda.make_graphed_callables``: each one's forward and backward are captured as two CUDA graphs
    from ``sample_args`` (a tuple of Tensors per callable), so that inside an ordinary eager loop a call
    replays the forward graph and its backward replays the backward graph. A Module comes back with its
    forward replaced (used while the module's training flag is what it was at capture; the original
    forward otherwise), and its parameters' gradients reach ``.grad`` as usual.

    As in PyTorch: the outputs and gradients are the graphs' static tensors (the next call overwrites
    them), inputs must have the sample args' shapes, dtypes and ``requires_grad``, and the callables must
    not change Python state the graphs cannot replay (hooks, data-dependent control flow). On the
    simulated device the captures check capture safety and a call says that replaying needs a GPU."""
    from ..autograd import grad as _grad
    from ..nn.module import Module
    from ..tensor import Tensor

    single = not isinstance(callables, tuple)
    if single:
        callables, sample_args = (callables,), (sample_args,)
    if len(callables) != len(sample_args):
        raise ArgumentError(f"make_graphed_callables: {len(callables)} callables but {len(sample_args)} sample_args")
    backend = _cuda_backend("make_graphed_callables")
    pool = pool if pool is not None else _Pool()
    made = []
    for fn, args in zip(callables, sample_args):
        args = (args,) if isinstance(args, Tensor) else tuple(args)
        if not all(isinstance(a, Tensor) and a._backend is backend for a in args):
            raise ArgumentError("make_graphed_callables: sample_args must be Tensors on the cuda device")
        if isinstance(fn, Module) and (fn._forward_hooks or fn._forward_pre_hooks):
            raise ArgumentError("make_graphed_callables: a module with forward hooks cannot be graphed (the hooks "
                                "would run once, at capture)")
        params = tuple(p for p in fn.parameters() if p.requires_grad) if isinstance(fn, Module) else ()
        surface = args + params  # what the graphed function takes, and returns gradients for
        needs = [t.requires_grad for t in surface]

        def outputs_of(fn=fn, args=args):
            out = fn(*args)
            return (out,) if isinstance(out, Tensor) else tuple(out)

        def grads_of(outs, grad_outs, surface=surface, needs=needs):
            diff = [(o, g) for o, g in zip(outs, grad_outs) if o.requires_grad]
            wanted = [t for t, n in zip(surface, needs) if n]
            if not diff or not wanted:
                return [None] * len(surface)
            got = iter(_grad([o for o, _ in diff], wanted, grad_outputs=[g for _, g in diff],
                             allow_unused=allow_unused_input))
            return [next(got) if n else None for n in needs]

        side = None if _backend.simulating_cuda() else Stream()  # the simulator has no streams
        with _stream_context(side):
            for _ in range(num_warmup_iters):
                outs = outputs_of()
                grads_of(outs, [o.detach() * 0 + 1 for o in outs])
        backend.synchronize()
        fwd, bwd = CUDAGraph(), CUDAGraph()
        with graph(fwd, pool=pool, stream=side):
            static_outs = outputs_of()
        static_grad_outs = [backend.xp.zeros_like(o._array) for o in static_outs]
        with graph(bwd, pool=pool, stream=side):
            static_grads = grads_of(static_outs, [Tensor._make(g, backend) for g in static_grad_outs])
        made.append(_graphed_function(backend, fwd, bwd, args, params, static_outs, static_grad_outs, static_grads,
                                      fn))
    return made[0] if single else tuple(made)


def _graphed_function(backend, fwd, bwd, args, params, static_outs, static_grad_outs, static_grads, fn):
    """The autograd Function replaying ``fwd`` and ``bwd``, wrapped as the callable the user gets;
    ``params`` are the parameters the backward graph returns gradients for, fixed at capture."""
    from ..autograd.function import Function
    from ..nn.module import Module
    from ..tensor import Tensor

    class Graphed(Function):
        forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays
        name = "graphed_callable"

        @staticmethod
        def forward(ctx, *arrays):
            for static, given in zip(args, arrays[: len(args)]):
                if static._array is not given:
                    static._array[...] = given
            fwd.replay()
            return tuple(o._array for o in static_outs)

        @staticmethod
        def backward(ctx, *grads):
            for static, g in zip(static_grad_outs, grads):
                if g is None:
                    static.fill(0)
                else:
                    static[...] = g._array
            bwd.replay()
            return tuple(None if g is None else Tensor._make(g._array, backend) for g in static_grads)

    def call(*inputs):
        if len(inputs) != len(args):
            raise ArgumentError(f"graphed callable: expected {len(args)} inputs as in sample_args, got {len(inputs)}")
        for given, sample in zip(inputs, args):
            if not isinstance(given, Tensor) or given.shape != sample.shape or given.dtype != sample.dtype:
                raise ArgumentError(
                    "graphed callable: each input must have the shape and dtype of its sample arg: got "
                    f"{tuple(getattr(given, 'shape', ()))} {getattr(given, 'dtype', type(given).__name__)}, "
                    f"captured with {tuple(sample.shape)} {sample.dtype}")
        outs = Graphed.apply(*inputs, *params)
        return outs[0] if len(static_outs) == 1 else outs

    if not isinstance(fn, Module):
        return call
    eager_forward, training = fn.forward, fn.training

    def forward(*inputs):
        return call(*inputs) if fn.training == training else eager_forward(*inputs)

    fn.forward = forward
    return fn
