"""Op-table rows: shape and movement ops, clone and to (gpugrad/ops/shape.py, ops/__init__.py).

These ops only move, copy or sum elements, so any real input will do; the rows are chosen to reach
each code path: views over strided memory, copies, overlapping pieces and windows, repeated elements.
Ops with several outputs are checked through one tensor that weighs each output differently.
"""
import gpugrad as gg

from .row import Row, real


def both(name, f, inputs, **kw):
    """A row whose computation ``f(lib, *tensors)`` is written once for gpugrad and PyTorch alike."""
    return Row(name, lambda *ts: f(gg, *ts), inputs, torch=lambda torch, *ts: f(torch, *ts), **kw)


def weighed(lib, pieces):
    """Several outputs as one tensor: piece k flattened and multiplied by k + 1."""
    return lib.cat([p.reshape(-1) * (k + 1.0) for k, p in enumerate(pieces)])


ROWS = [
    Row("reshape", lambda a: a.reshape(4, -1) * 1.5, [((2, 3, 2), real)]),
    Row("reshape_copy", lambda a: a.transpose(0, 2).reshape(-1) * 1.5, [((2, 3, 2), real)], op="reshape"),
    Row("view", lambda a: a.view(4, -1) * 1.5, [((2, 3, 2), real)]),
    Row("view_strided", lambda a: a[:, :, :2].view(6, 2) * 1.5, [((2, 3, 4), real)], op="view"),
    Row("flatten", lambda a: a.flatten(1), [((2, 3, 2), real)]),
    Row("unflatten", lambda a: a.unflatten(1, (2, -1)), [((2, 6), real)]),
    Row("permute", lambda a: a.permute(2, 0, 1), [((2, 3, 4), real)]),
    Row("transpose", lambda a: a.transpose(0, -1), [((2, 3, 4), real)]),
    Row("swapaxes", lambda a: a.swapaxes(0, 2), [((2, 3, 4), real)]),
    Row("swapdims", lambda a: a.swapdims(-1, 1), [((2, 3, 4), real)]),
    Row("movedim", lambda a: a.movedim((0, 2), (2, 0)) * 2.0, [((2, 3, 4), real)]),
    Row("moveaxis", lambda a: a.moveaxis(-1, 0), [((2, 3, 4), real)]),
    Row("t", lambda a: a.t(), [((2, 3), real)]),
    Row("expand", lambda a: a.expand(2, 3, 4), [((3, 1), real)]),
    Row("expand_keep", lambda a: a.expand(2, -1, 4), [((3, 1), real)], op="expand"),
    Row("broadcast_to", lambda a: a.broadcast_to((2, 3, -1)), [((3, 1), real)]),
    both("broadcast_tensors", lambda lib, a, b: weighed(lib, lib.broadcast_tensors(a, b)), [((3, 1), real), ((4,), real)]),
    both("meshgrid_ij", lambda lib, a, b: weighed(lib, lib.meshgrid(a, b, indexing="ij")), [((3,), real), ((2,), real)], op="meshgrid"),
    both("meshgrid_xy", lambda lib, a, b, c: weighed(lib, lib.meshgrid([a, b, c], indexing="xy")), [((3,), real), ((2,), real), ((), real)], op="meshgrid"),
    Row("squeeze", lambda a: a.squeeze(1), [((3, 1, 2), real)]),
    Row("squeeze_dims", lambda a: a.squeeze((0, 2, 3)), [((1, 3, 1, 2), real)], op="squeeze"),
    Row("unsqueeze", lambda a: a.unsqueeze(-1), [((3, 2), real)]),
    both("atleast_1d", lambda lib, a: lib.atleast_1d(a) * 2.0, [((), real)]),
    both("atleast_2d", lambda lib, a, b: weighed(lib, lib.atleast_2d(a, b)), [((3,), real), ((), real)]),
    both("atleast_3d", lambda lib, a, b: weighed(lib, lib.atleast_3d([a, b])), [((3,), real), ((2, 2), real)]),
    Row("cat", lambda a, b: gg.cat([a, b], dim=1), [((2, 3), real), ((2, 1), real)], torch=lambda torch, a, b: torch.cat([a, b], dim=1)),
    Row("stack", lambda a, b: gg.stack([a, b], dim=-1), [((2, 3), real), ((2, 3), real)], torch=lambda torch, a, b: torch.stack([a, b], dim=-1)),
    both("hstack", lambda lib, a, b: lib.hstack([a, b]), [((2, 3), real), ((2, 1), real)]),
    both("hstack_1d", lambda lib, a, b: lib.hstack([a, b]), [((3,), real), ((), real)], op="hstack"),
    both("vstack", lambda lib, a, b: lib.vstack([a, b]), [((3,), real), ((2, 3), real)]),
    both("row_stack", lambda lib, a, b: lib.row_stack((a, b)), [((3,), real), ((3,), real)]),
    both("dstack", lambda lib, a, b: lib.dstack([a, b]), [((2, 3), real), ((2, 3, 2), real)]),
    both("column_stack", lambda lib, a, b, c: lib.column_stack([a, b, c]), [((3,), real), ((3, 2), real), ((3,), real)]),
    both("split", lambda lib, a: weighed(lib, a.split(2, dim=1)), [((2, 5), real)]),
    both("split_sizes", lambda lib, a: weighed(lib, a.split([1, 0, 3], dim=-1)), [((2, 4), real)], op="split"),
    both("split_unused", lambda lib, a: a.split(2)[1] * 3.0, [((5, 2), real)], op="split"),
    both("chunk", lambda lib, a: weighed(lib, a.chunk(3, 1)), [((2, 7), real)]),
    both("tensor_split", lambda lib, a: weighed(lib, a.tensor_split(3, dim=1)), [((2, 7), real)]),
    both("tensor_split_overlapping", lambda lib, a: weighed(lib, lib.tensor_split(a, [3, 1, -1])), [((5, 2), real)], op="tensor_split"),
    Row("unbind", lambda a: gg.unbind(a, 1)[2] * gg.unbind(a, 1)[0], [((2, 3), real)], torch=lambda torch, a: torch.unbind(a, 1)[2] * torch.unbind(a, 1)[0]),
    Row("narrow", lambda a: a.narrow(1, -3, 2) * 2.0, [((2, 5), real)]),
    Row("as_strided", lambda a: a.as_strided((4, 3), (2, 1)) * 2.0, [((10,), real)]),
    Row("as_strided_of_a_view", lambda a: a.t().as_strided((2, 3), (1, 4), 1) * a[:2, :3],
        [((3, 4), real)], op="as_strided"),
    Row("narrow_copy", lambda a: a.narrow_copy(0, 1, 2) * a[:2], [((3, 4), real)]),
    Row("select", lambda a: a.select(1, -2) * 2.0, [((2, 5, 3), real)]),
    Row("ravel", lambda a: a.t().ravel() * 2.0, [((3, 4), real)]),
    Row("diff", lambda a: a.diff(n=2, dim=0), [((5, 3), real)]),
    Row("diff_prepend_append", lambda a, b: a.diff(dim=-1, prepend=b, append=b), [((3, 4), real), ((3, 2), real)], op="diff"),
    Row("repeat", lambda a: a.repeat(2, 1, 3), [((2, 3), real)]),
    both("tile", lambda lib, a: lib.tile(a, (2,)), [((2, 3), real)]),
    Row("repeat_interleave", lambda a: a.repeat_interleave(3, dim=0), [((2, 3), real)]),
    Row("repeat_interleave_flat", lambda a: a.repeat_interleave(2), [((2, 3), real)], op="repeat_interleave"),
    both("repeat_interleave_counts", lambda lib, a: lib.repeat_interleave(a, lib.tensor([2, 0, 3]), dim=-1), [((2, 3), real)], op="repeat_interleave"),
    Row("flip", lambda a: a.flip(0, 2), [((2, 3, 4), real)]),
    Row("fliplr", lambda a: a.fliplr(), [((2, 3), real)]),
    Row("flipud", lambda a: a.flipud(), [((3,), real)]),
    Row("roll", lambda a: a.roll((1, -2), (0, 2)), [((2, 3, 4), real)]),
    Row("roll_flat", lambda a: a.roll(4), [((2, 3), real)], op="roll"),
    Row("rot90", lambda a: a.rot90(1, (0, 2)), [((2, 3, 4), real)]),
    Row("rot90_twice", lambda a: a.rot90(2), [((2, 3), real)], op="rot90"),
    Row("rot90_back", lambda a: a.rot90(-1, (1, 0)), [((2, 3), real)], op="rot90"),
    Row("tril", lambda a: a.tril(1), [((2, 3, 4), real)]),
    Row("triu", lambda a: a.triu(-1), [((4, 3), real)]),
    both("concat", lambda lib, a, b: lib.concat([a, b], dim=0), [((2, 3), real), ((1, 3), real)]),
    both("concatenate", lambda lib, a, b: lib.concatenate([a, b], axis=1), [((2, 3), real), ((2, 1), real)]),
    both("hsplit", lambda lib, a: weighed(lib, lib.hsplit(a, 2)), [((3, 4), real)]),
    both("vsplit", lambda lib, a: weighed(lib, a.vsplit([1, 3])), [((4, 2), real)]),
    both("dsplit", lambda lib, a: weighed(lib, a.dsplit(2)), [((2, 2, 4), real)]),
    both("diagflat", lambda lib, a: lib.diagflat(a, 1) * 2.0, [((2, 2), real)]),
    both("block_diag", lambda lib, a, b, c: lib.block_diag(a, b, c), [((2, 3), real), ((2,), real), ((), real)]),
    both("cartesian_prod", lambda lib, a, b: lib.cartesian_prod(a, b) * 2.0, [((3,), real), ((2,), real)]),
    both("combinations", lambda lib, a: lib.combinations(a, r=3) * 2.0, [((5,), real)]),
    both("split_with_sizes", lambda lib, a: weighed(lib, lib.split_with_sizes(a, [1, 3], 1)), [((2, 4), real)]),
    both("unsafe_split", lambda lib, a: weighed(lib, lib.unsafe_split(a, 2)), [((5, 2), real)]),
    both("unsafe_chunk", lambda lib, a: weighed(lib, a.unsafe_chunk(3, -1)), [((2, 6), real)]),
    both("gradient", lambda lib, a: weighed(lib, lib.gradient(a, spacing=[0.5, 2.0])), [((4, 5), real)]),
    both("gradient_edge_order_2", lambda lib, a: weighed(lib, lib.gradient(a, dim=1, edge_order=2)), [((2, 5), real)],
         op="gradient"),
    both("gradient_coordinates", lambda lib, a: weighed(lib, lib.gradient(
        a, spacing=(lib.tensor([0.0, 0.5, 2.0, 2.5, 4.0], dtype=a.dtype),), dim=0, edge_order=2)), [((5, 2), real)],
         op="gradient"),
    Row("combinations_with_replacement", lambda a: gg.combinations(a, 2, with_replacement=True), [((4,), real)],
        op="combinations", torch=lambda torch, a: torch.combinations(a, 2, with_replacement=True)),
    # PyTorch 2.13's vander fails in its own backward (an in-place cumprod): compared with powers instead.
    Row("vander", lambda a: gg.vander(a, N=4), [((3,), real)],
        torch=lambda torch, a: torch.stack([a**k for k in (3, 2, 1, 0)], -1)),
    Row("vander_increasing_with_zero", lambda a: gg.vander(a * gg.tensor([0.0, 1.0, 1.0], dtype=a.dtype), increasing=True),
        [((3,), real)], op="vander",
        torch=lambda torch, a: torch.stack([(a * torch.tensor([0.0, 1.0, 1.0], dtype=a.dtype)) ** k for k in range(3)], -1)),
    Row("diag_vector", lambda a: a.diag(1), [((3,), real)], op="diag"),
    Row("diag_matrix", lambda a: a.diag(-1) * 2.0, [((4, 3), real)], op="diag"),
    Row("diagonal", lambda a: a.diagonal(1, -1, 0) * 2.0, [((3, 2, 4), real)]),
    Row("diag_embed", lambda a: a.diag_embed(-1, 0, 2), [((2, 3), real)]),
    Row("unfold", lambda a: a.unfold(1, 3, 2) * 2.0, [((2, 7), real)]),
    Row("unfold_overlapping", lambda a: a.unfold(0, 2, 1), [((4, 2), real)], op="unfold"),
    Row("clone", lambda a: a.clone() * 2.0, [((3,), real)]),
    Row("to", lambda a: a.to("cpu", gg.float64) * a, [((3,), real)], dtypes=(gg.float64,), torch=lambda torch, a: a.to("cpu", torch.float64) * a),
]
