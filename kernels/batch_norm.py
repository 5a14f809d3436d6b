"""Batch normalisation over the channels of a 3-D (N, C, S) array: statistics, normalisation, backward.

Callers view an (N, C), (N, C, L) or (N, C, H, W) input as (N, C, S), S the product of the positions.
Per channel c, over its M = N * S values:

    training:  mean, var = mean(x), biased var(x)          eval: mean, var = the running statistics
    invstd = 1 / sqrt(var + eps),  y = (x - mean) * invstd * weight + bias
    backward:  gbias = sum(gy),  gweight = sum(gy * (x - mean)) * invstd
               training: gx = weight * invstd * (gy - gbias / M - (x - mean) * invstd * gweight / M)
               eval:     gx = weight * invstd * gy

The statistics take one pass over memory: each (row chunk, channel) pair sums its values and then their
squared deviations from its own mean while they are in cache (no E[x^2] - E[x]^2 cancellation); the
chunks are combined by the parallel-variance formula. The backward's two sums are chunk partials too.
On the CPU the partials of float32 input are float64, as PyTorch's CPU sums (its CUDA kernels and ours
sum in float32): mean, var, invstd and the parameter gradients within 0.5 ulp, rounded once.
Chunks split N into a fixed number of parts, never by thread count, so every result is the same on any
number of threads. Normalisation and the input gradient are one elementwise pass each, with per-channel
coefficients. The CUDA kernels give each (chunk, channel) pair a block with a shared-memory reduction,
and each (n, c) row of S values a row of lanes for the elementwise passes.
"""

from __future__ import annotations

from typing import Any

from numba import prange

from ._launch import (
    check_arrays_for,
    contiguous,
    cpu_kernel,
    cuda_family,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    like,
    numba_type,
)

PARTIAL_CHUNKS = 16  # row chunks of the per-channel sums (CPU and CUDA alike)
BLOCK = 128  # CUDA: threads per (chunk, channel) reduction block, and per elementwise block


# ============================================================== reference

def reference_forward(xp: Any, x: Any, weight: Any, bias: Any, eps: float, running_mean: Any = None,
                      running_var: Any = None, training: bool = True) -> tuple[Any, Any, Any, Any]:
    """(y, mean, invstd, var) for x (N, C, S); var is the biased batch variance in training, else the
    running variance. weight and bias (C,) or None."""
    dt = x.dtype
    if training:
        mean = x.mean(axis=(0, 2))
        centred = x - mean[None, :, None]
        var = (centred * centred).mean(axis=(0, 2))
    else:
        mean, var = running_mean, running_var
        centred = x - mean[None, :, None]
    invstd = 1 / xp.sqrt(var + eps)
    y = centred * invstd[None, :, None]
    if weight is not None:
        y = y * weight[None, :, None]
    if bias is not None:
        y = y + bias[None, :, None]
    return tuple(a.astype(dt, copy=False) for a in (y, mean, invstd, var))


def reference_backward(xp: Any, gy: Any, x: Any, mean: Any, invstd: Any, weight: Any,
                       training: bool = True) -> tuple[Any, Any, Any]:
    """(gx, gweight, gbias) from the upstream gradient and the forward's mean and invstd."""
    m = gy.shape[0] * gy.shape[2]
    centred = x - mean[None, :, None]
    gb = gy.sum(axis=(0, 2))
    gw = (gy * centred).sum(axis=(0, 2)) * invstd
    scale = invstd if weight is None else invstd * weight
    if training:
        gx = scale[None, :, None] * (gy - (gb / m)[None, :, None] - centred * (invstd * gw / m)[None, :, None])
    else:
        gx = scale[None, :, None] * gy
    dt = gy.dtype
    return gx.astype(dt, copy=False), gw.astype(dt, copy=False), gb.astype(dt, copy=False)


# ============================================================== CPU kernels

# As layer_norm's: reassoc lets the sums vectorise; nothing that changes NaN, inf or division results.
FASTMATH = {"reassoc", "nsz"}


@cpu_kernel(FASTMATH)
def _stats_cpu(x, partial_sum, partial_m2):
    # Task t = (chunk k, channel c): the sum of the chunk's values of channel c, then the sum of their
    # squared deviations from that chunk mean (the chunk's values are still in cache).
    n, c, s = x.shape
    chunks = partial_sum.shape[0]
    for t in prange(chunks * c):
        k = t // c
        ch = t - k * c
        n0 = k * n // chunks
        n1 = (k + 1) * n // chunks
        acc = like(partial_sum[0, 0], 0.0)
        for i in range(n0, n1):
            xr = x[i, ch]
            for j in range(s):
                acc += xr[j]
        m = acc / like(acc, (n1 - n0) * s)
        v = like(acc, 0.0)
        for i in range(n0, n1):
            xr = x[i, ch]
            for j in range(s):
                d = xr[j] - m
                v += d * d
        partial_sum[k, ch] = acc
        partial_m2[k, ch] = v


@cpu_kernel(FASTMATH)
def _grad_sums_cpu(gy, x, mean, partial_gb, partial_gxm):
    # Per (chunk, channel): sum(gy) and sum(gy * (x - mean)).
    n, c, s = x.shape
    chunks = partial_gb.shape[0]
    for t in prange(chunks * c):
        k = t // c
        ch = t - k * c
        sb = like(partial_gb[0, 0], 0.0)  # the partials' type: float64 for float32 input on the CPU
        sx = like(sb, 0.0)
        m = like(sb, mean[ch])
        for i in range(k * n // chunks, (k + 1) * n // chunks):
            gr = gy[i, ch]
            xr = x[i, ch]
            for j in range(s):
                g = gr[j]
                sb += g
                sx += g * (xr[j] - m)
        partial_gb[k, ch] = sb
        partial_gxm[k, ch] = sx


@cpu_kernel(FASTMATH)
def _normalise_cpu(x, mean, scale, shift, y):
    # y = (x - mean) * scale + shift, scale = invstd * weight and shift = bias per channel. Not
    # x * scale + (shift - mean * scale): that cancels when |mean| >> std.
    n, c, s = x.shape
    for t in prange(n * c):  # (sample, channel) pairs: an instance norm's single sample takes every thread
        i = t // c
        ch = t - i * c
        xr = x[i, ch]
        yr = y[i, ch]
        m = mean[ch]
        a = scale[ch]
        b = shift[ch]
        for j in range(s):
            yr[j] = (xr[j] - m) * a + b


@cpu_kernel(FASTMATH)
def _grad_input_cpu(gy, x, mean, a, cb, d, gx):
    # gx = a * (gy - cb) - d * (x - mean), per-channel a, cb, d (eval: cb = d = 0).
    n, c, s = x.shape
    for t in prange(n * c):  # as _normalise_cpu's
        i = t // c
        ch = t - i * c
        gr = gy[i, ch]
        xr = x[i, ch]
        out = gx[i, ch]
        m = mean[ch]
        ac = a[ch]
        bc = cb[ch]
        dc = d[ch]
        for j in range(s):
            out[j] = ac * (gr[j] - bc) - dc * (xr[j] - m)


# An (N, C) input (S = 1): the same sums and passes with the channels innermost, where they are contiguous
# (walking a channel's column instead cost 5 ns per element at 256 x 128, ten times these loops).

@cpu_kernel(FASTMATH)
def _stats_rows_cpu(x, partial_sum, partial_m2):
    n, c = x.shape
    chunks = partial_sum.shape[0]
    for k in prange(chunks):
        ps = partial_sum[k]
        pm = partial_m2[k]
        n0 = k * n // chunks
        n1 = (k + 1) * n // chunks
        for ch in range(c):
            ps[ch] = like(ps[ch], 0.0)
            pm[ch] = like(pm[ch], 0.0)
        for i in range(n0, n1):
            xi = x[i]
            for ch in range(c):
                ps[ch] += xi[ch]
        inv = like(ps[0], 1.0) / like(ps[0], n1 - n0)
        for i in range(n0, n1):
            xi = x[i]
            for ch in range(c):
                d = xi[ch] - ps[ch] * inv
                pm[ch] += d * d


@cpu_kernel(FASTMATH)
def _grad_sums_rows_cpu(gy, x, mean, partial_gb, partial_gxm):
    n, c = x.shape
    chunks = partial_gb.shape[0]
    for k in prange(chunks):
        pb = partial_gb[k]
        px = partial_gxm[k]
        for ch in range(c):
            pb[ch] = like(pb[ch], 0.0)
            px[ch] = like(px[ch], 0.0)
        for i in range(k * n // chunks, (k + 1) * n // chunks):
            gi = gy[i]
            xi = x[i]
            for ch in range(c):
                pb[ch] += gi[ch]
                px[ch] += gi[ch] * (like(px[ch], xi[ch]) - mean[ch])


@cpu_kernel(FASTMATH)
def _normalise_rows_cpu(x, mean, scale, shift, y):
    n, c = x.shape
    for i in prange(n):
        xi = x[i]
        yi = y[i]
        for ch in range(c):
            yi[ch] = (xi[ch] - mean[ch]) * scale[ch] + shift[ch]


@cpu_kernel(FASTMATH)
def _grad_input_rows_cpu(gy, x, mean, a, cb, d, gx):
    n, c = x.shape
    for i in prange(n):
        gi = gy[i]
        xi = x[i]
        oi = gx[i]
        for ch in range(c):
            oi[ch] = a[ch] * (gi[ch] - cb[ch]) - d[ch] * (xi[ch] - mean[ch])


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a global for the simulator)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import void

    T = numba_type(dtype)
    B = BLOCK
    HALF_B = BLOCK // 2

    # Block (k, c) of a (chunks, C) grid: chunk k's values of channel c, walked as (row, position) pairs.
    # With S >= B the lanes stride the positions of each row; with a short S (an (N, C) input has S = 1)
    # they stride the flattened pairs instead, or most lanes would idle. Tree reductions in shared
    # memory (the simulator has no warp shuffles); every thread reaches every barrier.
    def stats_kernel(x, partial_sum, partial_m2):
        red = cuda.shared.array(B, T)
        n, c, s = x.shape
        chunks = partial_sum.shape[0]
        k = cuda.blockIdx.x
        ch = cuda.blockIdx.y
        tx = cuda.threadIdx.x
        n0 = k * n // chunks
        n1 = (k + 1) * n // chunks
        acc = like(partial_sum[0, 0], 0.0)
        if s >= B:
            for i in range(n0, n1):
                for j in range(tx, s, B):
                    acc += x[i, ch, j]
        else:
            for t in range(tx, (n1 - n0) * s, B):
                acc += x[n0 + t // s, ch, t % s]
        red[tx] = acc
        cuda.syncthreads()
        off = HALF_B
        while off > 0:
            if tx < off:
                red[tx] += red[tx + off]
            cuda.syncthreads()
            off //= 2
        total = red[0]
        m = total / like(total, (n1 - n0) * s)
        cuda.syncthreads()
        v = like(total, 0.0)
        if s >= B:
            for i in range(n0, n1):
                for j in range(tx, s, B):
                    dv = x[i, ch, j] - m
                    v += dv * dv
        else:
            for t in range(tx, (n1 - n0) * s, B):
                dv = x[n0 + t // s, ch, t % s] - m
                v += dv * dv
        red[tx] = v
        cuda.syncthreads()
        off = HALF_B
        while off > 0:
            if tx < off:
                red[tx] += red[tx + off]
            cuda.syncthreads()
            off //= 2
        if tx == 0:
            partial_sum[k, ch] = total
            partial_m2[k, ch] = red[0]

    def grad_sums_kernel(gy, x, mean, partial_gb, partial_gxm):
        red = cuda.shared.array(B, T)
        red2 = cuda.shared.array(B, T)
        n, c, s = x.shape
        chunks = partial_gb.shape[0]
        k = cuda.blockIdx.x
        ch = cuda.blockIdx.y
        tx = cuda.threadIdx.x
        n0 = k * n // chunks
        n1 = (k + 1) * n // chunks
        m = mean[ch]
        sb = like(m, 0.0)
        sx = like(m, 0.0)
        if s >= B:
            for i in range(n0, n1):
                for j in range(tx, s, B):
                    g = gy[i, ch, j]
                    sb += g
                    sx += g * (x[i, ch, j] - m)
        else:
            for t in range(tx, (n1 - n0) * s, B):
                i = n0 + t // s
                j = t % s
                g = gy[i, ch, j]
                sb += g
                sx += g * (x[i, ch, j] - m)
        red[tx] = sb
        red2[tx] = sx
        cuda.syncthreads()
        off = HALF_B
        while off > 0:
            if tx < off:
                red[tx] += red[tx + off]
                red2[tx] += red2[tx + off]
            cuda.syncthreads()
            off //= 2
        if tx == 0:
            partial_gb[k, ch] = red[0]
            partial_gxm[k, ch] = red2[0]

    # Elementwise passes: rows r = i * C + c of S values; blockDim.x lanes share a row (B for long rows,
    # fewer for short ones, the rest of the block's B threads taking further rows), rows grid-strided.
    def normalise_kernel(x, mean, scale, shift, y):
        n, c, s = x.shape
        rows = n * c
        bx = cuda.blockDim.x
        by = cuda.blockDim.y
        tx = cuda.threadIdx.x
        for r in range(cuda.blockIdx.y * by + cuda.threadIdx.y, rows, cuda.gridDim.y * by):
            i = r // c
            ch = r - i * c
            m = mean[ch]
            a = scale[ch]
            b = shift[ch]
            for j in range(tx, s, bx):
                y[i, ch, j] = (x[i, ch, j] - m) * a + b

    def grad_input_kernel(gy, x, mean, a, cb, d, gx):
        n, c, s = x.shape
        rows = n * c
        bx = cuda.blockDim.x
        by = cuda.blockDim.y
        tx = cuda.threadIdx.x
        for r in range(cuda.blockIdx.y * by + cuda.threadIdx.y, rows, cuda.gridDim.y * by):
            i = r // c
            ch = r - i * c
            m = mean[ch]
            ac = a[ch]
            bc = cb[ch]
            dc = d[ch]
            for j in range(tx, s, bx):
                gx[i, ch, j] = ac * (gy[i, ch, j] - bc) - dc * (x[i, ch, j] - m)

    A3, A2, A1 = T[:, :, ::1], T[:, ::1], T[::1]
    return {
        "stats": (stats_kernel, void(A3, A2, A2)),
        "grad_sums": (grad_sums_kernel, void(A3, A3, A1, A2, A2)),
        "normalise": (normalise_kernel, void(A3, A1, A1, A1, A3)),
        "grad_input": (grad_input_kernel, void(A3, A3, A1, A1, A1, A1, A3)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("batch_norm", _cuda_sources)


# ============================================================== launchers

def _check(op: str, x: Any, **per_channel: Any) -> None:
    if x.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D (N, C, S) array, got shape {tuple(x.shape)}")
    for name, a in per_channel.items():
        if a is not None and tuple(a.shape) != (x.shape[1],):
            raise ValueError(f"{op}: {name} must have shape ({x.shape[1]},), got {tuple(a.shape)}")


_ROWS_TWIN = {_stats_cpu: _stats_rows_cpu, _grad_sums_cpu: _grad_sums_rows_cpu, _normalise_cpu: _normalise_rows_cpu,
              _grad_input_cpu: _grad_input_rows_cpu}


def _row_block(s: int) -> tuple[int, int]:
    """CUDA block (lanes per row, rows per block) for rows of s values: B threads in all."""
    lanes = 1
    while lanes < min(s, BLOCK):
        lanes *= 2
    return lanes, BLOCK // lanes


def _chunk_sums(xp: Any, impl: str, kind: str, cpu: Any, stream: Any, arrays: tuple, dtype: Any,
                n: int, c: int, work: int) -> tuple[Any, Any]:
    """Per (chunk, channel) partial sums, in float64 on the CPU (as PyTorch's CPU batch norm accumulates
    float32), in the input's dtype on CUDA (as PyTorch's CUDA kernels)."""
    chunks = max(1, min(PARTIAL_CHUNKS, n))
    acc = xp.float64 if impl == "cpu" else dtype
    p, q = xp.empty((chunks, c), dtype=acc), xp.empty((chunks, c), dtype=acc)
    if impl == "cpu":
        if arrays[0].shape[2] == 1:  # (N, C): the channels-innermost twin, on 2-D views
            cpu = _ROWS_TWIN[cpu]
            arrays = tuple(a[:, :, 0] if a.ndim == 3 else a for a in arrays)
        cpu(work, *arrays, p, q)
    else:
        launch(_cuda_kernel(kind, dtype), (BLOCK * chunks, c), (BLOCK, 1), stream, *arrays, p, q, grid_stride=False)
    return p, q


def _elementwise(xp: Any, impl: str, kind: str, cpu: Any, stream: Any, args: tuple, dtype: Any, shape: tuple) -> None:
    n, c, s = shape
    if impl == "cpu":
        if s == 1:
            cpu = _ROWS_TWIN[cpu]
            args = tuple(a[:, :, 0] if a.ndim == 3 else a for a in args)
        cpu(3 * n * c * s, *args)
    else:
        lanes, rows_per_block = _row_block(s)
        launch(_cuda_kernel(kind, dtype), (lanes, n * c), (lanes, rows_per_block), stream, *args)


def batch_norm_forward(xp: Any, x: Any, weight: Any, bias: Any, eps: float, running_mean: Any = None,
                       running_var: Any = None, *, training: bool = True, impl: str | None = None,
                       stream: Any = None) -> tuple[Any, Any, Any, Any]:
    """(y, mean, invstd, var) of x (N, C, S), each channel normalised: by its batch statistics when
    ``training`` (var the biased batch variance: the caller updates running statistics from it), else by
    ``running_mean`` and ``running_var`` (returned as mean and var). weight and bias (C,) or None."""
    op = "batch_norm.forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x, weight=weight, bias=bias, running_mean=running_mean,
                                       running_var=running_var)
    _check(op, x, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False")
    n, c, s = x.shape
    if impl == "reference" or x.size == 0 or (training and n * s == 0):
        return reference_forward(xp, x, weight, bias, eps, running_mean, running_var, training)
    check_arrays_for(op, xp, impl, x=x, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    x = contiguous(xp, x)
    stream = cuda_stream(xp, stream) if impl == "cuda" else None
    if training:
        psum, pm2 = _chunk_sums(xp, impl, "stats", _stats_cpu, stream, (x,), dtype, n, c, 2 * x.size)
        # The chunks' (count, sum, M2) combined: M2 = sum M2_k + sum count_k (mean_k - mean)^2.
        chunks = psum.shape[0]
        acc = psum.dtype
        ks = xp.arange(chunks)  # made on the device: no host copy inside a captured CUDA graph
        counts = (((ks + 1) * n // chunks - ks * n // chunks) * s).astype(acc)
        mean = psum.sum(axis=0) / acc.type(n * s)
        dev = psum / counts[:, None] - mean
        var = (pm2.sum(axis=0) + (counts[:, None] * dev * dev).sum(axis=0)) / acc.type(n * s)
        # invstd from the accumulated var, then each rounded once to the input's dtype
        invstd = (acc.type(1.0) / xp.sqrt(var + acc.type(eps))).astype(dtype, copy=False)
        mean, var = mean.astype(dtype, copy=False), var.astype(dtype, copy=False)
    else:
        mean, var = contiguous(xp, running_mean), contiguous(xp, running_var)
        invstd = (dtype.type(1.0) / xp.sqrt(var + dtype.type(eps))).astype(dtype, copy=False)
    scale = invstd if weight is None else invstd * weight
    shift = xp.zeros(c, dtype=dtype) if bias is None else contiguous(xp, bias)
    y = xp.empty_like(x)
    _elementwise(xp, impl, "normalise", _normalise_cpu, stream, (x, mean, contiguous(xp, scale), shift, y), dtype,
                 x.shape)
    return y, mean, invstd, var


def batch_norm_backward(xp: Any, gy: Any, x: Any, mean: Any, invstd: Any, weight: Any, *, training: bool = True,
                        need_param_grads: bool = True, impl: str | None = None,
                        stream: Any = None) -> tuple[Any, Any, Any]:
    """(gx, gweight, gbias) of batch_norm_forward with the mean and invstd it returned; the last two None
    without ``need_param_grads`` (training always forms the sums, which gx needs)."""
    op = "batch_norm.backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, x=x, mean=mean, invstd=invstd, weight=weight)
    _check(op, x, mean=mean, invstd=invstd, weight=weight)
    if tuple(gy.shape) != tuple(x.shape):
        raise ValueError(f"{op}: gy {tuple(gy.shape)} does not fit x {tuple(x.shape)}")
    n, c, s = x.shape
    if impl == "reference" or x.size == 0:
        gx, gw, gb = reference_backward(xp, gy, x, mean, invstd, weight, training)
        return (gx, gw, gb) if need_param_grads else (gx, None, None)
    check_arrays_for(op, xp, impl, gy=gy, x=x, mean=mean, invstd=invstd, weight=weight)
    gy, x, mean, invstd = (contiguous(xp, a) for a in (gy, x, mean, invstd))
    stream = cuda_stream(xp, stream) if impl == "cuda" else None
    gw = gb = None
    a = invstd if weight is None else invstd * weight
    if training or need_param_grads:
        pgb, pgxm = _chunk_sums(xp, impl, "grad_sums", _grad_sums_cpu, stream, (gy, x, mean), dtype, n, c,
                                2 * x.size)
        gb, gxm = pgb.sum(axis=0), pgxm.sum(axis=0)  # in the partials' type (float64 on the CPU)
        gw = (gxm * invstd).astype(dtype, copy=False)
    if training:
        m = gb.dtype.type(n * s)
        cb = (gb / m).astype(dtype, copy=False)
        d = (a * invstd * invstd * gxm / m).astype(dtype, copy=False)
    else:
        cb = d = xp.zeros(c, dtype=dtype)
    gb = None if gb is None else gb.astype(dtype, copy=False)
    gx = xp.empty_like(x)
    _elementwise(xp, impl, "grad_input", _grad_input_cpu, stream,
                 (gy, x, mean, contiguous(xp, a), contiguous(xp, cb), contiguous(xp, d), gx), dtype, x.shape)
    return (gx, gw, gb) if need_param_grads else (gx, None, None)
