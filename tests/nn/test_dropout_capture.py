"""Dropout inside a CUDA graph capture draws its masks on the device (gpugrad.kernels.philox, the default
generator's per-device state): no host copy is refused, successive calls draw new masks, the device offset
advances by the draws. In the simulator (mark cudasim: GPUGRAD_SIMULATE_CUDA=1 NUMBA_ENABLE_CUDASIM=1) a
capture runs its code once with the capture rules in force; on a GPU (mark cuda) each replay draws anew.
The generator-state tests at the end need no device."""

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, nn
from gpugrad.random import default_generator

F = nn.functional
SIM = backend.simulating_cuda()
USABLE = gg.cuda.is_available() or SIM


def on_device(test):
    """Marks a test that runs on a GPU (cuda) and in the simulator (cudasim)."""
    for mark in (pytest.mark.cuda, pytest.mark.cudasim,
                 pytest.mark.skipif(not USABLE, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1")):
        test = mark(test)
    return test


def device_offset() -> int:
    return default_generator._json_state()["device_offsets"]["cuda:0"]


def warmed(shape, dtype="float32", seed=0):
    """Ones of ``shape`` on cuda, after an eager dropout there (which makes the device generator state)."""
    gg.manual_seed(seed)
    x = gg.ones(*shape, dtype=getattr(gg, dtype)).to("cuda")
    F.dropout(x, 0.5)
    gg.cuda.synchronize()
    return x


def keep_rate_ok(kept: np.ndarray, p: float) -> bool:
    return abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / kept.size)


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


@on_device
@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_dropouts_inside_one_capture_draw_different_masks(p, dtype):
    x = warmed((64, 50), dtype)
    before = device_offset()
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        a = F.dropout(x, p)
        b = F.dropout(x, p)
    assert backend.get("cuda").capture is None
    assert device_offset() == before + 2 * 64 * 50  # float32 uniforms for the masks: a word each
    if not SIM:
        g.replay()  # on a GPU the captured tensors hold the replay's masks
        gg.cuda.synchronize()
    a, b = host(a), host(b)
    scale = np.dtype(dtype).type(1 / (1 - p))
    for m in (a, b):
        assert m.dtype == dtype and set(np.unique(m)) <= {0, scale}
        assert keep_rate_ok(m != 0, p)
    assert np.mean((a != 0) != (b != 0)) > p * (1 - p)  # independent masks differ at ~2p(1-p) of places


@on_device
def test_the_variants_draw_on_the_device_inside_a_capture():
    x = warmed((8, 30, 4, 4))
    rows = warmed((40, 60))
    g = gg.cuda.CUDAGraph()
    before = device_offset()
    with gg.cuda.graph(g):
        d2 = F.dropout2d(x, 0.3)
        a = F.alpha_dropout(rows, 0.3, training=True)
        fa = F.feature_alpha_dropout(x, 0.3, training=True)
        m = nn.Dropout(0.3)(rows)
        d1 = F.dropout1d(x[:, :, 0, :], 0.3)
    # Per element: alpha dropout, Dropout; per channel: dropout2d, feature alpha dropout, dropout1d.
    assert device_offset() == before + 2 * 40 * 60 + 3 * 8 * 30  # a word per draw, each a whole number of blocks
    if not SIM:
        g.replay()
        gg.cuda.synchronize()
    d2 = host(d2)
    channels_kept = d2[:, :, 0, 0] != 0
    assert (np.broadcast_to(channels_kept[:, :, None, None], d2.shape) == (d2 != 0)).all()
    assert keep_rate_ok(channels_kept, 0.3)
    assert keep_rate_ok(host(m) != 0, 0.3)
    assert len(np.unique(host(a))) == 2 and len(np.unique(host(fa))) == 2  # kept and dropped values
    assert keep_rate_ok(host(d1)[:, :, 0] != 0, 0.3)


@on_device
def test_the_offset_advances_in_whole_blocks_per_draw():
    x = warmed((3, 7))  # 21 draws: 6 blocks of 4 words
    before = device_offset()
    with gg.cuda.graph(gg.cuda.CUDAGraph()):
        F.dropout(x, 0.5)
        F.dropout(x, 0.5)
    assert device_offset() == before + 2 * 24


@on_device
def test_manual_seed_rewrites_the_device_state_in_place_and_repeats_the_masks():
    x = warmed((50, 40))
    state = default_generator.device_state(backend.get("cuda"))
    masks = []
    for _ in range(2):
        gg.manual_seed(123)
        assert default_generator.device_state(backend.get("cuda")) is state  # graphs hold its address
        assert device_offset() == 0
        with gg.cuda.graph(gg.cuda.CUDAGraph()):
            y = F.dropout(x, 0.5)
        masks.append(host(y) if SIM else None)
    if SIM:  # each capture ran its draw once, from the same seed and offset 0
        np.testing.assert_array_equal(masks[0], masks[1])
    assert default_generator._json_state()["device_offsets"] == {"cuda:0": 2000}


@on_device
def test_eager_dropout_on_cuda_still_equals_the_cpu_for_a_seed():
    gg.manual_seed(9)
    cpu = host(F.dropout(gg.ones(30, 20), 0.4))
    gg.manual_seed(9)
    cuda = host(F.dropout(gg.ones(30, 20).to("cuda"), 0.4))
    np.testing.assert_array_equal(cpu, cuda)


@on_device
def test_a_first_draw_inside_a_capture_needs_no_warm_up(monkeypatch):
    """capture_begin makes the device's random state (outside the graph), as PyTorch's capture registers
    its generator: a dropout first called inside the capture draws from it."""
    monkeypatch.setattr(default_generator, "_device_states", {})  # as in a process that never drew on cuda
    x = gg.ones(400).to("cuda")
    (x * 2).sum()
    with gg.cuda.graph(gg.cuda.CUDAGraph()):
        y = F.dropout(x, 0.5)
    assert backend.get("cuda").capture is None
    assert "cuda:0" in default_generator._device_states
    if SIM:  # the capture ran the draw: a mask with about half kept, scaled by 2
        kept = y.cpu().numpy()
        assert set(np.unique(kept)) <= {0.0, 2.0} and 0.35 < (kept > 0).mean() < 0.65


@on_device
def test_rng_state_round_trips_the_device_offset():
    x = warmed((10, 10))
    with gg.cuda.graph(gg.cuda.CUDAGraph()):
        F.dropout(x, 0.5)
    saved, saved_offset = gg.get_rng_state(), device_offset()
    with gg.cuda.graph(gg.cuda.CUDAGraph()):
        first = F.dropout(x, 0.5)
    after = device_offset()
    gg.set_rng_state(saved)
    assert device_offset() == saved_offset
    with gg.cuda.graph(gg.cuda.CUDAGraph()):
        again = F.dropout(x, 0.5)
    assert device_offset() == after
    if SIM:
        np.testing.assert_array_equal(host(first), host(again))


@on_device
@pytest.mark.skipif(SIM, reason="replay needs a GPU")
def test_each_replay_draws_a_new_mask():
    x = warmed((256, 256))
    g = gg.cuda.CUDAGraph()
    s = gg.cuda.Stream()
    with gg.cuda.stream(s):
        F.dropout(x, 0.5)
    gg.cuda.synchronize()
    with gg.cuda.graph(g):
        y = F.dropout(x, 0.5)
    seen = []
    for _ in range(3):
        before = device_offset()
        g.replay()
        gg.cuda.synchronize()
        assert device_offset() == before + 256 * 256
        seen.append(host(y) != 0)
        assert keep_rate_ok(seen[-1], 0.5)
    assert not np.array_equal(seen[0], seen[1]) and not np.array_equal(seen[1], seen[2])


# Generator state, no device -------------------------------------------------------------------------

def test_a_generator_state_lists_device_offsets_and_restores_them_before_the_device_is_used():
    g = gg.Generator(seed=3)
    assert g._json_state()["device_offsets"] == {}
    assert tuple(g.get_state().shape) == (5056,)  # no device: PyTorch's CPU state alone
    state = g._json_state()
    state["device_offsets"] = {"cuda:0": 40}
    g.set_state(state)
    assert g._json_state()["device_offsets"] == {"cuda:0": 40}  # kept for when the device state is made
    as_tensor = g.get_state()  # the offsets follow PyTorch's bytes, and come back from them
    assert as_tensor.shape[0] > 5056
    other = gg.Generator(seed=8).set_state(as_tensor)
    assert other._json_state() == g._json_state()
    g.manual_seed(3)
    assert g._json_state()["device_offsets"] == {}


def test_set_state_refuses_an_offset_inside_a_block_and_takes_old_states():
    g = gg.Generator(seed=3)
    state = g._json_state()
    bad = dict(state, device_offsets={"cuda:0": 6})
    with pytest.raises(ValueError, match="set_rng_state: device offset of 'cuda:0' must be a non-negative multiple of 4"):
        g.set_state(bad)
    old = {k: v for k, v in state.items() if k != "device_offsets"}  # a checkpoint from before device offsets
    g.set_state(old)
    assert g._json_state() == state
