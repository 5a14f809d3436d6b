"""F.affine_grid and F.grid_sample (spatial transformers, warps): re-exported by
``gpugrad.nn.functional``.

Both are compositions of Tensor ops. affine_grid is the base grid of normalised coordinates times the
transposed affine matrices. grid_sample maps the grid's normalised coordinates to pixel positions,
applies the padding mode to them (clamped for "border", reflected for "reflection"), and reads the
input there: nearest, bilinear (four neighbours weighted by distance; eight for a volume's trilinear) or bicubic (sixteen, weighted by
the cubic convolution kernel, each tap padded on its own), reads outside the input counting 0 with
padding "zeros". The reads are advanced indexing, so the gradient reaches the input
(summed where reads repeat) and, through the weights, the grid.
"""
from __future__ import annotations

import itertools

import numpy as _np

from .. import ops as _ops
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]


def _base_coordinates(n: int, align_corners: bool) -> _np.ndarray:
    """The normalised coordinates of n pixel centres in [-1, 1] (corner centres at +-1 with
    ``align_corners``; else the pixel edges there)."""
    if n <= 1:
        return _np.zeros(max(n, 0))
    steps = _np.linspace(-1.0, 1.0, n)
    return steps if align_corners else steps * (n - 1) / n


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of affine maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H, W), as
    (N, H, W, 2) (x, y) coordinates; (N, 3, 4) and (N, C, D, H, W) give (N, D, H, W, 3)."""
    align_corners = bool(align_corners)
    size = tuple(int(s) for s in size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise ArgumentError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. "
                            f"Got size {list(size)}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (spatial, spatial + 1) or theta.shape[0] != size[0]:
        raise ShapeError(f"affine_grid: expected a batch of {spatial}D affine matrices of shape "
                         f"[N, {spatial}, {spatial + 1}] for size {list(size)}. Got {list(theta.shape)}.")
    axes = [_base_coordinates(s, align_corners) for s in reversed(size[2:])]  # x first: width, height (, depth)
    mesh = _np.meshgrid(*axes, indexing="xy") if spatial == 2 else [
        m.transpose(2, 0, 1) for m in _np.meshgrid(*axes, indexing="xy")]
    base = _np.stack(list(mesh) + [_np.ones_like(mesh[0])], axis=-1).reshape(-1, spatial + 1)
    base_t = Tensor._make(theta._backend.asarray(base.astype(theta._array.dtype)), theta._backend)
    grid = base_t @ theta.mT  # (N, points, spatial)
    return grid.reshape((size[0],) + size[2:] + (spatial,))


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: float, twice_high: float) -> Tensor:
    """coord reflected back and forth into [twice_low / 2, twice_high / 2]."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = distance.fmod(span)
    xp = distance._backend.xp
    even = Tensor._make(xp.floor(distance._array / span) % 2 == 0, distance._backend)
    return _ops.where(even, extra + low, span - extra + low)


def _padded(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """The pixel coordinate the padding mode reads; "border" and "reflection" clip a NaN (an infinite
    coordinate reflected) to 0, as PyTorch's clip does, while "zeros" keeps it (the read is then NaN)."""
    if padding_mode == "zeros":
        return coord
    if padding_mode == "reflection":
        coord = _reflect(coord, 0.0, 2.0 * (size - 1)) if align_corners else _reflect(coord, -1.0, 2.0 * size - 1)
    clipped = coord.clamp(0, size - 1)
    nan = Tensor._make(coord._backend.xp.isnan(clipped._array), coord._backend)
    return _ops.where(nan, 0.0, clipped)  # (no host read of "any NaN?": a CUDA graph capture holds it)


def _cubic_weights(t: Tensor, a: float = -0.75) -> list:
    """The cubic convolution kernel's weights of the taps at offsets -1, 0, 1, 2 from floor(x), for the
    fraction ``t`` (PyTorch's ``get_cubic_upsample_coefficients``)."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    """PyTorch's checks of grid_sample's arguments, in its words."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ArgumentError(f"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic', but got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"grid_sample: expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
                            f"{padding_mode!r}")
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise ShapeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got "
                         f"{sizes}")
    if grid.shape[-1] != input.ndim - 2:
        raise ShapeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got grid "
                         f"with sizes {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise ShapeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    if mode == "bicubic" and input.ndim != 4:
        raise ArgumentError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """``input`` (N, C, H, W) read at the normalised (x, y) positions of ``grid`` (N, Ho, Wo, 2): (N, C,
    Ho, Wo); or a volume (N, C, D, H, W) at the (x, y, z) positions of ``grid`` (N, Do, Ho, Wo, 3): (N, C,
    Do, Ho, Wo). Modes "bilinear" (trilinear for a volume), "nearest" and "bicubic" (images only); padding
    "zeros", "border" or "reflection". Differentiable in the input, and in the grid for bilinear and
    bicubic (nearest leaves the grid out of the graph: its gradient is None here, zeros in PyTorch)."""
    align_corners = bool(align_corners)
    _check_grid_sample(input, grid, mode, padding_mode)
    n, sizes = input.shape[0], tuple(input.shape[2:])  # (H, W) or (D, H, W)
    spatial = len(sizes)
    # the grid's last axis holds x (width) first: axis k of the input's spatial dims is grid component spatial-1-k
    raw = [_unnormalize(grid[..., spatial - 1 - k], sizes[k], align_corners) for k in range(spatial)]
    xp, backend = input._backend.xp, input._backend
    batch = xp.arange(n).reshape((n,) + (1,) * spatial)

    def read(positions):
        """input at integer positions (one array of grid's shape per spatial dim), 0 outside: (N, C, *out)."""
        inside = xp.ones(positions[0].shape, dtype=bool)
        indices = []
        for position, size in zip(positions, sizes):
            inside &= (position >= 0) & (position <= size - 1)
        for position in positions:  # NaN or infinite positions read nothing (index 0, masked)
            indices.append(Tensor._make(xp.where(inside, position, 0).astype(xp.int64), backend))
        b = Tensor._make(xp.broadcast_to(batch, positions[0].shape), backend)
        values = input[(b, slice(None), *indices)]  # (N, *out, C)
        mask = Tensor._make(inside[..., None].astype(input._array.dtype), backend)
        return (values * mask).movedim(-1, 1)

    if mode == "nearest":
        # round half to even, as PyTorch's nearbyint
        return read([xp.round(_padded(c, size, padding_mode, align_corners)._array) for c, size in zip(raw, sizes)])
    if mode == "bicubic":
        # PyTorch's: the 4 x 4 taps around the unpadded position, each tap's own coordinate padded, weighted
        # by the cubic convolution kernel (A = -0.75) of the fractional offsets (differentiable in the grid)
        (ys, height), (xs, width) = zip(raw, sizes)
        x0, y0 = xp.floor(xs._array), xp.floor(ys._array)
        wx = _cubic_weights((xs - Tensor._make(x0, backend)).unsqueeze(1))
        wy = _cubic_weights((ys - Tensor._make(y0, backend)).unsqueeze(1))

        def tap(position, size):
            return _padded(Tensor._make(position, backend), size, padding_mode, align_corners)._array

        out = None
        for j in range(4):
            y_tap = tap(y0 - 1 + j, height)
            for i in range(4):
                term = read([y_tap, tap(x0 - 1 + i, width)]) * wx[i] * wy[j]
                out = term if out is None else out + term
        return out
    # (bi/tri)linear: the 2 ** spatial corners around each position, weighted by the fractional distances
    padded = [_padded(c, size, padding_mode, align_corners) for c, size in zip(raw, sizes)]
    lows = [xp.floor(c._array) for c in padded]
    highs = [(c - Tensor._make(low, backend)).unsqueeze(1) for c, low in zip(padded, lows)]
    weights = [(1 - high, high) for high in highs]
    out = None
    for corner in itertools.product((0, 1), repeat=spatial):
        term = read([low + bit for low, bit in zip(lows, corner)])
        for k, bit in enumerate(corner):
            term = term * weights[k][bit]
        out = term if out is None else out + term
    return out
