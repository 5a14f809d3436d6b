"""Op-table rows: the functions only torch.special has (gpugrad/ops/special.py)."""
import numpy as np

import gpugrad as gg

from .pointwise import above_one
from .row import Row, away_from_zero, positive, real


def above_minus_one(rng, shape):
    """Above -1, away from log1p's pole there."""
    return rng.uniform(-0.8, 3.0, shape)


def probabilities(rng, shape):
    """Inside (0, 1), away from ndtri's infinities at the ends."""
    return rng.uniform(0.05, 0.95, shape)


def wide(rng, shape):
    """Reals from the far left tail (where ndtr underflows) to the right."""
    return rng.uniform(-40.0, 6.0, shape)


GAMMA_SHAPES = np.array([[0.5], [2.0], [7.5]])  # a constant first argument: no derivative in it

ROWS = [
    Row("entr", lambda a: gg.special.entr(a), [((3, 4), positive)], torch=lambda torch, a: torch.special.entr(a)),
    Row("xlog1py", lambda a, b: gg.special.xlog1py(a, b), [((3, 4), real), ((4,), above_minus_one)],
        torch=lambda torch, a, b: torch.special.xlog1py(a, b)),
    Row("erfcx", lambda a: gg.special.erfcx(a), [((3, 4), real)], torch=lambda torch, a: torch.special.erfcx(a)),
    Row("ndtr", lambda a: gg.special.ndtr(a), [((3, 4), real)], torch=lambda torch, a: torch.special.ndtr(a)),
    Row("ndtri", lambda a: gg.special.ndtri(a), [((3, 4), probabilities)], torch=lambda torch, a: torch.special.ndtri(a)),
    Row("log_ndtr", lambda a: gg.special.log_ndtr(a), [((3, 4), wide)], torch=lambda torch, a: torch.special.log_ndtr(a)),
    Row("gammainc", lambda x: gg.special.gammainc(gg.tensor(GAMMA_SHAPES, dtype=x.dtype), x), [((3, 4), positive)],
        torch=lambda torch, x: torch.special.gammainc(torch.tensor(GAMMA_SHAPES, dtype=x.dtype), x)),
    Row("gammaincc", lambda x: gg.special.gammaincc(gg.tensor(GAMMA_SHAPES, dtype=x.dtype), x), [((3, 4), positive)],
        torch=lambda torch, x: torch.special.gammaincc(torch.tensor(GAMMA_SHAPES, dtype=x.dtype), x)),
    Row("i0e", lambda a: gg.special.i0e(a), [((3, 4), away_from_zero)], torch=lambda torch, a: torch.special.i0e(a)),
    Row("i1", lambda a: gg.special.i1(a), [((3, 4), real)], torch=lambda torch, a: torch.special.i1(a)),
    Row("i1e", lambda a: gg.special.i1e(a), [((3, 4), away_from_zero)], torch=lambda torch, a: torch.special.i1e(a)),
    Row("igamma", lambda x: gg.igamma(gg.tensor(GAMMA_SHAPES, dtype=x.dtype), x), [((3, 4), positive)],
        torch=lambda torch, x: torch.igamma(torch.tensor(GAMMA_SHAPES, dtype=x.dtype), x)),
    Row("igammac", lambda x: gg.tensor(GAMMA_SHAPES, dtype=x.dtype).igammac(x), [((3, 4), positive)],
        torch=lambda torch, x: torch.tensor(GAMMA_SHAPES, dtype=x.dtype).igammac(x)),
    Row("zeta", lambda q: gg.special.zeta(3.0, q), [((3, 4), above_one)], torch=lambda torch, q: torch.special.zeta(3.0, q)),
]
