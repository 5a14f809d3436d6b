"""Epilogue and prologue around a GEMM the caller runs with BLAS/cuBLAS:
bias + activation after it (forward), activation backward + bias gradient
before the weight GEMMs (backward). Plus a tiled shared-memory CUDA matmul
with the same epilogue, kept for the shapes where it beats matmul + epilogue.

`pre` (z + bias) is returned only when the backward needs it: None when the
activation saves its output (SAVES_OUTPUT) or is "identity". When bias is
None, `pre` is z itself (no copy) and for "identity" y is z itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import get_num_threads, prange

from ._launch import (
    cuda_family,
    cpu_kernel_per_code,
    check_arrays_for,
    check_same_shape,
    contiguous,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    launch_dims,
    like,
    numba_type,
    PARALLEL_MIN_WORK,
    plain_cpu_call,
    ticket_counters,
    UNROLL,
)
from .activation import (
    BACKWARD_INLINED,
    CODES,
    FASTMATH,
    FORWARD_INLINED,
    IDENTITY,
    KINDS,
    SAVES_OUTPUT,
    act_backward_inlined,
    act_backward_scalar,
    act_forward_inlined,
    act_forward_scalar,
    activation_code,
    reference_backward,
    reference_forward,
)

# CUDA tile shapes; the kernels below are written for exactly these.
COLS_PER_BLOCK, ROWS_PER_BLOCK = 32, 8      # bias/activation kernels
MM_TILE, MM_BK, MM_THREADS = 64, 16, 16     # matmul: 64x64 tile, 16x16 threads
MM_PER_THREAD = MM_TILE // MM_THREADS       # 4x4 outputs per thread


def needs_pre(kind: str) -> bool:
    """Whether backward needs pre-activation values (see module docstring)."""
    return kind != "identity" and not SAVES_OUTPUT[kind]


# ============================================================== reference

def reference_bias_act_forward(
    xp: Any, kind: str, z: Any, bias: Any, param: float = 0.0
) -> tuple[Any, Any]:
    pre = z if bias is None else z + bias
    y = pre if kind == "identity" else reference_forward(xp, kind, pre, param)
    return (pre if needs_pre(kind) else None), y


def reference_bias_act_backward(
    xp: Any, kind: str, gy: Any, saved: Any, param: float = 0.0, *, need_bias_grad: bool = True
) -> tuple[Any, Any]:
    gz = gy if kind == "identity" else reference_backward(xp, kind, gy, saved, param)
    gbias = gz.reshape(-1, gz.shape[-1]).sum(axis=0) if need_bias_grad else None
    return gz, gbias


def reference_matmul_bias_act(
    xp: Any, a: Any, b: Any, bias: Any, kind: str, param: float = 0.0
) -> tuple[Any, Any]:
    return reference_bias_act_forward(xp, kind, xp.matmul(a, b), bias, param)


# ============================================================== CPU kernels

# Inner loops carry only the activation switch, so that LLVM unswitches it;
# the store/bias flags stay outside them (inside, they stopped that).

# The activation kernels' fast-math flags (NaN and infinity kept), so a fused epilogue agrees with them;
# and, as there, the kinds whose scalar function LLVM left as a call per element in the serial builds
# (activation.FORWARD_INLINED, BACKWARD_INLINED) inlined at Numba IR level (`inlined`, a closure constant:
# Numba prunes the other branch).
@cpu_kernel_per_code(KINDS + ("identity",), FASTMATH)
def _bias_act_forward_cpu(code):
    inlined = code in FORWARD_INLINED

    def bias_act_forward(z, bias, pre, y, p, store_pre):
        n, c = z.shape
        for i in prange(n):
            if store_pre:
                for j in range(c):
                    pre[i, j] = z[i, j] + bias[j]
                for j in range(c):
                    v = pre[i, j]
                    y[i, j] = act_forward_inlined(code, v, p) if inlined else act_forward_scalar(code, v, p)
            else:
                for j in range(c):
                    v = z[i, j] + bias[j]
                    y[i, j] = act_forward_inlined(code, v, p) if inlined else act_forward_scalar(code, v, p)
    return bias_act_forward


@cpu_kernel_per_code(KINDS + ("identity",), FASTMATH)
def _bias_act_backward_cpu(code):
    inlined = code in BACKWARD_INLINED

    def bias_act_backward(gy, s, gz, partial, p, write_gz, need_bias):
        # Each chunk of rows owns one row of `partial`: no two threads write the
        # same cache line except at row ends, and the column sums stay in cache.
        n, c = gy.shape
        chunks = partial.shape[0]
        per = (n + chunks - 1) // chunks
        for k in prange(chunks):
            if need_bias:
                for j in range(c):
                    partial[k, j] = 0
            for i in range(k * per, min(n, (k + 1) * per)):
                if write_gz:
                    for j in range(c):
                        v, g = s[i, j], gy[i, j]
                        gz[i, j] = act_backward_inlined(code, v, g, p) if inlined else act_backward_scalar(code, v, g, p)
                if need_bias:
                    for j in range(c):
                        partial[k, j] += gz[i, j]
    return bias_act_backward


def _row_chunks(n: int, c: int) -> int:
    # Blocks of ~256 rows also keep float32 partial sums short. Only the parallel build (large work) needs
    # a chunk per thread; asking Numba for its thread count costs as much as a small layer's whole pass.
    chunks = -(-n // 256)
    if n * c >= PARALLEL_MIN_WORK:
        chunks = max(chunks, get_num_threads())
    return max(1, min(n, chunks))


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import boolean, int32, int64, uint32, void

    T = numba_type(dtype)
    CB, RB = COLS_PER_BLOCK, ROWS_PER_BLOCK
    TILE, BK, TH, PT = MM_TILE, MM_BK, MM_THREADS, MM_PER_THREAD
    TILE_PAD = MM_TILE + 1

    # Both row loops take UNROLL (4) rows per grid-stride trip, all loaded before any store (see UNROLL).
    def bias_act_forward_kernel(code, z, bias, pre, y, p, has_bias, store_pre):
        n, c = z.shape
        col, row = cuda.grid(2)
        if col < c:
            b = bias[col] if has_bias else like(p, 0.0)
            step = int64(cuda.gridsize(2)[1])
            i = int64(row)
            while i + 3 * step < n:
                v0 = z[i, col]
                v1 = z[i + step, col]
                v2 = z[i + 2 * step, col]
                v3 = z[i + 3 * step, col]
                if has_bias:  # not + 0.0 without a bias: that would turn -0.0 into +0.0
                    v0 += b
                    v1 += b
                    v2 += b
                    v3 += b
                if store_pre:
                    pre[i, col] = v0
                    pre[i + step, col] = v1
                    pre[i + 2 * step, col] = v2
                    pre[i + 3 * step, col] = v3
                y[i, col] = act_forward_scalar(code, v0, p)
                y[i + step, col] = act_forward_scalar(code, v1, p)
                y[i + 2 * step, col] = act_forward_scalar(code, v2, p)
                y[i + 3 * step, col] = act_forward_scalar(code, v3, p)
                i += 4 * step
            while i < n:
                v = z[i, col]
                if has_bias:
                    v += b
                if store_pre:
                    pre[i, col] = v
                y[i, col] = act_forward_scalar(code, v, p)
                i += step

    def bias_act_backward_kernel(code, gy, s, gz, partial, gbias, tickets, p, write_gz, need_bias):
        # Block = 32 columns x 8 row lanes. Each block leaves one partial column sum per grid row; the
        # last block of a column strip to finish (an atomic ticket per strip) adds the strip's partials
        # in row order: one launch, and the same sums every run (float atomics on gbias would not be).
        # The CUDA Programming Guide's last-block reduction: partials written, threadfence, ticket;
        # the last block reads the partials with atomics (at L2), so no stale cached copy is read.
        sh = cuda.shared.array((RB, CB), T)
        is_last = cuda.shared.array(1, int32)
        n, c = gy.shape
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        col = cuda.blockIdx.x * CB + tx
        acc = like(p, 0.0)
        if col < c:
            step = int64(cuda.gridDim.y * RB)
            i = int64(cuda.blockIdx.y * RB + ty)
            while i + 3 * step < n:
                g0 = gy[i, col]
                g1 = gy[i + step, col]
                g2 = gy[i + 2 * step, col]
                g3 = gy[i + 3 * step, col]
                s0 = s[i, col]
                s1 = s[i + step, col]
                s2 = s[i + 2 * step, col]
                s3 = s[i + 3 * step, col]
                r0 = act_backward_scalar(code, s0, g0, p)
                r1 = act_backward_scalar(code, s1, g1, p)
                r2 = act_backward_scalar(code, s2, g2, p)
                r3 = act_backward_scalar(code, s3, g3, p)
                if write_gz:
                    gz[i, col] = r0
                    gz[i + step, col] = r1
                    gz[i + 2 * step, col] = r2
                    gz[i + 3 * step, col] = r3
                acc += r0  # row order as in a one-row-per-trip loop: the same sums
                acc += r1
                acc += r2
                acc += r3
                i += 4 * step
            while i < n:
                g = act_backward_scalar(code, s[i, col], gy[i, col], p)
                if write_gz:
                    gz[i, col] = g
                acc += g
                i += step
        if need_bias:
            sh[ty, tx] = acc
            cuda.syncthreads()
            if ty == 0 and col < c:
                tot = sh[0, tx]
                for r in range(1, RB):
                    tot += sh[r, tx]
                partial[cuda.blockIdx.y, col] = tot
            cuda.threadfence()
            cuda.syncthreads()
            if tx == 0 and ty == 0:
                # Counts 0, 1, ..., gridDim.y - 1 and wraps to 0 on the last: ready for the next launch.
                ticket = cuda.atomic.inc(tickets, cuda.blockIdx.x, uint32(cuda.gridDim.y - 1))
                is_last[0] = 1 if ticket == cuda.gridDim.y - 1 else 0
            cuda.syncthreads()
            if is_last[0] == 1 and ty == 0 and col < c:
                cuda.threadfence()
                zero = like(p, 0.0)
                tot = cuda.atomic.add(partial, (0, col), zero)
                for r in range(1, cuda.gridDim.y):
                    tot += cuda.atomic.add(partial, (r, col), zero)
                gbias[col] = tot

    def matmul_bias_act_kernel(code, a, b, bias, pre, y, p, has_bias, store_pre):
        # 64x64 output tile per block, 16x16 threads with 4x4 outputs each at
        # stride 16 (conflict-free shared reads); A is stored k-major with one
        # pad column so the transposing store does not hit one bank.
        As = cuda.shared.array((BK, TILE_PAD), T)
        Bs = cuda.shared.array((BK, TILE), T)
        acc = cuda.local.array((PT, PT), T)
        ar = cuda.local.array(PT, T)
        br = cuda.local.array(PT, T)
        m, kdim = a.shape
        n = b.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * TH + tx
        row0 = cuda.blockIdx.y * TILE
        col0 = cuda.blockIdx.x * TILE
        zero = like(p, 0.0)
        for i in range(PT):
            for j in range(PT):
                acc[i, j] = zero
        for k0 in range(0, kdim, BK):
            for r in range(PT):
                arow = tid // BK + (TH * TH // BK) * r
                ak = tid % BK
                gr = row0 + arow
                gk = k0 + ak
                As[ak, arow] = a[gr, gk] if (gr < m and gk < kdim) else zero
                bk = tid // TILE + (TH * TH // TILE) * r
                bc = tid % TILE
                gk = k0 + bk
                gc = col0 + bc
                Bs[bk, bc] = b[gk, gc] if (gk < kdim and gc < n) else zero
            cuda.syncthreads()
            for kk in range(BK):
                for i in range(PT):
                    ar[i] = As[kk, ty + TH * i]
                for j in range(PT):
                    br[j] = Bs[kk, tx + TH * j]
                for i in range(PT):
                    for j in range(PT):
                        acc[i, j] += ar[i] * br[j]
            cuda.syncthreads()
        for i in range(PT):
            r = row0 + ty + TH * i
            if r < m:
                for j in range(PT):
                    cc = col0 + tx + TH * j
                    if cc < n:
                        v = acc[i, j]
                        if has_bias:
                            v = v + bias[cc]
                        if store_pre:
                            pre[r, cc] = v
                        y[r, cc] = act_forward_scalar(code, v, p)

    A2, A1 = T[:, ::1], T[::1]
    return {
        "bias_act_forward": (
            bias_act_forward_kernel, void(int64, A2, A1, A2, A2, T, boolean, boolean)),
        "bias_act_backward": (
            bias_act_backward_kernel, void(int64, A2, A2, A2, A2, A1, uint32[::1], T, boolean, boolean)),
        "matmul_bias_act": (
            matmul_bias_act_kernel, void(int64, A2, A2, A1, A2, A2, T, boolean, boolean)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("linear", _cuda_sources)


# ============================================================== launchers

# Under this many elements, the identity's bias add is NumPy's add (the same bits: one addition each): the
# kernel's launch costs more than the add there (2 us more at 64x10; even at 16k elements).
SMALL_BIAS_ADD = 1 << 14


def _check_bias(op: str, bias: Any, cols: int) -> None:
    if bias is not None and tuple(bias.shape) != (cols,):
        raise ValueError(f"{op}: bias must have shape ({cols},), got {tuple(bias.shape)}")


def bias_act_forward(
    xp: Any,
    kind: str,
    z: Any,
    bias: Any,
    param: float = 0.0,
    *,
    impl: str | None = None,
    stream: Any = None,
) -> tuple[Any, Any]:
    """(pre, y) with pre = z + bias (bias (C,) broadcast over the rows of z,
    shape (..., C); may be None) and y = act(pre). pre is None unless the
    backward needs it (see the module docstring)."""
    code = CODES.get(kind)
    if (code is not None and bias is not None and plain_cpu_call(xp, impl, z) and bias.dtype is z.dtype
            and bias.shape == z.shape[-1:] and bias.flags.c_contiguous):
        dtype, impl = z.dtype, "cpu"  # every check below would pass (they cost microseconds per layer)
        if code == IDENTITY and z.size < SMALL_BIAS_ADD:  # NumPy's add costs less than the launch there
            return None, np.add(z, bias)
    else:
        op = f"linear.bias_act_forward[{kind}]"
        code = activation_code(op, kind, allow_identity=True)
        dtype, impl = float_dtype_and_impl(op, xp, impl, z=z, bias=bias)
        if z.ndim < 1:
            raise ValueError(f"{op}: z must have at least one dimension, got shape {tuple(z.shape)}")
        _check_bias(op, bias, z.shape[-1])
        if impl == "reference":
            return reference_bias_act_forward(xp, kind, z, bias, param)
        check_arrays_for(op, xp, impl, z=z, bias=bias)
        if bias is None and kind == "identity":
            return None, z
        z = contiguous(xp, z)
        bias = contiguous(xp, bias)
    store_pre = needs_pre(kind) and bias is not None
    y = xp.empty_like(z)
    pre = xp.empty_like(z) if store_pre else None
    z2 = z.reshape(-1, z.shape[-1])
    y2 = y.reshape(z2.shape)
    # Stand-ins for absent arrays are read-only inputs (never written or
    # read): the CUDA simulator copies every argument back after a launch.
    pre2 = z2 if pre is None else pre.reshape(z2.shape)
    bias1 = z2.reshape(-1)[:1] if bias is None else bias
    p = dtype.type(param)
    if impl == "cpu":
        b = np.zeros(z2.shape[1], dtype) if bias is None else bias  # a c-float read is free
        _bias_act_forward_cpu(z2.size, code, z2, b, pre2, y2, p, store_pre)
    else:
        launch(_cuda_kernel("bias_act_forward", dtype), (z2.shape[1], -(-z2.shape[0] // UNROLL)),
               (COLS_PER_BLOCK, ROWS_PER_BLOCK), cuda_stream(xp, stream),
               code, z2, bias1, pre2, y2, p, bias is not None, store_pre)
    if needs_pre(kind) and bias is None:
        pre = z
    return pre, y


def bias_act_backward(
    xp: Any,
    kind: str,
    gy: Any,
    saved: Any,
    param: float = 0.0,
    *,
    need_bias_grad: bool = True,
    impl: str | None = None,
    stream: Any = None,
) -> tuple[Any, Any]:
    """(gz, gbias): gz = act'(.) * gy and gbias = gz summed over all rows, in
    one pass. `saved` is y if SAVES_OUTPUT[kind] else pre (None for
    "identity", where gz is gy itself). gbias is None unless need_bias_grad."""
    code = CODES.get(kind)
    if code is not None and gy.ndim >= 1 and (
            plain_cpu_call(xp, impl, gy) if code == IDENTITY else saved is not None and plain_cpu_call(xp, impl, gy, saved)):
        dtype, impl, identity = gy.dtype, "cpu", code == IDENTITY  # every check below would pass
        saved = None if identity else saved
    else:
        op = f"linear.bias_act_backward[{kind}]"
        code = activation_code(op, kind, allow_identity=True)
        identity = code == IDENTITY
        if identity:
            saved = None
        elif saved is None:
            raise ValueError(f"{op}: saved ({'y' if SAVES_OUTPUT[kind] else 'pre'}) is required")
        dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, saved=saved)
        check_same_shape(op, gy=gy, saved=saved)
        if gy.ndim < 1:
            raise ValueError(f"{op}: gy must have at least one dimension, got shape {tuple(gy.shape)}")
        if impl == "reference":
            return reference_bias_act_backward(xp, kind, gy, saved, param, need_bias_grad=need_bias_grad)
        check_arrays_for(op, xp, impl, gy=gy, saved=saved)
        gy = contiguous(xp, gy)
        saved = contiguous(xp, saved)
    if identity and not need_bias_grad:
        return gy, None
    gy2 = gy.reshape(-1, gy.shape[-1])
    n, c = gy2.shape
    s2 = gy2 if identity else saved.reshape(gy2.shape)
    gz = gy if identity else xp.empty_like(gy)
    gz2 = gz.reshape(gy2.shape)
    p = dtype.type(param)
    if impl == "cpu":
        chunks = _row_chunks(n, c)  # also the parallelism when no bias grad is needed
        partial = np.empty((chunks, c if need_bias_grad else 1), dtype=dtype)
        if not gz2.flags.writeable:  # identity: gz is gy; Numba refuses a read-only array where the kernel writes
            gz2 = gz2.copy()
        _bias_act_backward_cpu(gy2.size, code, gy2, s2, gz2, partial, p, not identity, need_bias_grad)
        if not need_bias_grad:
            return gz, None
        if chunks == 1:  # one block's sums are the sums (adding one row in float64 rounds back to it)
            return gz, partial.reshape(c)
        return gz, np.add.reduce(partial, 0, np.float64).astype(dtype)
    gbias = xp.empty(c, dtype=dtype) if need_bias_grad else None
    stream = cuda_stream(xp, stream)
    block = (COLS_PER_BLOCK, ROWS_PER_BLOCK)
    work = (c, -(-n // UNROLL))  # threads cover UNROLL rows per trip
    grid, _ = launch_dims(work, block)
    partial = xp.empty((grid[1], c) if need_bias_grad else (1, 1), dtype=dtype)
    launch(_cuda_kernel("bias_act_backward", dtype), work, block, stream,
           code, gy2, s2, gz2, partial, partial[0] if gbias is None else gbias,
           ticket_counters(xp, stream, "linear.bias_act_backward", grid[0]), p, not identity, need_bias_grad)
    if need_bias_grad and n == 0:
        gbias[...] = 0
    return gz, gbias


def matmul_bias_act(
    xp: Any,
    a: Any,
    b: Any,
    bias: Any,
    kind: str,
    param: float = 0.0,
    *,
    impl: str | None = None,
    stream: Any = None,
) -> tuple[Any, Any]:
    """(pre, y) = bias_act_forward(a @ b + bias) for 2-D a (M, K), b (K, N).
    impl "cuda" runs the tiled kernel with the epilogue fused; "cpu" is BLAS
    followed by the CPU epilogue kernel; "reference" is xp.matmul + reference."""
    op = f"linear.matmul_bias_act[{kind}]"
    code = activation_code(op, kind, allow_identity=True)
    dtype, impl = float_dtype_and_impl(op, xp, impl, a=a, b=b, bias=bias)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"{op}: need a (M, K) and b (K, N), got a.shape={tuple(a.shape)}, "
                         f"b.shape={tuple(b.shape)}")
    _check_bias(op, bias, b.shape[1])
    if impl == "reference":
        return reference_matmul_bias_act(xp, a, b, bias, kind, param)
    check_arrays_for(op, xp, impl, a=a, b=b, bias=bias)
    if impl == "cpu":
        return bias_act_forward(xp, kind, xp.matmul(a, b), bias, param, impl="cpu")
    a = contiguous(xp, a)
    b = contiguous(xp, b)
    bias = contiguous(xp, bias)
    m, n = a.shape[0], b.shape[1]
    y = xp.empty((m, n), dtype=dtype)
    store_pre = needs_pre(kind)
    pre = xp.empty_like(y) if store_pre else None
    launch(_cuda_kernel("matmul_bias_act", dtype), (n, m), (MM_THREADS, MM_THREADS),
           cuda_stream(xp, stream), code, a, b, a.reshape(-1)[:1] if bias is None else bias,
           a if pre is None else pre, y, dtype.type(param), bias is not None, store_pre,
           grid_stride=False, per_thread=MM_PER_THREAD)
    return pre, y
