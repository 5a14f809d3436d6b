"""The matrix products a CUDA graph capture may contain.

CuPy refuses every cuBLAS call while its current stream is capturing ("calling cuBLAS API during stream
capture is currently unsupported"), although cuBLAS's GEMMs capture well. So while a graph is being
captured, ``Backend.matmul`` sends 2-D float32/float64 products here: cuBLAS's sgemm/dgemm called through
nvmath-python's bindings (NVIDIA's), on a handle of our own set to CuPy's current stream. On an H200
these replay bit for bit equal to CuPy's eager matmul (bench/NOTES.md, "The second H200 run").
"""
from __future__ import annotations

from typing import Any

import numpy as np

_ONE = {np.dtype(np.float32): np.ones(1, np.float32), np.dtype(np.float64): np.ones(1, np.float64)}
_ZERO = {np.dtype(np.float32): np.zeros(1, np.float32), np.dtype(np.float64): np.zeros(1, np.float64)}
_handle: dict[int, int] = {}  # one cuBLAS handle per device
# A workspace per (device, stream), set on the handle before each call (cublasSetStream resets it): with
# none, cuBLAS may allocate one during a capture, which the global capture mode forbids. 32 MiB is what
# cuBLAS's documentation advises for Hopper.
_WORKSPACE_BYTES = 32 << 20
_workspace: dict[tuple[int, int], Any] = {}


def prepare(xp: Any) -> None:
    """Make the handle and the current stream's workspace now (outside a capture), if nvmath is present."""
    try:
        _handle_and_workspace(xp)
    except ImportError:
        pass  # a captured matmul will say what is missing


def _handle_and_workspace(xp: Any) -> tuple[Any, int]:
    from nvmath.bindings import cublas

    device = xp.cuda.Device().id
    handle = _handle.get(device)
    if handle is None:
        handle = _handle[device] = cublas.create()
    stream = int(xp.cuda.get_current_stream().ptr)
    workspace = _workspace.get((device, stream))
    if workspace is None:
        workspace = _workspace[(device, stream)] = xp.empty(_WORKSPACE_BYTES, dtype=np.uint8)
    cublas.set_stream(handle, stream)
    cublas.set_workspace(handle, workspace.data.ptr, _WORKSPACE_BYTES)
    return cublas, handle


def capturable(a: Any, b: Any) -> bool:
    """Whether ``gemm`` takes this product: two matrices of one float dtype (a batch of rows in ``a``
    folds into one matrix when ``b`` is 2-D and ``a`` is C-contiguous)."""
    return (b.ndim == 2 and a.dtype == b.dtype and a.dtype in _ONE
            and (a.ndim == 2 or (a.ndim > 2 and a.flags.c_contiguous)))


def gemm(xp: Any, a: Any, b: Any) -> Any:
    """a @ b for CuPy arrays on the current stream, through cuBLAS directly (see the module's doc)."""
    try:
        cublas, handle = _handle_and_workspace(xp)
    except ImportError as exc:
        raise RuntimeError(
            "matmul inside a CUDA graph capture needs nvmath-python (CuPy refuses cuBLAS while capturing): "
            "pip install gpugrad[cuda12] or gpugrad[cuda13]") from exc
    lead = a.shape[:-1]
    if a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    # cuBLAS is column-major: C = A B (row-major) is C^T = B^T A^T, so B goes first. A C-contiguous
    # operand is its own transpose in column-major memory (no op); an F-contiguous one is itself (op T).
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = xp.ascontiguousarray(a)
    if not (b.flags.c_contiguous or b.flags.f_contiguous):
        b = xp.ascontiguousarray(b)
    (m, k), n = a.shape, b.shape[1]
    c = xp.empty((m, n), dtype=a.dtype)
    if m and n:
        op_a, lda = (cublas.Operation.N, k) if a.flags.c_contiguous else (cublas.Operation.T, m)
        op_b, ldb = (cublas.Operation.N, n) if b.flags.c_contiguous else (cublas.Operation.T, k)
        call = cublas.sgemm if a.dtype == np.float32 else cublas.dgemm
        if k:
            call(handle, op_b, op_a, n, m, k, _ONE[a.dtype].ctypes.data, b.data.ptr, max(ldb, 1),
                 a.data.ptr, max(lda, 1), _ZERO[a.dtype].ctypes.data, c.data.ptr, n)
        else:
            c.fill(0)
    return c.reshape(lead + (n,))
