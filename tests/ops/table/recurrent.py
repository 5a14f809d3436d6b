"""Op-table rows: recurrent cells (gpugrad/ops/recurrent.py)."""
import gpugrad as gg
from gpugrad.ops.recurrent import gru_layer, gru_pointwise, lstm_layer, lstm_pointwise

from .row import Row, real

# N=2 rows, input size 3, hidden size 2: every gate block has more than one unit.
_N, _I, _H = 2, 3, 2


def _cell_inputs(gates):
    g = gates * _H
    return [((_N, _I), real), ((_N, _H), real), ((g, _I), real), ((g, _H), real), ((g,), real), ((g,), real)]


def _torch_lstm_pointwise(torch, gates, c_prev):
    i, f, g, o = gates.chunk(4, dim=-1)
    c = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
    return torch.cat([o.sigmoid() * c.tanh(), c], dim=-1)


def _torch_gru_pointwise(torch, gi, gh, h_prev):
    ir, iz, i_n = gi.chunk(3, dim=-1)
    hr, hz, hn = gh.chunk(3, dim=-1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    return (1 - z) * (i_n + r * hn).tanh() + z * h_prev


def _lstm_layer_flat(x, h, c, w, reverse=False):
    out, h_n, c_n = lstm_layer(x, h, c, w, reverse=reverse)
    return gg.cat([out.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])


def _torch_lstm_layer_flat(torch, x, h, c, w, reverse=False):
    outs = [None] * x.shape[0]
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        i, f, g, o = (x[t] + h @ w.T).chunk(4, dim=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return torch.cat([torch.stack(outs).reshape(-1), h.reshape(-1), c.reshape(-1)])


def _gru_layer_flat(gi, h, w, b=None, reverse=False):
    out, h_n = gru_layer(gi, h, w, b, reverse=reverse)
    return gg.cat([out.reshape(-1), h_n.reshape(-1)])


def _torch_gru_layer_flat(torch, gi, h, w, b=None, reverse=False):
    outs = [None] * gi.shape[0]
    for t in (range(gi.shape[0] - 1, -1, -1) if reverse else range(gi.shape[0])):
        gh = h @ w.T if b is None else h @ w.T + b
        h = _torch_gru_pointwise(torch, gi[t], gh, h)
        outs[t] = h
    return torch.cat([torch.stack(outs).reshape(-1), h.reshape(-1)])


ROWS = [
    Row("lstm_cell", lambda x, h, c, wi, wh, bi, bh: gg.cat(list(gg.lstm_cell(x, (h, c), wi, wh, bi, bh)), dim=-1),
        [((_N, _I), real), ((_N, _H), real), ((_N, _H), real), ((4 * _H, _I), real), ((4 * _H, _H), real),
         ((4 * _H,), real), ((4 * _H,), real)],
        torch=lambda torch, x, h, c, wi, wh, bi, bh: torch.cat(torch.lstm_cell(x, (h, c), wi, wh, bi, bh), dim=-1)),
    Row("lstm_cell_no_bias", lambda x, h, c, wi, wh: gg.cat(list(gg.lstm_cell(x, (h, c), wi, wh)), dim=-1),
        [((_N, _I), real), ((_N, _H), real), ((_N, _H), real), ((4 * _H, _I), real), ((4 * _H, _H), real)],
        op="lstm_cell", torch=lambda torch, x, h, c, wi, wh: torch.cat(torch.lstm_cell(x, (h, c), wi, wh), dim=-1)),
    Row("gru_cell", lambda x, h, wi, wh, bi, bh: gg.gru_cell(x, h, wi, wh, bi, bh), _cell_inputs(3),
        torch=lambda torch, x, h, wi, wh, bi, bh: torch.gru_cell(x, h, wi, wh, bi, bh)),
    Row("rnn_tanh_cell", lambda x, h, wi, wh, bi, bh: gg.rnn_tanh_cell(x, h, wi, wh, bi, bh), _cell_inputs(1),
        torch=lambda torch, x, h, wi, wh, bi, bh: torch.rnn_tanh_cell(x, h, wi, wh, bi, bh)),
    # relu: inputs scaled so that no pre-activation sits near its kink (finite differences across it fail).
    Row("rnn_relu_cell", lambda x, h, wi, wh: gg.rnn_relu_cell(x, h, wi * 3.0, wh),
        [((_N, _I), real), ((_N, _H), real), ((_H, _I), real), ((_H, _H), real)],
        torch=lambda torch, x, h, wi, wh: torch.rnn_relu_cell(x, h, wi * 3.0, wh)),
    # The pointwise parts nn/rnn.py runs per step, on their own: 3-D leading dims, and wide gate values.
    Row("lstm_pointwise", lambda z, c: gg.cat(list(lstm_pointwise(z * 2.0, c)), dim=-1),
        [((2, 3, 4 * 3), real), ((2, 3, 3), real)], op="lstm_pointwise",
        torch=lambda torch, z, c: _torch_lstm_pointwise(torch, z * 2.0, c)),
    Row("gru_pointwise", lambda gi, gh, h: gru_pointwise(gi * 2.0, gh, h),
        [((3, 3 * 3), real), ((3, 3 * 3), real), ((3, 3), real)], op="gru_pointwise",
        torch=lambda torch, gi, gh, h: _torch_gru_pointwise(torch, gi * 2.0, gh, h)),
    # A layer's whole time loop as one op (3 steps, batch 2, hidden 2), both directions.
    Row("lstm_layer", _lstm_layer_flat, [((3, 2, 8), real), ((2, 2), real), ((2, 2), real), ((8, 2), real)],
        op="lstm_layer", torch=_torch_lstm_layer_flat),
    Row("lstm_layer_reverse", lambda x, h, c, w: _lstm_layer_flat(x, h, c, w, reverse=True),
        [((3, 2, 8), real), ((2, 2), real), ((2, 2), real), ((8, 2), real)], op="lstm_layer",
        torch=lambda torch, x, h, c, w: _torch_lstm_layer_flat(torch, x, h, c, w, reverse=True)),
    Row("gru_layer", _gru_layer_flat, [((3, 2, 6), real), ((2, 2), real), ((6, 2), real), ((6,), real)],
        op="gru_layer", torch=_torch_gru_layer_flat),
    Row("gru_layer_reverse_no_bias", lambda gi, h, w: _gru_layer_flat(gi, h, w, reverse=True),
        [((3, 2, 6), real), ((2, 2), real), ((6, 2), real)], op="gru_layer",
        torch=lambda torch, gi, h, w: _torch_gru_layer_flat(torch, gi, h, w, reverse=True)),
]
