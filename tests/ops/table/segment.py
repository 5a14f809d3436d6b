"""Op-table rows: segment_reduce (gpugrad/ops/segment.py). Segments include empty ones, and the values are
distinct (no ties) where max and min pick one, away from zero where prod divides."""
import gpugrad as gg

from .row import Row, away_from_zero, distinct, real


def _both(fn):
    return {"fn": lambda *t: fn(gg, *t), "torch": fn}


def _reduce(reduce, *, initial=None, offsets=False, axis=0, lengths=(2, 0, 3, 1)):
    """segment_reduce of the input with ``lengths`` (as offsets when ``offsets``), in either library."""
    def run(lib, x):
        lens = lib.tensor(lengths)
        if offsets:
            ends = lib.cumsum(lens, dim=-1)
            starts = lib.zeros(tuple(lens.shape[:-1]) + (1,), dtype=lib.int64)
            return lib.segment_reduce(x, reduce, offsets=lib.cat([starts, ends], dim=-1), axis=axis, initial=initial)
        return lib.segment_reduce(x, reduce, lengths=lens, axis=axis, initial=initial)

    return _both(run)


# Two rows of four segments each over the middle dim of a (2, 6, 3) input, one segment empty in row 0.
ROW_LENGTHS = ((2, 0, 3, 1), (1, 1, 1, 3))

ROWS = [
    Row("segment_reduce_sum", **_reduce("sum"), inputs=[((6,), real)], op="segment_reduce"),
    Row("segment_reduce_sum_initial", **_reduce("sum", initial=1.5), inputs=[((6, 2), real)], op="segment_reduce"),
    Row("segment_reduce_mean", **_reduce("mean", initial=0.5), inputs=[((6,), real)], op="segment_reduce"),
    Row("segment_reduce_mean_nonempty", **_reduce("mean", lengths=(2, 3, 1)), inputs=[((6, 2), real)],
        op="segment_reduce"),
    Row("segment_reduce_max", **_reduce("max", initial=-10.0), inputs=[((6,), distinct)], op="segment_reduce"),
    Row("segment_reduce_min_initial_wins", **_reduce("min", initial=0.0), inputs=[((6, 2), distinct)],
        op="segment_reduce"),
    Row("segment_reduce_prod", **_reduce("prod", initial=2.0), inputs=[((6,), away_from_zero)], op="segment_reduce"),
    Row("segment_reduce_offsets_axis1", **_reduce("sum", offsets=True, axis=1, lengths=ROW_LENGTHS),
        inputs=[((2, 6, 3), real)], op="segment_reduce"),
    Row("segment_reduce_amax_axis1", **_reduce("amax", axis=1, lengths=((2, 3, 1), (1, 1, 4))),
        inputs=[((2, 6, 3), distinct)], op="segment_reduce"),
    Row("segment_reduce_prod_axis1", **_reduce("prod", axis=-2, lengths=ROW_LENGTHS),
        inputs=[((2, 6, 3), away_from_zero)], op="segment_reduce"),
]
