"""LSTM and GRU cells: the pointwise part of one time step (everything after the two gate GEMMs the caller
runs with BLAS/cuBLAS), forward and backward in one pass each.

LSTM, gates (N, 4H) in PyTorch's order i, f, g, o (pre-activation) and c_prev (N, H)::

    i, f, o = sigmoid(gates_i, gates_f, gates_o);  g = tanh(gates_g)
    c = f * c_prev + i * g;  h = o * tanh(c)

The forward also writes ``ws`` (N, 5H) = i, f, g, o, tanh(c), which the backward reads with c_prev: with
tanh(c) stored the backward is arithmetic only (no exp), and the state c itself is not needed.

Every sigmoid is 1 / (1 + exp(-x)) in its stable form and every tanh a tanh: in CPU kernels the
vectorisable exp and tanh of _vmath (libm's, which Numba without SVML calls per element, kept the loops
scalar), in CUDA kernels CUDA's own (the _vmath overloads for CUDA).

GRU, input gates gi (N, 3H) = x W_ih^T + b_ih and hidden gates gh (N, 3H) = h_prev W_hh^T + b_hh in
PyTorch's order r, z, n, and h_prev (N, H)::

    r = sigmoid(gi_r + gh_r);  z = sigmoid(gi_z + gh_z);  n = tanh(gi_n + r * gh_n)
    h = (1 - z) * n + z * h_prev

The forward also writes ``ws`` (N, 4H) = r, z, n, gh_n: all the backward needs besides h_prev.
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
    scalar_fn,
)
from ._vmath import exp as vector_exp
from ._vmath import tanh as vector_tanh

# Fused multiply-adds only. The loops have no reductions, so they vectorise without `reassoc`, and with it
# LLVM re-associated _vmath.exp's two-part range reduction in float64: sigmoid at |x| ~ 20-80 came out 22
# ulp off (2.4 without it; float32 2.4 either way). It was worth 3-8% of speed.
FASTMATH = {"contract"}

# ============================================================== reference


def _sigmoid(xp: Any, x: Any) -> Any:
    z = xp.exp(-xp.abs(x))  # never overflows
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))


def reference_lstm_forward(xp: Any, gates: Any, c_prev: Any) -> tuple[Any, Any, Any]:
    """(h, c, ws) of one LSTM step (module docstring); the readable spec and the test oracle."""
    hs = c_prev.shape[-1]
    i = _sigmoid(xp, gates[:, :hs])
    f = _sigmoid(xp, gates[:, hs:2 * hs])
    g = xp.tanh(gates[:, 2 * hs:3 * hs])
    o = _sigmoid(xp, gates[:, 3 * hs:])
    c = f * c_prev + i * g
    tc = xp.tanh(c)
    ws = xp.concatenate([i, f, g, o, tc], axis=1)
    dt = gates.dtype
    return (o * tc).astype(dt, copy=False), c.astype(dt, copy=False), ws.astype(dt, copy=False)


def reference_lstm_backward(xp: Any, gh: Any, gc: Any, ws: Any, c_prev: Any) -> tuple[Any, Any]:
    """(d gates, d c_prev) from the gradients gh, gc of h and c and what the forward saved."""
    hs = c_prev.shape[-1]
    i, f, g, o, tc = (ws[:, k * hs:(k + 1) * hs] for k in range(5))
    dc = gc + gh * o * (1 - tc * tc)  # c's total gradient: directly and through h
    d_gates = xp.concatenate([
        dc * g * i * (1 - i),
        dc * c_prev * f * (1 - f),
        dc * i * (1 - g * g),
        gh * tc * o * (1 - o),
    ], axis=1)
    dt = gh.dtype
    return d_gates.astype(dt, copy=False), (dc * f).astype(dt, copy=False)


def reference_gru_forward(xp: Any, gi: Any, gh: Any, h_prev: Any) -> tuple[Any, Any]:
    """(h, ws) of one GRU step (module docstring), ws = r, z, n, gh_n side by side."""
    hs = h_prev.shape[-1]
    r = _sigmoid(xp, gi[:, :hs] + gh[:, :hs])
    z = _sigmoid(xp, gi[:, hs:2 * hs] + gh[:, hs:2 * hs])
    gh_n = gh[:, 2 * hs:]
    n = xp.tanh(gi[:, 2 * hs:] + r * gh_n)
    h = (1 - z) * n + z * h_prev
    ws = xp.concatenate([r, z, n, gh_n], axis=1)
    dt = gi.dtype
    return h.astype(dt, copy=False), ws.astype(dt, copy=False)


def reference_gru_backward(xp: Any, gy: Any, ws: Any, h_prev: Any) -> tuple[Any, Any, Any]:
    """(d gi, d gh, d h_prev) from the gradient gy of h and what the forward saved."""
    hs = h_prev.shape[-1]
    r, z, n, gh_n = (ws[:, k * hs:(k + 1) * hs] for k in range(4))
    dn = gy * (1 - z) * (1 - n * n)  # through n's tanh
    dz = gy * (h_prev - n) * z * (1 - z)
    dr = dn * gh_n * r * (1 - r)
    dt = gy.dtype
    d_gi = xp.concatenate([dr, dz, dn], axis=1).astype(dt, copy=False)
    d_gh = xp.concatenate([dr, dz, dn * r], axis=1).astype(dt, copy=False)
    return d_gi, d_gh, (gy * z).astype(dt, copy=False)


# ============================================================== scalar math

@scalar_fn
def sigmoid_of(x):
    # exp(-|x|) never overflows, unlike 1/(1+exp(-x)) at x << 0.
    one = like(x, 1.0)
    e = vector_exp(-abs(x))
    return (one if x >= like(x, 0.0) else e) / (one + e)


@scalar_fn
def lstm_gates_scalar(zi, zf, zg, zo, cp):
    """(i, f, g, o, c) of one LSTM element."""
    i = sigmoid_of(zi)
    f = sigmoid_of(zf)
    g = vector_tanh(zg)
    o = sigmoid_of(zo)
    return i, f, g, o, f * cp + i * g


@scalar_fn
def lstm_bwd_scalar(gh, gc, i, f, g, o, tc, cp):
    """(d zi, d zf, d zg, d zo, d c_prev) of one LSTM element."""
    one = like(tc, 1.0)
    dc = gc + gh * o * (one - tc * tc)
    return dc * g * i * (one - i), dc * cp * f * (one - f), dc * i * (one - g * g), gh * tc * o * (one - o), dc * f


@scalar_fn
def gru_fwd_scalar(ir, iz, i_n, hr, hz, hn, hp):
    """(r, z, n, h) of one GRU element."""
    r = sigmoid_of(ir + hr)
    z = sigmoid_of(iz + hz)
    n = vector_tanh(i_n + r * hn)
    return r, z, n, (like(hp, 1.0) - z) * n + z * hp


@scalar_fn
def gru_bwd_scalar(gy, r, z, n, hn, hp):
    """(d r-gate, d z-gate, d gi_n, d gh_n, d h_prev) of one GRU element (the r and z gate gradients are
    the same for gi and gh)."""
    one = like(z, 1.0)
    dn = gy * (one - z) * (one - n * n)
    dz = gy * (hp - n) * z * (one - z)
    dr = dn * hn * r * (one - r)
    return dr, dz, dn, dn * r, gy * z


# ============================================================== CPU kernels
# Per row, one loop per block written: a loop never writes one block of an array while it reads or writes
# another block of the same array. LLVM guards a vectorised loop with run-time overlap checks between the
# arrays it reads and writes, and hoists them out of the row loop (LLVM's hoist-runtime-checks), so that
# they compare each access's range over all rows: there two blocks of one (N, kH) array always overlap,
# the check failed whenever N > 1, and the loop ran scalar (the LSTM forward: 34 ns per element against
# 2.6 for N = 1). tests/kernels/test_recurrent.py checks the loops for vector code and no exp or tanh
# call, and times 64 rows against one.

@cpu_kernel(FASTMATH)
def _lstm_forward_cpu(gates, c_prev, h, c, ws):
    n, hs = c_prev.shape
    for b in prange(n):
        for j in range(2 * hs):  # i and f, side by side
            ws[b, j] = sigmoid_of(gates[b, j])
        for j in range(hs):
            ws[b, 2 * hs + j] = vector_tanh(gates[b, 2 * hs + j])
        for j in range(hs):
            ws[b, 3 * hs + j] = sigmoid_of(gates[b, 3 * hs + j])
        for j in range(hs):
            c[b, j] = ws[b, hs + j] * c_prev[b, j] + ws[b, j] * ws[b, 2 * hs + j]
        for j in range(hs):
            ws[b, 4 * hs + j] = vector_tanh(c[b, j])
        for j in range(hs):
            h[b, j] = ws[b, 3 * hs + j] * ws[b, 4 * hs + j]


@cpu_kernel(FASTMATH)
def _lstm_backward_cpu(gh, gc, ws, c_prev, d_gates, d_c_prev):
    # lstm_bwd_scalar's formulas, a block at a time; c's total gradient dc waits in d_c_prev.
    n, hs = c_prev.shape
    for b in prange(n):
        for j in range(hs):
            tc = ws[b, 4 * hs + j]
            d_c_prev[b, j] = gc[b, j] + gh[b, j] * ws[b, 3 * hs + j] * (like(tc, 1.0) - tc * tc)
        for j in range(hs):
            i = ws[b, j]
            d_gates[b, j] = d_c_prev[b, j] * ws[b, 2 * hs + j] * i * (like(i, 1.0) - i)
        for j in range(hs):
            f = ws[b, hs + j]
            d_gates[b, hs + j] = d_c_prev[b, j] * c_prev[b, j] * f * (like(f, 1.0) - f)
        for j in range(hs):
            g = ws[b, 2 * hs + j]
            d_gates[b, 2 * hs + j] = d_c_prev[b, j] * ws[b, j] * (like(g, 1.0) - g * g)
        for j in range(hs):
            o = ws[b, 3 * hs + j]
            d_gates[b, 3 * hs + j] = gh[b, j] * ws[b, 4 * hs + j] * o * (like(o, 1.0) - o)
        for j in range(hs):
            d_c_prev[b, j] = d_c_prev[b, j] * ws[b, hs + j]


@cpu_kernel(FASTMATH)
def _gru_forward_cpu(gi, gh, h_prev, h, ws):
    # gru_fwd_scalar's formulas, a block at a time; n waits in h.
    n, hs = h_prev.shape
    for b in prange(n):
        for j in range(2 * hs):  # r and z, side by side
            ws[b, j] = sigmoid_of(gi[b, j] + gh[b, j])
        for j in range(hs):
            h[b, j] = vector_tanh(gi[b, 2 * hs + j] + ws[b, j] * gh[b, 2 * hs + j])
        for j in range(hs):
            ws[b, 2 * hs + j] = h[b, j]
        for j in range(hs):
            ws[b, 3 * hs + j] = gh[b, 2 * hs + j]
        for j in range(hs):
            z = ws[b, hs + j]
            h[b, j] = (like(z, 1.0) - z) * h[b, j] + z * h_prev[b, j]


@cpu_kernel(FASTMATH)
def _gru_backward_cpu(gy, ws, h_prev, d_gi, d_gh, d_h_prev):
    # gru_bwd_scalar's formulas, a block at a time: the r and z gradients go to d_gh, then are copied.
    n, hs = h_prev.shape
    for b in prange(n):
        for j in range(hs):  # dn
            z, nn = ws[b, hs + j], ws[b, 2 * hs + j]
            d_gi[b, 2 * hs + j] = gy[b, j] * (like(z, 1.0) - z) * (like(nn, 1.0) - nn * nn)
        for j in range(hs):  # dr
            r = ws[b, j]
            d_gh[b, j] = d_gi[b, 2 * hs + j] * ws[b, 3 * hs + j] * r * (like(r, 1.0) - r)
        for j in range(hs):  # dz
            z = ws[b, hs + j]
            d_gh[b, hs + j] = gy[b, j] * (h_prev[b, j] - ws[b, 2 * hs + j]) * z * (like(z, 1.0) - z)
        for j in range(hs):
            d_gh[b, 2 * hs + j] = d_gi[b, 2 * hs + j] * ws[b, j]
        for j in range(2 * hs):
            d_gi[b, j] = d_gh[b, j]
        for j in range(hs):
            d_h_prev[b, j] = gy[b, j] * ws[b, hs + j]


# ============================================================== CUDA kernels

# numba.cuda, bound on first use: a module global because the simulator swaps globals that are numba.cuda.
cuda: Any = None


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import int64, void

    T = numba_type(dtype)
    A2 = T[:, ::1]

    # One thread per (row, unit), grid-stride; consecutive threads take consecutive units of a row, so
    # each of the four (three) gate blocks is read coalesced.
    def lstm_forward_kernel(gates, c_prev, h, c, ws):
        n, hs = c_prev.shape
        total = int64(n) * hs
        k = int64(cuda.grid(1))
        step = int64(cuda.gridsize(1))
        while k < total:
            b = k // hs
            j = k - b * hs
            i, f, g, o, cc = lstm_gates_scalar(gates[b, j], gates[b, hs + j], gates[b, 2 * hs + j],
                                               gates[b, 3 * hs + j], c_prev[b, j])
            tc = vector_tanh(cc)
            ws[b, j] = i
            ws[b, hs + j] = f
            ws[b, 2 * hs + j] = g
            ws[b, 3 * hs + j] = o
            ws[b, 4 * hs + j] = tc
            c[b, j] = cc
            h[b, j] = o * tc
            k += step

    def lstm_backward_kernel(gh, gc, ws, c_prev, d_gates, d_c_prev):
        n, hs = c_prev.shape
        total = int64(n) * hs
        k = int64(cuda.grid(1))
        step = int64(cuda.gridsize(1))
        while k < total:
            b = k // hs
            j = k - b * hs
            di, df, dg, do, dcp = lstm_bwd_scalar(gh[b, j], gc[b, j], ws[b, j], ws[b, hs + j], ws[b, 2 * hs + j],
                                                  ws[b, 3 * hs + j], ws[b, 4 * hs + j], c_prev[b, j])
            d_gates[b, j] = di
            d_gates[b, hs + j] = df
            d_gates[b, 2 * hs + j] = dg
            d_gates[b, 3 * hs + j] = do
            d_c_prev[b, j] = dcp
            k += step

    def gru_forward_kernel(gi, gh, h_prev, h, ws):
        n, hs = h_prev.shape
        total = int64(n) * hs
        k = int64(cuda.grid(1))
        step = int64(cuda.gridsize(1))
        while k < total:
            b = k // hs
            j = k - b * hs
            hn = gh[b, 2 * hs + j]
            r, z, nn, hh = gru_fwd_scalar(gi[b, j], gi[b, hs + j], gi[b, 2 * hs + j],
                                          gh[b, j], gh[b, hs + j], hn, h_prev[b, j])
            ws[b, j] = r
            ws[b, hs + j] = z
            ws[b, 2 * hs + j] = nn
            ws[b, 3 * hs + j] = hn
            h[b, j] = hh
            k += step

    def gru_backward_kernel(gy, ws, h_prev, d_gi, d_gh, d_h_prev):
        n, hs = h_prev.shape
        total = int64(n) * hs
        k = int64(cuda.grid(1))
        step = int64(cuda.gridsize(1))
        while k < total:
            b = k // hs
            j = k - b * hs
            dr, dz, dn, dhn, dhp = gru_bwd_scalar(gy[b, j], ws[b, j], ws[b, hs + j], ws[b, 2 * hs + j],
                                                  ws[b, 3 * hs + j], h_prev[b, j])
            d_gi[b, j] = dr
            d_gi[b, hs + j] = dz
            d_gi[b, 2 * hs + j] = dn
            d_gh[b, j] = dr
            d_gh[b, hs + j] = dz
            d_gh[b, 2 * hs + j] = dhn
            d_h_prev[b, j] = dhp
            k += step

    return {
        "lstm_forward": (lstm_forward_kernel, void(A2, A2, A2, A2, A2)),
        "lstm_backward": (lstm_backward_kernel, void(A2, A2, A2, A2, A2, A2)),
        "gru_forward": (gru_forward_kernel, void(A2, A2, A2, A2, A2)),
        "gru_backward": (gru_backward_kernel, void(A2, A2, A2, A2, A2, A2)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("recurrent", _cuda_sources)

BLOCK = 256


# ============================================================== launchers

def _check_shapes(op: str, state: Any, gate_count: int, **gates: Any) -> int:
    """H from the (N, H) state; every gate array must be (N, gate_count * H)."""
    if state.ndim != 2:
        raise ValueError(f"{op}: the state must be 2-D (N, H), got shape {tuple(state.shape)}")
    n, hs = state.shape
    for k, a in gates.items():
        if tuple(a.shape) != (n, gate_count * hs):
            raise ValueError(f"{op}: {k} must have shape ({n}, {gate_count * hs}) for a state of shape "
                             f"({n}, {hs}), got {tuple(a.shape)}")
    return hs


def _check_state_like(op: str, state: Any, **others: Any) -> None:
    for k, a in others.items():
        if tuple(a.shape) != tuple(state.shape):
            raise ValueError(f"{op}: {k} must have shape {tuple(state.shape)}, got {tuple(a.shape)}")


def lstm_forward(xp: Any, gates: Any, c_prev: Any, *, impl: str | None = None,
                 stream: Any = None) -> tuple[Any, Any, Any]:
    """(h, c, ws) of one LSTM step: gates (N, 4H) pre-activation, order i, f, g, o; c_prev (N, H).
    ws (N, 5H) = i, f, g, o, tanh(c), for lstm_backward."""
    op = "recurrent.lstm_forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gates=gates, c_prev=c_prev)
    _check_shapes(op, c_prev, 4, gates=gates)
    if impl == "reference":
        return reference_lstm_forward(xp, gates, c_prev)
    check_arrays_for(op, xp, impl, gates=gates, c_prev=c_prev)
    gates, c_prev = contiguous(xp, gates), contiguous(xp, c_prev)
    n, hs = c_prev.shape
    h, c, ws = xp.empty_like(c_prev), xp.empty_like(c_prev), xp.empty((n, 5 * hs), dtype=dtype)
    if impl == "cpu":
        _lstm_forward_cpu(gates.size + 8 * c_prev.size, gates, c_prev, h, c, ws)
    else:
        launch(_cuda_kernel("lstm_forward", dtype), c_prev.size, BLOCK, cuda_stream(xp, stream),
               gates, c_prev, h, c, ws)
    return h, c, ws


def lstm_backward(xp: Any, gh: Any, gc: Any, ws: Any, c_prev: Any, *, impl: str | None = None,
                  stream: Any = None) -> tuple[Any, Any]:
    """(d gates (N, 4H), d c_prev (N, H)) from the gradients gh, gc (N, H) of h and c, and ws, c_prev as
    lstm_forward made and saw them."""
    op = "recurrent.lstm_backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gh=gh, gc=gc, ws=ws, c_prev=c_prev)
    _check_shapes(op, c_prev, 5, ws=ws)
    _check_state_like(op, c_prev, gh=gh, gc=gc)
    if impl == "reference":
        return reference_lstm_backward(xp, gh, gc, ws, c_prev)
    check_arrays_for(op, xp, impl, gh=gh, gc=gc, ws=ws, c_prev=c_prev)
    gh, gc, ws, c_prev = (contiguous(xp, a) for a in (gh, gc, ws, c_prev))
    n, hs = c_prev.shape
    d_gates, d_c_prev = xp.empty((n, 4 * hs), dtype=dtype), xp.empty_like(c_prev)
    if impl == "cpu":
        _lstm_backward_cpu(ws.size + 8 * c_prev.size, gh, gc, ws, c_prev, d_gates, d_c_prev)
    else:
        launch(_cuda_kernel("lstm_backward", dtype), c_prev.size, BLOCK, cuda_stream(xp, stream),
               gh, gc, ws, c_prev, d_gates, d_c_prev)
    return d_gates, d_c_prev


def gru_forward(xp: Any, gi: Any, gh: Any, h_prev: Any, *, impl: str | None = None,
                stream: Any = None) -> tuple[Any, Any]:
    """(h, ws) of one GRU step: gi, gh (N, 3H) input and hidden gates (biases included), order r, z, n;
    h_prev (N, H). ws (N, 4H) = r, z, n, gh_n, for gru_backward."""
    op = "recurrent.gru_forward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gi=gi, gh=gh, h_prev=h_prev)
    _check_shapes(op, h_prev, 3, gi=gi, gh=gh)
    if impl == "reference":
        return reference_gru_forward(xp, gi, gh, h_prev)
    check_arrays_for(op, xp, impl, gi=gi, gh=gh, h_prev=h_prev)
    gi, gh, h_prev = (contiguous(xp, a) for a in (gi, gh, h_prev))
    n, hs = h_prev.shape
    h, ws = xp.empty_like(h_prev), xp.empty((n, 4 * hs), dtype=dtype)
    if impl == "cpu":
        _gru_forward_cpu(2 * gi.size + 6 * h_prev.size, gi, gh, h_prev, h, ws)
    else:
        launch(_cuda_kernel("gru_forward", dtype), h_prev.size, BLOCK, cuda_stream(xp, stream),
               gi, gh, h_prev, h, ws)
    return h, ws


def gru_backward(xp: Any, gy: Any, ws: Any, h_prev: Any, *, impl: str | None = None,
                 stream: Any = None) -> tuple[Any, Any, Any]:
    """(d gi (N, 3H), d gh (N, 3H), d h_prev (N, H)) from the gradient gy (N, H) of h, and ws, h_prev as
    gru_forward saw and made them."""
    op = "recurrent.gru_backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy, ws=ws, h_prev=h_prev)
    _check_shapes(op, h_prev, 4, ws=ws)
    _check_state_like(op, h_prev, gy=gy)
    if impl == "reference":
        return reference_gru_backward(xp, gy, ws, h_prev)
    check_arrays_for(op, xp, impl, gy=gy, ws=ws, h_prev=h_prev)
    gy, ws, h_prev = (contiguous(xp, a) for a in (gy, ws, h_prev))
    n, hs = h_prev.shape
    d_gi, d_gh, d_h_prev = xp.empty((n, 3 * hs), dtype=dtype), xp.empty((n, 3 * hs), dtype=dtype), xp.empty_like(h_prev)
    if impl == "cpu":
        _gru_backward_cpu(ws.size + 9 * h_prev.size, gy, ws, h_prev, d_gi, d_gh, d_h_prev)
    else:
        launch(_cuda_kernel("gru_backward", dtype), h_prev.size, BLOCK, cuda_stream(xp, stream),
               gy, ws, h_prev, d_gi, d_gh, d_h_prev)
    return d_gi, d_gh, d_h_prev
