"""RNN (tanh or relu) and LSTM over (seq, batch, feature) inputs, with PyTorch's parameter names."""
from __future__ import annotations

import math

from .. import factory
from ..errors import ShapeError
from ..ops import shape as _shapeops
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


__all__ = ["RNNBase", "RNN", "LSTM"]


class RNNBase(Module):
    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__}: num_layers must be at least 1, got {num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1], got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        dirs = 2 if bidirectional else 1
        g = self._gates * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (g, layer_in)), ("weight_hh", (g, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (g,)), ("bias_hh", (g,))]
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(factory.empty(*shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _cell(self, x_proj: Tensor, state, w_hh: Tensor, b_hh):
        raise NotImplementedError

    def _check_input(self, input: Tensor):
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ShapeError(f"{name}: expected 2-D (unbatched) or 3-D input, got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}")

    def _run(self, input: Tensor, states):
        """input (L, N, H_in), states: per (layer, direction) the initial state; -> output, final states."""
        dirs = 2 if self.bidirectional else 1
        finals = []
        layer_input = input
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
                b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
                b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
                # The input projection of every step at once: one GEMM instead of L small ones.
                steps = _shapeops.unbind(F.linear(layer_input, w_ih, b_ih), 0)
                order = range(len(steps) - 1, -1, -1) if d else range(len(steps))
                state = states[layer * dirs + d]
                hs = [None] * len(steps)
                for t in order:
                    state = self._cell(steps[t], state, w_hh, b_hh)
                    hs[t] = state[0] if isinstance(state, tuple) else state
                finals.append(state)
                outs.append(stack(hs, 0))
            layer_input = outs[0] if dirs == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, finals

    def _prepare(self, input: Tensor):
        self._check_input(input)
        unbatched = input.ndim == 2
        if unbatched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        return input, unbatched

    def _check_state(self, h: Tensor, batch: int, unbatched: bool, what: str) -> Tensor:
        dirs = 2 if self.bidirectional else 1
        expected = (self.num_layers * dirs, batch, self.hidden_size)
        if unbatched:
            if tuple(h.shape) != (expected[0], expected[2]):
                raise ShapeError(f"{type(self).__name__}: expected {what} of shape {(expected[0], expected[2])} for unbatched input, got {tuple(h.shape)}")
            return h.unsqueeze(1)
        if tuple(h.shape) != expected:
            raise ShapeError(f"{type(self).__name__}: expected {what} of shape {expected}, got {tuple(h.shape)}")
        return h

    def _zeros(self, input: Tensor):
        dirs = 2 if self.bidirectional else 1
        return factory.zeros(self.num_layers * dirs, input.shape[1], self.hidden_size, dtype=input.dtype, device=input.device)

    def _finish(self, output: Tensor, unbatched: bool) -> Tensor:
        if unbatched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Input (L, N, H_in) (or (N, L, H_in) with batch_first=True, or unbatched (L, H_in)); returns
    ``(output, h_n)`` with output (L, N, D*H) and h_n (D*num_layers, N, H)::

        rnn = nn.RNN(4, 8)
        out, h_n = rnn(gg.randn(5, 2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)

    def _cell(self, x_proj, h, w_hh, b_hh):
        pre = x_proj + F.linear(h, w_hh, b_hh)
        return pre.tanh() if self.nonlinearity == "tanh" else pre.relu()

    def forward(self, input: Tensor, hx: Tensor | None = None):
        input, unbatched = self._prepare(input)
        h0 = self._zeros(input) if hx is None else self._check_state(hx, input.shape[1], unbatched, "hx")
        output, finals = self._run(input, _shapeops.unbind(h0, 0))
        h_n = stack(finals, 0)
        return self._finish(output, unbatched), (h_n.squeeze(1) if unbatched else h_n)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order i, f, g, o::

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)

    Returns ``(output, (h_n, c_n))``; ``hx`` is an optional ``(h_0, c_0)``.
    """

    _gates = 4

    def _cell(self, x_proj, state, w_hh, b_hh):
        h, c = state
        gates = x_proj + F.linear(h, w_hh, b_hh)
        hs = self.hidden_size
        i = gates[:, :hs].sigmoid()
        f = gates[:, hs : 2 * hs].sigmoid()
        g = gates[:, 2 * hs : 3 * hs].tanh()
        o = gates[:, 3 * hs :].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c

    def forward(self, input: Tensor, hx=None):
        input, unbatched = self._prepare(input)
        if hx is None:
            h0 = c0 = self._zeros(input)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
            h0 = self._check_state(hx[0], input.shape[1], unbatched, "h_0")
            c0 = self._check_state(hx[1], input.shape[1], unbatched, "c_0")
        states = list(zip(_shapeops.unbind(h0, 0), _shapeops.unbind(c0, 0)))
        output, finals = self._run(input, states)
        h_n = stack([s[0] for s in finals], 0)
        c_n = stack([s[1] for s in finals], 0)
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(output, unbatched), (h_n, c_n)
