"""Recurrent cells: ``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell`` (PyTorch's
``torch.lstm_cell`` ...), on the fused gate kernels of kernels/recurrent.py.

``lstm_pointwise`` and ``gru_pointwise`` are the cells' pointwise parts as ops of their own (what the
layers in nn/rnn.py run per time step, after the gate GEMMs): one fused kernel pass forward and one
backward. Their backward is differentiable: with ``create_graph=True`` it is written in Tensor ops, so
second derivatives come from the engine.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ArgumentError, DTypeError, ShapeError
from ..kernels import recurrent as krec
from ..tensor import Tensor
from .nn import linear_act
from .shape import cat


def _check_pointwise(op: str, state_name: str, state: Tensor, gate_count: int, **gates: Tensor) -> None:
    dtype = state._array.dtype
    for name, t in ((state_name, state), *gates.items()):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t._array.dtype.kind != "f":
            raise DTypeError(f"{op}: expected floating point tensors, got {name} of dtype {t.dtype}")
        if t._array.dtype != dtype:
            raise DTypeError(f"{op}: expected tensors of one dtype, got {name} {t.dtype} and {state_name} {state.dtype}")
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


# LSTM ------------------------------------------------------------------------------------------------
class LSTMPointwise(Function):
    """(h, c) from the gate pre-activations (..., 4H) and c_prev (..., H): one kernel pass
    (kernels.recurrent.lstm_forward); backward one pass too (lstm_backward)."""

    name = "lstm_pointwise"

    @staticmethod
    def forward(ctx, gates, c_prev):
        hs = c_prev.shape[-1]
        h, c, acts = krec.lstm_forward(ctx.xp, _rows(gates, 4 * hs), _rows(c_prev, hs), impl=ctx.backend.kernel_impl)
        h, c = h.reshape(c_prev.shape), c.reshape(c_prev.shape)
        ctx.save_for_backward(gates, c_prev, c, acts)
        return h, c

    @staticmethod
    def backward(ctx, gh, gc):
        gates, c_prev, c, acts = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: Tensor ops, differentiable again
            return _lstm_backward_composite(gh, gc, gates, c_prev)
        hs = c_prev.shape[-1]
        backend = ctx.backend
        d_gates, d_c_prev = krec.lstm_backward(
            ctx.xp, _rows(gh._array, hs), _rows(gc._array, hs), acts._array, _rows(c_prev._array, hs),
            _rows(c._array, hs), impl=backend.kernel_impl,
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
class GRUPointwise(Function):
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
        if is_grad_enabled():
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
        if t._array.dtype.kind != "f":
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


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step, as ``torch.gru_cell``: hx (N, H), input (N, I), w_ih (3H, I), w_hh (3H, H),
    biases (3H,), gates in the order r, z, n; n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))."""
    _check_cell("gru_cell", 3, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return gru_pointwise(linear_act(input, w_ih, b_ih), linear_act(hx, w_hh, b_hh), hx)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step, as ``torch.rnn_tanh_cell``: tanh(input w_ih^T + b_ih + hx w_hh^T + b_hh)."""
    _check_cell("rnn_tanh_cell", 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return (linear_act(input, w_ih, b_ih) + linear_act(hx, w_hh, b_hh)).tanh()


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step, as ``torch.rnn_relu_cell``: relu(input w_ih^T + b_ih + hx w_hh^T + b_hh)."""
    _check_cell("rnn_relu_cell", 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return (linear_act(input, w_ih, b_ih) + linear_act(hx, w_hh, b_hh)).relu()


# What this family exports; gpugrad.ops gathers it. lstm_pointwise and gru_pointwise are for nn/rnn.py.
FUNCTIONS = (lstm_cell, gru_cell, rnn_tanh_cell, rnn_relu_cell)
DIFFERENTIABLE = FUNCTIONS
METHODS = {}
