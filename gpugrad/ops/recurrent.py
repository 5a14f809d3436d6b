"""Recurrent cells: ``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell`` (PyTorch's
``torch.lstm_cell`` ...), on the fused gate kernels of kernels/recurrent.py.

``lstm_pointwise`` and ``gru_pointwise`` are the cells' pointwise parts as ops of their own (what the
layers in nn/rnn.py run per time step, after the gate GEMMs): one fused kernel pass forward and one
backward. Their backward is differentiable: with ``create_graph=True`` it is written in Tensor ops, so
second derivatives come from the engine.
"""
from __future__ import annotations

from ..amp.policy import LOWER_PRECISION, autocast_policy
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.reduced_float import is_reduced
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..kernels import recurrent as krec
from ..tensor import Tensor
from .linear import linear_act
from .shape import cat, stack, unbind


def _check_floats(op: str, **tensors: Tensor) -> None:
    """Tensors of one floating dtype (the first one's)."""
    first = None
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t._array.dtype.kind not in FLOAT_KINDS:
            raise DTypeError(f"{op}: expected floating point tensors, got {name} of dtype {t.dtype}")
        if first is None:
            first = name, t
        elif t._array.dtype != first[1]._array.dtype:
            raise DTypeError(f"{op}: expected tensors of one dtype, got {name} {t.dtype} and {first[0]} {first[1].dtype}")


def _check_pointwise(op: str, state_name: str, state: Tensor, gate_count: int, **gates: Tensor) -> None:
    _check_floats(op, **{state_name: state}, **gates)
    if state.ndim == 0:
        raise ShapeError(f"{op}: {state_name} must have at least one dimension (..., H), got a 0-d tensor")
    hs = state.shape[-1]
    for name, t in gates.items():
        expected = tuple(state.shape[:-1]) + (gate_count * hs,)
        if tuple(t.shape) != expected:
            raise ShapeError(f"{op}: {name} must have shape {expected} ({gate_count} gates of hidden size {hs}) "
                             f"for {state_name} of shape {tuple(state.shape)}, got {tuple(t.shape)}")


def _rows(a, width: int):
    return a.reshape(-1, width)


def _in_tensor_ops(t: Tensor) -> bool:
    """Whether backward runs in Tensor ops rather than the one-pass kernel: to be differentiated again
    (create_graph), or in a reduced float (``t``'s: each Tensor op then computes in float32)."""
    return is_grad_enabled() or is_reduced(t._array)


# LSTM ------------------------------------------------------------------------------------------------
class LSTMPointwise(Op):
    """(h, c) from the gate pre-activations (..., 4H) and c_prev (..., H): one kernel pass
    (kernels.recurrent.lstm_forward); backward one pass too (lstm_backward)."""

    name = "lstm_pointwise"

    @staticmethod
    def forward(ctx, gates, c_prev):
        hs = c_prev.shape[-1]
        h, c, ws = krec.lstm_forward(ctx.xp, _rows(gates, 4 * hs), _rows(c_prev, hs), impl=ctx.backend.kernel_impl)
        ctx.save_for_backward(gates, c_prev, ws)
        return h.reshape(c_prev.shape), c.reshape(c_prev.shape)

    @staticmethod
    def backward(ctx, gh, gc):
        gates, c_prev, ws = ctx.saved_tensors
        if _in_tensor_ops(gh):
            return _lstm_backward_composite(gh, gc, gates, c_prev)
        hs = c_prev.shape[-1]
        backend = ctx.backend
        d_gates, d_c_prev = krec.lstm_backward(
            ctx.xp, _rows(gh._array, hs), _rows(gc._array, hs), ws._array, _rows(c_prev._array, hs),
            impl=backend.kernel_impl,
        )
        return (Tensor._make(d_gates.reshape(gates.shape), backend),
                Tensor._make(d_c_prev.reshape(c_prev.shape), backend) if ctx.needs_input_grad[1] else None)


def _lstm_backward_composite(gh: Tensor, gc: Tensor, gates: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """lstm_backward's formula in Tensor ops (kernels/recurrent.py, reference_lstm_backward)."""
    hs = c_prev.shape[-1]
    i = gates[..., :hs].sigmoid()
    f = gates[..., hs:2 * hs].sigmoid()
    g = gates[..., 2 * hs:3 * hs].tanh()
    o = gates[..., 3 * hs:].sigmoid()
    tc = (f * c_prev + i * g).tanh()
    dc = gc + gh * o * (1 - tc * tc)
    d_gates = cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g), gh * tc * o * (1 - o)], dim=-1)
    return d_gates, dc * f


def lstm_pointwise(gates: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step after its GEMMs: gates (..., 4H) pre-activation in PyTorch's order i, f, g, o
    and c_prev (..., H) give ``(h, c)`` with c = sigmoid(f) * c_prev + sigmoid(i) * tanh(g) and
    h = sigmoid(o) * tanh(c). One fused kernel pass forward and one backward."""
    _check_pointwise("lstm_pointwise", "c_prev", c_prev, 4, gates=gates)
    return LSTMPointwise.apply(gates, c_prev)


# GRU -------------------------------------------------------------------------------------------------
class GRUPointwise(Op):
    """h from the input gates gi, hidden gates gh (..., 3H) and h_prev (..., H): one kernel pass
    (kernels.recurrent.gru_forward); backward one pass too (gru_backward)."""

    name = "gru_pointwise"

    @staticmethod
    def forward(ctx, gi, gh, h_prev):
        hs = h_prev.shape[-1]
        h, ws = krec.gru_forward(ctx.xp, _rows(gi, 3 * hs), _rows(gh, 3 * hs), _rows(h_prev, hs),
                                 impl=ctx.backend.kernel_impl)
        ctx.save_for_backward(gi, gh, h_prev, ws)
        return h.reshape(h_prev.shape)

    @staticmethod
    def backward(ctx, gy):
        gi, gh, h_prev, ws = ctx.saved_tensors
        if _in_tensor_ops(gy):
            return _gru_backward_composite(gy, gi, gh, h_prev)
        hs = h_prev.shape[-1]
        backend = ctx.backend
        d_gi, d_gh, d_h_prev = krec.gru_backward(ctx.xp, _rows(gy._array, hs), ws._array, _rows(h_prev._array, hs),
                                                 impl=backend.kernel_impl)
        need = ctx.needs_input_grad
        return (Tensor._make(d_gi.reshape(gi.shape), backend) if need[0] else None,
                Tensor._make(d_gh.reshape(gh.shape), backend) if need[1] else None,
                Tensor._make(d_h_prev.reshape(h_prev.shape), backend) if need[2] else None)


def _gru_backward_composite(gy: Tensor, gi: Tensor, gh: Tensor, h_prev: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """gru_backward's formula in Tensor ops (kernels/recurrent.py, reference_gru_backward)."""
    hs = h_prev.shape[-1]
    r = (gi[..., :hs] + gh[..., :hs]).sigmoid()
    z = (gi[..., hs:2 * hs] + gh[..., hs:2 * hs]).sigmoid()
    gh_n = gh[..., 2 * hs:]
    n = (gi[..., 2 * hs:] + r * gh_n).tanh()
    dn = gy * (1 - z) * (1 - n * n)
    dz = gy * (h_prev - n) * z * (1 - z)
    dr = dn * gh_n * r * (1 - r)
    return cat([dr, dz, dn], dim=-1), cat([dr, dz, dn * r], dim=-1), gy * z


def gru_pointwise(gi: Tensor, gh: Tensor, h_prev: Tensor) -> Tensor:
    """One GRU step after its GEMMs: input gates gi = x W_ih^T + b_ih and hidden gates
    gh = h_prev W_hh^T + b_hh, both (..., 3H) in PyTorch's order r, z, n, and h_prev (..., H) give
    h = (1 - z) * n + z * h_prev with r, z = sigmoid(gi + gh) and n = tanh(gi_n + r * gh_n).
    One fused kernel pass forward and one backward."""
    _check_pointwise("gru_pointwise", "h_prev", h_prev, 3, gi=gi, gh=gh)
    return GRUPointwise.apply(gi, gh, h_prev)


# A whole LSTM layer's time loop -----------------------------------------------------------------------
class LSTMLayer(Op):
    """One LSTM layer over a sequence as one op: per step one GEMM (h W_hh^T) and the fused cell
    (kernels.recurrent) on arrays, no op applications inside the loop. Backward, per step in reverse,
    the fused cell backward and one GEMM (d gates W_hh); W_hh's gradient is one GEMM over all steps."""

    name = "lstm_layer"

    @staticmethod
    def forward(ctx, x_proj, h0, c0, w_hh, reverse=False):
        xp, impl = ctx.xp, ctx.backend.kernel_impl
        steps = x_proj.shape[0]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        w_t = w_hh.T
        hs, cs, ws = [None] * steps, [None] * steps, [None] * steps
        h, c = h0, c0
        for t in order:
            gates = h @ w_t
            gates += x_proj[t]
            h, c, ws[t] = krec.lstm_forward(xp, gates, c, impl=impl)
            hs[t], cs[t] = h, c
        out = xp.stack(hs)
        ctx.reverse = reverse
        ctx.save_for_backward(x_proj, h0, c0, w_hh, out, xp.stack(cs), xp.stack(ws))
        return out, h, c  # the last step's arrays; out holds copies

    @staticmethod
    def backward(ctx, g_out, g_hn, g_cn):
        x_proj, h0, c0, w_hh, out, cs, ws = ctx.saved_tensors
        if _in_tensor_ops(out):
            return _lstm_layer_backward_composite(g_out, g_hn, g_cn, x_proj, h0, c0, w_hh, ctx.reverse)
        xp, impl, backend = ctx.xp, ctx.backend.kernel_impl, ctx.backend
        steps = x_proj.shape[0]
        order = range(steps) if ctx.reverse else range(steps - 1, -1, -1)  # backward runs time the other way
        g_out, dh, dc = g_out._array, g_hn._array, g_cn._array
        out_a, cs_a, ws_a, w = out._array, cs._array, ws._array, w_hh._array
        d_x = xp.empty(x_proj.shape, dtype=x_proj._array.dtype)
        for t in order:
            prev = (t + 1 if ctx.reverse else t - 1)
            c_prev = c0._array if prev in (-1, steps) else cs_a[prev]
            d_gates, dc = krec.lstm_backward(xp, g_out[t] + dh, dc, ws_a[t], c_prev, impl=impl)
            d_x[t] = d_gates
            dh = d_gates @ w
        d_w = None
        if ctx.needs_input_grad[3]:
            # Each step's input state, side by side with its gate gradient: W_hh's gradient in one GEMM.
            h0_a = h0._array[None]
            h_in = xp.concatenate([out_a[1:], h0_a]) if ctx.reverse else xp.concatenate([h0_a, out_a[:-1]])
            d_w = Tensor._make(d_x.reshape(-1, d_x.shape[-1]).T @ h_in.reshape(-1, w.shape[1]), backend)
        return Tensor._make(d_x, backend), Tensor._make(dh, backend), Tensor._make(dc, backend), d_w


def _lstm_layer_backward_composite(g_out, g_hn, g_cn, x_proj, h0, c0, w_hh, reverse):
    """LSTMLayer's backward in Tensor ops: the forward recomputed (connected to the inputs), then the
    reverse-time loop with the cell's composite backward."""
    steps = x_proj.shape[0]
    order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))
    w_t = w_hh.t()
    xs = unbind(x_proj, 0)
    gates, h_in, c_in = [None] * steps, [None] * steps, [None] * steps
    h, c = h0, c0
    for t in order:
        h_in[t], c_in[t] = h, c
        gates[t] = xs[t] + h.matmul(w_t)
        h, c = lstm_pointwise(gates[t], c)
    g_outs = unbind(g_out, 0)
    dh, dc = g_hn, g_cn
    d_x = [None] * steps
    for t in reversed(order):
        d_x[t], dc = _lstm_backward_composite(g_outs[t] + dh, dc, gates[t], c_in[t])
        dh = d_x[t].matmul(w_hh)
    d_x = stack(d_x, 0)
    d_w = d_x.reshape(-1, d_x.shape[-1]).mT.matmul(stack(h_in, 0).reshape(-1, w_hh.shape[1]))
    return d_x, dh, dc, d_w


@autocast_policy(LOWER_PRECISION)
def lstm_layer(x_proj: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer (one direction) over a sequence, as one op: ``x_proj`` (T, N, 4H) holds every step's
    x_t W_ih^T + b_ih + b_hh (gates i, f, g, o), ``h0``, ``c0`` (N, H) the initial state, ``w_hh`` (4H, H).
    Returns ``(output (T, N, H), h_n, c_n)``; ``reverse=True`` runs time backwards (output still indexed
    by t). Per step one GEMM and one fused cell kernel, forward and backward."""
    op = "lstm_layer"
    _check_floats(op, x_proj=x_proj, h0=h0, c0=c0, w_hh=w_hh)
    if c0.ndim != 2:
        raise ShapeError(f"{op}: c0 must be 2-D (N, H), got shape {tuple(c0.shape)}")
    n, hs = c0.shape
    if tuple(h0.shape) != (n, hs):
        raise ShapeError(f"{op}: h0 must have c0's shape {(n, hs)}, got {tuple(h0.shape)}")
    if x_proj.ndim != 3 or x_proj.shape[0] == 0 or tuple(x_proj.shape[1:]) != (n, 4 * hs):
        raise ShapeError(f"{op}: x_proj must have shape (T, {n}, {4 * hs}), T >= 1, for c0 of shape {(n, hs)}, "
                         f"got {tuple(x_proj.shape)}")
    if tuple(w_hh.shape) != (4 * hs, hs):
        raise ShapeError(f"{op}: w_hh must have shape {(4 * hs, hs)}, got {tuple(w_hh.shape)}")
    return LSTMLayer.apply(x_proj, h0, c0, w_hh, reverse=bool(reverse))


# A whole GRU layer's time loop -------------------------------------------------------------------------
class GRULayer(Op):
    """One GRU layer over a sequence as one op, as LSTMLayer: per step one GEMM (h W_hh^T + b_hh) and
    the fused cell, forward and backward; W_hh's and b_hh's gradients once over all steps."""

    name = "gru_layer"

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh=None, reverse=False):
        xp, impl = ctx.xp, ctx.backend.kernel_impl
        steps = gi.shape[0]
        w_t = w_hh.T
        hs, ws = [None] * steps, [None] * steps
        h = h0
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            gh = h @ w_t
            if b_hh is not None:
                gh += b_hh
            h, ws[t] = krec.gru_forward(xp, gi[t], gh, h, impl=impl)
            hs[t] = h
        out = xp.stack(hs)
        ctx.reverse = reverse
        ctx.save_for_backward(gi, h0, w_hh, b_hh, out, xp.stack(ws))
        return out, h

    @staticmethod
    def backward(ctx, g_out, g_hn):
        gi, h0, w_hh, b_hh, out, ws = ctx.saved_tensors
        if _in_tensor_ops(out):
            return _gru_layer_backward_composite(g_out, g_hn, gi, h0, w_hh, b_hh, ctx.reverse)
        xp, impl, backend = ctx.xp, ctx.backend.kernel_impl, ctx.backend
        steps, reverse = gi.shape[0], ctx.reverse
        g_out, dh = g_out._array, g_hn._array
        out_a, ws_a, w, h0_a = out._array, ws._array, w_hh._array, h0._array
        d_gi = xp.empty(gi.shape, dtype=out_a.dtype)
        d_gh = xp.empty(gi.shape, dtype=out_a.dtype)
        # Each step's input state: h0 at the first step run, else the neighbour the loop came from.
        h_in = xp.concatenate([out_a[1:], h0_a[None]]) if reverse else xp.concatenate([h0_a[None], out_a[:-1]])
        for t in range(steps) if reverse else range(steps - 1, -1, -1):
            d_gi[t], d_gh[t], dh = krec.gru_backward(xp, g_out[t] + dh, ws_a[t], h_in[t], impl=impl)
            dh += d_gh[t] @ w
        need = ctx.needs_input_grad
        d_gh2 = d_gh.reshape(-1, d_gh.shape[-1])
        d_w = Tensor._make(d_gh2.T @ h_in.reshape(-1, w.shape[1]), backend) if need[2] else None
        d_b = Tensor._make(d_gh2.sum(axis=0), backend) if len(need) > 3 and need[3] else None
        return Tensor._make(d_gi, backend), Tensor._make(dh, backend), d_w, d_b


def _gru_layer_backward_composite(g_out, g_hn, gi, h0, w_hh, b_hh, reverse):
    """GRULayer's backward in Tensor ops: the forward recomputed, then the reverse-time loop."""
    steps = gi.shape[0]
    order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))
    w_t = w_hh.t()
    gis = unbind(gi, 0)
    ghs, h_in = [None] * steps, [None] * steps
    h = h0
    for t in order:
        h_in[t] = h
        ghs[t] = h.matmul(w_t) if b_hh is None else h.matmul(w_t) + b_hh
        h = gru_pointwise(gis[t], ghs[t], h)
    g_outs = unbind(g_out, 0)
    dh = g_hn
    d_gi, d_gh = [None] * steps, [None] * steps
    for t in reversed(order):
        d_gi[t], d_gh[t], dh_prev = _gru_backward_composite(g_outs[t] + dh, gis[t], ghs[t], h_in[t])
        dh = dh_prev + d_gh[t].matmul(w_hh)
    d_gh = stack(d_gh, 0).reshape(-1, w_hh.shape[0])
    d_w = d_gh.mT.matmul(stack(h_in, 0).reshape(-1, w_hh.shape[1]))
    return stack(d_gi, 0), dh, d_w, (None if b_hh is None else d_gh.sum(0))


@autocast_policy(LOWER_PRECISION)
def gru_layer(gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None = None,
              reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One GRU layer (one direction) over a sequence, as one op: ``gi`` (T, N, 3H) holds every step's
    x_t W_ih^T + b_ih (gates r, z, n), ``h0`` (N, H) the initial state, ``w_hh`` (3H, H) and ``b_hh``
    (3H,) or None. Returns ``(output (T, N, H), h_n)``; ``reverse=True`` runs time backwards."""
    op = "gru_layer"
    _check_floats(op, gi=gi, h0=h0, w_hh=w_hh, **({} if b_hh is None else {"b_hh": b_hh}))
    if h0.ndim != 2:
        raise ShapeError(f"{op}: h0 must be 2-D (N, H), got shape {tuple(h0.shape)}")
    n, hs = h0.shape
    if gi.ndim != 3 or gi.shape[0] == 0 or tuple(gi.shape[1:]) != (n, 3 * hs):
        raise ShapeError(f"{op}: gi must have shape (T, {n}, {3 * hs}), T >= 1, for h0 of shape {(n, hs)}, "
                         f"got {tuple(gi.shape)}")
    if tuple(w_hh.shape) != (3 * hs, hs):
        raise ShapeError(f"{op}: w_hh must have shape {(3 * hs, hs)}, got {tuple(w_hh.shape)}")
    if b_hh is not None and tuple(b_hh.shape) != (3 * hs,):
        raise ShapeError(f"{op}: b_hh must have shape {(3 * hs,)}, got {tuple(b_hh.shape)}")
    return GRULayer.apply(gi, h0, w_hh, b_hh, reverse=bool(reverse))


# PyTorch's cell functions ----------------------------------------------------------------------------
def _check_cell(op: str, gate_count: int, input: Tensor, hx: tuple, w_ih: Tensor, w_hh: Tensor, b_ih, b_hh) -> None:
    """PyTorch's checks of torch.<op>: (N, I) input, (N, H) states, (G*H, I) and (G*H, H) weights."""
    named = [("input", input), *((f"hx[{k}]", h) for k, h in enumerate(hx)), ("w_ih", w_ih), ("w_hh", w_hh),
             ("b_ih", b_ih), ("b_hh", b_hh)]
    for name, t in named:
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    dtype = input._array.dtype
    for name, t in named:
        if t is None:
            continue
        if t._array.dtype.kind not in FLOAT_KINDS:
            raise DTypeError(f"{op}: expected floating point tensors, got {name} of dtype {t.dtype}")
        if t._array.dtype != dtype:
            raise DTypeError(f"{op}: expected all tensors of one dtype, got input {input.dtype} and {name} {t.dtype}")
    if input.ndim != 2:
        raise ShapeError(f"{op}: expected a 2-D input (batch, input_size), got shape {tuple(input.shape)}")
    h0 = hx[0]
    if h0.ndim != 2:
        raise ShapeError(f"{op}: expected a 2-D hidden state (batch, hidden_size), got shape {tuple(h0.shape)}")
    n, hs = h0.shape
    for k, h in enumerate(hx):
        if tuple(h.shape) != (n, hs):
            raise ShapeError(f"{op}: hx[{k}] has shape {tuple(h.shape)}, expected {(n, hs)} as hx[0]")
    if input.shape[0] != n:
        raise ShapeError(f"{op}: input batch size {input.shape[0]} doesn't match hidden batch size {n}")
    g = gate_count * hs
    if w_ih.ndim != 2 or w_ih.shape[0] != g:
        raise ShapeError(f"{op}: w_ih must have shape ({g}, input_size) ({gate_count} * hidden_size rows), "
                         f"got {tuple(w_ih.shape)}")
    if w_ih.shape[1] != input.shape[1]:
        raise ShapeError(f"{op}: input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
    if tuple(w_hh.shape) != (g, hs):
        raise ShapeError(f"{op}: w_hh must have shape {(g, hs)}, got {tuple(w_hh.shape)}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and tuple(b.shape) != (g,):
            raise ShapeError(f"{op}: {name} must have shape ({g},), got {tuple(b.shape)}")


@autocast_policy(cuda=LOWER_PRECISION)
def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step, as ``torch.lstm_cell``: ``hx = (h, c)``, each (N, H); input (N, I); w_ih (4H, I),
    w_hh (4H, H), biases (4H,), gates in the order i, f, g, o. Returns ``(h', c')``."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise ArgumentError(f"lstm_cell expects two hidden states (h, c), got {type(hx).__name__}"
                            + (f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else ""))
    _check_cell("lstm_cell", 4, input, tuple(hx), w_ih, w_hh, b_ih, b_hh)
    gates = linear_act(input, w_ih, b_ih) + linear_act(hx[0], w_hh, b_hh)
    return lstm_pointwise(gates, hx[1])


@autocast_policy(cuda=LOWER_PRECISION)
def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step, as ``torch.gru_cell``: hx (N, H), input (N, I), w_ih (3H, I), w_hh (3H, H),
    biases (3H,), gates in the order r, z, n; n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))."""
    _check_cell("gru_cell", 3, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return gru_pointwise(linear_act(input, w_ih, b_ih), linear_act(hx, w_hh, b_hh), hx)


@autocast_policy(cuda=LOWER_PRECISION)
def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step, as ``torch.rnn_tanh_cell``: tanh(input w_ih^T + b_ih + hx w_hh^T + b_hh)."""
    _check_cell("rnn_tanh_cell", 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return (linear_act(input, w_ih, b_ih) + linear_act(hx, w_hh, b_hh)).tanh()


@autocast_policy(cuda=LOWER_PRECISION)
def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step, as ``torch.rnn_relu_cell``: relu(input w_ih^T + b_ih + hx w_hh^T + b_hh)."""
    _check_cell("rnn_relu_cell", 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return (linear_act(input, w_ih, b_ih) + linear_act(hx, w_hh, b_hh)).relu()


# What this family exports; gpugrad.ops gathers it. lstm_pointwise and gru_pointwise are for nn/rnn.py.
FUNCTIONS = (lstm_cell, gru_cell, rnn_tanh_cell, rnn_relu_cell)
DIFFERENTIABLE = FUNCTIONS
METHODS = {}
