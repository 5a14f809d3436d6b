"""Op-table rows: indexing and selection (gpugrad/ops/indexing.py).

Index tensors are constants built inside each row, as plain lists shared by the gpugrad and PyTorch
forms; most of them repeat an index, so that accumulation of the gradient over repeats is checked too.
"""
import gpugrad as gg

from .row import Row, away_from_half, away_from_zero, distinct, positive, real  # noqa: F401

# (3, 4) inputs, dim 1: the index repeats 1 in row 2 and 0 in row 0.
GATHER_INDEX = [[0, 0], [3, 1], [1, 1]]
# index_* along dim 0 of a (4, 3) input: row 2 twice.
ROWS_INDEX = [2, 0, 2]
# PyTorch's backward fails for a src larger than its index (test_indexing.py checks ours), so rows use
# src of the index's shape. index_copy needs distinct indices: a repeated one keeps only one write (which one is unspecified).
COPY_INDEX = [3, 0]
MASK = [[True, False, True], [False, False, True]]


def _t(torch, data):
    return torch.tensor(data)


ROWS = [
    Row("getitem_basic", lambda a: a[1:, ::2, None, 0], [((3, 5, 2), real)], op="getitem"),
    Row("getitem_int_array", lambda a: a[gg.tensor([0, 2, 2, 1])], [((3, 4), real)], op="getitem", torch=lambda torch, a: a[torch.tensor([0, 2, 2, 1])]),
    Row("getitem_bool_mask", lambda a: a[a > 0], [((3, 4), away_from_zero)], op="getitem"),
    # Ints apply first, then the index list lands where NumPy would put it among the remaining dims.
    Row("getitem_int_then_array", lambda a: a[1, :, 1:4:2, [0, 2, 0], 0:2], [((2, 3, 5, 3, 2), real)], op="getitem"),
    Row("getitem_arrays_apart", lambda a: a[[0, 1, 1], :, [2, 0, 2]], [((2, 3, 4), real)], op="getitem"),
    Row("getitem_scalar_bool", lambda a: a[True, ..., 1], [((3, 2), real)], op="getitem"),
    Row("gather", lambda a: gg.gather(a, 1, gg.tensor(GATHER_INDEX)), [((3, 4), real)],
        torch=lambda torch, a: torch.gather(a, 1, _t(torch, GATHER_INDEX))),
    Row("gather_method_dim0", lambda a: a.gather(0, gg.tensor([[2, 0, 2]])), [((3, 4), real)], op="gather",
        torch=lambda torch, a: a.gather(0, torch.tensor([[2, 0, 2]]))),
    Row("scatter_src", lambda a, s: gg.scatter(a, 1, gg.tensor([[0, 2], [3, 1], [1, 0]]), s), [((3, 4), real), ((3, 2), real)], op="scatter",
        torch=lambda torch, a, s: torch.scatter(a, 1, torch.tensor([[0, 2], [3, 1], [1, 0]]), s)),
    Row("scatter_value", lambda a: a.scatter(0, gg.tensor([[2, 0, 1, 0]]), 0.5) * a, [((3, 4), real)], op="scatter",
        torch=lambda torch, a: a.scatter(0, torch.tensor([[2, 0, 1, 0]]), 0.5) * a),
    Row("scatter_add", lambda a, s: gg.scatter_add(a, 1, gg.tensor(GATHER_INDEX), s), [((3, 4), real), ((3, 2), real)],
        torch=lambda torch, a, s: torch.scatter_add(a, 1, _t(torch, GATHER_INDEX), s)),
    Row("scatter_reduce_sum", lambda a, s: gg.scatter_reduce(a, 1, gg.tensor(GATHER_INDEX), s, "sum"), [((3, 4), real), ((3, 2), real)], op="scatter_reduce",
        torch=lambda torch, a, s: torch.scatter_reduce(a, 1, _t(torch, GATHER_INDEX), s, "sum")),
    Row("scatter_reduce_mean", lambda a, s: gg.scatter_reduce(a, 1, gg.tensor(GATHER_INDEX), s, "mean", include_self=False), [((3, 4), real), ((3, 2), real)], op="scatter_reduce",
        torch=lambda torch, a, s: torch.scatter_reduce(a, 1, _t(torch, GATHER_INDEX), s, "mean", include_self=False)),
    Row("scatter_reduce_prod", lambda a, s: gg.scatter_reduce(a, 1, gg.tensor(GATHER_INDEX), s, "prod"), [((3, 4), away_from_zero), ((3, 2), away_from_zero)], op="scatter_reduce",
        torch=lambda torch, a, s: torch.scatter_reduce(a, 1, _t(torch, GATHER_INDEX), s, "prod")),
    Row("scatter_reduce_prod_no_self", lambda a, s: gg.scatter_reduce(a, 0, gg.tensor([[1, 1, 0]]), s, "prod", include_self=False), [((2, 3), away_from_zero), ((1, 3), away_from_zero)], op="scatter_reduce",
        torch=lambda torch, a, s: torch.scatter_reduce(a, 0, torch.tensor([[1, 1, 0]]), s, "prod", include_self=False)),
    Row("scatter_reduce_amax", lambda a, s: gg.scatter_reduce(a, 1, gg.tensor(GATHER_INDEX), s, "amax"), [((3, 4), distinct), ((3, 2), distinct)], op="scatter_reduce",
        torch=lambda torch, a, s: torch.scatter_reduce(a, 1, _t(torch, GATHER_INDEX), s, "amax")),
    Row("scatter_reduce_amin_no_self", lambda a, s: gg.scatter_reduce(a, 1, gg.tensor(GATHER_INDEX), s, "amin", include_self=False), [((3, 4), distinct), ((3, 2), distinct)], op="scatter_reduce",
        torch=lambda torch, a, s: torch.scatter_reduce(a, 1, _t(torch, GATHER_INDEX), s, "amin", include_self=False)),
    Row("index_select", lambda a: gg.index_select(a, 0, gg.tensor(ROWS_INDEX)), [((4, 3), real)],
        torch=lambda torch, a: torch.index_select(a, 0, _t(torch, ROWS_INDEX))),
    Row("index_add", lambda a, s: gg.index_add(a, 0, gg.tensor(ROWS_INDEX), s, alpha=-1.5), [((4, 3), real), ((3, 3), real)],
        torch=lambda torch, a, s: torch.index_add(a, 0, _t(torch, ROWS_INDEX), s, alpha=-1.5)),
    Row("select_scatter", lambda a, s: a.select_scatter(s, 1, -2) * a, [((2, 4), real), ((2,), real)]),
    Row("slice_scatter", lambda a, s: a.slice_scatter(s, 0, 1, None, 2) * a, [((5, 3), real), ((2, 3), real)]),
    Row("index_reduce_prod", lambda a, s: a.index_reduce(0, gg.tensor([0, 2, 0]), s, "prod"),
        [((3, 2), away_from_zero), ((3, 2), away_from_zero)], op="index_reduce",
        torch=lambda torch, a, s: a.index_reduce(0, torch.tensor([0, 2, 0]), s, "prod")),
    Row("index_reduce_amax", lambda a, s: a.index_reduce(1, gg.tensor([1, 1]), s, "amax", include_self=False),
        [((2, 3), distinct), ((2, 2), distinct)], op="index_reduce",
        torch=lambda torch, a, s: a.index_reduce(1, torch.tensor([1, 1]), s, "amax", include_self=False)),
    Row("index_reduce_mean", lambda a, s: a.index_reduce(0, gg.tensor([1, 1, 0]), s, "mean"),
        [((2, 3), real), ((3, 3), real)], op="index_reduce",
        torch=lambda torch, a, s: a.index_reduce(0, torch.tensor([1, 1, 0]), s, "mean")),
    Row("diagonal_scatter", lambda a, s: a.diagonal_scatter(s, 1, 0, 2) * a, [((3, 2, 4), real), ((2, 3), real)],
        torch=lambda torch, a, s: a.diagonal_scatter(s, 1, 0, 2) * a),
    Row("index_put", lambda a, v: a.index_put((gg.tensor([0, 2]), gg.tensor([1, 1])), v) * a, [((3, 2), real), ((2,), real)],
        torch=lambda torch, a, v: a.index_put((torch.tensor([0, 2]), torch.tensor([1, 1])), v) * a),
    Row("put", lambda a, v: a.put(gg.tensor([[0, 4], [-1, 2]]), v) * a, [((2, 3), real), ((2, 2), real)],
        torch=lambda torch, a, v: a.put(torch.tensor([[0, 4], [-1, 2]]), v) * a),
    Row("put_accumulate", lambda a, v: gg.put(a, gg.tensor([1, 4, 1]), v, accumulate=True) * a,
        [((2, 3), real), ((3,), real)], op="put",
        torch=lambda torch, a, v: torch.put(a, torch.tensor([1, 4, 1]), v, accumulate=True) * a),
    Row("index_put_accumulate", lambda a, v: a.index_put((gg.tensor([0, 2, 0]),), v, accumulate=True) * a,
        [((3, 2), real), ((3, 2), real)], op="index_put",
        torch=lambda torch, a, v: a.index_put((torch.tensor([0, 2, 0]),), v, accumulate=True) * a),
    Row("index_copy", lambda a, s: a.index_copy(1, gg.tensor(COPY_INDEX), s) * a, [((2, 4), real), ((2, 2), real)], op="index_copy",
        torch=lambda torch, a, s: a.index_copy(1, _t(torch, COPY_INDEX), s) * a),
    Row("index_fill", lambda a, v: gg.index_fill(a, 1, gg.tensor([3, 0, 0]), v.sum()), [((3, 4), real), ((2,), real)],
        torch=lambda torch, a, v: torch.index_fill(a, 1, torch.tensor([3, 0, 0]), v.sum())),
    Row("masked_fill", lambda a, v: gg.masked_fill(a, gg.tensor(MASK), v[0] * v[1]), [((2, 3), real), ((2,), real)],
        torch=lambda torch, a, v: torch.masked_fill(a, torch.tensor(MASK), v[0] * v[1])),
    Row("masked_fill_broadcast", lambda a: a.masked_fill(gg.tensor([[True], [False]]), 2.0), [((3,), real)], op="masked_fill",
        torch=lambda torch, a: a.masked_fill(torch.tensor([[True], [False]]), 2.0)),
    Row("masked_select", lambda a: gg.masked_select(a, gg.tensor(MASK)), [((3,), real)],
        torch=lambda torch, a: torch.masked_select(a, torch.tensor(MASK))),
    Row("masked_scatter", lambda a, s: gg.masked_scatter(a, gg.tensor(MASK), s), [((2, 3), real), ((2, 3), real)],
        torch=lambda torch, a, s: torch.masked_scatter(a, torch.tensor(MASK), s)),
    Row("take", lambda a: gg.take(a, gg.tensor([[5, -1], [0, 5]])), [((2, 3), real)],
        torch=lambda torch, a: torch.take(a, torch.tensor([[5, -1], [0, 5]]))),
    Row("take_along_dim", lambda a: gg.take_along_dim(a, gg.tensor([[[0], [2]]]), dim=2), [((3, 1, 4), real)],
        torch=lambda torch, a: torch.take_along_dim(a, torch.tensor([[[0], [2]]]), dim=2)),
    Row("take_along_dim_flat", lambda a: a.take_along_dim(gg.tensor([3, 0, 3])), [((2, 2), real)], op="take_along_dim",
        torch=lambda torch, a: a.take_along_dim(torch.tensor([3, 0, 3]))),
    Row("msort", lambda a: a.msort() * 2.0, [((4, 3), distinct)]),
    Row("sort", lambda a: gg.sort(a, dim=0, descending=True).values, [((4, 3), distinct)],
        torch=lambda torch, a: torch.sort(a, dim=0, descending=True).values),
    Row("topk", lambda a: gg.topk(a, 2).values, [((3, 5), distinct)], torch=lambda torch, a: torch.topk(a, 2).values),
    Row("topk_smallest", lambda a: a.topk(3, dim=0, largest=False).values, [((4, 2), distinct)], op="topk",
        torch=lambda torch, a: a.topk(3, dim=0, largest=False).values),
    Row("kthvalue", lambda a: gg.kthvalue(a, 2, dim=1, keepdim=True).values, [((3, 4), distinct)],
        torch=lambda torch, a: torch.kthvalue(a, 2, dim=1, keepdim=True).values),
]
