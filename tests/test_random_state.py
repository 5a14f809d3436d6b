"""gg.get_rng_state() / Generator.get_state() in PyTorch's form: the uint8 tensor of its CPU generator's
state, byte for byte PyTorch's after the same seed and draws, restorable in either framework."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import random_state

# (what is drawn after seeding) -> a state in each part of the Twister's cycle: fresh, mid-block, a normal
# kept from a pair, exactly one block used (left=1 again, but not fresh), past a twist.
DRAWS = {
    "fresh": [],
    "rand": [("rand", 5)],
    "kept normal": [("randn", 3)],
    "one block": [("rand", 624)],
    "block normals": [("randn", 20), ("rand", 700)],
    "integers": [("randint", 1000)],
}


def _draw(lib, draws):
    for name, n in draws:
        if name == "randint":
            lib.randint(0, 10, (n,))
        else:
            getattr(lib, name)(n)


def test_state_is_a_uint8_cpu_tensor_of_pytorchs_size():
    state = gg.Generator(seed=1).get_state()
    assert state.dtype == gg.uint8 and state.device.type == "cpu" and tuple(state.shape) == (random_state.SIZE,)
    assert not state.requires_grad


@pytest.mark.parametrize("what", DRAWS)
def test_state_round_trip_replays_the_draws(what):
    gen = gg.Generator(seed=11)
    for name, n in DRAWS[what]:
        gg.randn(n, generator=gen) if name == "randn" else gg.rand(n, generator=gen)
    state = gen.get_state()
    after = (gg.randn(5, generator=gen).tolist(), gg.rand(3, generator=gen).tolist())
    assert gen.set_state(state) is gen
    assert (gg.randn(5, generator=gen).tolist(), gg.rand(3, generator=gen).tolist()) == after
    assert gen.initial_seed() == 11


def test_set_state_refuses_what_is_not_a_state():
    gen = gg.Generator(seed=1)
    with pytest.raises(TypeError, match="expected a torch.ByteTensor, but got list"):
        gen.set_state([1, 2])
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        gen.set_state(gg.zeros(random_state.SIZE))
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056 but found the input RNG "
                                           "state size to be 10"):
        gen.set_state(gg.zeros(10, dtype=gg.uint8))
    with pytest.raises(RuntimeError, match="not a Mersenne Twister state"):
        gen.set_state(gg.zeros(random_state.SIZE, dtype=gg.uint8))  # left=0
    trailing = gg.cat([gen.get_state(), gg.tensor([1, 2, 3], dtype=gg.uint8)])
    with pytest.raises(RuntimeError, match="are not gpugrad's device offsets"):
        gen.set_state(trailing)


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 123, 2**40 + 7])
@pytest.mark.parametrize("what", DRAWS)
def test_state_bytes_equal_pytorchs(seed, what):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    gg.manual_seed(seed)
    _draw(torch, DRAWS[what])
    _draw(gg, DRAWS[what])
    np.testing.assert_array_equal(gg.get_rng_state().numpy(), torch.get_rng_state().numpy())


@pytest.mark.torch
@pytest.mark.parametrize("what", DRAWS)
def test_states_restore_across_the_frameworks(what):
    torch = pytest.importorskip("torch")
    torch.manual_seed(5)
    _draw(torch, DRAWS[what])
    theirs = torch.get_rng_state()
    want = torch.randn(7).numpy()
    gg.set_rng_state(gg.tensor(theirs.numpy()))
    np.testing.assert_array_equal(gg.randn(7).numpy(), want)

    gg.manual_seed(6)
    _draw(gg, DRAWS[what])
    ours = gg.get_rng_state()
    want = gg.rand(4, dtype=gg.float64).numpy()
    torch.set_rng_state(torch.from_numpy(ours.numpy().copy()))
    np.testing.assert_array_equal(torch.rand(4, dtype=torch.float64).numpy(), want)


@pytest.mark.torch
def test_pytorch_refuses_the_same_states():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="expected a torch.ByteTensor, but got list"):
        torch.set_rng_state([1, 2])
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        torch.set_rng_state(torch.zeros(random_state.SIZE))
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056"):
        torch.set_rng_state(torch.zeros(10, dtype=torch.uint8))
