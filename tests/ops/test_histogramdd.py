"""gg.histogramdd (gpugrad/ops/indexing.py, edges and binning in gpugrad/ops/_histogram.py): hand-counted
histograms, NumPy's histogramdd on the same edges, densities that integrate to 1, the edges' rounding
checked against exact arithmetic, argument checks; and (marked torch) results, edges and errors beside
PyTorch's, gg.histogram's edges included."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError
from gpugrad.ops._histogram import linspace_edges

POINTS = [[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]]


def test_counts_weights_and_edges_of_a_hand_counted_histogram():
    hist, edges = gg.histogramdd(gg.tensor(POINTS), bins=[2, 2])
    # x edges 0, 1, 2 and y edges 0, 1, 2: (0, 1) -> bin (0, 1); (1, 0), (2, 0) -> (1, 0); (2, 2) -> (1, 1)
    assert hist.tolist() == [[0.0, 1.0], [2.0, 1.0]]
    assert isinstance(edges, tuple) and [e.tolist() for e in edges] == [[0.0, 1.0, 2.0]] * 2
    weighted = gg.histogramdd(gg.tensor(POINTS), 2, weight=gg.tensor([1.0, 2.0, 4.0, 8.0]))
    assert weighted.hist.tolist() == [[0.0, 1.0], [6.0, 8.0]]
    # Edges given per dim; a point on the last edge counts in the last bin, one past it nowhere.
    hist, _ = gg.histogramdd(gg.tensor(POINTS), [gg.tensor([0.0, 1.0, 2.0]), gg.tensor([0.0, 1.0])])
    assert hist.tolist() == [[1.0], [2.0]]  # (2, 2) is outside y's [0, 1]
    # range: [x min, x max, y min, y max]
    hist, edges = gg.histogramdd(gg.tensor(POINTS), [2, 1], range=[0.0, 1.0, 0.0, 4.0])
    assert hist.tolist() == [[1.0], [1.0]] and edges[1].tolist() == [0.0, 4.0]


def test_results_are_pytorchs_named_tuple_in_the_inputs_dtype():
    result = gg.histogramdd(gg.tensor(POINTS, dtype=gg.float64), 3)
    assert type(result).__name__ == "histogramdd" and result._fields == ("hist", "bin_edges")
    assert result.hist.dtype is gg.float64 and all(e.dtype is gg.float64 for e in result.bin_edges)
    assert not hasattr(gg.Tensor, "histogramdd")  # a function only, as in PyTorch
    x = gg.tensor(POINTS, requires_grad=True)
    assert not gg.histogramdd(x, 2).hist.requires_grad


def test_against_numpys_histogramdd_on_the_same_edges(rng):
    for dims in (1, 2, 3):
        points = rng.standard_normal((500, dims))
        weights = rng.random(500)
        edges = [np.sort(rng.standard_normal(int(rng.integers(2, 7))) * 1.5) for _ in range(dims)]
        for w in (None, weights):
            for density in (False, True):
                hist, _ = gg.histogramdd(gg.tensor(points), [gg.tensor(e) for e in edges],
                                         weight=None if w is None else gg.tensor(w), density=density)
                expected, _ = np.histogramdd(points, edges, weights=w, density=density)
                np.testing.assert_allclose(hist.numpy(), expected, rtol=1e-12, atol=0)


def test_equal_bins_span_the_datas_extent_or_the_range(rng):
    points = rng.standard_normal((200, 2)) * [1.0, 10.0]
    hist, edges = gg.histogramdd(gg.tensor(points), [4, 3])
    for d, count in enumerate((4, 3)):
        np.testing.assert_allclose(edges[d].numpy(), np.linspace(points[:, d].min(), points[:, d].max(), count + 1),
                                   rtol=1e-15, atol=1e-14)
    assert hist.sum().item() == 200  # the extent holds every point
    # A dim holding one value is widened by 0.5 each way; no points at all span [0, 1].
    _, edges = gg.histogramdd(gg.ones(3, 2), 2)
    assert edges[0].tolist() == [0.5, 1.0, 1.5]
    hist, edges = gg.histogramdd(gg.zeros(0, 2), 2)
    assert edges[1].tolist() == [0.0, 0.5, 1.0] and hist.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_density_integrates_to_one(rng):
    points = rng.standard_normal((300, 2))
    edges = [gg.tensor(np.array([-3.0, -1.0, 0.0, 0.5, 3.0])), gg.tensor(np.array([-3.0, 0.0, 3.0]))]
    hist, edges = gg.histogramdd(gg.tensor(points), edges, weight=gg.tensor(rng.random(300)), density=True)
    volumes = np.outer(np.diff(edges[0].numpy()), np.diff(edges[1].numpy()))
    assert abs((hist.numpy() * volumes).sum() - 1.0) < 1e-12


def test_leading_dims_are_flattened_and_nan_points_count_nowhere(rng):
    points = rng.standard_normal((3, 4, 2))
    weights = rng.random((3, 4))
    flat = gg.histogramdd(gg.tensor(points.reshape(12, 2)), 3, weight=gg.tensor(weights.reshape(12)))
    nested = gg.histogramdd(gg.tensor(points), 3, weight=gg.tensor(weights))
    np.testing.assert_array_equal(nested.hist.numpy(), flat.hist.numpy())
    with_nan = np.array([[0.0, np.nan], [0.2, 0.3], [0.9, 0.9]])
    hist, _ = gg.histogramdd(gg.tensor(with_nan), 2, range=[0.0, 1.0, 0.0, 1.0])
    assert hist.sum().item() == 2.0
    # points in no dimension: a 0-d zero and no edges, as PyTorch
    hist, edges = gg.histogramdd(gg.zeros(5, 0), 2)
    assert hist.shape == () and hist.item() == 0.0 and edges == ()


def test_equal_bin_edges_round_as_pytorchs_linspace():
    # start + step * i in the first half and end - step * (n - 1 - i) in the second, each rounded once
    # (a fused multiply-add) with step rounded to the dtype first: checked against exact arithmetic.
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        for _ in range(40):
            lo, hi = sorted(rng.standard_normal(2) * 10.0 ** rng.integers(-4, 5))
            count = int(rng.integers(2, 60))
            start, end = dtype(lo), dtype(hi)
            step = (end - start) / dtype(count - 1)
            exact = [Fraction(float(start)) + Fraction(float(step)) * i if i < count // 2
                     else Fraction(float(end)) - Fraction(float(step)) * (count - 1 - i) for i in range(count)]
            # Fraction -> float64 rounds correctly; float64 -> float32 then rounds again, which is exact
            # here unless the float64 is a float32 tie: compare the float32 case through the nearest
            # float32 of the exact value instead.
            if dtype is np.float64:
                expected = np.array([float(v) for v in exact])
            else:
                expected = np.array([_nearest_float32(v) for v in exact], dtype=np.float32)
            np.testing.assert_array_equal(linspace_edges(lo, hi, count, dtype), expected)


def _nearest_float32(value: Fraction) -> np.float32:
    guess = np.float32(float(value))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess, np.nextafter(guess, np.float32(np.inf))]
    distances = [abs(Fraction(float(c)) - value) for c in candidates]
    best = min(distances)
    ties = [c for c, d in zip(candidates, distances) if d == best]
    return ties[0] if len(ties) == 1 else next(c for c in ties if int(c.view(np.int32)) % 2 == 0)


def test_argument_checks():
    x = gg.tensor(POINTS)
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        gg.histogramdd(gg.tensor([1.0, 2.0]), 2)
    with pytest.raises(DTypeError, match="not implemented for"):
        gg.histogramdd(x.long(), 2)
    with pytest.raises(DTypeError, match="not implemented for"):
        gg.histogramdd(x.half(), 2)
    with pytest.raises(ShapeError, match="size of bins must be equal to the innermost dimension"):
        gg.histogramdd(x, [2, 2, 2])
    with pytest.raises(ShapeError, match="expected 2 sequences of bin edges"):
        gg.histogramdd(x, [gg.tensor([0.0, 1.0])])
    with pytest.raises(DTypeError, match="same dtype"):
        gg.histogramdd(x, [gg.tensor([0.0, 1.0], dtype=gg.float64)] * 2)
    with pytest.raises(ShapeError, match="one dimension"):
        gg.histogramdd(x, [gg.tensor([[0.0, 1.0]])] * 2)
    with pytest.raises(ArgumentError, match="bins must be > 0"):
        gg.histogramdd(x, 0)
    with pytest.raises(ArgumentError, match="range should have 4 elements"):
        gg.histogramdd(x, 2, range=[0.0, 1.0])
    with pytest.raises(ArgumentError, match="min should not exceed max"):
        gg.histogramdd(x, 2, range=[1.0, 0.0, 0.0, 1.0])
    with pytest.raises(ArgumentError, match=r"dimension 0's range \[0, inf\] is not finite"):
        gg.histogramdd(x, 2, range=[0.0, float("inf"), 0.0, 1.0])
    with pytest.raises(ArgumentError, match="is not finite"):
        gg.histogramdd(gg.tensor([[0.0, float("inf")], [1.0, 1.0]]), 2)
    with pytest.raises(ShapeError, match="excluding its innermost dimension"):
        gg.histogramdd(x, 2, weight=gg.ones(3))
    with pytest.raises(DTypeError, match="weight tensor should have the same dtype"):
        gg.histogramdd(x, 2, weight=gg.ones(4, dtype=gg.float64))
    with pytest.raises(TypeError):
        gg.histogramdd(x, gg.tensor([2, 2]))
    with pytest.raises(TypeError):
        gg.histogramdd(x, [2.5, 2])


# Beside PyTorch -----------------------------------------------------------------------------------------


def _pair(torch, points, bins, **kwargs):
    def convert(lib, value):
        return lib.tensor(value) if isinstance(value, np.ndarray) else value

    def call(lib):
        b = [convert(lib, e) for e in bins] if isinstance(bins, list) else bins
        kw = {k: convert(lib, v) for k, v in kwargs.items()}
        return lib.histogramdd(lib.tensor(points), b, **kw)

    return call(gg), call(torch)


@pytest.mark.torch
def test_histograms_and_edges_match_pytorchs(rng):
    torch = pytest.importorskip("torch")
    for _ in range(120):
        dims, count = int(rng.integers(1, 4)), int(rng.integers(0, 150))
        dtype = (np.float32, np.float64)[int(rng.integers(0, 2))]
        points = (rng.standard_normal((count, dims)) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
        if rng.random() < 0.4:
            points = np.round(points * 4) / 4  # many points on edges
        bins = int(rng.integers(1, 12)) if rng.random() < 0.5 else [int(b) for b in rng.integers(1, 12, size=dims)]
        kwargs = {}
        if rng.random() < 0.3:
            kwargs["range"] = [float(v) for v in np.sort(rng.standard_normal((dims, 2)), axis=1).reshape(-1)]
        if rng.random() < 0.3:
            kwargs["weight"] = rng.random(count).astype(dtype)
        if rng.random() < 0.3:
            kwargs["density"] = True
        ours, theirs = _pair(torch, points, bins, **kwargs)
        assert len(ours.bin_edges) == len(theirs.bin_edges)
        for mine, other in zip(ours.bin_edges, theirs.bin_edges):
            np.testing.assert_array_equal(mine.numpy(), other.numpy())  # PyTorch's edges, bit for bit
        if "weight" in kwargs or kwargs.get("density"):  # sums in another order: within roundings
            tol = 1e-5 if dtype is np.float32 else 1e-12
            np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())


@pytest.mark.torch
def test_given_edges_and_edge_cases_match_pytorchs():
    torch = pytest.importorskip("torch")
    points = np.array(POINTS, dtype=np.float32)
    cases = [
        ([np.array([0.0, 1.0, 2.0], np.float32), np.array([0.0, 3.0], np.float32)], {}),
        ([np.array([0.0, 1.0, 1.0], np.float32), np.array([0.0, 3.0], np.float32)], {}),  # a repeated edge
        ([2, 2], {"range": [0.0, 1.0, 0.0, 1.0], "density": True}),
        ([2, 2], {"range": [0.0, 0.0, 0.0, 1.0]}),  # an empty range widened by 0.5 each way
        (2, {"range": [5.0, 6.0, 5.0, 6.0], "density": True}),  # no points: 0 / 0
    ]
    for bins, kwargs in cases:
        ours, theirs = _pair(torch, points, bins, **kwargs)
        np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())
        for mine, other in zip(ours.bin_edges, theirs.bin_edges):
            np.testing.assert_array_equal(mine.numpy(), other.numpy())
    for lib in (gg, torch):  # PyTorch's keyword names
        hist = lib.histogramdd(input=lib.tensor(points), bins=[2, 2], range=None, weight=None, density=False).hist
        assert hist.tolist() == [[0.0, 1.0], [2.0, 1.0]]
    for bad in (0, [2, 2, 2]):
        for lib in (gg, torch):
            with pytest.raises(RuntimeError):
                lib.histogramdd(lib.tensor(points), bad)


@pytest.mark.torch
def test_histograms_one_dimensional_edges_are_pytorchs(rng):
    torch = pytest.importorskip("torch")
    for _ in range(50):
        dtype = (np.float32, np.float64)[int(rng.integers(0, 2))]
        data = (rng.standard_normal(60) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
        bins = int(rng.integers(1, 200))
        ours, theirs = gg.histogram(gg.tensor(data), bins), torch.histogram(torch.tensor(data), bins)
        np.testing.assert_array_equal(ours.bin_edges.numpy(), theirs.bin_edges.numpy())
        np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())
