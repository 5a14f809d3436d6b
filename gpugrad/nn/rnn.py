"""Recurrent layers as ``torch.nn``: RNN (tanh or relu), LSTM (with ``proj_size``) and GRU over
(seq, batch, feature) inputs, ``batch_first``, unbatched or packed (``nn.utils.rnn.PackedSequence``), and
the single-step cells RNNCell, LSTMCell and GRUCell. Parameter names, shapes, gate orders (LSTM i, f, g, o;
GRU r, z, n) and initialisation are PyTorch's, so state dicts move between the two unchanged.

Speed: the input projection of every time step is one GEMM per layer and direction, before the time loop;
each step then does one GEMM with W_hh and the fused pointwise cell update (``lstm_pointwise`` /
``gru_pointwise``). An LSTM or GRU layer over equal-length sequences (no LSTM projection) runs its whole
time loop as one op (``lstm_layer`` / ``gru_layer``).
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import factory
from ..errors import ArgumentError, ShapeError
from ..ops.recurrent import gru_layer, gru_pointwise, lstm_layer, lstm_pointwise  # fused cells and time loops
from ..ops.shape import cat, split, stack, unbind
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _check_type(owner: str, name: str, value, kind) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{owner}: {name} should be of type {kind.__name__}, got: {type(value).__name__}")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, the input and state
    checks, and the time loop. ``mode`` is PyTorch's: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    _GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if mode not in self._GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        owner = type(self).__name__
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{owner}: dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        _check_type(owner, "bias", bias, bool)
        _check_type(owner, "batch_first", batch_first, bool)
        _check_type(owner, "input_size", input_size, int)
        if input_size <= 0:
            raise ValueError(f"{owner}: input_size must be greater than zero")
        _check_type(owner, "hidden_size", hidden_size, int)
        if hidden_size <= 0:
            raise ValueError(f"{owner}: hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError(f"{owner}: num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(f"{owner}: proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError(f"{owner}: proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate_size = self._GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(factory.empty(*shape, device=device, dtype=dtype)))
                    names.append(name + sfx)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """A no-op: PyTorch compacts the weights for cuDNN here; gpugrad has no such buffer."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters of each layer and direction, as lists (PyTorch's ``all_weights``)."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    # Checks -------------------------------------------------------------------------------------------
    def _dims(self) -> int:
        return 2 if self.bidirectional else 1

    def check_input(self, input: Tensor, batch_sizes) -> None:
        """PyTorch's check of the input's dtype, rank and feature size."""
        name = type(self).__name__
        wdtype = getattr(self, self._flat_weights_names[0]).dtype
        if input.dtype is not wdtype:
            raise ArgumentError(
                f"{name}: RNN input dtype ({input.dtype}) does not match weight dtype ({wdtype}). "
                f"Convert input: input.to({wdtype}), or convert model: model.to({input.dtype})"
            )
        expected_dim = 2 if batch_sizes is not None else 3
        if input.ndim != expected_dim:
            raise ShapeError(f"{name}: input must have {expected_dim} dimensions, got {input.ndim}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}"
            )
        if batch_sizes is None and input.shape[1 if self.batch_first else 0] == 0:
            raise ShapeError(f"{name}: Expected sequence length to be larger than 0 in RNN")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        if batch_sizes is not None:
            batch = int(batch_sizes[0])
        else:
            batch = input.shape[0] if self.batch_first else input.shape[1]
        return (self.num_layers * self._dims(), batch, self.proj_size if self.proj_size > 0 else self.hidden_size)

    def check_hidden_size(self, hx: Tensor, expected: tuple, msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected):
            raise ShapeError(f"{type(self).__name__}: " + msg.format(tuple(expected), list(hx.shape)))

    def _check_rank(self, input, hx) -> None:
        """PyTorch's rank checks of a plain-tensor input and of the given states."""
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead")
        if hx is None:
            return
        want = 3 if input.ndim == 3 else 2
        kind = "batched 3-D" if want == 3 else "unbatched 2-D"
        if isinstance(hx, tuple):
            if hx[0].ndim != want or hx[1].ndim != want:
                raise ShapeError(
                    f"{name}: For {kind} input, hx and cx should also be {want}-D but got "
                    f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors"
                )
        elif hx.ndim != want:
            raise ShapeError(f"{name}: For {kind} input, hx should also be {want}-D but got {hx.ndim}-D tensor")

    # The time loop ------------------------------------------------------------------------------------
    def _weights(self, layer: int, d: int):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = lambda n: getattr(self, n + sfx)  # noqa: E731
        b_ih, b_hh = (get("bias_ih"), get("bias_hh")) if self.bias else (None, None)
        w_hr = get("weight_hr") if self.proj_size > 0 else None
        return get("weight_ih"), get("weight_hh"), b_ih, b_hh, w_hr

    def _direction(self, layer_input: Tensor, batch_sizes: list, state: tuple, layer: int, d: int):
        """One layer in one direction. ``layer_input`` is packed: (sum of batch_sizes, F), the steps one
        after the other, ``batch_sizes[t]`` rows each (a padded batch is the case of equal sizes);
        ``state`` the initial (h,) or (h, c). Returns the outputs, packed like the input, and the final
        state, each sequence's at its own last step."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
        gru = self.mode == "GRU"
        # Both biases go into the one input GEMM, except GRU's b_hh (it sits inside r * (W_hn h + b_hn)).
        bias = b_ih if (gru or b_ih is None) else b_ih + b_hh
        proj = F.linear(layer_input, w_ih, bias)
        if min(batch_sizes) == max(batch_sizes) and w_hr is None and self.mode in ("LSTM", "GRU"):
            # Equal lengths, no projection: the whole time loop is one op (ops.recurrent's *_layer).
            proj = proj.reshape(len(batch_sizes), batch_sizes[0], proj.shape[-1])
            if self.mode == "LSTM":
                out, *state = lstm_layer(proj, state[0], state[1], w_hh, reverse=bool(d))
            else:
                out, *state = gru_layer(proj, state[0], w_hh, b_hh, reverse=bool(d))
            return out.reshape(-1, out.shape[-1]), tuple(state)
        # split's backward is one cat of the step gradients (unbind's would be a stack of unsqueezes).
        steps = split(proj, batch_sizes, 0)
        n_steps = len(steps)
        sizes = batch_sizes
        w_hh_t = w_hh.t()
        w_hr_t = w_hr.t() if w_hr is not None else None
        mode = self.mode
        init_state = state
        done = []  # for a forward pass over packed input: the states of sequences that have ended
        cur = sizes[0] if not d else sizes[-1]
        if cur < state[0].shape[0]:
            state = tuple(s[:cur] for s in state)
        outs = [None] * n_steps
        for t in range(n_steps - 1, -1, -1) if d else range(n_steps):
            b = sizes[t]
            if b < cur:  # forward: the last cur - b sequences have ended
                done.append(tuple(s[b:cur] for s in state))
                state = tuple(s[:b] for s in state)
            elif b > cur:  # reverse: b - cur more sequences start here, from their initial state
                state = tuple(cat([s, s0[cur:b]], 0) for s, s0 in zip(state, init_state))
            cur = b
            h = state[0]
            if mode == "LSTM":
                h, c = lstm_pointwise(steps[t] + h.matmul(w_hh_t), state[1])
                if w_hr_t is not None:
                    h = h.matmul(w_hr_t)
                state = (h, c)
            elif gru:
                h = gru_pointwise(steps[t], F.linear(h, w_hh, b_hh), h)
                state = (h,)
            else:
                pre = steps[t] + h.matmul(w_hh_t)
                h = pre.tanh() if mode == "RNN_TANH" else pre.relu()
                state = (h,)
            outs[t] = h
        if done:
            state = tuple(cat([s, *(p[i] for p in reversed(done))], 0) for i, s in enumerate(state))
        # One cat rather than stack: stack's per-step unsqueezes would each cost a backward node.
        return cat(outs, 0), state

    def _run(self, input: Tensor, batch_sizes, hx: tuple):
        """All layers: ``input`` packed data (see ``_direction``), ``hx`` the initial states, each
        (num_layers * dirs, N, *). Returns the last layer's output and the final states, stacked as hx."""
        dirs = self._dims()
        finals = [[] for _ in hx]
        layer_input = input
        per_layer = [unbind(h, 0) for h in hx]
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                out, state = self._direction(layer_input, batch_sizes, tuple(s[k] for s in per_layer), layer, d)
                outs.append(out)
                for i, s in enumerate(state):
                    finals[i].append(s)
            layer_input = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, tuple(stack(f, 0) for f in finals)

    def _forward(self, input, hx):
        """The body of every forward: ``hx`` None, a Tensor, or (for LSTM) a pair."""
        lstm = self.mode == "LSTM"
        if lstm and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{type(self).__name__}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        hx = tuple(hx) if lstm and hx is not None else hx
        packed = isinstance(input, PackedSequence)
        if packed:
            data, bs_tensor, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in bs_tensor.tolist()]
            unbatched = False
        else:
            self._check_rank(input, hx)
            unbatched = input.ndim == 2
            data, batch_sizes, sorted_indices, unsorted_indices = input, None, None, None
            if unbatched:
                data = input.unsqueeze(0 if self.batch_first else 1)
                if hx is not None:
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        self.check_input(data, batch_sizes)
        expected = self.get_expected_hidden_size(data, batch_sizes)
        if hx is None:
            zeros = lambda size: factory.zeros(*expected[:2], size, dtype=data.dtype, device=data.device)  # noqa: E731
            hx = (zeros(expected[2]), zeros(self.hidden_size)) if lstm else (zeros(expected[2]),)
        else:
            # PyTorch's messages, then which state and what its dims mean.
            dims = "(num_layers * num_directions, batch, {})"
            if lstm:
                real = "proj_size" if self.proj_size > 0 else "hidden_size"
                self.check_hidden_size(hx[0], expected, "Expected hidden[0] size {}, got {} (h_0: " + dims.format(real) + ")")
                self.check_hidden_size(
                    hx[1], expected[:2] + (self.hidden_size,), "Expected hidden[1] size {}, got {} (c_0: " + dims.format("hidden_size") + ")"
                )
            else:
                self.check_hidden_size(hx, expected, "Expected hidden size {}, got {} (hx: " + dims.format("hidden_size") + ")")
                hx = (hx,)
            if sorted_indices is not None:  # the caller's order -> the packed (sorted) order
                hx = tuple(h.index_select(1, sorted_indices) for h in hx)
        if not packed:  # time-major, then flat: a packed batch whose sequences all have the full length
            if self.batch_first:
                data = data.transpose(0, 1)
            steps, batch = data.shape[0], data.shape[1]
            data, batch_sizes = data.reshape(steps * batch, data.shape[2]), [batch] * steps
        output, finals = self._run(data, batch_sizes, hx)
        if packed:
            if unsorted_indices is not None:
                finals = tuple(h.index_select(1, unsorted_indices) for h in finals)
            output = PackedSequence(output, bs_tensor, sorted_indices, unsorted_indices)
        else:
            output = output.reshape(steps, batch, output.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if unbatched:
                output = output.squeeze(0 if self.batch_first else 1)
                finals = tuple(h.squeeze(1) for h in finals)
        return output, (finals if lstm else finals[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Input (L, N, H_in) (or (N, L, H_in) with batch_first=True, unbatched (L, H_in), or a PackedSequence);
    returns ``(output, h_n)`` with output (L, N, D*H) and h_n (D*num_layers, N, H)::

        rnn = nn.RNN(4, 8)
        out, h_n = rnn(gg.randn(5, 2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        _no_proj_size("RNN", kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)

    def forward(self, input, hx: Tensor | None = None):
        return self._forward(input, hx)


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order i, f, g, o::

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)   (then h_t W_hr^T with proj_size > 0)

    Returns ``(output, (h_n, c_n))``; ``hx`` is an optional ``(h_0, c_0)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input, hx=None):
        return self._forward(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit, gates in PyTorch's order r, z, n::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

    Returns ``(output, h_n)`` like ``nn.RNN``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        _no_proj_size("GRU", kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)

    def forward(self, input, hx: Tensor | None = None):
        return self._forward(input, hx)


def _no_proj_size(owner: str, kwargs: dict) -> None:
    """RNN and GRU refuse ``proj_size`` with PyTorch's message (it is LSTM's alone)."""
    if "proj_size" in kwargs:
        raise ValueError(f"{owner}: proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{owner}.__init__() got an unexpected keyword argument {next(iter(kwargs))!r}")


# Cells ----------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """What the cells share: weight_ih (G*H, in), weight_hh (G*H, H), bias_ih, bias_hh (G*H,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(factory.empty(g, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(factory.empty(g, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(factory.empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(factory.empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: tuple | None):
        """PyTorch's rank and shape checks; returns the batched input and states and whether it was batched."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if hx is not None:
            for i, h in enumerate(hx):
                what = f"hx[{i}]" if len(hx) > 1 else "hidden"
                if h.ndim not in (1, 2):
                    raise ShapeError(f"{name}: Expected {what} to be 1D or 2D, got {h.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        if hx is None:
            zeros = factory.zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
            return input, None, batched, zeros
        hx = tuple(h if batched else h.unsqueeze(0) for h in hx)
        for i, h in enumerate(hx):
            if h.shape[0] != input.shape[0]:
                raise ShapeError(f"{name}: Input batch size {input.shape[0]} doesn't match hidden{i} batch size {h.shape[0]}")
            if h.ndim != 2 or h.shape[1] != self.hidden_size:
                got = h.shape[1] if h.ndim == 2 else tuple(h.shape)
                raise ShapeError(f"{name}: hidden{i} has inconsistent hidden_size: got {got}, expected {self.hidden_size}")
        return input, hx, batched, None


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu); input (N, in) or (in,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"RNNCell: Unknown nonlinearity: {self.nonlinearity}")
        input, hx, batched, zeros = self._prepare(input, None if hx is None else (hx,))
        h = zeros if hx is None else hx[0]
        pre = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        out = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o); ``hx`` an optional (h, c); returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        input, hx, batched, zeros = self._prepare(input, None if hx is None else tuple(hx))
        h, c = (zeros, zeros) if hx is None else hx
        gates = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        h, c = lstm_pointwise(gates, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n); returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hx, batched, zeros = self._prepare(input, None if hx is None else (hx,))
        h = zeros if hx is None else hx[0]
        out = gru_pointwise(F.linear(input, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh), h)
        return out if batched else out.squeeze(0)
