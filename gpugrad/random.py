"""Random number generation: one seeded default generator, as ``torch.manual_seed`` gives.

Numbers are drawn on the host with NumPy's PCG64 and copied to the device, so a seed gives the same
values on every device.
"""
from __future__ import annotations

import numpy


class Generator:
    """A seedable source of random numbers (``gg.Generator().manual_seed(0)``)."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = int(numpy.random.SeedSequence().entropy % (2**63)) if seed is None else int(seed)
        self.rng = numpy.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = numpy.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's full state, as JSON-serialisable data (for checkpoints)."""
        return {"seed": self._seed, "bit_generator": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self._seed = int(state["seed"])
        self.rng = numpy.random.default_rng(self._seed)
        self.rng.bit_generator.state = state["bit_generator"]


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: the same seed then gives the same numbers, runs and results."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def half_open(values: numpy.ndarray, low: float, high: float, np_dtype) -> numpy.ndarray:
    """Uniform draws in [low, high), made in float64, cast to ``np_dtype`` and still below ``high``: the
    cast to a narrower float rounds draws just under high (1 - 2^-30, say) up onto it, and ``rand`` and
    ``uniform_`` promise [low, high) as PyTorch's do (so that log(1 - u) stays finite)."""
    cast = numpy.asarray(values).astype(np_dtype)
    if not low < high:
        return cast
    ceiling = np_dtype.type(high)
    if ceiling >= high:
        ceiling = numpy.nextafter(ceiling, np_dtype.type(low))
    return numpy.where(cast >= high, ceiling, cast)
