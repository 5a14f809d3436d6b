"""Random number generation: one seeded default generator, as ``torch.manual_seed`` gives.

Numbers are drawn on the host from a Mersenne Twister seeded and used as PyTorch's CPU generator
(gpugrad/mt19937.py: a seed gives PyTorch's CPU numbers) and copied to the device, so a seed gives the
same values on every device.

Work captured in a CUDA graph can neither copy host draws to the device nor draw anew at each replay,
so the generator also keeps, per device, a Philox state on that device (``device_state``: uint64
(seed, offset), see gpugrad.kernels.philox): the kernels read it there and advance its offset there.
Seeding rewrites those arrays in place (captured graphs hold their addresses); ``get_state`` records
their offsets after PyTorch's CPU state bytes (PyTorch keeps them in ``torch.cuda.get_rng_state``;
gpugrad's one generator keeps every device's stream in one state; gpugrad/random_state.py has the layout).
"""
from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import numpy

from . import random_state
from .dtypes import uint8
from .errors import CaptureError
from .mt19937 import DEFAULT_SEED, Stream

if TYPE_CHECKING:
    from .tensor import Tensor


class Generator:
    """A seedable source of random numbers (``gg.Generator().manual_seed(0)``, or ``gg.Generator(seed=0)``).

    ``device`` is PyTorch's argument, kept as ``.device``: one generator serves every device here (its host
    stream for the CPU, a Philox state per device it draws on), so it may be used on any of them. Without a
    seed it starts from PyTorch's default one. ``stream`` draws PyTorch's numbers; ``rng`` is a NumPy
    Generator on the same bits, for the draws that need not match PyTorch's."""

    def __init__(self, device="cpu", *, seed: int | None = None) -> None:
        from .backend import Device

        self.device = device if isinstance(device, Device) else Device(device)
        self._seed = DEFAULT_SEED if seed is None else int(seed)
        self.stream = Stream(self._seed)
        self.rng = self.stream.numpy
        self._device_states: dict = {}  # device name -> (backend, uint64[2] array of (seed, offset) there)
        self._device_offsets: dict[str, int] = {}  # offsets set_state gave devices with no array yet

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(f"manual_seed: the seed {seed} is outside PyTorch's range [-2**63, 2**64 - 1]")
        self._seed = seed % 2**64  # a negative seed as its unsigned 64 bits, as PyTorch's initial_seed() reads it
        self.stream.seed(self._seed)
        self._device_offsets = {}
        for backend, state in self._device_states.values():
            _write_device_state(backend, state, self._seed, 0)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        """Seed from the operating system's entropy (a non-deterministic seed, as PyTorch's); return it."""
        value = int.from_bytes(os.urandom(8), "little") >> 1
        self.manual_seed(value)
        return value

    def device_state(self, backend) -> object:
        """This generator's Philox state on ``backend``'s device: a uint64 array (seed, offset) there,
        made on first use (from the seed and offset 0) and then always the same array, advanced in place
        by the device draws (gpugrad.kernels.philox.uniform). Not made inside a CUDA graph capture: its
        first values would be written by the graph, again at every replay."""
        name = str(backend.device)
        held = self._device_states.get(name)
        if held is not None:
            return held[1]
        if backend.capture is not None:  # (capture_begin makes it first: only a direct call gets here)
            raise CaptureError(
                f"the random generator of device '{name}' is first used inside a CUDA graph capture; run the "
                "captured code once before capturing (a warm-up, which CUDA graphs need anyway)")
        offset = self._device_offsets.pop(name, 0)
        state = backend.asarray(numpy.array([_seed64(self._seed), offset], dtype=numpy.uint64))
        self._device_states[name] = (backend, state)
        return state

    def get_state(self) -> Tensor:
        """The generator's state as PyTorch's: a uint8 CPU tensor of its CPU generator's 5056 bytes, equal to
        PyTorch's after the same seed and draws, followed by the devices' Philox offsets where there are any
        (gpugrad/random_state.py). Read from the devices: not inside a CUDA graph capture."""
        from .factory import from_numpy

        key, pos = self.stream.raw_state()
        data = random_state.to_bytes(self._seed, key, pos, self.stream.next_normal, self._offsets(),
                                     fresh=self.stream.fresh(key, pos))
        return from_numpy(numpy.frombuffer(data, dtype=numpy.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state`` (or from PyTorch's CPU generator: the same bytes), or one in
        the JSON form older gpugrad checkpoints hold; returns the generator, as PyTorch's."""
        from .tensor import Tensor

        if isinstance(new_state, dict):
            self._set_json_state(new_state)
            return self
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype != uint8 or new_state.dim() != 1:
            raise TypeError("RNG state must be a torch.ByteTensor")
        data = new_state.detach().cpu().numpy().tobytes()
        self._set_json_state(random_state.from_bytes(data))
        return self

    def _json_state(self) -> dict:
        """The generator's full state as JSON-serialisable data (the DataLoader's state_dict holds it): the
        host stream and each device's Philox offset."""
        return {"seed": self._seed, "mt19937": self.stream.get_state(), "device_offsets": self._offsets()}

    def _offsets(self) -> dict[str, int]:
        """Each device's Philox offset (read from the device: not inside a CUDA graph capture)."""
        offsets = dict(self._device_offsets)
        for name, (backend, state) in self._device_states.items():
            offsets[name] = int(backend.to_numpy(state, op="get_rng_state")[1])
        return offsets

    def _set_json_state(self, state: dict) -> None:
        """Restore a state from _json_state; a state without "device_offsets" (older checkpoints) puts the
        device streams at offset 0, as seeding does."""
        if "mt19937" not in state:
            raise ValueError("set_rng_state: this state is not one of gpugrad's generator since it follows PyTorch's "
                             "CPU numbers (it has no 'mt19937' entry): an older gpugrad's state cannot be restored")
        offsets = {str(k): int(v) for k, v in state.get("device_offsets", {}).items()}
        for name, off in offsets.items():
            if off < 0 or off % 4:
                raise ValueError(f"set_rng_state: device offset of '{name}' must be a non-negative multiple of 4 "
                                 f"(whole Philox blocks), got {off}")
        self.stream.set_state(state["mt19937"], int(state["seed"]))
        self._seed = int(state["seed"])
        for name, (backend, array) in self._device_states.items():
            _write_device_state(backend, array, self._seed, offsets.pop(name, 0))
        self._device_offsets = offsets

    def keep_mask(self, backend, shape: tuple, p: float):
        """Dropout's keep mask: a bool array of ``shape`` on ``backend``'s device, True with probability
        1 - p. While a CUDA graph is captured on the device, drawn there from its Philox stream (float32
        u >= p, so p counts to 2^-24; each replay draws a new mask); otherwise from the host stream and
        copied over, so that a seed gives the same masks on every device. The eager path on a CUDA
        device also makes the device state, so that a warm-up step readies a later capture. On the host the
        masks are PyTorch's CPU ones for the same seed."""
        if backend.capture is not None:
            from .kernels import philox

            n = int(numpy.prod(shape, dtype=numpy.int64))
            u = philox.uniform(backend.xp, self.device_state(backend), n, numpy.float32, impl=backend.kernel_impl)
            return (u >= numpy.float32(p)).reshape(shape)
        if backend.device.type != "cpu":
            self.device_state(backend)
        # PyTorch's CPU dropout: a float64 uniform per element, kept when below 1 - p
        keep = self.stream.uniform(int(numpy.prod(shape, dtype=numpy.int64)), 0.0, 1.0, numpy.float64).reshape(shape) < 1.0 - p
        return keep if backend.device.type == "cpu" else backend.asarray(keep)


def _seed64(seed: int) -> int:
    """The Philox key of a seed: its value modulo 2^64 (a negative seed wraps, as PyTorch's)."""
    return int(seed) % (1 << 64)


def _write_device_state(backend, state, seed: int, offset: int) -> None:
    # Element by element with scalars, in place: no host array is copied over (capture refuses copies),
    # and the array keeps its address.
    state[0] = numpy.uint64(_seed64(seed))
    state[1] = numpy.uint64(offset)


# Seeded from the OS's entropy, so unseeded runs differ from one another, as PyTorch's (``gg.manual_seed``
# makes a run repeatable; ``gg.initial_seed()`` says what this process started from).
default_generator = Generator()
default_generator.seed()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: the same seed then gives the same numbers, runs and results."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def seed() -> int:
    """Seed the default generator from the operating system's entropy; return that seed."""
    return default_generator.seed()


def get_rng_state() -> Tensor:
    """The default generator's state: PyTorch's uint8 tensor (``Generator.get_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator from ``get_rng_state`` (or PyTorch's ``torch.get_rng_state()``)."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: str | None = None):
    """``torch.random.fork_rng``: within the block draw as you like; afterwards the random state is
    what it was before, so the draws that follow are those that would have followed without the block.
    gpugrad has one generator for every device (``gg.cuda.get_rng_state`` is its whole state), so the
    state saved and restored is all of it, whichever ``devices`` are named. ``enabled=False`` forks
    nothing; ``device_type="meta"`` has no random state to fork."""
    if device_type is not None:
        from .backend import Device

        Device(device_type)  # an unknown device type is an error, as in PyTorch
    if devices is not None:
        devices = list(devices)  # PyTorch takes any iterable of device ids
    if not enabled or device_type == "meta":
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
