"""Recurrent layers and cells: hand-derived steps, float64 gradchecks, PyTorch's checks and messages, and
outputs, final states and every gradient against PyTorch given the same weights (torch-marked)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.autograd import gradcheck
from gpugrad.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _with_params(module, inputs_fn):
    """(fn, param tensors) so that gradcheck differentiates w.r.t. every parameter of ``module`` as well."""
    names = [n for n, _ in module.named_parameters()]
    originals = [p for _, p in module.named_parameters()]
    values = [gg.tensor(p.detach().numpy(), dtype=gg.float64, requires_grad=True) for p in originals]

    def fn(*args):
        n_in = len(args) - len(names)
        for name, v in zip(names, args[n_in:]):
            module._parameters[name] = v
        try:
            return inputs_fn(*args[:n_in])
        finally:
            for name, p in zip(names, originals):
                module._parameters[name] = p

    return fn, values


# Always-on: values -----------------------------------------------------------------------------------
def test_gru_and_lstm_steps_match_the_formulas(rng):
    gru = nn.GRU(3, 2).double()
    x = rng.standard_normal((2, 1, 3))
    out, h_n = gru(gg.tensor(x))
    w_ih, w_hh = gru.weight_ih_l0.detach().numpy(), gru.weight_hh_l0.detach().numpy()
    b_ih, b_hh = gru.bias_ih_l0.detach().numpy(), gru.bias_hh_l0.detach().numpy()
    h = np.zeros(2)
    for t in range(2):
        gi, gh = w_ih @ x[t, 0] + b_ih, w_hh @ h + b_hh
        r, z = _sigmoid(gi[:2] + gh[:2]), _sigmoid(gi[2:4] + gh[2:4])
        n = np.tanh(gi[4:] + r * gh[4:])
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(out.detach().numpy()[t, 0], h, rtol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy()[0, 0], h, rtol=1e-12)

    lstm = nn.LSTM(3, 4, proj_size=2).double()
    out, (h_n, c_n) = lstm(gg.tensor(x))
    p = {k: v.numpy() for k, v in lstm.state_dict().items()}
    h, c = np.zeros(2), np.zeros(4)
    for t in range(2):
        g = p["weight_ih_l0"] @ x[t, 0] + p["bias_ih_l0"] + p["weight_hh_l0"] @ h + p["bias_hh_l0"]
        i, f, gg_, o = _sigmoid(g[:4]), _sigmoid(g[4:8]), np.tanh(g[8:12]), _sigmoid(g[12:])
        c = f * c + i * gg_
        h = p["weight_hr_l0"] @ (o * np.tanh(c))
    np.testing.assert_allclose(out.detach().numpy()[-1, 0], h, rtol=1e-12)
    np.testing.assert_allclose(c_n.detach().numpy()[0, 0], c, rtol=1e-12)


def test_parameter_names_shapes_and_init():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {n: tuple(p.shape) for n, p in lstm.named_parameters()}
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert shapes["weight_ih_l1_reverse"] == (20, 4) and shapes["weight_hh_l1"] == (20, 2)
    assert shapes["weight_hr_l1_reverse"] == (2, 5) and len(shapes) == 20
    gru = nn.GRU(3, 5, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert gru.weight_hh_l0.shape == (15, 5)
    cell = nn.GRUCell(3, 5)
    assert [(n, tuple(p.shape)) for n, p in cell.named_parameters()] == [
        ("weight_ih", (15, 3)), ("weight_hh", (15, 5)), ("bias_ih", (15,)), ("bias_hh", (15,))
    ]
    bound = 1 / math.sqrt(5)
    for m in (lstm, gru, cell, nn.LSTMCell(3, 5), nn.RNNCell(3, 5)):
        values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    assert lstm.flatten_parameters() is None
    assert len(lstm.all_weights) == 4 and len(lstm.all_weights[0]) == 5
    assert repr(nn.LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True)) == "LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity=relu)"


@gg.no_grad()
def test_unbatched_equals_a_batch_of_one(rng):
    x = gg.tensor(rng.standard_normal((4, 3)))
    for m in (nn.GRU(3, 5, batch_first=True), nn.LSTM(3, 5, num_layers=2, proj_size=2), nn.RNN(3, 5, bidirectional=True)):
        m = m.double()
        out, h = m(x)
        ref_out, ref_h = m(x.unsqueeze(0 if m.batch_first else 1))
        np.testing.assert_allclose(out.numpy(), ref_out.numpy().squeeze(0 if m.batch_first else 1), rtol=1e-12)
        for a, b in zip(h if isinstance(h, tuple) else (h,), ref_h if isinstance(ref_h, tuple) else (ref_h,)):
            assert a.shape == b.shape[:1] + b.shape[2:]
            np.testing.assert_allclose(a.numpy(), b.numpy()[:, 0], rtol=1e-12)
    cell = nn.LSTMCell(3, 5).double()
    h, c = cell(x[0])
    hb, cb = cell(x[:1])
    assert h.shape == (5,)
    np.testing.assert_allclose(c.numpy(), cb.numpy()[0], rtol=1e-12)


@gg.no_grad()
def test_dropout_between_layers_only_in_training(rng):
    gg.manual_seed(0)
    x = gg.tensor(rng.standard_normal((4, 2, 3)))
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 5, dropout=0.5)
    m = nn.GRU(3, 5, num_layers=2, dropout=1.0).double()
    m.eval()
    plain = nn.GRU(3, 5, num_layers=2).double()
    plain.load_state_dict(m.state_dict())
    np.testing.assert_allclose(m(x)[0].numpy(), plain(x)[0].numpy(), rtol=1e-12)
    m.train()
    # p = 1 zeroes everything between the layers: the second layer then sees zeros.
    top = nn.GRU(5, 5).double()
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in m.state_dict().items() if "_l1" in k})
    out, h_n = m(x)
    np.testing.assert_allclose(out.numpy(), top(gg.zeros(4, 2, 5, dtype=gg.float64))[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(h_n.numpy()[0], plain(x)[1].numpy()[0], rtol=1e-12)


@gg.no_grad()
def test_packed_final_states_are_each_sequences_last_step(rng):
    x = rng.standard_normal((5, 3, 2))
    lengths = [2, 5, 3]
    m = nn.LSTM(2, 3, bidirectional=True).double()
    out, (h_n, c_n) = m(pack_padded_sequence(gg.tensor(x), lengths, enforce_sorted=False))
    padded, got_lengths = pad_packed_sequence(out)
    assert got_lengths.tolist() == lengths
    for j, n in enumerate(lengths):
        ref, (ref_h, ref_c) = m(gg.tensor(x[:n, j : j + 1]))
        np.testing.assert_allclose(padded.numpy()[:n, j], ref.numpy()[:, 0], rtol=1e-10, atol=1e-12)
        assert not padded.numpy()[n:, j].any()
        np.testing.assert_allclose(h_n.numpy()[:, j], ref_h.numpy()[:, 0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c_n.numpy()[:, j], ref_c.numpy()[:, 0], rtol=1e-10, atol=1e-12)


# Always-on: gradients --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.GRU(2, 3, bidirectional=True),
        lambda: nn.LSTM(2, 3, num_layers=2, proj_size=2, batch_first=True),
        lambda: nn.RNN(2, 3, nonlinearity="relu"),
        lambda: nn.LSTM(2, 3, num_layers=2, bidirectional=True),
    ],
    ids=["gru_bidir", "lstm_2layer_proj", "rnn_relu", "lstm_2layer_bidir"],
)
def test_gradcheck(make, rng):
    gg.manual_seed(1)
    m = make().double()
    x = gg.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = gg.tensor(rng.standard_normal(m.get_expected_hidden_size(x, None)), requires_grad=True)
    c0 = gg.tensor(rng.standard_normal((h0.shape[0], h0.shape[1], 3)))

    def run(x, h0):
        if isinstance(m, nn.LSTM):
            out, (h, c) = m(x, (h0, c0))
            return out, h, c
        out, h = m(x, h0)
        return out, h

    fn, params = _with_params(m, run)
    assert gradcheck(fn, [x, h0, *params])


def test_gradcheck_packed_gru(rng):
    m = nn.GRU(2, 3, bidirectional=True).double()
    x = gg.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    h0 = gg.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)

    def run(x, h0):
        out, h = m(pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False), h0)
        return out.data, h

    fn, params = _with_params(m, run)
    assert gradcheck(fn, [x, h0, *params])


def test_gradcheck_cells(rng):
    x = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = gg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    c = gg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    for cell, run in (
        (nn.LSTMCell(3, 4).double(), lambda x, h, c: cell(x, (h, c))),
        (nn.GRUCell(3, 4).double(), lambda x, h, c: cell(x, h)),
        (nn.RNNCell(3, 4).double(), lambda x, h, c: cell(x, h)),
    ):
        fn, params = _with_params(cell, run)
        assert gradcheck(fn, [x, h, c, *params])


# Always-on: errors -----------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ValueError, match="GRU: proj_size argument is only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="RNN: proj_size argument"):
        nn.RNN(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="LSTM: proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="GRU: dropout should be a number in range"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(TypeError, match="LSTM: bias should be of type bool"):
        nn.LSTM(3, 4, bias=1)
    with pytest.raises(ValueError, match="RNN: Unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")


def test_forward_errors_name_the_layer():
    lstm = nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(gg.ShapeError, match=r"LSTM: Expected input to be 2D or 3D, got 4D"):
        lstm(gg.zeros(1, 2, 3, 4))
    with pytest.raises(gg.ShapeError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 5"):
        lstm(gg.zeros(2, 2, 5))
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hidden\[0\] size \(1, 2, 2\), got \[1, 2, 4\]"):
        lstm(gg.zeros(5, 2, 3), (gg.zeros(1, 2, 4), gg.zeros(1, 2, 4)))
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hidden\[1\] size \(1, 2, 4\), got \[1, 2, 2\]"):
        lstm(gg.zeros(5, 2, 3), (gg.zeros(1, 2, 2), gg.zeros(1, 2, 2)))
    with pytest.raises(RuntimeError, match=r"LSTM: For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 3-D\)"):
        lstm(gg.zeros(5, 2, 3), (gg.zeros(2, 2), gg.zeros(1, 2, 4)))
    gru = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"GRU: Expected hidden size \(2, 3, 4\), got \[1, 3, 4\]"):
        gru(gg.zeros(5, 3, 3), gg.zeros(1, 3, 4))
    with pytest.raises(RuntimeError, match="GRU: For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"):
        gru(gg.zeros(5, 3), gg.zeros(2, 1, 4))
    with pytest.raises(ValueError, match=r"RNN: RNN input dtype \(torch.float64\) does not match weight dtype"):
        nn.RNN(3, 4)(gg.zeros(5, 2, 3, dtype=gg.float64))
    with pytest.raises(RuntimeError, match="GRU: Expected sequence length to be larger than 0"):
        gru(gg.zeros(0, 3, 3))
    with pytest.raises(TypeError, match="LSTM: hx must be a tuple"):
        lstm(gg.zeros(5, 2, 3), gg.zeros(1, 2, 2))


def test_cell_errors_name_the_cell():
    cell = nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D instead"):
        cell(gg.zeros(1, 2, 3))
    with pytest.raises(RuntimeError, match="LSTMCell: input has inconsistent input_size: got 5 expected 3"):
        cell(gg.zeros(2, 5))
    with pytest.raises(RuntimeError, match="LSTMCell: Input batch size 2 doesn't match hidden0 batch size 3"):
        cell(gg.zeros(2, 3), (gg.zeros(3, 4), gg.zeros(2, 4)))
    with pytest.raises(RuntimeError, match="LSTMCell: hidden1 has inconsistent hidden_size: got 5, expected 4"):
        cell(gg.zeros(2, 3), (gg.zeros(2, 4), gg.zeros(2, 5)))
    with pytest.raises(ValueError, match=r"LSTMCell: Expected hx\[1\] to be 1D or 2D, got 3D instead"):
        cell(gg.zeros(2, 3), (gg.zeros(2, 4), gg.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="GRUCell: Expected hidden to be 1D or 2D, got 3D instead"):
        nn.GRUCell(3, 4)(gg.zeros(2, 3), gg.zeros(1, 2, 4))


# Against PyTorch -------------------------------------------------------------------------------------
def _torch_twin(torch, ours):
    """The PyTorch module of the same class and configuration, with our weights."""
    kind = type(ours).__name__
    if isinstance(ours, nn.RNNBase):
        kw = dict(num_layers=ours.num_layers, bias=ours.bias, batch_first=ours.batch_first, bidirectional=ours.bidirectional)
        if kind == "LSTM":
            kw["proj_size"] = ours.proj_size
        if kind == "RNN":
            kw["nonlinearity"] = ours.nonlinearity
    else:
        kw = dict(bias=ours.bias)
        if kind == "RNNCell":
            kw["nonlinearity"] = ours.nonlinearity
    theirs = getattr(torch.nn, kind)(ours.input_size, ours.hidden_size, **kw).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return theirs


def _pairs(o, t):
    """Flatten matching (ours, theirs) outputs: tensors, tuples, PackedSequences."""
    if isinstance(o, PackedSequence):
        np.testing.assert_array_equal(o.batch_sizes.numpy(), t.batch_sizes.numpy())
        return [(o.data, t.data)]
    if isinstance(o, (tuple, list)):
        return [p for a, b in zip(o, t) for p in _pairs(a, b)]
    return [(o, t)]


def _compare(torch, ours, theirs, o_args, t_args, rng, leaves):
    """Outputs equal; then the gradients of a random projection of all outputs w.r.t. inputs and weights."""
    pairs = _pairs(ours(*o_args), theirs(*t_args))
    o_loss, t_loss = 0, 0
    for o, t in pairs:
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12)
        w = rng.standard_normal(tuple(o.shape))
        o_loss = o_loss + (o * gg.tensor(w)).sum()
        t_loss = t_loss + (t * torch.tensor(w)).sum()
    o_loss.backward()
    t_loss.backward()
    o_leaves = [*leaves[0], *ours.parameters()]
    t_leaves = [*leaves[1], *theirs.parameters()]
    assert len(o_leaves) == len(t_leaves)
    for a, b in zip(o_leaves, t_leaves):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


CONFIGS = [
    ("rnn_tanh", lambda: nn.RNN(3, 5)),
    ("rnn_relu_2layer_bidir", lambda: nn.RNN(3, 5, num_layers=2, nonlinearity="relu", bidirectional=True)),
    ("lstm", lambda: nn.LSTM(3, 5)),
    ("lstm_2layer_bidir_proj_batch_first", lambda: nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)),
    ("lstm_nobias_proj", lambda: nn.LSTM(3, 5, bias=False, proj_size=3)),
    ("gru", lambda: nn.GRU(3, 5)),
    ("gru_3layer_bidir_batch_first", lambda: nn.GRU(3, 5, num_layers=3, bidirectional=True, batch_first=True)),
    ("gru_nobias", lambda: nn.GRU(3, 5, bias=False)),
]


def _states(torch, m, batch, rng, unbatched=False):
    dirs = 2 if m.bidirectional else 1
    real = m.proj_size or m.hidden_size
    shapes = [(m.num_layers * dirs, batch, real)]
    if isinstance(m, nn.LSTM):
        shapes.append((m.num_layers * dirs, batch, m.hidden_size))
    arrays = [rng.standard_normal(s[:1] + s[2:] if unbatched else s) for s in shapes]
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if len(ours) == 1:
        return ours, theirs, ours[0], theirs[0]
    return ours, theirs, tuple(ours), tuple(theirs)


@pytest.mark.torch
@pytest.mark.parametrize("name,make", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_layers_match_torch(name, make, rng):
    torch = pytest.importorskip("torch")
    ours = make().double()
    theirs = _torch_twin(torch, ours)
    x = rng.standard_normal((3, 4, 3) if ours.batch_first else (4, 3, 3))
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    o_h, t_h, o_hx, t_hx = _states(torch, ours, 3, rng)
    _compare(torch, ours, theirs, (ox, o_hx), (tx, t_hx), rng, ([ox, *o_h], [tx, *t_h]))


@pytest.mark.torch
@pytest.mark.parametrize("name,make", CONFIGS[1::2], ids=[c[0] for c in CONFIGS[1::2]])
def test_unbatched_and_default_state_match_torch(name, make, rng):
    torch = pytest.importorskip("torch")
    ours = make().double()
    theirs = _torch_twin(torch, ours)
    x = rng.standard_normal((4, 3))
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    o_h, t_h, o_hx, t_hx = _states(torch, ours, 1, rng, unbatched=True)
    _compare(torch, ours, theirs, (ox, o_hx), (tx, t_hx), rng, ([ox, *o_h], [tx, *t_h]))
    for p in (*ours.parameters(), *theirs.parameters(), ox, tx):
        p.grad = None
    _compare(torch, ours, theirs, (ox,), (tx,), rng, ([ox], [tx]))


@pytest.mark.torch
@pytest.mark.parametrize("name,make", CONFIGS[1:5:2] + CONFIGS[5:7], ids=[c[0] for c in CONFIGS[1:5:2] + CONFIGS[5:7]])
@pytest.mark.parametrize("with_state", [False, True])
def test_packed_matches_torch(name, make, with_state, rng):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence as t_pack

    ours = make().double()
    theirs = _torch_twin(torch, ours)
    lengths = [3, 5, 1, 4, 2]  # unsorted, distinct: the sort is unambiguous
    x = rng.standard_normal((5, 5, 3))
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    bf = ours.batch_first
    o_in = pack_padded_sequence(ox, lengths, batch_first=bf, enforce_sorted=False)
    t_in = t_pack(tx, torch.tensor(lengths), batch_first=bf, enforce_sorted=False)
    if with_state:
        o_h, t_h, o_hx, t_hx = _states(torch, ours, 5, rng)
        _compare(torch, ours, theirs, (o_in, o_hx), (t_in, t_hx), rng, ([ox, *o_h], [tx, *t_h]))
    else:
        _compare(torch, ours, theirs, (o_in,), (t_in,), rng, ([ox], [tx]))


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, batched, rng):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, kind)(3, 5).double()
    theirs = _torch_twin(torch, ours)
    shape = (4,) if batched else ()
    x = rng.standard_normal(shape + (3,))
    states = [rng.standard_normal(shape + (5,)) for _ in range(2 if kind == "LSTMCell" else 1)]
    ox, tx = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    o_s = [gg.tensor(s, requires_grad=True) for s in states]
    t_s = [torch.tensor(s, requires_grad=True) for s in states]
    o_hx, t_hx = (tuple(o_s), tuple(t_s)) if kind == "LSTMCell" else (o_s[0], t_s[0])
    _compare(torch, ours, theirs, (ox, o_hx), (tx, t_hx), rng, ([ox, *o_s], [tx, *t_s]))
    for p in (*ours.parameters(), *theirs.parameters(), ox, tx):
        p.grad = None
    _compare(torch, ours, theirs, (ox,), (tx,), rng, ([ox], [tx]))


@pytest.mark.torch
def test_state_dicts_travel_through_safetensors(tmp_path, rng):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    x = rng.standard_normal((4, 3, 3))
    for kind, kw in (("LSTM", {"proj_size": 2}), ("GRU", {})):
        theirs = getattr(torch.nn, kind)(3, 5, num_layers=2, bidirectional=True, **kw).double()
        st.save_file(theirs.state_dict(), str(tmp_path / "theirs.safetensors"))
        ours = getattr(nn, kind)(3, 5, num_layers=2, bidirectional=True, **kw).double()
        ours.load_state_dict(gg.load(str(tmp_path / "theirs.safetensors")))
        for o, t in _pairs(ours(gg.tensor(x)), theirs(torch.tensor(x))):
            np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-15)
        # and back: ours saved, read by safetensors into a fresh PyTorch module
        fresh = getattr(nn, kind)(3, 5, num_layers=2, bidirectional=True, **kw).double()
        gg.save(fresh.state_dict(), str(tmp_path / "ours.safetensors"))
        theirs.load_state_dict(st.load_file(str(tmp_path / "ours.safetensors")))
        for o, t in _pairs(fresh(gg.tensor(x)), theirs(torch.tensor(x))):
            np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_second_derivatives_through_the_fused_steps(rng):
    from gpugrad.autograd import gradgradcheck

    x = gg.tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)
    for m in (nn.LSTM(2, 3, proj_size=1).double(), nn.LSTM(2, 2, bidirectional=True).double(), nn.GRU(2, 2, bidirectional=True).double()):
        fn, params = _with_params(m, lambda x: m(x)[0])
        assert gradgradcheck(fn, [x, *params])


def test_a_pytorch_style_sequence_classifier_trains(rng):
    """The usual PyTorch script, unchanged but for the imports: embed, pack, run, classify from h_n."""
    from gpugrad import optim
    from gpugrad.nn.utils.rnn import pad_sequence

    gg.manual_seed(0)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(5, 6, padding_idx=0)
            self.rnn = nn.GRU(6, 7, batch_first=True, bidirectional=True)
            self.head = nn.Linear(14, 2)

        def forward(self, tokens, lengths):
            packed = pack_padded_sequence(self.embed(tokens), lengths, batch_first=True, enforce_sorted=False)
            _, h_n = self.rnn(packed)
            return self.head(gg.cat([h_n[0], h_n[1]], dim=1))

    # label: does token 4 occur in the sequence?
    seqs = [rng.integers(1, 5, size=rng.integers(2, 7)) for _ in range(24)]
    labels = gg.tensor([int(4 in s) for s in seqs])
    tokens = pad_sequence([gg.tensor(s) for s in seqs], batch_first=True)
    lengths = [len(s) for s in seqs]
    model = Classifier()
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
