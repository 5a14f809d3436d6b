"""Op-table rows: torch's top-level aten ops (gpugrad/top_level_aten.py), differentiable in their main
output, and F.grouped_mm (gpugrad/ops/grouped_mm.py)."""
import warnings

import gpugrad as gg

from .row import Row, real


def _both(fn):
    return {"fn": lambda *t: fn(gg, *t), "torch": fn}


def _quietly(fn):
    """``fn`` without the deprecation warnings frobenius_norm and nuclear_norm give (in both libraries)."""
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)

    return run


def _seeded_dropout(x):
    gg.manual_seed(7)  # the same mask each call, so finite differences see one function
    return gg.native_dropout(x, 0.4, True)[0]


def _torch_dropout(torch, x):
    """The same computation in torch ops, with gpugrad's mask (the two libraries draw different masks)."""
    gg.manual_seed(7)
    keep = gg.native_dropout(gg.ones(tuple(x.shape), dtype=gg.float64), 0.4, True)[1]
    return x * torch.tensor(keep.numpy()) / 0.6


# A (3, 4) COO pattern with a repeated index, so native_norm sums duplicates first.
INDICES = [[0, 1, 2, 1], [3, 2, 0, 2]]

# 2-d x 3-d: groups of rows [0, 2), [2, 2) (empty), [2, 5), and row 5 past the last offset.
OFFS_ROWS = [2, 2, 5]


def _group_norm_statistics(lib, x):
    """native_group_norm's mean and rstd outputs, both differentiable."""
    _, mean, rstd = lib.native_group_norm(x, None, None, 2, 4, 3, 2, 1e-5)
    return mean * 2 + rstd


def _loop_grouped_mm(torch, a, b, offs):
    """grouped_mm as a loop of torch matmuls (PyTorch's own kernel takes no float64 on the CPU:
    tests/ops/test_grouped_mm.py compares with it in float32)."""
    starts = [0] + offs[:-1]
    if a.ndim == 2 and b.ndim == 3:
        pieces = [a[s:e] @ b[g] for g, (s, e) in enumerate(zip(starts, offs))]
        pieces.append(torch.zeros(a.shape[0] - offs[-1], b.shape[2], dtype=a.dtype))
        return torch.cat(pieces)
    if a.ndim == 3 and b.ndim == 2:
        pieces = [a[g] @ b[:, s:e] for g, (s, e) in enumerate(zip(starts, offs))]
        pieces.append(torch.zeros(a.shape[1], b.shape[1] - offs[-1], dtype=a.dtype))
        return torch.cat(pieces, 1)
    return torch.stack([a[:, s:e] @ b[s:e] for s, e in zip(starts, offs)])


def _grouped(offs):
    def fn(a, b):
        return gg.nn.functional.grouped_mm(a, b, offs=None if offs is None else gg.tensor(offs, dtype=gg.int32))

    def torch_fn(torch, a, b):
        return a @ b if offs is None else _loop_grouped_mm(torch, a, b, offs)

    return {"fn": fn, "torch": torch_fn}


def _bag_indices(lib):
    return lib.tensor([1, 2, 0, 3, 1, 3]), lib.tensor([0, 2, 2])


ROWS = [
    Row("native_layer_norm", **_both(lambda lib, x, w, b: lib.native_layer_norm(x, [4], w, b, 1e-5)[0]),
        inputs=[((3, 4), real), ((4,), real), ((4,), real)]),
    Row("native_layer_norm_2d_shape", **_both(lambda lib, x: lib.native_layer_norm(x, (2, 3), None, None, 1e-3)[0]),
        inputs=[((2, 2, 3), real)], op="native_layer_norm"),
    Row("native_batch_norm_train", **_both(
        lambda lib, x, w, b: lib.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0]),
        inputs=[((4, 3, 2), real), ((3,), real), ((3,), real)], op="native_batch_norm"),
    Row("native_batch_norm_eval", **_both(lambda lib, x, w: lib.native_batch_norm(
        x, w, None, lib.tensor([0.1, -0.2, 0.3], dtype=x.dtype), lib.tensor([1.5, 0.5, 2.0], dtype=x.dtype), False,
        0.1, 1e-5)[0]), inputs=[((4, 3), real), ((3,), real)], op="native_batch_norm"),
    Row("native_group_norm", **_both(lambda lib, x, w, b: lib.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5)[0]),
        inputs=[((2, 4, 3), real), ((4,), real), ((4,), real)]),
    Row("native_group_norm_statistics", **_both(_group_norm_statistics), inputs=[((2, 4, 3), real)],
        op="native_group_norm"),
    Row("native_group_norm_flat_input", **_both(lambda lib, x: lib.native_group_norm(x, None, None, 3, 2, 2, 1, 1e-5)[0]),
        inputs=[((3, 4), real)], op="native_group_norm"),
    Row("native_dropout", _seeded_dropout, [((4, 5), real)], torch=_torch_dropout),
    # PyTorch's native_norm has no derivative: its side is the norm of the coalesced values
    Row("native_norm", lambda v: gg.native_norm(gg.sparse_coo_tensor(gg.tensor(INDICES), v, (3, 4)), 3),
        [((4,), real)], torch=lambda torch, v: torch.linalg.vector_norm(
            torch.sparse_coo_tensor(torch.tensor(INDICES), v, (3, 4), check_invariants=True).coalesce().values(), 3)),
    Row("convolution_1d", **_both(lambda lib, x, w, b: lib.convolution(x, w, b, [2], [1], [2], False, [0], 1)),
        inputs=[((2, 4, 9), real), ((6, 4, 3), real), ((6,), real)], op="convolution"),
    Row("convolution_2d_groups", **_both(lambda lib, x, w: lib.convolution(x, w, None, [1, 2], [0, 1], [1], False,
                                                                           [0], 2)),
        inputs=[((1, 4, 5, 5), real), ((4, 2, 2, 3), real)], op="convolution"),
    Row("convolution_transposed_2d", **_both(lambda lib, x, w, b: lib.convolution(x, w, b, [2, 1], [1, 0], [1],
                                                                                  True, [1, 0], 2)),
        inputs=[((1, 4, 3, 3), real), ((4, 1, 2, 3), real), ((2,), real)], op="convolution"),
    Row("convolution_transposed_3d", **_both(lambda lib, x, w: lib.convolution(x, w, None, [2, 1, 1], [0], [1], True,
                                                                               [1, 0, 0], 1)),
        inputs=[((1, 2, 2, 2, 2), real), ((2, 1, 2, 1, 2), real)], op="convolution"),
    Row("embedding_bag_sum_weights", **_both(lambda lib, w, p: lib.embedding_bag(w, *_bag_indices(lib), False, 0,
                                                                                  False, p)[0]),
        inputs=[((4, 3), real), ((6,), real)], op="embedding_bag"),
    Row("embedding_bag_mean_padding", **_both(lambda lib, w: lib.embedding_bag(w, *_bag_indices(lib), False, 1, False,
                                                                               None, False, 3)[0]),
        inputs=[((4, 3), real)], op="embedding_bag"),
    Row("frobenius_norm", **_both(_quietly(lambda lib, x: lib.frobenius_norm(x, [0, 2], True))), inputs=[((2, 3, 4), real)]),
    Row("nuclear_norm", **_both(_quietly(lambda lib, x: lib.nuclear_norm(x, [0, 2]))), inputs=[((3, 2, 4), real)],
        tol={"torch": 1e-8}),
    Row("grouped_mm_2d_3d", **_grouped(OFFS_ROWS), inputs=[((6, 4), real), ((3, 4, 2), real)], op="grouped_mm"),
    Row("grouped_mm_3d_3d", **_grouped(None), inputs=[((2, 3, 4), real), ((2, 4, 2), real)], op="grouped_mm"),
    Row("grouped_mm_2d_2d", **_grouped([1, 1, 4]), inputs=[((2, 5), real), ((5, 3), real)], op="grouped_mm"),
    Row("grouped_mm_3d_2d", **_grouped([2, 5]), inputs=[((2, 3, 4), real), ((4, 6), real)], op="grouped_mm"),
]
